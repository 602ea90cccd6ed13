"""One run: discover files, lint each (per-file phase), run the project pass, apply the suppression chain."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mllint_deploy import registry
from mllint_deploy.catalogue import load_catalogue
from mllint_deploy.config import ConfigError, Settings
from mllint_deploy.project.contract import load_contract
from mllint_deploy.pipeline.discovery import discover, display_path
from mllint_deploy.pipeline.engine import FileResult, lint_stdin
from mllint_deploy.findings import Finding
from mllint_deploy.fixes.seeds import configure as configure_fix_seed
from mllint_deploy.pipeline.parallel import call_with_big_stack, lint_files
from mllint_deploy.project.modules import Project
from mllint_deploy.selection import enabled_codes
from mllint_deploy.suppress import chain


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    internal_errors: list[str] = field(default_factory=list)
    enabled: frozenset[str] = frozenset()
    results: list[FileResult] = field(default_factory=list)  # the per-file phase of the reported files


def known_codes() -> set[str]:
    return set(load_catalogue()) | registry.implemented_codes()


def resolve_enabled(settings: Settings) -> frozenset[str]:
    implemented = registry.implemented_codes()
    return frozenset(enabled_codes(implemented, settings.select, settings.extend_select, settings.ignore))


def _context_files(paths: list[str], files: list[Path], settings: Settings) -> list[Path]:
    """When single files are named (as pre-commit does), the rest of their project is read for facts
    only, so that cross-file rules still see the seeding helper or the training script."""
    if not any(Path(p).is_file() for p in paths if p != "-"):
        return []
    root = settings.config_path.parent if settings.config_path else _git_root(Path(paths[0]).resolve().parent)
    if root is None:
        return []
    named = {os.path.normpath(str(f)) for f in files}
    return [f for f in discover([str(root)], settings) if os.path.normpath(str(f)) not in named]


def _git_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def _run_project_checks(project_checks, results, reportable, enabled, out: RunResult,
                        settings: Settings | None = None) -> list[Finding]:
    project = Project(results, reportable, enabled)
    if settings is not None and settings.contract is not None:
        project.contract = load_contract(settings.contract)
        project.contract_config = settings.config_path
    for check in project_checks:
        try:
            check.check(project)
        except ConfigError:
            raise  # a malformed feature contract found on the way: exit 2, like any config error
        except RecursionError:
            out.internal_errors.append(f"project pass: {type(check).__name__}: nesting too deep")
        except Exception as exc:
            out.internal_errors.append(f"project pass: {type(check).__name__}: {type(exc).__name__}: {exc}")
    return project.findings


@dataclass
class Phase:
    """The per-file phase of one run, kept so that fixes can re-lint a few files and report again."""

    settings: Settings
    enabled: frozenset[str]
    file_checks: list
    project_checks: list
    results: list[FileResult]  # the files to report, in order
    context: list[FileResult]  # the rest of their project, read for facts only
    files: list[Path]  # the path of each result (empty for stdin)


def lint_phase(paths: list[str], settings: Settings, stdin_filename: str | None = None, progress=None,
               stdin_data: bytes | None = None) -> Phase:
    enabled = resolve_enabled(settings)
    configure_fix_seed(settings.seed)
    if settings.contract is not None:
        load_contract(settings.contract)  # a malformed contract is a config error before any work
    file_checks, project_checks = registry.checks_for(enabled)
    results: list[FileResult] = []
    files: list[Path] = []
    context: list[FileResult] = []
    if paths == ["-"]:
        results.append(call_with_big_stack(lint_stdin, stdin_filename or "-", file_checks, enabled, project_checks,
                                           stdin_data))
    else:
        # one per-file phase (cache, then workers) for the files to report and, for the project
        # pass, the facts of the rest of their project (see _context_files)
        files = discover(paths, settings)
        others = _context_files(paths, files, settings) if project_checks else []
        phase = lint_files([(p, False) for p in files] + [(p, True) for p in others], enabled, settings,
                           file_checks, project_checks, jobs=settings.jobs, use_cache=not settings.no_cache,
                           progress=progress)
        results, context = phase[:len(files)], phase[len(files):]
    return Phase(settings, enabled, file_checks, project_checks, results, context, files)


def report_phase(phase: Phase, texts: dict[str, list[str]] | None = None) -> RunResult:
    """The project pass over the phase's facts, then the suppression chain (steps 1-5). `texts` are
    the lines of files whose text is not (yet) the one on disk, for fingerprints."""
    out = RunResult(files=len(phase.results), enabled=phase.enabled, results=phase.results)
    project_findings = []
    if phase.project_checks:
        project_findings = _run_project_checks(phase.project_checks, phase.results + phase.context,
                                               {r.path for r in phase.results}, phase.enabled, out, phase.settings)
    for res in phase.results:
        out.internal_errors.extend(res.internal_errors)
    out.findings = chain.reported(phase.results, project_findings, phase.settings, phase.enabled, texts)
    return out


def run(paths: list[str], settings: Settings, stdin_filename: str | None = None, progress=None) -> RunResult:
    return report_phase(lint_phase(paths, settings, stdin_filename, progress))


def infer_contract(paths: list[str], settings: Settings):
    """`--write-contract`: lint `paths` for the skew facts only (the rest of their project too, for the
    constants they import) and infer (features, target, source) from the training code in `paths`."""
    from mllint_deploy.pipeline.engine import lint_path
    from mllint_deploy.project.inference import infer_contract as infer

    codes = frozenset({"MLD301"})
    _, project_checks = registry.checks_for(codes)
    files = discover(paths, settings)
    named = [lint_path(p, display_path(p), [], codes, project_checks) for p in files]
    others = [lint_path(p, display_path(p), [], codes, project_checks) for p in _context_files(paths, files, settings)]
    return infer(Project(named + others, {r.path for r in named}, codes))
