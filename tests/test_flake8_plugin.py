"""The flake8 plugin: real `flake8 --select MLD` in a subprocess reports the rules on the bundled
fixtures exactly where their `# expect:` annotations say and exactly what the CLI reports (the
project rules too, from the facts of the rest of the project), and honours flake8's noqa."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import FIXTURES, expected_findings, reported_findings

pytest.importorskip("flake8")

FLAKE8_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) (?P<message>.*)$")


def flake8(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flake8", "--isolated", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def plugin_codes() -> set[str]:
    """Codes the plugin reports: every implemented one but MLD001 (flake8's E999 covers that)."""
    from mllint_deploy import registry

    return registry.implemented_codes() - {"MLD001"}


def parse(stdout: str, root: Path) -> set[tuple[str, int, str]]:
    out = set()
    for line in stdout.splitlines():
        m = FLAKE8_LINE.match(line)
        assert m, line
        rel = Path(m["path"]).resolve().relative_to(root.resolve()).as_posix()
        out.add((rel, int(m["line"]), m["code"]))
    return out


def test_plugin_is_registered():
    proc = flake8("--version")
    assert proc.returncode == 0 and "mllint-deploy" in proc.stdout


@pytest.mark.parametrize("family", ["reproducibility", "leakage", "core"])
def test_flake8_reports_the_annotated_per_file_findings(family):
    directory = FIXTURES / family
    codes = plugin_codes()
    proc = flake8("--select", "MLD", str(directory))
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    reported = parse(proc.stdout, directory)
    # flake8 reports unparsable files as E999, never as MLD001; the rest must match the annotations
    expected = {e for e in expected_findings(directory, codes) if ".ipynb" not in e[0]}  # not flake8's
    assert reported == expected, f"missed: {sorted(expected - reported)}\nfalse alarms: {sorted(reported - expected)}"


def test_flake8_reports_what_the_cli_reports_on_every_fixture():
    """Every finding of `mllint-deploy fixtures/` in a Python file (same path, line, code) and nothing
    else, for every code: MLD202/MLD203/MLD205 (seeding in other modules), the MLD3xx
    training/serving pairs and the feature contract included. Notebooks are not flake8's."""
    codes = plugin_codes()
    proc = flake8("--select", "MLD", str(FIXTURES))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    reported = parse(proc.stdout, FIXTURES)
    cli = {f for f in reported_findings(FIXTURES, codes) if ".ipynb" not in f[0]}
    assert {code for _, _, code in cli} >= {"MLD202", "MLD203", "MLD205", "MLD301", "MLD303", "MLD402"}
    assert reported == cli, f"missed: {sorted(cli - reported)}\nextra: {sorted(reported - cli)}"


def test_unseeded_estimator_in_a_lone_file(tmp_path):
    (tmp_path / "train.py").write_text("from sklearn.ensemble import RandomForestClassifier\n"
                                       "model = RandomForestClassifier(n_estimators=10)\n", encoding="utf-8")
    proc = flake8("--select", "MLD", "train.py", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("train.py:2:9: MLD202 RandomForestClassifier(...) is built without random_state=")


def test_output_format_noqa_and_select(tmp_path):
    shutil.copy(FIXTURES / "reproducibility" / "bad_split_no_random_state.py", tmp_path / "train.py")
    (tmp_path / "other.py").write_text(textwrap.dedent(
        """\
        import numpy as np
        from sklearn.model_selection import train_test_split

        rng = np.random.default_rng()  # noqa: MLD204
        X_tr, X_te = train_test_split(np.arange(10))  # noqa
        X_a, X_b = train_test_split(np.arange(10))
        """), encoding="utf-8")
    proc = flake8("--select", "MLD", "other.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "other.py:6:12: MLD201 train_test_split(...) without a fixed random_state: the split changes on every run, "
        "so scores cannot be reproduced or compared. Pass random_state=42 (or a seed from your config)."]
    proc = flake8("--select", "MLD204", "other.py", "train.py", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""
    proc = flake8("--select", "MLD", "--extend-ignore", "MLD201", "other.py", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""


def test_file_level_mllint_noqa_and_syntax_errors(tmp_path):
    """An unparsable file is flake8's E999, never MLD001: with `--select MLD` alone it shows nothing."""
    (tmp_path / "a.py").write_text("# mllint-deploy: noqa: MLD201\nfrom sklearn.model_selection import "
                                   "train_test_split\nparts = train_test_split([1, 2, 3])\n", encoding="utf-8")
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n", encoding="utf-8")
    proc = flake8("--select", "MLD,E999", "a.py", "broken.py", cwd=tmp_path)
    assert "MLD" not in proc.stdout
    assert proc.stdout.startswith("broken.py:1:") and " E999 " in proc.stdout
    proc = flake8("--select", "MLD", "broken.py", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""


def test_stdin(tmp_path):
    source = "from sklearn.model_selection import train_test_split\nparts = train_test_split([1, 2, 3])\n"
    proc = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "MLD", "-"], input=source,
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 1 and proc.stdout.startswith("stdin:2:9: MLD201 ")
