"""The linter never executes, imports or unpickles what it reads (issue 9).

Every file of the hostile project below would write a line to MARKER (outside the project) if it were
imported, run or unpickled; the marker must never appear, whichever way the linter is started. Config,
catalogue and contract files are data read with safe loaders: a YAML tag that would call a function
in an unsafe loader gives an error (exit 2), not a call.
"""

from __future__ import annotations

import ast
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, script
from mllint_deploy import catalogue


def payload(marker: Path, who: str) -> str:
    return f"open({str(marker)!r}, 'a').write({who + chr(10)!r})\n"


class _Exploit:
    """Unpickling this calls exec(code): what a malicious model file does."""

    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return exec, (self.code,)


def notebook(code: str) -> str:
    return json.dumps({
        "cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
                   "source": code.splitlines(keepends=True)}],
        "metadata": {"kernelspec": {"language": "python", "name": "python3", "display_name": "Python 3"}},
        "nbformat": 4, "nbformat_minor": 5,
    })


# Modules the linter itself imports: a project file with the same name must not shadow them.
SHADOWED = ["yaml", "click", "libcst", "pathspec", "tomllib", "tokenize", "json", "typing_extensions",
            "pickle", "ast", "dataclasses", "fnmatch", "hashlib", "importlib_metadata"]


@pytest.fixture
def hostile(tmp_path):
    marker = tmp_path / "EXECUTED"
    root = tmp_path / "hostile project"
    (root / "pkg").mkdir(parents=True)
    scripts = {
        "train.py": "import pickle\nimport joblib\nimport torch\n"
                    "from sklearn.model_selection import train_test_split\n\n"
                    "model = pickle.load(open('model.pkl', 'rb'))\n"
                    "scaler = joblib.load('scaler.joblib')\n"
                    "weights = torch.load('weights.pt')\n"
                    "parts = train_test_split(weights, test_size=0.2)\n",
        "pkg/__init__.py": "",
        "pkg/features.py": "",
        "conftest.py": "",
        "setup.py": "from setuptools import setup\n",
        "__main__.py": "",
        "sitecustomize.py": "",
        "usercustomize.py": "",
        **{f"{name}.py": "" for name in SHADOWED},
    }
    for name, text in scripts.items():
        (root / name).write_text(text + payload(marker, name), encoding="utf-8")
    exploit = pickle.dumps(_Exploit(payload(marker, "pickle")))
    for name in ("model.pkl", "scaler.joblib", "weights.pt"):
        (root / name).write_bytes(exploit)
    (root / "explore.ipynb").write_text(notebook("import pandas as pd\n" + payload(marker, "notebook")),
                                        encoding="utf-8")
    return root, marker


