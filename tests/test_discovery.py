"""Which files get linted: default excludes, `.gitignore` in a real git repository, `exclude` and
`extend-exclude` from pyproject, explicitly named files and `--force-exclude`, odd directory entries
(a directory called `x.py`, symlink loops, dangling links), and sorted output without duplicates."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import script
from mllint_deploy.config import load_settings
from mllint_deploy.pipeline.discovery import discover

BAD = textwrap.dedent(
    """\
    import pandas as pd
    from sklearn.model_selection import train_test_split

    df = pd.read_csv("data/train.csv")
    train_df, valid_df = train_test_split(df, test_size=0.2)
    """
)
CLEAN = "import pandas as pd\n\ndf = pd.read_csv('data/train.csv')\nprint(df.describe())\n"


def make(root: Path, *names: str, text: str = CLEAN) -> None:
    for name in names:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def found(root: Path, *paths: str, force_exclude: bool = False) -> list[str]:
    """What discovery returns for `paths` (relative to `root`, the working directory), as posix paths
    relative to `root`."""
    args = list(paths) or ["."]
    settings = load_settings(args, None, {"force_exclude": force_exclude})
    return [os.path.relpath(p, root).replace(os.sep, "/") for p in discover(args, settings)]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_NOSYSTEM="1", HOME=str(repo))
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return proc.stdout


def git_untracked_py(repo: Path, under: str = ".") -> list[str]:
    """Git's own answer: the `.py` files it would not ignore, relative to `repo`."""
    out = git(repo, "ls-files", "--others", "--exclude-standard", "--", under)
    return sorted(line for line in out.splitlines() if line.endswith(".py"))


# --- default excludes ------------------------------------------------------------------------------


def test_default_excludes(in_tmp):
    kept = [
        "build.py",
        "builder/assets.py",
        "env_check.py",
        "src/pkg/__init__.py",
        "src/pkg/train.py",
        "src/pkg/rebuild/steps.py",
    ]
    skipped = [
        ".venv/lib/python3.11/site-packages/sklearn/base.py",
        "venv/bin/activate_this.py",
        ".tox/py311/lib/helper.py",
        "build/lib/pkg/train.py",
        "dist/pkg/train.py",
        "src/pkg/build/generated.py",
        "lib/python3.10/site-packages/numpy/core.py",
        ".git/hooks/post_checkout.py",
        "src/pkg/__pycache__/train.py",
        "notebooks/.ipynb_checkpoints/eda-checkpoint.py",
        ".mypy_cache/3.11/stub.py",
        "pkg.egg-info/setup_helper.py",
        "node_modules/some-tool/gen.py",
    ]
    make(in_tmp, *kept, *skipped)
    assert found(in_tmp) == sorted(kept)


def test_default_excludes_through_the_cli(cli, in_tmp):
    make(in_tmp, "train.py", text=BAD)
    make(in_tmp, ".venv/lib/python3.11/site-packages/vendored/split.py", "build/lib/train.py",
         "nb/.ipynb_checkpoints/train-checkpoint.py", text=BAD)
    rc, out, _ = cli(".")
    assert rc == 1
    assert out.splitlines()[0].startswith("train.py:5:")
    assert "Found 1 finding in 1 file (1 file checked)." in out


# --- .gitignore ------------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A real git repository with a root and a nested .gitignore, negations included."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".gitignore").write_text(
        textwrap.dedent(
            """\
            # scratch work and generated code
            scratch/
            *_generated.py
            data/*.py
            !data/keep_loader.py
            /outputs
            """
        ),
        encoding="utf-8",
    )
    (root / "pkg").mkdir()
    (root / "pkg" / ".gitignore").write_text(
        "local_*.py\n!local_settings_template.py\n!api_generated.py\n", encoding="utf-8"
    )
    make(
        root,
        "train.py",
        "scratch/try_lgbm.py",
        "models_generated.py",
        "pkg/model.py",
        "pkg/api_generated.py",
        "pkg/local_paths.py",
        "pkg/local_settings_template.py",
        "pkg/sub/local_cache.py",
        "pkg/sub/features.py",
        "pkg/scratch/notes.py",
        "data/loader.py",
        "data/keep_loader.py",
        "data/raw/convert.py",
        "outputs/run_042.py",
        "pkg/outputs/report.py",
    )
    monkeypatch.chdir(root)
    return root


