"""Record a verdict on a finding in a set file, keeping the file's layout and comments.

    python benchmarks/realcode/judge.py sets/repro-dev.yaml OWNER/NAME PATH CODE LINE [--cell N]
        --verdict right|wrong --why "one line"
    python benchmarks/realcode/judge.py ... --issue --why "..."     # a real problem the labels missed

The entry goes under the file's `judged:` (or `issues:` with --issue) list, created if missing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path)
    parser.add_argument("repo")
    parser.add_argument("path")
    parser.add_argument("code")
    parser.add_argument("line", type=int)
    parser.add_argument("--cell", type=int)
    parser.add_argument("--end-line", type=int)
    parser.add_argument("--verdict", choices=("right", "wrong"))
    parser.add_argument("--issue", action="store_true")
    parser.add_argument("--why", required=True)
    args = parser.parse_args()
    if not args.issue and args.verdict is None:
        parser.error("give --verdict or --issue")
    lines = args.set.read_text(encoding="utf-8").splitlines(keepends=True)
    repo_at = next((i for i, t in enumerate(lines) if re.match(rf"\s*- repo: {re.escape(args.repo)}\s*$", t)), None)
    if repo_at is None:
        sys.exit(f"{args.repo} is not in {args.set}")
    file_at = next((i for i in range(repo_at + 1, len(lines))
                    if re.match(rf"\s*- path: [\"']?{re.escape(args.path)}[\"']?\s*$", lines[i])), None)
    if file_at is None or any(re.match(r"\s*- repo:", lines[i]) for i in range(repo_at + 1, file_at)):
        sys.exit(f"{args.path} is not listed under {args.repo}")
    indent = len(lines[file_at]) - len(lines[file_at].lstrip()) + 2
    key = "issues" if args.issue else "judged"
    end = file_at + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) >= indent):
        end += 1
    entry = {"code": args.code, **({"cell": args.cell} if args.cell else {}), "line": args.line,
             **({"end_line": args.end_line} if args.end_line else {}),
             **({} if args.issue else {"verdict": args.verdict}), "why": args.why}
    text = " " * (indent + 2) + "- {" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in entry.items()) + "}\n"
    block = next((i for i in range(file_at + 1, end) if lines[i].strip().startswith(f"{key}:")), None)
    if block is None:
        lines[end:end] = [" " * indent + f"{key}:\n", text]
    else:
        if lines[block].strip() == f"{key}: []":
            lines[block] = " " * indent + f"{key}:\n"
        stop = block + 1
        while stop < end and len(lines[stop]) - len(lines[stop].lstrip()) > indent:
            stop += 1
        lines[stop:stop] = [text]
    args.set.write_text("".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
