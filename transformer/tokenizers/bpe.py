"""BPETokenizer: byte-level byte-pair encoding, trained from scratch (minbpe-style).

Text → UTF-8 bytes (ids 0..255) → repeatedly replace the most frequent adjacent pair of ids by a
new id (256, 257, ...). ``train`` learns the merges; ``encode`` applies them in the order they
were learned; ``decode`` concatenates each id's bytes and decodes UTF-8. Because every byte is a
token, nothing is ever unknown and ``decode(encode(s)) == s`` for every string — lone
surrogates included (bytes are made with ``surrogatepass``).

Wikipedia's example, "aaabdaaabac": aa → Z, then ab → Y, then ZY → X, giving "XdXac":

>>> tok = BPETokenizer()
>>> tok.train("aaabdaaabac", vocab_size=256 + 3)
>>> tok.merges                      # (pair) → new id, in the order learned
{(97, 97): 256, (97, 98): 257, (256, 257): 258}
>>> tok.encode("aaabdaaabac")       # X d X a c
[258, 100, 258, 97, 99]
>>> tok.decode([258, 100])
'aaabd'
>>> tok.register_special_tokens({"<|endoftext|>": 259})
>>> tok.encode("ab<|endoftext|>", allowed_special="all")
[257, 259]

**Ties.** When two pairs are equally frequent, the smaller pair (compared as a tuple of ids)
is merged first. (minbpe takes whichever pair it met first in the text, so merge tables can
differ from minbpe's on ties; above, minbpe merges (256, 97) before (97, 98).)

**Pre-split.** With ``pattern`` (a regular expression), training and encoding first cut the text
into chunks (``re.findall``) and merges never cross a chunk boundary, as in GPT-2/GPT-4. Their
patterns need the ``regex`` module's ``\\p{L}``/``\\p{N}``; ``GPT2_SPLIT_PATTERN`` and
``GPT4_SPLIT_PATTERN`` here are rewrites for the standard ``re``: letters are ``[^\\W\\d_]``
(which also takes non-decimal numerals such as "²" as letters), numbers are ``\\d`` (decimal
digits only), and the possessive quantifiers are dropped (they change nothing in these
patterns). Every character is matched by some branch, so no text is lost. The default,
``pattern=None``, is no pre-split: the whole text is one sequence.

**Fast training.** Counting all pairs again after every merge costs O(text) per merge. Instead
the text is held once as a doubly linked list of positions (distinct chunks once each, weighted
by how often they occur); for every pair we keep its count and the set of positions where it
starts, plus a heap of (−count, pair) with stale entries skipped on pop. A merge visits only
the positions of the merged pair and updates the counts of the pairs on either side, so
training costs about O(text · log) overall. ``encode`` uses the same idea per chunk: a heap of
(merge rank, position), lowest rank first, equal ranks left to right — the same result as
minbpe's "merge the lowest-ranked pair everywhere, repeat".
"""
import heapq
import re
from collections import Counter, defaultdict

from .base import TokenizerError, TokenizerFileError, read_json, require_fields, write_json

__all__ = ["BPETokenizer", "GPT2_SPLIT_PATTERN", "GPT4_SPLIT_PATTERN"]

GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
GPT4_SPLIT_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|(?:[^\r\n\w]|_)?[^\W\d_]+|\d{1,3}"""
                      r"""| ?(?:[^\s\w]|_)+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+""")


def _to_bytes(text):
    return text.encode("utf-8", errors="surrogatepass")


class BPETokenizer:
    """Byte-level BPE. ``merges``: {(id, id): new id}; ``vocab``: {id: bytes}."""

    def __init__(self, pattern=None):
        self.pattern = pattern
        self._regex = re.compile(pattern) if pattern is not None else None
        self.special_tokens = {}
        self._set_merges({})

    @property
    def vocab_size(self):
        """Bytes + merges + special tokens."""
        return 256 + len(self.merges) + len(self.special_tokens)

    def _chunks(self, text):
        if self._regex is None:
            return [text] if text else []
        return self._regex.findall(text)

    # ----------------------------------------------------------------------------- training
    def train(self, text, vocab_size):
        """Learn ``vocab_size - 256`` merges from ``text`` (fewer if the text runs out of pairs).

        Replaces any earlier merges; special tokens stay and must keep ids ≥ the new vocabulary.
        """
        if not isinstance(vocab_size, int) or vocab_size < 256:
            raise TokenizerError(f"BPETokenizer.train: vocab_size must be an int ≥ 256 (the "
                                 f"byte tokens), got {vocab_size!r}")
        if self.special_tokens and min(self.special_tokens.values()) < vocab_size:
            raise TokenizerError(f"BPETokenizer.train: vocab_size={vocab_size} would give merges "
                                 f"the ids of special tokens {self.special_tokens}")
        # The text as linked positions: tok[i], its neighbours prv[i]/nxt[i] (-1 at a chunk's
        # ends), and w[i], how many times its chunk occurs.
        tok, prv, nxt, w = [], [], [], []
        for chunk, count in Counter(self._chunks(text)).items():
            data = _to_bytes(chunk)
            if not data:
                continue               # a user pattern that matches empty strings
            start = len(tok)
            tok.extend(data)
            prv.extend(range(start - 1, start + len(data) - 1))
            nxt.extend(range(start + 1, start + len(data) + 1))
            prv[start] = -1
            nxt[-1] = -1
            w.extend([count] * len(data))
        counts = defaultdict(int)      # pair → weighted number of occurrences
        where = defaultdict(set)       # pair → positions where it starts
        for i, j in enumerate(nxt):
            if j != -1:
                counts[tok[i], tok[j]] += w[i]
                where[tok[i], tok[j]].add(i)
        heap = [(-c, p) for p, c in counts.items()]
        heapq.heapify(heap)

        def add(pair, i, weight):
            counts[pair] += weight
            where[pair].add(i)
            touched.add(pair)

        def remove(pair, i, weight):
            counts[pair] -= weight
            if pair in where:
                where[pair].discard(i)
            touched.add(pair)

        merges = {}
        for new in range(256, vocab_size):
            while heap and (heap[0][0] >= 0 or counts.get(heap[0][1]) != -heap[0][0]):
                heapq.heappop(heap)    # stale: the pair's count changed since it was pushed
            if not heap:
                break
            a, b = pair = heapq.heappop(heap)[1]
            merges[pair] = new
            touched = set()
            for i in sorted(where.pop(pair)):
                j = nxt[i]
                if tok[i] != a or j == -1 or tok[j] != b:
                    continue           # an overlapping occurrence already merged ("aaa")
                h, q, wi = prv[i], nxt[j], w[i]
                if h != -1:
                    remove((tok[h], a), h, wi)
                    add((tok[h], new), h, wi)
                if q != -1:
                    remove((b, tok[q]), j, wi)
                    add((new, tok[q]), i, wi)
                    prv[q] = i
                counts[pair] -= wi
                tok[i], tok[j], nxt[i] = new, -1, q
            del counts[pair]
            touched.discard(pair)
            for p in touched:
                if counts[p] > 0:
                    heapq.heappush(heap, (-counts[p], p))
                else:
                    del counts[p]
                    where.pop(p, None)
        self._set_merges(merges)

    def _set_merges(self, merges):
        self.merges = dict(merges)
        self.vocab = {i: bytes([i]) for i in range(256)}
        for (a, b), new in self.merges.items():
            self.vocab[new] = self.vocab[a] + self.vocab[b]
        self._cache = {}

    # ------------------------------------------------------------------------- special tokens
    def register_special_tokens(self, special_tokens):
        """Add special tokens, ``{"<|endoftext|>": id}``; ids must lie above the merges."""
        first_free = 256 + len(self.merges)
        taken = set(self.special_tokens.values())
        for name, i in special_tokens.items():
            if not isinstance(name, str) or not name:
                raise TokenizerError(f"BPETokenizer: special token {name!r} must be a non-empty "
                                     f"string")
            if not isinstance(i, int) or i < first_free or i in taken:
                raise TokenizerError(f"BPETokenizer: special token {name!r} needs an unused int "
                                     f"id ≥ {first_free} (bytes + merges), got {i!r}")
            taken.add(i)
        self.special_tokens = {**self.special_tokens, **special_tokens}

    # --------------------------------------------------------------------------- encode/decode
    def _encode_chunk(self, data):
        """Bytes → ids: apply merges lowest rank first (rank = new id), equal ranks leftmost."""
        ids = list(data)
        nxt = list(range(1, len(ids))) + [-1]
        prv = list(range(-1, len(ids) - 1))
        heap = []
        for i in range(len(ids) - 1):
            new = self.merges.get((ids[i], ids[i + 1]))
            if new is not None:
                heap.append((new, i, ids[i], ids[i + 1]))
        heapq.heapify(heap)
        while heap:
            new, i, a, b = heapq.heappop(heap)
            j = nxt[i]
            if ids[i] != a or j == -1 or ids[j] != b:
                continue               # stale: a neighbour was merged first
            q = nxt[j]
            ids[i], ids[j], nxt[i] = new, -1, q
            if q != -1:
                prv[q] = i
                right = self.merges.get((new, ids[q]))
                if right is not None:
                    heapq.heappush(heap, (right, i, new, ids[q]))
            h = prv[i]
            if h != -1:
                left = self.merges.get((ids[h], new))
                if left is not None:
                    heapq.heappush(heap, (left, h, ids[h], new))
        out, i = [], 0
        while i != -1 and ids:
            out.append(ids[i])
            i = nxt[i]
        return out

    def encode_ordinary(self, text):
        """Text → ids, treating special-token strings as ordinary text."""
        ids = []
        for chunk in self._chunks(text):
            if chunk not in self._cache:
                self._cache[chunk] = self._encode_chunk(_to_bytes(chunk))
            ids.extend(self._cache[chunk])
        return ids

    def encode(self, text, allowed_special="none_raise"):
        """Text → ids. ``allowed_special``: ``"all"`` (special-token strings in the text become
        their ids), ``"none"`` (they are ordinary text), ``"none_raise"`` (TokenizerError if one
        occurs; the default, as in tiktoken) or a set of names to recognise."""
        if allowed_special == "all":
            special = self.special_tokens
        elif allowed_special in ("none", "none_raise"):
            special = {}
            if allowed_special == "none_raise":
                found = [s for s in self.special_tokens if s in text]
                if found:
                    raise TokenizerError(f"BPETokenizer.encode: the text contains special "
                                         f"token(s) {found}; pass allowed_special='all' to "
                                         f"encode them as such or 'none' as plain text")
        elif isinstance(allowed_special, (set, frozenset, list, tuple)):
            unknown = set(allowed_special) - set(self.special_tokens)
            if unknown:
                raise TokenizerError(f"BPETokenizer.encode: {sorted(unknown)} are not "
                                     f"registered special tokens")
            special = {s: self.special_tokens[s] for s in allowed_special}
        else:
            raise TokenizerError(f"BPETokenizer.encode: allowed_special must be 'all', 'none', "
                                 f"'none_raise' or a set of names, got {allowed_special!r}")
        if not special:
            return self.encode_ordinary(text)
        # Longest names first, so "<|a|>" never hides "<|a|>x" when both are registered.
        names = sorted(special, key=len, reverse=True)
        parts = re.split("(" + "|".join(re.escape(s) for s in names) + ")", text)
        ids = []
        for k, part in enumerate(parts):     # odd positions hold the separators
            ids.extend([special[part]] if k % 2 else self.encode_ordinary(part))
        return ids

    def decode(self, ids):
        """Ids → text. Byte sequences that are not valid UTF-8 (e.g. half a character) decode
        to U+FFFD, as in minbpe."""
        inverse = {i: s.encode("utf-8") for s, i in self.special_tokens.items()}
        parts = []
        for i in ids:
            i = int(i)
            if i in self.vocab:
                parts.append(self.vocab[i])
            elif i in inverse:
                parts.append(inverse[i])
            else:
                raise TokenizerError(f"BPETokenizer.decode: id {i} is neither a byte, a merge "
                                     f"nor a special token (vocab_size {self.vocab_size})")
        data = b"".join(parts)
        try:
            return data.decode("utf-8", errors="surrogatepass")
        except UnicodeDecodeError:
            return data.decode("utf-8", errors="replace")

    # ----------------------------------------------------------------------------- save/load
    def save(self, path):
        """Write pattern, merges (in order) and special tokens to ``path`` as JSON (atomically)."""
        write_json(path, "bpe", {"pattern": self.pattern,
                                 "merges": [list(pair) for pair in self.merges],
                                 "special_tokens": self.special_tokens})

    @classmethod
    def load(cls, path):
        """Read a tokenizer written by ``save``; TokenizerFileError naming ``path`` if bad."""
        data = read_json(path, "bpe")
        require_fields(data, path, ["pattern", "merges", "special_tokens"])
        try:
            tok = cls(data["pattern"])
        except (re.error, TypeError) as e:
            raise TokenizerFileError(f"tokenizer file {path!r}: bad pattern: {e}") from e
        merges = {}
        for k, pair in enumerate(data["merges"]):
            new = 256 + k
            if (not isinstance(pair, list) or len(pair) != 2
                    or not all(isinstance(x, int) and 0 <= x < new for x in pair)):
                raise TokenizerFileError(f"tokenizer file {path!r}: merge #{k} is {pair!r}, "
                                         f"expected two ids below {new}")
            if tuple(pair) in merges:
                raise TokenizerFileError(f"tokenizer file {path!r}: merge #{k} {pair!r} "
                                         f"repeats an earlier merge")
            merges[tuple(pair)] = new
        tok._set_merges(merges)
        try:
            tok.register_special_tokens(data["special_tokens"])
        except (TokenizerError, AttributeError) as e:
            raise TokenizerFileError(f"tokenizer file {path!r}: bad special tokens: {e}") from e
        return tok

    def __repr__(self):
        return (f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
                f"pattern={'None' if self.pattern is None else 'set'}, "
                f"special_tokens={len(self.special_tokens)})")
