"""Fixes for leakage (MLD101, MLD102, MLD106), read from the same dataflow facts the rules query.

- MLD102, `scaler.fit_transform(X_test)` after `scaler` was fitted on the training part: use
  `transform` (safe: the refit on test rows is the only thing that changes). A lone
  `vec.fit(test_texts)` statement after a fit on the training part is removed (unsafe: a statement
  goes away).
- MLD106, a random split of time-ordered data: `shuffle=False` (unsafe: the test part becomes the last
  rows, which is a cut-off in time only if the rows are sorted by time).
- MLD101, in its simplest shape only: `X = s.fit_transform(X)` directly followed by
  `X_tr, X_te, ... = train_test_split(X, ...)` becomes the split, then `X_tr = s.fit_transform(X_tr)`
  and `X_te = s.transform(X_te)` (unsafe: statements move and `X` keeps its unscaled rows).
"""

from __future__ import annotations

import re

import libcst as cst

from mllint_deploy.analysis.calls import has_splat, is_none, is_true, keyword, positional
from mllint_deploy.analysis.dataflow import module_flows
from mllint_deploy.analysis.seeds import randomness_knowledge
from mllint_deploy.fixes.cst_edits import (add_keyword, call_scopes, node_span, remove_argument, replace_node,
                                           source_of, statement_of, text_between)
from mllint_deploy.fixes.model import SAFE, UNSAFE, Edit, Fix


def _fit_at(ctx, node):
    for flow in module_flows(ctx):
        for fit in flow.fits:
            if fit.node is node:
                return fit
    return None


def _fitted_on_train_before(fit) -> object | None:
    if fit.obj is None:
        return None
    return next((f for f in fit.obj.fits if f.index < fit.index and f.data is not None and f.data.part == "train"
                 and f is not fit), None)


def fix_fit_on_test(ctx, node) -> Fix | None:
    """MLD102."""
    fit = _fit_at(ctx, node)
    if fit is None:
        return None
    call = fit.call if fit.call is not None else node
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
        return None
    earlier = _fitted_on_train_before(fit)
    if earlier is None or not isinstance(call.func.value, cst.Name) or not fit.obj.learns_from_rows:
        return None  # a model refitted on test data: which fit to keep is the author's call
    where = f"line {ctx.line_of(earlier.node)}"
    if fit.method == "fit_transform" and call.func.attr.value == "fit_transform":
        return Fix(SAFE, f"Use {call.func.value.value}.transform(): it was fitted on the training part ({where})",
                   (replace_node(ctx, call.func.attr, "transform"),))
    if fit.method == "fit" and call.func.attr.value == "fit":
        found = statement_of(ctx, call)
        if found is None or not isinstance(found[0].body[0], cst.Expr) or len(found[1]) < 2:
            return None
        line, _, end_line, _ = node_span(ctx, found[0])
        return Fix(UNSAFE, f"Remove the refit on test data: {call.func.value.value} was fitted on the training "
                   f"part ({where})", (Edit(line, 1, end_line + 1, 1, ""),))
    return None


def fix_shuffled_time_split(ctx, node) -> Fix | None:
    """MLD106: `train_test_split(..., shuffle=False)`, `KFold(n_splits=5)` without shuffling."""
    if not isinstance(node, cst.Call) or has_splat(node):
        return None
    k = randomness_knowledge()
    name = ctx.index.call_name(node, call_scopes(ctx).get(id(node)))
    shuffle = keyword(node, "shuffle")
    if name in k.split_functions and k.split_functions[name] != "generator":
        stratify = keyword(node, "stratify")
        if stratify is not None and not is_none(stratify):
            return None  # a stratified split cannot be unshuffled (sklearn refuses it)
        edit = replace_node(ctx, shuffle, "False") if shuffle is not None else add_keyword(ctx, node, "shuffle", "False")
        return Fix(UNSAFE, "Split without shuffling (shuffle=False): the test part is the last rows", (edit,))
    if k.shuffling_splitters.get(name) == "when-shuffle-true" and is_true(shuffle):
        edits = [replace_node(ctx, shuffle, "False")]
        seeded = [i for i, a in enumerate(node.args) if a.keyword is not None and a.keyword.value == "random_state"]
        if seeded:  # sklearn refuses a random_state without shuffling
            edits.append(remove_argument(ctx, node, seeded[0]))
        return Fix(UNSAFE, "Keep the folds in time order (shuffle=False)", tuple(edits))
    return None


