"""Reproducibility family (MLD2xx): randomness without a seed."""

from __future__ import annotations

import libcst as cst

from mllint_deploy.analysis.calls import (
    argument,
    has_splat,
    is_false,
    is_true,
    keyword,
    positional,
)
from mllint_deploy.analysis.randomness_facts import (
    RandomnessFacts,
    assigned_name,
    collect_randomness_facts,
    spelled,
)
from mllint_deploy.analysis.seeds import is_fixed_seed, randomness_knowledge
from mllint_deploy.analysis.shown_only import importable, only_displayed
from mllint_deploy.analysis.values import name_words
from mllint_deploy.knowledge import knowledge
from mllint_deploy.registry import FileCheck, ProjectCheck, register

RNG_NAMES = {"python": "Python's `random` module", "numpy": "NumPy's global RNG", "torch": "PyTorch's global RNG",
             "tensorflow": "TensorFlow's global RNG"}
SEED_CALLS = {"python": "random.seed(SEED)", "numpy": "np.random.seed(SEED)", "torch": "torch.manual_seed(SEED)",
              "tensorflow": "tf.random.set_seed(SEED)"}


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
                ctx.report("MLD201", call, f"{spelled(call)}(...) {what}: the split changes on every run, so "
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
                ctx.report("MLD201", call, f"{spelled(call)}(...) shuffles without a fixed random_state: the "
                           "folds change on every run. Pass random_state=42 (or a seed from your config).")
            elif name is None and isinstance(call.func, cst.Attribute) and call.func.attr.value in sampling:
                if not _looks_like_frame_sample(call) or id(call) in idx.displayed \
                        or only_displayed(call, idx, scope, importable(ctx)):
                    continue  # `df.sample(5)` shown as a preview, or only plotted: no result depends on which rows
                seed = argument(call, "random_state", 4)
                if is_fixed_seed(seed, idx, scope):
                    continue
                if seed is None and "numpy" in seeded_rngs(ctx):
                    continue
                ctx.report("MLD201", call, f"{spelled(call)}(...) samples rows without a fixed random_state: "
                           "a different subset on every run. Pass random_state=42.")


def _looks_like_frame_sample(call: cst.Call) -> bool:
    """`df.sample(frac=0.1)`, `df.sample(n=100)`, `df.sample(500)`, `df_major.sample(len(df_minor))`: pandas'
    row sampling (a count held in a variable only when the receiver is named as a frame: `buffer.sample(k)`
    is some other object's method)."""
    if keyword(call, "frac") is not None or keyword(call, "n") is not None:
        return True
    first = positional(call, 0)
    if isinstance(first, cst.Integer):
        return len(call.args) <= 3
    receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
    named = receiver.value if isinstance(receiver, cst.Name) else \
        receiver.attr.value if isinstance(receiver, cst.Attribute) else ""
    return first is not None and len(call.args) <= 3 and bool(name_words(named) & knowledge().words["frame"])


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
            if spec is None or has_splat(call) or only_displayed(call, idx, scope, importable(ctx)):
                continue  # a generator never drawn from, or whose draws are only shown
            if spec.seeded_by:
                if call in seeded_calls or assigned_name(call, scope) in seeded_names.get(id(scope), set()):
                    continue
                ctx.report("MLD204", call, f"{spelled(call)}() is never given .{spec.seeded_by}(...): "
                           "it starts from a random state on every run. Call "
                           f".{spec.seeded_by}(42) on it (or a seed from your config).")
                continue
            position, keyword_name = spec.seed_arg or (None, None)
            seed = argument(call, keyword_name or "", position) if spec.seed_arg else None
            if is_fixed_seed(seed, idx, scope):
                continue
            shown = cst.Module(body=[]).code_for_node(seed) if seed is not None else ""
            ctx.report("MLD204", call, f"{spelled(call)}({shown}) creates a generator without a fixed seed: "
                       f"it draws different numbers on every run. Pass a seed, e.g. {spelled(call)}(42).")


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


@register
class GlobalRandomness(ProjectCheck):
    """MLD202, MLD203, MLD205: seeding is looked for across the project (seed helpers, entry scripts)."""

    codes = ("MLD202", "MLD203", "MLD205")

    def collect(self, ctx) -> RandomnessFacts:
        return collect_randomness_facts(ctx)

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
