"""`--show-settings`: the resolved settings as TOML-like lines, each with where its value came from."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from mllint_deploy.config import Settings, origin

_SHOWN = ("select", "extend_select", "ignore", "per_file_ignores", "exclude", "extend_exclude", "force_exclude",
          "contract", "seed", "cache_dir", "no_cache", "jobs")


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "(none)"
    if isinstance(value, Path):
        return f'"{value.as_posix()}"'
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # per-file-ignores
        return "{" + ", ".join(f'"{glob}" = {_value(codes)}' for glob, codes in value) + "}"
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return str(value)


def render_settings(settings: Settings) -> str:
    known = {f.name for f in fields(settings)}
    config = settings.config_path.as_posix() if settings.config_path else "(none found)"
    lines = [f"# config file: {config}", f"# project root: {Path(settings.project_root).as_posix()}"]
    width = max(len(name) for name in _SHOWN)
    for name in _SHOWN:
        if name not in known:
            continue
        key = name.replace("_", "-")
        lines.append(f"{key:<{width}} = {_value(getattr(settings, name))}  # {origin(settings, name)}")
    return "\n".join(lines) + "\n"
