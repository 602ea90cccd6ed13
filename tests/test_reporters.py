"""Every output format through the real CLI on a small training script with one MLD201 and one
MLD204 finding: JSON, SARIF (as GitHub code scanning reads it), GitHub workflow commands, GitLab
Code Quality, and byte-identical output from run to run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import script
from mllint_deploy.catalogue import load_catalogue
from mllint_deploy.reporters import github

TRAIN = textwrap.dedent(
    """\
    \"\"\"Bootstrap the validation AUC of the churn model.\"\"\"
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    df = pd.read_csv("data/churn.csv")
    X = df[["tenure", "monthly_charges", "support_calls"]]
    y = df["churned"]
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.2, stratify=y)

    model = LogisticRegression(max_iter=500).fit(X_train, y_train)
    proba = model.predict_proba(X_valid)[:, 1]

    générateur = np.random.default_rng()
    aucs = []
    for _ in range(200):
        idx = générateur.integers(0, len(y_valid), len(y_valid))
        aucs.append(roc_auc_score(y_valid.iloc[idx], proba[idx]))
    print(f"AUC {np.mean(aucs):.3f} ± {np.std(aucs):.3f}")
    """
)

SPLIT_CALL = "train_test_split(X, y, test_size=0.2, stratify=y)"
RNG_CALL = "np.random.default_rng()"


def _where(text: str, snippet: str) -> tuple[int, int, int]:
    """1-based line, 1-based start column and 1-based exclusive end column of `snippet` (in characters)."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        col = line.find(snippet)
        if col >= 0:
            return lineno, col + 1, col + 1 + len(snippet)
    raise AssertionError(f"{snippet!r} not in text")


SPLIT_AT = _where(TRAIN, SPLIT_CALL)
RNG_AT = _where(TRAIN, RNG_CALL)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A scratch project with `src/train.py`; the working directory is its root."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def report(cli, fmt: str, *paths: str) -> str:
    rc, out, err = cli(*(paths or ("src/train.py",)), "--format", fmt)
    assert rc == 1, err
    assert err == ""
    return out


# --- json -----------------------------------------------------------------------------------------


def test_json_keys_and_one_based_positions(cli, project):
    data = json.loads(report(cli, "json"))
    assert [d["code"] for d in data] == ["MLD201", "MLD204"]
    for d in data:
        assert set(d) == {"code", "name", "severity", "message", "path", "line", "column", "end_line",
                          "end_column", "fix"}
        assert d["path"] == "src/train.py"
    split, rng = data
    # each finding's automatic fix: one insertion just before the call's closing parenthesis
    assert split["fix"]["applicability"] == rng["fix"]["applicability"] == "safe"
    assert [e["content"] for e in split["fix"]["edits"]] and all(
        set(e) == {"line", "column", "end_line", "end_column", "content"} for e in split["fix"]["edits"])
    assert (split["line"], split["column"], split["end_line"], split["end_column"]) == (
        SPLIT_AT[0], SPLIT_AT[1], SPLIT_AT[0], SPLIT_AT[2])
    assert (split["name"], split["severity"]) == ("unseeded-split", "warning")
    # columns count characters, not bytes: 'générateur' has two 2-byte letters before the call
    assert (rng["line"], rng["column"], rng["end_column"]) == RNG_AT
    assert rng["column"] == len("générateur = ") + 1
    assert (rng["name"], rng["severity"]) == ("unseeded-generator", "warning")
    assert "train_test_split" in split["message"] and "random_state" in split["message"]


# --- sarif ----------------------------------------------------------------------------------------


def _sarif(cli, *paths: str) -> dict:
    return json.loads(report(cli, "sarif", *paths))


