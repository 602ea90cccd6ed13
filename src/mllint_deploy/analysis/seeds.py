"""Whether an expression is a fixed seed: a literal, constant, config value or argument, and not
`None`, nor entropy such as `time.time()` or `os.urandom`, nor a draw from another RNG."""

from __future__ import annotations

import functools

import libcst as cst

from mllint_deploy.analysis.names import ModuleIndex, ScopeInfo
from mllint_deploy.knowledge import knowledge

_DEPTH = 4


class RandomnessKnowledge:
    """The concepts the reproducibility rules ask about, as tables, built once per process."""

    def __init__(self) -> None:
        k = knowledge()
        names = k.names
        self.seed_functions = {q: names[q].seeds for q in k.having("seeder")}  # -> the RNGs it seeds
        self.draws = {q: names[q].rng for q in k.having("draw")}  # -> the global RNG drawn from
        self.weight_inits = {q: names[q].rng for q in k.having("weight_init")}
        self.split_functions = {q: names[q].seed for q in k.having("split") if names[q].seed}
        self.shuffling_splitters = {q: names[q].shuffles for q in k.having("splitter")
                                    if names[q].shuffles in ("always", "when-shuffle-true")}
        self.stochastic_estimators = {q: c.seed for q, c in names.items()
                                      if c.seed and not c.is_("split") and not c.fixed_default_seed}
        self.member_seeding = frozenset(q for q, c in names.items() if c.seeds_members)
        self.seed_parameter_aliases = dict(k.keywords.get("seed_aliases") or {})
        self.generators = {q: names[q] for q in k.having("generator")}
        self.sampling_methods = k.method_names("sample")
        self.data_loaders = k.having("data_loader")
        # RNGs every worker of a data loader reseeds itself (PyTorch: `random` and torch in every worker)
        self.worker_reseeded = frozenset.intersection(*(frozenset(names[q].seeds) for q in self.data_loaders)) \
            if self.data_loaders else frozenset()
        self.not_fixed = k.having("entropy") | frozenset(self.draws)


@functools.lru_cache(maxsize=None)
def randomness_knowledge() -> RandomnessKnowledge:
    return RandomnessKnowledge()


def _not_fixed_calls() -> frozenset[str]:
    return randomness_knowledge().not_fixed


def is_fixed_seed(expr: cst.BaseExpression | None, idx: ModuleIndex, scope: ScopeInfo | None, _depth: int = 0) -> bool:
    if expr is None or _depth > _DEPTH:
        return expr is not None
    if isinstance(expr, cst.Name):
        if expr.value == "None":
            return False
        if expr.value in ("True", "False"):
            return True
        values = idx.bound_values(expr.value, scope) or []
        if values:
            return is_fixed_seed(values[-1], idx, scope, _depth + 1)
        return True  # a parameter, a global, an imported constant
    if isinstance(expr, cst.Call):
        name = idx.call_name(expr, scope)
        if name in _not_fixed_calls():
            return False
        # int(x), hash(...), abs(seed) ...: fixed when every argument is
        return all(is_fixed_seed(a.value, idx, scope, _depth + 1) for a in expr.args)
    if isinstance(expr, (cst.BinaryOperation,)):
        return is_fixed_seed(expr.left, idx, scope, _depth + 1) and is_fixed_seed(expr.right, idx, scope, _depth + 1)
    if isinstance(expr, cst.UnaryOperation):
        return is_fixed_seed(expr.expression, idx, scope, _depth + 1)
    if isinstance(expr, cst.IfExp):
        return is_fixed_seed(expr.body, idx, scope, _depth + 1) and is_fixed_seed(expr.orelse, idx, scope, _depth + 1)
    if isinstance(expr, cst.BooleanOperation):
        # `seed or 42`, `args.seed or None`: fixed when the fallback is
        return is_fixed_seed(expr.right, idx, scope, _depth + 1)
    return True  # literals, attributes (cfg.seed), subscripts (config["seed"])
