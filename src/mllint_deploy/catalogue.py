"""The rule catalogue (`rules/MLD*.yaml`) and the library knowledge (`rules/knowledge/*.yaml`).

The catalogue is the one source of a rule's name, family, severity and documentation, and of the
security facts of the rules that find a vulnerability (`security_severity`, `cwe`). The knowledge
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
SECURITY_SEVERITY_RANGE = (0.1, 10.0)  # GitHub code scanning's scale; 0.0 there means "not security"


class CatalogueError(Exception):
    """A catalogue or knowledge file is missing or malformed."""


@dataclass(frozen=True)
class AutoFix:
    """What `--fix` does for a rule (the `fix:` mapping of its YAML): safe or unsafe, in words, and an
    example before and after."""

    applicability: str
    automatic: str
    before: str
    after: str

    def explain(self) -> str:
        when = "applied by --fix" if self.applicability == "safe" else "applied by --fix --unsafe-fixes"
        return "\n".join([f"Automatic fix ({self.applicability}, {when})", self.automatic.strip(), "",
                          "Before", self.before.rstrip(), "", "After", self.after.rstrip()])


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
    security_severity: float | None = None  # set only on rules that find a vulnerability
    cwe: tuple[int, ...] = ()  # the CWE weaknesses such a finding is an instance of
    autofix: AutoFix | None = None  # set on rules with an automatic fix

    @property
    def is_security(self) -> bool:
        return self.security_severity is not None

    @property
    def tags(self) -> tuple[str, ...]:
        """The rule's family, then `security` for a security rule."""
        return (self.family, "security") if self.is_security else (self.family,)

    def security_label(self) -> str:
        """`critical (9.8), CWE-502, CWE-22`: the score, its GitHub band and the CWEs; '' if none."""
        if self.security_severity is None:
            return ""
        return ", ".join([f"{security_band(self.security_severity)} ({self.security_severity:.1f})",
                          *(f"CWE-{i}" for i in self.cwe)])

    def explain(self) -> str:
        """The rule's documentation as plain text (`--explain`)."""
        parts = [
            f"{self.code} {self.name} ({self.family}, {self.severity})",
            "",
            self.summary.strip(),
            "",
        ]
        if self.is_security:
            parts += [f"Security: {self.security_label()}", ""]
        parts += [
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
        if self.autofix is not None:
            parts += ["", self.autofix.explain()]
        return "\n".join(parts) + "\n"


def security_band(score: float) -> str:
    """GitHub code scanning's name for a security-severity score: over 9.0 is critical, 7.0 to 8.9
    high, 4.0 to 6.9 medium, below that low."""
    if score > 9.0:
        return "critical"
    return "high" if score >= 7.0 else "medium" if score >= 4.0 else "low"


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


def _security_facts(name: str, data: dict) -> dict[str, Any]:
    """`security_severity` (a number in SECURITY_SEVERITY_RANGE) and `cwe` (a list of CWE ids, only
    on a security rule), validated; {} for a rule that has neither."""
    out: dict[str, Any] = {}
    if "security_severity" in data:
        score = data["security_severity"]
        low, high = SECURITY_SEVERITY_RANGE
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not low <= score <= high or round(score, 1) != score:
            raise CatalogueError(f"{name}: security_severity must be a number from {low} to {high} "
                                 f"with at most one decimal, not {score!r}")
        out["security_severity"] = float(score)
    if "cwe" in data:
        ids = data["cwe"]
        if "security_severity" not in out:
            raise CatalogueError(f"{name}: cwe is given but security_severity is not")
        if (not isinstance(ids, list) or not ids
                or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)):
            raise CatalogueError(f"{name}: cwe must be a list of CWE numbers (e.g. [502]), not {ids!r}")
        out["cwe"] = tuple(ids)
    return out


_AUTOFIX_KEYS = ("how", "applicability", "automatic", "example")


def _fix_facts(name: str, data: dict) -> dict[str, Any]:
    """`fix:` is the advice as text, or a mapping: `how` (that text), `applicability` (safe or
    unsafe), `automatic` (what --fix does) and `example` (`before` and `after`)."""
    fix = data["fix"]
    if isinstance(fix, str):
        return {"fix": fix}
    if not isinstance(fix, dict) or sorted(fix) != sorted(_AUTOFIX_KEYS):
        raise CatalogueError(f"{name}: fix must be text or a mapping of {', '.join(_AUTOFIX_KEYS)}")
    if fix["applicability"] not in ("safe", "unsafe"):
        raise CatalogueError(f"{name}: fix.applicability must be safe or unsafe, not {fix['applicability']!r}")
    example = fix["example"]
    if not isinstance(example, dict) or sorted(example) != ["after", "before"]:
        raise CatalogueError(f"{name}: fix.example must have before and after")
    return {"fix": str(fix["how"]), "autofix": AutoFix(fix["applicability"], str(fix["automatic"]),
                                                        str(example["before"]), str(example["after"]))}


