"""What a model is fed and where it is stored, as far as the code says it literally.

The train/serve skew rules need facts the leakage dataflow does not keep: the ordered columns of a
DataFrame built from a dict of request fields, the element order of `np.array([[p.age, p.income]])`,
the artifact path of `joblib.dump(model, os.path.join(MODEL_DIR, "model.joblib"))`, and column lists
or paths that are constants imported from another project module (which only the project pass can
resolve). `Tracer` is a small ordered def-use resolver per scope (module, each function) that
evaluates an expression to an abstract `Val`:

- column lists are kept symbolically (`Spec`): `("lit", names)`, `("ref", "pkg.features.FEATURES")`
  for an imported constant, `("one", ref)` for an imported single name inside a list literal,
  `("cat", a, b)`, `("drop", a, b)`, `("add", a, names)`; `resolve_spec` turns them into names once
  the other modules' constants are known;
- paths are tuples of pieces: `("s", text)`, `("r", qualified name)`, `("?",)` for an unknown piece;
  `path_segments` and `basename` read them once resolved.

Names are resolved to the last binding before the use in the same scope (branches are not merged),
then to the enclosing scope; a parameter of a module-level function called exactly once in the file
takes the argument of that call. Anything not understood is `UNKNOWN`, and every rule stays quiet on
unknowns. Everything stored in facts is plain tuples and strings (picklable), never CST nodes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import libcst as cst

from mllint_deploy.analysis.calls import keyword, positional, string_value
from mllint_deploy.analysis.names import ScopeInfo, dotted
from mllint_deploy.knowledge import knowledge

INF = 1 << 30
_MAX_DEPTH = 40

# ---------------------------------------------------------------------------------------------
# knowledge


class SkewKnowledge:
    """The concepts the skew rules ask about, as tables, built once per process."""

    def __init__(self) -> None:
        k = knowledge()
        names = k.names
        self.persist_functions = {q: {"object": names[q].object, "path": names[q].path, "handle": names[q].handle}
                                  for q in k.having("persister")}
        self.persist_methods: dict = dict(k.methods.get("persist") or {})
        self.persist_method_keywords = tuple(k.methods.get("persist_path_keywords") or ())
        m = k.mlflow
        flavors = m.get("flavors", [])
        self.mlflow_log = {f"mlflow.{f}.log_model" for f in flavors}
        self.mlflow_save = {f"mlflow.{f}.save_model" for f in flavors}
        self.mlflow_load = {f"mlflow.{f}.load_model" for f in flavors}
        self.mlflow_log_spec: dict = dict(m.get("log_model", {}))
        self.mlflow_save_spec: dict = dict(m.get("save_model", {}))
        self.mlflow_load_spec: dict = dict(m.get("load_model", {}))
        self.mlflow_object_keywords = tuple(m.get("object_keywords", []))
        # loaders whose artifact path the code names (not `pickle.loads(bytes)`)
        self.load_functions = {q: {"path": names[q].path, "handle": names[q].handle}
                               for q in k.having("loader") if names[q].path is not None}
        self.load_methods: dict = dict(k.methods.get("load_into") or {})
        self.load_state_methods = k.method_names("load_state")
        self.predict_methods = k.method_names("predict")
        self.passthrough = frozenset(q for q in k.having("wrapper") if names[q].keeps_columns)
        self.array_constructors = frozenset(q for q, c in names.items() if c.builds == "array")
        self.frame_constructors = frozenset(q for q, c in names.items() if c.builds == "frame")
        self.series_constructors = frozenset(q for q, c in names.items() if c.builds == "series")
        self.preserving = k.method_names("column_preserving")
        self.array_methods = k.method_names("to_array")
        self.array_attributes = k.method_names("array_attributes")
        self.dump_methods = k.method_names("payload_dump")
        self.request_objects = tuple(sorted(k.having("request")))
        self.path_join = k.having("path_join")
        self.path_constructors = k.having("path")
        self.env_lookups = k.having("env_lookup")
        self.preprocessing_kinds = k.roles["preprocessing"]
        self.categorical_encoders = frozenset(q for q, c in names.items() if c.input == "categorical")
        self.numeric_scalers = frozenset(q for q, c in names.items() if c.input == "numeric")
        self.column_transformers = frozenset(q for q, c in names.items() if c.column_transformer)
        self.schema_bases = k.having("schema_base")
        self.schema_fields = k.having("schema_field")
        self.constrained_types = {q: names[q].type for q in k.having("constrained_type")}
        self.not_feature_functions = k.words["not_feature_functions"]
        self.training_functions = {q: {"data": names[q].data} for q in k.having("train_function")}
        self.schema_parse_methods = k.method_names("schema_parse")
        # shared with the leakage rules
        self.split_functions = k.having("split")
        self.fit_methods = k.method_names("fit")
        self.fitting_functions = k.having("fitting_function")
        # per-row functions keep the columns (not get_dummies: it makes new ones)
        self.row_wise = frozenset(q for q in k.having("row_function") if q.startswith("numpy."))
        self.column_statistics = k.method_names("statistic")
        self.column_statistic_functions = k.having("statistic")
        self.kind_of = k.step_kinds()

    def is_request_object(self, qualname: str) -> bool:
        return any(qualname == r or qualname.startswith(r + ".") for r in self.request_objects)


@functools.lru_cache(maxsize=None)
def skew_knowledge() -> SkewKnowledge:
    return SkewKnowledge()


# ---------------------------------------------------------------------------------------------
# abstract values


@dataclass(frozen=True)
class Val:
    """What an expression holds, as far as the skew rules care.

    kind: unknown | none | param (request input or a payload object) | field (one named value) |
    row (a dict) | records (a list of dicts) | frame | array (2-D) | vector (1-D, by elements) |
    rows2d (a nested list literal) | strs (a list of column names) | str | ref (an imported constant) |
    path | handle (an open file) | loaded (a loaded model or bundle) | loc (a `.loc`/`.iloc` indexer).
    `raw` is True when nothing transformed the values on the way from the request (False: a
    transformation; None: unknown). A `param` may carry in `key` the payload schema class it is an
    instance of; dumping it gives a row of that class's fields (`loose`)."""

    kind: str = "unknown"
    cols: tuple | None = None
    names: tuple | None = None
    raw: bool | None = None
    line: int = 0
    load: int | None = None
    path: tuple | None = None
    key: str | None = None
    loose: bool = False  # columns from a payload schema's fields: extra ones (ids...) are no evidence


UNKNOWN = Val()
_DATA_KINDS = frozenset({"frame", "field", "array"})
_DEFINING = frozenset({"expr", "unpack", "aug", "loopvar", "unknown", "import"})
_SCALAR_CASTS = frozenset({"float", "int", "str", "bool", "round", "abs"})


def lit(names) -> tuple:
    return ("lit", tuple(names))


def _merge_specs(parts: list[tuple]) -> tuple:
    """One spec from the pieces of a list literal (adjacent literal names merged)."""
    out: tuple | None = None
    buffer: list[str] = []

    def flush():
        nonlocal out, buffer
        if buffer:
            piece = lit(buffer)
            out = piece if out is None else ("cat", out, piece)
            buffer = []

    for p in parts:
        if p[0] == "lit":
            buffer.extend(p[1])
        else:
            flush()
            out = p if out is None else ("cat", out, p)
    flush()
    return out if out is not None else lit(())


def resolve_spec(spec, lookup, depth: int = 0) -> tuple[str, ...] | None:
    """The column names a spec stands for; `lookup(qualname)` resolves an imported constant to a spec
    (or None). None when any part is unknown."""
    if spec is None or depth > 20:
        return None
    op = spec[0]
    if op == "lit":
        return tuple(spec[1])
    if op in ("ref", "one"):
        target = lookup(spec[1])
        names = resolve_spec(target, lookup, depth + 1) if target is not None else None
        if op == "one" and names is not None and len(names) != 1:
            return None
        return names
    if op == "cat":
        a, b = resolve_spec(spec[1], lookup, depth + 1), resolve_spec(spec[2], lookup, depth + 1)
        return a + b if a is not None and b is not None else None
    if op == "drop":
        a, b = resolve_spec(spec[1], lookup, depth + 1), resolve_spec(spec[2], lookup, depth + 1)
        if a is None or b is None:
            return None
        gone = set(b)
        return tuple(x for x in a if x not in gone)
    if op == "add":
        a = resolve_spec(spec[1], lookup, depth + 1)
        b = resolve_spec(spec[2], lookup, depth + 1)
        if a is None or b is None:
            return None
        return a + tuple(x for x in b if x not in a)
    return None


