"""Datasets and batches, as in ``torch.utils.data``; plus ``make_moons``, a toy dataset.

A ``Dataset`` is anything with ``len(ds)`` and ``ds[i]`` (one sample). A ``DataLoader`` cuts
the indices 0..n-1 (shuffled by the framework generator, so ``mg.manual_seed`` repeats the
order) into batches and ``collate``s each batch's samples into Tensors::

    X, y = make_moons(200, noise=0.1)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    for xb, yb in loader:          # xb: (32, 2) float32, yb: (32,) int64; the last batch: 8
        ...

>>> ds = TensorDataset(np.arange(5.0), np.arange(5))
>>> [tuple(x.shape) for x, y in DataLoader(ds, batch_size=2)]
[(2,), (2,), (1,)]
"""
import math

import numpy as np

from minigrad import random
from minigrad.device import array_module
from minigrad.errors import ShapeError
from minigrad.tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "default_collate",
           "random_split", "make_moons"]


class Dataset:
    """Base class of map-style datasets: subclasses implement ``__len__`` and ``__getitem__``."""

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")


class TensorDataset(Dataset):
    """Samples are rows: ``ds[i] = (t[i] for t in tensors)``, from Tensors or arrays that
    share their first dimension. ``ds.tensors`` holds them as Tensors."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t))
                             for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ShapeError(f"TensorDataset: every tensor needs the same first dimension, "
                             f"got shapes {[t.shape for t in self.tensors]}")

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        # [index, ...] keeps a 0-d array a 0-d array (x[i] alone would give a NumPy scalar)
        return tuple(Tensor(t.data[index, ...]) for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]


def default_collate(batch):
    """Stack a list of samples into one batch, as PyTorch's ``default_collate``.

    Tensors and arrays are stacked along a new first axis into a Tensor; Python floats make
    a float64 Tensor, ints an int64 Tensor; a tuple/list of fields gives a list with each
    field collated (so ``for x, y in loader`` works); a dict is collated key by key;
    strings are returned as a list.
    """
    first = batch[0]
    if isinstance(first, (Tensor, np.ndarray, np.generic)) \
            or hasattr(first, "__cuda_array_interface__"):
        arrays = [x.data if isinstance(x, Tensor) else x for x in batch]
        shapes = {np.shape(a) for a in arrays}
        if len(shapes) != 1:
            raise ShapeError(f"default_collate: samples of different shapes {sorted(shapes)} "
                             "cannot be stacked into one batch; pass a collate_fn")
        return Tensor(array_module(arrays[0]).stack(arrays))
    if isinstance(first, (bool, int, float)):          # bool first: True is also an int
        dtype = (np.bool_ if isinstance(first, bool) else
                 np.int64 if isinstance(first, int) else np.float64)
        return Tensor(np.array(batch, dtype=dtype))
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, dict):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        if len({len(sample) for sample in batch}) != 1:
            raise ShapeError("default_collate: samples have different numbers of fields")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    "pass a collate_fn")


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` samples.

    Each epoch (each ``iter(loader)``) visits every sample exactly once: in order, or in a
    new random order when ``shuffle=True`` (drawn from ``minigrad.random.generator()`` when
    the epoch starts). ``drop_last=True`` drops a final batch smaller than ``batch_size``.
    ``collate_fn`` turns a list of samples into a batch (default: ``default_collate``).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self.collate_fn = collate_fn if collate_fn is not None else default_collate

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = random.generator().permutation(n) if self.shuffle else np.arange(n)
        return self._batches(order)

    def _batches(self, order):
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            indices = order[start:start + self.batch_size]
            yield self.collate_fn([self.dataset[int(i)] for i in indices])


def random_split(dataset, lengths):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1 (each gets
    ⌊n · fraction⌋ samples, the remainder handed out one by one from the first split, as in
    PyTorch). The shuffle uses the framework generator (``mg.manual_seed``).
    """
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        if any(not 0 <= f <= 1 for f in lengths):
            raise ValueError(f"random_split: fractions must be in [0, 1], got {lengths}")
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(k, int) or k < 0 for k in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} must be non-negative ints summing "
                         f"to the dataset's length {n} (or fractions summing to 1)")
    order = random.generator().permutation(n).tolist()
    starts = np.cumsum([0] + lengths).tolist()
    return [Subset(dataset, order[a:b]) for a, b in zip(starts[:-1], starts[1:])]


def make_moons(n_samples=100, *, shuffle=True, noise=None, random_state=None):
    """Two interleaving half circles, labelled 0 (outer) and 1 (inner); scikit-learn's
    algorithm. Returns ``X: (n, 2) float32`` and ``y: (n,) int64`` NumPy arrays::

        outer (y = 0):  (cos s, sin s)                  s in linspace(0, π, n // 2)
        inner (y = 1):  (1 - cos s, 1 - sin s - 0.5)    s in linspace(0, π, n - n // 2)

    then the rows are shuffled (``shuffle=True``) and Gaussian noise of standard deviation
    ``noise`` is added to every coordinate. Randomness comes from ``random_state`` (an int
    seed or a ``numpy.random.Generator``), or the framework generator when it is None.

    >>> X, y = make_moons(4, shuffle=False)
    >>> X.round(3).tolist(), y.tolist()
    ([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.5], [2.0, 0.5]], [0, 0, 1, 1])
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 0:
        raise ValueError(f"make_moons: n_samples must be a non-negative int, got {n_samples!r}")
    if noise is not None and not noise >= 0:
        raise ValueError(f"make_moons: noise must be >= 0 or None, got {noise!r}")
    if random_state is None:
        rng = random.generator()
    elif isinstance(random_state, np.random.Generator):
        rng = random_state
    else:
        rng = np.random.default_rng(random_state)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    s_out, s_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(s_out), np.sin(s_out)], axis=1),                # (n_out, 2)
                        np.stack([1 - np.cos(s_in), 1 - np.sin(s_in) - 0.5], axis=1)])   # (n, 2)
    y = np.concatenate([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    if shuffle:
        order = rng.permutation(n_samples)
        X, y = X[order], y[order]
    if noise is not None:
        X += rng.normal(scale=noise, size=X.shape)
    return X.astype(np.float32), y
