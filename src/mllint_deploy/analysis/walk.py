"""The ordered statement walk both per-scope analyses share (dataflow and taint): compound
statements visited in source order, branches one after the other, loop bodies once. A subclass says
what simple statements, conditions, loops and `with` blocks mean; nested functions and classes are
scopes of their own and are skipped."""

from __future__ import annotations

import libcst as cst


class OrderedWalk:
    def _block(self, body) -> None:
        for stmt in body:
            self._statement(stmt)

    def _statement(self, stmt) -> None:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self._small(small)
        elif isinstance(stmt, cst.If):
            self._if(stmt)
        elif isinstance(stmt, (cst.For, cst.While)):
            self._loop(stmt)
        elif isinstance(stmt, cst.With):
            self._with(stmt)
        elif isinstance(stmt, cst.Try) or type(stmt).__name__ == "TryStar":
            self._block(stmt.body.body)
            for handler in stmt.handlers:
                self._block(handler.body.body)
            self._else(stmt)
            if stmt.finalbody is not None:
                self._block(stmt.finalbody.body.body)
        elif isinstance(stmt, cst.Match):
            self._expression(stmt.subject)
            for case in stmt.cases:
                self._block(case.body.body)

    def _else(self, stmt) -> None:
        """The `else:` of an `if`, loop or `try` (an `elif` is an `If` of its own)."""
        if stmt.orelse is None:
            return
        if isinstance(stmt.orelse, cst.If):
            self._statement(stmt.orelse)
        else:
            self._block(stmt.orelse.body.body)

    # what a subclass defines ------------------------------------------------------------------
    def _small(self, small) -> None:
        raise NotImplementedError

    def _expression(self, expr):
        raise NotImplementedError

    def _bind(self, target, value, value_node=None) -> None:
        raise NotImplementedError

    # defaults a subclass may refine -----------------------------------------------------------
    def _if(self, stmt: cst.If) -> None:
        self._expression(stmt.test)
        self._block(stmt.body.body)
        self._else(stmt)

    def _loop(self, stmt) -> None:
        if isinstance(stmt, cst.For):
            self._bind(stmt.target, self._expression(stmt.iter))
        else:
            self._expression(stmt.test)
        self._block(stmt.body.body)
        self._else(stmt)

    def _with(self, stmt: cst.With) -> None:
        for item in stmt.items:
            value = self._expression(item.item)
            if item.asname is not None:
                self._bind(item.asname.name, value, item.item)
        self._block(stmt.body.body)
