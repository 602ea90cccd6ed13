"""Request handlers of serving frameworks and the parameters that carry raw client input.

Flask/Quart/FastAPI/Starlette routes, Django views, BentoML APIs, Ray Serve deployments, AWS Lambda
handlers, KServe/MLServer models and TorchServe handlers, as `rules/knowledge/web.yaml` describes
them. A parameter is raw unless its annotation is a model/dataclass or a scalar the framework checks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import libcst as cst

from mllint_deploy.analysis.names import ModuleIndex, dotted
from mllint_deploy.knowledge import knowledge


@dataclass
class Handler:
    node: cst.FunctionDef
    kind: str
    raw_params: set[str] = field(default_factory=set)
    request_params: set[str] = field(default_factory=set)  # request objects: their raw attributes are input
    cls: cst.ClassDef | None = None


@functools.lru_cache(maxsize=None)
def serving_knowledge() -> dict:
    """The concepts the serving analysis asks about, as sets, built once per process."""
    k = knowledge()
    names = k.names
    # the unqualified patterns: route methods, raw request attributes ...
    table: dict = {key: frozenset(value) for key, value in k.serving.items()}
    table["lambda_parameters"] = k.serving["lambda_parameters"]
    table.update(
        handler_decorators=k.having("handler_decorator"),
        deployment_decorators=k.having("deployment_decorator"),
        handler_bases={q: names[q].serves for q in k.having("handler_base")},
        request_globals=k.having("request"),
        validating_bases=k.having("validator_base"),
        validating_class_decorators=k.having("validator_decorator"),
        validating_functions=k.having("validator"),
        validating_methods=k.method_names("validate"),
        model_loaders=k.having("loader"),
        unsafe_loaders=frozenset(q for q, c in names.items() if c.unpickles),
        loader_prefixes=frozenset(k.prefixes["loaders"]),
        loader_suffixes=frozenset(k.prefixes["loader_suffixes"]),
        loader_methods=k.method_names("load"),
        caching_decorators=k.having("cache_decorator") | table["caching_decorators"],
        predict_methods=k.method_names("predict") | k.method_names("inference"),
        torch_model_sources=k.having("torch_model_source"),
        torch_module_bases=k.having("module_base"),
        torch_no_grad=k.having("no_grad"),
        mlflow_log_model_suffixes=frozenset(k.mlflow.get("log_model_suffixes", ())),
        mlflow_signature_keywords=frozenset(k.mlflow.get("signature_keywords", ())),
        model_name_words=k.words["model"],
        model_libraries=k.packages["model_libraries"],
        web_frameworks=k.packages["web_frameworks"],
    )
    return table


def _decorator_target(dec: cst.Decorator) -> cst.BaseExpression:
    expr = dec.decorator
    return expr.func if isinstance(expr, cst.Call) else expr


def _params(fn: cst.FunctionDef) -> list[cst.Param]:
    p = fn.params
    return [*p.posonly_params, *p.params, *p.kwonly_params]


def class_validates(idx: ModuleIndex, cls: cst.ClassDef, classes: dict[str, cst.ClassDef], depth: int = 0) -> bool:
    """A pydantic model, marshmallow schema, dataclass... (also through a same-file base class)."""
    k = serving_knowledge()
    for dec in cls.decorators:
        if idx.qualify(_decorator_target(dec)) in k["validating_class_decorators"]:
            return True
    for base in cls.bases:
        q = idx.qualify(base.value)
        if q is not None and (q in k["validating_bases"] or q.startswith(
                ("pydantic.", "marshmallow.", "pandera.", "rest_framework.serializers.", "django.forms."))):
            return True
        name = dotted(base.value)
        if name in classes and depth < 3 and class_validates(idx, classes[name], classes, depth + 1):
            return True
    return False


def constrains_values(cls: cst.ClassDef | None) -> bool:
    """A payload schema that pins string fields to the values the model knows (`Literal["yes", "no"]`):
    the request cannot send another spelling (MLD306)."""
    if cls is None or not isinstance(cls.body, cst.IndentedBlock):
        return False
    for stmt in cls.body.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                ann = small.annotation.annotation if isinstance(small, cst.AnnAssign) else None
                if isinstance(ann, cst.Subscript) and (dotted(ann.value) or "").rsplit(".", 1)[-1] == "Literal":
                    return True
    return False


def _annotation_is_raw(idx: ModuleIndex, ann: cst.BaseExpression | None) -> tuple[bool, bool]:
    """(raw, is_request_object) for a parameter annotation."""
    k = serving_knowledge()
    if ann is None:
        return True, False
    if isinstance(ann, cst.BinaryOperation):  # X | None
        left = _annotation_is_raw(idx, ann.left)
        right = _annotation_is_raw(idx, ann.right) if not (isinstance(ann.right, cst.Name)
                                                           and ann.right.value == "None") else (False, False)
        return left[0] or right[0], left[1] or right[1]
    if isinstance(ann, cst.Subscript):
        base = dotted(ann.value) or ""
        short = base.rsplit(".", 1)[-1]
        inner = [el.slice.value for el in ann.slice if isinstance(el.slice, cst.Index)]
        if short in ("Optional", "Annotated") and inner:
            return _annotation_is_raw(idx, inner[0])
        if short in ("Union",):
            results = [_annotation_is_raw(idx, i) for i in inner]
            return any(r[0] for r in results), any(r[1] for r in results)
        if short in ("list", "List", "Sequence", "tuple", "Tuple", "set", "Set") and inner:
            item = dotted(inner[0]) or ""
            if item in serving_knowledge()["scalar_annotations"]:
                return True, False  # `List[float]`: any length, any meaning: the contract's raw `list`
            return _annotation_is_raw(idx, inner[0])[0], False
        if short in ("dict", "Dict", "Mapping"):
            return True, False
        return False, False
    name = dotted(ann)
    if name is None:
        return isinstance(ann, cst.SimpleString), False
    qualified = idx.qualify(ann) or name
    short = name.rsplit(".", 1)[-1]
    if short == "Request" or qualified.endswith(".Request") or short == "HttpRequest":
        return True, True
    if name in k["raw_annotations"] or qualified in k["raw_annotations"] or short in k["raw_annotations"]:
        return True, False
    if name in k["scalar_annotations"]:
        return False, False
    return False, False  # a model class, a dataclass, an array type the framework converts


def find_handlers(ctx) -> list[Handler]:
    return ctx.shared("handlers", _find_handlers)


def _find_handlers(ctx) -> list[Handler]:
    idx: ModuleIndex = ctx.index
    k = serving_knowledge()
    web = idx.imports_any(k["web_frameworks"])
    django = idx.imports_any(("django", "rest_framework"))
    handlers: list[Handler] = []
    seen: set[int] = set()

    def add(fn: cst.FunctionDef, kind: str, cls=None, skip_first: bool = False, request_names=()) -> None:
        if id(fn) in seen:
            return
        seen.add(id(fn))
        h = Handler(node=fn, kind=kind, cls=cls)
        params = _params(fn)
        if cls is not None and params and params[0].name.value in ("self", "cls"):
            params = params[1:]
        if skip_first and params:
            params = params[1:]
        for p in params:
            name = p.name.value
            if name in ("headers", "context", "ctx") and kind in ("kserve", "lambda", "torchserve", "bentoml"):
                continue
            default = p.default
            if isinstance(default, cst.Call) and (dotted(default.func) or "").rsplit(".", 1)[-1] in (
                    "Depends", "Security", "Header", "Cookie", "Path"):
                continue
            raw, request = _annotation_is_raw(idx, p.annotation.annotation if p.annotation else None)
            if name in request_names or request:
                h.request_params.add(name)
            elif raw:
                h.raw_params.add(name)
        handlers.append(h)

    methods_ids = {id(stmt) for cls, _ in idx.classes if isinstance(cls.body, cst.IndentedBlock)
                   for stmt in cls.body.body if isinstance(stmt, cst.FunctionDef)}
    module_functions = [fn for fn, parent in idx.functions if parent is idx.module_scope and id(fn) not in methods_ids]
    for fn in module_functions:
        for dec in fn.decorators:
            target = _decorator_target(dec)
            q = idx.qualify(target)
            if q in k["handler_decorators"]:
                add(fn, "bentoml" if q.startswith("bentoml") else "django" if "django" in q or "rest_framework" in q
                    else "web", request_names=("request",))
            elif isinstance(target, cst.Attribute) and q is None:
                attr = target.attr.value
                if web and attr in k["route_methods"]:
                    add(fn, "web", request_names=("request",))
                elif attr in k["service_api_attributes"] and idx.imports_any(("bentoml",)):
                    raw_json = _bentoml_raw_input(dec)
                    add(fn, "bentoml")
                    if not raw_json:
                        handlers[-1].raw_params.clear()
                    elif handlers[-1].node is fn:
                        # the IO descriptor decides: `NumpyNdarray()` without dtype/shape passes any array,
                        # whatever the parameter's annotation says
                        handlers[-1].raw_params = {p.name.value for p in _params(fn)
                                                   if p.name.value not in ("ctx", "context")}
        names = [p.name.value for p in _params(fn)]
        if tuple(names[:2]) == k["lambda_parameters"] or (
                fn.name.value in ("handler", "lambda_handler") and names and names[0] == "event"):
            add(fn, "lambda")
            handlers[-1].raw_params = {"event"}
        elif django and names and names[0] == "request" and id(fn) not in seen:
            add(fn, "django", request_names=("request",))
    for cls, parent in idx.classes:
        if parent is not idx.module_scope or not isinstance(cls.body, cst.IndentedBlock):
            continue
        methods = {s.name.value: s for s in cls.body.body if isinstance(s, cst.FunctionDef)}
        deployed = any(idx.qualify(_decorator_target(d)) in k["deployment_decorators"] for d in cls.decorators)
        if deployed and "__call__" in methods:
            add(methods["__call__"], "ray", cls, request_names=("request",))
        for base in cls.bases:
            q = idx.qualify(base.value) or ""
            for method in k["handler_bases"].get(q, ()):
                if method in methods:
                    kind = ("kserve" if q.startswith(("kserve", "mlserver")) else
                            "torchserve" if q.startswith("ts.") else "django")
                    add(methods[method], kind, cls, request_names=("request",))
        for name, fn in methods.items():
            for dec in fn.decorators:
                target = _decorator_target(dec)
                q = idx.qualify(target)
                if q in k["handler_decorators"]:
                    add(fn, "bentoml" if (q or "").startswith("bentoml") else "web", cls)
                elif isinstance(target, cst.Attribute) and q is None and web and target.attr.value in k["route_methods"]:
                    add(fn, "web", cls, request_names=("request",))
    return handlers


def _bentoml_raw_input(dec: cst.Decorator) -> bool:
    """Legacy `@svc.api(input=JSON())` passes raw JSON; `JSON(pydantic_model=M)` validates."""
    if not isinstance(dec.decorator, cst.Call):
        return True
    for arg in dec.decorator.args:
        if arg.keyword is not None and arg.keyword.value == "input" and isinstance(arg.value, cst.Call):
            io = (dotted(arg.value.func) or "").rsplit(".", 1)[-1]
            kws = {a.keyword.value for a in arg.value.args if a.keyword is not None}
            if io == "JSON":
                return "pydantic_model" not in kws
            if io in ("NumpyNdarray", "PandasDataFrame"):
                return not ({"enforce_dtype", "enforce_shape", "shape", "dtype"} & kws)
            return io in ("Text", "File", "Multipart")
    return True
