"""A plain, non-editable `pip install <repo>` into a fresh virtualenv works from any directory: the
console script, `python -m mllint_deploy`, and the rule catalogue (rules/*.yaml) shipped inside the
wheel rather than read from the source tree; the sdist carries the LICENSE and everything the tests
read, the wheel the license and classifier metadata."""

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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(sdist path, wheel path) built from the repository by hatchling, the declared build backend."""
    base = tmp_path_factory.mktemp("build")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    python = str(_bin(venv, "python"))
    proc = subprocess.run([python, "-m", "pip", "install", "-q", "hatchling>=1.27"], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = base / "dist"
    script = ("import sys; from hatchling.build import build_sdist, build_wheel; "
              "print(build_sdist(sys.argv[1])); print(build_wheel(sys.argv[1]))")
    proc = subprocess.run([python, "-c", script, str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sdist_name, wheel_name = proc.stdout.split()
    return out / sdist_name, out / wheel_name


def _tracked(*tops: str) -> set[str]:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs the git checkout")
    proc = subprocess.run(["git", "ls-files", "-z", "--", *tops], cwd=ROOT, capture_output=True, check=True)
    return {name for name in proc.stdout.decode().split("\0") if name}


def test_sdist_holds_the_license_and_everything_the_tests_read(built):
    import tarfile

    sdist, _ = built
    with tarfile.open(sdist) as tar:
        names = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile() and "/" in m.name}
        pkg_info = tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith("/PKG-INFO"))).read()
    for name in ("LICENSE", "README.md", "pyproject.toml", "action.yml", ".pre-commit-hooks.yaml",
                 "tests/conftest.py", "benchmarks/bench.py", "src/mllint_deploy/cli.py", "rules/MLD201.yaml"):
        assert name in names, name
    missing = _tracked("tests", "fixtures", "benchmarks", "rules", "docs", "src") - names
    assert not missing, sorted(missing)[:20]
    assert not any(n.startswith((".mllint_deploy_cache/", "benchmarks/.corpus/")) or n.endswith(".pyc")
                   for n in names)
    assert b"License-Expression: MIT" in pkg_info


def test_wheel_has_the_license_and_classifiers(built):
    import zipfile

    _, wheel = built
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        license_file = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert zf.read(license_file) == (ROOT / "LICENSE").read_bytes()
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    headers = [line for line in metadata.split("\n\n", 1)[0].splitlines()]
    assert "License-Expression: MIT" in headers and "License-File: LICENSE" in headers
    assert "Requires-Python: >=3.10" in headers
    classifiers = {line.split(": ", 1)[1] for line in headers if line.startswith("Classifier: ")}
    assert {"Programming Language :: Python :: 3.10", "Framework :: Flake8",
            "Topic :: Software Development :: Quality Assurance"} <= classifiers
    assert "mllint_deploy/rules/MLD201.yaml" in names
    assert not any(n.startswith(("tests/", "fixtures/")) for n in names)
