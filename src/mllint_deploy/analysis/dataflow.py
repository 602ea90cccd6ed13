"""An ordered dataflow model per scope (the module, each function).

One walk over a scope's statements, in source order, keeps an environment from names to abstract
values (`values.py`): which data each name holds and where it came from (a file, a split part, a
fitted transform), which objects were built from which library classes, and what was fitted on what.
It records the events rules ask about: fits, splits, applications of fitted objects,
cross-validation, validation data handed to `fit`, and scores used to pick a model.
Calls are evaluated in `dataflow_calls.py`; same-file functions are followed through summaries.
Library knowledge (which classes fit, split, resample...) comes from the concepts (`knowledge/`).
"""

from __future__ import annotations

from itertools import count

import libcst as cst

from mllint_deploy.analysis.calls import string_value
from mllint_deploy.analysis.dataflow_calls import CallTransfer
from mllint_deploy.analysis.flowsupport import (
    BUILTINS,
    FALSY,
    FRAME_ATTRIBUTES,
    SAME_DATA_ATTRIBUTES,
    FunctionSummary,
    drop_columns,
    has_words,
    int_index,
    is_test_name,
    knowledge_sets,
    shares_rows,
    whole_slice,
)
from mllint_deploy.analysis.handlers import (
    constrains_values,
    find_handlers,
    serving_knowledge,
)
from mllint_deploy.analysis.models import module_models
from mllint_deploy.analysis.names import ModuleIndex, ScopeInfo, dotted
from mllint_deploy.analysis.objective_search import ObjectiveSearch
from mllint_deploy.analysis.project_sources import project_sources
from mllint_deploy.analysis.requests import (
    NOT_HANDLED,
    RequestTransfer,
    names_in,
    tainted,
)
from mllint_deploy.analysis.summaries import Const, SummaryBook, truth
from mllint_deploy.analysis.values import (
    Data,
    Fit,
    Flow,
    Index,
    Obj,
    ParamSource,
    Request,
    Score,
    ScoreList,
    Selection,
    Seq,
    Split,
    Stat,
    fresh_root,
    name_words,
)
from mllint_deploy.analysis.walk import OrderedWalk


