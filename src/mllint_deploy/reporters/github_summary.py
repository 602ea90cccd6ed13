"""The GitHub job summary (Markdown appended to `$GITHUB_STEP_SUMMARY`): counts by code and severity,
the files with most findings, and the command that reproduces the run locally. Annotations on a pull
request are capped per step; the summary always has the whole picture."""

from __future__ import annotations

import shlex
from collections import Counter

from mllint_deploy import __version__
from mllint_deploy.reporters.github import level_of, total_text
from mllint_deploy.rule_pages import HOMEPAGE, page_url

TOP_FILES = 10


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reproduce_command(argv: list[str]) -> str:
    """The run's own arguments without its output format and file, as a shell command."""
    args, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--format", "-o", "--output"):
            skip = True
            continue
        if arg.startswith(("--format=", "--output=")):
            continue
        args.append(arg)
    return shlex.join(["mllint-deploy", *args])


def render_summary(findings, catalogue, *, files: int, argv: list[str]) -> str:
    lines = ["## mllint-deploy", ""]
    if not findings:
        lines += [f"No findings in {files} file{'' if files == 1 else 's'}.", ""]
        return "\n".join(lines) + "\n"
    counts = Counter(level_of(f, catalogue) for f in findings)
    nfiles = len({f.path for f in findings})
    lines += [(f"**{total_text({k: counts.get(k, 0) for k in ('error', 'warning', 'notice')})}** in {nfiles} of "
              f"{files} file{'' if files == 1 else 's'} checked."), "",
              "| Code | Rule | Severity | Findings |", "| --- | --- | --- | ---: |"]
    by_code = Counter(f.code for f in findings)
    for code, n in sorted(by_code.items(), key=lambda item: (-item[1], item[0])):
        doc = catalogue.get(code)
        name = f"[{_cell(doc.name)}]({page_url(code)})" if doc else ""
        lines.append(f"| {code} | {name} | {doc.severity if doc else 'error'} | {n} |")
    by_file = Counter(f.path for f in findings)
    shown = sorted(by_file.items(), key=lambda item: (-item[1], item[0]))[:TOP_FILES]
    lines += ["", "**Files with most findings**", "", "| File | Findings |", "| --- | ---: |"]
    lines += [f"| `{_cell(path)}` | {n} |" for path, n in shown]
    if len(by_file) > TOP_FILES:
        lines.append(f"| ... and {len(by_file) - TOP_FILES} more | |")
    lines += ["", "**Reproduce locally**", "", "```sh",
              f'pip install "mllint-deploy @ git+{HOMEPAGE}@v{__version__}"', reproduce_command(argv), "```", ""]
    return "\n".join(lines) + "\n"
