"""The GPU code paths, run on the CPU with a stand-in for CuPy: NumPy-on-device mistakes and
RawKernel argument mistakes found here, not first on a GPU machine.

``fake_cupy`` is a module that plays ``cupy`` (and ``fake_cupyx`` ``cupyx``) for these tests. Its arrays hold a
NumPy array but behave like CuPy's where device code goes wrong (CuPy's ``ndarray`` source,
``cupy/_core/core.pyx``, and ``cupy/_sorting/search.py``):
- ``np.asarray(a)`` (any implicit conversion to NumPy) raises CuPy's TypeError;
- a NumPy ufunc or function (``np.exp``, ``np.where``, ``np.concatenate``, ...) on one runs the
  ``cupy`` function of the same name (NEP 13 / NEP 18), and raises TypeError when a NumPy array
  is mixed in as data, or when the ufunc method is not a plain call (``np.add.at``: device
  code calls ``cupy.add.at``);
- ``cupy.where(cond, x, y)`` calls ``cond.astype``: a Python bool condition raises;
- reductions return 0-d arrays, never NumPy scalars; ``.get()``, ``.item()``, ``float()`` copy
  to the host.
Its ``RawModule`` compiles nothing: each launch is checked against the kernel's C signature
in ``kernels/cuda/*.cu`` (argument count; arrays C-contiguous, of the pointer's dtype; scalars
``np.int32`` / ``np.int64`` / the SCALAR_T float; block sizes the kernel needs), which is how
a Python float or an int64 size would reach a kernel as garbage on a real GPU.

What it cannot see: anything CUDA computes (values, races, shared memory), and CuPy functions
that exist in NumPy but not in CuPy (the stand-in has NumPy's). Those need a GPU: there, every
framework test here runs a second time on the real CuPy and kernels (the ``gpu`` fixture's
"cupy" case, at float32 rounding tolerances), next to the kernel tests of
``test_cupy_gpu.py``.

Found by it and fixed: ``where``/``masked_fill`` called ``np.asarray`` on device masks (BERT's
padding embedding, ``nll_loss``, attention with dropout broke), ``Pow.backward`` gave
``cupy.where`` a Python bool (``mse_loss``, ``x ** n``); the cases below keep them fixed.
"""
import importlib.util
import re
import sys
import types

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import kernels
from minigrad.device import cuda as mg_cuda
from minigrad.kernels import cuda_sources
from minigrad.kernels import reference as R


# ---- the stand-in arrays -----------------------------------------------------------------------
def _unwrap(x):
    """FakeArray -> its NumPy array, recursively through tuples and lists."""
    if isinstance(x, FakeArray):
        return x._a
    if isinstance(x, (tuple, list)):
        return type(x)(_unwrap(v) for v in x)
    return x


def _wrap(x):
    """NumPy arrays (and scalars: CuPy returns 0-d arrays) -> FakeArray, through tuples and
    lists."""
    if isinstance(x, (np.ndarray, np.generic)):
        return FakeArray(np.asarray(x))
    if isinstance(x, (tuple, list)):
        return type(x)(_wrap(v) for v in x)
    return x


def _reject_host_arrays(where, *values):
    """CuPy refuses NumPy arrays as operands: a host -> device copy must be explicit."""
    for v in values:
        if isinstance(v, np.ndarray):
            raise TypeError(f"{where}: Unsupported type <class 'numpy.ndarray'> (a NumPy "
                            "array mixed with CuPy arrays; CuPy never converts implicitly)")
        if isinstance(v, (tuple, list)):
            _reject_host_arrays(where, *v)


class FakeArray(np.lib.mixins.NDArrayOperatorsMixin):
    """A device array of the stand-in: a NumPy array that refuses to be used as one."""

    __array_priority__ = 100

    def __init__(self, array):
        assert isinstance(array, np.ndarray)
        self._a = array

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use "
                        "`.get()` to construct a NumPy array explicitly.")

    @property
    def __cuda_array_interface__(self):
        return {"shape": self._a.shape, "typestr": self._a.dtype.str, "version": 3,
                "data": (self._a.ctypes.data, False),
                "strides": None if self._a.flags.c_contiguous else self._a.strides}

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: FakeArray(self._a.T))

    def get(self):
        return self._a.copy()

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (FakeArray(self._a[i]) for i in range(len(self._a)))

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __repr__(self):
        return f"fake_cupy.{self._a!r}"

    def __copy__(self):
        return FakeArray(self._a.copy())

    def __deepcopy__(self, memo):
        return FakeArray(self._a.copy())

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index)])      # indices from the host are copied over

    def __setitem__(self, index, value):
        self._a[_unwrap(index)] = _unwrap(value)

    def __getattr__(self, name):
        """Array methods (sum, reshape, astype, ...): NumPy's, with arrays in and out wrapped.
        No dunders: NumPy's ``__array_interface__`` would let NumPy read the data."""
        if name.startswith("__"):
            raise AttributeError(name)
        attribute = getattr(self._a, name)
        if not callable(attribute):
            return _wrap(attribute)

        def method(*args, **kwargs):
            return _wrap(attribute(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))
        return method

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            return NotImplemented                   # np.add.at(a, ...): TypeError, as CuPy
        out = kwargs.get("out", ())
        for x in (*inputs, *out):
            if isinstance(x, np.ndarray) and not (x.ndim == 0 and ufunc.__name__ in _COMPARISONS):
                _reject_host_arrays(f"np.{ufunc.__name__}", x)
            if not isinstance(x, (FakeArray, np.ndarray, np.generic, int, float, bool, complex)):
                return NotImplemented
        if out:
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        result = ufunc(*_unwrap(inputs), **kwargs)
        return out[0] if len(out) == 1 else _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        implementation = getattr(fake_cupy, func.__name__, None)
        if implementation is None or any(t not in (FakeArray, np.ndarray) for t in types):
            return NotImplemented
        return implementation(*args, **kwargs)


