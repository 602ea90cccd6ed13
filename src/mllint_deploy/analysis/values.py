"""The abstract values of the dataflow model: data sets and where they came from, fitted objects,
statistics, and the events (fits, splits, applications, cross-validation, scoring) that rules query."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import count
from typing import Optional

import libcst as cst

_ids = count(1)


def fresh_root() -> int:
    return next(_ids)


_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def name_words(name: str) -> set[str]:
    """`X_test` -> {x, test}; `testDF` -> {test, df}; `Xtest` -> {xtest}."""
    return {w.lower() for w in _WORD.findall(name or "")}


# Columns: None when unknown; ("all", dropped) for a frame minus some columns; ("only", names).
Columns = Optional[tuple]


@dataclass(eq=False)
class Data:
    """A data set (frame, array, series, texts) and its provenance."""

    name: str
    node: cst.CSTNode | None
    roots: frozenset[int]
    origin: str = "derived"  # file | unknown | param | call | derived | literal
    part: str | None = None  # train | test | val | None (whole or unknown)
    via: tuple["Fit", ...] = ()  # fitted steps whose output (or statistic) is in this data
    test_hint: bool = False  # a file or (unknown-origin) variable named test/holdout
    time_ordered: bool = False
    columns: Columns = None
    target: str | None = None  # the single column this series holds (`df["price"]`)
    split: "Split | None" = None
    file_name: str | None = None
    stmt: int = 0  # the statement that created it
    predictions_of: "Obj | None" = None
    slice_of: "Data | None" = None  # rows taken from this data (a slice, head, sample, boolean mask)
    column_of: "Data | None" = None  # the frame this column was selected from (`df["age"]`)
    subset: bool = False  # some rows of a larger data set (a slice, a split part): not "all rows"
    windowed: bool = False
    raw: cst.CSTNode | None = None  # request input nothing validated on the way: where it came from
    client: cst.CSTNode | None = None  # request input, validated or not (still the client's choice)
    altered: bool = False  # its values went through a value transformation (str.lower, a mapping, log ...)
    derived: tuple = ()  # ((new column, the one column it was computed from), ...): `df["log_y"] = np.log(df["y"])`
    lookup: "Stat | None" = None  # per-group statistics of another data set (`df.groupby("job")["y"].mean()`)
    grouped: bool = False  # a `groupby` view  # a rolling/expanding/grouped view: its statistics are per row, not per column

    def describe(self) -> str:
        if self.name:
            return f"'{self.name}'"
        if self.column_of is not None and self.column_of.name and self.target:
            return f"'{self.column_of.name}[\"{self.target}\"]'"
        return "the data"


@dataclass(eq=False)
class Obj:
    """An object of a known (or unknown) class: a scaler, a model, a splitter, a pipeline..."""

    label: str
    qualname: str | None
    kind: str  # transformer selector vectorizer resampler label row_wise pipeline search splitter estimator unknown
    node: cst.CSTNode | None
    fits: list["Fit"] = field(default_factory=list)
    shuffle: bool = False
    name: str = ""
    selects_columns: bool = False  # a pipeline starting with a ColumnTransformer that drops the rest
    tuned_in: int | None = None  # the loop whose variable sets one of its (non-seed) parameters

    @property
    def learns_from_rows(self) -> bool:
        return self.kind in LEARNER_KINDS


LEARNER_KINDS = frozenset({"transformer", "selector", "vectorizer", "resampler", "function", "stat", "pipeline"})


@dataclass(eq=False)
class Stat:
    """A whole-column statistic of some data (`df["age"].mean()`)."""

    data: Data
    node: cst.CSTNode
    label: str
    what: str = ""  # how a finding names it, when not "the column <label>" (`the per-group mean of 'y'`)


@dataclass(eq=False)
class Seq:
    """A tuple or list of values (`[(X_val, y_val)]`, the result of `fit_resample`)."""

    items: list


@dataclass(eq=False)
class Index:
    """Row indices of one part of a split (`for tr, te in kf.split(X)`)."""

    roots: frozenset[int]
    part: str


@dataclass(eq=False)
class Score:
    """A metric computed on some data; `on_test` when that data is the test part."""

    node: cst.CSTNode
    on_test: bool
    loops: tuple[int, ...]
    model: "Obj | None" = None  # the model scored (`model.score(...)`, a metric of `model.predict(...)`)
    roots: frozenset[int] = frozenset()  # the rows scored (a summary maps them to the caller's arguments)


@dataclass(eq=False)
class ScoreList:
    """A container that collected scores (`scores.append(acc)`)."""

    scores: list[Score]


@dataclass(eq=False)
class Fit:
    """Something learned from data: `scaler.fit(X)`, `SMOTE().fit_resample(X, y)`, `df.mean()` used to fill."""

    index: int
    node: cst.CSTNode
    label: str
    kind: str
    method: str
    data: Data | None
    target: Data | None
    obj: Obj | None
    loops: tuple[int, ...]
    call: cst.Call | None = None
    summary_call: cst.CSTNode | None = None  # set when the fit happens inside a helper called here
    inner: bool = False  # replayed from a helper that fitted on data of its own (the helper's flow judges it)
    duplicates: bool = False  # draws rows with replacement (`resample(df)`): copies end up on both sides of a split


@dataclass(eq=False)
class Split:
    """A train/test split: `train_test_split`, a helper that splits, or slicing into named parts."""

    index: int
    node: cst.CSTNode
    label: str
    inputs: list[Data]
    shuffled: bool
    summary_call: cst.CSTNode | None = None


@dataclass(eq=False)
class Apply:
    """A fitted object applied to data: transform, predict, score."""

    index: int
    node: cst.CSTNode
    obj: Obj
    method: str
    data: Data | None
    loops: tuple[int, ...]


@dataclass(eq=False)
class CrossVal:
    """Cross-validation of an estimator on data (`cross_val_score`, `GridSearchCV(...).fit`)."""

    index: int
    node: cst.CSTNode
    label: str
    data: Data | None
    cv: object | None  # the `cv=` value (an Obj for a splitter) or None


@dataclass(eq=False)
class FoldSplit:
    """A splitter's `.split(X)` (folds), kept for the shuffled-time-split rule."""

    index: int
    node: cst.CSTNode
    splitter: Obj
    data: Data | None


