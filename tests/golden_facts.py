"""A stable, engine-neutral JSON of what the analysis learns from one file: the ordered events of each
scope (fits, splits, applications, cross-validation, validation data, selections, request sinks, model
loads and model calls) and the facts the project pass reads. `tests/test_golden_facts.py` compares it
with `tests/golden/facts.json` for every fixture file, so a change to the engine shows exactly which
facts changed; regenerate with `MLLINT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_facts.py`."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path

import libcst as cst

from mllint_deploy import registry
from mllint_deploy.pipeline.engine import FileContext, lint_text, module_name_for, parse
from mllint_deploy.sources.notebook import BrokenNotebook, read_notebook
from mllint_deploy.sources.source import UnreadableSource, decode, read_bytes


def plain(value, depth: int = 0):
    """JSON-able, order-stable form of a facts value (CST nodes become their type name)."""
    if depth > 12:
        return "..."
    if isinstance(value, cst.CSTNode):
        return f"<{type(value).__name__}>"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v, depth + 1) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return f"<{type(value).__name__}>"


def _text(path: Path) -> str | None:
    data = read_bytes(str(path))
    if path.suffix == ".ipynb":
        try:
            nb = read_notebook(data)
        except BrokenNotebook:
            return None
        return nb.text if nb is not None else None
    try:
        return decode(data)
    except UnreadableSource:
        return None


def _describe(d) -> str | None:
    if d is None:
        return None
    return f"{d.describe()}{'/' + d.part if getattr(d, 'part', None) else ''}"


def events(ctx: FileContext) -> list[list]:
    from mllint_deploy.analysis.dataflow import module_flows
    from mllint_deploy.analysis.handlers import find_handlers
    from mllint_deploy.analysis.serving_events import analyse_handlers

    line = ctx.line_of
    out: list[list] = []
    for flow in module_flows(ctx):
        scope = flow.scope_node.name.value if isinstance(flow.scope_node, cst.FunctionDef) else "<module>"
        rows = []
        rows += [(f.index, ["fit", line(f.node), f.label, f.kind, f.method, _describe(f.data), _describe(f.target)])
                 for f in flow.fits]
        rows += [(s.index, ["split", line(s.node), s.label, s.shuffled, [_describe(d) for d in s.inputs]])
                 for s in flow.splits]
        rows += [(a.index, ["apply", line(a.node), a.obj.label, a.method, _describe(a.data)]) for a in flow.applies]
        rows += [(c.index, ["cross_val", line(c.node), c.label, _describe(c.data)]) for c in flow.cross_vals]
        rows += [(s.index, ["fold_split", line(s.node), s.splitter.label, _describe(s.data)])
                 for s in flow.fold_splits]
        rows += [(v.index, ["validation_data", line(v.node), v.keyword, [_describe(d) for d in v.data]])
                 for v in flow.validation_uses]
        rows += [(10**9, ["selection", line(s.node), [line(x.node) for x in s.scores]]) for s in flow.selections]
        out += [[scope, *row] for _, row in sorted(rows, key=lambda r: (r[0], r[1][1]))]
    handlers = find_handlers(ctx)
    if handlers:
        results, _ = analyse_handlers(ctx, handlers)
        for r in results:
            name = r.handler.node.name.value
            out += [[name, "request_sink", line(s.call), f"{s.receiver}.{s.method}", line(s.source)] for s in r.sinks]
            out += [[name, "load", line(ld.call), ld.loader, ld.raw_path, ld.lazy or ld.cached] for ld in r.loads]
            out += [[name, "model_call", line(m.call), m.receiver, m.no_grad] for m in r.model_calls]
    return out


def golden(path: Path, root: Path) -> dict | None:
    """The golden entry of one file (None when it cannot be read or parsed)."""
    text = _text(path)
    if text is None:
        return None
    try:
        module = parse(text)
    except Exception:
        return None
    rel = path.relative_to(root).as_posix()
    enabled = frozenset(registry.implemented_codes())
    file_checks, project_checks = registry.checks_for(enabled)
    ctx = FileContext(rel, text, module, module_name_for(path), enabled, str(path))
    result = lint_text(rel, text, [], enabled, module_name_for(path), project_checks, str(path))
    facts = {k: plain(v) for k, v in sorted(result.facts.items())}
    facts = {k: v for k, v in facts.items() if not (isinstance(v, dict) and not any(v.values()))}
    facts.get("module", {}).pop("import_root", None)  # absolute paths: machine-dependent
    facts.get("TrainServeSkew", {}).pop("abspath", None)
    return {"events": events(ctx), "facts": facts}


def dumps(entries: dict) -> str:
    """The golden file: one line per event and per facts key, so a diff shows what changed."""
    import json

    out = ["{"]
    for i, (path, entry) in enumerate(sorted(entries.items())):
        out.append(f"{json.dumps(path)}: {{")
        out.append(' "events": [')
        out.append(",\n".join("  " + json.dumps(row) for row in entry["events"]))
        out.append(" ],")
        out.append(' "facts": {')
        out.append(",\n".join(f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in entry["facts"].items()))
        out.append(" }")
        out.append("}" + ("," if i < len(entries) - 1 else ""))
    out.append("}")
    return "\n".join(out) + "\n"
