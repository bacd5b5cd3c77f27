"""A GPT with a classification head: fine-tuning a pretrained language model (FORMULAS A2, A3).

    ids (B, T) ─ GPT trunk (wte + wpe, blocks, ln_f) ─ h (B, T, C) ─ pool ─ (B, C) ─ score ─ (B, L)

The trunk is the pretrained GPT without its LM head; ``score`` is a new Linear(C, L) for
L = ``num_labels``. Pooling reads one vector per sequence from the right-padded batch:

    "last"   h at the last real token (Hugging Face's GPT2ForSequenceClassification): with
             causal attention it is the only position that has seen the whole text
    "mean"   the mean of h over the real tokens

Both are a weighted sum over positions, pooled = wᵀ h with w (B, T) one-hot or 1/length, so
one batched matmul does either. Padding goes on the right and attention is causal, so no real
token ever attends to a pad token: no padding mask is needed.

``GPTForTokenClassification`` labels every position instead (tagging): logits_t = score(h_t).
A GPT's h_t has seen only tokens ≤ t, so a tag that depends on the next character (where a
word ends) is harder for it than for a BERT, which sees both sides.
"""
from dataclasses import asdict, dataclass

import numpy as np

from minigrad.creation import tensor
from minigrad.errors import ShapeError
from minigrad.nn import Linear, Module, init
from minigrad.tensor import Tensor

from .gpt import GPT, GPTConfig

__all__ = ["GPTClassifierConfig", "GPTForSequenceClassification", "GPTForTokenClassification"]


@dataclass
class GPTClassifierConfig(GPTConfig):
    num_labels: int = 2
    pooling: str = "last"       # "last" (the last real token) or "mean" (over real tokens)


class GPTForSequenceClassification(Module):
    """``forward(ids, attention_mask=None) -> logits (B, num_labels)``.

    ``attention_mask`` (B, T): 1 for real tokens, 0 for right padding (None: no padding).
    ``from_gpt(gpt, num_labels)`` builds one around a pretrained GPT's weights.
    """

    def __init__(self, config):
        super().__init__()
        if config.pooling not in ("last", "mean"):
            raise ValueError(f"GPTForSequenceClassification: pooling must be 'last' or "
                             f"'mean', got {config.pooling!r}")
        self.config = config
        self.gpt = GPT(GPTConfig(**{k: v for k, v in asdict(config).items()
                                    if k in GPTConfig.__dataclass_fields__}))
        self.score = Linear(config.n_embd, config.num_labels)                    # W (C, L)
        init.normal_(self.score.weight, 0.0, 0.02)
        init.zeros_(self.score.bias)

    @classmethod
    def from_gpt(cls, gpt, num_labels, pooling="last"):
        """A classifier whose trunk starts from ``gpt``'s weights (the LM head, tied to the
        token embedding, comes along unused); the head starts fresh."""
        model = cls(GPTClassifierConfig(**asdict(gpt.config), num_labels=num_labels,
                                        pooling=pooling))
        model.gpt.load_state_dict(gpt.state_dict())
        return model

    def hidden_states(self, ids):
        """The trunk's output h = ln_f(blocks(wte(ids) + wpe)): (B, T, C)."""
        gpt = self.gpt
        x = gpt.drop(gpt.wpe(gpt.wte(ids)))                                  # (B, T, C)
        for block in gpt.blocks:
            x = block(x)
        return gpt.ln_f(x)                                                   # (B, T, C)

    def pooling_weights(self, attention_mask, B, T):
        """w (B, T): one-hot at the last real token ("last") or 1/length on real ones ("mean")."""
        mask = np.ones((B, T)) if attention_mask is None else np.asarray(
            attention_mask.numpy() if isinstance(attention_mask, Tensor) else attention_mask)
        if mask.shape != (B, T):
            raise ShapeError(f"GPTForSequenceClassification: attention_mask must be (B, T) = "
                             f"({B}, {T}), got {mask.shape}")
        lengths = mask.sum(axis=1).astype(np.int64)                         # (B,)
        if (lengths == 0).any():
            raise ValueError("GPTForSequenceClassification: a sequence with no real token "
                             "(its attention_mask is all zeros)")
        if self.config.pooling == "mean":
            return mask / lengths[:, None]
        w = np.zeros((B, T))
        w[np.arange(B), lengths - 1] = 1.0
        return w

    def forward(self, ids, attention_mask=None):
        ids = ids if isinstance(ids, Tensor) else tensor(ids)
        if ids.ndim != 2:
            raise ShapeError(f"GPTForSequenceClassification: ids must be (B, T), got {ids.shape}")
        B, T = ids.shape
        h = self.hidden_states(ids)                                          # (B, T, C)
        w = self.pooling_weights(attention_mask, B, T)
        w = tensor(w[:, None, :].astype(h.dtype), device=h.device)          # (B, 1, T)
        pooled = (w @ h).reshape(B, -1)                                      # (B, C)
        return self.score(pooled)                                            # (B, L)


class GPTForTokenClassification(GPTForSequenceClassification):
    """``forward(ids, attention_mask=None) -> logits (B, T, num_labels)``: one label per token,
    from the trunk's vector at that position (``pooling`` is unused)."""

    def forward(self, ids, attention_mask=None):
        ids = ids if isinstance(ids, Tensor) else tensor(ids)
        if ids.ndim != 2:
            raise ShapeError(f"GPTForTokenClassification: ids must be (B, T), got {ids.shape}")
        return self.score(self.hidden_states(ids))                           # (B, T, L)
