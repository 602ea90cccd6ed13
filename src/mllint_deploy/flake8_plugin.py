"""flake8 plugin: the per-file mllint-deploy rules as flake8 checks (code prefix `MLD`).

Registered as the `flake8.extension` entry point `MLD`, so `flake8 --select MLD` (or adding `MLD` to
`extend-select`) runs every implemented per-file rule on each file flake8 checks. Rules that need the
whole project (cross-file seeding, training/serving pairs) only run in `mllint-deploy` itself, and
syntax errors are flake8's own E999. flake8 applies its `# noqa`, `--per-file-ignores` and selection;
the file-level `# mllint-deploy: noqa` comment is honoured as well.
"""

from __future__ import annotations

from pathlib import Path

from mllint_deploy import __version__

_SKIP = frozenset({"MLD001"})  # flake8 reports unparsable files itself (E999)


class Plugin:
    """A flake8 AST plugin; flake8 passes `tree`, `filename` and `lines` by name."""

    name = "mllint-deploy"
    version = __version__
    _checks = None
    _enabled: frozenset[str] = frozenset()

    def __init__(self, tree, filename: str, lines: list[str]):
        self.filename = filename
        self.lines = lines

    @classmethod
    def _load(cls):
        if cls._checks is None:
            from mllint_deploy import registry

            file_checks, _ = registry.checks_for(registry.implemented_codes())
            enabled = set()
            for check in file_checks:
                enabled.update(check.codes)
            cls._enabled = frozenset(enabled - _SKIP)
            cls._checks = file_checks
        return cls._checks, cls._enabled

    def run(self):
        from mllint_deploy.pipeline.engine import lint_text, module_name_for

        checks, enabled = self._load()
        if not checks:
            return
        text = "".join(self.lines)
        module_name = abspath = ""
        if self.filename and self.filename not in ("-", "stdin"):
            abspath = str(Path(self.filename).absolute())
            module_name = module_name_for(Path(abspath))
        result = lint_text(self.filename, text, checks, enabled, module_name, abspath=abspath)
        for f in sorted(result.findings, key=lambda f: (f.line, f.column, f.code)):
            if f.code in _SKIP or f.code not in enabled:
                continue
            if result.suppressions.whole_file is not False and result.suppressions.suppresses(-1, f.code):
                continue
            yield f.line, f.column - 1, f"{f.code} {f.message}", type(self)