_COMPARISONS = {"greater", "greater_equal", "less", "less_equal", "equal", "not_equal"}


# ---- the stand-in modules ----------------------------------------------------------------------
def _on_device(name, strict=True):
    """cupy.<name>: NumPy's function on unwrapped arrays; ``strict``: its first argument (the
    data) must not be a NumPy array, as CuPy's functions take only device arrays there."""
    numpy_function = getattr(np, name)

    def function(*args, **kwargs):
        if strict and args:
            _reject_host_arrays(f"cupy.{name}", args[0])
        return _wrap(numpy_function(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))
    function.__name__ = name
    return function


def _to_device(name):
    """cupy.asarray and friends: copy host data to the device."""
    numpy_function = getattr(np, name)

    def function(a, *args, **kwargs):
        return FakeArray(np.array(numpy_function(_unwrap(a), *args, **kwargs)))
    function.__name__ = name
    return function


def _where(condition, x=None, y=None):
    """cupy.where: ``condition.astype('?')`` first (cupy/_sorting/search.py), so a Python
    bool condition raises AttributeError, and NumPy arrays are refused."""
    if x is None and y is None:
        return _wrap(np.nonzero(condition.astype("?")._a))
    _reject_host_arrays("cupy.where", condition, x, y)
    condition = condition.astype("?")
    return FakeArray(np.asarray(np.where(*_unwrap((condition, x, y)))))


fake_cupy = types.ModuleType("cupy")
fake_cupy.ndarray = FakeArray
fake_cupy.__version__ = "fake"
for _name in ("shape", "ndim", "expand_dims", "broadcast_to", "squeeze", "moveaxis", "swapaxes",
              "transpose", "reshape", "ravel", "split", "array_split", "cumsum", "ones_like",
              "zeros_like", "full_like", "clip", "tril", "triu", "matmul", "dot",
              "take_along_axis", "argsort", "sort", "argmax", "sum", "mean", "maximum",
              "minimum", "exp", "log", "sqrt", "tanh", "isfinite", "isnan", "isinf", "abs",
              "logaddexp", "log1p", "sign", "allclose", "array_equal", "round", "around",
              "all", "any", "copy", "concatenate", "stack", "vdot"):
    setattr(fake_cupy, _name, _on_device(_name))
for _name in ("zeros", "ones", "full", "arange", "eye", "linspace"):
    setattr(fake_cupy, _name, _on_device(_name, strict=False))
# empty arrays: zeros here (the stand-in kernels write nothing; garbage would only warn)
fake_cupy.empty, fake_cupy.empty_like = _on_device("zeros", False), _on_device("zeros_like")
for _name in ("asarray", "array", "ascontiguousarray"):
    setattr(fake_cupy, _name, _to_device(_name))
fake_cupy.where = _where
fake_cupy.inf, fake_cupy.nan, fake_cupy.newaxis = np.inf, np.nan, None
for _name in ("float16", "float32", "float64", "int32", "int64", "bool_", "dtype"):
    setattr(fake_cupy, _name, getattr(np, _name))
fake_cupy.get_array_module = lambda *arrays: (
    fake_cupy if any(isinstance(a, FakeArray) for a in arrays) else np)
fake_cupy.asnumpy = lambda a: a.get() if isinstance(a, FakeArray) else np.asarray(a)
fake_cupy.cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
    Device=lambda *_: types.SimpleNamespace(synchronize=lambda: None))


def _add_at(a, indices, b):
    """cupy.add.at: np.add.at on the device array (NumPy data refused; indices may come from
    the host, as for indexing)."""
    if not isinstance(a, FakeArray):
        raise TypeError(f"cupy.add.at: a must be a cupy.ndarray, got {type(a).__name__}")
    _reject_host_arrays("cupy.add.at", b)
    np.add.at(a._a, _unwrap(indices), _unwrap(b))


def _erf(x):
    if not isinstance(x, FakeArray):
        raise TypeError("cupyx.scipy.special.erf: expects a cupy.ndarray")
    with kernels.use("numpy"):
        return FakeArray(np.asarray(R.erf(x._a)))


