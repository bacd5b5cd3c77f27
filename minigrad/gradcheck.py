"""Check analytic gradients against finite differences, in float64 (FORMULAS B4: backprop is exact).

For an output y = fn(x) the check draws a fixed random tensor r of y's shape and compares the
gradient of L = Σ y ⊙ r (a random projection, so every output element matters) computed by
``backward()`` with the central difference

    dL/dx_j ≈ (L(x + ε e_j) - L(x - ε e_j)) / 2ε

element by element. They must agree within ``atol + rtol · |numeric|``.

When a check of a whole model fails, ``find_bad_backward`` says which op is to blame: it runs
the same comparison on every op the model applied, one at a time, in isolation.
"""
import dataclasses

import numpy as np

from minigrad import registry
from minigrad.autograd import Context, _user_frame, is_grad_enabled, no_grad
from minigrad.errors import GradcheckError
from minigrad.registry import trace_ops
from minigrad.tensor import Tensor

__all__ = ["gradcheck", "find_bad_backward", "BadBackward"]


def _as_float64_leaf(x):
    if isinstance(x, Tensor) and np.issubdtype(x.dtype, np.floating):
        return Tensor(np.array(x.numpy(), dtype=np.float64), requires_grad=x.requires_grad)
    return x


def _outputs(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """True if ``fn``'s gradients match finite differences for every input with requires_grad.

    Float inputs are copied to float64 first. Raises ``GradcheckError`` naming the input, the
    worst element, the analytic and numeric values and the ops involved.

    >>> import minigrad as mg
    >>> x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    >>> mg.gradcheck(lambda t: (t * t).sum(dim=1), x)
    True
    """
    inputs = [_as_float64_leaf(x) for x in inputs]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    rng = np.random.default_rng(seed)
    with trace_ops() as ops:
        outputs = _outputs(fn(*inputs))
    projections = [rng.standard_normal(y.shape) for y in outputs]

    def projected(ys):
        return sum(float((y.numpy().astype(np.float64) * r).sum()) for y, r in zip(ys, projections))

    loss = None
    for y, r in zip(outputs, projections):
        if y.requires_grad:
            term = (y * Tensor(r.astype(y.dtype))).sum()
            loss = term if loss is None else loss + term
    if loss is None:
        raise GradcheckError("gradcheck: no output of fn requires grad (did fn detach its result?)")
    loss.backward()

    name = getattr(fn, "__name__", type(fn).__name__)
    for i in checked:
        x = inputs[i]
        analytic = np.zeros(x.shape) if x.grad is None else x.grad
        numeric = np.zeros(x.shape)
        flat = x.data.reshape(-1)          # a view: the float64 copy is contiguous
        with no_grad():
            for j in range(flat.size):
                original = flat[j]
                flat[j] = original + eps
                plus = projected(_outputs(fn(*inputs)))
                flat[j] = original - eps
                minus = projected(_outputs(fn(*inputs)))
                flat[j] = original
                numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        error = np.abs(analytic - numeric)
        bad = error > atol + rtol * np.abs(numeric)
        if bad.any():
            worst = np.unravel_index(np.argmax(np.where(bad, error, -1)), x.shape)
            a, n = analytic[worst], numeric[worst]
            reached = "" if x.grad is not None else " (no gradient reached this input at all)"
            raise GradcheckError(
                f"gradcheck of {name} failed for input {i} (shape {x.shape}){reached}: "
                f"{int(bad.sum())} of {x.data.size} elements differ; worst at index "
                f"{tuple(int(k) for k in worst)}: analytic {a:.6g}, numeric {n:.6g}, "
                f"|diff| {abs(a - n):.3g}, relative {abs(a - n) / max(abs(n), 1e-12):.3g} "
                f"(ops: {', '.join(sorted(ops))})")
    return True


# ---- locating a wrong backward --------------------------------------------------------------

@dataclasses.dataclass
class BadBackward:
    """The first op (in forward order) whose own backward disagrees with finite differences."""

    op: str                 # the Function's name
    call: int               # its position among the ops fn applied, in forward order (1 = first)
    calls: int              # how many ops fn applied
    input: int              # which argument of its forward got a wrong gradient
    shape: tuple            # that argument's shape
    where: str              # the line of your code that applied the op
    index: tuple = None     # the worst element
    expected: float = float("nan")  # the finite-difference derivative there
    got: float = float("nan")       # what the op's backward returned there
    wrong: int = 0          # how many elements differ
    problem: str = ""       # set instead when backward returned the wrong number or shape

    def __str__(self):
        head = (f"{self.op} (op {self.call} of {self.calls} in forward order, applied at "
                f"{self.where}): the gradient of input {self.input} (shape {self.shape})")
        if self.problem:
            return f"{head} {self.problem}"
        diff = abs(self.got - self.expected)
        return (f"{head} is wrong in {self.wrong} element(s); worst at index {self.index}: "
                f"expected {self.expected:.6g} (finite differences), got {self.got:.6g}, "
                f"|diff| {diff:.3g}")


@dataclasses.dataclass
class _Call:
    op: type
    args: tuple
    kwargs: dict
    recorded: bool          # whether the op entered the graph (grad enabled, an input needs it)
    where: str


class _CallRecorder(list):
    """A tracer (see ``registry.tracing``) that keeps every call's arguments, not just its name.

    The graph keeps an op's tensor inputs but not its other arguments (``dim=1``, a mask), so
    to run an op again on its own we need the whole call.
    """

    def record(self, op, args, kwargs):
        recorded = is_grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad
                                             for a in args)
        self.append(_Call(op, args, kwargs, recorded, _user_frame()))


