"""BERT: a bidirectional Transformer encoder and its heads, in Hugging Face's names (FORMULAS B2,
B5, E2).

    input_ids (B, T) ─ word + position + token-type embeddings ─ LayerNorm ─ dropout
        ─ num_hidden_layers × post-LN BertLayer ─ sequence_output (B, T, C)
        ─ [CLS] vector ─ dense ─ tanh ─ pooled_output (B, C)

Every position attends to every other (no causal mask), so BERT reads a whole sentence at once
and cannot generate text left to right; it is pretrained by masked language modelling (hide
15% of the tokens, predict them: ``BertForMaskedLM``, ``mask_tokens``) and fine-tuned with a
small head: ``BertForSequenceClassification`` (one label per text, from the pooled [CLS]
vector) or ``BertForTokenClassification`` (one label per token). ``mean_pool`` averages the
real tokens' vectors into a sentence embedding, as sentence-transformers does.

``BertModel.forward`` returns a **tuple** ``(sequence_output, pooled_output)``. The article's
§5 listing writes ``_, hidden = self.bert(...)`` and then ``hidden[:, 0, :]``: that takes the
pooled output (B, C), which has no time axis, and fails (FORMULAS E2). The [CLS] vector is
``sequence_output[:, 0]``; the pooled output is that vector after ``pooler`` (dense + tanh).

Why BertLayer is written here instead of reusing ``blocks.EncoderLayer``: BERT's LayerNorm
eps is 1e-12 (EncoderLayer's norms use 1e-5), BERT has no dropout on the feed-forward's hidden
activations (EncoderLayer has), and BERT's attention-weight and residual dropouts have separate
rates. The attention itself is ``MultiHeadAttention`` (fused ``F.scaled_dot_product_attention``).
Loading Hugging Face checkpoints: ``from_pretrained`` (see ``transformer.pretrained``).
"""
import json
import os
from dataclasses import dataclass, fields

import numpy as np

from minigrad.creation import tensor
from minigrad.errors import ShapeError
from minigrad.functions import clamp
from minigrad.nn import Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, init
from minigrad.nn import functional as F
from minigrad.tensor import Tensor, array_of

from .attention import MultiHeadAttention
from .embedding import LearnedPositionalEmbedding

__all__ = ["BertConfig", "BertEmbeddings", "BertLayer", "BertModel", "BertForMaskedLM",
           "BertForSequenceClassification", "BertForTokenClassification", "mean_pool",
           "mask_tokens"]

_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu,
                "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
                "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh")}


@dataclass
class BertConfig:
    """The shape of a BERT, with Hugging Face's field names; the defaults are BERT-base's."""
    vocab_size: int = 30522                 # V (WordPiece vocabulary of bert-base-uncased)
    hidden_size: int = 768                  # C
    num_hidden_layers: int = 12
    num_attention_heads: int = 12           # H; the head width is D = C / H
    intermediate_size: int = 3072           # the feed-forward's hidden width (4C)
    hidden_act: str = "gelu"                # exact (erf) GELU; "gelu_new" is the tanh form
    hidden_dropout_prob: float = 0.1        # on embeddings and each residual branch
    attention_probs_dropout_prob: float = 0.1   # on the attention weights
    max_position_embeddings: int = 512      # the longest sequence: rows of the position table
    type_vocab_size: int = 2                # segments: sentence A = 0, sentence B = 1
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0                   # its embedding row starts at 0, gets no gradient
    initializer_range: float = 0.02         # std of the N(0, σ²) initial weights

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"BertConfig: {name} must be a positive int, got {value!r}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"BertConfig: {name} must be in [0, 1), got "
                                 f"{getattr(self, name)!r}")
        if not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"BertConfig: pad_token_id={self.pad_token_id!r} is not a token id "
                             f"of the vocabulary (0 .. {self.vocab_size - 1})")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BertConfig: hidden_size={self.hidden_size} is not divisible by "
                             f"num_attention_heads={self.num_attention_heads}")
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(f"BertConfig: hidden_act must be one of {', '.join(_ACTIVATIONS)}, "
                             f"got {self.hidden_act!r}")

    @classmethod
    def from_json(cls, path):
        """Read a Hugging Face ``config.json``; keys this class does not have are ignored."""
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"BertConfig.from_json: no config file {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"BertConfig.from_json: cannot read {path}: {err}") from err
        if not isinstance(data, dict):
            raise ValueError(f"BertConfig.from_json: {path} holds a JSON "
                             f"{type(data).__name__}, expected an object")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class BertEmbeddings(Module):
    """x = LayerNorm(W_word[ids] + W_pos[0..T-1] + W_type[token_type_ids]), then dropout.

    input_ids, token_type_ids (B, T) -> (B, T, C). The three tables are learned; the position
    table has max_position_embeddings rows, so longer sequences cannot be embedded.
    """

    def __init__(self, config):
        super().__init__()
        C = config.hidden_size
        self.word_embeddings = Embedding(config.vocab_size, C, padding_idx=config.pad_token_id)
        self.position_embeddings = LearnedPositionalEmbedding(config.max_position_embeddings, C)
        self.token_type_embeddings = Embedding(config.type_vocab_size, C)
        self.LayerNorm = LayerNorm(C, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids):
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = self.position_embeddings(x)                         # + W_pos[0..T-1]: (B, T, C)
        return self.dropout(self.LayerNorm(x))


