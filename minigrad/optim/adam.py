"""Adam and AdamW: gradient descent with running averages of the gradient and its square.

FORMULAS B4 (gradient descent and Adam). With g the gradient of parameter p, step t = 1, 2, ...,
m_0 = v_0 = 0::

    g   = g + wd · p                     Adam: weight decay as an L2 penalty in the gradient
    p   = p · (1 - lr · wd)              AdamW: decoupled weight decay, applied to p first
    m_t = β1 · m_{t-1} + (1 - β1) · g          first moment (running mean of g)
    v_t = β2 · v_{t-1} + (1 - β2) · g²         second moment (running mean of g²)
    v̂_t = max(v̂_{t-1}, v_t)  if amsgrad  else  v_t
    p   = p - lr / (1 - β1^t) · m_t / (√v̂_t / √(1 - β2^t) + ε)

Dividing by 1 - β^t undoes the pull of m_0 = v_0 = 0 towards zero in the first steps
(bias correction). PyTorch's update, exactly (``torch.optim.Adam`` / ``AdamW``).

>>> import numpy as np, minigrad as mg
>>> w = mg.tensor([1.0, 1.0], requires_grad=True)
>>> opt = Adam([w], lr=0.1)
>>> w.grad = np.array([2.0, -0.5], dtype=np.float32)
>>> opt.step(); w.data.round(6)     # the first step moves each weight by lr against sign(g)
array([0.9, 1.1], dtype=float32)
"""
from minigrad import kernels
from minigrad.device import array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)``.

    ``decoupled_weight_decay=True`` makes it AdamW (as in PyTorch).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_options(self, group):
        name = type(self).__name__
        for option in ("lr", "eps", "weight_decay"):
            if not group[option] >= 0:
                raise ValueError(f"{name}: {option} must be >= 0, got {group[option]}")
        if len(group["betas"]) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {group['betas']}")
        for i, beta in enumerate(group["betas"]):
            if not 0 <= beta < 1:
                raise ValueError(f"{name}: betas[{i}] must be in [0, 1), got {beta}")

    def _update_group(self, group, params):
        """All of ``params`` in one kernel call: the moments of a parameter are created
        (zeros) on its first step, and each parameter counts its own steps."""
        if not params:
            return
        states = []
        for p in params:
            state = self.state.setdefault(p, {})
            if not state:
                xp = array_module(p.data)
                state["step"] = 0
                state["exp_avg"] = xp.zeros_like(p.data)                  # m
                state["exp_avg_sq"] = xp.zeros_like(p.data)               # v
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = xp.zeros_like(p.data)       # v̂ = max of v
            state["step"] += 1
            states.append(state)
        kernels.adam_update([p.data for p in params], [p.grad for p in params],
                            [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
                            [s.get("max_exp_avg_sq") for s in states],
                            [s["step"] for s in states], group["lr"], *group["betas"],
                            group["eps"], group["weight_decay"],
                            group["decoupled_weight_decay"])   # the formulas: reference.adam_update


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)``:
    Adam with decoupled weight decay, ``p = p · (1 - lr · wd)`` before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad,
                         decoupled_weight_decay=True)
