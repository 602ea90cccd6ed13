"""The content-keyed cache: a warm run reads instead of linting and prints the same bytes; any change
that could change a result (the file, its path, the settings, the rules) misses; a broken, foreign or
unwritable cache never breaks the run and never runs code."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from conftest import FIXTURES, copy_tree
from mllint_deploy.pipeline import cache as cache_mod
from mllint_deploy.pipeline import parallel

TRAIN = '''import numpy as np
from sklearn.model_selection import train_test_split

X = np.load("features.npy")
y = np.load("labels.npy")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
'''
SEEDED = TRAIN.replace("test_size=0.2)", "test_size=0.2, random_state=42)")


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "train.py").write_text(TRAIN, encoding="utf-8")
    (root / "clean.py").write_text(SEEDED, encoding="utf-8")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pkg" / "split.py").write_text(TRAIN, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def lint_calls(monkeypatch) -> list[str]:
    """The files the per-file phase actually linted (in this process: --jobs 1)."""
    calls: list[str] = []
    real = parallel._lint_task

    def counting(task, *args, **kwargs):
        calls.append(task.display)
        return real(task, *args, **kwargs)

    monkeypatch.setattr(parallel, "_lint_task", counting)
    return calls


def entries(root: Path) -> list[Path]:
    cache = root / cache_mod.CACHE_DIR_NAME
    return sorted(p for p in cache.rglob("*") if p.is_file() and p.parent.parent.parent == cache)


def test_warm_run_reads_only_and_prints_the_same(project, cli, lint_calls):
    cold = cli(".", "--jobs", "1")
    assert cold[0] == 1 and sorted(lint_calls) == ["clean.py", "pkg/__init__.py", "pkg/split.py", "train.py"]
    assert len(entries(project)) == 4
    lint_calls.clear()
    warm = cli(".", "--jobs", "1")
    assert warm == cold
    assert lint_calls == []
    for fmt in ("json", "sarif", "github", "gitlab"):
        assert cli(".", "--jobs", "1", "--format", fmt) == cli(".", "--jobs", "1", "--no-cache", "--format", fmt)


def test_cache_layout_gitignore_and_tag(project, cli):
    cli(".")
    cache = project / ".mllint_deploy_cache"
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert not [p for p in cache.rglob(".tmp-*")]  # no temporary file left behind
    # the cache is never linted itself
    rc, out, _ = cli(".", "--jobs", "1", "--format", "json")
    assert ".mllint_deploy_cache" not in out


def test_workers_write_entries_that_a_sequential_run_reads(project, cli, lint_calls):
    cold = cli(".", "--jobs", "2")
    assert len(entries(project)) == 4
    warm = cli(".", "--jobs", "1")
    assert warm == cold and lint_calls == []


def test_content_change_misses_for_that_file_only(project, cli, lint_calls):
    first = cli(".", "--jobs", "1")
    assert "train.py:6" in first[1]
    lint_calls.clear()
    (project / "train.py").write_text(SEEDED, encoding="utf-8")
    second = cli(".", "--jobs", "1")
    assert lint_calls == ["train.py"]
    assert "train.py:6" not in second[1] and "pkg/split.py:6" in second[1]
    assert second == cli(".", "--jobs", "1", "--no-cache")


def test_a_changed_helper_module_misses_for_the_files_that_use_it(project, cli, lint_calls):
    """`notebook.py` is analysed through `helpers.py` (a project module it imports): its entry holds
    only while helpers.py is unchanged, even though its own bytes are the same."""
    (project / "helpers.py").write_text(
        "from sklearn.preprocessing import StandardScaler\n\n\ndef prep(X):\n    return X\n", encoding="utf-8")
    (project / "notebook.py").write_text(
        "import numpy as np\nfrom sklearn.model_selection import train_test_split\n\nfrom helpers import prep\n\n"
        "X = prep(np.load('x.npy'))\nX_tr, X_te = train_test_split(X, random_state=0)\nprint(X_tr.mean(), X_te.mean())\n",
        encoding="utf-8")
    first = cli(".", "--jobs", "1", "--select", "MLD101")
    assert "notebook.py" not in first[1]
    lint_calls.clear()
    (project / "helpers.py").write_text(
        "from sklearn.preprocessing import StandardScaler\n\n\ndef prep(X):\n"
        "    return StandardScaler().fit_transform(X)\n", encoding="utf-8")
    second = cli(".", "--jobs", "1", "--select", "MLD101")
    assert sorted(lint_calls) == ["helpers.py", "notebook.py"]
    assert "notebook.py:6:5: MLD101 StandardScaler (in prep())" in second[1]
    lint_calls.clear()
    assert cli(".", "--jobs", "1", "--select", "MLD101") == second and lint_calls == []


def test_settings_change_misses(project, cli, lint_calls):
    cli(".", "--jobs", "1")
    lint_calls.clear()
    narrowed = cli(".", "--jobs", "1", "--select", "MLD1")  # another enabled set: another configuration
    assert narrowed[0] == 0 and len(lint_calls) == 4
    lint_calls.clear()
    (project / "pyproject.toml").write_text('[tool.mllint-deploy]\nignore = ["MLD201"]\n', encoding="utf-8")
    configured = cli(".", "--jobs", "1")
    assert configured[0] == 0 and len(lint_calls) == 4
    lint_calls.clear()
    assert cli(".", "--jobs", "1") == configured and lint_calls == []


def test_rules_or_tool_change_misses(project, cli, lint_calls, monkeypatch):
    cli(".", "--jobs", "1")
    lint_calls.clear()
    monkeypatch.setattr(cache_mod, "knowledge_digest", lambda: "edited knowledge")
    cli(".", "--jobs", "1")
    assert len(lint_calls) == 4
    lint_calls.clear()
    monkeypatch.setattr(cache_mod, "__version__", "999.0")
    cli(".", "--jobs", "1")
    assert len(lint_calls) == 4


def test_same_bytes_other_path_is_another_entry(project, cli, lint_calls):
    rc, out, _ = cli(".", "--jobs", "1")
    assert "pkg/split.py:6" in out and "train.py:6" in out  # same bytes, each reported under its own path


def test_corrupt_entries_are_ignored_and_rewritten(project, cli, lint_calls):
    cold = cli(".", "--jobs", "1")
    for i, entry in enumerate(entries(project)):
        entry.write_bytes([b"", b"garbage", pickle.dumps({"not": "a result"}), b"\x80\x05truncated"][i % 4])
    lint_calls.clear()
    assert cli(".", "--jobs", "1") == cold
    assert len(lint_calls) == 4
    lint_calls.clear()
    assert cli(".", "--jobs", "1") == cold and lint_calls == []  # rewritten


class _Exploit:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.marker}",))


def test_a_planted_entry_never_runs_code(project, cli, lint_calls, tmp_path):
    """A repository could ship a .mllint_deploy_cache/ with entries under the right keys."""
    cold = cli(".", "--jobs", "1")
    marker = tmp_path / "marker"
    for entry in entries(project):
        entry.write_bytes(pickle.dumps(_Exploit(str(marker))))
    lint_calls.clear()
    assert cli(".", "--jobs", "1") == cold
    assert not marker.exists()
    assert len(lint_calls) == 4
    with pytest.raises(pickle.UnpicklingError):
        cache_mod.safe_loads(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(pickle.UnpicklingError):
        cache_mod.safe_loads(pickle.dumps(cache_mod.Cache))  # a class that is not plain data
    with pytest.raises(pickle.UnpicklingError):
        cache_mod.safe_loads(pickle.dumps(cache_mod.dumps))  # a function of the package


def test_internal_errors_are_not_cached(project, cli, lint_calls, monkeypatch):
    from mllint_deploy import registry

    found = registry.load_checks()["MLD201"]
    cls = found[0] if isinstance(found, list) else found

    real = cls.check

    def broken(self, ctx):
        if ctx.path == "train.py":
            raise RuntimeError("transient")
        return real(self, ctx)

    with monkeypatch.context() as patch:
        patch.setattr(cls, "check", broken)
        rc, out, err = cli(".", "--jobs", "1")
    assert "transient" in err
    lint_calls.clear()
    rc, out, err = cli(".", "--jobs", "1")
    assert err == "" and "train.py:6" in out
    assert lint_calls == ["train.py"]  # the others had no error and were stored


def test_no_cache_writes_nothing(project, cli):
    cli(".", "--no-cache")
    cli(".", "--no-cache", "--jobs", "2")
    assert not (project / ".mllint_deploy_cache").exists()


def test_cache_dir_option_and_setting(project, cli, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    cli(".", "--cache-dir", str(elsewhere))
    assert (elsewhere / ".gitignore").is_file() and not (project / ".mllint_deploy_cache").exists()
    (project / "pyproject.toml").write_text('[tool.mllint-deploy]\ncache-dir = "build/lint-cache"\n',
                                            encoding="utf-8")
    cli(".")
    assert (project / "build" / "lint-cache" / ".gitignore").is_file()
    assert not (project / ".mllint_deploy_cache").exists()
    rc, out, err = cli(".", "--format", "json")
    assert "lint-cache" not in out


def test_cache_dir_setting_must_be_a_path(project, cli):
    (project / "pyproject.toml").write_text("[tool.mllint-deploy]\ncache-dir = 3\n", encoding="utf-8")
    rc, out, err = cli(".")
    assert rc == 2 and "cache-dir" in err


def test_unwritable_cache_dir_does_not_fail_the_run(project, cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    expected = cli(".", "--no-cache")
    assert cli(".", "--cache-dir", str(blocker / "cache")) == expected
    assert cli(".", "--cache-dir", str(blocker / "cache"), "--jobs", "2") == expected


def test_read_only_cache_dir_is_still_read(project, cli, lint_calls, monkeypatch):
    """Writes fail as in a read-only directory (simulated: as root, permissions would not stop them)."""
    cold = cli(".", "--jobs", "1")
    before = entries(project)

    def refuse(path, payload):
        raise PermissionError(13, "Read-only file system", str(path))

    monkeypatch.setattr(cache_mod.Cache, "_write_atomic", staticmethod(refuse))
    (project / "new.py").write_text(TRAIN, encoding="utf-8")
    lint_calls.clear()
    rc, out, err = cli(".", "--jobs", "1")
    assert lint_calls == ["new.py"] and err == "" and rc == 1
    assert out == cli(".", "--jobs", "1", "--no-cache")[1]
    assert entries(project) == before and "new.py:6" in out and cold[1] != out


def test_context_files_of_a_partial_run_reuse_full_entries(project, cli, lint_calls):
    """pre-commit names a few files; the rest of the project is read for facts, from the cache."""
    (project / "pyproject.toml").write_text("[tool.mllint-deploy]\n", encoding="utf-8")
    cli(".", "--jobs", "1")
    lint_calls.clear()
    rc, out, err = cli("train.py", "--jobs", "1")
    assert rc == 1 and "train.py:6" in out and "split.py" not in out
    assert lint_calls == []


def test_entries_are_keyed_on_the_bytes_linted(project, tmp_path):
    c = cache_mod.Cache(tmp_path / "c", "salt")
    a = c.key(b"x = 1\n", "a.py", "/p/a.py", "a", False)
    assert a != c.key(b"x = 2\n", "a.py", "/p/a.py", "a", False)
    assert a != c.key(b"x = 1\n", "b.py", "/p/a.py", "a", False)
    assert a != c.key(b"x = 1\n", "a.py", "/q/a.py", "a", False)
    assert a != c.key(b"x = 1\n", "a.py", "/p/a.py", "pkg.a", False)
    assert a != c.key(b"x = 1\n", "a.py", "/p/a.py", "a", True)
    assert a != cache_mod.Cache(tmp_path / "c", "other salt").key(b"x = 1\n", "a.py", "/p/a.py", "a", False)


def test_old_configurations_are_pruned(project, cli, tmp_path):
    cache = project / ".mllint_deploy_cache"
    cli(".")
    stale = cache / "v1-000000000000000000000000"
    (stale / "ab").mkdir(parents=True)
    (stale / ".last-used").touch()
    old = 1_000_000_000
    os.utime(stale / ".last-used", (old, old))
    recent = cache / "v1-111111111111111111111111"
    recent.mkdir()
    (recent / ".last-used").touch()
    cli(".")
    assert not stale.exists() and recent.exists()


def test_fixtures_warm_run_is_identical(tmp_path, monkeypatch, cli):
    root = copy_tree(FIXTURES / "leakage", tmp_path / "leakage")
    monkeypatch.chdir(root)
    cold = cli(".", "--jobs", "2")
    warm = cli(".", "--jobs", "2")
    assert cold == warm and cold[0] == 1
    assert warm == cli(".", "--no-cache", "--jobs", "1")
