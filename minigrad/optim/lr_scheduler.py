"""Learning-rate schedules: the lr of each parameter group as a function of the step count.

FORMULAS B4 (gradient descent and Adam). With base lr η₀ (the group's lr when the scheduler
was made, kept in ``group['initial_lr']``) and t = ``last_epoch`` (0 at creation, +1 per
``step()``)::

    LambdaLR             η_t = η₀ · λ(t)
    StepLR               η_t = η₀ · γ^⌊t / step_size⌋
    CosineAnnealingLR    η_t = η_min + (η₀ - η_min) · (1 + cos(π t / T_max)) / 2
    WarmupCosineLR       η_t = η₀ · (t + 1) / (W + 1)                                 t ≤ W
                         η_t = η_min + (η₀ - η_min) · (1 + cos(π (t - W) / (T - W))) / 2   W ≤ t ≤ T
                         η_t = η_min                                                  t ≥ T

Use as in PyTorch: call ``scheduler.step()`` once per epoch (or per batch), after
``optimizer.step()``. Every schedule here is computed in closed form from t; PyTorch computes
StepLR and CosineAnnealingLR recursively from the current lr, which gives the same values
(up to rounding) unless something else changes the lr in between.

>>> import minigrad as mg
>>> from minigrad.optim import SGD
>>> opt = SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
>>> scheduler = StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(scheduler.get_last_lr()[0])
...     opt.step(); scheduler.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]
"""
import math

from minigrad.optim.optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "CosineAnnealingLR", "WarmupCosineLR"]


class LRScheduler:
    """Base class: sets every group's lr to ``get_lr()`` at t = ``last_epoch``.

    Creating a scheduler stores each group's lr as ``group['initial_lr']`` (once: a second
    scheduler on the same optimizer reuses it) and applies t = 0.
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr' "
                               f"to resume from at last_epoch={last_epoch}; load the "
                               "optimizer's state_dict first, or start at last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self):
        """The lr of each group at t = ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def step(self):
        """Advance t by one and set each group's lr."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The lrs set by the last ``step()`` (one per parameter group)."""
        return list(self._last_lr)

    def state_dict(self):
        """Everything but the optimizer (and LambdaLR's functions, which cannot be saved)."""
        return {key: value for key, value in vars(self).items()
                if key not in ("optimizer", "lr_lambdas")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


def _positive_int(scheduler, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{scheduler}: {name} must be a positive int, got {value!r}")


class LambdaLR(LRScheduler):
    """``η_t = η₀ · lr_lambda(t)``; ``lr_lambda`` is a function, or a list of one per group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        n = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(lambdas) != n:
            raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per parameter group), "
                             f"got {len(lambdas)}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]


class StepLR(LRScheduler):
    """``η_t = η₀ · gamma^⌊t / step_size⌋``: multiply the lr by gamma every step_size steps."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _positive_int("StepLR", "step_size", step_size)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """``η_t = η_min + (η₀ - η_min) · (1 + cos(π t / T_max)) / 2``: half a cosine from η₀ at
    t = 0 down to ``eta_min`` at t = T_max (and, like PyTorch, back up after T_max)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _positive_int("CosineAnnealingLR", "T_max", T_max)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


class WarmupCosineLR(LRScheduler):
    """Linear warm-up, then cosine decay: the usual schedule for training Transformers.

    The lr rises linearly, ``η₀ · (t + 1) / (warmup_steps + 1)``, to η₀ at
    t = ``warmup_steps``, falls along half a cosine to ``min_lr`` at t = ``total_steps``,
    and stays at ``min_lr`` after.

    >>> import minigrad as mg
    >>> from minigrad.optim import SGD
    >>> opt = SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = WarmupCosineLR(opt, warmup_steps=3, total_steps=5, min_lr=0.0)
    >>> lrs = [scheduler.get_last_lr()[0]]
    >>> for _ in range(6):
    ...     opt.step(); scheduler.step(); lrs.append(scheduler.get_last_lr()[0])
    >>> [round(lr, 4) for lr in lrs]
    [0.25, 0.5, 0.75, 1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, optimizer, warmup_steps, total_steps, min_lr=0.0, last_epoch=-1):
        _positive_int("WarmupCosineLR", "total_steps", total_steps)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) \
                or not 0 <= warmup_steps < total_steps:
            raise ValueError(f"WarmupCosineLR: warmup_steps must be an int in "
                             f"[0, total_steps={total_steps}), got {warmup_steps!r}")
        self.warmup_steps, self.total_steps, self.min_lr = warmup_steps, total_steps, min_lr
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, warmup, total = self.last_epoch, self.warmup_steps, self.total_steps
        if t < warmup:
            return [base * (t + 1) / (warmup + 1) for base in self.base_lrs]
        progress = min(t - warmup, total - warmup) / (total - warmup)   # 0 → 1, then stays 1
        cosine = (1 + math.cos(math.pi * progress)) / 2
        return [self.min_lr + (base - self.min_lr) * cosine for base in self.base_lrs]
