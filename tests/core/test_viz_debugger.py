"""The backward debugger: viz.step_backward replays the tape; find_bad_backward names a bad op."""
import builtins
import io

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import registry, viz
from minigrad.autograd import Function, graph_order


def mlp_loss(seed=0):
    """A tiny model whose weight is used twice and whose bias is broadcast over the batch."""
    mg.manual_seed(seed)
    x = mg.randn(4, 3, dtype=mg.float64)
    w = mg.randn(3, 3, dtype=mg.float64, requires_grad=True)
    b = mg.randn(3, dtype=mg.float64, requires_grad=True)
    w.name, b.name = "w", "b"
    h = (x @ w + b).tanh()
    loss = F.cross_entropy(h @ w, mg.tensor([0, 2, 1, 2])) + (b * b).sum()
    return loss, w, b


def final_grads(steps):
    """The last running sum of every leaf, as the replay reports it."""
    final = {}
    for step in steps:
        for c in step.contributions:
            if c.into_grad:
                final[id(c.tensor)] = c.total
    return final


def test_replay_gives_backwards_gradients_and_changes_nothing():
    loss, w, b = mlp_loss()
    steps = viz.step_backward(loss, out=None)
    assert w.grad is None and b.grad is None            # the replay writes no .grad
    assert [s.tensor for s in steps] == list(reversed(graph_order(loss)))
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    loss.backward()                                     # the graph was not freed
    replayed = final_grads(steps)
    np.testing.assert_array_equal(replayed[id(w)], w.grad)
    np.testing.assert_array_equal(replayed[id(b)], b.grad)
    fresh, w2, b2 = mlp_loss()
    fresh.backward()
    np.testing.assert_array_equal(w.grad, w2.grad)      # same as without the replay
    np.testing.assert_array_equal(b.grad, b2.grad)


def test_a_tensor_used_twice_gets_a_running_sum():
    x = mg.tensor([1.0, -2.0, 3.0], dtype=mg.float64, requires_grad=True)
    x.name = "x"
    steps = viz.step_backward((x * x).sum(), out=None)
    assert [s.op for s in steps] == ["Sum", "Mul"]
    first, second = steps[1].contributions
    assert first.tensor is x and second.tensor is x and first.into_grad
    assert first.before is None
    np.testing.assert_array_equal(second.before, first.total)
    np.testing.assert_array_equal(second.total, first.grad + second.grad)
    np.testing.assert_array_equal(second.total, 2 * x.numpy())
    np.testing.assert_array_equal(first.local, x.numpy())          # d(a*b)/da = b = x


def test_intermediate_used_twice_is_summed_before_its_own_step():
    x = mg.tensor([0.5, 1.5], dtype=mg.float64, requires_grad=True)
    h = x.exp()
    loss = (h * h).sum()
    steps = viz.step_backward(loss, out=None)
    mul = next(s for s in steps if s.op == "Mul")
    exp = next(s for s in steps if s.op == "Exp")
    assert not mul.contributions[0].into_grad and mul.contributions[0].sink.startswith("dL/d#")
    np.testing.assert_allclose(exp.upstream, 2 * h.numpy())   # both contributions arrived


def test_contribution_is_upstream_times_local_for_elementwise_ops():
    loss, w, b = mlp_loss(seed=1)
    steps = viz.step_backward(loss, out=None)
    tanh = next(s for s in steps if s.op == "Tanh")
    (c,) = tanh.contributions
    y = tanh.tensor.numpy()
    np.testing.assert_allclose(c.local, 1 - y ** 2)
    np.testing.assert_allclose(c.grad, tanh.upstream * c.local)
    matmul = next(s for s in steps if s.op == "MatMul")
    assert all(c.local is None for c in matmul.contributions)      # not element-wise


def test_broadcast_input_reports_the_summed_axes():
    a = mg.randn(2, 3, dtype=mg.float64, requires_grad=True)
    b = mg.randn(3, dtype=mg.float64, requires_grad=True)
    c = mg.randn(2, 1, dtype=mg.float64, requires_grad=True)
    steps = viz.step_backward(((a + b) * c).sum(), out=None)
    add = next(s for s in steps if s.op == "Add")
    mul = next(s for s in steps if s.op == "Mul")
    assert add.contributions[0].summed_axes == () and add.contributions[1].summed_axes == (0,)
    assert mul.contributions[1].summed_axes == (1,)
    np.testing.assert_allclose(add.contributions[1].grad, add.upstream.sum(axis=0))


def test_printing_full_small_arrays_summarized_large_ones_and_the_final_grads():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    x.name = "x"
    big = mg.randn(50, 4, dtype=mg.float64, requires_grad=True)
    stream = io.StringIO()
    steps = viz.step_backward((x * x).sum() + (big * 2).sum(), out=stream)
    text = stream.getvalue()
    assert text.count("step ") == len(steps) == 5
    assert "rule      y = a ⊙ b" in text and "(the start: dL/dL = 1)" in text
    assert "x.grad = [1, 2] + [1, 2] = [2, 4]" in text
    assert "<(50, 4) mean" in text and "[[" not in text      # 200 elements: summarized
    assert text.rstrip().splitlines()[-1].startswith("after backward(): ")
    lines = []
    viz.step_backward((x * x).sum(), out=lines.append)
    assert len(lines) == 3 and str(steps[0]) in text
    assert repr(steps[0]).startswith("<BackwardStep 1/5: ")


def test_print_is_the_default_and_none_is_silent(capsys):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    viz.step_backward((x * x).sum())
    assert "step 1/2" in capsys.readouterr().out
    viz.step_backward((x * x).sum(), out=None)
    assert capsys.readouterr().out == ""


