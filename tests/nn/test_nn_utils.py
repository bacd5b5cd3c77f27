"""minigrad.nn.utils: gradient clipping (vs PyTorch) and flat parameter vectors."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import ShapeError
from minigrad.nn import utils


def params_with_grads(rng, scale):
    params = [mg.tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 4), (5,), (2,)]]
    for p in params[:2]:                   # the last one has no grad and is skipped
        p.grad = rng.standard_normal(p.shape) * scale
    return params


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.0])
@pytest.mark.parametrize("scale", [0.01, 10.0], ids=["no_clip", "clip"])
def test_clip_grad_norm_matches_torch(rng, norm_type, scale):
    torch = pytest.importorskip("torch")
    mine = params_with_grads(rng, scale)
    theirs = [torch.tensor(p.data, requires_grad=True) for p in mine]
    for p, q in zip(mine, theirs):
        q.grad = None if p.grad is None else torch.tensor(p.grad)
    total = utils.clip_grad_norm_(mine, max_norm=1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0, norm_type=norm_type)
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    for p, q in zip(mine[:2], theirs[:2]):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)
    assert mine[2].grad is None


def test_clip_grad_norm_brings_the_norm_to_max_norm(rng):
    params = params_with_grads(rng, 10.0)
    before = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params[:2]))
    assert utils.clip_grad_norm_(params, 0.5).item() == pytest.approx(before, rel=1e-6)
    after = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params[:2]))
    assert after == pytest.approx(0.5, rel=1e-5)
    assert utils.clip_grad_norm_([mg.ones(2, requires_grad=True)], 1.0).item() == 0.0


@pytest.mark.torch
def test_clip_grad_value_matches_torch(rng):
    torch = pytest.importorskip("torch")
    mine = params_with_grads(rng, 2.0)
    theirs = [torch.tensor(p.data) for p in mine[:2]]
    for p, q in zip(mine, theirs):
        q.grad = torch.tensor(p.grad)
    utils.clip_grad_value_(mine, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(mine, theirs):
        np.testing.assert_array_equal(p.grad, q.grad.numpy())


def test_parameters_to_vector_and_back(rng):
    model = mg.nn.Linear(3, 2)
    vector = utils.parameters_to_vector(model.parameters())
    assert vector.shape == (8,)
    np.testing.assert_array_equal(vector.data[:6], model.weight.data.reshape(-1))
    new = mg.tensor(rng.standard_normal(8))
    utils.vector_to_parameters(new, model.parameters())
    np.testing.assert_allclose(model.bias.data, new.data[6:].astype(np.float32))
    with pytest.raises(ShapeError, match=r"vector of shape \(7,\) does not hold the 8"):
        utils.vector_to_parameters(mg.zeros(7), model.parameters())
