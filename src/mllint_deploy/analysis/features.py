"""What a model is fed and where it is stored, as far as the code says it literally.

The train/serve skew rules need facts the leakage dataflow does not keep: the ordered columns of a
DataFrame built from a dict of request fields, the element order of `np.array([[p.age, p.income]])`,
the artifact path of `joblib.dump(model, os.path.join(MODEL_DIR, "model.joblib"))`, and column lists
or paths that are constants imported from another project module (which only the project pass can
resolve). `Tracer` is a small ordered def-use resolver per scope (module, each function) that
evaluates an expression to an abstract `Val`:

column lists and paths are kept symbolically (`columns.py`), and the evaluation itself is in
`feature_values.py`.

Names are resolved to the last binding before the use in the same scope (branches are not merged),
then to the enclosing scope; a parameter of a module-level function called exactly once in the file
takes the argument of that call. Anything not understood is `UNKNOWN`, and every rule stays quiet on
unknowns. Everything stored in facts is plain tuples and strings (picklable), never CST nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from mllint_deploy.analysis.calls import keyword, positional, string_value
from mllint_deploy.analysis.names import ScopeInfo, dotted

from mllint_deploy.analysis.columns import (
    DEFINING, INF, Val, del_targets, imported_names, is_true, lit, locate, skew_knowledge, string_set,
    target_names,
)
from mllint_deploy.analysis.feature_values import Evaluation


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


class Tracer(Evaluation):
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
        if name in self.global_names.get(id(scope), ()) and op[0] in DEFINING:
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
            for name in target_names(stmt.target):
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
            for target in del_targets(small.target):
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
            for local, qualname in imported_names(small, self.idx):
                self._add(scope, local, o, ("import", qualname))

    def _bind_target(self, target, value, scope, o: int) -> None:
        if isinstance(target, cst.Name):
            self._add(scope, target.value, o, ("expr", value))
        elif isinstance(target, (cst.Tuple, cst.List)):
            n = len(target.elements)
            for i, el in enumerate(target.elements):
                v = el.value
                if isinstance(el, cst.StarredElement) or isinstance(v, cst.StarredElement):
                    for name in target_names(v):
                        self._add(scope, name, o, ("unknown",))
                elif isinstance(v, cst.Name):
                    self._add(scope, v.value, o, ("unpack", value, i, n))
                else:
                    for name in target_names(v):
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
                    path = locate(call, spec.get("path"))
                    pos, kw = spec.get("path") or [None, None]
                    if pos is None and path is None:
                        continue  # `xgb.Booster()` without model_file: filled by load_model later
                    self._load(call, scope, path, handle=bool(spec.get("handle")))
                    continue
                if q in k.mlflow_load:
                    self._load(call, scope, locate(call, k.mlflow_load_spec.get("path")))
                    continue
                spec = k.persist_functions.get(q)
                if spec is not None:
                    obj = locate(call, spec.get("object"))
                    self.persists.append(PersistSite(call, scope, [obj] if obj is not None else [],
                                                     locate(call, spec.get("path")), bool(spec.get("handle"))))
                    continue
                if q in k.mlflow_log or q in k.mlflow_save:
                    spec = k.mlflow_log_spec if q in k.mlflow_log else k.mlflow_save_spec
                    obj = locate(call, spec.get("object"))
                    if obj is None:
                        obj = next((keyword(call, kw) for kw in k.mlflow_object_keywords
                                    if keyword(call, kw) is not None), None)
                    registered = None
                    if spec.get("registered"):
                        registered = keyword(call, spec["registered"])
                    site = PersistSite(call, scope, [obj] if obj is not None else [],
                                       locate(call, spec.get("path")) if spec.get("path") else None)
                    site.registered = registered  # an expression; resolved by the caller
                    self.persists.append(site)
                    continue
            if not isinstance(func, cst.Attribute) or (q is not None and "." in q and
                                                        q.split(".")[0] in ("os", "json", "yaml", "shutil")):
                continue
            method = func.attr.value
            if method in k.load_methods:
                spec = k.load_methods[method]
                path = locate(call, spec.get("path"))
                if path is None:
                    path = next((keyword(call, kw) for kw in k.persist_method_keywords
                                 if keyword(call, kw) is not None), None)
                if path is not None:
                    self._load(call, scope, path, method=True)
            elif method in k.persist_methods and q is None:
                spec = k.persist_methods[method]
                path = locate(call, spec.get("path"))
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
        if fields is None or is_true(keyword(call, "by_alias")):
            return Val("row", raw=True, line=self.line(call))
        include, exclude = keyword(call, "include"), keyword(call, "exclude")
        names = list(fields)
        if include is not None:
            keep = string_set(include)
            if keep is None:
                return Val("row", raw=True, line=self.line(call))
            names = [n for n in names if n in keep]
        if exclude is not None:
            drop = string_set(exclude)
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
                if eo < o and op[0] in DEFINING:
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
                inner |= set(target_names(comp.target))
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
