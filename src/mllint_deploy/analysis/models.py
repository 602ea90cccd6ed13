"""Which names of a module hold models, and the small facts serving code is judged by: loaders,
torch modules and whether they are put in eval mode, lazy one-time initialisation, cached loaders,
inference-mode contexts, and guards that only check that input exists or that reject it."""

from __future__ import annotations

import libcst as cst

from mllint_deploy.analysis.calls import keyword
from mllint_deploy.analysis.handlers import serving_knowledge
from mllint_deploy.analysis.names import ModuleIndex, dotted
from mllint_deploy.analysis.project_sources import project_sources
from mllint_deploy.knowledge import knowledge


class ModuleModels:
    """Names (`model`, `self.model`, `app.state.model`) bound to loaded models anywhere in the module."""

    def __init__(self, ctx, sources=None):
        idx: ModuleIndex = ctx.index
        self.idx = idx
        self._ctx = ctx
        self._sources = sources
        self._imported_torch: dict[str, bool] = {}
        self.names: set[str] = set()
        self.torch: set[str] = set()
        self.evaluated: set[str] = set()
        self.cached_getters: set[str] = set()
        self.from_calls: dict[str, str] = {}  # name -> imported function whose result it holds
        self.loader_names: dict[int, str] = {}  # id(call) -> the loader it is
        k = serving_knowledge()
        if not idx.imports_any(k["model_libraries"] | k["web_frameworks"]) and not idx.star_imports:
            self.torch_classes: set[str] = set()
            return  # nothing in the module loads or serves a model: only name words can say "model"
        self.torch_classes = _torch_classes(idx)
        for fn, parent in idx.functions:
            if parent is idx.module_scope and is_cached(idx, fn):
                self.cached_getters.add(fn.name.value)
        for call, scope in idx.calls:
            loader = loader_name(idx, call, scope)
            if loader is not None:
                self.loader_names[id(call)] = loader
        module_visit = _Assignments(self)
        ctx.module.visit(module_visit)

    def is_imported_torch_class(self, func) -> bool:
        """`ImageClassifier()` where the class is another project module's `nn.Module` subclass, imported
        by name or through `from model import *`."""
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return False
        q = self.idx.qualify(func)
        candidates = [q] if q and "." in q else []
        if isinstance(func, cst.Name) and not candidates:
            candidates = [f"{m}.{func.value}" for m in self.idx.star_imports]
        for qualname in candidates:
            if qualname not in self._imported_torch:
                found = self._project().class_of(qualname) if self._project() is not None else None
                self._imported_torch[qualname] = found is not None and \
                    found[1].name.value in _torch_classes(found[0].index)
            if self._imported_torch[qualname]:
                return True
        return False

    def _project(self):
        if self._sources is None and hasattr(self._ctx, "shared"):
            self._sources = project_sources(self._ctx)
        return self._sources

    def is_model(self, name: str | None) -> bool:
        if not name:
            return False
        if name in self.names or name in self.torch:
            return True
        words = serving_knowledge()["model_name_words"]
        # `clf`, `self.model`, `classifier_runner.predict` (a BentoML runner's method)
        return any(w in part.lower() for part in name.split(".") if part not in ("self", "cls") for w in words)


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
        if self.m.is_imported_torch_class(value.func):
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


def is_cached(idx: ModuleIndex, fn: cst.FunctionDef) -> bool:
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


def decorated_no_grad(idx: ModuleIndex, fn: cst.FunctionDef) -> bool:
    k = serving_knowledge()
    for dec in fn.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if idx.qualify(target) in k["torch_no_grad"]:
            return True
    return False


def only_presence(test) -> bool:
    """`if data is None`, `if not data`: checks that input exists, not what it holds (not validation)."""
    if isinstance(test, cst.BooleanOperation):
        return only_presence(test.left) and only_presence(test.right)
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return isinstance(test.expression, (cst.Name, cst.Attribute))
    if isinstance(test, (cst.Name, cst.Attribute)):
        return True
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        c = test.comparisons[0]
        return isinstance(c.comparator, cst.Name) and c.comparator.value == "None"
    return False


def is_membership(test) -> bool:
    """`if name not in ALLOWED_MODELS:`: an allow-list check, which does make a path or key safe."""
    if isinstance(test, cst.BooleanOperation):
        return is_membership(test.left) or is_membership(test.right)
    if isinstance(test, cst.UnaryOperation):
        return is_membership(test.expression)
    return isinstance(test, cst.Comparison) and any(
        isinstance(c.operator, (cst.In, cst.NotIn)) for c in test.comparisons)


def is_lazy_test(test) -> bool:
    """`if model is None`, `if not model`, `if key not in cache`, `if _MODEL is None and ...`."""
    if isinstance(test, cst.BooleanOperation):
        return is_lazy_test(test.left) or is_lazy_test(test.right)
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