def resolve_path(pieces, lookup, depth: int = 0) -> str | None:
    """The path text (unknown pieces as NUL); `lookup(qualname)` gives an imported constant's pieces."""
    if pieces is None or depth > 20:
        return None
    out = []
    for p in pieces:
        if p[0] == "s":
            out.append(p[1])
        elif p[0] == "r":
            target = lookup(p[1])
            text = resolve_path(target, lookup, depth + 1) if target is not None else None
            out.append(text if text is not None else "\0")
        else:
            out.append("\0")
    return "".join(out)


def path_segments(text: str | None) -> tuple[str, ...]:
    """`artifacts/model.joblib` -> ('artifacts', 'model.joblib'); unknown segments become '?'."""
    if text is None:
        return ()
    segments = []
    for seg in text.replace("\\", "/").split("/"):
        if seg in ("", "."):
            continue
        segments.append("?" if "\0" in seg else seg)
    return tuple(segments)


def artifact_key(text: str | None) -> str | None:
    """How training and serving are paired: the artifact's file name (its directory is often spelled
    differently on the two sides: `Path(__file__).parent / "m.joblib"` vs `"m.joblib"`), or for the
    MLflow registry `models:/NAME` (whatever stage, version or alias is loaded). `runs:/` URIs name a
    run that only exists at run time: no key."""
    if text is None:
        return None
    if text.startswith("models:/"):
        name = text[len("models:/"):].split("/")[0].split("@")[0]
        return f"models:/{name}" if name and "\0" not in name else None
    if text.startswith("runs:/"):
        return None
    if "://" in text:
        text = text.split("://", 1)[1]
    segs = path_segments(text)
    if not segs or segs[-1] in ("?", ".."):
        return None
    return segs[-1]


# ---------------------------------------------------------------------------------------------
# the tracer


class _Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False


@dataclass
class LoadSite:
    call: cst.Call
    scope: ScopeInfo
    path_expr: cst.BaseExpression | None
    handle: bool = False
    method: bool = False


@dataclass
class PersistSite:
    call: cst.Call
    scope: ScopeInfo
    objects: list  # the persisted object expressions
    path_expr: cst.BaseExpression | None
    handle: bool = False
    registered: str | None = None
    method: bool = False


