"""The action's checklist step (input `checklist: true`), its script run for real with bash: the
markdown report is appended to $GITHUB_STEP_SUMMARY, and a required item that fails fails the step."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, ROOT, copy_tree

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEP = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "checklist")


def run_step(workspace: Path, paths: str) -> tuple[subprocess.CompletedProcess, str]:
    bash = shutil.which("bash")
    if bash is None or not (Path(sys.executable).parent / "mllint-deploy").exists():
        pytest.skip("bash or the console script is not available")
    summary = workspace / "step_summary.md"
    env = dict(os.environ, MLLINT_PATHS=paths, GITHUB_STEP_SUMMARY=str(summary))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", STEP["run"]], cwd=workspace,
                          env=env, capture_output=True, text=True, timeout=300)
    return proc, summary.read_text(encoding="utf-8") if summary.exists() else ""


def test_checklist_input_and_step():
    assert ACTION["inputs"]["checklist"]["default"] == "false"
    assert STEP["if"] == "${{ always() && inputs.checklist == 'true' }}"
    assert STEP["env"] == {"MLLINT_PATHS": "${{ inputs.paths }}"}


def test_step_appends_the_markdown_checklist_to_the_summary(tmp_path):
    copy_tree(FIXTURES / "checklist" / "careful", tmp_path / "careful")
    (tmp_path / "checklist").mkdir()  # a folder of that name does not turn the report into a lint run
    proc, summary = run_step(tmp_path, "careful")
    assert proc.returncode == 0, proc.stderr
    assert summary.startswith("## mllint-deploy production-readiness checklist")
    assert "12 pass, 0 fail, 0 n/a, 0 unknown" in summary
    assert summary in proc.stdout


def test_step_fails_when_a_required_item_fails(tmp_path):
    copy_tree(FIXTURES / "checklist" / "sloppy", tmp_path / "sloppy")
    proc, summary = run_step(tmp_path, "sloppy")
    assert proc.returncode == 1
    assert "Required and not passing: split, baseline, invalid-input-tests." in summary
