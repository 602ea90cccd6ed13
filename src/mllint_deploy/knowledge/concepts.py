"""Library knowledge as concepts: the only reader of `rules/knowledge/*.yaml`.

Every rule family asks the same question, "what is this qualified name?", and gets the same typed
answer: a `Concept` with its roles (a transformer that learns from rows, a resampler, a splitter, an
estimator, a loader that unpickles, a persister, a seeder, a draw from a global RNG, a request handler
decorator, a validator ...) and facets (its seed parameter, whether it shuffles, where its artifact
path argument is ...). Each fact is written once, in the file of its library.

Names are canonical before they are looked up: `aliases.yaml` maps moved, renamed and deprecated APIs
(`sklearn.cross_validation`, `sklearn.preprocessing.Imputer`, `tensorflow.keras`, `pytorch_lightning`
...) to today's names, and a name reached through an implementation module of a package that
re-exports it (`sklearn.ensemble.forest.RandomForestClassifier`) is found under the public name.
`canonical()` is what name resolution applies, for every family.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from mllint_deploy import catalogue
from mllint_deploy.catalogue import CatalogueError, load_rule_file

# files that list names (`names:`) and files of other knowledge
_LIBRARY_FILES = ("sklearn", "data", "boosting", "deep_learning", "persistence", "web", "python")

Arg = tuple  # (position or None, keyword or None): where a call passes an argument


@dataclass(frozen=True)
class Concept:
    """What one qualified name is. Facets that do not apply are None / empty / False."""

    qualname: str
    roles: frozenset[str]
    seed: str | None = None  # the seed parameter (estimators, split functions, splitters)
    fixed_default_seed: bool = False  # left unset, the library uses a fixed seed: runs repeat
    seeds_members: bool = False  # ensembles that seed the estimators they are given from their own seed
    shuffles: str | None = None  # splitters: always | never | when-shuffle-true
    arrays: bool = False  # split functions: every positional argument is an array split alike (`*arrays`)
    samples: str | None = None  # resamplers: over | under | combined
    rng: str | None = None  # draws and weight initialisers: python | numpy | torch | tensorflow
    seeds: tuple[str, ...] = ()  # seeders: the global RNGs they seed
    seed_arg: Arg | None = None  # explicit generators: where the seed goes
    seeded_by: str | None = None  # explicit generators seeded by a method (`torch.Generator().manual_seed`)
    path: Arg | None = None  # loaders and persisters: the artifact path
    object: Arg | None = None  # persisters: the saved object
    handle: bool = False  # the path argument is an open file
    unpickles: bool = False  # loading runs code stored in the artifact
    data: Arg | None = None  # training functions: the training data
    objective: Arg | None = None  # objective searches: the function called once per trial
    builds: str | None = None  # array | frame | series
    keeps_columns: bool = False  # wrappers whose result has the argument's rows and columns
    input: str | None = None  # encoders and scalers: categorical | numeric input columns
    column_transformer: bool = False
    serves: tuple[str, ...] = ()  # handler base classes: the methods that serve requests
    type: str | None = None  # constrained types: the scalar type
    row_wise_when: tuple = ()  # ((keyword, values), ...) under which the step works row by row

    def is_(self, role: str) -> bool:
        return role in self.roles


# roles of fitted or applied steps and the kind of step each builds
_STEP_KINDS = (("transformer", "transformer"), ("selector", "selector"), ("vectorizer", "vectorizer"),
               ("resampler", "resampler"), ("row_wise", "row_wise"), ("label_encoder", "label"),
               ("pipeline", "pipeline"), ("search", "search"))

_FACETS = {f for f in Concept.__dataclass_fields__} - {"qualname", "roles"}


def _arg(value) -> Arg | None:
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2):
        raise ValueError(f"an argument location is [position, keyword], not {value!r}")
    return (value[0], value[1])


def _concept(qualname: str, raw: dict, where: str) -> Concept:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: {qualname}: not a mapping")
    unknown = set(raw) - _FACETS - {"role"}
    if unknown:
        raise CatalogueError(f"{where}: {qualname}: unknown facet(s) {', '.join(sorted(unknown))}")
    roles = raw.get("role") or []
    roles = [roles] if isinstance(roles, str) else list(roles)
    kw: dict[str, Any] = {}
    try:
        for key, value in raw.items():
            if key == "role":
                continue
            if key in ("path", "object", "data", "seed_arg", "objective"):
                value = _arg(value)
            elif key in ("seeds", "serves"):
                value = tuple(value or ())
            kw[key] = value
    except ValueError as exc:
        raise CatalogueError(f"{where}: {qualname}: {exc}") from None
    return Concept(qualname=qualname, roles=frozenset(roles), **kw)


@dataclass
class Knowledge:
    """Everything `rules/knowledge/` says, read once per process (see `knowledge()`)."""

    names: dict[str, Concept] = field(default_factory=dict)
    methods: dict[str, Any] = field(default_factory=dict)
    keywords: dict[str, Any] = field(default_factory=dict)
    words: dict[str, frozenset[str]] = field(default_factory=dict)
    packages: dict[str, frozenset[str]] = field(default_factory=dict)
    prefixes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    roles: dict[str, frozenset[str]] = field(default_factory=dict)
    serving: dict[str, tuple[str, ...]] = field(default_factory=dict)  # in file order
    mlflow: dict[str, Any] = field(default_factory=dict)
    module_aliases: dict[str, str] = field(default_factory=dict)
    unbound_names: dict[str, str] = field(default_factory=dict)  # `np` used without an import: numpy
    name_aliases: dict[str, str] = field(default_factory=dict)
    method_aliases: dict[str, str] = field(default_factory=dict)
    reexporting: frozenset[str] = frozenset()
    readiness: dict[str, Any] = field(default_factory=dict)  # readiness.yaml: the checklist's evidence
    _by_role: dict[str, frozenset[str]] = field(default_factory=dict)
    _canonical_memo: dict[str, str] = field(default_factory=dict)

    # -- names -------------------------------------------------------------------------------
    def concept(self, qualname: str | None) -> Concept | None:
        """What a qualified name is (after `canonical`), or None for a name no knowledge file lists."""
        if qualname is None:
            return None
        return self.names.get(self.canonical(qualname))

    def canonical(self, qualname: str) -> str:
        return _canonical(self, qualname)

    def having(self, role: str) -> frozenset[str]:
        """Every (canonical) name with this role."""
        if role not in self._by_role:
            self._by_role[role] = frozenset(q for q, c in self.names.items() if role in c.roles)
        return self._by_role[role]

    def step_kinds(self) -> dict[str, str]:
        """Name -> the kind of step it builds, for the names that learn or transform (a name with
        several roles takes the last of `_STEP_KINDS`: a search over a pipeline is a search)."""
        if "_step_kinds" not in self._by_role:
            table: dict[str, str] = {}
            for role, kind in _STEP_KINDS:
                for q in self.having(role):
                    table[q] = kind
            self._by_role["_step_kinds"] = table  # type: ignore[assignment]
        return self._by_role["_step_kinds"]  # type: ignore[return-value]

    def method(self, name: str) -> str:
        """A method name as today's APIs spell it (`fit_sample` -> `fit_resample`)."""
        return self.method_aliases.get(name, name)

    def method_names(self, group: str) -> frozenset[str]:
        value = self.methods.get(group) or ()
        return frozenset(value)

    def evidence_names(self, key: str) -> tuple[str, ...]:
        """A list of `readiness.yaml` (names, prefixes or words the checklist's evidence is made of)."""
        value = self.readiness.get(key)
        if value is None:
            raise CatalogueError(f"knowledge/readiness.yaml: no list '{key}'")
        return value