@dataclass(eq=False)
class ValidationUse:
    """Data passed to `fit` as validation data (`eval_set=`, `validation_data=`)."""

    index: int
    node: cst.CSTNode
    keyword: str
    data: list[Data]
    steers: bool = True  # early stopping, checkpointing or LR scheduling reads it (not only a loss curve)


@dataclass(eq=False)
class Selection:
    """A score compared or ranked to pick a model (`if acc > best`, `max(scores)`)."""

    node: cst.CSTNode
    scores: list[Score]
    search: str | None = None  # the objective search that compares them (`optimize()`, `fmin()`)


@dataclass(frozen=True)
class ParamSource:
    """A function parameter as the origin of input, in a summary: the call says whether it is the
    request's (`Data.raw` / `Data.client` hold it where a request source node would be)."""

    index: int


@dataclass(eq=False)
class Request:
    """A request object (`flask.request`, a handler's `request: Request`): its body attributes are input."""

    node: cst.CSTNode | None


@dataclass(eq=False)
class ModelUse:
    """A model asked for predictions (`model.predict(x)`, `model(x)`, `session.run(...)`)."""

    index: int
    node: cst.CSTNode
    receiver: str
    method: str  # `__call__` for a call of the model itself
    datas: tuple  # the data arguments (request input among them makes it MLD401)
    no_grad: bool  # inside torch.no_grad()/inference_mode() (or a function decorated with them)
    torch: bool  # a torch module (MLD404 asks for eval() and no_grad)
    built_by: str | None = None  # the imported project function the model came from
    evaluated: bool = False  # put in eval mode by the module that defines it (a helper in another file)


@dataclass(eq=False)
class ModelLoad:
    """A model loaded from an artifact (`joblib.load(path)`, `from_pretrained(name)`)."""

    index: int
    node: cst.CSTNode
    loader: str
    datas: tuple  # the data arguments (the path or bytes)
    untrusted: bool  # the path or bytes come from the request
    lazy: bool  # a one-time initialisation (`if model is None:`)
    cached: bool  # in a function decorated with lru_cache and the like
    foreign: bool = False  # inside a function of another module (placed at the call that reaches it)


@dataclass
class Flow:
    """Everything the dataflow walk learned about one scope, in source order."""

    scope_node: cst.CSTNode
    fits: list[Fit] = field(default_factory=list)
    splits: list[Split] = field(default_factory=list)
    applies: list[Apply] = field(default_factory=list)
    cross_vals: list[CrossVal] = field(default_factory=list)
    fold_splits: list[FoldSplit] = field(default_factory=list)
    validation_uses: list[ValidationUse] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    returns: list = field(default_factory=list)
    env: dict = field(default_factory=dict)
    loop_fits: set[int] = field(default_factory=set)  # loops that contain a fit
    model_uses: list[ModelUse] = field(default_factory=list)
    loads: list[ModelLoad] = field(default_factory=list)
    project_calls: list = field(default_factory=list)  # (call node, qualified name) of imported functions
