"""Applying a file's fixes to its bytes: a Python file's text or a notebook's cells.

Fixes are applied in the order given, each one whole or not at all; one that overlaps an earlier
one waits for the next round. The result must parse (Python's own parser, `ast.parse`, which runs
nothing): if it does not, the fixes are tried one at a time and only those that keep it parsing are
kept. The file's encoding (a coding cookie, a BOM) and line endings are kept.
"""

from __future__ import annotations

import io
import tokenize

from mllint_deploy.fixes.model import Fix
from mllint_deploy.fixes.notebook_edits import NotebookNotEditable, cell_sources, rewrite_sources
from mllint_deploy.fixes.text_edits import EditOutOfRange, apply_fixes, spans, splice
from mllint_deploy.sources.notebook import BrokenNotebook, read_notebook
from mllint_deploy.sources.source import decode, python_accepts


def fix_python(data: bytes, fixes: list[Fix]) -> tuple[bytes, list[Fix]]:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = decode(data)
    new, applied = apply_fixes(text, fixes)
    if applied and not python_accepts(new):
        new, applied = text, []
        for fix in fixes:
            candidate, done = apply_fixes(new, [fix])
            if done and python_accepts(candidate):
                new, applied = candidate, applied + done
    if not applied:
        return data, []
    try:
        return new.encode(encoding), applied
    except UnicodeEncodeError:
        return data, []  # the seed name cannot be written in the file's encoding


def _notebook_parses(data: bytes, before: int) -> bool:
    try:
        nb = read_notebook(data)
    except BrokenNotebook:
        return False
    return nb is not None and len(nb.bad_cells) <= before


def _apply_to_cells(raw: str, fixes: list[Fix]) -> tuple[str, list[Fix]]:
    cells = sorted({e.cell for f in fixes for e in f.edits if e.cell is not None})
    sources = cell_sources(raw, cells)
    chosen: dict[int, list] = {c: [] for c in cells}
    applied = []
    for fix in fixes:
        if any(e.cell is None for e in fix.edits):
            continue
        try:
            mine = {c: spans(sources[c], [e for e in fix.edits if e.cell == c]) for c in {e.cell for e in fix.edits}}
        except EditOutOfRange:
            continue
        if any(s1 < e2 and s2 < e1 or s1 == s2 for c, ss in mine.items() for s1, e1, _ in ss
               for s2, e2, _ in chosen[c]):
            continue
        for c, ss in mine.items():
            chosen[c].extend(ss)
        applied.append(fix)
    changed = {c: splice(sources[c], chosen[c]) for c in cells if chosen[c]}
    return (rewrite_sources(raw, changed) if changed else raw), applied


def fix_notebook(data: bytes, fixes: list[Fix]) -> tuple[bytes, list[Fix]]:
    try:
        raw = data.decode("utf-8")
        before = len(read_notebook(data).bad_cells)
        new, applied = _apply_to_cells(raw, fixes)
        if applied and not _notebook_parses(new.encode("utf-8"), before):
            new, applied = raw, []
            for fix in fixes:
                candidate, done = _apply_to_cells(new, [fix])
                if done and _notebook_parses(candidate.encode("utf-8"), before):
                    new, applied = candidate, applied + done
    except (UnicodeDecodeError, NotebookNotEditable, BrokenNotebook, AttributeError):
        return data, []
    return (new.encode("utf-8"), applied) if applied else (data, [])


def fix_bytes(data: bytes, fixes: list[Fix], notebook: bool) -> tuple[bytes, list[Fix]]:
    return fix_notebook(data, fixes) if notebook else fix_python(data, fixes)
