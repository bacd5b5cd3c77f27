"""Where the lessons are, and what the index (``lessons/README.md``) says about each.

A lesson is a file ``NN_topic.py`` in this folder; ``NN`` is its number. The index is the
Markdown table of ``README.md`` with the columns lesson | FORMULAS ids | what you learn |
runtime; the ids cell may name ranges (``D1–D6``) and notes in brackets (``C1 (intro)``).

>>> parse_ids("A1, A4 (partly); D1–D3")
['A1', 'A4', 'D1', 'D2', 'D3']
"""
import re
from dataclasses import dataclass
from pathlib import Path

from lessons.cells import parse_cells, title

__all__ = ["LESSONS_DIR", "Lesson", "LessonNotFound", "find_lessons", "find_lesson",
           "parse_ids", "read_index", "describe"]

LESSONS_DIR = Path(__file__).resolve().parent

_ID_OR_RANGE = re.compile(r"\b([A-F])(\d+)(?:\s*[–—-]\s*(?:\1)?(\d+))?\b")


class LessonNotFound(LookupError):
    """No lesson has the number asked for; the message lists the ones that exist."""


@dataclass(frozen=True)
class Lesson:
    number: str      # "04"
    path: Path
    title: str       # the first markdown heading, without "Lesson NN —"
    ids: tuple       # FORMULAS ids from the index, e.g. ("C3", "D3")
    runtime: str     # from the index, e.g. "~4 s"


def find_lessons(directory=LESSONS_DIR):
    """The lesson files ``NN_*.py`` of ``directory``, sorted by number."""
    return sorted(Path(directory).glob("[0-9][0-9]_*.py"))


def find_lesson(number, directory=LESSONS_DIR):
    """The file of lesson ``number`` ("4", "04" or "04_tokenization"); LessonNotFound if none."""
    paths = find_lessons(directory)
    wanted = str(number).removesuffix(".py")
    for path in paths:
        if wanted.isdigit() and int(wanted) == int(path.name[:2]) or wanted == path.stem:
            return path
    available = ", ".join(p.stem for p in paths) or "(none)"
    raise LessonNotFound(f"no lesson {number!r} in {directory}; available: {available}")


def parse_ids(text):
    """FORMULAS ids named in ``text``, ranges expanded, in order of appearance."""
    ids = []
    for letter, first, last in _ID_OR_RANGE.findall(text):
        for n in range(int(first), int(last or first) + 1):
            if f"{letter}{n}" not in ids:
                ids.append(f"{letter}{n}")
    return ids


def read_index(readme=LESSONS_DIR / "README.md"):
    """{lesson file name: {"ids": [...], "learn": str, "runtime": str}} from the index table."""
    rows, columns = {}, None
    for line in Path(readme).read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if columns is None:
            columns = [cell.lower() for cell in cells]
            continue
        name = re.search(r"\d\d_\w+\.py", cells[0])
        if name is None:
            continue                                     # the |---| line, or a foreign row
        row = dict(zip(columns, cells))
        ids_column = next((c for c in columns if "formulas" in c or c == "ids"), None)
        runtime_column = next((c for c in columns if c.startswith("runtime")), None)
        learn_column = next((c for c in columns if "learn" in c), None)
        rows[name.group()] = {"ids": parse_ids(row.get(ids_column, "")),
                              "learn": row.get(learn_column, ""),
                              "runtime": row.get(runtime_column, "")}
    return rows


def _promised_ids(cells):
    """The bold ids (**C3**, **D1–D6**) after "FORMULAS id" in the lesson's first text cell."""
    text = next((cell.source for cell in cells if cell.kind == "markdown"), "")
    start = text.find("FORMULAS id")
    if start < 0:
        return []
    bold = re.findall(r"\*\*([A-F]\d+(?:\s*[–—-]\s*[A-F]?\d+)?)\*\*", text[start:])
    return parse_ids(" ".join(bold))


def describe(path, index):
    """A ``Lesson`` for the file ``path``, with ids and runtime from ``index`` (read_index).

    A lesson not yet in the index gets the ids its promise names ("FORMULAS ids: **C3**")
    and the runtime "(not in the index)".
    """
    cells = parse_cells(Path(path).read_text(encoding="utf-8"))
    heading = re.sub(r"^Lesson\s+\d+\s*[—–:-]\s*", "", title(cells))
    row = index.get(Path(path).name)
    if row is None:
        return Lesson(Path(path).name[:2], Path(path), heading, tuple(_promised_ids(cells)),
                      "(not in the index)")
    runtime = re.sub(r"\s*\(.*\)\s*$", "", row["runtime"])
    return Lesson(Path(path).name[:2], Path(path), heading, tuple(row["ids"]), runtime)
