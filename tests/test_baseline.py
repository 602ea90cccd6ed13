"""Baselines: `--write-baseline` records today's findings; with `--baseline`, moving code around or
inserting lines above keeps them quiet while a new finding is still reported."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conftest import run_cli_json, run_script
from mllint_deploy.cli import run_cli

LEGACY = textwrap.dedent(
    """\
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import KFold, train_test_split


    def load(path):
        df = pd.read_csv(path)
        return df.drop(columns=["target"]), df["target"]


    def holdout(X, y):
        return train_test_split(X, y, test_size=0.2)


    def folds(X):
        cv = KFold(n_splits=5, shuffle=True)
        return list(cv.split(X))


    rng = np.random.default_rng()
    """
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_baseline(paths: str, baseline_file: str) -> None:
    assert run_cli([paths, "--write-baseline", baseline_file]) == 0


def reported(*args: str) -> list[tuple[str, int, str]]:
    return [(Path(f["path"]).name, f["line"], f["code"]) for f in run_cli_json([*args])]


@pytest.fixture
def project(tmp_path, monkeypatch):
    write(tmp_path / "src" / "legacy.py", LEGACY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_write_baseline_then_nothing_is_reported(project, cli):
    rc, out, err = cli("src", "--write-baseline", "mllint-baseline.json")
    assert rc == 0 and out == ""
    assert "Wrote a baseline of 3 finding(s) to mllint-baseline.json." in err
    data = json.loads((project / "mllint-baseline.json").read_text())
    assert data["tool"] == "mllint-deploy" and data["version"] == 2
    assert data["findings"] == [
        {"code": "MLD204", "path": "src/legacy.py", "scope": "<module>", "text": "rng = np.random.default_rng()",
         "count": 1},
        {"code": "MLD201", "path": "src/legacy.py", "scope": "folds", "text": "cv = KFold(n_splits=5, shuffle=True)",
         "count": 1},
        {"code": "MLD201", "path": "src/legacy.py", "scope": "holdout",
         "text": "return train_test_split(X, y, test_size=0.2)", "count": 1},
    ]
    rc, out, _ = cli("src", "--baseline", "mllint-baseline.json")
    assert rc == 0 and "no findings" in out


def test_moved_code_stays_quiet_and_a_new_finding_is_reported(project, cli):
    cli("src", "--write-baseline", "baseline.json")
    head, load, holdout, folds, tail = LEGACY.split("\n\n\n")
    moved = "\n\n\n".join([
        '"""Legacy training helpers (kept for the v1 models)."""\n\n' + head,
        folds,
        load,  # the two functions swap places and everything moves down
        holdout,
        "def resample(df):\n    return df.sample(frac=0.5)",  # new finding
        tail,
    ])
    write(project / "src" / "legacy.py", moved)
    everything = reported("src")
    assert sorted(code for _, _, code in everything) == ["MLD201", "MLD201", "MLD201", "MLD204"]
    assert all(line not in (12, 16, 20) for _, line, _ in everything)  # every old finding moved
    assert reported("src", "--baseline", "baseline.json") == [("legacy.py", 23, "MLD201")]
    rc, out, _ = cli("src", "--baseline", "baseline.json", "-q")
    assert rc == 1 and out.startswith("src/legacy.py:23:") and "df.sample" in out


def test_a_copy_of_baselined_code_is_still_new(project):
    make_baseline("src", "baseline.json")
    text = LEGACY.replace("\n\ndef folds", "\n\ndef holdout_again(X, y):\n    return train_test_split(X, y, test_size=0.2)"
                                           "\n\n\ndef folds")
    write(project / "src" / "legacy.py", text)
    # the copy has the same code and neighbours as the original except its own def line: new context
    assert reported("src", "--baseline", "baseline.json") == [("legacy.py", 16, "MLD201")]


def test_identical_findings_are_counted(project):
    block = "import numpy as np\n\nrng = np.random.default_rng()\nprint(rng.random())\n"
    write(project / "src" / "dup.py", block)
    make_baseline("src", "baseline.json")
    write(project / "src" / "dup.py", block + block)  # the same finding with the same context, twice
    assert [f for f in reported("src") if f[0] == "dup.py"] == [("dup.py", 3, "MLD204"), ("dup.py", 7, "MLD204")]
    assert [f for f in reported("src", "--baseline", "baseline.json") if f[0] == "dup.py"] == [
        ("dup.py", 7, "MLD204")]


def test_baseline_paths_are_relative_to_the_baseline_file(project, tmp_path, monkeypatch):
    (project / "ci").mkdir()
    make_baseline("src", "ci/baseline.json")
    data = json.loads((project / "ci" / "baseline.json").read_text())
    assert {e["path"] for e in data["findings"]} == {"../src/legacy.py"}
    assert reported("src", "--baseline", "ci/baseline.json") == []


def test_notebook_findings_in_baseline(project):
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# EDA"]},
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": ["from sklearn.model_selection import train_test_split\n",
                                "a, b = train_test_split([1, 2, 3, 4])\n",
                                "print(len(a), len(b))\n"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    write(project / "nb" / "eda.ipynb", json.dumps(nb))
    make_baseline("nb", "baseline.json")
    entry = json.loads((project / "baseline.json").read_text())["findings"][0]
    # no cell number in the key: inserting a cell renumbers every cell below it
    assert entry == {"code": "MLD201", "path": "nb/eda.ipynb", "scope": "<module>",
                     "text": "a, b = train_test_split([1, 2, 3, 4])", "count": 1}
    nb["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": ["More prose."]})
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                        "source": ["c, d = train_test_split([5, 6, 7, 8], shuffle=True)\n"]})
    write(project / "nb" / "eda.ipynb", json.dumps(nb))
    assert [(f.get("cell"), f["line"]) for f in run_cli_json(["nb"])] == [(3, 2), (4, 1)]
    got = [(f.get("cell"), f["line"]) for f in run_cli_json(["nb", "--baseline", "baseline.json"])]
    assert got == [(4, 1)]


def test_unreadable_file_findings_can_be_baselined(project):
    write(project / "src" / "broken.py", "def f(:\n    pass\n")
    make_baseline("src", "baseline.json")
    assert reported("src", "--baseline", "baseline.json") == []


def test_write_baseline_is_deterministic(project):
    make_baseline("src", "a.json")
    make_baseline("src", "b.json")
    assert (project / "a.json").read_bytes() == (project / "b.json").read_bytes()


@pytest.mark.parametrize("content, words", [
    (None, "baseline file not found: missing.json"),
    ("{not json", "is not valid JSON"),
    ('{"findings": 3}', "is not an mllint-deploy baseline"),
    ('{"version": 9, "findings": []}', "has version 9"),
    ('{"findings": [{"code": "MLD201"}]}', "entry 1 needs string 'code', 'path', and 'scope' with 'text'"),
    ('{"findings": [{"code": "MLD201", "path": "a.py", "scope": "f", "text": "x", "count": 0}]}',
     "entry 1: 'count' must be a positive integer, not 0"),
    ('{"version": 1, "findings": [{"code": "MLD201"}]}', "entry 1 needs string 'code', 'path' and 'fingerprint'"),
])
def test_bad_baseline_file_is_exit_2(project, cli, content, words):
    if content is not None:
        write(project / "missing.json", content)
    rc, out, err = cli("src", "--baseline", "missing.json")
    assert rc == 2 and out == ""
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_installed_script_round_trip(project):
    proc = run_script("src", "--write-baseline", "baseline.json", cwd=project)
    assert proc.returncode == 0
    proc = run_script("src", "--baseline", "baseline.json", "--format", "json", cwd=project)
    assert proc.returncode == 0 and json.loads(proc.stdout) == []
