"""Baselines: `--write-baseline` records today's findings; with `--baseline`, moving code around,
inserting lines above or adding code right after keeps them quiet, while a new finding, a changed
flagged line or a renamed enclosing function is reported."""

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
    block = "import numpy as np\n\nrng = np.random.default_rng()\nnp.save('draws.npy', rng.random(3))\n"
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


# ---- what a recorded finding is keyed on: code, path, enclosing def/class, the flagged line's text ----

TRAINER = textwrap.dedent(
    '''\
    """Training entry points."""
    import functools

    import numpy as np
    from sklearn.model_selection import KFold, train_test_split


    def logged(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)
        return wrapper


    class Trainer:
        """Fits a model on a holdout split."""

        def __init__(self, model):
            self.model = model

        @logged
        def fit(self, X, y):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.2
            )
            self.model.fit(X_train, y_train)
            return self.model.score(X_test, y_test)

        async def tune(self, X):
            def outer_folds():
                return KFold(n_splits=5, shuffle=True)  # nested CV, outer loop
            return list(outer_folds().split(X))


    noise = np.random.default_rng().normal(size=10)
    '''
)


def entries(path: Path) -> list[tuple]:
    return [(e["code"], e["scope"], e["text"], e["count"]) for e in json.loads(path.read_text())["findings"]]


@pytest.fixture
def trainer(tmp_path, monkeypatch):
    write(tmp_path / "src" / "trainer.py", TRAINER)
    monkeypatch.chdir(tmp_path)
    make_baseline("src", "baseline.json")
    return tmp_path / "src" / "trainer.py"


def test_entries_name_the_enclosing_scope_and_the_line_without_its_comment(trainer):
    assert entries(trainer.parent.parent / "baseline.json") == [
        ("MLD204", "<module>", "noise = np.random.default_rng().normal(size=10)", 1),
        ("MLD201", "Trainer.fit", "X_train, X_test, y_train, y_test = train_test_split(", 1),  # decorated method
        ("MLD201", "Trainer.tune.outer_folds", "return KFold(n_splits=5, shuffle=True)", 1),  # in an async def
    ]


def test_adding_a_function_right_after_a_finding_does_not_resurrect_it(trainer):
    text = TRAINER.replace(
        "        return list(outer_folds().split(X))\n",
        "        return list(outer_folds().split(X))\n\n"
        "    def evaluate(self, X, y):\n        return self.model.score(X, y)\n",
    ) + "\n\ndef sample(n):\n    return noise[:n]\n"  # right after the last finding, at the end of the file
    text = text.replace("                return KFold(n_splits=5, shuffle=True)  # nested CV, outer loop\n",
                        "                return KFold(n_splits=5, shuffle=True)  # nested CV, outer loop\n"
                        "            def inner_folds():\n                return KFold(n_splits=3)\n")
    write(trainer, text)
    assert len(reported("src")) == 3
    assert reported("src", "--baseline", "baseline.json") == []


def test_moving_the_code_down_many_lines_keeps_it_quiet(trainer):
    helpers = "".join(f"def helper_{i}(df):\n    return df.dropna().iloc[{i}:]\n\n\n" for i in range(25))
    head, rest = TRAINER.split("def logged")
    write(trainer, head + helpers + "def logged" + rest)
    assert sorted(line for _, line, _ in reported("src")) == [123, 131, 135]
    assert reported("src", "--baseline", "baseline.json") == []


def test_reformatting_and_comments_on_the_flagged_line_do_not_count(trainer):
    text = TRAINER.replace("return KFold(n_splits=5, shuffle=True)  # nested CV, outer loop",
                           "return KFold(n_splits=5,   shuffle=True)  # noqa: E501 outer loop")
    text = text.replace("noise = np.random.default_rng().normal(size=10)",
                        "noise  =  np.random.default_rng().normal(size=10)    # TODO: seed")
    write(trainer, text)
    assert reported("src", "--baseline", "baseline.json") == []


def test_changing_the_flagged_line_reports_it(trainer):
    write(trainer, TRAINER.replace("return KFold(n_splits=5, shuffle=True)", "return KFold(n_splits=10, shuffle=True)"))
    assert reported("src", "--baseline", "baseline.json") == [("trainer.py", 31, "MLD201")]


