"""The package's layering, checked from its imports (read with `ast`, nothing is imported):

- no import cycle among the package's modules (function-level imports included);
- `checks/` (the rules) imports nothing of the orchestration: `cli`, `pipeline/`, `suppress/`;
- `analysis/` (facts) imports nothing from `checks/`, `project/`, `pipeline/` or `cli`;
- one module, `knowledge/concepts.py`, reads the knowledge YAML;
- no module is over 900 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "src" / "mllint_deploy"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """Package modules that `path` imports (`from pkg import name` counts `pkg.name` when a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != me and name != "mllint_deploy":
                out.add(name)
    return out


GRAPH = {m: _imports(p) for m, p in MODULES.items()}


def test_no_import_cycles():
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for n in sorted(GRAPH[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n] if n in stack else [m, n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m, [m])
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("layer, forbidden", [
    ("mllint_deploy.checks", ("mllint_deploy.cli", "mllint_deploy.pipeline", "mllint_deploy.suppress")),
    ("mllint_deploy.analysis", ("mllint_deploy.checks", "mllint_deploy.project", "mllint_deploy.pipeline",
                                "mllint_deploy.cli", "mllint_deploy.suppress")),
    ("mllint_deploy.knowledge", ("mllint_deploy.analysis", "mllint_deploy.checks", "mllint_deploy.pipeline")),
    ("mllint_deploy.sources", ("mllint_deploy.analysis", "mllint_deploy.checks", "mllint_deploy.pipeline",
                               "mllint_deploy.project")),
])
def test_layers_import_only_downwards(layer, forbidden):
    wrong = sorted((m, n) for m, deps in GRAPH.items() if m.startswith(layer)
                   for n in deps if n.startswith(forbidden))
    assert not wrong, wrong


def test_one_module_reads_the_knowledge_files():
    readers = [m for m, p in MODULES.items() if "load_rule_file" in p.read_text(encoding="utf-8")
               and m != "mllint_deploy.catalogue"]
    assert readers == ["mllint_deploy.knowledge.concepts"]


def test_no_module_is_over_900_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 900}
    assert not long, long
