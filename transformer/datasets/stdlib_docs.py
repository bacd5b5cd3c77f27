"""An English corpus on every machine: the docstrings of Python's own standard library.

No package to install, nothing to download: ~2,300 docstrings, ~0.6M characters of technical
English (in Python 3.11), written by many hands over thirty years. Enough to pretrain a small
language model and watch it learn words, then phrases like "Return a new list".

The modules come from a fixed, sorted list of pure library modules. Modules that do
something when imported (``antigravity`` opens a browser, ``this`` prints a poem, ``tkinter``
opens a display) are not in it; a listed module missing from this Python build (``sqlite3``,
``lzma``... are optional) is skipped. For each module, in order: its own docstring, then its
public classes (each followed by its public methods) and functions, in sorted name order. A
docstring is taken from the object itself (``__doc__``), never inherited, and kept once. The
corpus is the same on every run of one Python version; another version has other docstrings.
"""
import importlib
import inspect
import warnings
from functools import lru_cache

__all__ = ["stdlib_docstrings", "STDLIB_MODULES"]

STDLIB_MODULES = tuple(sorted("""
    abc argparse array ast asyncio base64 bisect bz2 calendar cmath codecs collections
    colorsys concurrent.futures configparser contextlib copy csv dataclasses datetime decimal
    difflib dis email email.message enum filecmp fnmatch fractions ftplib functools getopt
    gettext glob graphlib gzip hashlib heapq hmac html html.parser http http.client imaplib
    inspect io ipaddress itertools json keyword linecache locale logging lzma math mimetypes
    multiprocessing numbers operator optparse os pathlib pickle pkgutil platform poplib pprint
    queue quopri random re reprlib sched secrets selectors shelve shlex shutil signal smtplib
    socket sqlite3 statistics string stringprep struct subprocess tarfile tempfile textwrap
    threading time timeit token tokenize trace traceback types typing unicodedata unittest
    urllib.parse urllib.request uuid warnings wave weakref xml.dom.minidom xml.etree.ElementTree
    zipfile zlib""".split()))


def _own_doc(obj):
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


def _public(namespace):
    return [(name, namespace[name]) for name in sorted(namespace) if not name.startswith("_")]


@lru_cache(maxsize=None)
def _docstrings():
    docs = []
    with warnings.catch_warnings():               # e.g. typing.io's DeprecationWarning
        warnings.simplefilter("ignore")
        for module_name in STDLIB_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            docs.append(_own_doc(module))
            for _, obj in _public(vars(module)):
                if inspect.ismodule(obj) or getattr(obj, "__module__", None) != module_name:
                    continue                          # imported from elsewhere
                if inspect.isclass(obj):
                    docs.append(_own_doc(obj))
                    docs += [_own_doc(member) for _, member in _public(vars(obj))
                             if callable(member) or isinstance(member, (property, classmethod,
                                                                        staticmethod))]
                elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
                    docs.append(_own_doc(obj))
    return tuple(dict.fromkeys(doc for doc in docs if doc))


def stdlib_docstrings(max_chars=None):
    """The docstrings of a fixed list of standard-library modules (``STDLIB_MODULES``).

    Args:
        max_chars: stop once this many characters are collected (the last docstring cut
            short); None for all of them.

    Returns:
        list[str], one docstring each (multi-line, indentation cleaned).
    """
    if max_chars is None:
        return list(_docstrings())
    if max_chars <= 0:
        raise ValueError(f"stdlib_docstrings: max_chars must be positive or None, got "
                         f"{max_chars!r}")
    docs, total = [], 0
    for doc in _docstrings():
        if total >= max_chars:
            break
        docs.append(doc[:max_chars - total])
        total += len(docs[-1])
    return docs
