"""Where the commands write, checked before any work; and writing there safely.

Every output path of a command (model, predictions, checkpoint, report, ONNX file) is
compared with every input before anything is read or trained: the same file, a symlink to
it or a hard link to it (``st_dev`` and ``st_ino`` when the output exists, resolved paths
otherwise) is refused with one line naming both paths. The folder of each output must exist
and take a new file (tried by creating and removing an empty temporary file, which also
catches read-only mounts, where root's permission bits say nothing). Errors name the
user's path, never a temporary file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile

from .._atomic import special_kind
from ..errors import DataError

#: Prefix of the temporary files and folders written next to an output before the rename.
TMP_PREFIX = ".ffbp-"


def _stat(path):
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def same_file(a, b) -> bool:
    """Whether ``a`` and ``b`` are one file: by device and inode when both exist (symlinks
    are followed, hard links found), else by their resolved absolute paths."""
    sa, sb = _stat(a), _stat(b)
    if sa is not None and sb is not None:
        return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
    return os.path.realpath(a) == os.path.realpath(b)


def _named(label, path) -> str:
    return f"{label} {path}" if label else str(path)


def check_distinct(outputs, inputs, allowed=()) -> None:
    """Refuse an output that is one of the inputs, or another output.

    ``outputs`` and ``inputs``: (label, path) pairs (a None path is skipped, and so is '-',
    standard input/output); an output may be a triple (label, path, flag) when its path is
    made from another option's (the flag to change: the diverged-run model from -o).
    ``allowed``: (output label, input label) pairs that may be one file (a checkpoint
    written where the run resumed from)."""
    outputs = [(k, os.fspath(p), *by) for k, p, *by in outputs if p not in (None, "-")]
    inputs = [(k, os.fspath(p)) for k, p in inputs if p not in (None, "-")]
    for i, (out_label, out, *by) in enumerate(outputs):
        for in_label, source in inputs:
            if (out_label, in_label) not in allowed and same_file(out, source):
                how = "" if os.path.abspath(out) == os.path.abspath(source) else \
                    " (through a symlink or hard link)"
                fix = (f"choose another {by[0]} path ({out_label}'s path is made from it)"
                       if by else f"choose another {out_label or 'output'} path")
                raise DataError(f"{_named(out_label, out)} is the same file as "
                                f"{_named(in_label, source)}{how}: writing it would destroy "
                                f"the input; {fix}")
        for other_label, other, *_ in outputs[:i]:
            if same_file(out, other):
                raise DataError(f"{_named(out_label, out)} and {_named(other_label, other)} "
                                f"are the same file: one would overwrite the other; choose "
                                f"different paths")


def _probe(folder) -> str | None:
    """Why no file can be created in ``folder`` (None: it can)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".tmp", dir=folder)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.close(fd)
    os.unlink(tmp)
    return None


def check_writable(path, what, replaced=True) -> None:
    """``path`` can be written as a new or replaced file: not a folder, in a folder that
    exists and takes new files. ``what``: e.g. "the model", for the message. ``replaced``:
    the output is written beside ``path`` and renamed over it (``replacing``), so an existing
    ``path`` must be a regular file: a rename over /dev/null or a named pipe would put a
    file in the device's or the pipe's place."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise DataError(f"cannot write {what} to {path}: it is a directory (give a file name)")
    st = _stat(path)
    if replaced and st is not None and not stat.S_ISREG(st.st_mode):
        kind = special_kind(st.st_mode) or "not a regular file"
        raise DataError(f"cannot write {what} to {path}: it is {kind}, and ffbp writes a "
                        f"new file in its place (atomically); give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        above = _existing_ancestor(folder)
        why = f"{above} is a file, not a directory" if not os.path.isdir(above) else \
            f"no directory {folder}"
        raise DataError(f"cannot write {what} to {path}: {why}")
    why = _probe(folder)
    if why is not None:
        raise DataError(f"cannot write {what} to {path}: {why} (in {folder})")


def check_report_folder(directory, flag="--report") -> None:
    """``directory`` is a folder, or can be made one: its closest existing ancestor is a
    folder that takes new files. An existing file there is refused, never replaced."""
    directory = os.fspath(directory)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise DataError(f"{flag} {directory} is an existing file, not a directory ({flag} "
                        f"takes a directory to write report.html into)")
    page = os.path.join(directory, "report.html")
    if os.path.isdir(page):
        raise DataError(f"cannot write the report to {page}: it is a directory")
    existing = _existing_ancestor(directory)
    if not os.path.isdir(existing):
        raise DataError(f"cannot make the report directory {directory}: {existing} is a file, "
                        f"not a directory")
    why = _probe(existing)
    if why is not None:
        raise DataError(f"cannot write the report to {directory}: {why} (in {existing})")


def _existing_ancestor(folder) -> str:
    """``folder`` itself or its closest ancestor that exists (a file or a folder)."""
    here = os.path.abspath(folder)
    while not os.path.exists(here) and os.path.dirname(here) != here:
        here = os.path.dirname(here)
    return here


def reason(exc: BaseException) -> str:
    """Why a write failed, in words, without the temporary file's name."""
    text = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
    # safetensors ("I/O error: File too large (os error 27)") and pyarrow ("[errno 27] File
    # too large") wrap the system's error: give it as an OSError would
    found = re.search(r"os error (\d+)|errno (\d+)", text, re.IGNORECASE)
    if found:
        return os.strerror(int(found.group(1) or found.group(2)))
    return " ".join(text.split()) or type(exc).__name__


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def replacing(path, what):
    """Yield a temporary path next to ``path``; on success it is renamed over ``path``
    (all or nothing); on failure it is removed and a DataError names ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".tmp", dir=folder)
    except OSError as exc:
        raise DataError(f"cannot write {what} to {path}: {reason(exc)}") from None
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, (KeyboardInterrupt, SystemExit, DataError)):
            raise
        raise DataError(f"cannot write {what} to {path}: {reason(exc)}") from None


def write_file(path, what, write) -> None:
    """``write(path)`` (an ffbp save: atomic already) with any failure as a DataError naming
    ``path`` instead of the temporary file the save used."""
    try:
        write(path)
    except (KeyboardInterrupt, SystemExit, DataError):
        raise
    except Exception as exc:
        from ..errors import FFBPError

        if isinstance(exc, FFBPError):
            raise
        raise DataError(f"cannot write {what} to {path}: {reason(exc)}") from None


def write_report_atomically(directory, write) -> str:
    """Make ``directory`` if needed and call ``write(tmp_folder)`` (which writes
    ``tmp_folder/report.html``); rename that page to ``directory/report.html``. Return its
    path. Nothing partial is left behind on failure."""
    directory = os.fspath(directory)
    page = os.path.join(directory, "report.html")
    try:
        os.makedirs(directory, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=TMP_PREFIX, dir=directory)
    except OSError as exc:
        raise DataError(f"cannot write the report to {page}: {reason(exc)}") from None
    try:
        written = os.fspath(write(tmp))
        os.chmod(written, _default_mode())
        os.replace(written, page)
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise DataError(f"cannot write the report to {page}: {reason(exc)}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return page
