"""The models the pipeline trains, by the ``kind`` a checkpoint records.

    kind              model                                   pretrained by / fine-tuned from
    "gpt"             GPT (causal LM)                         next-token prediction (A1)
    "bert"            BertForMaskedLM                         masked-token prediction (B5)
    "gpt-classifier"  GPTForSequenceClassification            a "gpt" checkpoint, or scratch
    "bert-classifier" BertForSequenceClassification           a "bert" checkpoint, or scratch
    "gpt-tagger"      GPTForTokenClassification               a "gpt" checkpoint, or scratch
    "bert-tagger"     BertForTokenClassification              a "bert" checkpoint, or scratch
    "seq2seq"         Seq2SeqTransformer (encoder-decoder)    scratch (translate.py)
    "gpt-seq2seq"     GPTForSeq2Seq (conditional LM)          a "gpt" checkpoint (translate.py)
    "bert-seq2seq"    BertEncoderDecoder                      a "bert" checkpoint, or MiniLM

A checkpoint stores the config as a dict; ``build(kind, config)`` makes the model again. A
"bert-seq2seq" config has two parts: {"encoder": BertConfig fields, "decoder": Seq2SeqConfig
fields}.
"""
from dataclasses import asdict

import minigrad as mg
from minigrad.errors import CheckpointError

from .bert import (BertConfig, BertForMaskedLM, BertForSequenceClassification,
                   BertForTokenClassification, BertModel)
from .bert_encoder_decoder import BertEncoderDecoder
from .classify import GPTClassifierConfig, GPTForSequenceClassification, GPTForTokenClassification
from .gpt import GPT, GPTConfig
from .gpt_seq2seq import GPTForSeq2Seq, GPTSeq2SeqConfig
from .seq2seq import Seq2SeqConfig, Seq2SeqTransformer
from .tokenizers import CharTokenizer

__all__ = ["LM_KINDS", "CLASSIFIER_KINDS", "SEQ2SEQ_KINDS", "BERT_SPECIAL_TOKENS", "build",
           "from_checkpoint",
           "lm_config", "classifier_config", "classifier_from", "special_ids",
           "bert_char_tokenizer"]

LM_KINDS = ("gpt", "bert")
CLASSIFIER_KINDS = ("gpt-classifier", "bert-classifier", "gpt-tagger", "bert-tagger")
SEQ2SEQ_KINDS = ("seq2seq", "gpt-seq2seq", "bert-seq2seq")
BERT_SPECIAL_TOKENS = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]


def _bert_config(config):
    return BertConfig(**{k: v for k, v in config.items() if k != "num_labels"})


def build(kind, config):
    """A fresh model of ``kind`` from its config dict."""
    if kind == "gpt":
        return GPT(GPTConfig(**config))
    if kind == "seq2seq":
        return Seq2SeqTransformer(Seq2SeqConfig(**config))
    if kind == "gpt-seq2seq":
        return GPTForSeq2Seq(GPTSeq2SeqConfig(**config))
    if kind == "bert-seq2seq":
        return BertEncoderDecoder(Seq2SeqConfig(**config["decoder"]),
                                  BertModel(_bert_config(config["encoder"]),
                                            add_pooling_layer=False))
    if kind == "bert":
        return BertForMaskedLM(_bert_config(config))
    if kind == "gpt-classifier":
        return GPTForSequenceClassification(GPTClassifierConfig(**config))
    if kind == "bert-classifier":
        return BertForSequenceClassification(_bert_config(config), config["num_labels"])
    if kind == "gpt-tagger":
        return GPTForTokenClassification(GPTClassifierConfig(**config))
    if kind == "bert-tagger":
        return BertForTokenClassification(_bert_config(config), config["num_labels"])
    raise ValueError(f"unknown model kind {kind!r}; expected one of "
                     f"{', '.join(LM_KINDS + CLASSIFIER_KINDS + SEQ2SEQ_KINDS)}")


def from_checkpoint(state, path):
    """The model a checkpoint records (``checkpoint.load_checkpoint``'s dict), its weights
    loaded; ``path`` names the file in the CheckpointError of weights that do not fit."""
    model = build(state["kind"], state["model_config"])
    try:
        model.load_state_dict(state["model"])
    except mg.StateDictError as err:
        raise CheckpointError(f"{path}: the weights do not fit its own configuration: {err}") \
            from err
    return model


def lm_config(kind, vocab_size, block_size, n_layer, n_head, n_embd, dropout, pad_id=0):
    """The config dict of a language model of ``kind`` in nanoGPT's size names."""
    if kind == "gpt":
        return asdict(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer,
                                n_head=n_head, n_embd=n_embd, dropout=dropout))
    return asdict(BertConfig(vocab_size=vocab_size, hidden_size=n_embd, num_hidden_layers=n_layer,
                             num_attention_heads=n_head, intermediate_size=4 * n_embd,
                             max_position_embeddings=block_size, hidden_dropout_prob=dropout,
                             attention_probs_dropout_prob=dropout, pad_token_id=pad_id))


def classifier_config(lm_kind, config, num_labels, pooling):
    """The classifier's config dict built around an LM config dict."""
    if lm_kind == "gpt":
        return {**config, "num_labels": num_labels, "pooling": pooling}
    return {**config, "num_labels": num_labels}


def classifier_from(lm_kind, lm, num_labels, pooling="last", head="classifier"):
    """``(kind, model)`` whose encoder starts from the pretrained ``lm``'s weights; ``head``:
    "classifier" (one label per text) or "tagger" (one label per token)."""
    kind = f"{lm_kind}-{head}"
    if lm_kind == "gpt":
        cls = GPTForSequenceClassification if head == "classifier" else GPTForTokenClassification
        return kind, cls.from_gpt(lm, num_labels, pooling)
    model = build(kind, classifier_config("bert", asdict(lm.config), num_labels, pooling))
    model.bert.load_state_dict(lm.bert.state_dict(), strict=False)   # the pooler starts fresh
    return kind, model


def special_ids(tokenizer):
    """The ids of BERT's special tokens in ``tokenizer`` ({name: id}); KeyError if absent."""
    return {t: tokenizer.token_to_id(t) for t in BERT_SPECIAL_TOKENS}


def bert_char_tokenizer(text):
    """A character tokenizer with BERT's special tokens after ``<unk>``."""
    return CharTokenizer.from_text(text, special_tokens=BERT_SPECIAL_TOKENS)
