"""Token embeddings and positional encodings: what turns ids (B, T) into vectors (B, T, C).

- ``TokenEmbedding``: a lookup table E[v] (FORMULAS C2), optionally scaled by √C as in the
  original Transformer (so the embeddings are not drowned by the positional encoding).
- ``SinusoidalPositionalEncoding``: the fixed table of FORMULAS C4, added to x.
- ``LearnedPositionalEmbedding``: a trained table, one vector per position (GPT, BERT), added to x.

Both positional modules take the same arguments, ``forward(x, offset=0)`` with x (B, T, C), and
return x + P[offset : offset + T]; ``offset`` is the position of x's first step, which is the
number of steps already processed when decoding incrementally with a KV cache.
"""
import math

import numpy as np

from minigrad.creation import empty, tensor
from minigrad.errors import ShapeError
from minigrad.nn import Embedding, Module, Parameter, init

__all__ = ["TokenEmbedding", "SinusoidalPositionalEncoding", "LearnedPositionalEmbedding",
           "sinusoidal_table"]


class TokenEmbedding(Embedding):
    """E(idx) = W[idx] (· √d_model when ``scale=True``) (FORMULAS C2).

    idx (B, T) integers in [0, vocab_size) -> (B, T, C), C = d_model. ``weight`` is (V, C): the
    same table can serve as the output layer (weight tying, as GPT does).

    >>> import minigrad as mg
    >>> emb = TokenEmbedding(10, 4, scale=True)
    >>> x = emb(mg.tensor([[1, 2, 3]]))
    >>> x.shape, bool(abs(x.data[0, 0] - 2 * emb.weight.data[1]).max() < 1e-6)   # √4 = 2
    ((1, 3, 4), True)
    """

    def __init__(self, vocab_size, d_model, scale=False, padding_idx=None):
        super().__init__(vocab_size, d_model, padding_idx=padding_idx)
        self.scale = scale

    def forward(self, idx):
        x = super().forward(idx)                                    # (B, T, C)
        return x * math.sqrt(self.embedding_dim) if self.scale else x

    def extra_repr(self):
        return super().extra_repr() + (", scale=True" if self.scale else "")


def _check_positions(name, x, offset, max_len, d_model):
    """Raise unless x is (B, T, d_model) and positions offset .. offset+T-1 exist in the table."""
    if x.ndim != 3 or x.shape[-1] != d_model:
        raise ShapeError(f"{name}: expected x of shape (B, T, {d_model}), got {x.shape}")
    if offset < 0:
        raise ValueError(f"{name}: offset must be >= 0, got {offset}")
    if offset + x.shape[1] > max_len:
        raise ShapeError(f"{name}: positions {offset}..{offset + x.shape[1] - 1} (T={x.shape[1]}, "
                         f"offset={offset}) exceed max_len={max_len}; build the module with a "
                         "larger max_len or crop the sequence")


def sinusoidal_table(max_len, d_model):
    """The (max_len, d_model) float64 array of FORMULAS C4.

    PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).
    Pair i turns at angular frequency ω_i = 10000^(-2i/d): wavelengths from 2π to 10000·2π.
    Because (sin, cos) of pos + k is a rotation by k·ω_i of (sin, cos) of pos, PE(pos + k) is a
    fixed linear map of PE(pos), the same for every pos (the relative-position property).
    An odd d_model gets one more sine column than cosine columns.

    >>> pe = sinusoidal_table(3, 4)
    >>> pe[0].tolist()                       # sin 0 = 0, cos 0 = 1
    [0.0, 1.0, 0.0, 1.0]
    >>> round(float(pe[1, 0]), 4), round(float(pe[1, 2]), 4)    # sin(1), sin(1/100)
    (0.8415, 0.01)
    """
    position = np.arange(max_len, dtype=np.float64)[:, None]                     # (T, 1)
    omega = 10000.0 ** (-np.arange(0, d_model, 2, dtype=np.float64) / d_model)  # (ceil(C/2),)
    angle = position * omega                                                      # (T, ceil(C/2))
    pe = np.zeros((max_len, d_model))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, :d_model // 2])
    return pe


class SinusoidalPositionalEncoding(Module):
    """y = x + PE[offset : offset + T] with the fixed sinusoidal table (FORMULAS C4).

    x (B, T, C) -> (B, T, C), C = d_model. The table ``pe`` (max_len, C) is a non-persistent
    buffer: it moves with ``to()``/``double()`` but is not saved (it is a formula, not state).
    Raises ``ShapeError`` when offset + T > max_len.

    >>> import minigrad as mg
    >>> pos = SinusoidalPositionalEncoding(4, max_len=8)
    >>> pos(mg.zeros(1, 2, 4), offset=1).tolist()[0][0] == pos.pe.data[1].tolist()
    True
    """

    def __init__(self, d_model, max_len):
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.register_buffer("pe", tensor(sinusoidal_table(max_len, d_model), dtype=np.float32),
                             persistent=False)

    def forward(self, x, offset=0):
        _check_positions("SinusoidalPositionalEncoding", x, offset, self.max_len, self.d_model)
        return x + self.pe[offset:offset + x.shape[1]]               # (B, T, C) + (T, C)

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}"


class LearnedPositionalEmbedding(Module):
    """y = x + W[offset : offset + T] with a trained table W (max_len, d_model) (GPT, BERT).

    x (B, T, C) -> (B, T, C). W starts as N(0, 1) (as ``nn.Embedding``; models re-initialise it).
    Unlike the sinusoidal table it has no value for positions it never saw in training, and
    none at all beyond max_len (``ShapeError``).
    """

    def __init__(self, max_len, d_model):
        super().__init__()
        self.max_len, self.d_model = max_len, d_model
        self.weight = Parameter(empty(max_len, d_model))
        init.normal_(self.weight)

    def forward(self, x, offset=0):
        _check_positions("LearnedPositionalEmbedding", x, offset, self.max_len, self.d_model)
        return x + self.weight[offset:offset + x.shape[1]]           # (B, T, C) + (T, C)

    def extra_repr(self):
        return f"{self.max_len}, {self.d_model}"
