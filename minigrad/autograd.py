"""The autograd engine: ``Function`` (how every op is defined), grad modes, and ``backward()``.

An op is a subclass of ``Function`` with two static methods working on plain arrays::

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):              # arrays in, array out
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):             # dL/dout in, one dL/dinput per forward argument
            a, b = ctx.saved_tensors
            return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)

    y = Mul.apply(x, w)                      # Tensors in, Tensor out, graph recorded

``apply`` unwraps tensors to arrays, runs ``forward``, and (when grad is enabled and an input
requires grad) records the op in the output's graph. ``Tensor.backward()`` then visits the graph
in reverse topological order, without recursion, calling each ``backward`` once with the sum of
the gradients that flowed into that node.

Rules for ``backward``: return one gradient per positional argument of ``forward`` (``None`` for
non-tensor arguments and inputs that need no gradient), each with its input's shape; never
modify ``grad`` in place (other nodes may share it).
"""
import contextlib
import copy
import os
import threading
import traceback

import numpy as np

from minigrad import registry
from minigrad.errors import AnomalyError, BackwardError, DTypeError, ShapeError
from minigrad.tensor import Tensor, array_of

__all__ = ["Function", "Context", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "detect_anomaly", "backward"]


class _Mode(threading.local):
    grad_enabled = True
    anomaly = False


_mode = _Mode()


def is_grad_enabled():
    return _mode.grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Set the grad mode for a ``with`` block or a decorated function, then restore it."""

    mode = True

    def __enter__(self):
        self.prev = _mode.grad_enabled
        _mode.grad_enabled = self.mode

    def __exit__(self, *exc):
        _mode.grad_enabled = self.prev

    def _recreate_cm(self):
        # a fresh copy for each call of a decorated function: a recursive (or concurrent) call
        # must not overwrite the mode that an outer call will restore
        return copy.copy(self)


class no_grad(_GradMode):
    """``with mg.no_grad():`` ops record no graph: for evaluation and parameter updates.

    Also a decorator, with or without parentheses (``@mg.no_grad()`` or ``@mg.no_grad``).
    """

    mode = False

    def __new__(cls, func=None):
        if func is None:
            return super().__new__(cls)
        return cls()(func)          # used as @mg.no_grad, without parentheses

    def __init__(self, func=None):
        pass


class enable_grad(_GradMode):
    """``with mg.enable_grad():`` record the graph again, inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """``mg.set_grad_enabled(False)`` switches graph recording off at once, as in PyTorch.

    Used as ``with mg.set_grad_enabled(mode):`` (or as a decorator) it sets ``mode`` only
    inside the block and restores the previous mode afterwards.
    """

    def __init__(self, mode):
        self.mode = bool(mode)
        self.prev = _mode.grad_enabled
        _mode.grad_enabled = self.mode          # takes effect now: a plain call works too

    def __enter__(self):
        pass                                    # already switched in __init__

    def __call__(self, func):                   # as a decorator: switch only while func runs
        _mode.grad_enabled = self.prev
        return super().__call__(func)

    def _recreate_cm(self):
        return type(self)(self.mode)


class detect_anomaly(contextlib.ContextDecorator):
    """Raise ``AnomalyError`` at the first op whose forward or backward produces NaN or Inf.

    The error names the op and the line of your code that created it. Slow (it checks every
    array), so use it to hunt a NaN, not for training. Infinities that come from the inputs
    (``masked_fill(mask, -inf)``, say) are allowed in the forward pass; NaN never is.
    """

    def __enter__(self):
        self.prev = _mode.anomaly
        _mode.anomaly = True

    def __exit__(self, *exc):
        _mode.anomaly = self.prev

    def _recreate_cm(self):
        return copy.copy(self)                  # one per call, as for no_grad


class Context:
    """What ``forward`` leaves for ``backward``: saved arrays and any attributes you set."""

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved_tensors(self):
        saved = self.__dict__.get("_saved")
        if saved is None:
            raise BackwardError("saved_tensors: nothing was saved (call ctx.save_for_backward "
                                "in forward), or the graph was freed by an earlier backward()")
        return saved


class Function:
    """Base class of every op. See the module docstring for how to write one."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("minigrad."):
            registry.register(cls)

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function must define forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("a Function must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the op on tensors (and plain values); record it when a gradient is needed."""
        for used in registry._tracers:
            used.record(cls, args, kwargs)
        arrays, needs, parents = [], [], []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                needs.append(a.requires_grad)
                parents.append(a)
            else:
                arrays.append(a)
                needs.append(False)
                parents.append(None)
        ctx = Context()
        ctx.needs_input_grad = tuple(needs)
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except ValueError as err:
            shapes = ", ".join(str(getattr(a, "shape", type(a).__name__)) for a in arrays)
            raise ShapeError(f"{cls.__name__}: {str(err).strip()} (input shapes: {shapes})") from None
        if isinstance(out, (np.generic, float, int, bool)):
            out = np.asarray(out)
        result = Tensor(out)
        if _mode.anomaly:
            _check_forward(cls, out, args, kwargs)
        if _mode.grad_enabled and True in needs:
            if out.dtype.kind not in "fc":
                raise DTypeError(f"{cls.__name__}: gradients need floating-point tensors, "
                                 f"but this op returns dtype {out.dtype}")
            result.requires_grad = True
            result._op = cls
            result._ctx = ctx
            result._parents = tuple(parents)
            if _mode.anomaly:
                ctx._created_at = _user_frame()
        return result


