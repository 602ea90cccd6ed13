"""Leakage family (MLD101-MLD106): queries over the dataflow model of each scope."""

from __future__ import annotations

import re

from mllint_deploy.analysis.dataflow import module_flows, uses_packages
from mllint_deploy.analysis.unread_splits import dead_splits
from mllint_deploy.analysis.values import Data, Fit, Obj, name_words
from mllint_deploy.knowledge import knowledge
from mllint_deploy.registry import FileCheck, register

_ROW_LEARNERS = frozenset({"transformer", "selector", "vectorizer", "resampler", "function", "stat"})
_MODELS = frozenset({"estimator", "unknown", "pipeline", "search"})


def _all_rows(d: Data) -> bool:
    """Data that is not a split part nor a slice of something larger."""
    return d.part is None and not d.subset


def _split_again(fitted: Data, split: Data) -> bool:
    """The rows a step was fitted on are split afterwards: fitted on a filtered frame (`df[df.Age.notnull()]`)
    or on the training part, then that same data is split (`X_tr, X_val = split(X_train_scaled)`). The part
    split off later was seen by the fit."""
    return fitted.part in (None, "train") and split.part == fitted.part


def _validation_split(d: Data) -> bool:
    """A validation part of a real split: a splitting call's output, or a slice named as validation data
    (`x_valid = x_all[mask]`; `cal_clean`, calories, is not a calibration set)."""
    if d.split is None:
        return False
    if d.split.label != "slicing":
        return True
    names = [d.name, d.column_of.name if d.column_of is not None else ""]
    sure = knowledge().words["sure_validation"]
    return any(name_words(n) & sure for n in names if n)


def _feature_inputs(inputs: list[Data]) -> list[Data]:
    """The feature arrays of a split: all but those named as labels (`train_test_split(y, x_a, x_b)`), or,
    when no name says, all but the last (`train_test_split(x_a, x_b, target)` feeds a two-input model)."""
    if len(inputs) < 2:
        return inputs
    words = knowledge().words["target"]
    labels = [d for d in inputs if d.name and _first_word(d.name) in words]
    if labels and len(labels) < len(inputs):
        return [d for d in inputs if d not in labels]
    return inputs[:-1]


def _first_word(name: str) -> str:
    """`y_all` -> y, `yTrain` -> y, `Target` -> target."""
    found = re.match(r"_*([A-Za-z][a-z]*|[A-Z]+)", name)
    return found.group(1).lower() if found else ""


def _holdout_predicted(predicted: list[frozenset[int]], score) -> bool:
    """The code also predicts on rows of another data set that no split of the scored rows made (a
    competition's unlabelled test file, a submission): the part split off for scoring is then a
    validation part, and choosing a model on it is what it is for. `predicted`: the roots of the whole,
    unsplit data sets the code predicts on."""
    return bool(score.roots) and any(not roots & score.roots for roots in predicted)


def _predicted_wholes(flow) -> list[frozenset[int]]:
    return [a.data.roots for a in flow.applies if a.method.startswith("predict") and a.data is not None
            and a.data.part is None and a.data.split is None and a.data.roots and a.data.origin != "param"]


def _is_test(d: Data | None) -> bool:
    return d is not None and (d.part == "test" or (d.part is None and d.test_hint))


def _fit_subject(fit: Fit, ctx) -> str:
    if fit.duplicates:
        return f"{fit.label} draws rows of {fit.data.describe()} with replacement (line {ctx.line_of(fit.node)})"
    if fit.kind == "stat":
        return f"{fit.label} of {fit.data.describe()} (line {ctx.line_of(fit.node)})"
    return f"{fit.label} fitted on {fit.data.describe()} (line {ctx.line_of(fit.node)})"


def _applies_to(ctx) -> bool:
    return uses_packages(ctx, knowledge().packages["ml"])


