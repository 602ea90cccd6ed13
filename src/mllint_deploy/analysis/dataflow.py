"""An ordered dataflow model per scope (the module, each function).

One walk over a scope's statements, in source order, keeps an environment from names to abstract
values (`values.py`): which data each name holds and where it came from (a file, a split part, a
fitted transform), which objects were built from which library classes, and what was fitted on what.
It records the events rules ask about: fits, splits, applications of fitted objects,
cross-validation, validation data handed to `fit`, and scores used to pick a model.
Calls to functions defined in the same file are followed one level through summaries.
Library knowledge (which classes fit, split, resample...) comes from `rules/knowledge/leakage.yaml`.
"""

from __future__ import annotations

import builtins
import functools
from dataclasses import replace
from itertools import count

import libcst as cst

from mllint_deploy.analysis.calls import is_false, keyword, positional, string_value
from mllint_deploy.analysis.names import ModuleIndex, ScopeInfo, dotted
from mllint_deploy.analysis.walk import OrderedWalk
from mllint_deploy.analysis.values import (
    Apply, CrossVal, Data, Fit, Flow, FoldSplit, Index, Obj, Score, ScoreList, Selection, Seq, Split, Stat,
    ValidationUse, fresh_root, name_words,
)
from mllint_deploy.knowledge import knowledge

_FRAME_ATTRIBUTES = frozenset(
    "values T loc iloc at iat index columns shape dtypes dtype str dt cat size ndim empty plot "
    "sparse array axes flags attrs style".split()
)
_SAME_DATA_ATTRIBUTES = frozenset("values T loc iloc at iat str dt cat array".split())
_SELECT_FUNCS = frozenset({"max", "min", "sorted", "argmax", "argmin", "nanargmax", "nanargmin"})
_SELECT_METHODS = frozenset({"idxmax", "idxmin", "sort_values", "nlargest", "nsmallest", "max", "min", "argmax",
                             "argmin", "index", "rank"})
_FALSY = ("None", "False")
_BUILTINS = frozenset(dir(builtins))


class Knowledge:
    """The concepts the leakage dataflow asks about, as sets, built once per process."""

    def __init__(self) -> None:
        k = knowledge()
        self.concepts = k
        self.kind_of = k.step_kinds()
        self.splitters: dict[str, str] = {q: k.names[q].shuffles or "never" for q in k.having("splitter")}
        self.fitting_functions = k.having("fitting_function")
        self.row_wise_functions = k.having("row_function")
        self.fit_methods = k.method_names("fit")
        self.column_statistics = k.method_names("statistic")
        self.column_statistic_functions = k.having("statistic")
        self.split_functions = k.having("split")
        self.cross_validation_functions = k.having("cross_validation")
        self.validation_keywords = frozenset(k.keywords.get("validation_data", ()))
        self.data_readers = k.having("reader")
        self.data_wrappers = k.having("wrapper")
        self.combine_functions = k.having("combine")
        self.datetime_constructors = k.having("datetime")
        self.time_words = k.words["time_columns"]
        self.test_words = k.words["test"]
        self.validation_words = k.words["validation"]
        self.apply_methods = k.method_names("apply")
        self.metric_prefixes = k.prefixes["metrics"]
        self.ml_roots = frozenset({q.split(".")[0] for q in self.kind_of} | {"sklearn", "xgboost", "lightgbm",
                                  "catboost", "keras", "tensorflow", "torch", "imblearn"})


@functools.lru_cache(maxsize=None)
def knowledge_sets() -> Knowledge:
    return Knowledge()


def is_test_name(name: str, k: Knowledge) -> bool:
    return bool(name_words(name) & k.test_words)


def _has_words(name: str, words) -> bool:
    return bool(name_words(name) & words)


class FunctionSummary:
    """What a same-file function does to its parameters, as seen from a call site."""

    def __init__(self, node: cst.FunctionDef, params: list[str], flow: Flow, param_roots: list[frozenset[int]]):
        self.node = node
        self.params = params
        self.flow = flow
        self.param_roots = param_roots