fake_cupy.add = types.SimpleNamespace(at=_add_at)
fake_cupyx = types.ModuleType("cupyx")
fake_cupyx_scipy = types.ModuleType("cupyx.scipy")
fake_cupyx_special = types.ModuleType("cupyx.scipy.special")
fake_cupyx_special.erf = _erf
fake_cupyx.scipy, fake_cupyx_scipy.special = fake_cupyx_scipy, fake_cupyx_special


# ---- RawModule / ElementwiseKernel: launches checked against the C sources -----------------------
_C_TYPES = {"int": np.int32, "long long": np.int64, "bool": np.bool_}


def _c_kernels(code):
    """{kernel name: [(C base type, is pointer, name), ...]} of the extern "C" kernels."""
    found = {}
    for name, params in re.findall(r'extern "C" __global__ void\s+(\w+)\s*\(([^)]*)\)', code):
        parsed = []
        for param in params.split(","):
            words = param.replace("*", " * ").split()
            pointer = "*" in words
            base = " ".join(w for w in words[:-1] if w not in ("const", "__restrict__", "*"))
            parsed.append((base, pointer, words[-1]))
        found[name] = parsed
    return found


def _define(options, name, code):
    """The value of ``-D<name>=`` in options, else the source's ``#define <name>`` default."""
    for option in options:
        if option.startswith(f"-D{name}="):
            return option.split("=", 1)[1]
    match = re.search(rf"#define {name} (\w+)", code)
    return match.group(1) if match else None


