"""`mllint-deploy checklist` through the real CLI: the three fixture projects (careful, sloppy,
notebook-only) item by item, each item's clean twin in small projects, --require and the config
table, the formats, the dispatch that keeps `mllint-deploy PATH...` as it was, and the reuse of the
lint run's cache (no second parse)."""

from __future__ import annotations

import json
import textwrap

import pytest

from conftest import FIXTURES, copy_tree, run_script

CHECKLIST = FIXTURES / "checklist"
IDS = ["data-contract", "split", "baseline", "metric", "slices", "test-holdout", "seeds", "versions",
       "serving-features", "serving-input", "invalid-input-tests", "monitoring"]


@pytest.fixture
def report(cli, monkeypatch):
    """Run the checklist on a path (from its parent folder) and return (exit, {id: item}, stderr)."""

    def _run(path, *args):
        monkeypatch.chdir(path.parent)
        rc, out, err = cli("checklist", path.name, "--format", "json", "--no-cache", "--jobs", "1", *args)
        data = json.loads(out) if out else {"items": []}
        return rc, {item["id"]: item for item in data["items"]}, err

    return _run


def write(root, files: dict[str, str]):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def test_careful_project_passes_every_item(report):
    rc, items, err = report(CHECKLIST / "careful")
    assert rc == 0, err
    assert list(items) == IDS
    assert {i: items[i]["status"] for i in IDS} == {i: "pass" for i in IDS}
    assert all(item["required"] for item in items.values())  # require = ["all"] in its config
    evidence = {i: " ".join(items[i]["evidence"]) for i in IDS}
    assert "careful/churn/schema.py:10: class CustomerFrame(pandera.DataFrameModel)" in evidence["data-contract"]
    assert "baseline evaluated with 'f1'" in evidence["baseline"]
    assert "careful/churn/train.py:45: f1_score() in a loop over groups" in evidence["slices"]
    assert "careful/requirements.txt:2: all 8 requirement(s) pinned" in evidence["versions"]
    assert "careful/tests/test_service.py:16" in evidence["invalid-input-tests"]
    assert "test_valid_customer_is_scored" not in evidence["invalid-input-tests"]
    assert "predictions logged in the request handler" in evidence["monitoring"]


def test_sloppy_project_fails_every_item_with_evidence(report):
    rc, items, _ = report(CHECKLIST / "sloppy")
    assert rc == 1  # split, baseline and invalid-input-tests are required in its config
    assert {i: items[i]["status"] for i in IDS} == {i: "fail" for i in IDS}
    evidence = {i: " ".join(items[i]["evidence"]) for i in IDS}
    assert "sloppy/train.py:18: MLD101" in evidence["split"] and "sloppy/train.py:19: MLD201" in evidence["split"]
    # a DummyClassifier is built, but scored with .score() while nothing else is: no comparison
    assert "sloppy/train.py:30: DummyClassifier()" in evidence["baseline"]
    assert "sloppy/train.py:24: candidate.score()" in evidence["metric"]
    assert items["slices"]["evidence"] == []  # groupby for a feature is not a per-slice metric
    assert "sloppy/train.py:24: MLD104" in evidence["test-holdout"]
    assert "sloppy/requirements.txt:1: flask is not pinned" in evidence["versions"]
    assert "joblib==1.4.2" not in evidence["versions"]
    assert "MLD302" in evidence["serving-features"] and "MLD401" in evidence["serving-input"]
    assert "asserts no rejection" in evidence["invalid-input-tests"]
    assert items["monitoring"]["evidence"] == []  # logging "request received" is not a prediction log
    assert all(items[i]["advice"] for i in IDS)