class ScopeWalker(OrderedWalk):
    """Walks one scope's statements in order and builds its `Flow`."""

    def __init__(self, idx: ModuleIndex, scope: ScopeInfo, summaries: dict[str, FunctionSummary] | None = None,
                 strings: dict[str, str] | None = None):
        self.idx = idx
        self.scope = scope
        self.k = knowledge_sets()
        self.flow = Flow(scope_node=scope.node)
        self.env: dict[str, object] = {}
        self.summaries = summaries or {}
        self.strings = strings or {}
        self._counter = count(1)
        self._stmt = 0
        self._loops: list[int] = []
        self._unknown_objs: dict[str, Obj] = {}
        self._pending_cv: dict[int, object] = {}
        self._slice_splits: dict[frozenset[int], Split] = {}
        self._callables = {fn.name.value for fn, _ in idx.functions} | {c.name.value for c, _ in idx.classes}

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

    def _derive(self, parents: list[Data], node, keep_columns: bool = True, extra_via=()) -> Data:
        parents = [p for p in parents if isinstance(p, Data)]
        roots = frozenset().union(*(p.roots for p in parents)) if parents else frozenset({fresh_root()})
        parts = {p.part for p in parents}
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
            target=first.target if first is not None and len(parents) == 1 else None,
            split=first.split if first is not None and all(p.split is first.split for p in parents) else None,
            subset=bool(parents) and all(p.subset or p.part is not None for p in parents),
            stmt=self._stmt,
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

    def _loop(self, stmt) -> None:
        it = None
        if isinstance(stmt, cst.For):
            it = self._eval(stmt.iter)
            self._bind_loop_target(stmt.target, it)
        else:
            self._eval(stmt.test)
        self._loops.append(id(stmt))
        self._block(stmt.body.body)
        if isinstance(stmt, cst.For) and isinstance(stmt.target, cst.Name) and isinstance(it, Seq) \
                and 1 < len(it.items) <= 4 and all(isinstance(i, Data) for i in it.items):
            for item in it.items[1:]:  # `for df in (train, test):` runs the body on each data set
                self.env[stmt.target.value] = item
                self._block(stmt.body.body)
        self._loops.pop()
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

    def _delete(self, target) -> None:
        if isinstance(target, cst.Subscript):
            base = self._eval(target.value)
            cols = self._subscript_strings(target)
            if isinstance(base, Data) and cols:
                base.columns = _drop_columns(base.columns, cols)
        elif isinstance(target, cst.Name):
            self.env.pop(target.value, None)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._delete(el.value)

    # ------------------------------------------------------------------ binding
    def _bind(self, target, value, value_node) -> None:
        if isinstance(target, cst.Name):
            self._bind_name(target.value, value)
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
            if _has_words(name, self.k.test_words):
                value.part, value.test_hint = "test", True  # named test: used as the test set
            elif _has_words(name, self.k.validation_words):
                value.part, value.test_hint = "val", False
            elif _has_words(name, {"train", "training", "trn", "tr"}):
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
                if f not in base.via and _shares_rows(f, base):
                    base.via = base.via + (f,)

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
        if isinstance(target, cst.Name):
            self.env.pop(target.value, None)
            if isinstance(it, Seq) and it.items and isinstance(it.items[0], Obj):
                self.env[target.value] = it.items[0]
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                if isinstance(el.value, cst.Name):
                    self.env.pop(el.value.value, None)

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
        # evaluate children for their effects (calls inside comprehensions, lambdas are skipped)
        if isinstance(expr, (cst.Lambda, cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)):
            return None
        for child in expr.children:
            if isinstance(child, cst.BaseExpression):
                self._eval(child)
            elif isinstance(child, (cst.Arg, cst.Element, cst.DictElement, cst.StarredDictElement)):
                for sub in child.children:
                    if isinstance(sub, cst.BaseExpression):
                        self._eval(sub)
        return None

    def _e_Name(self, expr: cst.Name):
        name = expr.value
        if name in self.env:
            return self.env[name]
        if name in _FALSY or name == "True" or name in self._callables or name in _BUILTINS:
            return None
        qn = self.idx.qualify(expr, self.scope)
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
            if attr in _SAME_DATA_ATTRIBUTES:
                d = self._derive([base], expr)
                return d
            if attr == "index":
                d = self._derive([base], expr, keep_columns=False)
                return d
            if attr not in _FRAME_ATTRIBUTES and not attr.startswith("_"):
                d = self._derive([base], expr, keep_columns=False)
                d.columns = ("only", (attr,))
                d.target = attr
                return d
        if isinstance(base, Obj) and base.kind == "search" and attr in ("best_estimator_",):
            return base
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
            i = _int_index(expr)
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
        if (keeps_columns and cols is None and not _whole_slice(first)) or (
                len(expr.slice) > 1 and isinstance(first, cst.Slice) and not _whole_slice(first)):
            d.slice_of = base  # rows taken: `df[:800]`, `df[mask]`, `X[:n, :]`
            d.subset = True
        for s in slices:
            if isinstance(s, Index) and s.roots & base.roots:
                d.part = s.part
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
        for el in expr.elements:
            if isinstance(el, cst.DictElement):
                self._eval(el.key)
                items.append(self._eval(el.value))
        scores = [i for i in items if isinstance(i, Score)]
        if scores:
            return ScoreList(scores)
        return None

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
            return None
        extra = []
        for st in stats:
            if st.data.roots & frozenset().union(*(d.roots for d in datas)):
                extra.append(self._stat_fit(st, node))
        d = self._derive(datas, node, extra_via=extra)
        if len(datas) == 1:
            d.columns, d.target = datas[0].columns, datas[0].target
        return d

    def _stat_fit(self, st: Stat, node) -> Fit:
        fit = Fit(index=self._next(), node=st.node, label=f"the column {st.label}", kind="stat", method=st.label,
                  data=st.data, target=None, obj=None, loops=tuple(self._loops))
        self.flow.fits.append(fit)
        return fit

    def _e_UnaryOperation(self, expr):
        v = self._eval(expr.expression)
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
            d = self._derive(datas[:1], expr, keep_columns=False)
            return d
        return None

    def _e_BooleanOperation(self, expr):
        left = self._eval(expr.left)
        right = self._eval(expr.right)
        return left if left is not None else right

    def _e_IfExp(self, expr):
        self._eval(expr.test)
        a = self._eval(expr.body)
        b = self._eval(expr.orelse)
        return a if a is not None else b

    def _e_Await(self, expr):
        return self._eval(expr.expression)

    def _e_NamedExpr(self, expr):
        v = self._eval(expr.value)
        self._bind(expr.target, v, expr.value)
        return v

    # ------------------------------------------------------------------ calls
    def _e_Call(self, call: cst.Call):
        func = call.func
        qn = self.idx.call_name(call, self.scope)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self" \
                and f"self.{func.attr.value}" in self.summaries:
            return self._apply_summary(call, self.summaries[f"self.{func.attr.value}"], self._args(call))
        if qn is None and isinstance(func, cst.Attribute):
            recv = self._eval(func.value)
            args = self._args(call)
            return self._method(call, recv, self.k.concepts.method(func.attr.value), args, func.value)
        args = self._args(call)
        if qn is not None:
            return self._library_call(call, qn, args)
        if isinstance(func, cst.Name):
            return self._plain_call(call, func.value, args)
        return None

    def _args(self, call: cst.Call) -> tuple[list, dict]:
        pos, kw = [], {}
        for a in call.args:
            v = self._eval(a.value)
            if a.keyword is not None:
                kw[a.keyword.value] = v
            elif not a.star:
                pos.append(v)
        return pos, kw

    def _arg(self, args, index: int | None, name: str | None):
        pos, kw = args
        if name and name in kw:
            return kw[name]
        if index is not None and index < len(pos):
            return pos[index]
        return None

    # -- library calls ----------------------------------------------------------------------
    def _library_call(self, call: cst.Call, qn: str, args):
        k = self.k
        short = qn.rsplit(".", 1)[-1]
        scores = _scores_in(args)
        if scores:
            if short in _SELECT_FUNCS:
                self.flow.selections.append(Selection(node=call, scores=scores))
                return None
            return ScoreList(scores)
        if any(name in k.validation_keywords for name in args[1]):
            self._validation_keywords(call, args)
        if qn in k.data_readers:
            first = positional(call, 0) or keyword(call, "filepath_or_buffer") or keyword(call, "path") \
                or keyword(call, "fname") or keyword(call, "file")
            fname = self._path_words(first)
            d = self._new_data("", call, "file", file_name=fname)
            if fname and _has_words(fname.rsplit(".", 1)[0], k.test_words):
                d.test_hint = True
            pd_kw = keyword(call, "parse_dates")
            if pd_kw is not None and not (isinstance(pd_kw, cst.Name) and pd_kw.value in _FALSY) and not (
                    isinstance(pd_kw, (cst.List, cst.Tuple)) and not pd_kw.elements):
                d.time_ordered = True
            usecols = self._strings_of(keyword(call, "usecols")) if keyword(call, "usecols") is not None else None
            d.columns = ("only", tuple(usecols)) if usecols else ("all", frozenset())
            return d
        if qn in k.split_functions:
            return self._split(call, short, self._datas(Seq(args[0])), shuffled=not is_false(keyword(call, "shuffle")))
        if qn in k.splitters:
            when = k.splitters[qn]
            shuffle = when == "always" or (when == "when-shuffle-true" and _truthy(keyword(call, "shuffle")))
            return Obj(label=short, qualname=qn, kind="splitter", node=call, shuffle=shuffle)
        if qn in k.kind_of:
            kind = k.kind_of[qn]
            if _row_wise_here(k.concepts.names[qn], call):
                kind = "row_wise"  # `Imputer(axis=1)`: filled each row from its own values
            obj = Obj(label=short, qualname=qn, kind=kind, node=call)
            if kind == "search":
                obj.fits = []
                self._pending_cv[id(obj)] = args[1].get("cv")
            if kind == "pipeline":
                obj.selects_columns = _selects_columns(args)
            return obj
        if qn in k.fitting_functions:
            data = self._arg(args, 0, "X")
            data = data if isinstance(data, Data) else None
            fit = self._record_fit(call, f"{short}()", "function", short, data, None, None)
            if data is None:
                return None
            out = self._derive([data], call, extra_via=[fit])
            return out
        if qn in k.column_statistic_functions:
            data = self._arg(args, 0, "a")
            if isinstance(data, Data) and _axis_is_columns(call):
                return Stat(data=data, node=call, label=short)
            return None
        if qn in k.row_wise_functions or qn in k.data_wrappers:
            datas = self._datas(Seq(args[0])) + self._datas(Seq(list(args[1].values())))
            return self._derive(datas, call) if datas else None
        if qn in k.combine_functions:
            datas = self._datas(Seq(args[0]))
            return self._derive(datas, call, keep_columns=False) if datas else None
        if qn in k.cross_validation_functions:
            data = self._arg(args, 1, "X")
            self._cross_val(call, short, data, args[1].get("cv"))
            return None
        if qn in k.datetime_constructors:
            return self._new_data("", call, "call", time_ordered=True)
        if qn.startswith(k.metric_prefixes):
            return self._score(call, args)
        datas = self._datas(Seq(args[0])) + self._datas(Seq(list(args[1].values())))
        if short[:1].isupper() and qn.split(".")[0] in k.ml_roots:
            return Obj(label=short, qualname=qn, kind="estimator", node=call)
        if datas:
            return self._opaque_result(datas, call)
        return self._new_data("", call, "call")

    def _test_path_argument(self, call: cst.Call) -> bool:
        """`load(HOLDOUT_CSV)`: a helper given a file path whose name says test/holdout."""
        for a in call.args:
            name = self._path_words(a.value)
            if name and "." in name and _has_words(name.rsplit(".", 1)[0], self.k.test_words):
                return True
        return False

    def _opaque_result(self, datas: list[Data], call) -> Data:
        """What a function we cannot see into returns from these arguments: rows derived from them, of
        unknown origin when the arguments themselves are (so `test = load(cfg.path)` may say test)."""
        out = self._derive(datas, call, keep_columns=False)
        if all(d.origin in ("param", "unknown", "call") for d in datas):
            out.origin = "call"
        return out

    def _plain_call(self, call: cst.Call, name: str, args):
        summary = self.summaries.get(name)
        if summary is not None:
            return self._apply_summary(call, summary, args)
        datas = self._datas(Seq(args[0])) + self._datas(Seq(list(args[1].values())))
        if name in _SELECT_FUNCS:
            scores = _scores_in(args)
            if scores:
                self.flow.selections.append(Selection(node=call, scores=scores))
            return None
        if name in ("len", "print", "isinstance", "type", "range", "enumerate", "zip", "str", "repr", "hash", "id",
                    "open", "dict", "set", "sum", "any", "all", "round", "abs", "int", "float"):
            if name in ("zip", "enumerate") and args[0]:
                return Seq([a for a in args[0]])
            if name in ("float", "round", "abs") and args[0] and isinstance(args[0][0], Score):
                return args[0][0]
            return None
        if name in ("list", "tuple") and args[0]:
            return args[0][0]
        if datas:
            return self._opaque_result(datas, call)
        if name in self.env and isinstance(self.env[name], Obj):
            return None
        return self._new_data("", call, "call")

    # -- methods ---------------------------------------------------------------------------
    def _method(self, call: cst.Call, recv, method: str, args, recv_node):
        k = self.k
        if isinstance(recv, ScoreList):
            if method == "append" and args[0]:
                recv.scores.extend(_scores_in(args))
                return None
            if method in _SELECT_METHODS:
                self.flow.selections.append(Selection(node=call, scores=list(recv.scores)))
            return recv
        if method == "append" and isinstance(recv_node, cst.Name) and args[0]:
            scores = _scores_in(args)
            if scores:
                self.env[recv_node.value] = ScoreList(scores)
                return None
        if method in ("append", "extend") and isinstance(recv, Seq) and isinstance(recv_node, cst.Name):
            datas = self._datas(Seq(list(args[0])))
            if datas:  # `x_test = []` then `x_test.append(test_data[i])`: the list holds those rows
                collected = self._derive(datas, call, keep_columns=False)
                collected.name = recv_node.value
                self.env[recv_node.value] = collected
            return None
        if isinstance(recv, Data) and (method in k.fit_methods or method in k.apply_methods):
            # a method of an object the walk could not type (a parameter, a model from a helper)
            name = dotted(recv_node) or ""
            if recv.origin in ("param", "unknown", "call") and recv.predictions_of is None:
                obj = self._unknown_objs.get(name)
                if obj is None:
                    obj = Obj(label=name or "the model", qualname=None, kind="unknown", node=recv_node, name=name)
                    self._unknown_objs[name] = obj
                if name:
                    self.env[name] = obj
                recv = obj
        if isinstance(recv, Obj):
            return self._obj_method(call, recv, method, args)
        if isinstance(recv, Data):
            return self._data_method(call, recv, method, args)
        if isinstance(recv, Seq) and method == "split":
            return None
        return None

    def _obj_method(self, call: cst.Call, obj: Obj, method: str, args):
        k = self.k
        if method in k.fit_methods:
            data = self._arg(args, 0, "X") or self._arg(args, 0, "x")
            target = self._arg(args, 1, "y")
            data = data if isinstance(data, Data) else (self._datas(data)[0] if self._datas(data) else None)
            target = target if isinstance(target, Data) else None
            if obj.kind == "search":
                cv = self._pending_cv.get(id(obj))
                self._cross_val(call, f"{obj.label}.fit", data, cv)
            kind = obj.kind
            if kind == "unknown" and method in ("fit_transform", "fit_resample", "fit_on_texts", "adapt"):
                kind = "transformer"  # a project class with fit_transform is a transformer
            fit = self._record_fit(call, obj.label, kind, method, data, target, obj)
            self._validation_keywords(call, args)
            if method in ("fit_transform", "fit_predict"):
                if data is None:
                    return None
                keep = obj.kind in ("transformer", "row_wise", "label", "pipeline")
                out = self._derive([data], call, keep_columns=keep,
                                   extra_via=[fit] if obj.learns_from_rows or obj.kind == "unknown" else [])
                if method == "fit_predict":
                    out.predictions_of = obj
                return out
            if method == "fit_resample":
                if data is None:
                    return None
                x_out = self._derive([data], call, extra_via=[fit])
                y_out = self._derive([target], call, extra_via=[fit]) if target is not None else None
                return Seq([x_out, y_out])
            return obj
        if method == "split" and obj.kind == "splitter":
            data = self._arg(args, 0, "X")
            data = data if isinstance(data, Data) else None
            self.flow.fold_splits.append(FoldSplit(index=self._next(), node=call, splitter=obj, data=data))
            roots = data.roots if data is not None else frozenset({fresh_root()})
            return Seq([Seq([Index(roots, "train"), Index(roots, "test")])])
        if method in k.apply_methods:
            data = self._arg(args, 0, "X")
            data = data if isinstance(data, Data) else (self._datas(data)[0] if self._datas(data) else None)
            self.flow.applies.append(Apply(index=self._next(), node=call, obj=obj, method=method, data=data,
                                           loops=tuple(self._loops)))
            if method == "score":
                return Score(node=call, on_test=data is not None and self._is_test(data), loops=tuple(self._loops))
            if data is None:
                return None
            if method.startswith("predict") or method == "decision_function":
                out = self._derive([data], call, keep_columns=False)
                out.predictions_of = obj
                return out
            via = list(obj.fits[-1:]) if obj.learns_from_rows and obj.fits else []
            keep = obj.kind in ("transformer", "row_wise", "pipeline")
            return self._derive([data], call, keep_columns=keep, extra_via=via)
        if method in ("set_params", "set_output"):
            return obj
        return None

    def _data_method(self, call: cst.Call, recv: Data, method: str, args):
        k = self.k
        if method in ("rolling", "expanding", "ewm", "groupby", "resample", "shift", "diff", "pct_change",
                      "cumsum", "cummax", "cummin", "rank"):
            out = self._derive([recv], call, keep_columns=method in ("shift", "diff", "pct_change"))
            out.windowed = method not in ("shift", "diff", "pct_change")
            out.grouped = method == "groupby"
            return out
        if method == "transform" and recv.grouped and string_value(positional(call, 0)) in k.column_statistics:
            # `df.groupby("merchant")["is_fraud"].transform("mean")`: a per-group statistic of every row
            stat = Stat(data=recv, node=call, label=f"group {string_value(positional(call, 0))}")
            return self._derive([recv], call, keep_columns=False, extra_via=[self._stat_fit(stat, call)])
        lambdas = [a.value for a in call.args if isinstance(a.value, cst.Lambda)]
        if lambdas and method in ("assign", "apply", "transform", "pipe", "map", "agg"):
            lambda_fits = []
            for lam in lambdas:  # `df.assign(z=lambda d: (d.x - d.x.mean()) / d.x.std())`
                saved = dict(self.env)
                for p in lam.params.params:
                    self.env[p.name.value] = recv
                result = self._eval(lam.body)
                self.env = saved
                lambda_fits += [f for d in self._datas(Seq([result])) for f in d.via
                                if f.kind == "stat" and f not in recv.via]
            if lambda_fits:
                out = self._derive([recv], call, keep_columns=method != "apply", extra_via=lambda_fits)
                return out
        if method in k.column_statistics:
            if _axis_is_columns(call) and not recv.windowed:
                return Stat(data=recv, node=call, label=method)
            return self._derive([recv], call, keep_columns=False)
        if method == "describe":
            return None
        inplace = _truthy(keyword(call, "inplace"))
        stats = [v for v in (list(args[0]) + list(args[1].values())) if isinstance(v, Stat)]
        stat_fits = [self._stat_fit(st, call) for st in stats if st.data.roots & recv.roots]
        if method == "pop":
            cols = self._strings_of(positional(call, 0))
            if cols:
                recv.columns = _drop_columns(recv.columns, cols)
                d = self._derive([recv], call, keep_columns=False)
                d.columns, d.target = ("only", (cols[0],)), cols[0]
                return d
            return None
        out = recv if inplace else self._derive([recv], call, extra_via=stat_fits)
        if inplace:
            for f in stat_fits:
                recv.via = recv.via + (f,)
                if recv.column_of is not None:  # `df["age"].fillna(df["age"].mean(), inplace=True)`
                    recv.column_of.via = recv.column_of.via + (f,)
        if method == "drop":
            cols = _drop_columns_of(call, self)
            if cols:
                out.columns = _drop_columns(out.columns, cols)
            elif not inplace:
                out.slice_of = recv
        elif method in ("set_index", "sort_values"):
            col = positional(call, 0) or keyword(call, "keys" if method == "set_index" else "by")
            names = self._strings_of(col) if col is not None else None
            if names and any(_has_words(n, k.time_words) for n in names):
                out.time_ordered = True
            if method == "set_index":
                out.columns = _drop_columns(out.columns, names or [])
        elif method in ("resample", "asfreq", "to_period", "tz_localize"):
            out.time_ordered = True
        elif method in ("iloc", "pivot", "pivot_table", "groupby", "melt", "merge", "join",
                        "apply", "agg", "aggregate"):
            out.columns = None
        elif method in ("sample", "head", "tail", "query", "nlargest", "nsmallest"):
            out.slice_of = recv
            out.subset = True
        elif method not in ("copy", "fillna", "dropna", "drop_duplicates", "sort_index", "select_dtypes", "astype", "reset_index", "to_numpy", "replace", "rename", "clip",
                            "interpolate", "ffill", "bfill", "round", "abs", "where", "mask", "assign", "reindex",
                            "filter", "to_frame", "squeeze", "ravel", "flatten", "reshape", "tolist", "toarray",
                            "todense", "numpy", "cpu", "detach", "float", "to", "map", "transform"):
            out.columns = None  # an unknown method may add, drop or mix columns
        return None if inplace else out

    # -- events ----------------------------------------------------------------------------
    def _record_fit(self, call, label, kind, method, data, target, obj) -> Fit:
        fit = Fit(index=self._next(), node=call, label=label, kind=kind, method=method, data=data, target=target,
                  obj=obj, loops=tuple(self._loops), call=call)
        self.flow.fits.append(fit)
        if obj is not None:
            obj.fits.append(fit)
        for loop in self._loops:
            self.flow.loop_fits.add(loop)
        return fit

    def _validation_keywords(self, call: cst.Call, args) -> None:
        for name, value in args[1].items():
            if name in self.k.validation_keywords:
                self.flow.validation_uses.append(
                    ValidationUse(index=self._next(), node=call, keyword=name, data=self._datas(value)))

    def _split(self, call, label: str, inputs: list[Data], shuffled: bool, summary_call=None):
        split = Split(index=self._next(), node=call, label=label, inputs=inputs, shuffled=shuffled,
                      summary_call=summary_call)
        self.flow.splits.append(split)
        outputs = []
        for d in inputs:
            test_part = "val" if d.part == "train" else "test"
            for part in ("train", test_part):
                out = self._derive([d], call)
                out.part = part
                out.split = split
                out.test_hint = part == "test"
                outputs.append(out)
        return _SplitOutputs(outputs)

    def _cross_val(self, call, label: str, data, cv) -> None:
        data = data if isinstance(data, Data) else None
        self.flow.cross_vals.append(CrossVal(index=self._next(), node=call, label=label, data=data, cv=cv))

    def _score(self, call: cst.Call, args):
        datas = self._datas(Seq(args[0])) + self._datas(Seq(list(args[1].values())))
        on_test = any(self._is_test(d) for d in datas)
        return Score(node=call, on_test=on_test, loops=tuple(self._loops))

    def _is_test(self, d: Data) -> bool:
        return d.part == "test" or (d.part is None and d.test_hint)

    # -- summaries -------------------------------------------------------------------------
    def _apply_summary(self, call: cst.Call, summary: FunctionSummary, args):
        pos, kw = args
        arg_for: list[object] = []
        for i, p in enumerate(summary.params):
            if p in kw:
                arg_for.append(kw[p])
            elif i < len(pos):
                arg_for.append(pos[i])
            else:
                arg_for.append(None)

        def param_of(d: Data | None) -> int | None:
            if d is None:
                return None
            for i, roots in enumerate(summary.param_roots):
                if d.roots and d.roots <= roots:
                    return i
            return None

        fit_map: dict[int, Fit] = {}
        for f in summary.flow.fits:
            i = param_of(f.data)
            if i is None or not isinstance(arg_for[i], Data) or f.kind not in (
                    "transformer", "selector", "vectorizer", "resampler", "function", "stat"):
                continue
            new = replace(f, index=self._next(), node=call, label=f"{f.label} (in {summary.node.name.value}())",
                          data=arg_for[i], loops=tuple(self._loops), summary_call=call, obj=None)
            self.flow.fits.append(new)
            fit_map[id(f)] = new
        split_outputs = {}
        for s in summary.flow.splits:
            inputs = [arg_for[i] for i in (param_of(d) for d in s.inputs) if i is not None and isinstance(
                arg_for[i], Data)]
            if inputs:
                res = self._split(call, f"{s.label} (in {summary.node.name.value}())", inputs, s.shuffled,
                                  summary_call=call)
                split_outputs[id(s)] = res

        fresh_roots: dict[frozenset[int], frozenset[int]] = {}

        def translate(v):
            if isinstance(v, Seq):
                return Seq([translate(i) for i in v.items])
            if isinstance(v, _SplitOutputs):
                return Seq([translate(i) for i in v.items])
            if isinstance(v, Data):
                i = param_of(v)
                base = arg_for[i] if i is not None and isinstance(arg_for[i], Data) else None
                out = self._derive([base] if base is not None else [], call,
                                   extra_via=[fit_map[id(f)] for f in v.via if id(f) in fit_map])
                if v.columns is None or base is None:
                    out.columns = v.columns if v.columns and v.columns[0] == "only" else None
                elif v.columns[0] == "only":
                    out.columns = v.columns
                else:
                    out.columns = _drop_columns(base.columns, v.columns[1])
                out.target = v.target
                if v.part is not None:
                    out.part = v.part
                    if v.split is not None and id(v.split) in split_outputs:
                        out.split = split_outputs[id(v.split)].split
                    out.test_hint = v.part == "test"
                if base is None:
                    out.origin = "call"
                    out.roots = fresh_roots.setdefault(v.roots, frozenset({fresh_root()}))
                    out.time_ordered = v.time_ordered
                    out.test_hint = out.test_hint or v.test_hint or self._test_path_argument(call)
                return out
            if isinstance(v, Obj):
                # a splitter keeps its own line (where `shuffle=True` is written); a fitted object is
                # fitted at the call
                obj = Obj(label=v.label, qualname=v.qualname, kind=v.kind,
                          node=v.node if v.kind == "splitter" else call, shuffle=v.shuffle)
                obj.fits = [fit_map[id(f)] for f in v.fits if id(f) in fit_map]
                return obj
            return v

        returned = [r for r in summary.flow.returns if r is not None]
        shuffling = [r for r in returned if isinstance(r, Obj) and r.kind == "splitter" and r.shuffle]
        if returned:
            value = translate(shuffling[0] if shuffling else returned[-1])
            if isinstance(value, Seq):  # `return texts, labels` built from lists: data of unknown origin
                value = Seq([self._new_data("", call, "call") if item is None or (
                    isinstance(item, Seq) and not self._datas(item)) else item for item in value.items])
            return value
        datas = self._datas(Seq(pos)) + self._datas(Seq(list(kw.values())))
        return self._derive(datas, call, keep_columns=False) if datas else self._new_data("", call, "call")


