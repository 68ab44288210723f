"""Where the ``ffbp`` commands write: no output may be an input (same path, symlink or hard
link), output folders are checked before any work, a full disk leaves no partial file and
names the user's path, a diverged run leaves its last finite weights, and huge numbers are
clean errors. Full disks are simulated with RLIMIT_FSIZE in a subprocess (SIGXFSZ ignored,
so a write past the limit fails with EFBIG, "File too large")."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from cli_kit import one_line_error, run
from conftest import require

import ffbp
from ffbp.cli import main

pd = require("pandas", "the command line reads tables with pandas")
require("pyarrow", "the command line reads Parquet with pyarrow")
resource = require("resource", "full disks are simulated with RLIMIT_FSIZE (POSIX)")

FAST = ["--epochs", "2", "--hidden", "4", "--quiet", "--no-diagnostics"]




def leftovers(folder) -> list[str]:
    """Temporary files or folders an ffbp write left behind."""
    return sorted(p.name for p in Path(folder).rglob(".ffbp-*"))


def table(n, seed=0, long_categories=False):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    df = pd.DataFrame({"a": a, "b": rng.normal(size=n)})
    if long_categories:           # a model file far larger than its checkpoint (metadata)
        df["c"] = rng.choice([f"c{i:02d}_" + "x" * 200 for i in range(30)], size=n)
    df["y"] = (a > 0).astype(int)
    return df


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("outputs")
    table(80).to_csv(root / "d.csv", index=False)
    assert main(["train", str(root / "d.csv"), "--target", "y", "-o", str(root / "m.ffbp"),
                 *FAST]) == 0
    return root


def snapshot(root) -> dict:
    return {p.name: p.read_bytes() for p in Path(root).iterdir() if p.is_file()}


# -- an output that is an input ------------------------------------------------------------
def _link(kind, target: Path, link: Path) -> Path:
    if link.is_symlink() or link.exists():
        link.unlink()
    if kind == "symlink":
        link.symlink_to(target)
    elif kind == "hardlink":
        os.link(target, link)
    else:
        return target
    return link


# (command, the input the output aliases, the arguments with OUT for the output path)
ALIASES = [
    ("train -o", "d.csv", ["train", "{d}", "--target", "y", "-o", "OUT", *FAST]),
    ("train --checkpoint", "d.csv",
     ["train", "{d}", "--target", "y", "-o", "{new}", "--checkpoint", "OUT", *FAST]),
    ("train --config", "cfg.toml",
     ["train", "{d}", "--config", "{cfg}", "-o", "OUT", *FAST]),
    ("train --resume", "m.ckpt",
     ["train", "{d}", "--target", "y", "--resume", "{ckpt}", "-o", "OUT", *FAST]),
    ("predict -o DATA", "d.csv", ["predict", "{m}", "{d}", "-o", "OUT"]),
    ("predict -o MODEL", "m.ffbp", ["predict", "{m}", "{d}", "-o", "OUT"]),
    ("export -o MODEL", "m.ffbp", ["export", "{m}", "-o", "OUT"]),
]
# every alias kind, but for predict's -o being the model itself: a model path is no table
# name, refused by the extension check before anything else
CASES = [(kind, *alias) for alias in ALIASES for kind in ("same", "symlink", "hardlink")
         if not (kind == "same" and alias[0] == "predict -o MODEL")]


@pytest.mark.parametrize("kind, name, source, argv", CASES,
                         ids=[f"{c[1]}-{c[0]}" for c in CASES])
def test_an_output_that_is_an_input_is_refused(work, tmp_path, capsys, kind, name, source,
                                               argv):
    root = tmp_path
    for f in ("d.csv", "m.ffbp"):
        (root / f).write_bytes((work / f).read_bytes())
    (root / "cfg.toml").write_text('target = "y"\n')
    (root / "m.ckpt").write_bytes(b"not really a checkpoint, but an input all the same")
    ext = {"d.csv": ".csv", "m.ffbp": ".ffbp", "cfg.toml": ".toml", "m.ckpt": ".ckpt"}[source]
    if name.startswith("predict") and ext != ".csv":
        ext = ext + ".csv"                     # predict wants a table extension
    out = _link(kind, root / source, root / f"alias{ext}")
    before = snapshot(root)
    subs = {"{d}": root / "d.csv", "{m}": root / "m.ffbp", "{cfg}": root / "cfg.toml",
            "{ckpt}": root / "m.ckpt", "{new}": root / "new.ffbp", "OUT": out}
    code, stdout, err = run(capsys, *[subs.get(a, a) for a in argv])
    line = one_line_error(err)
    assert code == 1 and stdout == ""
    assert str(out) in line and str(root / source) in line and "same file" in line, line
    assert snapshot(root) == before                  # nothing written, nothing destroyed
    assert leftovers(root) == []


def test_two_outputs_that_are_one_file_are_refused(work, tmp_path, capsys):
    code, _, err = run(capsys, "train", work / "d.csv", "--target", "y", "-o",
                       tmp_path / "m.ffbp", "--checkpoint", tmp_path / "m.ffbp", *FAST)
    line = one_line_error(err)
    assert code == 1 and "same file" in line and str(tmp_path / "m.ffbp") in line
    assert list(tmp_path.iterdir()) == []


def test_report_page_linked_to_the_data_is_refused(work, tmp_path, capsys):
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "report.html").symlink_to(work / "d.csv")
    code, _, err = run(capsys, "train", work / "d.csv", "--target", "y", "-o",
                       tmp_path / "m.ffbp", "--report", tmp_path / "rep", *FAST)
    line = one_line_error(err)
    assert code == 1 and "--report" in line and str(work / "d.csv") in line
    assert not (tmp_path / "m.ffbp").exists()


def test_resuming_and_checkpointing_in_place_is_allowed(work, tmp_path, capsys):
    args = ["train", work / "d.csv", "--target", "y", "--checkpoint", tmp_path / "c.ckpt",
            *FAST]
    assert run(capsys, *args, "-o", tmp_path / "a.ffbp")[0] == 0
    code, _, err = run(capsys, *args, "--resume", tmp_path / "c.ckpt", "-o",
                       tmp_path / "b.ffbp")
    assert code == 0, err


# -- folders -----------------------------------------------------------------------------
def _commands(work, out, scratch):
    """Each command writing to ``out`` (with the flag that names it); the model of the
    train commands that write elsewhere goes to ``scratch/unused.ffbp``."""
    d, m, unused = work / "d.csv", work / "m.ffbp", scratch / "unused.ffbp"
    return {
        "train -o": ["train", d, "--target", "y", "-o", out / "m.ffbp", *FAST],
        "train --checkpoint": ["train", d, "--target", "y", "-o", unused,
                               "--checkpoint", out / "c.ckpt", *FAST],
        "train --report": ["train", d, "--target", "y", "-o", unused,
                           "--report", out / "rep", *FAST],
        "predict -o": ["predict", m, d, "-o", out / "p.csv"],
        "export -o": ["export", m, "-o", out / "m.onnx"],
    }


@pytest.mark.parametrize("where", ["missing folder", "under a file"])
@pytest.mark.parametrize("command", ["train -o", "train --checkpoint", "train --report",
                                     "predict -o", "export -o"])
def test_unusable_output_folder_is_refused_before_any_work(work, tmp_path, capsys, where,
                                                           command):
    (tmp_path / "file.txt").write_text("a regular file\n")
    out = tmp_path / ("nowhere" if where == "missing folder" else "file.txt")
    argv = _commands(work, out, tmp_path)[command]
    code, stdout, err = run(capsys, *argv)
    if command == "train --report" and where == "missing folder":   # made, as documented
        assert code == 0 and (out / "rep" / "report.html").exists(), err
        return
    line = one_line_error(err)
    assert code == 1 and stdout == "", err
    named = next(str(a) for a in argv if str(a).startswith(str(out)))
    assert named in line, line
    assert ("is a file, not a directory" if where == "under a file" else "no directory") in line
    assert not (tmp_path / "unused.ffbp").exists()     # refused before training
    assert leftovers(tmp_path) == []


def _mount(*args) -> bool:
    try:
        return subprocess.run(["mount", *args], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A folder that takes no new file: a read-only bind mount (root ignores permission
    bits, not this); else, without root, mode 0o555; else (root without mount rights, as in
    some containers) a folder where creating a file fails with EROFS, as on a read-only
    mount."""
    source, target = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    if os.geteuid() != 0:
        target.chmod(0o555)
        yield target
        target.chmod(0o755)
        return
    if _mount("--bind", str(source), str(target)):
        try:
            if _mount("-o", "remount,bind,ro", str(target)):
                yield target
                return
        finally:
            subprocess.run(["umount", str(target)], capture_output=True)
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and os.path.realpath(dir) == str(target.resolve()):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    yield target


