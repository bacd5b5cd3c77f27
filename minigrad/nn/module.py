"""``Module``: the base class of every layer and model, as ``torch.nn.Module``.

A module keeps three ordered tables, filled by plain attribute assignment::

    self.weight = Parameter(...)     -> _parameters   trained, in state_dict
    self.register_buffer("pe", t)    -> _buffers      not trained, in state_dict
    self.proj = Linear(...)          -> _modules      submodules, searched recursively

Everything else (``parameters()``, ``state_dict()``, ``train()``, ``to()``, ...) walks these
tables. Names of nested entries are dotted paths: ``"blocks.0.attn.weight"``.
"""
import difflib
from collections import OrderedDict, namedtuple

import numpy as np

from minigrad.device import to_device
from minigrad.errors import StateDictError
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = ["Module", "IncompatibleKeys"]

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

_TABLES = ("_parameters", "_buffers", "_modules")


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


class Module:
    """Base class of layers and models: subclass it, assign parts in ``__init__``, write ``forward``.

    >>> import minigrad as mg
    >>> class Affine(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = Parameter(mg.ones(3))
    ...     def forward(self, x):
    ...         return x * self.scale
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()], m(mg.ones(3)).shape
    (['scale'], (3,))
    """

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())

    # ---- registration ---------------------------------------------------------------------
    def _register(self, table, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() ran: call "
                                 f"super().__init__() first in {type(self).__name__}.__init__")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{type(self).__name__}: a part's name must be a non-empty str "
                           f"without '.', got {name!r}")
        self.__dict__.pop(name, None)
        for other in _TABLES:
            if other != table:
                self.__dict__[other].pop(name, None)
        self._non_persistent.discard(name)
        self.__dict__[table][name] = value      # a replaced entry keeps its place

    def register_parameter(self, name, param):
        """Add a Parameter (or None: a declared but absent one, like ``bias=False``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}.{name}: expected a Parameter or None, got "
                            f"{type(param).__name__} (wrap it: nn.Parameter(t))")
        self._register("_parameters", name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Add a tensor that is state but not trained (a positional table, a running mean).

        Buffers move with ``to()``/``astype()``; persistent ones are saved in ``state_dict``.
        """
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{type(self).__name__}.register_buffer({name!r}): expected a "
                            f"Tensor or None, got {type(tensor).__name__}")
        self._register("_buffers", name, tensor)
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Add a submodule (or None) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.{name}: expected a Module or None, got "
                            f"{type(module).__name__}")
        self._register("_modules", name, module)

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self.add_module(name, value)
        elif name in self.__dict__.get("_parameters", ()):
            self.register_parameter(name, value)
        elif name in self.__dict__.get("_buffers", ()):
            self.register_buffer(name, value, persistent=name not in self._non_persistent)
        elif name in self.__dict__.get("_modules", ()):
            self.add_module(name, value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        """Called only when normal lookup fails: look in the tables, else a clear AttributeError."""
        attributes = self.__dict__
        for table in _TABLES:
            if name in attributes.get(table, ()):
                return attributes[table][name]
        known = [*attributes, *(key for table in _TABLES for key in attributes.get(table, ()))]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'{hint}")

    def __delattr__(self, name):
        for table in _TABLES:
            if name in self.__dict__.get(table, {}):
                del self.__dict__[table][name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    # ---- calling ----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define "
                                  "forward(self, ...) in the subclass")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- walking the tree -------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module ("") and every submodule, depth first."""
        if remove_duplicate:
            memo = set() if memo is None else memo
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, _join(prefix, name), remove_duplicate)

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_children(self):
        """(name, module) of the direct submodules, each once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        return (module for _, module in self.named_children())

    def _named_members(self, table, prefix, recurse):
        """(dotted name, tensor) from ``table`` of every module; a shared tensor comes once."""
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, t in module.__dict__[table].items():
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    yield _join(module_prefix, name), t

    def named_parameters(self, prefix="", recurse=True):
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def num_parameters(self):
        """How many numbers training adjusts (a parameter shared by two modules counts once)."""
        return sum(p.numel() for p in self.parameters())

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule, then on this one (for custom init)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- saving and loading -----------------------------------------------------------------
    def _state_tensors(self):
        """(dotted name, tensor) of every parameter and persistent buffer, as torch lists them:
        a module's own entries before its children's; a shared tensor under each of its names."""
        for prefix, module in self.named_modules(remove_duplicate=False):
            for name, t in [*module._parameters.items(), *module._buffers.items()]:
                if t is not None and name not in module._non_persistent:
                    yield _join(prefix, name), t

    def state_dict(self):
        """An ``OrderedDict`` of dotted name -> a NumPy copy of each parameter and buffer."""
        return OrderedDict((name, np.array(t.numpy())) for name, t in self._state_tensors())

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into this module's tensors in place (the Parameter objects stay the same).

        Shapes must match exactly; values are cast to each tensor's dtype. With ``strict=True``
        the keys must match too. Nothing is written unless every check passes. Raises
        ``StateDictError`` listing every problem; returns ``(missing_keys, unexpected_keys)``.
        """
        own = dict(self._state_tensors())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        mismatched = [f"{name}: expected shape {own[name].shape}, got {np.shape(value)}"
                      for name, value in state_dict.items()
                      if name in own and tuple(np.shape(value)) != own[name].shape]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        if mismatched:
            problems.append(f"shape mismatches: {'; '.join(mismatched)}")
        if problems:
            raise StateDictError(f"load_state_dict for {type(self).__name__}:"
                                 + "".join(f"\n  {problem}" for problem in problems))
        for name, t in own.items():
            if name in state_dict:
                value = state_dict[name]
                t.data[...] = to_device(value.data if isinstance(value, Tensor) else value,
                                        t.device)
        return IncompatibleKeys(missing, unexpected)

    # ---- modes, gradients, devices ----------------------------------------------------------
    def train(self, mode=True):
        """Set ``training`` on this module and every submodule (Dropout reads it)."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        """``train(False)``: Dropout becomes the identity."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget the accumulated gradients: ``grad = None`` (or zeros with set_to_none=False)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    def _convert(self, fn):
        """Replace the data (and grad) of every parameter and buffer by ``fn(array)``, in place."""
        for t in [*self.parameters(), *self.buffers()]:
            t.data = fn(t.data)
            if t.grad is not None:
                t.grad = fn(t.grad)
        return self

    def to(self, device):
        """Move every parameter and buffer to ``device`` ('cpu' or 'cuda'); returns self."""
        return self._convert(lambda a: to_device(a, device))

    def astype(self, dtype):
        """Cast every floating-point parameter and buffer to ``dtype``; returns self."""
        return self._convert(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    # ---- printing ---------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses, e.g. ``in_features=3, out_features=4``."""
        return ""

    def _tree_repr(self):
        extra = self.extra_repr()
        children = [f"({name}): {module._tree_repr()}"
                    for name, module in self._modules.items() if module is not None]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        body = "\n".join("  " + line.replace("\n", "\n  ") for line in lines)
        return f"{type(self).__name__}(\n{body}\n)"

    def __repr__(self):
        """torch's nested layout, with the parameter count of the whole tree at the end."""
        return f"{self._tree_repr()}  # {self.num_parameters():,} parameters"
