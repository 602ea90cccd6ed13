"""Serving family (MLD401-MLD405): raw request input reaching a model, loading per request or from
request-controlled paths, torch models served in training mode, MLflow models without a signature."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from mllint_deploy.analysis.calls import has_splat, keyword
from mllint_deploy.analysis.handlers import find_handlers, serving_knowledge
from mllint_deploy.analysis.names import dotted
from mllint_deploy.analysis.models import module_models
from mllint_deploy.analysis.serving_events import analyse_handlers, events_of, function_flows
from mllint_deploy.registry import FileCheck, ProjectCheck, register


def _source_text(node: cst.CSTNode) -> str:
    code = cst.Module(body=[]).code_for_node(node).strip()
    return code if len(code) <= 40 else code[:37] + "..."


@register
class Serving(FileCheck):
    codes = ("MLD401", "MLD402", "MLD403", "MLD404")

    def check(self, ctx) -> None:
        handlers = find_handlers(ctx)
        if not handlers:
            return
        results, models = analyse_handlers(ctx, handlers)
        k = serving_knowledge()
        done: set[int] = set()
        for result in results:
            where = result.handler.node.name.value
            for sink in result.sinks:
                if id(sink.call) in done:
                    continue
                done.add(id(sink.call))
                what = f"{sink.receiver}.{sink.method}()" if sink.method != "__call__" else f"{sink.receiver}(...)"
                source = _source_text(sink.source) if not isinstance(sink.source, cst.Name) else \
                    f"parameter '{sink.source.value}'"
                ctx.report("MLD401", sink.call,
                           f"{what} in handler {where}() receives raw request input ({source}, "
                           f"line {ctx.line_of(sink.source)}) with no validation on the way: malformed or hostile "
                           "input reaches the model. Parse it into a pydantic model (or check it with marshmallow/"
                           "jsonschema) and reject bad requests before predicting.")
            for load in result.loads:
                if id(load.call) in done or (load.foreign and not load.raw_path):
                    continue  # a load inside another module's function: that file reports MLD402
                done.add(id(load.call))
                short = load.loader.rsplit(".", 2)[-2:] if "." in load.loader else [load.loader]
                shown = ".".join(short)
                if load.raw_path and (load.loader in k["unsafe_loaders"] or load.loader in k["model_loaders"]
                                      or load.loader.startswith("mlflow.") or load.loader.endswith("from_pretrained")):
                    ctx.report("MLD403", load.call,
                               f"{shown}() in handler {where}() loads from a path or bytes taken from the request: "
                               "unpickling attacker-controlled data runs attacker code. Load models at start-up "
                               "from paths you control; let the request choose among them by a checked key.")
                if not load.lazy and not load.cached and not load.loader.endswith("loads") and not load.foreign:
                    ctx.report("MLD402", load.call,
                               f"{shown}() runs inside handler {where}(), so every request loads the model again "
                               "(slow, memory-hungry). Load it once at start-up (module level, lifespan/startup "
                               "hook, __init__/load(), or an lru_cache loader).")
            for mc in result.model_calls:
                if ("MLD404", id(mc.call)) in done or mc.built_by is not None:
                    continue  # models built in another module are judged by the project pass
                missing = []
                if mc.receiver not in models.evaluated and not mc.evaluated:
                    missing.append(f"{mc.receiver}.eval()")
                if not mc.no_grad:
                    missing.append("torch.no_grad()/torch.inference_mode()")
                if not missing:
                    continue
                done.add(("MLD404", id(mc.call)))
                ctx.report("MLD404", mc.call,
                           f"torch model {mc.receiver} serves predictions in handler {where}() without "
                           f"{' and without '.join(missing)}: {_train_mode_effect(missing)}. Call .eval() once "
                           "after loading and wrap inference in torch.inference_mode().")


@register
class ModelSignature(FileCheck):
    codes = ("MLD405",)

    def check(self, ctx) -> None:
        k = serving_knowledge()
        suffixes = tuple(k["mlflow_log_model_suffixes"])
        wanted = k["mlflow_signature_keywords"]
        idx = ctx.index
        if not idx.imports_any(("mlflow",)):
            return
        for call, scope in idx.calls:
            name = idx.call_name(call, scope)
            if not name or not name.startswith("mlflow.") or not name.endswith(suffixes) or name.count(".") != 2:
                continue
            if has_splat(call) or any(keyword(call, w) is not None for w in wanted):
                continue
            ctx.report("MLD405", call,
                       f"{dotted(call.func)}() saves the model without signature= or input_example=: the serving "
                       "endpoint cannot check the input schema, so wrong columns or types fail late or silently. "
                       "Pass signature=infer_signature(X_train, model.predict(X_train)) or an input_example.")


@dataclass
class ServingFacts:
    """What the project pass needs to follow handlers into helpers defined in other modules."""

    loaders: dict[str, tuple[tuple[int, int, int, int], str]] = field(default_factory=dict)  # per-call loads
    torch_builders: dict[str, bool] = field(default_factory=dict)  # function -> calls .eval() on the model
    handler_calls: list[tuple[str, str]] = field(default_factory=list)  # (handler, imported function)
    model_calls: list[tuple[tuple[int, int, int, int], str, str, bool, bool, str]] = field(default_factory=list)


@register
class ServingAcrossFiles(ProjectCheck):
    """MLD402 and MLD404 where the handler and the loading helper live in different modules."""

    codes = ("MLD402", "MLD404")

    def collect(self, ctx) -> ServingFacts:
        facts = ServingFacts()
        idx = ctx.index
        handlers = find_handlers(ctx)
        if not handlers and not idx.imports_any(serving_knowledge()["model_libraries"]):
            return facts
        prefix = f"{ctx.module_name}." if ctx.module_name else ""
        models = module_models(ctx)
        k = serving_knowledge()
        flows = function_flows(ctx)
        for fn, parent in idx.functions:
            if parent is not idx.module_scope or id(fn) not in flows:
                continue
            probe = events_of(flows[id(fn)], fn, None)
            own = [ld for ld in probe.loads if not ld.foreign]
            for load in own:
                if not load.lazy and not load.cached and not load.loader.endswith("loads"):
                    facts.loaders[prefix + fn.name.value] = (ctx.span(load.call), load.loader)
                    break
            torch_loads = [ld for ld in own if ld.loader in k["torch_model_sources"]]
            if torch_loads:
                facts.torch_builders[prefix + fn.name.value] = _calls_eval(fn)
        if handlers:
            results, _ = analyse_handlers(ctx, handlers)
            for result in results:
                name = result.handler.node.name.value
                facts.handler_calls.extend((name, pc.qualname) for pc in result.project_calls)
                for mc in result.model_calls:
                    if mc.built_by is not None:
                        facts.model_calls.append((ctx.span(mc.call), mc.receiver, mc.built_by, mc.no_grad,
                                                  mc.receiver in models.evaluated, name))
        return facts

    def check(self, project) -> None:
        key = type(self).__name__
        facts = {m.path: (m, f) for m, f in project.facts(key)}
        reported: set[tuple[str, tuple]] = set()
        for path, (module, f) in facts.items():
            for handler, qualname in f.handler_calls:
                target = project.resolve_function(qualname, module)
                if target is None or target[0].path == path or target[0].path not in facts:
                    continue
                load = facts[target[0].path][1].loaders.get(target[1].qualname)
                if load is None or (target[0].path, load[0]) in reported:
                    continue
                reported.add((target[0].path, load[0]))
                span, loader = load
                project.report(target[0].path, span, "MLD402",
                               f"{loader.rsplit('.', 1)[-1]}() in {target[1].qualname.rsplit('.', 1)[-1]}() runs on "
                               f"every request: handler {handler}() in {path} calls it. Load the model once at "
                               "start-up, or cache the loader (functools.lru_cache).")
            for span, receiver, built_by, no_grad, evaluated, handler in f.model_calls:
                target = project.resolve_function(built_by, module)
                if target is None or target[0].path not in facts:
                    continue
                builder_evals = facts[target[0].path][1].torch_builders.get(target[1].qualname)
                if builder_evals is None:
                    continue  # not a torch model
                missing = []
                if not (builder_evals or evaluated):
                    missing.append(f"{receiver}.eval()")
                if not no_grad:
                    missing.append("torch.no_grad()/torch.inference_mode()")
                if missing:
                    project.report(path, span, "MLD404",
                                   f"torch model {receiver} (built by {built_by.rsplit('.', 1)[-1]}() in "
                                   f"{target[0].path}) serves predictions in handler {handler}() without "
                                   f"{' and without '.join(missing)}: {_train_mode_effect(missing)}. "
                                   "Call .eval() once after loading and wrap inference in torch.inference_mode().")


def _train_mode_effect(missing: list[str]) -> str:
    effects = []
    if any(m.endswith(".eval()") for m in missing):
        effects.append("dropout and batch-norm stay in training mode")
    if any("no_grad" in m for m in missing):
        effects.append("autograd records every request (memory and time)")
    return " and ".join(effects)


class _EvalFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "eval":
            self.found = True


def _calls_eval(fn: cst.FunctionDef) -> bool:
    """Whether a model-building function puts something in eval mode before returning it."""
    finder = _EvalFinder()
    fn.visit(finder)
    return finder.found
