"""Check analytic gradients against finite differences, in float64 (FORMULAS B4: backprop is exact).

For an output y = fn(x) the check draws a fixed random tensor r of y's shape and compares the
gradient of L = Σ y ⊙ r (a random projection, so every output element matters) computed by
``backward()`` with the central difference

    dL/dx_j ≈ (L(x + ε e_j) - L(x - ε e_j)) / 2ε

element by element. They must agree within ``atol + rtol · |numeric|``.
"""
import numpy as np

from minigrad.autograd import no_grad
from minigrad.errors import GradcheckError
from minigrad.registry import trace_ops
from minigrad.tensor import Tensor

__all__ = ["gradcheck"]


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
