"""What serving rules ask of a request handler, read off the dataflow of its function: model calls
that receive request input, model loads (with whether their path is the client's and whether they
run once), torch inference calls, and calls to functions imported from other modules."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from mllint_deploy.analysis.dataflow import module_flows
from mllint_deploy.analysis.handlers import Handler
from mllint_deploy.analysis.models import ModuleModels, module_models
from mllint_deploy.analysis.values import ParamSource


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
    foreign: bool = False  # in another module's function, placed at the call (its own file reports MLD402)


@dataclass
class ModelCall:
    call: cst.Call
    receiver: str
    no_grad: bool
    function: cst.FunctionDef
    built_by: str | None = None  # the imported project function the model came from, if any
    evaluated: bool = False  # put in eval mode in the other module whose helper makes this call


@dataclass
class ProjectCall:
    """A handler's call to a function imported from elsewhere (followed by the project pass)."""

    call: cst.Call
    qualname: str


@dataclass
class HandlerTaint:
    handler: Handler | None
    sinks: list[Sink] = field(default_factory=list)
    loads: list[Load] = field(default_factory=list)
    model_calls: list[ModelCall] = field(default_factory=list)
    project_calls: list[ProjectCall] = field(default_factory=list)
    uses: list = field(default_factory=list)  # every ModelUse of the handler (request input or not)


def function_flows(ctx) -> dict[int, object]:
    """id(function node) -> its flow."""
    return {id(f.scope_node): f for f in module_flows(ctx) if isinstance(f.scope_node, cst.FunctionDef)}


def events_of(flow, fn: cst.FunctionDef, handler: Handler | None) -> HandlerTaint:
    out = HandlerTaint(handler=handler, uses=list(flow.model_uses))
    for use in flow.model_uses:
        raw = next((d.raw for d in use.datas if d.raw is not None and not isinstance(d.raw, ParamSource)), None)
        if raw is not None and use.built_by is None:
            out.sinks.append(Sink(use.node, use.receiver, use.method, raw))
        if use.torch or use.built_by is not None:
            out.model_calls.append(ModelCall(use.node, use.receiver, use.no_grad, fn, built_by=use.built_by,
                                             evaluated=use.evaluated))
    out.loads = [Load(ld.node, ld.loader, ld.untrusted, ld.lazy, ld.cached, ld.foreign) for ld in flow.loads]
    out.project_calls = [ProjectCall(call, qn) for call, qn in flow.project_calls]
    return out


def analyse_handlers(ctx, handlers: list[Handler]) -> tuple[list[HandlerTaint], ModuleModels]:
    """The serving events of every handler (shared by the file check and the project check)."""
    def build(ctx):
        flows = function_flows(ctx)
        models = module_models(ctx)
        for h in handlers:
            if h.kind == "torchserve" and h.cls is not None and not any(
                    isinstance(s, cst.FunctionDef) and s.name.value == "initialize" for s in h.cls.body.body):
                models.evaluated.add("self.model")  # BaseHandler.initialize loads the model and calls eval()
        return [events_of(flows[id(h.node)], h.node, h) for h in handlers if id(h.node) in flows], models

    return ctx.shared("handler_events", build)
