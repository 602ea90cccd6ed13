"""`--fix`: lint, apply the fixes, lint the fixed text again, until nothing more is fixed.

Fixed texts stay in memory until the last round; only then are they written, each atomically
(a temporary file renamed over the original, its permissions kept), and only if the file on disk
still holds the bytes that were linted: a file edited during the run is left alone and named on
stderr. `--diff` computes the same and writes nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mllint_deploy.atomic import write_atomic
from mllint_deploy.findings import sort_findings
from mllint_deploy.fixes.apply import fix_bytes
from mllint_deploy.pipeline.engine import lint_path, lint_stdin, module_name_for
from mllint_deploy.pipeline.parallel import call_with_big_stack
from mllint_deploy.pipeline.runner import Phase, RunResult, lint_phase, report_phase
from mllint_deploy.sources.notebook import SUFFIX
from mllint_deploy.sources.source import UnreadableSource, decode, read_bytes

MAX_ROUNDS = 10


@dataclass
class FixedFile:
    display: str
    path: Path | None  # None for stdin
    original: bytes
    current: bytes
    fixes: int = 0

    @property
    def notebook(self) -> bool:
        return self.display.endswith(SUFFIX)

    def text(self, data: bytes) -> str:
        if self.notebook:
            return data.decode("utf-8", "replace")
        try:
            return decode(data)
        except UnreadableSource:
            return data.decode("utf-8", "replace")

    def diff(self) -> str:
        old = self.text(self.original).splitlines(keepends=True)
        new = self.text(self.current).splitlines(keepends=True)
        lines = list(difflib.unified_diff(old, new, fromfile=f"a/{self.display}", tofile=f"b/{self.display}"))
        return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
                       for line in lines)


@dataclass
class FixOutcome:
    run: RunResult  # what is still reported after the fixes
    files: list[FixedFile] = field(default_factory=list)  # the files whose text changed
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files changed on disk during the run
    stdin: bytes | None = None
    first: RunResult | None = None  # what was reported before any fix

    def keep_unfixed(self, display: str) -> None:
        """`display` is not written after all: its findings are those it had before the fixes."""
        rest = [f for f in self.run.findings if f.path != display]
        before = [f for f in (self.first.findings if self.first else []) if f.path == display]
        self.run.findings = sort_findings(rest + before)

    @property
    def fixed(self) -> int:
        return sum(f.fixes for f in self.files)


def fix_run(paths: list[str], settings, unsafe: bool, stdin_filename: str | None = None, progress=None,
            stdin_data: bytes | None = None, keep=None) -> FixOutcome:
    """Fix what is reported (`keep`, when given, narrows the findings to those that would be
    reported: --baseline, --changed-since) in rounds, in memory."""
    phase = lint_phase(paths, settings, stdin_filename, progress, stdin_data)
    report = report_phase(phase)
    state: dict[str, FixedFile] = {}
    position = {r.path: i for i, r in enumerate(phase.results)}
    outcome = FixOutcome(run=report, stdin=stdin_data, first=report)
    seen: dict[str, set[str]] = {}
    for _ in range(MAX_ROUNDS):
        todo: dict[str, list] = {}
        for f in (keep(report.findings) if keep is not None else report.findings):
            if f.fix is not None and f.fix.applies(unsafe) and f.path in position:
                todo.setdefault(f.path, []).append(f.fix)
        changed = False
        for display, fixes in todo.items():
            if display in outcome.skipped:
                continue
            entry = state.get(display) or _start(phase, position[display], display, stdin_data, outcome)
            if entry is None:
                continue
            state[display] = entry
            seen.setdefault(display, {hashlib.sha256(entry.original).hexdigest()})
            new, applied = fix_bytes(entry.current, fixes, entry.notebook)
            digest = hashlib.sha256(new).hexdigest()
            if not applied or digest in seen.setdefault(display, set()):
                continue  # nothing applied, or back to a text already seen: no progress
            seen[display].add(digest)
            entry.current, entry.fixes = new, entry.fixes + len(applied)
            phase.results[position[display]] = _relint(phase, position[display], entry)
            changed = True
        if not changed:
            break
        report = report_phase(phase, {d: e.text(e.current).splitlines() for d, e in state.items()
                                      if not e.notebook})
    else:
        outcome.warnings.append(f"fixes did not settle after {MAX_ROUNDS} rounds; run --fix again")
    outcome.run = report
    outcome.files = [e for e in state.values() if e.current != e.original]
    return outcome


def _start(phase: Phase, index: int, display: str, stdin_data: bytes | None, outcome: FixOutcome):
    """The file's bytes as linted; None (and a warning) if the file changed since it was linted."""
    if not phase.files:
        return FixedFile(display, None, stdin_data or b"", stdin_data or b"")
    path = phase.files[index]
    try:
        data = read_bytes(str(path))
    except UnreadableSource:
        return None
    result = phase.results[index]
    if result.digest and hashlib.sha256(data).hexdigest() != result.digest:
        outcome.skipped.append(display)
        return None
    return FixedFile(display, path, data, data)


def _relint(phase: Phase, index: int, entry: FixedFile):
    if entry.path is None:
        return call_with_big_stack(lint_stdin, entry.display, phase.file_checks, phase.enabled, phase.project_checks,
                                   entry.current)
    return call_with_big_stack(lint_path, entry.path, entry.display, phase.file_checks, phase.enabled,
                               phase.project_checks, entry.current, module_name_for(entry.path))


def write_fixed(outcome: FixOutcome) -> None:
    """Write every fixed file whose bytes on disk are still those that were linted."""
    for entry in list(outcome.files):
        if entry.path is None:
            continue
        target = os.path.realpath(entry.path)  # a symbolic link keeps pointing at the fixed file
        try:
            on_disk = read_bytes(target)
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except (UnreadableSource, OSError):
            on_disk, mode = None, 0
        if on_disk != entry.original:
            outcome.skipped.append(entry.display)
            outcome.files.remove(entry)
            outcome.keep_unfixed(entry.display)
            continue
        try:
            write_atomic(target, entry.current, mode=mode)
        except OSError as exc:
            outcome.warnings.append(f"cannot write {entry.display}: {exc.strerror or exc}")
            outcome.files.remove(entry)
            outcome.keep_unfixed(entry.display)
