"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``step``, state dicts.

An optimizer holds ``param_groups``, a list of dicts, each with ``'params'`` (a list of
Tensors) and that group's hyper-parameters (``'lr'``, ...). Options missing from a group are
filled from ``defaults``, so one model can train its biases with another lr::

    opt = SGD([{"params": weights}, {"params": biases, "lr": 0.01}], lr=0.1, momentum=0.9)

``state[p]`` is a dict per parameter (a momentum buffer, Adam's moments and step count),
created on the first ``step()`` that finds ``p.grad``. A subclass implements one method,
``_update(param, group, state)``: the update of one parameter, in place on ``param.data``; or
``_update_group(group, params)`` to update a group's parameters together (Adam's multi-tensor
kernel pays its call cost once per group, not once per parameter).

``state_dict()`` names parameters by their position across all groups (0, 1, 2, ...), so a
checkpoint can be loaded into a fresh optimizer built over the same parameters in the same
order, exactly as in PyTorch.
"""
import copy

import numpy as np

from minigrad.autograd import enable_grad
from minigrad.device import to_device
from minigrad.errors import StateDictError
from minigrad.tensor import Tensor

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of every optimizer (``SGD``, ``Adam``, ``AdamW``).

    Args:
        params: an iterable of Tensors, or of dicts ``{"params": [...], option: value}``
            (one parameter group each).
        defaults: the hyper-parameters of a group that does not set them.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}          # param Tensor -> {name: array or number}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors "
                            "or of dicts, got a single Tensor; wrap it in a list")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            options = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} params, {options}")
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group):
        """Append a group (a dict with ``'params'``); missing options come from ``defaults``."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict with 'params', "
                            f"got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' key")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be in an ordered collection (a list), "
                            "not a set: their order names them in state_dict()")
        params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} of a group is a {type(p).__name__}, "
                                "expected a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} of a group is not a leaf tensor "
                                 f"(it was made by {p.grad_fn.__name__}); optimize leaves only")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError(f"{name}: a parameter appears twice (within a group or in "
                             "more than one group)")
        group = {**self.defaults, **param_group, "params": params}
        self._check_options(group)
        self.param_groups.append(group)

    def _check_options(self, group):
        """Raise ValueError naming the first hyper-parameter of ``group`` out of range."""

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``p.grad = None`` (default), or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()``'s loss, if given.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs first,
        with gradient recording on.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group, [p for p in group["params"] if p.grad is not None])
        return loss

    def _update_group(self, group, params):
        """Update each of ``params`` (those of ``group`` that have a gradient)."""
        for p in params:
            self._update(p, group, self.state.setdefault(p, {}))

    def _update(self, param, group, state):
        """Update ``param.data`` in place from ``param.grad``, ``group``'s options, ``state``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update()")

    # ---- checkpoints ----------------------------------------------------------------------
    def state_dict(self):
        """A snapshot: ``{'state': {index: {name: value}}, 'param_groups': [{..., 'params':
        [index, ...]}]}``, parameters named by position across groups; arrays are copies."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**copy.deepcopy({k: v for k, v in group.items() if k != "params"}),
                           "params": ids})
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items() if s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a ``state_dict()`` taken from an optimizer over parameters of the same
        shapes, in the same groups and order. Arrays are copied to each parameter's dtype
        and device; the groups' hyper-parameters are replaced by the saved ones (options the
        checkpoint lacks keep this optimizer's defaults)."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            got = list(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise StateDictError(f"{name}.load_state_dict: expected a dict with keys 'state' "
                                 f"and 'param_groups', got {got}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter groups, this optimizer has {len(self.param_groups)}")
        params = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: group {i} holds "
                                 f"{len(saved['params'])} parameters in the state dict, "
                                 f"{len(group['params'])} in this optimizer")
            params.update(zip(saved["params"], group["params"]))
        state = {}
        for key, saved in state_dict["state"].items():
            if key not in params:
                raise StateDictError(f"{name}.load_state_dict: state for parameter {key!r}, "
                                     "which no parameter group lists")
            p = params[key]
            state[p] = {k: self._restore(v, p, f"state[{key!r}][{k!r}]")
                        for k, v in saved.items()}
        self.state = state
        self.param_groups = [{**self.defaults,     # options newer than the checkpoint
                              **copy.deepcopy({k: v for k, v in saved.items() if k != "params"}),
                              "params": group["params"]}
                             for saved, group in zip(saved_groups, self.param_groups)]

    def _restore(self, value, param, where):
        """A copy of one saved state value: arrays take ``param``'s dtype and device."""
        if isinstance(value, Tensor):
            value = value.data
        if not hasattr(value, "shape") or isinstance(value, np.generic):
            return copy.deepcopy(value)        # a number: the step count
        if value.shape != param.shape:
            raise StateDictError(f"{type(self).__name__}.load_state_dict: {where} has shape "
                                 f"{value.shape}, its parameter has shape {param.shape}")
        return to_device(value.astype(param.dtype, copy=True), param.device)
