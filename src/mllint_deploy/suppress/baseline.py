"""Baselines for legacy code: `--write-baseline FILE` records today's findings, `--baseline FILE`
reports only the findings that are not in it.

A finding is keyed by its code, its path (relative to the baseline file's directory, so the file can
be committed) and its `fingerprint`: a hash of the normalised reported line with its neighbours. Line
numbers are not part of the key, so inserting lines above or moving a block elsewhere in the file
does not resurrect old findings, while a new occurrence of the same problem on different code does
show up. Keys are counted: if the baseline holds two identical findings, a third one is reported.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

FORMAT_VERSION = 1


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


def _fingerprint(finding) -> str:
    if finding.fingerprint:
        return finding.fingerprint
    # findings made before a file parsed (MLD001 on unreadable files) have no context to hash
    return "msg:" + hashlib.sha256(f"{finding.code}\0{finding.message}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _key(finding, base_dir: Path) -> tuple[str, str, str]:
    return finding.code, _relative(finding.path, base_dir), _fingerprint(finding)


def _base_dir(baseline_file: str) -> Path:
    return Path(os.path.dirname(os.path.abspath(baseline_file)))


def render(findings, baseline_file: str) -> str:
    """The baseline file's text for these findings (deterministic: sorted, stable keys)."""
    base_dir = _base_dir(baseline_file)
    entries = []
    for f in findings:
        code, path, fingerprint = _key(f, base_dir)
        entry = {"code": code, "path": path, "fingerprint": fingerprint}
        if f.cell is not None:
            entry["cell"] = f.cell
        entry.update({"line": f.line, "message": f.message})
        entries.append(entry)
    entries.sort(key=lambda e: (e["path"], e.get("cell") or 0, e["line"], e["code"], e["fingerprint"]))
    doc = {"tool": "mllint-deploy", "version": FORMAT_VERSION, "findings": entries}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


class Baseline:
    """The recorded findings, as a multiset of (code, path, fingerprint)."""

    def __init__(self, keys: Counter, base_dir: Path):
        self.keys = keys
        self.base_dir = base_dir

    def filter(self, findings) -> list:
        """The findings not recorded in the baseline (each recorded entry hides one finding)."""
        remaining = Counter(self.keys)
        out = []
        for f in findings:
            key = _key(f, self.base_dir)
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
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline {baseline_file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(f"baseline {baseline_file} is not an mllint-deploy baseline "
                            "(expected an object with a 'findings' list; write one with --write-baseline)")
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise BaselineError(f"baseline {baseline_file} has version {version!r}; this mllint-deploy reads "
                            f"version {FORMAT_VERSION} (write it again with --write-baseline)")
    keys: Counter = Counter()
    for i, entry in enumerate(data["findings"], start=1):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("code", "path", "fingerprint")):
            raise BaselineError(f"baseline {baseline_file}: entry {i} needs string 'code', 'path' and 'fingerprint'")
        keys[(entry["code"], entry["path"], entry["fingerprint"])] += 1
    return Baseline(keys, _base_dir(baseline_file))
