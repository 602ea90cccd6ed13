"""The `mllint-deploy` command. Exit status: 0 nothing found, 1 findings, 2 usage/config/internal error."""

from __future__ import annotations

import difflib
import os
import sys

import click

from mllint_deploy import __version__, registry
from mllint_deploy.atomic import write_atomic
from mllint_deploy.catalogue import CatalogueError, load_catalogue
from mllint_deploy import terminal
from mllint_deploy.config import ConfigError, load_settings, parse_per_file_ignores
from mllint_deploy.reporters import FORMATS, statistics as stats_report
from mllint_deploy.selection import SelectorError, check_selectors
from mllint_deploy.suppress import chain


class UsageError(Exception):
    """Bad usage: one line on stderr, exit 2."""


def _codes(values) -> list[str]:
    out = []
    for v in values or ():
        out.extend(c for c in v.replace(" ", ",").split(",") if c)
    return out


def _write_atomic(path: str, text: str) -> None:
    """Write a report or a baseline; a missing folder is created (as ruff does for `-o`)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


_EPILOG = """\b
Formats (--format): text (path:line:col: CODE message), json (an array of findings),
sarif (SARIF 2.1.0 for code scanning), github (workflow annotations, errors first, and a job
summary when $GITHUB_STEP_SUMMARY is set), gitlab (Code Quality), junit (JUnit XML test report).
CI formats place a notebook finding on the .ipynb line that holds it.

The production-readiness report: mllint-deploy checklist [PATH]... (see mllint-deploy checklist --help).

\b
Exit status:
  0  no findings (or --exit-zero)
  1  findings were reported
  2  bad usage or configuration, or an internal error (with --strict-internal, on any file)
