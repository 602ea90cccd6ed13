"""The pre-commit hook, run by the real `pre-commit try-repo` in a scratch git repository: it fails on
a file with an unseeded `train_test_split` and passes on a clean one and on excluded files.

try-repo only sees what git sees (HEAD, staged and modified tracked files, but no untracked files),
so the test first snapshots the project's working tree (every file git would not ignore) into a
fresh repository and points try-repo at that: the hook is tested as it would be committed.
pre-commit then builds its own virtualenv and pip-installs the project from the package index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "venv", "build", "dist", "__pycache__", ".pytest_cache", ".mllint_deploy_cache"}

BAD = textwrap.dedent(
    """\
    import pandas as pd
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    df = pd.read_csv("data/loans.csv")
    X = df.drop(columns=["defaulted"])
    y = df["defaulted"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y)

    clf = GradientBoostingClassifier(random_state=0).fit(X_train, y_train)
    print("holdout accuracy:", clf.score(X_test, y_test))
    """
)
CLEAN = BAD.replace("stratify=y)", "stratify=y, random_state=0)")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        PRE_COMMIT_HOME=str(home),
        GIT_AUTHOR_NAME="ci",
        GIT_AUTHOR_EMAIL="ci@example.com",
        GIT_COMMITTER_NAME="ci",
        GIT_COMMITTER_EMAIL="ci@example.com",
        GIT_CONFIG_NOSYSTEM="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def _git(cwd: Path, env, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


def _project_files() -> list[str]:
    """The project's files as they would be committed: tracked and not-ignored untracked files."""
    if (ROOT / ".git").exists():
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        ).stdout.decode()
        return sorted(name for name in out.split("\0") if name and (ROOT / name).is_file())
    names = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        names.extend(os.path.relpath(os.path.join(dirpath, f), ROOT) for f in filenames if not f.endswith(".pyc"))
    return sorted(names)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """(snapshot repository of the project, scratch repository to lint, environment)."""
    base = tmp_path_factory.mktemp("precommit")
    env = _env(base / "pre-commit-home")

    snapshot = base / "mllint-deploy"
    for name in _project_files():
        dst = snapshot / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dst)
    assert (snapshot / ".pre-commit-hooks.yaml").is_file()
    _git(snapshot, env, "init", "-q")
    _git(snapshot, env, "add", "-A")
    _git(snapshot, env, "commit", "-q", "-m", "snapshot")

    work = base / "work"
    work.mkdir()
    (work / "bad.py").write_text(BAD, encoding="utf-8")
    (work / "clean.py").write_text(CLEAN, encoding="utf-8")
    (work / "third_party").mkdir()
    (work / "third_party" / "split_utils.py").write_text(BAD, encoding="utf-8")
    (work / "pyproject.toml").write_text('[tool.mllint-deploy]\nextend-exclude = ["third_party"]\n',
                                         encoding="utf-8")
    _git(work, env, "init", "-q")
    _git(work, env, "add", "-A")
    _git(work, env, "commit", "-q", "-m", "scratch")
    return snapshot, work, env


def try_repo(hook_repo, *files: str, hook: str = "mllint-deploy") -> subprocess.CompletedProcess:
    snapshot, work, env = hook_repo
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(snapshot), hook, "--color", "never",
         "--verbose", "--files", *files],
        cwd=work, env=env, capture_output=True, text=True, timeout=900,
    )


def test_hook_fails_on_unseeded_split(hook_repo):
    proc = try_repo(hook_repo, "bad.py")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "mllint-deploy" in out and "Failed" in out
    assert "bad.py:8:" in out and "MLD201" in out


def test_hook_passes_on_clean_and_excluded_files(hook_repo):
    proc = try_repo(hook_repo, "clean.py", "third_party/split_utils.py")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Passed" in out and "MLD201" not in out


def test_fix_hook_seeds_the_split_and_fails_because_it_changed_a_file(hook_repo):
    _, work, env = hook_repo
    (work / "fixable.py").write_text(BAD, encoding="utf-8")
    _git(work, env, "add", "fixable.py")
    proc = try_repo(hook_repo, "fixable.py", hook="mllint-deploy-fix")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in out
    assert (work / "fixable.py").read_text(encoding="utf-8") == BAD.replace(
        "stratify=y)", "stratify=y, random_state=42)")
    proc = try_repo(hook_repo, "fixable.py", hook="mllint-deploy-fix")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # fixed: nothing left to change or report
