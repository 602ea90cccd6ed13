"""Benchmark mllint-deploy against the floor: libcst's bare parse of the same files (issue 8).

    python benchmarks/bench.py              # the scikit-learn 1.9.1 wheel's .py files (fetched once)
    python benchmarks/bench.py --smoke      # fixtures/leakage, one repetition: keeps this script working
    python benchmarks/bench.py --json FILE  # the figures as JSON too

The corpus is the .py files of the scikit-learn 1.9.1 wheel from PyPI (the sdist cannot be
downloaded without building it): `pip download --no-deps --only-binary :all: scikit-learn==1.9.1`,
unpacked once under benchmarks/.corpus/ (git ignores it). Each run copies it to a temporary
directory, so the repository's .gitignore does not hide it and a file can be changed.

Measured in one run, each as a separate process (wall time; memory from the process tree):

  floor 1     bare `libcst.parse_module` of every file, one process
  floor 2     the same with 2 processes (a multiprocessing pool, largest files first)
  cold        `mllint-deploy --no-cache --jobs 2` (default rules)
  cold+cache  the same with a fresh cache directory (the run that writes the cache)
  warm        the same again, nothing changed
  one file    one file changed (a comment appended), the rest from the cache
  small file  one small file as pre-commit runs it (`mllint-deploy FILE` in its project, cache on,
              the file just changed), against `python -c "import libcst; parse that file"`;
              median of several repetitions

Targets (issue 8): cold <= 2.0x floor 2; warm <= 10% of cold; small file <= 1.5x import+parse;
peak memory of the whole run (all processes together) < 400 MB. The table says which are met.
Optionally times fixit and pylint on the same files when they are installed (not required).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = HERE / ".corpus"
SKLEARN = "scikit-learn==1.9.1"
SKLEARN_DIR = "scikit-learn-1.9.1"
TARGETS = {"cold_vs_floor": 2.0, "warm_vs_cold": 0.10, "small_vs_floor": 1.5, "peak_mb": 400}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the corpus ----------------------------------------------------------------------------------
def fetch_sklearn() -> Path:
    """The unpacked .py files of the scikit-learn 1.9.1 wheel (downloaded and unpacked once)."""
    target = CORPUS / SKLEARN_DIR
    if (target / ".unpacked").exists():
        return target
    wheels = CORPUS / "wheels"
    found = sorted(wheels.glob("scikit_learn-1.9.1-*.whl"))
    if not found:
        log(f"downloading the {SKLEARN} wheel (once) ...")
        subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
                        "--only-binary", ":all:", SKLEARN, "-d", str(wheels)], check=True)
        found = sorted(wheels.glob("scikit_learn-1.9.1-*.whl"))
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=CORPUS))
    with zipfile.ZipFile(found[0]) as wheel:
        for name in wheel.namelist():
            if name.endswith(".py"):
                wheel.extract(name, staging)
    (staging / ".unpacked").write_text(found[0].name + "\n")
    try:
        staging.rename(target)
    except OSError:  # unpacked meanwhile by another process (the robustness script shares it)
        shutil.rmtree(staging, ignore_errors=True)
    return target


def python_files(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        out.extend(Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
    return out


def count_lines(files: list[Path]) -> int:
    return sum(f.read_bytes().count(b"\n") for f in files)


# -- measuring one process (tree) ----------------------------------------------------------------
def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc), in KiB."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(cmd: list[str], cwd: Path, env: dict) -> dict:
    """Run `cmd`; its wall time, exit status, the peak RSS of its whole process tree (sampled) and
    the largest single process (from the kernel's accounting)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()
    sampling = sys.platform.startswith("linux")

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    if sampling:
        sampler.start()
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        largest_kb = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss // 1024
    else:  # pragma: no cover - Windows
        proc.wait()
        wall = time.perf_counter() - start
        largest_kb = 0
    done.set()
    if sampling:
        sampler.join()
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    return {"wall": wall, "rc": proc.returncode, "tree_mb": max(peak[0], largest_kb) / 1024,
            "largest_mb": largest_kb / 1024, "stderr": stderr}


# -- the floor: bare parse -----------------------------------------------------------------------
def _parse_one(path: str) -> int:
    import libcst

    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        libcst.parse_module(text)
    except Exception:
        return 1
    return 0


def bare_parse_main(list_file: str, procs: int) -> None:
    """`bench.py --bare-parse LIST --procs N`: parse every file listed (the floor)."""
    import libcst  # noqa: F401  (imported before the pool forks, as our own workers have it)

    files = [line for line in Path(list_file).read_text(encoding="utf-8").splitlines() if line]
    files.sort(key=lambda p: -os.path.getsize(p))
    if procs <= 1:
        failed = sum(_parse_one(f) for f in files)
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ctx.Pool(procs) as pool:
            failed = sum(pool.imap_unordered(_parse_one, files, chunksize=1))
    if failed:
        print(f"{failed} file(s) did not parse", file=sys.stderr)


# -- the benchmark -------------------------------------------------------------------------------
def _env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode compiled
    env.pop(("MLLINT_DEPLOY_TEST_CRASH_ON"), None)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _ours(*args: str) -> list[str]:
    """The console script next to this interpreter (what pre-commit runs), else `python -m`."""
    script = Path(sys.executable).with_name("mllint-deploy" + (".exe" if os.name == "nt" else ""))
    command = [str(script)] if script.exists() else [sys.executable, "-m", "mllint_deploy"]
    return [*command, "--quiet", "--exit-zero", *args]


def _check(step: str, result: dict) -> dict:
    if result["rc"] not in (0, 1):
        raise SystemExit(f"{step} failed (exit {result['rc']}):\n{result['stderr']}")
    internal = [line for line in result["stderr"].splitlines() if "internal error" in line]
    result["internal_errors"] = len(internal)
    return result


def pick_small_file(files: list[Path]) -> Path:
    """A small, ordinary module: the one closest to 100 lines (ties: the first by path)."""
    sized = sorted(files, key=lambda f: (abs(f.read_bytes().count(b"\n") - 100), str(f)))
    return sized[0]


def run_benchmark(corpus: Path, jobs: int, repeat: int, label: str) -> dict:
    env = _env()
    work = Path(tempfile.mkdtemp(prefix="mllint-deploy-bench-"))
    try:
        tree = work / "corpus"
        shutil.copytree(corpus, tree, ignore=shutil.ignore_patterns(".*", "__pycache__", ".mllint_deploy_cache"))
        files = python_files(tree)
        lines = count_lines(files)
        listing = work / "files.txt"
        listing.write_text("\n".join(str(f) for f in files) + "\n", encoding="utf-8")
        log(f"{label}: {len(files)} files, {lines:,} lines; warming up ...")
        # compile bytecode and fill the OS page cache once, outside the measurements
        _check("warm-up", measure(_ours("--no-cache", "--jobs", "1", str(files[0])), tree, env))
        measure([sys.executable, __file__, "--bare-parse", str(listing), "--procs", "1"], tree, env)

        rows: dict[str, dict] = {}

        def step(key: str, cmd: list[str], cwd: Path = tree) -> dict:
            log(f"  {key} ...")
            rows[key] = _check(key, measure(cmd, cwd, env))
            return rows[key]

        step("floor_1", [sys.executable, __file__, "--bare-parse", str(listing), "--procs", "1"])
        step("floor_2", [sys.executable, __file__, "--bare-parse", str(listing), "--procs", "2"])
        step("cold", _ours("--no-cache", "--jobs", str(jobs), "."))
        cache_dir = work / "cache"
        step("cold_cache", _ours("--cache-dir", str(cache_dir), "--jobs", str(jobs), "."))
        step("warm", _ours("--cache-dir", str(cache_dir), "--jobs", str(jobs), "."))
        changed = sorted(files, key=lambda f: (abs(f.stat().st_size - 20_000), str(f)))[0]
        with open(changed, "a", encoding="utf-8") as fh:
            fh.write("\n# changed by the benchmark\n")
        step("one_file", _ours("--cache-dir", str(cache_dir), "--jobs", str(jobs), "."))

        # one small file as pre-commit runs it: in its project, cache on, the file just edited
        small_src = pick_small_file(files)
        project = work / "precommit"
        project.mkdir()
        small = project / small_src.name
        shutil.copyfile(small_src, small)
        _check("pre-commit warm-up", measure(_ours(small.name), project, env))
        ours_times, floor_times = [], []
        floor_cmd = [sys.executable, "-c",
                     f"import libcst; libcst.parse_module(open({small.name!r}, encoding='utf-8').read())"]
        for i in range(repeat):
            with open(small, "a", encoding="utf-8") as fh:
                fh.write(f"# edit {i}\n")
            ours_times.append(_check("small", measure(_ours(small.name), project, env))["wall"])
            floor_times.append(measure(floor_cmd, project, env)["wall"])
        rows["small"] = {"wall": statistics.median(ours_times), "min": min(ours_times), "runs": ours_times}
        rows["small_floor"] = {"wall": statistics.median(floor_times), "min": min(floor_times), "runs": floor_times}

        for tool, cmd in _others(jobs):
            rows[tool] = measure(cmd + ["."], tree, env)

        small_lines = small_src.read_bytes().count(b"\n")
        return {
            "label": label, "files": len(files), "lines": lines, "jobs": jobs, "repeat": repeat,
            "small_file": f"{small_src.relative_to(tree).as_posix()} ({small_lines} lines)",
            "changed_file": changed.relative_to(tree).as_posix(),
            "rows": rows, "machine": machine(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _others(jobs: int):
    """fixit and pylint on the same files, when installed (for scale only)."""
    if shutil.which("fixit"):
        yield "fixit", ["fixit", "lint"]
    if shutil.which("pylint"):
        yield "pylint", ["pylint", f"--jobs={jobs}", "--exit-zero", "--recursive=y"]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        libcst_version = version("libcst")
    except Exception:
        libcst_version = "?"
    return (f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, libcst {libcst_version}, "
            f"{platform.system()} {platform.release()}")


def verdicts(report: dict) -> dict[str, tuple[float, bool]]:
    r = report["rows"]
    cold, floor = r["cold"]["wall"], r["floor_2"]["wall"]
    peak = max(r[k]["tree_mb"] for k in ("cold", "cold_cache", "warm", "one_file"))
    return {
        "cold_vs_floor": (cold / floor, cold / floor <= TARGETS["cold_vs_floor"]),
        "warm_vs_cold": (r["warm"]["wall"] / cold, r["warm"]["wall"] / cold <= TARGETS["warm_vs_cold"]),
        "small_vs_floor": (r["small"]["wall"] / r["small_floor"]["wall"],
                           r["small"]["wall"] / r["small_floor"]["wall"] <= TARGETS["small_vs_floor"]),
        "peak_mb": (peak, peak < TARGETS["peak_mb"]),
    }


def render(report: dict) -> str:
    r = report["rows"]
    files, lines = report["files"], report["lines"]
    floor = r["floor_2"]["wall"]
    cold = r["cold"]["wall"]
    out = [
        f"mllint-deploy benchmark: {report['label']} ({files} files, {lines:,} lines), --jobs {report['jobs']}",
        f"machine: {report['machine']}",
        f"date: {report['date']}",
        "",
        f"{'step':<44} {'wall s':>8} {'ratio':>14} {'files/s':>9} {'lines/s':>10} {'peak MB':>8}",
    ]

    def row(name, key, ratio="", per_file=True, mem=True):
        wall = r[key]["wall"]
        fps = f"{files / wall:,.0f}" if per_file else ""
        lps = f"{lines / wall:,.0f}" if per_file else ""
        peak = f"{r[key]['tree_mb']:.0f}" if mem and "tree_mb" in r[key] else ""
        out.append(f"{name:<44} {wall:>8.2f} {ratio:>14} {fps:>9} {lps:>10} {peak:>8}")

    row("bare libcst parse, 1 process", "floor_1", f"{r['floor_1']['wall'] / floor:.2f}x floor")
    row("bare libcst parse, 2 processes (floor)", "floor_2", "1.00x floor")
    row(f"cold run, {report['jobs']} workers, --no-cache", "cold", f"{cold / floor:.2f}x floor")
    row(f"cold run, {report['jobs']} workers, fresh cache", "cold_cache",
        f"{r['cold_cache']['wall'] / floor:.2f}x floor")
    row("warm run, nothing changed", "warm", f"{100 * r['warm']['wall'] / cold:.1f}% of cold")
    row("one file changed", "one_file", f"{100 * r['one_file']['wall'] / cold:.1f}% of cold")
    small_ratio = r["small"]["wall"] / r["small_floor"]["wall"]
    row("one small file, as pre-commit runs it", "small", f"{small_ratio:.2f}x below", per_file=False, mem=False)
    row("  python -c 'import libcst' + parse it", "small_floor", "", per_file=False, mem=False)
    for tool in ("fixit", "pylint"):
        if tool in r:
            row(f"{tool} (for scale)", tool, f"{r[tool]['wall'] / floor:.2f}x floor")
    out.append("")
    out.append(f"small file: {report['small_file']}; changed file: {report['changed_file']}; small-file times are "
               f"medians of {report['repeat']} runs (min {r['small']['min']:.3f} s vs {r['small_floor']['min']:.3f} s)")
    internal = sum(r[k].get("internal_errors", 0) for k in ("cold", "cold_cache", "warm", "one_file"))
    out.append(f"internal errors reported: {internal}; largest single process: "
               f"{max(r[k]['largest_mb'] for k in ('cold', 'cold_cache', 'warm', 'one_file')):.0f} MB")
    out.append("")
    names = {"cold_vs_floor": "cold <= 2.0x floor", "warm_vs_cold": "warm <= 10% of cold",
             "small_vs_floor": "small file <= 1.5x import+parse", "peak_mb": "peak memory < 400 MB"}
    for key, (value, ok) in verdicts(report).items():
        shown = f"{value:.0f} MB" if key == "peak_mb" else (f"{100 * value:.1f}%" if key == "warm_vs_cold"
                                                            else f"{value:.2f}x")
        out.append(f"target {names[key]:<34} {shown:>9}  {'met' if ok else 'MISSED'}")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="fixtures/leakage only, one repetition (fast)")
    parser.add_argument("--corpus", type=Path, help="benchmark this directory instead")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=None, help="repetitions of the small-file step")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--bare-parse", help=argparse.SUPPRESS)
    parser.add_argument("--procs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_parse:
        bare_parse_main(args.bare_parse, args.procs)
        return 0
    if args.smoke:
        corpus, label, repeat = ROOT / "fixtures" / "leakage", "fixtures/leakage (smoke)", args.repeat or 1
    elif args.corpus:
        corpus, label, repeat = args.corpus, str(args.corpus), args.repeat or 7
    else:
        corpus, label, repeat = fetch_sklearn(), "scikit-learn 1.9.1 wheel", args.repeat or 7
    report = run_benchmark(corpus, args.jobs, repeat, label)
    text = render(report)
    print(text, end="")
    if args.json:
        report["verdicts"] = {k: {"value": v, "met": ok} for k, (v, ok) in verdicts(report).items()}
        for row in report["rows"].values():
            row.pop("stderr", None)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
