"""The values the train/serve skew rules reason about, and the library knowledge they read.

`Val` is what an expression holds as far as the skew rules care (a frame with known columns, a row
of request fields, an artifact path ...). Column lists are kept symbolically (`Spec`):
`("lit", names)`, `("ref", "pkg.features.FEATURES")` for an imported constant, `("one", ref)` for an
imported single name inside a list literal, `("cat", a, b)`, `("drop", a, b)`, `("add", a, names)`;
`resolve_spec` turns them into names once the other modules' constants are known. Paths are tuples of
pieces: `("s", text)`, `("r", qualified name)`, `("?",)` for an unknown piece; `path_segments` and
`artifact_key` read them once resolved. Everything here is plain tuples and strings (picklable).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import libcst as cst

from mllint_deploy.analysis.calls import keyword, positional, string_value
from mllint_deploy.analysis.names import dotted
from mllint_deploy.knowledge import knowledge

INF = 1 << 30

# ---------------------------------------------------------------------------------------------
# knowledge


class SkewKnowledge:
    """The concepts the skew rules ask about, as tables, built once per process."""

    def __init__(self) -> None:
        k = knowledge()
        names = k.names
        self.persist_functions = {q: {"object": names[q].object, "path": names[q].path, "handle": names[q].handle}
                                  for q in k.having("persister")}
        self.persist_methods: dict = dict(k.methods.get("persist") or {})
        self.persist_method_keywords = tuple(k.methods.get("persist_path_keywords") or ())
        m = k.mlflow
        flavors = m.get("flavors", [])
        self.mlflow_log = {f"mlflow.{f}.log_model" for f in flavors}
        self.mlflow_save = {f"mlflow.{f}.save_model" for f in flavors}
        self.mlflow_load = {f"mlflow.{f}.load_model" for f in flavors}
        self.mlflow_log_spec: dict = dict(m.get("log_model", {}))
        self.mlflow_save_spec: dict = dict(m.get("save_model", {}))
        self.mlflow_load_spec: dict = dict(m.get("load_model", {}))
        self.mlflow_object_keywords = tuple(m.get("object_keywords", []))
        # loaders whose artifact path the code names (not `pickle.loads(bytes)`)
        self.load_functions = {q: {"path": names[q].path, "handle": names[q].handle}
                               for q in k.having("loader") if names[q].path is not None}
        self.load_methods: dict = dict(k.methods.get("load_into") or {})
        self.load_state_methods = k.method_names("load_state")
        self.predict_methods = k.method_names("predict")
        self.passthrough = frozenset(q for q in k.having("wrapper") if names[q].keeps_columns)
        self.array_constructors = frozenset(q for q, c in names.items() if c.builds == "array")
        self.frame_constructors = frozenset(q for q, c in names.items() if c.builds == "frame")
        self.series_constructors = frozenset(q for q, c in names.items() if c.builds == "series")
        self.preserving = k.method_names("column_preserving")
        self.array_methods = k.method_names("to_array")
        self.array_attributes = k.method_names("array_attributes")
        self.dump_methods = k.method_names("payload_dump")
        self.request_objects = tuple(sorted(k.having("request")))
        self.path_join = k.having("path_join")
        self.path_constructors = k.having("path")
        self.env_lookups = k.having("env_lookup")
        self.preprocessing_kinds = k.roles["preprocessing"]
        self.categorical_encoders = frozenset(q for q, c in names.items() if c.input == "categorical")
        self.numeric_scalers = frozenset(q for q, c in names.items() if c.input == "numeric")
        self.column_transformers = frozenset(q for q, c in names.items() if c.column_transformer)
        self.schema_bases = k.having("schema_base")
        self.schema_fields = k.having("schema_field")
        self.constrained_types = {q: names[q].type for q in k.having("constrained_type")}
        self.not_feature_functions = k.words["not_feature_functions"]
        self.training_functions = {q: {"data": names[q].data} for q in k.having("train_function")}
        self.schema_parse_methods = k.method_names("schema_parse")
        # shared with the leakage rules
        self.split_functions = k.having("split")
        self.fit_methods = k.method_names("fit")
        self.fitting_functions = k.having("fitting_function")
        # per-row functions keep the columns (not get_dummies: it makes new ones)
        self.row_wise = frozenset(q for q in k.having("row_function") if q.startswith("numpy."))
        self.column_statistics = k.method_names("statistic")
        self.column_statistic_functions = k.having("statistic")
        self.kind_of = k.step_kinds()

    def is_request_object(self, qualname: str) -> bool:
        return any(qualname == r or qualname.startswith(r + ".") for r in self.request_objects)


@functools.lru_cache(maxsize=None)
def skew_knowledge() -> SkewKnowledge:
    return SkewKnowledge()


# ---------------------------------------------------------------------------------------------
# abstract values


@dataclass(frozen=True)
class Val:
    """What an expression holds, as far as the skew rules care.

    kind: unknown | none | param (request input or a payload object) | field (one named value) |
    row (a dict) | records (a list of dicts) | frame | array (2-D) | vector (1-D, by elements) |
    rows2d (a nested list literal) | strs (a list of column names) | str | ref (an imported constant) |
    path | handle (an open file) | loaded (a loaded model or bundle) | loc (a `.loc`/`.iloc` indexer).
    `raw` is True when nothing transformed the values on the way from the request (False: a
    transformation; None: unknown). A `param` may carry in `key` the payload schema class it is an
    instance of; dumping it gives a row of that class's fields (`loose`)."""

    kind: str = "unknown"
    cols: tuple | None = None
    names: tuple | None = None
    raw: bool | None = None
    line: int = 0
    load: int | None = None
    path: tuple | None = None
    key: str | None = None
    loose: bool = False  # columns from a payload schema's fields: extra ones (ids...) are no evidence


