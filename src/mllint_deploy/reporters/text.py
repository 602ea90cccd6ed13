"""`path:line:col: CODE message`, one per line, then a summary line unless quiet."""

from __future__ import annotations

from collections import Counter


def location(f) -> str:
    if f.cell is not None:
        return f"{f.path}:cell {f.cell}:{f.line}:{f.column}"
    return f"{f.path}:{f.line}:{f.column}"


def render(findings, catalogue, *, quiet: bool = False, statistics: bool = False, files: int = 0, **_) -> str:
    lines = [f"{location(f)}: {f.code} {f.message}" for f in findings]
    if statistics and findings:
        counts = Counter(f.code for f in findings)
        lines.append("")
        for code, n in sorted(counts.items()):
            name = catalogue[code].name if code in catalogue else ""
            lines.append(f"{n:>6}  {code}  {name}")
    if not quiet:
        n = len(findings)
        if n:
            nfiles = len({f.path for f in findings})
            lines.append(f"Found {n} finding{'s' if n != 1 else ''} in {nfiles} file{'s' if nfiles != 1 else ''} "
                         f"({files} file{'s' if files != 1 else ''} checked).")
        else:
            lines.append(f"All clear: no findings in {files} file{'s' if files != 1 else ''}.")
    return "\n".join(lines) + ("\n" if lines else "")
