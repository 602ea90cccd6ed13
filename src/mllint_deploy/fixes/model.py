"""What a fix is: an applicability, a message, and edits on the analysed text.

An edit replaces the text from (line, column) up to, not including, (end_line, end_column) with
`content`; positions are 1-based and count characters, as a finding's do, so an insertion has equal
start and end. In a notebook an edit also names its `cell`, and its positions are inside that cell.
"""

from __future__ import annotations

from dataclasses import dataclass

SAFE = "safe"
UNSAFE = "unsafe"
APPLICABILITIES = (SAFE, UNSAFE)


@dataclass(frozen=True)
class Edit:
    line: int
    column: int
    end_line: int
    end_column: int
    content: str
    cell: int | None = None

    def as_dict(self) -> dict:
        out = {"line": self.line, "column": self.column, "end_line": self.end_line,
               "end_column": self.end_column, "content": self.content}
        if self.cell is not None:
            out["cell"] = self.cell
        return out


@dataclass(frozen=True)
class Fix:
    applicability: str
    message: str
    edits: tuple[Edit, ...]

    @property
    def is_safe(self) -> bool:
        return self.applicability == SAFE

    def applies(self, unsafe: bool) -> bool:
        """Whether a run with (or without) --unsafe-fixes applies this fix."""
        return self.is_safe or unsafe

    def as_dict(self) -> dict:
        return {"applicability": self.applicability, "message": self.message,
                "edits": [e.as_dict() for e in self.edits]}
