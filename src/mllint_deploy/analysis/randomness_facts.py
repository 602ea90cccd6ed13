"""What one module does with randomness, for the reproducibility project pass: the RNGs it seeds (and
the functions that seed with `workers=True`), its first draw from each global RNG, stochastic estimators
built without a fixed seed, shuffling or multi-worker data loaders, and dataset classes whose
`__getitem__` draws from numpy's or Python's RNG."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from mllint_deploy.analysis.calls import (
    has_splat,
    is_none,
    is_true,
    keyword,
    positional,
)
from mllint_deploy.analysis.modulefacts import call_qualname
from mllint_deploy.analysis.names import dotted
from mllint_deploy.analysis.seeds import is_fixed_seed, randomness_knowledge
from mllint_deploy.analysis.shown_only import importable, learns_nothing, only_displayed


def spelled(call: cst.Call) -> str:
    return dotted(call.func) or "call"


def assigned_name(call: cst.Call, scope) -> str | None:
    for name, values in scope.assigned.items():
        if any(v is call for v in values):
            return name
    return None


@dataclass
class RandomnessFacts:
    """What one module does with randomness, for the project pass."""

    seeds: set[str] = field(default_factory=set)  # RNGs seeded by a call anywhere in the module
    worker_seeders: set[str] = field(default_factory=set)  # functions calling `seed_everything(..., workers=True)`
    draws: dict[str, tuple[tuple[int, int, int, int], str, str]] = field(default_factory=dict)  # rng -> first draw
    estimators: list[tuple[tuple[int, int, int, int], str, str]] = field(default_factory=list)
    loaders: list[tuple[tuple[int, int, int, int], str | None, str]] = field(default_factory=list)
    datasets: dict[str, set[str]] = field(default_factory=dict)  # class qualname -> RNGs its __getitem__ draws


def _splat_keywords(call: cst.Call, idx, scope) -> dict[str, cst.BaseExpression] | None:
    """The keywords a `**params` splat passes, when `params` is a literal dict (`dict(a=1)` or `{"a": 1}`)."""
    out: dict[str, cst.BaseExpression] = {}
    for arg in call.args:
        if arg.star == "*":
            return None
        if arg.star != "**":
            continue
        value = arg.value
        if isinstance(value, cst.Name):
            value = idx.last_value(value.value, scope)
        if isinstance(value, cst.Dict):
            for el in value.elements:
                key = getattr(el, "key", None)
                if not isinstance(el, cst.DictElement) or not isinstance(key, cst.SimpleString):
                    return None
                out[key.evaluated_value] = el.value
        elif isinstance(value, cst.Call) and dotted(value.func) == "dict" and all(
                a.keyword is not None for a in value.args):
            out.update({a.keyword.value: a.value for a in value.args})
        else:
            return None
    return out


def _int_constant(expr, idx, scope) -> int | None:
    """An int literal, or a name bound to one; None when unknown."""
    if isinstance(expr, cst.Integer):
        return int(expr.value.replace("_", ""), 0)
    if isinstance(expr, cst.Name):
        value = idx.last_value(expr.value, scope)
        if isinstance(value, cst.Integer):
            return int(value.value.replace("_", ""), 0)
    return None


def _owner(idx, scope, module: str) -> str | None:
    """The qualified name of the top-level function or method a scope belongs to (None at module level)."""
    chain = []
    s = scope
    while s is not None and s is not idx.module_scope:
        chain.append(s.node)
        s = s.parent
    if not chain:
        return None
    top = chain[-1]
    prefix = module + "." if module else ""
    for cls, parent in idx.classes:
        if parent is idx.module_scope and isinstance(cls.body, cst.IndentedBlock) and top in cls.body.body:
            return f"{prefix}{cls.name.value}.{top.name.value}"
    return f"{prefix}{top.name.value}"


def _class_of(expr, idx, scope, module, local_names, self_attrs):
    """The class an expression was built from: `MyDataset(...)`, a name bound to it, `self.train_ds`."""
    for _ in range(3):
        if isinstance(expr, cst.Call):
            return call_qualname(idx, expr, scope, module, local_names)
        if isinstance(expr, cst.Name):
            expr = idx.last_value(expr.value, scope)
        elif isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
            expr = self_attrs.get(expr.attr.value)
        else:
            return None
    return None




def _ensemble_members(idx, ensembles) -> set[int]:
    """The estimators built as arguments of an ensemble that seeds its members from its own seed
    (`BaggingClassifier(DecisionTreeClassifier(), random_state=0)`): the ensemble's seed is theirs, and an
    unseeded ensemble is reported itself."""
    out: set[int] = set()
    for call, scope in idx.calls:
        if idx.call_name(call, scope) in ensembles:
            for arg in (positional(call, 0), keyword(call, "estimator"), keyword(call, "base_estimator")):
                if isinstance(arg, cst.Call):
                    out.add(id(arg))
    return out


def collect_randomness_facts(ctx) -> RandomnessFacts:
    """The randomness facts of one file, for the project pass."""
    k = randomness_knowledge()
    seeds_table = k.seed_functions
    estimators = k.stochastic_estimators
    aliases = k.seed_parameter_aliases
    loaders = k.data_loaders
    draws, inits = k.draws, k.weight_inits
    idx = ctx.index
    module = ctx.module_name
    local_names = {fn.name.value for fn, p in idx.functions if p is idx.module_scope} | {
        c.name.value for c, p in idx.classes if p is idx.module_scope}
    facts = RandomnessFacts()
    self_attrs: dict[str, cst.BaseExpression] = {}
    # `clf = XGBClassifier(); clf.load_model(path)`: an empty shell for saved weights, never trained
    restored = {call.func.value.value for call, _ in idx.calls
                if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("load_model", "load")
                and isinstance(call.func.value, cst.Name)}
    members = _ensemble_members(idx, k.member_seeding)
    for call, scope in idx.calls:
        name = idx.call_name(call, scope)
        if name is None:
            continue
        if name in seeds_table:
            facts.seeds.update(seeds_table[name] or ())
            if is_true(keyword(call, "workers")):
                owner = _owner(idx, scope, module)
                if owner is None:
                    facts.seeds.add("workers")
                else:
                    facts.worker_seeders.add(owner)
        elif name in draws or name in inits:
            rng = draws.get(name) or inits[name]
            if rng not in facts.draws and keyword(call, "generator") is None and keyword(call, "seed") is None:
                kind = "draw" if name in draws else "init"
                if kind == "draw" and only_displayed(call, idx, scope, importable(ctx)):
                    continue  # `plt.imshow(random.choice(images))`: changes a picture, not a result
                facts.draws[rng] = (ctx.span(call), spelled(call), kind)
        elif name in estimators and id(call) not in members:
            param = estimators[name]
            names = (param, *aliases.get(param, []))
            seed = next((keyword(call, p) for p in names if keyword(call, p) is not None), None)
            if seed is None and has_splat(call):
                known = _splat_keywords(call, idx, scope)
                if known is None:
                    continue  # `**params` we cannot read may well hold the seed
                seed = next((known[p] for p in names if p in known), None)
            if not is_fixed_seed(seed, idx, scope) and assigned_name(call, scope) not in restored \
                    and not only_displayed(call, idx, scope, importable(ctx)):  # built and never trained: nothing to repeat
                facts.estimators.append((ctx.span(call), spelled(call), param))
        if name in loaders and not has_splat(call):
            if is_true(keyword(call, "shuffle")) and "torch" not in facts.draws \
                    and keyword(call, "generator") is None and keyword(call, "sampler") is None:
                facts.draws["torch"] = (ctx.span(call), spelled(call), "loader")
            workers = keyword(call, "num_workers")
            init = keyword(call, "worker_init_fn")
            n = _int_constant(workers, idx, scope) if workers is not None else 0
            if workers is not None and (n is None or n > 0) and (init is None or is_none(init)):
                dataset = positional(call, 0) or keyword(call, "dataset")
                facts.loaders.append((ctx.span(call), (dataset, scope), spelled(call)))
    # dataset classes whose __getitem__ (or what it calls, one level) draws from python/numpy
    for cls, parent in idx.classes:
        if parent is not idx.module_scope or not isinstance(cls.body, cst.IndentedBlock):
            continue
        methods = {s.name.value: s for s in cls.body.body if isinstance(s, cst.FunctionDef)}
        for m in methods.values():
            for stmt in m.body.body if isinstance(m.body, cst.IndentedBlock) else ():
                for small in getattr(stmt, "body", ()) if isinstance(stmt, cst.SimpleStatementLine) else ():
                    if isinstance(small, cst.Assign):
                        for t in small.targets:
                            if isinstance(t.target, cst.Attribute) and isinstance(t.target.value, cst.Name) \
                                    and t.target.value.value == "self":
                                self_attrs[t.target.attr.value] = small.value
        entry = methods.get("__getitem__") or methods.get("__iter__")
        if entry is None:
            continue
        rngs = _getitem_draws(ctx, entry, methods, draws)
        if rngs:
            facts.datasets[f"{module}.{cls.name.value}" if module else cls.name.value] = rngs
    if facts.draws and learns_nothing(ctx, {id(c) for c, sc in idx.calls
                                            if (q := idx.call_name(c, sc)) in draws or q in inits}):
        facts.draws.clear()  # nothing here trains, splits or scores: the draws only change what is shown
    facts.loaders = [(pos, _class_of(ds, idx, scope, module, local_names, self_attrs)
                      if ds is not None else None, what)
                     for pos, (ds, scope), what in facts.loaders]
    return facts

def _getitem_draws(ctx, entry, methods, draws) -> set[str]:
    idx = ctx.index
    module_funcs = {fn.name.value: fn for fn, p in idx.functions if p is idx.module_scope}
    bodies = {entry}
    for call, scope in idx.calls:
        if scope.node is not entry:
            continue
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self" \
                and func.attr.value in methods:
            bodies.add(methods[func.attr.value])
        elif isinstance(func, cst.Name) and func.value in module_funcs:
            bodies.add(module_funcs[func.value])
    rngs = set()
    for call, scope in idx.calls:
        s = scope
        while s is not None and s.node not in bodies:
            s = s.parent
        if s is None:
            continue
        rng = draws.get(idx.call_name(call, scope) or "")
        if rng in ("python", "numpy") and rng not in randomness_knowledge().worker_reseeded:
            rngs.add(rng)
    return rngs
