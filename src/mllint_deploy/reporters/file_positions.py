"""Positions in the file as stored, for the CI formats (GitHub, SARIF, GitLab).

A finding in a notebook carries its cell and its line and column inside that cell; an annotation
must point into the `.ipynb` file itself. Each notebook named by a finding is read once and its
findings are moved to the JSON line that holds the flagged source line. A notebook that cannot be
read any more, or a cell not found in it, puts the finding on line 1 (the cell stays in the message).
"""

from __future__ import annotations

from mllint_deploy.sources.notebook_json import NotebookText


def stored_positions(findings) -> dict:
    """finding -> (line, column, end line, end column) in its file's own text."""
    texts: dict[str, NotebookText | None] = {}
    out = {}
    for f in findings:
        start = (f.line, f.column)
        end = (f.end_line or f.line, f.end_column or f.column)
        if f.cell is not None:
            if f.path not in texts:
                texts[f.path] = _read(f.path)
            text = texts[f.path]
            start_at = text.locate(f.cell, *start) if text else None
            end_at = text.locate(f.cell, *end) if text else None
            start = start_at or (1, 1)
            end = end_at if start_at and end_at and end_at >= start_at else start
        out[f] = (*start, *end)
    return out


def _read(path: str) -> NotebookText | None:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            return NotebookText(handle.read())
    except OSError:
        return None
