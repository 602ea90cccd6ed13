"""Command-line settings as ruff users expect them: config discovery and precedence, CLI excludes and
per-file-ignores, type errors, --show-settings/--show-files, --statistics, colour, progress, -o folders."""

from __future__ import annotations

import io
import json
import textwrap

from mllint_deploy import terminal

BAD = textwrap.dedent(
    """\
    import numpy as np
    from sklearn.model_selection import train_test_split

    X, y = np.zeros((10, 2)), np.zeros(10)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2)
    rng = np.random.default_rng()
    """
)


def write(root, name, text):
    p = root / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_dedicated_config_files_and_their_precedence(cli, tmp_path):
    write(tmp_path, "src/train.py", BAD)
    write(tmp_path, "pyproject.toml", '[tool.mllint-deploy]\nignore = ["MLD201"]\n')
    rc, out, _ = cli(str(tmp_path), "-q")
    assert "MLD201" not in out and "MLD204" in out
    write(tmp_path, "mllint-deploy.toml", 'ignore = ["MLD204"]\n')  # beats pyproject.toml in the same folder
    rc, out, _ = cli(str(tmp_path), "-q")
    assert "MLD201" in out and "MLD204" not in out
    write(tmp_path, ".mllint-deploy.toml", 'select = ["MLD204"]\n')  # beats mllint-deploy.toml
    rc, out, _ = cli(str(tmp_path), "-q")
    assert "MLD201" not in out and "MLD204" in out
    rc, out, _ = cli(str(tmp_path), "--show-settings")
    assert rc == 0 and f"# config file: {(tmp_path / '.mllint-deploy.toml').as_posix()}" in out


def test_nearer_pyproject_beats_a_dedicated_file_further_up(cli, tmp_path):
    write(tmp_path, "mllint-deploy.toml", 'ignore = ["MLD204"]\n')
    write(tmp_path, "pkg/pyproject.toml", '[tool.mllint-deploy]\nignore = ["MLD201"]\n')
    write(tmp_path, "pkg/train.py", BAD)
    rc, out, _ = cli(str(tmp_path / "pkg"), "-q")
    assert "MLD201" not in out and "MLD204" in out


def test_pyproject_without_our_table_is_passed_over(cli, tmp_path):
    write(tmp_path, "mllint-deploy.toml", 'ignore = ["MLD204"]\n')
    write(tmp_path, "pkg/pyproject.toml", '[project]\nname = "x"\n')
    write(tmp_path, "pkg/train.py", BAD)
    rc, out, _ = cli(str(tmp_path / "pkg"), "-q")
    assert "MLD201" in out and "MLD204" not in out


def test_a_string_where_a_list_belongs_is_an_error_naming_the_key(cli, tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.mllint-deploy]\nignore = "MLD201"\n')
    write(tmp_path, "a.py", BAD)
    rc, out, err = cli(str(tmp_path))
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "'ignore' must be a list of strings, not a string" in err
    write(tmp_path, "pyproject.toml", '[tool.mllint-deploy]\nextend-exclude = "legacy"\n')
    rc, _, err = cli(str(tmp_path))
    assert rc == 2 and "'extend-exclude'" in err


def test_per_file_ignores_pattern_without_slash_matches_the_name_in_any_folder(cli, tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.mllint-deploy.per-file-ignores]\n"test_*.py" = ["MLD2"]\n')
    write(tmp_path, "tests/unit/test_split.py", BAD)
    write(tmp_path, "src/train.py", BAD)
    write(tmp_path, "src/contest_split.py", BAD)  # the pattern is the whole name, not a suffix
    rc, out, _ = cli(str(tmp_path), "-q")
    assert "unit/test_split.py" not in out
    assert "src/train.py" in out and "src/contest_split.py" in out


def test_cli_excludes_and_per_file_ignores(cli, tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.mllint-deploy.per-file-ignores]\n"scripts/*" = ["MLD204"]\n')
    write(tmp_path, "legacy/old.py", BAD)
    write(tmp_path, "scripts/run.py", BAD)
    write(tmp_path, "src/train.py", BAD)
    rc, out, _ = cli(str(tmp_path), "-q", "--extend-exclude", "legacy")
    assert "legacy" not in out and "src/train.py" in out
    assert "scripts/run.py" in out and out.count("MLD204") == 1  # the config's table still applies
    rc, out, _ = cli(str(tmp_path), "-q", "--extend-exclude", "legacy", "--extend-per-file-ignores", "src/*:MLD2")
    assert "src/train.py" not in out and "MLD204" not in out
    rc, out, _ = cli(str(tmp_path), "-q", "--per-file-ignores", "src/*:MLD201")  # replaces the table
    assert out.count("MLD204") == 3 and "src/train.py:5" not in out
    rc, out, _ = cli(str(tmp_path), "--show-files", "--exclude", "legacy,scripts")
    assert rc == 0 and len(out.split()) == 1 and out.split()[0].endswith("src/train.py")
    assert "legacy" not in out and "scripts" not in out


def test_cli_per_file_ignores_needs_pattern_and_codes(cli, tmp_path):
    write(tmp_path, "a.py", BAD)
    rc, _, err = cli(str(tmp_path), "--per-file-ignores", "tests/*")
    assert rc == 2 and "expected PATTERN:CODES" in err
    rc, _, err = cli(str(tmp_path), "--per-file-ignores", "tests/*:MLD999")
    assert rc == 2 and "MLD999" in err


