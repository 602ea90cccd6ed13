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

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from mllint_deploy.analysis.calls import int_value, string_value
from mllint_deploy.analysis.names import ModuleIndex, index_module
from mllint_deploy.sources.source import UnreadableSource, check_parsable, decode, read_bytes

MAX_DEPTH = 1  # modules followed below the analysed file: the modules it imports (their own imports: opaque)
MAX_MODULES = 4  # other modules one file's analysis may read (the first ones it calls into) ...
MIN_BUDGET = 32_000  # ... and their bytes: helper modules of ML projects are small; library internals are not
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


@dataclass
class _Module:
    """A parsed project module: its index and how its functions are found."""

    path: str
    digest: str
    index: ModuleIndex
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)  # "f" and "Class.method"
    classes: dict[str, cst.ClassDef] = field(default_factory=dict)


def _module_of(index: ModuleIndex, path: str, digest: str) -> _Module:
    m = _Module(path=path, digest=digest, index=index)
    for fn, parent in index.functions:
        if parent is index.module_scope:
            m.functions[fn.name.value] = fn
    for cls, parent in index.classes:
        if parent is not index.module_scope:
            continue
        m.classes[cls.name.value] = cls
        if isinstance(cls.body, cst.IndentedBlock):
            for stmt in cls.body.body:
                if isinstance(stmt, cst.FunctionDef):
                    m.functions[f"{cls.name.value}.{stmt.name.value}"] = stmt
    return m


# parsed project modules, per process: (absolute path, content digest) -> module, or None if unparsable;
# and the summary books of modules other files import (a book depends on its own file only, since
# modules followed from another file follow no further)
_PARSED: dict[tuple[str, str], _Module | None] = {}
_BOOKS: dict[tuple[str, str], "SummaryBook"] = {}
_KEEP = 96


def remember_parsed(abspath: str, digest: str, index: ModuleIndex, size: int) -> None:
    """A file the engine has just parsed and indexed, for files after it that import it (only one small
    enough to be followed: keeping the trees of large files would only cost memory)."""
    key = (abspath, digest)
    if size <= MIN_BUDGET and key not in _PARSED:
        _PARSED[key] = _module_of(index, abspath, digest)
        _trim(_PARSED)


def _trim(table: dict) -> None:
    while len(table) > _KEEP:
        table.pop(next(iter(table)))


class ProjectSources:
    """Finds the project modules a file imports, by the file's location, and parses them."""

    def __init__(self, abspath: str, module_name: str, record=None, size: int = 0):
        here = Path(abspath).parent if abspath else Path(".")
        root = here
        for _ in range(module_name.count(".")):
            root = root.parent
        self.bases = [root] if root == here else [root, here]
        self.record = record  # called with (path, digest) for every file the analysis reads
        self._found: dict[str, _Module | None] = {}
        self._read = 0
        self._budget = MIN_BUDGET

    def module(self, dotted: str) -> _Module | None:
        """The project module `dotted` names (`pkg.utils`), or None when it is not a project file."""
        if dotted in self._found:
            return self._found[dotted]
        found = None
        parts = dotted.split(".")
        if all(p.isidentifier() for p in parts):
            for base in self.bases:
                for candidate in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
                    if candidate.is_file():
                        found = self._parse(candidate, dotted)
                        break
                if found is not None:
                    break
        self._found[dotted] = found
        return found

    def _parse(self, path: Path, dotted: str) -> _Module | None:
        try:
            data = read_bytes(str(path))
        except UnreadableSource:
            return None
        digest = hashlib.sha256(data).hexdigest()
        key = (str(path.resolve()), digest)
        # the bounds hold whether or not the module is already parsed, so what a file's analysis
        # follows never depends on which files this process linted before it
        if self._read >= MAX_MODULES or len(data) > self._budget:
            return None  # a bounded parse cost per file: library-sized code bases import everything
        self._read += 1
        self._budget -= len(data)
        if self.record is not None:
            self.record(key[0], digest)
        if key not in _PARSED:
            try:
                text = decode(data)
                check_parsable(text)
                module = cst.parse_module(text)
                _PARSED[key] = _module_of(index_module(module, dotted), key[0], digest)
            except Exception:  # unreadable, unparsable or too deep: the call stays opaque
                _PARSED[key] = None
            _trim(_PARSED)
        return _PARSED[key]

    def function(self, qualname: str, _depth: int = 0) -> tuple[_Module, cst.FunctionDef] | None:
        """The project function or method `qualname` (`pkg.utils.scale`, `model.Service.predict`)."""
        parts = qualname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self.module(".".join(parts[:cut]))
            if module is None:
                continue
            rest = ".".join(parts[cut:])
            if rest in module.functions:
                return module, module.functions[rest]
            head = parts[cut]
            target = module.index.aliases.get(head)
            if target is not None and _depth < 3:  # re-exported by a package: `from .scaling import scale`
                return self.function(".".join([target, *parts[cut + 1:]]), _depth + 1)
            for star in module.index.star_imports:
                if _depth < 3:
                    found = self.function(f"{star}.{rest}", _depth + 1)
                    if found is not None:
                        return found
            return None
        return None


class SummaryBook:
    """The summaries one module's walk can apply: its own functions, methods of its classes (through
    `self`), and functions of project modules it imports; specialised and memoised."""

    def __init__(self, index: ModuleIndex, sources: ProjectSources | None, build, depth: int = 0):
        self.index = index
        self.build = build  # build(book, fn, consts) -> the summary: the dataflow walk of `fn`
        self.sources = sources
        self.depth = depth
        self.module = _module_of(index, "", "")
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

    @property
    def models(self):
        """The names of this module bound to models (analysis/models.py), built when first asked."""
        if self._models is None:
            from types import SimpleNamespace

            from mllint_deploy.analysis.models import ModuleModels

            self._models = ModuleModels(SimpleNamespace(index=self.index, module=self.index.module_scope.node))
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
            book._owner = {id(f): n.split(".")[0] for n, f in module.functions.items() if "." in n}
            _BOOKS[key] = book
            _trim(_BOOKS)
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
