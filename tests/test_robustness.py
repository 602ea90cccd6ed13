"""Odd inputs: each gives one clear finding or message, never a traceback or an internal error, and the
other files of the same run still report (issue 9).

Every test lints its odd input together with NORMAL, a small training script with two known findings,
and checks that those two still come out: one bad file must never cost the rest of the run.
"""

from __future__ import annotations

import ast
import json
import os
import random
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import script
from mllint_deploy.pipeline import runner
from mllint_deploy.sources import source

NORMAL = """\
import numpy as np
from sklearn.model_selection import train_test_split as tts

X, y = np.zeros((10, 2)), np.zeros(10)
X_tr, X_te, y_tr, y_te = tts(X, y, test_size=0.2)
rng = np.random.default_rng()
"""
NORMAL_FINDINGS = [(5, 26, "MLD201"), (6, 7, "MLD204")]

# A realistic script (what a Kaggle notebook exported to .py looks like), cut and corrupted below.
REALISTIC = '''\
"""Churn model: clean the export, engineer a few features, fit a boosted model and report AUC."""
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

NUMERIC = ["tenure", "monthly_charges", "total_charges"]


def load(path):
    df = pd.read_csv(path)
    df["total_charges"] = pd.to_numeric(df["total_charges"], errors="coerce")
    df = df.dropna(subset=["total_charges"])
    df["charges_per_month"] = df["total_charges"] / (df["tenure"] + 1)
    return df


class ChurnModel:
    def __init__(self, depth=3):
        self.scaler = StandardScaler()
        self.model = GradientBoostingClassifier(max_depth=depth, random_state=42)

    def fit(self, X, y):
        Xs = self.scaler.fit_transform(X)
        self.model.fit(Xs, y)
        return self

    def score(self, X, y):
        proba = self.model.predict_proba(self.scaler.transform(X))[:, 1]
        return roc_auc_score(y, proba)


if __name__ == "__main__":
    frame = load("data/churn.csv")
    features = frame[NUMERIC + ["charges_per_month"]]
    X_train, X_test, y_train, y_test = train_test_split(
        features, frame["churned"], test_size=0.2, stratify=frame["churned"]
    )
    clf = ChurnModel(depth=4).fit(X_train, y_train)
    print(f"AUC: {clf.score(X_test, y_test):.3f}")
'''
REALISTIC_SPLIT_LINE = 38  # the `train_test_split(` line: MLD201, no random_state


def write(path: Path, data, mode: str = "w") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory holding the normal file; the working directory for the run."""
    root = tmp_path / "proj"
    write(root / "train.py", NORMAL)
    monkeypatch.chdir(root)
    return root


def lint(cli, *args: str):
    """Run the CLI in-process with JSON output: (exit status, findings by path, stderr)."""
    rc, out, err = cli(*args, "--format", "json")
    assert "Traceback" not in err and "internal error" not in err, err
    by_path: dict[str, list[dict]] = {}
    for f in json.loads(out):
        by_path.setdefault(f["path"], []).append(f)
    return rc, by_path, err


def lint_subprocess(cwd: Path, *args: str, timeout: float = 120):
    """The installed command in a child process (for inputs that could hang or kill a process)."""
    proc = subprocess.run([*script(), *args, "--format", "json"], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    by_path: dict[str, list[dict]] = {}
    for f in json.loads(proc.stdout):
        by_path.setdefault(f["path"], []).append(f)
    return proc.returncode, by_path, proc.stderr


def assert_normal_reported(by_path, name: str = "train.py") -> None:
    got = [(f["line"], f["column"], f["code"]) for f in by_path.get(name, [])]
    assert got == NORMAL_FINDINGS, f"the normal file lost its findings: {got}"


def only_finding(by_path, name: str) -> dict:
    found = by_path.get(name, [])
    assert len(found) == 1, found
    return found[0]


def python_error(text: str):
    """CPython's verdict, as `python -m py_compile` gives it (parse only, nothing runs)."""
    try:
        ast.parse(text)
    except SyntaxError as err:
        return err.lineno
    except (MemoryError, RecursionError):
        return 1
    return None


