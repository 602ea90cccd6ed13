"""Line and column of nodes, computed the way libcst's `PositionProvider` does, at a fraction of the cost.

`MetadataWrapper.resolve(PositionProvider)` regenerates the module's code with position tracking,
and also runs an (empty) batched visit over the whole tree first. This module does the code
generation alone, with a lighter tracking state, one top-level statement at a time and only as far
as the nodes asked about; positions are kept as plain tuples and turned into `CodeRange` objects
only for the nodes someone asks about. The rules (syntactic positions: leading
and trailing whitespace excluded, ranges hoisted from the first and last child where libcst does
so) are the same; tests/test_fastcst.py compares every node's range with `PositionProvider`'s.
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import CodeRange
from libcst._nodes.internal import CodegenState
from libcst.metadata import MetadataWrapper, PositionProvider

_NEWLINE = re.compile(r"\r\n?|\n")


class _Syntactic:
    """`record_syntactic_position` as a plain context manager (libcst uses a generator)."""

    __slots__ = ("state", "node", "start_node", "end_node", "line", "column")

    def __init__(self, state, node, start_node, end_node):
        self.state = state
        self.node = node
        self.start_node = start_node
        self.end_node = end_node

    def __enter__(self):
        self.line = self.state.line
        self.column = self.state.column

    def __exit__(self, *exc):
        state = self.state
        computed = state.computed
        if self.start_node is not None:
            start = computed[self.start_node]
            line, column = start[0], start[1]
        else:
            line, column = self.line, self.column
        if self.end_node is not None:
            end = computed[self.end_node]
            end_line, end_column = end[2], end[3]
        else:
            end_line, end_column = state.line, state.column
        computed[self.node] = (line, column, end_line, end_column)
        return False


class _PositionState(CodegenState):
    def __init__(self, module: cst.Module, computed: dict):
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.line = 1  # one-based
        self.column = 0  # zero-based
        self.stack: list[tuple[int, int]] = []
        self.computed = computed

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        for token in self.indent_tokens:
            self._advance(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self._advance(value)

    def _advance(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            segments = _NEWLINE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def before_codegen(self, node) -> None:
        self.stack.append((self.line, self.column))

    def after_codegen(self, node) -> None:
        line, column = self.stack.pop()
        if node not in self.computed:
            self.computed[node] = (line, column, self.line, self.column)

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        return _Syntactic(self, node, start_node, end_node)


class Positions:
    """node -> `CodeRange` (1-based lines, 0-based columns), like `wrapper.resolve(PositionProvider)`.

    Code is generated one top-level statement at a time, only as far as the nodes asked about: a
    file whose findings are all near its top never generates the rest."""

    def __init__(self, raw: dict, pending=None):
        self._raw = raw
        self._ranges: dict = {}
        self._pending = pending  # the generator that extends `raw`, None when complete

    def _advance_to(self, node) -> bool:
        while self._pending is not None and node not in self._raw:
            try:
                next(self._pending)
            except StopIteration:
                self._pending = None
        return node in self._raw

    def __getitem__(self, node) -> CodeRange:
        rng = self._ranges.get(node)
        if rng is None:
            if node not in self._raw:
                self._advance_to(node)
            line, column, end_line, end_column = self._raw[node]
            rng = self._ranges[node] = CodeRange((line, column), (end_line, end_column))
        return rng

    def __contains__(self, node) -> bool:
        return node in self._raw or self._advance_to(node)

    def get(self, node, default=None):
        return self[node] if node in self else default

    def complete(self) -> "Positions":
        self._advance_to(object())
        return self

    def __len__(self) -> int:
        return len(self.complete()._raw)


def _generate(module: cst.Module, state: _PositionState):
    """`Module._codegen`, one top-level statement per step."""
    state.before_codegen(module)
    for header in module.header:
        header._codegen(state)
    for stmt in module.body:
        stmt._codegen(state)
        yield
    for footer in module.footer:
        footer._codegen(state)
    if module.has_trailing_newline:
        if len(state.tokens) == 0:
            state.add_token(state.default_newline)
    else:
        state.pop_trailing_newline()
    state.after_codegen(module)


def compute_positions(module: cst.Module) -> Positions:
    """The syntactic position of the nodes of `module`, generated as far as they are asked for."""
    computed: dict = {}
    return Positions(computed, _generate(module, _PositionState(module, computed)))


def provider_positions(module: cst.Module) -> Positions:
    """The same through libcst's public `PositionProvider` (the reference the tests compare with)."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    resolved = wrapper.resolve(PositionProvider)
    return Positions({n: (r.start.line, r.start.column, r.end.line, r.end.column) for n, r in resolved.items()})
