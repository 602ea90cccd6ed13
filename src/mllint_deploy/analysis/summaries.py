"""Summaries of the project's own functions, as the dataflow walk applies them at a call.

A summary is the flow of a function's body walked with its parameters as placeholders: what it fits,
splits, cross-validates, which parameters reach what it returns. It is specialised on the call's
constant arguments: `prepare(df_val, dv, fit_dv=False)` walks `prepare` with `fit_dv` bound to
`False`, so `if fit_dv: dv.fit(...)` takes only the branch the call selects (a parameter's literal
default counts when the call leaves it out). Summaries are followed to a bounded depth; a function
that calls itself (directly or not) is opaque at the repeated call.

Functions of other project modules are summarised from their source: `from utils import preprocess`
in a notebook finds `utils.py` beside it (or under the importing file's package root), parses it
(never imports or runs it) and summarises `preprocess` there, through package re-exports and
`from m import *`. The file's result then depends on those files: their digests are recorded on the
file context, so a cached result is used only while they are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from mllint_deploy.analysis.calls import int_value, string_value
from mllint_deploy.analysis.names import ModuleIndex
from mllint_deploy.analysis.project_sources import ProjectSources, module_of, trim

MAX_DEPTH = 1  # modules followed below the analysed file: the modules it imports (their own imports: opaque)
_NOT_CONSTANT = object()


@dataclass(frozen=True)
class Const:
    """A value the code spells literally (`True`, `None`, `"train"`, `3`): what a branch tests."""

    value: object


def constant_of(expr, env=None):
    """The literal value of `expr` (also a name bound to a `Const`), else `_NOT_CONSTANT`."""
    if isinstance(expr, cst.Name):
        if expr.value in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[expr.value]
        value = env.get(expr.value) if env is not None else None
        return value.value if isinstance(value, Const) else _NOT_CONSTANT
    s = string_value(expr)
    if s is not None:
        return s
    n = int_value(expr)
    if n is not None:
        return n
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = int_value(expr.expression)
        return -inner if inner is not None else _NOT_CONSTANT
    if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
        items = [constant_of(el.value, env) for el in expr.elements]
        return _NOT_CONSTANT if any(i is _NOT_CONSTANT for i in items) else tuple(items)
    return _NOT_CONSTANT


def truth(expr, env) -> bool | None:
    """Whether a branch test is certainly true or false given the constants in `env`, else None."""
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        t = truth(expr.expression, env)
        return None if t is None else not t
    if isinstance(expr, cst.BooleanOperation):
        a, b = truth(expr.left, env), truth(expr.right, env)
        if isinstance(expr.operator, cst.And):
            return False if False in (a, b) else (True if a is b is True else None)
        return True if True in (a, b) else (False if a is b is False else None)
    if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
        left = constant_of(expr.left, env)
        right = constant_of(expr.comparisons[0].comparator, env)
        if left is _NOT_CONSTANT or right is _NOT_CONSTANT:
            return None
        op = expr.comparisons[0].operator
        try:
            if isinstance(op, (cst.Equal, cst.Is)):
                return left == right
            if isinstance(op, (cst.NotEqual, cst.IsNot)):
                return left != right
            if isinstance(op, cst.In):
                return left in right
            if isinstance(op, cst.NotIn):
                return left not in right
        except TypeError:
            return None
        return None
    value = constant_of(expr, env)
    if value is _NOT_CONSTANT or not isinstance(expr, cst.Name):
        return None
    return bool(value)


def _params(fn: cst.FunctionDef) -> list[cst.Param]:
    p = fn.params
    return [*p.posonly_params, *p.params, *p.kwonly_params]


class _Names(cst.CSTVisitor):
    def __init__(self, into: set[str]) -> None:
        self.into = into

    def visit_Name(self, node: cst.Name) -> None:
        self.into.add(node.value)


class _TestedNames(cst.CSTVisitor):
    """Names read by `if` / `elif` / conditional-expression tests (nested scopes included: cheap)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_If(self, node: cst.If) -> None:
        node.test.visit(_Names(self.names))

    def visit_IfExp(self, node: cst.IfExp) -> None:
        node.test.visit(_Names(self.names))


# the summary books of modules other files import (a book depends on its own file only, since
# modules followed from another file follow no further)
_BOOKS: dict[tuple[str, str], "SummaryBook"] = {}


