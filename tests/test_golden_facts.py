"""Every fixture file's events and facts against tests/golden/facts.json (see golden_facts.py)."""

from __future__ import annotations

import json
import os

from conftest import FIXTURES, ROOT
from golden_facts import dumps, golden

GOLDEN = ROOT / "tests" / "golden" / "facts.json"


def current() -> dict:
    out = {}
    for path in sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".py", ".ipynb")):
        entry = golden(path, ROOT)
        if entry is not None:
            out[path.relative_to(ROOT).as_posix()] = entry
    return out


def test_golden_facts_of_every_fixture():
    now = json.loads(json.dumps(current()))
    if os.environ.get("MLLINT_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(dumps(now), encoding="utf-8")
    before = json.loads(GOLDEN.read_text(encoding="utf-8"))
    changed = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))
    assert not changed, (f"{len(changed)} fixture files' facts changed (first: {changed[:5]}); if on purpose, "
                         "regenerate with MLLINT_UPDATE_GOLDEN=1 and say why in the commit")
