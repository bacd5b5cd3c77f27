"""Optimizers and learning-rate schedules, named and behaving as in ``torch.optim``.

    opt = mg.optim.Adam(model.parameters(), lr=3e-4)
    scheduler = mg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    for batch in loader:
        opt.zero_grad()
        loss_fn(model, batch).backward()
        opt.step()
        scheduler.step()

optimizer (Optimizer: groups, state, checkpoints) · sgd (SGD) · adam (Adam, AdamW) ·
lr_scheduler (LambdaLR, StepLR, CosineAnnealingLR, WarmupCosineLR).
"""
from minigrad.optim import lr_scheduler
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
