"""Paths to files: recursive discovery of `.py` and `.ipynb` files with default excludes, the user's
`exclude`/`extend-exclude` patterns and `.gitignore`. Explicitly named files are always linted
unless `--force-exclude`."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import pathspec

from mllint_deploy.config import Settings

SOURCE_SUFFIXES = (".py", ".ipynb")


class _GitIgnores:
    """The .gitignore files that apply below a repository root, loaded as directories are entered."""

    def __init__(self) -> None:
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, directory: Path):
        if directory not in self._specs:
            spec = None
            gi = directory / ".gitignore"
            try:
                if gi.is_file():
                    with open(gi, encoding="utf-8", errors="replace") as fh:
                        spec = pathspec.GitIgnoreSpec.from_lines(fh.read().splitlines())
            except OSError:
                spec = None
            self._specs[directory] = spec
        return self._specs[directory]

    def ignored(self, path: Path, is_dir: bool, repo_root: Path | None) -> bool:
        if repo_root is None:
            return False
        decision = None
        ancestors = [p for p in reversed(path.parents) if p == repo_root or repo_root in p.parents]
        for directory in ancestors:
            spec = self._spec(directory)
            if spec is None:
                continue
            rel = path.relative_to(directory).as_posix() + ("/" if is_dir else "")
            result = spec.check_file(rel)
            if result.include is not None:
                decision = result.include
        return bool(decision)


def _repo_root(path: Path) -> Path | None:
    for directory in (path, *path.parents):
        if (directory / ".git").exists():
            return directory
    return None


def _excluded(path: Path, patterns, root: Path) -> bool:
    name = path.name
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.as_posix()
    for pattern in patterns:
        pat = pattern.rstrip("/")
        if fnmatch.fnmatchcase(name, pat) or fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(rel, pat + "/*"):
            return True
    return False


def _force_excluded(path: Path, patterns, root: Path) -> bool:
    """For a path named on the command line under `--force-exclude`: the path itself or any directory
    between the project root and it matches (`migrations` excludes `app/migrations/0001.py`)."""
    if _excluded(path, patterns, root):
        return True
    for parent in path.parents:
        if parent == root or root not in parent.parents:
            break
        if _excluded(parent, patterns, root):
            return True
    return False


def display_path(path: Path) -> str:
    """The path as reports show it: relative to the working directory when below it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def discover(paths: list[str], settings: Settings) -> list[Path]:
    """Every file to lint, sorted and without duplicates (paths absolute, not resolved through links)."""
    patterns = tuple(settings.exclude) + tuple(settings.extend_exclude)
    root = settings.project_root
    ignores = _GitIgnores()
    found: dict[str, Path] = {}

    def add(p: Path) -> None:
        found.setdefault(os.path.normpath(str(p)), p)

    for raw in paths:
        start = Path(os.path.abspath(raw))
        if not start.is_dir() or start.is_symlink() and not start.exists():
            if settings.force_exclude and (
                _force_excluded(start, patterns, root) or ignores.ignored(start, False, _repo_root(start.parent))
            ):
                continue
            add(start)
            continue
        if settings.force_exclude and _force_excluded(start, patterns, root):
            continue
        repo = _repo_root(start)
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            here = Path(dirpath)
            keep = []
            for d in sorted(dirnames):
                sub = here / d
                if _excluded(sub, patterns, root) or ignores.ignored(sub, True, repo):
                    continue
                keep.append(d)
            dirnames[:] = keep
            for f in sorted(filenames):
                if not f.endswith(SOURCE_SUFFIXES):
                    continue
                p = here / f
                if _excluded(p, patterns, root) or ignores.ignored(p, False, repo):
                    continue
                add(p)
            # a directory whose name looks like a source file (`x.py/`) is walked, never read
    return sorted(found.values(), key=lambda p: display_path(p))