def test_renaming_the_enclosing_function_or_class_reports_it(trainer):
    write(trainer, TRAINER.replace("def outer_folds():", "def folds():").replace("outer_folds()", "folds()"))
    assert reported("src", "--baseline", "baseline.json") == [("trainer.py", 31, "MLD201")]
    write(trainer, TRAINER.replace("class Trainer:", "class HoldoutTrainer:"))
    assert reported("src", "--baseline", "baseline.json") == [("trainer.py", 23, "MLD201"), ("trainer.py", 31, "MLD201")]


def test_moving_the_line_into_another_function_reports_it(trainer):
    text = TRAINER.replace("    noise = np.random.default_rng().normal(size=10)\n", "")
    text = text.replace("        self.model = model\n",
                        "        self.model = model\n        noise = np.random.default_rng().normal(size=10)\n"
                        "        self.noise = noise\n")  # kept, so the draw still matters
    write(trainer, text)
    assert reported("src", "--baseline", "baseline.json") == [("trainer.py", 20, "MLD204")]


def test_a_new_identical_occurrence_in_the_same_function_is_reported(project, cli):
    text = LEGACY.replace("    cv = KFold(n_splits=5, shuffle=True)\n    return list(cv.split(X))\n",
                          "    cv = KFold(n_splits=5, shuffle=True)\n    outer = list(cv.split(X))\n"
                          "    cv = KFold(n_splits=5, shuffle=True)\n    return outer, list(cv.split(X))\n")
    make_baseline("src", "one.json")  # recorded before the copy: count 1
    write(project / "src" / "legacy.py", text)
    assert reported("src", "--baseline", "one.json") == [("legacy.py", 18, "MLD201")]  # the second one
    make_baseline("src", "two.json")
    assert ("MLD201", "folds", "cv = KFold(n_splits=5, shuffle=True)", 2) in entries(project / "two.json")
    assert reported("src", "--baseline", "two.json") == []
    third = text.replace("    return outer, list(cv.split(X))\n",
                         "    inner = list(cv.split(X))\n    cv = KFold(n_splits=5, shuffle=True)\n"
                         "    return outer, inner, list(cv.split(X))\n")
    write(project / "src" / "legacy.py", third)
    assert reported("src", "--baseline", "two.json") == [("legacy.py", 20, "MLD201")]
    rc, out, _ = cli("src", "--baseline", "two.json", "-q")
    assert rc == 1 and out.startswith("src/legacy.py:20:")


