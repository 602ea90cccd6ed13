"""GitHub Actions workflow commands: one `::error file=...::message` annotation per finding."""

from __future__ import annotations

_LEVEL = {"error": "error", "warning": "warning", "note": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings, catalogue, **_) -> str:
    out = []
    for f in findings:
        doc = catalogue.get(f.code)
        level = _LEVEL.get(doc.severity if doc else "error", "error")
        title = f"{f.code} {doc.name}" if doc else f.code
        where = f" (cell {f.cell})" if f.cell is not None else ""
        props = [
            f"file={_prop(f.path)}",
            f"line={f.line}",
            f"col={f.column}",
            f"endLine={f.end_line or f.line}",
            f"endColumn={f.end_column or f.column}",
            f"title={_prop(title)}",
        ]
        out.append(f"::{level} {','.join(props)}::{_data(f.code + where + ' ' + f.message)}")
    return "\n".join(out) + ("\n" if out else "")