class BertLayer(Module):
    """One post-LN encoder layer (FORMULAS B2), BERT's variant:

        x = LN(x + Dropout(MultiHeadAttention(x)))                        attention_norm
        y = LN(x + Dropout(W_out act(W_in x + b_in) + b_out))             output_norm

    x (B, T, C) -> (B, T, C); key_padding_mask bool (B, T), True = padding (never attended).
    Hugging Face's names of these parts: ``attention.self.{query,key,value}`` (fused here into
    ``attention.qkv_proj``), ``attention.output.dense`` (``attention.out_proj``),
    ``attention.output.LayerNorm``, ``intermediate.dense``, ``output.dense``,
    ``output.LayerNorm``.
    """

    def __init__(self, config):
        super().__init__()
        C, eps = config.hidden_size, config.layer_norm_eps
        self.act = config.hidden_act
        self.attention = MultiHeadAttention(C, config.num_attention_heads,
                                            config.attention_probs_dropout_prob)
        self.attention_norm = LayerNorm(C, eps=eps)
        self.intermediate = Linear(C, config.intermediate_size)          # W_in, b_in
        self.output = Linear(config.intermediate_size, C)                # W_out, b_out
        self.output_norm = LayerNorm(C, eps=eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, x, key_padding_mask=None):
        a = self.attention(x, key_padding_mask=key_padding_mask)         # (B, T, C)
        x = self.attention_norm(x + self.dropout(a))
        h = _ACTIVATIONS[self.act](self.intermediate(x))                 # (B, T, intermediate)
        return self.output_norm(x + self.dropout(self.output(h)))        # (B, T, C)

    def extra_repr(self):
        return f"hidden_act={self.act!r}"


def _as_ids(name, values, shape=None):
    """``values`` (a Tensor, array or nested lists) as an int64 Tensor, checked against shape."""
    t = values if isinstance(values, Tensor) else tensor(np.asarray(values, dtype=np.int64))
    if t.ndim != 2 or (shape is not None and t.shape != shape):
        want = "(B, T)" if shape is None else f"{shape}, the shape of input_ids"
        raise ShapeError(f"BertModel: {name} must be {want}, got shape {t.shape}")
    return t


def _check_range(name, ids, limit_name, limit, hint=""):
    """IndexError unless every value of the Tensor ``ids`` is in [0, limit)."""
    values = ids.numpy()
    if values.size and (values.min() < 0 or values.max() >= limit):
        raise IndexError(f"BertModel: {name} must be in [0, {limit_name}={limit}), got values "
                         f"in [{values.min()}, {values.max()}]{hint}")