def test_notebook_only_project_has_serving_items_not_applicable(report):
    rc, items, err = report(CHECKLIST / "notebook_only")
    assert rc == 0, err
    status = {i: items[i]["status"] for i in IDS}
    assert status == {
        "data-contract": "n/a", "split": "pass", "baseline": "pass", "metric": "pass", "slices": "pass",
        "test-holdout": "pass", "seeds": "pass", "versions": "pass", "serving-features": "n/a",
        "serving-input": "n/a", "invalid-input-tests": "n/a", "monitoring": "n/a"}
    assert items["data-contract"]["note"].startswith("marked n/a in the configuration: a study on a frozen extract")
    assert items["monitoring"]["note"] == "no serving code (a request handler) found"
    assert any("house_prices.ipynb:cell 5:2" in row for row in items["slices"]["evidence"])
    assert any("environment.yml:4: all 4 requirement(s) pinned" in row for row in items["versions"]["evidence"])


def test_require_on_the_command_line_replaces_the_config(report):
    rc, items, _ = report(CHECKLIST / "sloppy", "--require", "versions")
    assert rc == 1 and [i for i, item in items.items() if item["required"]] == ["versions"]
    rc, items, _ = report(CHECKLIST / "notebook_only", "--require", "3,4,monitoring")
    assert rc == 0  # monitoring is n/a: nothing required fails
    assert [i for i, item in items.items() if item["required"]] == ["baseline", "metric", "monitoring"]
    rc, items, err = report(CHECKLIST / "careful", "--require", "baselines")
    assert rc == 2 and items == {}
    assert err.startswith("mllint-deploy: error: --require: unknown checklist item 'baselines'")
    assert len(err.strip().splitlines()) == 1


def test_text_and_markdown_formats(cli, monkeypatch):
    monkeypatch.chdir(CHECKLIST)
    rc, out, _ = cli("checklist", "sloppy", "--no-cache")
    assert rc == 1
    assert "[FAIL]     3. Baseline [baseline] (required)" in out
    assert "              > Evaluate a DummyClassifier/DummyRegressor with the same metric as the model" in out
    assert out.rstrip().endswith("Required and not passing: split, baseline, invalid-input-tests.")
    rc, out, _ = cli("checklist", "notebook_only", "--no-cache", "--format", "markdown")
    assert rc == 0
    assert out.startswith("## mllint-deploy production-readiness checklist\n")
    assert "| 12 | Monitoring (`monitoring`) | ➖ n/a | no serving code (a request handler) found |  |" in out
    assert "| 3 | Baseline (`baseline`) **required** | ✅ pass |" in out


def _project(tmp_path, files):
    return write(tmp_path / "proj", files)


TRAIN_HEAD = """
    import pandas as pd
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    df = pd.read_csv("data.csv")
    train, test = train_test_split(df, test_size=0.25, random_state=3)
    cols = ["a", "b"]
    model = RandomForestClassifier(random_state=3).fit(train[cols], train["y"])
    baseline = DummyClassifier(strategy="prior").fit(train[cols], train["y"])
"""


@pytest.mark.parametrize("tail, status", [
    ("print(f1_score(test['y'], model.predict(test[cols])), f1_score(test['y'], baseline.predict(test[cols])))\n",
     "pass"),
    # the baseline is scored, but with another metric than the model: nothing to compare
    ("print(f1_score(test['y'], model.predict(test[cols])))\n"
     "print(accuracy_score(test['y'], baseline.predict(test[cols])))\n", "fail"),
    # a loop over both models with one metric
    ("for name, m in {'prior': DummyClassifier(), 'forest': RandomForestClassifier(random_state=3)}.items():\n"
     "    print(name, balanced_accuracy_score(test['y'], m.fit(train[cols], train['y']).predict(test[cols])))\n",
     "pass"),
])
def test_baseline_needs_the_models_metric(tmp_path, report, tail, status):
    proj = _project(tmp_path, {"train.py": textwrap.dedent(TRAIN_HEAD) + tail})
    _, items, _ = report(proj)
    assert items["baseline"]["status"] == status, items["baseline"]


