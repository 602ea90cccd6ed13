"""Searches that call an objective function once per trial and keep its best return value (optuna's
`study.optimize(objective)`, hyperopt's `fmin(objective, ...)`, scikit-optimize's `gp_minimize`).

The search is replayed as a loop over trials: the objective's events happen inside that loop and the
scores it returns are compared, so an objective that refits a model and scores it on the test set
chooses hyperparameters on the test set."""

from __future__ import annotations

import libcst as cst

from mllint_deploy.analysis.calls import keyword, positional
from mllint_deploy.analysis.names import dotted
from mllint_deploy.analysis.values import Selection


class ObjectiveSearch:
    """The walker's handling of objective searches (a mixin of the scope walker)."""

    def _objective_search(self, call: cst.Call, qn: str | None) -> None:
        target, label = self._objective_argument(call, qn)
        if target is None:
            return
        trials = id(call)
        first = len(self.flow.scores)
        self._loops.append(trials)
        try:
            if isinstance(target, cst.Lambda):  # `lambda trial: objective(trial, X_train, X_test, ...)`
                saved = dict(self.env)
                for p in target.params.params:
                    self.env.pop(p.name.value, None)
                self._eval(target.body)
                self.env = saved
            else:
                fn = self.book.local(target.value)
                summary = self.book.summary(fn) if fn is not None else None
                if summary is None:
                    return
                self._apply_summary(call, summary, ([], {}))
        finally:
            self._loops.pop()
        # rows the objective splits off itself are the search's own validation part, not the test set
        scores = [s for s in self.flow.scores[first:] if s.on_test and s.roots and trials in s.loops]
        if scores and trials in self.flow.loop_fits:
            self.flow.selections.append(Selection(node=call, scores=scores, search=label))

    def _objective_argument(self, call: cst.Call, qn: str | None):
        """The objective a search call is given (a function of this module or a lambda), and the search's name."""
        func = call.func
        where = None
        if qn is not None:
            concept = self.k.concepts.concept(qn)
            if concept is not None and concept.is_("objective_search"):
                where = concept.objective
        elif isinstance(func, cst.Attribute) and func.attr.value in self.k.objective_methods:
            where = (0, "func")
        if where is None:
            return None, ""
        index, name = where
        node = (keyword(call, name) if name else None) or (positional(call, index) if index is not None else None)
        if isinstance(node, cst.Name) or (isinstance(node, cst.Lambda) and isinstance(node.body, cst.Call)):
            objective = node.value if isinstance(node, cst.Name) else dotted(node.body.func) or "a lambda"
            return node, f"{dotted(func) or 'the search'}({objective})"
        return None, ""
