"""Serving family (MLD401-MLD405): raw request input reaching a model, loading per request or from
request-controlled paths, torch models served in training mode, MLflow models without a signature."""

from __future__ import annotations

import libcst as cst

from mllint_deploy.analysis.calls import has_splat, keyword
from mllint_deploy.analysis.handlers import find_handlers, serving_knowledge
from mllint_deploy.analysis.names import dotted
from mllint_deploy.analysis.taint import analyse_handlers
from mllint_deploy.registry import FileCheck, register


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
        for h in handlers:
            if h.kind == "torchserve" and h.cls is not None and not any(
                    isinstance(s, cst.FunctionDef) and s.name.value == "initialize" for s in h.cls.body.body):
                models.evaluated.add("self.model")  # BaseHandler.initialize loads the model and calls eval()
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
                if id(load.call) in done:
                    continue
                done.add(id(load.call))
                short = load.loader.rsplit(".", 2)[-2:] if "." in load.loader else [load.loader]
                shown = ".".join(short)
                if load.raw_path and (load.loader in k["unsafe_loaders"] or load.loader in k["model_loaders"]
                                      or load.loader.startswith("mlflow.") or load.loader.endswith("from_pretrained")):
                    ctx.report("MLD403", load.call,
                               f"{shown}() in handler {where}() loads from a path or bytes taken from the request: "
                               "unpickling attacker-controlled data runs attacker code. Load models at start-up "
                               "from paths you control; let the request choose among them by a checked key.")
                if not load.lazy and not load.cached and not load.loader.endswith("loads"):
                    ctx.report("MLD402", load.call,
                               f"{shown}() runs inside handler {where}(), so every request loads the model again "
                               "(slow, memory-hungry). Load it once at start-up (module level, lifespan/startup "
                               "hook, __init__/load(), or an lru_cache loader).")
            for mc in result.model_calls:
                if ("MLD404", id(mc.call)) in done:
                    continue
                missing = []
                if mc.receiver not in models.evaluated:
                    missing.append(f"{mc.receiver}.eval()")
                if not mc.no_grad:
                    missing.append("torch.no_grad()/torch.inference_mode()")
                if not missing:
                    continue
                done.add(("MLD404", id(mc.call)))
                ctx.report("MLD404", mc.call,
                           f"torch model {mc.receiver} serves predictions in handler {where}() without "
                           f"{' and without '.join(missing)}: dropout and batch-norm stay in training mode and "
                           "autograd tracks every request. Call .eval() once after loading and wrap inference in "
                           "torch.inference_mode().")


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
