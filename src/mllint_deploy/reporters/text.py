"""`path:line:col: CODE message`, one per line, then a summary line unless quiet; coloured on request."""

from __future__ import annotations

_RESET = "\033[0m"
_BOLD = "\033[1m"
_SEVERITY = {"error": "\033[1;31m", "warning": "\033[1;33m", "note": "\033[1;36m"}


def location(f) -> str:
    if f.cell is not None:
        return f"{f.path}:cell {f.cell}:{f.line}:{f.column}"
    return f"{f.path}:{f.line}:{f.column}"


def _line(f, catalogue, colour: bool) -> str:
    if not colour:
        return f"{location(f)}: {f.code} {f.message}"
    doc = catalogue.get(f.code)
    tint = _SEVERITY.get(doc.severity if doc else "error", _SEVERITY["error"])
    where = location(f)
    path, rest = where[:len(f.path)], where[len(f.path):]
    return f"{_BOLD}{path}{_RESET}{rest}: {tint}{f.code}{_RESET} {f.message}"


def render(findings, catalogue, *, quiet: bool = False, files: int = 0, colour: bool = False, **_) -> str:
    lines = [_line(f, catalogue, colour) for f in findings]
    if not quiet:
        n = len(findings)
        if n:
            nfiles = len({f.path for f in findings})
            lines.append(f"Found {n} finding{'s' if n != 1 else ''} in {nfiles} file{'s' if nfiles != 1 else ''} "
                         f"({files} file{'s' if files != 1 else ''} checked).")
        else:
            lines.append(f"All clear: no findings in {files} file{'s' if files != 1 else ''}.")
    return "\n".join(lines) + ("\n" if lines else "")
