"""Running a lesson: whole, cell by cell in the terminal, or exported as a Jupyter notebook."""
import os
import subprocess
import sys
import traceback
from pathlib import Path

from lessons.cells import parse_cells

__all__ = ["run_script", "step_through", "export_notebook", "render_markdown"]

RULE = "─" * 72


def run_script(path):
    """Run the lesson as ``python path``; returns its exit status."""
    return subprocess.call([sys.executable, str(path)])


def render_markdown(source):
    """Markdown as terminal text: headings underlined, the rest as written."""
    out = []
    for line in source.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            out += [heading, ("═" if line.startswith("# ") else "─") * len(heading)]
        else:
            out.append(line)
    return "\n".join(out)


def _run_cell(cell, path, namespace):
    """exec one code cell; line numbers in tracebacks are those of the lesson file."""
    code = compile("\n" * (cell.line - 1) + cell.source, str(path), "exec")
    exec(code, namespace)


def step_through(path, stdin=None, stdout=None):
    """Run the lesson cell by cell in one namespace, pausing after each cell.

    Markdown cells are printed as text; a code cell's source is printed, then run. After each
    cell the prompt reads a line from ``stdin``: Enter (or end of input) goes on, ``q`` quits.
    Returns 0, or 1 when a cell raised (its traceback is printed and stepping stops).
    """
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    path = Path(path).resolve()
    cells = parse_cells(path.read_text(encoding="utf-8"))
    namespace = {"__name__": "__main__", "__file__": str(path)}
    sys.path.insert(0, str(path.parent))          # as `python path` would
    try:
        for i, cell in enumerate(cells, start=1):
            print(f"{RULE}\n[{i}/{len(cells)}] {cell.kind} · {path.name}:{cell.line}", file=stdout)
            if cell.kind == "markdown":
                print(render_markdown(cell.source), file=stdout)
            else:
                print("\n".join(f"│ {line}".rstrip() for line in cell.source.splitlines()),
                      file=stdout)
                print(file=stdout, flush=True)
                try:
                    _run_cell(cell, path, namespace)
                except Exception:                 # the lesson's error, shown as Python would
                    print(traceback.format_exc(), file=sys.stderr)
                    print(f"stopped: cell {i} ({path.name}:{cell.line}) raised", file=stdout)
                    return 1
                sys.stdout.flush()
            if i == len(cells):
                break
            print(f"{RULE}\nEnter: next cell · q: quit ", end="", file=stdout, flush=True)
            answer = stdin.readline()
            if not stdin.isatty():                # piped input is not echoed: end the line
                print(file=stdout)
            if answer.strip().lower() in ("q", "quit"):
                print(f"stopped after cell {i} of {len(cells)}", file=stdout)
                return 0
        print(f"{RULE}\ndone: {len(cells)} cells of {path.name}", file=stdout)
        return 0
    finally:
        sys.path.remove(str(path.parent))


def export_notebook(path, out):
    """Write the lesson as a Jupyter notebook at ``out`` (validated by nbformat); returns out.

    The first code cell sets ``__file__`` (a notebook has none) to the lesson's path relative
    to the notebook, so that the lesson finds its folder and writes its plots where the script
    does; Jupyter runs a notebook in the notebook's own folder.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    path, out = Path(path).resolve(), Path(out).resolve()
    relative = os.path.relpath(path, out.parent)
    notebook = new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.cells.append(new_code_cell(
        f"# Added by `python -m lessons export`: {path.name} finds its folder through __file__.\n"
        f"import os\n__file__ = os.path.abspath({relative!r})"))
    for cell in parse_cells(path.read_text(encoding="utf-8")):
        make = new_markdown_cell if cell.kind == "markdown" else new_code_cell
        notebook.cells.append(make(cell.source))
    nbformat.validate(notebook)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(out))
    return out
