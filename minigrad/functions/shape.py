"""Ops that move elements without changing them: reshape, permute, expand, indexing, cat, stack.

Their backward passes move the gradient back the way the elements came.
"""
import math

import numpy as np

from minigrad import kernels
from minigrad.autograd import Function
from minigrad.broadcast import unbroadcast
from minigrad.device import array_module, scatter_add, to_device
from minigrad.errors import ShapeError
from minigrad.tensor import Tensor

__all__ = ["reshape", "view", "transpose", "permute", "unsqueeze", "squeeze", "flatten",
           "expand", "getitem", "cat", "stack", "split", "chunk"]


class Reshape(Function):
    """y = x with a new shape (same elements, row-major order);  dx = g reshaped back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class Permute(Function):
    """y = x with its dims reordered: y.shape[i] = x.shape[dims[i]];  dx = g with the inverse order."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(np.argsort(ctx.dims)), None


class Expand(Function):
    """y = x broadcast to ``shape`` (a view, no copy);  dx = g summed over the broadcast dims."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.shape), None


class GetItem(Function):
    """y = x[index];  dx = zeros like x, with g added at the indexed places.

    Integer-array and boolean indices may pick an element twice: ``np.add.at`` adds every
    copy's gradient (plain ``dx[index] = g`` would keep only the last). One integer array picks
    whole rows (an embedding lookup): its backward is the kernel ``embedding_backward``.
    """

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, g):
        if _is_rows(ctx.index):
            return kernels.embedding_backward(g, ctx.index, ctx.shape[0]), None
        dx = array_module(g).zeros(ctx.shape, dtype=g.dtype)
        if _is_basic(ctx.index):
            dx[ctx.index] = g          # slices and ints never repeat an element
        else:
            scatter_add(dx, ctx.index, g)
        return dx, None


class Cat(Function):
    """y = [x₁; x₂; ...] along ``dim``;  dxᵢ = the slice of g where xᵢ was placed."""

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.dim = dim
        ctx.offsets = np.cumsum([x.shape[dim] for x in xs])[:-1]
        return np.concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.split(g, ctx.offsets, axis=ctx.dim))


class Stack(Function):
    """y = the xᵢ stacked along a new dim;  dxᵢ = g[..., i, ...] along that dim."""

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.dim = dim
        return np.stack(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.moveaxis(g, ctx.dim, 0))


class ToDevice(Function):
    """y = x copied to another device;  dx = g copied back."""

    @staticmethod
    def forward(ctx, x, device):
        ctx.source = "cpu" if isinstance(x, np.ndarray) else "cuda"
        return to_device(x, device)

    @staticmethod
    def backward(ctx, g):
        return to_device(g, ctx.source), None


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def _is_rows(index):
    """One integer array as the whole index: x[idx] picks rows of x."""
    return (not isinstance(index, tuple) and hasattr(index, "dtype")
            and index.dtype.kind in "iu")


def index_arrays(index):
    """An index with every Tensor (and list) replaced by its array."""
    if isinstance(index, tuple):
        return tuple(index_arrays(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _dim(op, dim, ndim):
    if not -ndim <= dim < ndim:
        raise ShapeError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims")
    return dim % ndim


def reshape(x, *shape):
    """The same elements in a new shape; one size may be -1 (inferred)."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    known = math.prod([n for n in shape if n != -1])
    if (-1 not in shape and known != x.data.size) or (-1 in shape and (known == 0 or x.data.size % known)):
        raise ShapeError(f"reshape: cannot view shape {x.shape} ({x.data.size} elements) as {shape}")
    return Reshape.apply(x, shape)


view = reshape


def permute(x, *dims):
    """Reorder the dims: ``permute(x, 0, 2, 1)`` swaps the last two of a 3-d tensor."""
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    if (len(dims) != x.ndim or not all(-x.ndim <= d < x.ndim for d in dims)
            or sorted(d % x.ndim for d in dims) != list(range(x.ndim))):
        raise ShapeError(f"permute: {dims} is not a permutation of the {x.ndim} dims of {x.shape}")
    return Permute.apply(x, tuple(d % x.ndim for d in dims))