class BertModel(Module):
    """The encoder of the module docstring, with its pooler.

    ``forward(input_ids, attention_mask=None, token_type_ids=None)`` returns the tuple
    ``(sequence_output, pooled_output)``:
        sequence_output (B, T, C): the last layer's vector of every position;
        pooled_output   (B, C):    tanh(W_pool · sequence_output[:, 0] + b_pool), from [CLS]
                                   (None for a model built with add_pooling_layer=False).
    input_ids (B, T) ids < vocab_size, T ≤ max_position_embeddings; attention_mask (B, T) with
    1 = real token, 0 = padding (default: all ones); token_type_ids (B, T) segment ids
    (default: all 0). Padded positions are never attended, so the real positions' outputs do
    not depend on how much padding follows.
    """

    def __init__(self, config, add_pooling_layer=True):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
        self.pooler = Linear(config.hidden_size, config.hidden_size) if add_pooling_layer \
            else None
        _init_bert_weights(self, config)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        input_ids = _as_ids("input_ids", input_ids)
        B, T = input_ids.shape
        if T > self.config.max_position_embeddings:
            raise ShapeError(f"BertModel: {T} tokens exceed max_position_embeddings="
                             f"{self.config.max_position_embeddings}; truncate the input "
                             "(tokenizer: truncation=True)")
        _check_range("input_ids", input_ids, "vocab_size", self.config.vocab_size,
                     " (is the tokenizer's vocabulary the model's?)")
        if token_type_ids is None:
            token_type_ids = tensor(np.zeros((B, T), dtype=np.int64), device=input_ids.device)
        token_type_ids = _as_ids("token_type_ids", token_type_ids, (B, T))
        _check_range("token_type_ids", token_type_ids, "type_vocab_size",
                     self.config.type_vocab_size)
        padding = None
        if attention_mask is not None:
            attention_mask = _as_ids("attention_mask", attention_mask, (B, T))
            padding = attention_mask.data == 0                            # (B, T), True = pad
        x = self.embeddings(input_ids, token_type_ids)                    # (B, T, C)
        for layer in self.encoder:
            x = layer(x, key_padding_mask=padding)
        pooled = self.pooler(x[:, 0]).tanh() if self.pooler is not None else None   # (B, C)
        return x, pooled

    def num_parameters(self, exclude_embeddings=False):
        """Parameters; ``exclude_embeddings=True`` leaves out the three embedding tables."""
        n = super().num_parameters()
        if exclude_embeddings:
            n -= self.embeddings.num_parameters() - self.embeddings.LayerNorm.num_parameters()
        return n

    @classmethod
    def from_pretrained(cls, directory):
        """A BertModel with the weights of a Hugging Face checkpoint directory
        (``config.json`` + ``model.safetensors``); see ``transformer.pretrained``."""
        from .pretrained import load_bert          # here: pretrained.py imports this module
        return load_bert(cls, directory)


def _init_bert_weights(module, config):
    """BERT's initialisation: Linear and embedding weights ~ N(0, initializer_range²), biases 0,
    LayerNorms 1 and 0, the padding row of the word embeddings 0."""
    for name, p in module.named_parameters():
        if name.endswith("bias"):
            init.zeros_(p)
        elif p.ndim == 2:
            init.normal_(p, 0.0, config.initializer_range)
    pad = config.pad_token_id
    for sub in module.modules():
        if isinstance(sub, Embedding) and sub.padding_idx is not None:
            sub.weight.data[pad] = 0


