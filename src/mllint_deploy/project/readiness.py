"""The production-readiness checklist over a lint run: every file's readiness facts, the run's
findings and the dependency files, judged item by item as `rules/checklist.yaml` defines them.

An item is n/a when the project has no code of its scope (or the configuration says so, with a
reason), fail when a finding of its rules breaks it or its needed evidence is missing, unknown when
the code cannot show it (its rules are not enabled, or files it would need could not be parsed), and
pass otherwise. Every status comes with the evidence (`path:line: what`) it rests on."""

from __future__ import annotations

from dataclasses import dataclass, field

from mllint_deploy.catalogue import ChecklistItem

_LISTED = 5  # evidence lines shown per kind; the rest are counted
_TEST_KINDS = frozenset({"invalid_input_test", "client_test"})
_SCOPE_WORDS = {"training": "no training code (an estimator, a fit or a training function) found",
                "serving": "no serving code (a request handler) found"}


@dataclass
class ItemResult:
    item: ChecklistItem
    status: str  # pass | fail | n/a | unknown
    evidence: list[str] = field(default_factory=list)
    note: str = ""  # why: the missing evidence, the configured reason, the disabled rules


@dataclass
class ProjectEvidence:
    """Every file's readiness evidence, by kind, as `path:line: what`."""

    by_kind: dict[str, list[str]] = field(default_factory=dict)
    files: int = 0
    unparsed: list[str] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.by_kind.setdefault(kind, []).append(text)

    def get(self, kind: str) -> list[str]:
        return self.by_kind.get(kind, [])


def _where(result, line: int) -> str:
    """`path:line`, or `path:cell N:line` for a notebook."""
    notebook = result.facts.get("notebook")
    if notebook is not None:
        from mllint_deploy.findings import Finding

        placed = notebook.place(Finding(path=result.path, line=line, column=1, code="", message=""))
        if placed.cell is not None:
            return f"{result.path}:cell {placed.cell}:{placed.line}"
    return f"{result.path}:{line}"


def gather(results, findings, contract: str | None) -> ProjectEvidence:
    out = ProjectEvidence(files=len(results))
    baseline_evals: dict[str, str] = {}
    model_evals: dict[str, str] = {}
    for result in results:
        facts = result.facts.get("readiness")
        if facts is None:
            continue
        for kind, rows in sorted(facts.evidence.items()):
            if (kind in _TEST_KINDS) != facts.test_file:
                continue  # tests show tests; a metric or a handler in a test is not the project's
            for line, what in rows:
                out.add(kind, f"{_where(result, line)}: {what}")
        if facts.test_file:
            continue
        for e in facts.evaluations:
            target = baseline_evals if e.baseline else model_evals
            target.setdefault(e.metric, _where(result, e.line))
    for metric in sorted(set(baseline_evals) & set(model_evals)):
        out.add("baseline_compared", f"{baseline_evals[metric]}: baseline evaluated with {metric!r}, "
                                     f"as the model at {model_evals[metric]}")
    for metric in sorted(set(baseline_evals) - set(model_evals)):
        out.add("baseline_metric_only", f"{baseline_evals[metric]}: baseline evaluated with {metric!r}, "
                                        f"the model is not")
    if contract:
        out.add("contract", contract)
    out.unparsed = sorted({f"{f.path}:{f.line}: cannot be parsed" for f in findings if f.code == "MLD001"})
    return out


def _listed(rows: list[str]) -> list[str]:
    if len(rows) <= _LISTED:
        return list(rows)
    return rows[:_LISTED] + [f"... and {len(rows) - _LISTED} more"]


def judge(item: ChecklistItem, ev: ProjectEvidence, findings, enabled, not_applicable: dict[str, str]) -> ItemResult:
    if item.id in not_applicable:
        return ItemResult(item, "n/a", note=f"marked n/a in the configuration: {not_applicable[item.id]}")
    if item.scope in _SCOPE_WORDS and not ev.get(item.scope):
        if ev.unparsed:
            return ItemResult(item, "unknown", _listed(ev.unparsed),
                              note=f"{_SCOPE_WORDS[item.scope]}, and some files could not be parsed")
        return ItemResult(item, "n/a", note=_SCOPE_WORDS[item.scope])
    breaking = [f for f in findings if f.code in item.rules]
    if breaking:
        rows = [f"{f.path}:{f'cell {f.cell}:' if f.cell is not None else ''}{f.line}: {f.code} {f.message}"
                for f in breaking]
        codes = ", ".join(sorted({f.code for f in breaking}))
        return ItemResult(item, "fail", _listed(rows), note=f"{len(breaking)} finding(s) of {codes}")
    disabled = [c for c in item.rules if c not in enabled]
    if disabled:
        return ItemResult(item, "unknown", note=f"{', '.join(disabled)} not enabled (select/ignore): "
                                                 "the run cannot show it")
    if item.needs and not any(ev.get(k) for k in item.needs):
        against = [row for k in item.against for row in _listed(ev.get(k))]
        if item.id == "baseline":
            against = _listed(ev.get("baseline_metric_only")) + against
        if ev.unparsed:
            return ItemResult(item, "unknown", _listed(ev.unparsed),
                              note=f"not found: {item.wanted}; and some files could not be parsed")
        return ItemResult(item, item.missing, against, note=f"not found in {ev.files} file(s): {item.wanted}")
    for kind, kinds in item.when:
        if ev.get(kind) and not any(ev.get(k) for k in kinds):
            wanted = " or ".join(k.replace("_", " ") for k in kinds)
            return ItemResult(item, "fail", _listed(ev.get(kind)),
                              note=f"{kind.replace('_', ' ')} used, but no {wanted} found")
    shown = [row for k in item.shows for row in _listed(ev.get(k))]
    note = f"no findings of {', '.join(item.rules)}" if item.rules else ""
    return ItemResult(item, "pass", shown, note=note)


def evaluate(items, results, findings, enabled, not_applicable: dict[str, str], extra: dict[str, list[str]],
             contract: str | None = None) -> list[ItemResult]:
    """Every item judged; `extra` adds project-level evidence (the dependency files' pins)."""
    ev = gather(results, findings, contract)
    for kind, rows in extra.items():
        for row in rows:
            ev.add(kind, row)
    return [judge(item, ev, findings, enabled, not_applicable) for item in items]
