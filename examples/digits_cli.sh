#!/bin/sh
# The ffbp command on the bundled 8x8 digits: CSV export, train, evaluate, predict.
# Usage: sh examples/digits_cli.sh   (from the repository root; BIN defaults to .venv/bin)
set -eu
BIN=${BIN:-.venv/bin}
OUT=${OUT:-build/digits}

run() {
    echo "\$ ffbp $*"
    "$BIN/ffbp" "$@"
}

"$BIN/python" examples/make_digits_csv.py "$OUT"
echo
run train "$OUT/train.csv" --target label --hidden 64 --epochs 60 --seed 0 \
    --validation-split 0.1 --quiet -o "$OUT/digits.ffbp"
echo
run evaluate "$OUT/digits.ffbp" "$OUT/test.csv"
echo
run predict "$OUT/digits.ffbp" "$OUT/test.csv" --keep label -o "$OUT/predictions.csv"
echo "\$ head -n 5 $OUT/predictions.csv | cut -c1-90"
head -n 5 "$OUT/predictions.csv" | cut -c1-90
