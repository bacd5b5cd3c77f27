"""BERT's basic tokenizer: clean the text, then split it into words and punctuation.

The first of BERT's two stages (``wordpiece.py`` is the second), step by step as in Google's
``tokenization.py``:

1. **Clean**: drop U+0000, U+FFFD and control characters (Unicode category C*, except tab, LF
   and CR, which count as whitespace); turn every whitespace character (space, tab, LF, CR,
   category Zs) into a space.
2. **CJK**: put spaces around every CJK ideograph, so each is its own word.
3. **Case and accents** (uncased vocabularies): lower-case, then decompose (NFD) and drop the
   combining marks (category Mn): "Café" → "cafe".
4. **Split** on whitespace (Python's ``str.split``, which also splits at U+2028/U+2029), then
   cut each word before and after every punctuation character: ASCII 33–47, 58–64, 91–96,
   123–126 (so ``$ + < = > ^ ` | ~`` count, although Unicode calls them symbols) and Unicode
   category P*.

>>> basic_tokenize("Héllo,  WORLD!\\x00 我爱你")
['hello', ',', 'world', '!', '我', '爱', '你']
>>> basic_tokenize("Héllo, WORLD!", lower_case=False)
['Héllo', ',', 'WORLD', '!']

Matching Hugging Face: lower-casing is done one character at a time, as the ``tokenizers``
library (the "fast" BertTokenizer) does, so a final capital sigma becomes "σ", not "ς"
(Python's ``"ΟΔΟΣ".lower()`` applies the final-sigma rule and gives "οδος"). The CJK ranges are
BERT's own; ``tokenizers`` has a typo (U+2B920 for U+2B820) and so does not split
U+2B820–U+2B91F. HF's "slow" Python BertTokenizer also NFC-normalises first; that changes
nothing for uncased vocabularies. Two more differences from ``tokenizers`` come from its
character tables, not from BERT's rules: it keeps unassigned code points (category Cn, which
BERT drops as "control"), and its tables are older than Python's ``unicodedata``, so a character
assigned or re-categorised in a recent Unicode version can come out differently. For every
character whose category and decomposition are unchanged since Unicode 3.2 the two agree
(checked one by one, and by the Hypothesis oracle test).
"""
import unicodedata

__all__ = ["CJK_RANGES", "basic_tokenize", "clean_text", "strip_accents", "split_on_punctuation",
           "is_whitespace", "is_control", "is_punctuation", "is_cjk"]

# BERT's "Chinese character" blocks: CJK Unified Ideographs, Extension A, B, C, D, E(+F),
# Compatibility Ideographs, Compatibility Ideographs Supplement. (Hangul and kana are not here:
# Korean and Japanese words stay whole.)
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def is_whitespace(c):
    """Space, tab, LF, CR, or Unicode category Zs (e.g. U+00A0, U+3000)."""
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    """Unicode category C* (Cc, Cf, Cs, Co, Cn), except tab, LF and CR."""
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def is_punctuation(c):
    """All non-alphanumeric printable ASCII, plus Unicode category P*."""
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(c):
    """True for a code point in one of BERT's CJK ideograph blocks."""
    cp = ord(c)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def clean_text(text):
    """Step 1: drop NUL, U+FFFD and control characters; whitespace → " "."""
    return "".join(" " if is_whitespace(c) else c for c in text
                   if not (c == "\x00" or c == "\ufffd" or is_control(c)))


def strip_accents(text):
    """NFD, then drop the combining marks (category Mn): "é" → "e"."""
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")


def split_on_punctuation(word):
    """"don't!" → ["don", "'", "t", "!"]: every punctuation character is a word of its own."""
    pieces, current = [], ""
    for c in word:
        if is_punctuation(c):
            if current:
                pieces.append(current)
            pieces.append(c)
            current = ""
        else:
            current += c
    if current:
        pieces.append(current)
    return pieces


def basic_tokenize(text, lower_case=True, accents=None, tokenize_chinese_chars=True):
    """Steps 1–4 above. ``accents``: strip them (True), keep them (False) or, when None, strip
    exactly when lower-casing (BERT's default; HF's ``strip_accents=None``)."""
    text = clean_text(text)
    if tokenize_chinese_chars:
        text = "".join(f" {c} " if is_cjk(c) else c for c in text)
    words = []
    for word in text.split():
        if lower_case:
            word = "".join(c.lower() for c in word)
        if accents if accents is not None else lower_case:
            word = strip_accents(word)
        words.extend(split_on_punctuation(word))
    return words
