"""The engine: accumulation, freed graphs, grad modes, custom Functions, anomalies, errors, gradcheck."""
import sys
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad.registry import OPS


def leaf(array, dtype=np.float64):
    return mg.tensor(np.asarray(array, dtype=dtype), requires_grad=True)


# ---- accumulation and reuse ---------------------------------------------------------------
def test_gradients_accumulate_across_backward_calls_until_zeroed(rng):
    a = rng.standard_normal(4)
    x = leaf(a)
    (x * x).sum().backward()
    assert np.allclose(x.grad, 2 * a)
    (x * 3.0).sum().backward()
    assert np.allclose(x.grad, 2 * a + 3)
    x.grad = None
    (x * x).sum().backward()
    assert np.allclose(x.grad, 2 * a)
    x.grad[...] = 0                         # zeroing in place, as optimizer.zero_grad may do
    (x * 3.0).sum().backward()
    assert np.allclose(x.grad, 3.0)


def test_a_node_used_twice_accumulates(rng):
    a = rng.standard_normal(3)
    x = leaf(a)
    h = x * 3.0                             # non-leaf, used by two consumers
    (h + h * h).sum().backward()            # d/dx (3x + 9x²) = 3 + 18x
    assert np.allclose(x.grad, 3 + 18 * a)
    y = leaf(a)
    (y.exp() + y * 2.0 - y.tanh()).sum().backward()
    assert np.allclose(y.grad, np.exp(a) + 2 - (1 - np.tanh(a) ** 2))


def test_the_gradient_of_a_leaf_is_not_shared_with_the_graph(rng):
    x = leaf(rng.standard_normal(3))
    y = x.sum()
    y.backward(retain_graph=True)
    first = x.grad
    y.backward()
    assert np.allclose(first, 2.0)          # accumulated in place into its own array
    assert x.grad is first


def test_pow_gradient_at_zero_base_follows_pytorch(rng):
    # d(x**0)/dx = 0 everywhere (not 0 * inf = NaN at x = 0); d(x**b)/db = 0 at x = 0
    a = np.array([0.0, rng.uniform(0.5, 2.0)])
    x = leaf(a)
    (x ** 0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    x, b = leaf([0.0, 0.0, a[1]]), leaf([0.0, 1.0, 2.0])
    (x ** b).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 2 * a[1]] and b.grad[:2].tolist() == [0.0, 0.0]
    assert b.grad[2] == pytest.approx(a[1] ** 2 * np.log(a[1]))


