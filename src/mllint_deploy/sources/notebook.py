"""Jupyter notebooks (`.ipynb`): the code cells, in order, linted as one module.

A notebook is read with the standard `json` module, not `nbformat`: we need four keys (`nbformat`,
`cells`, `cell_type`, `source`) and the kernel's language, and `nbformat` would pull in jsonschema and
its dependency tree for validation we do not want (a notebook that fails the schema in some
unrelated output field is still perfectly lintable).

The code cells are joined into one source text, because a notebook runs top to bottom in one namespace:
a scaler fitted in cell 3 and a split in cell 5 belong to the same analysis. Every line of the joined
text maps back to (cell, line in cell); cells are numbered from 1 among ALL cells, markdown and raw
included, as ruff counts them, so `cell 4` is the fourth cell a reader sees.

IPython syntax is masked so the text parses while keeping its line count:
- line magics, shell escapes and help (`%matplotlib inline`, `!pip install x`, `files = !ls`, `?df`,
  `df.head?`, automagics such as `pip install x`) become `pass` (indentation kept);
- `%time STMT` / `%timeit STMT` keep STMT (shifted left; columns are mapped back), so the timed code
  is still linted;
- a cell magic whose body is Python (`%%time`, `%%timeit`, `%%capture`, ...) masks only its first
  line; any other cell magic (`%%bash`, `%%writefile`, `%%sql`, ...) masks the whole cell.
A cell that still does not parse becomes one MLD001 finding in that cell, and the other cells are
linted without it (`pipeline/engine.py` lints the joined text; `suppress/chain.py` maps findings back). A notebook that cannot be read at all (invalid JSON, missing keys, nbformat < 4)
is one MLD001 finding for the file.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from dataclasses import dataclass, field, replace

SUFFIX = ".ipynb"
SYNTAX_ERROR = "MLD001"
MASK = "pass  # IPython"

# Cell magics whose body is Python that IPython runs in the notebook's namespace.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "pypy", "python", "python3"})
# Line magics whose argument is a Python statement run in the notebook's namespace.
_TIMED_STATEMENT = re.compile(r"^(?P<indent>[ \t]*)(?P<magic>%{1}(?:time|timeit)[ \t]+)(?P<stmt>[^-\s].*)$")
_ESCAPE = re.compile(r"^[ \t]*(?:%|!(?!=)|\?)")  # %magic, !shell, ?help
_HELP_SUFFIX = re.compile(r"^[ \t]*[A-Za-z_*][\w.*]*\?{1,2}[ \t]*$")  # obj? obj.attr??
_ASSIGN_ESCAPE = re.compile(r"^[ \t]*[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*[ \t]*=[ \t]*(?:%|!(?!=))")
_AUTOMAGIC = re.compile(
    r"^[ \t]*(?:pip|conda|mamba|cd|ls|pwd|cat|mkdir|rm|cp|mv|time|timeit|prun|matplotlib|load_ext|"
    r"reload_ext|autoreload|run|env|set_env|who|whos|history|reset|alias|pinfo|pinfo2|psearch|config|"
    r"store|sx|system|xmode|lsmagic|magic|pdb|rerun|precision|aimport|tensorflow_version)[ \t]+\S"
)


_LINE_REF = re.compile(r"\bline (\d+)\b")


class BrokenNotebook(Exception):
    """The file cannot be read as a notebook; the message says why, in one line."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.line = max(int(line or 1), 1)
        self.column = max(int(column or 1), 1)


@dataclass(frozen=True)
class BadCell:
    """A code cell that does not parse even after masking (position inside the cell, 1-based)."""

    cell: int
    line: int
    column: int
    reason: str


@dataclass
class Notebook:
    """The joined, masked code of a notebook and the way back to cells.

    `line_map[i]` is `(cell, line in cell, column shift)` for line `i + 1` of `text`; the column shift
    is non-zero only on `%time STMT` lines, where STMT was moved left."""

    text: str
    line_map: list[tuple[int, int, int]] = field(default_factory=list)
    bad_cells: list[BadCell] = field(default_factory=list)
    cells: dict[int, list[str]] = field(default_factory=dict)  # code cell -> its original lines
    total_cells: int = 0

    def locate(self, line: int) -> tuple[int | None, int, int]:
        """(cell, line in cell, column shift) for a line of the joined text."""
        if not self.line_map:
            return None, max(line, 1), 0
        index = min(max(line, 1), len(self.line_map)) - 1
        return self.line_map[index]

    def map_finding(self, finding):
        """The finding with `cell` set and its line/column inside the cell."""
        cell, line, shift = self.locate(finding.line)
        if cell is None:
            return finding
        end_cell, end_line, end_shift = self.locate(finding.end_line or finding.line)
        end_column = (finding.end_column or finding.column) + end_shift
        if end_cell != cell or end_line < line:
            end_line, end_column = line, finding.column + shift
        return replace(finding, cell=cell, line=line, column=finding.column + shift,
                       end_line=end_line, end_column=end_column, message=self.relabel(finding.message))

    def relabel(self, message: str) -> str:
        """Line numbers a check wrote into its message (`fitted on 'X' (line 28)`) point into the
        joined text; rewrite them as `cell 7, line 2`."""

        def cell_line(m: re.Match) -> str:
            n = int(m.group(1))
            if not 1 <= n <= len(self.line_map):
                return m.group(0)
            cell, line, _ = self.line_map[n - 1]
            return f"cell {cell}, line {line}"

        return _LINE_REF.sub(cell_line, message)


