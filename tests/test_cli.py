"""The command line: exit codes, selection, suppression, config, stdin, output files, errors."""

from __future__ import annotations

import json
import textwrap

from conftest import FIXTURES, run_script

BAD = textwrap.dedent(
    """\
    import numpy as np
    from sklearn.model_selection import train_test_split as tts

    X, y = np.zeros((10, 2)), np.zeros(10)
    X_tr, X_te, y_tr, y_te = tts(X, y, test_size=0.2)
    rng = np.random.default_rng()
    """
)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_findings_exit_1_with_text_lines_and_summary(cli, tmp_path):
    p = write(tmp_path, "train.py", BAD)
    rc, out, err = cli(str(p))
    assert rc == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{p}:5:") or lines[0].endswith("") and ":5:" in lines[0]
    assert " MLD201 " in lines[0] and "tts(...)" in lines[0]
    assert ":6:7: MLD204 [*] " in lines[1]
    assert lines[-2].startswith("Found 2 findings in 1 file")
    assert lines[-1] == "2 fixable with --fix."
    assert err == ""


def test_clean_file_exit_0(cli, tmp_path):
    p = write(tmp_path, "ok.py", "import numpy as np\nrng = np.random.default_rng(0)\n")
    rc, out, _ = cli(str(p))
    assert rc == 0 and "no findings" in out


def test_exit_zero_quiet_and_statistics(cli, tmp_path):
    p = write(tmp_path, "train.py", BAD)
    rc, out, _ = cli(str(p), "--exit-zero", "--quiet", "--statistics")
    assert rc == 0
    assert "Found" not in out
    assert "1  MLD201  unseeded-split" in out and "1  MLD204  unseeded-generator" in out


def test_select_ignore_prefixes(cli, tmp_path):
    p = write(tmp_path, "train.py", BAD)
    rc, out, _ = cli(str(p), "--select", "MLD204", "-q")
    assert "MLD204" in out and "MLD201" not in out
    rc, out, _ = cli(str(p), "--select", "MLD2", "--ignore", "MLD204", "-q")
    assert "MLD201" in out and "MLD204" not in out
    rc, out, _ = cli(str(p), "--ignore", "MLD20", "-q")
    assert rc == 0 and out == ""
    rc, out, _ = cli(str(p), "--ignore", "MLD2", "--extend-select", "MLD201", "-q")
    assert "MLD201" in out and "MLD204" not in out


def test_unknown_selector_is_one_line_exit_2(cli, tmp_path):
    p = write(tmp_path, "train.py", BAD)
    rc, out, err = cli(str(p), "--select", "XYZ1")
    assert rc == 2 and out == ""
    assert err.strip().count("\n") == 0 and "unknown rule selector" in err


def test_missing_path_exit_2(cli, tmp_path):
    rc, _, err = cli(str(tmp_path / "nope"))
    assert rc == 2 and "path does not exist" in err and "Traceback" not in err


def test_bad_option_exit_2_one_line(cli):
    rc, _, err = cli("--format", "xml")
    assert rc == 2 and len(err.strip().splitlines()) == 1


def test_noqa_line_and_file_level(cli, tmp_path):
    src = BAD.replace("test_size=0.2)", "test_size=0.2)  # noqa: MLD201")
    p = write(tmp_path, "a.py", src)
    rc, out, _ = cli(str(p), "-q")
    assert "MLD201" not in out and "MLD204" in out
    p2 = write(tmp_path, "b.py", "# mllint-deploy: noqa: MLD204\n" + BAD)
    rc, out, _ = cli(str(p2), "-q")
    assert "MLD204" not in out and "MLD201" in out
    p3 = write(tmp_path, "c.py", BAD.replace("default_rng()", "default_rng()  # noqa"))
    rc, out, _ = cli(str(p3), "-q", "--select", "MLD204")
    assert rc == 0