class SummaryBook:
    """The summaries one module's walk can apply: its own functions, methods of its classes (through
    `self`), and functions of project modules it imports; specialised and memoised."""

    def __init__(self, index: ModuleIndex, sources: ProjectSources | None, build, depth: int = 0):
        self.index = index
        self.build = build  # build(book, fn, consts) -> the summary: the dataflow walk of `fn`
        self.sources = sources
        self.depth = depth
        self.module = module_of(index, "", "")
        self._owner: dict[int, str] = {}
        for name, fn in self.module.functions.items():
            if "." in name:
                self._owner[id(fn)] = name.split(".")[0]
        self.handlers: dict = {}  # id(function) -> its Handler (request handlers of this module)
        self._tracks_input: bool | None = None
        self._models = None
        self._memo: dict[tuple, object] = {}
        self._active: set[tuple] = set()
        self._tested: dict[int, frozenset[str]] = {}
        self._books: dict[str, SummaryBook] = {}
        self.class_sources: ProjectSources | None = None  # where a followed module's classes are looked up

    @property
    def models(self):
        """The names of this module bound to models (analysis/models.py), built when first asked."""
        if self._models is None:
            from types import SimpleNamespace

            from mllint_deploy.analysis.models import ModuleModels

            self._models = ModuleModels(SimpleNamespace(index=self.index, module=self.index.module_scope.node),
                                        sources=self.sources or self.class_sources)
        return self._models

    @models.setter
    def models(self, value) -> None:
        self._models = value

    @property
    def tracks_input(self) -> bool:
        """Whether request input is followed here: a module that serves, loads models or defines handlers
        (elsewhere no request input can arise, and following parameters for it would cost for nothing)."""
        if self._tracks_input is None:
            from mllint_deploy.analysis.handlers import serving_knowledge

            k = serving_knowledge()
            self._tracks_input = bool(self.handlers) or self.index.imports_any(
                k["model_libraries"] | k["web_frameworks"])
        return self._tracks_input

    # -- which function a call reaches ---------------------------------------------------------
    def local(self, name: str) -> cst.FunctionDef | None:
        fn = self.module.functions.get(name)
        return fn if fn is not None and "." not in name else None

    def method(self, scope_node, name: str) -> cst.FunctionDef | None:
        """`self.name(...)` inside a method of a class of this module."""
        cls = self._owner.get(id(scope_node))
        return self.module.functions.get(f"{cls}.{name}") if cls else None

    def foreign(self, qualname: str) -> tuple[SummaryBook, cst.FunctionDef] | None:
        """A function of another project module, with the book of that module."""
        if self.sources is None or self.depth >= MAX_DEPTH:
            return None
        found = self.sources.function(qualname)
        if found is None:
            return None
        module, fn = found
        key = (module.path, module.digest)
        book = _BOOKS.get(key)
        if book is None or book.build is not self.build or book.module is not module:
            book = SummaryBook(module.index, None, self.build, self.depth + 1)
            book.module = module
            book.class_sources = self.sources or self.class_sources
            book._owner = {id(f): n.split(".")[0] for n, f in module.functions.items() if "." in n}
            _BOOKS[key] = book
            trim(_BOOKS)
        return book, fn

    def method_owner(self, fn: cst.FunctionDef) -> str | None:
        return self._owner.get(id(fn))

    def star_candidates(self, name: str) -> list[str]:
        return [f"{m}.{name}" for m in self.index.star_imports]

    # -- the summary ---------------------------------------------------------------------------
    def tested(self, fn: cst.FunctionDef) -> frozenset[str]:
        if id(fn) not in self._tested:
            v = _TestedNames()
            fn.body.visit(v)
            self._tested[id(fn)] = frozenset(v.names)
        return self._tested[id(fn)]

    def constants(self, fn: cst.FunctionDef, call: cst.Call, env, method: bool) -> tuple:
        """(param, value) for the parameters the body tests that the call (or a literal default) fixes."""
        params = _params(fn)
        if not call.args and not any(p.default is not None for p in params):
            return ()
        if not any(constant_of(a.value, env) is not _NOT_CONSTANT for a in call.args) \
                and not any(p.default is not None for p in params):
            return ()
        tested = self.tested(fn)
        if method and params and params[0].name.value in ("self", "cls"):
            params = params[1:]
        if not tested & {p.name.value for p in params}:
            return ()
        given: dict[str, object] = {}
        positional = [a for a in call.args if a.keyword is None]
        if any(a.star for a in call.args):
            return ()
        for i, a in enumerate(positional):
            if i < len(params):
                given[params[i].name.value] = a.value
        for a in call.args:
            if a.keyword is not None:
                given[a.keyword.value] = a.value
        out = []
        for p in params:
            name = p.name.value
            if name not in tested:
                continue
            expr = given.get(name, p.default)
            value = constant_of(expr, env) if name in given else (constant_of(expr) if expr is not None
                                                                   else _NOT_CONSTANT)
            if value is not _NOT_CONSTANT:
                try:
                    hash(value)
                except TypeError:
                    continue
                out.append((name, value))
        return tuple(out)

    def summary(self, fn: cst.FunctionDef, consts: tuple = ()):
        """The summary of `fn` under `consts`, None while `fn` is being summarised already (recursion)."""
        key = (id(fn), consts)
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            return None
        self._active.add(key)
        try:
            result = self.build(self, fn, consts)
        finally:
            self._active.discard(key)
        self._memo[key] = result
        return result
