"""The fix for serving a torch model in training mode (MLD404): `model.eval()` right after the load, and
the statement that calls the model inside `with torch.inference_mode():`.

Safe: it changes nothing but what the rule reports (dropout and batch-norm behave as at evaluation, and
autograd stops recording the request). The wrap re-indents one simple statement by four spaces; it is
not made when re-indenting could change the program (a string literal spanning lines), when the
statement shares its line with another, or when torch is not imported under a name.
"""

from __future__ import annotations

import libcst as cst

from mllint_deploy.analysis.handlers import serving_knowledge
from mllint_deploy.analysis.models import decorated_no_grad, module_models
from mllint_deploy.analysis.names import dotted
from mllint_deploy.fixes.cst_edits import node_span, statement_of, torch_alias
from mllint_deploy.fixes.model import SAFE, Edit, Fix
from mllint_deploy.fixes.text_edits import line_starts


class _Assignments(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.values: list[cst.BaseExpression] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        if any(dotted(t.target) == self.name for t in node.targets):
            self.values.append(node.value)


def fix_train_mode(ctx, node) -> Fix | None:
    if not isinstance(node, cst.Call):
        return None
    func = node.func
    models = module_models(ctx)
    candidates = [dotted(func)] + ([dotted(func.value)] if isinstance(func, cst.Attribute) else [])
    receiver = next((c for c in candidates if c and c in models.torch), None)  # `model(x)`, `model.forward(x)`
    if receiver is None:
        return None
    edits, what = [], []
    if receiver not in models.evaluated:
        edit = _eval_after_load(ctx, receiver)
        if edit is not None:
            edits.append(edit)
            what.append(f"call {receiver}.eval() after loading it")
    wrap = _inference_mode_around(ctx, node)
    if wrap is not None:
        edits.append(wrap)
        what.append("run the call inside torch.inference_mode()")
    if not edits:
        return None
    message = " and ".join(what)
    return Fix(SAFE, message[0].upper() + message[1:], tuple(edits))


def _eval_after_load(ctx, receiver: str) -> Edit | None:
    finder = _Assignments(receiver)
    ctx.module.visit(finder)
    if len(finder.values) != 1:
        return None  # assigned in several places: which load needs it is the author's call
    found = statement_of(ctx, finder.values[0])
    if found is None:
        return None
    line, _, _ = found
    start_line, start_column, end_line, _ = node_span(ctx, line.body[0])
    starts = line_starts(ctx.text)
    text_line = ctx.text[starts[end_line - 1]: starts[end_line] if end_line < len(starts) else len(ctx.text)]
    body = text_line.rstrip("\r\n")
    newline = text_line[len(body):] or "\n"
    first = ctx.text[starts[start_line - 1]: starts[start_line - 1] + start_column - 1]
    indent = first if not first.strip() else ""
    at = len(body) + 1
    return Edit(end_line, at, end_line, at, f"{newline}{indent}{receiver}.eval()")


class _CallLines(cst.CSTVisitor):
    """For every call: the one-statement line that holds it, and whether a `with torch.no_grad()` /
    `inference_mode()` block or a `@torch.no_grad()` function encloses it."""

    def __init__(self, idx) -> None:
        self.idx = idx
        self.no_grad = serving_knowledge()["torch_no_grad"]
        self.found: dict[int, tuple[cst.SimpleStatementLine | None, bool]] = {}
        self._guards: list[bool] = [False]
        self._line: list[cst.SimpleStatementLine | None] = [None]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._guards.append(self._guards[-1] or decorated_no_grad(self.idx, node))
        self._line.append(None)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._guards.pop()
        self._line.pop()

    def visit_With(self, node: cst.With) -> None:
        guarded = any(isinstance(item.item, cst.Call) and self.idx.qualify(item.item.func) in self.no_grad
                      for item in node.items)
        self._guards.append(self._guards[-1] or guarded)

    def leave_With(self, original_node: cst.With) -> None:
        self._guards.pop()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._line.append(node if len(node.body) == 1 else None)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self._line.pop()

    def visit_Call(self, node: cst.Call) -> None:
        self.found[id(node)] = (self._line[-1], self._guards[-1])


class _MultilineStrings(cst.CSTVisitor):
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.found = False

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        rng = self.ctx.position(node)
        self.found = self.found or rng.start.line != rng.end.line

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        rng = self.ctx.position(node)
        self.found = self.found or rng.start.line != rng.end.line


def _inference_mode_around(ctx, call: cst.Call) -> Edit | None:
    """`logits = model(x)` -> `with torch.inference_mode():` and the statement indented under it."""
    torch = torch_alias(ctx)
    if torch is None:
        return None
    line, guarded = ctx.shared("fix:call_lines", _call_lines).get(id(call), (None, True))
    if line is None or guarded:
        return None
    strings = _MultilineStrings(ctx)
    line.visit(strings)
    if strings.found:
        return None  # re-indenting would change the text of the string
    start_line, start_column, end_line, end_column = node_span(ctx, line.body[0])
    starts = line_starts(ctx.text)
    first = ctx.text[starts[start_line - 1]: starts[start_line - 1] + start_column - 1]
    if first.strip():
        return None  # `if ready: y = model(x)`: the statement does not start its line
    text = ctx.text[starts[start_line - 1] + start_column - 1: starts[end_line - 1] + end_column - 1]
    own_line = ctx.text[starts[start_line - 1]: starts[start_line] if start_line < len(starts) else len(ctx.text)]
    newline = "\r\n" if own_line.endswith("\r\n") else "\n"  # the statement's own line ending
    lines = text.splitlines()
    body = newline.join(["    " + lines[0]] + [("    " + piece) if piece.strip() else piece
                                                   for piece in lines[1:]])
    new = f"with {torch}.inference_mode():{newline}{first}{body}"
    return Edit(start_line, start_column, end_line, end_column, new)


def _call_lines(ctx):
    visitor = _CallLines(ctx.index)
    ctx.module.visit(visitor)
    return visitor.found
