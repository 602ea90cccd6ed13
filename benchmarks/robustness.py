"""Lint every .py file of a large real corpus and count what went wrong (issue 9).

The corpus:
  - the scikit-learn 1.9.1 wheel from PyPI (downloaded once with pip, unpacked under
    benchmarks/.corpus/, which git ignores);
  - the site-packages of the Python running this script (its virtualenv);
  - with --corpus-venv, the site-packages of a throwaway virtualenv at benchmarks/.corpus/venv,
    created on first use with CORPUS_PACKAGES installed: it exists only to be read;
  - any --extra DIR.

Each corpus is one run of the real pipeline (runner.run: worker processes, project pass,
suppressions) with every rule enabled, no cache and no excludes: every .py file below the root is
linted, including tests, vendored code and generated files. (Discovery is replaced by a plain walk,
because the default excludes skip `site-packages`, `build`, ... and the repository's .gitignore
hides benchmarks/.corpus/.)

Reported: files, findings per code, internal errors (each one listed: they must be 0), files the
parser refused (MLD001: on released code these deserve a look), the slowest files, wall time,
files/s and peak memory. Exit status 1 if any internal error, 0 otherwise.

    python benchmarks/robustness.py                    # sklearn wheel + this venv
    python benchmarks/robustness.py --corpus-venv      # + the throwaway corpus venv (>= 20,000 files)
    python benchmarks/robustness.py --json out.json    # the figures as JSON too
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import resource
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))  # run from a checkout without installing

from mllint_deploy import __version__, engine, parallel, runner  # noqa: E402
from mllint_deploy.config import Settings  # noqa: E402

CORPUS = HERE / ".corpus"
SKLEARN = "scikit-learn==1.9.1"
CORPUS_PACKAGES = ["pandas", "scipy", "scikit-learn", "sympy", "statsmodels", "django", "matplotlib",
                   "networkx", "transformers", "keras", "plotly", "dask", "mlflow", "optuna"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pip(*args: str, python: str = sys.executable) -> None:
    subprocess.run([python, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True)


def sklearn_tree() -> Path:
    """The .py files of the scikit-learn 1.9.1 wheel, unpacked once."""
    wheels = CORPUS / "wheels"
    found = sorted(wheels.glob("scikit_learn-1.9.1-*.whl"))
    if not found:
        log(f"downloading the {SKLEARN} wheel ...")
        pip("download", "--no-deps", "--only-binary", ":all:", SKLEARN, "-d", str(wheels))
        found = sorted(wheels.glob("scikit_learn-1.9.1-*.whl"))
    target = CORPUS / "scikit-learn-1.9.1"
    done = target / ".unpacked"
    if not done.exists():
        with zipfile.ZipFile(found[0]) as whl:
            for name in whl.namelist():
                if name.endswith(".py"):
                    whl.extract(name, target)
        done.write_text(found[0].name + "\n")
    return target


def corpus_venv() -> Path:
    """The site-packages of the throwaway corpus virtualenv (created and filled on first use)."""
    home = CORPUS / "venv"
    python = home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        log(f"creating {home} with {', '.join(CORPUS_PACKAGES)} (only read, never imported) ...")
        venv.create(home, with_pip=True)
        pip("install", *CORPUS_PACKAGES, python=str(python))
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def python_files(root: Path) -> list[Path]:
    """Every .py file below root (no excludes; links to directories are not followed)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        out.extend(Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
    return out


def _timed(lint_path):
    """lint_path that records its own duration in the result (workers are forked: this is inherited)."""

    def wrapper(path, *args, **kwargs):
        start = time.perf_counter()
        result = lint_path(path, *args, **kwargs)
        result.facts["_robustness_seconds"] = time.perf_counter() - start
        return result

    return wrapper


def lint_corpus(name: str, root: Path, jobs: int) -> dict:
    files = python_files(root)
    log(f"{name}: {len(files):,} files below {root} ...")
    settings = Settings(select=("ALL",), exclude=(), project_root=root, no_cache=True, jobs=jobs)
    timings: dict[str, float] = {}
    real_lint_files = parallel.lint_files

    def lint_files_and_time(*args, **kwargs):
        results = real_lint_files(*args, **kwargs)
        for r in results:
            timings[r.path] = r.facts.pop("_robustness_seconds", 0.0)
        return results

    saved = runner.discover, runner.lint_files, parallel.lint_path
    runner.discover = lambda paths, settings: files
    runner.lint_files = lint_files_and_time
    parallel.lint_path = _timed(engine.lint_path)
    start = time.perf_counter()
    try:
        result = runner.run([str(root)], settings)
    finally:
        runner.discover, runner.lint_files, parallel.lint_path = saved
    seconds = time.perf_counter() - start
    codes = collections.Counter(f.code for f in result.findings)
    refused = [(f.path, f.line, f.message) for f in result.findings if f.code == "MLD001"]
    slowest = sorted(timings.items(), key=lambda kv: -kv[1])[:5]
    log(f"{name}: {result.files:,} files, {len(result.findings):,} findings, "
        f"{len(result.internal_errors)} internal errors, {seconds:.1f} s")
    return {
        "corpus": name, "root": str(root), "files": result.files, "seconds": round(seconds, 1),
        "findings": len(result.findings), "by_code": dict(sorted(codes.items())),
        "internal_errors": result.internal_errors, "refused": refused,
        "slowest": [(p, round(s, 2)) for p, s in slowest],
    }


def report(runs: list[dict], jobs: int) -> str:
    total_files = sum(r["files"] for r in runs)
    total_seconds = sum(r["seconds"] for r in runs)
    codes: collections.Counter = collections.Counter()
    for r in runs:
        codes.update(r["by_code"])
    errors = [e for r in runs for e in r["internal_errors"]]
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    lines = [
        f"mllint-deploy {__version__} robustness run: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, --jobs {jobs or 'auto'}, every rule, no cache",
        "",
        f"{'corpus':<28} {'files':>7} {'findings':>9} {'internal':>9} {'MLD001':>7} {'seconds':>8} {'files/s':>8}",
    ]
    for r in runs:
        lines.append(f"{r['corpus']:<28} {r['files']:>7,} {r['findings']:>9,} {len(r['internal_errors']):>9} "
                     f"{len(r['refused']):>7} {r['seconds']:>8.1f} {r['files'] / max(r['seconds'], 1e-9):>8.1f}")
    lines.append(f"{'total':<28} {total_files:>7,} {sum(r['findings'] for r in runs):>9,} {len(errors):>9} "
                 f"{sum(len(r['refused']) for r in runs):>7} {total_seconds:>8.1f} "
                 f"{total_files / max(total_seconds, 1e-9):>8.1f}")
    lines += ["", "findings per code: " + ", ".join(f"{c} {n:,}" for c, n in sorted(codes.items())),
              f"peak memory (largest process): {peak:.0f} MB", ""]
    lines.append(f"internal errors: {len(errors)}")
    lines += [f"  {e}" for e in errors]
    refused = [x for r in runs for x in r["refused"]]
    lines.append(f"files refused (MLD001): {len(refused)}")
    lines += [f"  {p}:{line}: {msg}" for p, line, msg in refused]
    lines.append("slowest files:")
    slowest = sorted((x for r in runs for x in r["slowest"]), key=lambda x: -x[1])[:8]
    lines += [f"  {s:7.2f} s  {p}" for p, s in slowest]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus-venv", action="store_true", help="also lint the throwaway corpus venv")
    ap.add_argument("--extra", action="append", default=[], metavar="DIR", help="also lint every .py below DIR")
    ap.add_argument("--no-sklearn", action="store_true", help="skip the scikit-learn 1.9.1 wheel")
    ap.add_argument("--no-site", action="store_true", help="skip this interpreter's site-packages")
    ap.add_argument("--jobs", type=int, default=0, help="worker processes (0: one per CPU)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)

    corpora: list[tuple[str, Path]] = []
    if not args.no_sklearn:
        corpora.append(("scikit-learn 1.9.1 wheel", sklearn_tree()))
    if not args.no_site:
        corpora.append(("this venv's site-packages", Path(sysconfig.get_paths()["purelib"])))
    if args.corpus_venv:
        corpora.append(("corpus venv site-packages", corpus_venv()))
    corpora += [(str(d), Path(d)) for d in args.extra]
    runs = [lint_corpus(name, root, args.jobs) for name, root in corpora]
    text = report(runs, args.jobs)
    print(text, end="")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    return 1 if any(r["internal_errors"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