def test_interactive_mode_waits_for_enter_and_q_quits(monkeypatch):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    answers = iter(["", "q"])
    prompts = []
    monkeypatch.setattr(builtins, "input", lambda prompt: prompts.append(prompt) or next(answers))
    steps = viz.step_backward(((x * x).exp()).sum(), out=None, interactive=True)
    assert len(steps) == 2 and len(prompts) == 2          # stopped after the second step
    monkeypatch.setattr(builtins, "input", lambda prompt: "")
    assert len(viz.step_backward(((x * x).exp()).sum(), out=None, interactive=True)) == 3


def test_leaf_sums_start_from_an_existing_grad():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    (x * 3).sum().backward()
    loss = (x * x).sum()
    steps = viz.step_backward(loss, out=None)
    loss.backward()
    np.testing.assert_array_equal(final_grads(steps)[id(x)], x.grad)   # 3 + 2x


def test_nonscalar_root_takes_grad_like_backward():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    steps = viz.step_backward(x * x, grad=mg.tensor([1.0, 10.0], dtype=mg.float64), out=None)
    np.testing.assert_array_equal(final_grads(steps)[id(x)], [2.0, 40.0])


def test_errors_say_what_is_wrong():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(mg.BackwardError, match="does not require grad"):
        viz.step_backward(mg.tensor(1.0), out=None)
    with pytest.raises(mg.BackwardError, match="shape \\(2,\\); a gradient .* pass grad="):
        viz.step_backward(x * x, out=None)
    with pytest.raises(mg.ShapeError, match="grad has shape \\(3,\\)"):
        viz.step_backward(x * x, grad=np.ones(3, np.float32), out=None)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(mg.BackwardError, match="freed by an earlier backward"):
        viz.step_backward(loss, out=None)


# ---- find_bad_backward ----------------------------------------------------------------------

class BadTanh(Function):
    """y = tanh x with a planted mistake: dx = g ⊙ (1 - y) instead of g ⊙ (1 - y²)."""

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y)


class OneWrongElement(Function):
    """y = 2x whose backward is right except at element (1, 2), which gets 1 too much."""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        dx = 2 * g
        dx[1, 2] += 1.0
        return dx


class WrongShape(Function):
    """y = x.sum() whose backward forgets to spread g back to x's shape."""

    @staticmethod
    def forward(ctx, x):
        return x.sum()

    @staticmethod
    def backward(ctx, g):
        return g


def small_model(activation, second=None):
    mg.manual_seed(3)
    x = mg.randn(4, 3, dtype=mg.float64)
    targets = mg.tensor([0, 1, 1, 0])

    def model(w1, w2):
        h = activation(F.layer_norm(x @ w1, (5,)))
        h = h if second is None else second(h)
        logits = mg.cat([h @ w2, h.sum(dim=1, keepdim=True)], dim=1)[:, 1:]
        return F.cross_entropy(F.softmax(logits, dim=-1) * 3.0, targets)

    w1 = mg.randn(3, 5, dtype=mg.float64, requires_grad=True)
    w2 = mg.randn(5, 2, dtype=mg.float64, requires_grad=True)
    return model, w1, w2


def test_correct_model_has_no_bad_backward_even_with_settings_and_masks():
    model, w1, w2 = small_model(mg.tanh)
    assert mg.gradcheck(model, w1, w2)
    assert viz.find_bad_backward(model, w1, w2) is None


def test_planted_wrong_backward_is_located_with_shape_and_index():
    model, w1, w2 = small_model(BadTanh.apply)
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(model, w1, w2)                  # the model is wrong somewhere...
    bad = viz.find_bad_backward(model, w1, w2)       # ...and here is where
    assert bad.op == "BadTanh" and bad.input == 0 and bad.shape == (4, 5)
    assert bad.call == 3 and bad.calls > 3           # MatMul, LayerNorm, then BadTanh
    assert bad.wrong > 0 and abs(bad.got - bad.expected) > 1e-3
    assert "test_viz_debugger.py" in bad.where and "in model" in bad.where
    assert str(bad).startswith("BadTanh (op 3 of ")


def test_the_worst_index_and_values_are_exact():
    model, w1, w2 = small_model(mg.tanh, second=OneWrongElement.apply)
    bad = viz.find_bad_backward(model, w1, w2)
    assert (bad.op, bad.index, bad.wrong) == ("OneWrongElement", (1, 2), 1)
    assert bad.got - bad.expected == pytest.approx(1.0, abs=1e-6)   # the planted + 1


def test_the_first_wrong_op_in_forward_order_is_reported():
    model, w1, w2 = small_model(BadTanh.apply, second=OneWrongElement.apply)
    assert viz.find_bad_backward(model, w1, w2).op == "BadTanh"


def test_wrong_gradient_shape_is_reported_and_recording_stops_after_an_error():
    x = mg.randn(2, 3, dtype=mg.float64, requires_grad=True)
    bad = viz.find_bad_backward(lambda t: WrongShape.apply(t.exp()), x)
    assert bad.op == "WrongShape" and "has shape ()" in str(bad)

    def broken(t):
        t.exp()
        raise KeyError("inside fn")

    with pytest.raises(KeyError):
        viz.find_bad_backward(broken, x)
    assert registry._tracers == []                   # the recorder was removed


def test_an_op_passed_as_fn_itself_is_checked_too():
    x = mg.randn(2, 3, dtype=mg.float64, requires_grad=True)
    bad = viz.find_bad_backward(BadTanh.apply, x)     # the bound method exists before recording
    assert bad.op == "BadTanh" and (bad.call, bad.calls) == (1, 1) and bad.shape == (2, 3)
