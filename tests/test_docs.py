"""The documentation runs as written: every ```python, ```bash and ```toml block of README.md
and of every page under docs/ (docs/*.md and its subfolders, such as docs/tutorials/).

A page's blocks run in order in one fresh interpreter, in an empty temporary directory (so
files the examples write land there), sharing one namespace: a later block may use names
an earlier block of the same page defined, as a reader typing them in would. ```bash blocks
run with ``bash -euo pipefail``, with this interpreter's ``bin`` first on PATH (the ``ffbp``
command); ```toml blocks must parse and pass ``ffbp train --config``'s checks. A block that
cannot run here (hours of work, a cluster) is preceded by a line ``<!-- not run: why -->``;
fences without a language (program output, diagrams) are text, not code.

Why a small extractor and not a plugin (pytest-markdown-docs, phmdoctest): the rules above
(sequential pages, bash and TOML blocks, a not-run marker with a stated reason, tracebacks
pointing at the page's own line numbers) are a few dozen lines here, and the docs test then
needs no dependency beyond the dev extras that the examples themselves use.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from conftest import require

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
IDS = [str(p.relative_to(ROOT)) for p in PAGES]     # docs/tutorials/README.md ≠ README.md
RUN = ("python", "bash", "toml")
FENCE = re.compile(r"^(```+)\s*([\w+-]*)\s*$")
NOT_RUN = re.compile(r"^<!--\s*not run:(.*?)-->\s*$")
#: What the pages' examples use beyond ffbp itself (all in the dev extras).
EXTRAS = {"sklearn": "the examples train on scikit-learn's bundled digits and iris",
          "pandas": "the ffbp command and a Parquet example", "pyarrow": "Parquet files",
          "matplotlib": "ffbp train --report", "onnx": "the ONNX export example",
          "onnxruntime": "the ONNX export example", "mpi4py": "fit(..., distributed=True)"}


@dataclass
class Block:
    page: str
    line: int               # line number (from 1) of the block's first line of code
    lang: str
    code: str
    not_run: str | None     # the reason given by a <!-- not run: ... --> line, if any


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown page, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang, start = m.group(1), m.group(2).lower(), i + 1
        end = start
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        if end == len(lines):
            raise AssertionError(f"{path.name}:{i + 1}: unclosed ``` block")
        marker = NOT_RUN.match(lines[i - 1].strip()) if i else None
        found.append(Block(path.name, start + 1, lang, "\n".join(lines[start:end]) + "\n",
                           marker.group(1).strip() if marker else None))
        i = end + 1
    return found


def stray_markers(path: Path) -> list[int]:
    """Lines with a not-run marker that is not right before an opening fence."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [n + 1 for n, line in enumerate(lines) if NOT_RUN.match(line.strip())
            and not (n + 1 < len(lines) and FENCE.match(lines[n + 1])
                     and FENCE.match(lines[n + 1]).group(2))]


#: Runs in the fresh interpreter: argv[1] is a JSON list of blocks (see Block).
DRIVER = r'''
import json, os, subprocess, sys, time
start = time.perf_counter()
blocks = json.loads(open(sys.argv[1], encoding="utf-8").read())
ns = {"__name__": "__main__"}
for n, b in enumerate(blocks):
    where = f"{b['page']}:{b['line']}"
    print(f"--- {where} ({b['lang']}) at {time.perf_counter() - start:.1f} s", flush=True)
    if b["lang"] == "python":          # padded so tracebacks show the page's line numbers
        exec(compile("\n" * (b["line"] - 1) + b["code"], b["page"], "exec"), ns)
    elif b["lang"] == "bash":
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", b["code"]])
        if done.returncode:
            sys.exit(f"{where}: the bash block exited with {done.returncode}")
    else:
        from ffbp.cli.options import read_config
        path = f"block{n}.toml"
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(b["code"])
        print(read_config(path))
'''


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_page_runs_as_written(page, tmp_path):
    """The page's runnable blocks, in order, in one interpreter (about 20 s for README)."""
    runnable = [b for b in blocks(page) if b.lang in RUN and b.not_run is None]
    if not runnable:
        return
    for module, why in EXTRAS.items():
        require(module, why)
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps([asdict(b) for b in runnable]), encoding="utf-8")
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, "-c", DRIVER, str(spec)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (f"{page.name}: a code block failed\n--- stdout (end):\n"
                                  f"{done.stdout[-4000:]}\n--- stderr (end):\n"
                                  f"{done.stderr[-6000:]}")


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_blocks_not_run_say_why(page):
    """Each not-run marker stands right before a code block and gives its reason, and only
    code blocks carry one; so a skipped block is a visible, explained exception."""
    assert stray_markers(page) == [], f"{page.name}: not-run markers not before a code block"
    for b in blocks(page):
        if b.not_run is not None:
            assert b.not_run, f"{page.name}:{b.line}: <!-- not run: --> without a reason"
            assert b.lang in RUN, f"{page.name}:{b.line}: a not-run marker on a text block"


def test_readme_runs_most_of_its_code():
    """README (the front page): every Python block runs; of the bash blocks, only the
    set-up commands that take minutes (make demo/test) are marked not run. The user guide it
    links to (docs/*.md) runs its examples too: at least the 16 Python blocks the README
    held when it was the whole guide."""
    readme = [b for b in blocks(ROOT / "README.md") if b.lang in RUN]
    skipped = [b for b in readme if b.not_run is not None]
    assert [b for b in skipped if b.lang == "python"] == []
    assert len(skipped) <= 2, [f"README.md:{b.line}: {b.not_run}" for b in skipped]
    assert sum(b.lang == "python" for b in readme) >= 3
    guide = [b for page in sorted((ROOT / "docs").glob("*.md")) for b in blocks(page)
             if b.lang == "python" and b.not_run is None]
    assert len(guide) >= 16
