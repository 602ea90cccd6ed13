"""Where a notebook cell's source lines sit in the `.ipynb` file's own text.

Findings in a notebook are placed at a line inside a cell. Editors and the text reporter show
`cell N:line`, but CI annotations (GitHub, SARIF code scanning, GitLab) point into the file as it is
stored, a JSON document. This module scans that JSON text for each cell's `source` (a list of strings,
as nbformat writes it, or one string) and maps (cell, line in cell, column) to the line and column of
the JSON text that holds that character, so an annotation lands on the flagged source line.
"""

from __future__ import annotations

import bisect
import json
import re

_WS = re.compile(r"[ \t\n\r]*")
_BREAK = re.compile(r"\r\n|\r|\n")
_skip_value = json.JSONDecoder().raw_decode
_scan_string = json.decoder.scanstring


class _Malformed(Exception):
    pass


class NotebookText:
    """The positions of every cell's source inside one notebook's JSON text."""

    def __init__(self, text: str):
        self._text = text
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        # cell number (1-based, among all cells) -> [(offset of the string's opening quote, decoded text)]
        self._sources: dict[int, list[tuple[int, str]]] = {}
        # cell number -> (start, end) of its `source` value and the (start, end) of each string in it
        self._spans: dict[int, tuple[tuple[int, int], list[tuple[int, int]]]] = {}
        try:
            self._scan()
        except (_Malformed, ValueError, IndexError):
            self._sources = {}

    def locate(self, cell: int, line: int, column: int) -> tuple[int, int] | None:
        """(line, column) in the JSON text, both 1-based, of column `column` on line `line` of cell
        `cell`; None when the cell or line is not there."""
        parts = self._sources.get(cell)
        if not parts:
            return None
        joined = "".join(text for _, text in parts)
        breaks = list(_BREAK.finditer(joined))
        starts = [0] + [m.end() for m in breaks]
        count = len(starts) - 1 if breaks and breaks[-1].end() == len(joined) else len(starts)
        if not 1 <= line <= count:
            return None
        line_end = breaks[line - 1].start() if line <= len(breaks) else len(joined)
        index = min(starts[line - 1] + max(column, 1) - 1, line_end)
        seen = 0
        for quote, text in parts:
            if index < seen + len(text):
                return self._position(_raw_offset(self._text, quote, index - seen))
            seen += len(text)
        quote, text = parts[-1]
        return self._position(_raw_offset(self._text, quote, len(text)))

    def _position(self, offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(self._line_starts, offset) - 1
        return row + 1, offset - self._line_starts[row] + 1

    # a small scanner: only the path cells[i].source is read; every other value is skipped whole
    def _scan(self) -> None:
        text = self._text
        i = self._ws(1 if text.startswith("\ufeff") else 0)
        i = self._expect(i, "{")
        while True:
            i = self._ws(i)
            if text[i] == "}":
                return
            key, i = _scan_string(text, self._expect(i, '"'))
            i = self._ws(self._expect(self._ws(i), ":"))
            if key != "cells" or text[i] != "[":
                i = self._skip(i)
            else:
                i = self._cells(i)
            i = self._ws(i)
            if text[i] == ",":
                i += 1

    def _cells(self, i: int) -> int:
        text = self._text
        i = self._ws(i + 1)
        number = 0
        while text[i] != "]":
            number += 1
            i = self._cell(i, number) if text[i] == "{" else self._skip(i)
            i = self._ws(i)
            if text[i] == ",":
                i = self._ws(i + 1)
        return i + 1

    def _cell(self, i: int, number: int) -> int:
        text = self._text
        i = self._expect(i, "{")
        while True:
            i = self._ws(i)
            if text[i] == "}":
                return i + 1
            key, i = _scan_string(text, self._expect(i, '"'))
            i = self._ws(self._expect(self._ws(i), ":"))
            if key == "source":
                i = self._source(i, number)
            else:
                i = self._skip(i)
            i = self._ws(i)
            if text[i] == ",":
                i += 1

    def _source(self, i: int, number: int) -> int:
        text = self._text
        parts: list[tuple[int, str]] = []
        strings: list[tuple[int, int]] = []
        if text[i] == '"':
            value, end = _scan_string(text, i + 1)
            parts.append((i, value))
            strings.append((i, end))
        elif text[i] == "[":
            end = self._ws(i + 1)
            while text[end] != "]":
                quote = end
                value, end = _scan_string(text, self._expect(end, '"'))
                parts.append((quote, value))
                strings.append((quote, end))
                end = self._ws(end)
                if text[end] == ",":
                    end = self._ws(end + 1)
            end += 1
        else:
            end = self._skip(i)
        self._sources[number] = parts
        self._spans[number] = ((i, end), strings)
        return end

    def source_span(self, cell: int):
        """((start, end) of the cell's `source` value, [(start, end) of each JSON string in it]) in
        the text, or None when the cell is not there."""
        return self._spans.get(cell)

    def source_text(self, cell: int) -> str | None:
        parts = self._sources.get(cell)
        return None if parts is None else "".join(text for _, text in parts)

    def _skip(self, i: int) -> int:
        return _skip_value(self._text, i)[1]

    def _ws(self, i: int) -> int:
        return _WS.match(self._text, i).end()

    def _expect(self, i: int, char: str) -> int:
        if self._text[i] != char:
            raise _Malformed
        return i + 1


def _raw_offset(text: str, quote: int, decoded: int) -> int:
    """The offset in `text` of the `decoded`-th character of the JSON string whose opening quote is at
    `quote` (escapes count as one character)."""
    i = quote + 1
    for _ in range(decoded):
        if text[i] != "\\":
            i += 1
        elif text[i + 1] == "u":
            i += 6
            if text.startswith("\\u", i) and 0xD800 <= int(text[i - 4 : i], 16) <= 0xDBFF:
                i += 6
        else:
            i += 2
    return i
