"""Settings: the nearest configuration file (or `--config`) merged with CLI flags.

Discovery walks up from the first path; in each directory the first of `.mllint-deploy.toml`,
`mllint-deploy.toml` (settings at top level) and a `pyproject.toml` with a `[tool.mllint-deploy]`
table wins, as ruff does with its own files. Unknown keys and values of the wrong type are errors
naming the key; the CLI turns them into one line on stderr and exit status 2. Each setting remembers
where it came from, for `--show-settings`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".env", "env", ".tox", ".nox", ".eggs",
    "*.egg-info", "build", "dist", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".mllint_deploy_cache", "site-packages", "node_modules", ".ipynb_checkpoints", "__pypackages__",
)


class ConfigError(Exception):
    """Bad configuration: the message names the file and key."""


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ("ALL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    force_exclude: bool = False
    project_root: Path = field(default_factory=Path.cwd)
    config_path: Path | None = None
    contract: Path | None = None  # the feature contract file (MLD303), relative to the config file
    seed: int | None = None  # the seed --fix writes where the file has no seed constant of its own
    cache_dir: Path | None = None  # default: <project root>/.mllint_deploy_cache
    no_cache: bool = False  # --no-cache: neither read nor write the cache
    jobs: int = 0  # --jobs: worker processes (0: one per CPU; 1: in this process)
    checklist_require: tuple[str, ...] = ()  # [tool.mllint-deploy.checklist] require: items that must pass
    checklist_not_applicable: tuple[tuple[str, str], ...] = ()  # (item, reason) marked n/a
    origins: tuple[tuple[str, str], ...] = ()  # (field, the config file or "command line") of set fields


# key in the file -> (field name, expected kind)
_KEYS = {
    "select": ("select", "codes"),
    "extend-select": ("extend_select", "codes"),
    "ignore": ("ignore", "codes"),
    "per-file-ignores": ("per_file_ignores", "globmap"),
    "exclude": ("exclude", "strings"),
    "extend-exclude": ("extend_exclude", "strings"),
    "contract": ("contract", "path"),
    "seed": ("seed", "seed"),
    "cache-dir": ("cache_dir", "path"),
    "checklist": ("checklist", "checklist"),
}


CONFIG_FILES = (".mllint-deploy.toml", "mllint-deploy.toml", "pyproject.toml")


def find_config(start: Path) -> Path | None:
    """The nearest configuration file at or above `start` (see the module docstring for the order)."""
    start = start.resolve()
    if not start.is_dir():
        start = start.parent
    for directory in (start, *start.parents):
        for name in CONFIG_FILES:
            candidate = directory / name
            if not candidate.is_file():
                continue
            if name != "pyproject.toml" or "mllint-deploy" in _read_toml(candidate).get("tool", {}):
                return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _table(path: Path) -> dict[str, Any]:
    data = _read_toml(path)
    table = data.get("tool", {}).get("mllint-deploy")
    if table is None:
        table = {k: v for k, v in data.items() if k != "tool"} if path.name != "pyproject.toml" else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.mllint-deploy] must be a table")
    return table


def _strings(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ConfigError(f"{path}: '{key}' must be a list of strings, not a string: write [\"{value}\"]")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: '{key}' must be a list of strings")
    return tuple(value)


def _parse_table(table: dict[str, Any], path: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            raise ConfigError(f"{path}: unknown key '{key}' in [tool.mllint-deploy]")
        name, kind = _KEYS[key]
        if kind in ("codes", "strings"):
            values[name] = _strings(value, key, path)
        elif kind == "path":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{path}: '{key}' must be a path (a string)")
            values[name] = path.resolve().parent / value
        elif kind == "seed":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
                raise ConfigError(f"{path}: '{key}' must be an integer from 0 to 2**32 - 1")
            values[name] = value
        elif kind == "checklist":
            values.update(_checklist_table(value, path))
        elif kind == "globmap":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: '{key}' must be a table of glob = [codes]")
            values[name] = tuple((glob, _strings(codes, f"{key}.{glob}", path)) for glob, codes in value.items())
    return values


def _checklist_table(table: Any, path: Path) -> dict[str, Any]:
    """`[tool.mllint-deploy.checklist]`: `require = [items]`, `not-applicable = {item = "reason"}`
    (item names are checked against the checklist by the command that reads them)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'checklist' must be a table")
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "require":
            out["checklist_require"] = _strings(value, "checklist.require", path)
        elif key == "not-applicable":
            if not isinstance(value, dict) or not all(isinstance(r, str) and r.strip() for r in value.values()):
                raise ConfigError(f"{path}: 'checklist.not-applicable' must be a table of item = \"reason\"")
            out["checklist_not_applicable"] = tuple(value.items())
        else:
            raise ConfigError(f"{path}: unknown key '{key}' in [tool.mllint-deploy.checklist]")
    return out


def parse_per_file_ignores(values, option: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`--per-file-ignores 'tests/*:MLD2,MLD104'` (repeatable) as (glob, codes) pairs."""
    out = []
    for value in values or ():
        glob, sep, codes = value.rpartition(":")
        parsed = tuple(c for c in codes.replace(" ", ",").split(",") if c)
        if not sep or not glob or not parsed:
            raise ConfigError(f"{option} {value!r}: expected PATTERN:CODES, e.g. 'tests/*:MLD2'")
        out.append((glob, parsed))
    return tuple(out)


def load_settings(paths: list[str], config: str | None, cli: dict[str, Any]) -> Settings:
    """Read the config file (explicit, else the nearest one) and apply CLI overrides."""
    if config:
        config_path: Path | None = Path(config)
        if not config_path.is_file():
            raise ConfigError(f"config file not found: {config}")
    else:
        first = Path(paths[0]) if paths and paths[0] != "-" else Path.cwd()
        config_path = find_config(first if first.exists() else Path.cwd())
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    root = Path.cwd()
    if config_path is not None:
        values = _parse_table(_table(config_path), config_path)
        origins = {name: str(config_path) for name in values}
        root = config_path.resolve().parent

    def given(name: str, value: Any) -> None:
        values[name] = value
        origins[name] = "command line"

    if cli.get("select"):
        given("select", tuple(cli["select"]))
    for name in ("extend_select", "ignore", "extend_exclude"):
        if cli.get(name):
            given(name, values.get(name, ()) + tuple(cli[name]))
    if cli.get("exclude"):
        given("exclude", tuple(cli["exclude"]))
    if cli.get("per_file_ignores"):
        given("per_file_ignores", tuple(cli["per_file_ignores"]))
    if cli.get("extend_per_file_ignores"):
        given("per_file_ignores", values.get("per_file_ignores", ()) + tuple(cli["extend_per_file_ignores"]))
    if cli.get("cache_dir"):
        given("cache_dir", Path(cli["cache_dir"]).resolve())
    for name in ("force_exclude", "no_cache"):
        if cli.get(name):
            given(name, True)
    if cli.get("jobs"):
        given("jobs", int(cli["jobs"]))
    return Settings(project_root=root, config_path=config_path, origins=tuple(sorted(origins.items())), **values)


def origin(settings: Settings, name: str) -> str:
    """Where a setting's value came from: the config file, the command line, or the default."""
    return dict(settings.origins).get(name, "default")
