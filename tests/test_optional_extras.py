"""Optional extras fail politely: without the package an extra brings, the feature that
needs it says which extra to install (``pip install "ffbp[...]"``), never a bare "No module
named ...", and ``import ffbp`` itself needs none of them.

Each case runs in a fresh interpreter in which the package is made unimportable
(``sys.modules[name] = None``, which makes ``import name`` raise ImportError), so the
modules of this test process are left alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

#: Run after the blocking lines: ``attempt`` is called, and what it raised is printed.
HARNESS = """
import json, sys
for name in {blocked!r}:
    sys.modules[name] = None
def attempt():
{body}
try:
    attempt()
    print(json.dumps({{"raised": None}}))
except BaseException as exc:
    print(json.dumps({{"raised": type(exc).__name__, "message": str(exc),
                      "ffbp": type(exc).__module__.startswith("ffbp")}}))
"""

NET = "import ffbp; net = ffbp.Network([ffbp.Dense(2, 3), ffbp.Tanh(), ffbp.Dense(3, 2), " \
      "ffbp.Softmax()], seed=0)"


def outcome(blocked, body, tmp_path) -> dict:
    code = HARNESS.format(blocked=list(blocked), body=textwrap.indent(body, "    "))
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


CASES = {
    "sklearn": (["sklearn"], "import ffbp.sklearn", "ImportError"),
    "scipy": (["scipy"], "import ffbp.sklearn", "ImportError"),
    "plots": (["matplotlib"],
              f"{NET}\nfrom ffbp.plots import plot_network\nplot_network(net, 'net.png')",
              "ConfigError"),
    "plots-history": (["matplotlib"],
                      f"{NET}\nfrom ffbp.plots import plot_history\n"
                      "h = net.fit([[0, 1], [1, 0]], [0, 1], loss='cross_entropy', epochs=1, "
                      "verbose=False)\n"
                      "plot_history(h, 'h.png')", "ConfigError"),
    "onnx": (["onnx"], f"{NET}\nffbp.export_onnx(net, 'net.onnx')", "ConfigError"),
    "parquet": (["pyarrow"], "from ffbp.data import ParquetSource\n"
                "ParquetSource('train.parquet', target='y')", "ConfigError"),
    "table": (["pandas"], "open('t.csv', 'w').write('a,y\\n1,0\\n2,1\\n3,0\\n4,1\\n')\n"
              "import ffbp\nffbp.fit_table('t.csv', target='y')", "FFBPError"),
    "mpi": (["mpi4py"], f"{NET}\nnet.fit([[0, 1], [1, 0]], [0, 1], loss='cross_entropy', "
            "epochs=1, verbose=False, distributed=True)", "ConfigError"),
}
EXTRA = {"sklearn": "sklearn", "scipy": "sklearn", "plots": "plots", "plots-history": "plots",
         "onnx": "onnx", "parquet": "cli", "table": "cli", "mpi": "mpi"}


@pytest.mark.parametrize("case", list(CASES))
def test_missing_package_names_its_extra(case, tmp_path):
    blocked, body, kind = CASES[case]
    got = outcome(blocked, body, tmp_path)
    assert got["raised"] == kind, got
    assert f'pip install "ffbp[{EXTRA[case]}]"' in got["message"], got["message"]
    assert "No module named" not in got["message"], got["message"]


def test_too_old_scikit_learn_is_named(tmp_path):
    """scikit-learn installed but older than 1.6 (no ``validate_data``): the error names the
    version found and asks for an upgrade."""
    pytest.importorskip("sklearn")
    body = ("import sklearn, sklearn.utils.validation as v\n"
            "del v.validate_data\nsklearn.__version__ = '1.5.2'\nimport ffbp.sklearn")
    got = outcome([], body, tmp_path)
    assert got["raised"] == "ImportError", got
    assert "scikit-learn 1.5.2" in got["message"] and ">= 1.6" in got["message"], got
    assert 'pip install --upgrade "ffbp[sklearn]"' in got["message"], got


def test_cli_without_pandas_names_its_extra(tmp_path):
    """The ffbp command reads tables with pandas: without it, one line naming the extra."""
    (tmp_path / "t.csv").write_text("a,y\n1,0\n2,1\n3,0\n4,1\n", encoding="utf-8")
    code = ("import sys\nsys.modules['pandas'] = None\nfrom ffbp.cli import main\n"
            "sys.exit(main(['train', 't.csv', '--target', 'y', '-o', 'm.ffbp']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0, done.stdout
    assert 'pip install "ffbp[cli]"' in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_report_without_matplotlib_leaves_the_pictures_out(tmp_path):
    """The HTML report needs no matplotlib: without it the page has no pictures and says how
    to get them (all of matplotlib missing, not only one of its modules)."""
    body = (f"{NET}\nfrom ffbp.report import write_report\n"
            "h = net.fit([[0, 1], [1, 0]], [0, 1], loss='cross_entropy', epochs=2, "
            "verbose=False)\n"
            "page = write_report('run', net, h).read_text(encoding='utf-8')\n"
            "assert '<img' not in page and 'pip install \"ffbp[plots]\"' in page, page[:500]")
    assert outcome(["matplotlib"], body, tmp_path) == {"raised": None}


def test_import_ffbp_needs_no_extra(tmp_path):
    """The core and every module that only uses an extra inside a function import without
    any extra installed."""
    blocked = ["sklearn", "scipy", "matplotlib", "onnx", "onnxruntime", "pandas", "pyarrow",
               "mpi4py", "numba", "torch"]
    body = ("import ffbp, ffbp.plots, ffbp.report, ffbp.data, ffbp.onnx, ffbp.distributed\n"
            "import ffbp.cli, ffbp.explain, ffbp.trace, ffbp.diagnostics\n"
            f"{NET}\nnet.fit([[0, 1], [1, 0]], [0, 1], loss='cross_entropy', epochs=2, "
            "verbose=False)")
    assert outcome(blocked, body, tmp_path) == {"raised": None}
