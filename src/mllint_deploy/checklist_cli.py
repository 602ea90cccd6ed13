"""`mllint-deploy checklist [PATH]...`: the production-readiness report. Exit status: 0 every
required item passes (or none is required), 1 a required item fails or is unknown, 2 usage or
configuration error.

It is one lint run (the same discovery, excludes, selection, per-file phase and cache as
`mllint-deploy PATH...`), whose per-file readiness facts and findings the items are judged on."""

from __future__ import annotations

import os
from pathlib import Path

import click

from mllint_deploy.atomic import write_atomic
from mllint_deploy.catalogue import load_checklist
from mllint_deploy.config import ConfigError, load_settings
from mllint_deploy.reporters.checklist import FORMATS

_EPILOG = """\b
Items (ids for --require and [tool.mllint-deploy.checklist]):
{items}

\b
Exit status:
  0  every required item passes or is n/a (nothing is required by default)
  1  a required item fails or is unknown
  2  bad usage or configuration
"""


def _epilog() -> str:
    try:
        items = "\n".join(f"  {i.number:>2}. {i.id:<20} {i.title}" for i in load_checklist())
    except Exception:  # the catalogue's own error is reported when the command runs
        items = "  (the checklist cannot be read)"
    return _EPILOG.format(items=items)


def resolve_items(values, items, where: str) -> list[str]:
    """Item ids from ids, numbers or `all`, comma- or space-separated; an unknown one is an error."""
    by_number = {str(i.number): i.id for i in items}
    ids = {i.id for i in items}
    out: list[str] = []
    for value in values:
        for name in value.replace(",", " ").split():
            if name.lower() == "all":
                out.extend(i.id for i in items)
            elif name in ids or name in by_number:
                out.append(by_number.get(name, name))
            else:
                raise ConfigError(f"{where}: unknown checklist item {name!r} (one of: {', '.join(sorted(ids))})")
    return list(dict.fromkeys(out))


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog=_epilog())
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True,
              help="text (a list with marks and evidence), markdown (a pull-request comment or job summary), json.")
@click.option("--require", multiple=True, metavar="ITEMS",
              help="Items that must pass, by id or number, comma-separated, or 'all' (replaces the config's list).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Read settings from this TOML file.")
@click.option("--exclude", multiple=True, metavar="PATTERNS", help="Files and folders to skip (replaces the excludes).")
@click.option("--extend-exclude", "extend_exclude", multiple=True, metavar="PATTERNS",
              help="Files and folders to skip on top of the excludes.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the cache.")
@click.option("--cache-dir", "cache_dir", type=click.Path(file_okay=False), help="Keep the cache in DIR.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes.")
def checklist_command(paths, fmt, require, output, config_file, exclude, extend_exclude, no_cache, cache_dir, jobs):
    """Production-readiness report: twelve items a project must show before a model ships, each
    pass, fail, n/a or unknown, with the file:line evidence and what to do. PATHS default to '.'."""
    from mllint_deploy.pipeline.discovery import display_path
    from mllint_deploy.pipeline.runner import run
    from mllint_deploy.project.dependency_files import dependency_evidence
    from mllint_deploy.project.readiness import evaluate

    paths = list(paths) or ["."]
    for p in paths:
        if p == "-":
            raise click.UsageError("the checklist reads a project, not stdin")
        if not os.path.lexists(p):
            raise click.UsageError(f"path does not exist: {p}")
    split = lambda values: [c for v in values for c in v.replace(" ", ",").split(",") if c]  # noqa: E731
    cli = {"no_cache": no_cache, "jobs": jobs, "cache_dir": cache_dir, "exclude": split(exclude),
           "extend_exclude": split(extend_exclude)}
    settings = load_settings(paths, config_file, cli)
    items = load_checklist()
    where = str(settings.config_path) if settings.config_path else "config"
    required = resolve_items(require, items, "--require") if require else \
        resolve_items(settings.checklist_require, items, f"{where}: checklist.require")
    not_applicable = dict(settings.checklist_not_applicable)
    resolve_items(list(not_applicable), items, f"{where}: checklist.not-applicable")
    result = run(paths, settings)
    for err in result.internal_errors:
        click.echo(f"mllint-deploy: internal error: {err}", err=True)
    # dependency files: beside the configuration file, and in each folder (or a named file's folder)
    roots = [Path(settings.project_root)] if settings.config_path else []
    roots += [Path(p) if Path(p).is_dir() else Path(p).parent for p in paths]
    pins = dependency_evidence(list(dict.fromkeys(r.resolve() for r in roots)), display_path)
    contract = None
    if settings.contract is not None:
        contract = f"{display_path(Path(settings.contract))}: feature contract (`contract` in {display_path(Path(where))})"
    results = evaluate(items, result.results, result.findings, result.enabled, not_applicable, pins, contract)
    report = FORMATS[fmt](results, set(required), result.files)
    if output:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
            write_atomic(output, report.encode("utf-8"))
        except OSError as exc:
            raise click.UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        click.echo(report, nl=False)
    if result.files == 0:
        click.echo(f"mllint-deploy: warning: no Python files or notebooks in {' '.join(paths)}", err=True)
    failing = [r for r in results if r.item.id in required and r.status in ("fail", "unknown")]
    return 1 if failing else 0
