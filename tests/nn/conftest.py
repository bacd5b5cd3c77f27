"""Helpers of the nn tests: PyTorch as the oracle for functions and for whole modules."""
import numpy as np
import pytest

import minigrad as mg


def _assert_close(actual, expected, what, atol):
    np.testing.assert_allclose(actual, expected, rtol=atol, atol=atol,
                               err_msg=f"{what} differs from torch")


def _compare(torch, mg_fn, torch_fn, arrays, atol):
    """Forward and input gradients of mg_fn and torch_fn on the same arrays agree.

    Float arrays become inputs that require grad (in both frameworks); other arrays (class
    indices) are passed as plain tensors. The backward compared is that of Σ out ⊙ r for a
    random r, so every output element matters.
    """
    mine = [mg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out, expected = mg_fn(*mine), torch_fn(*theirs)
    assert out.shape == tuple(expected.shape)
    _assert_close(out.numpy(), expected.detach().numpy(), "forward", atol)
    projection = np.random.default_rng(1).standard_normal(out.shape)
    (out * mg.tensor(projection)).sum().backward()
    (expected * torch.tensor(projection)).sum().backward()
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if b.requires_grad:
            _assert_close(a.grad, b.grad.numpy(), f"gradient of input {i}", atol)


@pytest.fixture
def torch_oracle():
    """check(mg_fn, torch_fn, *arrays): forward and backward agree with torch in float64."""
    torch = pytest.importorskip("torch", reason="torch is the optional oracle")
    return lambda mg_fn, torch_fn, *arrays, atol=1e-10: _compare(torch, mg_fn, torch_fn,
                                                                 arrays, atol)


@pytest.fixture
def torch_module_oracle():
    """check(module, torch_module, *arrays): the minigrad module, cast to float64 and its weights
    copied into the torch module by state_dict name, gives torch's outputs and gradients (of the
    inputs and of every parameter, listed under the same names)."""
    torch = pytest.importorskip("torch", reason="torch is the optional oracle")

    def check(module, torch_module, *arrays, atol=1e-10):
        module.double()
        torch_module.double().load_state_dict(
            {name: torch.from_numpy(value) for name, value in module.state_dict().items()})
        _compare(torch, module, torch_module, arrays, atol)
        theirs = dict(torch_module.named_parameters())
        assert [name for name, _ in module.named_parameters()] == list(theirs)
        for name, p in module.named_parameters():
            _assert_close(p.grad, theirs[name].grad.numpy(), f"gradient of {name}", atol)

    return check