def _user_frame():
    """'file:line in function' of the innermost caller outside minigrad."""
    package = os.path.dirname(os.path.abspath(__file__))
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(package):
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "<inside minigrad>"


def _finite(array):
    return not np.issubdtype(array.dtype, np.inexact) or bool(np.isfinite(array).all())


def _check_forward(cls, out, args, kwargs):
    if _finite(out):
        return
    if bool(np.isnan(out).any()):
        problem = "NaN"
    else:
        inputs = [array_of(a) for a in (*args, *kwargs.values())
                  if isinstance(a, (Tensor, float)) or hasattr(a, "dtype")]   # CuPy's too
        if any(a.dtype.kind in "fc" and bool(np.isinf(a).any()) for a in inputs):
            return  # the infinity came in through an input: a mask value, say
        problem = "Inf"
    raise AnomalyError(f"{cls.__name__}.forward produced {problem} "
                       f"(called from {_user_frame()})")


def graph_order(root, leaves=False):
    """The tensors ``root`` was computed from, each after all of its inputs, ``root`` last.

    Only tensors made by an op, unless ``leaves=True``. An iterative depth-first search, so a
    graph 100,000 ops deep needs no recursion; ``backward()`` walks this list in reverse.
    """
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in reversed(node._parents):
            if parent is not None and id(parent) not in visited and (leaves or parent._op is not None):
                stack.append((parent, False))
    return order


def _accumulate(tensor, grad):
    if tensor.grad is None:
        tensor.grad = grad.copy()  # a copy: grad may be shared with other nodes, or read-only
    else:
        tensor.grad += grad


def seed_gradient(root, grad, caller="backward()"):
    """dL/d(root) to start a backward pass from: ``grad``, checked, or 1 for a single element."""
    if not root.requires_grad:
        raise BackwardError(f"{caller}: this tensor does not require grad and has no graph; "
                            "create the inputs with requires_grad=True")
    if grad is None:
        if root.data.size != 1:
            raise BackwardError(f"{caller}: the output has shape {root.shape}; a gradient can "
                                "be created implicitly only for a single-element output, so "
                                "pass grad= of the same shape")
        return np.ones_like(root.data)
    grad = grad.data if isinstance(grad, Tensor) else grad
    if grad.shape != root.data.shape:
        raise ShapeError(f"{caller}: grad has shape {grad.shape}, output has {root.shape}")
    return grad.astype(root.data.dtype, copy=False)


def backward(root, grad=None, retain_graph=False):
    """Fill ``.grad`` of every leaf that ``root`` depends on (see ``Tensor.backward``)."""
    grad = seed_gradient(root, grad)
    if root._op is None:
        _accumulate(root, grad)
        return
    pending = {id(root): grad}
    for node in reversed(graph_order(root)):
        g = pending.pop(id(node), None)
        if g is None:
            continue
        if node._retains_grad:
            _accumulate(node, g)
        ctx = node._ctx
        if ctx is None:
            raise BackwardError(f"backward(): trying to backward through the graph a second "
                                f"time; the saved values of {node._op.__name__} were freed by "
                                "the first call. Pass retain_graph=True to the first backward() "
                                "if you need to call it twice")
        input_grads = node._op.backward(ctx, g)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(node._parents):
            raise BackwardError(f"{node._op.__name__}.backward returned {len(input_grads)} "
                                f"gradients; forward took {len(node._parents)} arguments")
        if _mode.anomaly:
            for i, ig in enumerate(input_grads):
                if ig is not None and not _finite(ig):
                    raise AnomalyError(f"{node._op.__name__}.backward produced NaN/Inf in the "
                                       f"gradient of input {i} (op created at "
                                       f"{ctx.__dict__.get('_created_at', '?')})")
        for i, (parent, ig) in enumerate(zip(node._parents, input_grads)):
            if parent is None or ig is None or not parent.requires_grad:
                continue
            if ig.shape != parent.data.shape:
                raise ShapeError(f"{node._op.__name__}.backward returned a gradient of shape "
                                 f"{ig.shape} for input {i} of shape {parent.shape}; a "
                                 "broadcast input needs its gradient summed back "
                                 "(minigrad.broadcast.unbroadcast)")
            if ig.dtype != parent.data.dtype:
                ig = ig.astype(parent.data.dtype)
            if parent._op is None:
                _accumulate(parent, ig)
            elif id(parent) in pending:
                pending[id(parent)] = pending[id(parent)] + ig
            else:
                pending[id(parent)] = ig
        if not retain_graph:
            node._ctx = None
