"""Baselines for legacy code: `--write-baseline FILE` records today's findings, `--baseline FILE`
reports only the findings that are not in it.

A recorded finding (format version 2) is keyed by its code, its path (relative to the baseline file's
directory, posix, so the file can be committed), the enclosing scope (`Class.method`, `function`, or
`<module>`) and the normalised text of the flagged line (whitespace collapsed, trailing comment and
`# noqa` removed); `suppress/scopes.py` computes the last two from the file as it is on disk, without
running or parsing it. Line numbers and neighbouring lines are not part of the key: adding a function
right after a finding, or moving code anywhere in the file, does not bring it back, while changing
the flagged line or renaming its function does. Keys are counted: a key recorded twice hides at
most two current findings, and a third identical occurrence is reported.

Notebooks are keyed like modules, with the line read from the finding's cell, but the cell's number
is not part of the key: inserting a cell renumbers every cell below it. When the flagged line cannot
be read (the file is unreadable, a notebook is not valid JSON, the finding came from stdin), the
finding is keyed by its message instead of scope and text; such findings are the MLD001 "cannot
read" ones, whose message is as stable as the file's state.

Version 1 baselines (keyed by a hash of the flagged line and its neighbours, the `fingerprint` every
finding still carries for SARIF and GitLab) still load and match as they did; `--write-baseline`
writes version 2.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

from mllint_deploy.sources.notebook import SUFFIX as NOTEBOOK_SUFFIX, code_cells, load_json
from mllint_deploy.sources.source import decode, read_bytes
from mllint_deploy.suppress.scopes import LineScopes, normalise

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


class BaselineError(Exception):
    """The baseline file cannot be used: one line, exit 2."""


def _relative(path: str, base_dir: Path) -> str:
    if path in ("", "-"):
        return path
    absolute = os.path.abspath(path)
    try:
        return Path(os.path.relpath(absolute, base_dir)).as_posix()
    except ValueError:  # another drive
        return Path(absolute).as_posix()


def _base_dir(baseline_file: str) -> Path:
    return Path(os.path.dirname(os.path.abspath(baseline_file)))


class _Sources:
    """The line scopes of each file a finding is in, read once per file (per cell for notebooks)."""

    def __init__(self):
        self._files: dict[str, object] = {}

    def lines(self, finding) -> LineScopes | None:
        if finding.path not in self._files:
            self._files[finding.path] = _read(finding.path)
        found = self._files[finding.path]
        if isinstance(found, dict):  # a notebook: cell number -> its lines, scanned on first use
            cell = found.get(finding.cell)
            if isinstance(cell, list):
                cell = found[finding.cell] = LineScopes(cell)
            return cell
        return found


def _read(path: str):
    if path in ("", "-"):
        return None
    try:
        data = read_bytes(path)
        if path.endswith(NOTEBOOK_SUFFIX):
            return dict(code_cells(load_json(data)))
        text = decode(data)
    except Exception:  # unreadable, removed, undecodable, not a notebook: keyed by message instead
        return None
    return LineScopes(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


class _Keys:
    """Version 2 keys: (code, path, scope, text, message); message only when the line is unknown."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir
        self.sources = _Sources()

    def __call__(self, finding) -> tuple[str, str, str, str, str]:
        path = _relative(finding.path, self.base_dir)
        lines = self.sources.lines(finding)
        if lines is not None and 1 <= finding.line <= len(lines):
            return finding.code, path, lines.scope(finding.line), lines.text(finding.line), ""
        return finding.code, path, "", "", normalise(finding.message)


def _fingerprint(finding) -> str:
    if finding.fingerprint:
        return finding.fingerprint
    # findings made before a file parsed (MLD001 on unreadable files) have no context to hash
    return "msg:" + hashlib.sha256(f"{finding.code}\0{finding.message}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


class _FingerprintKeys:
    """Version 1 keys: (code, path, fingerprint of the line and its neighbours)."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir

    def __call__(self, finding) -> tuple[str, str, str]:
        return finding.code, _relative(finding.path, self.base_dir), _fingerprint(finding)


def render(findings, baseline_file: str) -> str:
    """The baseline file's text for these findings (deterministic: sorted, one entry per key with its
    count, no line numbers, so rewriting it after moving code changes nothing)."""
    counts = Counter(map(_Keys(_base_dir(baseline_file)), findings))
    entries = []
    for (code, path, scope, text, message), count in sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0])):
        entry = {"code": code, "path": path}
        entry.update({"scope": scope, "text": text} if not message else {"message": message})
        entry["count"] = count
        entries.append(entry)
    doc = {"tool": "mllint-deploy", "version": FORMAT_VERSION, "findings": entries}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


class Baseline:
    """The recorded findings, as a multiset of keys, and the way to key a current finding."""

    def __init__(self, keys: Counter, base_dir: Path, version: int = FORMAT_VERSION):
        self.keys = keys
        self.base_dir = base_dir
        self.version = version

    def filter(self, findings) -> list:
        """The findings not recorded in the baseline (a key recorded n times hides n findings, the
        first ones in report order)."""
        key_of = (_Keys if self.version >= 2 else _FingerprintKeys)(self.base_dir)
        remaining = Counter(self.keys)
        out = []
        for f in findings:
            key = key_of(f)
            if remaining[key] > 0:
                remaining[key] -= 1
                continue
            out.append(f)
        return out


def load(baseline_file: str) -> Baseline:
    try:
        with open(baseline_file, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise BaselineError(f"baseline file not found: {baseline_file}") from None
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {baseline_file}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BaselineError(f"baseline {baseline_file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(f"baseline {baseline_file} is not an mllint-deploy baseline "
                            "(expected an object with a 'findings' list; write one with --write-baseline)")
    version = data.get("version", FORMAT_VERSION)
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise BaselineError(f"baseline {baseline_file} has version {version!r}; this mllint-deploy reads "
                            f"versions {READABLE_VERSIONS[0]} to {READABLE_VERSIONS[-1]} "
                            "(write it again with --write-baseline)")
    reader = _v1_key if version == 1 else _v2_key
    keys: Counter = Counter()
    for i, entry in enumerate(data["findings"], start=1):
        key, count = reader(entry, f"baseline {baseline_file}: entry {i}")
        keys[key] += count
    return Baseline(keys, _base_dir(baseline_file), version)


def _v1_key(entry, where: str) -> tuple[tuple, int]:
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("code", "path", "fingerprint")):
        raise BaselineError(f"{where} needs string 'code', 'path' and 'fingerprint'")
    return (entry["code"], entry["path"], entry["fingerprint"]), 1


def _v2_key(entry, where: str) -> tuple[tuple, int]:
    def strings(*names: str) -> bool:
        return all(isinstance(entry.get(k), str) for k in names)

    if not isinstance(entry, dict) or not strings("code", "path") or not (
            strings("scope", "text") or strings("message")):
        raise BaselineError(f"{where} needs string 'code', 'path', and 'scope' with 'text' (or 'message')")
    count = entry.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise BaselineError(f"{where}: 'count' must be a positive integer, not {count!r}"[:200])
    if strings("scope", "text"):
        return (entry["code"], entry["path"], entry["scope"], entry["text"], ""), count
    return (entry["code"], entry["path"], "", "", normalise(entry["message"])), count