def test_notebook_findings_are_keyed_on_the_cell_source_not_its_number(project):
    def code(*lines: str) -> dict:
        return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                "source": [line + "\n" for line in lines]}

    nb = {"cells": [code("%matplotlib inline", "import numpy as np", "from sklearn.model_selection import KFold"),
                    code("def make_folds(X):", "    cv = KFold(n_splits=5, shuffle=True)  # noqa: E501",
                         "    return list(cv.split(X))"),
                    code("rng = np.random.default_rng()", "np.save('noise.npy', rng.normal(size=3))")],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    write(project / "nb" / "cv.ipynb", json.dumps(nb))
    make_baseline("nb", "baseline.json")
    assert entries(project / "baseline.json") == [
        ("MLD204", "<module>", "rng = np.random.default_rng()", 1),
        ("MLD201", "make_folds", "cv = KFold(n_splits=5, shuffle=True)", 1)]
    nb["cells"][1:1] = [{"cell_type": "markdown", "metadata": {}, "source": ["## Folds"]},
                        code("import pandas as pd", "df = pd.read_csv('train.csv')")]
    write(project / "nb" / "cv.ipynb", json.dumps(nb))
    assert [(f["cell"], f["line"]) for f in run_cli_json(["nb"])] == [(4, 2), (5, 1)]
    assert run_cli_json(["nb", "--baseline", "baseline.json"]) == []
    nb["cells"][3]["source"][0] = "def make_cv_folds(X):\n"
    write(project / "nb" / "cv.ipynb", json.dumps(nb))
    assert [(f["cell"], f["line"]) for f in run_cli_json(["nb", "--baseline", "baseline.json"])] == [(4, 2)]


def test_a_file_that_cannot_be_read_is_keyed_on_its_message(project):
    (project / "src" / "latin.py").write_bytes(b"\xff\xfe\x00x = 1\n")
    make_baseline("src", "baseline.json")
    recorded = json.loads((project / "baseline.json").read_text())["findings"]
    assert [e for e in recorded if e["path"] == "src/latin.py"] == [
        {"code": "MLD001", "path": "src/latin.py", "message": mld001_message(), "count": 1}]
    assert reported("src", "--baseline", "baseline.json") == []


def mld001_message() -> str:
    return next(f["message"] for f in run_cli_json(["src"]) if f["code"] == "MLD001")


# A baseline written by the previous format (version 1): keyed on a hash of the flagged line and its
# neighbours. It is still read and matched the way it was.
VERSION_1 = {"tool": "mllint-deploy", "version": 1, "findings": [
    {"code": "MLD201", "path": "src/legacy.py", "fingerprint": "56fc2d7b4f204f896e03cff0a560a2df", "line": 12,
     "message": "train_test_split(...) without a fixed random_state: the split changes on every run, so scores "
                "cannot be reproduced or compared. Pass random_state=42 (or a seed from your config)."},
    {"code": "MLD201", "path": "src/legacy.py", "fingerprint": "dd425fe867328dcf58ede8a8df2bb242", "line": 16,
     "message": "KFold(...) shuffles without a fixed random_state: the folds change on every run. Pass "
                "random_state=42 (or a seed from your config)."},
    {"code": "MLD204", "path": "src/legacy.py", "fingerprint": "49687ba369fb62deac475cd4e50927cf", "line": 20,
     "message": "np.random.default_rng() creates a generator without a fixed seed: it draws different numbers "
                "on every run. Pass a seed, e.g. np.random.default_rng(42)."},
]}


def test_a_version_1_baseline_still_matches_as_before(project, cli):
    write(project / "old.json", json.dumps(VERSION_1, indent=2))
    assert reported("src", "--baseline", "old.json") == []
    write(project / "src" / "legacy.py", "# Legacy helpers.\n\n" + LEGACY)  # lines inserted above
    assert reported("src", "--baseline", "old.json") == []
    appended = "# Legacy helpers.\n\n" + LEGACY + "\n\ndef draw(n):\n    return rng.random(n)\n"
    write(project / "src" / "legacy.py", appended)
    # version 1 hashes the neighbouring lines: the function added after the last finding brings it back
    assert reported("src", "--baseline", "old.json") == [("legacy.py", 22, "MLD204")]
    rc, _, _ = cli("src", "--write-baseline", "old.json")
    assert rc == 0 and json.loads((project / "old.json").read_text())["version"] == 2
    assert reported("src", "--baseline", "old.json") == []


def test_scope_scan_follows_strings_brackets_and_continuations():
    from mllint_deploy.suppress.scopes import LineScopes

    source = textwrap.dedent(
        '''\
        @register(
            name="trainer",
        )
        class Trainer:
            QUERY = """
        def not_a_function():
            SELECT *  -- # not a comment
        """

            async def fit(self, X,
        y):
                def step(batch):
                    return loss(batch,
          weights)  # noqa: MLD201
                label = 'a#b' \\
                    + "c"  # trailing
            def predict(self, X): return X
        if __name__ == "__main__":
            Trainer().fit(X, y)
        '''
    )
    scan = LineScopes(source.splitlines())
    assert [scan.scope(n) for n in range(1, 20)] == [
        "<module>", "<module>", "<module>", "<module>", "Trainer", "Trainer", "Trainer", "Trainer", "Trainer",
        "Trainer", "Trainer", "Trainer.fit", "Trainer.fit.step", "Trainer.fit.step", "Trainer.fit", "Trainer.fit",
        "Trainer", "<module>", "<module>"]
    assert scan.text(7) == "SELECT * -- # not a comment"
    assert scan.text(14) == "weights)"
    assert scan.text(16) == '+ "c"'
