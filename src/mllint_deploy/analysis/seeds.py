"""Whether an expression is a fixed seed: a literal, constant, config value or argument, and not
`None`, nor entropy such as `time.time()` or `os.urandom`, nor a draw from another RNG."""

from __future__ import annotations

import libcst as cst

from mllint_deploy.analysis.names import ModuleIndex, ScopeInfo
from mllint_deploy.catalogue import knowledge

_DEPTH = 4


def _not_fixed_calls() -> frozenset[str]:
    k = knowledge("randomness")
    draws = {q for names in k.get("global_draws", {}).values() for q in names}
    return frozenset(k.get("entropy_functions", [])) | frozenset(draws)


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
