"""GitHub Actions workflow commands: one `::error file=...::message` annotation per finding.

A pull request shows only the first annotations of each level per step (10 errors and 10 warnings),
so errors come first, then warnings, then notes, and a last line gives the total; when there are
more than GitHub shows, a notice says so and points at the job summary (github_summary.py)."""

from __future__ import annotations

from mllint_deploy.reporters.file_positions import stored_positions

_LEVEL = {"error": "error", "warning": "warning", "note": "notice"}
_ORDER = {"error": 0, "warning": 1, "notice": 2}
SHOWN_PER_LEVEL = 10


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def level_of(finding, catalogue) -> str:
    doc = catalogue.get(finding.code)
    return _LEVEL.get(doc.severity if doc else "error", "error")


def render(findings, catalogue, **_) -> str:
    positions = stored_positions(findings)
    ranked = sorted(findings, key=lambda f: _ORDER[level_of(f, catalogue)])
    out = []
    counts = {"error": 0, "warning": 0, "notice": 0}
    for f in ranked:
        doc = catalogue.get(f.code)
        level = level_of(f, catalogue)
        counts[level] += 1
        title = f"{f.code} {doc.name}" if doc else f.code
        where = f" (cell {f.cell})" if f.cell is not None else ""
        line, column, end_line, end_column = positions[f]
        props = [
            f"file={_prop(f.path)}",
            f"line={line}",
            f"col={column}",
            f"endLine={end_line}",
            f"endColumn={end_column}",
            f"title={_prop(title)}",
        ]
        out.append(f"::{level} {','.join(props)}::{_data(f.code + where + ' ' + f.message)}")
    if not findings:
        return ""
    if any(n > SHOWN_PER_LEVEL for n in counts.values()):
        out.append(f"::notice title=mllint-deploy::{_data(_hidden_note(counts))}")
    out.append(f"mllint-deploy: {total_text(counts)}")
    return "\n".join(out) + "\n"


def total_text(counts: dict) -> str:
    total = sum(counts.values())
    parts = [f"{n} {name}{'' if n == 1 else 's'}" for name, n in
             (("error", counts["error"]), ("warning", counts["warning"]), ("note", counts["notice"])) if n]
    return f"{total} finding{'' if total == 1 else 's'} ({', '.join(parts)})"


def _hidden_note(counts: dict) -> str:
    return (f"{total_text(counts)}; the pull request shows at most {SHOWN_PER_LEVEL} annotations of each level "
            "per step: the job summary and the step log list them all")