class Tracer:
    """Ordered bindings per scope and an evaluator of expressions to `Val`s (see module doc)."""

    def __init__(self, ctx, module_only: bool = False):
        self.ctx = ctx
        self.idx = ctx.index
        self.k = skew_knowledge()
        self.binds: dict[int, dict[str, list]] = {}
        self.call_ord: dict[int, int] = {}
        self.returns: dict[int, list] = {}
        self.global_names: dict[int, set[str]] = {}
        self.global_binds: dict[str, list] = {}
        self.attrs: dict[str, list] = {}
        self.items: dict[tuple[str, str], list] = {}
        self.load_index: dict[int, int] = {}
        self.loads: list[LoadSite] = []
        self.persists: list[PersistSite] = []
        self._counters: dict[int, int] = {}
        self._memo: dict = {}
        self._active: set = set()
        self._scope_of_call: dict[int, ScopeInfo] = {}
        self._functions = {fn.name.value: fn for fn, parent in self.idx.functions
                           if parent is self.idx.module_scope}
        self._schemas: dict[str, tuple[str, ...]] | None = None
        self._handlers: set[int] | None = None
        self._sites_of: dict[str, list] | None = None
        self._roots_memo: dict = {}
        self._walk(ctx.module.body, self.idx.module_scope)
        if not module_only:
            for fn, _ in self.idx.functions:
                scope = self.idx.scopes[fn]
                self._block(fn.body, scope)
            for call, scope in self.idx.calls:
                self._scope_of_call[id(call)] = scope
            self._find_sites()

    # -- building -----------------------------------------------------------------------------
    def _next(self, scope) -> int:
        n = self._counters.get(id(scope), 0) + 1
        self._counters[id(scope)] = n
        return n

    def _add(self, scope, name: str, o: int, op: tuple) -> None:
        self.binds.setdefault(id(scope), {}).setdefault(name, []).append((o, op))
        if name in self.global_names.get(id(scope), ()) and op[0] in _DEFINING:
            self.global_binds.setdefault(name, []).append((scope, o, op))

    def _mark(self, node, o: int) -> None:
        if node is None:
            return
        v = _Calls()
        node.visit(v)
        for c in v.calls:
            self.call_ord.setdefault(id(c), o)

    def _walk(self, body, scope) -> None:
        for stmt in body:
            self._stmt(stmt, scope)

    def _block(self, suite, scope) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self._walk(suite.body, scope)
        elif isinstance(suite, cst.SimpleStatementSuite):
            o = self._next(scope)
            for small in suite.body:
                self._mark(small, o)
                self._small(small, scope, o)

    def _stmt(self, stmt, scope) -> None:
        o = self._next(scope)
        if isinstance(stmt, cst.SimpleStatementLine):
            self._mark(stmt, o)
            for small in stmt.body:
                self._small(small, scope, o)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            for dec in stmt.decorators:
                self._mark(dec, o)
            if isinstance(stmt, cst.ClassDef):
                self._add(scope, stmt.name.value, o, ("unknown",))
        elif isinstance(stmt, cst.If):
            self._mark(stmt.test, o)
            self._block(stmt.body, scope)
            if stmt.orelse is not None:
                if isinstance(stmt.orelse, cst.If):
                    self._stmt(stmt.orelse, scope)
                else:
                    self._block(stmt.orelse.body, scope)
        elif isinstance(stmt, cst.For):
            self._mark(stmt.iter, o)
            for name in _target_names(stmt.target):
                self._add(scope, name, o, ("loopvar", stmt.iter))
            self._block(stmt.body, scope)
            if stmt.orelse is not None:
                self._block(stmt.orelse.body, scope)
        elif isinstance(stmt, cst.While):
            self._mark(stmt.test, o)
            self._block(stmt.body, scope)
            if stmt.orelse is not None:
                self._block(stmt.orelse.body, scope)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                self._mark(item.item, o)
                if item.asname is not None and isinstance(item.asname.name, cst.Name):
                    self._add(scope, item.asname.name.value, o, ("expr", item.item))
            self._block(stmt.body, scope)
        elif isinstance(stmt, cst.Try) or type(stmt).__name__ == "TryStar":
            self._block(stmt.body, scope)
            for h in stmt.handlers:
                if h.name is not None and isinstance(h.name.name, cst.Name):
                    self._add(scope, h.name.name.value, o, ("unknown",))
                self._block(h.body, scope)
            if stmt.orelse is not None:
                self._block(stmt.orelse.body, scope)
            if stmt.finalbody is not None:
                self._block(stmt.finalbody.body, scope)
        elif isinstance(stmt, cst.Match):
            self._mark(stmt.subject, o)
            for case in stmt.cases:
                self._block(case.body, scope)

    def _small(self, small, scope, o: int) -> None:
        if isinstance(small, cst.Assign):
            for t in small.targets:
                self._bind_target(t.target, small.value, scope, o)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self._bind_target(small.target, small.value, scope, o)
        elif isinstance(small, cst.AugAssign):
            if isinstance(small.target, cst.Name):
                self._add(scope, small.target.value, o, ("aug", small.operator, small.value))
        elif isinstance(small, cst.Expr):
            value = small.value
            if isinstance(value, cst.Await):
                value = value.expression
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
                base = dotted(value.func.value)
                if base:
                    self._add(scope, base, o, ("call", value))
        elif isinstance(small, cst.Del):
            for target in _del_targets(small.target):
                if isinstance(target, cst.Subscript) and len(target.slice) == 1 \
                        and isinstance(target.slice[0].slice, cst.Index):
                    base = dotted(target.value)
                    if base:
                        self._add(scope, base, o, ("delitem", target.slice[0].slice.value))
                elif isinstance(target, cst.Name):
                    self._add(scope, target.value, o, ("unknown",))
        elif isinstance(small, cst.Return):
            if small.value is not None:
                self.returns.setdefault(id(scope), []).append((o, small.value))
        elif isinstance(small, cst.Global):
            self.global_names.setdefault(id(scope), set()).update(n.name.value for n in small.names)
        elif isinstance(small, (cst.Import, cst.ImportFrom)):
            for local, qualname in _imported_names(small, self.idx):
                self._add(scope, local, o, ("import", qualname))

    def _bind_target(self, target, value, scope, o: int) -> None:
        if isinstance(target, cst.Name):
            self._add(scope, target.value, o, ("expr", value))
        elif isinstance(target, (cst.Tuple, cst.List)):
            n = len(target.elements)
            for i, el in enumerate(target.elements):
                v = el.value
                if isinstance(el, cst.StarredElement) or isinstance(v, cst.StarredElement):
                    for name in _target_names(v):
                        self._add(scope, name, o, ("unknown",))
                elif isinstance(v, cst.Name):
                    self._add(scope, v.value, o, ("unpack", value, i, n))
                else:
                    for name in _target_names(v):
                        self._add(scope, name, o, ("unknown",))
        elif isinstance(target, cst.Subscript):
            base = dotted(target.value)
            if base and len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
                key_expr = target.slice[0].slice.value
                self._add(scope, base, o, ("setitem", key_expr, value))
                key = string_value(key_expr)
                if key is not None:
                    self.items.setdefault((base, key), []).append((scope, o, value))
        elif isinstance(target, cst.Attribute):
            d = dotted(target)
            if d:
                self.attrs.setdefault(d, []).append((scope, o, value))
                self._add(scope, d, o, ("expr", value))

    # -- model persist and load sites ------------------------------------------------------
    def _find_sites(self) -> None:
        k = self.k
        for call, scope in self.idx.calls:
            q = self.idx.call_name(call, scope)
            func = call.func
            if q is not None:
                spec = k.load_functions.get(q)
                if spec is not None:
                    path = _locate(call, spec.get("path"))
                    pos, kw = spec.get("path") or [None, None]
                    if pos is None and path is None:
                        continue  # `xgb.Booster()` without model_file: filled by load_model later
                    self._load(call, scope, path, handle=bool(spec.get("handle")))
                    continue
                if q in k.mlflow_load:
                    self._load(call, scope, _locate(call, k.mlflow_load_spec.get("path")))
                    continue
                spec = k.persist_functions.get(q)
                if spec is not None:
                    obj = _locate(call, spec.get("object"))
                    self.persists.append(PersistSite(call, scope, [obj] if obj is not None else [],
                                                     _locate(call, spec.get("path")), bool(spec.get("handle"))))
                    continue
                if q in k.mlflow_log or q in k.mlflow_save:
                    spec = k.mlflow_log_spec if q in k.mlflow_log else k.mlflow_save_spec
                    obj = _locate(call, spec.get("object"))
                    if obj is None:
                        obj = next((keyword(call, kw) for kw in k.mlflow_object_keywords
                                    if keyword(call, kw) is not None), None)
                    registered = None
                    if spec.get("registered"):
                        registered = keyword(call, spec["registered"])
                    site = PersistSite(call, scope, [obj] if obj is not None else [],
                                       _locate(call, spec.get("path")) if spec.get("path") else None)
                    site.registered = registered  # an expression; resolved by the caller
                    self.persists.append(site)
                    continue
            if not isinstance(func, cst.Attribute) or (q is not None and "." in q and
                                                        q.split(".")[0] in ("os", "json", "yaml", "shutil")):
                continue
            method = func.attr.value
            if method in k.load_methods:
                spec = k.load_methods[method]
                path = _locate(call, spec.get("path"))
                if path is None:
                    path = next((keyword(call, kw) for kw in k.persist_method_keywords
                                 if keyword(call, kw) is not None), None)
                if path is not None:
                    self._load(call, scope, path, method=True)
            elif method in k.persist_methods and q is None:
                spec = k.persist_methods[method]
                path = _locate(call, spec.get("path"))
                if path is None:
                    path = next((keyword(call, kw) for kw in k.persist_method_keywords
                                 if keyword(call, kw) is not None), None)
                if path is not None:
                    self.persists.append(PersistSite(call, scope, [func.value], path, method=True))

    def _load(self, call, scope, path, handle: bool = False, method: bool = False) -> None:
        self.load_index[id(call)] = len(self.loads)
        self.loads.append(LoadSite(call, scope, path, handle, method))

    def scope_of(self, call: cst.Call) -> ScopeInfo:
        return self._scope_of_call.get(id(call), self.idx.module_scope)

    def ord_of(self, call: cst.Call) -> int:
        return self.call_ord.get(id(call), INF)

    # -- payload schema classes -----------------------------------------------------------------
    def schemas(self) -> dict[str, tuple[str, ...]]:
        """Module-level pydantic classes of this file -> their field names, base classes' first."""
        if self._schemas is None:
            classes = {c.name.value: c for c, parent in self.idx.classes if parent is self.idx.module_scope}
            out: dict[str, tuple[str, ...]] = {}

            def fields(name: str, depth: int = 0):
                if name in out:
                    return out[name]
                cls = classes.get(name)
                if cls is None or depth > 5:
                    return None
                found: list[str] = []
                is_schema = False
                for base in cls.bases:
                    q = self.idx.qualify(base.value, None)
                    if q is not None and (q in self.k.schema_bases or q.startswith("pydantic.")):
                        is_schema = True
                        continue
                    inherited = fields(dotted(base.value) or "", depth + 1)
                    if inherited is None:
                        return None
                    is_schema = True
                    found.extend(f for f in inherited if f not in found)
                if not is_schema or not isinstance(cls.body, cst.IndentedBlock):
                    return None
                for stmt in cls.body.body:
                    if isinstance(stmt, cst.SimpleStatementLine):
                        for small in stmt.body:
                            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                                ann = dotted(small.annotation.annotation) or ""
                                if isinstance(small.annotation.annotation, cst.Subscript):
                                    ann = dotted(small.annotation.annotation.value) or ""
                                name_ = small.target.value
                                if ann.rsplit(".", 1)[-1] == "ClassVar" or name_.startswith("_") \
                                        or name_ == "model_config":
                                    continue
                                if name_ not in found:
                                    found.append(name_)
                out[name] = tuple(found)
                return out[name]

            for name in classes:
                fields(name)
            self._schemas = {k: v for k, v in out.items() if v is not None}
        return self._schemas

    def _schema_row(self, call, recv: Val) -> Val:
        fields = self.schemas().get(recv.key or "")
        if fields is None or _is_true(keyword(call, "by_alias")):
            return Val("row", raw=True, line=self.line(call))
        include, exclude = keyword(call, "include"), keyword(call, "exclude")
        names = list(fields)
        if include is not None:
            keep = _string_set(include)
            if keep is None:
                return Val("row", raw=True, line=self.line(call))
            names = [n for n in names if n in keep]
        if exclude is not None:
            drop = _string_set(exclude)
            if drop is None:
                return Val("row", raw=True, line=self.line(call))
            names = [n for n in names if n not in drop]
        return Val("row", cols=lit(names), raw=True, line=self.line(call), loose=True)

    # -- evaluation ------------------------------------------------------------------------
    def line(self, node) -> int:
        try:
            return self.ctx.line_of(node)
        except Exception:
            return 0

    def eval(self, e, scope, o: int, d: int = 0) -> Val:
        if e is None or d > _MAX_DEPTH:
            return UNKNOWN
        key = (id(e), id(scope), o)
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            return UNKNOWN
        self._active.add(key)
        try:
            v = self._eval(e, scope, o, d)
        except RecursionError:
            v = UNKNOWN
        finally:
            self._active.discard(key)
        self._memo[key] = v
        return v

    def at(self, e, call: cst.Call) -> Val:
        """The value of `e`, an argument or receiver of `call`, where `call` happens."""
        return self.eval(e, self.scope_of(call), self.ord_of(call))

    def _eval(self, e, scope, o, d) -> Val:
        s = string_value(e)
        if s is not None:
            return Val("str", cols=lit((s,)), path=(("s", s),), raw=True, line=self.line(e))
        if isinstance(e, cst.Name):
            if e.value == "None":
                return Val("none")
            if e.value in ("True", "False"):
                return UNKNOWN
            return self.name_value(e.value, scope, o, d + 1)
        if isinstance(e, cst.Attribute):
            return self._attribute(e, scope, o, d)
        if isinstance(e, cst.Subscript):
            return self._subscript(e, scope, o, d)
        if isinstance(e, cst.Call):
            return self._call(e, scope, o, d)
        if isinstance(e, (cst.List, cst.Tuple)):
            return self._sequence(e, scope, o, d)
        if isinstance(e, cst.Dict):
            return self._dict(e, scope, o, d)
        if isinstance(e, cst.BinaryOperation):
            return self._binary(e, scope, o, d)
        if isinstance(e, (cst.FormattedString, cst.ConcatenatedString)):
            return Val("str", path=self._fstring_pieces(e, scope, o, d), raw=True)
        if isinstance(e, cst.DictComp):
            spec = self._comprehension_columns(e, e.key, scope, o, d)
            return Val("row", cols=spec, raw=True, line=self.line(e)) if spec is not None else UNKNOWN
        if isinstance(e, (cst.ListComp, cst.GeneratorExp)):
            elt = e.elt
            spec = self._comprehension_columns(e, elt, scope, o, d, item=True)
            if spec is not None:
                return Val("vector", cols=spec, raw=True, line=self.line(e))
            if isinstance(elt, cst.Dict):
                row = self._dict(elt, scope, o, d)
                return Val("records", cols=row.cols, raw=True, line=row.line)
            if isinstance(elt, cst.Call) and isinstance(elt.func, cst.Attribute) \
                    and elt.func.attr.value in self.k.dump_methods:
                return Val("records", raw=True, line=self.line(e))
            return UNKNOWN
        if isinstance(e, cst.Await):
            return self.eval(e.expression, scope, o, d + 1)
        return UNKNOWN

    # names
    def name_value(self, name: str, scope, o: int, d: int) -> Val:
        entries = self.binds.get(id(scope), {}).get(name, [])
        start = None
        for i in range(len(entries) - 1, -1, -1):
            eo, op = entries[i]
            if eo < o and op[0] in _DEFINING:
                start = i
                break
        if start is not None:
            eo, op = entries[start]
            v = self._define(name, op, scope, eo, d)
            rest = entries[start + 1:]
        else:
            v = self._outer(name, scope, d)
            rest = entries
        for eo2, op2 in rest:
            if eo2 >= o:
                break
            if op2[0] not in _DEFINING:
                v = self._mutate(v, op2, scope, eo2, d)
        return v

    def _outer(self, name: str, scope, d: int) -> Val:
        if scope is not self.idx.module_scope:
            if name in scope.params:
                return self._param(name, scope, d)
            parent = scope.parent if scope.parent is not None else self.idx.module_scope
            v = self.name_value(name, parent, INF, d + 1)
            if v.kind != "loaded":
                for gscope, go, gop in self.global_binds.get(name, ()):
                    g = self._define(name, gop, gscope, go, d)
                    if g.kind == "loaded":
                        return g
            return v
        q = self.idx.qualify(cst.Name(name), None)
        if q is not None:
            if self.k.is_request_object(q):
                return Val("param", raw=True)
            return Val("ref", cols=("ref", q), path=(("r", q),))
        for gscope, go, gop in self.global_binds.get(name, ()):
            g = self._define(name, gop, gscope, go, d)
            if g.kind == "loaded":
                return g
        return UNKNOWN

    def _param(self, name: str, scope, d: int) -> Val:
        fn = scope.node
        if isinstance(fn, cst.FunctionDef) and self._functions.get(fn.name.value) is fn and d < 20:
            sites = [(c, s) for c, s in self.call_sites(fn.name.value) if s is not scope]
            if len(sites) == 1:
                call, s = sites[0]
                i = scope.params.index(name)
                arg = keyword(call, name)
                if arg is None and not any(a.star for a in call.args):
                    arg = positional(call, i)
                if arg is not None:
                    v = self.eval(arg, s, self.ord_of(call), d + 1)
                    if v.kind != "unknown":
                        return v
        if isinstance(fn, cst.FunctionDef):
            for p in (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params):
                if p.name.value == name and p.annotation is not None:
                    cls = dotted(p.annotation.annotation)
                    if cls in self.schemas():
                        return Val("param", raw=True, key=cls)
        return Val("param", raw=True)

    def _define(self, name: str, op: tuple, scope, eo: int, d: int) -> Val:
        kind = op[0]
        if kind == "expr":
            return self.eval(op[1], scope, eo, d + 1)
        if kind == "unpack":
            return self._unpack(op[1], op[2], op[3], scope, eo, d)
        if kind == "import":
            if self.k.is_request_object(op[1]):
                return Val("param", raw=True)
            return Val("ref", cols=("ref", op[1]), path=(("r", op[1]),))
        if kind == "aug":
            prev = self.name_value(name, scope, eo, d + 1)
            right = self.eval(op[2], scope, eo, d + 1)
            if isinstance(op[1], cst.AddAssign):
                return self._add_values(prev, right)
            return Val(prev.kind, cols=prev.cols, raw=False, line=prev.line) if prev.kind in _DATA_KINDS else UNKNOWN
        return UNKNOWN

    def _unpack(self, value, i: int, n: int, scope, o: int, d: int) -> Val:
        if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == n \
                and not any(isinstance(el, cst.StarredElement) for el in value.elements):
            return self.eval(value.elements[i].value, scope, o, d + 1)
        if isinstance(value, cst.Call):
            q = self.idx.call_name(value, scope)
            if q in self.k.split_functions:
                arrays = [a.value for a in value.args if a.keyword is None and not a.star]
                if arrays and len(arrays) * 2 == n and not any(a.star for a in value.args):
                    return self.eval(arrays[i // 2], scope, o, d + 1)
        return UNKNOWN

    def _mutate(self, v: Val, op: tuple, scope, eo: int, d: int) -> Val:
        kind = op[0]
        if kind == "setitem":
            key_expr = op[1]
            if v.kind == "loaded":
                return v
            if v.kind in ("frame", "row", "records"):
                names = self.strs(key_expr, scope, eo, d)
                if names is not None and v.cols is not None:
                    return replace(v, cols=("add", v.cols, names))
                return replace(v, cols=None)
            return v
        if kind == "delitem":
            if v.kind in ("frame", "row"):
                names = self.strs(op[1], scope, eo, d)
                return replace(v, cols=("drop", v.cols, names) if names is not None and v.cols else None)
            return v
        if kind == "call":
            call = op[1]
            method = call.func.attr.value
            if id(call) in self.load_index:
                return Val("loaded", load=self.load_index[id(call)])
            if method in self.k.load_state_methods:
                arg = self.eval(positional(call, 0), scope, eo, d + 1)
                if arg.kind == "loaded":
                    return arg
                return v
            if v.kind in ("frame", "row"):
                inplace = keyword(call, "inplace")
                if method == "update" and v.kind == "row":
                    arg = self.eval(positional(call, 0), scope, eo, d + 1)
                    if arg.kind == "row" and arg.cols is not None and v.cols is not None:
                        return replace(v, cols=("add", v.cols, arg.cols))
                    return replace(v, cols=None)
                if method == "pop" and v.kind == "row":
                    names = self.strs(positional(call, 0), scope, eo, d)
                    return replace(v, cols=("drop", v.cols, names) if names is not None and v.cols else None)
                if isinstance(inplace, cst.Name) and inplace.value == "True":
                    if method == "drop":
                        names = self._drop_names(call, scope, eo, d)
                        if names is not None and v.cols is not None:
                            return replace(v, cols=("drop", v.cols, names))
                        return v if names is None and keyword(call, "index") is not None else replace(v, cols=None)
                    if method in self.k.preserving:
                        return v
                    return replace(v, cols=None)
                if method in ("insert", "rename", "set_index", "clear"):
                    return replace(v, cols=None)
            return v
        return v

    # attributes and subscripts
    def _attribute(self, e: cst.Attribute, scope, o, d) -> Val:
        d_name = dotted(e)
        if d_name and "." in d_name:
            bound = self._attr_binding(d_name, d)
            if bound is not None:
                return bound
        q = self.idx.qualify(e, scope)
        if q is not None:
            if self.k.is_request_object(q):
                return Val("param", raw=True)
            return Val("ref", cols=("ref", q), path=(("r", q),))
        base = self.eval(e.value, scope, o, d + 1)
        attr = e.attr.value
        if attr in ("loc", "iloc") and base.kind in ("frame", "param"):
            return replace(base, kind="loc", key=attr)
        if attr == "loc" and base.kind == "unknown":  # a frame from a helper: `.loc[:, FEATURES]` still fixes columns
            return Val("loc", key="loc")
        if attr in self.k.array_attributes and base.kind in ("frame", "field"):
            if base.kind == "field" or base.loose:
                return Val("array", raw=base.raw)
            return Val("array", cols=base.cols, raw=base.raw, line=base.line)
        if base.kind == "path" or (base.kind == "str" and attr in ("parent",)):
            if attr == "parent":
                return Val("path", path=(("?",),))
            return UNKNOWN
        if base.kind == "param":
            return Val("field", cols=lit((attr,)), names=(attr,), raw=True)
        if base.kind == "loaded":
            return replace(base, key=attr)
        return UNKNOWN

    def _attr_binding(self, d_name: str, d: int) -> Val | None:
        candidates = []
        for key, binds in self.attrs.items():
            if key == d_name or (d_name.endswith("." + key) and key.count(".") >= 2):
                candidates.extend(binds)
        if not candidates:
            return None
        values = [self.eval(value, scope, o, d + 1) for scope, o, value in candidates]
        for v in values:
            if v.kind == "loaded":
                return v
        return values[-1]

    def _subscript(self, e: cst.Subscript, scope, o, d) -> Val:
        base_expr = e.value
        if isinstance(base_expr, cst.Name) and len(e.slice) == 1 and isinstance(e.slice[0].slice, cst.Index):
            key = string_value(e.slice[0].slice.value)
            if key is not None and (base_expr.value, key) in self.items:
                for s, so, value in self.items[(base_expr.value, key)]:
                    v = self.eval(value, s, so, d + 1)
                    if v.kind == "loaded":
                        return v
        base = self.eval(base_expr, scope, o, d + 1)
        if len(e.slice) == 2 and base.kind == "loc":
            first, second = e.slice[0].slice, e.slice[1].slice
            if isinstance(first, cst.Slice) and first.lower is None and first.upper is None \
                    and isinstance(second, cst.Index) and base.key == "loc":
                names = self.strs(second.value, scope, o, d)
                if names is not None:
                    return Val("frame", cols=names, raw=base.raw, line=self.line(e))
            return Val("frame", raw=base.raw) if base.key == "loc" else UNKNOWN
        if len(e.slice) != 1:
            return UNKNOWN
        sl = e.slice[0].slice
        if base.kind == "loaded":
            if isinstance(sl, cst.Index):
                key = string_value(sl.value)
                return replace(base, key=key) if key is not None else base
            return base
        if not isinstance(sl, cst.Index):
            if base.kind in ("frame", "array", "loc"):  # rows sliced
                return replace(base, kind="frame" if base.kind == "loc" else base.kind)
            return UNKNOWN
        index = sl.value
        if base.kind == "unknown":
            # a frame from somewhere unknown: a literal column selection still fixes the columns
            key = string_value(index)
            if key is not None:
                return Val("field", cols=lit((key,)), names=(key,), line=self.line(e))
            iv = self.eval(index, scope, o, d + 1)
            if iv.kind in ("strs",) or (iv.kind == "ref" and isinstance(index, (cst.Name, cst.Attribute))):
                return Val("frame", cols=iv.cols, line=self.line(e))
            if iv.kind == "str":
                return Val("field", cols=iv.cols, names=iv.cols[1] if iv.cols else None, line=self.line(e))
            return UNKNOWN
        if base.kind in ("frame", "param", "row", "field", "loc", "records"):
            key = string_value(index)
            if key is not None:
                return Val("field", cols=lit((key,)), names=(key,), raw=base.raw, line=self.line(e))
            if isinstance(index, (cst.Comparison, cst.BooleanOperation, cst.UnaryOperation)):
                return replace(base, kind="frame") if base.kind in ("frame", "loc") else UNKNOWN
            iv = self.eval(index, scope, o, d + 1)
            if iv.kind == "str":
                return Val("field", cols=iv.cols, names=iv.cols[1] if iv.cols else None, raw=base.raw,
                           line=self.line(e))
            if iv.kind in ("strs", "ref"):
                if base.kind in ("row", "records"):
                    return UNKNOWN
                return Val("frame", cols=iv.cols, raw=base.raw, line=self.line(e))
            if base.kind in ("frame", "loc"):
                return Val("frame", cols=base.cols if iv.kind in ("field", "frame") else None, raw=base.raw,
                           line=base.line)
            return UNKNOWN
        if base.kind == "array":
            return base
        return UNKNOWN

    # calls
    def _call(self, call: cst.Call, scope, o, d) -> Val:
        if id(call) in self.load_index:
            return Val("loaded", load=self.load_index[id(call)])
        k = self.k
        func = call.func
        schema = func.value if isinstance(func, cst.Attribute) and func.attr.value in k.schema_parse_methods \
            else func
        if isinstance(schema, cst.Name) and schema.value in self.schemas() \
                and not _bound_locally(schema.value, scope, self.idx):
            return Val("param", raw=True, key=schema.value)
        q = self.idx.call_name(call, scope)
        if q is not None:
            return self._library(call, q, scope, o, d)
        if isinstance(func, cst.Name):
            return self._plain(call, func.value, scope, o, d)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            recv = self.eval(func.value, scope, o, d + 1)
            return self._method(call, recv, method, scope, o, d)
        return UNKNOWN

    def _library(self, call, q, scope, o, d) -> Val:
        k = self.k
        first = positional(call, 0)
        if q in k.frame_constructors:
            return self._frame(call, scope, o, d)
        if q in k.array_constructors:
            v = self.eval(first, scope, o, d + 1)
            return self._as_array(v, call)
        if q in k.passthrough:
            return self.eval(first or keyword(call, "data"), scope, o, d + 1)
        if q in k.series_constructors:
            v = self.eval(first or keyword(call, "data"), scope, o, d + 1)
            return Val("field", raw=v.raw if first is not None else None)
        if q in k.path_join or q in k.path_constructors:
            parts = [a.value for a in call.args if a.keyword is None and not a.star]
            if not parts:
                return Val("path", path=(("?",),))
            return Val("path", path=self._join([self.eval(p, scope, o, d + 1) for p in parts]))
        if q in k.env_lookups:
            default = positional(call, 1) or keyword(call, "default")
            v = self.eval(default, scope, o, d + 1)
            return v if v.kind in ("str", "path") else UNKNOWN
        if k.is_request_object(q):
            return Val("row", raw=True)
        if q in k.row_wise and first is not None:
            v = self.eval(first, scope, o, d + 1)
            if v.kind in ("frame", "array"):
                return replace(v, raw=False)
            return UNKNOWN
        if q.startswith(("pandas.read_", "polars.read_")) and keyword(call, "usecols") is not None:
            names = self.strs(keyword(call, "usecols"), scope, o, d)
            return Val("frame", cols=names, line=self.line(call)) if names is not None else UNKNOWN
        return UNKNOWN

    def _plain(self, call, name: str, scope, o, d) -> Val:
        first = positional(call, 0)
        bound_fn = self._functions.get(name)
        if bound_fn is not None and not _bound_locally(name, scope, self.idx):
            fscope = self.idx.scopes[bound_fn]
            values = [self.eval(rexpr, fscope, ro, d + 1) for ro, rexpr in self.returns.get(id(fscope), [])]
            loaded = [v for v in values if v.kind == "loaded"]
            if loaded:
                return loaded[-1]
            known = [v for v in values if v.kind in ("strs", "str", "path", "frame", "array", "rows2d", "records",
                                                     "row")]
            if known and len(known) == len(values) and all(
                    (v.kind, v.cols, v.names) == (known[0].kind, known[0].cols, known[0].names) for v in known):
                return known[0]
            return UNKNOWN
        if _bound_locally(name, scope, self.idx):
            return UNKNOWN
        if name == "open":
            v = self.eval(first or keyword(call, "file"), scope, o, d + 1)
            return Val("handle", path=v.path) if v.path is not None else Val("handle")
        if name in ("list", "tuple"):
            v = self.eval(first, scope, o, d + 1)
            if v.kind == "row" and v.cols is not None and not v.loose:
                return Val("strs", cols=v.cols, line=v.line)  # list(FEATURE_TYPES): the dict's keys
            return v if v.kind in ("strs", "vector", "records", "rows2d", "ref") else UNKNOWN
        if name == "str":
            v = self.eval(first, scope, o, d + 1)
            return v if v.kind in ("str", "path", "ref") else UNKNOWN
        if name == "dict":
            if first is None and call.args and all(a.keyword is not None for a in call.args):
                return Val("row", cols=lit(a.keyword.value for a in call.args), raw=True, line=self.line(call))
            if first is not None:
                v = self.eval(first, scope, o, d + 1)
                if v.kind in ("row", "param"):
                    return Val("row", cols=v.cols if v.kind == "row" else None, raw=True, line=v.line)
            return UNKNOWN
        return UNKNOWN

    def _method(self, call, recv: Val, method: str, scope, o, d) -> Val:
        k = self.k
        if method in ("transform", "fit_transform"):
            return Val("frame", raw=False)
        kind = recv.kind
        if kind in ("frame", "field", "loc"):
            if method == "reindex":
                cols = keyword(call, "columns")
                if cols is None and _axis_columns(call) and positional(call, 0) is not None:
                    cols = positional(call, 0)
                if cols is not None:
                    names = self.strs(cols, scope, o, d)
                    return Val("frame", cols=names, raw=recv.raw, line=self.line(call))
                return replace(recv, kind="frame")
            if method == "drop":
                names = self._drop_names(call, scope, o, d)
                if names is not None:
                    return Val("frame", cols=("drop", recv.cols, names) if recv.cols else None, raw=recv.raw,
                               line=self.line(call), loose=recv.loose)
                if keyword(call, "index") is not None:
                    return replace(recv, kind="frame")
                return Val("frame", raw=recv.raw)
            if method == "filter":
                items = keyword(call, "items") or positional(call, 0)
                names = self.strs(items, scope, o, d) if items is not None and keyword(call, "like") is None \
                    and keyword(call, "regex") is None else None
                return Val("frame", cols=names, raw=recv.raw, line=self.line(call))
            if method in k.array_methods:
                if kind == "field" or recv.loose:
                    return Val("array", raw=recv.raw)
                return Val("array", cols=recv.cols, raw=recv.raw, line=recv.line)
            if method in k.preserving or method in ("head", "tail", "sample", "query", "sort_values",
                                                     "drop_duplicates"):
                if method == "reset_index" and not _is_true(keyword(call, "drop")):
                    return Val("frame", raw=recv.raw)
                return replace(recv, kind="frame" if kind == "loc" else kind)
            if method == "assign" and recv.cols is not None:
                names = tuple(a.keyword.value for a in call.args if a.keyword is not None)
                return replace(recv, cols=("add", recv.cols, lit(names)))
            return Val("frame", raw=None) if kind == "frame" else UNKNOWN
        if kind in ("array", "vector"):
            if method == "reshape":
                return Val("array", cols=recv.cols, names=recv.names, raw=recv.raw, line=recv.line)
            if method in ("astype", "copy", "tolist"):
                return recv
            return UNKNOWN
        if kind == "param":
            if method in k.dump_methods:
                if recv.key and method in ("dict", "model_dump"):
                    return self._schema_row(call, recv)
                return Val("row", raw=True, line=self.line(call))
            if method == "get":
                key = string_value(positional(call, 0))
                if key is not None:
                    return Val("field", cols=lit((key,)), names=(key,), raw=True)
            return UNKNOWN
        if kind == "row":
            if method == "copy":
                return recv
            if method == "values":
                names = recv.cols[1] if recv.cols and recv.cols[0] == "lit" else None
                return Val("vector", names=names, raw=recv.raw, line=recv.line)
            if method == "keys":
                return Val("strs", cols=recv.cols) if recv.cols else UNKNOWN
            if method == "get":
                key = string_value(positional(call, 0))
                if key is not None:
                    return Val("field", cols=lit((key,)), names=(key,), raw=recv.raw)
            return UNKNOWN
        if kind in ("path", "str"):
            if method == "joinpath":
                parts = [a.value for a in call.args if a.keyword is None and not a.star]
                return Val("path", path=self._join([recv] + [self.eval(p, scope, o, d + 1) for p in parts]))
            if method in ("resolve", "absolute", "expanduser"):
                return recv
            if method == "open":
                return Val("handle", path=recv.path)
            return UNKNOWN
        if kind == "unknown" and method in ("model_dump", "dict") and not call.args:
            return Val("row", raw=True, line=self.line(call))
        return UNKNOWN

    def _frame(self, call, scope, o, d) -> Val:
        cols_kw = keyword(call, "columns")
        first = positional(call, 0) or keyword(call, "data")
        v0 = self.eval(first, scope, o, d + 1) if first is not None else Val("none", raw=True)
        raw = v0.raw if first is not None else True
        if cols_kw is not None:
            names = self.strs(cols_kw, scope, o, d)
            return Val("frame", cols=names, raw=raw, line=self.line(cols_kw))
        if v0.kind in ("records", "row", "frame"):
            return Val("frame", cols=v0.cols, raw=v0.raw, line=v0.line, loose=v0.loose)
        if v0.kind == "param":
            return Val("frame", raw=True)
        return Val("frame", raw=raw if v0.kind in ("rows2d", "array", "vector") else None)

    def _as_array(self, v: Val, call) -> Val:
        if v.kind == "rows2d":
            return Val("array", cols=v.cols, names=v.names, raw=v.raw, line=v.line or self.line(call))
        if v.kind == "vector":
            return Val("vector", cols=v.cols, names=v.names, raw=v.raw, line=v.line or self.line(call))
        if v.kind == "frame":
            return Val("array", cols=None if v.loose else v.cols, raw=v.raw, line=v.line)
        if v.kind == "array":
            return v
        return Val("array", raw=v.raw if v.kind in ("records",) else None)

    # literals
    def _sequence(self, e, scope, o, d) -> Val:
        elements = list(e.elements)
        names = self._strs_list(elements, scope, o, d)
        if names is not None:
            return Val("strs", cols=names, line=self.line(e))
        if not elements:
            return Val("strs", cols=lit(()))
        first = elements[0]
        if isinstance(first, cst.StarredElement):
            return UNKNOWN
        if all(isinstance(el.value, (cst.List, cst.Tuple)) for el in elements):
            inner = list(first.value.elements)
            return Val("rows2d", names=self._element_names(inner, scope, o, d), raw=True, line=self.line(e))
        v0 = self.eval(first.value, scope, o, d + 1)
        if len(elements) == 1 and v0.kind == "vector":
            return Val("rows2d", cols=v0.cols, names=v0.names, raw=v0.raw, line=v0.line)
        if v0.kind in ("row",):
            return Val("records", cols=v0.cols, raw=v0.raw, line=v0.line, loose=v0.loose)
        if v0.kind in ("field", "unknown", "param"):
            return Val("vector", names=self._element_names(elements, scope, o, d), raw=True, line=self.line(e))
        return UNKNOWN

    def _comprehension_columns(self, comp, key, scope, o, d, item: bool = False):
        """`{f: payload[f] for f in FEATURES}` (the keys) and `[payload[f] for f in FEATURES]` (the
        values, in order): the feature list the comprehension walks."""
        for_in = comp.for_in
        if for_in.inner_for_in is not None or for_in.ifs or not isinstance(for_in.target, cst.Name):
            return None
        var = for_in.target.value
        if item:
            el = key
            for _ in range(3):
                if isinstance(el, cst.Call) and len(el.args) == 1 and isinstance(el.func, cst.Name) \
                        and el.func.value in _SCALAR_CASTS:
                    el = el.args[0].value
                else:
                    break
            uses = (isinstance(el, cst.Subscript) and len(el.slice) == 1 and isinstance(el.slice[0].slice, cst.Index)
                    and isinstance(el.slice[0].slice.value, cst.Name) and el.slice[0].slice.value.value == var) or (
                isinstance(el, cst.Call) and isinstance(el.func, (cst.Attribute, cst.Name))
                and (dotted(el.func) or "").rsplit(".", 1)[-1] in ("get", "getattr")
                and any(isinstance(a.value, cst.Name) and a.value.value == var for a in el.args))
            if not uses:
                return None
        elif not (isinstance(key, cst.Name) and key.value == var):
            return None
        return self.strs(for_in.iter, scope, o, d)

    def _element_names(self, elements, scope, o, d) -> tuple | None:
        """Names of the elements of a row literal, or None when its length is not certain: a single
        element may itself be a list (`[payload.features]`), and a starred element, a comprehension or
        an element holding a list or array hides how many values there are."""
        if len(elements) < 2:
            return None
        for el in elements:
            if isinstance(el, cst.StarredElement) or isinstance(el.value, (
                    cst.ListComp, cst.GeneratorExp, cst.List, cst.Tuple, cst.Dict, cst.SetComp)):
                return None
            v = self.eval(el.value, scope, o, d + 1)
            if v.kind not in ("field", "unknown", "param", "str"):
                return None
        return tuple(self._element_name(el.value, scope, o, d) for el in elements)

    def _strs_list(self, elements, scope, o, d):
        parts = []
        for el in elements:
            if isinstance(el, cst.StarredElement):
                v = self.eval(el.value, scope, o, d + 1)
                if v.kind in ("strs", "ref") and v.cols is not None:
                    parts.append(v.cols)
                    continue
                return None
            s = string_value(el.value)
            if s is not None:
                parts.append(lit((s,)))
                continue
            if isinstance(el.value, (cst.Name, cst.Attribute)):
                v = self.eval(el.value, scope, o, d + 1)
                if v.kind == "str" and v.cols is not None:
                    parts.append(v.cols)
                    continue
                if v.kind == "ref":
                    parts.append(("one", v.cols[1]))
                    continue
            return None
        if not parts:
            return None
        return _merge_specs(parts)

    def _dict(self, e: cst.Dict, scope, o, d) -> Val:
        parts = []
        ok = True
        for el in e.elements:
            if isinstance(el, cst.DictElement):
                key = string_value(el.key)
                if key is None:
                    kv = self.eval(el.key, scope, o, d + 1)
                    if kv.kind == "str" and kv.cols is not None:
                        parts.append(kv.cols)
                        continue
                    if kv.kind == "ref":
                        parts.append(("one", kv.cols[1]))
                        continue
                    ok = False
                    continue
                parts.append(lit((key,)))
            else:
                v = self.eval(el.value, scope, o, d + 1)
                if v.kind == "row" and v.cols is not None:
                    parts.append(v.cols)
                else:
                    ok = False
        cols = _merge_specs(parts) if ok else None
        return Val("row", cols=cols, raw=True, line=self.line(e))

    def _binary(self, e: cst.BinaryOperation, scope, o, d) -> Val:
        left = self.eval(e.left, scope, o, d + 1)
        right = self.eval(e.right, scope, o, d + 1)
        if isinstance(e.operator, cst.Add):
            return self._add_values(left, right)
        if isinstance(e.operator, cst.Divide) and left.kind in ("path", "str", "ref") \
                and right.kind in ("path", "str", "ref", "unknown"):
            return Val("path", path=self._join([left, right]))
        if left.kind in _DATA_KINDS:
            return Val(left.kind, cols=left.cols, raw=False, line=left.line)
        if right.kind in _DATA_KINDS:
            return Val(right.kind, cols=right.cols, raw=False, line=right.line)
        return UNKNOWN

    def _add_values(self, left: Val, right: Val) -> Val:
        if left.kind in ("strs", "ref") and right.kind in ("strs", "ref") and "strs" in (left.kind, right.kind):
            return Val("strs", cols=("cat", left.cols, right.cols), line=left.line or right.line)
        if left.kind in ("str", "path", "ref") and right.kind in ("str", "path", "ref") \
                and "ref" not in (left.kind, right.kind):
            return Val("str", path=(left.path or (("?",),)) + (right.path or (("?",),)), raw=True)
        if left.kind == "ref" and right.kind == "ref":
            return Val("ref", cols=("cat", left.cols, right.cols), path=left.path + right.path)
        if left.kind == "ref" and right.kind == "str" or left.kind == "str" and right.kind == "ref":
            return Val("str", path=left.path + right.path, raw=True)
        if left.kind in _DATA_KINDS:
            return Val(left.kind, cols=left.cols, raw=False, line=left.line)
        return UNKNOWN

    def _join(self, values: list[Val]) -> tuple:
        out: list = []
        for i, v in enumerate(values):
            if i:
                out.append(("s", "/"))
            if v.kind in ("str", "path", "ref") and v.path is not None:
                out.extend(v.path)
            else:
                out.append(("?",))
        return tuple(out)

    def _fstring_pieces(self, e, scope, o, d) -> tuple:
        if isinstance(e, cst.ConcatenatedString):
            return self._fstring_pieces(e.left, scope, o, d) + self._fstring_pieces(e.right, scope, o, d)
        s = string_value(e)
        if s is not None:
            return (("s", s),)
        out: list = []
        if isinstance(e, cst.FormattedString):
            for part in e.parts:
                if isinstance(part, cst.FormattedStringText):
                    out.append(("s", part.value))
                elif isinstance(part, cst.FormattedStringExpression):
                    v = self.eval(part.expression, scope, o, d + 1)
                    if v.kind in ("str", "path", "ref") and v.path is not None and part.format_spec is None:
                        out.extend(v.path)
                    else:
                        out.append(("?",))
        return tuple(out) or (("?",),)

    def _element_name(self, el, scope, o, d) -> str | None:
        """The feature an array element stands for: `p.age`, `payload["age"]`, `float(p.age)`, `age`."""
        for _ in range(4):
            if isinstance(el, cst.Call) and len(el.args) == 1 and el.args[0].keyword is None \
                    and not el.args[0].star:
                fname = el.func.value if isinstance(el.func, cst.Name) else None
                q = self.idx.call_name(el, scope)
                if fname in _SCALAR_CASTS or (q or "").startswith("numpy."):
                    el = el.args[0].value
                    continue
            break
        if isinstance(el, cst.Attribute):
            return el.attr.value
        if isinstance(el, cst.Subscript) and len(el.slice) == 1 and isinstance(el.slice[0].slice, cst.Index):
            return string_value(el.slice[0].slice.value)
        if isinstance(el, cst.Call) and isinstance(el.func, cst.Attribute) and el.func.attr.value == "get":
            return string_value(positional(el, 0))
        if isinstance(el, cst.Name):
            v = self.eval(el, scope, o, d + 1)
            if v.kind == "field" and v.names:
                return v.names[0]
            return el.value
        return None

    # helpers
    def strs(self, expr, scope, o, d: int = 0):
        """The column-name spec of an expression that names columns (a list, a constant, a string)."""
        if expr is None:
            return None
        v = self.eval(expr, scope, o, d + 1)
        if v.kind in ("strs", "str", "ref") and v.cols is not None:
            return v.cols
        return None

    def _drop_names(self, call, scope, o, d):
        cols = keyword(call, "columns")
        if cols is not None:
            return self.strs(cols, scope, o, d)
        labels = keyword(call, "labels") or positional(call, 0)
        if labels is not None and _axis_columns(call):
            return self.strs(labels, scope, o, d)
        return None

    def binding_expr(self, name: str, scope, o: int):
        """The expression last bound to `name` before ordinal `o` (this scope, else the module)."""
        for s in (scope, self.idx.module_scope):
            entries = self.binds.get(id(s), {}).get(name, [])
            for eo, op in reversed(entries):
                if eo < (o if s is scope else INF) and op[0] == "expr":
                    return op[1], s, eo
                if eo < (o if s is scope else INF) and op[0] in _DEFINING:
                    return None
        return None

    # -- provenance of data: request input or not ------------------------------------------
    def from_request(self, expr, scope, o: int, d: int = 0) -> bool:
        """Whether the data `expr` holds comes (partly) from request input: a parameter of a function
        that the file never calls itself (a handler), or the web framework's request object."""
        return "request" in self._roots(expr, scope, o, d, set())

    def _roots(self, expr, scope, o, d, bound: set) -> set[str]:
        if expr is None or d > 25:
            return set()
        key = (id(expr), id(scope), o)
        if not bound and key in self._roots_memo:
            return self._roots_memo[key]
        if not bound:
            self._roots_memo[key] = set()  # a cycle through this expression adds nothing
        out = self._roots_of(expr, scope, o, d, bound)
        if not bound:
            self._roots_memo[key] = out
        return out

    def _roots_of(self, expr, scope, o, d, bound: set) -> set[str]:
        out: set[str] = set()
        if isinstance(expr, cst.Name):
            name = expr.value
            if name in bound:
                return out
            entries = self.binds.get(id(scope), {}).get(name, [])
            for eo, op in reversed(entries):
                if eo < o and op[0] in _DEFINING:
                    if op[0] == "expr":
                        return self._roots(op[1], scope, eo, d + 1, set())
                    if op[0] == "unpack":
                        return self._roots(op[1], scope, eo, d + 1, set())
                    if op[0] == "loopvar":
                        return self._roots(op[1], scope, eo, d + 1, set())
                    if op[0] == "aug":
                        return self._roots(op[2], scope, eo, d + 1, set()) | self._roots(
                            expr, scope, eo, d + 1, set())
                    if op[0] == "import":
                        return {"request"} if self.k.is_request_object(op[1]) else out
                    return out
            if scope is not self.idx.module_scope:
                if name in scope.params and name not in ("self", "cls"):
                    return self._param_roots(name, scope, d)
                module_entries = self.binds.get(id(self.idx.module_scope), {}).get(name)
                if module_entries:
                    last = module_entries[-1][1]
                    if last[0] == "import":
                        return {"request"} if self.k.is_request_object(last[1]) else out
                    return {"global"}
            q = self.idx.qualify(expr, scope)
            if q is not None and self.k.is_request_object(q):
                return {"request"}
            return out
        if isinstance(expr, cst.Attribute):
            q = self.idx.qualify(expr, scope)
            if q is not None:
                return {"request"} if self.k.is_request_object(q) else out
            return self._roots(expr.value, scope, o, d + 1, bound)
        if isinstance(expr, cst.Call):
            if isinstance(expr.func, cst.Attribute):
                out |= self._roots(expr.func.value, scope, o, d + 1, bound)
            for a in expr.args:
                out |= self._roots(a.value, scope, o, d + 1, bound)
            return out
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            inner = set(bound)
            comp = expr.for_in
            while comp is not None:
                out |= self._roots(comp.iter, scope, o, d + 1, inner)
                inner |= set(_target_names(comp.target))
                comp = comp.inner_for_in
            if isinstance(expr, cst.DictComp):
                out |= self._roots(expr.value, scope, o, d + 1, inner)
            else:
                out |= self._roots(expr.elt, scope, o, d + 1, inner)
            return out
        if isinstance(expr, cst.Lambda):
            return out
        for child in expr.children:
            if isinstance(child, cst.BaseExpression):
                out |= self._roots(child, scope, o, d + 1, bound)
            elif isinstance(child, (cst.Element, cst.DictElement, cst.StarredDictElement, cst.Arg,
                                    cst.SubscriptElement, cst.Index)):
                for sub in child.children:
                    if isinstance(sub, cst.BaseExpression):
                        out |= self._roots(sub, scope, o, d + 1, bound)
                    elif isinstance(sub, cst.Index):
                        out |= self._roots(sub.value, scope, o, d + 1, bound)
        return out

    def call_sites(self, name: str) -> list:
        """Calls of the module-level function `name` in this file, as (call, scope)."""
        if self._sites_of is None:
            self._sites_of = {}
            for c, sc in self.idx.calls:
                if isinstance(c.func, cst.Name) and c.func.value in self._functions:
                    self._sites_of.setdefault(c.func.value, []).append((c, sc))
        return self._sites_of.get(name, [])

    def handler_nodes(self) -> set[int]:
        """The request handlers of this file (routes, Lambda handlers, KServe/BentoML/Ray methods...)."""
        if self._handlers is None:
            from mllint_deploy.analysis.handlers import find_handlers

            try:
                self._handlers = {id(h.node) for h in find_handlers(self.ctx)}
            except Exception:
                self._handlers = set()
        return self._handlers

    def _param_roots(self, name: str, scope, d: int) -> set[str]:
        """A handler's parameters are request input (a `context` is not); another function's parameter
        holds what its callers in this file pass (a method, a function nobody here calls: nothing known)."""
        fn = scope.node
        if not isinstance(fn, cst.FunctionDef):
            return set()
        if id(fn) in self.handler_nodes():
            return set() if name in ("context", "ctx", "headers") else {"request"}
        if self._functions.get(fn.name.value) is not fn:
            return set()
        sites = [(c, s) for c, s in self.call_sites(fn.name.value) if s is not scope]
        if not sites:
            return set()
        out: set[str] = set()
        i = scope.params.index(name)
        for call, s in sites:
            arg = keyword(call, name)
            if arg is None:
                arg = positional(call, i)
            if arg is not None:
                out |= self._roots(arg, s, self.ord_of(call), d + 1, set())
        return out


def _imported_names(node, idx) -> list[tuple[str, str]]:
    """(local name, qualified name) bound by an import statement, as names.py resolves them."""
    out = []
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                out.append((alias.asname.name.value, full))
            else:
                top = full.split(".")[0]
                out.append((top, top))
        return out
    if isinstance(node.names, cst.ImportStar):
        return out
    base = idx._resolve_relative(len(node.relative), dotted(node.module) or "" if node.module is not None else "")
    for alias in node.names:
        name = dotted(alias.name) or ""
        local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
        out.append((local, f"{base}.{name}" if base else name))
    return out


def _string_set(expr) -> set[str] | None:
    if isinstance(expr, (cst.Set, cst.List, cst.Tuple)):
        out = set()
        for el in expr.elements:
            v = string_value(el.value)
            if v is None:
                return None
            out.add(v)
        return out
    if isinstance(expr, cst.Dict):
        out = set()
        for el in expr.elements:
            v = string_value(el.key) if isinstance(el, cst.DictElement) else None
            if v is None:
                return None
            out.add(v)
        return out
    return None


def _bound_locally(name: str, scope, idx) -> bool:
    s = scope
    while s is not None and s is not idx.module_scope:
        if name in s.bound:
            return True
        s = s.parent
    return False


def _target_names(target) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        out = []
        for el in target.elements:
            out.extend(_target_names(el.value))
        return out
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


def _del_targets(target):
    if isinstance(target, (cst.Tuple, cst.List)):
        return [el.value for el in target.elements]
    return [target]


def _locate(call: cst.Call, where):
    """The argument at `[position, keyword]`."""
    if not where:
        return None
    pos, kw = where
    if kw:
        v = keyword(call, kw)
        if v is not None:
            return v
    if pos is not None and not any(a.star for a in call.args[: pos + 1]):
        return positional(call, pos)
    return None


def _axis_columns(call: cst.Call) -> bool:
    axis = keyword(call, "axis")
    if axis is None:
        axis = positional(call, 1)
    if isinstance(axis, cst.Integer):
        return axis.value == "1"
    return string_value(axis) == "columns"


def _is_true(expr) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"
