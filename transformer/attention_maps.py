"""What a GPT attends to: the attention weights of one sequence, for a heatmap (runs.py)."""
import numpy as np

import minigrad as mg

__all__ = ["attention_weights"]


def attention_weights(gpt, ids, layer=0):
    """Causal self-attention weights A = softmax(QKᵀ/√D) of ``layer`` for one sequence:
    (H, T, T), recomputed from the block's own projections (FORMULAS C3)."""
    x = gpt.drop(gpt.wpe(gpt.wte(mg.tensor([ids], device=gpt.wte.weight.device))))  # (1, T, C)
    for block in gpt.blocks[:layer]:
        x = block(x)
    block = gpt.blocks[layer]
    attn = block.self_attn
    q, k, _ = attn.qkv_proj(block.norm1(x)).split(attn.d_model, dim=2)        # 3 × (1, T, C)
    q, k = attn._heads(q).numpy()[0], attn._heads(k).numpy()[0]               # (H, T, D)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])                  # (H, T, T)
    T = len(ids)
    scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)