def test_show_settings_says_where_each_value_came_from(cli, tmp_path):
    cfg = write(tmp_path, "pyproject.toml", '[tool.mllint-deploy]\nignore = ["MLD205"]\n')
    write(tmp_path, "a.py", BAD)
    rc, out, _ = cli(str(tmp_path), "--show-settings", "--extend-exclude", "legacy", "--jobs", "1")
    assert rc == 0
    lines = {line.split("=")[0].strip(): line for line in out.splitlines() if not line.startswith("#")}
    assert lines["ignore"].endswith(f"# {cfg}") and '"MLD205"' in lines["ignore"]
    assert lines["extend-exclude"].endswith("# command line")
    assert lines["jobs"].startswith("jobs") and lines["jobs"].endswith("# command line")
    assert lines["select"].endswith("# default")


def test_show_files_lists_what_would_be_linted(cli, tmp_path):
    write(tmp_path, "src/train.py", BAD)
    write(tmp_path, "nb/eda.ipynb", json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    write(tmp_path, ".venv/lib/x.py", BAD)
    write(tmp_path, "README.md", "# x\n")
    rc, out, _ = cli(str(tmp_path), "--show-files")
    assert rc == 0
    assert sorted(p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in out.split()) == [
        "nb/eda.ipynb", "src/train.py"]


def test_no_lintable_file_is_said_on_stderr(cli, tmp_path):
    write(tmp_path, "docs/README.md", "# nothing to lint\n")
    rc, out, err = cli(str(tmp_path / "docs"))
    assert rc == 0
    assert "no Python files or notebooks to lint" in err


def test_statistics_prints_only_the_table(cli, tmp_path):
    p = write(tmp_path, "train.py", BAD + "X2_tr, X2_te = train_test_split(X)\n")
    rc, out, _ = cli(str(p), "--statistics")
    assert rc == 1
    assert out.splitlines() == ["2  MLD201  unseeded-split", "1  MLD204  unseeded-generator"]
    rc, out, _ = cli(str(p), "--statistics", "--format", "json")
    assert json.loads(out) == [{"code": "MLD201", "name": "unseeded-split", "count": 2},
                               {"code": "MLD204", "name": "unseeded-generator", "count": 1}]
    rc, _, err = cli(str(p), "--statistics", "--format", "sarif")
    assert rc == 2 and "--statistics works with --format text or json" in err


def test_colour_only_when_asked_or_on_a_terminal(cli, tmp_path, monkeypatch):
    p = write(tmp_path, "train.py", BAD)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    rc, out, _ = cli(str(p), "-q")
    assert "\033[" not in out  # captured output is not a terminal
    rc, out, _ = cli(str(p), "-q", "--color", "always")
    assert "\033[1;33mMLD201\033[0m" in out and "\033[1m" in out
    monkeypatch.setenv("FORCE_COLOR", "1")
    rc, out, _ = cli(str(p), "-q")
    assert "\033[" in out
    monkeypatch.setenv("NO_COLOR", "1")
    rc, out, _ = cli(str(p), "-q")
    assert "\033[" not in out
    rc, out, _ = cli(str(p), "-q", "--color", "always", "--format", "json")
    assert "\033[" not in out


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_colour_auto_follows_the_stream(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert terminal.use_colour("auto", _Tty()) and not terminal.use_colour("auto", io.StringIO())
    monkeypatch.setenv("TERM", "dumb")
    assert not terminal.use_colour("auto", _Tty())


def test_progress_line_is_drawn_in_place_then_erased(monkeypatch):
    stream = _Tty()
    progress = terminal.Progress(stream)
    monkeypatch.setattr(terminal.Progress, "DELAY", 0.0)
    monkeypatch.setattr(terminal.Progress, "INTERVAL", 0.0)
    progress.start(3)
    for _ in range(3):
        progress.tick()
    progress.finish()
    text = stream.getvalue()
    assert "\rmllint-deploy: 1/3 files" in text and "3/3 files, checking across files" in text
    assert text.endswith("\r") and "\n" not in text


def test_short_runs_and_ci_show_no_progress(monkeypatch, cli, tmp_path):
    stream = _Tty()
    progress = terminal.Progress(stream)
    progress.start(2)
    progress.tick()
    progress.tick()
    progress.finish()
    assert stream.getvalue() == ""  # well under a second
    monkeypatch.setenv("CI", "true")
    assert not terminal.interactive(_Tty())
    monkeypatch.delenv("CI")
    monkeypatch.setenv("TERM", "xterm")
    assert terminal.interactive(_Tty()) and not terminal.interactive(io.StringIO())


def test_output_into_a_missing_folder_creates_it(cli, tmp_path):
    p = write(tmp_path, "train.py", BAD)
    target = tmp_path / "reports" / "ci" / "lint.sarif"
    rc, out, err = cli(str(p), "--format", "sarif", "-o", str(target))
    assert rc == 1 and out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["version"] == "2.1.0"
    blocker = write(tmp_path, "file", "x")
    rc, _, err = cli(str(p), "-o", str(blocker / "x.txt"))
    assert rc == 2 and err.startswith("mllint-deploy: error: cannot write") and err.count("\n") == 1


def test_help_lists_exit_codes_and_formats_and_unknown_options_get_the_closest(cli):
    rc, out, _ = cli("--help")
    assert rc == 0
    assert "Exit status:" in out and "2  bad usage or configuration" in out
    assert "sarif (SARIF 2.1.0" in out
    rc, _, err = cli("--selct", "MLD1")
    assert rc == 2 and err == "mllint-deploy: error: no such option: --selct. Did you mean --select?\n"
    rc, _, err = cli("--zzzzzz")
    assert rc == 2 and "See --help" in err
