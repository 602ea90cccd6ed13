"""Reproducibility family (MLD2xx): randomness without a seed."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from mllint_deploy.analysis.calls import argument, has_splat, is_false, is_none, is_true, keyword, positional
from mllint_deploy.analysis.names import dotted
from mllint_deploy.analysis.seeds import is_fixed_seed, randomness_knowledge
from mllint_deploy.analysis.modulefacts import call_qualname
from mllint_deploy.registry import FileCheck, ProjectCheck, register

RNG_NAMES = {"python": "Python's `random` module", "numpy": "NumPy's global RNG", "torch": "PyTorch's global RNG",
             "tensorflow": "TensorFlow's global RNG"}
SEED_CALLS = {"python": "random.seed(SEED)", "numpy": "np.random.seed(SEED)", "torch": "torch.manual_seed(SEED)",
              "tensorflow": "tf.random.set_seed(SEED)"}


def _spelled(call: cst.Call) -> str:
    return dotted(call.func) or "call"


def seeded_rngs(ctx) -> set[str]:
    """The global RNGs that some call in this module seeds (`np.random.seed` -> {"numpy"})."""

    def build(ctx):
        seeds = randomness_knowledge().seed_functions
        out: set[str] = set()
        for call, scope in ctx.index.calls:
            name = ctx.index.call_name(call, scope)
            if name in seeds:
                out.update(seeds[name] or ())
        return out

    return ctx.shared("seeded_rngs", build)


@register
class UnseededSplit(FileCheck):
    """MLD201: random splits and samples without a seed."""

    codes = ("MLD201",)

    def check(self, ctx) -> None:
        k = randomness_knowledge()
        split_functions = k.split_functions
        splitters = k.shuffling_splitters
        sampling = k.sampling_methods
        idx = ctx.index
        for call, scope in idx.calls:
            if has_splat(call):
                continue
            name = idx.call_name(call, scope)
            if name in split_functions:
                param = split_functions[name]
                if is_false(keyword(call, "shuffle")):
                    continue
                seed = argument(call, param, 2 if param == "generator" else None)
                if is_fixed_seed(seed, idx, scope):
                    continue
                rng = "torch" if param == "generator" else "numpy"
                if seed is None and rng in seeded_rngs(ctx):
                    continue  # draws from a global RNG the module seeds
                what = "without a seeded generator" if param == "generator" else f"without a fixed {param}"
                ctx.report("MLD201", call, f"{_spelled(call)}(...) {what}: the split changes on every run, so "
                           f"scores cannot be reproduced or compared. Pass {param}="
                           f"{'torch.Generator().manual_seed(42)' if param == 'generator' else '42'} "
                           "(or a seed from your config).")
            elif name in splitters:
                when = splitters[name]
                if when == "when-shuffle-true" and not is_true(keyword(call, "shuffle")):
                    continue
                seed = keyword(call, "random_state")
                if is_fixed_seed(seed, idx, scope):
                    continue
                if seed is None and "numpy" in seeded_rngs(ctx):
                    continue
                ctx.report("MLD201", call, f"{_spelled(call)}(...) shuffles without a fixed random_state: the "
                           "folds change on every run. Pass random_state=42 (or a seed from your config).")
            elif name is None and isinstance(call.func, cst.Attribute) and call.func.attr.value in sampling:
                if not _looks_like_frame_sample(call):
                    continue
                seed = argument(call, "random_state", 4)
                if is_fixed_seed(seed, idx, scope):
                    continue
                if seed is None and "numpy" in seeded_rngs(ctx):
                    continue
                ctx.report("MLD201", call, f"{_spelled(call)}(...) samples rows without a fixed random_state: "
                           "a different subset on every run. Pass random_state=42.")


def _looks_like_frame_sample(call: cst.Call) -> bool:
    """`df.sample(frac=0.1)`, `df.sample(n=100)`, `df.sample(500)`: pandas' row sampling."""
    if keyword(call, "frac") is not None or keyword(call, "n") is not None:
        return True
    first = positional(call, 0)
    return isinstance(first, cst.Integer) and len(call.args) <= 3


