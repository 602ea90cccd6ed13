"""Taint from raw request input to model calls, inside request handlers.

A walk over one handler's statements, in order, with the same statement structure as the dataflow
walk: raw input (handler parameters, `request.json`, `event["body"]`...) flows through assignments,
`json.loads`, `.get`, subscripts, conversions and containers. Validation (pydantic `Model(**d)`,
`model_validate`, marshmallow `load`, `jsonschema.validate`, a project `validate*`/`check*`/`parse*`
function, a guard that rejects) makes a value clean. Calls to same-file helpers are followed one level.
The walk records what serving rules ask about: model calls that receive raw input, model loads (and
whether their path is raw, or the load is a lazy one-time initialisation), and torch inference calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from mllint_deploy.analysis.handlers import Handler, class_validates, serving_knowledge
from mllint_deploy.analysis.calls import keyword
from mllint_deploy.analysis.names import ModuleIndex, dotted
from mllint_deploy.knowledge import knowledge
from mllint_deploy.analysis.walk import OrderedWalk



@dataclass
class Sink:
    call: cst.Call
    receiver: str
    method: str
    source: cst.CSTNode  # where the raw value came from


@dataclass
class Load:
    call: cst.Call
    loader: str
    raw_path: bool
    lazy: bool  # inside `if model is None:` style one-time initialisation
    cached: bool  # in a function decorated with lru_cache / cache


@dataclass
class ModelCall:
    call: cst.Call
    receiver: str
    no_grad: bool
    function: cst.FunctionDef
    built_by: str | None = None  # the imported project function the model came from, if any


@dataclass
class ProjectCall:
    """A handler's call to a function imported from elsewhere (followed by the project pass)."""

    call: cst.Call
    qualname: str


@dataclass
class HandlerTaint:
    handler: Handler
    sinks: list[Sink] = field(default_factory=list)
    loads: list[Load] = field(default_factory=list)
    model_calls: list[ModelCall] = field(default_factory=list)
    project_calls: list[ProjectCall] = field(default_factory=list)


class ModuleModels:
    """Names (`model`, `self.model`, `app.state.model`) bound to loaded models anywhere in the module."""

    def __init__(self, ctx):
        idx: ModuleIndex = ctx.index
        self.idx = idx
        self.names: set[str] = set()
        self.torch: set[str] = set()
        self.evaluated: set[str] = set()
        self.cached_getters: set[str] = set()
        self.from_calls: dict[str, str] = {}  # name -> imported function whose result it holds
        self.loader_names: dict[int, str] = {}
        self.torch_classes = _torch_classes(idx)
        for fn, parent in idx.functions:
            if parent is idx.module_scope and _is_cached(idx, fn):
                self.cached_getters.add(fn.name.value)
        for call, scope in idx.calls:
            loader = loader_name(idx, call, scope)
            if loader is not None:
                self.loader_names[id(call)] = loader
        module_visit = _Assignments(self)
        ctx.module.visit(module_visit)

    def is_model(self, name: str | None) -> bool:
        if not name:
            return False
        if name in self.names or name in self.torch:
            return True
        last = name.rsplit(".", 1)[-1].lower()
        return any(w in last for w in serving_knowledge()["model_name_words"])


