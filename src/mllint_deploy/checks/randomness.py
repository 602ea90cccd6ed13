"""Reproducibility family (MLD2xx): randomness without a seed."""

from __future__ import annotations

import libcst as cst

from mllint_deploy.analysis.calls import argument, has_splat, is_false, is_true, keyword, positional
from mllint_deploy.analysis.names import dotted
from mllint_deploy.analysis.seeds import is_fixed_seed
from mllint_deploy.catalogue import knowledge
from mllint_deploy.registry import FileCheck, register


def _spelled(call: cst.Call) -> str:
    return dotted(call.func) or "call"


def seeded_rngs(ctx) -> set[str]:
    """The global RNGs that some call in this module seeds (`np.random.seed` -> {"numpy"})."""

    def build(ctx):
        seeds = knowledge("randomness").get("seed_functions", {})
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
        k = knowledge("randomness")
        split_functions: dict = k.get("split_functions", {})
        splitters: dict = k.get("shuffling_splitters", {})
        sampling = set(k.get("sampling_methods", []))
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
        generators: dict = knowledge("randomness").get("explicit_generators", {})
        idx = ctx.index
        seeded_calls, seeded_names = _manual_seeded(ctx)
        for call, scope in idx.calls:
            name = idx.call_name(call, scope)
            spec = generators.get(name)
            if spec is None or has_splat(call):
                continue
            if spec.get("seeded_by_method"):
                if call in seeded_calls or _assigned_name(call, scope) in seeded_names.get(id(scope), set()):
                    continue
                ctx.report("MLD204", call, f"{_spelled(call)}() is never given .{spec['seeded_by_method']}(...): "
                           "it starts from a random state on every run. Call "
                           f".{spec['seeded_by_method']}(42) on it (or a seed from your config).")
                continue
            seed = argument(call, spec.get("keyword") or "", spec.get("position"))
            if is_fixed_seed(seed, idx, scope):
                continue
            shown = "None" if seed is not None else ""
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
