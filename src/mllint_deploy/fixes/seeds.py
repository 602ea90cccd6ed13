"""Fixes for unseeded randomness (MLD201, MLD202, MLD204): pass the seed.

The seed parameter is the library's own, from the knowledge files (`random_state`, `seed`,
`random_seed`, `generator`). The seed is the file's own when it has one: a module-level constant or
imported name (or an attribute of one, `cfg.seed`) that the file already passes as a seed somewhere,
or a name that says it is one (`from config import SEED`, `RANDOM_STATE = 7`); else the project's
`seed` from `[tool.mllint-deploy]`; else the literal 42. Adding a seed changes nothing but what the rules report (which of the possible
random draws is made), so these fixes are safe.
"""

from __future__ import annotations

from collections import Counter

import libcst as cst

from mllint_deploy.analysis.calls import argument, has_splat, is_none, keyword, positional
from mllint_deploy.analysis.names import dotted
from mllint_deploy.analysis.seeds import is_fixed_seed, randomness_knowledge
from mllint_deploy.fixes.cst_edits import (
    add_first_positional, add_keyword, call_scopes, insert_after, replace_node, torch_alias,
)
from mllint_deploy.fixes.model import SAFE, Fix

DEFAULT_SEED = "42"
_configured: str | None = None  # `seed = N` in [tool.mllint-deploy], set once per process by the run


def configure(seed: int | None) -> None:
    """The project's configured seed (None: the literal 42), for this process and the workers it starts."""
    global _configured
    _configured = None if seed is None else str(int(seed))


def configured_seed() -> int | None:
    return None if _configured is None else int(_configured)


def _module_level(ctx, name: str) -> bool:
    idx = ctx.index
    return name in idx.module_scope.assigned or name in idx.aliases


def _visible(ctx, expr_text: str, scope, line: int) -> bool:
    """The head name is the module's (not shadowed by a local of the scope the seed goes to) and,
    for a call at module level, assigned before `line`."""
    idx = ctx.index
    head = expr_text.split(".")[0]
    s = scope
    while s is not None and s is not idx.module_scope:
        if head in s.bound:
            return False
        s = s.parent
    if not _module_level(ctx, head):
        return False
    if (scope is None or scope is idx.module_scope) and head in idx.module_scope.assigned:
        return ctx.line_of(idx.module_scope.assigned[head][0]) < line
    return True


def _seed_values(ctx):
    """Every expression this file passes as a seed (to a seed parameter or a seeding call)."""
    k = randomness_knowledge()
    idx = ctx.index
    params = set(k.split_functions.values()) | set(k.stochastic_estimators.values()) | {"random_state"}
    for param in list(params):
        params.update(k.seed_parameter_aliases.get(param, ()))
    params.discard("generator")
    for call, scope in idx.calls:
        name = idx.call_name(call, scope)
        if name in k.seed_functions:
            value = positional(call, 0) or keyword(call, "seed")
            if value is not None:
                yield value, scope
            continue
        spec = k.generators.get(name)
        if spec is not None and spec.seed_arg:
            value = argument(call, spec.seed_arg[1] or "", spec.seed_arg[0])
            if value is not None:
                yield value, scope
            continue
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in params:
                yield arg.value, scope


def project_seed(ctx, scope, line: int) -> str:
    """The seed expression to write into `scope` at `line`: the file's own seed constant, else the
    configured seed, else 42."""

    def build(ctx):
        counts: Counter[str] = Counter()
        order: list[str] = []
        idx = ctx.index
        for value, where in _seed_values(ctx):
            text = dotted(value) if isinstance(value, (cst.Name, cst.Attribute)) else None
            if not text or text in ("None", "True", "False") or not _module_level(ctx, text.split(".")[0]):
                continue
            if not is_fixed_seed(value, idx, where):
                continue
            counts[text] += 1
            if text not in order:
                order.append(text)
        ranked = sorted(order, key=lambda t: -counts[t])
        # a seed constant the project names as one, imported or assigned an integer here, even if this
        # file passes it nowhere yet (`from config import SEED`, `RANDOM_STATE = 7`)
        for name in [*idx.aliases, *idx.module_scope.assigned]:
            if name not in ranked and _names_a_seed(name) and (name in idx.aliases or _is_int_constant(
                    idx.module_scope.assigned[name])):
                ranked.append(name)
        return ranked

    for text in ctx.shared("fix:seed_names", build):
        if _visible(ctx, text, scope, line):
            return text
    return _configured or DEFAULT_SEED


