"""Optimizers: PyTorch as the oracle for every update rule, a hand-written Adam without it,
parameter groups, argument checks, and state_dict round trips through mg.save/mg.load."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import StateDictError
from minigrad.optim import SGD, Adam, AdamW

SHAPES = [(3, 4), (4,), ()]
STEPS = 5

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, amsgrad=True)),
    ("AdamW", dict(lr=0.02, betas=(0.5, 0.9), weight_decay=0.0)),
]
OPTIMIZERS = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="torch is the oracle for optimizer updates "
                                               "(pip install torch)")


def problem(rng):
    """Float64 starting parameters, and STEPS rounds of gradients with varying scales (so
    amsgrad's max matters); parameter 1 gets no gradient (None) at step 2."""
    params = [rng.standard_normal(shape) for shape in SHAPES]
    scales = [3.0, 0.1, 1.0, 0.01, 2.0]
    grads = [[np.asarray(rng.standard_normal(shape) * scales[t]) for shape in SHAPES]
             for t in range(STEPS)]
    grads[2][1] = None
    return params, grads


def run_minigrad(name, options, params, grads):
    tensors = [mg.tensor(p, requires_grad=True) for p in params]
    opt = OPTIMIZERS[name](tensors, **options)
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = None if g is None else g.copy()
        opt.step()
    return [t.data for t in tensors]


def run_torch(torch, name, options, params, grads):
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    opt = getattr(torch.optim, name)(tensors, **options)
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = None if g is None else torch.tensor(g)
        opt.step()
    return [t.detach().numpy() for t in tensors]


@pytest.mark.torch
@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_matches_torch(torch, rng, name, options):
    params, grads = problem(rng)
    ours = run_minigrad(name, options, params, grads)
    theirs = run_torch(torch, name, options, params, grads)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"parameter {i}")
        assert not np.allclose(a, params[i]), "the parameters did not move"


@pytest.mark.torch
def test_param_groups_match_torch(torch, rng):
    params, grads = problem(rng)

    def groups(tensors):
        return [{"params": tensors[:1]}, {"params": tensors[1:], "lr": 0.001, "betas": (0.5, 0.6)}]

    ours = [mg.tensor(p, requires_grad=True) for p in params]
    theirs = [torch.tensor(p, requires_grad=True) for p in params]
    opt_ours, opt_theirs = Adam(groups(ours), lr=0.05), torch.optim.Adam(groups(theirs), lr=0.05)
    for step_grads in grads:
        for a, b, g in zip(ours, theirs, step_grads):
            a.grad, b.grad = (None, None) if g is None else (g.copy(), torch.tensor(g))
        opt_ours.step()
        opt_theirs.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_adam_by_hand():
    """Two Adam steps with L2 weight decay, written out element by element (no torch)."""
    lr, b1, b2, eps, wd = 0.1, 0.9, 0.999, 1e-8, 0.01
    p0 = [1.0, -2.0, 0.5]
    g_steps = [[0.5, 3.0, -1.0], [-0.2, 1.0, 0.0]]
    expected = []
    for p, g1, g2 in zip(p0, *g_steps):
        m = v = 0.0
        for t, g in ((1, g1), (2, g2)):
            g = g + wd * p
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
            p = p - lr * m_hat / (math.sqrt(v_hat) + eps)
        expected.append(p)

    w = mg.tensor(np.array(p0), requires_grad=True)
    opt = Adam([w], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    for g in g_steps:
        w.grad = np.array(g)
        opt.step()
    np.testing.assert_allclose(w.data, expected, rtol=1e-13)
    assert opt.state[w]["step"] == 2


def test_sgd_momentum_by_hand():
    w = mg.tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([w], lr=0.5, momentum=0.9, dampening=0.5)
    for g in (2.0, 2.0):
        w.grad = np.array([g])
        opt.step()
    # step 1: buf = 2, p = 1 - 1 = 0; step 2: buf = 0.9·2 + 0.5·2 = 2.8, p = 0 - 1.4
    np.testing.assert_allclose(w.data, [-1.4], rtol=1e-15)


@pytest.mark.parametrize("name,options", [c for c in CASES if c[1].get("weight_decay")][:4])
def test_float32_stays_float32_and_grad_untouched(rng, name, options):
    w = mg.tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    grad = rng.standard_normal((5, 3)).astype(np.float32)
    w.grad = grad.copy()
    opt = OPTIMIZERS[name]([w], **options)
    for _ in range(3):
        opt.step()
    assert w.data.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[w].values() if hasattr(v, "dtype"))
    np.testing.assert_array_equal(w.grad, grad)