def transpose(x, dim0, dim1):
    """Swap two dims."""
    dims = list(range(x.ndim))
    dim0, dim1 = _dim("transpose", dim0, x.ndim), _dim("transpose", dim1, x.ndim)
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(x, tuple(dims))


def unsqueeze(x, dim):
    """Insert a dim of size 1 at ``dim``: (3, 4) -> unsqueeze(0) -> (1, 3, 4)."""
    dim = _dim("unsqueeze", dim, x.ndim + 1)
    return Reshape.apply(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    """Remove dims of size 1 (only ``dim``, if given and of size 1)."""
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dim = _dim("squeeze", dim, x.ndim)
        shape = x.shape[:dim] + x.shape[dim + 1:] if x.shape[dim] == 1 else x.shape
    return Reshape.apply(x, shape)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one: (B, T, C) -> flatten(1) -> (B, T*C)."""
    if x.ndim == 0:
        return Reshape.apply(x, (1,))
    start, end = _dim("flatten", start_dim, x.ndim), _dim("flatten", end_dim, x.ndim)
    merged = math.prod(x.shape[start:end + 1])
    return Reshape.apply(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def expand(x, *sizes):
    """Broadcast to ``sizes`` without copying; -1 keeps a dim's size (as PyTorch)."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: cannot expand shape {x.shape} to fewer dims {sizes}")
    if -1 in sizes[:lead]:
        raise ShapeError(f"expand: size -1 is not allowed in a new leading dim: {x.shape} to {sizes}")
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
    try:
        np.broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ShapeError(f"expand: shape {x.shape} cannot be expanded to {shape} "
                         "(only dims of size 1 can grow)") from None
    return Expand.apply(x, shape)


def getitem(x, index):
    """x[index] with NumPy's rules: ints, slices, None, Ellipsis, boolean masks, integer arrays."""
    index = index_arrays(index)
    try:
        return GetItem.apply(x, index)
    except IndexError as err:
        raise IndexError(f"getitem: {err} (tensor shape {x.shape})") from None


def _check_same_device_and_dims(op, tensors, dim, new_dim):
    if not tensors:
        raise ShapeError(f"{op}: expected a non-empty sequence of tensors")
    first = tensors[0].shape
    for t in tensors[1:]:
        same = t.shape == first if new_dim else (
            t.ndim == len(first) and all(a == b for i, (a, b) in enumerate(zip(t.shape, first)) if i != dim))
        if not same:
            rule = "equal shapes" if new_dim else f"equal sizes in every dim but {dim}"
            raise ShapeError(f"{op}: tensors need {rule}; got "
                             f"{', '.join(str(u.shape) for u in tensors)}")


def cat(tensors, dim=0):
    """Join tensors along an existing dim."""
    tensors = list(tensors)
    if tensors:
        dim = _dim("cat", dim, tensors[0].ndim)
    _check_same_device_and_dims("cat", tensors, dim, new_dim=False)
    return Cat.apply(*tensors, dim=dim)


def stack(tensors, dim=0):
    """Join tensors of the same shape along a new dim."""
    tensors = list(tensors)
    if tensors:
        dim = _dim("stack", dim, tensors[0].ndim + 1)
    _check_same_device_and_dims("stack", tensors, dim, new_dim=True)
    return Stack.apply(*tensors, dim=dim)


def split(x, split_size_or_sections, dim=0):
    """Cut x along ``dim`` into pieces of ``split_size`` (the last may be smaller) or of the listed sizes."""
    dim = _dim("split", dim, x.ndim)
    n = x.shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - start) for start in range(0, n, step)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} sum to {sum(sizes)}, but dim {dim} has size {n}")
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * dim + (slice(start, start + size),)
        pieces.append(GetItem.apply(x, index))
        start += size
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """Cut x into ``chunks`` pieces of (nearly) equal size along ``dim``, as PyTorch."""
    n = x.shape[_dim("chunk", dim, x.ndim)]
    return split(x, -(-n // chunks), dim)
