"""The file container shared by model files and checkpoints: a standard safetensors file
whose ``__metadata__`` holds ffbp's JSON document (``"ffbp"``) and a SHA-256 digest of the
whole file (``"ffbp_sha256"``), written atomically and read in one piece.

Layout (safetensors): 8 bytes little-endian header length n, n bytes of JSON (padded with
spaces to a multiple of 8), then the tensor bytes. The digest is SHA-256 over every byte of
the file with the 64 hex digits of the digest itself replaced by "0"s: any change to the
header (the architecture, a dtype, a shape, an offset, even padding) or to a tensor byte
changes it. It detects damage and edits by other tools; it is not a signature (anyone can
recompute it), so what a file says is still validated after the digest matches.

Readers open the file once and parse everything from those bytes, so a writer that
renames a new version over the path in the meantime cannot mix two versions.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import warnings

import numpy as np

from ._atomic import atomic_write, write_bytes  # noqa: F401  (io, checkpoint, onnx)
from ._version import __version__
from .errors import FFBPError, ModelFileError, ModelFileWarning

DIGEST_KEY = "ffbp_sha256"
#: The value of the document's "integrity" entry in files that carry a digest; a file
#: declaring it must have a matching digest (stripping the digest is refused).
INTEGRITY = "sha256"
_PLACEHOLDER = "0" * 64
_DIGEST_RE = re.compile(rb'"' + DIGEST_KEY.encode() + rb'"\s*:\s*"([0-9a-f]{64})"')
MAX_HEADER = 100_000_000          # safetensors' own limit on the JSON header
_MAX_DIGITS = 64                  # longest integer literal accepted (PCG64 states: 39 digits)
_MAX_DIMS = 16

# safetensors dtype names -> little-endian NumPy dtypes (those NumPy has).
DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "I16": "<i2", "I32": "<i4",
          "I64": "<i8", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}
_NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


# -- strict JSON ---------------------------------------------------------------------------
class _Bad(Exception):
    """A JSON literal ffbp never writes (not a ValueError, so json does not reword it)."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise _Bad(f"an integer of {len(text.lstrip('-'))} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):                  # 1e400: Python would make it inf
        raise _Bad(f"the number {text[:40]} (out of range)")
    return value


def parse_json(text, where: str):
    """``json.loads`` that turns every way JSON text can fail (deep nesting, 1e400, huge
    integers, bad UTF-8, syntax) into one ``ModelFileError`` line naming ``where``."""
    try:
        if isinstance(text, (bytes, bytearray, memoryview)):
            text = bytes(text).decode("utf-8")
        if not isinstance(text, str):
            raise _Bad(f"a {type(text).__name__} instead of JSON text")
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except _Bad as exc:
        raise ModelFileError(f"{where} holds {exc}") from None
    except RecursionError:
        raise ModelFileError(f"{where} is nested too deeply to be ffbp's JSON") from None
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{where} is not UTF-8 text (byte {exc.start})") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise ModelFileError(f"{where} is not valid JSON: "
                             f"{' '.join(str(exc).split())[:200]}") from None


