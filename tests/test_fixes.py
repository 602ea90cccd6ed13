"""Automatic fixes through the real CLI: the catalogue's examples, the fix fixtures (scripts and
notebooks, byte for byte), and every fix option and guarantee (noqa, atomic writes, a file changed
during the run, encodings and line endings, stdin)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import stat
import textwrap
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli_json, run_script
from mllint_deploy.catalogue import load_catalogue
from mllint_deploy.fixes.registry import FIXABLE
from mllint_deploy.sources.notebook import read_notebook

FIX_FIXTURES = FIXTURES / "fixes"


def _write_example(example, directory: Path) -> list[Path]:
    files = example if isinstance(example, dict) else {"example.py": example}
    out = []
    for rel, source in files.items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")
        out.append(target)
    return out


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and ".mllint_deploy_cache" not in p.parts}


FIXABLE_RULES = sorted(c for c, d in load_catalogue().items() if d.autofix is not None)


def test_the_rules_with_a_fix_are_the_documented_ones():
    assert FIXABLE_RULES == sorted(FIXABLE)


@pytest.mark.parametrize("code", FIXABLE_RULES)
def test_fixed_bad_example_parses_is_quiet_and_stays_fixed(code, tmp_path, cli):
    doc = load_catalogue()[code]
    _write_example(doc.bad, tmp_path)
    before = _snapshot(tmp_path)
    rc, _, err = cli(str(tmp_path), "--fix", "--unsafe-fixes", "--no-cache", "--select", "ALL")
    after = _snapshot(tmp_path)
    assert after != before, f"{code}: nothing was fixed ({err})"
    for name, data in after.items():
        if name.endswith(".py"):
            ast.parse(data.decode("utf-8"))
    assert code not in {f["code"] for f in run_cli_json([str(tmp_path), "--no-cache", "--select", "ALL"])}
    cli(str(tmp_path), "--fix", "--unsafe-fixes", "--no-cache", "--select", "ALL")
    assert _snapshot(tmp_path) == after


@pytest.mark.parametrize("code", sorted(load_catalogue()))
def test_good_example_is_left_alone(code, tmp_path, cli):
    _write_example(load_catalogue()[code].good, tmp_path)
    before = _snapshot(tmp_path)
    rc, out, err = cli(str(tmp_path), "--fix", "--unsafe-fixes", "--no-cache", "--select", "ALL")
    assert rc == 0, out + err
    assert _snapshot(tmp_path) == before


def test_explain_documents_the_fix_and_its_safety(cli):
    rc, out, _ = cli("--explain", "MLD102")
    assert rc == 0
    assert "Automatic fix (safe, applied by --fix)" in out
    assert "X_test = scaler.transform(X_test)" in out.split("Automatic fix")[1]
    rc, out, _ = cli("--explain", "MLD106")
    assert "Automatic fix (unsafe, applied by --fix --unsafe-fixes)" in out
    rc, out, _ = cli("--explain", "MLD203")
    assert "Automatic fix" not in out


# --- fixtures: every fix, in scripts and notebooks ---------------------------------------------------

FIXTURE_FILES = sorted(p.name for p in FIX_FIXTURES.iterdir() if p.suffix in (".py", ".ipynb"))


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_fixture_is_fixed_into_its_expected_result(name, tmp_path, cli):
    target = tmp_path / name
    shutil.copyfile(FIX_FIXTURES / name, target)
    expected = (FIX_FIXTURES / f"{name}.fixed").read_bytes()
    cli(str(target), "--fix", "--unsafe-fixes", "--no-cache")
    assert target.read_bytes() == expected
    rc, out, err = cli(str(target), "--fix", "--unsafe-fixes", "--no-cache")
    assert target.read_bytes() == expected  # a second run changes nothing
    assert "Fixed 0 findings in 0 files." in err


def test_every_fix_has_a_fixture(tmp_path):
    fixed_codes = set()
    for name in FIXTURE_FILES:
        # each fixture alone in a folder: linted where it is, the run would read the whole repository
        # as its project (a minute of the suite)
        (tmp_path / name).mkdir()
        target = tmp_path / name / name
        shutil.copyfile(FIX_FIXTURES / name, target)
        for f in run_cli_json([str(target), "--no-cache"]):
            if f["fix"] is not None:
                fixed_codes.add(f["code"])
    assert fixed_codes == set(FIXABLE)


def test_safe_fixes_only_without_unsafe_fixes(tmp_path, cli):
    target = tmp_path / "housing.py"
    shutil.copyfile(FIX_FIXTURES / "housing_leaky_preprocessing.py", target)
    original = target.read_text(encoding="utf-8")
    rc, out, err = cli(str(target), "--fix", "--no-cache")
    fixed = target.read_text(encoding="utf-8")
    assert "minmax.transform(X_test)" in fixed and "minmax.fit_transform(X_test)" not in fixed
    # the unsafe ones (MLD101, the removed refit, MLD106) are still there and still reported
    assert "X = scaler.fit_transform(X)" in fixed and "vectorizer.fit(test_text)" in fixed
    assert "shuffle=False" not in fixed
    assert fixed.count("\n") == original.count("\n")
    assert rc == 1 and "Fixed 1 finding in 1 file." in err
    assert "0 fixable with --fix (3 more with --unsafe-fixes)." in out


def test_notebook_fix_keeps_outputs_metadata_and_layout(tmp_path, cli):
    target = tmp_path / "wine.ipynb"
    shutil.copyfile(FIX_FIXTURES / "wine_quality_baseline.ipynb", target)
    before = target.read_text(encoding="utf-8")
    cli(str(target), "--fix", "--no-cache")
    after = target.read_text(encoding="utf-8")
    old_nb, new_nb = json.loads(before), json.loads(after)
    assert [c.get("outputs") for c in old_nb["cells"]] == [c.get("outputs") for c in new_nb["cells"]]
    assert old_nb["metadata"] == new_nb["metadata"]
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(before.splitlines()) == len(after.splitlines()) and len(changed) == 3
    assert all(a.lstrip().startswith('"') and "random_state" in b or "transform" in b for a, b in changed)
    assert "«never touched»" in after and "R² on the holdout" in after  # not escaped to \\u


# --- what is never fixed ------------------------------------------------------------------------------

UNSEEDED = textwrap.dedent("""\
    import pandas as pd
    from sklearn.model_selection import train_test_split

    df = pd.read_csv("loans.csv")
    train, test = train_test_split(df, test_size=0.2)
    """)


def test_noqa_suppressed_finding_is_not_fixed(tmp_path, cli):
    target = tmp_path / "split.py"
    text = UNSEEDED.replace("test_size=0.2)", "test_size=0.2)  # noqa: MLD201")
    target.write_text(text, encoding="utf-8")
    rc, out, err = cli(str(target), "--fix", "--no-cache")
    assert rc == 0 and target.read_text(encoding="utf-8") == text


def test_seed_constant_defined_after_a_module_level_call_is_not_used(tmp_path, cli):
    target = tmp_path / "late.py"
    target.write_text(UNSEEDED + "SEED = 3\nmodel_seed = dict(random_state=SEED)\n", encoding="utf-8")
    cli(str(target), "--fix", "--no-cache")
    assert "test_size=0.2, random_state=42)" in target.read_text(encoding="utf-8")


def test_fresh_object_fitted_on_test_has_no_fix(tmp_path):
    target = tmp_path / "h.py"
    shutil.copyfile(FIX_FIXTURES / "housing_leaky_preprocessing.py", target)
    findings = [f for f in run_cli_json([str(target), "--no-cache"]) if f["line"] == 42]
    assert [f["code"] for f in findings] == ["MLD102"] and findings[0]["fix"] is None


def test_deliberate_non_fixed_seed_is_not_replaced(tmp_path):
    target = tmp_path / "t.py"
    target.write_text(UNSEEDED.replace("test_size=0.2)", "test_size=0.2, random_state=int(time.time()))")
                      .replace("import pandas", "import time\nimport pandas"), encoding="utf-8")
    [f] = run_cli_json([str(target), "--no-cache"])
    assert f["code"] == "MLD201" and f["fix"] is None


# --- options ------------------------------------------------------------------------------------------

def test_diff_previews_and_writes_nothing(tmp_path, cli):
    target = tmp_path / "split.py"
    target.write_text(UNSEEDED, encoding="utf-8")
    rc, out, err = cli(str(target), "--diff", "--no-cache")
    assert rc == 1
    assert target.read_text(encoding="utf-8") == UNSEEDED
    assert f"--- a/{target.as_posix()}" in out and "+train, test = train_test_split(df, test_size=0.2, " \
        "random_state=42)" in out and "-train, test = train_test_split(df, test_size=0.2)" in out
    assert "Would fix 1 finding in 1 file." in err
    target.write_text(UNSEEDED.replace("0.2)", "0.2, random_state=0)"), encoding="utf-8")
    rc, out, err = cli(str(target), "--diff", "--no-cache")
    assert rc == 0 and out == ""


def test_exit_non_zero_on_fix(tmp_path, cli):
    target = tmp_path / "split.py"
    target.write_text(UNSEEDED, encoding="utf-8")
    rc, out, err = cli(str(target), "--fix", "--no-cache")
    assert rc == 0 and "All clear" in out and "Fixed 1 finding in 1 file." in err
    target.write_text(UNSEEDED, encoding="utf-8")
    rc, _, _ = cli(str(target), "--fix", "--exit-non-zero-on-fix", "--no-cache")
    assert rc == 1
    rc, _, _ = cli(str(target), "--fix", "--exit-non-zero-on-fix", "--no-cache")
    assert rc == 0  # nothing left to fix


def test_text_marks_and_counts_fixable_findings(tmp_path, cli):
    target = tmp_path / "housing.py"
    shutil.copyfile(FIX_FIXTURES / "housing_leaky_preprocessing.py", target)
    rc, out, _ = cli(str(target), "--no-cache")
    lines = out.splitlines()
    assert lines[-1] == "1 fixable with --fix (3 more with --unsafe-fixes)."
    assert sum(" [*] " in line for line in lines) == 1
    rc, out, _ = cli(str(target), "--no-cache", "--unsafe-fixes")
    assert out.splitlines()[-1] == "4 fixable with --fix --unsafe-fixes."
    assert sum(" [*] " in line for line in out.splitlines()) == 4


def test_json_fix_object(tmp_path):
    target = tmp_path / "split.py"
    target.write_text(UNSEEDED, encoding="utf-8")
    [f] = run_cli_json([str(target), "--no-cache"])
    assert f["fix"] == {"applicability": "safe", "message": "Pass random_state=42 to the split",
                        "edits": [{"line": 5, "column": 49, "end_line": 5, "end_column": 49,
                                   "content": ", random_state=42"}]}


def test_sarif_fix_object(tmp_path, cli):
    target = tmp_path / "split.py"
    target.write_text(UNSEEDED, encoding="utf-8")
    rc, out, _ = cli(str(target), "--no-cache", "--format", "sarif")
    [result] = json.loads(out)["runs"][0]["results"]
    [fix] = result["fixes"]
    assert fix["description"]["text"] == "Pass random_state=42 to the split"
    [change] = fix["artifactChanges"]
    assert change["artifactLocation"] == result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert change["replacements"] == [{"deletedRegion": {"startLine": 5, "startColumn": 49, "endLine": 5,
                                                         "endColumn": 49},
                                       "insertedContent": {"text": ", random_state=42"}}]


def test_changed_since_replaces_the_old_diff_ref(tmp_path, cli, monkeypatch):
    (tmp_path / "split.py").write_text(UNSEEDED, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli("--diff", "origin/main")
    assert rc == 2 and "--changed-since REF" in err and len(err.strip().splitlines()) == 1
    rc, out, err = cli("--changed-since", "main")
    assert rc == 2 and "--changed-since" in err


def test_fix_rejects_incompatible_options(tmp_path, cli):
    (tmp_path / "split.py").write_text(UNSEEDED, encoding="utf-8")
    rc, _, err = cli(str(tmp_path), "--fix", "--write-baseline", str(tmp_path / "b.json"))
    assert rc == 2 and len(err.strip().splitlines()) == 1
    rc, _, err = cli(str(tmp_path), "--fix", "--statistics")
    assert rc == 2 and len(err.strip().splitlines()) == 1


def test_stdin_fix_prints_the_fixed_source():
    proc = run_script("-", "--fix", "--stdin-filename", "split.py", "--no-cache", input=UNSEEDED.encode())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == UNSEEDED.replace("0.2)", "0.2, random_state=42)")
    assert b"All clear" in proc.stderr


# --- guarantees ---------------------------------------------------------------------------------------

def test_crlf_bom_cookie_and_permissions_are_kept(tmp_path, cli):
    crlf = tmp_path / "crlf.py"
    crlf.write_bytes(b"\xef\xbb\xbf" + UNSEEDED.replace("\n", "\r\n").encode())
    crlf.chmod(0o750)
    latin = tmp_path / "latin.py"
    latin.write_bytes(("# -*- coding: latin-1 -*-\n# données\n" + UNSEEDED).encode("latin-1"))
    cli(str(tmp_path), "--fix", "--no-cache")
    assert crlf.read_bytes() == b"\xef\xbb\xbf" + UNSEEDED.replace("0.2)", "0.2, random_state=42)").replace(
        "\n", "\r\n").encode()
    assert stat.S_IMODE(crlf.stat().st_mode) == 0o750
    assert latin.read_bytes() == ("# -*- coding: latin-1 -*-\n# données\n" + UNSEEDED.replace(
        "0.2)", "0.2, random_state=42)")).encode("latin-1")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mllint-deploy-")]


def test_file_changed_on_disk_during_the_run_is_not_overwritten(tmp_path, monkeypatch, capsys):
    from mllint_deploy.cli import run_cli
    from mllint_deploy.pipeline import fixing

    target = tmp_path / "split.py"
    target.write_text(UNSEEDED, encoding="utf-8")
    edited = UNSEEDED + "print(len(train))\n"
    real = fixing.fix_run

    def edit_while_fixing(*args, **kwargs):
        outcome = real(*args, **kwargs)
        target.write_text(edited, encoding="utf-8")  # the user saves the file meanwhile
        return outcome

    monkeypatch.setattr(fixing, "fix_run", edit_while_fixing)
    rc = run_cli([str(target), "--fix", "--no-cache"])
    err = capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == edited
    assert "split.py changed on disk during the run; not overwritten" in err
    assert rc == 1  # what was reported still stands


def test_symlink_target_is_fixed_and_the_link_kept(tmp_path, cli):
    real = tmp_path / "real.py"
    real.write_text(UNSEEDED, encoding="utf-8")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    cli(str(link), "--fix", "--no-cache")
    assert link.is_symlink() and "random_state=42" in real.read_text(encoding="utf-8")


def test_fixed_notebook_still_reads_as_a_notebook(tmp_path, cli):
    target = tmp_path / "pump.ipynb"
    shutil.copyfile(FIX_FIXTURES / "pump_failure_scaled_before_split.ipynb", target)
    cli(str(target), "--fix", "--unsafe-fixes", "--no-cache")
    nb = read_notebook(target.read_bytes())
    assert nb is not None and not nb.bad_cells
    assert "X_test = robust.transform(X_test)" in nb.text


def test_model_refitted_on_test_has_no_fix(tmp_path):
    target = tmp_path / "refit.py"
    target.write_text(textwrap.dedent("""\
        import pandas as pd
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split

        df = pd.read_csv("loans.csv")
        X_train, X_test, y_train, y_test = train_test_split(df[["a", "b"]], df["y"], random_state=0)
        model = LogisticRegression(max_iter=500)
        model.fit(X_train, y_train)
        model.fit(X_test, y_test)
        """), encoding="utf-8")
    [f] = run_cli_json([str(target), "--no-cache"])
    assert f["code"] == "MLD102" and f["fix"] is None


def test_project_seed_from_config_is_written_where_the_file_has_none(tmp_path, cli):
    (tmp_path / "pyproject.toml").write_text("[tool.mllint-deploy]\nseed = 2024\n", encoding="utf-8")
    plain = tmp_path / "split.py"
    plain.write_text(UNSEEDED, encoding="utf-8")
    own = tmp_path / "own.py"
    own.write_text("SEED = 7\n" + UNSEEDED + "cv_seed = dict(random_state=SEED)\n", encoding="utf-8")
    rc, out, err = cli(str(plain), str(own), "--fix", "--no-cache")
    assert "test_size=0.2, random_state=2024)" in plain.read_text(encoding="utf-8")
    assert "test_size=0.2, random_state=SEED)" in own.read_text(encoding="utf-8")  # the file's own wins
    rc, out, err = cli(str(plain), "--show-settings")
    assert any(line.split("#")[0].split() == ["seed", "=", "2024"] for line in out.splitlines())


def test_project_seed_reaches_worker_processes(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.mllint-deploy]\nseed = 99\n", encoding="utf-8")
    for i in range(12):
        (tmp_path / f"split_{i}.py").write_text(UNSEEDED, encoding="utf-8")
    proc = run_script(str(tmp_path), "--fix", "--no-cache", "--jobs", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert all("random_state=99)" in p.read_text(encoding="utf-8") for p in tmp_path.glob("split_*.py"))


@pytest.mark.parametrize("value", ['"42"', "true", "-1", "4294967296", "1.5"])
def test_bad_seed_in_config_is_one_line_and_exit_2(tmp_path, value):
    (tmp_path / "pyproject.toml").write_text(f"[tool.mllint-deploy]\nseed = {value}\n", encoding="utf-8")
    (tmp_path / "split.py").write_text(UNSEEDED, encoding="utf-8")
    proc = run_script(str(tmp_path / "split.py"), cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.strip().endswith("'seed' must be an integer from 0 to 2**32 - 1") and len(err.strip().splitlines()) == 1


def test_seed_constant_named_as_one_is_used_before_it_is_passed_anywhere(tmp_path, cli):
    imported = tmp_path / "imported.py"
    imported.write_text("from settings import RANDOM_SEED\n" + UNSEEDED, encoding="utf-8")
    local = tmp_path / "local.py"
    local.write_text("SEED_VALUE = 11\nset_seed = 3\n" + UNSEEDED, encoding="utf-8")
    other = tmp_path / "other.py"
    other.write_text("N_SPLITS = 5\n" + UNSEEDED, encoding="utf-8")  # not a seed by its name
    cli(str(imported), str(local), str(other), "--fix", "--no-cache")
    assert "test_size=0.2, random_state=RANDOM_SEED)" in imported.read_text(encoding="utf-8")
    assert "test_size=0.2, random_state=SEED_VALUE)" in local.read_text(encoding="utf-8")
    assert "test_size=0.2, random_state=42)" in other.read_text(encoding="utf-8")


def test_inference_mode_wrap_keeps_crlf_line_endings(tmp_path, cli):
    source = (FIX_FIXTURES / "digits_service_autograd.py").read_bytes().replace(b"\n", b"\r\n")
    target = tmp_path / "svc.py"
    target.write_bytes(source)
    cli(str(target), "--fix", "--no-cache")
    fixed = target.read_bytes()
    assert b"    with torch.inference_mode():\r\n        scores = net(" in fixed
    assert b"\n" not in fixed.replace(b"\r\n", b"")
