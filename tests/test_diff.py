"""`--changed-since REF` on a real temporary git repository: only findings on lines added or changed since the
merge base are reported, untracked files count as new, notebooks are compared by code cells, and
misuse (no repository, unknown revision) is one line on stderr with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import run_cli_json, run_script
from mllint_deploy.pipeline.gitdiff import _unquote, parse_unified_diff

GIT_ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_AUTHOR_NAME="Test",
               GIT_AUTHOR_EMAIL="test@example.com", GIT_COMMITTER_NAME="Test", GIT_COMMITTER_EMAIL="test@example.com")

TRAIN = textwrap.dedent(
    """\
    import pandas as pd
    from sklearn.model_selection import train_test_split

    df = pd.read_csv("data/churn.csv")
    train, test = train_test_split(df, test_size=0.2)
    """
)


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def write(repo: Path, name: str, text: str) -> Path:
    p = repo / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def notebook_json(*cells: tuple[str, str]) -> str:
    return json.dumps({
        "cells": [{"cell_type": kind, "metadata": {}, "source": src.splitlines(keepends=True),
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, src in cells],
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}, indent=1)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, "train.py", TRAIN)
    write(root, "broken_legacy.py", "def old(:\n    pass\n")
    write(root, "long_call.py", textwrap.dedent(
        """\
        from sklearn.model_selection import train_test_split

        parts = train_test_split(
            [1, 2, 3, 4],
            test_size=0.25,
        )
        """))
    write(root, "eda.ipynb", notebook_json(
        ("markdown", "# EDA"),
        ("code", "from sklearn.model_selection import train_test_split\n"),
        ("code", "a, b = train_test_split([1, 2, 3, 4])\n")))
    write(root, ".gitignore", "scratch/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "checkout", "-q", "-b", "feature")
    monkeypatch.chdir(root)
    return root


def reported(*args: str) -> set[tuple]:
    return {(f["path"], f.get("cell"), f["line"], f["code"]) for f in run_cli_json([*args])}


def test_only_new_findings_since_the_merge_base(repo):
    # lines inserted above move the old finding (line 5 -> 7) without changing it
    text = TRAIN.replace("import pandas as pd\n", "import pandas as pd\nimport numpy as np\n# churn model v2\n")
    text += "valid, holdout = train_test_split(test, test_size=0.5)\n"
    write(repo, "train.py", text)
    git(repo, "commit", "-q", "-am", "second split")
    assert reported(".") >= {("train.py", None, 7, "MLD201"), ("train.py", None, 8, "MLD201")}
    assert reported(".", "--changed-since", "main") == {("train.py", None, 8, "MLD201")}


def test_uncommitted_staged_and_untracked_changes_count(repo, cli):
    write(repo, "train.py", TRAIN + "x, y = train_test_split(df)\n")  # unstaged edit
    write(repo, "staged.py", TRAIN)
    git(repo, "add", "staged.py")
    write(repo, "pkg/new_script.py", TRAIN)  # untracked
    write(repo, "scratch/ignored.py", TRAIN)  # ignored by .gitignore
    assert reported(".", "--changed-since", "main") == {
        ("train.py", None, 6, "MLD201"),
        ("staged.py", None, 5, "MLD201"),
        ("pkg/new_script.py", None, 5, "MLD201"),
    }
    rc, out, _ = cli(".", "--changed-since", "main", "-q")
    assert rc == 1 and "broken_legacy.py" not in out  # old syntax error in an untouched file stays quiet


def test_nothing_changed_exits_0(repo, cli):
    rc, out, err = cli(".", "--changed-since", "main")
    assert rc == 0 and "no findings" in out and err == ""


def test_finding_counts_only_if_its_reported_line_changed(repo):
    write(repo, "long_call.py", (repo / "long_call.py").read_text().replace("test_size=0.25", "test_size=0.3"))
    assert reported(".", "--changed-since", "main") == set()
    write(repo, "long_call.py", (repo / "long_call.py").read_text().replace("parts = ", "pieces = "))
    assert reported(".", "--changed-since", "main") == {("long_call.py", None, 3, "MLD201")}


def test_syntax_error_reported_when_its_file_changed(repo):
    write(repo, "train.py", TRAIN.replace("import pandas as pd\n", "import pandas as pd\nfrom x import (\n"))
    got = reported(".", "--changed-since", "main")
    assert {code for _, _, _, code in got} == {"MLD001"}


def test_notebooks_compare_code_cells(repo):
    write(repo, "eda.ipynb", notebook_json(
        ("markdown", "# EDA"),
        ("markdown", "Loading and splitting."),  # a new cell shifts the old finding to cell 4
        ("code", "from sklearn.model_selection import train_test_split\n"),
        ("code", "a, b = train_test_split([1, 2, 3, 4])\n"),
        ("code", "# a second look\nc, d = train_test_split([5, 6, 7, 8])\n")))
    assert reported("eda.ipynb") == {("eda.ipynb", 4, 1, "MLD201"), ("eda.ipynb", 5, 2, "MLD201")}
    assert reported("eda.ipynb", "--changed-since", "main") == {("eda.ipynb", 5, 2, "MLD201")}


def test_renamed_file_keeps_old_findings_quiet(repo):
    git(repo, "mv", "train.py", "train_churn.py")
    write(repo, "train_churn.py", TRAIN + "x, y = train_test_split(df)\n")
    assert reported(".", "--changed-since", "main") == {("train_churn.py", None, 6, "MLD201")}


def test_diff_against_a_branch_that_moved_on_uses_the_merge_base(repo):
    git(repo, "checkout", "-q", "main")
    write(repo, "later_on_main.py", TRAIN)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "main moves on")
    git(repo, "checkout", "-q", "feature")
    write(repo, "feature.py", TRAIN)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feature work")
    assert reported(".", "--changed-since", "main") == {("feature.py", None, 5, "MLD201")}


def test_paths_outside_the_working_directory(repo, tmp_path, monkeypatch):
    write(repo, "train.py", TRAIN + "x, y = train_test_split(df)\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    got = reported(str(repo), "--changed-since", "main")
    assert got == {(str(repo / "train.py"), None, 6, "MLD201")}
    monkeypatch.chdir(tmp_path)
    assert reported("project", "--changed-since", "main") == {("project/train.py", None, 6, "MLD201")}


def test_unknown_ref_is_exit_2(repo, cli):
    rc, out, err = cli(".", "--changed-since", "no-such-branch")
    assert rc == 2 and out == ""
    assert err.strip() == "mllint-deploy: error: --changed-since: unknown git revision 'no-such-branch' " \
                          "(fetch it first, e.g. `git fetch origin main`)"
    rc, _, err = cli(".", "--changed-since", "--format")
    assert rc == 2 and len(err.strip().splitlines()) == 1


def test_outside_a_git_repository_is_exit_2(tmp_path, cli, monkeypatch):
    write(tmp_path, "train.py", TRAIN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    rc, out, err = cli(".", "--changed-since", "main")
    assert rc == 2 and out == ""
    assert "not inside a git repository" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_installed_script_with_diff(repo):
    write(repo, "train.py", TRAIN + "x, y = train_test_split(df)\n")
    proc = run_script("--changed-since", "main", "-q", cwd=repo)
    assert proc.returncode == 1
    assert proc.stdout.decode().splitlines() == [
        "train.py:6:8: MLD201 [*] train_test_split(...) without a fixed random_state: the split changes on every run, "
        "so scores cannot be reproduced or compared. Pass random_state=42 (or a seed from your config)."]


def test_parse_unified_diff_and_quoted_paths():
    diff = textwrap.dedent(
        """\
        diff --git a/a.py b/a.py
        --- a/a.py
        +++ b/a.py
        @@ -3,0 +4,2 @@ def f():
        +x
        +y
        @@ -10 +12 @@
        -old
        +new
        @@ -20,3 +21,0 @@
        -gone
        diff --git a/gone.py b/gone.py
        --- a/gone.py
        +++ /dev/null
        @@ -1 +0,0 @@
        -x
        """)
    assert parse_unified_diff(diff) == {"a.py": {4, 5, 12}}
    assert _unquote('"b/caf\\303\\251 \\"x\\".py"') == 'b/café "x".py'
    assert _unquote("b/plain.py") == "b/plain.py"
