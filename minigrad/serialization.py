"""``mg.save(obj, path)`` / ``mg.load(path)``: checkpoints without pickle.

``torch.save`` pickles, and unpickling a file can run any code in it. A minigrad checkpoint is
one ``.npz`` file (NumPy's zip of ``.npy`` arrays) that holds only data:

    "0", "1", ...       every array in ``obj``, in the order met
    "__minigrad__"      the tree as UTF-8 JSON bytes (a uint8 array):
                        {"format": "minigrad-checkpoint", "version": 1, "tree": node}

A node is a JSON value (None, bool, int, str, finite float) or a one-key object naming what
JSON lacks: ``{"list": [...]}``, ``{"tuple": [...]}``, ``{"dict": [[key, node], ...]}``
(keys str or int), ``{"array": "3"}``, ``{"scalar": "3"}`` (a NumPy scalar),
``{"tensor": ["3", requires_grad]}``, ``{"float": "nan" | "inf" | "-inf"}``.

``load`` returns arrays as NumPy arrays and Tensors (Parameters too) as plain CPU Tensors
with their ``requires_grad``; a dict subclass (OrderedDict) comes back as a dict. ``save`` writes atomically: a crash leaves the previous file whole.

>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
>>> save({"step": 3, "w": np.eye(2, dtype=np.float32), "betas": (0.9, 0.999)}, path)
>>> load(path)
{'step': 3, 'w': array([[1., 0.],
       [0., 1.]], dtype=float32), 'betas': (0.9, 0.999)}
"""
import contextlib
import json
import math
import os
import uuid
import zipfile

import numpy as np

from minigrad.errors import CheckpointError
from minigrad.tensor import Tensor

__all__ = ["save", "load", "atomic_write"]

FORMAT, VERSION, TREE_KEY = "minigrad-checkpoint", 1, "__minigrad__"


# ---- save -----------------------------------------------------------------------------------
def _encode(obj, arrays, where):
    """The JSON node for ``obj``; arrays go to ``arrays`` (a dict "0", "1", ... -> ndarray)."""
    def store(array):
        array = array.get() if hasattr(array, "__cuda_array_interface__") else array
        if array.dtype.hasobject:
            raise TypeError(f"save: {where} is an array of Python objects (dtype "
                            f"{array.dtype}); only numeric, bool and string arrays are stored")
        key = str(len(arrays))
        arrays[key] = array
        return key

    if isinstance(obj, Tensor):
        return {"tensor": [store(obj.data), obj.requires_grad]}
    if isinstance(obj, np.generic):                       # before float: np.float64 is a float
        return {"scalar": store(np.asarray(obj))}
    if isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
        return {"array": store(obj)}
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"float": repr(obj)}      # 'nan', 'inf', '-inf'
    if isinstance(obj, (list, tuple)):
        tag = "list" if isinstance(obj, list) else "tuple"
        return {tag: [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"save: {where} has a key {key!r} of type "
                                f"{type(key).__name__}; dict keys must be str or int")
            items.append([key, _encode(value, arrays, f"{where}[{key!r}]")])
        return {"dict": items}
    raise TypeError(f"save: {where} is a {type(obj).__name__}; a checkpoint holds dicts, "
                    "lists, tuples, arrays, Tensors, numbers, strings, bools and None")


@contextlib.contextmanager
def atomic_write(path, mode="w", encoding=None):
    """Open a file to write ``path`` all at once: readers see the old file or the new one,
    never half a file.

    The data goes to a temporary file in the same folder, is flushed to disk, then renamed over
    ``path`` (and the rename made durable on POSIX). On any error, Ctrl-C included, the
    temporary file is removed and ``path`` is untouched.
    """
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:8]}.tmp")
    f = open(tmp, mode.replace("w", "x"), encoding=encoding)   # 'x': never reuse a file
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.remove(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save(obj, path):
    """Write ``obj`` to ``path`` (used as given; no ``.npz`` is appended), atomically
    (``atomic_write``)."""
    arrays = {}
    tree = _encode(obj, arrays, "obj")
    header = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree}, allow_nan=False)
    arrays[TREE_KEY] = np.frombuffer(header.encode("utf-8"), dtype=np.uint8)

    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


