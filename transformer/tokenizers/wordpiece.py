"""WordPieceTokenizer: BERT's tokenizer, read from a BERT ``vocab.txt``.

Two stages. ``bert_basic.basic_tokenize`` cleans the text and splits it into words and
punctuation (lower-casing and stripping accents for uncased vocabularies, one word per CJK
character). Then each word is cut into vocabulary pieces **greedily, longest match first**:
take the longest prefix in the vocabulary, then the longest continuation, written with ``##``,
and so on. A word with a piece that matches nothing, or longer than 100 characters, becomes
``[UNK]`` as a whole.

>>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hi", "!"]
>>> tok = WordPieceTokenizer(vocab)
>>> tok.tokenize("Unaffable hi! unbelievable")
['un', '##aff', '##able', 'hi', '!', '[UNK]']
>>> tok.encode("Unaffable hi!")                      # [CLS] ... [SEP]
[2, 5, 6, 7, 8, 9, 3]
>>> tok.encode_plus("hi", "hi!")["token_type_ids"]   # [CLS] a [SEP] | b [SEP]
[0, 0, 0, 1, 1, 1]
>>> tok.decode([2, 5, 6, 7, 8, 9, 3])
'unaffable hi!'
>>> batch = tok.batch_encode(["hi", "unaffable hi!"])
>>> batch["input_ids"]
array([[2, 8, 3, 0, 0, 0, 0],
       [2, 5, 6, 7, 8, 9, 3]])
>>> batch["attention_mask"]
array([[1, 1, 1, 0, 0, 0, 0],
       [1, 1, 1, 1, 1, 1, 1]])

As in Hugging Face's tokenizers, the special tokens' own strings in the text ("[SEP]", exactly
so written) become those tokens, and truncation of a pair is longest-first with HF ``tokenizers``'
rule: if both sequences must be cut, the shorter keeps ⌊m/2⌋ tokens and the longer the rest
(m = max_length minus the 3 special tokens; with equal lengths the second keeps the extra one).
HF's slow Python tokenizer instead removes one token at a time, ties from the second sequence.
"""
import json
import os
import re

import numpy as np

from .base import TokenizerError, TokenizerFileError
from .bert_basic import basic_tokenize

__all__ = ["WordPieceTokenizer"]

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


