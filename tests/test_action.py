"""The composite GitHub Action (action.yml): its inputs, and its lint step's script run for real with
bash, the way the runner runs it (inputs passed through the environment)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS = ACTION["runs"]["steps"]
BAD = "from sklearn.model_selection import train_test_split\nparts = train_test_split([1, 2, 3, 4])\n"


def step(step_id_or_name: str) -> dict:
    return next(s for s in STEPS if step_id_or_name in (s.get("id"), s.get("name")))


def test_action_shape():
    assert ACTION["runs"]["using"] == "composite"
    inputs = ACTION["inputs"]
    assert inputs["paths"]["default"] == "."
    assert inputs["args"]["default"] == ""
    assert inputs["sarif-file"]["default"] == ""
    # no `version` input: mllint-deploy is not on PyPI, the version is the ref in `uses: ...@ref`
    assert set(inputs) == {"paths", "args", "sarif-file", "python-version", "checklist"}
    assert STEPS[0]["uses"].startswith("actions/setup-python@")
    install = step("Install mllint-deploy")
    assert install["env"]["MLLINT_ACTION_PATH"] == "${{ github.action_path }}"
    assert '"$MLLINT_ACTION_PATH"' in install["run"]
    assert "mllint-deploy==" not in install["run"] and "inputs." not in install["run"]
    assert "--format github" in step("lint")["run"]


def test_inputs_never_expand_inside_scripts():
    for s in STEPS:
        assert "${{" not in s.get("run", ""), f"step {s.get('name')!r} expands an expression in its script"


def run_lint_step(tmp_path: Path, **inputs: str) -> subprocess.CompletedProcess:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not available")
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["GITHUB_OUTPUT"] = str(tmp_path / "github_output")
    env.update({"MLLINT_PATHS": inputs.get("paths", "."), "MLLINT_ARGS": inputs.get("args", ""),
                "MLLINT_SARIF": inputs.get("sarif", "")})
    script = step("lint")["run"]
    # the runner's default for `shell: bash`
    return subprocess.run([bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def workspace(tmp_path):
    if not (Path(sys.executable).parent / "mllint-deploy").exists():
        pytest.skip("the console script is not installed next to this interpreter")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "ok.py").write_text("x = 1\n", encoding="utf-8")
    return tmp_path


def test_lint_step_annotates_and_fails_on_findings(workspace):
    proc = run_lint_step(workspace)
    assert proc.returncode == 1
    assert proc.stdout.startswith("::warning file=src/train.py,line=2,col=9,")


def test_lint_step_writes_sarif_and_the_output(workspace):
    proc = run_lint_step(workspace, paths="src notes", args="--select MLD2 --exit-zero", sarif="results.sarif")
    assert proc.returncode == 0, proc.stderr
    sarif = json.loads((workspace / "results.sarif").read_text())
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "MLD201"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/train.py"
    assert "sarif-file=results.sarif" in (workspace / "github_output").read_text()
    assert "::warning file=src/train.py" in proc.stdout


def test_lint_step_usage_error_fails(workspace):
    proc = run_lint_step(workspace, args="--select NOPE1", sarif="results.sarif")
    assert proc.returncode == 2 and "unknown rule selector" in proc.stderr


def test_lint_step_does_not_glob_or_inject(workspace):
    proc = run_lint_step(workspace, paths="src", args="$(touch pwned) *")
    assert not (workspace / "pwned").exists()
    assert proc.returncode == 2  # '$(touch' and '*' are passed literally: not an option / not a path