def _names_a_seed(name: str) -> bool:
    lowered = name.lower()
    return lowered in ("seed", "random_seed", "random_state", "rng_seed", "global_seed", "seed_value") or (
        lowered.endswith("_seed") and not lowered.startswith(("set_", "get_", "make_")))


def _is_int_constant(values) -> bool:
    return len(values) == 1 and isinstance(values[0], cst.Integer)


def _set_seed(ctx, call: cst.Call, param: str, value: str, existing, what: str) -> Fix | None:
    if existing is not None:
        if not is_none(existing):
            return None  # a deliberate non-fixed seed (`int(time.time())`): the author decides
        return Fix(SAFE, f"Replace {param}=None with {param}={value}", (replace_node(ctx, existing, value),))
    return Fix(SAFE, f"Pass {param}={value} to {what}", (add_keyword(ctx, call, param, value),))



def fix_unseeded_split(ctx, node) -> Fix | None:
    """MLD201: `train_test_split(X, y)` -> `train_test_split(X, y, random_state=42)`."""
    if not isinstance(node, cst.Call) or has_splat(node):
        return None
    k = randomness_knowledge()
    scope = call_scopes(ctx).get(id(node))
    name = ctx.index.call_name(node, scope)
    seed = project_seed(ctx, scope, ctx.line_of(node))
    if name in k.split_functions:
        param = k.split_functions[name]
        if param == "generator":
            torch = torch_alias(ctx)
            if torch is None:
                return None
            return _set_seed(ctx, node, param, f"{torch}.Generator().manual_seed({seed})",
                             argument(node, param, 2), "the split")
        return _set_seed(ctx, node, param, seed, keyword(node, param), "the split")
    if name in k.shuffling_splitters:
        return _set_seed(ctx, node, "random_state", seed, keyword(node, "random_state"), "the splitter")
    if name is None and isinstance(node.func, cst.Attribute) and node.func.attr.value in k.sampling_methods:
        return _set_seed(ctx, node, "random_state", seed, argument(node, "random_state", 4), "the sample")
    return None


def estimator_fixes(ctx) -> dict[tuple, Fix]:
    """MLD202 is reported by the project pass: the fix of every estimator built without its seed in
    this file, keyed by (code, line, column, end line, end column) of the call."""
    k = randomness_knowledge()
    idx = ctx.index
    out: dict[tuple, Fix] = {}
    for call, scope in idx.calls:
        name = idx.call_name(call, scope)
        param = k.stochastic_estimators.get(name) if name else None
        if param is None or has_splat(call):
            continue
        names = (param, *k.seed_parameter_aliases.get(param, []))
        given = next((p for p in names if keyword(call, p) is not None), None)
        fix = _set_seed(ctx, call, given or param, project_seed(ctx, scope, ctx.line_of(call)),
                        keyword(call, given) if given else None, name.rsplit(".", 1)[-1])
        if fix is not None:
            out[("MLD202", *ctx.span(call))] = fix
    return out


def fix_unseeded_generator(ctx, node) -> Fix | None:
    """MLD204: `np.random.default_rng()` -> `np.random.default_rng(42)`; `torch.Generator()` ->
    `torch.Generator().manual_seed(42)`."""
    if not isinstance(node, cst.Call) or has_splat(node):
        return None
    scope = call_scopes(ctx).get(id(node))
    spec = randomness_knowledge().generators.get(ctx.index.call_name(node, scope))
    if spec is None:
        return None
    seed = project_seed(ctx, scope, ctx.line_of(node))
    if spec.seeded_by:
        return Fix(SAFE, f"Seed the generator with .{spec.seeded_by}({seed})",
                   (insert_after(ctx, node, f".{spec.seeded_by}({seed})"),))
    if not spec.seed_arg:
        return None  # `from_non_deterministic_state()`: no seed to pass; another constructor is needed
    position, name = spec.seed_arg
    existing = argument(node, name or "", position)
    if existing is not None:
        if not is_none(existing):
            return None
        return Fix(SAFE, f"Replace the seed None with {seed}", (replace_node(ctx, existing, seed),))
    if position == 0 and not any(a.keyword is None for a in node.args):
        return Fix(SAFE, f"Pass the seed {seed}", (add_first_positional(ctx, node, seed),))
    if name:
        return Fix(SAFE, f"Pass {name}={seed}", (add_keyword(ctx, node, name, seed),))
    return None
