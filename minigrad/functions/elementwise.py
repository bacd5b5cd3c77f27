"""Element-wise ops: arithmetic with broadcasting, exp/log, activations, where and masked_fill.

Notation: ``g`` is dL/d(output), the gradient that ``backward`` receives. Every binary op
broadcasts as NumPy does and sums its gradients back to each input's shape (``unbroadcast``).
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.broadcast import broadcast_shapes, unbroadcast
from minigrad.errors import ShapeError
from minigrad.tensor import Tensor, array_of

__all__ = ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "tanh",
           "sigmoid", "relu", "clamp", "where", "masked_fill"]


def _scalar(x):
    """NumPy scalars become Python numbers, so they never upcast float32 data to float64."""
    return x.item() if isinstance(x, np.generic) else x


def _dimensionless_cast(a, b):
    """PyTorch's rule: a 0-d float tensor combined with a float tensor that has dimensions
    takes the other's dtype (a float64 loss scale keeps float32 activations float32), where
    NumPy would promote the result to the wider type."""
    if (isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype != b.dtype
            and a.dtype.kind == b.dtype.kind == "f" and (a.ndim == 0) != (b.ndim == 0)):
        return (a.astype(b.dtype), b) if a.ndim == 0 else (a, b.astype(a.dtype))
    return a, b


def _binary(function_class, a, b):
    """Apply a binary op; shapes that do not broadcast raise a ShapeError naming the op."""
    return function_class.apply(*_dimensionless_cast(_scalar(a), _scalar(b)))


class Add(Function):
    """y = a + b;  da = g,  db = g  (each summed back to its input's shape)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = np.shape(a), np.shape(b)
        return a + b

    @staticmethod
    def backward(ctx, g):
        a_shape, b_shape = ctx.shapes
        return unbroadcast(g, a_shape), unbroadcast(g, b_shape)


class Sub(Function):
    """y = a - b;  da = g,  db = -g."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = np.shape(a), np.shape(b)
        return a - b

    @staticmethod
    def backward(ctx, g):
        a_shape, b_shape = ctx.shapes
        return unbroadcast(g, a_shape), unbroadcast(-g, b_shape)


class Mul(Function):
    """y = a ⊙ b;  da = g ⊙ b,  db = g ⊙ a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = unbroadcast(g * b, np.shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(g * a, np.shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b;  da = g / b,  db = -g ⊙ a / b²."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = unbroadcast(g / b, np.shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(-g * a / (b * b), np.shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """y = a ** b;  da = g ⊙ b ⊙ a^(b-1)  (0 where b = 0),  db = g ⊙ y ⊙ log(a)  (0 where a = 0).

    The two zeros follow PyTorch: they replace 0 ⊙ inf = NaN at a = 0.
    """

    @staticmethod
    def forward(ctx, a, b):
        y = a ** b
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        da = db = None
        if ctx.needs_input_grad[0]:
            with np.errstate(divide="ignore", invalid="ignore"):     # x**0 is constant: 0
                slope = _where_zero(b, lambda: b * a ** (b - 1), like=a)
            da = unbroadcast(g * slope, np.shape(a))
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                dlog = _where_zero(a, lambda: y * np.log(a), like=y)
            db = unbroadcast(g * dlog, np.shape(b))
        return da, db


def _where_zero(x, value, like):
    """0 where x == 0, else ``value()``. A Python-number x takes one branch whole (zeros of
    ``like``'s shape, or ``value()``): its condition would be a plain bool, which CuPy's
    where does not take."""
    if isinstance(x, (int, float)):
        return np.zeros_like(like) if x == 0 else value()
    return np.where(x == 0, 0, value())


class Neg(Function):
    """y = -x;  dx = -g."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Function):
    """y = eˣ;  dx = g ⊙ y."""

    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Log(Function):
    """y = ln x;  dx = g / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    """y = √x;  dx = g / (2y)."""

    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g / (2 * y)


class Abs(Function):
    """y = |x|;  dx = g ⊙ sign(x)  (0 at x = 0)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * np.sign(x)


class Tanh(Function):
    """y = tanh x;  dx = g ⊙ (1 - y²)."""

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class Sigmoid(Function):
    """y = σ(x) = 1 / (1 + e⁻ˣ);  dx = g ⊙ y ⊙ (1 - y).

    Computed as exp(-log(1 + e⁻ˣ)) with ``logaddexp``, so no overflow for x = ±1e4.
    """

    @staticmethod
    def forward(ctx, x):
        y = np.exp(-np.logaddexp(0, -x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1 - y)


class ReLU(Function):
    """y = max(0, x);  dx = g ⊙ [x > 0]  (FORMULAS C5)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > 0)


class Clamp(Function):
    """y = min(max(x, lo), hi);  dx = g ⊙ [lo ≤ x ≤ hi]  (either bound may be None)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = lo, hi
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        inside = x <= hi if lo is None else x >= lo      # comparisons: arrays on x's device
        if lo is not None and hi is not None:
            inside &= x <= hi
        return g * inside, None, None


class Cast(Function):
    """y = x as another dtype;  dx = g as x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype), None


class Where(Function):
    """y = a where cond else b;  da = g where cond else 0,  db = 0 where cond else g."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        ctx.shapes = np.shape(a), np.shape(b)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        a_shape, b_shape = ctx.shapes
        zero = g.dtype.type(0)                       # a scalar: fits NumPy and CuPy arrays
        return (None, unbroadcast(np.where(ctx.cond, g, zero), a_shape),
                unbroadcast(np.where(ctx.cond, zero, g), b_shape))


class MaskedFill(Function):
    """y = value where mask else x  (mask broadcasts to x);  dx = 0 where mask else g."""

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.mask = mask
        return np.where(mask, x.dtype.type(value), x)     # a scalar of x's dtype, any device

    @staticmethod
    def backward(ctx, g):
        return np.where(ctx.mask, g.dtype.type(0), g), None, None


def add(a, b):
    """a + b with broadcasting."""
    return _binary(Add, a, b)


def sub(a, b):
    """a - b with broadcasting."""
    return _binary(Sub, a, b)


def mul(a, b):
    """a * b (element-wise) with broadcasting."""
    return _binary(Mul, a, b)


def div(a, b):
    """a / b with broadcasting."""
    return _binary(Div, a, b)


def pow(a, b):
    """a ** b; the exponent may be a number or a tensor."""
    return _binary(Pow, a, b)


def neg(x):
    return Neg.apply(x)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def abs(x):
    return Abs.apply(x)


def tanh(x):
    return Tanh.apply(x)


def sigmoid(x):
    return Sigmoid.apply(x)


def relu(x):
    return ReLU.apply(x)


def clamp(x, min=None, max=None):
    """Limit x to [min, max]; the gradient passes where x is inside (bounds included)."""
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min and max")
    return Clamp.apply(x, _scalar(min), _scalar(max))


def where(condition, a, b):
    """Pick from a where condition is true, else from b (all three broadcast together)."""
    cond = array_of(condition)
    broadcast_shapes("where", cond.shape, np.shape(a.data if isinstance(a, Tensor) else a),
                     np.shape(b.data if isinstance(b, Tensor) else b))
    return Where.apply(cond, _scalar(a), _scalar(b))


def masked_fill(x, mask, value):
    """x with ``value`` written where ``mask`` is true; mask must broadcast to x's shape."""
    mask = array_of(mask)
    if broadcast_shapes("masked_fill", x.shape, mask.shape) != x.shape:
        raise ShapeError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the "
                         f"input's shape {x.shape}")
    return MaskedFill.apply(x, mask, _scalar(value))
