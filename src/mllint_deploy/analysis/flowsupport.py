"""What the leakage dataflow knows before it walks: its view of the library concepts, the words that
name test and validation data, and small readers of call arguments and subscripts."""

from __future__ import annotations

import builtins
import functools

import libcst as cst

from mllint_deploy.analysis.calls import keyword, positional, string_value
from mllint_deploy.analysis.values import (
    Data, Fit, Flow, Obj, Score, ScoreList, Seq, name_words,
)
from mllint_deploy.knowledge import knowledge

FRAME_ATTRIBUTES = frozenset(
    "values T loc iloc at iat index columns shape dtypes dtype str dt cat size ndim empty plot "
    "sparse array axes flags attrs style".split()
)
SAME_DATA_ATTRIBUTES = frozenset("values T loc iloc at iat str dt cat array".split())
SELECT_FUNCS = frozenset({"max", "min", "sorted", "argmax", "argmin", "nanargmax", "nanargmin"})
SELECT_METHODS = frozenset({"idxmax", "idxmin", "sort_values", "nlargest", "nsmallest", "max", "min", "argmax",
                             "argmin", "index", "rank"})
FALSY = ("None", "False")
BUILTINS = frozenset(dir(builtins))



class Knowledge:
    """The concepts the leakage dataflow asks about, as sets, built once per process."""

    def __init__(self) -> None:
        k = knowledge()
        self.concepts = k
        self.kind_of = k.step_kinds()
        self.splitters: dict[str, str] = {q: k.names[q].shuffles or "never" for q in k.having("splitter")}
        self.fitting_functions = k.having("fitting_function")
        self.row_wise_functions = k.having("row_function")
        self.fit_methods = k.method_names("fit")
        self.column_statistics = k.method_names("statistic")
        self.lookup_keeping = k.method_names("keeps_lookup")
        self.lookup_applying = k.method_names("applies_lookup")
        self.column_statistic_functions = k.having("statistic")
        self.resampling_functions = k.having("resampling_function")
        self.split_functions = k.having("split")
        self.cross_validation_functions = k.having("cross_validation")
        self.validation_keywords = frozenset(k.keywords.get("validation_data", ()))
        self.data_readers = k.having("reader")
        self.data_wrappers = k.having("wrapper")
        self.combine_functions = k.having("combine")
        self.datetime_constructors = k.having("datetime")
        self.time_words = k.words["time_columns"]
        self.test_words = k.words["test"]
        self.validation_words = k.words["validation"]
        self.apply_methods = k.method_names("apply")
        self.objective_methods = k.method_names("objective_search")
        self.metric_prefixes = k.prefixes["metrics"]
        self.ml_roots = frozenset({q.split(".")[0] for q in self.kind_of} | {"sklearn", "xgboost", "lightgbm",
                                  "catboost", "keras", "tensorflow", "torch", "imblearn"})


@functools.lru_cache(maxsize=None)
def knowledge_sets() -> Knowledge:
    return Knowledge()


def is_test_name(name: str, k: Knowledge) -> bool:
    return bool(name_words(name) & k.test_words)


def has_words(name: str, words) -> bool:
    return bool(name_words(name) & words)


class FunctionSummary:
    """What a project function does to its parameters, as seen from a call site (`module`: the
    summary book of the module that defines it)."""

    def __init__(self, node: cst.FunctionDef, params: list[str], flow: Flow, param_roots: list[frozenset[int]],
                 module=None, free: dict[str, frozenset[int]] | None = None):
        self.node = node
        self.free = free or {}  # module globals the function reads as data, with the rows they stand for
        self.params = params
        self.flow = flow
        self.param_roots = param_roots
        self.module = module


class SplitOutputs(Seq):
    """The outputs of a split, named by the targets they are unpacked into."""

    def __init__(self, items):
        super().__init__(items)
        self.split = items[0].split if items else None


def row_wise_here(concept, call: cst.Call) -> bool:
    """Whether the arguments select a per-row mode of the step (`Imputer(axis=1)`)."""
    for name, values in concept.row_wise_when:
        value = keyword(call, name)
        if isinstance(value, cst.Integer) and int(value.value) in values:
            return True
        if string_value(value) is not None and string_value(value) in values:
            return True
    return False


def selects_columns(args) -> bool:
    """A pipeline whose ColumnTransformer drops unlisted columns sees only the columns it names."""
    stack = list(args[0]) + list(args[1].values())
    while stack:
        v = stack.pop()
        if isinstance(v, Seq):
            stack.extend(v.items)
        elif isinstance(v, Obj) and (v.qualname or "").rsplit(".", 1)[-1] in (
                "ColumnTransformer", "make_column_transformer") and isinstance(v.node, cst.Call):
            remainder = keyword(v.node, "remainder")
            if string_value(remainder) != "passthrough":
                return True
    return False


def scores_in(args) -> list[Score]:
    out = []
    for v in list(args[0]) + list(args[1].values()):
        if isinstance(v, Score):
            out.append(v)
        elif isinstance(v, ScoreList):
            out.extend(v.scores)
        elif isinstance(v, Seq):
            out.extend(s for s in v.items if isinstance(s, Score))
    return out


def shares_rows(fit: Fit, data: Data) -> bool:
    return fit.data is not None and bool(fit.data.roots & data.roots)


def truthy(expr) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def whole_slice(sl) -> bool:
    """`X[:, 1:]`: the `:` keeps every row."""
    return isinstance(sl, cst.Slice) and sl.lower is None and sl.upper is None and sl.step is None


def int_index(expr: cst.Subscript) -> int | None:
    if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
        return None
    v = expr.slice[0].slice.value
    neg = False
    if isinstance(v, cst.UnaryOperation) and isinstance(v.operator, cst.Minus):
        v, neg = v.expression, True
    if isinstance(v, cst.Integer):
        n = int(v.value)
        return -n if neg else n
    return None




def axis_is_columns(call: cst.Call) -> bool:
    """`df.mean()` / `np.mean(X, axis=0)` aggregate over rows; `axis=1` is per row."""
    axis = keyword(call, "axis")
    if axis is None:
        return True
    if isinstance(axis, cst.Integer):
        return axis.value == "0"
    s = string_value(axis)
    return s in ("index", "rows") if s is not None else True


def drop_columns(columns, names):
    if columns is None or not names:
        return columns
    mode, cols = columns
    if mode == "all":
        return ("all", frozenset(cols) | frozenset(names))
    return ("only", tuple(c for c in cols if c not in set(names)))


def drop_columns_of(call: cst.Call, walker) -> list[str] | None:
    cols = keyword(call, "columns")
    if cols is not None:
        return walker._strings_of(cols)
    labels = keyword(call, "labels") or positional(call, 0)
    axis = keyword(call, "axis")
    if axis is None and len([a for a in call.args if a.keyword is None]) >= 2:
        axis = positional(call, 1)
    if labels is not None and axis is not None:
        if (isinstance(axis, cst.Integer) and axis.value == "1") or string_value(axis) == "columns":
            return walker._strings_of(labels)
    return None
