"""minigrad.nn.functional: gradients by finite differences, values and gradients vs PyTorch,
stability on extreme logits, argument checks, and the random/indexing functions."""
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.errors import DTypeError, ShapeError

try:
    import torch
    TF = torch.nn.functional
except ImportError:
    torch = TF = None

R = np.random.default_rng(0)


def floats(*shape):
    return R.uniform(-2, 2, shape)


def nonzero(*shape):
    """Values with |x| >= 0.25, away from the kink of relu."""
    return R.uniform(0.25, 2, shape) * R.choice([-1.0, 1.0], shape)


def classes(n_classes, *shape, ignored=0, ignore_index=-100):
    """Random class indices; the first ``ignored`` entries (flat order) set to ignore_index."""
    target = R.integers(0, n_classes, shape)
    target.reshape(-1)[:ignored] = ignore_index
    return target


# (id, minigrad function, torch function, input arrays: floats require grad, ints do not)
CASES = [
    ("relu", F.relu, lambda x: TF.relu(x), [nonzero(3, 4)]),
    ("gelu", F.gelu, lambda x: TF.gelu(x), [floats(3, 4)]),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda x: TF.gelu(x, approximate="tanh"), [floats(3, 4)]),
    ("sigmoid", F.sigmoid, lambda x: torch.sigmoid(x), [floats(3, 4)]),
    ("tanh", F.tanh, lambda x: torch.tanh(x), [floats(3, 4)]),
    ("softmax_dim0", lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0), [floats(3, 4)]),
    ("log_softmax", lambda x: F.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1),
     [floats(3, 4)]),
    ("linear", F.linear, lambda x, w, b: TF.linear(x, w, b), [floats(5, 3), floats(4, 3),
                                                              floats(4)]),
    ("linear_3d_no_bias", F.linear, lambda x, w: TF.linear(x, w), [floats(2, 3, 3),
                                                                  floats(4, 3)]),
    ("linear_1d", F.linear, lambda x, w, b: TF.linear(x, w, b), [floats(3), floats(4, 3),
                                                                 floats(4)]),
    ("embedding", F.embedding, lambda i, w: TF.embedding(i, w),
     [np.array([[0, 4, 2], [2, 2, 1]]), floats(5, 3)]),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b),
     lambda x, w, b: TF.layer_norm(x, (4,), w, b), [floats(3, 4), floats(4), floats(4)]),
    ("layer_norm_2_dims_no_affine", lambda x: F.layer_norm(x, (3, 4), eps=1e-3),
     lambda x: TF.layer_norm(x, (3, 4), eps=1e-3), [floats(2, 3, 4)]),
    ("cross_entropy", F.cross_entropy, lambda x, t: TF.cross_entropy(x, t),
     [floats(4, 5), classes(5, 4)]),
    ("cross_entropy_3d_ignore_smoothing",
     lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
     lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.1),
     [floats(2, 5, 3), classes(5, 2, 3, ignored=2)]),
    ("cross_entropy_4d_sum", lambda x, t: F.cross_entropy(x, t, reduction="sum"),
     lambda x, t: TF.cross_entropy(x, t, reduction="sum"),
     [floats(2, 3, 2, 2), classes(3, 2, 2, 2)]),
    ("cross_entropy_none_custom_ignore",
     lambda x, t: F.cross_entropy(x, t, ignore_index=1, reduction="none", label_smoothing=0.2),
     lambda x, t: TF.cross_entropy(x, t, ignore_index=1, reduction="none",
                                   label_smoothing=0.2),
     [floats(6, 3), np.array([0, 1, 2, 1, 0, 2])]),
    ("cross_entropy_unbatched", F.cross_entropy, lambda x, t: TF.cross_entropy(x, t),
     [floats(5), np.array(3)]),
    ("nll_loss", F.nll_loss, lambda x, t: TF.nll_loss(x, t), [floats(4, 5), classes(5, 4)]),
    ("nll_loss_3d_ignore", F.nll_loss, lambda x, t: TF.nll_loss(x, t),
     [floats(2, 5, 3), classes(5, 2, 3, ignored=2)]),
    ("nll_loss_none", lambda x, t: F.nll_loss(x, t, reduction="none"),
     lambda x, t: TF.nll_loss(x, t, reduction="none"), [floats(4, 3), classes(3, 4, ignored=1)]),
    ("mse_loss", F.mse_loss, lambda x, y: TF.mse_loss(x, y), [floats(3, 4), floats(3, 4)]),
    ("mse_loss_none", lambda x, y: F.mse_loss(x, y, reduction="none"),
     lambda x, y: TF.mse_loss(x, y, reduction="none"), [floats(3, 4), floats(3, 4)]),
    ("bce_with_logits", F.binary_cross_entropy_with_logits,
     lambda x, y: TF.binary_cross_entropy_with_logits(x, y), [floats(3, 4), R.uniform(0, 1, (3, 4))]),
    ("bce_with_logits_sum", lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="sum"),
     lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction="sum"),
     [floats(5), R.uniform(0, 1, 5)]),
]
# The padding row is used but gets no gradient by design, so finite differences disagree.
NO_GRADCHECK = [
    ("embedding_padding", lambda i, w: F.embedding(i, w, padding_idx=2),
     lambda i, w: TF.embedding(i, w, padding_idx=2),
     [np.array([[0, 4, 2], [2, 2, 1]]), floats(5, 3)]),
]


