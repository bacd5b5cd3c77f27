"""Learning-rate schedules: PyTorch's lr sequences, the warm-up/cosine shape by hand, resuming."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import SGD
from minigrad.optim.lr_scheduler import (CosineAnnealingLR, LambdaLR, StepLR,
                                         WarmupCosineLR)

LRS = (0.1, 0.03)          # two parameter groups, two base lrs
T_MAX = 10


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="torch is the oracle for lr schedules "
                                               "(pip install torch)")


def lr_sequence(opt, scheduler, steps):
    """The lrs of every group as training sees them: read, then optimizer.step, scheduler.step."""
    lrs = []
    for _ in range(steps):
        lrs.append([group["lr"] for group in opt.param_groups])
        assert scheduler.get_last_lr() == lrs[-1]
        opt.step()
        scheduler.step()
    return np.array(lrs)


def ours(make_scheduler):
    opt = SGD([{"params": [mg.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS])
    return lr_sequence(opt, make_scheduler(opt), 2 * T_MAX + 3)


def theirs(torch, make_scheduler):
    opt = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr}
                           for lr in LRS])
    return lr_sequence(opt, make_scheduler(opt), 2 * T_MAX + 3)


SCHEDULES = {
    "LambdaLR": lambda lib: lambda opt: lib.LambdaLR(opt, lambda t: 0.9 ** t / (1 + t % 3)),
    "LambdaLR-per-group": lambda lib: lambda opt: lib.LambdaLR(
        opt, [lambda t: 1 / (t + 1), lambda t: 1 + 0.5 * t]),
    "StepLR": lambda lib: lambda opt: lib.StepLR(opt, step_size=3),
    "StepLR-gamma": lambda lib: lambda opt: lib.StepLR(opt, step_size=4, gamma=0.5),
    "CosineAnnealingLR": lambda lib: lambda opt: lib.CosineAnnealingLR(opt, T_max=T_MAX),
    "CosineAnnealingLR-eta_min": lambda lib: lambda opt: lib.CosineAnnealingLR(
        opt, T_max=T_MAX, eta_min=0.01),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", SCHEDULES)
def test_matches_torch(torch, name):
    expected = theirs(torch, SCHEDULES[name](torch.optim.lr_scheduler))
    got = ours(SCHEDULES[name](mg.optim.lr_scheduler))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert len(np.unique(got[:, 0])) > 2, "the schedule never changed the lr"


def test_step_and_cosine_by_hand():
    step = ours(lambda opt: StepLR(opt, step_size=3, gamma=0.5))[:, 0]
    np.testing.assert_allclose(step[:7], [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    cosine = ours(lambda opt: CosineAnnealingLR(opt, T_max=T_MAX, eta_min=0.01))[:, 0]
    assert cosine[0] == pytest.approx(0.1)
    assert cosine[T_MAX // 2] == pytest.approx(0.055)        # halfway: the mean of the ends
    assert cosine[T_MAX] == pytest.approx(0.01)
    assert np.all(np.diff(cosine[:T_MAX + 1]) < 0)


def test_warmup_cosine_shape():
    warmup, total, base, low = 4, 12, 0.1, 0.001
    opt = SGD([mg.zeros(1, requires_grad=True)], lr=base)
    lrs = lr_sequence(opt, WarmupCosineLR(opt, warmup, total, min_lr=low), 20)[:, 0]
    np.testing.assert_allclose(lrs[:warmup + 1], base * np.arange(1, warmup + 2) / (warmup + 1))
    assert 0 < lrs[0] <= base / 4                             # starts near 0, not at 0
    assert lrs[warmup] == pytest.approx(base)                 # the peak
    assert np.all(np.diff(lrs[:warmup + 1]) > 0) and np.all(np.diff(lrs[warmup:total + 1]) < 0)
    middle = (warmup + total) // 2
    assert lrs[middle] == pytest.approx(low + (base - low) * (1 + math.cos(math.pi / 2)) / 2)
    np.testing.assert_allclose(lrs[total:], low)              # reaches min_lr and stays


def test_warmup_zero_steps_starts_at_base():
    opt = SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    lrs = lr_sequence(opt, WarmupCosineLR(opt, 0, 4), 5)[:, 0]
    np.testing.assert_allclose(lrs, [1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5,
                                     (1 + math.cos(3 * math.pi / 4)) / 2, 0.0], atol=1e-15)


def test_initial_lr_is_kept_and_resume(tmp_path):
    opt = SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = StepLR(opt, step_size=2, gamma=0.5)
    lr_sequence(opt, scheduler, 5)
    assert opt.param_groups[0]["initial_lr"] == 1.0 and opt.param_groups[0]["lr"] == 0.25
    mg.save({"opt": opt.state_dict(), "sched": scheduler.state_dict()}, tmp_path / "ckpt")
    expected = lr_sequence(opt, scheduler, 4)

    checkpoint = mg.load(tmp_path / "ckpt")
    opt2 = SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    scheduler2 = StepLR(opt2, step_size=2, gamma=0.5)   # make the scheduler, then load both
    opt2.load_state_dict(checkpoint["opt"])
    scheduler2.load_state_dict(checkpoint["sched"])
    np.testing.assert_array_equal(lr_sequence(opt2, scheduler2, 4), expected)


def test_lambda_state_dict_leaves_out_functions():
    opt = SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = LambdaLR(opt, lambda t: 0.5 ** t)
    scheduler.step()
    state = scheduler.state_dict()
    assert "lr_lambdas" not in state and "optimizer" not in state
    assert state["last_epoch"] == 1 and state["base_lrs"] == [1.0]


def test_bad_arguments():
    opt = SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(TypeError, match="Optimizer"):
        StepLR("not an optimizer", step_size=2)
    with pytest.raises(ValueError, match="step_size"):
        StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        CosineAnnealingLR(opt, T_max=2.5)
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosineLR(opt, warmup_steps=10, total_steps=10)
    with pytest.raises(ValueError, match="total_steps"):
        WarmupCosineLR(opt, warmup_steps=0, total_steps=0)
    with pytest.raises(ValueError, match="expected 1 lr_lambdas"):
        LambdaLR(opt, [lambda t: 1.0, lambda t: 2.0])
    fresh = SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(fresh, step_size=2, last_epoch=3)
