"""MkDocs hook of ffbp's documentation site (mkdocs.yml: ``hooks``): fills in, at build time,
the parts of pages that are generated rather than written, so that they cannot drift.

* ``<!-- ffbp-site: readme-intro -->`` (docs/index.md): README.md's first section, the text
  between its title and its first ``##`` heading.
* ``<!-- ffbp-site: cli-help -->`` (docs/cli.md): the output of ``ffbp --help`` and of
  ``ffbp COMMAND --help`` for every subcommand, run at build time with this interpreter
  (``python -m ffbp``, 100 columns wide). The subcommands are those of
  ``ffbp.cli.build_parser()``, so a new one appears here without an edit.

This folder is excluded from the site (mkdocs.yml: ``exclude_docs``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README_INTRO = "<!-- ffbp-site: readme-intro -->"
CLI_HELP = "<!-- ffbp-site: cli-help -->"
COLUMNS = "100"


def readme_intro() -> str:
    """README.md's first section without its ``# ffbp`` title."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    body = []
    for line in lines[1:] if lines and lines[0].startswith("# ") else lines:
        if line.startswith("## "):
            break
        body.append(line)
    return "\n".join(body).strip() + "\n"


def subcommands() -> list[str]:
    """The subcommands of the ``ffbp`` command, in the order ``ffbp --help`` lists them."""
    from ffbp.cli import build_parser

    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def help_text(*args: str) -> str:
    """What ``ffbp ARGS --help`` prints (and must exit 0 doing it)."""
    env = {**os.environ, "COLUMNS": COLUMNS, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "ffbp", *args, "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"`ffbp {' '.join([*args, '--help'])}` exited with "
                           f"{done.returncode}:\n{done.stderr}")
    return done.stdout.rstrip() + "\n"


def fence(text: str) -> str:
    """``text`` as a fenced block with no language (shown as is, not run by test_docs)."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}text\n{text}{ticks}\n"


def cli_reference() -> str:
    names = subcommands()
    parts = ["## `ffbp --help`\n", fence(help_text())]
    for name in names:
        parts += [f"## `ffbp {name}`\n", fence(help_text(name))]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if README_INTRO in markdown:
        markdown = markdown.replace(README_INTRO, readme_intro())
    if CLI_HELP in markdown:
        markdown = markdown.replace(CLI_HELP, cli_reference())
    return markdown
