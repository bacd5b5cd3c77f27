"""The user's own data: plain text, labeled texts, and (source, target) pairs.

    read_text("corpus.txt") / read_text("folder/")   -> list[str], one per non-blank line
    read_labeled("reviews.tsv")                      -> Labeled of (text, label id)
    read_pairs("en-zh.tsv")                          -> list of (source, target)

Files are UTF-8 (a leading byte-order mark is allowed). Bytes that are not UTF-8 do not stop
the reading: each becomes U+FFFD (�) and a ``UnicodeWarning`` says how many there were, so a
Latin-1 or GBK file is noticed rather than silently garbled. A missing file raises
FileNotFoundError; an empty file, a malformed row or a missing field raises ValueError naming
the file and the line.

Table formats, chosen by the file's suffix:
    .tsv    one row per line, fields separated by a tab (no quoting: text may hold quotes)
    .csv    comma-separated, with "..." quoting as spreadsheets write it
    .jsonl  one JSON object per line: {"text": ..., "label": ...} / {"source": ..., "target": ...}
A first row whose fields are exactly the column names (``text,label`` or ``label,text``;
``source,target``) is a header: it is skipped, and sets the column order.
"""
import csv
import io
import json
import re
import warnings
from pathlib import Path

from .base import Labeled

__all__ = ["read_text", "read_labeled", "read_pairs"]

_TABLE_SUFFIXES = (".tsv", ".csv", ".jsonl")


def _decode(path):
    """The file's text, with each byte that is not UTF-8 replaced by U+FFFD and counted.

    ``surrogateescape`` turns each undecodable byte into one lone surrogate U+DC80..U+DCFF,
    which no valid UTF-8 text can contain; they are counted and replaced in one pass.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}" if not path.exists()
                                else f"{path} is not a file")
    text = path.read_bytes().decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    text, replaced = re.subn("[\udc80-\udcff]", "\ufffd", text)
    if replaced:
        warnings.warn(f"{path}: {replaced} byte(s) are not UTF-8 and were replaced by U+FFFD; "
                      f"convert the file to UTF-8 (e.g. iconv -f GBK -t UTF-8)", UnicodeWarning,
                      stacklevel=3)
    return text


def read_text(path):
    """The non-blank lines of a text file, or of every ``.txt`` file in a folder.

    A folder's files are read in sorted name order (subfolders too), so the corpus is the
    same on every machine. Lines keep their inner spaces and lose their line ending.

    Returns:
        list[str]. Raises ValueError when there is no text at all (an empty file, a folder
        without .txt files), naming the path.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise ValueError(f"{path} is a folder without .txt files; read_text reads a text "
                             f"file or a folder of .txt files")
    else:
        files = [path]
    lines = [line.rstrip() for file in files for line in _decode(file).splitlines()
             if line.strip()]
    if not lines:
        raise ValueError(f"{path} holds no text (only blank lines or nothing); a corpus needs "
                         f"at least one non-blank line")
    return lines


def _rows(path, columns):
    """The rows of a TSV/CSV/JSONL file as ``(line_no, (value per column))`` tuples."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _TABLE_SUFFIXES:
        raise ValueError(f"{path}: unknown table format {suffix!r}; expected one of "
                         f"{', '.join(_TABLE_SUFFIXES)} with columns {', '.join(columns)}")
    text = _decode(path)
    if not text.strip():
        raise ValueError(f"{path} is empty; expected rows of {', '.join(columns)}")
    rows = _json_rows(path, text, columns) if suffix == ".jsonl" else \
        _delimited_rows(path, text, columns, "\t" if suffix == ".tsv" else ",")
    if not rows:
        raise ValueError(f"{path} has a header but no rows of {', '.join(columns)}")
    return rows


def _json_rows(path, text, columns):
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{line_no}: not valid JSON ({e.msg}); each line must be "
                             f"one object with keys {', '.join(columns)}") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{line_no}: expected a JSON object with keys "
                             f"{', '.join(columns)}, got {type(record).__name__}")
        missing = [c for c in columns if c not in record]
        if missing:
            raise ValueError(f"{path}:{line_no}: missing key(s) {', '.join(missing)}; expected "
                             f"keys {', '.join(columns)}")
        rows.append((line_no, tuple(_field(path, line_no, c, record[c]) for c in columns)))
    return rows


def _delimited_rows(path, text, columns, delimiter):
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    order, rows = list(range(len(columns))), []
    try:
        for fields in reader:
            line_no = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            names = [f.strip().lower() for f in fields]
            if not rows and sorted(names) == sorted(columns):     # a header row
                order = [names.index(c) for c in columns]
                continue
            if len(fields) != len(columns):
                raise ValueError(f"{path}:{line_no}: expected {len(columns)} fields "
                                 f"({', '.join(columns)}) separated by {delimiter!r}, got "
                                 f"{len(fields)}: {fields!r}")
            rows.append((line_no, tuple(_field(path, line_no, c, fields[i])
                                        for c, i in zip(columns, order))))
    except csv.Error as e:
        raise ValueError(f"{path}:{reader.line_num}: malformed CSV ({e})") from None
    return rows


def _field(path, line_no, column, value):
    """A field as stripped text; an empty one is an error naming file, line and column."""
    if isinstance(value, (dict, list)) or value is None:
        raise ValueError(f"{path}:{line_no}: {column} must be text or a number, got {value!r}")
    value = str(value).strip()
    if not value:
        raise ValueError(f"{path}:{line_no}: {column} is empty")
    return value


def read_labeled(path, label_names=None):
    """Texts and their labels from a TSV, CSV or JSONL file with columns text, label.

    The labels may be any strings (``pos``, ``spam``, ``3``...). They are numbered in sorted
    order (numerically when every label is an integer, so ``0, 1, 2, 10`` keep their order),
    or, when ``label_names`` is given (a trained classifier's classes), by their place in it:
    then a label that is not one of them is an error naming its line.

    Returns:
        Labeled: ``examples`` a list of ``(text, label id)``, ``label_names[id]`` the label
        as written in the file.
    """
    rows = _rows(path, ("text", "label"))
    if label_names is None:
        label_names = sorted({label for _, (_, label) in rows}, key=_label_order)
    names = [str(name) for name in label_names]
    ids = {name: i for i, name in enumerate(names)}
    if len(ids) != len(names):
        repeated = next(name for name in names if names.count(name) > 1)
        raise ValueError(f"read_labeled: label_names repeats {repeated!r}; each class needs "
                         f"one name, got {list(label_names)!r}")
    for line_no, (_, label) in rows:
        if label not in ids:
            raise ValueError(f"{path}:{line_no}: unknown label {label!r}; expected one of "
                             f"{', '.join(ids)}")
    return Labeled([(text, ids[label]) for _, (text, label) in rows], tuple(names))


def _label_order(label):
    """Integers first, in numeric order, then other labels alphabetically."""
    return (0, int(label), "") if re.fullmatch(r"-?\d+", label) else (1, 0, label)


def read_pairs(path):
    """(source, target) pairs, e.g. for translation, from a TSV, CSV or JSONL file.

    Returns:
        list of (source, target), two str.
    """
    return [pair for _, pair in _rows(path, ("source", "target"))]