def test_config_in_pyproject_and_per_file_ignores(cli, tmp_path):
    write(tmp_path, "pyproject.toml", textwrap.dedent(
        """\
        [tool.mllint-deploy]
        ignore = ["MLD204"]
        extend-exclude = ["legacy"]
        [tool.mllint-deploy.per-file-ignores]
        "notebooks/*" = ["MLD2"]
        """))
    write(tmp_path, "src/train.py", BAD)
    write(tmp_path, "legacy/old.py", BAD)
    write(tmp_path, "notebooks/eda.py", BAD)
    rc, out, _ = cli(str(tmp_path), "-q")
    assert rc == 1
    assert out.count("MLD201") == 1 and "src/train.py" in out
    assert "MLD204" not in out and "legacy" not in out and "notebooks" not in out
    rc, out, _ = cli(str(tmp_path), "-q", "--select", "MLD20")
    assert "MLD201" in out and "MLD204" not in out  # CLI --select replaces select; the ignore stays


def test_unknown_config_key_exit_2(cli, tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.mllint-deploy]\nselct = ['MLD2']\n")
    write(tmp_path, "a.py", BAD)
    rc, _, err = cli(str(tmp_path))
    assert rc == 2 and "unknown key 'selct'" in err


def test_bad_config_value_exit_2(cli, tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.mllint-deploy]\nignore = 3\n")
    write(tmp_path, "a.py", BAD)
    rc, _, err = cli(str(tmp_path))
    assert rc == 2 and "'ignore' must be a list of strings" in err
    write(tmp_path, "pyproject.toml", "[tool.mllint-deploy\n")
    rc, _, err = cli(str(tmp_path))
    assert rc == 2 and "invalid TOML" in err


def test_explicit_config_file(cli, tmp_path):
    cfg = write(tmp_path, "lint.toml", "select = ['MLD204']\n")
    p = write(tmp_path, "a.py", BAD)
    rc, out, _ = cli(str(p), "--config", str(cfg), "-q")
    assert "MLD204" in out and "MLD201" not in out


def test_explain_and_list_rules(cli):
    rc, out, _ = cli("--explain", "MLD101")
    assert rc == 0 and out.startswith("MLD101 fit-before-split") and "Why it matters" in out
    rc, out, _ = cli("--explain", "unseeded-split")
    assert rc == 0 and out.startswith("MLD201")
    rc, _, err = cli("--explain", "MLD999")
    assert rc == 2 and "unknown rule" in err
    rc, out, _ = cli("--list-rules")
    assert rc == 0 and "MLD201  unseeded-split" in out and "MLD405" in out


def test_syntax_error_is_a_finding_and_run_goes_on(cli, tmp_path):
    write(tmp_path, "broken.py", "def f(:\n    pass\n")
    write(tmp_path, "train.py", BAD)
    rc, out, _ = cli(str(tmp_path), "-q")
    assert rc == 1
    assert "broken.py:1:" in out and "MLD001" in out
    assert "MLD201" in out and "MLD204" in out


def test_stdin_with_filename(tmp_path):
    proc = run_script("-", "--stdin-filename", "pkg/train.py", "-q", input=BAD.encode())
    assert proc.returncode == 1
    assert proc.stdout.decode().startswith("pkg/train.py:5:")


def test_output_file_is_written(cli, tmp_path):
    p = write(tmp_path, "a.py", BAD)
    out_file = tmp_path / "report.json"
    rc, out, _ = cli(str(p), "--format", "json", "--output", str(out_file))
    assert rc == 1 and out == ""
    data = json.loads(out_file.read_text())
    assert [d["code"] for d in data] == ["MLD201", "MLD204"]
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".mllint-deploy-")]


def test_version_and_accepted_flags(cli, tmp_path):
    rc, out, _ = cli("--version")
    assert rc == 0 and "mllint-deploy" in out
    p = write(tmp_path, "a.py", "x = 1\n")
    rc, _, _ = cli(str(p), "--no-cache", "--jobs", "2", "--force-exclude")
    assert rc == 0


def test_installed_script_and_module_entry_point():
    proc = run_script(str(FIXTURES / "core"), "-q", "--select", "MLD204")
    assert proc.returncode == 1 and b"MLD204" in proc.stdout
    import subprocess
    import sys

    proc2 = subprocess.run([sys.executable, "-m", "mllint_deploy", "--version"], capture_output=True)
    assert proc2.returncode == 0 and b"0.1.0" in proc2.stdout
