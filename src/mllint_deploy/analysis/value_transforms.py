"""Row-wise value transformations training code applies to feature columns before fitting (MLD306).

`df[c] = df[c].str.lower().str.replace(" ", "_")`, `df.columns = df.columns.str.lower()`,
`df["income"] = np.log1p(df["income"])`, `df["home"] = df["home"].map(HOME_VALUES)`,
`df["age"] = df["age"].clip(18, 90)`, `df["month"] = df["date"].dt.month`: each changes what the
model learns a value *looks like*, so serving must apply the same change to request values. Read off
assignments to a frame's columns whose value transforms that frame's columns; the column is the
literal one assigned, `*` for a loop over columns, and `<column names>` when the names themselves are
normalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from mllint_deploy.analysis.calls import string_value

_STRING_METHODS = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "replace", "title", "capitalize",
                             "casefold"})
_MATH_FUNCTIONS = frozenset({"log", "log1p", "log2", "log10", "sqrt", "cbrt", "exp", "expm1", "power"})
_DATE_PARTS = frozenset({"year", "month", "day", "hour", "minute", "dayofweek", "weekday", "dayofyear",
                         "quarter", "week", "weekofyear", "is_month_start", "is_month_end", "is_weekend"})


@dataclass(frozen=True)
class TransformFact:
    """A value transformation of a feature column in training code."""

    column: str  # the column, `*` (every column of a loop), `<column names>`
    what: str  # e.g. "str.lower/str.replace", "np.log1p", "a mapping dict", "clipping", "date parts"
    line: int


class _Markers(cst.CSTVisitor):
    """What transforms an expression applies, and which frames it reads."""

    def __init__(self, idx, scope) -> None:
        self.idx, self.scope = idx, scope
        self.what: list[str] = []
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        base = node.value
        if isinstance(base, cst.Attribute) and base.attr.value == "str" and node.attr.value in _STRING_METHODS:
            self.what.append(f"str.{node.attr.value}")
        elif isinstance(base, cst.Attribute) and base.attr.value == "dt" and node.attr.value in _DATE_PARTS:
            self.what.append(f"dt.{node.attr.value}")

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        q = self.idx.qualify(func, self.scope)
        if q and q.startswith("numpy.") and q.rsplit(".", 1)[-1] in _MATH_FUNCTIONS:
            self.what.append(f"np.{q.rsplit('.', 1)[-1]}")
        elif isinstance(func, cst.Attribute) and func.attr.value in ("map", "replace") and node.args:
            arg = node.args[0].value
            if isinstance(arg, cst.Dict) or (isinstance(arg, cst.Name) and self._is_dict(arg.value)):
                self.what.append("a mapping dict")
        elif isinstance(func, cst.Attribute) and func.attr.value == "clip":
            self.what.append("clipping")

    def _is_dict(self, name: str) -> bool:
        values = self.idx.bound_values(name, self.scope) or []
        return bool(values) and isinstance(values[-1], cst.Dict)


@dataclass
class RawFeed:
    """A handler passing the client's values (validated or not) to a model with no value transformation on
    the way (MLD306)."""

    span: tuple[int, int, int, int]
    handler: str
    call: str  # `dv.transform`, `model.predict_proba`


def serving_raw_feeds(ctx) -> list[RawFeed]:
    """Model calls in request handlers that get the client's values as sent: nothing on the way changed
    a value (a string normalisation, a mapping, arithmetic, an opaque helper) or assembled the row
    field by field (serving's own feature code)."""
    from mllint_deploy.analysis.handlers import find_handlers
    from mllint_deploy.analysis.requests import real_input
    from mllint_deploy.analysis.serving_events import analyse_handlers

    handlers = find_handlers(ctx)
    if not handlers:
        return []
    out: list[RawFeed] = []
    seen: set[int] = set()
    for result in analyse_handlers(ctx, handlers)[0]:
        for use in result.uses:
            given = [d for d in use.datas if real_input(d)]
            if use.built_by is None and given and not any(d.altered for d in given) and id(use.node) not in seen:
                seen.add(id(use.node))
                line, col, end_line, end_col = ctx.span(use.node)
                out.append(RawFeed((line, col, end_line, end_col), result.handler.node.name.value,
                                   f"{use.receiver}.{use.method}" if use.method != "__call__" else use.receiver))
    return out


def _target_column(target) -> tuple[str, str] | None:
    """(frame name, column) the assignment writes: `df["c"]`, `df.c`, `df[c]` (a loop: `*`), `df.columns`."""
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
        column = "<column names>" if target.attr.value == "columns" else target.attr.value
        return target.value.value, column
    if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and len(target.slice) == 1 \
            and isinstance(target.slice[0].slice, cst.Index):
        key = target.slice[0].slice.value
        s = string_value(key)
        if s is not None:
            return target.value.value, s
        if isinstance(key, cst.Name):
            return target.value.value, "*"
    return None


def training_transforms(ctx) -> list[TransformFact]:
    """The value transformations of frame columns anywhere in the file (its training code)."""
    idx = ctx.index
    out: list[TransformFact] = []
    scopes = {id(idx.module_scope.node): idx.module_scope}
    for fn, _ in idx.functions:
        scopes[id(fn)] = idx.scopes[fn]

    def visit(body, scope) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        found = _target_column(small.targets[0].target)
                        if found is None:
                            continue
                        frame, column = found
                        markers = _Markers(idx, scope)
                        small.value.visit(markers)
                        if markers.what and frame in markers.names:
                            # a chain is visited outside in: `.str.lower().str.replace()` -> replace, lower
                            what = "/".join(dict.fromkeys(reversed(markers.what)))
                            out.append(TransformFact(column, what, ctx.line_of(small)))
            elif isinstance(stmt, cst.FunctionDef):
                visit(stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else [], idx.scopes[stmt])
            elif isinstance(stmt, cst.ClassDef):
                continue
            else:
                for block in _blocks(stmt):
                    visit(block, scope)

    visit(ctx.module.body, idx.module_scope)
    return out


def _blocks(stmt) -> list:
    """The statement lists inside a compound statement (if/for/while/with/try bodies)."""
    out = []
    for name in ("body", "orelse", "finalbody"):
        part = getattr(stmt, name, None)
        while part is not None:
            if isinstance(part, cst.If):  # elif
                out.append(part.body.body)
                part = part.orelse
                continue
            inner = getattr(part, "body", None)
            if isinstance(inner, cst.IndentedBlock):
                out.append(inner.body)
            elif isinstance(inner, (list, tuple)):
                out.append(inner)
            break
    for handler in getattr(stmt, "handlers", ()) or ():
        out.append(handler.body.body)
    return out

