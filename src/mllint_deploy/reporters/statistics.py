"""`--statistics`: only the count of findings per code, as ruff prints it (text) or as a JSON array."""

from __future__ import annotations

import json
from collections import Counter


def _rows(findings, catalogue) -> list[tuple[int, str, str]]:
    counts = Counter(f.code for f in findings)
    rows = [(n, code, catalogue[code].name if code in catalogue else "") for code, n in counts.items()]
    return sorted(rows, key=lambda row: (-row[0], row[1]))


def render_text(findings, catalogue) -> str:
    rows = _rows(findings, catalogue)
    width = max((len(str(n)) for n, _, _ in rows), default=1)
    return "".join(f"{n:>{width}}  {code}  {name}\n" for n, code, name in rows)


def render_json(findings, catalogue) -> str:
    rows = [{"code": code, "name": name, "count": n} for n, code, name in _rows(findings, catalogue)]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


FORMATS = {"text": render_text, "json": render_json}
