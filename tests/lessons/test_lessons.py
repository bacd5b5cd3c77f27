"""Every lesson runs headless, top to bottom, within its time budget; its asserts are the checks."""
import os
import pathlib
import subprocess
import sys
import time

import pytest

LESSONS = sorted(pathlib.Path(__file__).parents[2].joinpath("lessons").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_headless(lesson, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(lesson)], env=env, capture_output=True,
                            text=True, timeout=120)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, f"{lesson.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert elapsed < 60, f"{lesson.name} took {elapsed:.1f} s; a lesson must run in under 60 s"


def test_index_lists_every_lesson():
    index = (LESSONS[0].parent / "README.md").read_text(encoding="utf-8")
    for lesson in LESSONS:
        assert lesson.name in index, f"lessons/README.md does not list {lesson.name}"