class ScopeWalker(CallTransfer, ObjectiveSearch, RequestTransfer, OrderedWalk):
    """Walks one scope's statements in order and builds its `Flow`."""

    def __init__(self, idx: ModuleIndex, scope: ScopeInfo, book: SummaryBook | None = None):
        self.idx = idx
        self.scope = scope
        self.k = knowledge_sets()
        self.flow = Flow(scope_node=scope.node)
        self.env: dict[str, object] = {}
        self.book = book if book is not None else SummaryBook(idx, None, summarise)
        self._counter = count(1)
        self._stmt = 0
        self._loops: list[int] = []
        self._unknown_objs: dict[str, Obj] = {}
        self._pending_cv: dict[int, object] = {}
        self._slice_splits: dict[frozenset[int], Split] = {}
        self._callables = {fn.name.value for fn, _ in idx.functions} | {c.name.value for c, _ in idx.classes}
        self._no_grad = False
        self._cached = False
        self._lazy = 0
        self._loop_names: list[tuple[int, set[str]]] = []  # the enclosing loops and the names they bind
        self._dict_items: dict[int, dict[str, object]] = {}  # id of a dict literal -> its keyed values
        self.keyword_dicts: dict[str, dict[str, object]] = {}  # `fit_params = {...}` read by `f(**fit_params)`

    # ------------------------------------------------------------------ helpers
    def _next(self) -> int:
        return next(self._counter)

    def _new_data(self, name: str, node, origin: str, **kw) -> Data:
        if origin in ("unknown", "param", "call") and "columns" not in kw:
            kw["columns"] = ("all", frozenset())
        d = Data(name=name, node=node, roots=frozenset({fresh_root()}), origin=origin, stmt=self._stmt, **kw)
        if origin in ("unknown", "param", "call") and is_test_name(name, self.k):
            d.test_hint = True
        return d

    def _derive(self, parents: list[Data], node, keep_columns: bool = True, extra_via=(),
                elementwise: bool = False) -> Data:
        parents = [p for p in parents if isinstance(p, Data)]
        roots = frozenset().union(*(p.roots for p in parents)) if parents else frozenset({fresh_root()})
        related = parents
        if elementwise:
            # `X_train + rng.normal(size=X_train.shape)`: values of another data set (noise, a constant
            # array) combined element by element keep the split part's rows (a concat would add rows)
            parted = frozenset().union(*(p.roots for p in parents if p.part is not None))
            related = [p for p in parents if p.part is not None or not parted or p.roots & parted]
        parts = {p.part for p in related}
        via: list[Fit] = []
        for p in parents:
            for f in p.via:
                if f not in via:
                    via.append(f)
        for f in extra_via:
            if f not in via:
                via.append(f)
        first = parents[0] if parents else None
        unknown = bool(parents) and all(p.origin in ("param", "unknown", "call") for p in parents)
        return Data(
            name="",
            node=node,
            roots=roots,
            origin="call" if unknown else "derived",  # derived from data of unknown origin: still unknown
            part=parts.pop() if len(parts) == 1 else None,
            via=tuple(via),
            test_hint=bool(parents) and all(p.test_hint for p in parents),
            time_ordered=any(p.time_ordered for p in parents),
            columns=first.columns if keep_columns and first is not None and len(parents) == 1 else None,
            derived=first.derived if keep_columns and first is not None and len(parents) == 1 else (),
            target=first.target if first is not None and len(parents) == 1 else None,
            split=related[0].split if related and all(p.split is related[0].split for p in related) else None,
            subset=bool(related) and all(p.subset or p.part is not None for p in related),
            stmt=self._stmt,
            raw=next((p.raw for p in parents if p.raw is not None), None),
            client=next((p.client for p in parents if p.client is not None), None),
            altered=any(p.altered for p in parents),
        )

    def _datas(self, value) -> list[Data]:
        if isinstance(value, Data):
            return [value]
        if isinstance(value, Seq):
            out = []
            for item in value.items:
                out.extend(self._datas(item))
            return out
        return []

    def _strings_of(self, expr, _depth: int = 0) -> list[str] | None:
        """A literal list of strings, also through a name bound to one (`FEATURES = [...]`) and `a + b`."""
        if _depth > 4:
            return None
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            left, right = self._strings_of(expr.left, _depth + 1), self._strings_of(expr.right, _depth + 1)
            return left + right if left is not None and right is not None else None
        if isinstance(expr, cst.Name):
            values = self._assigned(expr.value)
            if values:
                return self._strings_of(values[-1], _depth + 1) if not isinstance(values[-1], cst.Name) else None
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            out = []
            for el in expr.elements:
                s = string_value(el.value)
                if s is None:
                    return None
                out.append(s)
            return out
        s = string_value(expr)
        return [s] if s is not None else None

    def _assigned(self, name: str):
        return self.idx.bound_values(name, self.scope)

    def _path_words(self, expr) -> str | None:
        """The file name a reader is given (the last literal piece of the path expression)."""
        pieces: list[str] = []

        def collect(e, depth=0):
            if depth > 4 or e is None:
                return
            s = string_value(e)
            if s is not None:
                pieces.append(s)
            elif isinstance(e, cst.Name):
                vals = self._assigned(e.value)
                if vals:
                    collect(vals[-1], depth + 1)
            elif isinstance(e, cst.FormattedString):
                for part in e.parts:
                    if isinstance(part, cst.FormattedStringText):
                        pieces.append(part.value)
                    elif isinstance(part, cst.FormattedStringExpression):
                        collect(part.expression, depth + 1)
            elif isinstance(e, cst.BinaryOperation):
                collect(e.left, depth + 1)
                collect(e.right, depth + 1)
            elif isinstance(e, cst.Call):
                for a in e.args:
                    collect(a.value, depth + 1)
        collect(expr)
        if not pieces:
            return None
        last = pieces[-1].replace("\\", "/").rstrip("/").split("/")[-1]
        return last or None

    # ------------------------------------------------------------------ statements
    def walk(self, body) -> Flow:
        self._block(body)
        self.flow.env = self.env
        return self.flow

    def _statement(self, stmt) -> None:
        self._stmt += 1
        super()._statement(stmt)

    def _expression(self, expr):
        return self._eval(expr)

    def _if(self, stmt: cst.If) -> None:
        """A test the call's constants decide (`if fit_dv:` with `fit_dv=False`) takes one branch; a
        guard that rejects request input checks it; `if model is None:` initialises once."""
        known = truth(stmt.test, self.env)
        guarded = self._guarded(stmt.test)
        lazy = self._lazy_branch(stmt.test)
        self._expression(stmt.test)
        self._lazy += lazy
        if known is not False:
            self._block(stmt.body.body)
        self._lazy -= lazy
        if known is not True:
            self._else(stmt)
        self._after_guard(stmt, guarded)

    def _with(self, stmt: cst.With) -> None:
        before = self._no_grad
        self._no_grad = self._no_grad or self._entering_no_grad(stmt)
        super()._with(stmt)
        self._no_grad = before

    def _loop(self, stmt) -> None:
        it = None
        if isinstance(stmt, cst.For):
            it = self._eval(stmt.iter)
            self._bind_loop_target(stmt.target, it)
        else:
            self._eval(stmt.test)
        self._loops.append(id(stmt))
        self._loop_names.append((id(stmt), names_in(stmt.target) if isinstance(stmt, cst.For) else set()))
        self._block(stmt.body.body)
        if isinstance(stmt, cst.For) and isinstance(stmt.target, cst.Name) and isinstance(it, Seq) \
                and 1 < len(it.items) <= 4 and all(isinstance(i, Data) for i in it.items):
            for item in it.items[1:]:  # `for df in (train, test):` runs the body on each data set
                self.env[stmt.target.value] = item
                self._block(stmt.body.body)
        self._loops.pop()
        self._loop_names.pop()
        self._else(stmt)

    def _small(self, small) -> None:
        if isinstance(small, cst.Assign):
            value = self._eval(small.value)
            for t in small.targets:
                self._bind(t.target, value, small.value)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self._bind(small.target, self._eval(small.value), small.value)
        elif isinstance(small, cst.AugAssign):
            left = self._eval(small.target)
            right = self._eval(small.value)
            combined = self._combine(left, right, small)
            if combined is not None:
                self._bind(small.target, combined, small.value)
        elif isinstance(small, cst.Expr):
            self._eval(small.value)
        elif isinstance(small, cst.Return):
            if small.value is not None:
                self.flow.returns.append(self._eval(small.value))
        elif isinstance(small, cst.Del):
            self._delete(small.target)
        elif isinstance(small, cst.Assert):
            self._eval(small.test)
            self._assert(small)

    def _delete(self, target) -> None:
        if isinstance(target, cst.Subscript):
            base = self._eval(target.value)
            cols = self._subscript_strings(target)
            if isinstance(base, Data) and cols:
                base.columns = drop_columns(base.columns, cols)
        elif isinstance(target, cst.Name):
            self.env.pop(target.value, None)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._delete(el.value)

    # ------------------------------------------------------------------ binding
    def _bind(self, target, value, value_node) -> None:
        if isinstance(target, cst.Name):
            self._bind_name(target.value, value)
            items = self._dict_items.get(id(value_node)) if value_node is not None else None
            if items is not None:
                self.keyword_dicts[target.value] = dict(items)
            else:
                self.keyword_dicts.pop(target.value, None)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = [el.value for el in target.elements]
            items = self._unpack(value, elements)
            for el, item in zip(elements, items):
                if isinstance(el, cst.StarredElement):
                    el = el.value
                self._bind(el, item, value_node)
        elif isinstance(target, cst.Subscript):
            self._assign_item(target, value)
        elif isinstance(target, cst.Attribute):
            self._assign_attribute(target, value)

    def _bind_name(self, name: str, value) -> None:
        if isinstance(value, Data) and value.split is not None and value.part in ("test", "val") \
                and value.stmt == self._stmt:
            if has_words(name, self.k.test_words):
                value.part, value.test_hint = "test", True  # named test: used as the test set
            elif has_words(name, self.k.validation_words):
                value.part, value.test_hint = "val", False
            elif has_words(name, {"train", "training", "trn", "tr"}):
                value.part, value.test_hint = "train", False  # `X_train1, X_train2 = split(...)`
        if isinstance(value, Data) and value.stmt == self._stmt and value.slice_of is not None \
                and value.split is None:
            self._slice_part(name, value)
        if isinstance(value, Data) and value.stmt == self._stmt and not value.name:
            value.name = name
            if value.origin in ("call", "unknown") and is_test_name(name, self.k):
                value.test_hint = True
        if isinstance(value, Obj) and not value.name:
            value.name = name
        self.env[name] = value

    def _slice_part(self, name: str, value: Data) -> None:
        """`train = df[:800]`, `test = df[df.date >= cutoff]`: slicing one data set into named parts is a split."""
        words = name_words(name)
        if words & self.k.test_words:
            part = "test"
        elif words & {"train", "trn", "training"}:
            part = "train"
        elif words & self.k.validation_words:
            part = "val"
        else:
            return
        base = value.slice_of
        if base.part == "train" and part == "test":
            part = "val"
        elif base.part is not None:
            return
        split = self._slice_splits.get(base.roots)
        if split is None:
            split = Split(index=self._next(), node=value.node, label="slicing", inputs=[base], shuffled=False)
            self.flow.splits.append(split)
            self._slice_splits[base.roots] = split
        value.part, value.split, value.test_hint = part, split, part == "test"

    def _unpack(self, value, elements) -> list:
        n = len(elements)
        if isinstance(value, Seq):
            items = list(value.items)
            if len(items) == n:
                return items
            return [self._derive(self._datas(value), None) if self._datas(value) else None] * n
        if isinstance(value, Data):
            items = [self._derive([value], value.node, keep_columns=False) for _ in range(n)]
            if value.origin in ("call", "unknown", "param"):
                for item in items:
                    item.origin = value.origin  # `(x_train, y_train), (x_test, y_test) = load_data()`
            return items
        return [None] * n

    def _assign_item(self, target: cst.Subscript, value) -> None:
        self._assign_item_values(target, value)
        keyed = self.keyword_dicts.get(target.value.value) if isinstance(target.value, cst.Name) else None
        if keyed is not None:
            key = self._subscript_strings(target)
            if key and len(key) == 1:
                keyed[key[0]] = value  # `fit_params["eval_set"] = [(X_test, y_test)]`
        base = self.env.get(target.value.value) if isinstance(target.value, cst.Name) else None
        if isinstance(base, Data) and any(d.altered for d in self._datas(value)):
            base.altered = True  # `df["x"] = np.log1p(df["x"])`: the frame now holds transformed values
        source = tainted(value)
        if source is not None and isinstance(target.value, cst.Name):  # `features["x"] = ride["x"]`
            current = self.env.get(target.value.value)
            if current is None or (isinstance(current, Data) and current.client is None):
                self.env[target.value.value] = self._carry_input(current, target, ([value], {}))

    def _assign_item_values(self, target: cst.Subscript, value) -> None:
        base = self._eval(target.value)
        if isinstance(base, ScoreList):
            if isinstance(value, (Score, ScoreList)):
                base.scores.extend(value.scores if isinstance(value, ScoreList) else [value])
            return
        if isinstance(base, (dict,)) or base is None:
            name = target.value.value if isinstance(target.value, cst.Name) else None
            if name and isinstance(value, Score):
                self.env[name] = ScoreList([value])
            return
        if not isinstance(base, Data):
            return
        new_cols = self._subscript_strings(target)
        if new_cols and base.columns is not None:
            mode, names = base.columns
            base.columns = ("all", names - set(new_cols)) if mode == "all" else ("only", tuple(names) + tuple(
                c for c in new_cols if c not in names))
        for d in self._datas(value):
            for f in d.via:
                if f not in base.via and shares_rows(f, base):
                    base.via = base.via + (f,)
        if new_cols and len(new_cols) == 1 and isinstance(value, Data) and value.target \
                and value.target != new_cols[0] and value.roots <= base.roots:
            # `df["log_price"] = np.log1p(df["price"])`: a column computed from one other column
            base.derived = base.derived + ((new_cols[0], value.target),)

    def _assign_attribute(self, target: cst.Attribute, value) -> None:
        base = self._eval(target.value)
        if isinstance(base, Data) and target.attr.value == "index" and isinstance(value, Data) and value.time_ordered:
            base.time_ordered = True
        if isinstance(target.value, cst.Name) and target.value.value == "self":
            self.env[f"self.{target.attr.value}"] = value

    def _bind_loop_target(self, target, it) -> None:
        if isinstance(it, Seq) and it.items and all(isinstance(i, Seq) for i in it.items):
            first = it.items[0]
            self._bind(target, first, None)
            return
        if isinstance(it, Seq) and len(it.items) >= 1 and isinstance(it.items[0], Index):
            # `for tr, te in kf.split(X)`
            self._bind(target, it, None)
            return
        source = tainted(it)  # `for record in event["Records"]`: each record is request input
        if isinstance(target, cst.Name):
            self.env.pop(target.value, None)
            if isinstance(it, Seq) and it.items and isinstance(it.items[0], Obj):
                self.env[target.value] = it.items[0]
            elif source is not None:
                self.env[target.value] = self._carry_input(None, target, ([source], {}))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                if isinstance(el.value, cst.Name):
                    self.env.pop(el.value.value, None)
                    if source is not None:
                        self.env[el.value.value] = self._carry_input(None, el.value, ([source], {}))

    # ------------------------------------------------------------------ expressions
    def _eval(self, expr):
        if expr is None:
            return None
        try:
            method = getattr(self, f"_e_{type(expr).__name__}", None)
            return method(expr) if method is not None else self._generic(expr)
        except RecursionError:
            return None

    def _generic(self, expr):
        """Children evaluated for their effects; the result is request input if a child is (sets,
        f-strings...). Comprehensions are evaluated when they read request input; lambdas never."""
        if isinstance(expr, cst.Lambda):
            return None
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)):
            return self._comprehension(expr)
        values = []
        children = expr.parts if isinstance(expr, cst.FormattedString) else expr.children
        for child in children:
            if isinstance(child, cst.BaseExpression):
                values.append(self._eval(child))
            elif isinstance(child, (cst.Arg, cst.Element, cst.DictElement, cst.StarredDictElement,
                                    cst.FormattedStringExpression)):
                for sub in child.children:
                    if isinstance(sub, cst.BaseExpression):
                        values.append(self._eval(sub))
        return self._value_of_builtin("", ([v for v in values if v is not None], {}))

    def _comprehension(self, expr):
        """`[float(p[k]) for k in FEATURES]`: request input in, request input out; `(str(x) for x in
        X_test.iloc[i])`: a split part or fitted output in, the same rows out. Other comprehensions are not
        evaluated: their names are the comprehension's own."""
        names = names_in(expr)
        if not any(self._split_or_fitted(n) or self._parameter(n) for n in names) and (
                not self.book.tracks_input or not any(
                (isinstance(self.env.get(n), Data) and self.env[n].client is not None) or self._names_request(n)
                for n in names)):
            return None
        saved = dict(self.env)
        values = []
        comp = expr.for_in
        while comp is not None:
            it = self._eval(comp.iter)
            values.append(it)
            self._bind(comp.target, self._derive([it], comp) if isinstance(it, Data) else it, None)
            comp = comp.inner_for_in
        for e in ([expr.key, expr.value] if isinstance(expr, cst.DictComp) else [expr.elt]):
            values.append(self._eval(e))
        self.env = saved
        found = [v for v in values if v is not None]
        rows = self._parameter_rows(values[-1], expr)
        if rows is not None and (rows.raw is None or isinstance(rows.raw, ParamSource)):
            return rows
        return self._value_of_builtin("", (found, {})) or self._rows_through(found, expr)

    def _parameter_rows(self, element, node) -> Data | None:
        """`[values[i:i + n] for i in range(...)]` in a helper: windows of the parameter's rows, so the
        parameter reaches what the helper returns."""
        params = frozenset().union(*(d.roots for n in self.scope.params if isinstance(d := self.env.get(n), Data)
                                     and d.origin == "param"))
        datas = [d for d in self._datas(Seq([element])) if d.roots & params]
        return self._derive(datas, node, keep_columns=False) if datas else None

    def _rows_through(self, values, node) -> Data | None:
        """`str(x)`, `' '.join(...)`, `[str(x) for x in X_test.iloc[i]]`: the text of rows is still those rows,
        for the facets the leakage rules follow (split part, a test file, fitted steps)."""
        datas = [v for v in self._datas(Seq(list(values))) if v.part is not None or v.via or v.test_hint]
        return self._derive(datas, node, keep_columns=False) if datas else None

    def _parameter(self, name: str) -> bool:
        """Whether a name holds a parameter's placeholder rows (`[values[i:i + n] for i in ...]` in a helper
        returns rows of its argument)."""
        d = self.env.get(name)
        return isinstance(d, Data) and d.origin == "param" and name in self.scope.params

    def _split_or_fitted(self, name: str) -> bool:
        """Whether a name holds rows whose split part, test file or fitted steps the leakage rules follow."""
        d = self.env.get(name)
        return isinstance(d, Data) and (d.part is not None or bool(d.via) or d.test_hint)

    def _e_Name(self, expr: cst.Name):
        name = expr.value
        if name in self.env:
            return self.env[name]
        if name in FALSY or name == "True" or name in self._callables or name in BUILTINS:
            return None
        qn = self.idx.qualify(expr, self.scope)
        if qn in serving_knowledge()["request_globals"]:
            return Request(expr)
        if qn is not None and (qn.split(".")[0] in self.k.ml_roots or "." not in qn):
            return None
        constant = self.idx.module_scope.assigned.get(name)
        if constant and name not in self.scope.params and isinstance(constant[-1], (
                cst.List, cst.Tuple, cst.ListComp, cst.Dict, cst.Set, cst.SimpleString, cst.Integer, cst.Float,
                cst.ConcatenatedString, cst.FormattedString)):
            return None  # a module-level constant (a column list, a path, a number), not data
        d = self._new_data(name, expr, "param" if name in self.scope.params else "unknown")
        self.env[name] = d
        return d

    def _e_Attribute(self, expr: cst.Attribute):
        request = self._request_attribute(expr)
        if request is not NOT_HANDLED:
            return request
        if isinstance(expr.value, cst.Name) and expr.value.value == "self":
            key = f"self.{expr.attr.value}"
            if key not in self.env:  # set by another method: unknown data or object
                self.env[key] = self._new_data(key, expr, "unknown")
            return self.env[key]
        if self.idx.qualify(expr, self.scope) is not None:
            return None
        base = self._eval(expr.value)
        attr = expr.attr.value
        if isinstance(base, Data):
            if attr in SAME_DATA_ATTRIBUTES:
                d = self._derive([base], expr)
                return d
            if attr == "index":
                d = self._derive([base], expr, keep_columns=False)
                return d
            if attr not in FRAME_ATTRIBUTES and not attr.startswith("_"):
                d = self._derive([base], expr, keep_columns=False)
                d.columns = ("only", (attr,))
                d.target = attr
                return d
        if isinstance(base, Obj) and base.kind == "search" and attr in ("best_estimator_",):
            # the chosen model, fitted like the search (its fits stand); refitting it is a plain fit,
            # not another cross-validated search
            return Obj(label=f"{base.label}.best_estimator_", qualname=None, kind="estimator", node=expr,
                       fits=list(base.fits), name=dotted(expr) or "")
        if isinstance(base, Stat):
            return base  # `df["c"].mode().iloc[0]`, `.values`
        return None

    def _e_Subscript(self, expr: cst.Subscript):
        base = self._eval(expr.value)
        slices = [self._eval(el.slice.value) if isinstance(el.slice, cst.Index) else self._slice_effects(el.slice)
                  for el in expr.slice]
        if isinstance(base, Stat):
            return base  # `df["c"].mode()[0]`
        if isinstance(base, Seq):
            i = int_index(expr)
            if i is not None and -len(base.items) <= i < len(base.items):
                return base.items[i]
            return None
        if isinstance(base, ScoreList):
            return None
        if not isinstance(base, Data):
            return None
        cols = self._subscript_strings(expr)
        keeps_columns = cols is None and len(expr.slice) == 1 and (
            isinstance(expr.slice[0].slice, cst.Slice) or isinstance(slices[0], Index)
            or self._is_row_mask(expr.slice[0].slice.value))
        d = self._derive([base], expr, keep_columns=keeps_columns)
        d.grouped, d.windowed = base.grouped, base.windowed  # `df.groupby("k")["col"]` is still grouped
        first = expr.slice[0].slice
        if (keeps_columns and cols is None and not whole_slice(first)) or (
                len(expr.slice) > 1 and isinstance(first, cst.Slice) and not whole_slice(first)):
            d.slice_of = base  # rows taken: `df[:800]`, `df[mask]`, `X[:n, :]`
            d.subset = True
        for s in slices:
            if isinstance(s, Index) and s.roots & base.roots:
                d.part = s.part
            elif isinstance(s, Data) and keeps_columns and s.roots & base.roots:
                # `df[(np.abs(zscore(df)) < 3).all(axis=1)]`: rows kept by a rule learnt from all of them
                d.via = d.via + tuple(f for f in s.via if f not in d.via and f.data is not None
                                      and f.data.roots & base.roots)
        if cols:
            if len(cols) == 1 and self._single_column(expr):
                d.columns = ("only", (cols[0],))
                d.target = cols[0]
            else:
                d.columns = ("only", tuple(cols))
                d.target = None
            d.column_of = base
        else:
            d.target = base.target if keeps_columns else None  # `X[:, 0]` is not the column `X` names
        return d

    def _is_row_mask(self, expr, depth: int = 0) -> bool:
        """`df[df.age > 30]`, `df[~mask]`, `df[(a) & (b)]`, or a name bound to such a condition."""
        if isinstance(expr, (cst.Comparison, cst.UnaryOperation, cst.BooleanOperation)):
            return True
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.BitAnd, cst.BitOr, cst.BitXor)):
            return True
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in (
                "isin", "notna", "isna", "notnull", "isnull", "between", "duplicated", "contains"):
            return True
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in (
                "all", "any") and depth < 3:
            return self._is_row_mask(expr.func.value, depth + 1)  # `(np.abs(z) < 3).all(axis=1)`
        if isinstance(expr, cst.Name) and depth < 3:
            values = self._assigned(expr.value)
            return bool(values) and self._is_row_mask(values[-1], depth + 1)
        return False

    def _single_column(self, expr: cst.Subscript) -> bool:
        """`df["price"]` or `df[TARGET]` with `TARGET = "price"`: one column, a series."""
        if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
            return False
        value = expr.slice[0].slice.value
        if isinstance(value, cst.Name):
            assigned = self._assigned(value.value)
            value = assigned[-1] if assigned else value
        return string_value(value) is not None

    def _slice_effects(self, sl):
        for child in sl.children:
            if isinstance(child, cst.BaseExpression):
                self._eval(child)
        return None

    def _subscript_strings(self, expr: cst.Subscript) -> list[str] | None:
        if len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
            return self._strings_of(expr.slice[0].slice.value)
        if len(expr.slice) == 2 and isinstance(expr.slice[1].slice, cst.Index):
            # df.loc[:, ["a", "b"]]
            first = expr.slice[0].slice
            if isinstance(first, cst.Slice) and first.lower is None and first.upper is None:
                return self._strings_of(expr.slice[1].slice.value)
        return None

    def _e_Tuple(self, expr):
        return Seq([self._eval(el.value) for el in expr.elements])

    _e_List = _e_Tuple

    def _e_Dict(self, expr: cst.Dict):
        items = []
        keyed: dict[str, object] | None = {}
        for el in expr.elements:
            if isinstance(el, cst.DictElement):
                self._eval(el.key)
                items.append(self._eval(el.value))
                key = string_value(el.key)
                if key is not None and keyed is not None:
                    keyed[key] = items[-1]
                else:
                    keyed = None
            else:
                keyed = None
        if keyed:
            self._dict_items[id(expr)] = keyed
        scores = [i for i in items if isinstance(i, Score)]
        if scores:
            return ScoreList(scores)
        value = self._value_of_builtin("", ([i for i in items if i is not None], {}))
        if isinstance(value, Data) and any(isinstance(el, cst.DictElement) and string_value(el.key) is not None
                                           for el in expr.elements):
            value.altered = True  # a row assembled field by field: serving's own feature code
        return value

    def _e_BinaryOperation(self, expr: cst.BinaryOperation):
        left = self._eval(expr.left)
        right = self._eval(expr.right)
        return self._combine(left, right, expr)

    def _combine(self, left, right, node):
        datas = [v for v in (left, right) if isinstance(v, Data)]
        stats = [v for v in (left, right) if isinstance(v, Stat)]
        if isinstance(left, Score) or isinstance(right, Score):
            return left if isinstance(left, Score) else right
        if not datas:
            if stats:
                return stats[0]
            return self._carry_input(None, node, ([left, right], {}))  # `[a] + [row["x"]]`
        extra = []
        for st in stats:
            if st.data.roots & frozenset().union(*(d.roots for d in datas)):
                extra.append(self._stat_fit(st, node))
        d = self._derive(datas, node, extra_via=extra, elementwise=True)
        d.altered = True  # arithmetic on the values (a unit conversion, a ratio)
        if len(datas) == 1:
            d.columns, d.target = datas[0].columns, datas[0].target
        return d

    def _stat_fit(self, st: Stat, node) -> Fit:
        fit = Fit(index=self._next(), node=st.node, label=st.what or f"the column {st.label}", kind="stat",
                  method=st.label, data=st.data, target=None, obj=None, loops=tuple(self._loops))
        self.flow.fits.append(fit)
        return fit

    def _e_UnaryOperation(self, expr):
        v = self._eval(expr.expression)
        if isinstance(v, Score):
            return v  # `-accuracy`: the same score, minimised
        return self._derive([v], expr) if isinstance(v, Data) else None

    def _e_Comparison(self, expr: cst.Comparison):
        left = self._eval(expr.left)
        vals = [left] + [self._eval(c.comparator) for c in expr.comparisons]
        scores = [v for v in vals if isinstance(v, Score)]
        operands = [expr.left] + [c.comparator for c in expr.comparisons]
        if scores and self._loops and all(isinstance(o, (cst.Name, cst.Attribute, cst.Subscript, cst.Call))
                                          for o in operands):
            self.flow.selections.append(Selection(node=expr, scores=scores))
        datas = [v for v in vals if isinstance(v, Data)]
        if datas:
            # `df["amount"] <= q3 + 1.5 * iqr`: a threshold learnt from the same rows is in the mask
            roots = frozenset().union(*(d.roots for d in datas))
            extra = [self._stat_fit(st, expr) for st in vals if isinstance(st, Stat) and st.data.roots & roots]
            others = [f for d in datas[1:] for f in d.via]  # `np.abs(stats.zscore(df)) < 3`
            return self._derive(datas[:1], expr, keep_columns=False, extra_via=[*others, *extra])
        return None

    def _e_BooleanOperation(self, expr):
        left = self._eval(expr.left)
        right = self._eval(expr.right)
        return left if left is not None else right

    def _e_IfExp(self, expr):
        known = truth(expr.test, self.env)
        test = self._eval(expr.test)
        a = self._eval(expr.body) if known is not False else None
        b = self._eval(expr.orelse) if known is not True else None
        value = a if a is not None else b
        # `1 if row["city"] == "4" else 0`: chosen by request input, so request input
        return self._carry_input(value, expr, ([test], {}))

    def _e_Await(self, expr):
        return self._eval(expr.expression)

    def _e_NamedExpr(self, expr):
        v = self._eval(expr.value)
        self._bind(expr.target, v, expr.value)
        return v


