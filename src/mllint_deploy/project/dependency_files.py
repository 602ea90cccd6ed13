"""Version pins beside the code: lock files, requirement files with `==` pins, `pyproject.toml`
dependencies. Read as text (TOML with tomllib), never installed or run; which files count is
`rules/knowledge/readiness.yaml`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mllint_deploy.knowledge import knowledge

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
_MAX_BYTES = 2_000_000


def _requirement_lines(path: Path) -> list[tuple[int, str]]:
    """(line, requirement) of a requirements file or a conda environment's `dependencies:` list."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:_MAX_BYTES]
    except OSError:
        return []
    out = []
    conda = path.suffix in (".yml", ".yaml")
    in_deps = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if conda:
            if raw and not raw[0].isspace():
                in_deps = raw.strip().startswith("dependencies:")
                continue
            if not (in_deps and line.startswith("- ")):
                continue
            line = line[2:].strip()
        if line and not line.startswith("-") and _NAME.match(line):
            out.append((number, line))
    return out


def _pinned(spec: str, conda: bool) -> bool:
    ops = knowledge().evidence_names("pin_operators")
    if any(op in spec for op in ops):
        return True
    return conda and re.search(r"[^<>!~=]=\d", spec) is not None  # conda's `numpy=1.26.4`


def _pyproject_dependencies(path: Path) -> list[tuple[int, str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8", errors="replace")[:_MAX_BYTES])
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except (OSError, tomllib.TOMLDecodeError):
        return []
    deps = (data.get("project") or {}).get("dependencies") or []
    out = []
    for dep in deps if isinstance(deps, list) else ():
        if isinstance(dep, str):
            number = next((i for i, line in enumerate(lines, 1) if dep in line), 1)
            out.append((number, dep))
    return out


def dependency_evidence(directories: list[Path], display) -> dict[str, list[str]]:
    """{"pinned": [...], "unpinned": [...]}: evidence strings `path:line: what` from the first
    directories (the project root and the folders linted)."""
    k = knowledge()
    pinned: list[str] = []
    unpinned: list[str] = []
    seen: set[Path] = set()
    for directory in directories:
        for name in k.evidence_names("lock_files"):
            path = directory / name
            if path.is_file() and path.resolve() not in seen:
                seen.add(path.resolve())
                pinned.append(f"{display(path)}:1: lock file")
        candidates = [directory / n for n in k.evidence_names("requirement_files")] + [directory / "pyproject.toml"]
        for path in candidates:
            if not path.is_file() or path.resolve() in seen:
                continue
            seen.add(path.resolve())
            conda = path.suffix in (".yml", ".yaml")
            specs = _pyproject_dependencies(path) if path.name == "pyproject.toml" else _requirement_lines(path)
            loose = [(n, s) for n, s in specs if not _pinned(s, conda)]
            if specs and not loose:
                pinned.append(f"{display(path)}:{specs[0][0]}: all {len(specs)} requirement(s) pinned")
            unpinned += [f"{display(path)}:{n}: {s} is not pinned" for n, s in loose]
    return {"pinned": pinned, "unpinned": unpinned}