"""


def _list_rules() -> str:
    implemented = registry.implemented_codes()
    catalogue = load_catalogue()
    rows = []
    for code in sorted(set(catalogue) | implemented):
        doc = catalogue.get(code)
        status = "yes" if code in implemented else "planned"
        name = doc.name if doc else "(plugin)"
        severity = doc.severity if doc else ""
        summary = doc.summary.strip() if doc else ""
        rows.append(f"{code}  {name:<28} {severity:<8} {status:<8} {summary}")
    header = f"{'code':<7} {'name':<28} {'severity':<8} {'checked':<8} summary"
    return "\n".join([header, *rows]) + "\n"


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog=_EPILOG)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, help="Codes or prefixes to enable (MLD1, MLD201, ALL); comma-separated.")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to enable on top of the selection.")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable.")
@click.option("--per-file-ignores", "per_file_ignores", multiple=True, metavar="PATTERN:CODES",
              help="Ignore codes in matching files, e.g. 'tests/*:MLD2' (replaces the config's table).")
@click.option("--extend-per-file-ignores", "extend_per_file_ignores", multiple=True, metavar="PATTERN:CODES",
              help="Like --per-file-ignores, on top of the config's table.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True,
              help="Report format (see below).")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write the report to FILE (atomically; missing folders are created).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--statistics", is_flag=True, help="Print only the number of findings per code (text or json).")
@click.option("--quiet", "-q", is_flag=True, help="No summary line.")
@click.option("--color", "color", type=click.Choice(terminal.COLOR_CHOICES), default="auto", show_default=True,
              help="Colour the text report (auto: on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Read settings from this TOML file (default: the nearest .mllint-deploy.toml, "
                   "mllint-deploy.toml or pyproject.toml with [tool.mllint-deploy]).")
@click.option("--exclude", multiple=True, metavar="PATTERNS",
              help="Files and folders to skip, comma-separated (replaces the default and configured excludes).")
@click.option("--extend-exclude", "extend_exclude", multiple=True, metavar="PATTERNS",
              help="Files and folders to skip on top of the excludes, comma-separated.")
@click.option("--force-exclude", is_flag=True, help="Apply excludes to files named on the command line too.")
@click.option("--show-settings", is_flag=True, help="Print the resolved settings, each with where it came from, and exit.")
@click.option("--show-files", is_flag=True, help="Print the files that would be linted and exit.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the cache.")
@click.option("--cache-dir", "cache_dir", type=click.Path(file_okay=False),
              help="Keep the cache in DIR (default: .mllint_deploy_cache/ at the project root).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per CPU; 1 lints in this process).")
@click.option("--stdin-filename", help="The path to report for source read from stdin ('-').")
@click.option("--strict-internal", is_flag=True, help="Exit 2 if a check fails internally on some file.")
@click.option("--explain", "explain", metavar="CODE", help="Print a rule's documentation and exit.")
@click.option("--list-rules", is_flag=True, help="List every rule and whether it is checked.")
@click.option("--fix", "fix", is_flag=True, help="Apply the safe automatic fixes, then report what is left.")
@click.option("--unsafe-fixes", "unsafe_fixes", is_flag=True,
              help="Also apply (with --fix or --diff) and mark the fixes that change what the program computes.")
@click.option("--diff", "diff", is_flag=True,
              help="Print the fixes as a unified diff and write nothing (exit 1 if there is something to fix).")
@click.option("--exit-non-zero-on-fix", "exit_non_zero_on_fix", is_flag=True,
              help="With --fix, exit 1 when something was fixed, even if nothing is left to report.")
@click.option("--changed-since", "diff_ref", metavar="REF",
              help="Report only findings on lines added or changed since `git merge-base REF HEAD` "
                   "(and in untracked files).")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False),
              help="Report only findings not recorded in this baseline file.")
@click.option("--write-baseline", "write_baseline", type=click.Path(dir_okay=False),
              help="Record every current finding in FILE (the report is not printed; exit 0).")
@click.option("--write-contract", "write_contract", type=click.Path(dir_okay=False),
              help="Infer the feature contract (features, target, types) from the training code in PATHS, "
                   "write it to FILE as YAML and exit.")
@click.version_option(__version__, "--version", prog_name="mllint-deploy")
def _command(paths, select, extend_select, ignore, fmt, output, exit_zero, statistics, quiet, config_file,
             force_exclude, no_cache, jobs, stdin_filename, strict_internal, explain, list_rules,
             diff_ref=None, baseline_file=None, write_baseline=None, write_contract=None, cache_dir=None,
             per_file_ignores=(), extend_per_file_ignores=(), color="auto", exclude=(), extend_exclude=(),
             show_settings=False, show_files=False, fix=False, unsafe_fixes=False, diff=False,
             exit_non_zero_on_fix=False):
    """Lint machine-learning training and serving code for leakage, unreproducible randomness,
    train/serve skew and unsafe serving. PATHS default to the current directory; '-' reads stdin."""
    from mllint_deploy.pipeline.runner import known_codes, run

    catalogue = load_catalogue()
    if explain:
        code = explain.strip().upper()
        doc = catalogue.get(code) or next((d for d in catalogue.values() if d.name == explain.strip()), None)
        if doc is None:
            raise UsageError(f"unknown rule {explain!r} (see --list-rules)")
        click.echo(doc.explain(), nl=False)
        return 0
    if list_rules:
        click.echo(_list_rules(), nl=False)
        return 0
    paths = list(paths) or ["."]
    if "-" in paths and len(paths) > 1:
        raise UsageError("'-' (stdin) cannot be combined with other paths")
    for p in paths:
        if p != "-" and not os.path.lexists(p):
            hint = " (--diff REF is now --changed-since REF; --diff previews fixes)" if diff else ""
            raise UsageError(f"path does not exist: {p}{hint}")
    fixing = fix or diff
    if fixing and (write_baseline or write_contract or show_settings or show_files):
        raise UsageError("--fix and --diff cannot be combined with --write-baseline, --write-contract, "
                         "--show-settings or --show-files")
    if fixing and statistics:
        raise UsageError("--statistics cannot be combined with --fix or --diff")
    known = known_codes()
    cli = {
        "select": check_selectors(_codes(select), known, "--select"),
        "extend_select": check_selectors(_codes(extend_select), known, "--extend-select"),
        "ignore": check_selectors(_codes(ignore), known, "--ignore"),
        "force_exclude": force_exclude,
        "no_cache": no_cache,
        "jobs": jobs,
        "cache_dir": cache_dir,
        "exclude": _codes(exclude),
        "extend_exclude": _codes(extend_exclude),
        "per_file_ignores": parse_per_file_ignores(per_file_ignores, "--per-file-ignores"),
        "extend_per_file_ignores": parse_per_file_ignores(extend_per_file_ignores, "--extend-per-file-ignores"),
    }
    if statistics and fmt not in stats_report.FORMATS:
        raise UsageError(f"--statistics works with --format text or json, not {fmt}")
    settings = load_settings(paths, config_file, cli)
    where = str(settings.config_path) if settings.config_path else "config"
    for name in ("select", "extend_select", "ignore"):
        check_selectors(getattr(settings, name), known, f"{where}: {name.replace('_', '-')}")
    for glob, codes in settings.per_file_ignores:
        check_selectors(codes, known, f"{where}: per-file-ignores.{glob}")
    if show_settings:
        from mllint_deploy.settings_report import render_settings

        click.echo(render_settings(settings), nl=False)
        return 0
    if show_files:
        return _show_files(paths, settings)
    if write_contract:
        return _write_contract(write_contract, paths, settings)
    changed, known_findings = _diff_and_baseline(diff_ref, baseline_file, paths)
    progress = terminal.Progress(sys.stderr) if terminal.interactive(sys.stderr) else None
    outcome = None
    try:
        if fixing:
            outcome = _fix(paths, settings, stdin_filename, progress, unsafe_fixes, diff,
                           keep=lambda found: chain.reported_as_new(found, changed, known_findings))
            result = outcome.run
        else:
            result = run(paths, settings, stdin_filename, progress=progress)
    finally:
        if progress is not None:
            progress.finish()
    if diff:
        return _report_diff(outcome, quiet)
    registry.warn_plugin_errors()
    if paths != ["-"] and result.files == 0:
        click.echo(f"mllint-deploy: warning: no Python files or notebooks to lint in {' '.join(paths)}", err=True)
    if write_baseline:
        from mllint_deploy.suppress import baseline

        for err in result.internal_errors:
            click.echo(f"mllint-deploy: internal error: {err}", err=True)
        _write_atomic(write_baseline, baseline.render(result.findings, write_baseline))
        click.echo(f"Wrote a baseline of {len(result.findings)} finding(s) to {write_baseline}.", err=True)
        return 2 if strict_internal and result.internal_errors else 0
    result.findings = chain.reported_as_new(result.findings, changed, known_findings)
    for err in result.internal_errors:
        click.echo(f"mllint-deploy: internal error: {err}", err=True)
    colour = False
    if statistics:
        report = stats_report.FORMATS[fmt](result.findings, catalogue)
    else:
        colour = fmt == "text" and not output and terminal.use_colour(color, sys.stdout)
        report = FORMATS[fmt](result.findings, catalogue, quiet=quiet, files=result.files,
                              rule_codes=sorted(result.enabled), colour=colour, unsafe_fixes=unsafe_fixes)
    if outcome is not None and paths == ["-"]:
        # as ruff does: the fixed source on stdout, the report on stderr
        click.echo(outcome.files[0].text(outcome.files[0].current) if outcome.files else _stdin_text(outcome),
                   nl=False)
        click.echo(report, nl=False, err=True)
        report, output = "", None
    if output:
        _write_atomic(output, report)
        if not quiet and fmt != "text":
            click.echo(f"Wrote {len(result.findings)} finding(s) to {output}.", err=True)
    elif report:
        click.echo(report, nl=False, color=colour)
    if outcome is not None and not quiet:
        files = len(outcome.files)
        click.echo(f"Fixed {outcome.fixed} finding{'s' if outcome.fixed != 1 else ''} in {files} "
                   f"file{'s' if files != 1 else ''}.", err=True)
    if fmt == "github" and not statistics and os.environ.get("GITHUB_STEP_SUMMARY"):
        _append_step_summary(os.environ["GITHUB_STEP_SUMMARY"], result, catalogue)
    if strict_internal and result.internal_errors:
        return 2
    if result.findings and not exit_zero:
        return 1
    if outcome is not None and exit_non_zero_on_fix and outcome.fixed:
        return 1
    return 0


def _fix(paths, settings, stdin_filename, progress, unsafe: bool, preview: bool, keep=None):
    """`--fix` / `--diff`: the fixes computed in rounds; written (unless previewing) where the file
    on disk is still what was linted."""
    from mllint_deploy.pipeline.fixing import fix_run, write_fixed

    data = sys.stdin.buffer.read() if paths == ["-"] else None
    outcome = fix_run(paths, settings, unsafe, stdin_filename, progress=progress, stdin_data=data, keep=keep)
    if not preview:
        write_fixed(outcome)
    for display in outcome.skipped:
        click.echo(f"mllint-deploy: warning: {display} changed on disk during the run; not overwritten", err=True)
    for warning in outcome.warnings:
        click.echo(f"mllint-deploy: warning: {warning}", err=True)
    return outcome


def _stdin_text(outcome) -> str:
    try:
        return (outcome.stdin or b"").decode("utf-8")
    except UnicodeDecodeError:
        return (outcome.stdin or b"").decode("latin-1")


def _report_diff(outcome, quiet: bool) -> int:
    """`--diff`: each fixed file as a unified diff on stdout, a count on stderr; exit 1 if any."""
    for entry in outcome.files:
        click.echo(entry.diff(), nl=False)
    for err in outcome.run.internal_errors:
        click.echo(f"mllint-deploy: internal error: {err}", err=True)
    if not quiet:
        files = len(outcome.files)
        click.echo(f"Would fix {outcome.fixed} finding{'s' if outcome.fixed != 1 else ''} in {files} "
                   f"file{'s' if files != 1 else ''}.", err=True)
    return 1 if outcome.files else 0


def _append_step_summary(path: str, result, catalogue) -> None:
    """The GitHub job summary; a summary that cannot be written is a warning, never a failed run."""
    from mllint_deploy.reporters.github_summary import render_summary

    argv = (click.get_current_context().obj or {}).get("argv", [])
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(render_summary(result.findings, catalogue, files=result.files, argv=argv))
    except OSError as exc:
        click.echo(f"mllint-deploy: warning: cannot write the job summary to {path}: {exc.strerror}", err=True)


def _show_files(paths, settings) -> int:
    """`--show-files`: what a run with these paths and settings would lint, one path per line."""
    from mllint_deploy.pipeline.discovery import discover, display_path

    if paths == ["-"]:
        raise UsageError("--show-files needs PATHS, not stdin")
    files = discover(paths, settings)
    for path in files:
        click.echo(display_path(path))
    if not files:
        click.echo(f"mllint-deploy: warning: no Python files or notebooks to lint in {' '.join(paths)}", err=True)
    return 0


def _write_contract(target: str, paths, settings) -> int:
    """`--write-contract FILE`: the contract inferred from the training code, written atomically."""
    from mllint_deploy.pipeline.runner import infer_contract
    from mllint_deploy.project.contract import render_contract

    if paths == ["-"]:
        raise UsageError("--write-contract needs the training code as PATHS, not stdin")
    features, target_column, source = infer_contract(paths, settings)
    _write_atomic(target, render_contract(features, target_column, source))
    typed = sum(1 for f in features if f.get("type") != "any")
    click.echo(f"Wrote a contract of {len(features)} feature(s) ({typed} typed) to {target}.", err=True)
    return 0


def _diff_and_baseline(diff_ref, baseline_file, paths):
    """The --changed-since changed lines and the --baseline contents, read before linting so a bad ref or a
    missing baseline is a usage error (exit 2) without a wasted run."""
    changed = known = None
    if diff_ref is not None:
        from mllint_deploy.pipeline.gitdiff import DiffError, changed_since

        try:
            changed = changed_since(diff_ref, paths)
        except DiffError as exc:
            raise UsageError(str(exc)) from None
    if baseline_file:
        from mllint_deploy.suppress import baseline

        try:
            known = baseline.load(baseline_file)
        except baseline.BaselineError as exc:
            raise UsageError(str(exc)) from None
    return changed, known


def main(argv=None) -> None:
    rc = run_cli(argv)
    if rc == 130:
        # interrupted: a file may still be linting on its big-stack thread, and finalising the
        # interpreter under a running thread can abort; the report is already written or absent
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(130)
    sys.exit(rc)


def run_cli(argv=None) -> int:
    """Run the command and return its exit status (never raises for usage or config errors)."""
    command = _command
    try:
        args = sys.argv[1:] if argv is None else list(argv)
        command, args, prog = _subcommand(args)
        rc = command.main(args=args, prog_name=prog, standalone_mode=False, obj={"argv": args})
    except click.exceptions.NoArgsIsHelpError as exc:  # pragma: no cover
        click.echo(exc.format_message(), err=True)
        rc = 2
    except click.NoSuchOption as exc:
        click.echo(f"mllint-deploy: error: {_no_such_option(exc, command)}", err=True)
        rc = 2
    except click.ClickException as exc:
        click.echo(f"mllint-deploy: error: {exc.format_message()}", err=True)
        rc = 2
    except click.exceptions.Abort:
        click.echo("mllint-deploy: interrupted", err=True)
        rc = 130
    except KeyboardInterrupt:
        click.echo("mllint-deploy: interrupted", err=True)
        rc = 130
    except (UsageError, ConfigError, SelectorError, CatalogueError) as exc:
        click.echo(f"mllint-deploy: error: {_one_line(exc)}", err=True)
        rc = 2
    except BrokenPipeError:
        rc = 0
    except Exception as exc:  # never a traceback: one line, exit 2
        click.echo(f"mllint-deploy: internal error: {type(exc).__name__}: {_one_line(exc)}", err=True)
        rc = 2
    return rc if isinstance(rc, int) else 0


def _subcommand(args: list[str]):
    """`checklist` as the first argument runs the readiness report, unless a file or folder of that
    name exists here: then it is a path to lint, as it always was (`./checklist` is one too).
    `--checklist` as the first argument always runs the report (scripts use it)."""
    if args and (args[0] == "--checklist" or (args[0] == "checklist" and not os.path.lexists("checklist"))):
        from mllint_deploy.checklist_cli import checklist_command

        return checklist_command, args[1:], "mllint-deploy checklist"
    return _command, args, "mllint-deploy"


def _no_such_option(exc: click.NoSuchOption, command=None) -> str:
    """The unknown option and the one real option closest to it, if any is close."""
    known = [o for p in (command or _command).params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]
    close = difflib.get_close_matches(exc.option_name, known, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else " See --help."
    return f"no such option: {exc.option_name}.{hint}"


def _one_line(exc: BaseException) -> str:
    """The message on one line (a YAML or TOML error spans several: where, then what)."""
    return " ".join(str(exc).split())