# -- writing -------------------------------------------------------------------------------
def encode(tensors: dict, document: str) -> bytes:
    """The bytes of a safetensors file holding ``tensors`` (name -> array) and the JSON text
    ``document`` as ``__metadata__["ffbp"]``, with its digest."""
    table, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        data = little.tobytes()
        table[name] = {"dtype": _NAMES[np.dtype(little.dtype)], "shape": list(array.shape),
                       "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header = {"__metadata__": {"ffbp": document, DIGEST_KEY: _PLACEHOLDER}, **table}
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    text += b" " * (-len(text) % 8)
    blob = bytearray(len(text).to_bytes(8, "little") + text + b"".join(chunks))
    return bytes(seal(blob))


def seal(blob) -> bytes:
    """``blob`` with its digest field set to the digest of its other bytes."""
    blob = bytearray(blob)
    n = int.from_bytes(blob[:8], "little")
    found = list(_DIGEST_RE.finditer(blob, 8, 8 + n))
    if len(found) != 1:
        raise ValueError("the header must hold exactly one digest field")
    start, end = found[0].span(1)
    blob[start:end] = _PLACEHOLDER.encode()
    blob[start:end] = hashlib.sha256(blob).hexdigest().encode()
    return bytes(blob)


# -- reading -------------------------------------------------------------------------------
def read_bytes(path, what: str) -> bytes:
    """All of the file at ``path``, from one open."""
    try:
        with open(os.fspath(path), "rb") as fh:
            return fh.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ModelFileError(f"no {what} at {path}") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _shape(value, where):
    if not isinstance(value, list) or len(value) > _MAX_DIMS or not all(
            type(d) is int and 0 <= d < 2**62 for d in value):
        raise ModelFileError(f"{where} has an invalid shape {value!r:.80}")
    return tuple(value)


def decode(blob: bytes, path, what: str):
    """Parse a container: returns (metadata dict, {name: read-only array}, digest_checked).
    The digest, when the file has one, is checked before anything else is believed."""
    size = len(blob)
    if size < 8:
        raise ModelFileError(f"{path} is not an ffbp {what}: {size} bytes is too short")
    n = int.from_bytes(blob[:8], "little")
    if n > size - 8 or n > MAX_HEADER or n < 2:
        raise ModelFileError(f"{path} is not an ffbp {what}: its header length {n} does not "
                             f"fit a file of {size} bytes (truncated or not safetensors)")
    table = parse_json(blob[8:8 + n], f"{path}: the header")
    if not isinstance(table, dict):
        raise ModelFileError(f"{path} is not an ffbp {what}: the header is not a JSON object")
    meta = table.pop("__metadata__", None)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ModelFileError(f"{path}: the header's __metadata__ must map names to strings")
    checked = False
    if DIGEST_KEY in meta:
        found = list(_DIGEST_RE.finditer(blob, 8, 8 + n))
        if len(found) != 1 or found[0].group(1).decode() != meta[DIGEST_KEY]:
            raise ModelFileError(f"{path}: the integrity digest field is malformed: the file "
                                 f"was damaged or edited")
        start, end = found[0].span(1)
        view, sha = memoryview(blob), hashlib.sha256()
        for part in (view[:start], _PLACEHOLDER.encode(), view[end:]):
            sha.update(part)
        digest = sha.hexdigest()
        if digest != meta[DIGEST_KEY]:
            raise ModelFileError(f"{path}: SHA-256 digest mismatch: the file was damaged or "
                                 f"edited after ffbp wrote it")
        checked = True
    data = memoryview(blob)[8 + n:]
    entries = []
    for name, entry in table.items():
        where = f"{path}: tensor {name!r:.60}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ModelFileError(f"{where} has a malformed entry in the tensor table")
        if not isinstance(entry["dtype"], str) or entry["dtype"] not in DTYPES:
            raise ModelFileError(f"{where} has an unsupported dtype {entry['dtype']!r:.40}")
        shape = _shape(entry["shape"], where)
        offsets = entry["data_offsets"]
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(
                type(o) is int and 0 <= o for o in offsets) or offsets[0] > offsets[1]:
            raise ModelFileError(f"{where} has invalid data offsets {offsets!r:.80}")
        dtype = np.dtype(DTYPES[entry["dtype"]])
        count = math.prod(shape)
        if count * dtype.itemsize != offsets[1] - offsets[0]:
            raise ModelFileError(f"{where}: its shape {shape} and dtype {entry['dtype']} need "
                                 f"{count * dtype.itemsize} bytes, its offsets span "
                                 f"{offsets[1] - offsets[0]}")
        entries.append((offsets[0], offsets[1], name, dtype, shape, count))
    entries.sort(key=lambda e: (e[0], e[1]))
    end = 0
    for start, stop, name, *_ in entries:
        if start != end:
            raise ModelFileError(f"{path}: the tensor data has a gap or overlap at tensor "
                                 f"{name!r:.60} (truncated or edited file)")
        end = stop
    if end != len(data):
        raise ModelFileError(f"{path}: the tensors need {end} bytes of data, the file holds "
                             f"{len(data)} (truncated or edited file)")
    arrays = {name: np.frombuffer(data, dtype, count, start).reshape(shape)
              for start, _, name, dtype, shape, count in entries}
    return meta, arrays, checked


# -- checks shared by model files and checkpoints --------------------------------------
def check_document(meta: dict, checked: bool, path, what: str, fmt: str, version: int):
    """The ffbp JSON document of a decoded container, checked for format, version and the
    integrity rule: a document declaring a digest must have had it checked; one without
    (written before digests existed) is read with a ``ModelFileWarning``."""
    if "ffbp" not in meta:
        raise ModelFileError(f"{path} is not an ffbp {what}: its header has no ffbp entry")
    doc = parse_json(meta["ffbp"], f"{path}: the ffbp header entry")
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise ModelFileError(f"{path} is not an ffbp {what}")
    if type(doc.get("version")) is not int or doc["version"] != version:
        raise ModelFileError(f"{path} has {what} format version {doc.get('version')!r:.40}; "
                             f"this ffbp (v{__version__}) reads version {version}")
    declared = doc.get("integrity")
    if declared is not None and declared != INTEGRITY:
        raise ModelFileError(f"{path}: unknown integrity scheme {declared!r:.40}")
    if declared is not None and not checked:
        raise ModelFileError(f"{path}: its integrity digest is missing: the file was damaged "
                             f"or edited after ffbp wrote it")
    if declared is None and checked:
        raise ModelFileError(f"{path}: a digest without the document declaring it: the file "
                             f"was edited")
    if not checked:
        warnings.warn(f"{path} has no integrity digest (written by an older ffbp): "
                      f"its content is validated but damage that still looks "
                      f"valid cannot be detected; save it again to add a digest",
                      ModelFileWarning, stacklevel=4)
    return doc


def guarded(path, what: str, work, reword_ffbp: bool = True):
    """Run ``work()``; any exception other than ffbp's own ModelFileError becomes one, so
    that no bytes make loading raise anything else (other ffbp errors, raised by a layer
    constructor or the Network on a file's say-so, are reworded as the file's fault)."""
    try:
        return work()
    except (ModelFileError, MemoryError, KeyboardInterrupt):
        raise
    except FFBPError as exc:
        if not reword_ffbp:
            raise
        raise ModelFileError(f"{path}: inconsistent {what}: "
                             f"{' '.join(str(exc).split())}") from None
    except Exception as exc:
        raise ModelFileError(f"{path}: unreadable {what} ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:200]})") from exc


def same_json(a, b) -> bool:
    """Equal as JSON values and of the same JSON types (True is not 1, 1 is not 1.0)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b                       # NaN is never equal: refused
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return a == b


def json_value(value):
    """``value`` as json.loads(json.dumps(value)) would give it back (tuples are lists)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


def check_tensor(source: np.ndarray, target: np.ndarray, where: str) -> None:
    """``source`` (from a file) may replace ``target``: same shape, same dtype, finite, and
    for a running variance, non-negative."""
    if source.shape != target.shape:
        raise ModelFileError(f"{where} has shape {source.shape}, the layer needs "
                             f"{target.shape}")
    if source.dtype != target.dtype:
        raise ModelFileError(f"{where} has dtype {source.dtype}, the layer needs "
                             f"{target.dtype}")
    if not np.isfinite(source).all():
        raise ModelFileError(f"{where} contains NaN or inf")
    if where.endswith("running_var") and (source < 0).any():
        raise ModelFileError(f"{where} contains a negative variance")
