"""GPT: a decoder-only Transformer language model, in nanoGPT's names (FORMULAS A1, B3).

    idx (B, T) ─ wte + wpe ─ dropout ─ n_layer × pre-LN block ─ ln_f ─ lm_head ─ logits (B, T, V)

Each block is a ``DecoderLayer`` without cross-attention (causal self-attention and a GELU
feed-forward of width 4C, pre-LN). The LM head shares its weight with the token embedding
(weight tying: one (V, C) matrix both reads and writes tokens). Trained to predict token t+1
from tokens ≤ t: P(x_t | x_1..x_{t-1}), with the cross-entropy of every position at once.
"""
import math
from dataclasses import dataclass

import numpy as np

from minigrad.autograd import no_grad
from minigrad.creation import tensor
from minigrad.errors import ShapeError
from minigrad.functions import cat
from minigrad.nn import Dropout, LayerNorm, Linear, Module, ModuleList, init
from minigrad.nn import functional as F
from minigrad.random import generator
from minigrad.tensor import Tensor

from .attention import KVCache
from .blocks import DecoderLayer
from .embedding import LearnedPositionalEmbedding, TokenEmbedding

__all__ = ["GPTConfig", "GPT", "sample_next_token"]


@dataclass
class GPTConfig:
    """The shape of a GPT; the defaults are GPT-2 small's, as in nanoGPT (124M parameters)."""
    vocab_size: int = 50304     # V; GPT-2's 50257 rounded up to a multiple of 64, as nanoGPT
    block_size: int = 1024      # the context: the most positions the model sees at once
    n_layer: int = 12
    n_head: int = 12            # H; the head width is D = n_embd / n_head
    n_embd: int = 768           # C; the feed-forward's hidden width is 4C
    dropout: float = 0.0        # on embeddings, attention weights, FFN hidden, residual branches
    bias: bool = True           # biases in Linears and LayerNorms (False: a bit faster, as good)


