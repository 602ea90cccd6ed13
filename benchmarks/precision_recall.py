"""Precision and recall of mllint-deploy on a directory annotated with `# expect: MLDxxx` comments.

    python benchmarks/precision_recall.py fixtures/leakage/varied MLD1
    python benchmarks/precision_recall.py DIR [CODE-PREFIX]

Runs the installed `mllint-deploy DIR --format json --select PREFIX`, compares the reported
(file, line, code) with the annotations, prints precision and recall, then every miss and false alarm.
This is how the blind hold-out sets in fixtures/*/independent, production, notebook_style and varied
were scored before they became regression fixtures.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

EXPECT = re.compile(r"#\s*expect:\s*(MLD\d{3}(?:\s*,\s*MLD\d{3})*)")


def expected(directory: Path, prefix: str) -> set[tuple[str, int, str]]:
    out = set()
    for path in directory.rglob("*.py"):
        text = path.read_bytes().decode("utf-8", errors="replace")
        for lineno, line in enumerate(text.splitlines(), start=1):
            m = EXPECT.search(line)
            if m:
                for code in re.split(r"\s*,\s*", m.group(1)):
                    if code.startswith(prefix):
                        out.add((path.relative_to(directory).as_posix(), lineno, code))
    return out


def reported(directory: Path, prefix: str) -> set[tuple[str, int, str]]:
    exe = shutil.which("mllint-deploy") or str(Path(sys.executable).with_name("mllint-deploy"))
    proc = subprocess.run([exe, str(directory), "--format", "json", "--select", prefix, "--no-cache"],
                          capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"mllint-deploy failed: {proc.stderr.strip()}")
    root = directory.resolve()
    return {(Path(f["path"]).resolve().relative_to(root).as_posix(), f["line"], f["code"])
            for f in json.loads(proc.stdout)}


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    directory = Path(sys.argv[1])
    prefix = sys.argv[2] if len(sys.argv) > 2 else "MLD"
    exp, rep = expected(directory, prefix), reported(directory, prefix)
    tp = exp & rep
    print(f"expected {len(exp)}  reported {len(rep)}  true positives {len(tp)}  "
          f"precision {len(tp) / max(len(rep), 1):.2f}  recall {len(tp) / max(len(exp), 1):.2f}")
    for row in sorted(exp - rep):
        print("missed      ", *row)
    for row in sorted(rep - exp):
        print("false alarm ", *row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
