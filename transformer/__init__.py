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
- ``bert``: ``BertConfig``, ``BertModel`` (post-LN encoder, pooler), ``BertForMaskedLM`` with
  ``mask_tokens`` (the 15% / 80-10-10 rule), ``BertForSequenceClassification``,
  ``BertForTokenClassification``, ``mean_pool`` (sentence embeddings).
- ``pretrained`` / ``safetensors``: Hugging Face BERT-family checkpoints (``config.json``,
  ``model.safetensors``) read with our own safetensors reader; ``BertModel.from_pretrained(dir)``,
  ``save_pretrained``; ``installed_checkpoint()`` finds the all-MiniLM-L6-v2 package's files.
- ``seq2seq``: ``Seq2SeqConfig``, ``Seq2SeqTransformer`` (the original encoder-decoder, FORMULAS
  B1-B3; greedy and beam-search decoding).
- ``classify``: ``GPTForSequenceClassification``, ``GPTForTokenClassification`` (a pretrained
  GPT as the backbone of a classifier or tagger).
- ``gpt_seq2seq``: ``GPTForSeq2Seq`` (a pretrained GPT fine-tuned as a conditional LM:
  source <sep> target), ``extend_tokenizer``; ``bert_encoder_decoder``: ``BertEncoderDecoder``
  (a pretrained BERT, e.g. MiniLM, as the encoder under a fresh decoder).
- ``baselines``: ``BagOfWords``, ``BagOfWordsClassifier`` (logistic regression on word
  counts); ``compare``: the article's §5 comparison (MiniLM vs BERT from scratch vs bag of
  words).
- The pipeline behind ``python -m transformer``: ``pipeline`` (pretrain, finetune, evaluate,
  generate), ``demo``, ``train`` (the training loop, exact resume), ``checkpoint``, ``runs``.
- ``datasets``: real offline corpora from installed packages (People's Daily, Chinese reviews,
  chatterbot-corpus, the standard library's docstrings), the user's own files, number
  translation, leak-free seeded splits.
- ``metrics``: accuracy, precision/recall/F1, confusion matrix, perplexity, corpus BLEU
  (FORMULAS F1; the same numbers as scikit-learn and sacrebleu).
This package imports only ``minigrad``; ``minigrad``
never imports it.
"""
from .attention import KVCache, MultiHeadAttention, causal_mask
from .blocks import DecoderLayer, EncoderLayer, FeedForward
from .embedding import (LearnedPositionalEmbedding, SinusoidalPositionalEncoding, TokenEmbedding,
                        sinusoidal_table)
from .baselines import BagOfWords, BagOfWordsClassifier
from .bert import (BertConfig, BertForMaskedLM, BertForSequenceClassification,
                   BertForTokenClassification, BertModel, mask_tokens, mean_pool)
from .bert_encoder_decoder import BertEncoderDecoder
from .classify import GPTForSequenceClassification, GPTForTokenClassification
from .gpt import GPT, GPTConfig, sample_next_token
from .gpt_seq2seq import GPTForSeq2Seq, GPTSeq2SeqConfig, extend_tokenizer
from .pretrained import installed_checkpoint, save_pretrained
from .seq2seq import Seq2SeqConfig, Seq2SeqTransformer, make_batch

__all__ = ["TokenEmbedding", "SinusoidalPositionalEncoding", "LearnedPositionalEmbedding",
           "sinusoidal_table", "MultiHeadAttention", "KVCache", "causal_mask", "FeedForward",
           "EncoderLayer", "DecoderLayer", "GPTConfig", "GPT", "sample_next_token",
           "BertConfig", "BertModel", "BertForMaskedLM", "BertForSequenceClassification",
           "BertForTokenClassification", "mask_tokens", "mean_pool", "installed_checkpoint",
           "save_pretrained", "Seq2SeqConfig", "Seq2SeqTransformer", "make_batch",
           "GPTForSequenceClassification", "GPTForTokenClassification", "GPTForSeq2Seq",
           "GPTSeq2SeqConfig", "extend_tokenizer", "BertEncoderDecoder", "BagOfWords",
           "BagOfWordsClassifier"]
