"""The grader: load a student's exercise file, run its checks, report what is right and wrong.

    python -m lessons check ex05                 # grade lessons/exercises/ex05_*.py
    python -m lessons check ex05 --file my.py    # grade a copy kept elsewhere
    python -m lessons check ex05 --solution      # the same checks on the reference solution
    python -m lessons check all                  # every exercise, as a score table

An exercise has parts (e.g. ex01: Mul, Div, Pow); each part is one check function from
``lessons/exercises/checks.py`` that draws fresh random inputs (never zeros), runs the student's
code on several shapes, compares with minigrad's own op (or an independent computation) and
runs ``mg.gradcheck`` where there is a gradient. A part is "passed", "failed" (with a message
saying what is wrong and a hint) or "not started" (the stub's NotImplementedError is still
there). An exception in the student's code is reported with the student's line, never as a
bare traceback.
"""
import importlib.util
import linecache
import secrets
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lessons.exercises.checks import EXERCISES
from lessons.exercises.compare import CheckFailed

__all__ = ["EXERCISES_DIR", "PartResult", "Report", "find_exercise", "exercise_file", "grade",
           "format_report", "format_table", "UnknownExercise"]

EXERCISES_DIR = Path(__file__).resolve().parent
PASSED, FAILED, NOT_STARTED = "passed", "failed", "not started"


class UnknownExercise(LookupError):
    """No exercise has that id; the message lists the ones that exist."""


@dataclass
class PartResult:
    name: str
    status: str          # "passed", "failed" or "not started"
    message: str = ""
    hint: str = ""


@dataclass
class Report:
    exercise: object     # the checks.Exercise graded
    path: Path
    seed: int
    parts: list = field(default_factory=list)

    @property
    def score(self):
        return sum(p.status == PASSED for p in self.parts), len(self.parts)

    @property
    def status(self):
        statuses = {p.status for p in self.parts}
        if statuses == {PASSED}:
            return PASSED
        if statuses == {NOT_STARTED}:
            return NOT_STARTED
        return FAILED

    @property
    def passed(self):
        return self.status == PASSED


def find_exercise(exercise_id):
    """The Exercise for "ex05", "5", "05" or "ex05_positional_encoding"."""
    wanted = str(exercise_id).lower().removesuffix(".py")
    digits = wanted.removeprefix("ex").split("_")[0]
    for exercise in EXERCISES:
        if digits.isdigit() and int(digits) == int(exercise.id[2:]) or wanted == exercise.name:
            return exercise
    raise UnknownExercise(f"no exercise {exercise_id!r}; available: "
                          + ", ".join(e.id for e in EXERCISES) + " (or 'all')")


def exercise_file(exercise, solution=False):
    """The stub (or, with solution=True, the reference solution) of ``exercise``."""
    folder = EXERCISES_DIR / "solutions" if solution else EXERCISES_DIR
    return folder / f"{exercise.name}.py"


def _student_frame(error, path):
    """(line number, source line, function) of the innermost frame in ``path``, or None."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve() == path]
    if isinstance(error, SyntaxError) and error.filename and Path(error.filename).resolve() == path:
        return error.lineno, (error.text or "").strip(), "<module>"
    if not frames:
        return None
    frame = frames[-1]
    source = frame.line or linecache.getline(str(path), frame.lineno).strip()
    return frame.lineno, source, frame.name


def describe_exception(error, path):
    """One paragraph about an exception raised while grading ``path``."""
    kind = f"{type(error).__name__}: {error}".rstrip(": ")
    frame = _student_frame(error, path)
    if frame is None:
        return (f"grading stopped with {kind} outside your code, while using what your code "
                "returned: check the type and shape of each value you return")
    line, source, function = frame
    inside = "your code" if traceback.extract_tb(error.__traceback__)[-1].filename == str(path) \
        else "a call made by your code"
    tip = ""
    if "could not be broadcast" in str(error):
        tip = ("\n  print the shapes: a sum or mean without keepdims=True drops the axis it "
               "reduces, so (B, n) − (B,) no longer lines up")
    return f"{inside} raised {kind}\n  at {path.name}, line {line}, in {function}: {source}{tip}"


def _load(path, exercise):
    spec = importlib.util.spec_from_file_location(f"_graded_{exercise.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def grade(exercise_id, path=None, solution=False, seed=None):
    """Grade one exercise; returns a Report. ``path`` overrides the file to grade."""
    import minigrad as mg

    exercise = find_exercise(exercise_id)
    path = Path(path or exercise_file(exercise, solution)).resolve()
    seed = secrets.randbelow(10**6) if seed is None else seed
    report = Report(exercise, path, seed)
    if not path.is_file():
        report.parts = [PartResult(name, FAILED, f"no file {path}") for name, _ in exercise.parts]
        return report
    try:
        module = _load(path, exercise)
    except NotImplementedError:
        module = None
        report.parts = [PartResult(name, NOT_STARTED) for name, _ in exercise.parts]
    except Exception as error:    # a syntax error, a typo at import: report, do not crash
        message = "could not import your file: " + describe_exception(error, path)
        report.parts = [PartResult(name, FAILED, message) for name, _ in exercise.parts]
        return report
    if module is None:
        return report
    for number, (name, check) in enumerate(exercise.parts):
        rng = np.random.default_rng([seed, number])
        try:
            with mg.kernels.use("numpy"), np.errstate(all="ignore"):
                check(module, rng)
        except NotImplementedError:
            report.parts.append(PartResult(name, NOT_STARTED))
        except CheckFailed as failure:
            report.parts.append(PartResult(name, FAILED, str(failure), failure.hint or ""))
        except Exception as error:
            report.parts.append(PartResult(name, FAILED, describe_exception(error, path)))
        else:
            report.parts.append(PartResult(name, PASSED))
    return report


_MARK = {PASSED: "✓", FAILED: "✗", NOT_STARTED: "·"}


def format_report(report):
    """The report of one exercise, as printed by ``python -m lessons check exNN``."""
    e = report.exercise
    lines = [f"{e.id} — {e.title} (lesson {e.lesson}.py)", f"  file: {report.path}", ""]
    for part in report.parts:
        if part.status == NOT_STARTED:
            lines.append(f"  {_MARK[part.status]} {part.name}: not started yet "
                         "(the stub's `raise NotImplementedError` is still there)")
            continue
        lines.append(f"  {_MARK[part.status]} {part.name}" + ("" if part.status == PASSED else ":"))
        if part.message:
            lines += [f"      {line}" for line in part.message.splitlines()]
        if part.hint:
            lines.append(f"      hint: {part.hint}")
    done, total = report.score
    verdict = {PASSED: "all parts pass", NOT_STARTED: "not started yet",
               FAILED: "not yet right"}[report.status]
    lines += ["", f"  score {done}/{total}: {verdict}  (random inputs drawn with --seed "
              f"{report.seed}; without --seed every run draws new ones)"]
    return "\n".join(lines)


def format_table(reports):
    """The score table of ``python -m lessons check all``."""
    width = max(len(r.exercise.title) for r in reports)
    lines = [f"{'exercise':<9} {'title':<{width}}  score  status", "-" * (width + 27)]
    for r in reports:
        done, total = r.score
        lines.append(f"{r.exercise.id:<9} {r.exercise.title:<{width}}  {done:>2}/{total:<2}  "
                     f"{r.status}")
    passed = sum(r.passed for r in reports)
    lines.append(f"\n{passed} of {len(reports)} exercises pass")
    return "\n".join(lines)