class _SplitOutputs(Seq):
    """The outputs of a split, named by the targets they are unpacked into."""

    def __init__(self, items):
        super().__init__(items)
        self.split = items[0].split if items else None


def _row_wise_here(concept, call: cst.Call) -> bool:
    """Whether the arguments select a per-row mode of the step (`Imputer(axis=1)`)."""
    for name, values in concept.row_wise_when:
        value = keyword(call, name)
        if isinstance(value, cst.Integer) and int(value.value) in values:
            return True
        if string_value(value) is not None and string_value(value) in values:
            return True
    return False


def _selects_columns(args) -> bool:
    """A pipeline whose ColumnTransformer drops unlisted columns sees only the columns it names."""
    stack = list(args[0]) + list(args[1].values())
    while stack:
        v = stack.pop()
        if isinstance(v, Seq):
            stack.extend(v.items)
        elif isinstance(v, Obj) and (v.qualname or "").rsplit(".", 1)[-1] in (
                "ColumnTransformer", "make_column_transformer") and isinstance(v.node, cst.Call):
            remainder = keyword(v.node, "remainder")
            if string_value(remainder) != "passthrough":
                return True
    return False


def _scores_in(args) -> list[Score]:
    out = []
    for v in list(args[0]) + list(args[1].values()):
        if isinstance(v, Score):
            out.append(v)
        elif isinstance(v, ScoreList):
            out.extend(v.scores)
        elif isinstance(v, Seq):
            out.extend(s for s in v.items if isinstance(s, Score))
    return out