def params(cases):
    return [pytest.param(mg_fn, torch_fn, arrays, id=name) for name, mg_fn, torch_fn, arrays in cases]


def leaves(arrays):
    return [mg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]


@pytest.mark.parametrize("mg_fn, torch_fn, arrays", params(CASES))
def test_gradcheck(mg_fn, torch_fn, arrays):
    assert mg.gradcheck(mg_fn, *leaves(arrays))


@pytest.mark.torch
@pytest.mark.parametrize("mg_fn, torch_fn, arrays", params(CASES + NO_GRADCHECK))
def test_matches_torch(torch_oracle, mg_fn, torch_fn, arrays):
    torch_oracle(mg_fn, torch_fn, *arrays)


# ---- stability ------------------------------------------------------------------------------
EXTREME = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]])
TARGET = np.array([1, 0, 2])
STABLE = {
    "cross_entropy": lambda x: F.cross_entropy(x, mg.tensor(TARGET), label_smoothing=0.1),
    "nll_of_log_softmax": lambda x: F.nll_loss(F.log_softmax(x, 1), mg.tensor(TARGET)),
    "bce_with_logits": lambda x: F.binary_cross_entropy_with_logits(x, mg.ones_like(x) * 0.3),
    "softmax": lambda x: F.softmax(x, -1).sum(),
    "sigmoid": lambda x: F.sigmoid(x).sum(),
    "gelu": lambda x: F.gelu(x).sum(),
    "gelu_tanh": lambda x: F.gelu(x, "tanh").sum(),
    "tanh": lambda x: F.tanh(x).sum(),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(STABLE))
