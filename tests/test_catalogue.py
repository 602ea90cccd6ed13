"""The rule catalogue: one complete YAML per contract rule, and every example of every implemented
rule behaves (a `bad` example raises exactly its own code, a `good` one raises nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import implemented, run_cli_json
from mllint_deploy.catalogue import knowledge, load_catalogue

CONTRACT_CODES = (
    ["MLD001"]
    + [f"MLD10{i}" for i in range(1, 7)]
    + [f"MLD20{i}" for i in range(1, 6)]
    + [f"MLD30{i}" for i in range(1, 6)]
    + [f"MLD40{i}" for i in range(1, 6)]
)


def test_every_contract_rule_has_a_catalogue_entry():
    catalogue = load_catalogue()
    assert sorted(catalogue) == CONTRACT_CODES
    for doc in catalogue.values():
        assert doc.severity in ("error", "warning")
        assert doc.family in ("tool", "leakage", "reproducibility", "skew", "serving")
        assert doc.summary.strip() and doc.why.strip() and doc.fix.strip()
        assert doc.bad and doc.good


def test_rule_names_are_unique_kebab_case():
    names = [d.name for d in load_catalogue().values()]
    assert len(set(names)) == len(names)
    assert all(n == n.lower() and " " not in n for n in names)


@pytest.mark.parametrize("name", ["leakage", "randomness"])
def test_knowledge_files_load(name):
    assert knowledge(name)


def _write_example(example, directory: Path) -> None:
    files = example if isinstance(example, dict) else {"example.py": example}
    for rel, source in files.items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")


def _examples():
    catalogue = load_catalogue()
    for code in sorted(implemented()):
        if code in catalogue:
            yield pytest.param(code, "bad", id=f"{code}-bad")
            yield pytest.param(code, "good", id=f"{code}-good")


@pytest.mark.parametrize("code,kind", list(_examples()))
def test_catalogue_example(code, kind, tmp_path):
    doc = load_catalogue()[code]
    _write_example(getattr(doc, kind), tmp_path)
    codes = {f["code"] for f in run_cli_json([str(tmp_path), "--select", "ALL"])}
    if kind == "bad":
        assert codes == {code}
    else:
        assert codes == set()
