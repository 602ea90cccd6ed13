"""GitLab Code Quality report (a JSON array), with fingerprints stable when unrelated lines move; a notebook
finding is placed on the `.ipynb` line that holds its source line, with the cell in its description."""

from __future__ import annotations

import json

from mllint_deploy.reporters.file_positions import stored_positions
from mllint_deploy.reporters.fingerprints import unique_fingerprints

_SEVERITY = {"error": "major", "warning": "minor", "note": "info"}


def render(findings, catalogue, **_) -> str:
    issues = []
    positions = stored_positions(findings)
    for f, fingerprint in zip(findings, unique_fingerprints(findings)):
        doc = catalogue.get(f.code)
        line, _, end_line, _ = positions[f]
        where = f" (cell {f.cell})" if f.cell is not None else ""
        issues.append(
            {
                "description": f"{f.code}{where} {f.message}",
                "check_name": f"{f.code} {doc.name}" if doc else f.code,
                "fingerprint": fingerprint,
                "severity": _SEVERITY.get(doc.severity if doc else "error", "major"),
                "categories": ["Bug Risk"],
                "location": {"path": f.path, "lines": {"begin": line, "end": end_line}},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