@register
class UnseededGenerator(FileCheck):
    """MLD204: explicit generators created without a seed."""

    codes = ("MLD204",)

    def check(self, ctx) -> None:
        generators = randomness_knowledge().generators
        idx = ctx.index
        seeded_calls, seeded_names = _manual_seeded(ctx)
        for call, scope in idx.calls:
            name = idx.call_name(call, scope)
            spec = generators.get(name)
            if spec is None or has_splat(call):
                continue
            if spec.seeded_by:
                if call in seeded_calls or _assigned_name(call, scope) in seeded_names.get(id(scope), set()):
                    continue
                ctx.report("MLD204", call, f"{_spelled(call)}() is never given .{spec.seeded_by}(...): "
                           "it starts from a random state on every run. Call "
                           f".{spec.seeded_by}(42) on it (or a seed from your config).")
                continue
            position, keyword_name = spec.seed_arg or (None, None)
            seed = argument(call, keyword_name or "", position) if spec.seed_arg else None
            if is_fixed_seed(seed, idx, scope):
                continue
            shown = cst.Module(body=[]).code_for_node(seed) if seed is not None else ""
            ctx.report("MLD204", call, f"{_spelled(call)}({shown}) creates a generator without a fixed seed: "
                       f"it draws different numbers on every run. Pass a seed, e.g. {_spelled(call)}(42).")


def _assigned_name(call: cst.Call, scope) -> str | None:
    for name, values in scope.assigned.items():
        if any(v is call for v in values):
            return name
    return None


def _manual_seeded(ctx):
    """Calls seeded in place (`torch.Generator().manual_seed(0)`) and names seeded later (`g.manual_seed(0)`)."""
    calls: set[cst.Call] = set()
    names: dict[int, set[str]] = {}
    for call, scope in ctx.index.calls:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "manual_seed" and call.args:
            if isinstance(func.value, cst.Call):
                calls.add(func.value)
            elif isinstance(func.value, cst.Name):
                names.setdefault(id(scope), set()).add(func.value.value)
    return calls, names


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


