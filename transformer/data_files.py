"""The pipeline's inputs by name or path, on top of ``transformer.datasets``.

    corpus   "peoples-daily" (Chinese news), "stdlib-docs" (English docstrings) or a path: a
             UTF-8 text file, or a folder of .txt files (``datasets.read_text``); or several
             of these joined by "+" ("peoples-daily+reviews.txt"): their lines in that order
    task     "sentiment" (Chinese reviews: negative / positive), "topics-en" / "topics-zh"
             (chatterbot utterances by topic) or a path: a TSV / CSV / JSONL file of text,
             label (``datasets.read_labeled``); or a tagging task: "segmentation" (People's
             Daily characters tagged B/M/E/S: where each word begins and ends) or "pos"
             (People's Daily words tagged with their part of speech, 44 tags)

Bytes that are not UTF-8 are read as U+FFFD and reported through ``warn`` (the datasets
module's ``UnicodeWarning``, shown as one line). Missing files raise FileNotFoundError; bad
contents raise ValueError (``DataError`` here) naming the file and the line.
"""
import os
import warnings

import numpy as np

from minigrad.errors import MinigradError

from . import datasets

__all__ = ["DataError", "CORPORA", "TASKS", "TAGGING_TASKS", "load_corpus", "load_task",
           "is_tagging", "subsample"]

CORPORA = {"peoples-daily": datasets.peoples_daily_text,
           "stdlib-docs": datasets.stdlib_docstrings}
TASKS = {"sentiment": datasets.chinese_sentiment,
         "topics-en": lambda: datasets.chatterbot_topics("english"),
         "topics-zh": lambda: datasets.chatterbot_topics("chinese")}
TAGGING_TASKS = {"segmentation": datasets.segmentation_tags,   # (characters, one tag each)
                 "pos": datasets.peoples_daily_pos}             # (words, one tag each)


class DataError(MinigradError, ValueError):
    """An input the pipeline cannot use; the message names it and what was expected."""


def _reporting(warn, read, *args):
    """``read(*args)``, with its UnicodeWarnings passed to ``warn`` as one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnicodeWarning)
        result = read(*args)
    for w in caught:
        if issubclass(w.category, UnicodeWarning):
            warn(f"warning: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def _is_path(name):
    return "/" in name or "\\" in name or "." in name


def load_corpus(corpus, warn=print):
    """The lines of a named corpus or of the user's file or folder; of several joined by "+",
    their lines one after the other (a path that exists is read whole, "+" and all)."""
    if corpus in CORPORA:
        return CORPORA[corpus]()
    if "+" in corpus and not os.path.exists(corpus):
        return [line for part in corpus.split("+") for line in load_corpus(part, warn)]
    if not _is_path(corpus):
        raise DataError(f"unknown corpus {corpus!r}: expected {', '.join(CORPORA)} or the path "
                        "of a text file or folder (several joined by '+')")
    return _reporting(warn, datasets.read_text, corpus)


def load_task(task, label_names=None, warn=print):
    """``(examples, label_names)``: (text, label id) pairs of a named task or labeled file.
    ``label_names`` (a trained classifier's) fixes the ids; another label is an error."""
    if task in TAGGING_TASKS:
        data = TAGGING_TASKS[task]()
        index = {tag: i for i, tag in enumerate(data.label_names)}
        return ([(text, [index[t] for t in tags]) for text, tags in data.examples],
                tuple(data.label_names))
    if task in TASKS:
        data = TASKS[task]()
    elif not _is_path(task):
        raise DataError(f"unknown task {task!r}: expected {', '.join(TASKS)} or the path of a "
                        "TSV / CSV / JSONL file of text, label")
    else:
        data = _reporting(warn, datasets.read_labeled, task, label_names)
    if label_names is None and len(data.label_names) < 2:
        raise DataError(f"{task}: every example has the label {data.label_names[0]!r}; a "
                        "classifier needs at least two classes")
    return list(data.examples), tuple(data.label_names)


def is_tagging(task):
    """True for a task with one label per character or per word."""
    return task in TAGGING_TASKS


def subsample(items, limit, seed):
    """At most ``limit`` items (0: all), drawn at random with ``seed``, in their order.

    >>> subsample(list("abcdef"), 3, seed=0)
    ['c', 'd', 'f']
    """
    if not limit or limit >= len(items):
        return list(items)
    keep = np.sort(np.random.default_rng(seed).permutation(len(items))[:limit])
    return [items[i] for i in keep]
