"""The project pass: rules that need several files read only the per-file facts of all of them
(seeding done in a helper module, a training script paired with its serving app)."""

from __future__ import annotations

import os

from mllint_deploy.analysis.modulefacts import FunctionFacts, ModuleFacts
from mllint_deploy.findings import Finding


class Project:
    """The facts of every file read, and where project checks report."""

    def __init__(self, results, reportable: set[str], enabled: frozenset[str]):
        self.results = [r for r in results if "module" in r.facts]
        self.reportable = reportable
        self.enabled = enabled
        self.findings: list[Finding] = []
        self.contract = None  # the run's feature contract (contract.Contract), set by the runner
        self.contract_config = None  # the config file that declared it
        self.modules: list[ModuleFacts] = [r.facts["module"] for r in self.results]
        self._by_name: dict[str, list[ModuleFacts]] = {}
        self._by_suffix: dict[str, list[ModuleFacts]] = {}
        self._by_file: dict[str, ModuleFacts] = {}
        self._resolved: dict[tuple[str, str], ModuleFacts | None] = {}
        self._importers: dict[int, list[ModuleFacts]] | None = None
        for m in self.modules:
            self._by_name.setdefault(m.module, []).append(m)
            parts = m.module.split(".")
            for i in range(1, len(parts)):
                self._by_suffix.setdefault(".".join(parts[i:]), []).append(m)
            self._by_file[os.path.join(m.import_root, *m.module.split("."))] = m

    def facts(self, key: str):
        """(module facts, the facts a check stored under `key`) for every file that has them."""
        for r in self.results:
            if key in r.facts:
                yield r.facts["module"], r.facts[key]

    def resolve_module(self, name: str, importer: ModuleFacts) -> ModuleFacts | None:
        """The project module `name` refers to from `importer`: same import root first, else a unique match."""
        key = (name, importer.import_root)
        if key not in self._resolved:
            self._resolved[key] = self._resolve_module(name, importer.import_root)
        return self._resolved[key]

    def _resolve_module(self, name: str, import_root: str) -> ModuleFacts | None:
        found = self._by_file.get(os.path.join(import_root, *name.split(".")))
        if found is not None:
            return found
        matches = self._by_name.get(name, [])
        if len(matches) == 1:
            return matches[0]
        suffix = self._by_suffix.get(name, [])
        return suffix[0] if len(suffix) == 1 else None

    def resolve_function(self, qualname: str, importer: ModuleFacts,
                         _depth: int = 0) -> tuple[ModuleFacts, FunctionFacts] | None:
        """A project function (`pkg.utils.seed_all`, or `pkg.mod.Class.method`) called from `importer`,
        also through a package's re-export (`from pkg.utils.repro import seed_all` in `pkg/utils/__init__.py`)."""
        parts = qualname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self.resolve_module(".".join(parts[:cut]), importer)
            if module is None:
                continue
            local = ".".join(([module.module] if module.module else []) + parts[cut:])
            fn = module.functions.get(local)
            if fn is not None:
                return module, fn
            rest = parts[cut:]
            if rest[0] in module.reexports and _depth < 3:
                target = ".".join([module.reexports[rest[0]], *rest[1:]])
                return self.resolve_function(target, module, _depth + 1)
            return None
        if importer.module == "" and qualname in importer.functions:
            return importer, importer.functions[qualname]
        return None

    def importers_of(self, module: ModuleFacts) -> list[ModuleFacts]:
        """The project modules that import `module` (the import graph is built once)."""
        if self._importers is None:
            self._importers = {}
            for m in self.modules:
                for target in {id(t): t for t in (self._import_target(imp, m) for imp in m.imports)
                               if t is not None and t is not m}.values():
                    self._importers.setdefault(id(target), []).append(m)
        return self._importers.get(id(module), [])

    def _import_target(self, imported: str, importer: ModuleFacts) -> ModuleFacts | None:
        parts = imported.split(".")
        for cut in range(len(parts), 0, -1):
            found = self.resolve_module(".".join(parts[:cut]), importer)
            if found is not None:
                return found
        return None

    def report(self, path: str, position: tuple[int, int, int, int], code: str, message: str) -> None:
        if code in self.enabled and path in self.reportable:
            line, col, end_line, end_col = position
            self.findings.append(Finding(path=path, line=line, column=col, code=code, message=message,
                                         end_line=end_line, end_column=end_col))