def _canonical(k: Knowledge, qualname: str) -> str:
    memo = k._canonical_memo
    if qualname in memo:
        return memo[qualname]
    name = qualname
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        target = k.module_aliases.get(".".join(parts[:cut]))
        if target is not None:
            name = ".".join([target, *parts[cut:]])
            break
    name = k.name_aliases.get(name, name)
    parts = name.split(".")
    if name not in k.names and len(parts) > 2 and parts[0] in k.reexporting:
        # `pkg.sub.impl.Name` -> `pkg.sub.Name` -> `pkg.Name`: the nearest public re-export
        for keep in range(len(parts) - 2, 0, -1):
            shorter = ".".join([*parts[:keep], parts[-1]])
            if shorter in k.names:
                name = shorter
                break
    memo[qualname] = name
    return name


def _strings(value, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogueError(f"{where}: expected a list of strings")
    return frozenset(value)


@functools.lru_cache(maxsize=None)
def knowledge() -> Knowledge:
    """The knowledge files, read once per process; malformed files raise CatalogueError."""
    root = catalogue.rules_dir() / "knowledge"
    k = Knowledge()
    for name in _LIBRARY_FILES:
        where = f"knowledge/{name}.yaml"
        data = _read(root / f"{name}.yaml", where)
        for qualname, raw in (data.get("names") or {}).items():
            if qualname in k.names:
                raise CatalogueError(f"{where}: {qualname} is listed twice (each fact is written once)")
            k.names[qualname] = _concept(qualname, raw, where)
        for key, value in (data.get("patterns") or {}).items():
            k.serving[key] = tuple(sorted(_strings(value, f"{where}: patterns.{key}"), key=value.index))
        if "mlflow" in data:
            k.mlflow = dict(data["mlflow"])
    methods = _read(root / "methods.yaml", "knowledge/methods.yaml")
    k.methods = dict(methods.get("methods") or {})
    k.keywords = dict(methods.get("keywords") or {})
    vocabulary = _read(root / "vocabulary.yaml", "knowledge/vocabulary.yaml")
    for table, target in (("words", k.words), ("packages", k.packages), ("roles", k.roles)):
        for key, value in (vocabulary.get(table) or {}).items():
            target[key] = _strings(value, f"knowledge/vocabulary.yaml: {table}.{key}")
    k.prefixes = {key: tuple(v) for key, v in (vocabulary.get("prefixes") or {}).items()}
    aliases = _read(root / "aliases.yaml", "knowledge/aliases.yaml")
    k.module_aliases = dict(aliases.get("modules") or {})
    k.name_aliases = dict(aliases.get("names") or {})
    k.method_aliases = dict(aliases.get("methods") or {})
    k.unbound_names = {str(n): str(q) for n, q in (aliases.get("unbound_names") or {}).items()}
    k.reexporting = frozenset(aliases.get("reexporting_packages") or ())
    k.readiness = _readiness(_read(root / "readiness.yaml", "knowledge/readiness.yaml"))
    for old, rule in (aliases.get("row_wise_when") or {}).items():
        target = k.canonical(old)
        if target not in k.names:
            raise CatalogueError(f"knowledge/aliases.yaml: row_wise_when: {old} is not a known name")
        when = tuple((kw, tuple(values)) for kw, values in rule.items())
        # the old name keeps its own concept: the new one's, with the per-row condition
        base = k.names[target]
        k.names[old] = Concept(**{**base.__dict__, "qualname": old, "row_wise_when": when})
        k.name_aliases.pop(old, None)
    k._canonical_memo.clear()
    return k


def _readiness(data: dict) -> dict[str, Any]:
    """readiness.yaml: lists of strings as tuples, `per_class_keywords` as (keyword, values) pairs."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        where = f"knowledge/readiness.yaml: {key}"
        if key == "per_class_keywords":
            if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
                raise CatalogueError(f"{where}: expected a table of keyword = [values]")
            out[key] = tuple((kw, tuple(values)) for kw, values in value.items())
        else:
            out[key] = tuple(sorted(_strings(value, where), key=value.index))
    return out


def _read(path, where: str) -> dict:
    try:
        data = load_rule_file(path)
    except OSError as exc:
        raise CatalogueError(f"{where} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{where} is not a mapping")
    return data
