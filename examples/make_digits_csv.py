"""Write scikit-learn's bundled 8x8 digits as train/test CSV files for the ``ffbp`` command.

    python examples/make_digits_csv.py build/digits

gives build/digits/train.csv (1,347 rows) and build/digits/test.csv (450 rows): columns
pixel0 … pixel63 (intensities 0..16) and label (0..9); the split is stratified, seed 0.
"""

import sys
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def main(out="build/digits") -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    table = pd.DataFrame(X.astype(int), columns=[f"pixel{i}" for i in range(X.shape[1])])
    table["label"] = y
    train, test = train_test_split(table, test_size=0.25, random_state=0, stratify=y)
    train.to_csv(out / "train.csv", index=False)
    test.to_csv(out / "test.csv", index=False)
    print(f"wrote {out / 'train.csv'} ({len(train)} rows) and {out / 'test.csv'} "
          f"({len(test)} rows)")


if __name__ == "__main__":
    main(*sys.argv[1:])