def test_zero_grad():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)
    w.grad = np.ones(2, np.float32)
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and not grad.any()
    opt.zero_grad()
    assert w.grad is None
    opt.step()                              # no gradient: nothing moves, no state
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert opt.state == {}


@pytest.mark.parametrize("make,argument", [
    (lambda p: SGD(p, lr=-0.1), "lr"),
    (lambda p: SGD(p, momentum=-1), "momentum"),
    (lambda p: SGD(p, weight_decay=-1), "weight_decay"),
    (lambda p: SGD(p, nesterov=True), "nesterov"),
    (lambda p: SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    (lambda p: Adam(p, lr=-1e-3), "lr"),
    (lambda p: Adam(p, eps=-1.0), "eps"),
    (lambda p: Adam(p, betas=(1.0, 0.9)), "betas[0]"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), "betas[1]"),
    (lambda p: AdamW(p, weight_decay=-0.1), "weight_decay"),
    (lambda p: SGD([{"params": p, "lr": float("nan")}]), "lr"),
])
def test_bad_hyperparameters(make, argument):
    with pytest.raises(ValueError, match=argument.replace("[", r"\[")):
        make([mg.zeros(2, requires_grad=True)])


def test_bad_params():
    w = mg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty"):
        SGD([])
    with pytest.raises(TypeError, match="single Tensor"):
        SGD(w)
    with pytest.raises(TypeError, match="ordered"):
        SGD([{"params": {w}}])
    with pytest.raises(TypeError, match="expected a Tensor"):
        SGD([w, np.zeros(2)])
    with pytest.raises(ValueError, match="twice"):
        SGD([w, w])
    with pytest.raises(ValueError, match="leaf"):
        SGD([w * 2])
    opt = SGD([w])
    with pytest.raises(ValueError, match="twice"):
        opt.add_param_group({"params": [w]})


def test_add_param_group_fills_defaults():
    a, b = mg.zeros(2, requires_grad=True), mg.zeros(3, requires_grad=True)
    opt = SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1] == {"params": [b], "lr": 0.01, "momentum": 0.9, "dampening": 0,
                                   "weight_decay": 0, "nesterov": False}


def train(opt, params, grads):
    for step_grads in grads:
        for t, g in zip(params, step_grads):
            t.grad = None if g is None else g.copy()
        opt.step()


@pytest.mark.parametrize("name,options", [CASES[5], CASES[10], CASES[12]])
def test_state_dict_round_trip_resumes_exactly(rng, tmp_path, name, options):
    start, grads = problem(rng)
    make = OPTIMIZERS[name]
    straight = [mg.tensor(p, requires_grad=True) for p in start]
    train(make(straight, **options), straight, grads)

    first = [mg.tensor(p, requires_grad=True) for p in start]
    opt = make(first, **options)
    train(opt, first, grads[:3])
    mg.save({"optimizer": opt.state_dict(), "params": [t.data for t in first]}, tmp_path / "c")

    checkpoint = mg.load(tmp_path / "c")
    resumed = [mg.tensor(p, requires_grad=True) for p in checkpoint["params"]]
    opt2 = make(resumed, lr=123.0)                   # hyper-parameters come from the checkpoint
    opt2.load_state_dict(checkpoint["optimizer"])
    assert opt2.param_groups[0]["lr"] == options["lr"]
    train(opt2, resumed, grads[3:])
    for a, b in zip(resumed, straight):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_is_a_snapshot_with_indices():
    a, b = mg.zeros(2, requires_grad=True), mg.zeros(3, requires_grad=True)
    opt = Adam([{"params": [a]}, {"params": [b], "lr": 0.5}])
    a.grad = np.ones(2, np.float32)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert list(sd["state"]) == [0] and sd["state"][0]["step"] == 1     # b never had a grad
    before = sd["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)


def test_load_state_dict_checks():
    a, b = mg.zeros(2, requires_grad=True), mg.zeros(3, requires_grad=True)
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = np.ones(2, np.float32), np.ones(3, np.float32)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="1 parameter groups, this optimizer has 2"):
        SGD([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 holds 2 parameters"):
        SGD([a]).load_state_dict(sd)
    with pytest.raises(StateDictError, match="'param_groups'"):
        SGD([a, b]).load_state_dict({"state": {}})
    with pytest.raises(StateDictError, match=r"shape \(2,\), its parameter has shape \(3,\)"):
        SGD([b, a]).load_state_dict(sd)