def test_sarif_document_and_driver(cli, project):
    doc = _sarif(cli)
    assert doc["$schema"].startswith("https://") and "sarif" in doc["$schema"] and "2.1.0" in doc["$schema"]
    assert doc["version"] == "2.1.0"
    assert isinstance(doc["runs"], list) and len(doc["runs"]) == 1
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["name"] == "mllint-deploy"
    from mllint_deploy import __version__

    assert driver["version"] == __version__
    assert re.match(r"^https://\S+$", driver["informationUri"])
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), "rule ids must be unique"
    assert {"MLD201", "MLD204"} <= set(ids)
    catalogue = load_catalogue()
    for rule in rules:
        entry = catalogue[rule["id"]]
        assert rule["name"] == entry.name
        for key in ("shortDescription", "fullDescription", "help"):
            assert isinstance(rule[key]["text"], str) and rule[key]["text"].strip(), (rule["id"], key)
        assert rule["defaultConfiguration"]["level"] in ("none", "note", "warning", "error")
        assert rule["defaultConfiguration"]["level"] == {"error": "error", "warning": "warning"}[entry.severity]
        if "helpUri" in rule:
            assert rule["helpUri"].startswith("https://")
        if "properties" in rule:
            assert all(isinstance(t, str) for t in rule["properties"].get("tags", []))



def test_sarif_rules_link_their_page_and_rank_security_rules():
    from mllint_deploy.reporters import sarif

    catalogue = load_catalogue()
    doc = json.loads(sarif.render([], catalogue, rule_codes=sorted(catalogue)))
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == set(catalogue)
    for code, rule in rules.items():
        assert rule["helpUri"] == f"https://github.com/mllint-deploy/mllint-deploy/blob/main/docs/rules/{code}.md"
        tags = rule["properties"]["tags"]
        assert tags[0] == catalogue[code].family and len(tags) == len(set(tags))
    # code scanning: a numeric string, over 9.0 critical, 4.0 to 6.9 medium; `security` tagged
    assert rules["MLD403"]["properties"] == {
        "tags": ["serving", "security", "external/cwe/cwe-502", "external/cwe/cwe-22"],
        "security-severity": "9.8"}
    assert rules["MLD401"]["properties"] == {
        "tags": ["serving", "security", "external/cwe/cwe-20"], "security-severity": "5.3"}
    for code in set(rules) - {"MLD401", "MLD403"}:
        assert rules[code]["properties"] == {"tags": [catalogue[code].family]}, code
    assert "Security: critical (9.8)" in rules["MLD403"]["help"]["markdown"]
    assert "Security:" not in rules["MLD402"]["help"]["markdown"]


def test_sarif_results(cli, project):
    run = _sarif(cli)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["MLD201", "MLD204"]
    fingerprints = set()
    for result, (line, col, end_col) in zip(results, [SPLIT_AT, RNG_AT]):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "warning"
        assert isinstance(result["message"]["text"], str) and result["message"]["text"].strip()
        assert len(result["locations"]) == 1
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri == "src/train.py"
        assert not uri.startswith("/") and "://" not in uri
        assert physical["region"] == {"startLine": line, "startColumn": col, "endLine": line, "endColumn": end_col}
        fp = result["partialFingerprints"]
        assert fp and all(isinstance(k, str) and isinstance(v, str) and v for k, v in fp.items())
        fingerprints.add(tuple(sorted(fp.items())))
    assert len(fingerprints) == 2


def test_sarif_uri_is_percent_encoded_and_relative(cli, project):
    target = project / "experiments" / "lr 0.1" / "train.py"
    target.parent.mkdir(parents=True)
    target.write_text(TRAIN, encoding="utf-8")
    run = _sarif(cli, "experiments")["runs"][0]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"experiments/lr%200.1/train.py"}