def test_console_script_never_executes_the_project(hostile):
    root, marker = hostile
    for jobs in ("1", "2"):
        proc = subprocess.run([*script(), ".", "--jobs", jobs, "--no-cache", "--format", "json"], cwd=root,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode in (0, 1), proc.stderr
        assert "Traceback" not in proc.stderr
        assert "train.py" in {f["path"] for f in json.loads(proc.stdout)}  # the run did happen
        assert not marker.exists(), f"linted code was executed: {marker.read_text()}"


def test_python_dash_m_from_inside_the_project(hostile):
    """`python -m` puts the working directory first on sys.path; the project's `yaml.py`, `click.py`...
    must still not be imported in place of the linter's own dependencies."""
    root, marker = hostile
    proc = subprocess.run([sys.executable, "-m", "mllint_deploy", ".", "--format", "json"], cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    assert not marker.exists(), f"linted code was executed: {marker.read_text()}"
    assert "train.py" in {f["path"] for f in json.loads(proc.stdout)}


def test_in_process_run_never_executes_the_project(hostile, cli, monkeypatch):
    root, marker = hostile
    monkeypatch.chdir(root)
    before = set(sys.modules)
    rc, out, err = cli(".", "--jobs", "1", "--no-cache", "--format", "json")
    assert rc in (0, 1), err
    assert not marker.exists(), f"linted code was executed: {marker.read_text()}"
    # nothing of the project was imported: no new module comes from the project directory
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        assert not origin.startswith(str(root)), (name, origin)


def test_stdin_and_notebook_paths_never_execute(hostile):
    root, marker = hostile
    for filename, data in [("piped.py", (root / "train.py").read_bytes()),
                           ("piped.ipynb", (root / "explore.ipynb").read_bytes())]:
        proc = subprocess.run([*script(), "-", "--stdin-filename", filename], cwd=root, input=data,
                              capture_output=True, timeout=120)
        assert proc.returncode in (0, 1), proc.stderr
    assert not marker.exists(), f"linted code was executed: {marker.read_text()}"


# --- config, contract and catalogue files are data -----------------------------------------------


YAML_BOMB = "!!python/object/apply:os.system ['echo pwned > {marker}']\n"


def test_malicious_pyproject_is_an_error_not_execution(tmp_path, cli, monkeypatch):
    marker = tmp_path / "EXECUTED"
    (tmp_path / "train.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.mllint-deploy]\n"
        f"select = [\"!!python/object/apply:os.system ['touch {marker}']\"]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli(".")
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "error" in err
    (tmp_path / "pyproject.toml").write_text(
        "[tool.mllint-deploy]\nexclude = { __import__ = \"os\" }\n", encoding="utf-8")
    rc, out, err = cli(".")
    assert rc == 2 and "'exclude' must be a list of strings" in err
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_malicious_contract_yaml_is_an_error_not_execution(tmp_path, cli, monkeypatch, suffix):
    marker = tmp_path / "EXECUTED"
    (tmp_path / "serve.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / f"contract{suffix}").write_text("features:\n  - name: age\n    type: "
                                               + YAML_BOMB.format(marker=marker), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(f'[tool.mllint-deploy]\ncontract = "contract{suffix}"\n',
                                             encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli(".")
    assert rc == 2, (out, err)
    assert f"contract{suffix}" in err and "invalid YAML" in err
    assert len(err.strip().splitlines()) == 1
    assert not marker.exists()


def test_malicious_catalogue_yaml_is_an_error_not_execution(tmp_path, cli, monkeypatch):
    marker = tmp_path / "EXECUTED"
    rules = tmp_path / "rules"
    (rules / "knowledge").mkdir(parents=True)
    for path in (ROOT / "rules").glob("MLD*.yaml"):
        (rules / path.name).write_bytes(path.read_bytes())
    (rules / "MLD001.yaml").write_text(YAML_BOMB.format(marker=marker), encoding="utf-8")
    monkeypatch.setattr(catalogue, "rules_dir", lambda: rules)
    catalogue.load_catalogue.cache_clear()
    try:
        rc, out, err = cli("--list-rules")
    finally:
        catalogue.load_catalogue.cache_clear()
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "error" in err
    assert not marker.exists()


def test_baseline_file_is_data(tmp_path, cli, monkeypatch):
    marker = tmp_path / "EXECUTED"
    (tmp_path / "train.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "baseline.json").write_bytes(pickle.dumps(_Exploit(payload(marker, "baseline"))))
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli(".", "--baseline", "baseline.json")
    assert rc == 2 and "baseline" in err
    assert not marker.exists()


# --- and by construction: no loader in the package can run code ---------------------------------


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                yield f"{func.value.id}.{func.attr}", node
            elif isinstance(func, ast.Name):
                yield func.id, node


UNSAFE = {
    "exec", "eval", "compile", "__import__", "runpy.run_path", "runpy.run_module", "pickle.load", "pickle.loads",
    "pickle.Unpickler", "marshal.loads", "yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all",
    "yaml.unsafe_load_all", "importlib.import_module", "os.system", "os.popen", "shelve.open", "dill.load",
    "joblib.load", "torch.load", "np.load", "numpy.load",
}
# the only allowed uses, each read and justified
ALLOWED = {
    ("registry.py", "importlib.import_module"),  # the package's own check modules, by fixed name
    ("cache.py", "importlib.import_module"),  # only modules of this package (or an enabled plugin's)
    ("parallel.py", "pickle.loads"),  # results our own worker process sent through its pipe
}


def _is_ast_only_compile(node: ast.Call) -> bool:
    flags = node.args[3] if len(node.args) > 3 else next((k.value for k in node.keywords if k.arg == "flags"), None)
    return flags is not None and "PyCF_ONLY_AST" in ast.unparse(flags)


def test_no_unsafe_loader_in_the_package():
    found = []
    for path in sorted((ROOT / "src" / "mllint_deploy").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, node in _calls(tree):
            if name not in UNSAFE or (path.name, name) in ALLOWED:
                continue
            if name == "compile" and _is_ast_only_compile(node):
                continue  # builds a syntax tree only, like ast.parse
            if name == "__import__" and node.args and isinstance(node.args[0], ast.Constant):
                continue  # a fixed standard-library module
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            if any("Unpickler" in ast.unparse(base) for base in cls.bases):
                methods = {f.name for f in cls.body if isinstance(f, ast.FunctionDef)}
                if "find_class" not in methods:
                    found.append(f"{path.relative_to(ROOT)}:{cls.lineno}: unpickler without find_class")
    assert not found, "calls that could run linted code or data:\n" + "\n".join(found)


def test_planted_cache_entries_are_not_unpickled(tmp_path):
    """A repository may ship a `.mllint_deploy_cache/` of its own: every entry of a real run is replaced
    by an exploit, and the next run must neither execute it nor lose a finding."""
    marker = tmp_path / "EXECUTED"
    root = tmp_path / "repo"
    root.mkdir()
    (root / "train.py").write_text(
        "import numpy as np\nfrom sklearn.model_selection import train_test_split\n\n"
        "X, y = np.zeros((10, 2)), np.zeros(10)\nparts = train_test_split(X, y, test_size=0.2)\n", encoding="utf-8")
    first = subprocess.run([*script(), ".", "--format", "json"], cwd=root, capture_output=True, text=True,
                           timeout=300)
    entries = [p for p in (root / ".mllint_deploy_cache").rglob("*") if p.is_file()
               and p.name not in (".gitignore", "CACHEDIR.TAG")]
    assert entries, "the first run wrote no cache entry"
    exploit = pickle.dumps(_Exploit(payload(marker, "cache")), protocol=pickle.HIGHEST_PROTOCOL)
    for entry in entries:
        entry.write_bytes(exploit)
    second = subprocess.run([*script(), ".", "--format", "json"], cwd=root, capture_output=True, text=True,
                            timeout=300)
    assert not marker.exists(), "a planted cache entry was executed"
    assert second.returncode == first.returncode == 1, second.stderr
    assert json.loads(second.stdout) == json.loads(first.stdout)


def test_linted_text_reaches_cpython_only_as_a_syntax_tree():
    """No `compile` without PyCF_ONLY_AST and no exec/eval anywhere in the package."""
    for path in sorted((ROOT / "src" / "mllint_deploy").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, node in _calls(tree):
            assert name not in {"exec", "eval"}, f"{path.name}:{node.lineno}"
            if name == "compile":
                assert _is_ast_only_compile(node), f"{path.name}:{node.lineno}"