@register
class Leakage(FileCheck):
    codes = ("MLD101", "MLD102", "MLD103", "MLD104", "MLD105", "MLD106")

    def check(self, ctx) -> None:
        if not _applies_to(ctx):
            return
        for flow in module_flows(ctx):
            if ctx.wants("MLD101"):
                self._fit_before_split(ctx, flow)
            if ctx.wants("MLD102"):
                self._fit_on_test(ctx, flow)
            if ctx.wants("MLD103"):
                self._outside_cv(ctx, flow)
            if ctx.wants("MLD104"):
                self._test_for_selection(ctx, flow)
            if ctx.wants("MLD105"):
                self._target_in_features(ctx, flow)
            if ctx.wants("MLD106"):
                self._shuffled_time_split(ctx, flow)

    # MLD101 ------------------------------------------------------------------------------
    def _fit_before_split(self, ctx, flow) -> None:
        reported: set[int] = set()

        def report(fit: Fit, data: Data, split_node, split_label: str, after: bool = False) -> None:
            if id(fit.node) in reported:
                return
            reported.add(id(fit.node))
            if after:
                when = (f"on all rows, test rows included, and applied to the parts of the split by {split_label} "
                        f"at line {ctx.line_of(split_node)}")
            else:
                when = f"before {data.describe()} is split by {split_label} at line {ctx.line_of(split_node)}"
            if fit.duplicates:
                tail = ("copies of the same rows end up in both train and test. Split first and resample "
                        "the training part only.")
            else:
                tail = "test rows leak into training. Fit it on the training part only, or put it in a Pipeline."
            ctx.report("MLD101", fit.node, f"{_fit_subject(fit, ctx)} {when}: {tail}")

        splits = [(s.index, s.node, s.label, s.inputs, s.summary_call) for s in flow.splits]
        splits += [(fs.index, fs.node, f"{fs.splitter.label}.split", [fs.data], None)
                   for fs in flow.fold_splits if fs.data is not None]
        for index, node, label, inputs, summary_call in splits:
            # a shifted or encoded target (`y - y.min()`) is harmless
            for data in _feature_inputs(inputs):
                for fit in data.via:
                    if (fit.kind in _ROW_LEARNERS and fit.index < index and fit.data is not None
                            and (_all_rows(fit.data) or fit.duplicates or _split_again(fit.data, data))
                            and fit.data.roots & data.roots
                            and not (fit.summary_call is not None and fit.summary_call is summary_call)
                            and id(node) not in dead_splits(ctx)):  # a split nothing reads evaluates nothing
                        report(fit, data, node, label)
        # a step fitted on the whole data, then applied to the parts of a later split of it
        for apply in flow.applies:
            data, obj = apply.data, apply.obj
            if data is None or data.split is None or data.part not in ("train", "test", "val"):
                continue
            if not (obj.learns_from_rows or (obj.kind in _MODELS and data.part == "test")):
                continue
            earlier = [f for f in obj.fits if f.index < apply.index]
            fit = earlier[-1] if earlier else None  # the fit in force when the object is applied
            if (fit is not None and fit.data is not None and _all_rows(fit.data)
                    and fit.data.roots & data.roots and fit.kind != "search"):
                # fitted on all rows (before the split, or after it on the whole data), then applied
                # to the parts: the test rows shaped what the training part sees
                report(fit, fit.data, data.split.node, data.split.label, after=fit.index > data.split.index)

    # MLD102 ------------------------------------------------------------------------------
    def _fit_on_test(self, ctx, flow) -> None:
        reported: set[int] = set()
        for fit in flow.fits:
            if fit.kind == "row_wise" or fit.inner or fit.duplicates or fit.data is None or id(fit.node) in reported:
                continue
            # preprocessing refitted on the validation part (a model trained on it may be blending: not this)
            on_val = fit.data.part == "val" and fit.kind in _ROW_LEARNERS and _validation_split(fit.data)
            if not (_is_test(fit.data) or on_val):
                continue
            reported.add(id(fit.node))
            why = "a test split output" if fit.data.part == "test" else "a validation split output" if on_val else (
                f"read from '{fit.data.file_name}'" if fit.data.file_name else "named as test data")
            if on_val:
                what = "computed on" if fit.kind == "stat" else f"refitted ({fit.method}) on"
                ctx.report("MLD102", fit.node,
                           f"{fit.label} is {what} validation data {fit.data.describe()} ({why}): the validation "
                           "score no longer measures data processed like unseen data. Learn it on the training "
                           "part and only apply it to the validation part.")
                continue
            if fit.kind == "stat":
                ctx.report("MLD102", fit.node,
                           f"{fit.label} is computed on test data {fit.data.describe()} ({why}) and applied to it: "
                           "the test set is no longer processed like unseen data. Compute the statistic on the "
                           "training part and reuse it for the test part.")
                continue
            fix = "transform" if fit.method == "fit_transform" else "only apply it (transform/predict)"
            ctx.report("MLD102", fit.node,
                       f"{fit.label}.{fit.method}() learns from test data {fit.data.describe()} ({why}): the "
                       f"evaluation is no longer on unseen data. Fit on the training part and {fix} on the test part.")

    # MLD103 ------------------------------------------------------------------------------
    def _outside_cv(self, ctx, flow) -> None:
        for node, label, data, index in [(cv.node, cv.label, cv.data, cv.index) for cv in flow.cross_vals]:
            if data is None:
                continue
            steps = [f for f in data.via if f.kind in _ROW_LEARNERS and f.index < index and f.data is not None
                     and f.data.roots & data.roots and f.data.part in (None, data.part)]
            # a scaler fitted on the training part, cross-validated on the validation part: no fold was seen
            if not steps:
                continue
            names = ", ".join(dict.fromkeys(f"{f.label} (line {ctx.line_of(f.node)})" for f in steps))
            ctx.report("MLD103", node,
                       f"{data.describe()} passed to {label} was already processed by {names}, fitted on the "
                       "same rows: every fold's validation part was seen by that step, so the score is optimistic. "
                       "Put the step in a Pipeline and cross-validate the Pipeline.")

    # MLD104 ------------------------------------------------------------------------------
    def _test_for_selection(self, ctx, flow) -> None:
        for use in flow.validation_uses:
            if not use.steers:
                continue  # `eval_set=` only recording a loss curve decides nothing
            tests = [d for d in use.data if _is_test(d)]
            if tests:
                ctx.report("MLD104", use.node,
                           f"the test data {tests[0].describe()} is passed as {use.keyword}= to fit: the test set "
                           "now steers training (early stopping, model choice), so its score is optimistic. Carve a "
                           "validation set out of the training part and keep the test set for the final score.")
        predicted = _predicted_wholes(flow)
        reported = {id(sc.node) for sc in flow.scores if sc.on_test and _holdout_predicted(predicted, sc)}
        for score in flow.scores:
            model = score.model
            if score.on_test and model is not None and model.tuned_in is not None and model.tuned_in in score.loops \
                    and model.tuned_in in flow.loop_fits and id(score.node) not in reported:
                reported.add(id(score.node))
                ctx.report("MLD104", score.node,
                           f"{model.label} is refitted for each value of a loop variable (line {ctx.line_of(model.node)}) "
                           "and scored on the test set each time: the parameter is tuned to the test set and its "
                           "score is optimistic. Tune with cross-validation or a validation split, then score the "
                           "chosen model once on the test set.")
        for sel in flow.selections:
            for score in sel.scores:
                if not score.on_test or id(score.node) in reported or _holdout_predicted(predicted, score):
                    continue
                if not set(score.loops) & flow.loop_fits:
                    continue
                reported.add(id(score.node))
                if sel.search is not None:
                    ctx.report("MLD104", score.node,
                               f"{sel.search} calls the objective once per trial and keeps the best, and the "
                               "objective refits the model and scores it on the test set: the hyperparameters are "
                               "tuned to the test set and its score is optimistic. Score trials with "
                               "cross-validation or a validation split, then score the winner once on the test set.")
                    continue
                ctx.report("MLD104", score.node,
                           f"a test-set score is used to pick the best model (line {ctx.line_of(sel.node)}): the "
                           "chosen model is tuned to the test set and its score is optimistic. Select with "
                           "cross-validation or a validation split, then score the winner once on the test set.")

    # MLD105 ------------------------------------------------------------------------------
    def _target_in_features(self, ctx, flow) -> None:
        for fit in flow.fits:
            X, y = fit.data, fit.target
            if X is None or y is None or y.target is None or X.columns is None:
                continue
            if fit.obj is not None and (fit.obj.kind not in _MODELS or fit.obj.selects_columns):
                continue
            if not X.roots & y.roots:
                continue
            mode, cols = X.columns
            inside = (y.target not in cols) if mode == "all" else (y.target in cols)
            copies = [new for new, source in X.derived if source == y.target
                      and ((new not in cols) if mode == "all" else (new in cols))]
            if not inside and copies:
                ctx.report("MLD105", fit.node,
                           f"the features {X.describe()} passed to {fit.label}.{fit.method}() still contain "
                           f"'{copies[0]}', computed from the target column '{y.target}' that {y.describe()} holds: "
                           f"the model reads the answer from a transform of it. Drop it from the features, e.g. "
                           f".drop(columns=['{copies[0]}']).")
                continue
            if inside:
                ctx.report("MLD105", fit.node,
                           f"the features {X.describe()} passed to {fit.label}.{fit.method}() still contain the "
                           f"target column '{y.target}' that {y.describe()} holds: the model reads the answer from "
                           f"its inputs. Drop it from the features, e.g. .drop(columns=['{y.target}']).")

    # MLD106 ------------------------------------------------------------------------------
    def _shuffled_time_split(self, ctx, flow) -> None:
        for split in flow.splits:
            if split.shuffled and split.summary_call is None and any(d.time_ordered for d in split.inputs):
                data = next(d for d in split.inputs if d.time_ordered)
                ctx.report("MLD106", split.node,
                           f"{data.describe()} is ordered in time (dates parsed, indexed or sorted by date) but "
                           f"{split.label} shuffles it: the model trains on rows from after the test period. Split "
                           "at a cut-off date, pass shuffle=False, or use TimeSeriesSplit.")
        seen: set[int] = set()
        candidates = [(fs.splitter, fs.data) for fs in flow.fold_splits]
        candidates += [(cv.cv, cv.data) for cv in flow.cross_vals if isinstance(cv.cv, Obj)]
        for splitter, data in candidates:
            if splitter.kind != "splitter" or not splitter.shuffle or data is None or not data.time_ordered:
                continue
            if id(splitter.node) in seen:
                continue
            seen.add(id(splitter.node))
            ctx.report("MLD106", splitter.node,
                       f"{splitter.label} shuffles {data.describe()}, which is ordered in time: folds train on "
                       "the future and validate on the past. Use TimeSeriesSplit (or shuffle=False).")
