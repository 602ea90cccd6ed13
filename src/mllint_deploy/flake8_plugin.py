"""flake8 plugin: the mllint-deploy rules as flake8 checks (code prefix `MLD`).

Registered as the `flake8.extension` entry point `MLD`, so `flake8 --select MLD` (or adding `MLD` to
`extend-select`) runs every implemented rule on each file flake8 checks. The project checks (seeding
done in a helper module or an entry script, MLD202/MLD203/MLD205; training/serving pairs, MLD3xx;
serving across files, MLD402/MLD404) need the other files of the project: as `mllint-deploy` does
for a single named file (pre-commit), the rest of the file's project (the directory of its
`[tool.mllint-deploy]` pyproject.toml, else its git root) is read for facts only, once per flake8
process and through the mllint-deploy cache, and findings are reported for the checked file only.
flake8 applies its `# noqa`, `--per-file-ignores` and selection; the file-level
`# mllint-deploy: noqa` comment is honoured as well. MLD001 (unparsable file) is not reported:
flake8 has its own E999 for that (see the README for what `--select MLD` shows then).
"""

from __future__ import annotations

import os
from pathlib import Path

from mllint_deploy import __version__

_SKIP = frozenset({"MLD001"})  # flake8 reports unparsable files itself (E999)


class Plugin:
    """A flake8 AST plugin; flake8 passes `tree`, `filename` and `lines` by name."""

    name = "mllint-deploy"
    version = __version__
    _checks = None
    _enabled: frozenset[str] = frozenset()
    _contexts: dict = {}  # (project root, excludes) -> the per-file results of the project's files

    def __init__(self, tree, filename: str, lines: list[str]):
        self.filename = filename
        self.lines = lines

    @classmethod
    def _load(cls):
        if cls._checks is None:
            from mllint_deploy import registry

            file_checks, project_checks = registry.checks_for(registry.implemented_codes())
            enabled = set()
            for check in (*file_checks, *project_checks):
                enabled.update(check.codes)
            cls._enabled = frozenset(enabled - _SKIP)
            cls._checks = (file_checks, project_checks)
        return cls._checks, cls._enabled

    @classmethod
    def _project_files(cls, abspath: str, settings, enabled, file_checks, project_checks) -> list:
        """The facts-only results for every file of `abspath`'s project (the one file excluded later)."""
        from mllint_deploy.pipeline.discovery import discover
        from mllint_deploy.pipeline.parallel import lint_files
        from mllint_deploy.pipeline.runner import _git_root

        root = settings.config_path.parent if settings.config_path else _git_root(Path(abspath).parent)
        if root is None:
            return []
        key = (str(Path(root).resolve()), tuple(settings.exclude), tuple(settings.extend_exclude))
        if key not in cls._contexts:
            paths = discover([str(root)], settings)
            results = lint_files([(p, True) for p in paths], enabled, settings, file_checks, project_checks,
                                 jobs=1, use_cache=not settings.no_cache)
            cls._contexts[key] = [(os.path.normpath(str(p)), r) for p, r in zip(paths, results)]
        return cls._contexts[key]

    def run(self):
        from mllint_deploy.config import load_settings
        from mllint_deploy.pipeline.engine import lint_text, module_name_for
        from mllint_deploy.pipeline.runner import RunResult, _run_project_checks

        (file_checks, project_checks), enabled = self._load()
        if not file_checks and not project_checks:
            return
        text = "".join(self.lines)
        module_name = abspath = ""
        real_file = bool(self.filename) and self.filename not in ("-", "stdin")
        if real_file:
            abspath = os.path.abspath(self.filename)
            module_name = module_name_for(Path(abspath))
        result = lint_text(self.filename, text, file_checks, enabled, module_name, project_checks, abspath=abspath)
        findings = list(result.findings)
        if project_checks and "module" in result.facts:
            settings = load_settings([abspath] if real_file else [], None, {})
            others = []
            if real_file:
                me = os.path.normpath(abspath)
                others = [r for p, r in self._project_files(abspath, settings, enabled, file_checks, project_checks)
                          if p != me]
            findings += _run_project_checks(project_checks, [result, *others], {result.path}, enabled, RunResult(),
                                            settings)
        for f in sorted(findings, key=lambda f: (f.line, f.column, f.code)):
            if f.code in _SKIP or f.code not in enabled:
                continue
            if result.suppressions.whole_file is not False and result.suppressions.suppresses(-1, f.code):
                continue
            yield f.line, f.column - 1, f"{f.code} {f.message}", type(self)
