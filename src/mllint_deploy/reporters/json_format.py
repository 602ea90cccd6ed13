"""A JSON array of findings with 1-based positions; `fix` is the finding's automatic fix (its
applicability, a message, and edits with 1-based positions, end exclusive) or null."""

from __future__ import annotations

import json


def as_dict(f, catalogue) -> dict:
    doc = catalogue.get(f.code)
    out = {
        "code": f.code,
        "name": doc.name if doc else "",
        "severity": doc.severity if doc else "error",
        "message": f.message,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line or f.line,
        "end_column": f.end_column or f.column,
    }
    if f.cell is not None:
        out["cell"] = f.cell
    out["fix"] = f.fix.as_dict() if f.fix is not None else None
    return out


def render(findings, catalogue, **_) -> str:
    return json.dumps([as_dict(f, catalogue) for f in findings], indent=2, ensure_ascii=False) + "\n"