def fix_fit_before_split(ctx, node) -> Fix | None:
    """MLD101, adjacent shape only: `X = s.fit_transform(X)` then `X_tr, X_te, ... = split(X, ...)`."""
    call = node
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "fit_transform" and isinstance(call.func.value, (cst.Name, cst.Call))
            and len(call.args) == 1 and call.args[0].keyword is None and isinstance(call.args[0].value, cst.Name)):
        return None
    data = call.args[0].value.value
    found = statement_of(ctx, call)
    if found is None:
        return None
    line, body, i = found
    assign = line.body[0]
    if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name) and assign.targets[0].target.value == data):
        return None
    if i + 1 >= len(body) or not isinstance(body[i + 1], cst.SimpleStatementLine) or len(body[i + 1].body) != 1:
        return None
    split = body[i + 1].body[0]
    if not (isinstance(split, cst.Assign) and isinstance(split.value, cst.Call) and len(split.targets) == 1):
        return None
    scope = call_scopes(ctx).get(id(split.value))
    name = ctx.index.call_name(split.value, scope)
    k = randomness_knowledge()
    if name not in k.split_functions or has_splat(split.value):
        return None
    first = positional(split.value, 0)
    target = split.targets[0].target
    if not (isinstance(first, cst.Name) and first.value == data and isinstance(target, (cst.Tuple, cst.List))):
        return None
    parts = [el.value for el in target.elements]
    if len(parts) < 2 or not all(isinstance(p, cst.Name) for p in parts[:2]):
        return None
    if any(isinstance(a.value, cst.Name) and a.value.value == data for a in split.value.args[1:]):
        return None
    gap = text_between(ctx, assign, split)
    comment, newline, indent = _line_break(gap)
    if newline is None or indent.strip():
        return None  # blank or comment lines between the two statements: leave them to the author
    train, test = parts[0].value, parts[1].value
    start, end = node_span(ctx, assign), node_span(ctx, split)
    rest = _rest_of_line(ctx, end[2], end[3])  # the split line's own trailing comment stays on it
    sep = newline + indent
    made = ""
    if isinstance(call.func.value, cst.Name):
        step = call.func.value.value
    else:  # `StandardScaler().fit_transform(X)`: the step gets a name, to transform the test part too
        step = _fresh_name(ctx, call.func.value, scope)
        if step is None:
            return None
        made = sep + f"{step} = {source_of(ctx, call.func.value)}"
    text = (source_of(ctx, split) + rest + made + sep + f"{train} = {step}.fit_transform({train})" + comment
            + sep + f"{test} = {step}.transform({test})")
    return Fix(UNSAFE, f"Split first, fit {step} on {train} and transform {test}",
               (Edit(start[0], start[1], end[2], end[3] + len(rest), text),))


def _fresh_name(ctx, constructor: cst.Call, scope) -> str | None:
    """`StandardScaler()` -> `standard_scaler`, a name nothing in the module uses yet."""
    from mllint_deploy.analysis.names import dotted

    spelled = dotted(constructor.func)
    if not spelled:
        return None
    base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", spelled.rsplit(".", 1)[-1]).lower()
    used = set(ctx.index.aliases) | set(ctx.index.module_scope.assigned) | {
        n for _, sc in ctx.index.calls for n in sc.bound} | set(re.findall(r"[A-Za-z_]\w*", ctx.text))
    for candidate in (base, *(f"{base}_{i}" for i in range(2, 10))):
        if candidate.isidentifier() and candidate not in used:
            return candidate
    return None


def _line_break(gap: str):
    """(trailing comment of the first line, the line break, the next line's indentation), or
    (.., None, ..) when `gap` is not exactly one line break with at most a comment before it."""
    for newline in ("\r\n", "\n", "\r"):
        if gap.count(newline) == 1 and (newline != "\n" or "\r" not in gap):
            comment, _, indent = gap.partition(newline)
            if comment.strip() and not comment.strip().startswith("#"):
                return "", None, ""
            return comment, newline, indent
    return "", None, ""


def _rest_of_line(ctx, line: int, column: int) -> str:
    text = ctx.text.splitlines(keepends=True)[line - 1] if line <= len(ctx.text.splitlines()) else ""
    return text[column - 1:].rstrip("\r\n")
