"""python -m lessons: the percent-cell parser, list, run, run --step (piped input), export,
and the message for an unknown lesson — on a tiny lesson written to tmp_path, and on the real
lesson 01 through a subprocess."""
import io
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lessons.cells import parse_cells, title
from lessons.cli import main

REPO = Path(__file__).parents[2]

TINY = """\
# %% [markdown]
# # Lesson 98 — A tiny lesson
#
# Some **text**, then code.

# %%
x = 2 + 3
print("x =", x)

# %% [markdown]
# ## Second part

# %%
print("y =", x * 10)
"""

INDEX = """\
| lesson | FORMULAS ids | what you learn | runtime (2-core laptop) |
| --- | --- | --- | --- |
| [98_tiny.py](98_tiny.py) | A1, C3–C4 (partly) | adding | ~1 s (first run: + 8 s) |
"""


@pytest.fixture
def lessons_dir(tmp_path):
    (tmp_path / "98_tiny.py").write_text(TINY, encoding="utf-8")
    (tmp_path / "README.md").write_text(INDEX, encoding="utf-8")
    return tmp_path


def test_parse_cells_kinds_sources_and_lines():
    cells = parse_cells("import os\n# %% [markdown]\n# # Title\n#\n# Text\n\n"
                        "# %% setup\n\nx = 1\n\n# %%\n")
    assert [(c.kind, c.source, c.line) for c in cells] == [
        ("code", "import os", 1), ("markdown", "# Title\n\nText", 3), ("code", "x = 1", 9)]
    assert title(cells) == "Title"
    assert parse_cells(TINY)[1].line == 7 and parse_cells(TINY)[3].source == 'print("y =", x * 10)'


def test_list_shows_number_title_ids_and_runtime(lessons_dir, capsys):
    assert main(["list"], lessons_dir) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("98"))
    assert "A tiny lesson" in row and "Lesson 98" not in row
    assert "A1, C3, C4" in row and row.rstrip().endswith("~1 s")


def test_run_executes_the_lesson_as_a_script(lessons_dir, capfd):
    assert main(["run", "98"], lessons_dir) == 0
    assert "x = 5\ny = 50" in capfd.readouterr().out


def test_step_shows_each_cell_then_runs_it(lessons_dir, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n\n\n"))
    assert main(["run", "98", "--step"], lessons_dir) == 0
    out = capsys.readouterr().out
    assert "Lesson 98 — A tiny lesson\n═" in out and "Some **text**, then code." in out
    assert "# #" not in out
    order = [out.index(text) for text in ("│ x = 2 + 3", "x = 5", "Second part", "y = 50")]
    assert order == sorted(order)
    assert out.count("Enter: next cell · q: quit") == 3 and "done: 4 cells" in out


def test_step_quits_on_q(lessons_dir, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\nq\n"))
    assert main(["run", "98", "--step"], lessons_dir) == 0
    out = capsys.readouterr().out
    assert "x = 5" in out and "Second part" not in out and "stopped after cell 2 of 4" in out


def test_step_reports_a_failing_cell_with_the_lesson_line(lessons_dir, capsys, monkeypatch):
    (lessons_dir / "97_broken.py").write_text("# %%\nx = 1\n\n# %%\ny = x / 0\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))           # end of input: go on
    assert main(["run", "97", "--step"], lessons_dir) == 1
    captured = capsys.readouterr()
    assert "97_broken.py\", line 5" in captured.err and "ZeroDivisionError" in captured.err
    assert "stopped: cell 2 (97_broken.py:5) raised" in captured.out


def test_export_writes_a_valid_notebook(lessons_dir, tmp_path, capsys):
    out = tmp_path / "nb" / "tiny.ipynb"
    assert main(["export", "98", "--out", str(out)], lessons_dir) == 0
    notebook = nbformat.read(str(out), as_version=4)
    nbformat.validate(notebook)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds == ["code", "markdown", "code", "markdown", "code"]
    assert notebook.cells[1].source.startswith("# Lesson 98 — A tiny lesson\n\nSome")
    assert notebook.cells[2].source == 'x = 2 + 3\nprint("x =", x)'
    namespace, cwd = {}, os.getcwd()
    try:                                   # Jupyter runs a notebook in the notebook's folder
        os.chdir(out.parent)
        exec(notebook.cells[0].source, namespace)
    finally:
        os.chdir(cwd)
    assert Path(namespace["__file__"]) == lessons_dir / "98_tiny.py"


def test_unknown_lesson_lists_the_available_ones(lessons_dir, capsys):
    assert main(["run", "42"], lessons_dir) == 2
    assert main(["export", "42"], lessons_dir) == 2
    err = capsys.readouterr().err
    assert "no lesson '42'" in err and "available: 98_tiny" in err


def test_python_dash_m_lessons_on_the_real_lessons():
    env = dict(os.environ, MPLBACKEND="Agg")
    listing = subprocess.run([sys.executable, "-m", "lessons", "list"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0 and "\n01  " in listing.stdout and "B4" in listing.stdout
    step = subprocess.run([sys.executable, "-m", "lessons", "run", "1", "--step"], cwd=REPO,
                          env=env, input="q\n", capture_output=True, text=True, timeout=60)
    assert step.returncode == 0, step.stderr
    assert "Lesson 01" in step.stdout and "stopped after cell 1 of" in step.stdout


def test_the_docstring_examples_run():
    import doctest

    import lessons.catalog
    import lessons.cells
    for module in (lessons.cells, lessons.catalog):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
