"""``Parameter``: a tensor that a ``Module`` owns and an optimizer updates."""
from minigrad.creation import tensor
from minigrad.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True``, registered by ``Module`` when assigned to it.

    ``Parameter(t)`` shares the data of a Tensor ``t``; any other data (an array, a list) is
    copied with ``mg.tensor``'s dtype rules (Python floats give float32).

    >>> import minigrad as mg
    >>> w = Parameter(mg.zeros(2, 3))
    >>> w.requires_grad, w.is_leaf, w.shape
    (True, True, (2, 3))
    """

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else tensor(data).data,
                         requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
