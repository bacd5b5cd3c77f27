"""lessons/README.md's index: every FORMULAS id (A1..F4) is covered by a lesson that exists."""
import re
from pathlib import Path

from lessons.catalog import find_lessons, parse_ids, read_index

REPO = Path(__file__).parents[2]
FORMULAS = REPO.parent / "shared" / "FORMULAS.md"
FIXED_IDS = ([f"A{i}" for i in range(1, 5)] + [f"B{i}" for i in range(1, 7)]
             + [f"C{i}" for i in range(1, 6)] + [f"D{i}" for i in range(1, 7)]
             + [f"E{i}" for i in range(1, 4)] + [f"F{i}" for i in range(1, 5)])


def formulas_ids():
    """The ids of ../shared/FORMULAS.md when the shared folder is there, else the fixed list."""
    if not FORMULAS.is_file():
        return FIXED_IDS
    text = FORMULAS.read_text(encoding="utf-8")
    return re.findall(r"^- \*\*([A-F]\d+)\b", text, flags=re.MULTILINE)


def test_formulas_ids_are_the_28_known_ones():
    assert formulas_ids() == FIXED_IDS


def test_parse_ids_expands_ranges_and_ignores_notes():
    assert parse_ids("D1–D6") == ["D1", "D2", "D3", "D4", "D5", "D6"]
    assert parse_ids("C3 (multi-head), B5 (interpretability)") == ["C3", "B5"]
    assert parse_ids("A1, A4 (partly); F2-F3") == ["A1", "A4", "F2", "F3"]
    assert parse_ids("—") == []


def test_index_names_only_real_ids_and_lists_lesson_01():
    index = read_index()
    assert index["01_autograd.py"]["ids"] == ["B4"]
    for name, row in index.items():
        unknown = set(row["ids"]) - set(FIXED_IDS)
        assert not unknown, f"lessons/README.md: {name} names unknown FORMULAS ids {unknown}"


def test_every_formulas_id_is_covered_by_an_existing_lesson():
    existing = {path.name for path in find_lessons()}
    index = read_index()
    covered = {i for name, row in index.items() if name in existing for i in row["ids"]}
    missing = [i for i in formulas_ids() if i not in covered]
    assert not missing, (f"FORMULAS ids covered by no existing lesson in lessons/README.md: "
                         f"{', '.join(missing)}")
