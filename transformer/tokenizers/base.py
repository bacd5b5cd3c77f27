"""What the three tokenizers share: their errors and an atomic, checked JSON file format.

A saved tokenizer is one JSON object ``{"type": "<kind>", "version": 1, ...}``. ``write_json``
writes it atomically (a temporary file in the same folder, then ``os.replace``), so a crash
never leaves half a file behind; ``read_json`` checks the type and version and names the file in
every error.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "tok.json")
>>> write_json(path, "char", {"chars": ["a", "b"]})
>>> read_json(path, "char")["chars"]
['a', 'b']
>>> read_json(path, "bpe")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
transformer.tokenizers.base.TokenizerFileError: ... holds a 'char' tokenizer, expected 'bpe'
"""
import json
import os

from minigrad.errors import MinigradError
from minigrad.serialization import atomic_write

__all__ = ["TokenizerError", "TokenizerFileError", "FORMAT_VERSION", "write_json", "read_json",
           "require_fields"]

FORMAT_VERSION = 1


class TokenizerError(MinigradError, ValueError):
    """A tokenizer got an argument it cannot use: an unknown token or id, a bad vocabulary size,
    a special token that collides with another."""


class TokenizerFileError(MinigradError, OSError):
    """A tokenizer file (JSON, ``vocab.txt``) is missing, unreadable or not what it should be;
    the message names the file."""


def write_json(path, kind, fields):
    """Write ``{"type": kind, "version": FORMAT_VERSION, **fields}`` to ``path`` atomically."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump({"type": kind, "version": FORMAT_VERSION, **fields}, f, ensure_ascii=False)


def read_json(path, kind):
    """Read a file written by ``write_json(path, kind, ...)``; return its dict (type included)."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise TokenizerFileError(f"cannot read tokenizer file {path!r}: {e}") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TokenizerFileError(f"tokenizer file {path!r} is not valid JSON: {e}") from e
    if not isinstance(data, dict) or "type" not in data:
        raise TokenizerFileError(f"tokenizer file {path!r} is not a minigrad tokenizer "
                                 f"(expected a JSON object with a 'type' field)")
    if data["type"] != kind:
        raise TokenizerFileError(f"tokenizer file {path!r} holds a {data['type']!r} tokenizer, "
                                 f"expected {kind!r}")
    if data.get("version") != FORMAT_VERSION:
        raise TokenizerFileError(f"tokenizer file {path!r} has format version "
                                 f"{data.get('version')!r}, this code reads {FORMAT_VERSION}")
    return data


def require_fields(data, path, names):
    """Raise TokenizerFileError naming ``path`` unless every key in ``names`` is in ``data``."""
    missing = [n for n in names if n not in data]
    if missing:
        raise TokenizerFileError(f"tokenizer file {path!r} lacks the field(s) {missing}")