# --- syntax errors everywhere ------------------------------------------------------------------


def _check_against_python(by_path, variants: dict[str, str]) -> None:
    """Every variant: MLD001 exactly when CPython rejects it, at CPython's line; else normal findings."""
    for name, text in variants.items():
        found = by_path.get(name, [])
        codes = [f["code"] for f in found]
        error_line = python_error(text)
        if error_line is None:
            assert "MLD001" not in codes, (name, found)
        else:
            assert codes == ["MLD001"], (name, found)
            assert found[0]["line"] == error_line, (name, found[0], error_line)
            assert found[0]["message"].startswith("cannot parse file: ")


def test_realistic_file_truncated_at_every_line_and_mid_line(cli, project):
    lines = REALISTIC.splitlines(keepends=True)
    variants = {}
    for k in range(len(lines) + 1):
        variants[f"cut/line_{k:03d}.py"] = "".join(lines[:k])
        if k < len(lines) and len(lines[k]) > 2:
            variants[f"cut/mid_{k:03d}.py"] = "".join(lines[:k]) + lines[k][: len(lines[k]) // 2]
    for name, text in variants.items():
        write(project / name, text)
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    _check_against_python(by_path, variants)
    assert sum(1 for name in variants if python_error(variants[name])) > 20  # the cuts do break it


def test_junk_token_inserted_at_a_sample_of_positions(cli, project):
    junk = ["$", ")", "(", "]", "{", ":", "def", "lambda", "else", "import", "@", "=", "**", "'", '"""', "\\",
            "\t", " async", "yield", ",", "print 'x'", "<<<<<<< HEAD\n", "\x0c"]
    rnd = random.Random(9)
    positions = sorted(rnd.sample(range(len(REALISTIC)), 80))
    variants = {}
    for i, pos in enumerate(positions):
        token = junk[i % len(junk)]
        variants[f"junk/j{i:02d}.py"] = REALISTIC[:pos] + token + REALISTIC[pos:]
    for name, text in variants.items():
        write(project / name, text)
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    _check_against_python(by_path, variants)
    # the intact realistic file is linted as usual: the only finding is its unseeded split
    write(project / "realistic.py", REALISTIC)
    rc, by_path, _ = lint(cli, "realistic.py")
    assert [(f["line"], f["code"]) for f in by_path["realistic.py"]] == [(REALISTIC_SPLIT_LINE, "MLD201")]


# --- encodings and line endings --------------------------------------------------------------------


def test_python2_code(cli, project):
    write(project / "legacy/print_stmt.py", "import pandas as pd\n\ndf = pd.read_csv('x.csv')\nprint 'rows:', len(df)\n")
    write(project / "legacy/except_comma.py", "try:\n    import cPickle as pickle\nexcept ImportError, e:\n    import pickle\n")
    write(project / "legacy/backticks.py", "x = 1\nlabel = `x`\n")
    write(project / "legacy/octal.py", "import os\nos.chmod('model.bin', 0644)\n")
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    expected = {
        "legacy/print_stmt.py": (4, "Missing parentheses in call to 'print'"),
        "legacy/except_comma.py": (3, "multiple exception types must be parenthesized"),
        "legacy/backticks.py": (2, "invalid syntax"),
        "legacy/octal.py": (2, "leading zeros in decimal integer literals"),
    }
    for name, (line, words) in expected.items():
        f = only_finding(by_path, name)
        assert (f["code"], f["line"]) == ("MLD001", line), f
        assert words in f["message"], f


def test_non_utf8_bytes_without_a_cookie(cli, project):
    write(project / "labels.py", b"import pandas as pd\n\nLABELS = ['caf\xe9', 'cr\xe8me']\n")
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    f = only_finding(by_path, "labels.py")
    assert (f["code"], f["line"]) == ("MLD001", 3)
    assert f["message"] == "cannot decode file as utf-8: invalid continuation byte"


def test_pep263_latin1_cookie_decodes_and_is_linted(cli, project):
    text = "# -*- coding: latin-1 -*-\n# Données de désabonnement\n" + NORMAL
    write(project / "latin.py", text.encode("latin-1"))
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    got = [(f["line"], f["column"], f["code"]) for f in by_path["latin.py"]]
    assert got == [(line + 2, col, code) for line, col, code in NORMAL_FINDINGS]  # no MLD001


def test_utf8_bom(cli, project):
    write(project / "bom.py", b"\xef\xbb\xbf" + NORMAL.encode())
    write(project / "bom_cookie.py", b"\xef\xbb\xbf# -*- coding: utf-8 -*-\n" + NORMAL.encode())
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    assert_normal_reported(by_path, "bom.py")  # same lines, same columns: the BOM takes no room
    got = [(f["line"], f["column"], f["code"]) for f in by_path["bom_cookie.py"]]
    assert got == [(line + 1, col, code) for line, col, code in NORMAL_FINDINGS]


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "lone-cr"])
def test_crlf_and_lone_cr_line_endings_keep_positions(cli, project, newline):
    write(project / "endings.py", NORMAL.replace("\n", newline).encode())
    write(project / "broken.py", ("x = 1\ny = 2\ndef f(:\n    pass\n").replace("\n", newline).encode())
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    assert_normal_reported(by_path, "endings.py")
    f = only_finding(by_path, "broken.py")
    assert (f["code"], f["line"]) == ("MLD001", 3)