def mean_pool(hidden, attention_mask, normalize=False):
    """The mean of the real tokens' vectors: a sentence embedding (sentence-transformers).

        e = Σ_t m_t h_t / max(Σ_t m_t, 1e-9),   and e / max(‖e‖₂, 1e-12) if normalize

    hidden (B, T, C), attention_mask (B, T) with 1 = real token -> (B, C). Padding is left out,
    so the embedding of a text does not depend on the batch it was padded in.

    >>> import minigrad as mg
    >>> h = mg.tensor([[[1.0, 0.0], [3.0, 2.0], [9.0, 9.0]]])      # (1, 3, 2); the last is pad
    >>> mean_pool(h, [[1, 1, 0]]).tolist()
    [[2.0, 1.0]]
    """
    m = array_of(attention_mask)
    if m.shape != hidden.shape[:2]:
        raise ShapeError(f"mean_pool: attention_mask of shape {m.shape} does not fit hidden of "
                         f"shape {hidden.shape}; expected {hidden.shape[:2]}")
    m = tensor(m[..., None].astype(hidden.data.dtype), device=hidden.device)   # (B, T, 1)
    e = (hidden * m).sum(dim=1) / clamp(m.sum(dim=1), min=1e-9)           # (B, C)
    if normalize:
        e = e / clamp((e * e).sum(dim=1, keepdim=True).sqrt(), min=1e-12)
    return e


# ---- heads --------------------------------------------------------------------------------
def _labels_loss(logits, labels, num_labels):
    """Mean cross-entropy of logits (..., num_labels) against labels (...); -100 = ignore."""
    if labels is None:
        return None
    labels = labels if isinstance(labels, Tensor) else tensor(np.asarray(labels, np.int64))
    if labels.shape != logits.shape[:-1]:
        raise ShapeError(f"labels of shape {labels.shape} do not fit logits of shape "
                         f"{logits.shape}; expected {logits.shape[:-1]}")
    return F.cross_entropy(logits.reshape(-1, num_labels), labels.reshape(-1),   # (N, n), (N,)
                           ignore_index=-100)


class _BertWithHead(Module):
    """A BertModel (``self.bert``) under a task head; ``from_pretrained`` loads both parts."""

    @classmethod
    def from_pretrained(cls, directory, **head_options):
        """The encoder (and, when the checkpoint has it, this head) from a Hugging Face
        checkpoint directory; a head the checkpoint lacks keeps its random initialisation."""
        from .pretrained import load_bert
        return load_bert(cls, directory, **head_options)


class BertForMaskedLM(_BertWithHead):
    """Masked language modelling: predict the hidden tokens (FORMULAS B5, pretraining).

        h = LN(GELU(W_t s + b_t)),   logits = h W_wordᵀ + b     (decoder tied to the embeddings)

    ``forward(input_ids, attention_mask=None, token_type_ids=None, labels=None)`` ->
    ``(logits (B, T, V), loss)``; labels (B, T) hold the original id at masked positions and
    -100 elsewhere (``mask_tokens`` makes both), loss None without labels.
    """

    def __init__(self, config):
        super().__init__()
        C = config.hidden_size
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        self.transform = Linear(C, C)                           # cls.predictions.transform.dense
        self.transform_norm = LayerNorm(C, eps=config.layer_norm_eps)
        self.decoder = Linear(C, config.vocab_size)             # weight: the word embeddings
        self.decoder.weight = self.bert.embeddings.word_embeddings.weight
        _init_bert_weights(self.transform, config)
        init.zeros_(self.decoder.bias)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        s, _ = self.bert(input_ids, attention_mask, token_type_ids)           # (B, T, C)
        h = self.transform_norm(_ACTIVATIONS[self.config.hidden_act](self.transform(s)))
        logits = self.decoder(h)                                              # (B, T, V)
        return logits, _labels_loss(logits, labels, self.config.vocab_size)