def _float64_array(a):
    """A tensor argument as a fresh NumPy array, float64 when it is floating point."""
    array = a.numpy() if isinstance(a, Tensor) else a
    if isinstance(array, np.ndarray) and np.issubdtype(array.dtype, np.floating):
        return np.array(array, dtype=np.float64)
    return array


def _check_call(call, number, total, rng, eps, atol, rtol):
    """Finite differences on one op's forward vs its backward, in float64; a BadBackward or None."""
    arrays = [_float64_array(a) if isinstance(a, Tensor) else a for a in call.args]
    checked = [i for i, a in enumerate(call.args) if isinstance(a, Tensor) and a.requires_grad]

    def forward():
        ctx = Context()
        ctx.needs_input_grad = tuple(i in checked for i in range(len(arrays)))
        return ctx, call.op.forward(ctx, *arrays, **call.kwargs)

    ctx, y = forward()
    r = rng.standard_normal(np.shape(y))            # L = Σ y ⊙ r, as gradcheck does
    grads = call.op.backward(ctx, r)
    grads = grads if isinstance(grads, tuple) else (grads,)

    def report(i, **found):
        return BadBackward(op=call.op.__name__, call=number, calls=total, input=i,
                           shape=tuple(np.shape(arrays[i])), where=call.where, **found)

    if len(grads) != len(arrays):
        return report(checked[0], problem=f"cannot be read: backward returned {len(grads)} "
                                          f"gradients, forward took {len(arrays)} arguments")
    for i in checked:
        x = arrays[i]
        got = np.zeros(x.shape) if grads[i] is None else np.asarray(grads[i], dtype=np.float64)
        if got.shape != x.shape:
            return report(i, problem=f"has shape {got.shape}; it must have the input's shape")
        numeric = np.zeros(x.shape)
        flat = x.reshape(-1)                        # a view of our own contiguous copy
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = float((forward()[1] * r).sum())
            flat[j] = original - eps
            minus = float((forward()[1] * r).sum())
            flat[j] = original
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        error = np.abs(got - numeric)
        bad = error > atol + rtol * np.abs(numeric)
        if bad.any():
            worst = np.unravel_index(np.argmax(np.where(bad, error, -1)), x.shape)
            return report(i, index=tuple(int(k) for k in worst), expected=float(numeric[worst]),
                          got=float(got[worst]), wrong=int(bad.sum()))
    return None


def find_bad_backward(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Run ``fn(*inputs)``, then check every op it applied on its own; the first wrong one.

    When ``gradcheck`` fails for a whole model, any op in it may be to blame. This runs
    ``fn`` once, recording each op with the inputs it really got, then for each op in forward
    order compares its ``backward`` with central differences of its own ``forward`` (float64,
    L = Σ y ⊙ r with a random r, tolerance ``atol + rtol · |numeric|`` as in ``gradcheck``).
    Only arguments that required grad are checked. Each op's forward runs twice per element
    of those arguments, so use tiny sizes, as for ``gradcheck``.

    Returns:
        a ``BadBackward`` (op name, position in forward order, input, shape, worst index,
        expected vs got, the line of your code that applied it), or None when every op's
        backward is right (a model-level failure then lies outside the ops: in ``fn``
        itself, say a NumPy detour around the graph).

    >>> import minigrad as mg
    >>> x = mg.randn(3, dtype=mg.float64, requires_grad=True)
    >>> print(find_bad_backward(lambda t: (t * t).exp().sum(), x))
    None
    """
    inputs = [_as_float64_leaf(x) for x in inputs]
    rng = np.random.default_rng(seed)
    with registry.tracing(_CallRecorder()) as calls:
        fn(*inputs)
    recorded = [c for c in calls if c.recorded]        # the ops that entered the graph
    for number, call in enumerate(recorded, start=1):
        with no_grad():
            bad = _check_call(call, number, len(recorded), rng, eps, atol, rtol)
        if bad is not None:
            return bad
    return None
