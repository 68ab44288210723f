"""Files written all or nothing: a temporary in the same folder, fsync, rename over the
target, fsync of the folder; and the removal of temporaries that killed saves left behind.

Every file ffbp writes for a user (models, checkpoints, ONNX graphs, predictions) goes
through ``atomic_write``, so a reader sees the old file or the new one, never a mixture or
a truncated file, and a full disk leaves the previous file as it was.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import stat
import time

from .errors import DataError

#: A temporary left by a save that never finished is removed by the next save into the same
#: folder when its writer (same host) is no longer running, or when it has not been
#: modified for this many seconds (writers on other hosts, or whose pid cannot be checked).
STALE_AFTER = 15 * 60
_TEMP_RE = re.compile(r"\.ffbp-(\d{1,10})-[0-9a-f]{8}-([A-Za-z0-9_.-]{1,64})\.tmp\Z")
_OLD_TEMP_RE = re.compile(r"\.ffbp-[a-z0-9_]{8}\.tmp\Z")      # tempfile.mkstemp's, before


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname() or "host")[:64] or "host"


def _pid_running(pid: int) -> bool | None:
    """True / False, or None when it cannot be told (never signals anything on Windows,
    where os.kill would terminate the process)."""
    if os.name == "nt" or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return None
    return True


def is_stale(name: str, mtime: float, now: float, host: str) -> bool:
    """Whether ``name`` is one of ffbp's temporaries that no running save will use."""
    match = _TEMP_RE.match(name)
    if match is None:
        return _OLD_TEMP_RE.match(name) is not None and now - mtime > STALE_AFTER
    if now - mtime > STALE_AFTER:
        return True
    pid, writer_host = int(match.group(1)), match.group(2)
    return writer_host == host and pid != os.getpid() and _pid_running(pid) is False


def remove_stale_temporaries(folder) -> list[str]:
    """Delete ffbp's temporaries in ``folder`` left by saves that were killed; returns
    their names. Only names ffbp itself makes are considered, and errors are ignored (a
    concurrent save may remove the same file)."""
    removed, now, host = [], time.time(), _host()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".ffbp-") or not entry.name.endswith(".tmp"):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and is_stale(
                    entry.name, entry.stat(follow_symlinks=False).st_mtime, now, host):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            pass
    return removed


def _create_temporary(folder: str) -> str:
    """A new empty file in ``folder`` with ffbp's temporary name, created with mode 0o666
    so the umask (and default ACLs) apply as for any new file (mkstemp's 0o600 would not)."""
    host = _host()
    while True:
        name = f".ffbp-{os.getpid()}-{secrets.token_hex(4)}-{host}.tmp"
        tmp = os.path.join(folder, name)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def special_kind(mode: int) -> str | None:
    """What a file of ``st_mode`` is when it is a device, a named pipe or a socket (a rename
    over it would put a regular file in its place), else None."""
    return ("a character device" if stat.S_ISCHR(mode) else
            "a block device" if stat.S_ISBLK(mode) else
            "a named pipe" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else None)


def atomic_write(path, write) -> None:
    """Call ``write(tmp_path)``, fsync, then rename over ``path``: all or nothing. First
    removes stale temporaries of killed saves from the folder. A ``path`` that is a device,
    a named pipe or a socket is refused before anything is written: the rename would
    replace it (``ffbp.save(net, "/dev/null")`` run as root would replace the system's)."""
    path = os.fspath(path)
    try:
        kind = special_kind(os.lstat(path).st_mode)
    except OSError:
        kind = None                         # no such file yet (or unreadable: rename decides)
    if kind is not None:
        raise DataError(f"cannot write to {path}: it is {kind}, and ffbp writes a new file "
                        f"in its place (atomically); give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    remove_stale_temporaries(folder)
    tmp = _create_temporary(folder)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:                                   # make the rename itself durable
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path, blob: bytes) -> None:
    """Write ``blob`` to ``path`` atomically."""
    def write(tmp):
        with open(tmp, "wb") as fh:
            fh.write(blob)
    atomic_write(path, write)