# ---- load -----------------------------------------------------------------------------------
def _decode(node, arrays, where, path):
    """The object for a JSON ``node``; raises CheckpointError on anything unexpected."""
    def bad(what):
        return CheckpointError(f"load: {path}: malformed checkpoint tree at {where}: {what}")

    def array(key):
        if not isinstance(key, str) or key not in arrays or key == TREE_KEY:
            raise bad(f"refers to a missing array {key!r}")
        return arrays[key]

    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not (isinstance(node, dict) and len(node) == 1):
        raise bad(f"unexpected node {str(node)[:80]}")
    (tag, value), = node.items()
    if tag in ("list", "tuple") and isinstance(value, list):
        items = [_decode(v, arrays, f"{where}[{i}]", path) for i, v in enumerate(value)]
        return items if tag == "list" else tuple(items)
    if tag == "dict" and isinstance(value, list):
        out = {}
        for item in value:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))
                    and not isinstance(item[0], bool)):
                raise bad(f"a dict item is {str(item)[:80]}, expected [str or int key, value]")
            out[item[0]] = _decode(item[1], arrays, f"{where}[{item[0]!r}]", path)
        return out
    if tag == "array":
        return array(value)
    if tag == "scalar":
        return array(value)[()]
    if tag == "tensor" and isinstance(value, list) and len(value) == 2 \
            and isinstance(value[1], bool):
        return Tensor(array(value[0]), requires_grad=value[1])
    if tag == "float" and value in ("nan", "inf", "-inf"):
        return float(value)
    raise bad(f"unknown node {str(node)[:80]}")


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def load(path):
    """Read a checkpoint written by ``save``. Never unpickles: a file that is not a minigrad
    checkpoint (truncated, another zip, a pickle, object arrays) raises ``CheckpointError``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"load: {path}: no such file" if not os.path.exists(path)
                              else f"load: {path}: not a regular file")
    try:
        contents = np.load(path, allow_pickle=False)
        if isinstance(contents, np.lib.npyio.NpzFile):
            with contents as npz:
                arrays = {key: npz[key] for key in npz.files}
    except ValueError as err:        # NumPy's 'pickled data' / 'Object arrays cannot be loaded'
        raise CheckpointError(f"load: {path}: not a minigrad checkpoint, or it holds pickled "
                              f"objects, which are never loaded ({err})") from err
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"load: {path}: unreadable or truncated file ({err})") from err
    if not isinstance(contents, np.lib.npyio.NpzFile):
        raise CheckpointError(f"load: {path}: a bare .npy array, not an .npz checkpoint")
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):  # NpzFile returns raw bytes for non-.npy members
            raise CheckpointError(f"load: {path}: entry {key!r} is not a .npy array; "
                                  "a foreign zip file, not written by mg.save")

    header = arrays.get(TREE_KEY)
    if header is None or header.dtype != np.uint8 or header.ndim != 1:
        raise CheckpointError(f"load: {path}: an .npz file without a minigrad tree "
                              f"({TREE_KEY!r} entry); not written by mg.save")
    try:
        meta = json.loads(header.tobytes().decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as err:   # ValueError: bad UTF-8 or JSON
        raise CheckpointError(f"load: {path}: the tree is not valid UTF-8 JSON ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "tree" not in meta:
        raise CheckpointError(f"load: {path}: the {TREE_KEY!r} entry is not a {FORMAT} header")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"load: {path}: format version {meta.get('version')!r}; this "
                              f"minigrad reads version {VERSION}")
    return _decode(meta["tree"], arrays, "obj", path)
