"""What the command's tests share: running ``ffbp`` in-process and reading its one-line
errors."""

from __future__ import annotations

from ffbp.cli import main


def run(capsys, *args):
    """main(args) in-process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    """The error line of ``err``: exactly one ``ffbp: error:`` line, no traceback, and no
    temporary file's name (an output is written beside its path, then renamed)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ffbp: error: ") and "Traceback" not in err
    assert ".ffbp-" not in lines[0] and ".tmp" not in lines[0], lines[0]
    return lines[0]
