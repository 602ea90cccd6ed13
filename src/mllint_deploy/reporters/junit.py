"""JUnit XML, as Jenkins, GitLab and Azure Pipelines read test reports: one test suite per file with
findings, one failed test case per finding (named after its code, as ruff names its own). A run with no
findings is one suite holding one passing case, so a report is never empty."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby

from mllint_deploy.reporters.file_positions import stored_positions


def _where(f) -> str:
    at = f"line {f.line}, column {f.column}"
    return f"cell {f.cell}, {at}" if f.cell is not None else at


def render(findings, catalogue, *, files: int = 0, **_) -> str:
    positions = stored_positions(findings)
    root = ET.Element("testsuites", name="mllint-deploy", tests=str(max(len(findings), 1)),
                      failures=str(len(findings)), errors="0")
    if not findings:
        suite = ET.SubElement(root, "testsuite", name="mllint-deploy", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", name="no findings", classname="mllint-deploy")
        ET.SubElement(suite, "system-out").text = f"No findings in {files} file{'' if files == 1 else 's'}."
    for path, group in groupby(findings, key=lambda f: f.path):
        group = list(group)
        suite = ET.SubElement(root, "testsuite", name=path, tests=str(len(group)), failures=str(len(group)),
                              errors="0")
        for f in group:
            doc = catalogue.get(f.code)
            case = ET.SubElement(suite, "testcase", name=f"mllint-deploy.{f.code}", classname=path,
                                 file=path, line=str(positions[f][0]))
            title = f"{f.code} {doc.name}" if doc else f.code
            failure = ET.SubElement(case, "failure", message=f"{f.code} {f.message}",
                                    type=doc.severity if doc else "error")
            failure.text = f"{_where(f)}: {title}: {f.message}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
