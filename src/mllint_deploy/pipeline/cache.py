"""The content-keyed cache of the per-file phase.

One entry per file and run configuration: the `FileResult` of the per-file phase (findings, facts
for the project pass, suppressions), pickled. The key is a SHA-256 over

- the file's bytes,
- the path as reported and the absolute path (findings carry the first; module facts and the
  dotted module name depend on the second and on the package's `__init__.py` files),
- whether the file is linted fully or read for facts only (a context file of a partial run),
- and the run's *salt*: cache format, tool version, Python and libcst versions, a digest of the
  tool's own code and of the code of every enabled check (plugins included), the digest of the rule
  catalogue and knowledge files (`rules/*.yaml`), the enabled codes and every setting that can
  reach the per-file phase.

The cache lives in `.mllint_deploy_cache/` at the project root (the directory of the config file,
else the working directory), or where `--cache-dir` / `cache-dir` says. It has its own `.gitignore`
(`*`) and a `CACHEDIR.TAG`, so neither git nor backup tools pick it up. Entries are written
atomically (temporary file, then rename), so concurrent runs and workers never see half an entry.
An entry records the other project files its analysis read (helper modules the file imports) with
their digests, and is used only while they are unchanged. An entry that cannot be read or unpickled
is ignored (and rewritten); a cache directory that cannot
be created or written is used read-only, or not at all, without failing the run.

Safety: a repository can contain a `.mllint_deploy_cache/` of its own making, so an entry is never
trusted to be our own. Entries are read with an unpickler that only builds plain data classes of
this package (and of enabled plugins' packages), never calls any other function, and so cannot
run code. Results with internal errors are not stored, so a transient failure is not frozen.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib
import io
import os
import pickle
import sys
import time
from functools import lru_cache
from pathlib import Path

import libcst

from mllint_deploy import __version__
from mllint_deploy.atomic import write_atomic
from mllint_deploy.catalogue import knowledge_digest

CACHE_DIR_NAME = ".mllint_deploy_cache"
FORMAT = "1"
_PRUNE_AFTER = 30 * 24 * 3600  # a configuration's entries unused this long are removed
_USED_MARK = ".last-used"
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by mllint-deploy.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)
# settings that cannot change what the per-file phase produces (the enabled codes stand for the
# selection); every other setting, including ones added later, is part of the salt
_NOT_PER_FILE = frozenset({
    "select", "extend_select", "ignore", "per_file_ignores", "exclude", "extend_exclude", "force_exclude",
    "cache_dir", "no_cache", "jobs", "origins", "checklist_require", "checklist_not_applicable",
})


def default_cache_dir(settings) -> Path:
    configured = getattr(settings, "cache_dir", None)
    if configured:
        return Path(configured)
    return Path(settings.project_root) / CACHE_DIR_NAME


@lru_cache(maxsize=None)
def _package_digest() -> str:
    """The tool's own code. An installed release is identified by its version; a source checkout or
    an editable install (where the code changes under the same version) by the content of its
    modules, so an edited check never reuses stale entries."""
    root = Path(__file__).resolve().parent.parent  # the package, not only pipeline/
    if root.parent.name in ("site-packages", "dist-packages"):
        return "release"
    h = hashlib.sha256()

    def add(directory: str) -> None:
        with os.scandir(directory) as listing:
            for entry in sorted(listing, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__" and not entry.name.startswith("."):
                        add(entry.path)
                elif entry.name.endswith(".py"):
                    h.update(os.path.relpath(entry.path, root).encode() + b"\0")
                    try:
                        with open(entry.path, "rb") as fh:
                            h.update(fh.read())
                    except OSError:
                        h.update(b"?")

    try:
        add(str(root))
    except OSError:
        h.update(b"unreadable")
    return h.hexdigest()


def _check_code_digest(checks) -> str:
    """The source of every enabled check that lives outside this package (plugins)."""
    h = hashlib.sha256()
    package_root = Path(__file__).resolve().parent.parent
    seen: set[str] = set()
    for check in checks:
        module = sys.modules.get(type(check).__module__)
        source = getattr(module, "__file__", None)
        h.update(f"{type(check).__module__}.{type(check).__qualname__}\0".encode())
        if not source or source in seen:
            continue
        seen.add(source)
        try:
            if Path(source).resolve().is_relative_to(package_root):
                continue
            h.update(Path(source).read_bytes())
        except (OSError, ValueError):
            h.update(b"?")
    return h.hexdigest()


def _settings_fingerprint(settings) -> str:
    if not dataclasses.is_dataclass(settings):
        return repr(settings)
    parts = []
    for f in dataclasses.fields(settings):
        if f.name not in _NOT_PER_FILE:
            parts.append(f"{f.name}={getattr(settings, f.name)!r}")
    return "\n".join(parts)


def _libcst_version() -> str:
    try:
        from libcst._version import __version__ as version
    except ImportError:  # pragma: no cover - another layout
        version = getattr(libcst, "__version__", "") or str(getattr(libcst, "__file__", ""))
    return str(version)


def run_salt(settings, enabled, checks) -> str:
    h = hashlib.sha256()
    for part in (
        FORMAT, __version__, sys.version, _libcst_version(),
        _package_digest(), _check_code_digest(checks), knowledge_digest(), ",".join(sorted(enabled)),
        _settings_fingerprint(settings),
    ):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


class Cache:
    """Where entries are read and written for one run (picklable: workers get a copy)."""

    def __init__(self, root: Path, salt: str):
        self.root = Path(root)
        self.salt = salt
        self.entries = self.root / f"v{FORMAT}-{salt[:24]}"
        self.writable = True
        self.allowed_packages: tuple[str, ...] = ("mllint_deploy",)
        self._made: set[str] = set()

    @classmethod
    def open(cls, settings, enabled, checks) -> "Cache":
        cache = cls(default_cache_dir(settings), run_salt(settings, enabled, checks))
        packages = {type(c).__module__.split(".")[0] for c in checks}
        cache.allowed_packages = tuple(sorted(packages | {"mllint_deploy"}))
        cache.prepare()
        return cache

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_made"] = set()
        return state

    # -- layout ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the directory with its `.gitignore` and tag; a failure makes the cache read-only."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for name, text in ((".gitignore", "# created by mllint-deploy\n*\n"), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
                marker = self.root / name
                if not marker.exists():
                    self._write_atomic(marker, text.encode())
            self.entries.mkdir(exist_ok=True)
            (self.entries / _USED_MARK).touch()
        except OSError:
            self.writable = False
            return
        self._prune()

    def _prune(self) -> None:
        """Remove the entries of configurations (versions, selections) unused for a month."""
        now = time.time()
        try:
            siblings = [p for p in self.root.iterdir()
                        if p.name.startswith("v") and p != self.entries and p.is_dir() and not p.is_symlink()]
        except OSError:
            return
        for directory in siblings:
            try:
                used = (directory / _USED_MARK).stat().st_mtime
            except OSError:
                try:
                    used = directory.stat().st_mtime
                except OSError:
                    continue
            if now - used > _PRUNE_AFTER:
                import shutil

                shutil.rmtree(directory, ignore_errors=True)

    # -- keys --------------------------------------------------------------------------------
    def key(self, data: bytes, display: str, abspath: str, module_name: str, facts_only: bool) -> str:
        h = hashlib.sha256()
        for part in (self.salt, "facts" if facts_only else "full", display, abspath, module_name):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
        h.update(hashlib.sha256(data).digest())
        return h.hexdigest()

    def _entry(self, key: str) -> Path:
        return self.entries / key[:2] / key[2:]

    # -- reading and writing -----------------------------------------------------------------
    def load(self, key: str, display: str):
        """The cached `FileResult` for `key`, or None (missing, unreadable, corrupt or not ours)."""
        from mllint_deploy.pipeline.engine import FileResult

        try:
            with open(self._entry(key), "rb") as fh:
                payload = fh.read()
        except OSError:
            return None
        try:
            result = safe_loads(payload, self.allowed_packages)
        except Exception:
            return None
        if not isinstance(result, FileResult) or result.path != display:
            return None
        if not _unchanged(getattr(result, "dependencies", None) or {}):
            return None  # a helper module it was analysed with has changed since
        return result

    def store(self, key: str, payload: bytes) -> None:
        if not self.writable:
            return
        entry = self._entry(key)
        try:
            if key[:2] not in self._made:
                entry.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(key[:2])
            self._write_atomic(entry, payload)
        except OSError:
            self.writable = False

    @staticmethod
    def _write_atomic(path: Path, payload: bytes) -> None:
        write_atomic(path, payload, prefix=".tmp-")


def _unchanged(dependencies: dict[str, str]) -> bool:
    for path, digest in dependencies.items():
        try:
            with open(path, "rb") as fh:
                if hashlib.sha256(fh.read()).hexdigest() != digest:
                    return False
        except OSError:
            return False
    return True


def dumps(result) -> bytes:
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)


class _DataOnlyUnpickler(pickle.Unpickler):
    """Builds only data classes and enums of the allowed packages; any other global is refused."""

    def __init__(self, payload: bytes, packages: tuple[str, ...]):
        super().__init__(io.BytesIO(payload))
        self._packages = packages

    def find_class(self, module: str, name: str):
        if module.split(".")[0] in self._packages and "." not in name and "__main__" not in module:
            if module not in sys.modules:
                importlib.import_module(module)  # a module of this package (or an enabled plugin's)
            obj = getattr(sys.modules[module], name, None)
            if isinstance(obj, type) and (dataclasses.is_dataclass(obj) or issubclass(obj, enum.Enum)):
                return obj
        if (module, name) in _SAFE_GLOBALS:
            return _SAFE_GLOBALS[(module, name)]
        raise pickle.UnpicklingError(f"refusing to build {module}.{name} from the cache")


_SAFE_GLOBALS = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("pathlib", "PosixPath"): __import__("pathlib").PosixPath,
    ("pathlib", "WindowsPath"): __import__("pathlib").WindowsPath,
    ("pathlib", "PurePosixPath"): __import__("pathlib").PurePosixPath,
    ("pathlib", "PureWindowsPath"): __import__("pathlib").PureWindowsPath,
}


def safe_loads(payload: bytes, packages: tuple[str, ...] = ("mllint_deploy",)):
    return _DataOnlyUnpickler(payload, packages).load()
