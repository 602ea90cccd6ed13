"""Notebooks: discovery, cell-relative positions, IPython masking, broken notebooks, noqa in cells,
and every output format, on the bundled notebooks (fixtures/notebooks/EXPECTED.yaml) and small
notebooks written by the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, implemented, run_cli_json, run_script
from mllint_deploy.sources.notebook import BrokenNotebook, mask_cell, read_notebook

NOTEBOOKS = FIXTURES / "notebooks"

META = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}


def cell(kind: str, source: str) -> dict:
    c = {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        c.update(execution_count=None, outputs=[])
    return c


def notebook(tmp_path: Path, name: str, *cells: dict, metadata=None) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps({"cells": list(cells), "metadata": META if metadata is None else metadata,
                             "nbformat": 4, "nbformat_minor": 5}, indent=1), encoding="utf-8")
    return p


def code(source: str) -> dict:
    return cell("code", source)


def md(source: str) -> dict:
    return cell("markdown", source)


def findings(*args: str) -> list[tuple]:
    return [(Path(f["path"]).name, f.get("cell"), f["line"], f["column"], f["code"]) for f in run_cli_json(list(args))]


# --------------------------------------------------------------------------------- bundled fixtures

def test_bundled_notebooks_match_expected_yaml():
    expected_doc = yaml.safe_load((NOTEBOOKS / "EXPECTED.yaml").read_text(encoding="utf-8"))
    on_disk = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    assert set(expected_doc) == on_disk, "every notebook needs an EXPECTED.yaml entry (an empty list if clean)"
    codes = implemented()
    expected = {(name, e["cell"], e["line"], e["code"])
                for name, entries in expected_doc.items() for e in entries or [] if e["code"] in codes}
    reported = {(name, c, line, code) for name, c, line, _col, code in
                findings(str(NOTEBOOKS), "--select", ",".join(sorted(codes)))}
    assert reported == expected, f"missed: {sorted(expected - reported)}\nfalse alarms: {sorted(reported - expected)}"


def test_magics_notebook_has_no_syntax_error():
    got = [f for f in findings(str(NOTEBOOKS)) if f[0] == "sensor_eda_with_magics.ipynb"]
    assert got and not [f for f in got if f[-1] == "MLD001"]


def test_leak_across_cells_is_one_scope_and_messages_name_cells(cli):
    if "MLD101" not in implemented():
        pytest.skip("MLD101 not implemented yet")
    rc, out, _ = cli(str(NOTEBOOKS / "house_prices_leaky_baseline.ipynb"), "--select", "MLD101", "-q")
    assert rc == 1
    line = out.splitlines()[0]
    assert line.split(": MLD101")[0].endswith("house_prices_leaky_baseline.ipynb:cell 8:2:12")
    # line numbers inside the message point at cells too, not at the joined text
    assert "cell 10, line 1" in line and "(line " not in line


# --------------------------------------------------------------------------------- positions

SPLIT = "from sklearn.model_selection import train_test_split\n"


def test_text_json_positions_are_inside_the_cell(tmp_path, cli):
    nb = notebook(tmp_path, "eda.ipynb",
                  md("# Title\n\nSome prose."),
                  code("import pandas as pd\n" + SPLIT),
                  md("## Split"),
                  code("df = pd.read_csv('x.csv')\n\ntrain, test = train_test_split(df, test_size=0.2)\n"))
    rc, out, _ = cli(str(nb), "-q", "--select", "MLD201")
    assert rc == 1
    assert out.splitlines() == [
        f"{nb}:cell 4:3:15: MLD201 [*] train_test_split(...) without a fixed random_state: the split changes on every "
        "run, so scores cannot be reproduced or compared. Pass random_state=42 (or a seed from your config)."]
    [f] = run_cli_json([str(nb), "--select", "MLD201"])
    assert (f["cell"], f["line"], f["column"], f["end_line"]) == (4, 3, 15, 3)
    assert f["path"] == str(nb)


def test_sarif_and_github_point_at_the_notebook_file(tmp_path, cli):
    nb = notebook(tmp_path, "eda.ipynb", md("intro"), code(SPLIT + "a, b = train_test_split([1, 2, 3, 4])\n"))
    rc, out, _ = cli(str(nb), "--format", "sarif", "--select", "MLD201")
    result = json.loads(out)["runs"][0]["results"][0]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("eda.ipynb")
    # the line of the .ipynb JSON that holds the flagged source line, not line 2 of the cell
    stored = nb.read_text(encoding="utf-8").splitlines()
    line = location["region"]["startLine"]
    assert "a, b = train_test_split([1, 2, 3, 4])" in stored[line - 1]
    assert "cell 2" in result["message"]["text"]
    rc, out, _ = cli(str(nb), "--format", "github", "--select", "MLD201")
    assert out.startswith("::warning file=") and f"eda.ipynb,line={line}," in out and "(cell 2)" in out


def test_noqa_inside_a_cell(tmp_path, cli):
    nb = notebook(tmp_path, "nq.ipynb",
                  code(SPLIT),
                  code("a, b = train_test_split([1, 2, 3, 4])  # noqa: MLD201\n"
                       "c, d = train_test_split([1, 2, 3, 4])\n"))
    assert [(f[1], f[2]) for f in findings(str(nb), "--select", "MLD201")] == [(2, 2)]
    rc, out, _ = cli(str(nb), "-q", "--select", "MLD201", "--ignore", "MLD201")
    assert rc == 0


def test_file_level_noqa_in_a_cell(tmp_path):
    nb = notebook(tmp_path, "nq.ipynb", code("# mllint-deploy: noqa: MLD201\n" + SPLIT),
                  code("a, b = train_test_split([1, 2, 3, 4])\n"))
    assert findings(str(nb), "--select", "MLD201") == []


# --------------------------------------------------------------------------------- masking

MAGICS = [
    "%matplotlib inline",
    "!pip install -q lightgbm",
    "files = !ls data",
    "out = %sx ls",
    "?df",
    "??df.merge",
    "df.head?",
    "np.*load*?",
    "pip install shap",
    "%timeit -n 3 df.describe()",
    "%load_ext autoreload",
]


@pytest.mark.parametrize("magic", MAGICS)
def test_each_magic_is_masked_keeping_the_line_count(magic):
    lines = ["import pandas as pd", magic, "df = pd.DataFrame()"]
    masked, shifts = mask_cell(lines)
    assert len(masked) == 3 and masked[0] == lines[0] and masked[2] == lines[2]
    assert masked[1].strip().startswith("pass")
    compile("\n".join(masked), "<cell>", "exec")


def test_python_that_looks_like_magic_is_left_alone():
    lines = [
        "s = '''",
        "%not a magic inside a string",
        "why?",
        "'''",
        "x = (10",
        "     % 3)",
        "ls = [1, 2]",
        "time = 3",
        "print('done?')  # really?",
        "y = a \\",
        "    if ok else b",
    ]
    masked, shifts = mask_cell(lines)
    assert masked == lines and shifts == [0] * len(lines)


def test_indented_magic_keeps_the_block_valid():
    lines = ["for col in cols:", "    !echo {col}", "    print(col)"]
    masked, _ = mask_cell(lines)
    assert masked[1] == "    pass  # IPython"
    compile("\n".join(masked), "<cell>", "exec")


def test_time_line_magic_keeps_the_statement_and_maps_columns(tmp_path):
    nb = notebook(tmp_path, "t.ipynb", code(SPLIT), code("%time a, b = train_test_split([1, 2, 3, 4])\n"))
    [f] = findings(str(nb), "--select", "MLD201")
    assert f == ("t.ipynb", 2, 1, 14, "MLD201")  # column of `train_test_split` in the original cell line


def test_cell_magics_python_body_is_linted_other_bodies_are_not(tmp_path):
    nb = notebook(tmp_path, "cm.ipynb",
                  code(SPLIT),
                  code("%%time\na, b = train_test_split([1, 2, 3, 4])\n"),
                  code("%%writefile split.py\nfrom sklearn.model_selection import train_test_split\n"
                       "a, b = train_test_split([1, 2, 3, 4])\n"),
                  code("%%bash\nfor f in *.csv; do wc -l $f; done\n"))
    assert findings(str(nb)) == [("cm.ipynb", 2, 2, 8, "MLD201")]


def test_magics_masked_in_read_notebook_line_map():
    data = json.dumps({"cells": [md("x"), code("%matplotlib inline\nimport os\n"), code("!ls\n")],
                       "metadata": META, "nbformat": 4, "nbformat_minor": 2}).encode()
    nb = read_notebook(data)
    assert nb.text == "pass  # IPython\nimport os\npass  # IPython\n"
    assert nb.line_map == [(2, 1, 0), (2, 2, 0), (3, 1, 0)]


# --------------------------------------------------------------------------------- broken notebooks

@pytest.mark.parametrize("content, line, words", [
    (b'{"cells": [\n  {"cell_type": "code",\n   "source": ["x = 1"]\n', 4, "invalid JSON"),
    (b'{"nbformat": 4, "metadata": {}}', 1, "missing key 'cells'"),
    (b'{"cells": [], "metadata": {}}', 1, "missing key 'nbformat'"),
    (b'{"cells": [{"cell_type": "code"}], "nbformat": 4}', 1, "cell 1 has no 'source'"),
    (b'{"cells": [{"source": "x"}], "nbformat": 4}', 1, "cell 1 has no 'cell_type'"),
    (b'{"cells": [{"cell_type": "code", "source": 3}], "nbformat": 4}', 1, "neither a string"),
    (b'{"cells": "x", "nbformat": 4}', 1, "'cells' is not a list"),
    (b'[1, 2]', 1, "not a JSON object"),
    (b'{"nbformat": 3, "worksheets": []}', 1, "nbformat 3 is not supported"),
    (b'{"cells": [], "nbformat": 4, "x": "\xff"}', 1, "not valid UTF-8"),
    (b'', 1, "invalid JSON"),
])
def test_broken_notebook_is_one_mld001_and_the_run_goes_on(tmp_path, content, line, words):
    (tmp_path / "broken.ipynb").write_bytes(content)
    (tmp_path / "train.py").write_text(SPLIT + "a, b = train_test_split([1, 2, 3])\n", encoding="utf-8")
    data = run_cli_json([str(tmp_path)])
    broken = [f for f in data if f["path"].endswith("broken.ipynb")]
    assert len(broken) == 1
    [f] = broken
    assert f["code"] == "MLD001" and f["line"] == line and "cell" not in f and words in f["message"]
    assert any(f["path"].endswith("train.py") and f["code"] == "MLD201" for f in data)


def test_broken_notebook_raises_for_read_notebook():
    with pytest.raises(BrokenNotebook):
        read_notebook(b"not json")


def test_a_cell_that_does_not_parse_is_mld001_in_that_cell_and_others_are_linted(tmp_path):
    nb = notebook(tmp_path, "half.ipynb",
                  code(SPLIT),
                  md("text"),
                  code("def broken(:\n    pass\n"),
                  code("a, b = train_test_split([1, 2, 3, 4])\n"))
    got = findings(str(nb))
    assert ("half.ipynb", 3, 1, 12, "MLD001") in got
    assert ("half.ipynb", 4, 1, 8, "MLD201") in got
    [syntax] = [f for f in run_cli_json([str(nb)]) if f["code"] == "MLD001"]
    assert syntax["message"].startswith("cannot parse cell 3:")


def test_source_as_one_string_and_crlf(tmp_path):
    p = tmp_path / "s.ipynb"
    p.write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1,
                                        "source": SPLIT.replace("\n", "\r\n") + "a, b = train_test_split([1, 2])"}],
                             "metadata": META, "nbformat": 4, "nbformat_minor": 4}), encoding="utf-8")
    assert findings(str(p)) == [("s.ipynb", 1, 2, 8, "MLD201")]


def test_non_python_notebook_is_skipped(tmp_path):
    nb = notebook(tmp_path, "r.ipynb", code("library(ggplot2)\nx <- c(1, 2)\n"),
                  metadata={"kernelspec": {"language": "R", "name": "ir"}, "language_info": {"name": "R"}})
    assert findings(str(nb)) == []


def test_empty_notebook_and_no_code_cells(tmp_path):
    assert findings(str(notebook(tmp_path, "e.ipynb"))) == []
    assert findings(str(notebook(tmp_path, "m.ipynb", md("# only prose")))) == []


# --------------------------------------------------------------------------------- discovery, stdin, script

def test_directories_discover_notebooks_but_not_checkpoints(tmp_path, cli):
    body = [code(SPLIT + "a, b = train_test_split([1, 2, 3, 4])\n")]
    notebook(tmp_path, "analysis.ipynb", *body)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    notebook(tmp_path / ".ipynb_checkpoints", "analysis-checkpoint.ipynb", *body)
    rc, out, _ = cli(str(tmp_path), "-q")
    assert rc == 1 and "analysis.ipynb:cell 1:2:" in out and "checkpoint" not in out


def test_stdin_notebook_with_stdin_filename(tmp_path):
    nb = notebook(tmp_path, "x.ipynb", md("hi"), code(SPLIT + "a, b = train_test_split([1, 2, 3, 4])\n"))
    proc = run_script("-", "--stdin-filename", "nb/x.ipynb", "-q", input=nb.read_bytes())
    assert proc.returncode == 1
    assert proc.stdout.decode().startswith("nb/x.ipynb:cell 2:2:8: MLD201")


def test_installed_script_on_bundled_notebooks():
    proc = run_script(str(NOTEBOOKS), "--format", "json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert {Path(f["path"]).name for f in data if f["code"] == "MLD001"} == {
        "churn_model_merge_conflict.ipynb", "legacy_ipython2_nbformat3.ipynb"}
    messages = {Path(f["path"]).name: f["message"] for f in data if f["code"] == "MLD001"}
    assert "unresolved git merge conflict" in messages["churn_model_merge_conflict.ipynb"]
    assert "nbformat 3 is not supported" in messages["legacy_ipython2_nbformat3.ipynb"]


def test_project_pass_findings_are_placed_in_cells_and_honour_cell_noqa(tmp_path):
    if "MLD203" not in implemented():
        pytest.skip("MLD203 not implemented yet")
    draw = code("import numpy as np\n\nnoise = np.random.rand(3)\nnp.save(\"noise.npy\", noise)\n")
    notebook(tmp_path, "a.ipynb", md("# Noise"), draw)
    notebook(tmp_path, "b.ipynb", md("# Noise"), code("import numpy as np\n\nnoise = np.random.rand(3)  # noqa: MLD203\nnp.save(\"noise.npy\", noise)\n"))
    got = [f for f in run_cli_json([str(tmp_path), "--select", "MLD203"])]
    assert [(Path(f["path"]).name, f["cell"], f["line"], f["column"]) for f in got] == [("a.ipynb", 2, 3, 9)]


def test_statement_over_several_lines_starting_with_a_magic_name_is_python(tmp_path):
    """`history = model.fit(` and `env = dict(` start with automagic names (%history, %env) but are
    Python statements continued on the next lines: linted, never MLD001."""
    nb = notebook(tmp_path, "fit.ipynb",
                  code("from sklearn.model_selection import train_test_split\nimport pandas as pd\n"),
                  code("history = dict(\n    loss=[],\n)\nenv = dict(\n    a=1)\n"),
                  code("time = train_test_split(\n    [1, 2, 3, 4])\n"),
                  code("cd ..\nls ../input\n"))
    assert findings(str(nb)) == [("fit.ipynb", 3, 1, 8, "MLD201")]
    masked, _ = mask_cell(["history = model.fit(", "    X, y,", "    epochs=3)"])
    assert masked == ["history = model.fit(", "    X, y,", "    epochs=3)"]
    masked, _ = mask_cell(["cd ..", "history"])
    assert masked == ["pass  # IPython", "history"]


def test_the_same_finding_in_two_cells_is_two_findings(tmp_path):
    split = "a, b = train_test_split([1, 2, 3, 4])\n"
    nb = notebook(tmp_path, "twice.ipynb", code(SPLIT), code(split), md("again"), code(split))
    assert findings(str(nb), "--select", "MLD201") == [("twice.ipynb", 2, 1, 8, "MLD201"),
                                                       ("twice.ipynb", 4, 1, 8, "MLD201")]


# --------------------------------------------------------------------------------- kernel names

PYLAB_DRAW = ("X, y = np.load('X.npy'), np.load('y.npy')\n"
              "order = np.random.permutation(len(X))\n"
              "X_train, y_train = X[order[:800]], y[order[:800]]\n"
              "np.save('train_rows.npy', X_train)\n")


def test_np_from_a_pylab_kernel_is_numpy(tmp_path):
    """`%pylab` binds `np` without an import in the notebook: its draws are numpy's global RNG."""
    drawn = notebook(tmp_path, "pylab.ipynb", code("%pylab inline"), code(PYLAB_DRAW))
    assert [f[1:3] + f[4:] for f in findings(str(drawn), "--select", "MLD203")] == [(2, 2, "MLD203")]
    seeded = notebook(tmp_path, "pylab_seeded.ipynb", code("%pylab inline\nnp.random.seed(7)"), code(PYLAB_DRAW))
    assert findings(str(seeded), "--select", "MLD203") == []


def test_np_bound_by_the_notebook_is_not_taken_for_numpy(tmp_path):
    """A notebook that binds `np` itself (jax's numpy has no global RNG) keeps its own meaning."""
    own = notebook(tmp_path, "jax.ipynb", code("import jax.numpy as np"), code(PYLAB_DRAW))
    assert findings(str(own), "--select", "MLD203") == []
    local = notebook(tmp_path, "local.ipynb", code("from plans import NoisePlan\nnp = NoisePlan()"), code(PYLAB_DRAW))
    assert findings(str(local), "--select", "MLD203") == []
