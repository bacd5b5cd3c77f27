"""transformer: the hand-built Transformer family on top of minigrad.

    from transformer import GPT, GPTConfig
    model = GPT(GPTConfig(vocab_size=65, block_size=64, n_layer=2, n_head=4, n_embd=64))
    logits, loss = model(idx, targets)                 # idx, targets (B, T) token ids
    out = model.generate(idx[:1, :8], max_new_tokens=20, top_k=10)

Shape letters, used in every shape comment of this package:
    B  batch: sequences processed together
    T  time: positions in a sequence (Tq queries, Tk keys when they differ)
    C  channels: the model width, d_model (= GPTConfig.n_embd)
    H  heads of multi-head attention
    D  head dim: C / H
    V  vocabulary size

Built so far:
- ``transformer.tokenizers``: characters, byte-level BPE, BERT's WordPiece.
- ``embedding``: ``TokenEmbedding`` (optional ×√C), ``SinusoidalPositionalEncoding``
  (FORMULAS C4), ``LearnedPositionalEmbedding``.
- ``attention``: ``MultiHeadAttention`` (FORMULAS C3; self/cross, causal and padding masks),
  ``KVCache``.
- ``blocks``: ``FeedForward`` (FORMULAS C5), ``EncoderLayer`` (B2), ``DecoderLayer`` (B3),
  pre-LN or post-LN.
- ``gpt``: ``GPTConfig``, ``GPT`` (a decoder-only language model, nanoGPT's names).
- ``metrics``: accuracy, precision/recall/F1, confusion matrix, perplexity, corpus BLEU
  (FORMULAS F1; the same numbers as scikit-learn and sacrebleu).
Coming (see the project's issues): BERT / seq2seq models, pretrained weights, datasets, the
pretrain → fine-tune pipeline. This package imports only ``minigrad``; ``minigrad``
never imports it.
"""
from .attention import KVCache, MultiHeadAttention, causal_mask
from .blocks import DecoderLayer, EncoderLayer, FeedForward
from .embedding import (LearnedPositionalEmbedding, SinusoidalPositionalEncoding, TokenEmbedding,
                        sinusoidal_table)
from .gpt import GPT, GPTConfig, sample_next_token

__all__ = ["TokenEmbedding", "SinusoidalPositionalEncoding", "LearnedPositionalEmbedding",
           "sinusoidal_table", "MultiHeadAttention", "KVCache", "causal_mask", "FeedForward",
           "EncoderLayer", "DecoderLayer", "GPTConfig", "GPT", "sample_next_token"]
