"""Precision and recall of mllint-deploy on the real-code sets, against their hand labels.

    python benchmarks/realcode/score.py sets/leakage-dev.yaml --corpus ~/mld-corpus
    python benchmarks/realcode/score.py sets/*.yaml --corpus DIR [--exe PATH] [--show] [--json OUT]

Each repository of a set is linted as one project (`mllint-deploy . --format json --no-cache`, run in
its folder, so the cross-file rules see the whole project). Only the set's listed files and codes are
scored. A finding is right when it matches a labelled issue or a finding judged right, wrong when it
matches one judged wrong, and unjudged otherwise; the listed files were read in full, so an unjudged
finding counts as wrong until someone judges it (`--show` lists them). Recall is over the labelled
issues. Prepare the corpus first with prepare.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from labels import LabelSet, load_set  # noqa: E402


def lint(exe: str, folder: Path, codes: tuple[str, ...]) -> list[dict]:
    proc = subprocess.run([exe, ".", "--format", "json", "--no-cache", "--exit-zero",
                           "--select", ",".join(codes)], cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{folder}: mllint-deploy exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def score_set(lset: LabelSet, corpus: Path, exe: str, skip_missing: bool = False) -> dict:
    per_code: dict[str, Counter] = defaultdict(Counter)
    rows: list[tuple[str, ...]] = []
    for repo in lset.repos:
        folder = corpus / repo.folder
        if not folder.is_dir():
            if skip_missing:
                print(f"{lset.name}: {repo.name} is not extracted; its labels are left out", file=sys.stderr)
                continue
            sys.exit(f"{folder} is missing: run prepare.py for {lset.name} first")
        by_path: dict[str, list[dict]] = defaultdict(list)
        for f in lint(exe, folder, lset.codes):
            by_path[Path(f["path"]).as_posix().removeprefix("./")].append(f)
        for lf in repo.files:
            found = set()
            seen: set[int] = set()
            for f in sorted(by_path.get(lf.path, ()), key=lambda f: (f.get("cell") or 0, f["line"])):
                code, cell, line = f["code"], f.get("cell"), f["line"]
                if not lset.scores(code):
                    continue
                where = f"{repo.name}/{lf.path}:" + (f"cell {cell}:" if cell else "") + f"{line}"
                hit = next((i for i in lf.issues if i.matches(code, cell, line)), None)
                if hit is not None:
                    found.add(hit)
                    per_code[code]["right"] += 1
                    continue
                judged = next((j for j in lf.judged if j.matches(code, cell, line)), None)
                if judged is not None:
                    seen.add(id(judged))
                if judged is None:
                    per_code[code]["unjudged"] += 1
                    rows.append(("unjudged", code, where, f["message"][:160]))
                elif judged.verdict == "wrong":
                    per_code[code]["wrong"] += 1
                    rows.append(("wrong", code, where, judged.why))
                else:
                    per_code[code]["right"] += 1
            for j in lf.judged:  # a finding judged right that is no longer reported: shown, not scored
                if j.verdict == "right" and id(j) not in seen and lset.scores(j.code):
                    where = f"{repo.name}/{lf.path}:" + (f"cell {j.cell}:" if j.cell else "") + f"{j.line}"
                    rows.append(("gone", j.code, where, j.why))
            for issue in lf.issues:
                if not lset.scores(issue.code):
                    continue
                per_code[issue.code]["issues"] += 1
                if issue in found:
                    per_code[issue.code]["found"] += 1
                else:
                    where = f"{repo.name}/{lf.path}:" + (f"cell {issue.cell}:" if issue.cell else "") + f"{issue.line}"
                    rows.append(("missed", issue.code, where, issue.why))
    return {"set": lset.name, "part": lset.part, "recall_labelled": lset.recall,
            "per_code": {c: dict(v) for c, v in sorted(per_code.items())}, "rows": rows}


def ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "  - "


def table(result: dict) -> str:
    lines = [f"{result['set']} ({result['part']})",
             f"  {'code':<8}{'findings':>9}{'right':>7}{'wrong':>7}{'unjudged':>9}{'precision':>10}"
             f"{'issues':>8}{'found':>7}{'recall':>8}"]
    total: Counter = Counter()
    for code, c in result["per_code"].items():
        total.update(c)
        lines.append(_row(code, c, result["recall_labelled"]))
    lines.append(_row("all", total, result["recall_labelled"]))
    return "\n".join(lines)


def _row(code: str, c: Counter | dict, recall: bool) -> str:
    right, wrong, unjudged = c.get("right", 0), c.get("wrong", 0), c.get("unjudged", 0)
    n = right + wrong + unjudged
    issues, found = c.get("issues", 0), c.get("found", 0)
    rec = ratio(found, issues) if recall else "  - "
    return (f"  {code:<8}{n:>9}{right:>7}{wrong:>7}{unjudged:>9}{ratio(right, n):>10}"
            f"{issues:>8}{found:>7}{rec:>8}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--exe", default=shutil.which("mllint-deploy")
                        or str(Path(sys.executable).with_name("mllint-deploy")))
    parser.add_argument("--skip-missing", action="store_true",
                        help="leave out repositories that are not extracted (a snapshot that cannot be had)")
    parser.add_argument("--show", action="store_true", help="list misses, wrong and unjudged findings, and findings judged right that are gone")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    results = []
    for set_path in args.sets:
        result = score_set(load_set(set_path), args.corpus, args.exe, args.skip_missing)
        results.append(result)
        print(table(result))
        if args.show:
            for kind, code, where, why in result["rows"]:
                print(f"    {kind:<9}{code}  {where}  {why}")
        print()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
