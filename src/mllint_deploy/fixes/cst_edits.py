"""Edits expressed on CST nodes, turned into text positions of the analysed file."""

from __future__ import annotations

import libcst as cst

from mllint_deploy.fixes.model import Edit


def node_span(ctx, node: cst.CSTNode) -> tuple[int, int, int, int]:
    """(line, column, end line, end column), 1-based, end exclusive."""
    rng = ctx.position(node)
    return rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1


def replace_node(ctx, node: cst.CSTNode, text: str) -> Edit:
    line, column, end_line, end_column = node_span(ctx, node)
    return Edit(line, column, end_line, end_column, text)


def insert_after(ctx, node: cst.CSTNode, text: str) -> Edit:
    _, _, end_line, end_column = node_span(ctx, node)
    return Edit(end_line, end_column, end_line, end_column, text)


def insert_before(ctx, node: cst.CSTNode, text: str) -> Edit:
    line, column, _, _ = node_span(ctx, node)
    return Edit(line, column, line, column, text)


def add_keyword(ctx, call: cst.Call, name: str, value: str) -> Edit:
    """`f(a, b)` -> `f(a, b, name=value)`; `f()` -> `f(name=value)`."""
    return add_argument(ctx, call, f"{name}={value}")


def add_argument(ctx, call: cst.Call, text: str) -> Edit:
    """The argument appended after the last one (a trailing comma stays after it)."""
    if call.args:
        return insert_after(ctx, call.args[-1].value, f", {text}")
    _, _, end_line, end_column = node_span(ctx, call)  # just before the closing parenthesis
    return Edit(end_line, end_column - 1, end_line, end_column - 1, text)


def add_first_positional(ctx, call: cst.Call, text: str) -> Edit:
    """`f()` -> `f(text)`; `f(k=1)` -> `f(text, k=1)`."""
    if not call.args:
        return add_argument(ctx, call, text)
    return insert_before(ctx, call.args[0], f"{text}, ")


def remove_argument(ctx, call: cst.Call, index: int) -> Edit:
    """The argument at `index` removed with the comma that separates it from its neighbour."""
    args = call.args
    arg = args[index]
    if index > 0:  # from the end of the previous argument's value to the end of this one's
        start = node_span(ctx, args[index - 1].value)
        end = node_span(ctx, arg.value)
        return Edit(start[2], start[3], end[2], end[3], "")
    start = node_span(ctx, arg)
    if len(args) > 1:
        following = node_span(ctx, args[1])
        return Edit(start[0], start[1], following[0], following[1], "")
    end = node_span(ctx, arg.value)
    return Edit(start[0], start[1], end[2], end[3], "")


def call_scopes(ctx) -> dict[int, object]:
    """id(call) -> the scope it is in, from the module index."""
    return ctx.shared("fix:call_scopes", lambda c: {id(call): scope for call, scope in c.index.calls})


class _Statements(cst.CSTVisitor):
    """Every one-statement line, by id() of its statement's value, with the block that holds it."""

    def __init__(self) -> None:
        self.found: dict[int, tuple[cst.SimpleStatementLine, tuple, int]] = {}

    def _body(self, body) -> None:
        for i, stmt in enumerate(body):
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
                small = stmt.body[0]
                if isinstance(small, (cst.Expr, cst.Assign)):
                    self.found[id(small.value)] = (stmt, tuple(body), i)

    def visit_Module(self, node: cst.Module) -> None:
        self._body(node.body)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._body(node.body)


def statement_of(ctx, value: cst.CSTNode):
    """(the line `x = value` or `value` alone, the statements of its block, its index) or None."""

    def build(c):
        walker = _Statements()
        c.module.visit(walker)
        return walker.found

    return ctx.shared("fix:statements", build).get(id(value))


def text_between(ctx, first: cst.CSTNode, second: cst.CSTNode) -> str:
    """The source text from the end of `first` to the start of `second`."""
    from mllint_deploy.fixes.text_edits import line_starts

    starts = ctx.shared("fix:line_starts", lambda c: line_starts(c.text))
    a, b = ctx.position(first).end, ctx.position(second).start
    return ctx.text[starts[a.line - 1] + a.column: starts[b.line - 1] + b.column]


def source_of(ctx, node: cst.CSTNode) -> str:
    """The node's text as written in the file."""
    from mllint_deploy.fixes.text_edits import line_starts

    starts = ctx.shared("fix:line_starts", lambda c: line_starts(c.text))
    rng = ctx.position(node)
    return ctx.text[starts[rng.start.line - 1] + rng.start.column: starts[rng.end.line - 1] + rng.end.column]


def torch_alias(ctx) -> str | None:
    """The name the file imports torch under (`import torch`, `import torch as th`), if any."""
    return next((name for name, target in ctx.index.aliases.items() if target == "torch"), None)