# ---- freed graphs ---------------------------------------------------------------------------
def test_backward_twice_on_a_freed_graph_raises_a_clear_error(rng):
    x = leaf(rng.standard_normal(3))
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(mg.BackwardError, match=r"second time.*Sum.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward(rng):
    a = rng.standard_normal(3)
    x = leaf(a)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert np.allclose(x.grad, 2 * (np.exp(a) * (1 + a)))


def test_a_100000_op_chain_backpropagates_without_recursion():
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    assert 100_000 > sys.getrecursionlimit()
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_backward_needs_a_scalar_or_an_explicit_grad(rng):
    a = rng.standard_normal((2, 3))
    x = leaf(a)
    y = x * 2.0
    with pytest.raises(mg.BackwardError, match=r"shape \(2, 3\).*grad="):
        y.backward()
    with pytest.raises(mg.ShapeError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(mg.ones(3))
    g = rng.standard_normal((2, 3))
    y.backward(mg.tensor(g))
    assert np.allclose(x.grad, 2 * g)
    with pytest.raises(mg.BackwardError, match="does not require grad"):
        mg.ones(1).backward()


def test_retain_grad_keeps_gradients_of_non_leaves(rng):
    a = rng.standard_normal(3)
    x = leaf(a)
    h = (x * 2.0).retain_grad()
    k = h * 3.0
    (k * k).sum().backward()
    assert np.allclose(h.grad, 18 * 2 * a)          # d(9h²)/dh = 18h
    assert k.grad is None and np.allclose(x.grad, 72 * a)


# ---- grad modes ------------------------------------------------------------------------------
def test_no_grad_records_nothing_and_restores_the_mode():
    x = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2.0
        with mg.enable_grad():
            z = x * 2.0
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y._parents == ()
    assert z.requires_grad and z.grad_fn is not None
    with pytest.raises(KeyError):
        with mg.no_grad():
            raise KeyError("boom")
    assert mg.is_grad_enabled()


def test_no_grad_as_a_decorator_even_when_recursive():
    @mg.no_grad()
    def recurse(x, n):
        y = x * 2.0
        if n:
            recurse(x, n - 1)
        return y, mg.is_grad_enabled()

    @mg.no_grad
    def bare(x):
        return x * 2.0

    x = mg.ones(2, requires_grad=True)
    y, enabled = recurse(x, 3)
    assert not enabled and not y.requires_grad
    assert mg.is_grad_enabled(), "the outer call must restore the mode"
    assert not bare(x).requires_grad and mg.is_grad_enabled()


def test_set_grad_enabled_as_call_context_and_decorator():
    x = mg.ones(2, requires_grad=True)
    try:
        mg.set_grad_enabled(False)          # as PyTorch: a plain call switches at once
        assert not mg.is_grad_enabled() and not (x * 2.0).requires_grad
    finally:
        mg.set_grad_enabled(True)
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()

    @mg.set_grad_enabled(False)
    def evaluate():
        return mg.is_grad_enabled()
    assert mg.is_grad_enabled() and evaluate() is False and mg.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with mg.no_grad():
        thread = threading.Thread(target=lambda: seen.append(mg.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


# ---- a custom Function, as a student writes one ---------------------------------------------
class MulAdd(mg.Function):
    """y = a ⊙ b + a;  da = g ⊙ (b + 1),  db = g ⊙ a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b + a

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ctx.seen = ctx.needs_input_grad
        da = g * (b + 1) if ctx.needs_input_grad[0] else None
        db = g * a if ctx.needs_input_grad[1] else None
        return da, db


def test_custom_function_gradchecks_and_is_not_registered(rng):
    a, b = leaf(rng.standard_normal((2, 3))), leaf(rng.standard_normal((2, 3)))
    assert mg.gradcheck(lambda a, b: MulAdd.apply(a, b), a, b)
    assert "MulAdd" not in OPS
    y = MulAdd.apply(a, mg.tensor(rng.standard_normal((2, 3))))
    assert y.grad_fn is MulAdd and y._ctx.needs_input_grad == (True, False)
    y.sum().backward()
    assert y.grad_fn is MulAdd


def test_custom_function_with_a_wrong_shape_gradient_names_the_op():
    class RowSum(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum(axis=1)

        @staticmethod
        def backward(ctx, g):
            return g                         # wrong: should be broadcast back to (2, 3)

    x = mg.ones(2, 3, requires_grad=True)
    with pytest.raises(mg.ShapeError, match=r"RowSum\.backward.*\(2,\).*input 0.*\(2, 3\)"):
        RowSum.apply(x).sum().backward()


def test_custom_function_errors_name_the_mistake():
    class TooMany(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    class Forgot(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x

    x = mg.ones(2, requires_grad=True)
    with pytest.raises(mg.BackwardError, match=r"TooMany\.backward returned 2 gradients.*1"):
        TooMany.apply(x).sum().backward()
    with pytest.raises(mg.BackwardError, match="nothing was saved"):
        Forgot.apply(x).sum().backward()


# ---- detect_anomaly -------------------------------------------------------------------------
def test_anomaly_in_forward_names_the_op_and_the_line():
    x = mg.tensor([1.0, -1.0], requires_grad=True)
    with mg.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(mg.AnomalyError, match=r"Log\.forward produced NaN.*test_autograd\.py:\d+"):
            x.log()
    with np.errstate(invalid="ignore"):
        assert np.isnan(x.log().numpy()[1])      # without the mode: no check


def test_anomaly_in_backward_names_the_op_and_where_it_was_created():
    x = mg.tensor([0.0, 4.0], requires_grad=True)

    @mg.detect_anomaly()
    def run():
        y = x.sqrt().sum()                       # forward fine, backward 1/(2√0) = inf
        y.backward()

    with np.errstate(divide="ignore"), pytest.raises(
            mg.AnomalyError, match=r"Sqrt\.backward produced NaN/Inf.*input 0.*test_autograd\.py:\d+ in run"):
        run()


def test_anomaly_mode_allows_minus_infinity_masks():
    scores = mg.randn(4, 4, dtype=mg.float64, requires_grad=True)
    causal = np.triu(np.ones((4, 4), dtype=bool), 1)
    with mg.detect_anomaly():
        probs = scores.masked_fill(causal, float("-inf")).softmax(-1)
        (probs * mg.randn(4, 4, dtype=mg.float64)).sum().backward()
    assert np.isfinite(probs.numpy()).all() and (probs.numpy()[causal] == 0).all()
    assert np.isfinite(scores.grad).all() and (scores.grad[causal] == 0).all()


# ---- shape errors name the op and the shapes ------------------------------------------------
@pytest.mark.parametrize("call, pattern", [
    (lambda: mg.ones(2, 3) + mg.ones(4), r"Add.*\(2, ?3\).*\(4,\)"),
    (lambda: mg.ones(2, 3) * mg.ones(2, 4), r"Mul.*\(2, ?3\).*\(2, ?4\)"),
    (lambda: mg.ones(2, 3) @ mg.ones(4, 5), r"matmul.*\(2, 3\) @ \(4, 5\)"),
    (lambda: mg.ones(2, 2, 3) @ mg.ones(3, 3, 4), r"matmul.*\(2,\).*\(3,\)"),
    (lambda: mg.ones(2, 3).reshape(4, 2), r"reshape.*\(2, 3\).*\(4, 2\)"),
    (lambda: mg.cat([mg.ones(2, 3), mg.ones(2, 4)]), r"cat.*\(2, 3\).*\(2, 4\)"),
    (lambda: mg.stack([mg.ones(2, 3), mg.ones(3, 2)]), r"stack.*\(2, 3\).*\(3, 2\)"),
    (lambda: mg.ones(2, 3).expand(4, 3, 3), r"expand.*\(2, 3\).*\(4, 3, 3\)"),
    (lambda: mg.ones(2, 3).expand(-1, 2, 3), r"expand.*-1"),
    (lambda: mg.ones(2, 3).permute(0, 0), r"permute.*\(2, 3\)"),
    (lambda: mg.ones(2, 3).permute(0, 3), r"permute.*\(2, 3\)"),
    (lambda: mg.ones(2, 3).sum(dim=2), r"sum.*dim 2"),
    (lambda: mg.ones(2, 3).masked_fill(np.ones((3, 3), bool), 0.0), r"masked_fill.*\(3, 3\)"),
])
def test_shape_errors_name_op_and_shapes(call, pattern):
    with pytest.raises(mg.ShapeError, match=pattern) as info:
        call()
    assert isinstance(info.value, ValueError)    # `except ValueError` catches it too


# ---- gradcheck itself -----------------------------------------------------------------------
class PlantedBug(mg.Function):
    """y = a ⊙ b, with the gradient of b wrong by +1 at one element."""
    bad_index = (1, 2)

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        db = g * a
        db[PlantedBug.bad_index] += 1.0
        return g * b, db


def test_gradcheck_passes_on_a_correct_op(rng):
    assert mg.gradcheck(lambda x, y: (x * y).sum(dim=1), leaf(rng.standard_normal((2, 3))),
                        leaf(rng.standard_normal((2, 3))))


def test_gradcheck_diagnoses_a_planted_wrong_gradient(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x, y: PlantedBug.apply(x, y), leaf(a), leaf(b), seed=7)
    message = str(info.value)
    r = np.random.default_rng(7).standard_normal((2, 3))   # gradcheck's projection (seed=7)
    numeric = (r * a)[PlantedBug.bad_index]
    assert "input 1" in message and "1 of 6 elements differ" in message
    assert "worst at index (1, 2)" in message
    assert f"analytic {numeric + 1:.6g}" in message and f"numeric {numeric:.6g}" in message
    assert "PlantedBug" not in OPS


def test_gradcheck_reports_inputs_that_get_no_gradient_and_misuse(rng):
    x, y = leaf(rng.standard_normal(3)), leaf(rng.standard_normal(3))

    def leaks(x, y):                    # x reaches the output only through raw NumPy
        return y * 1.0 + mg.tensor(x.numpy() ** 2)

    with pytest.raises(mg.GradcheckError, match=r"input 0.*no gradient reached"):
        mg.gradcheck(leaks, x, y)
    with pytest.raises(ValueError, match="requires_grad"):
        mg.gradcheck(lambda x: x * 2.0, mg.ones(2))
