"""Shared test helpers: run the real CLI in-process or as the installed script, read fixture
annotations (`# expect: MLD101`) and compare them with what the linter reports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mllint_deploy.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(MLD\d{3}(?:\s*,\s*MLD\d{3})*)")


def script() -> list[str]:
    """The installed console script if there is one next to this interpreter, else `python -m`."""
    exe = Path(sys.executable).with_name("mllint-deploy")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mllint_deploy"]


def run_script(*args: str, cwd=None, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*script(), *args], cwd=cwd, input=input, capture_output=True, timeout=300)


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit status, stdout, stderr)."""

    def _run(*args: str):
        rc = run_cli(list(args))
        out, err = capsys.readouterr()
        return rc, out, err

    return _run


def expected_findings(directory: Path, codes: set[str] | None = None) -> set[tuple[str, int, str]]:
    """(relative path, line, code) for every `# expect:` annotation below `directory`. In a notebook the
    annotation sits in a code cell and the path reads `serve.ipynb:cell 4` (cells counted from 1, markdown
    included), the line being the cell's own."""
    out = set()
    for path in sorted([*directory.rglob("*.py"), *directory.rglob("*.ipynb")]):
        rel = path.relative_to(directory).as_posix()
        if path.suffix == ".ipynb":
            try:
                cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
            except ValueError:
                continue  # a broken notebook carries no annotations
            texts = [(f"{rel}:cell {i}", "".join(c.get("source", "")))
                     for i, c in enumerate(cells, start=1) if c.get("cell_type") == "code"]
        else:
            texts = [(rel, path.read_bytes().decode("utf-8", errors="replace"))]
        for where, text in texts:
            for lineno, line in enumerate(text.splitlines(), start=1):
                m = EXPECT.search(line)
                if m:
                    for code in re.split(r"\s*,\s*", m.group(1)):
                        if codes is None or code in codes:
                            out.add((where, lineno, code))
    return out


def reported_findings(directory: Path, codes: set[str], *extra: str) -> set[tuple[str, int, str]]:
    """(relative path, line, code) the real CLI reports on `directory`, for `codes`."""
    proc_rc = run_cli_json([str(directory), "--select", ",".join(sorted(codes)), *extra])
    out = set()
    for f in proc_rc:
        rel = Path(f["path"]).resolve().relative_to(directory.resolve()).as_posix()
        if f.get("cell") is not None:
            rel = f"{rel}:cell {f['cell']}"
        out.add((rel, f["line"], f["code"]))
    return out


def run_cli_json(args: list[str]) -> list[dict]:
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = run_cli([*args, "--format", "json"])
    assert rc in (0, 1), f"exit {rc}"
    return json.loads(buf.getvalue())


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def implemented() -> set[str]:
    from mllint_deploy.registry import implemented_codes

    return implemented_codes()