class FakeRawModule:
    """cupy.RawModule(code=..., options=...): kernels that check their launches."""

    launches = []                                   # (kernel name, grid, block), every launch

    def __init__(self, code, options=()):
        self.code, self.options = code, tuple(options)
        assert all(isinstance(o, str) for o in self.options), self.options
        self.kernels = _c_kernels(code)
        scalar = {"float": np.float32, "double": np.float64}[_define(options, "SCALAR_T", code)]
        self.types = {**_C_TYPES, "scalar_t": scalar}

    def get_function(self, name):
        if name not in self.kernels:
            raise KeyError(f"no kernel {name!r} in the module (has {sorted(self.kernels)})")
        return lambda grid, block, args, shared_mem=0: self._launch(name, grid, block, args)

    def _block_needed(self, name):
        """The block size this kernel was written for, or None (any multiple of 32 for the
        kernels that reduce over the block)."""
        if name.startswith("attention_backward_dkdv"):
            return (int(_define(self.options, "TILE", self.code)),)
        if name.startswith("attention_"):
            return (int(_define(self.options, "QUERY_BLOCK", self.code)),)
        if name == "matmul_tiled":
            tile = int(_define(self.options, "TILE", self.code))
            return (tile, tile)
        return None

    @staticmethod
    def _grid_needed(name, block, named):
        """The grid that covers the data (one block per row, query tile, key tile or output
        tile), or None for the grid-stride kernel, which any grid covers."""
        def tiles(n, size):
            return -(-int(n) // size)
        if "rows" in named and name != "cross_entropy_backward":
            return (int(named["rows"]),)
        if name.startswith("attention_"):
            batch = named["q"].shape[0]
            length = named["Tk"] if "dkdv" in name else named["Tq"]
            return (batch * tiles(length, block[0]),)
        if name == "matmul_tiled":
            return (tiles(named["N"], block[0]), tiles(named["M"], block[1]))
        return None

    def _launch(self, name, grid, block, args):
        where = f"kernel {name}"
        assert isinstance(grid, tuple) and isinstance(block, tuple), (where, grid, block)
        assert all(isinstance(n, (int, np.integer)) and n >= 1 for n in grid + block), \
            (where, grid, block)
        assert np.prod(block) <= 1024 and all(n <= 65535 for n in grid[1:]), (where, grid, block)
        body = self.code.split(f" {name}(", 1)[1]
        needed = self._block_needed(name)
        if needed is not None:
            assert block == needed, f"{where}: block {block}, the kernel is written for {needed}"
        elif "block_reduce" in body.split("extern", 1)[0]:
            assert block[0] % 32 == 0 and len(block) == 1, f"{where}: block {block} is not whole warps"
        params = self.kernels[name]
        assert len(args) == len(params), \
            f"{where}: {len(args)} arguments for {len(params)} parameters {[p[2] for p in params]}"
        covered = self._grid_needed(name, block, dict(zip((p[2] for p in params), args)))
        assert covered is None or grid == covered, \
            f"{where}: grid {grid}, the data needs {covered} blocks of {block}"
        for arg, (base, pointer, pname) in zip(args, params):
            expected = self.types[base]
            if pointer:
                assert isinstance(arg, FakeArray), f"{where}: {pname} must be a device array, got {type(arg)}"
                assert arg.dtype == expected, f"{where}: {pname} has dtype {arg.dtype}, the kernel reads {base}"
                assert arg.flags.c_contiguous or pname == "mask", \
                    f"{where}: {pname} is not C-contiguous (the kernel reads it row-major)"
            else:
                assert type(arg) is expected, \
                    f"{where}: {pname} is {type(arg).__name__}, the kernel takes {base} ({expected.__name__})"
        FakeRawModule.launches.append((name, grid, block))


class FakeElementwiseKernel:
    """cupy.ElementwiseKernel(in_params, out_params, operation, name): checks the call's
    arguments against the parameters (device arrays, or NumPy scalars of the array's dtype;
    one dtype per type letter; outputs given in place must have the broadcast shape) and
    returns the outputs, empty unless given."""

    def __init__(self, in_params, out_params, operation, name="kernel", **kwargs):
        self.ins = [p.split() for p in in_params.split(",")]
        self.outs = [p.split() for p in out_params.split(",")]
        assert re.fullmatch(r"\w+", name), name
        assert all(n in operation for _, n in self.ins + self.outs), operation

    def __call__(self, *args):
        given = len(args) - len(self.ins)
        assert given in (0, len(self.outs)) and (given or len(self.outs) == 1), \
            (len(args), self.ins, self.outs)
        types_seen = {}
        for arg, (letter, pname) in zip(args, self.ins + self.outs):
            assert isinstance(arg, (FakeArray, np.generic)), f"{pname}: {type(arg)}"
            assert types_seen.setdefault(letter, arg.dtype) == arg.dtype, (pname, types_seen)
        shape = np.broadcast_shapes(*(a.shape for a in args[:len(self.ins)]))
        outputs = args[len(self.ins):] or [FakeArray(np.empty(shape, types_seen[letter]))
                                           for letter, _ in self.outs]
        assert all(isinstance(o, FakeArray) and o.shape == shape for o in outputs), shape
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


fake_cupy.RawModule = FakeRawModule
fake_cupy.ElementwiseKernel = FakeElementwiseKernel


# ---- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(params=["stand-in", "cupy"])
def gpu(request, monkeypatch):
    """'cuda' for this test: the stand-in (mg.cuda sees one GPU, GPU arrays are FakeArrays,
    their kernels the reference's, as when cupy_gpu cannot load), or, on a machine with a GPU,
    the real CuPy and kernels (the same checks, at float32 rounding tolerances). The CPU side
    runs the reference kernels. -> the tolerances of the comparisons, and ``exact``: the
    GPU side does the CPU's arithmetic (the stand-in), so rounding cannot flip a decision."""
    if request.param == "stand-in":
        for name, module in (("cupy", fake_cupy), ("cupyx", fake_cupyx),
                             ("cupyx.scipy", fake_cupyx_scipy),
                             ("cupyx.scipy.special", fake_cupyx_special)):
            monkeypatch.setitem(sys.modules, name, module)
        monkeypatch.setattr(mg_cuda, "_cupy", None)
        monkeypatch.setattr(mg_cuda, "_reason", None)
        monkeypatch.setitem(kernels._modules, "cupy_gpu", None)
        tolerance = types.SimpleNamespace(loss=1e-6, rtol=1e-5, atol=1e-7, exact=True)
    elif not mg.cuda.is_available():
        pytest.skip(f"no usable GPU for the real-CuPy run ({mg.cuda.unavailable_reason()})")
    else:
        tolerance = types.SimpleNamespace(loss=1e-4, rtol=1e-3, atol=1e-5, exact=False)
    assert mg.cuda.is_available()
    with kernels.use("numpy"):
        yield tolerance


@pytest.fixture
def G(monkeypatch):
    """``cupy_gpu.py`` loaded against the stand-in (a private copy: the real module, if any,
    is untouched)."""
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy)
    path = cuda_sources.CUDA_DIR.with_name("cupy_gpu.py")
    spec = importlib.util.spec_from_file_location("_cupy_gpu_on_fake_cupy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    FakeRawModule.launches.clear()
    return module


def dev(array):
    return FakeArray(np.array(array))


# ---- the stand-in itself ------------------------------------------------------------------------
def test_the_stand_in_refuses_what_cupy_refuses():
    a = dev(np.arange(6.0).reshape(2, 3))
    for bad in (lambda: np.asarray(a), lambda: np.array(a), lambda: a + np.ones(3),
                lambda: np.ones(3) * a, lambda: np.where(a > 1, a, np.zeros(3)),
                lambda: np.concatenate([np.ones((1, 3)), a]), lambda: np.add.at(a, [0], 1.0)):
        with pytest.raises(TypeError):
            bad()
    with pytest.raises(AttributeError):
        np.where(True, 0.0, a)                      # cupy.where(True, ...): bool has no astype
    assert isinstance(np.exp(a), FakeArray) and isinstance(a.sum(), FakeArray)
    assert a.sum().shape == () and float(a.sum()) == 15.0
    b = a.copy()
    b += 1
    b[0] = 0
    assert isinstance(b, FakeArray) and b.get().tolist() == [[0, 0, 0], [4, 5, 6]]
    assert np.shape(a) == (2, 3) and isinstance(np.moveaxis(a, 0, 1), FakeArray)


# ---- cupy_gpu.py: every launch matches its kernel's C signature ----------------------------------
DTYPES = [pytest.param(np.float32, id="f32"), pytest.param(np.float64, id="f64")]


@pytest.mark.parametrize("dtype", DTYPES)
def test_cupy_gpu_launches_match_the_kernel_signatures(G, rng, dtype):
    def randn(*shape):
        return dev(rng.standard_normal(shape).astype(dtype))

    strided = FakeArray(rng.standard_normal((5, 7, 3)).astype(dtype).transpose(0, 2, 1))
    every_other = randn(7, 26)[:, ::2]                     # a (7, 13) view, not contiguous
    for x in (randn(7, 13), randn(2, 3, 1000), strided, every_other):
        y, g = G.softmax_forward(x), randn(*x.shape)
        assert y.shape == x.shape and y.dtype == dtype
        G.softmax_backward(y, g), G.log_softmax_forward(x), G.log_softmax_backward(y, g)
    w, b, g = randn(13), randn(13), randn(7, 26)[:, 1::2]
    for x in (randn(7, 13), every_other):
        for weight, bias in ((w, b), (w, None), (None, None)):
            y, mean, rstd = G.layer_norm_forward(x, weight, bias, 1e-5)
            dx, dw, db = G.layer_norm_backward(x, weight, mean, rstd, g)
            assert dx.shape == x.shape and dw.shape == db.shape == (13,)
    x = randn(7, 13)
    for target in (dev(rng.integers(0, 13, 7)), dev(rng.integers(0, 13, 7).astype(np.int32)),
                   rng.integers(0, 13, 7)):                              # int64, int32, host
        loss, lse = G.cross_entropy_forward(every_other, target, -100, 0.1)
        g_rows = FakeArray(np.broadcast_to(np.asarray(1.0, dtype), (7,)))   # a broadcast g
        assert G.cross_entropy_backward(every_other, target, lse, g_rows, -100, 0.1).shape == (7, 13)
    for approximate in ("none", "tanh"):
        assert G.gelu_forward(x, approximate).shape == x.shape
        assert G.gelu_backward(x, g, approximate).dtype == dtype
    assert G.matmul_tiled(randn(17, 5), FakeArray(rng.standard_normal((9, 5)).astype(dtype).T)).shape == (17, 9)
    for amsgrad in (False, True):
        for decoupled in (False, True):
            shapes = [(7, 13), (3,)]
            state = [[randn(*s) for s in shapes] for _ in range(4)]
            v_max = [randn(*s) if amsgrad else None for s in shapes]
            G.adam_update(*state, v_max, [1, 5], 1e-3, 0.9, 0.999, 1e-8, 0.1, decoupled)
    for (bsz, tq, tk, d, dv) in ((2, 7, 7, 13, 13), (1, 65, 130, 64, 32), (1, 3, 5, 128, 128)):
        q, k, v = randn(bsz, tq, d), randn(bsz, tk, 2 * d)[..., ::2], randn(bsz, tk, dv)
        go = randn(bsz, tq, dv)
        masks = (None, dev(rng.random((bsz, tq, tk)) < 0.5),
                 FakeArray(np.broadcast_to(rng.random((1, tq, tk)) < 0.5, (bsz, tq, tk))),
                 rng.random((tq, tk)) < 0.5)                             # host, (Tq, Tk)
        for mask in masks:
            for causal in (False, True):
                o, lse = G.attention_forward(q, k, v, mask, causal, 0.125)
                dq, dk, dvv = G.attention_backward(q, k, v, o, lse, go, mask, causal, 0.125)
                assert (o.shape, dq.shape, dk.shape, dvv.shape) == (
                    (bsz, tq, dv), q.shape, k.shape, v.shape)
    launched = {name for name, _, _ in FakeRawModule.launches}
    every = {n for names in cuda_sources.KERNELS.values() for n in names}
    assert launched == every, f"never launched here: {sorted(every - launched)}"


# ---- the framework on 'cuda' tensors --------------------------------------------------------------
def test_tensor_to_cuda_and_back(gpu, rng):
    x = mg.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda" and not isinstance(y.data, np.ndarray) and x.device == "cpu"
    (y * y).sum().backward()
    assert isinstance(x.grad, np.ndarray)
    np.testing.assert_allclose(x.grad, 2 * x.numpy(), rtol=1e-6)
    assert mg.zeros(2, 3, device="cuda").device == "cuda"
    assert mg.randn(2, device="cuda").to("cpu").device == "cpu"
    assert "device='cuda'" in repr(y) and y.cuda() is y


def test_detect_anomaly_on_cuda_allows_an_infinite_input_and_names_a_nan(gpu, rng):
    x = mg.tensor(rng.standard_normal((3, 4)).astype(np.float32), device="cuda")
    with mg.detect_anomaly():
        x.masked_fill(x > 0, float("-inf")) + 1                 # the -inf came in: allowed
        with pytest.raises(mg.errors.AnomalyError, match="NaN"), np.errstate(invalid="ignore"):
            (x.abs() + 1).log() * float("inf") * 0


def run_both(gpu, build, inputs, steps):
    """``steps(*tensors)`` on the CPU and on the stand-in GPU from the same seed: the loss,
    and every leaf's gradient, as NumPy arrays."""
    results = {}
    for device in ("cpu", "cuda"):
        mg.manual_seed(0)
        model = build().to(device) if build else None
        tensors = [mg.tensor(a, requires_grad=a.dtype.kind == "f", device=device)
                   for a in inputs]
        leaves = [t for t in tensors if isinstance(t, mg.Tensor) and t.requires_grad]
        loss = steps(model, *tensors)
        loss.backward()
        grads = [t.grad for t in leaves] + ([p.grad for p in model.parameters()] if model else [])
        results[device] = (loss.item(), [g if isinstance(g, np.ndarray) else g.get() for g in grads])
    (cpu_loss, cpu_grads), (gpu_loss, gpu_grads) = results["cpu"], results["cuda"]
    assert gpu_loss == pytest.approx(cpu_loss, rel=gpu.loss)
    for c, g in zip(cpu_grads, gpu_grads):
        np.testing.assert_allclose(g, c, rtol=gpu.rtol, atol=gpu.atol)


OPS = {
    "relu-tanh-sigmoid-exp-log-sqrt-abs": lambda m, x: (
        (F.relu(x) + x.tanh() + x.sigmoid() + (x.abs() + 1).log() + (x.abs() + 1).sqrt()
         + x.exp()).sum()),
    "gelu-softmax-log_softmax": lambda m, x: (
        F.gelu(x) * F.softmax(x, 0) + F.log_softmax(x, -1) + F.gelu(x, "tanh")).sum(),
    "reductions": lambda m, x: (x.max(1).sum() + x.min() + x.var(0).sum() + x.mean()
                                + mg.logsumexp(x, 1).sum()),
    "layer_norm-linear": lambda m, x: m(x).sum(),
    "shape-ops": lambda m, x: (mg.cat([x, x * 2], 1)[:, ::2].sum() + mg.stack([x, x]).sum()
                               + x.split(2, 1)[1].sum() + x.T.reshape(-1)[3]),
    "cross_entropy": lambda m, x: F.cross_entropy(x, mg.tensor([0, 4, -100]).to("cuda" if
                                                  x.device == "cuda" else "cpu"),
                                                  label_smoothing=0.1),
    "where-clamp": lambda m, x: (mg.where(x > 0, x, x * 3) + x.clamp(min=-0.5)
                                 + x.clamp(max=0.5)).sum(),
    "attention": lambda m, x: F.scaled_dot_product_attention(
        x[None], x[None], x[None], is_causal=True).sum(),
    "attention-bool-mask": lambda m, x: F.scaled_dot_product_attention(
        x[None], x[None], x[None], attn_mask=(x[:, :3] > 0)).sum(),
    "pow-mse_loss": lambda m, x: F.mse_loss(x, x.detach() * 0.5) + (x ** 3).sum()
    + (2.0 ** x).sum(),
    "nll_loss": lambda m, x: F.nll_loss(F.log_softmax(x, 1), mg.tensor([0, 4, -100]).to(
        x.device)),
    "embedding-padding_idx": lambda m, x: (F.embedding(mg.tensor([[0, 1], [2, 0]]).to(x.device),
                                                       x, padding_idx=0) ** 1.0).sum(),
    "attention-dropout-causal": lambda m, x: (mg.manual_seed(1), F.scaled_dot_product_attention(
        x[None], x[None], x[None], dropout_p=0.5, is_causal=True).sum())[1],
}


@pytest.mark.parametrize("op", OPS)
def test_ops_on_cuda_equal_the_cpu(gpu, rng, op):
    build = (lambda: mg.nn.Sequential(mg.nn.LayerNorm(5), mg.nn.Linear(5, 4))) \
        if op == "layer_norm-linear" else None
    run_both(gpu, build, [rng.standard_normal((3, 5)).astype(np.float32)], OPS[op])


def test_gpt_forward_backward_and_adamw_step_on_cuda_equal_the_cpu(gpu, rng):
    """The first step's loss and gradients, then (two AdamW steps later, with clipping) the
    last loss; on the stand-in, where the arithmetic is the CPU's, the weights and a greedy
    continuation too (on a GPU, Adam's g / √v can turn a rounding difference of a near-zero
    gradient into a whole step, and a greedy token can flip on a near tie)."""
    from transformer.gpt import GPT, GPTConfig
    config = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, dropout=0.0)
    idx, targets = rng.integers(0, 11, (2, 8)), rng.integers(0, 11, (2, 8))
    targets[0, :2] = -1                                                  # ignored positions
    results = {}
    for device in ("cpu", "cuda"):
        mg.manual_seed(0)
        model = GPT(config).to(device)
        opt = mg.optim.AdamW(model.parameters(), lr=1e-2)
        losses, first_grads = [], None
        for _ in range(3):
            opt.zero_grad()
            _, loss = model(mg.tensor(idx).to(device), mg.tensor(targets).to(device))
            loss.backward()
            losses.append(loss.item())
            first_grads = first_grads or {n: mg.tensor(p.grad).numpy()
                                          for n, p in model.named_parameters()}
            mg.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        model.eval()
        sample = model.generate(mg.tensor(idx[:1, :3]).to(device), 3, temperature=0)
        results[device] = losses, first_grads, model.state_dict(), sample.numpy()
    (cpu_losses, cpu_grads, cpu_state, cpu_sample), (gpu_losses, gpu_grads, gpu_state,
                                                     gpu_sample) = results.values()
    assert gpu_losses == pytest.approx(cpu_losses, rel=gpu.loss)
    for name, value in cpu_grads.items():
        np.testing.assert_allclose(gpu_grads[name], value, rtol=gpu.rtol, atol=gpu.atol,
                                   err_msg=name)
    if gpu.exact:
        for name, value in cpu_state.items():
            np.testing.assert_allclose(gpu_state[name], value, rtol=gpu.rtol, atol=gpu.atol,
                                       err_msg=name)
        np.testing.assert_array_equal(gpu_sample, cpu_sample)