def test_sarif_uri_outside_the_working_directory_is_an_absolute_file_uri(cli, tmp_path, monkeypatch):
    (tmp_path / "proj").mkdir()
    target = tmp_path / "proj" / "train.py"
    target.write_text(TRAIN, encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    run = _sarif(cli, str(target))["runs"][0]
    for result in run["results"]:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uri"] == target.as_uri()
        assert "uriBaseId" not in location  # a base is only meaningful for a relative reference


def test_sarif_with_no_findings_is_still_a_complete_run(cli, project):
    (project / "ok.py").write_text("import numpy as np\nrng = np.random.default_rng(7)\n", encoding="utf-8")
    rc, out, _ = cli("ok.py", "--format", "sarif")
    assert rc == 0
    run = json.loads(out)["runs"][0]
    assert run["results"] == []
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= {"MLD201", "MLD204"}


# --- github ---------------------------------------------------------------------------------------


def _unescape_data(s: str) -> str:
    # the runner's order: the specific sequences first, `%25` last
    return s.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(s: str) -> str:
    return (s.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",")
            .replace("%25", "%"))


COMMAND = re.compile(r"^::(?P<level>error|warning|notice) (?P<props>[^:]*)::(?P<message>.*)$")


def _parse_command(line: str) -> tuple[str, dict[str, str], str]:
    m = COMMAND.match(line)
    assert m, line
    props = {}
    for item in m.group("props").split(","):
        key, _, value = item.partition("=")
        props[key] = _unescape_property(value)
    return m.group("level"), props, _unescape_data(m.group("message"))


def test_github_workflow_commands(cli, project):
    *lines, total = report(cli, "github").splitlines()
    assert len(lines) == 2
    assert total == "mllint-deploy: 2 findings (2 warnings)"
    (level1, props1, msg1), (level2, props2, msg2) = map(_parse_command, lines)
    assert level1 == level2 == "warning"
    assert list(props1) == ["file", "line", "col", "endLine", "endColumn", "title"]
    assert props1 == {"file": "src/train.py", "line": str(SPLIT_AT[0]), "col": str(SPLIT_AT[1]),
                      "endLine": str(SPLIT_AT[0]), "endColumn": str(SPLIT_AT[2]),
                      "title": "MLD201 unseeded-split"}
    assert props2["title"] == "MLD204 unseeded-generator" and props2["line"] == str(RNG_AT[0])
    assert msg1.startswith("MLD201 ") and "random_state" in msg1
    assert msg2.startswith("MLD204 ")


def test_github_escapes_path_properties(cli, project):
    nasty = project / "sweeps" / "drop 10%,seed:3" / "train.py"
    nasty.parent.mkdir(parents=True)
    nasty.write_text(TRAIN, encoding="utf-8")
    lines = report(cli, "github", "sweeps").splitlines()[:-1]
    assert len(lines) == 2
    for line in lines:
        assert "file=sweeps/drop 10%25%2Cseed%3A3/train.py," in line
        _, props, _ = _parse_command(line)
        assert props["file"] == "sweeps/drop 10%,seed:3/train.py"


NASTY = [
    "plain",
    "100% of rows",
    "%0A is not a newline",
    "%25 already escaped",
    "two\nlines",
    "crlf\r\nline",
    "key: value, other: value",
    "::error file=x::injected",
    "title=MLD201,line=1",
    "%%%\r\r\n\n,,::",
    "",
]


@pytest.mark.parametrize("text", NASTY)
def test_github_escaping_round_trips(text):
    data = github._data(text)
    prop = github._prop(text)
    assert "\r" not in data and "\n" not in data
    assert not {"\r", "\n", ",", ":"} & set(prop)
    assert _unescape_data(data) == text
    assert _unescape_property(prop) == text
    # every '%' left in the output starts one of the escapes
    assert re.fullmatch(r"(?:[^%]|%25|%0D|%0A)*", data)
    assert re.fullmatch(r"(?:[^%]|%25|%0D|%0A|%3A|%2C)*", prop)


def test_github_escaping_exact_values():
    assert github._data("50%\r\ndone: a,b") == "50%25%0D%0Adone: a,b"
    assert github._prop("50%\r\ndone: a,b") == "50%25%0D%0Adone%3A a%2Cb"
    assert github._data("%0A") == "%250A"
    assert github._prop("%3A") == "%253A"


