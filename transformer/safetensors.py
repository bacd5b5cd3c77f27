"""Read and write ``.safetensors`` files: Hugging Face's checkpoint format, without pickle.

A safetensors file is three parts, back to back:

    8 bytes      N, the header's length, an unsigned 64-bit little-endian integer
    N bytes      the header: UTF-8 JSON, one entry per tensor,
                 {"name": {"dtype": "F32", "shape": [384, 384], "data_offsets": [begin, end]},
                  ..., "__metadata__": {"format": "pt"}}   (optional, str -> str)
    the rest     the byte buffer: each tensor's raw little-endian values, row-major, at
                 buffer[begin:end] (offsets count from the buffer's start, not the file's)

So reading is ``np.frombuffer(buffer[begin:end], dtype).reshape(shape)``: no code runs, only
numbers are read. NumPy has no bfloat16, so BF16 tensors come back as float32 (a bfloat16 is the
top 16 bits of a float32: shift left by 16 bits, exactly). As in the reference implementation,
the tensors must tile the buffer: sorted by offset, each begins where the one before ends, and
the last ends with the file. Every malformed file raises ``CheckpointError`` naming the file and
what is wrong with it.

>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
>>> save_file({"w": np.eye(2, dtype=np.float32), "ids": np.arange(3)}, path)
>>> sorted((k, v.dtype.name, v.shape) for k, v in load_file(path).items())
[('ids', 'int64', (3,)), ('w', 'float32', (2, 2))]
"""
import json
import math
import os
import struct

import numpy as np

from minigrad.errors import CheckpointError
from minigrad.serialization import atomic_write

__all__ = ["load_file", "save_file", "read_metadata", "DTYPES"]

# The format's dtype names and NumPy's little-endian dtypes ("BF16" is read as uint16 first).
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
          "BOOL": "?"}
_NAMES = {np.dtype(code): name for name, code in DTYPES.items() if name not in ("BF16", "U16")}
_NAMES[np.dtype("<u2")] = "U16"
_MAX_HEADER = 100_000_000           # the reference implementation's limit on N


def _header(path, data):
    """(header dict, byte offset of the buffer) of the file's bytes ``data``."""
    if len(data) < 8:
        raise CheckpointError(f"safetensors: {path}: {len(data)} bytes, too short for the 8-byte "
                              "header length (truncated or not a safetensors file)")
    n, = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER:
        raise CheckpointError(f"safetensors: {path}: the header claims {n} bytes, more than the "
                              f"format's limit of {_MAX_HEADER} (not a safetensors file)")
    if 8 + n > len(data):
        raise CheckpointError(f"safetensors: {path}: the header claims {n} bytes but the file "
                              f"has {len(data) - 8} after the length (truncated or not a "
                              "safetensors file)")
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"safetensors: {path}: the header is not UTF-8 JSON ({err})") \
            from err
    if not isinstance(header, dict):
        raise CheckpointError(f"safetensors: {path}: the header is a JSON "
                              f"{type(header).__name__}, expected an object")
    metadata = header.get("__metadata__", {})
    if not (isinstance(metadata, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise CheckpointError(f"safetensors: {path}: __metadata__ is {metadata!r}, expected an "
                              "object mapping str to str")
    return header, 8 + n


def read_metadata(path):
    """The header's ``__metadata__`` dict (str -> str; {} when absent), reading only the header."""
    path = os.fspath(path)
    with _open(path) as f:
        head = f.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
        header, _ = _header(path, head + f.read(min(n, _MAX_HEADER)))
    return header.get("__metadata__", {})


def _open(path):
    try:
        return open(path, "rb")
    except OSError as err:
        raise CheckpointError(f"safetensors: cannot open {path}: {err.strerror}") from err


def load_file(path):
    """Every tensor of the file at ``path``: {name: writable NumPy array}, in header order."""
    path = os.fspath(path)
    with _open(path) as f:
        data = bytearray(os.fstat(f.fileno()).st_size)   # writable: frombuffer views can be too
        f.readinto(data)
    header, start = _header(path, data)
    buffer = memoryview(data)[start:]
    entries = {name: entry for name, entry in header.items() if name != "__metadata__"}
    tensors = {name: _tensor(path, name, entry, buffer) for name, entry in entries.items()}
    _check_tiling(path, entries, len(buffer))
    return tensors


def _is_count(value):
    """A non-negative int (JSON's true/false are Python bools, which are ints too: not these)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tensor(path, name, entry, buffer):
    """The array that header ``entry`` describes, checked against the buffer's length."""
    def bad(what):
        return CheckpointError(f"safetensors: {path}: tensor {name!r} {what}")

    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        raise bad("needs 'dtype', 'shape' and 'data_offsets' in the header")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise bad(f"has dtype {dtype!r}; this reader knows {', '.join(DTYPES)}")
    if not (isinstance(shape, list) and all(map(_is_count, shape))):
        raise bad(f"has shape {shape!r}, expected a list of non-negative integers")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))
            and offsets[0] <= offsets[1]):
        raise bad(f"has data_offsets {offsets!r}, expected [begin, end] with 0 <= begin <= end")
    begin, end = offsets
    expected = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize    # Python ints: no overflow
    if end - begin != expected:
        raise bad(f"of dtype {dtype} and shape {shape} needs {expected} bytes, but its "
                  f"data_offsets {offsets} span {end - begin}")
    if end > len(buffer):
        raise bad(f"ends at byte {end} of the buffer, which has only {len(buffer)} bytes "
                  "(truncated file)")
    array = np.frombuffer(buffer[begin:end], dtype=DTYPES[dtype]).reshape(shape)
    if dtype == "BF16":
        array = (array.astype(np.uint32) << 16).view(np.float32)              # exact
    return array


