"""Which rule codes are enabled: `select`/`extend-select`/`ignore` with codes or prefixes.

As in ruff, the most specific selector wins: `--select MLD2 --ignore MLD201` enables every MLD2 rule
but MLD201, and `--ignore MLD2 --select MLD201` enables only MLD201 of the family. `ALL` matches every
code with the lowest specificity.
"""

from __future__ import annotations

import re

_SELECTOR = re.compile(r"^(ALL|MLD[0-9]{0,3})$")


class SelectorError(ValueError):
    pass


def check_selectors(selectors, known_codes, where: str) -> list[str]:
    """Normalise selectors (upper case) and refuse any that matches no known code."""
    out = []
    for raw in selectors:
        sel = str(raw).strip().upper()
        if not _SELECTOR.match(sel) or (sel != "ALL" and not any(c.startswith(sel) for c in known_codes)):
            raise SelectorError(f"{where}: unknown rule selector {raw!r}")
        out.append(sel)
    return out


def _specificity(code: str, selectors) -> int:
    best = -1
    for sel in selectors:
        if sel == "ALL":
            best = max(best, 0)
        elif code.startswith(sel):
            best = max(best, len(sel))
    return best


def enabled_codes(all_codes, select, extend_select, ignore) -> set[str]:
    chosen = list(select) + list(extend_select)
    return {
        code
        for code in all_codes
        if _specificity(code, chosen) >= 0 and _specificity(code, chosen) > _specificity(code, ignore)
    }
