"""CharTokenizer: one token per Unicode code point, the vocabulary read off a corpus.

Ids: the special tokens first (the unknown token, then ``special_tokens`` in order), then the
corpus's distinct characters in code-point order. A character never seen in the corpus encodes
to the unknown token's id (or raises, with ``unk_token=None``). ``encode`` never looks for special
tokens inside the text: ``"<unk>"`` in a string is five characters; put special ids in by hand
(``tok.token_to_id("<bos>")``).

"Character" means code point, as Python's ``str`` does: an emoji built with zero-width joiners
(👩‍💻) is three tokens, and a decomposed "é" (e + U+0301) is two.

>>> tok = CharTokenizer.from_text("hello world", special_tokens=["<bos>"])
>>> tok.vocab_size            # <unk>, <bos>, and the 8 distinct characters " dehlorw"
10
>>> tok.encode("hello")
[5, 4, 6, 6, 7]
>>> tok.decode([5, 4, 6, 6, 7])
'hello'
>>> tok.encode("hi")          # 'i' is not in the corpus
[5, 0]
>>> tok.decode([1, 5, 0])
'<bos>h<unk>'
>>> zh = CharTokenizer.from_text("我是一个程序员，喜欢编程和解决问题")
>>> ids = zh.encode("我是程序员")
>>> ids, zh.decode(ids)
([8, 9, 11, 7, 4], '我是程序员')
"""
from .base import TokenizerError, TokenizerFileError, read_json, require_fields, write_json

__all__ = ["CharTokenizer"]


class CharTokenizer:
    """Characters ↔ ids; ``unk_token`` (default ``"<unk>"``, ``None`` for none) is id 0."""

    def __init__(self, chars, special_tokens=(), unk_token="<unk>"):
        specials = list(special_tokens)
        if unk_token is not None and unk_token not in specials:
            specials.insert(0, unk_token)
        tokens = specials + list(chars)
        seen = set()
        for t in tokens:
            if not isinstance(t, str) or t == "":
                raise TokenizerError(f"CharTokenizer: tokens must be non-empty strings, got {t!r}")
            if t in seen:
                raise TokenizerError(f"CharTokenizer: token {t!r} appears twice (a special token "
                                     f"equal to a character, or a repeated character)")
            seen.add(t)
        for c in chars:
            if len(c) != 1:
                raise TokenizerError(f"CharTokenizer: {c!r} is not a single character")
        self.special_tokens = specials
        self.unk_token = unk_token
        self._itos = tokens
        self._stoi = {t: i for i, t in enumerate(tokens)}

    @classmethod
    def from_text(cls, text, special_tokens=(), unk_token="<unk>"):
        """Build the vocabulary from every distinct character of ``text``."""
        return cls(sorted(set(text)), special_tokens, unk_token)

    @property
    def vocab_size(self):
        return len(self._itos)

    def token_to_id(self, token):
        """The id of a character or special token; TokenizerError if it has none."""
        if token not in self._stoi:
            raise TokenizerError(f"CharTokenizer: {token!r} is not in the vocabulary")
        return self._stoi[token]

    def id_to_token(self, i):
        """The character or special token with id ``i``; TokenizerError if out of range."""
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(self._itos):
            raise TokenizerError(f"CharTokenizer: id {i!r} is outside the vocabulary "
                                 f"[0, {len(self._itos)})")
        return self._itos[i]

    def encode(self, text):
        """Text → ids, one per character (unknown characters → the unknown token's id)."""
        unk = self._stoi.get(self.unk_token) if self.unk_token is not None else None
        ids = [self._stoi.get(c, unk) for c in text]
        if unk is None and None in ids:
            pos = ids.index(None)
            raise TokenizerError(f"CharTokenizer: character {text[pos]!r} (U+{ord(text[pos]):04X}) "
                                 f"at position {pos} is not in the vocabulary and there is no "
                                 f"unk_token")
        return ids

    def decode(self, ids, skip_special_tokens=False):
        """Ids → text; special tokens appear as their strings unless skipped."""
        tokens = [self.id_to_token(int(i)) for i in ids]
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self.special_tokens]
        return "".join(tokens)

    def save(self, path):
        """Write the vocabulary to ``path`` as JSON (atomically)."""
        chars = self._itos[len(self.special_tokens):]
        write_json(path, "char", {"chars": chars, "special_tokens": self.special_tokens,
                                  "unk_token": self.unk_token})

    @classmethod
    def load(cls, path):
        """Read a tokenizer written by ``save``; TokenizerFileError naming ``path`` if bad."""
        data = read_json(path, "char")
        require_fields(data, path, ["chars", "special_tokens", "unk_token"])
        try:
            return cls(data["chars"], data["special_tokens"], data["unk_token"])
        except (TokenizerError, TypeError) as e:
            raise TokenizerFileError(f"tokenizer file {path!r} holds a bad vocabulary: {e}") from e

    def __repr__(self):
        return (f"CharTokenizer(vocab_size={self.vocab_size}, "
                f"special_tokens={self.special_tokens!r})")
