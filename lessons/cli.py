"""``python -m lessons``: list, run, step through, export the lessons; grade the exercises.

    python -m lessons list                     number, title, FORMULAS ids, runtime
    python -m lessons run 04                   run lesson 04 as a script
    python -m lessons run 04 --step            cell by cell: Enter for the next cell, q to quit
    python -m lessons export 04 [--out F]      write lesson 04 as a Jupyter notebook
    python -m lessons check ex05               grade your exercise 05
    python -m lessons check ex05 --solution    the same grader on the reference solution
    python -m lessons check ex05 --file F      grade a copy of the stub kept elsewhere
    python -m lessons check all                every exercise, as a score table

Every command is a thin shell over a function (catalog, runner, exercises.grader).
"""
import argparse
import sys
from pathlib import Path

from lessons.catalog import (LESSONS_DIR, LessonNotFound, describe, find_lesson, find_lessons,
                             read_index)

__all__ = ["main"]


def _parser():
    parser = argparse.ArgumentParser(prog="python -m lessons", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:11]))
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("list", help="the lessons: number, title, FORMULAS ids, runtime")
    run = commands.add_parser("run", help="run a lesson (--step: cell by cell)")
    run.add_argument("lesson", help="its number, e.g. 04")
    run.add_argument("--step", action="store_true",
                     help="pause after each cell: Enter to continue, q to quit")
    export = commands.add_parser("export", help="write a lesson as a Jupyter notebook (.ipynb)")
    export.add_argument("lesson", help="its number, e.g. 04")
    export.add_argument("--out", type=Path,
                        help="the notebook's path (default: lessons/output/notebooks/NN_topic.ipynb)")
    check = commands.add_parser("check", help="grade an exercise, or all of them")
    check.add_argument("exercise", help="e.g. ex05, or 'all'")
    check.add_argument("--solution", action="store_true",
                       help="grade the reference solution instead of your file")
    check.add_argument("--file", type=Path,
                       help="grade this file instead of lessons/exercises/exNN_*.py")
    check.add_argument("--seed", type=int,
                       help="draw the random inputs from this seed (default: new ones each run)")
    return parser


def _list(directory):
    index_path = Path(directory) / "README.md"
    index = read_index(index_path) if index_path.is_file() else {}
    lessons = [describe(path, index) for path in find_lessons(directory)]
    width = max([len(lesson.title) for lesson in lessons] + [5])
    print(f"{'#':<3} {'title':<{width}}  {'FORMULAS ids':<22} runtime")
    for lesson in lessons:
        ids = ", ".join(lesson.ids) or "—"
        print(f"{lesson.number:<3} {lesson.title:<{width}}  {ids:<22} {lesson.runtime}")
    return 0


def _check(args):
    from lessons.exercises.grader import (EXERCISES, UnknownExercise, format_report,
                                          format_table, grade)
    if args.exercise == "all":
        if args.file:
            print("error: --file grades one exercise; name it (check ex05 --file F)", file=sys.stderr)
            return 2
        reports = [grade(e.id, solution=args.solution, seed=args.seed) for e in EXERCISES]
        print(format_table(reports))
        return 0 if all(r.passed for r in reports) else 1
    try:
        report = grade(args.exercise, path=args.file, solution=args.solution, seed=args.seed)
    except UnknownExercise as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 0 if report.passed else 1


def main(argv=None, directory=LESSONS_DIR):
    """Run one command; returns the exit status. ``directory`` holds the lessons."""
    args = _parser().parse_args(argv)
    if args.command == "list":
        return _list(directory)
    if args.command == "check":
        return _check(args)
    from lessons import runner
    try:
        path = find_lesson(args.lesson, directory)
    except LessonNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "run":
        return runner.step_through(path) if args.step else runner.run_script(path)
    out = args.out or Path(directory) / "output" / "notebooks" / f"{path.stem}.ipynb"
    print(f"wrote {runner.export_notebook(path, out)}")
    return 0
