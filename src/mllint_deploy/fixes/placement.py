"""A notebook fix moved from the joined code of its cells to the cells themselves."""

from __future__ import annotations

from dataclasses import replace

from mllint_deploy.fixes.model import Edit, Fix


def place_in_cells(fix: Fix, line_map: list[tuple[int, int, int]]) -> Fix | None:
    """Each edit's positions inside its cell (`line_map[i]` is (cell, line in cell, column shift) of
    line i + 1 of the joined text); None when an edit would cross a cell boundary."""
    edits = []
    for e in fix.edits:
        start = _locate(line_map, e.line, e.column)
        end = _locate(line_map, e.end_line, e.end_column)
        if start is None or end is None or start[0] != end[0]:
            return None
        edits.append(Edit(start[1], start[2], end[1], end[2], e.content, cell=start[0]))
    return replace(fix, edits=tuple(edits))


def _locate(line_map, line: int, column: int):
    if 1 <= line <= len(line_map):
        cell, cell_line, shift = line_map[line - 1]
        return cell, cell_line, column + shift
    if line == len(line_map) + 1 and column == 1 and line_map:  # the end of the joined text
        cell, cell_line, _ = line_map[-1]
        return None if cell is None else (cell, cell_line + 1, 1)
    return None