class GPT(Module):
    """The model of the module docstring. ``forward(idx, targets=None) -> (logits, loss)``.

    Initialisation as GPT-2: every Linear and embedding weight ~ N(0, 0.02²), biases zero, and
    the projections that write into the residual stream (``out_proj``, ``fc2``) ~ N(0, (0.02 /
    √(2·n_layer))²), so the residual's variance does not grow with depth (two writes per layer).
    """

    def __init__(self, config):
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"GPTConfig: n_embd={config.n_embd} is not divisible by "
                             f"n_head={config.n_head}")
        self.config = config
        C = config.n_embd
        self.wte = TokenEmbedding(config.vocab_size, C)                    # (V, C)
        self.wpe = LearnedPositionalEmbedding(config.block_size, C)        # (block_size, C)
        self.drop = Dropout(config.dropout)
        self.blocks = ModuleList([
            DecoderLayer(C, config.n_head, 4 * C, config.dropout, activation="gelu",
                         norm_first=True, bias=config.bias, cross_attention=False)
            for _ in range(config.n_layer)])
        self.ln_f = LayerNorm(C, bias=config.bias)
        self.lm_head = Linear(C, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight          # tied: the same Parameter object
        self._init_weights()

    def _init_weights(self):
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith(("out_proj.weight", "fc2.weight")):
                init.normal_(p, 0.0, residual_std)
            elif name.endswith("bias"):                 # Linear and LayerNorm biases
                init.zeros_(p)
            elif p.ndim == 2:                           # Linear weights, wte (= lm_head), wpe
                init.normal_(p, 0.0, 0.02)
            # LayerNorm weights stay 1 and their biases 0

    def forward(self, idx, targets=None, kv_caches=None):
        """Logits (B, T, V) for every position, and the mean cross-entropy if ``targets`` is given.

        idx (B, T) integer token ids, T ≤ block_size; targets (B, T) the next tokens (-1 =
        ignore). Unlike nanoGPT, logits are returned for every position even without targets.
        ``kv_caches``: one ``KVCache`` per layer (incremental decoding): idx then holds only
        the new tokens, placed after the cached positions.
        """
        idx = idx if isinstance(idx, Tensor) else tensor(idx)
        if idx.ndim != 2:
            raise ShapeError(f"GPT: idx must be (B, T) token ids, got shape {idx.shape}")
        B, T = idx.shape
        past = len(kv_caches[0]) if kv_caches else 0
        if kv_caches is not None and len(kv_caches) != len(self.blocks):
            raise ValueError(f"GPT: expected {len(self.blocks)} KV caches (one per layer), got "
                             f"{len(kv_caches)}")
        if past + T > self.config.block_size:
            raise ShapeError(f"GPT: {past} cached + {T} new positions exceed block_size="
                             f"{self.config.block_size}; crop the context (generate() does)")
        x = self.drop(self.wpe(self.wte(idx), offset=past))                # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, self_cache=None if kv_caches is None else kv_caches[i])
        logits = self.lm_head(self.ln_f(x))                                # (B, T, V)
        if targets is None:
            return logits, None
        targets = targets if isinstance(targets, Tensor) else tensor(targets, device=idx.device)
        loss = F.cross_entropy(logits.reshape(B * T, -1),                  # (B*T, V)
                               targets.reshape(B * T), ignore_index=-1)
        return logits, loss

    def new_kv_caches(self):
        """Empty caches, one per layer, for ``forward(..., kv_caches=...)``."""
        return [KVCache() for _ in self.blocks]

    @no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
        """Continue each row of idx (B, T) by ``max_new_tokens`` sampled tokens: (B, T + new).

        Each step samples token t+1 from the logits at position t (``sample_next_token``:
        temperature, then top-k, then top-p; ``temperature=0`` takes the argmax), drawing from
        ``mg.random.generator()``, so ``mg.manual_seed`` repeats a generation. Call
        ``model.eval()`` first if the model has dropout.

        KV cache: the prompt is run once, then each step feeds only the newest token, its
        position after the cached ones. Cropping: the model knows block_size positions only.
        Once the context is full the oldest token must go, which shifts every position, so the
        cached keys (computed at the old positions) no longer apply; from then on each step
        recomputes on the last block_size tokens, exactly what a model without a cache does.
        Either way the result equals running ``forward`` on ``idx[:, -block_size:]`` each step.
        """
        idx = idx if isinstance(idx, Tensor) else tensor(idx)
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ShapeError(f"GPT.generate: idx must be (B, T) with T ≥ 1, got {idx.shape}")
        block_size = self.config.block_size
        caches = self.new_kv_caches()
        logits, _ = self(idx[:, -block_size:], kv_caches=caches)           # (B, T, V)
        for step in range(max_new_tokens):
            next_token = sample_next_token(logits[:, -1, :], temperature, top_k, top_p)  # (B, 1)
            idx = cat([idx, next_token], dim=1)                            # (B, T + 1)
            if step == max_new_tokens - 1:
                break
            if len(caches[0]) < block_size:
                logits, _ = self(next_token, kv_caches=caches)             # (B, 1, V)
            else:
                caches = self.new_kv_caches()
                logits, _ = self(idx[:, -block_size:], kv_caches=caches)   # (B, block_size, V)
        return idx

    def num_parameters(self, non_embedding=False):
        """Parameters, the tied wte/lm_head matrix once. ``non_embedding=True`` leaves out the
        position table (nanoGPT's default; wte stays, as it is also the output layer)."""
        n = super().num_parameters()
        return n - self.wpe.weight.numel() if non_embedding else n

    def flops_per_token(self, seq_len=None):
        """Training FLOPs per token (forward + backward): 6N + 12·L·C·T, as nanoGPT/PaLM.

        N = num_parameters(non_embedding=True): each weight costs one multiply-add (2 FLOPs)
        per token forward and two backward (gradients of input and of weight): 6N. Attention
        adds, per layer and token, Q·Kᵀ and A·V over T keys: 2·2·T·C forward, ×3 with backward:
        12·L·C·T (T = seq_len, default block_size; the causal mask's halving is not counted).
        """
        T = self.config.block_size if seq_len is None else seq_len
        L, C = self.config.n_layer, self.config.n_embd
        return 6 * self.num_parameters(non_embedding=True) + 12 * L * C * T


def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None):
    """One token per row from logits (B, V) -> int64 (B, 1), with ``mg.random.generator()``.

    p = softmax(logits / temperature); top_k keeps the k largest logits; top_p (nucleus) keeps
    the most probable tokens until their total reaches top_p (at least one); the kept
    probabilities are renormalised and one token drawn by inverse CDF (one uniform per row).
    ``temperature=0`` is greedy: the argmax. The draw runs in NumPy float64; the tokens come
    back on the logits' device.

    >>> import minigrad as mg
    >>> sample_next_token(mg.tensor([[0.0, 5.0, 1.0]]), temperature=0).tolist()
    [[1]]
    """
    device = logits.device if isinstance(logits, Tensor) else "cpu"
    z = np.asarray(logits.numpy() if isinstance(logits, Tensor) else logits, dtype=np.float64)
    if z.ndim != 2:
        raise ShapeError(f"sample_next_token: logits must be (B, V), got shape {z.shape}")
    if temperature < 0:
        raise ValueError(f"sample_next_token: temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return tensor(z.argmax(axis=1)[:, None].astype(np.int64), device=device)
    z = z / temperature
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"sample_next_token: top_k must be >= 1, got {top_k}")
        kth = np.sort(z, axis=1)[:, -min(top_k, z.shape[1])][:, None]      # (B, 1)
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)                                       # (B, V)
    if top_p is not None:
        if not 0 < top_p <= 1:
            raise ValueError(f"sample_next_token: top_p must be in (0, 1], got {top_p}")
        order = np.argsort(-p, axis=1, kind="stable")                       # (B, V)
        sorted_p = np.take_along_axis(p, order, axis=1)
        before = np.cumsum(sorted_p, axis=1) - sorted_p      # mass of the more probable tokens
        keep_sorted = before < top_p                         # the first is always kept
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=1)
        p = np.where(keep, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
    u = generator().random((p.shape[0], 1))                                 # (B, 1)
    cdf = np.cumsum(p, axis=1)                                              # (B, V)
    token = (cdf <= u * cdf[:, -1:]).sum(axis=1)          # first index whose cdf exceeds u
    token = np.minimum(token, p.shape[1] - 1)
    return tensor(token[:, None].astype(np.int64), device=device)
