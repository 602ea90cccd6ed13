"""The fix for serving a torch model in training mode (MLD404): `model.eval()` right after the load.

Safe: it changes nothing but the layer mode the rule reports (dropout and batch-norm behave as at
evaluation). The missing `torch.inference_mode()` around the call is left to the author (the
message names it): wrapping a statement in a `with` block re-indents code the fix does not own.
"""

from __future__ import annotations

import libcst as cst

from mllint_deploy.analysis.models import module_models
from mllint_deploy.analysis.names import dotted
from mllint_deploy.fixes.cst_edits import node_span, statement_of
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
    if receiver is None or receiver in models.evaluated:
        return None
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
    return Fix(SAFE, f"Call {receiver}.eval() after loading it",
               (Edit(end_line, at, end_line, at, f"{newline}{indent}{receiver}.eval()"),))
