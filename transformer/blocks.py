"""The Transformer's layers: position-wise feed-forward, encoder layer, decoder layer.

Each sublayer (attention or feed-forward) is wrapped in a residual connection and a LayerNorm,
in one of two orders (``norm_first``):

    post-LN (the original Transformer, BERT):  x = LN(x + Dropout(Sublayer(x)))
    pre-LN  (GPT-2 and later):                 x = x + Dropout(Sublayer(LN(x)))

Pre-LN keeps an un-normalised residual path from input to output, which trains deep stacks
without learning-rate warm-up; a pre-LN stack needs one final LayerNorm after its last layer
(the model adds it: ``GPT.ln_f``). Shapes: x (B, T, C), C = d_model; memory (B, Tk, C).
"""
from minigrad.nn import Dropout, LayerNorm, Linear, Module
from minigrad.nn import functional as F

from .attention import MultiHeadAttention

__all__ = ["FeedForward", "EncoderLayer", "DecoderLayer"]

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(name):
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(_ACTIVATIONS)}, got {name!r}")
    return name


class FeedForward(Module):
    """FFN(x) = act(x W_1 + b_1) W_2 + b_2, act = ReLU (FORMULAS C5) or GELU (GPT, BERT).

    Applied to every position separately: x (B, T, C) -> (B, T, d_ff) -> (B, T, C). ``dropout``
    acts on the hidden activations (in training), as PyTorch's Transformer layers do.
    """

    def __init__(self, d_model, d_ff, activation="relu", dropout=0.0, bias=True):
        super().__init__()
        self.activation = _activation(activation)
        self.fc1 = Linear(d_model, d_ff, bias=bias)                     # W_1, b_1
        self.fc2 = Linear(d_ff, d_model, bias=bias)                     # W_2, b_2
        self.dropout = Dropout(dropout)

    def forward(self, x):
        h = _ACTIVATIONS[self.activation](self.fc1(x))                  # (B, T, d_ff)
        return self.fc2(self.dropout(h))                                # (B, T, C)

    def extra_repr(self):
        return f"activation={self.activation!r}"


class EncoderLayer(Module):
    """Self-attention over the whole sequence, then the feed-forward (FORMULAS B2).

    forward(x, key_padding_mask=None): x (B, T, C) -> (B, T, C); key_padding_mask bool (B, T),
    True = padding (no position attends it). ``norm_first``: pre-LN (True) or post-LN (False).
    """

    def __init__(self, d_model, n_head, d_ff, dropout=0.0, activation="relu", norm_first=False,
                 bias=True):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, n_head, dropout, bias)
        self.ffn = FeedForward(d_model, d_ff, activation, dropout, bias)
        self.norm1 = LayerNorm(d_model, bias=bias)
        self.norm2 = LayerNorm(d_model, bias=bias)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)

    def forward(self, x, key_padding_mask=None):
        def attend(h):
            return self.dropout1(self.self_attn(h, key_padding_mask=key_padding_mask))

        if self.norm_first:
            x = x + attend(self.norm1(x))                                   # (B, T, C)
            return x + self.dropout2(self.ffn(self.norm2(x)))
        x = self.norm1(x + attend(x))
        return self.norm2(x + self.dropout2(self.ffn(x)))

    def extra_repr(self):
        return f"norm_first={self.norm_first}"


class DecoderLayer(Module):
    """Masked self-attention, cross-attention to the encoder memory, feed-forward (FORMULAS B3).

    The self-attention is causal by default: position i sees positions ≤ i only, so training on
    all positions at once cannot peek at the tokens it predicts. ``cross_attention=False`` drops
    the middle sublayer: a decoder-only (GPT) block.

    forward(x, memory=None, causal=True, key_padding_mask=None, memory_key_padding_mask=None,
    self_cache=None, cross_cache=None):
        x (B, T, C); memory (B, Tk, C) the encoder output (needed iff cross_attention);
        key_padding_mask bool (B, T_keys) for x's own keys (cached ones included), True = pad;
        memory_key_padding_mask bool (B, Tk) for the memory; ``self_cache``/``cross_cache``:
        ``KVCache`` objects for incremental decoding (x then holds only the new positions).
        Returns (B, T, C).
    """

    def __init__(self, d_model, n_head, d_ff, dropout=0.0, activation="relu", norm_first=False,
                 bias=True, cross_attention=True):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, n_head, dropout, bias)
        self.norm1 = LayerNorm(d_model, bias=bias)
        self.dropout1 = Dropout(dropout)
        if cross_attention:
            self.cross_attn = MultiHeadAttention(d_model, n_head, dropout, bias, cross=True)
            self.norm2 = LayerNorm(d_model, bias=bias)
            self.dropout2 = Dropout(dropout)
        else:
            self.cross_attn = None
        self.ffn = FeedForward(d_model, d_ff, activation, dropout, bias)
        self.norm3 = LayerNorm(d_model, bias=bias)
        self.dropout3 = Dropout(dropout)

    def forward(self, x, memory=None, causal=True, key_padding_mask=None,
                memory_key_padding_mask=None, self_cache=None, cross_cache=None):
        if (memory is None) != (self.cross_attn is None):
            raise ValueError("DecoderLayer: pass memory exactly when the layer has "
                             f"cross-attention (cross_attention={self.cross_attn is not None})")

        def attend_self(h):
            return self.dropout1(self.self_attn(h, causal=causal, cache=self_cache,
                                                key_padding_mask=key_padding_mask))

        def attend_memory(h):
            return self.dropout2(self.cross_attn(h, memory, cache=cross_cache,
                                                 key_padding_mask=memory_key_padding_mask))

        if self.norm_first:
            x = x + attend_self(self.norm1(x))                              # (B, T, C)
            if self.cross_attn is not None:
                x = x + attend_memory(self.norm2(x))
            return x + self.dropout3(self.ffn(self.norm3(x)))
        x = self.norm1(x + attend_self(x))
        if self.cross_attn is not None:
            x = self.norm2(x + attend_memory(x))
        return self.norm3(x + self.dropout3(self.ffn(x)))

    def extra_repr(self):
        return f"norm_first={self.norm_first}, cross_attention={self.cross_attn is not None}"
