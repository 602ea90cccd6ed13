"""The real CLI on the bundled realistic fixtures reports exactly the annotated findings
(`# expect: MLDxxx` on the reported line) for every implemented rule, and nothing else."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, expected_findings, implemented, reported_findings

FAMILIES = ["core", "leakage", "reproducibility", "serving", "skew", "notebooks", "fixes"]


@pytest.mark.parametrize("family", FAMILIES)
def test_fixture_family_matches_annotations(family):
    directory = FIXTURES / family
    if not any(directory.rglob("*.py")):
        pytest.skip(f"no fixtures in {family}")
    codes = implemented()
    expected = expected_findings(directory, codes)
    reported = reported_findings(directory, codes)
    if family in ("fixes", "notebooks"):  # their notebooks: test_fixes.py, EXPECTED.yaml (test_notebooks.py)
        reported = {r for r in reported if r[0].endswith(".py")}
        expected = {e for e in expected if e[0].endswith(".py")}
    missing = sorted(expected - reported)
    unexpected = sorted(reported - expected)
    assert not missing and not unexpected, f"missed: {missing}\nfalse alarms: {unexpected}"
