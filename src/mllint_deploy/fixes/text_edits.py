"""Applying edits to a text: 1-based (line, column) positions to offsets, overlaps refused.

Lines are broken at `\\r\\n`, `\\r` and `\\n` only, as the parser breaks them, and the text between the
edits is copied unchanged, so line endings, comments and formatting outside the edits stay byte for
byte.
"""

from __future__ import annotations

import re

from mllint_deploy.fixes.model import Edit, Fix

_BREAK = re.compile(r"\r\n|\r|\n")


class EditOutOfRange(ValueError):
    """An edit points outside the text (the text changed since the fix was computed)."""


def line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _BREAK.finditer(text)]


def _offset(starts: list[int], text: str, line: int, column: int) -> int:
    if not 1 <= line <= len(starts):
        raise EditOutOfRange(f"line {line} is outside the text")
    end = starts[line] if line < len(starts) else len(text)
    offset = starts[line - 1] + column - 1
    if not starts[line - 1] <= offset <= end:
        raise EditOutOfRange(f"column {column} is outside line {line}")
    return offset


def spans(text: str, edits) -> list[tuple[int, int, str]]:
    """(start offset, end offset, content) of each edit, in text order."""
    starts = line_starts(text)
    out = []
    for e in edits:
        start = _offset(starts, text, e.line, e.column)
        end = _offset(starts, text, e.end_line, e.end_column)
        if end < start:
            raise EditOutOfRange("an edit ends before it starts")
        out.append((start, end, e.content))
    return sorted(out, key=lambda s: (s[0], s[1]))


def _overlap(a: list[tuple[int, int, str]], b: list[tuple[int, int, str]]) -> bool:
    # two insertions at the same offset would also be ambiguous: counted as overlapping
    return any(s1 < e2 and s2 < e1 or s1 == s2 for s1, e1, _ in a for s2, e2, _ in b)


def apply_fixes(text: str, fixes) -> tuple[str, list[Fix]]:
    """The text with every fix applied that does not overlap an earlier one (in the order given), and
    the fixes applied; an overlapping fix is left for the next round."""
    chosen: list[tuple[int, int, str]] = []
    applied: list[Fix] = []
    for fix in fixes:
        try:
            mine = spans(text, fix.edits)
        except EditOutOfRange:
            continue
        if _overlap(mine, chosen):
            continue
        chosen.extend(mine)
        applied.append(fix)
    return splice(text, chosen), applied


def splice(text: str, chosen: list[tuple[int, int, str]]) -> str:
    parts, at = [], 0
    for start, end, content in sorted(chosen, key=lambda s: (s[0], s[1])):
        parts.append(text[at:start])
        parts.append(content)
        at = end
    parts.append(text[at:])
    return "".join(parts)


def apply_edits(text: str, edits: tuple[Edit, ...]) -> str:
    """One fix's edits applied (they must not overlap each other)."""
    return splice(text, spans(text, edits))