@register
class GlobalRandomness(ProjectCheck):
    """MLD202, MLD203, MLD205: seeding is looked for across the project (seed helpers, entry scripts)."""

    codes = ("MLD202", "MLD203", "MLD205")

    def collect(self, ctx) -> RandomnessFacts:
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
                    facts.draws[rng] = (ctx.span(call), _spelled(call), kind)
            elif name in estimators:
                param = estimators[name]
                names = (param, *aliases.get(param, []))
                seed = next((keyword(call, p) for p in names if keyword(call, p) is not None), None)
                if seed is None and has_splat(call):
                    known = _splat_keywords(call, idx, scope)
                    if known is None:
                        continue  # `**params` we cannot read may well hold the seed
                    seed = next((known[p] for p in names if p in known), None)
                if not is_fixed_seed(seed, idx, scope) and _assigned_name(call, scope) not in restored:
                    facts.estimators.append((ctx.span(call), _spelled(call), param))
            if name in loaders and not has_splat(call):
                if is_true(keyword(call, "shuffle")) and "torch" not in facts.draws \
                        and keyword(call, "generator") is None and keyword(call, "sampler") is None:
                    facts.draws["torch"] = (ctx.span(call), _spelled(call), "loader")
                workers = keyword(call, "num_workers")
                init = keyword(call, "worker_init_fn")
                n = _int_constant(workers, idx, scope) if workers is not None else 0
                if workers is not None and (n is None or n > 0) and (init is None or is_none(init)):
                    dataset = positional(call, 0) or keyword(call, "dataset")
                    facts.loaders.append((ctx.span(call), (dataset, scope), _spelled(call)))
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
            rngs = self._getitem_draws(ctx, entry, methods, draws)
            if rngs:
                facts.datasets[f"{module}.{cls.name.value}" if module else cls.name.value] = rngs
        facts.loaders = [(pos, _class_of(ds, idx, scope, module, local_names, self_attrs)
                          if ds is not None else None, what)
                         for pos, (ds, scope), what in facts.loaders]
        return facts

    @staticmethod
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
            if rng in ("python", "numpy"):
                rngs.add(rng)
        return rngs

    def check(self, project) -> None:
        facts = {m.path: (m, f) for m, f in project.facts(type(self).__name__)}
        seeded = self._seeded(project, facts)
        datasets = {}
        for m, f in facts.values():
            for qual, rngs in f.datasets.items():
                datasets[qual] = (m, rngs)
        for path, (m, f) in facts.items():
            covered = seeded.get(path, set())
            for rng, (pos, what, kind) in sorted(f.draws.items()):
                if rng in covered:
                    continue
                if kind == "init":
                    how = f"building {what}(...) initialises weights from {RNG_NAMES[rng]}"
                elif kind == "loader":
                    how = f"{what}(shuffle=True) shuffles with {RNG_NAMES[rng]}"
                else:
                    how = f"{what}(...) draws from {RNG_NAMES[rng]}"
                project.report(path, pos, "MLD203",
                               f"{how}, but nothing in this module or the project code it calls seeds it: every "
                               f"run gives different numbers. Call {SEED_CALLS[rng]} at start-up (or a seeding "
                               "helper that does).")
            if "numpy" not in covered:
                for pos, what, param in f.estimators:
                    project.report(path, pos, "MLD202",
                                   f"{what}(...) is built without {param}=: each run trains a different model and "
                                   f"scores drift between runs. Pass {param}=42 (or a seed from your config).")
            if "workers" not in covered:
                for pos, cls, what in f.loaders:
                    found = self._dataset(cls, m, project, datasets)
                    if found:
                        rngs = " and ".join(RNG_NAMES[r] for r in sorted(found[1]))
                        project.report(path, pos, "MLD205",
                                       f"{what} runs several workers over {cls.rsplit('.', 1)[-1]}, whose __getitem__ "
                                       f"draws from {rngs}, with no worker_init_fn: workers can repeat the same "
                                       "random augmentations. Pass worker_init_fn= that seeds numpy/random from "
                                       "torch.initial_seed(), or draw with torch's RNG in the dataset.")

    @staticmethod
    def _dataset(cls, module, project, datasets):
        if not cls:
            return None
        if cls in datasets:
            return datasets[cls]
        resolved = project.resolve_function(cls, module)
        if resolved is not None:
            return datasets.get(resolved[1].qualname)
        parts = cls.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            target = project.resolve_module(".".join(parts[:cut]), module)
            if target is not None:
                return datasets.get(".".join(([target.module] if target.module else []) + parts[cut:]))
        return None

    @staticmethod
    def _seeded(project, facts) -> dict[str, set[str]]:
        """RNGs each module seeds: its own seed calls, project functions it calls (transitively),
        and, for modules other code imports, what their importers seed."""
        seeds_table = randomness_knowledge().seed_functions
        memo: dict[str, set[str]] = {}
        worker_seeders = {q for _, f in facts.values() for q in f.worker_seeders}

        def function_seeds(module, fn, depth=0) -> set[str]:
            key = fn.qualname + "@" + module.path
            if key in memo:
                return memo[key]
            memo[key] = set()
            out: set[str] = {"workers"} if fn.qualname in worker_seeders else set()
            for q in fn.calls:
                if q in seeds_table:
                    out.update(seeds_table[q] or ())
                elif depth < 6:
                    target = project.resolve_function(q, module)
                    if target is not None:
                        out |= function_seeds(target[0], target[1], depth + 1)
            memo[key] = out
            return out

        direct: dict[str, set[str]] = {}
        for m in project.modules:
            out = set(facts[m.path][1].seeds) if m.path in facts else set()
            for q in m.calls:
                if q in seeds_table:
                    out.update(seeds_table[q] or ())
                else:
                    target = project.resolve_function(q, m)
                    if target is not None:
                        out |= function_seeds(target[0], target[1])
            direct[m.path] = out
        covered = {path: set(s) for path, s in direct.items()}
        for _ in range(4):  # importers' seeding covers the modules they import
            changed = False
            for m in project.modules:
                for importer in project.importers_of(m):
                    extra = covered[importer.path] - covered[m.path]
                    if extra:
                        covered[m.path] |= extra
                        changed = True
            if not changed:
                break
        return covered