def _safe_load(stream) -> Any:
    """`yaml.safe_load(stream)`, with libyaml's parser where PyYAML was built with it (the same safe
    constructor: plain data only; about ten times faster)."""
    import yaml  # imported only when a snapshot cannot be used (see _parsed_rules)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(stream)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


_SNAPSHOT_FORMAT = b"rules-snapshot/2\0"  # 2: key order kept (1 sorted the keys)


@functools.lru_cache(maxsize=None)
def _parsed_rules(root: Path) -> dict[str, Any] | None:
    """Every YAML file below rules/, parsed, by relative path; None if one does not parse (then each
    file is read on its own and reports its own error).

    Importing PyYAML and parsing the catalogue is a fifth of a one-file run, so the parsed files are
    kept as a JSON snapshot in the package's `__pycache__/`, keyed by the files' content, the way
    Python keeps bytecode (and, like bytecode, not written under PYTHONDONTWRITEBYTECODE or where the
    directory is read-only). A snapshot is plain JSON: reading it cannot run anything. It keeps the
    files' key order (a multi-file example's files stay in the order their author wrote them), so a
    run that reads it sees the same data as one that parses the YAML."""
    import hashlib

    blobs = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in sorted(root.rglob("*.yaml"))]
    h = hashlib.sha256(_SNAPSHOT_FORMAT)
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
        text = json.dumps(docs, ensure_ascii=False)
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
        doc = RuleDoc(**{k: data[k] for k in _REQUIRED if k != "fix"}, **_fix_facts(path.name, data),
                      **_security_facts(path.name, data))
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


CHECKLIST_SCOPES = ("project", "training", "serving")
_ITEM_KEYS = {"id", "title", "scope", "rules", "needs", "when", "shows", "against", "missing", "advice"}
MISSING_STATUSES = ("fail", "unknown")


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the production-readiness checklist (`rules/checklist.yaml`)."""

    number: int
    id: str
    title: str
    scope: str  # project | training | serving
    advice: str
    rules: tuple[str, ...] = ()  # codes whose findings break the item
    needs: tuple[str, ...] = ()  # evidence kinds, any one of which the item needs
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (kind seen, kinds then needed)
    shows: tuple[str, ...] = ()  # evidence listed on a pass
    against: tuple[str, ...] = ()  # evidence listed when a need is missing
    missing: str = "fail"  # the status when no needed evidence is found: fail | unknown
    wanted: str = ""  # the needed evidence in words ("a named metric"), from `evidence:`


@functools.lru_cache(maxsize=None)
def load_checklist() -> tuple[ChecklistItem, ...]:
    """The checklist's items, in order, validated (rule codes against the catalogue)."""
    where = "checklist.yaml"
    data = load_rule_file(rules_dir() / "checklist.yaml")
    raw_items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(raw_items, list) or not raw_items:
        raise CatalogueError(f"{where}: expected a list of items under 'items'")
    codes = set(load_catalogue())
    words = data.get("evidence") or {}
    items: list[ChecklistItem] = []
    for number, raw in enumerate(raw_items, 1):
        if not isinstance(raw, dict) or not {"id", "title", "scope", "advice"} <= set(raw):
            raise CatalogueError(f"{where}: item {number} needs id, title, scope and advice")
        unknown = set(raw) - _ITEM_KEYS
        if unknown:
            raise CatalogueError(f"{where}: {raw['id']}: unknown key(s) {', '.join(sorted(unknown))}")
        if raw["scope"] not in CHECKLIST_SCOPES:
            raise CatalogueError(f"{where}: {raw['id']}: scope must be one of {', '.join(CHECKLIST_SCOPES)}")
        lists = {k: tuple(raw.get(k) or ()) for k in ("rules", "needs", "shows", "against")}
        if set(lists["rules"]) - codes:
            raise CatalogueError(f"{where}: {raw['id']}: unknown rule(s) {', '.join(sorted(set(lists['rules']) - codes))}")
        if raw.get("missing", "fail") not in MISSING_STATUSES:
            raise CatalogueError(f"{where}: {raw['id']}: missing must be fail or unknown")
        when = tuple((kind, tuple(kinds)) for kind, kinds in (raw.get("when") or {}).items())
        needed = list(lists["needs"]) + [k for _, kinds in when for k in kinds]
        if [k for k in needed if k not in words]:
            raise CatalogueError(f"{where}: {raw['id']}: evidence {', '.join(k for k in needed if k not in words)} "
                                 "is not described under 'evidence'")
        wanted = " or ".join(str(words[k]) for k in lists["needs"])
        items.append(ChecklistItem(number=number, id=raw["id"], title=raw["title"], scope=raw["scope"],
                                   advice=" ".join(str(raw["advice"]).split()), when=when,
                                   missing=raw.get("missing", "fail"), wanted=wanted, **lists))
    if len({i.id for i in items}) != len(items):
        raise CatalogueError(f"{where}: an item id is used twice")
    return tuple(items)
