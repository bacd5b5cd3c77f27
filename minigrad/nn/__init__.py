"""Neural-network building blocks, as ``torch.nn``: Module and Parameter, layers, containers,
activations, and the submodules ``functional`` (as F), ``init`` and ``utils``.

    import minigrad.nn as nn
    import minigrad.nn.functional as F

    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    loss = F.cross_entropy(model(x), y)      # x (N, 4), y (N,) class indices
"""
from minigrad.nn import functional, init, utils
from minigrad.nn.activations import GELU, ReLU, Sigmoid, Tanh
from minigrad.nn.containers import ModuleDict, ModuleList, Sequential
from minigrad.nn.layers import Dropout, Embedding, LayerNorm, Linear
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter

__all__ = ["Module", "Parameter", "Linear", "Embedding", "LayerNorm", "Dropout", "Sequential",
           "ModuleList", "ModuleDict", "ReLU", "GELU", "Tanh", "Sigmoid",
           "functional", "init", "utils"]
