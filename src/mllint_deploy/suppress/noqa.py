"""Suppression comments: `# noqa`, `# noqa: MLD101,MLD2` on the reported line, and file-level
`# mllint-deploy: noqa` / `# mllint-deploy: noqa: CODES` on a line of its own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# As in flake8, each code needs its digits (`MLD2`, `MLD201`), so prose after the codes
# (`# noqa: MLD201 ML demo`) is not read as more codes.
_LINE_NOQA = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_FILE_NOQA = re.compile(
    r"^\s*#\s*mllint-deploy:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:[,\s]+[A-Z]+[0-9]*)*))?\s*$",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"[,\s]+")
_ANY_NOQA = re.compile("noqa", re.IGNORECASE)

ALL = None  # a suppression that covers every code


@dataclass
class Suppressions:
    """The suppressions of one file: per line, and for the whole file."""

    by_line: dict[int, frozenset[str] | None] = field(default_factory=dict)
    whole_file: frozenset[str] | None | bool = False

    def suppresses(self, line: int, code: str) -> bool:
        if self.whole_file is ALL or (self.whole_file and _covers(self.whole_file, code)):
            return True
        if line not in self.by_line:
            return False
        codes = self.by_line[line]
        return codes is ALL or _covers(codes, code)


def _covers(codes: frozenset[str], code: str) -> bool:
    return any(code.startswith(c) for c in codes)


def _codes(raw: str | None) -> frozenset[str] | None:
    if not raw:
        return ALL
    return frozenset(c.upper() for c in _SPLIT.split(raw.strip()) if c)


def parse_suppressions(text: str) -> Suppressions:
    sup = Suppressions()
    if not _ANY_NOQA.search(text):
        return sup
    for lineno, line in enumerate(text.splitlines(), start=1):
        if "#" not in line:
            continue
        m = _FILE_NOQA.match(line)
        if m:
            codes = _codes(m.group("codes"))
            if codes is ALL:
                sup.whole_file = ALL
            elif sup.whole_file is not ALL:
                sup.whole_file = frozenset(codes | (sup.whole_file or frozenset()))
            continue
        m = _LINE_NOQA.search(line)
        if m:
            sup.by_line[lineno] = _codes(m.group("codes"))
    return sup
