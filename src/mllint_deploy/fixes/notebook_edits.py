"""Fixes written into a notebook's cells, keeping the `.ipynb` JSON as it is stored.

Only the `source` of an edited cell changes, and in it only the strings of the lines that changed
(new lines are written as nbformat writes them, `json.dumps` without ASCII escaping); the other
strings, the separators, indentation, outputs and metadata are copied byte for byte.
"""

from __future__ import annotations

import difflib
import json
from collections import defaultdict

from mllint_deploy.fixes.text_edits import EditOutOfRange, spans, splice
from mllint_deploy.sources.notebook_json import NotebookText


class NotebookNotEditable(ValueError):
    """The notebook's JSON could not be scanned for the cells to edit."""


def cell_edits(fixes) -> dict[int, list]:
    """The fixes' edits grouped by cell."""
    out: dict[int, list] = defaultdict(list)
    for fix in fixes:
        for e in fix.edits:
            out[e.cell].append(e)
    return out


def cell_sources(raw: str, cells) -> dict[int, str]:
    doc = NotebookText(raw)
    out = {}
    for cell in cells:
        text = doc.source_text(cell)
        if text is None:
            raise NotebookNotEditable(f"cell {cell} not found")
        out[cell] = text
    return out


def apply_to_cell(source: str, edits) -> str:
    try:
        return splice(source, spans(source, edits))
    except EditOutOfRange as exc:
        raise NotebookNotEditable(str(exc)) from None


def rewrite_sources(raw: str, new_sources: dict[int, str]) -> str:
    """The notebook's JSON text with the `source` of each cell in `new_sources` replaced."""
    doc = NotebookText(raw)
    replacements = []
    for cell, source in new_sources.items():
        found = doc.source_span(cell)
        if found is None:
            raise NotebookNotEditable(f"cell {cell} not found")
        (start, end), strings = found
        replacements.append((start, end, _source_value(raw, start, end, strings, source)))
    return splice(raw, replacements)


def _source_value(raw: str, start: int, end: int, strings, source: str) -> str:
    if raw[start] == '"':  # one string
        return json.dumps(source, ensure_ascii=False)
    old_raw = [raw[a:b] for a, b in strings]
    old = [json.loads(r) for r in old_raw]
    new = source.splitlines(keepends=True)
    items: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            items.extend(old_raw[a1:a2])
        else:
            items.extend(json.dumps(line, ensure_ascii=False) for line in new[b1:b2])
    if not strings:
        return json.dumps(new, ensure_ascii=False)
    first, last = strings[0], strings[-1]
    opening = raw[start + 1:first[0]]  # `[` to the first string: newline and indentation
    closing = raw[last[1]:end - 1]  # the last string to `]`
    separator = raw[strings[0][1]:strings[1][0]] if len(strings) > 1 else "," + opening
    return "[" + opening + separator.join(items) + closing + "]"