def mask_tokens(input_ids, mask_token_id, vocab_size, special_ids, mlm_probability=0.15,
                rng=None):
    """BERT's masking for MLM pretraining on unlabeled text (FORMULAS A2): returns
    ``(inputs, labels)``, int64 arrays shaped like input_ids (B, T).

    Each token that is not in ``special_ids`` ([CLS], [SEP], [PAD], ...) is chosen with
    probability ``mlm_probability``; labels hold the chosen tokens' ids and -100 elsewhere (no
    loss there). Of the chosen tokens, 80% become [MASK], 10% a random token of the vocabulary
    and 10% stay as they were — so the model cannot learn that only [MASK] needs predicting.
    ``rng``: a ``numpy.random.Generator`` (default: a fresh unseeded one).

    >>> ids = np.array([[101, 7, 8, 9, 102, 0]])
    >>> inputs, labels = mask_tokens(ids, 103, 30522, [0, 101, 102], mlm_probability=1.0,
    ...                              rng=np.random.default_rng(0))
    >>> labels.tolist()                             # every non-special token chosen
    [[-100, 7, 8, 9, -100, -100]]
    """
    ids = np.array(input_ids.numpy() if isinstance(input_ids, Tensor) else input_ids,
                   dtype=np.int64)
    if not 0 <= mlm_probability <= 1:
        raise ValueError(f"mask_tokens: mlm_probability must be in [0, 1], got {mlm_probability}")
    rng = np.random.default_rng() if rng is None else rng
    can_mask = ~np.isin(ids, np.asarray(list(special_ids), dtype=np.int64))
    chosen = can_mask & (rng.random(ids.shape) < mlm_probability)
    labels = np.where(chosen, ids, -100)
    u = rng.random(ids.shape)                       # one draw decides mask / random / keep
    inputs = ids.copy()
    inputs[chosen & (u < 0.8)] = mask_token_id
    randomised = chosen & (u >= 0.8) & (u < 0.9)
    inputs[randomised] = rng.integers(0, vocab_size, size=int(randomised.sum()))
    return inputs, labels


class BertForSequenceClassification(_BertWithHead):
    """One label per text: logits = W · Dropout(pooled_output) + b (FORMULAS E2).

    ``forward(input_ids, attention_mask=None, token_type_ids=None, labels=None)`` ->
    ``(logits (B, num_labels), loss)``; labels (B,) class ids, loss the mean cross-entropy
    (None without labels). ``num_labels`` ≥ 2: cross-entropy over a single logit is always 0,
    the article's ``nn.Linear(768, 1)`` bug.
    """

    def __init__(self, config, num_labels=2):
        super().__init__()
        if num_labels < 2:
            raise ValueError(f"BertForSequenceClassification: num_labels must be >= 2 (softmax "
                             f"over one logit is always 1, its cross-entropy always 0), got "
                             f"{num_labels}")
        self.config, self.num_labels = config, num_labels
        self.bert = BertModel(config)
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.classifier = Linear(config.hidden_size, num_labels)
        _init_bert_weights(self.classifier, config)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        _, pooled = self.bert(input_ids, attention_mask, token_type_ids)       # (B, C)
        logits = self.classifier(self.dropout(pooled))                        # (B, num_labels)
        return logits, _labels_loss(logits, labels, self.num_labels)

    def extra_repr(self):
        return f"num_labels={self.num_labels}"


class BertForTokenClassification(_BertWithHead):
    """One label per token (tagging, e.g. part of speech): logits = W · Dropout(s_t) + b.

    ``forward(input_ids, attention_mask=None, token_type_ids=None, labels=None)`` ->
    ``(logits (B, T, num_labels), loss)``; labels (B, T), -100 where no label applies
    ([CLS], [SEP], padding, a word's second and later WordPiece pieces).
    """

    def __init__(self, config, num_labels=2):
        super().__init__()
        if num_labels < 2:
            raise ValueError(f"BertForTokenClassification: num_labels must be >= 2, got "
                             f"{num_labels}")
        self.config, self.num_labels = config, num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.classifier = Linear(config.hidden_size, num_labels)
        _init_bert_weights(self.classifier, config)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        s, _ = self.bert(input_ids, attention_mask, token_type_ids)           # (B, T, C)
        logits = self.classifier(self.dropout(s))                             # (B, T, num_labels)
        return logits, _labels_loss(logits, labels, self.num_labels)

    def extra_repr(self):
        return f"num_labels={self.num_labels}"