def analyse_function(idx: ModuleIndex, fn: cst.FunctionDef, book: SummaryBook | None = None,
                     consts: tuple = ()) -> tuple[Flow, FunctionSummary]:
    """The flow of `fn` with its parameters as placeholders (those in `consts` bound to constants)."""
    scope = idx.scopes[fn]
    walker = ScopeWalker(idx, scope, book)
    walker._start_function(fn)
    handler = walker.book.handlers.get(id(fn))
    params = {p.name.value: p.name for p in (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params)}
    fixed = dict(consts)
    roots = []
    for p in scope.params:
        if p in ("self", "cls") or p in fixed:
            roots.append(frozenset())
            if p in fixed:
                walker.env[p] = Const(fixed[p])
            continue
        if handler is not None and p in handler.request_params:
            walker.env[p] = Request(params.get(p))
            roots.append(frozenset())
            continue
        # a handler's raw parameter is request input, a typed one validated input (still the client's
        # values); any other parameter stands for what the call passes
        pinned = False
        if handler is not None:
            raw = params.get(p) if p in handler.raw_params else None
            client = params.get(p)
            pinned = constrains_values(walker.book.module.classes.get(_annotation_name(fn, p)))
        else:
            raw = client = ParamSource(len(roots)) if walker.book.tracks_input else None
        d = walker._new_data(p, fn, "param", raw=raw, client=client, altered=pinned)
        walker.env[p] = d
        roots.append(d.roots)
    body = fn.body.body if isinstance(fn.body, cst.IndentedBlock) else [fn.body]
    flow = walker.walk(body)
    free = {n: v.roots for n, v in walker.env.items()
            if isinstance(v, Data) and v.origin == "unknown" and "." not in n and n not in scope.assigned
            and n not in params}
    return flow, FunctionSummary(fn, scope.params, flow, roots, module=walker.book, free=free)


