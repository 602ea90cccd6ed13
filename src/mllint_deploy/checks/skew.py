"""Train/serve skew family (MLD301-MLD305): training and serving code checked against each other.

Per file (`collect`), small picklable facts: the model persist sites of training code (artifact path,
the columns and target the persisted model was fitted on, separately fitted preprocessing that feeds
it and whether it was persisted too), the load sites and predict calls of serving code (artifact
path, the columns or array element order passed to `predict`, whether the input was transformed on
the way), fits on request data in serving code, top-level feature functions (a normalised digest of
their bodies), and the module's column-list and path constants (other modules import them).

The project pass (`check`) resolves constants imported from other project modules, pairs each
serving load with the training code that persisted the same artifact (by file name, or MLflow
registry name; among several, the nearest in the directory tree), else with the only unpaired
training site of the nearest project directory, and reports on the serving side. MLD303 compares
both sides with the feature contract that applies to each file. Every rule stays quiet when the
columns are not literally known on both sides.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import textwrap
from dataclasses import dataclass, field

import libcst as cst

from mllint_deploy.analysis.calls import keyword, positional, string_value
from mllint_deploy.analysis.features import (
    INF, Tracer, Val, artifact_key, lit, path_segments, resolve_path, resolve_spec, skew_knowledge,
)
from mllint_deploy.analysis.names import dotted
from mllint_deploy.registry import ProjectCheck, register

Span = tuple[int, int, int, int]
_MODEL_KINDS = frozenset({"estimator", "pipeline", "search", "unknown"})
_DATA_KEYWORDS = ("X", "x", "data", "df", "features", "input", "inputs")


# ---------------------------------------------------------------------------------------------
# facts


@dataclass
class StepFact:
    """A preprocessing step fitted separately whose output feeds the persisted model."""

    label: str
    line: int
    cols: tuple | None = None  # the columns it was fitted on, when literal


@dataclass
class TrainFact:
    """A persisted model: where it is written and what it was fitted on."""

    span: Span
    path: tuple | None  # path pieces (see analysis/features.py)
    registry: tuple | None = None  # MLflow registered model name, as path pieces
    model: str = "the model"
    fit_line: int = 0
    fit_span: Span | None = None
    cols: tuple | None = None  # column spec of the data passed to fit
    positional: bool = False  # fitted on an array (columns known by position only)
    target: tuple | None = None
    steps: list[StepFact] = field(default_factory=list)


@dataclass
class LoadFact:
    span: Span
    path: tuple | None
    handle: bool = False


@dataclass
class ServeFact:
    """A `predict` call on a loaded model: what it is given."""

    span: Span
    load: int
    method: str
    kind: str  # frame | array | other
    cols: tuple | None = None
    names: tuple | None = None  # array element names in order (None entries: unknown)
    raw: bool | None = None
    row_line: int = 0
    loose: bool = False  # the row holds a payload schema's fields: only missing columns are evidence


@dataclass
class FitFact:
    """Serving code fitting something on request data (MLD304)."""

    span: Span
    label: str
    function: str


@dataclass
class FuncFact:
    """A top-level function: its signature and body statements, normalised and hashed, with lines."""

    name: str
    span: Span
    signature: str
    statements: tuple[tuple[str, int], ...]


@dataclass
class SkewFacts:
    abspath: str = ""
    columns: dict[str, tuple] = field(default_factory=dict)  # module constant -> column spec
    paths: dict[str, tuple] = field(default_factory=dict)  # module constant -> path pieces
    trainings: list[TrainFact] = field(default_factory=list)
    loads: list[LoadFact] = field(default_factory=list)
    servings: list[ServeFact] = field(default_factory=list)
    serving_fits: list[FitFact] = field(default_factory=list)
    functions: dict[str, FuncFact] = field(default_factory=dict)
    schema: dict[str, dict] = field(default_factory=dict)  # payload field -> {type, min, max, values}
    dtypes: dict[str, str] = field(default_factory=dict)  # column -> type evidence from training code


# ---------------------------------------------------------------------------------------------
# per-file collection


def _has_sites(ctx, k) -> bool:
    idx = ctx.index
    methods = set(k.load_methods) | set(k.persist_methods)
    for call, scope in idx.calls:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in methods:
            return True
        q = idx.call_name(call, scope)
        if q is None:
            continue
        if q in k.load_functions or q in k.persist_functions or q in k.mlflow_load or q in k.mlflow_log \
                or q in k.mlflow_save:
            return True
    return False


def _module_constants(tracer: Tracer, facts: SkewFacts) -> None:
    module = tracer.idx.module_scope
    for name, entries in tracer.binds.get(id(module), {}).items():
        if "." in name or not entries or entries[-1][1][0] not in ("expr", "aug"):
            continue
        op = entries[-1][1]
        value = op[1] if op[0] == "expr" else op[2]
        if not isinstance(value, (cst.List, cst.Tuple, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString,
                                  cst.BinaryOperation, cst.Call, cst.Name, cst.Attribute)):
            continue
        v = tracer.name_value(name, module, INF, 0)
        if v.kind in ("strs", "str", "ref") and v.cols is not None:
            facts.columns[name] = v.cols
        if v.kind in ("str", "path", "ref") and v.path is not None:
            facts.paths[name] = v.path


def _path_of(tracer: Tracer, expr, call) -> tuple | None:
    if expr is None:
        return None
    v = tracer.at(expr, call)
    if v.kind in ("str", "path", "ref", "handle") and v.path is not None:
        return v.path
    return None


def _span(ctx, node) -> Span:
    return ctx.span(node)


def _root_name(expr) -> str | None:
    for _ in range(12):
        if isinstance(expr, cst.Name):
            return expr.value
        if isinstance(expr, cst.Attribute):
            if isinstance(expr.value, cst.Name) and expr.value.value == "self":
                return f"self.{expr.attr.value}"
            expr = expr.value
        elif isinstance(expr, cst.Subscript):
            expr = expr.value
        elif isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            expr = expr.func.value
        else:
            return None
    return None


def _data_arg(call: cst.Call):
    first = positional(call, 0)
    if first is not None:
        return first
    for kw in _DATA_KEYWORDS:
        v = keyword(call, kw)
        if v is not None:
            return v
    return None


class _Collector:
    def __init__(self, ctx):
        self.ctx = ctx
        self.idx = ctx.index
        self.k = skew_knowledge()
        self.tracer = Tracer(ctx)
        self.facts = SkewFacts(abspath=ctx.abspath or os.path.abspath(ctx.path))
        self._synthetic: list = []

    def run(self) -> SkewFacts:
        _module_constants(self.tracer, self.facts)
        self._loads()
        self._trainings()
        self._servings()
        if self.facts.loads and not self.facts.trainings:
            self._serving_fits()
        if self.facts.loads or self.facts.trainings:
            self._functions()
        self._schema()
        if self.facts.trainings:
            self._dtypes()
        return self.facts

    # loads and predictions -----------------------------------------------------------------
    def _loads(self) -> None:
        for site in self.tracer.loads:
            path = _path_of(self.tracer, site.path_expr, site.call)
            self.facts.loads.append(LoadFact(span=_span(self.ctx, site.call), path=path, handle=site.handle))

    def _servings(self) -> None:
        tracer = self.tracer
        for call, scope in self.idx.calls:
            func = call.func
            if not isinstance(func, cst.Attribute) or func.attr.value not in self.k.predict_methods:
                continue
            recv = tracer.at(func.value, call)
            if recv.kind != "loaded" or recv.load is None:
                continue
            data = _data_arg(call)
            v = tracer.at(data, call) if data is not None else Val()
            # a single column or payload item (`payload["instances"]`) says nothing about the row's columns
            kind = "frame" if v.kind == "frame" else "array" if v.kind in ("array", "rows2d") else "other"
            names = v.names if kind == "array" else None
            self.facts.servings.append(ServeFact(
                span=_span(self.ctx, call), load=recv.load, method=func.attr.value, kind=kind,
                cols=v.cols if kind in ("frame", "array") else None, names=names, raw=v.raw,
                row_line=v.line or self.ctx.line_of(call), loose=v.loose))

    # training ----------------------------------------------------------------------------------
    def _trainings(self) -> None:
        if not self.tracer.persists:
            return
        from mllint_deploy.analysis.dataflow import module_flows
        from mllint_deploy.analysis.values import Obj

        flows = module_flows(self.ctx)
        envs = {id(f.scope_node): f.env for f in flows}
        module_env = envs.get(id(self.idx.module_scope.node), {})
        model_fits = []
        for flow in flows:
            for fit in flow.fits:
                if fit.kind in _MODEL_KINDS and fit.call is not None and fit.method in (
                        "fit", "partial_fit", "fit_transform", "fit_predict"):
                    model_fits.append(fit)

        def lookup(name: str, scope):
            env = envs.get(id(scope.node), {})
            value = env.get(name)
            if value is None:
                value = module_env.get(name)
            return value if isinstance(value, Obj) else None

        sites = []
        persisted_objs: list = []
        for site in self.tracer.persists:
            objs = []
            for expr in self._expand(site.objects, site):
                root = _root_name(expr)
                obj = lookup(root, site.scope) if root else None
                objs.append((expr, obj))
            persisted_objs.extend(o for _, o in objs if o is not None)
            sites.append((site, objs))
        persisted_ids = {id(o) for o in persisted_objs}
        persisted_names = {o.name for o in persisted_objs if o.name}
        for site, objs in sites:
            models = [o for _, o in objs if o is not None and o.kind in _MODEL_KINDS]
            steps_only = objs and all(o is not None and o.kind not in _MODEL_KINDS for _, o in objs)
            if steps_only:
                continue  # a scaler or encoder persisted on its own
            if site.method:
                method = site.call.func.attr.value
                if not models and method != "save_model":
                    continue  # `img.save(path)`: not a model
            fit = None
            for obj in models:
                fits = [f for f in obj.fits if f.kind in _MODEL_KINDS and f.call is not None]
                if fits:
                    fit = fits[-1]
            if fit is None:
                distinct = {id(f.call): f for f in model_fits}
                if len(distinct) == 1:
                    fit = next(iter(distinct.values()))
            booster = None
            if fit is None:
                booster = self._booster_training(objs, site)
            if fit is None and booster is None and not models and not objs:
                continue
            if fit is None and objs and all(o is None for _, o in objs) and not model_fits:
                # the object is not something this file fitted (a feature list, a dict of settings):
                # keep it only when it looks like a model artifact
                values = [self.tracer.at(e, site.call) for e in site.objects]
                if any(v.kind in ("strs", "str", "row", "frame", "array") for v in values):
                    continue
            path = _path_of(self.tracer, site.path_expr, site.call)
            registry = None
            if site.registered is not None:
                registry = _path_of(self.tracer, site.registered, site.call)
            fact = TrainFact(span=_span(self.ctx, site.call), path=path, registry=registry)
            if fit is not None:
                self._describe_fit(fact, fit, persisted_ids, persisted_names)
            elif booster is not None:
                self._describe_booster(fact, *booster)
            self.facts.trainings.append(fact)

    def _booster_training(self, objs, site):
        """`booster = lgb.train(params, lgb.Dataset(X, y))` then `booster.save_model(PATH)`: the train
        call and its data argument."""
        for expr, _ in objs:
            if not isinstance(expr, cst.Name):
                continue
            bound = self.tracer.binding_expr(expr.value, site.scope, self.tracer.ord_of(site.call))
            if bound is None or not isinstance(bound[0], cst.Call):
                continue
            call = bound[0]
            scope = self.tracer.scope_of(call)
            spec = self.k.training_functions.get(self.idx.call_name(call, scope) or "")
            if spec is None:
                continue
            pos, kw = spec.get("data") or [None, None]
            data = keyword(call, kw) if kw else None
            if data is None and pos is not None:
                data = positional(call, pos)
            return call, data
        return None

    def _describe_booster(self, fact: TrainFact, call, data) -> None:
        fact.fit_line = self.ctx.line_of(call)
        fact.fit_span = _span(self.ctx, call)
        fact.model = (dotted(call.func) or "train") + "()"
        if data is None:
            return
        v = self.tracer.at(data, call)
        if v.kind in ("frame", "array") and v.cols is not None:
            fact.cols = v.cols
            fact.positional = v.kind == "array"
        if isinstance(data, cst.Call):
            label = keyword(data, "label") or positional(data, 1)
            t = self.tracer.at(label, call) if label is not None else Val()
            if t.kind in ("field", "frame") and t.cols is not None:
                fact.target = t.cols

    def _expand(self, exprs, site, depth: int = 0) -> list:
        """The objects a persist call saves: bundle members (`{"scaler": s, "model": m}`, `(s, m)`) and,
        for an object built after fitting (`Pipeline([("s", scaler), ("m", model)])`, `Wrapper(s, m)`),
        the fitted objects it was built from as well."""
        out = []
        for expr in exprs:
            if isinstance(expr, cst.Name) and depth < 3:
                bound = self.tracer.binding_expr(expr.value, site.scope, self.tracer.ord_of(site.call))
                if bound is not None and isinstance(bound[0], (cst.Dict, cst.List, cst.Tuple)):
                    expr = bound[0]
                elif bound is not None and isinstance(bound[0], cst.Call):
                    out.append(expr)
                    out.extend(self._expand([a.value for a in bound[0].args], site, depth + 1))
                    continue
            if isinstance(expr, cst.Dict):
                out.extend(self._expand([el.value for el in expr.elements if isinstance(el, cst.DictElement)],
                                        site, depth + 1))
            elif isinstance(expr, (cst.List, cst.Tuple)):
                out.extend(self._expand([el.value for el in expr.elements if not isinstance(el, cst.StarredElement)],
                                        site, depth + 1))
            elif isinstance(expr, cst.Call) and depth < 3 and not isinstance(expr.func, cst.Attribute):
                out.append(expr)
                out.extend(self._expand([a.value for a in expr.args], site, depth + 1))
            else:
                out.append(expr)
        return out

    def _describe_fit(self, fact: TrainFact, fit, persisted_ids, persisted_names) -> None:
        from mllint_deploy.analysis.values import Data

        call = fit.call
        fact.fit_line = self.ctx.line_of(call)
        fact.fit_span = _span(self.ctx, call)
        fact.model = fit.label or "the model"
        data_expr = positional(call, 0) or keyword(call, "X") or keyword(call, "x")
        v = self.tracer.at(data_expr, call) if data_expr is not None else Val()
        if v.kind in ("frame", "field", "array") and v.cols is not None:
            fact.cols = v.cols
            fact.positional = v.kind == "array"
        elif v.kind == "frame" and v.raw is False and isinstance(fit.data, Data) and fit.data.columns \
                and fit.data.columns[0] == "only":
            # the output of a fitted transformer (`scaler.fit_transform(X_train)`): the columns the
            # transformer was given are the raw input the model depends on
            fact.cols = lit(fit.data.columns[1])
        target_expr = positional(call, 1) or keyword(call, "y")
        t = self.tracer.at(target_expr, call) if target_expr is not None else Val()
        if t.kind in ("field", "frame") and t.cols is not None:
            fact.target = t.cols
        elif isinstance(fit.target, Data):
            if fit.target.target:
                fact.target = lit((fit.target.target,))
            elif fit.target.columns and fit.target.columns[0] == "only" and len(fit.target.columns[1]) == 1:
                fact.target = lit(fit.target.columns[1])
        if isinstance(fit.data, Data):
            seen = set()
            for step in fit.data.via:
                if step.kind not in self.k.preprocessing_kinds or id(step.node) in seen:
                    continue
                seen.add(id(step.node))
                if step.obj is not None and (id(step.obj) in persisted_ids or (
                        step.obj.name and step.obj.name in persisted_names)):
                    continue
                cols = None
                if isinstance(step.data, Data) and step.data.columns and step.data.columns[0] == "only":
                    cols = tuple(step.data.columns[1])
                label = step.label if step.kind != "function" else step.label
                try:
                    line = self.ctx.line_of(step.node)
                except Exception:
                    line = 0
                fact.steps.append(StepFact(label=label, line=line, cols=cols))

    # MLD304 --------------------------------------------------------------------------------
    def _serving_fits(self) -> None:
        k, idx, tracer = self.k, self.idx, self.tracer
        reported: set[int] = set()
        for call, scope in idx.calls:
            if scope is idx.module_scope:
                continue
            q = idx.call_name(call, scope)
            func = call.func
            data = label = None
            if q in k.fitting_functions:
                data = positional(call, 0) or keyword(call, "X")
                label = f"{q.rsplit('.', 1)[-1]}()"
            elif isinstance(func, cst.Attribute) and func.attr.value in k.fit_methods \
                    and func.attr.value != "fit_resample":
                what = self._learner(func.value, call, scope)
                if what is not None:
                    data = positional(call, 0) or keyword(call, "X") or keyword(call, "raw_documents")
                    label = f"{what}.{func.attr.value}(...)"
            elif isinstance(func, cst.Attribute) and func.attr.value == "fillna":
                arg = positional(call, 0) or keyword(call, "value")
                stat = _column_statistic(arg, idx, scope, k)
                if stat is not None and stat[0] == _root_name(func.value):
                    data = func.value
                    label = f"fillna with the request's own {stat[1]}()"
            if data is None or not tracer.from_request(data, scope, tracer.ord_of(call)):
                continue
            line = self.ctx.line_of(call)
            if line in reported:
                continue
            reported.add(line)
            self.facts.serving_fits.append(FitFact(span=_span(self.ctx, call), label=label,
                                                   function=_function_name(scope)))
        # arithmetic normalisation with the request's own statistics: (x - x.mean()) / x.std()
        for fn, parent in idx.functions:
            scope = idx.scopes[fn]
            finder = _Normalisations(idx, scope, k)
            fn.body.visit(finder)
            for node, root, stat, stat_call in finder.found:
                line = self.ctx.line_of(node)
                if line in reported:
                    continue
                o = tracer.ord_of(stat_call)
                data = cst.Name(root) if "." not in root else _name_expr(root)
                self._synthetic.append(data)  # memo keys are node ids: keep the node alive
                if tracer.eval(data, scope, o).kind not in ("frame", "field", "loc") and not _axis_zero(stat_call):
                    continue  # `x / x.max()` of a 1-D request vector is per row, not a column statistic
                if not tracer.from_request(data, scope, o):
                    continue
                reported.add(line)
                self.facts.serving_fits.append(FitFact(
                    span=_span(self.ctx, node), label=f"normalising with the request's own {stat}()",
                    function=_function_name(scope)))

    def _learner(self, recv, call, scope) -> str | None:
        """The preprocessing class a `.fit*` receiver was built from, or None for models and unknowns."""
        k, idx = self.k, self.idx
        expr = recv
        if isinstance(recv, cst.Name):
            bound = self.tracer.binding_expr(recv.value, scope, self.tracer.ord_of(call))
            if bound is not None:
                expr = bound[0]
        if isinstance(expr, cst.Call):
            q = idx.call_name(expr, scope if expr is recv else self._scope_for(expr, scope))
            if q is not None and k.kind_of.get(q) in k.preprocessing_kinds:
                return q.rsplit(".", 1)[-1]
            return None
        method = call.func.attr.value
        if method == "fit_transform":
            v = self.tracer.at(recv, call)
            if v.kind == "loaded":
                return dotted(recv) or "the loaded transformer"
        return None

    def _scope_for(self, expr, default):
        return self.tracer.scope_of(expr) if isinstance(expr, cst.Call) else default

    # MLD305 --------------------------------------------------------------------------------
    def _functions(self) -> None:
        idx = self.idx
        called = set()
        for call, _ in idx.calls:
            if isinstance(call.func, cst.Name):
                called.add(call.func.value)
            for a in call.args:
                if isinstance(a.value, cst.Name):
                    called.add(a.value.value)
        for fn, parent in idx.functions:
            if parent is not idx.module_scope:
                continue
            name = fn.name.value
            if name in self.k.not_feature_functions or name.startswith("__") or name not in called:
                continue
            if not idx.scopes[fn].params or _is_route(fn) or not _touches_columns(fn):
                continue
            digest = _function_digest(self.ctx, fn)
            if digest is not None:
                self.facts.functions[name] = digest

    # evidence for --write-contract ---------------------------------------------------------------
    def _schema(self) -> None:
        idx, k = self.idx, self.k
        for cls, parent in idx.classes:
            if parent is not idx.module_scope or not isinstance(cls.body, cst.IndentedBlock):
                continue
            if not any(idx.qualify(b.value, None) in k.schema_bases for b in cls.bases):
                continue
            for stmt in cls.body.body:
                if not isinstance(stmt, cst.SimpleStatementLine):
                    continue
                for small in stmt.body:
                    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        info = _field_info(small.annotation.annotation, small.value, idx, k)
                        if info and small.target.value not in self.facts.schema:
                            self.facts.schema[small.target.value] = info

    def _dtypes(self) -> None:
        idx, k = self.idx, self.k
        for call, scope in idx.calls:
            q = idx.call_name(call, scope)
            if q in k.column_transformers:
                items = [a.value for a in call.args if a.keyword is None]
                if q.endswith("ColumnTransformer") and items and isinstance(items[0], (cst.List, cst.Tuple)):
                    items = [el.value for el in items[0].elements]
                for item in items:
                    if not isinstance(item, cst.Tuple):
                        continue
                    parts = [el.value for el in item.elements]
                    if len(parts) == 3:
                        transformer, cols = parts[1], parts[2]
                    elif len(parts) == 2:
                        transformer, cols = parts[0], parts[1]
                    else:
                        continue
                    tq = idx.call_name(transformer, scope) if isinstance(transformer, cst.Call) else None
                    kind = "str" if tq in k.categorical_encoders else "float" if tq in k.numeric_scalers else None
                    names = self.tracer.strs(cols, scope, self.tracer.ord_of(call))
                    if kind and names is not None and names[0] == "lit":
                        for n in names[1]:
                            self.facts.dtypes.setdefault(n, kind)
            elif isinstance(call.func, cst.Attribute) and call.func.attr.value == "astype":
                arg = positional(call, 0)
                if isinstance(arg, cst.Dict):
                    for el in arg.elements:
                        if isinstance(el, cst.DictElement) and string_value(el.key) is not None:
                            t = _dtype_name(el.value, idx, scope)
                            if t:
                                self.facts.dtypes[string_value(el.key)] = t
                else:
                    recv = call.func.value
                    if isinstance(recv, cst.Subscript) and len(recv.slice) == 1 \
                            and isinstance(recv.slice[0].slice, cst.Index):
                        col = string_value(recv.slice[0].slice.value)
                        t = _dtype_name(arg, idx, scope)
                        if col and t:
                            self.facts.dtypes[col] = t
            elif q is not None and q.startswith("pandas.read_"):
                dt = keyword(call, "dtype")
                if isinstance(dt, cst.Dict):
                    for el in dt.elements:
                        if isinstance(el, cst.DictElement) and string_value(el.key) is not None:
                            t = _dtype_name(el.value, idx, scope)
                            if t:
                                self.facts.dtypes.setdefault(string_value(el.key), t)


def _function_name(scope) -> str:
    node = scope.node
    return node.name.value if isinstance(node, cst.FunctionDef) else "<module>"


def _name_expr(dotted_name: str):
    parts = dotted_name.split(".")
    expr: cst.BaseExpression = cst.Name(parts[0])
    for p in parts[1:]:
        expr = cst.Attribute(value=expr, attr=cst.Name(p))
    return expr


def _axis_zero(call: cst.Call) -> bool:
    axis = keyword(call, "axis")
    return (isinstance(axis, cst.Integer) and axis.value == "0") or string_value(axis) in ("index", "rows")


def _column_statistic(expr, idx, scope, k) -> tuple[str, str] | None:
    """(root name of the data, statistic) for `df.mean()`, `df["a"].median()`, `np.mean(X, axis=0)`."""
    if not isinstance(expr, cst.Call):
        return None
    func = expr.func
    axis = keyword(expr, "axis")
    if axis is not None and not (isinstance(axis, cst.Integer) and axis.value == "0") \
            and string_value(axis) not in ("index", "rows"):
        return None
    if isinstance(func, cst.Attribute) and func.attr.value in k.column_statistics:
        if idx.qualify(func, scope) is not None:
            q = idx.qualify(func, scope)
            if q in k.column_statistic_functions:
                root = _root_name(positional(expr, 0)) if positional(expr, 0) is not None else None
                return (root, q.rsplit(".", 1)[-1]) if root else None
            return None
        root = _root_name(func.value)
        return (root, func.attr.value) if root else None
    q = idx.call_name(expr, scope)
    if q in k.column_statistic_functions:
        first = positional(expr, 0)
        root = _root_name(first) if first is not None else None
        return (root, q.rsplit(".", 1)[-1]) if root else None
    return None


class _Normalisations(cst.CSTVisitor):
    """`x - x.mean()`, `(x - x.min()) / (x.max() - x.min())`, `x / x.std()` with the same data `x`."""

    def __init__(self, idx, scope, k):
        self.idx, self.scope, self.k = idx, scope, k
        self.found: list = []
        self._done: set[int] = set()

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> bool:
        if not isinstance(node.operator, (cst.Subtract, cst.Divide)):
            return True
        for a, b in ((node.left, node.right), (node.right, node.left)):
            stat = _stat_inside(b, self.idx, self.scope, self.k)
            if stat is None:
                continue
            root, name, call = stat
            if _root_name(a) == root or _contains_root(a, root):
                self.found.append((node, root, name, call))
                return False
        return True


def _stat_inside(expr, idx, scope, k):
    """A column statistic call in `expr` (itself, or inside a parenthesised difference)."""
    if isinstance(expr, cst.Call):
        s = _column_statistic(expr, idx, scope, k)
        return (s[0], s[1], expr) if s else None
    if isinstance(expr, cst.BinaryOperation):
        return _stat_inside(expr.left, idx, scope, k) or _stat_inside(expr.right, idx, scope, k)
    return None


def _contains_root(expr, root: str) -> bool:
    if isinstance(expr, cst.BinaryOperation):
        return _contains_root(expr.left, root) or _contains_root(expr.right, root)
    if isinstance(expr, cst.Call):
        return False
    return _root_name(expr) == root


class _ColumnAccess(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Subscript(self, node: cst.Subscript) -> bool:
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            index = node.slice[0].slice.value
            if string_value(index) is not None or isinstance(index, (cst.List, cst.Name)):
                self.found = True
        return not self.found

    def visit_Call(self, node: cst.Call) -> bool:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in (
                "assign", "apply", "map", "clip", "fillna", "astype", "where", "log1p", "replace", "cut", "qcut"):
            self.found = True
        return not self.found


class _FieldReads(cst.CSTVisitor):
    """`p.age` read from a parameter (not a method call like `app.add_route(...)`)."""

    def __init__(self, params: set[str]) -> None:
        self.params = params
        self.found = False

    def visit_Call(self, node: cst.Call) -> bool:
        if isinstance(node.func, cst.Attribute):
            node.func.value.visit(self)
            for a in node.args:
                a.visit(self)
            return False
        return True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if isinstance(node.value, cst.Name) and node.value.value in self.params:
            self.found = True
        return not self.found


def _touches_columns(fn: cst.FunctionDef) -> bool:
    """A feature function reads or writes columns (`df["x"]`, `row[KEY]`, `p.age`, `.assign`,
    `.apply`...); loggers, response builders and config readers do not."""
    v = _ColumnAccess()
    fn.body.visit(v)
    if v.found:
        return True
    params = {p.name.value for p in (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params)}
    params -= {"self", "cls", "app", "request", "config", "cfg", "settings", "logger", "log", "args"}
    reads = _FieldReads(params)
    fn.body.visit(reads)
    return reads.found


def _is_route(fn: cst.FunctionDef) -> bool:
    for dec in fn.decorators:
        d = dec.decorator
        if isinstance(d, cst.Call) and isinstance(d.func, cst.Attribute):
            return True
    return False


def _function_digest(ctx, fn: cst.FunctionDef) -> FuncFact | None:
    try:
        code = textwrap.dedent(cst.Module(body=[]).code_for_node(fn.with_changes(decorators=[], leading_lines=[])))
        tree = ast.parse(code)
    except Exception:
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    offset = ctx.line_of(fn.name) - node.lineno
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
        a.annotation = None
    node.returns = None
    signature = ast.dump(node.args, include_attributes=False)
    statements = tuple((hashlib.sha1(ast.dump(s, include_attributes=False).encode()).hexdigest()[:16],
                        s.lineno + offset) for s in body)
    return FuncFact(name=fn.name.value, span=ctx.span(fn.name), signature=hashlib.sha1(
        signature.encode()).hexdigest()[:16], statements=statements)


_DTYPES = {
    "int": "int", "int8": "int", "int16": "int", "int32": "int", "int64": "int", "Int64": "int", "Int32": "int",
    "uint8": "int", "float": "float", "float16": "float", "float32": "float", "float64": "float",
    "Float64": "float", "str": "str", "string": "str", "object": "str", "category": "category", "bool": "bool",
    "boolean": "bool", "datetime64": "datetime", "datetime64[ns]": "datetime",
}


def _dtype_name(expr, idx, scope) -> str | None:
    s = string_value(expr)
    if s is not None:
        return _DTYPES.get(s)
    if isinstance(expr, cst.Name):
        return _DTYPES.get(expr.value)
    q = idx.qualify(expr, scope) if isinstance(expr, (cst.Name, cst.Attribute)) else None
    if q and q.startswith("numpy."):
        return _DTYPES.get(q.rsplit(".", 1)[-1])
    return None


def _number(expr):
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        v = _number(expr.expression)
        return -v if v is not None else None
    if isinstance(expr, cst.Integer):
        try:
            return int(expr.value.replace("_", ""), 0)
        except ValueError:
            return None
    if isinstance(expr, cst.Float):
        try:
            return float(expr.value.replace("_", ""))
        except ValueError:
            return None
    return None


def _bounds(call: cst.Call, info: dict) -> None:
    for key, target in (("ge", "min"), ("gt", "min"), ("le", "max"), ("lt", "max")):
        v = _number(keyword(call, key))
        if v is not None:
            info[target] = v


def _field_info(annotation, value, idx, k) -> dict | None:
    """Type, bounds and allowed values of a pydantic field, from its annotation and `Field(...)`."""
    info: dict = {}
    ann = annotation
    for _ in range(4):
        if isinstance(ann, cst.BinaryOperation) and isinstance(ann.operator, cst.BitOr):
            left, right = ann.left, ann.right
            ann = left if not (isinstance(left, cst.Name) and left.value == "None") else right
            continue
        if isinstance(ann, cst.Subscript):
            head = dotted(ann.value) or ""
            short = head.rsplit(".", 1)[-1]
            elems = [e.slice.value for e in ann.slice if isinstance(e.slice, cst.Index)]
            if short == "Optional" and elems:
                ann = elems[0]
                continue
            if short == "Annotated" and elems:
                for extra in elems[1:]:
                    if isinstance(extra, cst.Call) and idx.qualify(extra.func, None) in k.schema_fields:
                        _bounds(extra, info)
                ann = elems[0]
                continue
            if short == "Literal" and elems:
                values = []
                for e in elems:
                    s = string_value(e)
                    n = _number(e)
                    if s is not None:
                        values.append(s)
                    elif n is not None:
                        values.append(n)
                    else:
                        return None
                info["type"] = "str" if all(isinstance(v, str) for v in values) else "int" if all(
                    isinstance(v, int) for v in values) else "any"
                info["values"] = values
                break
            return None
        break
    if "type" not in info:
        if isinstance(ann, cst.Name) and ann.value in ("int", "float", "str", "bool"):
            info["type"] = ann.value
        elif isinstance(ann, cst.Call):
            q = idx.qualify(ann.func, None)
            if q in k.constrained_types:
                info["type"] = k.constrained_types[q]
                _bounds(ann, info)
            else:
                return None
        elif isinstance(ann, (cst.Name, cst.Attribute)) and (dotted(ann) or "").rsplit(".", 1)[-1] in (
                "datetime", "date"):
            info["type"] = "datetime"
        else:
            return None
    if isinstance(value, cst.Call) and idx.qualify(value.func, None) in k.schema_fields:
        _bounds(value, info)
    return info


# ---------------------------------------------------------------------------------------------
# the project pass


@dataclass
class _Site:
    module: object  # ModuleFacts
    facts: SkewFacts
    train: TrainFact
    text: str | None = None
    key: str | None = None
    segments: tuple = ()
    cols: tuple | None = None
    target: tuple | None = None


@register
class TrainServeSkew(ProjectCheck):
    """MLD301-MLD305: pairs serving code with the training code that persisted its model."""

    codes = ("MLD301", "MLD302", "MLD303", "MLD304", "MLD305")

    def collect(self, ctx) -> SkewFacts:
        k = skew_knowledge()
        if not _has_sites(ctx, k):
            facts = SkewFacts(abspath=ctx.abspath or os.path.abspath(ctx.path))
            _module_constants(Tracer(ctx, module_only=True), facts)
            return facts
        return _Collector(ctx).run()

    # -- resolution of constants across modules -------------------------------------------------
    def _setup(self, project) -> list:
        self.project = project
        entries = list(project.facts(type(self).__name__))
        self._facts_of = {id(m): f for m, f in entries}
        self._notebooks = {r.path: r.facts.get("notebook") for r in project.results}
        return entries

    def _lookup(self, importer, kind: str):
        def find(qualname: str):
            parts = qualname.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                module = self.project.resolve_module(".".join(parts[:cut]), importer)
                if module is None:
                    continue
                facts = self._facts_of.get(id(module))
                if facts is None:
                    return None
                name = ".".join(parts[cut:])
                table = facts.columns if kind == "columns" else facts.paths
                spec = table.get(name)
                if spec is None:
                    return None
                # names inside that module's constants resolve from that module
                return _Rebased(spec, module, self, kind)
            return None

        return find

    def cols(self, spec, module) -> tuple[str, ...] | None:
        return resolve_spec(spec, self._resolver(module, "columns"))

    def path(self, pieces, module) -> str | None:
        return resolve_path(pieces, self._resolver(module, "paths"))

    def _resolver(self, module, kind):
        base = self._lookup(module, kind)

        def lookup(qualname):
            found = base(qualname)
            if isinstance(found, _Rebased):
                return found.materialise()
            return found

        return lookup

    def where(self, module, line: int) -> str:
        """`path:line`, or `path cell N, line M` in a notebook."""
        nb = self._notebooks.get(module.path)
        line_map = getattr(nb, "line_map", None)
        if line_map and 1 <= line <= len(line_map):
            cell, cell_line, _ = line_map[line - 1]
            return f"{module.path} cell {cell}, line {cell_line}"
        return f"{module.path}:{line}"

    # -- the checks ------------------------------------------------------------------------------
    def check(self, project) -> None:
        entries = self._setup(project)
        self.contracts = _contract_lookup(project)
        sites: list[_Site] = []
        for module, facts in entries:
            for t in facts.trainings:
                s = _Site(module, facts, t)
                s.text = self.path(t.registry, module) if t.registry is not None else self.path(t.path, module)
                if t.registry is not None and s.text is not None and "\0" not in s.text:
                    s.text = "models:/" + s.text
                s.key = artifact_key(s.text)
                s.segments = path_segments(s.text) if s.text and not s.text.startswith("models:/") else ()
                s.cols = self.cols(t.cols, module) if t.cols is not None else None
                s.target = self.cols(t.target, module) if t.target is not None else None
                sites.append(s)
        self.sites = sites
        serving = [(m, f) for m, f in entries if f.loads and not f.trainings]
        load_keys = set()
        load_info: dict = {}
        for m, f in serving:
            for i, load in enumerate(f.loads):
                text = self.path(load.path, m)
                key = artifact_key(text)
                load_info[(id(m), i)] = (text, key)
                if key:
                    load_keys.add(key)
        keyed = {s.key for s in sites if s.key}
        # for the fallback: serving files with a load no training artifact name matches, and training
        # files none of whose artifacts is loaded by name
        self.unpaired_serving = [f.abspath for m, f in serving
                                 if any(load_info[(id(m), i)][1] not in keyed for i in range(len(f.loads)))]
        loaded_files = {id(s.module) for s in sites if s.key and s.key in load_keys}
        self.unpaired_training = [s for s in sites if id(s.module) not in loaded_files]
        for m, f in serving:
            pairs = {i: self._pair(m, f, load_info[(id(m), i)], keyed, load_keys) for i in range(len(f.loads))}
            for serve in f.servings:
                site = pairs.get(serve.load)
                if site is None:
                    continue
                if "MLD301" in project.enabled:
                    self._mismatch(m, f, serve, site)
                if "MLD302" in project.enabled:
                    self._not_persisted(m, serve, site)
            if "MLD304" in project.enabled:
                for fit in f.serving_fits:
                    project.report(m.path, fit.span, "MLD304", _fit_message(fit))
            if "MLD305" in project.enabled:
                trained = {id(s.module): s for s in pairs.values() if s is not None}
                for s in trained.values():
                    self._divergence(m, f, s)
        if "MLD303" in project.enabled:
            self._contract(entries, serving)

    # pairing
    def _pair(self, module, facts, info, keyed: set, load_keys: set) -> _Site | None:
        text, key = info
        here = os.path.dirname(facts.abspath)
        if key is not None and key in keyed:
            cands = [s for s in self.sites if s.key == key]
            segs = path_segments(text) if not text.startswith("models:/") else ()
            return self._nearest(cands, here, segs)
        # "else the only training/serving pair in the project": an artifact the code does not name
        # literally on one side. A registry name never falls back (an unregistered run is not it), and
        # a training file whose artifacts all have other names is not a candidate.
        if key is not None and key.startswith("models:/"):
            return None
        cands = [s for s in self.unpaired_training if s.key is None or (key is None and s.key not in load_keys)]
        if key is not None:
            cands = [s for s in cands if s.key is None]
        cands = [s for s in cands if all(o.key is None for o in self.sites if o.module is s.module)] \
            if key is not None else cands
        best = self._nearest(cands, here, ())
        if best is None:
            return None
        # the project: the directory holding both; it must have no other unpaired training or serving file
        root = _common_dir(here, os.path.dirname(best.facts.abspath))
        trainers = {id(s.module) for s in self.unpaired_training if _under(s.facts.abspath, root)}
        servers = {p for p in self.unpaired_serving if _under(p, root)}
        return best if len(trainers) == 1 and len(servers) == 1 else None

    def _nearest(self, cands: list[_Site], here: str, segs: tuple) -> _Site | None:
        if not cands:
            return None

        def score(s: _Site):
            suffix = 0
            if segs and s.segments:
                for a, b in zip(reversed(segs), reversed(s.segments)):
                    if a != b or a == "?":
                        break
                    suffix += 1
            return (suffix, _depth(_common_dir(here, os.path.dirname(s.facts.abspath))))

        best = max(score(s) for s in cands)
        top = [s for s in cands if score(s) == best]
        if len(top) == 1:
            return top[0]
        first = top[0]
        if all(s.cols == first.cols and s.module is first.module for s in top) or all(
                s.cols is not None and s.cols == first.cols for s in top):
            return first
        return None

    # MLD301
    def _mismatch(self, module, facts, serve: ServeFact, site: _Site) -> None:
        trained = site.cols
        if not trained or len(set(trained)) != len(trained):
            return
        fitted_at = self.where(site.module, site.train.fit_line or site.train.span[0])
        row_at = self.where(module, serve.row_line)
        report = functools.partial(self.project.report, module.path, serve.span, "MLD301")
        if serve.kind == "array" and serve.names is not None:
            # an array built element by element: the element names are request field names, which
            # need not be spelled like the training columns; only the count and a pure reordering
            # of the same names are evidence
            names = serve.names
            known = None not in names and len(set(names)) == len(names)
            if len(names) != len(trained):
                if known and (set(names) < set(trained) or set(names) > set(trained)):
                    report(_set_message("array", list(names), row_at, trained, fitted_at))
                else:
                    report(f"serving builds an array of {len(names)} values per row ({row_at}) but the model was "
                           f"fitted on {len(trained)} columns {list(trained)} ({fitted_at}). Build the row from "
                           "the training feature list, in its order.")
                return
            if known and set(names) == set(trained) and list(names) != list(trained):
                report(_order_message("array", list(names), row_at, trained, fitted_at))
            return
        if serve.cols is None:
            return
        served = self.cols(serve.cols, module)
        if served is None or len(set(served)) != len(served):
            return
        if serve.loose:
            # a frame of the request schema's fields: extra fields (ids) may be ignored by the model,
            # a training column the schema lacks cannot be
            missing = [c for c in trained if c not in served]
            if missing:
                report(f"serving builds the row from the fields of the request schema {list(served)} ({row_at}) "
                       f"but the model was fitted on {list(trained)} ({fitted_at}): "
                       f"{_quoted(missing)} {'is' if len(missing) == 1 else 'are'} missing. Add "
                       f"{'it' if len(missing) == 1 else 'them'} to the request schema, or build the row from "
                       "the training feature list.")
            return
        if set(served) != set(trained):
            report(_set_message("row" if serve.kind == "frame" else "array", list(served), row_at, trained,
                                fitted_at))
        elif list(served) != list(trained) and (serve.kind == "array" or site.train.positional):
            # positions matter: an array, or a model fitted on an array (it knows no column names)
            report(_order_message("row" if serve.kind == "frame" else "array", list(served), row_at, trained,
                                  fitted_at))

    # MLD302
    def _not_persisted(self, module, serve: ServeFact, site: _Site) -> None:
        if serve.raw is not True or not site.train.steps:
            return
        trained = site.cols
        target = set(site.target or ())
        steps = []
        for step in site.train.steps:
            if step.cols is not None and trained is not None and not set(step.cols) & set(trained):
                continue  # fitted on columns the model does not get (an id, a dropped column)
            if step.cols is not None and target and set(step.cols) <= target:
                continue  # the label encoder of the target
            steps.append(step)
        if not steps:
            return
        step = steps[0]
        saved_at = self.where(site.module, site.train.span[0])
        fitted_at = self.where(site.module, step.line)
        step_name = step.label.split(" ")[0].rstrip("()")
        self.project.report(module.path, serve.span, "MLD302", (
            f"the model was trained on the output of {step.label} fitted separately ({fitted_at}), but "
            f"training persists only the model ({saved_at}) and serving predicts on input that never went "
            f"through that step: the model gets raw values where it learned transformed ones. Persist a "
            f"Pipeline with the step inside (make_pipeline({step_name}(...), model)), or persist the fitted "
            "step too and apply it before predict."))

    # MLD305
    def _divergence(self, module, facts: SkewFacts, site: _Site) -> None:
        for name, fn in sorted(facts.functions.items()):
            other = site.facts.functions.get(name)
            if other is None:
                continue
            if fn.signature == other.signature and [h for h, _ in fn.statements] == [
                    h for h, _ in other.statements]:
                continue
            detail = ""
            for i in range(max(len(fn.statements), len(other.statements))):
                a = fn.statements[i] if i < len(fn.statements) else None
                b = other.statements[i] if i < len(other.statements) else None
                if a is None or b is None or a[0] != b[0]:
                    here = f"line {a[1]}" if a else "the end of the body"
                    there = self.where(site.module, b[1]) if b else "the end of the training copy"
                    detail = f" (first difference: {here} here vs {there})"
                    break
            if not detail and fn.signature != other.signature:
                detail = " (the parameters differ)"
            self.project.report(module.path, fn.span, "MLD305", (
                f"feature function {name}() is defined here and in the training code "
                f"({self.where(site.module, other.span[0])}), and the two bodies differ{detail}: the model "
                "was trained on features computed by the other copy. Keep one implementation in a module "
                "both sides import."))

    # MLD303
    def _contract(self, entries, serving) -> None:
        serving_ids = {id(m) for m, _ in serving}
        for module, facts in entries:
            if not facts.trainings and id(module) not in serving_ids:
                continue
            contract = self.contracts.for_file(facts.abspath)
            if contract is None:
                continue
            declared = set(contract.names)
            required = contract.required
            done: set = set()
            for s in (s for s in self.sites if s.module is module):
                if s.train.fit_line in done or not s.cols:
                    continue
                done.add(s.train.fit_line)
                undeclared = [c for c in s.cols if c not in declared]
                missing = [c for c in required if c not in s.cols]
                problems = []
                if undeclared:
                    problems.append(f"{_quoted(undeclared)} {'is' if len(undeclared) == 1 else 'are'} not "
                                    f"declared in the feature contract {contract.path}")
                if missing:
                    problems.append(f"the contract requires {_quoted(missing)}, which training leaves out")
                if contract.target and s.target and len(s.target) == 1 and s.target[0] != contract.target \
                        and s.target[0] not in declared:
                    problems.append(f"the model learns '{s.target[0]}' but the contract's target is "
                                    f"'{contract.target}'")
                if problems:
                    span = s.train.fit_span or s.train.span
                    self.project.report(module.path, span, "MLD303", (
                        f"the model is fitted on {list(s.cols)}: {'; '.join(problems)}. Make the code and the "
                        "contract agree (add the column to the contract with its type and range, or drop it "
                        "from the features)."))
            if id(module) not in serving_ids:
                continue
            for serve in facts.servings:
                if serve.kind != "frame" or serve.cols is None:
                    continue
                served = self.cols(serve.cols, module)
                if not served:
                    continue
                undeclared = [c for c in served if c not in declared] if not serve.loose else []
                missing = [c for c in required if c not in served]
                problems = []
                if undeclared:
                    problems.append(f"{_quoted(undeclared)} {'is' if len(undeclared) == 1 else 'are'} not "
                                    f"declared in the feature contract {contract.path}")
                if missing:
                    problems.append(f"the contract requires {_quoted(missing)}, which the serving row leaves out")
                if problems:
                    self.project.report(module.path, serve.span, "MLD303", (
                        f"serving passes {list(served)} to the model ({self.where(module, serve.row_line)}): "
                        f"{'; '.join(problems)}. Make the code and the contract agree."))

    # -- --write-contract --------------------------------------------------------------------------
    def infer(self, project) -> tuple[list[dict], str | None, str]:
        """Features (with types where the code gives evidence), target, and where they came from."""
        from mllint_deploy.project.contract import ContractError

        entries = self._setup(project)
        found = []
        for module, facts in entries:
            for t in facts.trainings:
                cols = self.cols(t.cols, module) if t.cols is not None else None
                if cols:
                    target = self.cols(t.target, module) if t.target is not None else None
                    found.append((module, facts, t, cols, target[0] if target and len(target) == 1 else None))
        if not found:
            raise ContractError("cannot infer a contract: no training code in these paths persists a model "
                                "fitted on a literal list of columns")
        distinct = {cols for _, _, _, cols, _ in found}
        if len(distinct) > 1:
            listing = "; ".join(f"{self.where(m, t.fit_line)}: {list(c)}" for m, _, t, c, _ in found)
            raise ContractError("cannot infer one contract: the training code fits models on different columns "
                                f"({listing}); pass only the training script of the model to describe")
        module, facts, train, cols, target = found[0]
        schema: dict = {}
        dtypes: dict = {}
        for m, f in entries:
            for name, info in f.schema.items():
                schema.setdefault(name, info)
            for name, t in f.dtypes.items():
                dtypes.setdefault(name, t)
        features = []
        for c in cols:
            info = dict(schema.get(c, {}))
            entry = {"name": c, "type": info.get("type") or dtypes.get(c) or "any"}
            if entry["type"] in ("int", "float", "any") and info.get("type") in ("int", "float"):
                for key in ("min", "max"):
                    if info.get(key) is not None:
                        entry[key] = info[key]
            if info.get("values"):
                entry["values"] = info["values"]
            features.append(entry)
        if target in cols:
            target = None
        return features, target, self.where(module, train.fit_line)


class _Rebased:
    """A constant found in another module: its own names resolve from that module."""

    def __init__(self, spec, module, check: TrainServeSkew, kind: str):
        self.spec, self.module, self.check, self.kind = spec, module, check, kind

    def materialise(self):
        if self.kind == "columns":
            names = self.check.cols(self.spec, self.module)
            return lit(names) if names is not None else None
        text = self.check.path(self.spec, self.module)
        if text is None:
            return None
        pieces = []
        for i, chunk in enumerate(text.split("\0")):
            if i:
                pieces.append(("?",))
            if chunk:
                pieces.append(("s", chunk))
        return tuple(pieces)


def _contract_lookup(project):
    from mllint_deploy.project.contract import ContractLookup

    return ContractLookup(getattr(project, "contract", None), getattr(project, "contract_config", None))


def _set_message(what: str, served: list, row_at: str, trained, fitted_at: str) -> str:
    missing = [c for c in trained if c not in served]
    extra = [c for c in served if c not in trained]
    parts = []
    if missing:
        parts.append(_quoted(missing) + (" is" if len(missing) == 1 else " are") + " missing")
    if extra:
        parts.append(_quoted(extra) + (" is" if len(extra) == 1 else " are") + " extra (never seen in training)")
    return (f"serving builds the {what} from {served} ({row_at}) but the model was fitted on {list(trained)} "
            f"({fitted_at}): {' and '.join(parts)}. Build the row from the same feature list as training "
            "(import it from one shared module).")


def _order_message(what: str, served: list, row_at: str, trained, fitted_at: str) -> str:
    pos = next(i for i, (a, b) in enumerate(zip(served, trained)) if a != b)
    return (f"serving builds the {what} from {served} ({row_at}) but the model was fitted on {list(trained)} "
            f"({fitted_at}): the columns are in a different order (position {pos + 1} holds '{served[pos]}' "
            f"where the model expects '{trained[pos]}'), so the model reads one feature as another. Build the "
            "row from the training feature list, in its order.")


def _quoted(names) -> str:
    names = [f"'{n}'" for n in names]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _fit_message(fit: FitFact) -> str:
    where = f"in {fit.function}()" if fit.function != "<module>" else "in serving code"
    if fit.label.startswith(("fillna", "normalising")):
        what = f"{fit.label} {where}"
        how = ("each request is filled or scaled with statistics of its own batch (a single row is its own "
               "mean), not with the training data's")
    else:
        what = f"{fit.label} fits on request data {where}"
        how = "the transformation is learned from each request instead of the training data"
    return (f"{what}: {how}, so the same input gets different features depending on the batch. Learn the "
            "statistic during training and persist it with the model (a SimpleImputer/StandardScaler inside "
            "the saved Pipeline); serving should only call transform/predict.")


def _common_dir(a: str, b: str) -> str:
    try:
        return os.path.commonpath([os.path.abspath(a), os.path.abspath(b)])
    except ValueError:
        return ""


def _depth(path: str) -> int:
    return len([p for p in path.replace("\\", "/").split("/") if p]) if path else -1


def _under(path: str, root: str) -> bool:
    if not root:
        return True
    try:
        return os.path.commonpath([os.path.abspath(path), root]) == root
    except ValueError:
        return False


def infer_contract(paths: list[str], settings):
    """Lint `paths` for facts only and infer (features, target, source) for `--write-contract`."""
    from mllint_deploy.pipeline.discovery import discover, display_path
    from mllint_deploy.pipeline.engine import lint_path
    from mllint_deploy.project.modules import Project
    from mllint_deploy.pipeline.runner import _context_files

    files = discover(paths, settings)
    check = TrainServeSkew()
    codes = frozenset(check.codes)
    results = [lint_path(p, display_path(p), [], codes, [check]) for p in files]
    results += [lint_path(p, display_path(p), [], codes, [check]) for p in _context_files(paths, files, settings)]
    project = Project(results, set(), codes)
    return check.infer(project)