# --- gitlab ---------------------------------------------------------------------------------------


def _gitlab(cli, *paths: str) -> list[dict]:
    return json.loads(report(cli, "gitlab", *paths))


def test_gitlab_code_quality_keys(cli, project):
    issues = _gitlab(cli)
    assert len(issues) == 2
    for issue, (line, _, _), code in zip(issues, [SPLIT_AT, RNG_AT], ["MLD201", "MLD204"]):
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert isinstance(issue["description"], str) and code in issue["description"]
        assert issue["check_name"].startswith(code)
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert re.fullmatch(r"[0-9a-f]{16,64}", issue["fingerprint"])
        assert issue["location"]["path"] == "src/train.py"
        assert issue["location"]["lines"]["begin"] == line
    assert issues[0]["fingerprint"] != issues[1]["fingerprint"]


def test_gitlab_fingerprints_survive_unrelated_lines_above(cli, project):
    before = {i["check_name"]: (i["fingerprint"], i["location"]["lines"]["begin"]) for i in _gitlab(cli)}
    moved = TRAIN.replace(
        "import numpy as np\n",
        "import logging\n\nimport numpy as np\n",
    ).replace(
        'df = pd.read_csv("data/churn.csv")\n',
        'logging.basicConfig(level=logging.INFO)\nlog = logging.getLogger("churn")\n\n'
        'df = pd.read_csv("data/churn.csv")\nlog.info("rows: %d", len(df))\n',
    )
    (project / "src" / "train.py").write_text(moved, encoding="utf-8")
    after = {i["check_name"]: (i["fingerprint"], i["location"]["lines"]["begin"]) for i in _gitlab(cli)}
    assert before.keys() == after.keys()
    for name in before:
        assert after[name][1] > before[name][1]  # the finding moved down...
        assert after[name][0] == before[name][0]  # ...and kept its fingerprint


REPEATED_CELLS = textwrap.dedent(
    """\
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    df = pd.read_csv("data/churn.csv")
    X, y = df.drop(columns=["churned"]), df["churned"]

    # %%
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2)
    print(LogisticRegression(max_iter=500).fit(X_tr, y_tr).score(X_te, y_te))

    # %%
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2)
    print(LogisticRegression(max_iter=500).fit(X_tr, y_tr).score(X_te, y_te))
    """
)


def test_identical_findings_in_one_file_get_distinct_fingerprints(cli, project):
    (project / "eda.py").write_text(REPEATED_CELLS, encoding="utf-8")
    issues = _gitlab(cli, "eda.py")
    assert [i["location"]["lines"]["begin"] for i in issues] == [9, 13]
    assert issues[0]["description"] == issues[1]["description"]
    assert issues[0]["fingerprint"] != issues[1]["fingerprint"]
    results = _sarif(cli, "eda.py")["runs"][0]["results"]
    assert results[0]["partialFingerprints"] != results[1]["partialFingerprints"]
    # and both stay put when a header is added above
    (project / "eda.py").write_text('"""Churn EDA, exported from the notebook."""\n' + REPEATED_CELLS,
                                    encoding="utf-8")
    again = _gitlab(cli, "eda.py")
    assert [i["fingerprint"] for i in again] == [i["fingerprint"] for i in issues]


# --- determinism ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "gitlab"])
def test_output_is_byte_identical_between_runs(project, fmt):
    (project / "eda.py").write_text(REPEATED_CELLS, encoding="utf-8")
    outputs = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        proc = subprocess.run([*script(), ".", "--format", fmt], cwd=project, env=env, capture_output=True,
                              timeout=120)
        assert proc.returncode == 1, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    assert b"eda.py" in outputs[0] and b"src/train.py" in outputs[0]
    assert Path(project / "eda.py").exists()