def test_mixed_line_endings(cli, project):
    write(project / "mixed.py", b"a = 1\r\nb = 2\rc = 3\n" + NORMAL.encode())
    rc, by_path, _ = lint(cli, ".")
    got = [(f["line"], f["column"], f["code"]) for f in by_path["mixed.py"]]
    assert got == [(line + 3, col, code) for line, col, code in NORMAL_FINDINGS]


def test_form_feeds(cli, project):
    text = "\x0c\n" + NORMAL.replace("rng =", "\x0crng =") + "\n\x0c\ndef score(model, X):\n    return model.predict(X)\n"
    write(project / "paged.py", text)
    write(project / "ff_indent.py", "def f():\n    \x0cx = 1\n    return x\n")  # \f resets the column
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    got = [(f["line"], f["code"]) for f in by_path["paged.py"]]
    assert got == [(line + 1, code) for line, _, code in NORMAL_FINDINGS]
    f = only_finding(by_path, "ff_indent.py")  # CPython rejects it too (IndentationError)
    assert (f["code"], f["line"]) == ("MLD001", python_error("def f():\n    \x0cx = 1\n    return x\n"))


def test_nul_bytes(cli, project):
    write(project / "nul.py", NORMAL.encode().replace(b"rng =", b"rng\x00 ="))
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    f = only_finding(by_path, "nul.py")
    assert (f["code"], f["line"], f["message"]) == ("MLD001", 6, "file contains a NUL byte")


def test_tabs_mixed_with_spaces(cli, project):
    write(project / "tabs.py", "def f(x):\n\tif x:\n\t\treturn 1\n\treturn 2\n" + NORMAL)  # tabs only: fine
    write(project / "taberror.py", "def f(x):\n    if x:\n\treturn 1\n    return 2\n")  # Python: TabError
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    got = [(f["line"], f["code"]) for f in by_path["tabs.py"]]
    assert got == [(line + 4, code) for line, _, code in NORMAL_FINDINGS]
    f = only_finding(by_path, "taberror.py")
    assert (f["code"], f["line"]) == ("MLD001", 3)
    assert "inconsistent use of tabs and spaces" in f["message"]


def test_empty_and_blank_files(cli, project):
    write(project / "pkg/__init__.py", "")
    write(project / "blank.py", "\n\n   \n")
    write(project / "comment.py", "# nothing here yet\n")
    write(project / "no_newline.py", "x = 1")
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    assert set(by_path) == {"train.py"}
    rc, out, _ = cli("pkg/__init__.py", "blank.py")
    assert rc == 0 and "no findings in 2 files" in out


