"""Tensor: dtype rules, factories, seeding, dtype preservation, conversions, comparisons."""
import numpy as np
import pytest

import minigrad as mg


# ---- mg.tensor dtype rules (as PyTorch) ----------------------------------------------------
@pytest.mark.parametrize("data, dtype", [
    ([1.0, 2.0], np.float32), (1.5, np.float32), ([[1, 2]], np.int64), (3, np.int64),
    (True, np.bool_), (np.zeros(2), np.float64), (np.zeros(2, dtype=np.float32), np.float32),
    (np.arange(3, dtype=np.int32), np.int32), (np.array([True, False]), np.bool_),
    (np.float64(1.5), np.float64), (np.float32(1.5), np.float32), (np.int32(3), np.int32),
])
def test_tensor_dtype_rules(data, dtype):
    assert mg.tensor(data).dtype == dtype


def test_tensor_copies_and_converts(rng):
    source = rng.standard_normal(3)
    t = mg.tensor(source, dtype=mg.float32)
    assert t.dtype == np.float32 and t.is_leaf and not t.requires_grad
    source[0] += 1.0
    assert t.numpy()[0] != np.float32(source[0])          # a copy, not a view
    assert mg.tensor(t).dtype == np.float32               # from a Tensor: keeps its dtype
    with pytest.raises(mg.DTypeError):
        mg.tensor([1, 2], requires_grad=True)             # integers cannot require grad
    with pytest.raises(mg.DTypeError):
        mg.tensor(np.array(["a"]))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
def test_a_dimensionless_float_takes_the_dtype_of_a_tensor_with_dimensions(op):
    """As PyTorch: float32 (3,) with a float64 0-d tensor stays float32 (NumPy alone would
    promote to float64), in either order; the 0-d operand's gradient keeps its own dtype."""
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = mg.tensor(np.float64(1.5), requires_grad=True)
    for y in (getattr(mg, op)(x, s), getattr(mg, op)(s, x)):
        assert y.dtype == np.float32
    getattr(mg, op)(x, s).sum().backward()
    assert x.grad.dtype == np.float32 and s.grad.dtype == np.float64
    assert mg.mul(x.double(), mg.tensor(np.float32(2.0))).dtype == np.float64
    assert mg.mul(mg.tensor(np.float64(2.0)), mg.tensor(np.float32(3.0))).dtype == np.float64


# ---- factories ----------------------------------------------------------------------------
def test_factories_shapes_and_dtypes():
    assert mg.zeros(2, 3).shape == mg.zeros((2, 3)).shape == (2, 3)
    assert mg.zeros(2, 3).dtype == mg.ones(2).dtype == mg.empty(4).dtype == np.float32
    assert (mg.zeros(2, 3).numpy() == 0).all() and (mg.ones(2, 3).numpy() == 1).all()
    assert mg.ones(2, dtype=mg.float64).dtype == np.float64
    assert mg.full((2, 2), 7).dtype == np.int64 and mg.full((2, 2), 0.5).dtype == np.float32
    assert (mg.full((2, 2), 0.5).numpy() == 0.5).all()
    assert mg.arange(5).tolist() == list(range(5)) and mg.arange(5).dtype == np.int64
    assert mg.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert mg.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert np.allclose(mg.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    assert (mg.eye(3).numpy() == np.eye(3)).all() and mg.eye(2, 3).shape == (2, 3)
    x = mg.randn(2, 3, dtype=mg.float64, requires_grad=True)
    assert x.dtype == np.float64 and x.requires_grad and x.is_leaf
    for like in (mg.zeros_like, mg.ones_like, mg.randn_like):
        y = like(x)
        assert y.shape == x.shape and y.dtype == x.dtype and not y.requires_grad
    assert mg.zeros_like(x, dtype=mg.float32).dtype == np.float32
    assert mg.zeros_like(x, dtype=np.dtype("float32")).dtype == np.float32
    assert (mg.full_like(x, 2.0).numpy() == 2.0).all() and mg.full_like(x, 2.0).dtype == np.float64


def test_random_factories_ranges():
    u = mg.rand(1000)
    assert u.dtype == np.float32 and 0 <= u.numpy().min() and u.numpy().max() < 1
    n = mg.randn(2000)
    assert abs(float(n.numpy().mean())) < 0.1 and abs(float(n.numpy().std()) - 1) < 0.1
    k = mg.randint(3, 7, size=(500,))
    assert k.dtype == np.int64 and set(k.tolist()) == {3, 4, 5, 6}
    assert sorted(mg.randperm(10).tolist()) == list(range(10))


def test_manual_seed_repeats_every_draw():
    def draws():
        return (mg.randn(4).numpy(), mg.rand(3).numpy(), mg.randint(0, 100, size=(5,)).numpy(),
                mg.randperm(8).numpy())
    mg.manual_seed(123)
    first = draws()
    mg.manual_seed(123)
    second = draws()
    mg.manual_seed(124)
    third = draws()
    assert all((a == b).all() for a, b in zip(first, second))
    assert not (first[0] == third[0]).all()
    with pytest.raises(ValueError):
        mg.manual_seed(-1)


# ---- float32 stays float32 ----------------------------------------------------------------
FLOAT32_OPS = {
    "mul-python": lambda x: x * 2.0, "mul-np64": lambda x: x * np.float64(2.0),
    "rmul-np32": lambda x: np.float32(2) * x, "rmul-np64": lambda x: np.float64(2) * x,
    "add-np64": lambda x: x + np.float64(1.5), "radd": lambda x: 1.5 + x,
    "rsub": lambda x: 2.0 - x, "sub-np64": lambda x: x - np.float64(0.5),
    "div-np64": lambda x: x / np.float64(3.0), "rdiv": lambda x: 3.0 / x,
    "pow-int": lambda x: x ** 2, "pow-np64": lambda x: x ** np.float64(0.5),
    "rpow": lambda x: 2.0 ** x, "rpow-np64": lambda x: np.float64(2.0) ** x,
    "exp": mg.exp, "log": mg.log, "sqrt": mg.sqrt, "tanh": mg.tanh, "sigmoid": mg.sigmoid,
    "relu": mg.relu, "abs": mg.abs, "clamp-np64": lambda x: x.clamp(np.float64(0.6), 1.5),
    "where-scalar": lambda x: mg.where(x > 1.0, x, 0.0),
    "where-np64": lambda x: mg.where(x > 1.0, np.float64(0.5), x),
    "masked-fill": lambda x: x.masked_fill(x > 1.0, np.float64(-1e9)),
    "sum": lambda x: x.sum(), "mean": lambda x: x.mean(dim=0), "var": lambda x: x.var(dim=1),
    "max": lambda x: x.max(dim=1), "min": lambda x: x.min(), "logsumexp": lambda x: x.logsumexp(1),
    "softmax": lambda x: x.softmax(-1), "log-softmax": lambda x: x.log_softmax(-1),
    "matmul": lambda x: x @ x.T, "getitem": lambda x: x[[0, 0, 1]], "cat": lambda x: mg.cat([x, x]),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_OPS))
