"""Exercise 07 — splitting the channels into heads, and merging them back.

Taught in lesson 07; FORMULAS C3.

Task: write ``split_heads(x, n_head)`` and ``merge_heads(y)``. Multi-head attention cuts each
C-wide vector into H heads of width D = C / H: head h gets the D consecutive channels
h·D .. (h+1)·D − 1, and each head attends on its own. Then the heads are concatenated again.

    split_heads:  x (B, T, C)    ->  (B, H, T, D)        out[b, h, t, :] = x[b, t, h·D:(h+1)·D]
    merge_heads:  y (B, H, T, D) ->  (B, T, C)           the inverse: merge_heads(split_heads(x)) == x

Shapes: B batch, T time, C channels, H heads, D = C / H head width.

Hint: view (B, T, C) as (B, T, H, D) with ``x.reshape(B, T, H, D)``, then swap the T and H axes
with ``.transpose(1, 2)``. A single ``reshape(B, H, T, D)`` has the right shape but puts the
wrong numbers in each head (it cuts along time, not channels). Use Tensor methods (not NumPy)
so that gradients flow.

Check your work:
    python -m lessons check ex07
"""


def split_heads(x, n_head):
    """(B, T, C) -> (B, H, T, D), D = C / n_head."""
    # Your code here, in place of the line below.
    raise NotImplementedError("split_heads: return the (B, H, T, D) Tensor")


def merge_heads(y):
    """(B, H, T, D) -> (B, T, C), C = H · D: the heads concatenated along the channels."""
    # Your code here, in place of the line below.
    raise NotImplementedError("merge_heads: return the (B, T, C) Tensor")