class _Assignments(cst.CSTVisitor):
    """Collects which names hold models and which torch models are put in eval mode."""

    def __init__(self, models: ModuleModels):
        self.m = models

    def visit_Assign(self, node: cst.Assign) -> None:
        kind = self._model_kind(node.value)
        if kind is None:
            value = node.value.expression if isinstance(node.value, cst.Await) else node.value
            q = self.m.idx.qualify(value.func) if isinstance(value, cst.Call) else None
            if q is not None and "." in q:
                for t in node.targets:
                    name = dotted(t.target)
                    if name:
                        self.m.from_calls[name] = q
            return
        for t in node.targets:
            name = dotted(t.target)
            if name is None:
                continue
            self.m.names.add(name)
            if kind in ("torch", "torch-eval"):
                self.m.torch.add(name)
            if kind == "torch-eval" or kind == "hf":
                self.m.evaluated.add(name)

    def _model_kind(self, value) -> str | None:
        k = serving_knowledge()
        chain_eval = False
        while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value in (
                "eval", "to", "cpu", "cuda", "half", "float"):
            chain_eval = chain_eval or value.func.attr.value == "eval"
            value = value.func.value
        if isinstance(value, cst.Await):
            value = value.expression
        if not isinstance(value, cst.Call):
            return None
        q = self.m.idx.qualify(value.func)
        if q in k["torch_model_sources"]:
            return "torch-eval" if chain_eval else "torch"
        if isinstance(value.func, cst.Name) and value.func.value in self.m.torch_classes:
            return "torch-eval" if chain_eval else "torch"
        if q is not None and q.startswith(("torchvision.models.", "timm.create_model")):
            return "torch-eval" if chain_eval else "torch"
        if id(value) in self.m.loader_names:
            return "hf" if self.m.loader_names[id(value)].endswith("from_pretrained") else "model"
        if isinstance(value.func, cst.Name) and value.func.value in self.m.cached_getters:
            return "model"
        return None

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and (func.attr.value == "eval" or (
                func.attr.value == "train" and node.args and dotted(node.args[0].value) == "False")):
            name = dotted(func.value)
            if name:
                self.m.evaluated.add(name)
        if isinstance(func, cst.Attribute) and func.attr.value == "initialize" and isinstance(func.value, cst.Call) \
                and dotted(func.value.func) == "super":
            self.m.evaluated.add("self.model")  # TorchServe's BaseHandler.initialize calls model.eval()


def _torch_classes(idx: ModuleIndex) -> set[str]:
    bases = serving_knowledge()["torch_module_bases"]
    out: set[str] = set()
    for cls, parent in idx.classes:
        for base in cls.bases:
            q = idx.qualify(base.value)
            if q in bases or dotted(base.value) in out:
                out.add(cls.name.value)
    return out


def _is_cached(idx: ModuleIndex, fn: cst.FunctionDef) -> bool:
    k = serving_knowledge()
    for dec in fn.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        q = idx.qualify(target) or dotted(target)
        if q in k["caching_decorators"]:
            return True
    return False


def loader_name(idx: ModuleIndex, call: cst.Call, scope=None) -> str | None:
    """The loader a call is (`joblib.load`, `mlflow.pyfunc.load_model`, `AutoModel.from_pretrained`)."""
    k = serving_knowledge()
    q = idx.call_name(call, scope)
    if q is not None:
        if q in k["model_loaders"] or q in k["unsafe_loaders"]:
            concept = knowledge().concept(q)
            if concept is not None and concept.path is not None and concept.path[0] is None \
                    and keyword(call, concept.path[1]) is None:
                return None  # `xgb.Booster()`: an empty model, filled by a later `load_model`
            return q
        if q.startswith(tuple(k["loader_prefixes"])) and q.endswith(tuple(k["loader_suffixes"])):
            return q
        if q.rsplit(".", 1)[-1] in k["loader_methods"]:
            return q
        return None
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in k["loader_methods"]:
        return dotted(call.func) or call.func.attr.value
    return None


