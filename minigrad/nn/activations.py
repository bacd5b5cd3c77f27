"""Activation functions as modules, for use inside ``Sequential``. No parameters."""
from minigrad.nn import functional as F
from minigrad.nn.module import Module

__all__ = ["ReLU", "GELU", "Tanh", "Sigmoid"]


class ReLU(Module):
    """y = max(0, x) (FORMULAS C5)."""

    def forward(self, x):
        return F.relu(x)


class GELU(Module):
    """y = x Φ(x); ``approximate='tanh'`` for GPT-2's tanh form (FORMULAS C5)."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Tanh(Module):
    """y = tanh x."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """y = σ(x) = 1 / (1 + e⁻ˣ)."""

    def forward(self, x):
        return F.sigmoid(x)
