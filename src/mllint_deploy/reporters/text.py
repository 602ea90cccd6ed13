"""`path:line:col: CODE message`, one per line, then a summary line unless quiet; coloured on request.

A finding whose fix `--fix` would apply is marked `CODE [*] message`; the summary counts them:
`3 fixable with --fix (1 more with --unsafe-fixes)`."""

from __future__ import annotations

_RESET = "\033[0m"
_BOLD = "\033[1m"
_SEVERITY = {"error": "\033[1;31m", "warning": "\033[1;33m", "note": "\033[1;36m"}


def location(f) -> str:
    if f.cell is not None:
        return f"{f.path}:cell {f.cell}:{f.line}:{f.column}"
    return f"{f.path}:{f.line}:{f.column}"


def _line(f, catalogue, colour: bool, unsafe_fixes: bool) -> str:
    mark = " [*]" if f.fix is not None and f.fix.applies(unsafe_fixes) else ""
    if not colour:
        return f"{location(f)}: {f.code}{mark} {f.message}"
    doc = catalogue.get(f.code)
    tint = _SEVERITY.get(doc.severity if doc else "error", _SEVERITY["error"])
    where = location(f)
    path, rest = where[:len(f.path)], where[len(f.path):]
    return f"{_BOLD}{path}{_RESET}{rest}: {tint}{f.code}{_RESET}{mark} {f.message}"


def fixable_summary(findings, unsafe_fixes: bool = False) -> str:
    """`N fixable with --fix (M more with --unsafe-fixes)`, or '' when nothing is fixable."""
    safe = sum(1 for f in findings if f.fix is not None and f.fix.is_safe)
    unsafe = sum(1 for f in findings if f.fix is not None and not f.fix.is_safe)
    if unsafe_fixes:
        return f"{safe + unsafe} fixable with --fix --unsafe-fixes." if safe + unsafe else ""
    if not safe and not unsafe:
        return ""
    more = f" ({unsafe} more with --unsafe-fixes)" if unsafe else ""
    return f"{safe} fixable with --fix{more}."


def render(findings, catalogue, *, quiet: bool = False, files: int = 0, colour: bool = False,
           unsafe_fixes: bool = False, **_) -> str:
    lines = [_line(f, catalogue, colour, unsafe_fixes) for f in findings]
    if not quiet:
        n = len(findings)
        if n:
            nfiles = len({f.path for f in findings})
            lines.append(f"Found {n} finding{'s' if n != 1 else ''} in {nfiles} file{'s' if nfiles != 1 else ''} "
                         f"({files} file{'s' if files != 1 else ''} checked).")
        else:
            lines.append(f"All clear: no findings in {files} file{'s' if files != 1 else ''}.")
        fixable = fixable_summary(findings, unsafe_fixes)
        if fixable:
            lines.append(fixable)
    return "\n".join(lines) + ("\n" if lines else "")