def test_gpu_checkpoints_save_and_load(gpu, tmp_path, rng):
    model = mg.nn.Linear(3, 2).to("cuda")
    opt = mg.optim.AdamW(model.parameters())
    model(mg.randn(4, 3, device="cuda")).sum().backward()
    opt.step()
    mg.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "ckpt.npz")
    loaded = mg.load(tmp_path / "ckpt.npz")
    other = mg.nn.Linear(3, 2).to("cuda")
    other.load_state_dict(loaded["model"])
    other_opt = mg.optim.AdamW(other.parameters())
    other_opt.load_state_dict(loaded["opt"])
    assert other.weight.device == "cuda"
    np.testing.assert_array_equal(other.weight.numpy(), model.weight.numpy())
    state = other_opt.state[other.weight]
    assert not isinstance(state["exp_avg"], np.ndarray) and state["step"] == 1


def _models():
    """name -> (build the model, one loss from it and its device, one decode from it)."""
    from transformer.bert import BertConfig, BertForMaskedLM, BertForSequenceClassification
    from transformer.classify import GPTClassifierConfig, GPTForSequenceClassification
    from transformer.seq2seq import Seq2SeqConfig, Seq2SeqTransformer, make_batch
    bert = dict(vocab_size=23, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                intermediate_size=16, max_position_embeddings=12, type_vocab_size=2,
                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    ids, mask = np.array([[1, 5, 6, 7, 2], [1, 8, 2, 0, 0]]), np.array([[1] * 5, [1] * 3 + [0] * 2])
    src, tgt_in, tgt_out = make_batch([[5, 6, 7], [8]], [[7, 6, 5], [8]])

    def on(device, *arrays):
        return [mg.tensor(a, device=device) for a in arrays]

    def mlm_loss(model, device):
        i, m, labels = on(device, ids, mask, np.where(ids == 6, 6, -100))
        return model(i, attention_mask=m, labels=labels)[1]

    def seq_cls_loss(model, device):
        i, m, labels = on(device, ids, mask, np.array([0, 1]))
        return model(i, attention_mask=m, labels=labels)[1]

    def gpt_cls_loss(model, device):
        i, m = on(device, ids, mask)
        return F.cross_entropy(model(i, attention_mask=m), *on(device, np.array([0, 1])))

    def seq2seq_loss(model, device):
        return model(*on(device, src, tgt_in, tgt_out))[1]

    def seq2seq_decode(model, device):
        (s,) = on(device, src)
        return model.greedy_decode(s, max_len=4), model.beam_search(s, beam_size=2, max_len=4)

    seq2seq = dict(src_vocab_size=11, tgt_vocab_size=11, d_model=8, n_head=2,
                   num_encoder_layers=1, num_decoder_layers=1, d_ff=16, dropout=0.0, max_len=10)
    return {
        "bert-mlm": (lambda: BertForMaskedLM(BertConfig(**bert)), mlm_loss, None),
        "bert-classifier": (lambda: BertForSequenceClassification(BertConfig(**bert), 2),
                            seq_cls_loss, None),
        "gpt-classifier": (lambda: GPTForSequenceClassification(GPTClassifierConfig(
            vocab_size=23, block_size=8, n_layer=1, n_head=2, n_embd=8, pooling="mean")),
            gpt_cls_loss, None),
        "seq2seq": (lambda: Seq2SeqTransformer(Seq2SeqConfig(**seq2seq)), seq2seq_loss,
                    seq2seq_decode),
    }


@pytest.mark.parametrize("name", ["bert-mlm", "bert-classifier", "gpt-classifier", "seq2seq"])
def test_transformer_models_on_cuda_equal_the_cpu(gpu, name):
    check_model_on_both(gpu, name)


def check_model_on_both(gpu, name):
    build, loss_of, decode = _models()[name]
    results = {}
    for device in ("cpu", "cuda"):
        mg.manual_seed(0)
        model = build().to(device).eval()
        loss = loss_of(model, device)
        loss.backward()
        grads = {n: p.grad if isinstance(p.grad, np.ndarray) else p.grad.get()
                 for n, p in model.named_parameters() if p.grad is not None}
        results[device] = loss.item(), grads, decode and decode(model, device)
    (cpu_loss, cpu_grads, cpu_out), (gpu_loss, gpu_grads, gpu_out) = results.values()
    assert gpu_loss == pytest.approx(cpu_loss, rel=gpu.loss)
    assert gpu_grads.keys() == cpu_grads.keys()
    for n, g in cpu_grads.items():
        np.testing.assert_allclose(gpu_grads[n], g, rtol=gpu.rtol, atol=gpu.atol, err_msg=n)
    assert gpu_out == cpu_out


def fit_both(gpu, make_task, build, steps=3):
    """``transformer.train.fit`` for ``steps`` steps on the CPU and on the stand-in GPU: the
    training losses and the last evaluation of each."""
    from transformer.train import (TrainConfig, TrainState, fit, make_optimizer,
                                   make_scheduler)
    config = TrainConfig(steps=steps, batch_size=2, warmup_steps=1, eval_every=steps)
    results = {}
    for device in ("cpu", "cuda"):
        mg.manual_seed(0)
        model = build().to(device)
        optimizer = make_optimizer(model, config)
        state = TrainState(model, optimizer, make_scheduler(optimizer, config))
        result = fit(state, make_task(device), config, progress=False, echo=lambda *_: None)
        results[device] = result.losses, result.evals[-1]
    (cpu_losses, cpu_eval), (gpu_losses, gpu_eval) = results.values()
    assert gpu_losses == pytest.approx(cpu_losses, rel=10 * gpu.loss)
    assert gpu_eval["val_loss"] == pytest.approx(cpu_eval["val_loss"], rel=10 * gpu.loss)
    if gpu.exact:                           # an accuracy can flip on a near tie on a GPU
        assert gpu_eval == pytest.approx(cpu_eval, rel=10 * gpu.loss)


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_fit_a_gpt_on_cuda_equals_the_cpu(gpu, dropout):
    from transformer.gpt import GPT, GPTConfig
    from transformer.train import LMTask
    ids = np.random.default_rng(0).integers(0, 11, 200)
    config = GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8,
                       dropout=dropout)

    fit_both(gpu, lambda device: LMTask(ids[:150], ids[150:], 8, 2, device=device,
                                   eval_batches=1, sample_prompt=[1, 2], sample_tokens=3,
                                   decode=str),
             lambda: GPT(config))


