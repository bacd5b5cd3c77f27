"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay.

FORMULAS B4 (gradient descent and Adam). With g the gradient of parameter p, step t = 1, 2, ...::

    g   = g + wd · p                          weight decay (an L2 penalty ½·wd·‖p‖²)
    b_1 = g                                   momentum buffer, first step
    b_t = μ · b_{t-1} + (1 - τ) · g           later steps (τ: dampening)
    g   = g + μ · b_t   if nesterov  else  b_t
    p   = p - lr · g

With μ = 0 (the default) this is plain ``p = p - lr · g``. PyTorch's update, exactly.

>>> import numpy as np, minigrad as mg
>>> w = mg.tensor([1.0, 2.0], requires_grad=True)
>>> opt = SGD([w], lr=0.1)
>>> w.grad = np.array([1.0, -1.0], dtype=np.float32)
>>> opt.step(); w.data
array([0.9, 2.1], dtype=float32)
"""
from minigrad.device import array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)``."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check_options(self, group):
        for option in ("lr", "momentum", "weight_decay"):
            if not group[option] >= 0:
                raise ValueError(f"SGD: {option} must be >= 0, got {group[option]}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, param, group, state):
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        g = param.grad
        if wd != 0:
            g = g + wd * param.data                   # a new array: p.grad stays as it was
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:                            # an array even when p is 0-d
                buf = state["momentum_buffer"] = array_module(param.data).array(g)
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * g
            g = g + mu * buf if group["nesterov"] else buf
        param.data -= lr * g

