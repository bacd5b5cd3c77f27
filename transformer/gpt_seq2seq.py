"""A pretrained GPT fine-tuned for seq2seq as a conditional language model (FORMULAS A1, A3).

    idx    = source [sep] target          (B, T)   T = |source| + 1 + |target| ≤ block_size
    labels = -1 … -1    target [eos]      (B, T)   the next token; -1 (ignored) on the source

A decoder-only GPT has no encoder to read a source with; it reads the source as a prompt. The
same next-token objective as pretraining (A1) then gives

    P(target | source) = Π_t P(y_t | source, sep, y_1..y_{t-1}),

and the loss is the mean cross-entropy over the target tokens and eos only: the source is
given, not predicted (label -1, ``GPT.forward``'s ignore index; Hugging Face writes -100).
Generation (``greedy_decode``) feeds ``source [sep]`` once, then one token at a time with the
GPT's KV cache, until eos. Every position the model reads must fit in its block_size.

The vocabulary. The pretrained tokenizer lacks the two new tokens, and a character tokenizer
may lack characters of the task (English letters for a GPT pretrained on Chinese text).
``extend_tokenizer`` adds them, as Hugging Face's ``add_tokens`` + ``resize_token_embeddings``
do: every pretrained token keeps its embedding row bit for bit, and only the new tokens get
fresh rows, drawn as GPT-2 draws all of them, N(0, 0.02²). The embedding is tied to the LM head,
so one (V, C) matrix grows and both reading and writing the new tokens are learned.

- ``BPETokenizer``: bytes cover every text; ``<sep>`` and ``<eos>`` are registered at the end
  of the vocabulary, ids V and V + 1, so every old id stays.
- ``CharTokenizer``: its file format puts the special tokens first, so ``<sep>`` and ``<eos>``
  take the ids after the pretrained special tokens and every character moves up by two; the
  task's new characters go at the end. ``vocabulary_map`` says where each old row went.
- ``WordPieceTokenizer``: not supported (its decode puts spaces between CJK characters, which
  breaks exact match); use a char or BPE GPT, or ``--init minilm``.

The fine-tuned checkpoint records the extended tokenizer and ``GPTSeq2SeqConfig`` (the GPT's
fields, the new vocab_size, sep_id and eos_id): enough to rebuild the model without the
pretrained run.
"""
from dataclasses import asdict, dataclass

import numpy as np

from minigrad.autograd import no_grad
from minigrad.creation import tensor
from minigrad.errors import ShapeError
from minigrad.tensor import Tensor

from .checkpoint import tokenizer_from_json, tokenizer_to_json
from .data_files import DataError
from .gpt import GPT, GPTConfig
from .seq2seq import greedy_step
from .tokenizers import BPETokenizer, CharTokenizer

__all__ = ["SEP_TOKEN", "EOS_TOKEN", "GPTSeq2SeqConfig", "GPTForSeq2Seq", "extend_tokenizer",
           "vocabulary_map", "special_id", "encode_text", "conditional_lm_batch"]

SEP_TOKEN, EOS_TOKEN = "<sep>", "<eos>"