def test_gitignore_matches_git(repo):
    expected = [
        "data/keep_loader.py",
        "data/raw/convert.py",
        "pkg/api_generated.py",
        "pkg/local_settings_template.py",
        "pkg/model.py",
        "pkg/outputs/report.py",
        "pkg/sub/features.py",
        "train.py",
    ]
    assert git_untracked_py(repo) == expected  # the fixture itself is right
    assert found(repo) == expected


def test_gitignore_from_a_subdirectory_uses_the_root_gitignore(repo):
    assert found(repo, "pkg") == git_untracked_py(repo, "pkg")
    assert "pkg/api_generated.py" in found(repo, "pkg")  # root ignores it, pkg/.gitignore re-includes it


def test_gitignored_file_named_explicitly(cli, repo):
    make(repo, "scratch/try_split.py", text=BAD)
    assert found(repo, "scratch/try_split.py") == ["scratch/try_split.py"]
    assert found(repo, "scratch/try_split.py", force_exclude=True) == []
    assert found(repo, "pkg/local_paths.py", force_exclude=True) == []
    assert found(repo, "pkg/local_settings_template.py", force_exclude=True) == ["pkg/local_settings_template.py"]
    rc, out, _ = cli("scratch/try_split.py", "-q")
    assert rc == 1 and "scratch/try_split.py:5:" in out
    rc, out, _ = cli("scratch/try_split.py", "--force-exclude")
    assert rc == 0 and "0 files" in out


def test_gitignore_outside_the_linted_tree_does_not_leak_in(repo, tmp_path, monkeypatch):
    """A directory that is not inside the repository ignores the repository's rules."""
    other = tmp_path / "other"
    make(other, "scratch/keep_me.py", "data/loader.py")
    monkeypatch.chdir(other)
    assert found(other) == ["data/loader.py", "scratch/keep_me.py"]


# --- exclude / extend-exclude -----------------------------------------------------------------------