def _annotation_name(fn: cst.FunctionDef, param: str) -> str:
    for p in (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params):
        if p.name.value == param and p.annotation is not None and isinstance(p.annotation.annotation, cst.Name):
            return p.annotation.annotation.value
    return ""


def summarise(book: SummaryBook, fn: cst.FunctionDef, consts: tuple) -> FunctionSummary:
    return analyse_function(book.index, fn, book, consts)[1]


def module_flows(ctx) -> list[Flow]:
    """The flows of every scope in the file (module first), shared by every rule that asks."""
    return ctx.shared("dataflow", _build_flows)


def _build_flows(ctx) -> list[Flow]:
    idx: ModuleIndex = ctx.index
    book = SummaryBook(idx, project_sources(ctx), summarise)
    book.models = module_models(ctx)
    book.handlers = {id(h.node): h for h in find_handlers(ctx)}
    flows = [book.summary(fn).flow for fn, _ in idx.functions]
    flows.insert(0, ScopeWalker(idx, idx.module_scope, book).walk(ctx.module.body))
    return flows


def uses_packages(ctx, packages) -> bool:
    """Whether the file imports one of `packages`, itself or through a project module it imports
    (`from preprocessing import DataProcessor`, where preprocessing.py imports sklearn)."""
    idx: ModuleIndex = ctx.index
    if idx.imports_any(packages):
        return True
    sources = project_sources(ctx)
    for base in sorted({*idx.aliases.values(), *idx.star_imports}):
        parts = base.split(".")
        for cut in range(len(parts), 0, -1):
            module = sources.module(".".join(parts[:cut]))
            if module is not None:
                if module.index.imports_any(packages):
                    return True
                break
    return False
