"""Exercise 05 — the sinusoidal positional encoding.

Taught in lesson 08; FORMULAS C4.

Task: write ``sinusoidal_positional_encoding(max_len, d_model)``, the (max_len, d_model) table
that the Transformer adds to its token embeddings (E + P), one row per position:

    PE[pos, 2i]     = sin(pos / 10000^(2i/d))
    PE[pos, 2i + 1] = cos(pos / 10000^(2i/d))          pos = 0..max_len−1,  i = 0..d/2−1

Each pair of columns (2i, 2i+1) is a (sin, cos) clock turning at its own speed
ω_i = 10000^(−2i/d): the first pair turns once every 2π positions, the last one ~10000 times
slower.

Shapes: returns a NumPy array (max_len, d_model), float64; d_model is even.

Hint: build the angles as an outer product, ``pos[:, None] * omega[None, :]`` (max_len, d/2),
then fill the even columns ``pe[:, 0::2]`` with sines and the odd ones ``pe[:, 1::2]`` with
cosines. Row 0 is [0, 1, 0, 1, ...].

Check your work:
    python -m lessons check ex05
"""
import numpy as np


def sinusoidal_positional_encoding(max_len, d_model):
    """The (max_len, d_model) sinusoidal table: PE[pos, 2i] = sin, PE[pos, 2i+1] = cos."""
    # Your code here, in place of the line below.
    raise NotImplementedError("sinusoidal_positional_encoding: return the (max_len, d_model) table")
