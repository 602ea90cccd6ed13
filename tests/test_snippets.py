"""Small focused programs (tests/snippets/) for corner cases of the analysis: each carries its
expected findings as `# expect:` annotations, like the realistic fixtures."""

from __future__ import annotations

from pathlib import Path

from conftest import expected_findings, implemented, reported_findings

SNIPPETS = Path(__file__).parent / "snippets"


def test_snippets_match_annotations():
    codes = implemented()
    expected = expected_findings(SNIPPETS, codes)
    reported = reported_findings(SNIPPETS, codes)
    assert sorted(expected - reported) == [] and sorted(reported - expected) == []
