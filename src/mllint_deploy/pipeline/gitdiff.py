"""`--changed-since REF`: keep only findings on lines added or changed since `git merge-base REF HEAD`.

The comparison is between the merge base and the working tree (committed, staged and unstaged
changes all count), as a pull request shows it; untracked files (not ignored) count as wholly new.
The changed lines come from `git diff -U0`: a finding is kept when its reported line is one of them,
even if the evidence behind it spans older lines. A syntax error (MLD001) is kept whenever its file
changed at all, since an edit often breaks parsing far below the edited line.

Notebooks are compared by their code cells, not by JSON lines: the code lines of the merge base's
version and of the working tree's are matched with difflib, and the (cell, line) pairs that are new
count as changed.

The whole project is still linted (cross-file rules need every file); only the report is filtered.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mllint_deploy.sources.notebook import SUFFIX as NOTEBOOK_SUFFIX, code_lines

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\"}

WHOLE_FILE = None  # the file is new: every line counts


class DiffError(Exception):
    """--changed-since cannot work here (no git, not a repository, unknown revision): one line, exit 2."""


@dataclass
class ChangedLines:
    """What changed since the merge base, by path relative to the repository root."""

    root: Path
    base: str
    lines: dict[str, set[int] | None] = field(default_factory=dict)
    cells: dict[str, set[tuple[int, int]] | None] = field(default_factory=dict)

    def _relative(self, path: str) -> str | None:
        try:
            return Path(os.path.realpath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return None

    def keeps(self, finding) -> bool:
        rel = self._relative(finding.path)
        if rel is None:
            return False
        table = self.cells if rel.endswith(NOTEBOOK_SUFFIX) else self.lines
        if rel not in table:
            return False
        changed = table[rel]
        if changed is WHOLE_FILE or finding.code == "MLD001":
            return True
        if finding.cell is not None:
            return (finding.cell, finding.line) in changed
        return finding.line in changed

    def filter(self, findings) -> list:
        return [f for f in findings if self.keeps(f)]


def _git(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    try:
        proc = subprocess.run(["git", *args], cwd=str(cwd), capture_output=True, env=env)
    except FileNotFoundError:
        raise DiffError("--changed-since needs git, and git is not on PATH") from None
    except OSError as exc:
        raise DiffError(f"--changed-since: cannot run git: {exc}") from None
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiffError(f"--changed-since: git {args[0]} failed: {message[-1] if message else 'exit ' + str(proc.returncode)}")
    return proc


def _start_directory(paths: list[str]) -> Path:
    for raw in paths:
        if raw == "-":
            continue
        p = Path(os.path.abspath(raw))
        if p.is_dir():
            return p
        if p.parent.is_dir():
            return p.parent
    return Path.cwd()


def _unquote(name: str) -> str:
    """A path as git prints it: C-style quoted (with octal escapes for bytes) when unusual."""
    if not (name.startswith('"') and name.endswith('"')):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and re.match(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.extend(_ESCAPES.get(nxt, nxt).encode("utf-8"))
            i += 2
            continue
        out.extend(c.encode("utf-8"))
        i += 1
    return out.decode("utf-8", "surrogateescape")


def parse_unified_diff(text: str) -> dict[str, set[int]]:
    """New-side line numbers of every added or changed line, by new path, from `git diff -U0`."""
    changed: dict[str, set[int]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            target = line[4:].rstrip("\t")
            if target == "/dev/null":
                current = None
            else:
                target = _unquote(target)
                current = target[2:] if target.startswith("b/") else target
                changed.setdefault(current, set())
            continue
        if current is None:
            continue
        m = _HUNK.match(line)
        if m:
            start, count = int(m.group(1)), int(m.group(2) if m.group(2) is not None else 1)
            changed[current].update(range(start, start + count))
    return changed


def _name_status(text: bytes) -> list[tuple[str, str, str]]:
    """(status, old path, new path) from `git diff --name-status -z`."""
    parts = text.decode("utf-8", "surrogateescape").split("\0")
    out, i = [], 0
    while i < len(parts) and parts[i]:
        status = parts[i]
        if status[:1] in ("R", "C"):
            out.append((status[0], parts[i + 1], parts[i + 2]))
            i += 3
        else:
            out.append((status[0], parts[i + 1], parts[i + 1]))
            i += 2
    return out


def _notebook_changes(root: Path, base: str, old: str, new: str) -> set[tuple[int, int]] | None:
    """(cell, line) of the code lines of `new` that are not in the merge base's `old`."""
    try:
        with open(root / new, "rb") as fh:
            now = code_lines(fh.read())
    except OSError:
        return WHOLE_FILE
    shown = _git(["show", f"{base}:{old}"], root, check=False)
    before = code_lines(shown.stdout) if shown.returncode == 0 else None
    if now is None or before is None:
        return WHOLE_FILE
    matcher = difflib.SequenceMatcher(None, [t for _, _, t in before], [t for _, _, t in now], autojunk=False)
    changed: set[tuple[int, int]] = set()
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            changed.update((cell, line) for cell, line, _ in now[j1:j2])
    return changed


def changed_since(ref: str, paths: list[str] | None = None) -> ChangedLines:
    """The lines added or changed in the working tree since `git merge-base REF HEAD`, plus
    untracked files. Raises DiffError outside a git repository or for an unknown revision."""
    start = _start_directory(paths or [])
    top = _git(["rev-parse", "--show-toplevel"], start, check=False)
    if top.returncode != 0:
        raise DiffError(f"--changed-since: {start} is not inside a git repository")
    root = Path(os.path.realpath(top.stdout.decode("utf-8", "surrogateescape").strip()))
    if not ref or ref.startswith("-"):
        raise DiffError(f"--changed-since: unknown git revision {ref!r}")
    known = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], root, check=False)
    if known.returncode != 0:
        raise DiffError(f"--changed-since: unknown git revision {ref!r} (fetch it first, e.g. `git fetch origin main`)")
    if _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], root, check=False).returncode != 0:
        raise DiffError("--changed-since: the repository has no commits yet (HEAD is unborn)")
    mb = _git(["merge-base", ref, "HEAD"], root, check=False)
    if mb.returncode != 0:
        raise DiffError(f"--changed-since: {ref!r} and HEAD have no common ancestor")
    base = mb.stdout.decode().strip()
    common = ["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "--no-textconv",
              "--find-renames", "--ignore-submodules"]
    names = _git([*common, "--name-status", "-z", base, "--"], root)
    hunks = _git([*common, "-U0", "--src-prefix=a/", "--dst-prefix=b/", base, "--"], root)
    by_line = parse_unified_diff(hunks.stdout.decode("utf-8", "surrogateescape"))
    result = ChangedLines(root=root, base=base)
    for status, old, new in _name_status(names.stdout):
        if status == "D":
            continue
        if new.endswith(NOTEBOOK_SUFFIX):
            result.cells[new] = WHOLE_FILE if status == "A" else _notebook_changes(root, base, old, new)
        else:
            result.lines[new] = WHOLE_FILE if status == "A" else by_line.get(new, set())
    untracked = _git(["ls-files", "-z", "--others", "--exclude-standard"], root)
    for name in untracked.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if name:
            (result.cells if name.endswith(NOTEBOOK_SUFFIX) else result.lines)[name] = WHOLE_FILE
    return result
