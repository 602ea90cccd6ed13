"""What a baseline keys a finding's line on: the enclosing `def`/`class` and the line's code text.

The source is never run and not parsed into a tree: one forward scan over the lines tracks strings
(triple-quoted ones spanning lines included), brackets and backslash continuations, so it knows which
physical lines start a logical line. Each logical line's indentation closes the scopes opened at the
same or a deeper indentation; a line starting with `def`, `async def` or `class` opens a scope named
after it. This is right for ordinary Python: decorators sit at their function's indentation, nested
functions and methods give `Outer.method.inner`, a docstring or a bracketed argument list that
starts in column 0 inside a function does not end the function. A `def`/`class` line (and its
decorators) belongs to the scope around it, not to the scope it opens; a continuation line belongs
to the scope of the logical line it continues.

The line text is the physical line without its trailing comment (`# noqa` included; a `#` inside a
string is not a comment), whitespace runs collapsed to one space.
"""

from __future__ import annotations

import re

MODULE = "<module>"

_SPECIAL = re.compile(r"[#'\"\\()\[\]{}]")
_OPENS = re.compile(r"(?:async[ \t]+)?def[ \t]+([^\W\d]\w*)|class[ \t]+([^\W\d]\w*)")
_STRING_END = {quote: re.compile(r"\\(?:.|$)|" + re.escape(quote)) for quote in ("'", '"', "'''", '"""')}


def normalise(text: str) -> str:
    """Whitespace runs collapsed to one space, ends stripped."""
    return " ".join(text.split())


class LineScopes:
    """The scope and the normalised code text of every line of one source text (1-based lookups)."""

    def __init__(self, lines: list[str]):
        self._scopes: list[str] = []
        self._texts: list[str] = []
        self._scan(lines)

    def __len__(self) -> int:
        return len(self._texts)

    def scope(self, line: int) -> str:
        """`Class.method`, `function`, `outer.inner`, or `<module>` for the 1-based line."""
        return self._scopes[line - 1]

    def text(self, line: int) -> str:
        """The 1-based line's code without its trailing comment, whitespace collapsed."""
        return self._texts[line - 1]

    def _scan(self, lines: list[str]) -> None:
        stack: list[tuple[int, str]] = []  # (indentation, name) of the open def/class scopes
        string = ""  # the quote of a string still open at the end of the previous line
        depth = 0  # open brackets
        continued = False  # the previous line ended in a backslash
        statement_scope = MODULE
        for line in lines:
            starts = not string and depth == 0 and not continued
            code_end, string, depth, continued = _lex(line, string, depth)
            code = normalise(line[:code_end])
            self._texts.append(code or normalise(line))
            if starts and code:
                indent = len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())
                while stack and stack[-1][0] >= indent:
                    stack.pop()
                statement_scope = ".".join(name for _, name in stack) or MODULE
                opened = _OPENS.match(code)
                if opened:
                    stack.append((indent, opened.group(1) or opened.group(2)))
            self._scopes.append(statement_scope)


def _lex(line: str, string: str, depth: int) -> tuple[int, str, int, bool]:
    """Where the code of `line` ends (a comment's `#` or the line's end), the string still open after
    it, the bracket depth and whether a backslash continues the line."""
    i, n = 0, len(line)
    while i < n:
        if string:
            m = _STRING_END[string].search(line, i)
            if m is None:
                break
            if m.group().startswith("\\"):
                if m.end() >= n and m.group() == "\\":  # a backslash ends the line inside the string
                    return n, string, depth, False
                i = m.end()
                continue
            string, i = "", m.end()
            continue
        m = _SPECIAL.search(line, i)
        if m is None:
            break
        ch, i = m.group(), m.end()
        if ch == "#":
            return m.start(), "", depth, False
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == "\\":
            if not line[i:].strip():
                return n, "", depth, True
        elif line.startswith(ch * 3, m.start()):
            string, i = ch * 3, m.start() + 3
        else:
            string = ch
    if len(string) == 1:  # an unterminated one-line string ends with its line
        string = ""
    return n, string, depth, False
