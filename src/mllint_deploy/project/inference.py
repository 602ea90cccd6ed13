"""`--write-contract`: the feature contract the training code implies, from the project's skew facts."""

from __future__ import annotations

from mllint_deploy.analysis.skewfacts import SKEW_FACTS
from mllint_deploy.project.constants import ProjectConstants
from mllint_deploy.project.contract import ContractError


def infer_contract(project) -> tuple[list[dict], str | None, str]:
    """Features (with types where the code gives evidence), target, and where they came from."""
    consts = ProjectConstants(project, SKEW_FACTS)
    entries = consts.entries
    found = []
    for module, facts in entries:
        if project.reportable and module.path not in project.reportable:
            continue  # the rest of the project: read for its constants, not a training script to describe
        for t in facts.trainings:
            cols = consts.cols(t.cols, module) if t.cols is not None else None
            if cols:
                target = consts.cols(t.target, module) if t.target is not None else None
                found.append((module, facts, t, cols, target[0] if target and len(target) == 1 else None))
    if not found:
        raise ContractError("cannot infer a contract: no training code in these paths persists a model "
                            "fitted on a literal list of columns")
    distinct = {cols for _, _, _, cols, _ in found}
    if len(distinct) > 1:
        listing = "; ".join(f"{consts.where(m, t.fit_line)}: {list(c)}" for m, _, t, c, _ in found)
        raise ContractError("cannot infer one contract: the training code fits models on different columns "
                            f"({listing}); pass only the training script of the model to describe")
    module, facts, train, cols, target = found[0]
    schema: dict = {}
    dtypes: dict = {}
    for m, f in entries:
        for name, info in f.schema.items():
            schema.setdefault(name, info)
        for name, t in f.dtypes.items():
            dtypes.setdefault(name, t)
    features = []
    for c in cols:
        info = dict(schema.get(c, {}))
        entry = {"name": c, "type": info.get("type") or dtypes.get(c) or "any"}
        if entry["type"] in ("int", "float", "any") and info.get("type") in ("int", "float"):
            for key in ("min", "max"):
                if info.get(key) is not None:
                    entry[key] = info[key]
        if info.get("values"):
            entry["values"] = info["values"]
        features.append(entry)
    if target in cols:
        target = None
    return features, target, consts.where(module, train.fit_line)
