"""The benchmark script keeps working: its smoke variant (fixtures, one repetition) runs end to end
and prints every row and every target verdict. The timings themselves are not asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

BENCH = ROOT / "benchmarks" / "bench.py"


def test_bench_smoke_runs_and_reports_every_step(tmp_path):
    out_json = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(BENCH), "--smoke", "--json", str(out_json)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout
    for row in ("bare libcst parse, 1 process", "bare libcst parse, 2 processes (floor)",
                "cold run, 2 workers, --no-cache", "cold run, 2 workers, fresh cache", "warm run, nothing changed",
                "one file changed", "one small file, as pre-commit runs it", "import libcst' + parse it"):
        assert row in table, row
    assert table.count("target ") == 4
    assert "internal errors reported: 0" in table
    report = json.loads(out_json.read_text(encoding="utf-8"))
    assert report["files"] > 20 and report["lines"] > 1000
    assert set(report["verdicts"]) == {"cold_vs_floor", "warm_vs_cold", "small_vs_floor", "peak_mb"}
    for key in ("floor_1", "floor_2", "cold", "cold_cache", "warm", "one_file", "small", "small_floor"):
        assert report["rows"][key]["wall"] > 0
    assert report["rows"]["warm"]["wall"] < report["rows"]["cold"]["wall"]


@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None, reason="needs the git checkout")
def test_bench_corpus_is_ignored_by_git():
    ignored = subprocess.run(["git", "check-ignore", "-q", "benchmarks/.corpus/scikit-learn-1.9.1/x.py"], cwd=ROOT)
    assert ignored.returncode == 0
