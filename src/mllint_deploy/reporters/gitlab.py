"""GitLab Code Quality report (a JSON array), with fingerprints stable when unrelated lines move."""

from __future__ import annotations

import hashlib
import json

_SEVERITY = {"error": "major", "warning": "minor", "note": "info"}


def render(findings, catalogue, **_) -> str:
    seen: dict[str, int] = {}
    issues = []
    for f in findings:
        doc = catalogue.get(f.code)
        base = f.fingerprint or hashlib.sha256(f"{f.code}{f.path}{f.message}".encode()).hexdigest()[:32]
        n = seen.get(base, 0)
        seen[base] = n + 1
        fingerprint = base if n == 0 else hashlib.sha256(f"{base}:{n}".encode()).hexdigest()[:32]
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