UNKNOWN = Val()
DATA_KINDS = frozenset({"frame", "field", "array"})
DEFINING = frozenset({"expr", "unpack", "aug", "loopvar", "unknown", "import"})
SCALAR_CASTS = frozenset({"float", "int", "str", "bool", "round", "abs"})


def lit(names) -> tuple:
    return ("lit", tuple(names))


def merge_specs(parts: list[tuple]) -> tuple:
    """One spec from the pieces of a list literal (adjacent literal names merged)."""
    out: tuple | None = None
    buffer: list[str] = []

    def flush():
        nonlocal out, buffer
        if buffer:
            piece = lit(buffer)
            out = piece if out is None else ("cat", out, piece)
            buffer = []

    for p in parts:
        if p[0] == "lit":
            buffer.extend(p[1])
        else:
            flush()
            out = p if out is None else ("cat", out, p)
    flush()
    return out if out is not None else lit(())


def resolve_spec(spec, lookup, depth: int = 0) -> tuple[str, ...] | None:
    """The column names a spec stands for; `lookup(qualname)` resolves an imported constant to a spec
    (or None). None when any part is unknown."""
    if spec is None or depth > 20:
        return None
    op = spec[0]
    if op == "lit":
        return tuple(spec[1])
    if op in ("ref", "one"):
        target = lookup(spec[1])
        names = resolve_spec(target, lookup, depth + 1) if target is not None else None
        if op == "one" and names is not None and len(names) != 1:
            return None
        return names
    if op == "cat":
        a, b = resolve_spec(spec[1], lookup, depth + 1), resolve_spec(spec[2], lookup, depth + 1)
        return a + b if a is not None and b is not None else None
    if op == "drop":
        a, b = resolve_spec(spec[1], lookup, depth + 1), resolve_spec(spec[2], lookup, depth + 1)
        if a is None or b is None:
            return None
        gone = set(b)
        return tuple(x for x in a if x not in gone)
    if op == "add":
        a = resolve_spec(spec[1], lookup, depth + 1)
        b = resolve_spec(spec[2], lookup, depth + 1)
        if a is None or b is None:
            return None
        return a + tuple(x for x in b if x not in a)
    return None


