"""minigrad.nn.init: the distributions' parameters, PyTorch's fans and gains, seeding, dtypes."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import init

SHAPE = (200, 300)                      # fan_in 300, fan_out 200: 60000 draws


def std_bound_xavier(gain=1.0):
    return gain * math.sqrt(2 / 500), gain * math.sqrt(6 / 500)


@pytest.mark.parametrize("fill, std, bound", [
    (lambda t: init.xavier_uniform_(t), std_bound_xavier()[0], std_bound_xavier()[1]),
    (lambda t: init.xavier_uniform_(t, gain=2.0), *std_bound_xavier(2.0)),
    (lambda t: init.xavier_normal_(t), std_bound_xavier()[0], None),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 1 / math.sqrt(3 * 300),
     1 / math.sqrt(300)),
    (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
     math.sqrt(2 / 200), math.sqrt(6 / 200)),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 300), None),
    (lambda t: init.uniform_(t, -0.5, 0.5), 1 / math.sqrt(12), 0.5),
    (lambda t: init.normal_(t, 0.0, 0.02), 0.02, None),
], ids=["xavier_uniform", "xavier_uniform_gain", "xavier_normal", "kaiming_uniform_linear",
        "kaiming_uniform_relu_fan_out", "kaiming_normal_relu", "uniform", "normal"])
def test_distribution(fill, std, bound):
    mg.manual_seed(0)
    t = fill(mg.empty(*SHAPE))
    assert abs(t.data.mean()) < 0.02 * std          # the mean's own std is std / 245
    assert abs(t.data.std() / std - 1) < 0.02
    if bound is not None:
        assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.99 * bound


def test_in_place_returns_the_tensor_and_keeps_dtype():
    for dtype in (np.float32, np.float64):
        t = mg.empty(3, 4, dtype=dtype)
        data = t.data
        assert init.xavier_normal_(t) is t and t.data is data and t.dtype == dtype
    p = mg.nn.Parameter(mg.zeros(2, 2))
    assert init.constant_(p, 0.5) is p and (p.data == 0.5).all() and p.requires_grad
    assert (init.ones_(p).data == 1).all() and (init.zeros_(p).data == 0).all()


def test_manual_seed_makes_init_repeatable():
    mg.manual_seed(7)
    a = init.normal_(mg.empty(5, 5)).data.copy()
    b = init.normal_(mg.empty(5, 5)).data.copy()
    mg.manual_seed(7)
    np.testing.assert_array_equal(init.normal_(mg.empty(5, 5)).data, a)
    assert not np.array_equal(a, b)
    mg.manual_seed(7)
    first = mg.nn.Linear(5, 5).weight.data
    mg.manual_seed(7)
    np.testing.assert_array_equal(mg.nn.Linear(5, 5).weight.data, first)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(4, 3), (8, 2, 3, 5), (2, 7, 4)])
def test_fans_match_torch(shape):
    torch = pytest.importorskip("torch")
    assert init._calculate_fan_in_and_fan_out(mg.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.torch
@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("sigmoid", None),
                                                 ("tanh", None), ("relu", None),
                                                 ("leaky_relu", None), ("leaky_relu", 0.2),
                                                 ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_gains_match_torch(nonlinearity, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


def test_errors():
    with pytest.raises(ValueError, match=r"at least 2 dims, got shape \(3,\)"):
        init.xavier_uniform_(mg.empty(3))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_normal_(mg.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