def test_fit_a_gpt_classifier_on_cuda_equals_the_cpu(gpu):
    from transformer.classify import GPTClassifierConfig, GPTForSequenceClassification
    from transformer.train import ClassificationTask
    data = ([[3, 4, 5], [6, 7], [8, 9, 10, 4], [5]], [0, 1, 1, 0])
    fit_both(gpu, lambda device: ClassificationTask(data, data, 2, pad_id=0, device=device),
             lambda: GPTForSequenceClassification(GPTClassifierConfig(
                 vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8)))


@pytest.mark.parametrize("model", ["gpt", "bert"])
def test_pretrain_resume_and_finetune_on_cuda_equal_the_cpu(gpu, tmp_path, model):
    """The pipeline as a user runs it (``--device cuda``): pretraining, stopped and resumed from
    its checkpoint, then (GPT) fine-tuning a classifier; the losses equal the CPU run's."""
    from transformer.pipeline import FinetuneConfig, PretrainConfig, finetune, pretrain
    from transformer.runs import Run
    words = "我们 今天 天气 很好 学习 模型 语言 中国 的 了 是 在".split()
    rng = np.random.default_rng(0)
    corpus, reviews = tmp_path / "corpus.txt", tmp_path / "reviews.tsv"
    corpus.write_text("".join("".join(rng.choice(words, 10)) + "。\n" for _ in range(60)),
                      encoding="utf-8")
    reviews.write_text("".join(f"这个{rng.choice(words)}{'很好' if i % 2 else '太差'}\t"
                               f"{'positive' if i % 2 else 'negative'}\n" for i in range(40)),
                       encoding="utf-8")
    tiny = dict(block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    pre = PretrainConfig(model=model, corpus=str(corpus), steps=4, batch_size=4, eval_every=2,
                         warmup_steps=1, sample_tokens=2, **tiny)
    fine = FinetuneConfig(task=str(reviews), steps=3, batch_size=8, eval_every=3,
                          warmup_steps=1, **tiny)
    quiet = dict(progress=False, echo=lambda *_: None, plots=False)

    def losses(run_dir):
        return {r["step"]: r["loss"] for r in Run(run_dir).metrics() if "loss" in r}

    results = {}
    for device in ("cpu", "cuda"):
        folder = tmp_path / device
        pretrain(pre, folder / "pretrain", device=device, stop_at=2, **quiet)
        pretrain(pre, folder / "pretrain", device=device, resume=True, **quiet)
        tuned = {}
        if model == "gpt":
            finetune(fine, folder / "finetune", device=device, **quiet)
            tuned = losses(folder / "finetune")
        results[device] = losses(folder / "pretrain"), tuned
    (cpu_pre, cpu_tuned), (gpu_pre, gpu_tuned) = results.values()
    assert list(gpu_pre) == [1, 2, 3, 4] and len(gpu_tuned) == (3 if model == "gpt" else 0)
    assert gpu_pre == pytest.approx(cpu_pre, rel=10 * gpu.loss)
    assert gpu_tuned == pytest.approx(cpu_tuned, rel=10 * gpu.loss)
