"""CI formats beyond the basics: notebook findings placed on the `.ipynb` line that holds the flagged
source (SARIF, GitHub, GitLab, JUnit) while text and json keep `cell N:line`; JUnit XML; GitHub
annotations errors first with a total, the job summary in $GITHUB_STEP_SUMMARY; the Action's pins."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
import yaml
from conftest import ROOT

from mllint_deploy.sources.notebook_json import NotebookText


def _nb(*cells: str, as_string: int | None = None) -> dict:
    out = [{"cell_type": "markdown", "metadata": {}, "source": ["# House prices\n", "A first model.\n"]}]
    for i, src in enumerate(cells, start=2):
        lines = src.splitlines(keepends=True)
        out.append({"cell_type": "code", "execution_count": i, "metadata": {"tags": ["source"]},
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": ["source: 1\n"]}],
                    "source": src if as_string == i else lines})
    return {"cells": out, "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


LOAD = "import pandas as pd\nfrom sklearn.model_selection import train_test_split\n"
PREP = ('df = pd.read_csv("houses.csv")\n'
        'X = df.drop(columns=["price"])\n'
        'y = df["price"]\n')
SPLIT = 'X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\n'


@pytest.fixture
def notebook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "explore.ipynb"
    path.write_text(json.dumps(_nb(LOAD, PREP, SPLIT), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _json_line(path, line: int) -> str:
    return path.read_text(encoding="utf-8").splitlines()[line - 1]


def test_text_and_json_keep_the_cell_position(cli, notebook):
    rc, out, _ = cli("explore.ipynb", "--select", "MLD201", "--format", "json")
    (finding,) = json.loads(out)
    assert (finding["cell"], finding["line"], finding["column"]) == (4, 1, SPLIT.index("train_test_split") + 1)
    _rc, out, _ = cli("explore.ipynb", "--select", "MLD201")
    assert "explore.ipynb:cell 4:1:" in out


def test_sarif_region_is_the_ipynb_line_of_the_flagged_source(cli, notebook):
    _rc, out, _ = cli("explore.ipynb", "--select", "MLD201", "--format", "sarif")
    (result,) = json.loads(out)["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    line = _json_line(notebook, region["startLine"])
    assert "train_test_split(X, y, test_size=0.2)" in line
    # the column is the flagged call's own column in the stored line
    assert line[region["startColumn"] - 1:].startswith("train_test_split(X, y")
    assert line[region["endColumn"] - 2] == ")" and region["endLine"] == region["startLine"]
    assert result["message"]["text"].startswith("(cell 4) ")


def test_github_and_gitlab_point_into_the_ipynb(cli, notebook):
    rc, out, _ = cli("explore.ipynb", "--select", "MLD201", "--format", "github")
    command = out.splitlines()[0]
    line = int(re.search(r",line=(\d+),", command).group(1))
    assert "train_test_split(X, y" in _json_line(notebook, line)
    assert "::MLD201 (cell 4) " in command
    _rc, out, _ = cli("explore.ipynb", "--select", "MLD201", "--format", "gitlab")
    (issue,) = json.loads(out)
    assert "train_test_split(X, y" in _json_line(notebook, issue["location"]["lines"]["begin"])
    assert issue["description"].startswith("MLD201 (cell 4) ")


def test_a_cell_source_stored_as_one_string(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb = _nb(LOAD, PREP + SPLIT, as_string=3)
    (tmp_path / "one.ipynb").write_text(json.dumps(nb, indent=2), encoding="utf-8")
    _rc, out, _ = cli("one.ipynb", "--select", "MLD201", "--format", "sarif")
    region = json.loads(out)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    stored = _json_line(tmp_path / "one.ipynb", region["startLine"])
    assert stored[region["startColumn"] - 1:].startswith("train_test_split(X, y")


def test_a_notebook_changed_since_the_run_falls_back_to_line_one():
    from mllint_deploy.findings import Finding
    from mllint_deploy.reporters.file_positions import stored_positions

    gone = Finding("no/such/notebook.ipynb", 3, 5, "MLD201", "m", 3, 9, cell=2)
    script = Finding("train.py", 3, 5, "MLD201", "m", 3, 9)
    positions = stored_positions([gone, script])
    assert positions[gone] == (1, 1, 1, 1)
    assert positions[script] == (3, 5, 3, 9)


def test_notebook_text_positions():
    text = json.dumps({"cells": [
        {"cell_type": "code", "metadata": {"x": {"source": ["decoy\n"]}}, "source": ["a = \"é\\t\"\n", "b = 2"]},
        {"cell_type": "raw", "source": "r1\nr2\n"},
    ], "nbformat": 4}, indent=1)
    nb = NotebookText(text)
    rows = text.splitlines()
    line, col = nb.locate(1, 1, 1)
    assert rows[line - 1][col - 1:].startswith('a = \\"')
    line, col = nb.locate(1, 1, 7)  # after the escaped quote and é (stored as \u00e9): an escaped backslash
    assert rows[line - 1][col - 1:].startswith("\\\\t")
    line, col = nb.locate(1, 2, 5)
    assert rows[line - 1][col - 1:] == '2"'
    line, col = nb.locate(2, 2, 1)
    assert rows[line - 1][col - 1:].startswith("r2\\n")
    assert nb.locate(1, 3, 1) is None and nb.locate(3, 1, 1) is None
    assert NotebookText("{not json").locate(1, 1, 1) is None
    assert NotebookText('{"cells": 3}').locate(1, 1, 1) is None


# --- junit ----------------------------------------------------------------------------------------

TRAIN = ("import numpy as np\n"
         "from sklearn.ensemble import RandomForestClassifier\n"
         "from sklearn.model_selection import train_test_split\n"
         "from sklearn.preprocessing import StandardScaler\n"
         "X = np.load('X.npy')\n"
         "y = np.load('y.npy')\n"
         "X = StandardScaler().fit_transform(X)\n"
         "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
         "model = RandomForestClassifier(random_state=0).fit(X_train, y_train)\n")


def test_junit_report(cli, tmp_path, monkeypatch, notebook):
    (tmp_path / "train.py").write_text(TRAIN, encoding="utf-8")
    rc, out, err = cli("train.py", "explore.ipynb", "--format", "junit")
    assert rc == 1, err
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(out)
    assert root.tag == "testsuites" and root.get("name") == "mllint-deploy"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"train.py", "explore.ipynb"}
    total = sum(int(s.get("failures")) for s in suites.values())
    assert int(root.get("failures")) == int(root.get("tests")) == total == len(root.findall(".//testcase"))
    leak = [c for c in suites["train.py"].findall("testcase") if c.get("name") == "mllint-deploy.MLD101"]
    assert leak and leak[0].get("line") == "7" and leak[0].get("file") == "train.py"
    failure = leak[0].find("failure")
    assert failure.get("message").startswith("MLD101 ") and failure.get("type") == "error"
    assert failure.text.startswith("line 7, column ")
    (split,) = suites["explore.ipynb"].findall("testcase")
    assert split.find("failure").text.startswith("cell 4, line 1, column ")


def test_junit_without_findings_is_one_passing_case(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.py").write_text("print('hello')\n", encoding="utf-8")
    rc, out, _ = cli("ok.py", "--format", "junit")
    assert rc == 0
    root = ET.fromstring(out)
    (case,) = root.findall(".//testcase")
    assert case.find("failure") is None and root.get("failures") == "0" and root.get("tests") == "1"
    assert "No findings in 1 file." in out


# --- github: order, total, job summary ------------------------------------------------------------

def _many_findings(tmp_path, n_errors: int, n_warnings: int):
    lines = ["import numpy as np", "from sklearn.model_selection import train_test_split",
             "from sklearn.preprocessing import StandardScaler"]
    for i in range(n_warnings):
        lines.append(f"a{i}, b{i} = train_test_split(np.arange(10))")
    for i in range(n_errors):
        lines += [f"X{i} = StandardScaler().fit_transform(np.load('x{i}.npy'))",
                  f"tr{i}, te{i} = train_test_split(X{i}, random_state=0)", f"print(tr{i}.mean(), te{i}.mean())"]
    (tmp_path / "many.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_github_errors_first_then_a_total(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _many_findings(tmp_path, 2, 3)
    _rc, out, _ = cli("many.py", "--format", "github", "--select", "MLD101,MLD201")
    *commands, total = out.splitlines()
    levels = [c.split(" ", 1)[0] for c in commands]
    assert levels == ["::error"] * 2 + ["::warning"] * 3
    assert total == "mllint-deploy: 5 findings (2 errors, 3 warnings)"


def test_github_says_when_annotations_are_hidden(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _many_findings(tmp_path, 0, 12)
    _rc, out, _ = cli("many.py", "--format", "github", "--select", "MLD201")
    lines = out.splitlines()
    assert lines[-2].startswith("::notice title=mllint-deploy::12 findings (12 warnings); the pull request shows "
                                "at most 10")
    assert sum(line.startswith("::warning ") for line in lines) == 12


def test_github_job_summary(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _many_findings(tmp_path, 1, 2)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    rc, _out, err = cli("many.py", "--format", "github", "--select", "MLD101,MLD201")
    assert rc == 1 and err == ""
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## mllint-deploy\n")
    assert "**3 findings (1 error, 2 warnings)** in 1 of 1 file checked." in text
    assert re.search(r"^\| MLD201 \| \[unseeded-split\]\(https://\S+/MLD201\.md\) \| warning \| 2 \|$", text, re.MULTILINE)
    assert re.search(r"^\| MLD101 \| .* \| error \| 1 \|$", text, re.MULTILINE)
    assert "| `many.py` | 3 |" in text
    # the command reproduces the run without the CI-only format
    assert "\nmllint-deploy many.py --select MLD101,MLD201\n" in text


def test_github_job_summary_only_for_the_github_format_and_never_fatal(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _many_findings(tmp_path, 0, 1)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    cli("many.py", "--format", "sarif")
    assert not summary.exists()
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing" / "summary.md"))
    rc, out, err = cli("many.py", "--format", "github")
    assert rc == 1 and "::warning " in out
    assert err.startswith("mllint-deploy: warning: cannot write the job summary to ") and err.count("\n") == 1


def test_action_pins_every_action_to_a_commit():
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    uses = [s["uses"] for s in action["runs"]["steps"] if "uses" in s]
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    # each pin says which release it is, for readers and update bots
    assert all(re.search(re.escape(ref) + r" # v\d+(\.\d+)*\b", text) for ref in uses)
