"""One run: discover files, lint each (per-file phase), run the project pass, apply suppressions."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from mllint_deploy import registry
from mllint_deploy.catalogue import load_catalogue
from mllint_deploy.config import Settings
from mllint_deploy.discovery import discover, display_path
from mllint_deploy.engine import FileResult, lint_path, lint_stdin
from mllint_deploy.findings import Finding, sort_findings
from mllint_deploy.selection import enabled_codes


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    internal_errors: list[str] = field(default_factory=list)
    enabled: frozenset[str] = frozenset()


def known_codes() -> set[str]:
    return set(load_catalogue()) | registry.implemented_codes()


def resolve_enabled(settings: Settings) -> frozenset[str]:
    implemented = registry.implemented_codes()
    return frozenset(enabled_codes(implemented, settings.select, settings.extend_select, settings.ignore))


def _per_file_ignored(finding: Finding, settings: Settings) -> bool:
    if not settings.per_file_ignores:
        return False
    candidates = {finding.path}
    try:
        candidates.add(Path(finding.path).resolve().relative_to(settings.project_root.resolve()).as_posix())
    except ValueError:
        pass
    for glob, codes in settings.per_file_ignores:
        if any(fnmatch.fnmatch(c, glob) or fnmatch.fnmatch(c, glob.rstrip("/") + "/*") for c in candidates):
            if any(finding.code.startswith(code) or code == "ALL" for code in codes):
                return True
    return False


def run(paths: list[str], settings: Settings, stdin_filename: str | None = None) -> RunResult:
    enabled = resolve_enabled(settings)
    file_checks, _project_checks = registry.checks_for(enabled)
    results: list[FileResult] = []
    files: list[Path] = []
    if paths == ["-"]:
        results.append(lint_stdin(stdin_filename or "-", file_checks, enabled))
    else:
        files = discover(paths, settings)
        for path in files:
            results.append(lint_path(path, display_path(path), file_checks, enabled))
    out = RunResult(files=len(results), enabled=enabled)
    for res in results:
        out.internal_errors.extend(res.internal_errors)
        for f in res.findings:
            if f.code not in enabled:
                continue
            if res.suppressions.suppresses(f.line, f.code) or _per_file_ignored(f, settings):
                continue
            out.findings.append(f)
    out.findings = sort_findings(out.findings)
    return out
