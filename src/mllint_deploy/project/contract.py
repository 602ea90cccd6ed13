"""The feature contract (MLD303): which columns the model consumes, with their types and ranges.

A project declares it with `contract = "path"` in `[tool.mllint-deploy]` (relative to that config
file). The file is YAML (`.yaml`/`.yml`, read with `yaml.safe_load`) or TOML (`.toml`):

    features:
      - name: age          # required, unique
        type: int          # int | float | str | bool | category | datetime | any
        min: 18            # optional, numbers only
        max: 100
      - name: plan
        type: str
        values: [basic, premium]   # optional: the allowed values
      - name: coupon_code
        type: str
        required: false    # optional feature: code may leave it out
    target: churned        # optional: the label column, which is not a feature

Also accepted: `features` as a mapping (`{age: {type: int}, city: str}`), `dtype` for `type`,
`range: [min, max]`, `allowed`/`enum`/`categories` for `values`, `label` for `target`, common type
spellings (`integer`, `number`, `string`, `boolean`...), and `nullable`/`unit`/`example`/
`description` notes. Any other key is an error: a malformed contract is a configuration error (one
line naming the file and the entry; exit 2).
Contracts are looked up per file: the nearest `pyproject.toml` with a `[tool.mllint-deploy]` table
above a file decides (a monorepo's sub-projects each keep their own contract); files with no such
table use the run's configuration.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mllint_deploy.config import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TYPES = ("int", "float", "str", "bool", "category", "datetime", "any")
_TYPE_ALIASES = {
    "integer": "int", "int32": "int", "int64": "int", "long": "int",
    "number": "float", "numeric": "float", "double": "float", "real": "float", "float32": "float",
    "float64": "float", "decimal": "float",
    "string": "str", "text": "str", "object": "str",
    "boolean": "bool",
    "categorical": "category", "enum": "category",
    "date": "datetime", "timestamp": "datetime", "datetime64": "datetime", "time": "datetime",
}
_FEATURE_KEYS = ("name", "type", "dtype", "min", "max", "range", "values", "allowed", "allowed_values", "enum",
                 "categories", "required", "nullable", "description", "unit", "example")
_TOP_KEYS = ("features", "target", "label", "description", "version", "name", "owner")


class ContractError(ConfigError):
    """A contract file that is missing or malformed: the message names the file and the entry."""


@dataclass(frozen=True)
class Feature:
    name: str
    type: str = "any"
    min: float | None = None
    max: float | None = None
    values: tuple | None = None
    required: bool = True


@dataclass(frozen=True)
class Contract:
    path: str  # as shown in messages
    features: tuple[Feature, ...]
    target: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.required)


def _shown(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not (
        isinstance(value, float) and math.isnan(value))


def parse_contract(data: Any, shown: str) -> Contract:
    """Validate the loaded document; every problem is a `ContractError` naming the entry."""
    if not isinstance(data, dict):
        raise ContractError(f"{shown}: a contract must be a mapping with a 'features' list")
    features = data.get("features")  # other top-level keys (version, owner, notes...) are documentation
    if isinstance(features, dict) and features:
        # `features: {age: {type: int, min: 0}, city: str}`
        features = [{"name": k, **v} if isinstance(v, dict) else {"name": k, "type": v} if isinstance(v, str)
                    else {"name": k} if v is None else {"name": k, "_bad": v} for k, v in features.items()]
    if not isinstance(features, list) or not features:
        raise ContractError(f"{shown}: 'features' must be a non-empty list of {{name, type}} entries")
    out: list[Feature] = []
    seen: set[str] = set()
    for i, entry in enumerate(features):
        where = f"{shown}: features[{i}]"
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict):
            raise ContractError(f"{where}: must be a mapping like {{name: age, type: int}}")
        if "_bad" in entry:
            raise ContractError(f"{shown}: feature '{entry['name']}': must be a mapping like {{type: int}} or a type")
        name = entry.get("name")  # keys other than the known ones (description, unit, owner...) are notes
        if not isinstance(name, str) or not name.strip():
            raise ContractError(f"{where}: 'name' must be a non-empty string")
        where = f"{shown}: feature '{name}'"
        if name in seen:
            raise ContractError(f"{where}: declared twice")
        seen.add(name)
        ftype = entry.get("type", entry.get("dtype", "any"))
        if isinstance(ftype, str):
            ftype = _TYPE_ALIASES.get(ftype.strip().lower(), ftype.strip().lower())
        if ftype not in TYPES:
            ftype = "any"  # a type we do not model (e.g. `decimal`, `uint8`): the name is still checked
        lo, hi = entry.get("min"), entry.get("max")
        if "range" in entry:
            rng = entry["range"]
            if not isinstance(rng, list) or len(rng) != 2:
                raise ContractError(f"{where}: 'range' must be [min, max]")
            lo, hi = rng
        for key, value in (("min", lo), ("max", hi)):
            if value is not None and not _number(value):
                raise ContractError(f"{where}: '{key}' must be a number (got {value!r})")
        if lo is not None and hi is not None and lo > hi:
            raise ContractError(f"{where}: 'min' ({lo}) is greater than 'max' ({hi})")
        if (lo is not None or hi is not None) and ftype in ("str", "category", "bool", "datetime"):
            raise ContractError(f"{where}: 'min'/'max' apply to numeric features, not type {ftype}")
        values = next((entry[k] for k in ("values", "allowed", "allowed_values", "enum", "categories")
                       if k in entry), None)
        if values is not None:
            if not isinstance(values, list) or not values or not all(
                    isinstance(v, (str, int, float, bool)) for v in values):
                raise ContractError(f"{where}: 'values' must be a non-empty list of scalars")
            values = tuple(values)
        required = entry.get("required", True)
        if not isinstance(required, bool):
            raise ContractError(f"{where}: 'required' must be true or false")
        if not isinstance(entry.get("nullable", False), bool):
            raise ContractError(f"{where}: 'nullable' must be true or false")
        out.append(Feature(name=name, type=ftype, min=lo, max=hi, values=values, required=required))
    target = data.get("target", data.get("label"))
    if isinstance(target, dict):  # `target: {name: is_fraud, type: int}`
        target = target.get("name")
    if target is not None:
        if not isinstance(target, str) or not target.strip():
            raise ContractError(f"{shown}: 'target' must be a column name (a string)")
        if target in seen:
            raise ContractError(f"{shown}: the target '{target}' is also listed as a feature")
    return Contract(path=shown, features=tuple(out), target=target)


def load_contract(path: Path | str) -> Contract:
    """Read and validate a contract file (YAML, or TOML by its `.toml` suffix)."""
    path = Path(path)
    shown = _shown(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ContractError(f"contract file not found: {shown}") from None
    except OSError as exc:
        raise ContractError(f"{shown}: cannot read the contract: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".toml":
        try:
            doc = tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ContractError(f"{shown}: invalid TOML: {_one_line(exc)}") from None
    else:
        import yaml  # here, not at the top: importing PyYAML costs every run ~10 ms

        try:
            doc = yaml.safe_load(data.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ContractError(f"{shown}: invalid YAML: {_one_line(exc)}") from None
    return parse_contract(doc, shown)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


class ContractLookup:
    """The contract that applies to each file: the nearest config table above it decides."""

    def __init__(self, default: Contract | None = None, default_config: Path | None = None):
        self.default = default
        self.default_config = default_config.resolve() if default_config is not None else None
        self._by_dir: dict[str, Contract | None] = {}
        self._loaded: dict[str, Contract] = {}

    def for_file(self, abspath: str) -> Contract | None:
        if not abspath:
            return self.default
        return self._for_dir(os.path.dirname(os.path.abspath(abspath)))

    def _for_dir(self, directory: str) -> Contract | None:
        if directory in self._by_dir:
            return self._by_dir[directory]
        found = self._here(directory)
        if found is _NOT_HERE:
            parent = os.path.dirname(directory)
            result = self.default if parent == directory else self._for_dir(parent)
        else:
            result = found
        self._by_dir[directory] = result
        return result

    def _here(self, directory: str):
        candidate = Path(directory) / "pyproject.toml"
        if not candidate.is_file():
            return _NOT_HERE
        try:
            with open(candidate, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError):
            return _NOT_HERE
        table = data.get("tool", {}).get("mllint-deploy") if isinstance(data.get("tool"), dict) else None
        if not isinstance(table, dict):
            return _NOT_HERE
        if self.default_config is not None and candidate.resolve() == self.default_config:
            return self.default
        value = table.get("contract")
        if value is None:
            return None
        if not isinstance(value, str):
            raise ContractError(f"{_shown(candidate)}: 'contract' must be a path (a string)")
        target = (candidate.parent / value).resolve()
        key = str(target)
        if key not in self._loaded:
            self._loaded[key] = load_contract(target)
        return self._loaded[key]


_NOT_HERE = object()


def render_contract(features: list[dict], target: str | None, source: str) -> str:
    """A contract file (YAML) for `--write-contract`: one block per feature, deterministic order."""
    lines = [
        f"# Feature contract inferred by mllint-deploy --write-contract from {source}.",
        "# Review the types, and add min/max/values where you know them; see the README for the format.",
        "features:",
    ]
    for f in features:
        lines.append(f"  - name: {_scalar(f['name'])}")
        lines.append(f"    type: {f.get('type', 'any')}")
        for key in ("min", "max"):
            if f.get(key) is not None:
                lines.append(f"    {key}: {_scalar(f[key])}")
        if f.get("values"):
            lines.append("    values: [" + ", ".join(_scalar(v) for v in f["values"]) + "]")
    if target:
        lines.append(f"target: {_scalar(target)}")
    return "\n".join(lines) + "\n"


def _scalar(value) -> str:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    if text.endswith("..."):
        text = text[:-3].strip()
    return text
