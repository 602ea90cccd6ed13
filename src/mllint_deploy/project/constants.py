"""Column lists and artifact paths written as constants in one module and used in another.

The skew facts of a file keep column specs and path pieces symbolically (`analysis/features.py`):
`("ref", "pkg.features.FEATURES")` for a constant imported from elsewhere. Once every file's facts are
known, `ProjectConstants` resolves them through the project's modules (a constant's own names resolve
from the module that defines it), and says where a line of a file is (`path:line`, or the notebook cell).
"""

from __future__ import annotations

from mllint_deploy.analysis.columns import lit, resolve_path, resolve_spec


class ProjectConstants:
    def __init__(self, project, facts_key: str):
        self.project = project
        self.entries = list(project.facts(facts_key))  # (module facts, skew facts) per file
        self._facts_of = {id(m): f for m, f in self.entries}
        self._notebooks = {r.path: r.facts.get("notebook") for r in project.results}

    def cols(self, spec, module) -> tuple[str, ...] | None:
        """The column names a spec of `module` stands for, or None when some part is unknown."""
        return resolve_spec(spec, self._resolver(module, "columns"))

    def path(self, pieces, module) -> str | None:
        """The path text of `module`'s path pieces (unknown pieces as NUL)."""
        return resolve_path(pieces, self._resolver(module, "paths"))

    def where(self, module, line: int) -> str:
        """`path:line`, or `path cell N, line M` in a notebook."""
        nb = self._notebooks.get(module.path)
        line_map = getattr(nb, "line_map", None)
        if line_map and 1 <= line <= len(line_map):
            cell, cell_line, _ = line_map[line - 1]
            return f"{module.path} cell {cell}, line {cell_line}"
        return f"{module.path}:{line}"

    def _resolver(self, importer, kind: str):
        def lookup(qualname: str):
            parts = qualname.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                module = self.project.resolve_module(".".join(parts[:cut]), importer)
                if module is None:
                    continue
                facts = self._facts_of.get(id(module))
                if facts is None:
                    return None
                table = facts.columns if kind == "columns" else facts.paths
                spec = table.get(".".join(parts[cut:]))
                return None if spec is None else self._materialise(spec, module, kind)
            return None

        return lookup

    def _materialise(self, spec, module, kind: str):
        """A constant of another module, resolved from that module."""
        if kind == "columns":
            names = self.cols(spec, module)
            return lit(names) if names is not None else None
        text = self.path(spec, module)
        if text is None:
            return None
        pieces = []
        for i, chunk in enumerate(text.split("\0")):
            if i:
                pieces.append(("?",))
            if chunk:
                pieces.append(("s", chunk))
        return tuple(pieces)
