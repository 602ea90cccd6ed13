"""Maps rule codes to the checks that find them; loads built-in checks and plugins.

A check is a class with a `codes` tuple. File checks implement `check(ctx)` and report through
`ctx.report(code, node, message)`; project checks implement `check(project)` over the facts of all
files. Third-party checks register through the `mllint_deploy.rules` entry-point group: the entry
point names a check class, or a module whose import registers its classes with `@register`.
"""

from __future__ import annotations

import importlib
import sys
from typing import ClassVar

_BUILTIN_MODULES = (
    "mllint_deploy.checks.tool",
    "mllint_deploy.checks.randomness",
    "mllint_deploy.checks.leakage",
    "mllint_deploy.checks.serving",
    "mllint_deploy.checks.skew",
)


class FileCheck:
    """A check that looks at one file at a time."""

    codes: ClassVar[tuple[str, ...]] = ()

    def check(self, ctx) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class ProjectCheck:
    """A check that looks at the facts gathered from every file of the project."""

    codes: ClassVar[tuple[str, ...]] = ()

    def check(self, project) -> None:  # pragma: no cover - interface
        raise NotImplementedError


_CHECKS: dict[str, list[type]] = {}
_loaded = False
plugin_errors: list[str] = []


def register(cls: type) -> type:
    """Class decorator: `cls` checks each code in `cls.codes` (a code may have a file check and a
    project check, e.g. what one file shows and what only the whole project shows)."""
    if not cls.codes:
        raise ValueError(f"{cls.__name__} declares no codes")
    for code in cls.codes:
        if cls not in _CHECKS.setdefault(code, []):
            _CHECKS[code].append(cls)
    return cls


def _may_have_plugins() -> bool:
    """False only when no installed distribution on sys.path declares a `mllint_deploy.rules` entry
    point: a directory listing and a few small reads, where importing importlib.metadata alone costs
    a one-file pre-commit run ~15 ms. Anything unusual (a zip on sys.path, a custom metadata
    finder) answers True, and importlib.metadata decides."""
    import os

    for finder in sys.meta_path:
        if hasattr(finder, "find_distributions") and getattr(finder, "__name__", "") != "PathFinder":
            return True
    for entry in sys.path:
        directory = entry or "."
        try:
            names = os.listdir(directory)
        except NotADirectoryError:
            return True  # a zip archive or egg on sys.path
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(directory, name, "entry_points.txt"), encoding="utf-8") as fh:
                        if "mllint_deploy.rules" in fh.read():
                            return True
                except FileNotFoundError:
                    continue
                except (OSError, UnicodeDecodeError):
                    return True
            elif name.endswith(".egg"):
                return True
    return False


def _load_plugins() -> None:
    if not _may_have_plugins():
        return
    from importlib.metadata import entry_points

    for ep in entry_points(group="mllint_deploy.rules"):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not stop the run
            plugin_errors.append(f"plugin {ep.name!r} failed to load: {exc}")
            continue
        if isinstance(obj, type) and issubclass(obj, (FileCheck, ProjectCheck)) and obj.codes:
            register(obj)


def load_checks() -> dict[str, list[type]]:
    """Every registered check class, by code (built-ins first, then plugins)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for name in _BUILTIN_MODULES:
            importlib.import_module(name)
        _load_plugins()
    return {code: list(classes) for code, classes in _CHECKS.items()}


def checks_for(codes) -> tuple[list[FileCheck], list[ProjectCheck]]:
    """Instances of the checks that report at least one of `codes`, file checks and project checks."""
    by_code = load_checks()
    seen: dict[type, object] = {}
    for code in sorted(codes):
        for cls in by_code.get(code, ()):
            if cls not in seen:
                seen[cls] = cls()
    file_checks = [c for c in seen.values() if isinstance(c, FileCheck)]
    project_checks = [c for c in seen.values() if isinstance(c, ProjectCheck)]
    return file_checks, project_checks


def implemented_codes() -> set[str]:
    return set(load_checks())


def warn_plugin_errors() -> None:
    for msg in plugin_errors:
        print(f"mllint-deploy: warning: {msg}", file=sys.stderr)
