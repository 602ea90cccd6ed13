"""The rule pages: one Markdown page per catalogue rule (`docs/rules/MLDxxx.md`) and an index
(`docs/rules/README.md`), generated from `rules/MLD*.yaml`, which stay the one source.

After editing a rule's YAML, regenerate and commit the pages:

    python -m mllint_deploy.rule_pages docs/rules

`--check` writes nothing and exits 1 if a page is stale, missing or left over from a removed rule
(`tests/test_rule_pages.py` makes the same comparison). The SARIF reporter's `helpUri` is
`page_url(code)`, the page as the project's repository shows it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from mllint_deploy.catalogue import RuleDoc, load_catalogue, security_band

HOMEPAGE = "https://github.com/mllint-deploy/mllint-deploy"  # `[project.urls] Homepage` in pyproject.toml
PAGES_PATH = "docs/rules"  # relative to the repository root
REGENERATE = f"python -m mllint_deploy.rule_pages {PAGES_PATH}"
INDEX = "README.md"

_FENCE_LANGUAGE = {".py": "python", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json",
                   ".cfg": "ini", ".ini": "ini", ".txt": "text"}


def page_url(code: str) -> str:
    """Where the rule's page is read on the web: the file on the repository's main branch."""
    return f"{HOMEPAGE}/blob/main/{PAGES_PATH}/{code}.md"


def _rating(doc: RuleDoc) -> str:
    """`critical (9.8)`, or '' for a rule that is not a security rule."""
    if doc.security_severity is None:
        return ""
    return f"{security_band(doc.security_severity)} ({doc.security_severity:.1f})"


def _generated_note(source: str) -> str:
    return f"<!-- Generated from {source} by `{REGENERATE}`: edit the YAML, not this page. -->"


def _code_blocks(example: Any) -> str:
    """A single source is one python block; a mapping of file names to sources (a multi-file
    example) is one block per file under its name, fenced in the file's language."""
    if not isinstance(example, Mapping):
        return f"```python\n{str(example).rstrip()}\n```"
    blocks = []
    for name, source in example.items():
        language = _FENCE_LANGUAGE.get(Path(str(name)).suffix, "")
        blocks.append(f"`{name}`:\n\n```{language}\n{str(source).rstrip()}\n```")
    return "\n\n".join(blocks)


def _autofix(doc: RuleDoc) -> list[str]:
    """The section on the rule's automatic fix, if it has one."""
    fix = doc.autofix
    if fix is None:
        return []
    flags = "`--fix`" if fix.applicability == "safe" else "`--fix --unsafe-fixes`"
    return [f"### Automatic fix ({fix.applicability})", f"Applied by {flags}. {fix.automatic.strip()}",
            f"Before:\n\n```python\n{fix.before.rstrip()}\n```", f"After:\n\n```python\n{fix.after.rstrip()}\n```"]


def render_page(doc: RuleDoc) -> str:
    """The page of one rule."""
    facts = [("Code", f"`{doc.code}`"), ("Name", f"`{doc.name}`"), ("Family", doc.family),
             ("Severity", doc.severity)]
    if doc.is_security:
        cwes = ", ".join(f"[CWE-{i}](https://cwe.mitre.org/data/definitions/{i}.html)" for i in doc.cwe)
        facts.append(("Security severity", f"{_rating(doc)}: {cwes}"))
    table = "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in facts)])
    sections = [
        f"# {doc.code} `{doc.name}`",
        _generated_note(f"`rules/{doc.code}.yaml`"),
        table,
        doc.summary.strip(),
        "## Why it matters",
        doc.why.strip(),
        "## How to fix it",
        doc.fix.strip(),
        *_autofix(doc),
        "## Example",
        _code_blocks(doc.bad),
        "## Use instead",
        _code_blocks(doc.good),
        "## Suppressing it",
        f"On the reported line, `# noqa: {doc.code}`. For a whole file, a line "
        f"`# mllint-deploy: noqa: {doc.code}` anywhere in it. For a project or some of its paths, "
        f"`ignore = [\"{doc.code}\"]` or `per-file-ignores` under `[tool.mllint-deploy]` in "
        f"`pyproject.toml`.",
        f"`mllint-deploy --explain {doc.code}` prints this documentation in a terminal. "
        f"[All rules](README.md).",
    ]
    return "\n\n".join(sections) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_index(docs: Iterable[RuleDoc]) -> str:
    """The table of every rule, each linked to its page."""
    rows = [f"| [{d.code}]({d.code}.md) | `{d.name}` | {d.family} | {d.severity} | "
            f"{_rating(d)} | {_cell(d.summary)} |" for d in docs]
    return "\n\n".join([
        "# Rules",
        _generated_note("`rules/MLD*.yaml`"),
        "One page per rule: why it matters, how to fix it, a bad and a good example, and how to suppress "
        "it. Security rules carry a security severity on GitHub's code-scanning scale; the others are "
        "quality findings.",
        "\n".join(["| code | name | family | severity | security | what it catches |",
                   "|---|---|---|---|---|---|", *rows]),
    ]) + "\n"


def pages(catalogue: Mapping[str, RuleDoc] | None = None) -> dict[str, str]:
    """File name (relative to the pages directory) -> text, for every page and the index."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    docs = [catalogue[code] for code in sorted(catalogue)]
    out = {f"{d.code}.md": render_page(d) for d in docs}
    out[INDEX] = render_index(docs)
    return out


def _leftovers(directory: Path, expected: Mapping[str, str]) -> list[str]:
    """Rule pages in `directory` whose rule is no longer in the catalogue."""
    return sorted(p.name for p in directory.glob("MLD*.md") if p.name not in expected)


def stale(directory: Path, catalogue: Mapping[str, RuleDoc] | None = None) -> list[str]:
    """The pages in `directory` that differ from the catalogue, are missing or are left over."""
    expected = pages(catalogue)
    out = []
    for name, text in expected.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    return sorted(out) + _leftovers(directory, expected)


def write(directory: Path, catalogue: Mapping[str, RuleDoc] | None = None) -> list[str]:
    """Write every page into `directory` (created if needed) and remove left-over rule pages;
    returns the names of the files that changed."""
    expected = pages(catalogue)
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in expected.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            changed.append(name)
    for name in _leftovers(directory, expected):
        (directory / name).unlink()
        changed.append(name)
    return changed


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mllint_deploy.rule_pages",
                                     description="Generate the rule pages from rules/MLD*.yaml.")
    parser.add_argument("directory", type=Path, help=f"where the pages go ({PAGES_PATH} in the repository)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a page is stale, missing or left over")
    args = parser.parse_args(argv)
    if args.check:
        behind = stale(args.directory)
        for name in behind:
            print(f"{args.directory / name}: out of date with rules/*.yaml", file=sys.stderr)
        if behind:
            print(f"regenerate with: {REGENERATE}", file=sys.stderr)
        return 1 if behind else 0
    changed = write(args.directory)
    print(f"{len(changed)} page(s) updated in {args.directory}" if changed else f"{args.directory} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