def test_extend_exclude_adds_to_the_defaults(cli, in_tmp):
    (in_tmp / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [tool.mllint-deploy]
            extend-exclude = ["legacy", "*_pb2.py", "scripts/old_*.py", "migrations"]
            """
        ),
        encoding="utf-8",
    )
    make(in_tmp, "src/serve.py", "src/model_pb2.py", "legacy/train_v1.py", "scripts/old_eval.py",
         "scripts/eval.py", "src/legacy_utils.py", "app/migrations/0001_initial.py", ".venv/lib/x.py",
         "build/lib/x.py")
    assert found(in_tmp) == ["scripts/eval.py", "src/legacy_utils.py", "src/serve.py"]


def test_exclude_replaces_the_defaults(in_tmp):
    (in_tmp / "pyproject.toml").write_text('[tool.mllint-deploy]\nexclude = ["legacy"]\n', encoding="utf-8")
    make(in_tmp, "src/serve.py", "legacy/train_v1.py", "build/gen.py")
    assert found(in_tmp) == ["build/gen.py", "src/serve.py"]


def test_exclude_patterns_are_relative_to_the_config_file(cli, tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    make(proj, "scripts/old_eval.py", "scripts/eval.py", text=BAD)
    (proj / "pyproject.toml").write_text(
        '[tool.mllint-deploy]\nextend-exclude = ["scripts/old_*.py"]\n', encoding="utf-8"
    )
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    rc, out, _ = cli(str(proj), "-q")
    assert rc == 1
    assert "eval.py:5:" in out and "old_eval.py" not in out


def test_explicit_files_are_linted_unless_force_exclude(cli, in_tmp):
    (in_tmp / "pyproject.toml").write_text(
        '[tool.mllint-deploy]\nextend-exclude = ["legacy", "migrations"]\n', encoding="utf-8"
    )
    targets = ["legacy/train_v1.py", "build/gen.py", "app/migrations/0001_initial.py",
               ".venv/lib/python3.11/site-packages/pkg/mod.py"]
    make(in_tmp, *targets, text=BAD)
    make(in_tmp, "src/train.py", text=BAD)
    for target in targets:
        assert found(in_tmp, target) == [target]
        assert found(in_tmp, target, force_exclude=True) == [], target
        rc, out, _ = cli(target, "--force-exclude")
        assert rc == 0 and "no findings in 0 files" in out
    # a named directory that is excluded is skipped under --force-exclude, nested ones too
    assert found(in_tmp, "legacy", force_exclude=True) == []
    assert found(in_tmp, "app/migrations", force_exclude=True) == []
    # what pre-commit does: every staged file named, excluded ones dropped
    rc, out, _ = cli(*targets, "src/train.py", "--force-exclude", "-q")
    assert rc == 1 and out.count("MLD201") == 1 and out.startswith("src/train.py:5:")


# --- odd directory entries -------------------------------------------------------------------------


def test_directory_named_like_a_python_file(cli, in_tmp):
    make(in_tmp, "experiments.py/run_baseline.py", text=BAD)
    assert found(in_tmp) == ["experiments.py/run_baseline.py"]
    assert found(in_tmp, "experiments.py") == ["experiments.py/run_baseline.py"]
    rc, out, _ = cli("experiments.py", "-q")
    assert rc == 1
    assert len(out.splitlines()) == 1 and out.startswith("experiments.py/run_baseline.py:5:")
    assert "MLD001" not in out


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="needs POSIX symlinks")
def test_symlink_loops_and_dangling_links_neither_crash_nor_hang(in_tmp):
    make(in_tmp, "pkg/train.py", text=BAD)
    os.symlink("..", in_tmp / "pkg" / "up")  # pkg/up/pkg/up/... forever, if followed
    os.symlink(".", in_tmp / "pkg" / "here")
    os.symlink("missing_module.py", in_tmp / "pkg" / "ghost.py")  # dangling
    os.symlink("loop_b", in_tmp / "pkg" / "loop_a")  # a loop of links, not .py
    os.symlink("loop_a", in_tmp / "pkg" / "loop_b")
    proc = subprocess.run([*script(), ".", "--format", "json"], cwd=in_tmp, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    findings = [(f["path"], f["code"]) for f in json.loads(proc.stdout)]
    assert findings == [("pkg/ghost.py", "MLD001"), ("pkg/train.py", "MLD201")]
    ghost = json.loads(proc.stdout)[0]
    assert "cannot read" in ghost["message"] and ghost["line"] == 1
    # the dangling link named on its own
    proc = subprocess.run([*script(), "pkg/ghost.py"], cwd=in_tmp, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stdout.count("MLD001") == 1 and "cannot read" in proc.stdout


# --- order and duplicates ---------------------------------------------------------------------------


def test_sorted_and_unique(cli, in_tmp):
    make(in_tmp, "src/models/forest.py", "src/models/boost.py", "src/a.py", "src/a_b.py", "src/Z.py",
         "src/train.py", text=BAD)
    result = found(in_tmp, "src/train.py", "src", "./src", "src/../src/models", "src/models/boost.py",
                   str(in_tmp / "src" / "a.py"))
    assert result == sorted(set(result))
    assert result == sorted(["src/models/forest.py", "src/models/boost.py", "src/a.py", "src/a_b.py",
                             "src/Z.py", "src/train.py"])
    rc, out, _ = cli("src", "src/train.py", "./src/models", "-q")
    lines = out.splitlines()
    assert len(lines) == 6 and len(set(lines)) == 6
    assert [line.split(":")[0] for line in lines] == sorted(line.split(":")[0] for line in lines)


def test_only_python_sources_are_collected(in_tmp):
    make(in_tmp, "train.py", "README.md", "requirements.txt", "model.pkl", "setup.cfg", "train.py.bak")
    assert found(in_tmp) == ["train.py"]
