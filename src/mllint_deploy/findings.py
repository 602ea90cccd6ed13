"""The Finding record every rule produces and every reporter consumes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mllint_deploy.fixes.model import Fix


@dataclass(frozen=True, order=True)
class Finding:
    """One reported problem. Lines and columns are 1-based; columns count characters."""

    path: str
    line: int
    column: int
    code: str
    message: str
    end_line: int = 0
    end_column: int = 0
    cell: int | None = field(default=None, compare=False)
    fingerprint: str = field(default="", compare=False)
    fix: Fix | None = field(default=None, compare=False)  # an automatic fix, when the rule has one here

    def __eq__(self, other) -> bool:
        # the same position and message in two notebook cells are two findings
        if not isinstance(other, Finding):
            return NotImplemented
        return self.sort_key() + (self.end_line, self.end_column) == other.sort_key() + (other.end_line, other.end_column)

    def __hash__(self) -> int:
        return hash(self.sort_key() + (self.end_line, self.end_column))

    def sort_key(self) -> tuple:
        return (self.path, self.cell or 0, self.line, self.column, self.code, self.message)

    def with_path(self, path: str) -> "Finding":
        return replace(self, path=path)


def sort_findings(findings) -> list[Finding]:
    """Deterministic order: path, (cell), line, column, code."""
    return sorted(set(findings), key=Finding.sort_key)


def context_fingerprint(code: str, path: str, lines: list[str], line: int) -> str:
    """A hash of the code and the reported source line with its neighbours, whitespace folded: stable
    when unrelated lines are added or removed elsewhere in the file, and independent of the directory
    the run starts from (reports and baselines pair it with the path themselves)."""
    import hashlib

    window = lines[max(line - 2, 0) : line + 1]
    normalised = "\n".join(" ".join(text.split()) for text in window)
    return hashlib.sha256(f"{code}\0{normalised}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
