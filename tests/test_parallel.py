"""Worker processes: the same output as a sequential run, and one bad file never costs the others.

The crash tests use the test-only hook MLLINT_DEPLOY_TEST_CRASH_ON (a worker calls os.abort() on a
file whose path contains it), standing in for a segfault of the native parser. The tests that patch a
check rely on forked workers inheriting the patch, so they run where `fork` is the start method.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, copy_tree
from mllint_deploy import registry
from mllint_deploy.pipeline import parallel
from mllint_deploy.catalogue import load_catalogue
from mllint_deploy.config import load_settings
from mllint_deploy.reporters import FORMATS
from mllint_deploy.pipeline.runner import run

needs_fork = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers inherit test patches")

TRAIN = '''import numpy as np
from sklearn.model_selection import train_test_split

X = np.load("features.npy")
y = np.load("labels.npy")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
'''


@pytest.fixture(scope="module")
def fixtures_copy(tmp_path_factory) -> Path:
    return copy_tree(FIXTURES, tmp_path_factory.mktemp("parallel") / "fixtures")


def _run(paths, jobs: int, **cli):
    settings = load_settings(paths, None, {"jobs": jobs, "no_cache": True, **cli})
    return run(paths, settings)


def _render(result) -> dict[str, str]:
    catalogue = load_catalogue()
    return {fmt: render(result.findings, catalogue, quiet=False, statistics=True, files=result.files,
                        rule_codes=sorted(result.enabled))
            for fmt, render in FORMATS.items()}


def test_two_workers_give_the_sequential_output_in_every_format(fixtures_copy, monkeypatch):
    monkeypatch.chdir(fixtures_copy)
    sequential = _run(["."], jobs=1)
    workers = _run(["."], jobs=2)
    assert sequential.files == workers.files > 150
    assert sequential.findings == workers.findings
    assert sequential.internal_errors == workers.internal_errors == []
    one, two = _render(sequential), _render(workers)
    assert set(one) >= {"text", "json", "sarif", "github", "gitlab"}
    for fmt in one:
        assert one[fmt] == two[fmt], fmt


def test_cli_output_is_byte_identical_with_workers(fixtures_copy, monkeypatch, cli):
    monkeypatch.chdir(fixtures_copy)
    outputs = {}
    for jobs in ("1", "2", "3"):
        rc, out, err = cli("leakage", "reproducibility", "--no-cache", "--jobs", jobs)
        outputs[jobs] = (rc, out, err)
    assert outputs["1"][0] == 1 and outputs["1"][2] == ""
    assert outputs["1"] == outputs["2"] == outputs["3"]


def _project(root: Path, names: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).write_text(TRAIN, encoding="utf-8")
    return root


def _json(cli, *args):
    rc, out, err = cli(*args, "--format", "json")
    by_path: dict[str, list[str]] = {}
    for f in json.loads(out):
        by_path.setdefault(f["path"], []).append(f["code"])
    return rc, by_path, err


@needs_fork
def test_a_worker_crash_loses_only_that_file(tmp_path, monkeypatch, cli):
    names = [f"train_{i:02d}.py" for i in range(12)]
    monkeypatch.chdir(_project(tmp_path / "proj", names))
    monkeypatch.setenv(parallel.CRASH_HOOK, "train_05")
    rc, by_path, err = _json(cli, ".", "--no-cache", "--jobs", "2")
    assert rc == 1
    assert set(by_path) == set(names) - {"train_05.py"}
    assert all(codes == ["MLD201"] for codes in by_path.values())
    lines = err.splitlines()
    assert lines == ["mllint-deploy: internal error: train_05.py: the worker process linting this file died "
                     "(killed by SIGABRT); the file was skipped"]
    rc, _, _ = _json(cli, ".", "--no-cache", "--jobs", "2", "--strict-internal")
    assert rc == 2


@needs_fork
def test_several_crashes_and_a_crash_on_the_last_file(tmp_path, monkeypatch, cli):
    names = ["a_ABORT.py", "b.py", "c_ABORT.py", "d.py", "z_ABORT.py"]
    monkeypatch.chdir(_project(tmp_path / "proj", names))
    monkeypatch.setenv(parallel.CRASH_HOOK, "_ABORT")
    rc, by_path, err = _json(cli, ".", "--no-cache", "--jobs", "3")
    assert rc == 1
    assert set(by_path) == {"b.py", "d.py"}
    assert sorted(line.split(": ")[2] for line in err.splitlines()) == ["a_ABORT.py", "c_ABORT.py", "z_ABORT.py"]


@needs_fork
def test_crash_hook_has_no_effect_in_process(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(_project(tmp_path / "proj", ["train.py", "other.py"]))
    monkeypatch.setenv(parallel.CRASH_HOOK, "train")
    rc, by_path, err = _json(cli, ".", "--no-cache", "--jobs", "1")
    assert rc == 1 and set(by_path) == {"train.py", "other.py"} and err == ""


def _break_check_on(monkeypatch, code: str, marker: str):
    found = registry.load_checks()[code]
    cls = found[0] if isinstance(found, list) else found
    original = cls.check

    def check(self, ctx):
        if marker in ctx.path:
            raise ValueError("something unexpected\nsecond line")
        return original(self, ctx)

    monkeypatch.setattr(cls, "check", check)
    return cls.__name__


@needs_fork
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_failing_check_on_one_file_leaves_other_files_and_rules(tmp_path, monkeypatch, cli, jobs):
    project = _project(tmp_path / "proj", ["boom.py", "fine_1.py", "fine_2.py", "fine_3.py"])
    (project / "boom.py").write_text(TRAIN + "import random\nrandom.shuffle([1, 2, 3])\n", encoding="utf-8")
    monkeypatch.chdir(project)
    name = _break_check_on(monkeypatch, "MLD201", "boom")
    rc, by_path, err = _json(cli, ".", "--no-cache", "--jobs", jobs)
    assert rc == 1
    assert err.splitlines() == [f"mllint-deploy: internal error: boom.py: {name}: ValueError: something unexpected"]
    assert by_path["boom.py"] == ["MLD203"]  # the other rules still ran on the file
    assert all(by_path[f"fine_{i}.py"] == ["MLD201"] for i in (1, 2, 3))
    rc, _, _ = _json(cli, ".", "--no-cache", "--jobs", jobs, "--strict-internal")
    assert rc == 2


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_deep_but_valid_code_is_analysed_not_an_internal_error(tmp_path, monkeypatch, cli, jobs):
    """Long attribute chains and nested calls are valid Python; the big-stack lint thread analyses them."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "chain.py").write_text("import numpy as np\nvalue = " + "np." * 1 + "a." * 2500 + "b\n")
    (project / "nested.py").write_text("import numpy as np\nx = " + "f(" * 150 + "np.mean(1)" + ")" * 150 + "\n")
    (project / "lists.py").write_text("import numpy as np\nx = " + "[" * 150 + "np.mean(1)" + "]" * 150 + "\n")
    (project / "train.py").write_text(TRAIN)
    monkeypatch.chdir(project)
    rc, by_path, err = _json(cli, ".", "--no-cache", "--jobs", jobs)
    assert err == ""
    assert by_path == {"train.py": ["MLD201"]}


def test_default_jobs_is_the_usable_cpu_count():
    assert parallel.default_jobs() >= 1


def test_call_with_big_stack_returns_and_raises():
    assert parallel.call_with_big_stack(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(KeyError):
        parallel.call_with_big_stack(lambda: {}["missing"])

    def deep(n):
        return 0 if n == 0 else 1 + deep(n - 1)

    assert parallel.call_with_big_stack(deep, 20_000) == 20_000
    assert sys.getrecursionlimit() < 20_000  # restored