# --- size and depth ---------------------------------------------------------------------------------


def test_twenty_megabyte_file_is_refused_quickly(cli, project):
    unit = REALISTIC.split("\n\nif __name__")[0] + "\n\n"
    blob = unit * (20 * 1024 * 1024 // len(unit) + 1)
    write(project / "generated.py", blob)
    assert (project / "generated.py").stat().st_size >= 20 * 1024 * 1024
    start = time.monotonic()
    rc, by_path, _ = lint(cli, ".")
    assert time.monotonic() - start < 30
    assert rc == 1
    assert_normal_reported(by_path)
    f = only_finding(by_path, "generated.py")
    assert f["code"] == "MLD001" and f["line"] == 1
    assert f["message"].startswith("file too large to lint (")
    assert f"the limit is {source.MAX_SOURCE_CHARS:,}" in f["message"]


DEEP = {
    "parens.py": ("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n", "too many nested parentheses"),
    "brackets.py": ("x = " + "[" * 5000 + "1" + "]" * 5000 + "\n", "too many nested parentheses"),
    "mixed.py": ("x = " + "f([{" * 1700 + "1" + "}])" * 1700 + "\n", "too many nested parentheses"),
    "lambdas.py": ("f = " + "lambda: " * 5000 + "1\n", "nested too deeply"),
    "unary.py": ("x = " + "-" * 20000 + "1\n", "nested too deeply"),
    "nots.py": ("x = " + "not " * 20000 + "y\n", "nested too deeply"),
    "elifs.py": ("if a:\n    pass\n" + "elif a:\n    pass\n" * 20000, "nested too deeply"),
    "attrs.py": ("x = a" + ".b" * 20000 + "\n", "nested too deeply"),
    "ands.py": ("x = " + " and ".join(["a"] * 20000) + "\n", "operands chained with and/or"),
    "powers.py": ("x = " + " ** ".join(["2"] * 8000) + "\n", "nested too deeply"),
}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_five_thousand_nested_brackets_and_other_deep_chains(project, jobs):
    """libcst's native parser overflows the C stack on these and kills the process (SIGSEGV), or takes
    many minutes: they must be refused before it sees them, in-process (--jobs 1) as in workers. Run in
    a child process, so a regression fails this test instead of killing the test session."""
    for name, (text, _) in DEEP.items():
        write(project / "deep" / name, text)
    start = time.monotonic()
    rc, by_path, _ = lint_subprocess(project, ".", "--jobs", jobs, "--no-cache", timeout=240)
    assert time.monotonic() - start < 120
    assert rc == 1
    assert_normal_reported(by_path)
    for name, (_, words) in DEEP.items():
        f = only_finding(by_path, f"deep/{name}")
        assert f["code"] == "MLD001" and words in f["message"], f


def test_deep_but_legal_nesting_is_linted(cli, project):
    """Nesting up to CPython's limit (200) is ordinary code: parsed and checked, no MLD001."""
    write(project / "nested.py", "x = " + "[" * 190 + "1" + "]" * 190 + "\ny = " + "f(" * 150 + "1" + ")" * 150 + "\n"
          + NORMAL)
    rc, by_path, _ = lint(cli, ".")
    got = [(f["line"], f["code"]) for f in by_path["nested.py"]]
    assert got == [(line + 2, code) for line, _, code in NORMAL_FINDINGS]


def test_ten_thousand_line_function(cli, project):
    lines = ["import pandas as pd", "from sklearn.model_selection import train_test_split", "", "",
             "def build_features(df):", '    """Every hand-made feature of the churn model, one per line."""']
    for i in range(10_000):
        lines.append(f'    df["ratio_{i}"] = df["charges_{i % 40}"] / (df["tenure"] + {i % 7 + 1})')
    lines.append("    train, test = train_test_split(df, test_size=0.2)")
    lines.append("    return train, test")
    write(project / "features.py", "\n".join(lines) + "\n")
    start = time.monotonic()
    rc, by_path, _ = lint(cli, ".")
    assert time.monotonic() - start < 120
    assert rc == 1
    assert_normal_reported(by_path)
    assert [(f["line"], f["code"]) for f in by_path["features.py"]] == [(10_007, "MLD201")]


# --- odd directory entries ----------------------------------------------------------------------------


def test_directory_named_like_a_python_file(cli, project):
    write(project / "experiments.py" / "run.py", NORMAL)
    (project / "empty.py").mkdir()
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    assert_normal_reported(by_path, "experiments.py/run.py")
    assert set(by_path) == {"train.py", "experiments.py/run.py"}  # a directory is walked, never read
    rc, by_path, _ = lint(cli, "empty.py", "experiments.py", "train.py")
    assert set(by_path) == {"train.py", "experiments.py/run.py"}


def test_unreadable_file(cli, project, monkeypatch):
    """chmod 000 where that denies reading; as root it does not (root reads anything), so there the
    same EACCES is simulated at the open call that a non-root run would fail on."""
    secret = write(project / "secret.py", NORMAL)
    secret.chmod(0)
    try:
        if os.access(secret, os.R_OK):  # root: permissions do not stop reading
            real_open = os.open

            def deny(path, flags, *args, **kwargs):
                if os.fspath(path).endswith("secret.py"):
                    raise PermissionError(13, "Permission denied", os.fspath(path))
                return real_open(path, flags, *args, **kwargs)

            monkeypatch.setattr(source.os, "open", deny)
        rc, by_path, _ = lint(cli, ".")
    finally:
        secret.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert rc == 1
    assert_normal_reported(by_path)
    f = only_finding(by_path, "secret.py")
    assert (f["code"], f["line"], f["message"]) == ("MLD001", 1, "cannot read file: Permission denied")


needs_posix = pytest.mark.skipif(os.name != "posix", reason="POSIX symlinks and FIFOs")


@needs_posix
def test_dangling_symlink(cli, project):
    os.symlink("deleted_helper.py", project / "helper.py")
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    f = only_finding(by_path, "helper.py")
    assert f["code"] == "MLD001"
    assert f["message"] == "cannot read file: dangling symbolic link (its target 'deleted_helper.py' does not exist)"


@needs_posix
def test_symlink_loops(cli, project):
    os.symlink("b.py", project / "a.py")
    os.symlink("a.py", project / "b.py")
    os.symlink(".", project / "self_dir")  # a directory loop: not followed
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    assert_normal_reported(by_path)
    assert set(by_path) == {"train.py", "a.py", "b.py"}
    for name in ("a.py", "b.py"):
        f = only_finding(by_path, name)
        assert (f["code"], f["message"]) == ("MLD001", "cannot read file: symbolic link loop")


@needs_posix
def test_fifo_never_hangs(project):
    """Reading a FIFO blocks until a writer comes: the run must refuse it instead of waiting."""
    os.mkfifo(project / "stream.py")
    os.mkfifo(project / "named.py")
    rc, by_path, _ = lint_subprocess(project, ".", "named.py", timeout=60)
    assert rc == 1
    assert_normal_reported(by_path)
    for name in ("stream.py", "named.py"):
        f = only_finding(by_path, name)
        assert (f["code"], f["message"]) == ("MLD001", "cannot read file: not a regular file (a FIFO)")


def test_paths_with_spaces_and_non_ascii_names(cli, project):
    odd = ["my experiments/träin modèl.py", "データ/学習.py", "notes & drafts/it's v2 (final).py"]
    for name in odd:
        write(project / name, NORMAL)
    rc, by_path, _ = lint(cli, ".")
    assert rc == 1
    for name in ["train.py", *odd]:
        assert_normal_reported(by_path, name)
    rc, out, _ = cli(odd[0], odd[1], "-q")
    assert rc == 1
    assert out.splitlines()[0].startswith("my experiments/träin modèl.py:5:26: MLD201 ")
    assert "データ/学習.py:6:7: MLD204 " in out
    report = project / "rapport d'analyse é.json"
    rc, _, _ = cli(".", "--format", "json", "--output", str(report))
    assert rc == 1
    assert {f["path"] for f in json.loads(report.read_text(encoding="utf-8"))} == {"train.py", *odd}


# --- files that change while the run reads them -----------------------------------------------------


def test_file_rewritten_while_the_run_reads_it(cli, project):
    """A thread keeps rewriting one file (whole, truncated, broken, deleted) while runs go on."""
    target = project / "hot.py"
    write(target, NORMAL)
    versions = [NORMAL, "", NORMAL[:40], "def f(:\n", None, REALISTIC, NORMAL * 50]
    stop = threading.Event()

    def churn():
        i = 0
        while not stop.is_set():
            text = versions[i % len(versions)]
            try:
                if text is None:
                    target.unlink(missing_ok=True)
                else:
                    with open(target, "w", encoding="utf-8") as fh:  # in place: readers see partial writes
                        fh.write(text)
            except OSError:
                pass
            i += 1

    writer = threading.Thread(target=churn, daemon=True)
    writer.start()
    try:
        for _ in range(15):  # in-process: no fork while the writer thread runs
            rc, by_path, _ = lint(cli, ".", "--jobs", "1", "--no-cache")
            assert rc == 1
            assert_normal_reported(by_path)
            for f in by_path.get("hot.py", []):
                assert f["code"] in {"MLD001", "MLD201", "MLD204"}, f
    finally:
        stop.set()
        writer.join(10)


def test_file_deleted_or_swapped_for_a_fifo_after_discovery(cli, project, monkeypatch):
    write(project / "gone.py", NORMAL)
    write(project / "swapped.py", NORMAL)
    real_discover = runner.discover

    def discover_then_change(paths, settings):
        files = real_discover(paths, settings)
        (project / "gone.py").unlink()
        (project / "swapped.py").unlink()
        if os.name == "posix":
            os.mkfifo(project / "swapped.py")
        return files

    monkeypatch.setattr(runner, "discover", discover_then_change)
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(zip(("rc", "by_path", "err"), lint(cli, "."))),
                              daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():  # unblock the reader before failing, so the session can end
        with open(project / "swapped.py", "w"):
            pass
        pytest.fail("the run hung on a FIFO that replaced a file after discovery")
    assert result["rc"] == 1
    assert_normal_reported(result["by_path"])
    gone = only_finding(result["by_path"], "gone.py")
    assert (gone["code"], gone["message"]) == ("MLD001", "cannot read file: No such file or directory")
    if os.name == "posix":
        swapped = only_finding(result["by_path"], "swapped.py")
        assert swapped["message"] == "cannot read file: not a regular file (a FIFO)"


def test_file_growing_past_the_limit_while_read(monkeypatch, tmp_path):
    """The size is checked on what was read, not only on what stat said before."""
    monkeypatch.setattr(source, "MAX_BYTES", 1000)
    path = write(tmp_path / "grows.py", "x = 1\n")
    real_read = os.read

    def read_more(fd, n):
        return real_read(fd, n) or b"#" * n  # the file keeps growing behind the reader

    monkeypatch.setattr(source.os, "read", read_more)
    with pytest.raises(source.UnreadableSource, match="file too large to lint"):
        source.read_bytes(str(path))


def test_stdin_with_odd_bytes(project):
    for data, words in [(b"\xef\xbb\xbf" + NORMAL.encode(), None), (b"x = '\xff'\n", "cannot decode"),
                        (b"a\x00b\n", "NUL byte"), (b"", None)]:
        proc = subprocess.run([*script(), "-", "--stdin-filename", "piped.py", "--format", "json"], cwd=project,
                              input=data, capture_output=True, timeout=120)
        assert proc.returncode in (0, 1) and b"Traceback" not in proc.stderr, proc.stderr
        findings = json.loads(proc.stdout)
        if words is None:
            assert all(f["code"] != "MLD001" for f in findings)
        else:
            assert [f["code"] for f in findings] == ["MLD001"] and words in findings[0]["message"]


@pytest.mark.skipif(sys.platform != "linux", reason="character devices at /dev")
def test_device_named_on_the_command_line(cli, project):
    rc, by_path, _ = lint(cli, "/dev/null", "train.py")
    assert rc == 1
    assert_normal_reported(by_path)
    f = only_finding(by_path, "/dev/null")
    assert f["message"] == "cannot read file: not a regular file (a character device)"


# --- the report is never half-written --------------------------------------------------------------


def test_output_write_interrupted_midway_leaves_the_old_report(tmp_path, monkeypatch):
    from mllint_deploy import cli as cli_mod

    report = tmp_path / "report.json"
    report.write_text('["the previous, complete report"]', encoding="utf-8")
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()
            return False

        def write(self, text):
            self.fh.write(text[: len(text) // 2])
            self.fh.flush()
            raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    monkeypatch.setattr(cli_mod.os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    with pytest.raises(KeyboardInterrupt):
        cli_mod._write_atomic(str(report), json.dumps([{"code": "MLD201"}] * 1000))
    assert report.read_text(encoding="utf-8") == '["the previous, complete report"]'
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary file left behind


@needs_posix
@pytest.mark.parametrize("jobs, whole_group", [("1", False), ("2", False), ("2", True)],
                         ids=["in-process", "workers", "workers-ctrl-c-to-group"])
def test_ctrl_c_exits_130_without_a_half_written_report(tmp_path, jobs, whole_group):
    """SIGINT in the middle of a long run with --output: exit 130, one line on stderr, and the report
    is the previous one or absent, never a partial one. `whole_group` sends it to every process of the
    run, as a terminal's Ctrl-C does (worker processes included). The child gets SIGINT's default
    disposition back even when the suite runs with it ignored (nohup, some CI runners): an inherited
    ignore is the parent's deliberate choice, which mllint-deploy keeps, as Python itself does."""
    import signal

    def default_sigint():  # in the child, before exec: Python then installs its KeyboardInterrupt handler
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    root = tmp_path / "tree"
    for i in range(800):
        write(root / f"exp_{i // 50:02d}" / f"train_{i:03d}.py", REALISTIC.replace("depth=4", f"depth={i % 9 + 1}"))
    report = root / "report.json"
    report.write_text("[]", encoding="utf-8")
    proc = subprocess.Popen([*script(), ".", "--format", "json", "--output", "report.json", "--no-cache",
                             "--jobs", jobs], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=default_sigint)
    try:
        time.sleep(2.5)  # well into linting: a full run takes several seconds
        assert proc.poll() is None, "the run finished before it could be interrupted"
        if whole_group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.strip().splitlines()[-1] == "mllint-deploy: interrupted"
    assert "Traceback" not in err
    assert report.read_text(encoding="utf-8") == "[]"  # the old report, untouched
    assert not list(root.glob(".mllint-deploy-*"))  # no temporary file left behind
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # no worker outlives the run
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("worker processes were left running after Ctrl-C")


@needs_posix
def test_an_inherited_ignored_sigint_is_kept(tmp_path):
    """A parent that starts mllint-deploy with SIGINT ignored (nohup, some CI runners) means it: the
    run does not install its own handler over that, finishes and writes its whole report."""
    import signal

    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    root = tmp_path / "tree"
    for i in range(400):
        write(root / f"exp_{i // 50:02d}" / f"train_{i:03d}.py", REALISTIC.replace("depth=4", f"depth={i % 9 + 1}"))
    proc = subprocess.Popen([*script(), ".", "--format", "json", "--output", "report.json", "--no-cache",
                             "--jobs", "2"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=ignore_sigint)
    try:
        time.sleep(1.0)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 1, (proc.returncode, err)
    assert "interrupted" not in err and "Traceback" not in err
    findings = json.loads((root / "report.json").read_text(encoding="utf-8"))
    assert len({f["path"] for f in findings}) == 400