class TaintWalker(OrderedWalk):
    """Walks one function with some names raw; records sinks, loads and model calls."""

    def __init__(self, ctx, models: ModuleModels, result: HandlerTaint, fn: cst.FunctionDef,
                 raw: dict[str, cst.CSTNode], requests: set[str], follow: bool, classes: dict[str, cst.ClassDef]):
        self.ctx = ctx
        self.idx: ModuleIndex = ctx.index
        self.k = serving_knowledge()
        self.models = models
        self.result = result
        self.fn = fn
        self.scope = self.idx.scopes.get(fn)
        self.raw: dict[str, cst.CSTNode] = dict(raw)
        self.cleaned: dict[str, cst.CSTNode] = {}  # validated, but still client-controlled (paths, bytes)
        self._validated_source = None
        self._probing = False
        self.requests = set(requests)
        self.follow = follow
        self.classes = classes
        self.no_grad = _decorated_no_grad(self.idx, fn)
        self.lazy = 0
        self.cached = _is_cached(self.idx, fn)
        self.functions = {f.name.value: f for f, p in self.idx.functions if p is self.idx.module_scope}
        self._followed: set[int] = set()

    # -- statements ------------------------------------------------------------------------
    def run(self) -> None:
        body = self.fn.body.body if isinstance(self.fn.body, cst.IndentedBlock) else [self.fn.body]
        self._block(body)

    def _expression(self, expr):
        return self._taint(expr)

    def _with(self, stmt: cst.With) -> None:
        entered = any(isinstance(item.item, cst.Call) and self.idx.qualify(item.item.func) in self.k["torch_no_grad"]
                      for item in stmt.items)
        before = self.no_grad
        self.no_grad = self.no_grad or entered
        super()._with(stmt)
        self.no_grad = before

    def _if(self, stmt: cst.If) -> None:
        guarded = self._names_in(stmt.test) & set(self.raw) if not _only_presence(stmt.test) else set()
        lazy = _is_lazy_test(stmt.test)
        self._taint(stmt.test)
        self.lazy += lazy
        self._block(stmt.body.body)
        self.lazy -= lazy
        self._else(stmt)
        if guarded and self._rejects(stmt.body.body):
            allowlist = _is_membership(stmt.test)
            for name in guarded:
                source = self.raw.pop(name, None)
                if source is not None and not allowlist:
                    self.cleaned[name] = source

    def _rejects(self, body) -> bool:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Raise, cst.Return)):
                        return True
                    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                        name = dotted(small.value.func) or ""
                        if name.rsplit(".", 1)[-1] in ("abort", "exit") or self.idx.qualify(
                                small.value.func) in self.k["rejecting_calls"]:
                            return True
        return False

    def _small(self, small) -> None:
        if isinstance(small, cst.Assign):
            self._validated_source = None
            src = self._taint(small.value)
            for t in small.targets:
                self._bind(t.target, src)
                name = dotted(t.target)
                if src is None and self._validated_source is not None and name:
                    self.cleaned[name] = self._validated_source
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._bind(small.target, self._taint(small.value))
        elif isinstance(small, cst.AugAssign):
            src = self._taint(small.value) or self._taint(small.target)
            self._bind(small.target, src)
        elif isinstance(small, cst.Expr):
            self._taint(small.value)
        elif isinstance(small, cst.Return) and small.value is not None:
            self._taint(small.value)
        elif isinstance(small, cst.Assert):
            guarded = self._names_in(small.test) & set(self.raw)
            self._taint(small.test)
            for name in guarded:
                self.raw.pop(name, None)

    def _bind(self, target, source, value_node=None) -> None:
        if isinstance(target, cst.Name):
            if source is not None:
                self.raw[target.value] = source
            else:
                self.raw.pop(target.value, None)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._bind(el.value.value if isinstance(el.value, cst.StarredElement) else el.value, source)
        elif isinstance(target, cst.Subscript) and source is not None:
            base = dotted(target.value)
            if base and "." not in base:
                self.raw[base] = source
        elif isinstance(target, cst.Attribute):
            name = dotted(target)
            if name:
                if source is not None:
                    self.raw[name] = source
                else:
                    self.raw.pop(name, None)

    def _names_in(self, expr) -> set[str]:
        out: set[str] = set()

        class V(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                out.add(node.value)

            def visit_Attribute(self, node: cst.Attribute) -> None:
                name = dotted(node)
                if name:
                    out.add(name)

        expr.visit(V())
        return out

    # -- expressions: the raw source a value came from, or None ----------------------------
    def _taint(self, expr):
        if expr is None:
            return None
        if isinstance(expr, cst.Name):
            return self.raw.get(expr.value)
        if isinstance(expr, cst.Attribute):
            name = dotted(expr)
            if name in self.raw:
                return self.raw[name]
            if self._is_request(expr.value) and expr.attr.value in self.k["raw_request_attributes"]:
                return expr
            if expr.attr.value in ("validated_data", "cleaned_data"):  # DRF serializer / Django form output
                return None
            return self._taint(expr.value)
        if isinstance(expr, cst.Call):
            return self._call(expr)
        if isinstance(expr, cst.Await):
            return self._taint(expr.expression)
        if isinstance(expr, (cst.Lambda,)):
            return None
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)):
            return self._comprehension(expr)
        if isinstance(expr, cst.Subscript) and self._probing:
            return self._taint(expr.value)
        if isinstance(expr, cst.FormattedString):
            found = None
            for part in expr.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    found = found or self._taint(part.expression)
            return found
        found = None
        for child in expr.children:
            if isinstance(child, cst.BaseExpression):
                t = self._taint(child)
            elif isinstance(child, (cst.Arg, cst.Element, cst.DictElement, cst.StarredElement, cst.SubscriptElement,
                                    cst.StarredDictElement, cst.Index, cst.Slice, cst.ComparisonTarget)):
                t = None
                for sub in child.children:
                    if isinstance(sub, (cst.BaseExpression, cst.Index, cst.Slice)):
                        t = t or self._taint(sub)
            else:
                t = None
            found = found or t
        return found

    def _comprehension(self, expr):
        found = None
        comp = expr.for_in
        while comp is not None:
            src = self._taint(comp.iter)
            self._bind(comp.target, src)
            found = found or src
            comp = comp.inner_for_in
        elts = [expr.key, expr.value] if isinstance(expr, cst.DictComp) else [expr.elt]
        for e in elts:
            found = found or self._taint(e)
        return found

    def _untrusted(self, expr):
        """Client-controlled even after validation (a validated name is still the client's choice);
        a constant table indexed by such a key is not (`MODEL_PATHS[req.region]` is an allow-list)."""
        saved = self.raw
        self.raw = {**self.cleaned, **self.raw}
        self._probing = True
        try:
            return self._taint(expr)
        finally:
            self.raw = saved
            self._probing = False

    def _is_request(self, expr) -> bool:
        name = dotted(expr)
        if name in self.requests:
            return True
        q = self.idx.qualify(expr, self.scope)
        return q in self.k["request_globals"]

    def _call(self, call: cst.Call):
        func = call.func
        q = self.idx.call_name(call, self.scope)
        arg_sources = [self._taint(a.value) for a in call.args]
        raw_arg = next((s for s in arg_sources if s is not None), None)
        receiver_src = None
        if isinstance(func, cst.Attribute):
            if self._is_request(func.value) and func.attr.value in self.k["raw_request_attributes"]:
                return call
            receiver_src = self._taint(func.value)
        if self._probing:
            return raw_arg or receiver_src
        loader = self.models.loader_names.get(id(call))
        if loader is not None:
            untrusted = raw_arg is not None or (not self._probing and any(
                self._untrusted(a.value) is not None for a in call.args))
            self.result.loads.append(Load(call=call, loader=loader, raw_path=untrusted,
                                          lazy=self.lazy > 0, cached=self.cached))
            return None
        if self._validates(call, q):
            for a in call.args:
                name = dotted(a.value)
                if name is not None and name in self.raw:
                    self.cleaned[name] = self.raw.pop(name)
            if raw_arg is not None:
                self._validated_source = raw_arg
            return None
        if q is not None and "." in q and self.follow:
            self.result.project_calls.append(ProjectCall(call, q))
        self._sink(call, func, q, raw_arg)
        if isinstance(func, cst.Name) and func.value in self.functions and self.follow:
            self._follow(call, self.functions[func.value], arg_sources)
        if q in ("len", "isinstance", "type", "bool", "print"):
            return None
        return raw_arg or receiver_src

    def _validates(self, call: cst.Call, q: str | None) -> bool:
        func = call.func
        if q is not None and q in self.k["validating_functions"]:
            return True
        if isinstance(func, cst.Attribute) and q is None and func.attr.value in self.k["validating_methods"]:
            return not self._is_request(func.value)
        name = func.value if isinstance(func, cst.Name) else (func.attr.value if isinstance(func, cst.Attribute)
                                                               else "")
        if name.lower().startswith(tuple(self.k["validator_prefixes"])):
            return True
        if isinstance(func, cst.Name) and func.value in self.classes:
            return class_validates(self.idx, self.classes[func.value], self.classes)
        if name[:1].isupper() and any(a.star == "**" for a in call.args):
            return True  # `Features(**payload)`: a pydantic model or dataclass built from the payload
        if q is not None and (q.startswith("pydantic.") or q.rsplit(".", 1)[-1] == "TypeAdapter"):
            return True
        return False

    def _sink(self, call: cst.Call, func, q: str | None, raw_arg) -> None:
        whole = dotted(func)
        if isinstance(func, cst.Attribute) and q is None and whole not in self.models.names \
                and whole not in self.models.from_calls:
            receiver = dotted(func.value) or ""
            method = func.attr.value
            if receiver in ("self", "cls") or self._is_request(func.value):
                return
            if method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
                model_like = True
            elif method in self.k["predict_methods"] or method in ("forward", "__call__"):
                model_like = self.models.is_model(receiver) or receiver in self.models.names
            else:
                model_like = False
            if model_like:
                if raw_arg is not None:
                    self.result.sinks.append(Sink(call, receiver, method, raw_arg))
                if method == "forward" and receiver in self.models.torch:
                    self.result.model_calls.append(ModelCall(call, receiver, self.no_grad, self.fn))
            return
        receiver = whole or ""
        if receiver and (receiver in self.models.names or receiver in self.models.torch):
            if raw_arg is not None:
                self.result.sinks.append(Sink(call, receiver, "__call__", raw_arg))
            if receiver in self.models.torch:
                self.result.model_calls.append(ModelCall(call, receiver, self.no_grad, self.fn))
        elif receiver in self.models.from_calls:  # a model built by a helper in another module
            self.result.model_calls.append(ModelCall(call, receiver, self.no_grad, self.fn,
                                                     built_by=self.models.from_calls[receiver]))

    def _follow(self, call: cst.Call, fn: cst.FunctionDef, arg_sources) -> None:
        if id(fn) in self._followed or fn is self.fn:
            return
        self._followed.add(id(fn))
        params = [p.name.value for p in (*fn.params.posonly_params, *fn.params.params)]
        raw: dict[str, cst.CSTNode] = {}
        for i, src in enumerate(arg_sources[: len(params)]):
            if src is not None and call.args[i].keyword is None:
                raw[params[i]] = src
        for a, src in zip(call.args, arg_sources):
            if src is not None and a.keyword is not None and a.keyword.value in params:
                raw[a.keyword.value] = src
        walker = TaintWalker(self.ctx, self.models, self.result, fn, raw, set(), False, self.classes)
        walker.no_grad = walker.no_grad or self.no_grad
        walker.lazy = self.lazy
        walker.run()


