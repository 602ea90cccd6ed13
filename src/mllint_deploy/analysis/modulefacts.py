"""Per-file facts every project rule can use: the module's name, what it imports, the functions it
defines and the calls each makes (resolved to qualified names). Small and picklable: workers send
these back, the cache stores them, and the project pass reads them without the source."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from mllint_deploy.analysis.names import ModuleIndex, ScopeInfo


@dataclass
class FunctionFacts:
    qualname: str  # module.func or module.Class.method
    calls: set[str] = field(default_factory=set)


@dataclass
class ModuleFacts:
    path: str  # as reported
    module: str  # dotted name from the package chain
    import_root: str  # the directory the module is importable from
    imports: set[str] = field(default_factory=set)
    reexports: dict[str, str] = field(default_factory=dict)  # name -> what it was imported as
    calls: set[str] = field(default_factory=set)  # every resolved call anywhere in the module
    functions: dict[str, FunctionFacts] = field(default_factory=dict)


def call_qualname(idx: ModuleIndex, call: cst.Call, scope: ScopeInfo, module: str, local_funcs: set[str]):
    """Library or project qualified name of a call; same-file functions become `module.func`."""
    name = idx.call_name(call, scope)
    if name is not None:
        return name
    func = call.func
    if isinstance(func, cst.Name) and func.value in local_funcs:
        s = scope
        while s is not None and s is not idx.module_scope:
            if func.value in s.bound:
                return None
            s = s.parent
        return f"{module}.{func.value}" if module else func.value
    return None


def build_module_facts(ctx) -> ModuleFacts:
    def build(ctx) -> ModuleFacts:
        idx: ModuleIndex = ctx.index
        module = ctx.module_name
        depth = module.count(".") if module else 0
        root = Path(ctx.abspath).parent if ctx.abspath else Path(".")
        for _ in range(depth):
            root = root.parent
        facts = ModuleFacts(path=ctx.path, module=module, import_root=str(root))
        facts.imports = {q for q in idx.aliases.values()} | set(idx.star_imports)
        facts.reexports = dict(idx.aliases)
        local_funcs = {fn.name.value for fn, parent in idx.functions if parent is idx.module_scope}
        owners: dict[int, str] = {}
        for fn, parent in idx.functions:
            prefix = module + "." if module else ""
            if parent is idx.module_scope:
                owners[id(idx.scopes[fn])] = f"{prefix}{fn.name.value}"
        for cls, parent in idx.classes:
            if parent is not idx.module_scope:
                continue
            for stmt in cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ():
                if isinstance(stmt, cst.FunctionDef) and stmt in idx.scopes:
                    owners[id(idx.scopes[stmt])] = f"{module + '.' if module else ''}{cls.name.value}.{stmt.name.value}"
        for qual in owners.values():
            facts.functions[qual] = FunctionFacts(qualname=qual)
        for call, scope in idx.calls:
            q = call_qualname(idx, call, scope, module, local_funcs)
            if q is None:
                continue
            facts.calls.add(q)
            s = scope
            while s is not None and id(s) not in owners:
                s = s.parent
            if s is not None:
                facts.functions[owners[id(s)]].calls.add(q)
        return facts

    return ctx.shared("module_facts", build)