@pytest.mark.parametrize("command", ["train -o", "train --checkpoint", "train --report",
                                     "predict -o", "export -o"])
def test_read_only_output_folder_is_refused_before_any_work(work, read_only, tmp_path, capsys,
                                                            command):
    argv = _commands(work, read_only, tmp_path)[command]
    code, stdout, err = run(capsys, *argv)
    line = one_line_error(err)
    named = next(str(a) for a in argv if str(a).startswith(str(read_only)))
    assert code == 1 and stdout == "" and named in line, line
    assert "Read-only file system" in line or "Permission denied" in line, line
    assert not (tmp_path / "unused.ffbp").exists()


def test_output_that_is_a_folder_is_refused(work, tmp_path, capsys):
    for argv in (["export", work / "m.ffbp", "-o", tmp_path],
                 ["train", work / "d.csv", "--target", "y", "-o", tmp_path, *FAST]):
        code, _, err = run(capsys, *argv)
        line = one_line_error(err)
        assert code == 1 and f"{tmp_path}: it is a directory" in line, line


def test_missing_resume_is_named(work, tmp_path, capsys):
    code, _, err = run(capsys, "train", work / "d.csv", "--target", "y", "--resume",
                       tmp_path / "nope.ckpt", "-o", tmp_path / "m.ffbp", *FAST)
    assert code == 1
    assert one_line_error(err) == f"ffbp: error: no such file: {tmp_path / 'nope.ckpt'}"