def _shares_rows(fit: Fit, data: Data) -> bool:
    return fit.data is not None and bool(fit.data.roots & data.roots)


def _truthy(expr) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def _whole_slice(sl) -> bool:
    """`X[:, 1:]`: the `:` keeps every row."""
    return isinstance(sl, cst.Slice) and sl.lower is None and sl.upper is None and sl.step is None


def _int_index(expr: cst.Subscript) -> int | None:
    if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
        return None
    v = expr.slice[0].slice.value
    neg = False
    if isinstance(v, cst.UnaryOperation) and isinstance(v.operator, cst.Minus):
        v, neg = v.expression, True
    if isinstance(v, cst.Integer):
        n = int(v.value)
        return -n if neg else n
    return None




def _axis_is_columns(call: cst.Call) -> bool:
    """`df.mean()` / `np.mean(X, axis=0)` aggregate over rows; `axis=1` is per row."""
    axis = keyword(call, "axis")
    if axis is None:
        return True
    if isinstance(axis, cst.Integer):
        return axis.value == "0"
    s = string_value(axis)
    return s in ("index", "rows") if s is not None else True


def _drop_columns(columns, names):
    if columns is None or not names:
        return columns
    mode, cols = columns
    if mode == "all":
        return ("all", frozenset(cols) | frozenset(names))
    return ("only", tuple(c for c in cols if c not in set(names)))