def test_float32_stays_float32_forward_and_backward(name, rng):
    x = mg.tensor(rng.uniform(0.5, 2.0, (2, 3)).astype(np.float32), requires_grad=True)
    y = FLOAT32_OPS[name](x)
    assert y.dtype == np.float32, f"{name} gave {y.dtype}"
    y.sum().backward()
    assert x.grad is not None and x.grad.dtype == np.float32


def test_numpy_scalar_on_the_left_dispatches_to_the_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = np.float32(2) * x
    assert isinstance(y, mg.Tensor) and y.grad_fn is not None and y.tolist() == [2.0, 4.0]
    z = np.ones(2) + x                      # a NumPy array on the left also gives a Tensor
    assert isinstance(z, mg.Tensor) and z.requires_grad


# ---- conversions, repr, comparisons -------------------------------------------------------
def test_detach_item_tolist_numpy(rng):
    a = rng.standard_normal((2, 2))
    x = mg.tensor(a, requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.array_equal(d.numpy(), a * 2.0)
    assert isinstance(x.numpy(), np.ndarray) and np.array_equal(x.numpy(), a)
    assert x.tolist() == a.tolist()
    s = y.sum()
    assert isinstance(s.item(), float) and s.item() == pytest.approx(2 * a.sum())
    assert mg.tensor([3]).item() == 3 and isinstance(mg.tensor([3]).item(), int)
    with pytest.raises(mg.MinigradError, match=r"shape \(2, 2\)"):
        x.item()
    with pytest.raises(mg.MinigradError, match="ambiguous"):
        bool(x)
    assert float(s) == s.item() and len(x) == 2 and x.numel() == 4 and x.size() == (2, 2)


def test_repr():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], dtype=float32, requires_grad=True)"
    assert repr(x * x) == "tensor([1., 4.], dtype=float32, grad_fn=<Mul>)"
    assert repr(mg.tensor([1, 2])) == "tensor([1, 2], dtype=int64)"


def test_comparisons_give_bool_tensors_without_grad(rng):
    a = rng.standard_normal((3, 4))
    x = mg.tensor(a, requires_grad=True)
    for op, ref in [(x > 0, a > 0), (x < 0.5, a < 0.5), (x >= 0, a >= 0), (x <= 0, a <= 0),
                    (x == x, a == a), (x != 0, a != 0), (~(x > 0), ~(a > 0)),
                    ((x > 0) & (x < 1), (a > 0) & (a < 1)), ((x > 1) | (x < -1), (a > 1) | (a < -1))]:
        assert op.dtype == np.bool_ and not op.requires_grad and op.grad_fn is None
        assert np.array_equal(op.numpy(), ref)


def test_setitem_refused_on_a_tensor_that_requires_grad():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(mg.MinigradError, match="in-place"):
        x[0] = 5.0
    with mg.no_grad():
        x[0] = 5.0                          # allowed: how initializers and optimizers write
    plain = mg.zeros(3)
    plain[mg.tensor([0, 2])] = 1.0
    assert x.tolist() == [5.0, 1.0, 1.0] and plain.tolist() == [1.0, 0.0, 1.0]


def test_astype_to_integer_carries_no_gradient_and_float_casts_do():
    x = mg.tensor([1.7, -2.2], requires_grad=True)
    i = x.long()                            # as PyTorch: allowed, the result needs no grad
    assert i.dtype == np.int64 and not i.requires_grad and i.tolist() == [1, -2]
    y = x.double()
    assert y.dtype == np.float64 and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and np.allclose(x.grad, 2 * x.numpy())
    assert x.float() is x                   # same dtype: no op
