"""The one ordered chain that turns what the analysis found into what is reported.

Every finding, from a file check or from the project pass, goes through the same steps in this order:

1. codes not enabled are dropped;
2. `# noqa` on the analysed text (a notebook's joined cells, before positions move to cells) and the
   file-level `# mllint-deploy: noqa`;
3. `per-file-ignores`;
4. the fingerprint (the reported line and its neighbours) for findings that have none yet;
5. notebooks: the position and the line numbers in the message move from the joined text to the cell,
   and so do the edits of the finding's fix (a fix for a project-pass finding is paired with it first);

and, when asked for (`reported_as_new`), after the full report is known:

6. `--changed-since`: only findings on lines changed since the ref;
7. `--baseline`: only findings the baseline does not record.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace
from pathlib import Path

from mllint_deploy.findings import Finding, context_fingerprint, sort_findings
from mllint_deploy.fixes.placement import place_in_cells
from mllint_deploy.sources.notebook import NotebookFacts
from mllint_deploy.sources.source import decode, read_bytes


def reported(results, project_findings: list[Finding], settings, enabled: frozenset[str],
             texts: dict[str, list[str]] | None = None) -> list[Finding]:
    """Steps 1-5 over the per-file results and the project pass's findings, sorted. `texts` holds the
    lines of files whose analysed text is not the one on disk (fixes not yet written)."""
    by_path = {r.path: r for r in results}
    texts = dict(texts or {})
    out = []
    candidates = [(r, f) for r in results for f in r.findings]
    candidates += [(by_path[f.path], f) for f in project_findings if f.path in by_path]
    for result, f in candidates:
        if f.code not in enabled:
            continue
        in_cell = f.cell is not None  # an unparsable notebook cell: already placed in its cell
        if result.suppressions.suppresses(-1 if in_cell else f.line, f.code):
            continue
        if per_file_ignored(f, settings):
            continue
        notebook = result.facts.get("notebook")
        if f.fix is None and result.project_fixes:
            f = replace(f, fix=result.project_fixes.get((f.code, f.line, f.column, f.end_line, f.end_column)))
        if not f.fingerprint:
            lines = notebook.lines if isinstance(notebook, NotebookFacts) else _lines(f.path, texts)
            f = replace(f, fingerprint=context_fingerprint(f.code, f.path, lines, f.line))
        if isinstance(notebook, NotebookFacts) and not in_cell:
            fix = place_in_cells(f.fix, notebook.line_map) if f.fix is not None else None
            f = replace(notebook.place(f), fix=fix)
        out.append(f)
    return sort_findings(out)


def reported_as_new(findings: list[Finding], changed=None, known=None) -> list[Finding]:
    """Steps 6-7: `changed` from `--changed-since` (pipeline.gitdiff), `known` from `--baseline`."""
    if changed is not None:
        findings = changed.filter(findings)
    if known is not None:
        findings = known.filter(findings)
    return findings


def per_file_ignored(finding: Finding, settings) -> bool:
    if not settings.per_file_ignores:
        return False
    candidates = {finding.path}
    try:
        candidates.add(Path(finding.path).resolve().relative_to(settings.project_root.resolve()).as_posix())
    except ValueError:
        pass
    name = Path(finding.path).name
    for glob, codes in settings.per_file_ignores:
        # as ruff matches them: a pattern without "/" is matched against the file name in any folder
        if ("/" not in glob and fnmatch.fnmatch(name, glob)) or any(
                fnmatch.fnmatch(c, glob) or fnmatch.fnmatch(c, glob.rstrip("/") + "/*") for c in candidates):
            if any(finding.code.startswith(code) or code == "ALL" for code in codes):
                return True
    return False


def _lines(path: str, texts: dict[str, list[str]]) -> list[str]:
    if path not in texts:
        try:
            texts[path] = decode(read_bytes(path)).splitlines()
        except Exception:
            texts[path] = []
    return texts[path]