def _drop_columns_of(call: cst.Call, walker: ScopeWalker) -> list[str] | None:
    cols = keyword(call, "columns")
    if cols is not None:
        return walker._strings_of(cols)
    labels = keyword(call, "labels") or positional(call, 0)
    axis = keyword(call, "axis")
    if axis is None and len([a for a in call.args if a.keyword is None]) >= 2:
        axis = positional(call, 1)
    if labels is not None and axis is not None:
        if (isinstance(axis, cst.Integer) and axis.value == "1") or string_value(axis) == "columns":
            return walker._strings_of(labels)
    return None


def analyse_function(idx: ModuleIndex, fn: cst.FunctionDef, summaries=None) -> tuple[Flow, FunctionSummary]:
    scope = idx.scopes[fn]
    walker = ScopeWalker(idx, scope, summaries)
    roots = []
    for p in scope.params:
        if p in ("self", "cls"):
            roots.append(frozenset())
            continue
        d = walker._new_data(p, fn, "param")
        walker.env[p] = d
        roots.append(d.roots)
    body = fn.body.body if isinstance(fn.body, cst.IndentedBlock) else [fn.body]
    flow = walker.walk(body)
    return flow, FunctionSummary(fn, scope.params, flow, roots)


def module_flows(ctx) -> list[Flow]:
    """The flows of every scope in the file (module first), shared by every rule that asks."""
    return ctx.shared("dataflow", _build_flows)