def resolve_path(pieces, lookup, depth: int = 0) -> str | None:
    """The path text (unknown pieces as NUL); `lookup(qualname)` gives an imported constant's pieces."""
    if pieces is None or depth > 20:
        return None
    out = []
    for p in pieces:
        if p[0] == "s":
            out.append(p[1])
        elif p[0] == "r":
            target = lookup(p[1])
            text = resolve_path(target, lookup, depth + 1) if target is not None else None
            out.append(text if text is not None else "\0")
        else:
            out.append("\0")
    return "".join(out)


def path_segments(text: str | None) -> tuple[str, ...]:
    """`artifacts/model.joblib` -> ('artifacts', 'model.joblib'); unknown segments become '?'."""
    if text is None:
        return ()
    segments = []
    for seg in text.replace("\\", "/").split("/"):
        if seg in ("", "."):
            continue
        segments.append("?" if "\0" in seg else seg)
    return tuple(segments)


def artifact_key(text: str | None) -> str | None:
    """How training and serving are paired: the artifact's file name (its directory is often spelled
    differently on the two sides: `Path(__file__).parent / "m.joblib"` vs `"m.joblib"`), or for the
    MLflow registry `models:/NAME` (whatever stage, version or alias is loaded). `runs:/` URIs name a
    run that only exists at run time: no key."""
    if text is None:
        return None
    if text.startswith("models:/"):
        name = text[len("models:/"):].split("/")[0].split("@")[0]
        return f"models:/{name}" if name and "\0" not in name else None
    if text.startswith("runs:/"):
        return None
    if "://" in text:
        text = text.split("://", 1)[1]
    segs = path_segments(text)
    if not segs or segs[-1] in ("?", ".."):
        return None
    return segs[-1]


def imported_names(node, idx) -> list[tuple[str, str]]:
    """(local name, qualified name) bound by an import statement, as names.py resolves them."""
    out = []
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                out.append((alias.asname.name.value, full))
            else:
                top = full.split(".")[0]
                out.append((top, top))
        return out
    if isinstance(node.names, cst.ImportStar):
        return out
    base = idx._resolve_relative(len(node.relative), dotted(node.module) or "" if node.module is not None else "")
    for alias in node.names:
        name = dotted(alias.name) or ""
        local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
        out.append((local, f"{base}.{name}" if base else name))
    return out


def string_set(expr) -> set[str] | None:
    if isinstance(expr, (cst.Set, cst.List, cst.Tuple)):
        out = set()
        for el in expr.elements:
            v = string_value(el.value)
            if v is None:
                return None
            out.add(v)
        return out
    if isinstance(expr, cst.Dict):
        out = set()
        for el in expr.elements:
            v = string_value(el.key) if isinstance(el, cst.DictElement) else None
            if v is None:
                return None
            out.add(v)
        return out
    return None


def bound_locally(name: str, scope, idx) -> bool:
    s = scope
    while s is not None and s is not idx.module_scope:
        if name in s.bound:
            return True
        s = s.parent
    return False


def target_names(target) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        out = []
        for el in target.elements:
            out.extend(target_names(el.value))
        return out
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return []


def del_targets(target):
    if isinstance(target, (cst.Tuple, cst.List)):
        return [el.value for el in target.elements]
    return [target]


def locate(call: cst.Call, where):
    """The argument at `[position, keyword]`."""
    if not where:
        return None
    pos, kw = where
    if kw:
        v = keyword(call, kw)
        if v is not None:
            return v
    if pos is not None and not any(a.star for a in call.args[: pos + 1]):
        return positional(call, pos)
    return None


def axis_columns(call: cst.Call) -> bool:
    axis = keyword(call, "axis")
    if axis is None:
        axis = positional(call, 1)
    if isinstance(axis, cst.Integer):
        return axis.value == "1"
    return string_value(axis) == "columns"


def is_true(expr) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"