@pytest.mark.parametrize("tail, status", [
    ("test['pred'] = model.predict(test[cols])\n"
     "for shop, part in test.groupby('shop'):\n"
     "    print(shop, f1_score(part['y'], part['pred']))\n", "pass"),
    ("print(f1_score(test['y'], model.predict(test[cols]), average=None))\n", "pass"),
    # groupby builds a feature, the metric is one average
    ("rate = df.groupby('shop')['y'].mean()\n"
     "for c in cols:\n"
     "    print(c, f1_score(test['y'], model.predict(test[cols])))\n", "fail"),
    ("print(f1_score(test['y'], model.predict(test[cols]), average='macro'))\n", "fail"),
])
def test_slices_need_a_metric_per_group(tmp_path, report, tail, status):
    proj = _project(tmp_path, {"train.py": textwrap.dedent(TRAIN_HEAD) + tail})
    _, items, _ = report(proj)
    assert items["slices"]["status"] == status, items["slices"]


SERVICE = """
    import logging

    import joblib
    from fastapi import FastAPI
    from pydantic import BaseModel

    app = FastAPI()
    log = logging.getLogger("svc")
    model = joblib.load("model.joblib")


    class Row(BaseModel):
        a: float
        b: float


    @app.post("/predict")
    def predict(row: Row):
        log.info("request for %s", row.a)
        score = float(model.predict([[row.a, row.b]])[0])
        {log_line}
        return {{"score": score}}
"""


@pytest.mark.parametrize("log_line, status", [
    ('log.info("scored", extra={"score": score})', "pass"),
    ('log.info("done")', "fail"),  # a log line without the prediction
])
def test_monitoring_needs_predictions_logged_or_metrics(tmp_path, report, log_line, status):
    proj = _project(tmp_path, {"svc.py": SERVICE.format(log_line=log_line)})
    _, items, _ = report(proj)
    assert items["monitoring"]["status"] == status, items["monitoring"]
    assert items["baseline"]["status"] == "n/a"  # no training code


@pytest.mark.parametrize("test_body, status", [
    ("r = client.post('/predict', json={'a': 'x'})\nassert r.status_code == 422", "pass"),
    ("r = client.post('/predict', json={})\nassert r.status_code in (400, 422)", "pass"),
    ("r = client.post('/predict', json={'a': 1, 'b': 2})\nassert r.status_code == 200", "fail"),
    ("with pytest.raises(ValidationError):\n    Row(a='x', b=1)", "pass"),
    ("with pytest.raises(ValueError):\n    Row(a='x', b=1)", "fail"),
])
def test_invalid_input_tests(tmp_path, report, test_body, status):
    body = textwrap.indent(test_body, "    ")
    test = ("import pytest\nfrom fastapi.testclient import TestClient\nfrom pydantic import ValidationError\n"
            "from svc import Row, app\n\nclient = TestClient(app)\n\n\ndef test_input():\n" + body + "\n")
    proj = _project(tmp_path, {"svc.py": SERVICE.format(log_line="pass")})
    (proj / "tests").mkdir()
    (proj / "tests" / "test_svc.py").write_text(test, encoding="utf-8")
    _, items, _ = report(proj)
    assert items["invalid-input-tests"]["status"] == status, items["invalid-input-tests"]


@pytest.mark.parametrize("tracker, status", [
    ("", "pass"),
    ("import mlflow\nmlflow.log_params({'seed': 3, 'n_estimators': 100})\n", "pass"),
    ("import mlflow\nmlflow.log_params({'n_estimators': 100})\n", "fail"),  # tracked run, seed not logged
])
def test_seeds_logged_where_a_tracker_is_used(tmp_path, report, tracker, status):
    proj = _project(tmp_path, {"train.py": textwrap.dedent(TRAIN_HEAD) + tracker})
    _, items, _ = report(proj)
    assert items["seeds"]["status"] == status, items["seeds"]


@pytest.mark.parametrize("files, status", [
    ({"requirements.txt": "pandas==2.2.3\nscikit-learn==1.6.0\n"}, "pass"),
    ({"requirements.txt": "pandas==2.2.3\nscikit-learn>=1.4\n"}, "fail"),
    ({"requirements.txt": "pandas\n", "poetry.lock": "# lock\n"}, "pass"),
    ({}, "fail"),
])
def test_versions_pinned_or_recorded(tmp_path, report, files, status):
    proj = _project(tmp_path, {"train.py": TRAIN_HEAD, **files})
    _, items, _ = report(proj)
    assert items["versions"]["status"] == status, items["versions"]


