"""The rule catalogue (`rules/MLD*.yaml`) and the library knowledge (`rules/knowledge/*.yaml`).

The catalogue is the one source of a rule's name, family, severity and documentation; the knowledge
files say which library APIs fit, split, seed, load or predict. Both are data shipped in the wheel.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

SEVERITIES = ("error", "warning", "note")


class CatalogueError(Exception):
    """A catalogue or knowledge file is missing or malformed."""


@dataclass(frozen=True)
class RuleDoc:
    code: str
    name: str
    family: str
    severity: str
    summary: str
    why: str
    fix: str
    bad: Any
    good: Any

    def explain(self) -> str:
        """The rule's documentation as plain text (`--explain`)."""
        parts = [
            f"{self.code} {self.name} ({self.family}, {self.severity})",
            "",
            self.summary.strip(),
            "",
            "Why it matters",
            self.why.strip(),
            "",
            "Example",
            _example_text(self.bad),
            "",
            "Use instead",
            _example_text(self.good),
            "",
            "Fix",
            self.fix.strip(),
        ]
        return "\n".join(parts) + "\n"


def _example_text(example: Any) -> str:
    if isinstance(example, Mapping):
        return "\n".join(f"# {name}\n{src.rstrip()}" for name, src in example.items())
    return str(example).rstrip()


def rules_dir() -> Path:
    """`rules/` inside the installed package, else the source checkout's top-level `rules/`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "rules", here.parent.parent / "rules"):
        if candidate.is_dir():
            return candidate
    raise CatalogueError("rule catalogue not found (expected mllint_deploy/rules or ./rules)")


_REQUIRED = ("code", "name", "family", "severity", "summary", "why", "fix", "bad", "good")


@functools.lru_cache(maxsize=None)
def load_catalogue() -> dict[str, RuleDoc]:
    docs: dict[str, RuleDoc] = {}
    for path in sorted(rules_dir().glob("MLD*.yaml")):
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        if not isinstance(data, dict):
            raise CatalogueError(f"{path.name}: not a mapping")
        missing = [k for k in _REQUIRED if k not in data]
        if missing:
            raise CatalogueError(f"{path.name}: missing keys {', '.join(missing)}")
        if data["severity"] not in SEVERITIES:
            raise CatalogueError(f"{path.name}: bad severity {data['severity']!r}")
        doc = RuleDoc(**{k: data[k] for k in _REQUIRED})
        if doc.code != path.stem:
            raise CatalogueError(f"{path.name}: code {doc.code} does not match file name")
        docs[doc.code] = doc
    return docs


@functools.lru_cache(maxsize=None)
def knowledge(name: str) -> dict[str, Any]:
    """One knowledge file, e.g. `knowledge("leakage")` reads `rules/knowledge/leakage.yaml`."""
    path = rules_dir() / "knowledge" / f"{name}.yaml"
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise CatalogueError(f"knowledge file {path.name} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"knowledge file {path.name} is not a mapping")
    return data


def knowledge_digest() -> str:
    """A hash of every catalogue and knowledge file: part of the cache key."""
    import hashlib

    h = hashlib.sha256()
    root = rules_dir()
    for path in sorted(root.rglob("*.yaml")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()
