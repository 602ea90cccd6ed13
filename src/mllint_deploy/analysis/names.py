"""Qualified-name resolution through every import form, and one walk that indexes a module.

`import numpy as np; np.random.seed` and `from numpy import random; random.seed` both resolve to
`numpy.random.seed`; moved and deprecated APIs resolve to today's name (`sklearn.cross_validation.KFold`
is `sklearn.model_selection.KFold`). A name bound locally (a `def`, `class` or assignment that comes after, or without,
an import) is not the library name it spells.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from mllint_deploy.knowledge import knowledge


def _canonical(qualname: str) -> str:
    """Today's name of a moved, renamed or deprecated API (knowledge/aliases.yaml)."""
    return knowledge().canonical(qualname)


def dotted(expr: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if isinstance(expr, cst.Name):
        parts.append(expr.value)
        return ".".join(reversed(parts))
    return None


def _module_of(node: cst.BaseExpression | None) -> str:
    return dotted(node) or "" if node is not None else ""


@dataclass
class ScopeInfo:
    """A function (or the module) and the names it binds itself."""

    node: cst.CSTNode
    parent: "ScopeInfo | None"
    bound: set[str] = field(default_factory=set)
    params: list[str] = field(default_factory=list)
    assigned: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)


class ModuleIndex(cst.CSTVisitor):
    """One pass over a module: imports, local bindings, scopes, calls (in source order), definitions."""

    def __init__(self, module_name: str = "") -> None:
        self.module_name = module_name
        self.aliases: dict[str, str] = {}
        self.module_scope = ScopeInfo(node=cst.Module(body=[]), parent=None)
        self.scopes: dict[cst.CSTNode, ScopeInfo] = {}
        self.calls: list[tuple[cst.Call, ScopeInfo]] = []
        self.functions: list[tuple[cst.FunctionDef, ScopeInfo]] = []
        self.classes: list[tuple[cst.ClassDef, ScopeInfo]] = []
        self._stack: list[ScopeInfo] = [self.module_scope]
        self._module_bindings: dict[str, str] = {}  # name -> "import" | "local", last one wins
        self.star_imports: list[str] = []
        self.displayed: set[int] = set()  # id() of calls whose value is only shown (`df.sample(5)` alone, print(...))

    # -- imports ---------------------------------------------------------------------------
    def _bind_import(self, name: str, qualified: str) -> None:
        scope = self._stack[-1]
        if scope is self.module_scope:
            self._module_bindings[name] = "import"
            self.aliases[name] = qualified
        else:
            # a function-level import is visible in that function; record it globally too,
            # unless the module binds the name otherwise (rare, and then the local wins there)
            self.aliases.setdefault(name, qualified)
            scope.bound.discard(name)

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            full = _module_of(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind_import(alias.asname.name.value, full)
            else:
                top = full.split(".")[0]
                self._bind_import(top, top)
        return False

    def _resolve_relative(self, level: int, module: str) -> str:
        if not level:
            return module
        package = self.module_name.split(".")[:-level] if self.module_name else []
        return ".".join([*package, module] if module else package)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        base = self._resolve_relative(len(node.relative), _module_of(node.module))
        if isinstance(node.names, cst.ImportStar):
            self.star_imports.append(base)
            return False
        for alias in node.names:
            name = _module_of(alias.name)
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            self._bind_import(local, f"{base}.{name}" if base else name)
        return False

    # -- scopes and bindings ---------------------------------------------------------------
    def _bind_local(self, name: str) -> None:
        scope = self._stack[-1]
        if scope is self.module_scope:
            self._module_bindings[name] = "local"
        else:
            scope.bound.add(name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind_local(node.name.value)
        info = ScopeInfo(node=node, parent=self._stack[-1])
        params = node.params
        for p in (*params.posonly_params, *params.params, *params.kwonly_params):
            info.params.append(p.name.value)
        for p in (params.star_arg, params.star_kwarg):
            if isinstance(p, cst.Param):
                info.params.append(p.name.value)
        info.bound.update(info.params)
        self.scopes[node] = info
        self.functions.append((node, self._stack[-1]))
        self._stack.append(info)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._stack.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind_local(node.name.value)
        self.classes.append((node, self._stack[-1]))

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            if isinstance(t.target, cst.Name):
                self._stack[-1].assigned.setdefault(t.target.value, []).append(node.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bind_targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind_targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind_targets(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_targets(node.asname.name)

    def _bind_targets(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self._bind_local(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._bind_targets(el.value)
        elif isinstance(target, cst.StarredElement):
            self._bind_targets(target.value)

    # -- calls -----------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append((node, self._stack[-1]))
        if isinstance(node.func, cst.Name) and node.func.value in ("print", "display"):
            for arg in node.args:
                self._shown(arg.value)

    def visit_Expr(self, node: cst.Expr) -> None:
        self._shown(node.value)  # a bare expression statement: its value is shown in a notebook, else dropped

    def _shown(self, expr) -> None:
        """`df.sample(5)`, `df.sample(5).T`, `df.sample(5)[cols]`: the call's value is only displayed."""
        while isinstance(expr, (cst.Attribute, cst.Subscript)) or (
                isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in (
                    "head", "tail", "style", "to_string", "describe", "reset_index", "round")):
            expr = expr.value if not isinstance(expr, cst.Call) else expr.func.value
        if isinstance(expr, cst.Call):
            self.displayed.add(id(expr))

    # -- resolution ------------------------------------------------------------------------
    def finish(self) -> "ModuleIndex":
        for name, kind in self._module_bindings.items():
            if kind == "local":
                self.aliases.pop(name, None)
        return self

    def qualify(self, expr: cst.BaseExpression, scope: ScopeInfo | None = None) -> str | None:
        """The qualified name `expr` refers to, if it starts with an imported name."""
        name = dotted(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        s = scope
        while s is not None and s is not self.module_scope:
            if head in s.bound:
                return None
            s = s.parent
        base = self.aliases.get(head)
        if base is None:
            if head in self._module_bindings or (s is not None and head in s.bound):
                return None
            base = knowledge().unbound_names.get(head)  # `np` with no import: a notebook kernel's numpy
            if base is None:
                return None
        return _canonical(f"{base}.{rest}" if rest else base)

    def bound_values(self, name: str, scope: ScopeInfo | None = None) -> list[cst.BaseExpression] | None:
        """The expressions assigned to `name` in the nearest scope that binds it (from `scope` outwards),
        in source order; None when a parameter binds it first or nothing assigns it."""
        s = scope
        while s is not None:
            if name in s.assigned:
                return s.assigned[name]
            if name in s.params:
                return None
            s = s.parent
        return self.module_scope.assigned.get(name)

    def last_value(self, name: str, scope: ScopeInfo | None = None) -> cst.BaseExpression | None:
        values = self.bound_values(name, scope)
        return values[-1] if values else None

    def call_name(self, call: cst.Call, scope: ScopeInfo | None = None) -> str | None:
        return self.qualify(call.func, scope)

    def imports_any(self, prefixes) -> bool:
        """Whether any import of the module starts with one of `prefixes` (top-level packages)."""
        roots = {q.split(".")[0] for q in self.aliases.values()} | {m.split(".")[0] for m in self.star_imports}
        return any(p in roots for p in prefixes)


def index_module(module: cst.Module, module_name: str = "") -> ModuleIndex:
    idx = ModuleIndex(module_name)
    idx.module_scope.node = module
    module.visit(idx)
    return idx.finish()
