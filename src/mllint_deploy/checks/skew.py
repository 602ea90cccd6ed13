"""Train/serve skew family (MLD301-MLD305): training and serving code checked against each other.

Per file (`collect`), the facts of `analysis/skewfacts.py`. The project pass (`check`) resolves
constants imported from other project modules (`project/constants.py`), pairs each serving load with the training code that persisted the same artifact (by file name, or MLflow
registry name; among several, the nearest in the directory tree), else with the only unpaired
training site of the nearest project directory, and reports on the serving side. MLD303 compares
both sides with the feature contract that applies to each file. Every rule stays quiet when the
columns are not literally known on both sides.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass


from mllint_deploy.analysis.columns import artifact_key, path_segments
from mllint_deploy.analysis.skewfacts import FitFact, ServeFact, SkewFacts, TrainFact, collect_skew_facts
from mllint_deploy.project.constants import ProjectConstants
from mllint_deploy.registry import ProjectCheck, register



@dataclass
class _Site:
    module: object  # ModuleFacts
    facts: SkewFacts
    train: TrainFact
    text: str | None = None
    key: str | None = None
    segments: tuple = ()
    cols: tuple | None = None
    target: tuple | None = None
    pattern: re.Pattern | None = None  # `f"model_C={C}.bin"`: the artifact's file name with unknown pieces


def _name_pattern(text: str | None) -> re.Pattern | None:
    """A file name with pieces the code computes (`model_C=\0.bin`), as a pattern of the names it can be."""
    if not text or text.startswith(("models:/", "runs:/")):
        return None
    last = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    pieces = last.split("\0")
    if len(pieces) < 2 or not any(len(p) >= 3 for p in pieces) or "." not in pieces[-1]:
        return None  # an unknown piece and too little literal text around it to say which file
    return re.compile(".+".join(re.escape(p) for p in pieces))


@register
class TrainServeSkew(ProjectCheck):
    """MLD301-MLD305: pairs serving code with the training code that persisted its model."""

    codes = ("MLD301", "MLD302", "MLD303", "MLD304", "MLD305", "MLD306")

    def collect(self, ctx) -> SkewFacts:
        return collect_skew_facts(ctx)

    def _setup(self, project) -> list:
        self.project = project
        self.consts = ProjectConstants(project, type(self).__name__)
        return self.consts.entries

    # -- the checks ------------------------------------------------------------------------------
    def check(self, project) -> None:
        entries = self._setup(project)
        self.contracts = _contract_lookup(project)
        sites: list[_Site] = []
        for module, facts in entries:
            for t in facts.trainings:
                s = _Site(module, facts, t)
                s.text = self.consts.path(t.registry, module) if t.registry is not None else self.consts.path(t.path, module)
                if t.registry is not None and s.text is not None and "\0" not in s.text:
                    s.text = "models:/" + s.text
                s.key = artifact_key(s.text)
                s.pattern = _name_pattern(s.text) if s.key is None else None
                s.segments = path_segments(s.text) if s.text and not s.text.startswith("models:/") else ()
                s.cols = self.consts.cols(t.cols, module) if t.cols is not None else None
                s.target = self.consts.cols(t.target, module) if t.target is not None else None
                sites.append(s)
        self.sites = sites
        serving = [(m, f) for m, f in entries if f.loads and not f.trainings]
        load_keys = set()
        load_info: dict = {}
        for m, f in serving:
            for i, load in enumerate(f.loads):
                text = self.consts.path(load.path, m)
                key = artifact_key(text)
                load_info[(id(m), i)] = (text, key)
                if key:
                    load_keys.add(key)
        keyed = {s.key for s in sites if s.key}
        # for the fallback: serving files with a load no training artifact name matches, and training
        # files none of whose artifacts is loaded by name
        self.unpaired_serving = [f.abspath for m, f in serving
                                 if any(load_info[(id(m), i)][1] not in keyed for i in range(len(f.loads)))]
        loaded_files = {id(s.module) for s in sites if s.key and s.key in load_keys}
        self.unpaired_training = [s for s in sites if id(s.module) not in loaded_files]
        for m, f in serving:
            pairs = {i: self._pair(m, f, load_info[(id(m), i)], keyed, load_keys) for i in range(len(f.loads))}
            for serve in f.servings:
                site = pairs.get(serve.load)
                if site is None:
                    continue
                if "MLD301" in project.enabled:
                    self._mismatch(m, f, serve, site)
                if "MLD302" in project.enabled:
                    self._not_persisted(m, serve, site)
            if "MLD304" in project.enabled:
                for fit in f.serving_fits:
                    project.report(m.path, fit.span, "MLD304", _fit_message(fit))
            trained = {id(s.module): s for s in pairs.values() if s is not None}
            if "MLD305" in project.enabled:
                for s in trained.values():
                    self._divergence(m, f, s)
            if "MLD306" in project.enabled and f.raw_feeds:
                self._transform_not_applied(m, f, list(trained.values()))
        if "MLD303" in project.enabled:
            self._contract(entries, serving)

    # pairing
    def _pair(self, module, facts, info, keyed: set, load_keys: set) -> _Site | None:
        text, key = info
        here = os.path.dirname(facts.abspath)
        if key is not None and key in keyed:
            cands = [s for s in self.sites if s.key == key]
            segs = path_segments(text) if not text.startswith("models:/") else ()
            return self._nearest(cands, here, segs)
        # "else the only training/serving pair in the project": an artifact the code does not name
        # literally on one side. A registry name never falls back (an unregistered run is not it), and
        # a training file whose artifacts all have other names is not a candidate.
        if key is not None and key.startswith("models:/"):
            return None
        matching = [s for s in self.sites if s.pattern is not None and key is not None and s.pattern.fullmatch(key)]
        if matching:  # `f"model_C={C}.bin"` written, "model_C=1.0.bin" loaded
            return self._nearest(matching, here, ())
        cands = [s for s in self.unpaired_training if s.key is None or (key is None and s.key not in load_keys)]
        if key is not None:
            cands = [s for s in cands if s.key is None]
        cands = [s for s in cands if all(o.key is None for o in self.sites if o.module is s.module)] \
            if key is not None else cands
        best = self._nearest(cands, here, ())
        if best is None:
            return None
        # the project: the directory holding both; it must have no other unpaired training or serving file
        root = _common_dir(here, os.path.dirname(best.facts.abspath))
        trainers = {id(s.module) for s in self.unpaired_training if _under(s.facts.abspath, root)}
        servers = {p for p in self.unpaired_serving if _under(p, root)}
        return best if len(trainers) == 1 and len(servers) == 1 else None

    def _nearest(self, cands: list[_Site], here: str, segs: tuple) -> _Site | None:
        if not cands:
            return None

        def score(s: _Site):
            suffix = 0
            if segs and s.segments:
                for a, b in zip(reversed(segs), reversed(s.segments)):
                    if a != b or a == "?":
                        break
                    suffix += 1
            return (suffix, _depth(_common_dir(here, os.path.dirname(s.facts.abspath))))

        best = max(score(s) for s in cands)
        top = [s for s in cands if score(s) == best]
        if len(top) == 1:
            return top[0]
        scripts = [s for s in top if not s.module.path.endswith(".ipynb")]
        if len(scripts) == 1:  # a script and notebooks writing the same artifact: deployments run the script
            return scripts[0]
        first = top[0]
        if all(s.cols == first.cols and s.module is first.module for s in top) or all(
                s.cols is not None and s.cols == first.cols for s in top):
            return first
        return None

    # MLD301
    def _mismatch(self, module, facts, serve: ServeFact, site: _Site) -> None:
        trained = site.cols
        if not trained or len(set(trained)) != len(trained):
            return
        fitted_at = self.consts.where(site.module, site.train.fit_line or site.train.span[0])
        row_at = self.consts.where(module, serve.row_line)
        report = functools.partial(self.project.report, module.path, serve.span, "MLD301")
        if serve.kind == "array" and serve.names is not None:
            # an array built element by element: the element names are request field names, which
            # need not be spelled like the training columns; only the count and a pure reordering
            # of the same names are evidence
            names = serve.names
            known = None not in names and len(set(names)) == len(names)
            if len(names) != len(trained):
                if known and (set(names) < set(trained) or set(names) > set(trained)):
                    report(_set_message("array", list(names), row_at, trained, fitted_at))
                else:
                    report(f"serving builds an array of {len(names)} values per row ({row_at}) but the model was "
                           f"fitted on {len(trained)} columns {list(trained)} ({fitted_at}). Build the row from "
                           "the training feature list, in its order.")
                return
            if known and set(names) == set(trained) and list(names) != list(trained):
                report(_order_message("array", list(names), row_at, trained, fitted_at))
            return
        if serve.cols is None:
            return
        served = self.consts.cols(serve.cols, module)
        if served is None or len(set(served)) != len(served):
            return
        if serve.loose:
            # a frame of the request schema's fields: extra fields (ids) may be ignored by the model,
            # a training column the schema lacks cannot be
            missing = [c for c in trained if c not in served]
            if missing:
                report(f"serving builds the row from the fields of the request schema {list(served)} ({row_at}) "
                       f"but the model was fitted on {list(trained)} ({fitted_at}): "
                       f"{_quoted(missing)} {'is' if len(missing) == 1 else 'are'} missing. Add "
                       f"{'it' if len(missing) == 1 else 'them'} to the request schema, or build the row from "
                       "the training feature list.")
            return
        if set(served) != set(trained):
            report(_set_message("row" if serve.kind == "frame" else "array", list(served), row_at, trained,
                                fitted_at))
        elif list(served) != list(trained) and (serve.kind == "array" or site.train.positional):
            # positions matter: an array, or a model fitted on an array (it knows no column names)
            report(_order_message("row" if serve.kind == "frame" else "array", list(served), row_at, trained,
                                  fitted_at))

    # MLD302
    def _not_persisted(self, module, serve: ServeFact, site: _Site) -> None:
        if serve.raw is not True or not site.train.steps:
            return
        trained = site.cols
        target = set(site.target or ())
        steps = []
        for step in site.train.steps:
            if step.cols is not None and trained is not None and not set(step.cols) & set(trained):
                continue  # fitted on columns the model does not get (an id, a dropped column)
            if step.cols is not None and target and set(step.cols) <= target:
                continue  # the label encoder of the target
            steps.append(step)
        if not steps:
            return
        step = steps[0]
        saved_at = self.consts.where(site.module, site.train.span[0])
        fitted_at = self.consts.where(site.module, step.line)
        step_name = step.label.split(" ")[0].rstrip("()")
        self.project.report(module.path, serve.span, "MLD302", (
            f"the model was trained on the output of {step.label} fitted separately ({fitted_at}), but "
            f"training persists only the model ({saved_at}) and serving predicts on input that never went "
            f"through that step: the model gets raw values where it learned transformed ones. Persist a "
            f"Pipeline with the step inside (make_pipeline({step_name}(...), model)), or persist the fitted "
            "step too and apply it before predict."))

    # MLD306
    def _transform_not_applied(self, module, facts: SkewFacts, sites: list) -> None:
        for site in sites:
            target = set(site.target or ())
            trained = set(site.cols) if site.cols is not None else None
            transforms = [t for t in site.facts.transforms if t.column not in target and (
                trained is None or t.column in ("*", "<column names>") or t.column in trained)]
            if not transforms:
                continue
            shown = "; ".join(f"{_transform_label(t)} ({self.consts.where(site.module, t.line)})"
                              for t in transforms[:3])
            more = f" and {len(transforms) - 3} more" if len(transforms) > 3 else ""
            reported: set[str] = set()
            for feed in facts.raw_feeds:
                if feed.handler in reported:
                    continue  # one finding per handler
                reported.add(feed.handler)
                self.project.report(module.path, feed.span, "MLD306", (
                    f"training transforms feature values before fitting ({shown}{more}) but handler "
                    f"{feed.handler}() passes the request's values to {feed.call}() unchanged: a value spelled as "
                    "clients send it is not the one the model learned, so it is read as an unknown category or a "
                    "wrong number. Apply the same transformation in serving, from one function both sides "
                    "import, or inside the persisted Pipeline (a FunctionTransformer)."))
            return

    # MLD305
    def _divergence(self, module, facts: SkewFacts, site: _Site) -> None:
        for name, fn in sorted(facts.functions.items()):
            other = site.facts.functions.get(name)
            if other is None:
                continue
            if fn.signature == other.signature and [h for h, _ in fn.statements] == [
                    h for h, _ in other.statements]:
                continue
            detail = ""
            for i in range(max(len(fn.statements), len(other.statements))):
                a = fn.statements[i] if i < len(fn.statements) else None
                b = other.statements[i] if i < len(other.statements) else None
                if a is None or b is None or a[0] != b[0]:
                    here = f"line {a[1]}" if a else "the end of the body"
                    there = self.consts.where(site.module, b[1]) if b else "the end of the training copy"
                    detail = f" (first difference: {here} here vs {there})"
                    break
            if not detail and fn.signature != other.signature:
                detail = " (the parameters differ)"
            self.project.report(module.path, fn.span, "MLD305", (
                f"feature function {name}() is defined here and in the training code "
                f"({self.consts.where(site.module, other.span[0])}), and the two bodies differ{detail}: the model "
                "was trained on features computed by the other copy. Keep one implementation in a module "
                "both sides import."))

    # MLD303
    def _contract(self, entries, serving) -> None:
        serving_ids = {id(m) for m, _ in serving}
        for module, facts in entries:
            if not facts.trainings and id(module) not in serving_ids:
                continue
            contract = self.contracts.for_file(facts.abspath)
            if contract is None:
                continue
            declared = set(contract.names)
            required = contract.required
            done: set = set()
            for s in (s for s in self.sites if s.module is module):
                if s.train.fit_line in done or not s.cols:
                    continue
                done.add(s.train.fit_line)
                undeclared = [c for c in s.cols if c not in declared]
                missing = [c for c in required if c not in s.cols]
                problems = []
                if undeclared:
                    problems.append(f"{_quoted(undeclared)} {'is' if len(undeclared) == 1 else 'are'} not "
                                    f"declared in the feature contract {contract.path}")
                if missing:
                    problems.append(f"the contract requires {_quoted(missing)}, which training leaves out")
                if contract.target and s.target and len(s.target) == 1 and s.target[0] != contract.target \
                        and s.target[0] not in declared:
                    problems.append(f"the model learns '{s.target[0]}' but the contract's target is "
                                    f"'{contract.target}'")
                if problems:
                    span = s.train.fit_span or s.train.span
                    self.project.report(module.path, span, "MLD303", (
                        f"the model is fitted on {list(s.cols)}: {'; '.join(problems)}. Make the code and the "
                        "contract agree (add the column to the contract with its type and range, or drop it "
                        "from the features)."))
            if id(module) not in serving_ids:
                continue
            for serve in facts.servings:
                if serve.kind != "frame" or serve.cols is None:
                    continue
                served = self.consts.cols(serve.cols, module)
                if not served:
                    continue
                undeclared = [c for c in served if c not in declared] if not serve.loose else []
                missing = [c for c in required if c not in served]
                problems = []
                if undeclared:
                    problems.append(f"{_quoted(undeclared)} {'is' if len(undeclared) == 1 else 'are'} not "
                                    f"declared in the feature contract {contract.path}")
                if missing:
                    problems.append(f"the contract requires {_quoted(missing)}, which the serving row leaves out")
                if problems:
                    self.project.report(module.path, serve.span, "MLD303", (
                        f"serving passes {list(served)} to the model ({self.consts.where(module, serve.row_line)}): "
                        f"{'; '.join(problems)}. Make the code and the contract agree."))


def _transform_label(t) -> str:
    if t.column == "*":
        return f"{t.what} of the columns of a loop"
    if t.column == "<column names>":
        return f"{t.what} of the column names"
    return f"{t.what} of '{t.column}'"


def _contract_lookup(project):
    from mllint_deploy.project.contract import ContractLookup

    return ContractLookup(getattr(project, "contract", None), getattr(project, "contract_config", None))


def _set_message(what: str, served: list, row_at: str, trained, fitted_at: str) -> str:
    missing = [c for c in trained if c not in served]
    extra = [c for c in served if c not in trained]
    parts = []
    if missing:
        parts.append(_quoted(missing) + (" is" if len(missing) == 1 else " are") + " missing")
    if extra:
        parts.append(_quoted(extra) + (" is" if len(extra) == 1 else " are") + " extra (never seen in training)")
    return (f"serving builds the {what} from {served} ({row_at}) but the model was fitted on {list(trained)} "
            f"({fitted_at}): {' and '.join(parts)}. Build the row from the same feature list as training "
            "(import it from one shared module).")


def _order_message(what: str, served: list, row_at: str, trained, fitted_at: str) -> str:
    pos = next(i for i, (a, b) in enumerate(zip(served, trained)) if a != b)
    return (f"serving builds the {what} from {served} ({row_at}) but the model was fitted on {list(trained)} "
            f"({fitted_at}): the columns are in a different order (position {pos + 1} holds '{served[pos]}' "
            f"where the model expects '{trained[pos]}'), so the model reads one feature as another. Build the "
            "row from the training feature list, in its order.")


def _quoted(names) -> str:
    names = [f"'{n}'" for n in names]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _fit_message(fit: FitFact) -> str:
    where = f"in {fit.function}()" if fit.function != "<module>" else "in serving code"
    if fit.label.startswith(("fillna", "normalising")):
        what = f"{fit.label} {where}"
        how = ("each request is filled or scaled with statistics of its own batch (a single row is its own "
               "mean), not with the training data's")
    else:
        what = f"{fit.label} fits on request data {where}"
        how = "the transformation is learned from each request instead of the training data"
    return (f"{what}: {how}, so the same input gets different features depending on the batch. Learn the "
            "statistic during training and persist it with the model (a SimpleImputer/StandardScaler inside "
            "the saved Pipeline); serving should only call transform/predict.")


def _common_dir(a: str, b: str) -> str:
    try:
        return os.path.commonpath([os.path.abspath(a), os.path.abspath(b)])
    except ValueError:
        return ""


def _depth(path: str) -> int:
    return len([p for p in path.replace("\\", "/").split("/") if p]) if path else -1


def _under(path: str, root: str) -> bool:
    if not root:
        return True
    try:
        return os.path.commonpath([os.path.abspath(path), root]) == root
    except ValueError:
        return False