def test_stable_on_extreme_logits(name, dtype):
    x = mg.tensor(EXTREME, dtype=dtype, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = STABLE[name](x)
        loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(x.grad).all()
    assert loss.dtype == dtype and x.grad.dtype == dtype


def test_cross_entropy_of_confident_wrong_logits_is_their_gap():
    loss = F.cross_entropy(mg.tensor([[1e4, -1e4]], dtype=mg.float64), mg.tensor([1]))
    assert loss.item() == 2e4


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_mean_over_no_targets_is_nan_with_zero_gradient(loss):
    """As PyTorch: every target ignored gives 0/0 = NaN, and no gradient reaches the input."""
    x = mg.tensor(floats(3, 4), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = loss(x, mg.full((3,), -100))
        out.backward()
    assert np.isnan(out.item()) and (x.grad == 0).all()


# ---- argument checks ------------------------------------------------------------------------
@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_losses_check_the_target(loss):
    x = mg.randn(4, 3)
    with pytest.raises(DTypeError, match=r"target must hold integer indices, got dtype float32"):
        loss(x, mg.zeros(4))
    with pytest.raises(ShapeError, match=r"\(4, 3\).*needs a target of shape \(4,\).*got \(4, 1\)"):
        loss(x, mg.zeros(4, 1, dtype=mg.int64))
    with pytest.raises(IndexError, match=r"target value 3 is out of range \[0, 3\) or ignore_index=-100"):
        loss(x, mg.tensor([0, 3, 1, 2]))
    with pytest.raises(IndexError, match="target value -1 is out of range"):
        loss(x, mg.tensor([0, -1, 1, 2]))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        loss(x, mg.tensor([0, 1, 1, 2]), reduction="avg")
    assert np.isfinite(loss(x, mg.tensor([0, -100, 1, 2])).item())


def test_argument_checks_name_the_function_and_the_value():
    x = mg.randn(2, 3)
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\], got 1.5"):
        F.cross_entropy(x, mg.tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(ShapeError, match=r"linear: input of shape \(2, 3\).*weight of shape \(4, 5\) expects 5"):
        F.linear(x, mg.randn(4, 5))
    with pytest.raises(ShapeError, match=r"layer_norm: input of shape \(2, 3\) does not end with normalized_shape \(4,\)"):
        F.layer_norm(x, 4)
    with pytest.raises(ShapeError, match=r"layer_norm: weight has shape \(2,\), expected"):
        F.layer_norm(x, 3, weight=mg.ones(2))
    with pytest.raises(ShapeError, match=r"mse_loss: input has shape \(2, 3\) but target has \(2, 1\)"):
        F.mse_loss(x, mg.randn(2, 1))
    with pytest.raises(ShapeError, match="binary_cross_entropy_with_logits"):
        F.binary_cross_entropy_with_logits(x, mg.rand(3))
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\], got 1.2"):
        F.dropout(x, 1.2)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(x, "erf")
    with pytest.raises(IndexError, match=r"embedding: idx value 5 is out of range \[0, 5\)"):
        F.embedding(mg.tensor([1, 5]), mg.randn(5, 2))
    with pytest.raises(IndexError, match="embedding: idx value -1"):
        F.embedding(mg.tensor([-1]), mg.randn(5, 2))
    with pytest.raises(DTypeError, match="embedding: idx must hold integer indices"):
        F.embedding(mg.tensor([1.0]), mg.randn(5, 2))


# ---- embedding, dropout, one_hot ------------------------------------------------------------
def test_embedding_is_one_hot_times_table(rng):
    """FORMULAS C2: a lookup equals onehot(idx) @ W, and so do their gradients."""
    idx = mg.tensor(rng.integers(0, 6, (2, 4)))
    w1 = mg.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    w2 = mg.tensor(w1.data, requires_grad=True)
    lookup = F.embedding(idx, w1)
    product = F.one_hot(idx, 6).astype(mg.float64) @ w2
    np.testing.assert_allclose(lookup.data, product.data)
    g = rng.standard_normal((2, 4, 3))
    lookup.backward(g)
    product.backward(g)
    np.testing.assert_allclose(w1.grad, w2.grad)


def test_embedding_padding_row_keeps_its_value_but_gets_no_gradient(rng):
    w = mg.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    idx = mg.tensor([[1, 3], [3, 0]])
    y = F.embedding(idx, w, padding_idx=-1)               # row 3
    np.testing.assert_array_equal(y.data[0, 1], w.data[3])
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, [[1, 1], [1, 1], [0, 0], [0, 0]])


def test_dropout_mask_scale_gradient_and_seed():
    x = mg.ones(200, 100, requires_grad=True)
    mg.manual_seed(3)
    y = F.dropout(x, p=0.25)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.01                 # 20000 draws: std 0.003
    y.sum().backward()
    np.testing.assert_allclose(x.grad, y.data)            # dx = m / (1 - p) for g = 1
    mg.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, p=0.25).data, y.data)


def test_dropout_identity_and_extremes():
    x = mg.randn(3, 4, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    y = F.dropout(x, 1.0)
    assert (y.data == 0).all() and y.dtype == x.dtype
    y.sum().backward()
    assert (x.grad == 0).all()


def test_one_hot(rng):
    idx = rng.integers(0, 5, (3, 4))
    out = F.one_hot(mg.tensor(idx))
    assert out.dtype == np.int64 and not out.requires_grad
    np.testing.assert_array_equal(out.data, np.eye(idx.max() + 1, dtype=np.int64)[idx])
    assert F.one_hot(mg.tensor([1]), num_classes=4).shape == (1, 4)
    with pytest.raises(IndexError, match=r"one_hot: idx value 4 is out of range \[0, 4\)"):
        F.one_hot(mg.tensor([4]), num_classes=4)


def test_linear_3d_equals_a_linear_per_position(rng):
    x = mg.tensor(rng.standard_normal((2, 5, 3)))         # (B, T, C)
    w, b = mg.tensor(rng.standard_normal((4, 3))), mg.tensor(rng.standard_normal(4))
    y = F.linear(x, w, b)
    assert y.shape == (2, 5, 4)
    np.testing.assert_allclose(y.data[1, 2], w.data @ x.data[1, 2] + b.data)