def _split_lines(source: str) -> list[str]:
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _cell_source(cell: dict, number: int) -> str:
    source = cell.get("source")
    if source is None:
        raise BrokenNotebook(f"cannot read notebook: cell {number} has no 'source'")
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    raise BrokenNotebook(f"cannot read notebook: cell {number} 'source' is neither a string nor a list of strings")


def _language(nb: dict) -> str:
    metadata = nb.get("metadata")
    if not isinstance(metadata, dict):
        return "python"
    for key, sub in (("kernelspec", "language"), ("language_info", "name")):
        table = metadata.get(key)
        if isinstance(table, dict) and isinstance(table.get(sub), str) and table[sub].strip():
            return table[sub].strip().lower()
    return "python"


def load_json(data: bytes) -> dict:
    """The notebook's JSON object, or BrokenNotebook with the position of the problem."""
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BrokenNotebook(f"cannot read notebook: not valid UTF-8 ({exc.reason})", line) from None
    try:
        nb = json.loads(raw)
    except json.JSONDecodeError as exc:
        lines = raw.splitlines()
        bad = lines[exc.lineno - 1].lstrip() if 0 < exc.lineno <= len(lines) else ""
        if bad.startswith(("<<<<<<< ", "=======", ">>>>>>> ")):
            raise BrokenNotebook("cannot read notebook: invalid JSON: an unresolved git merge conflict "
                                 f"({bad.split()[0]}); resolve it, e.g. with nbdime", exc.lineno, exc.colno) from None
        raise BrokenNotebook(f"cannot read notebook: invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise BrokenNotebook("cannot read notebook: JSON nested too deeply") from None
    if not isinstance(nb, dict):
        raise BrokenNotebook("cannot read notebook: the top level is not a JSON object")
    version = nb.get("nbformat")
    if version is None:
        raise BrokenNotebook("cannot read notebook: missing key 'nbformat'")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BrokenNotebook(f"cannot read notebook: 'nbformat' must be an integer, not {version!r}"[:160])
    if version < 4:
        raise BrokenNotebook(
            f"cannot read notebook: nbformat {version} is not supported (only version 4); convert it with "
            "`jupyter nbconvert --to notebook --nbformat 4 --inplace FILE`"
        )
    cells = nb.get("cells")
    if cells is None:
        raise BrokenNotebook("cannot read notebook: missing key 'cells'")
    if not isinstance(cells, list):
        raise BrokenNotebook("cannot read notebook: 'cells' is not a list")
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise BrokenNotebook(f"cannot read notebook: cell {number} is not a JSON object")
        if not isinstance(cell.get("cell_type"), str):
            raise BrokenNotebook(f"cannot read notebook: cell {number} has no 'cell_type'")
        _cell_source(cell, number)
    return nb


def code_cells(nb: dict) -> list[tuple[int, list[str]]]:
    """(cell number among all cells, source lines) of every code cell, in order."""
    return [
        (number, _split_lines(_cell_source(cell, number)))
        for number, cell in enumerate(nb["cells"], start=1)
        if cell["cell_type"] == "code"
    ]


def code_lines(data: bytes) -> list[tuple[int, int, str]] | None:
    """(cell, line in cell, text) of every code line, or None if the notebook cannot be read (for --diff)."""
    try:
        nb = load_json(data)
    except BrokenNotebook:
        return None
    return [(cell, i, text) for cell, lines in code_cells(nb) for i, text in enumerate(lines, start=1)]


class _Continuation:
    """Just enough tokenizing to know whether a line starts a new statement: open brackets,
    an open triple-quoted string and a trailing backslash carry a statement over to the next line."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: str | None = None
        self.backslash = False

    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.backslash

    def feed(self, line: str) -> None:
        self.backslash = False
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if self.quote is not None:
                if c == "\\":
                    i += 2
                elif line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                else:
                    i += 1
                continue
            if c == "#":
                break
            if c in "\"'":
                if line.startswith(c * 3, i):
                    self.quote = c * 3
                    i += 3
                    continue
                j = i + 1
                while j < n and line[j] != c:
                    j += 2 if line[j] == "\\" else 1
                i = j + 1
                continue
            if c in "([{":
                self.depth += 1
            elif c in ")]}":
                self.depth = max(self.depth - 1, 0)
            elif c == "\\" and i == n - 1:
                self.backslash = True
            i += 1


def _parses(text: str) -> bool:
    try:
        _compile(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _compile(text: str):
    return compile(text, "<cell>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


def _masked(line: str) -> str:
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return indent + MASK


def _is_ipython_line(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _ESCAPE.match(line) or _HELP_SUFFIX.match(line) or _ASSIGN_ESCAPE.match(line):
        return True
    if not _AUTOMAGIC.match(line):
        return False
    # `history = model.fit(` or `env = dict(` over several lines is Python, not the `%history` or
    # `%env` automagic: a line is taken for a magic only when the statement it starts does not parse.
    return not _parses(textwrap.dedent("\n".join(_statement_lines(lines, i))))


def _statement_lines(lines: list[str], i: int) -> list[str]:
    """The lines of the statement starting at line `i` (continued by brackets, strings, backslashes)."""
    state = _Continuation()
    out = []
    for text in lines[i:]:
        out.append(text)
        state.feed(text)
        if state.at_statement_start():
            break
    return out


def mask_cell(lines: list[str]) -> tuple[list[str], list[int]]:
    """The cell's lines with IPython syntax masked, and the column shift of each line."""
    out = list(lines)
    shifts = [0] * len(lines)
    first = next((i for i, text in enumerate(lines) if text.strip()), None)
    start = 0
    if first is not None and lines[first].lstrip().startswith("%%"):
        name = lines[first].lstrip()[2:].split(None, 1)
        if not name or name[0] not in PYTHON_CELL_MAGICS:
            return [""] * len(lines), shifts
        out[first] = _masked(lines[first])
        start = first + 1
    state = _Continuation()
    masking_continuation = False
    for i in range(start, len(lines)):
        line = lines[i]
        if masking_continuation:  # a magic continued with a trailing backslash
            out[i] = ""
            masking_continuation = line.rstrip().endswith("\\")
            continue
        if state.at_statement_start() and line.strip():
            timed = _TIMED_STATEMENT.match(line)
            if timed and _parses(timed.group("stmt").strip()) and not line.rstrip().endswith("\\"):
                out[i] = timed.group("indent") + timed.group("stmt")
                shifts[i] = len(timed.group("magic"))
                state.feed(out[i])
                continue
            if _is_ipython_line(lines, i):
                out[i] = _masked(line)
                masking_continuation = line.rstrip().endswith("\\")
                continue
        state.feed(line)
    return out, shifts


def read_notebook(data: bytes) -> Notebook | None:
    """The joined, masked code of a notebook; None for a notebook in a language other than Python.
    Raises BrokenNotebook when the file is not a readable nbformat-4 notebook."""
    nb = load_json(data)
    if _language(nb) not in ("python", "python3", "ipython", "ipython3"):
        return None
    result = Notebook(text="", total_cells=len(nb["cells"]))
    joined: list[str] = []
    for number, lines in code_cells(nb):
        result.cells[number] = lines
        masked, shifts = mask_cell(lines)
        bad = _check_cell(number, masked, shifts)
        if bad is not None:
            result.bad_cells.append(bad)
            masked = [""] * len(lines)
        for i, text in enumerate(masked):
            joined.append(text)
            result.line_map.append((number, i + 1, shifts[i]))
    result.text = "\n".join(joined) + ("\n" if joined else "")
    return result


def _check_cell(number: int, masked: list[str], shifts: list[int]) -> BadCell | None:
    try:
        _compile("\n".join(masked) + "\n")
    except SyntaxError as err:
        line = min(max(err.lineno or 1, 1), max(len(masked), 1))
        shift = shifts[line - 1] if line - 1 < len(shifts) else 0
        reason = (err.msg or "invalid syntax").strip().splitlines()[0] if err.msg else "invalid syntax"
        return BadCell(number, line, max(err.offset or 1, 1) + shift, reason[:160])
    except ValueError as err:  # a NUL character
        return BadCell(number, 1, 1, str(err).strip()[:160] or "invalid source")
    except (RecursionError, MemoryError):
        return BadCell(number, 1, 1, "nesting too deep")
    return None


@dataclass
class NotebookFacts:
    """What the suppression chain needs to place a notebook's findings in its cells (kept in
    `FileResult.facts` under "notebook"): the line map and the joined text's lines."""

    line_map: list[tuple[int, int, int]]
    lines: list[str]

    def place(self, finding):
        """The finding moved from the joined text to its cell."""
        return Notebook(text="", line_map=self.line_map).map_finding(finding)
