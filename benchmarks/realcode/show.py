"""Print a script or notebook with the positions labels use: `line` for a script, `cell N` and the line
inside the cell for a notebook (cells counted from 1 among all cells, markdown included, as the linter
counts them). For reading a file while labelling it.

    python benchmarks/realcode/show.py path/to/notebook.ipynb [--code-only]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--code-only", action="store_true", help="skip markdown and raw cells")
    args = parser.parse_args()
    text = args.path.read_bytes().decode("utf-8", errors="replace")
    if args.path.suffix != ".ipynb":
        for n, line in enumerate(text.splitlines(), start=1):
            print(f"{n:5} {line}")
        return 0
    nb = json.loads(text)
    cells = nb.get("cells") or [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
    for number, cell in enumerate(cells, start=1):
        kind = cell.get("cell_type")
        if args.code_only and kind != "code":
            continue
        source = cell.get("source", cell.get("input", ""))
        source = "".join(source) if isinstance(source, list) else source
        print(f"----- cell {number} ({kind})")
        for n, line in enumerate(source.splitlines(), start=1):
            print(f"{n:4} {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