def _decorated_no_grad(idx: ModuleIndex, fn: cst.FunctionDef) -> bool:
    k = serving_knowledge()
    for dec in fn.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if idx.qualify(target) in k["torch_no_grad"]:
            return True
    return False


def _only_presence(test) -> bool:
    """`if data is None`, `if not data`: checks that input exists, not what it holds (not validation)."""
    if isinstance(test, cst.BooleanOperation):
        return _only_presence(test.left) and _only_presence(test.right)
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return isinstance(test.expression, (cst.Name, cst.Attribute))
    if isinstance(test, (cst.Name, cst.Attribute)):
        return True
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        c = test.comparisons[0]
        return isinstance(c.comparator, cst.Name) and c.comparator.value == "None"
    return False


def _is_membership(test) -> bool:
    """`if name not in ALLOWED_MODELS:`: an allow-list check, which does make a path or key safe."""
    if isinstance(test, cst.BooleanOperation):
        return _is_membership(test.left) or _is_membership(test.right)
    if isinstance(test, cst.UnaryOperation):
        return _is_membership(test.expression)
    return isinstance(test, cst.Comparison) and any(
        isinstance(c.operator, (cst.In, cst.NotIn)) for c in test.comparisons)


def _is_lazy_test(test) -> bool:
    """`if model is None`, `if not model`, `if key not in cache`, `if _MODEL is None and ...`."""
    if isinstance(test, cst.BooleanOperation):
        return _is_lazy_test(test.left) or _is_lazy_test(test.right)
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return isinstance(test.expression, (cst.Name, cst.Attribute, cst.Subscript))
    if isinstance(test, cst.Comparison):
        for c in test.comparisons:
            if isinstance(c.operator, cst.IsNot):
                continue
            if isinstance(c.operator, cst.Is) and isinstance(c.comparator, cst.Name) and c.comparator.value == "None":
                return True
            if isinstance(c.operator, cst.NotIn):
                return True
    return False


def module_models(ctx) -> ModuleModels:
    """The module's model names, built once per file for every serving check."""
    return ctx.shared("module_models", ModuleModels)


def analyse_handlers(ctx, handlers: list[Handler]) -> tuple[list[HandlerTaint], ModuleModels]:
    """The taint walk of every handler (shared by the file check and the project check)."""
    def build(ctx):
        models = module_models(ctx)
        classes = {c.name.value: c for c, p in ctx.index.classes if p is ctx.index.module_scope}
        out = []
        for h in handlers:
            result = HandlerTaint(handler=h)
            params = {p.name.value: p.name for p in (*h.node.params.posonly_params, *h.node.params.params,
                                                     *h.node.params.kwonly_params)}
            raw = {name: params[name] for name in h.raw_params if name in params}
            TaintWalker(ctx, models, result, h.node, raw, set(h.request_params), True, classes).run()
            out.append(result)
        return out, models

    return ctx.shared("taint", build)