def _build_flows(ctx) -> list[Flow]:
    idx: ModuleIndex = ctx.index
    summaries: dict[str, FunctionSummary] = {}
    flows: list[Flow] = []
    functions = [fn for fn, parent in idx.functions]
    # summaries first (one level: a summary does not follow further calls)
    method_summaries: dict[int, dict[str, FunctionSummary]] = {}  # class id -> "self.name" -> summary
    owner: dict[int, int] = {}
    for cls, parent in idx.classes:
        if isinstance(cls.body, cst.IndentedBlock):
            for stmt in cls.body.body:
                if isinstance(stmt, cst.FunctionDef):
                    owner[id(stmt)] = id(cls)
    for fn in functions:
        flow, summary = analyse_function(idx, fn)
        flows.append(flow)
        if id(fn) in owner:
            method_summaries.setdefault(owner[id(fn)], {})[f"self.{fn.name.value}"] = summary
        elif idx.scopes[fn].parent is idx.module_scope:
            summaries[fn.name.value] = summary
    # re-walk functions that call other same-file functions, now with their summaries
    for i, fn in enumerate(functions):
        own = {**summaries, **method_summaries.get(owner.get(id(fn)), {})}
        if _calls_any(idx, fn, own):
            flows[i], _ = analyse_function(idx, fn, own)
    module_walker = ScopeWalker(idx, idx.module_scope, summaries)
    flows.insert(0, module_walker.walk(ctx.module.body))
    return flows


def _calls_any(idx: ModuleIndex, fn: cst.FunctionDef, summaries) -> bool:
    scope = idx.scopes[fn]
    for call, s in idx.calls:
        if s is not scope:
            continue
        func = call.func
        if isinstance(func, cst.Name) and func.value in summaries and func.value != fn.name.value:
            return True
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self" \
                and f"self.{func.attr.value}" in summaries and func.attr.value != fn.name.value:
            return True
    return False