def _check_tiling(path, entries, size):
    """The tensors, sorted by offset, must cover buffer[0:size] with no overlap (two arrays
    would share bytes: writing one would change the other) and no gap."""
    end, previous = 0, None
    for name, entry in sorted(entries.items(), key=lambda item: item[1]["data_offsets"]):
        begin, stop = entry["data_offsets"]
        if begin != end:
            where = f"{previous!r}, which ends at byte {end}" if previous else "the buffer's start"
            raise CheckpointError(f"safetensors: {path}: tensor {name!r} at bytes [{begin}, "
                                  f"{stop}) {'overlaps' if begin < end else 'leaves a gap after'} "
                                  f"{where}; expected each tensor to begin where the one before "
                                  "ends")
        end, previous = stop, name
    if end != size:
        raise CheckpointError(f"safetensors: {path}: {size - end} bytes after the last tensor "
                              f"(the tensors end at byte {end} of a {size}-byte buffer)")


def save_file(tensors, path, metadata=None):
    """Write {name: array} to ``path`` in the safetensors format, atomically.

    Arrays are written little-endian and row-major, in sorted name order; the header is padded
    with spaces to a multiple of 8 bytes, as the reference implementation does. ``metadata``:
    an optional {str: str} stored as ``__metadata__``.
    """
    path = os.fspath(path)
    header, chunks, offset = {}, [], 0
    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("save_file: metadata must map str to str")
        header["__metadata__"] = dict(metadata)
    if not all(isinstance(name, str) for name in tensors):
        raise TypeError(f"save_file: tensor names must be str, got {list(tensors)!r}")
    if "__metadata__" in tensors:
        raise ValueError("save_file: no tensor may be called '__metadata__' (the header's "
                         "metadata entry has that name)")
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        little = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if little not in _NAMES:
            raise TypeError(f"save_file: tensor {name!r} has dtype {array.dtype}, which "
                            f"safetensors cannot hold ({', '.join(sorted(_NAMES.values()))})")
        raw = np.ascontiguousarray(array, dtype=little).tobytes()
        header[name] = {"dtype": _NAMES[little], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with atomic_write(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)
