"""The rule catalogue (`rules/MLD*.yaml`) and the library knowledge (`rules/knowledge/*.yaml`).

The catalogue is the one source of a rule's name, family, severity and documentation. The knowledge
files (which library APIs fit, split, seed, load or predict) are read by `knowledge/concepts.py`
through `load_rule_file`. Both are data shipped in the wheel.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

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


def _safe_load(stream) -> Any:
    """`yaml.safe_load(stream)`, with libyaml's parser where PyYAML was built with it (the same safe
    constructor: plain data only; about ten times faster)."""
    import yaml  # imported only when a snapshot cannot be used (see _parsed_rules)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(stream)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


@functools.lru_cache(maxsize=None)
def _parsed_rules(root: Path) -> dict[str, Any] | None:
    """Every YAML file below rules/, parsed, by relative path; None if one does not parse (then each
    file is read on its own and reports its own error).

    Importing PyYAML and parsing the catalogue is a fifth of a one-file run, so the parsed files are
    kept as a JSON snapshot in the package's `__pycache__/`, keyed by the files' content, the way
    Python keeps bytecode (and, like bytecode, not written under PYTHONDONTWRITEBYTECODE or where the
    directory is read-only). A snapshot is plain JSON: reading it cannot run anything."""
    import hashlib

    blobs = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in sorted(root.rglob("*.yaml"))]
    h = hashlib.sha256()
    for name, data in blobs:
        h.update(name.encode() + b"\0" + data + b"\0")
    cache_dir = Path(__file__).resolve().parent / "__pycache__"
    snapshot = cache_dir / f"rules-{h.hexdigest()[:24]}.json"
    try:
        with open(snapshot, encoding="utf-8") as fh:
            docs = json.load(fh)
        if isinstance(docs, dict) and sorted(docs) == [name for name, _ in blobs]:
            return docs
    except (OSError, ValueError):
        pass
    docs = {}
    for name, data in blobs:
        try:
            docs[name] = _safe_load(data.decode("utf-8"))
        except Exception:
            return None
    if not sys.dont_write_bytecode:
        _write_snapshot(cache_dir, snapshot, docs)
    return docs


def _write_snapshot(cache_dir: Path, snapshot: Path, docs: dict[str, Any]) -> None:
    try:
        text = json.dumps(docs, ensure_ascii=False, sort_keys=True)
        if json.loads(text) != docs:  # not plain JSON data (dates, non-string keys): keep parsing YAML
            return
        cache_dir.mkdir(exist_ok=True)
        tmp = cache_dir / f".{snapshot.name}.{os.getpid()}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, snapshot)
        for old in cache_dir.glob("rules-*.json"):
            if old != snapshot:
                old.unlink()
    except (OSError, TypeError, ValueError):
        pass


def load_rule_file(path: Path) -> Any:
    """`rules/X.yaml` or `rules/knowledge/X.yaml`, parsed (the root is taken from the path: resolving
    rules_dir() again for every file costs more than the read)."""
    root = path.parent.parent if path.parent.name == "knowledge" else path.parent
    docs = _parsed_rules(root)
    if docs is not None:
        try:
            return docs[path.relative_to(root).as_posix()]
        except (KeyError, ValueError):
            pass
    with open(path, encoding="utf-8") as fh:
        return _safe_load(fh)


@functools.lru_cache(maxsize=None)
def load_catalogue() -> dict[str, RuleDoc]:
    docs: dict[str, RuleDoc] = {}
    _parsed_rules.cache_clear()  # (re)loading the catalogue reads the files again
    for path in sorted(rules_dir().glob("MLD*.yaml")):
        data = load_rule_file(path)
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


def knowledge_digest() -> str:
    """A hash of every catalogue and knowledge file: part of the cache key."""
    import hashlib

    h = hashlib.sha256()
    root = rules_dir()
    for path in sorted(root.rglob("*.yaml")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()
