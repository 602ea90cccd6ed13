"""SARIF 2.1.0 for GitHub code scanning: one run, the rule catalogue as `tool.driver.rules`.

Each rule's `helpUri` is its page under docs/rules/ on the project's repository, and its
`properties.tags` hold its family. A security rule also gets the `security` tag, one
`external/cwe/cwe-N` tag per CWE, and `properties.security-severity` (the score as a string), which
code scanning uses to rank the alert critical, high, medium or low; the other rules carry no score
and are shown as quality findings at their level. A notebook finding's region is the line of the
`.ipynb` file's JSON that holds the flagged source line; its message names the cell.

A finding with an automatic fix carries it in `fixes` (a SARIF `fix`: the replacements of one
artifact, each a `deletedRegion` and its `insertedContent`; the applicability in `properties`).
Notebook fixes are left out: their regions are inside cells, not in the `.ipynb` file's text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

from mllint_deploy import __version__
from mllint_deploy.reporters.file_positions import stored_positions
from mllint_deploy.reporters.fingerprints import unique_fingerprints
from mllint_deploy.rule_pages import HOMEPAGE, page_url

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = HOMEPAGE
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def _artifact(path: str) -> dict:
    """A relative path is a URI reference against the checkout root; an absolute one (a file outside
    the working directory) is a `file://` URI with no base."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path), "uriBaseId": "%SRCROOT%"}


def _rule(doc) -> dict:
    return {
        "id": doc.code,
        "name": doc.name,
        "shortDescription": {"text": doc.summary.strip()},
        "fullDescription": {"text": doc.why.strip()},
        "help": {"text": doc.explain(), "markdown": _markdown(doc)},
        "helpUri": page_url(doc.code),
        "defaultConfiguration": {"level": _LEVEL.get(doc.severity, "warning")},
        "properties": _properties(doc),
    }


def _properties(doc) -> dict:
    tags = [*doc.tags, *(f"external/cwe/cwe-{i}" for i in doc.cwe)]
    if doc.security_severity is None:
        return {"tags": tags}
    return {"tags": tags, "security-severity": f"{doc.security_severity:.1f}"}


def _markdown(doc) -> str:
    def block(example):
        if isinstance(example, dict):
            return "\n".join(f"```python\n# {n}\n{s.rstrip()}\n```" for n, s in example.items())
        return f"```python\n{str(example).rstrip()}\n```"

    security = f"Security: {doc.security_label()}\n\n" if doc.is_security else ""
    return (f"**{doc.code} {doc.name}**: {doc.summary.strip()}\n\n{security}{doc.why.strip()}\n\n"
            f"Example:\n{block(doc.bad)}\n\nUse instead:\n{block(doc.good)}\n\n{doc.fix.strip()}")


def _fix(f) -> dict:
    replacements = [{"deletedRegion": {"startLine": e.line, "startColumn": e.column, "endLine": e.end_line,
                                       "endColumn": e.end_column},
                     "insertedContent": {"text": e.content}} for e in f.fix.edits]
    return {"description": {"text": f.fix.message},
            "artifactChanges": [{"artifactLocation": _artifact(f.path), "replacements": replacements}],
            "properties": {"applicability": f.fix.applicability}}


def render(findings, catalogue, *, rule_codes=(), **_) -> str:
    codes = sorted(set(rule_codes) | {f.code for f in findings})
    docs = [catalogue[c] for c in codes if c in catalogue]
    index = {d.code: i for i, d in enumerate(docs)}
    results = []
    positions = stored_positions(findings)
    for f, fingerprint in zip(findings, unique_fingerprints(findings)):
        doc = catalogue.get(f.code)
        line, column, end_line, end_column = positions[f]
        region = {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}
        result = {
            "ruleId": f.code,
            "level": _LEVEL.get(doc.severity if doc else "error", "error"),
            "message": {"text": f.message if f.cell is None else f"(cell {f.cell}) {f.message}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(f.path),
                        "region": region,
                    }
                }
            ],
            "partialFingerprints": {"mllintDeploy/v1": fingerprint},
        }
        if f.fix is not None and f.cell is None and all(e.cell is None for e in f.fix.edits):
            result["fixes"] = [_fix(f)]
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        results.append(result)
    sarif = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mllint-deploy",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFO_URI,
                        "rules": [_rule(d) for d in docs],
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"
