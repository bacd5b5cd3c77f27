"""``Tensor``: an array plus what autograd needs (``grad``, ``requires_grad``, the op that made it).

The math of every op lives in ``minigrad/functions``; the methods here only forward to it, so
``x.exp()`` and ``mg.exp(x)`` are the same call.
"""
import numpy as np

from minigrad.device import device_of
from minigrad.errors import DTypeError, MinigradError

__all__ = ["Tensor", "array_of", "float32", "float64", "int64", "bool_"]

float32, float64, int64, bool_ = np.float32, np.float64, np.int64, np.bool_


class Tensor:
    """An n-dimensional array that can record the ops applied to it.

    Attributes:
        data: the ``numpy.ndarray`` (or ``cupy.ndarray`` on the GPU).
        grad: dL/d(this tensor) after ``backward()``, an array of the same shape, or None.
        requires_grad: whether ops on this tensor are recorded for backward.

    Create tensors with ``mg.tensor(...)`` or a factory (``mg.zeros``, ``mg.randn``, ...).
    """

    __slots__ = ("data", "grad", "requires_grad", "_op", "_ctx", "_parents", "_retains_grad",
                 "__weakref__", "__dict__")
    __array_ufunc__ = None  # NumPy defers to us: np.float32(2) * t calls t.__rmul__

    def __init__(self, data, requires_grad=False):
        self.data = data
        self.grad = None
        self.requires_grad = False
        self._op = None          # the Function class that made this tensor (None for a leaf)
        self._ctx = None         # its Context: saved values, freed after backward()
        self._parents = ()       # the input tensors of that op (None for non-tensor arguments)
        self._retains_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- what it is -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    device = property(lambda self: device_of(self.data))
    is_leaf = property(lambda self: self._op is None)
    grad_fn = property(lambda self: self._op)

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        return self.data.size

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self):
        body = np.array2string(np.asarray(self.numpy()), separator=", ", precision=4,
                               threshold=100, edgeitems=3, prefix="tensor(")
        extras = [f"dtype={self.dtype}"]
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._op is not None:
            extras.append(f"grad_fn=<{self._op.__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    # ---- autograd -----------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        if requires_grad and not np.issubdtype(self.data.dtype, np.inexact):
            raise DTypeError(f"only floating-point tensors can require grad, got {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, grad=None, retain_graph=False):
        """Compute d(self)/d(leaf) for every leaf with requires_grad, adding it into ``.grad``.

        ``grad`` is dL/d(self); it may be omitted for a single-element tensor (it is 1).
        Gradients accumulate across calls until you zero them (``optimizer.zero_grad()``).
        The graph's saved values are freed unless ``retain_graph=True``.
        """
        from minigrad.autograd import backward
        backward(self, grad, retain_graph)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor too (leaves always keep theirs)."""
        if self._op is not None:
            self._retains_grad = True
        return self

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data)

    # ---- conversion ---------------------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (copied to the host for a GPU tensor)."""
        return self.data if isinstance(self.data, np.ndarray) else self.data.get()

    def item(self):
        if self.data.size != 1:
            raise MinigradError(f"item(): only a one-element tensor converts to a Python "
                                f"number, this one has shape {self.shape}")
        return self.numpy().item()

    def tolist(self):
        return self.numpy().tolist()

    def to(self, device):
        """This tensor on ``device`` ('cpu' or 'cuda'); gradients flow back across the copy."""
        if device_of(self.data) == str(device).split(":")[0]:
            return self
        return _functions().shape.ToDevice.apply(self, device)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def astype(self, dtype):
        """This tensor with another dtype; gradients flow back (cast to the input's dtype)."""
        if self.data.dtype == np.dtype(dtype):
            return self
        if np.dtype(dtype).kind not in "fc":
            return Tensor(self.data.astype(dtype))   # integers carry no gradient (as PyTorch)
        return _functions().elementwise.Cast.apply(self, np.dtype(dtype))

    def float(self):
        return self.astype(float32)

    def double(self):
        return self.astype(float64)

    def long(self):
        return self.astype(int64)

    # ---- in-place writes to the data (no graph: for init and optimizers) ----------------
    def zero_(self):
        self.data[...] = 0
        return self

    def fill_(self, value):
        self.data[...] = value
        return self

    def copy_(self, source):
        self.data[...] = source.data if isinstance(source, Tensor) else source
        return self

    def __setitem__(self, index, value):
        from minigrad.autograd import is_grad_enabled
        if self.requires_grad and is_grad_enabled():
            raise MinigradError("in-place assignment into a tensor that requires grad would "
                                "break its gradient; build a new tensor (mg.where, masked_fill, "
                                "mg.cat) or assign under mg.no_grad()")
        self.data[_functions().shape.index_arrays(index)] = (
            value.data if isinstance(value, Tensor) else value)

    # ---- comparisons (no gradient) --------------------------------------------------------
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(op(self.data, other))

    __eq__ = lambda self, other: self._compare(other, np.equal)
    __ne__ = lambda self, other: self._compare(other, np.not_equal)
    __lt__ = lambda self, other: self._compare(other, np.less)
    __le__ = lambda self, other: self._compare(other, np.less_equal)
    __gt__ = lambda self, other: self._compare(other, np.greater)
    __ge__ = lambda self, other: self._compare(other, np.greater_equal)
    __hash__ = object.__hash__

    def __invert__(self):
        return Tensor(~self.data)

    def __and__(self, other):
        return self._compare(other, np.logical_and)

    def __or__(self, other):
        return self._compare(other, np.logical_or)

    def __bool__(self):
        if self.data.size != 1:
            raise MinigradError(f"the truth value of a tensor of shape {self.shape} is "
                                "ambiguous; use .any() or .all()")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def any(self):
        return Tensor(self.data.any())

    def all(self):
        return Tensor(self.data.all())

    # ---- arithmetic -----------------------------------------------------------------------
    def __add__(self, other):
        return _functions().elementwise.add(self, other)

    def __radd__(self, other):
        return _functions().elementwise.add(other, self)

    def __sub__(self, other):
        return _functions().elementwise.sub(self, other)

    def __rsub__(self, other):
        return _functions().elementwise.sub(other, self)

    def __mul__(self, other):
        return _functions().elementwise.mul(self, other)

    def __rmul__(self, other):
        return _functions().elementwise.mul(other, self)

    def __truediv__(self, other):
        return _functions().elementwise.div(self, other)

    def __rtruediv__(self, other):
        return _functions().elementwise.div(other, self)

    def __pow__(self, exponent):
        return _functions().elementwise.pow(self, exponent)

    def __rpow__(self, base):
        return _functions().elementwise.pow(base, self)

    def __neg__(self):
        return _functions().elementwise.neg(self)

    def __matmul__(self, other):
        return _functions().linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return _functions().linalg.matmul(other, self)

    def __getitem__(self, index):
        return _functions().shape.getitem(self, index)


def array_of(x):
    """The array behind ``x``: a Tensor's data; a NumPy or CuPy array as it is (``np.asarray``
    refuses a CuPy array); anything else (a list, a number) as a NumPy array."""
    if isinstance(x, Tensor):
        return x.data
    return x if hasattr(x, "shape") and hasattr(x, "dtype") else np.asarray(x)


_FUNCTIONS = None


def _functions():
    """The functions package (imported on first use: it builds on this module)."""
    global _FUNCTIONS
    if _FUNCTIONS is None:
        import minigrad.functions as functions
        _FUNCTIONS = functions
    return _FUNCTIONS


def _add_methods():
    """Tensor methods that are exactly the functions of the same name: ``x.exp() == mg.exp(x)``."""
    from minigrad.functions import METHODS
    for name, function in METHODS.items():
        setattr(Tensor, name, function)
    Tensor.T = property(lambda self: _functions().shape.permute(self, *reversed(range(self.ndim))))
    Tensor.view = Tensor.reshape
