"""What the train/serve skew rules need from one file, as small picklable facts.

The model persist sites of training code (artifact path, the columns and target the persisted model
was fitted on, separately fitted preprocessing that feeds it and whether it was persisted too), the
load sites and predict calls of serving code (artifact path, the columns or array element order passed
to `predict`, whether the input was transformed on the way), fits on request data in serving code,
top-level feature functions (a normalised digest of their bodies), payload schemas and column dtypes,
and the module's column-list and path constants (other modules import them). Values are read with
the ordered resolver of `analysis/features.py`; `project/pairing.py` resolves and pairs them.
"""

from __future__ import annotations

import ast
import hashlib
import os
import textwrap
from dataclasses import dataclass, field

import libcst as cst

from mllint_deploy.analysis.calls import keyword, positional, string_value
from mllint_deploy.analysis.columns import INF, Val, lit, skew_knowledge
from mllint_deploy.analysis.features import Tracer
from mllint_deploy.analysis.names import dotted
from mllint_deploy.analysis.value_transforms import RawFeed, TransformFact, serving_raw_feeds, training_transforms

Span = tuple[int, int, int, int]
SKEW_FACTS = "TrainServeSkew"  # the project check that collects these facts, and their key in a file's facts
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
    transforms: list[TransformFact] = field(default_factory=list)  # training: row-wise value transformations
    raw_feeds: list[RawFeed] = field(default_factory=list)  # serving: request values reaching a model unchanged


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
            self.facts.transforms = training_transforms(self.ctx)
        if self.facts.loads:
            self.facts.raw_feeds = serving_raw_feeds(self.ctx)
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


def collect_skew_facts(ctx) -> SkewFacts:
    """The skew facts of one file (a module with no model persist or load site keeps only its
    constants, which other modules may import)."""
    if not _has_sites(ctx, skew_knowledge()):
        facts = SkewFacts(abspath=ctx.abspath or os.path.abspath(ctx.path))
        _module_constants(Tracer(ctx, module_only=True), facts)
        return facts
    return _Collector(ctx).run()
