"""Modules that hold other modules: Sequential (a pipeline), ModuleList, ModuleDict.

Holding submodules in one of these (not in a plain list or dict) is what registers them:
their parameters then appear in ``parameters()`` and ``state_dict()``.
"""
from collections import OrderedDict

from minigrad.nn.module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _position(container, index):
    """``index`` (negative counts from the end) as the name of an entry: "0", "1", ..."""
    n = len(container)
    if not -n <= index < n:
        raise IndexError(f"{type(container).__name__}: index {index} is out of range for "
                         f"{n} modules")
    return list(container._modules)[index % n]


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: indexing (negative too, and slices), len, iter, append."""

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._sliced(list(self._modules.items())[index])
        return self._modules[_position(self, index)]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


class Sequential(_ModuleSequence):
    """Apply modules in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Entries are named "0", "1", ... or by the keys of an ``OrderedDict`` argument.

    >>> from minigrad.nn import Linear, ReLU
    >>> net = Sequential(Linear(2, 8), ReLU(), Linear(8, 1))
    >>> len(net), type(net[-1]).__name__, [name for name, _ in net.named_parameters()][:2]
    (3, 'Linear', ['0.weight', '0.bias'])
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            named = modules[0].items()
        else:
            named = ((str(i), module) for i, module in enumerate(modules))
        for name, module in named:
            self.add_module(name, module)

    def _sliced(self, items):
        return Sequential(OrderedDict(items))

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules, registered as "0", "1", ... (it has no forward: loop over it)."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def _sliced(self, items):
        return ModuleList([module for _, module in items])

    def __setitem__(self, index, module):
        self.add_module(_position(self, index), module)

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self


class ModuleDict(Module):
    """A dict of modules (insertion-ordered), registered under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        self.update(modules or {})

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no key {key!r}; keys: {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        """Add (key, module) pairs from a dict or an iterable of pairs."""
        for key, module in dict(modules).items():
            self.add_module(key, module)