def test_report_onto_an_existing_file_is_refused_before_training(work, tmp_path, capsys):
    (tmp_path / "rep").write_text("my notes\n")
    code, stdout, err = run(capsys, "train", work / "d.csv", "--target", "y", "-o",
                            tmp_path / "m.ffbp", "--report", tmp_path / "rep", *FAST)
    line = one_line_error(err)
    assert code == 1 and stdout == "" and f"--report {tmp_path / 'rep'}" in line
    assert (tmp_path / "rep").read_text() == "my notes\n"
    assert not (tmp_path / "m.ffbp").exists()


def test_report_replaces_an_existing_page_like_o_replaces_a_model(work, tmp_path, capsys):
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "report.html").write_text("old")
    code, out, err = run(capsys, "train", work / "d.csv", "--target", "y", "-o",
                         tmp_path / "m.ffbp", "--report", tmp_path / "rep", *FAST)
    assert code == 0, err
    assert (tmp_path / "rep" / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert leftovers(tmp_path) == []


# -- divergence --------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")      # numpy's overflow on the way
def test_divergence_leaves_the_last_finite_model_beside_the_output(work, tmp_path, capsys):
    (tmp_path / "m.ffbp").write_bytes((work / "m.ffbp").read_bytes())    # a previous model
    previous = (tmp_path / "m.ffbp").read_bytes()
    code, _, err = run(capsys, "train", work / "d.csv", "--target", "y", "-o",
                       tmp_path / "m.ffbp", "--epochs", "50", "--optimizer", "sgd", "--lr",
                       "1e6", "--quiet", "--no-diagnostics")
    line = err.strip().splitlines()[-1]
    kept = tmp_path / "m.diverged.ffbp"
    assert code == 1 and line.startswith("ffbp: error: training diverged"), err
    assert str(kept) in line and f"{tmp_path / 'm.ffbp'} was not written" in line, line
    assert (tmp_path / "m.ffbp").read_bytes() == previous            # not replaced
    net = ffbp.load(kept)
    assert np.isfinite(net.flat_values).all()
    assert net.metadata["training"]["stop_reason"].startswith("diverged")
    assert leftovers(tmp_path) == []


# -- full disk ---------------------------------------------------------------------------
def _limited(limit):
    def setup():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return setup


def ffbp_limited(limit, *args, cwd):
    return subprocess.run([sys.executable, "-m", "ffbp", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, preexec_fn=_limited(limit),
                          timeout=120)


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """A table whose model file (~14 kB: long category names in its metadata) is far
    larger than its checkpoint (~2 kB)."""
    root = tmp_path_factory.mktemp("wide")
    table(200, long_categories=True).to_csv(root / "w.csv", index=False)
    return root / "w.csv"


WIDE = ["--target", "y", "--hidden", "none", "--epochs", "3", "--quiet", "--no-diagnostics"]


def test_full_disk_keeps_the_trained_weights_in_the_checkpoint(wide, tmp_path):
    model, ckpt = tmp_path / "w.ffbp", tmp_path / "w.ckpt"
    result = ffbp_limited(8000, "train", wide, *WIDE, "-o", model, "--checkpoint", ckpt,
                          cwd=tmp_path)
    line = one_line_error(result.stderr)
    assert result.returncode == 1
    assert f"cannot write the model to {model}: File too large" in line, line
    assert f"--resume {ckpt}" in line
    assert not model.exists() and ckpt.exists() and leftovers(tmp_path) == []
    # the same command plus --resume writes the model, equal to an uninterrupted run's
    assert main(["train", str(wide), *WIDE, "-o", str(model), "--checkpoint", str(ckpt),
                 "--resume", str(ckpt)]) == 0
    assert main(["train", str(wide), *WIDE, "-o", str(tmp_path / "ref.ffbp")]) == 0
    np.testing.assert_array_equal(ffbp.load(model).flat_values,
                                  ffbp.load(tmp_path / "ref.ffbp").flat_values)


def test_full_disk_without_checkpoint_says_the_weights_are_lost(wide, tmp_path):
    (tmp_path / "w.ffbp").write_bytes(b"previous model")
    result = ffbp_limited(8000, "train", wide, *WIDE, "-o", "w.ffbp", cwd=tmp_path)
    line = one_line_error(result.stderr)
    assert result.returncode == 1 and "cannot write the model to w.ffbp: File too large" in line
    assert "lost" in line and "--checkpoint" in line
    assert (tmp_path / "w.ffbp").read_bytes() == b"previous model"
    assert leftovers(tmp_path) == []


def test_full_disk_while_checkpointing_names_the_checkpoint(wide, tmp_path):
    result = ffbp_limited(500, "train", wide, *WIDE, "-o", "w.ffbp", "--checkpoint", "w.ckpt",
                          cwd=tmp_path)
    line = one_line_error(result.stderr)
    assert result.returncode == 1
    assert "cannot write the checkpoint to w.ckpt: File too large" in line, line
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize("name", ["p.csv", "p.csv.gz", "p.parquet"])
def test_full_disk_predict_leaves_no_partial_file(work, tmp_path, name):
    table(3000, seed=1).to_csv(tmp_path / "big.csv", index=False)
    out = tmp_path / name
    out.write_bytes(b"previous predictions")
    result = ffbp_limited(4096, "predict", work / "m.ffbp", tmp_path / "big.csv", "-o", out,
                          cwd=tmp_path)
    line = one_line_error(result.stderr)
    assert result.returncode == 1
    assert line == f"ffbp: error: cannot write the predictions to {out}: File too large", line
    assert out.read_bytes() == b"previous predictions"
    assert leftovers(tmp_path) == []


def test_predict_writes_through_a_temporary_file(work, tmp_path, capsys):
    for name in ("p.csv", "p.csv.gz", "p.tsv", "p.parquet", "p.csv.zip"):
        code, _, err = run(capsys, "predict", work / "m.ffbp", work / "d.csv", "-o",
                           tmp_path / name)
        assert code == 0, err
        df = (pd.read_parquet if name.endswith("parquet") else
              lambda p: pd.read_csv(p, sep="\t" if ".tsv" in str(p) else ","))(tmp_path / name)
        assert len(df) == 80 and "prediction" in df.columns
        mask = os.umask(0)
        os.umask(mask)
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~mask
    assert leftovers(tmp_path) == []


# -- huge numbers ------------------------------------------------------------------------
@pytest.mark.parametrize("column, value", [("a", 1e200), ("y", 1e200), ("a", -1e300)])
def test_huge_numbers_in_training_are_a_clean_error(tmp_path, capsys, column, value):
    df = table(60)
    df["y"] = df["a"] * 2.0 if column == "y" else df["y"]
    df.loc[3, column] = value
    df.to_csv(tmp_path / "big.csv", index=False)
    code, _, err = run(capsys, "train", tmp_path / "big.csv", "--target", "y", "-o",
                       tmp_path / "m.ffbp", *FAST, "--validation-split", "0")
    line = one_line_error(err)
    assert code == 1 and f"column {column!r} holds {value!r} at row 4" in line, line
    assert "too large" in line and "unexpected" not in line
    assert not (tmp_path / "m.ffbp").exists()


def test_large_but_representable_numbers_train(tmp_path, capsys):
    df = table(60)
    df.loc[3, "a"] = 1e150
    df.to_csv(tmp_path / "big.csv", index=False)
    code, _, err = run(capsys, "train", tmp_path / "big.csv", "--target", "y", "-o",
                       tmp_path / "m.ffbp", *FAST)
    assert code == 0, err


def test_huge_numbers_in_prediction_are_a_clean_error(work, tmp_path, capsys):
    df = table(10)
    df.loc[2, "b"] = 1e200
    df.to_csv(tmp_path / "big.csv", index=False)
    for command in ("predict", "evaluate"):
        code, _, err = run(capsys, command, work / "m.ffbp", tmp_path / "big.csv")
        line = one_line_error(err)
        assert code == 1 and "column 'b' at row 3 holds 1e+200" in line, line