def test_disabled_rules_and_unparsable_files_make_items_unknown(tmp_path, report):
    proj = _project(tmp_path, {"train.py": TRAIN_HEAD, "broken.py": "def f(:\n",
                               ".mllint-deploy.toml": 'ignore = ["MLD104"]\n'})
    _, items, _ = report(proj)
    assert items["test-holdout"]["status"] == "unknown"
    assert items["test-holdout"]["note"].startswith("MLD104 not enabled")
    assert items["slices"]["status"] == "unknown"  # no slice metric, but broken.py could hold one
    assert items["slices"]["evidence"] == ["proj/broken.py:1: cannot be parsed"]
    assert items["split"]["status"] == "pass"


@pytest.mark.parametrize("table, message", [
    ('checklist = "all"\n', "'checklist' must be a table"),
    ("[checklist]\nrequired = []\n", "unknown key 'required' in [tool.mllint-deploy.checklist]"),
    ("[checklist]\nrequire = \"all\"\n", "'checklist.require' must be a list of strings"),
    ("[checklist.not-applicable]\nmonitor = \"batch job\"\n", "unknown checklist item 'monitor'"),
    ("[checklist.not-applicable]\nmonitoring = 3\n", "must be a table of item = \"reason\""),
])
def test_bad_checklist_config_is_one_line_and_exit_2(tmp_path, report, table, message):
    proj = _project(tmp_path, {"train.py": TRAIN_HEAD, ".mllint-deploy.toml": table})
    rc, _, err = report(proj)
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_pyproject_table(tmp_path, report):
    proj = _project(tmp_path, {"train.py": TRAIN_HEAD, "pyproject.toml": (
        "[tool.mllint-deploy.checklist]\nrequire = ['split']\n"
        "[tool.mllint-deploy.checklist.not-applicable]\nversions = 'pinned by the platform image'\n")})
    rc, items, _ = report(proj)
    assert rc == 0 and items["split"]["required"]
    assert items["versions"]["status"] == "n/a" and "platform image" in items["versions"]["note"]


def test_a_folder_named_checklist_is_still_linted(tmp_path, cli, monkeypatch):
    write(tmp_path / "checklist", {"train.py": TRAIN_HEAD.replace("random_state=3)", ")")})
    monkeypatch.chdir(tmp_path)
    as_path = cli("./checklist", "--no-cache")
    assert as_path[0] == 1 and "MLD201" in as_path[1]
    assert cli("checklist", "--no-cache") == as_path  # exactly as before the subcommand existed
    rc, out, _ = cli("--checklist", "checklist", "--no-cache", "--format", "json")  # always the report
    assert rc == 0 and json.loads(out)["summary"]["files"] == 1


def test_checklist_reuses_the_lint_runs_cache(tmp_path, cli, monkeypatch):
    """After a lint run, the checklist reads every file from the cache: nothing is parsed again."""
    from mllint_deploy.pipeline import engine

    proj = copy_tree(CHECKLIST / "careful", tmp_path / "careful")
    monkeypatch.chdir(proj)
    assert cli(".", "--jobs", "1")[0] == 0
    parsed = []
    real_parse = engine.parse
    monkeypatch.setattr(engine, "parse", lambda text: parsed.append(text) or real_parse(text))
    rc, out, _ = cli("checklist", ".", "--jobs", "1", "--format", "json")
    assert rc == 0 and parsed == []
    assert json.loads(out)["summary"]["pass"] == 12


def test_installed_script_runs_the_checklist(tmp_path):
    proc = run_script("checklist", "--format", "json", "--no-cache", str(CHECKLIST / "sloppy"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)["summary"]
    assert summary["fail"] == 12 and summary["required_failing"] == ["split", "baseline", "invalid-input-tests"]
    proc = run_script("checklist", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and b"invalid-input-tests" in proc.stdout
