"""A plain, non-editable `pip install <repo>` into a fresh virtualenv works from any directory: the
console script, `python -m mllint_deploy`, and the rule catalogue (rules/*.yaml) shipped inside the
wheel rather than read from the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import expected_findings

ROOT = Path(__file__).resolve().parent.parent


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv, a working directory outside the repository, environment) with the project pip-installed."""
    base = tmp_path_factory.mktemp("packaging")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    proc = subprocess.run(
        [str(_bin(venv, "python")), "-m", "pip", "install", "-q", str(ROOT)],
        cwd=base, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return venv, elsewhere, env


def run(installed, *args: str, exe: str = "mllint-deploy") -> subprocess.CompletedProcess:
    venv, elsewhere, env = installed
    return subprocess.run([str(_bin(venv, exe)), *args], cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=300)


def test_installed_copy_is_not_the_source_tree(installed):
    venv, _, _ = installed
    proc = run(installed, "-c", "import mllint_deploy, pathlib; print(pathlib.Path(mllint_deploy.__file__).resolve())",
               exe="python")
    assert proc.returncode == 0, proc.stderr
    location = Path(proc.stdout.strip())
    assert venv.resolve() in location.parents
    assert ROOT not in location.parents
    # the catalogue sits inside the installed package
    assert sorted(p.name for p in (location.parent / "rules").glob("MLD*.yaml")) == sorted(
        p.name for p in (ROOT / "rules").glob("MLD*.yaml"))


def test_list_rules_reads_the_shipped_catalogue(installed):
    proc = run(installed, "--list-rules")
    assert proc.returncode == 0, proc.stderr
    assert "MLD101" in proc.stdout and "fit-before-split" in proc.stdout
    assert "MLD201" in proc.stdout and "MLD405" in proc.stdout


def test_explain_from_the_shipped_catalogue(installed):
    proc = run(installed, "--explain", "MLD201")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("MLD201 unseeded-split")


def test_lints_a_copy_of_the_core_fixtures(installed):
    _, elsewhere, _ = installed
    shutil.copytree(ROOT / "fixtures" / "core", elsewhere / "core", dirs_exist_ok=True)
    proc = run(installed, "core")
    assert proc.returncode == 1, proc.stderr
    expected = expected_findings(elsewhere / "core", {"MLD201"})
    assert expected, "fixtures/core should have an annotated MLD201 finding"
    for rel, line, code in expected:
        assert any(out.startswith(f"core/{rel}:{line}:") and f" {code} " in out for out in proc.stdout.splitlines())
    assert "Traceback" not in proc.stderr


def test_module_entry_point_version(installed):
    from mllint_deploy import __version__

    proc = run(installed, "-m", "mllint_deploy", "--version", exe="python")
    assert proc.returncode == 0, proc.stderr
    assert "mllint-deploy" in proc.stdout and __version__ in proc.stdout