@dataclass
class GPTSeq2SeqConfig(GPTConfig):
    """A GPT's shape and the ids of the two tokens that frame a target."""
    sep_id: int = 0                 # after the source: "the target starts here"
    eos_id: int = 1                 # after the target: generation stops there

    def __post_init__(self):
        for name in ("sep_id", "eos_id"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or not 0 <= value < self.vocab_size:
                raise ValueError(f"GPTSeq2SeqConfig: {name}={value!r} is not a token id of the "
                                 f"vocabulary (0 .. {self.vocab_size - 1})")
        if self.sep_id == self.eos_id:
            raise ValueError(f"GPTSeq2SeqConfig: sep_id and eos_id must differ, both are "
                             f"{self.sep_id}")


class GPTForSeq2Seq(GPT):
    """A ``GPT`` whose ``forward`` (idx, labels) trains on the target only (the module
    docstring) and whose ``greedy_decode`` writes a target for each source. Its parameters and
    their names are the GPT's: a pretrained GPT's weights load as they are."""

    @classmethod
    def from_gpt(cls, gpt, old_tokenizer, new_tokenizer):
        """The model for ``new_tokenizer`` (``extend_tokenizer`` of ``old_tokenizer``), its
        weights the pretrained ``gpt``'s: each old token's embedding row where the new
        tokenizer puts that token, new tokens' rows N(0, 0.02²)."""
        config = GPTSeq2SeqConfig(**{**asdict(gpt.config),
                                     "vocab_size": new_tokenizer.vocab_size,
                                     "sep_id": special_id(new_tokenizer, SEP_TOKEN),
                                     "eos_id": special_id(new_tokenizer, EOS_TOKEN)})
        model = cls(config)                             # every row drawn fresh, as GPT-2's init
        state = gpt.state_dict()
        wte = model.wte.weight.numpy().copy()                                  # (V_new, C)
        wte[vocabulary_map(old_tokenizer, new_tokenizer)] = state["wte.weight"]
        state["wte.weight"] = state["lm_head.weight"] = wte                    # tied
        model.load_state_dict(state)
        return model

    @no_grad()
    def greedy_decode(self, src, max_len=None):
        """The argmax token at every step after ``source [sep]``: a list of B token lists.

        src (B, Ts) source ids, all rows of one length (the GPT has no padding mask: batch
        sources of equal length, as ``translate.translate`` does). Generates at most
        ``max_len`` tokens (eos included; default, and at most, block_size - Ts: the positions
        left); a row stops at its first eos. The lists hold neither sep nor eos. Call
        ``model.eval()`` first if the model has dropout.
        """
        src = src if isinstance(src, Tensor) else tensor(src)
        if src.ndim != 2 or 0 in src.shape:
            raise ShapeError(f"GPTForSeq2Seq.greedy_decode: src must be (B, Ts) token ids with "
                             f"B, Ts ≥ 1, got shape {src.shape}")
        B, Ts = src.shape
        room = self.config.block_size - Ts
        if room < 1:
            raise ShapeError(f"GPTForSeq2Seq: a source of {Ts} tokens leaves no room for a "
                             f"target in block_size={self.config.block_size}")
        max_len = room if max_len is None else max_len
        if not 1 <= max_len <= room:
            raise ValueError(f"GPTForSeq2Seq.greedy_decode: max_len must be in [1, {room}] for "
                             f"sources of {Ts} tokens, got {max_len}")
        sep = np.full((B, 1), self.config.sep_id, dtype=np.int64)
        prompt = np.concatenate([src.numpy().astype(np.int64), sep], axis=1)   # (B, Ts + 1)
        caches = self.new_kv_caches()
        logits, _ = self(tensor(prompt, device=src.device), kv_caches=caches)  # (B, Ts + 1, V)
        outputs, done = [[] for _ in range(B)], np.zeros(B, dtype=bool)
        for step in range(max_len):
            token = greedy_step(logits, outputs, done, self.config.eos_id)     # (B, 1)
            if done.all() or step == max_len - 1:
                break
            logits, _ = self(tensor(token, device=src.device), kv_caches=caches)  # (B, 1, V)
        return outputs


def extend_tokenizer(tokenizer, texts):
    """A copy of ``tokenizer`` with ``<sep>``, ``<eos>`` and (a character tokenizer) every
    character of ``texts`` it lacks (the module docstring says where they go).

    >>> old = CharTokenizer.from_text("ab")
    >>> new = extend_tokenizer(old, ["abc"])
    >>> [new.id_to_token(i) for i in range(new.vocab_size)]
    ['<unk>', '<sep>', '<eos>', 'a', 'b', 'c']
    >>> vocabulary_map(old, new).tolist()          # <unk>, a, b: their new ids
    [0, 3, 4]
    """
    if isinstance(tokenizer, BPETokenizer):
        new = tokenizer_from_json(tokenizer_to_json(tokenizer))              # a copy
        V = tokenizer.vocab_size
        new.register_special_tokens({SEP_TOKEN: V, EOS_TOKEN: V + 1})
        return new
    if not isinstance(tokenizer, CharTokenizer):
        raise DataError(f"seq2seq from a pretrained GPT needs its char or BPE tokenizer, got "
                        f"{type(tokenizer).__name__}; WordPiece's decode spaces CJK characters "
                        "apart (use --init minilm for a WordPiece encoder)")
    specials = tokenizer.special_tokens
    chars = [tokenizer.id_to_token(i) for i in range(len(specials), tokenizer.vocab_size)]
    known = set(chars)
    new_chars = sorted({c for text in texts for c in text} - known)
    added = [t for t in (SEP_TOKEN, EOS_TOKEN) if t not in specials]
    return CharTokenizer(chars + new_chars, specials + added, tokenizer.unk_token)


def vocabulary_map(old, new):
    """int64 (V_old,): the id in ``new`` of each token of ``old`` (``extend_tokenizer``)."""
    if isinstance(old, BPETokenizer):
        return np.arange(old.vocab_size)                # new tokens only appended
    return np.array([new.token_to_id(old.id_to_token(i)) for i in range(old.vocab_size)],
                    dtype=np.int64)


def special_id(tokenizer, token):
    """The id of a special token (BPE keeps them in a dict of their own)."""
    if isinstance(tokenizer, BPETokenizer):
        return tokenizer.special_tokens[token]
    return tokenizer.token_to_id(token)


def encode_text(tokenizer, text):
    """Ids of ``text`` with no special tokens ("<eos>" in a text is five characters)."""
    if isinstance(tokenizer, BPETokenizer):
        return tokenizer.encode_ordinary(text)
    return tokenizer.encode(text)


def conditional_lm_batch(sources, targets, sep_id, eos_id):
    """Training arrays from token lists: ``(idx, labels)``, int64 (B, T), right-padded.

    idx = source + [sep] + target; labels = -1 under every source token, then target + [eos]:
    position |source| (the sep) predicts the first target token. Padding: eos in idx (any id
    would do: it comes after every real token, which causal attention never lets it reach),
    -1 in labels.

    >>> idx, labels = conditional_lm_batch([[5, 6], [7]], [[8], [9, 9]], sep_id=1, eos_id=2)
    >>> idx.tolist(), labels.tolist()
    ([[5, 6, 1, 8], [7, 1, 9, 9]], [[-1, -1, 8, 2], [-1, 9, 9, 2]])
    """
    if len(sources) != len(targets) or not sources:
        raise ValueError(f"conditional_lm_batch: need as many targets as sources (at least "
                         f"one), got {len(sources)} sources and {len(targets)} targets")
    rows = [(list(s) + [sep_id] + list(t), [-1] * len(s) + list(t) + [eos_id])
            for s, t in zip(sources, targets)]
    T = max(len(x) for x, _ in rows)
    idx = np.full((len(rows), T), eos_id, dtype=np.int64)
    labels = np.full((len(rows), T), -1, dtype=np.int64)
    for i, (x, y) in enumerate(rows):
        idx[i, :len(x)], labels[i, :len(y)] = x, y
    return idx, labels
