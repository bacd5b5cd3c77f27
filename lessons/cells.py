"""The percent cell format, parsed in one place.

A lesson is a Python script cut into cells by marker lines::

    # %% [markdown]
    # # A heading
    # Text, each line behind "# ".

    # %%
    x = 1 + 1                     # a code cell: plain Python

A markdown cell's lines lose their leading ``# `` (a bare ``#`` is an empty line); a code cell is
kept as written. Lines before the first marker form a code cell. Blank lines around a cell are
dropped, and so are cells left empty.

>>> cells = parse_cells("# %% [markdown]\\n# # Title\\n#\\n# Text.\\n\\n# %%\\nx = 1\\n")
>>> [(c.kind, c.source, c.line) for c in cells]
[('markdown', '# Title\\n\\nText.', 2), ('code', 'x = 1', 7)]
>>> title(cells)
'Title'
"""
import re
from dataclasses import dataclass

__all__ = ["Cell", "parse_cells", "title"]

_MARKER = re.compile(r"^#\s*%%(?P<rest>.*)$")


@dataclass(frozen=True)
class Cell:
    kind: str        # "code" or "markdown"
    source: str      # code as written; markdown without its leading "# "
    line: int        # line number (from 1) of the cell's first source line in the file


def _unquote(line):
    """'# text' -> 'text', '#' -> '' (a markdown line of a percent-format cell)."""
    if line.startswith("# "):
        return line[2:]
    return "" if line.strip() == "#" else line


def _cell(kind, lines, first_line):
    while lines and not lines[0].strip():
        lines, first_line = lines[1:], first_line + 1
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if not lines:
        return None
    if kind == "markdown":
        lines = [_unquote(line) for line in lines]
    return Cell(kind, "\n".join(lines), first_line)


def parse_cells(text):
    """The cells of a percent-format script, in order (a list of ``Cell``)."""
    cells, kind, lines, first_line = [], "code", [], 1
    for number, line in enumerate(text.splitlines(), start=1):
        marker = _MARKER.match(line)
        if marker is None:
            lines.append(line)
            continue
        cells.append(_cell(kind, lines, first_line))
        kind = "markdown" if re.search(r"\[(markdown|md)\]", marker["rest"]) else "code"
        lines, first_line = [], number + 1
    cells.append(_cell(kind, lines, first_line))
    return [cell for cell in cells if cell is not None]


def title(cells):
    """The text of the first markdown heading, or '' when there is none."""
    for cell in cells:
        if cell.kind != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return ""
