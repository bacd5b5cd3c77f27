"""Tokenizers: text ↔ integer ids.

- ``CharTokenizer`` — one id per character, vocabulary read off a corpus (char.py).
- ``BPETokenizer`` — byte-level byte-pair encoding trained from scratch, minbpe-style (bpe.py).
- ``WordPieceTokenizer`` — BERT's tokenizer, read from a ``vocab.txt`` (wordpiece.py,
  on top of BERT's basic tokenizer in bert_basic.py).

All three save/load JSON (WordPiece reads BERT's own files) and raise ``TokenizerError`` for bad
arguments and ``TokenizerFileError`` (naming the file) for bad files.
"""
from .base import TokenizerError, TokenizerFileError
from .bpe import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, BPETokenizer
from .char import CharTokenizer
from .wordpiece import WordPieceTokenizer

__all__ = ["TokenizerError", "TokenizerFileError", "CharTokenizer", "BPETokenizer", "WordPieceTokenizer",
           "GPT2_SPLIT_PATTERN", "GPT4_SPLIT_PATTERN"]