class WordPieceTokenizer:
    """BERT tokenization over ``vocab`` (tokens in id order, or {token: id}).

    ``do_lower_case``: lower-case (and, unless ``strip_accents`` says otherwise, strip accents)
    — True for "uncased" checkpoints. ``model_max_length``: the length ``truncation=True``
    cuts to when no ``max_length`` is given (512 for BERT).
    """

    def __init__(self, vocab, do_lower_case=True, strip_accents=None, tokenize_chinese_chars=True,
                 max_input_chars_per_word=100, model_max_length=512):
        self.vocab = dict(vocab) if isinstance(vocab, dict) else {t: i for i, t in enumerate(vocab)}
        if "[UNK]" not in self.vocab:
            raise TokenizerError("WordPieceTokenizer: the vocabulary has no [UNK] token")
        self.ids_to_tokens = {i: t for t, i in self.vocab.items()}
        self.do_lower_case = do_lower_case
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.max_input_chars_per_word = max_input_chars_per_word
        self.model_max_length = model_max_length
        self.special_tokens = [t for t in SPECIAL_TOKENS if t in self.vocab]
        self._special_split = re.compile(
            "(" + "|".join(re.escape(t) for t in self.special_tokens) + ")")

    # ------------------------------------------------------------------------------- loading
    @classmethod
    def from_vocab_file(cls, path, **options):
        """Read a BERT ``vocab.txt`` (one token per line, the line number is the id)."""
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                tokens = [line.rstrip("\n") for line in f]
        except (OSError, UnicodeDecodeError) as e:
            raise TokenizerFileError(f"cannot read vocabulary file {path!r}: {e}") from e
        try:
            return cls({t: i for i, t in enumerate(tokens)}, **options)
        except TokenizerError as e:
            raise TokenizerFileError(f"vocabulary file {path!r}: {e}") from e

    @classmethod
    def from_pretrained(cls, directory):
        """Read ``directory/vocab.txt`` and, when present, ``tokenizer_config.json`` (its
        ``do_lower_case``, ``strip_accents``, ``tokenize_chinese_chars``, ``model_max_length``)."""
        directory = os.fspath(directory)
        config_path = os.path.join(directory, "tokenizer_config.json")
        options = {}
        if os.path.exists(config_path):
            try:
                with open(config_path, encoding="utf-8") as f:
                    config = json.load(f)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
                raise TokenizerFileError(f"cannot read {config_path!r}: {e}") from e
            if not isinstance(config, dict):
                raise TokenizerFileError(f"{config_path!r} is not a JSON object")
            for key in ("do_lower_case", "strip_accents", "tokenize_chinese_chars",
                        "model_max_length"):
                if key in config:
                    options[key] = config[key]
        return cls.from_vocab_file(os.path.join(directory, "vocab.txt"), **options)

    def save(self, directory):
        """Write ``directory/vocab.txt`` and ``directory/tokenizer_config.json`` (BERT's layout,
        readable by ``from_pretrained`` here and by Hugging Face's ``BertTokenizer``)."""
        directory = os.fspath(directory)
        ids = sorted(self.ids_to_tokens)
        if ids != list(range(len(ids))):
            raise TokenizerError("WordPieceTokenizer.save: vocab.txt numbers tokens by line, so "
                                 f"the ids must be 0..{len(ids) - 1} without gaps")
        if any("\n" in t or "\r" in t for t in self.vocab):
            raise TokenizerError("WordPieceTokenizer.save: a token contains a line break, "
                                 "which vocab.txt cannot hold")
        config = {"tokenizer_class": "BertTokenizer", "do_lower_case": self.do_lower_case,
                  "strip_accents": self.strip_accents,
                  "tokenize_chinese_chars": self.tokenize_chinese_chars,
                  "model_max_length": self.model_max_length,
                  **{f"{t[1:-1].lower()}_token": t for t in self.special_tokens}}
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(self.ids_to_tokens[i] + "\n" for i in ids))
        with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=2)

    @property
    def vocab_size(self):
        return len(self.vocab)

    # ---------------------------------------------------------------------------- tokenizing
    def wordpiece(self, word):
        """One word → its pieces, greedy longest-match-first; ``["[UNK]"]`` if impossible."""
        if len(word) > self.max_input_chars_per_word:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            else:
                return ["[UNK]"]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text):
        """Text → WordPiece token strings (no [CLS]/[SEP] added)."""
        tokens = []
        for k, part in enumerate(self._special_split.split(text)):
            if k % 2:                      # a special token written in the text
                tokens.append(part)
                continue
            for word in basic_tokenize(part, self.do_lower_case, self.strip_accents,
                                       self.tokenize_chinese_chars):
                tokens.extend(self.wordpiece(word))
        return tokens

    def token_to_id(self, token):
        if token not in self.vocab:
            raise TokenizerError(f"WordPieceTokenizer: token {token!r} is not in the vocabulary")
        return self.vocab[token]

    def id_to_token(self, i):
        if i not in self.ids_to_tokens:
            raise TokenizerError(f"WordPieceTokenizer: id {i!r} is not in the vocabulary "
                                 f"(size {self.vocab_size})")
        return self.ids_to_tokens[i]

    # ------------------------------------------------------------------------------ encoding
    def _truncate(self, a, b, max_length, n_special):
        """Cut ``a`` (and ``b``) so that len(a) + len(b) + n_special ≤ max_length."""
        room = max_length - n_special
        if room < 0:
            raise TokenizerError(f"WordPieceTokenizer: max_length={max_length} leaves no room "
                                 f"for the {n_special} special tokens")
        if b is None:
            return a[:room], None
        if len(a) + len(b) <= room:
            return a, b
        keep_short = min(len(a), len(b))           # first try cutting only the longer one
        keep_long = room - keep_short if keep_short <= room // 2 else keep_short
        if keep_short + keep_long > room:          # both must be cut
            keep_short, keep_long = room // 2, room // 2 + room % 2
        if len(a) > len(b):
            return a[:keep_long], b[:keep_short]
        return a[:keep_short], b[:keep_long]

    def encode_plus(self, text, text_pair=None, max_length=None, truncation=False,
                    add_special_tokens=True):
        """Text (and an optional second text) → ``{"input_ids", "token_type_ids",
        "attention_mask"}`` as lists: ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]``.

        ``truncation=True`` cuts to ``max_length`` (default ``model_max_length``), special
        tokens included; a ``max_length`` without ``truncation`` is an error, not ignored."""
        if max_length is not None and not truncation:
            raise TokenizerError("WordPieceTokenizer: max_length is given but truncation=False; "
                                 "pass truncation=True to cut the sequence")
        a = [self.vocab[t] for t in self.tokenize(text)]
        b = None if text_pair is None else [self.vocab[t] for t in self.tokenize(text_pair)]
        n_special = (2 if b is None else 3) if add_special_tokens else 0
        if truncation:
            limit = self.model_max_length if max_length is None else max_length
            a, b = self._truncate(a, b, limit, n_special)
        if add_special_tokens:
            cls, sep = self.token_to_id("[CLS]"), self.token_to_id("[SEP]")
            a = [cls] + a + [sep]
            b = None if b is None else b + [sep]
        ids = a + (b or [])
        types = [0] * len(a) + [1] * len(b or [])
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids)}

    def encode(self, text, text_pair=None, max_length=None, truncation=False,
               add_special_tokens=True):
        """Text (and an optional second text) → ids; see ``encode_plus``."""
        return self.encode_plus(text, text_pair, max_length, truncation,
                                add_special_tokens)["input_ids"]

    def batch_encode(self, texts, text_pairs=None, padding=True, max_length=None,
                     truncation=True, add_special_tokens=True):
        """A list of texts (and of second texts) → ``{"input_ids", "attention_mask",
        "token_type_ids"}``, int64 arrays of shape (B, T).

        ``padding``: True / ``"longest"`` pads to the longest sequence with [PAD] (attention
        mask 0), ``"max_length"`` pads to ``max_length``; ``truncation`` as in ``encode_plus``."""
        if padding not in (True, "longest", "max_length"):
            raise TokenizerError(f"WordPieceTokenizer.batch_encode: padding must be True, "
                                 f"'longest' or 'max_length', got {padding!r}")
        if padding == "max_length" and max_length is None:
            raise TokenizerError("WordPieceTokenizer.batch_encode: padding='max_length' needs "
                                 "max_length")
        if text_pairs is not None and len(text_pairs) != len(texts):
            raise TokenizerError(f"WordPieceTokenizer.batch_encode: {len(texts)} texts but "
                                 f"{len(text_pairs)} text_pairs")
        pairs = text_pairs if text_pairs is not None else [None] * len(texts)
        rows = [self.encode_plus(t, p, max_length if truncation else None, truncation,
                                 add_special_tokens) for t, p in zip(texts, pairs)]
        T = max_length if padding == "max_length" else max((len(r["input_ids"]) for r in rows),
                                                            default=0)
        out = {"input_ids": np.full((len(rows), T), self.token_to_id("[PAD]"), dtype=np.int64),
               "attention_mask": np.zeros((len(rows), T), dtype=np.int64),
               "token_type_ids": np.zeros((len(rows), T), dtype=np.int64)}
        for i, row in enumerate(rows):
            n = len(row["input_ids"])
            if n > T:
                raise TokenizerError(f"WordPieceTokenizer.batch_encode: text {i} has {n} tokens, "
                                     f"more than max_length={T}; pass truncation=True")
            for key in out:
                out[key][i, :n] = row[key]
        return out

    # ------------------------------------------------------------------------------ decoding
    def decode(self, ids, skip_special_tokens=True):
        """Ids → text, as Hugging Face's WordPiece decoder does: ``##`` pieces join the previous
        token, others get a space before them, then " ." → "." , " n't" → "n't" and the like."""
        tokens = [self.id_to_token(int(i)) for i in ids]
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self.special_tokens]
        out = []
        for k, t in enumerate(tokens):
            if k > 0:
                t = t[2:] if t.startswith("##") else " " + t
            for dirty, clean in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","),
                                 (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                                 (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"),
                                 (" 're", "'re")):
                t = t.replace(dirty, clean)
            out.append(t)
        return "".join(out)

    def __repr__(self):
        return (f"WordPieceTokenizer(vocab_size={self.vocab_size}, "
                f"do_lower_case={self.do_lower_case})")
