"""The project modules one file's analysis reads: found by the importing file's location, parsed once
per process (keyed by path and content), within a bounded number and size per file, and recorded as
dependencies of that file so a cached result is used only while they are unchanged."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from mllint_deploy.analysis.names import ModuleIndex, index_module
from mllint_deploy.sources.source import (
    UnreadableSource,
    check_parsable,
    decode,
    read_bytes,
)

MAX_MODULES = 4  # other modules one file's analysis may read (the first ones it calls into) ...
MIN_BUDGET = 32_000  # ... and their bytes: helper modules of ML projects are small; library internals are not


@dataclass
class _Module:
    """A parsed project module: its index and how its functions are found."""

    path: str
    digest: str
    index: ModuleIndex
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)  # "f" and "Class.method"
    classes: dict[str, cst.ClassDef] = field(default_factory=dict)


def module_of(index: ModuleIndex, path: str, digest: str) -> _Module:
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


# parsed project modules, per process: (absolute path, content digest) -> module, or None if unparsable
_PARSED: dict[tuple[str, str], _Module | None] = {}
_KEEP = 96


def remember_parsed(abspath: str, digest: str, index: ModuleIndex, size: int) -> None:
    """A file the engine has just parsed and indexed, for files after it that import it (only one small
    enough to be followed: keeping the trees of large files would only cost memory)."""
    key = (abspath, digest)
    if size <= MIN_BUDGET and key not in _PARSED:
        _PARSED[key] = module_of(index, abspath, digest)
        trim(_PARSED)


def trim(table: dict) -> None:
    while len(table) > _KEEP:
        table.pop(next(iter(table)))


def project_sources(ctx) -> "ProjectSources":
    """The project modules this file imports, found beside it; what they read is recorded on `ctx`."""
    record = getattr(ctx, "depends_on", None)
    return ctx.shared("project_sources", lambda c: ProjectSources(c.abspath, c.module_name, record, len(c.text)))


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
                _PARSED[key] = module_of(index_module(module, dotted), key[0], digest)
            except Exception:  # unreadable, unparsable or too deep: the call stays opaque
                _PARSED[key] = None
            trim(_PARSED)
        return _PARSED[key]

    def class_of(self, qualname: str) -> tuple[_Module, cst.ClassDef] | None:
        """The project class `qualname` names (`model.ImageClassifier`), with its module."""
        module_name, _, name = qualname.rpartition(".")
        module = self.module(module_name) if module_name else None
        if module is None or name not in module.classes:
            return None
        return module, module.classes[name]

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
