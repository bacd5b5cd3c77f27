"""Small conversation corpora from the ``chatterbot-corpus`` package (``pip install
chatterbot-corpus``): YAML files ``data/<language>/<topic>.yml``, each a list of conversations.

    chatterbot_qa("english")       (question, answer, topic): 1,177 in English, 550 in Chinese
    chatterbot_topics("english")   Labeled (utterance, topic id), for topic classification

A conversation is a list of turns; each turn answers the one before it, so a conversation of
k turns gives k - 1 (question, answer) pairs. The files repeat themselves (tech_support.yml
holds its 10 exchanges ~100 times each): everything is deduplicated. Many questions have
several answers.
"""
from functools import lru_cache
from typing import NamedTuple

from .base import Labeled, package_file

__all__ = ["QA", "chatterbot_qa", "chatterbot_topics", "chatterbot_languages"]


class QA(NamedTuple):
    """One turn of a conversation and the turn that answers it, with the file's topic."""
    question: str
    answer: str
    topic: str


def _data_dir():
    return package_file("chatterbot_corpus", "__init__.py", "chatterbot-corpus").parent / "data"


def chatterbot_languages():
    """The languages the installed corpus has, sorted: ``['bengali', 'chinese', ...]``."""
    return sorted(p.name for p in _data_dir().iterdir() if p.is_dir())


@lru_cache(maxsize=None)
def _conversations(language):
    """``(topic, turns)`` for every conversation of a language, files in sorted order."""
    import yaml                    # a dependency of chatterbot-corpus; needed only here

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml's parser when built in
    folder = _data_dir() / language
    if not folder.is_dir():
        raise ValueError(f"chatterbot-corpus has no language {language!r}; it has "
                         f"{', '.join(chatterbot_languages())}")
    conversations = []
    for path in sorted(folder.glob("*.yml")):
        with open(path, encoding="utf-8") as f:
            document = yaml.load(f, Loader=loader) or {}
        for turns in document.get("conversations") or []:
            if isinstance(turns, str):     # a malformed entry (english/trivia.yml has one)
                continue
            turns = tuple(str(t).strip() for t in turns if t is not None and str(t).strip())
            conversations.append((path.stem, turns))
    return tuple(conversations)


def chatterbot_qa(language="english"):
    """Every (question, answer) of a language's conversations, once each.

    Returns:
        list of ``QA(question, answer, topic)`` (plain 3-tuples too), topic the file's name
        (``'ai'``, ``'food'``, ``'tech_support'``...). With ``split`` the default key is the
        question, so all answers to one question land in the same split.
    """
    pairs = (QA(question, answer, topic) for topic, turns in _conversations(language)
             for question, answer in zip(turns, turns[1:]))
    return list(dict.fromkeys(pairs))


def chatterbot_topics(language="english"):
    """Every distinct utterance of a language's corpus, labeled with its topic.

    An utterance found under two topics (``'Hello'``, ``'Yes.'``) is dropped: it has no
    single right answer. The topics are unbalanced (English: 509 trivia texts, 8 health),
    so score with macro F1, not accuracy alone.

    Returns:
        Labeled: ``examples`` a list of ``(text, topic id)``, ``label_names`` the sorted
        topics.
    """
    topics_of = {}
    for topic, turns in _conversations(language):
        for text in turns:
            topics_of.setdefault(text, set()).add(topic)
    names = sorted({topic for topic, _ in _conversations(language)})
    ids = {name: i for i, name in enumerate(names)}
    examples = [(text, ids[next(iter(topics))]) for text, topics in topics_of.items()
                if len(topics) == 1]
    return Labeled(examples, tuple(names))
