"""Every lesson runs headless, top to bottom, within its time budget; its asserts are the checks."""
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

LESSONS = sorted(pathlib.Path(__file__).parents[2].joinpath("lessons").glob("[0-9][0-9]_*.py"))
FIRST_OUTPUT_S = 2.0      # a student sees something happen within 2 s
WHOLE_LESSON_S = 60.0


def _run(lesson):
    """Run a lesson as a student would; return (returncode, output, first-line seconds, seconds)."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(lesson)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    timer = threading.Timer(2 * WHOLE_LESSON_S, process.kill)
    timer.start()
    first = process.stdout.readline()
    first_line_s = time.perf_counter() - started
    output = first + process.stdout.read()
    process.wait()
    timer.cancel()
    return process.returncode, output, first_line_s, time.perf_counter() - started


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_headless(lesson):
    returncode, output, first_line_s, elapsed = _run(lesson)
    assert returncode == 0, f"{lesson.name} failed:\n{output[-6000:]}"
    assert first_line_s < FIRST_OUTPUT_S, (f"{lesson.name} printed its first line after "
                                           f"{first_line_s:.1f} s; a lesson must print within "
                                           f"{FIRST_OUTPUT_S:.0f} s")
    assert elapsed < WHOLE_LESSON_S, (f"{lesson.name} took {elapsed:.1f} s; a lesson must run in "
                                      f"under {WHOLE_LESSON_S:.0f} s")


def test_index_lists_every_lesson():
    index = (LESSONS[0].parent / "README.md").read_text(encoding="utf-8")
    for lesson in LESSONS:
        assert lesson.name in index, f"lessons/README.md does not list {lesson.name}"
