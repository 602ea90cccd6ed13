"""Splits whose parts nothing reads: `x_train, x_test, y_train, y_test = train_test_split(...)` where the
evaluation that used the four names was commented out. Such a split evaluates nothing, so a fit before it
is not a leak into an evaluation."""

from __future__ import annotations

from collections import Counter

import libcst as cst


def dead_splits(ctx) -> set[int]:
    """The split calls whose parts are bound to plain names that nothing reads (the evaluation that used
    them commented out): ids of the calls."""

    def build(ctx) -> set[int]:
        assigned: Counter = Counter()
        splits: list[tuple[int, list[str]]] = []
        seen: Counter = Counter()

        class _Collect(cst.CSTVisitor):
            def visit_Assign(self, node: cst.Assign) -> None:
                names = [n for t in node.targets for n in _plain_names(t.target)]
                assigned.update(names)
                if isinstance(node.value, cst.Call) and len(node.targets) == 1 \
                        and isinstance(node.targets[0].target, (cst.Tuple, cst.List)) and names \
                        and len(names) == len(node.targets[0].target.elements):
                    splits.append((id(node.value), names))

            def visit_Name(self, node: cst.Name) -> None:
                seen[node.value] += 1

        ctx.module.visit(_Collect())
        return {call for call, names in splits if all(seen[n] <= assigned[n] for n in names if n != "_")}

    return ctx.shared("dead_splits", build)


def _plain_names(target) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        out = []
        for el in target.elements:
            inner = _plain_names(el.value)
            if not inner:
                return []
            out += inner
        return out
    return []
