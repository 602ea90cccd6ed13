"""GitLab Code Quality report (a JSON array), with fingerprints stable when unrelated lines move."""

from __future__ import annotations

import json

from mllint_deploy.reporters.fingerprints import unique_fingerprints

_SEVERITY = {"error": "major", "warning": "minor", "note": "info"}


def render(findings, catalogue, **_) -> str:
    issues = []
    for f, fingerprint in zip(findings, unique_fingerprints(findings)):
        doc = catalogue.get(f.code)
        issues.append(
            {
                "description": f"{f.code} {f.message}",
                "check_name": f"{f.code} {doc.name}" if doc else f.code,
                "fingerprint": fingerprint,
                "severity": _SEVERITY.get(doc.severity if doc else "error", "major"),
                "categories": ["Bug Risk"],
                "location": {"path": f.path, "lines": {"begin": f.line, "end": f.end_line or f.line}},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
