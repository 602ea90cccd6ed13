"""The rule pages in docs/rules/ are generated from rules/*.yaml and committed: regenerating them
must give exactly what is committed, every catalogue rule has a page, and the URL SARIF links to is
the page on the project's repository."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT
from mllint_deploy import rule_pages
from mllint_deploy.catalogue import load_catalogue
from mllint_deploy.reporters import sarif

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PAGES = ROOT / rule_pages.PAGES_PATH


def test_committed_pages_are_what_the_yaml_generates(tmp_path):
    generated = tmp_path / "rules"
    rule_pages.write(generated)
    names = sorted(p.name for p in generated.iterdir())
    stale = [n for n in names if not (PAGES / n).is_file()
             or (PAGES / n).read_text(encoding="utf-8") != (generated / n).read_text(encoding="utf-8")]
    leftover = sorted(p.name for p in PAGES.glob("*.md") if p.name not in names)
    assert not stale and not leftover, (
        f"{rule_pages.PAGES_PATH}/ is out of date with rules/*.yaml: "
        f"stale or missing {stale}, left over {leftover}; regenerate with `{rule_pages.REGENERATE}`")


def test_every_catalogue_rule_has_a_page_and_an_index_row():
    index = (PAGES / "README.md").read_text(encoding="utf-8")
    for code, doc in load_catalogue().items():
        page = (PAGES / f"{code}.md").read_text(encoding="utf-8")
        assert page.startswith(f"# {code} `{doc.name}`\n")
        assert f"`# noqa: {code}`" in page and "```python\n" in page
        for heading in ("## Why it matters", "## How to fix it", "## Example", "## Use instead",
                        "## Suppressing it"):
            assert heading in page, (code, heading)
        assert f"| [{code}]({code}.md) |" in index


def test_security_rules_show_their_severity_and_cwes():
    page = (PAGES / "MLD403.md").read_text(encoding="utf-8")
    assert "| Security severity | critical (9.8): [CWE-502]" in page
    assert "Security severity" not in (PAGES / "MLD402.md").read_text(encoding="utf-8")


def test_a_multi_file_example_is_one_block_per_file_in_its_language():
    page = (PAGES / "MLD303.md").read_text(encoding="utf-8")
    assert "`pyproject.toml`:\n\n```toml\n" in page and "`contract.yaml`:\n\n```yaml\n" in page


def test_check_reports_a_stale_page_and_the_command(tmp_path):
    rule_pages.write(tmp_path)
    assert rule_pages.stale(tmp_path) == []
    (tmp_path / "MLD201.md").write_text("old\n", encoding="utf-8")
    (tmp_path / "MLD999.md").write_text("a removed rule\n", encoding="utf-8")
    (tmp_path / "MLD101.md").unlink()
    assert rule_pages.stale(tmp_path) == ["MLD101.md", "MLD201.md", "MLD999.md"]
    proc = subprocess.run([sys.executable, "-m", "mllint_deploy.rule_pages", str(tmp_path), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "MLD201.md: out of date" in proc.stderr and rule_pages.REGENERATE in proc.stderr
    assert (tmp_path / "MLD201.md").read_text(encoding="utf-8") == "old\n"  # --check writes nothing
    assert sorted(rule_pages.write(tmp_path)) == ["MLD101.md", "MLD201.md", "MLD999.md"]
    assert not (tmp_path / "MLD999.md").exists() and rule_pages.stale(tmp_path) == []


def test_help_uri_is_the_committed_page_on_the_homepage_repository():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        homepage = tomllib.load(fh)["project"]["urls"]["Homepage"]
    assert rule_pages.HOMEPAGE == sarif.INFO_URI == homepage
    for code in load_catalogue():
        url = rule_pages.page_url(code)
        assert url == f"{homepage}/blob/main/docs/rules/{code}.md"
        assert (ROOT / url.removeprefix(f"{homepage}/blob/main/")).is_file()


def test_readme_links_each_rule_to_its_page_and_has_no_dead_rule_anchors():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rules_section = readme.split("\n## Rules\n", 1)[1].split("\n## ", 1)[0]
    for code in load_catalogue():
        assert f"| [{code}](docs/rules/{code}.md) |" in rules_section, code
    assert not re.search(r"\]\(#mld\d{3}\)", readme, re.IGNORECASE)
    assert rule_pages.REGENERATE in readme
