"""The per-file phase: source text -> parse -> file checks -> findings and facts.

Positions are computed lazily, only for files where a check asks for a line, so a clean file costs
a parse and one indexing walk. Everything returned is plain data (picklable), never CST nodes.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import sys
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import libcst as cst

from mllint_deploy.analysis.modulefacts import build_module_facts
from mllint_deploy.analysis.names import ModuleIndex, index_module
from mllint_deploy.analysis.project_sources import already_parsed, remember_parsed
from mllint_deploy.analysis.readiness import build_readiness_facts
from mllint_deploy.findings import Finding, context_fingerprint
from mllint_deploy.fixes.registry import file_fix, project_fixes
from mllint_deploy.sources import fastcst
from mllint_deploy.sources.notebook import BrokenNotebook, NotebookFacts, read_notebook
from mllint_deploy.sources.positions import compute_positions
from mllint_deploy.sources.source import UnreadableSource, check_parsable, decode, python_accepts, read_bytes
from mllint_deploy.suppress.noqa import Suppressions, parse_suppressions

fastcst.install()  # read-only visits without libcst's node rebuilding (same hooks, same order)

SYNTAX_ERROR = "MLD001"


@dataclass
class FileResult:
    """What the per-file phase learned about one file."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    internal_errors: list[str] = field(default_factory=list)
    suppressions: Suppressions = field(default_factory=Suppressions)
    # other project files the analysis read (imported helpers): (absolute path, sha256 of their bytes)
    dependencies: dict[str, str] = field(default_factory=dict)
    # fixes for findings the project pass may report: (code, line, column, end line, end column) -> Fix
    project_fixes: dict[tuple, Any] = field(default_factory=dict)
    digest: str = ""  # sha256 of the bytes that were linted ("" when not read from a file)


def module_name_for(path: Path) -> str:
    """Dotted module name from the file's package chain (`pkg/sub/mod.py` -> `pkg.sub.mod`)."""
    parts = [path.stem] if path.stem != "__init__" else []
    directory = path.parent
    while (directory / "__init__.py").is_file() and directory.parent != directory:
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts)


class FileContext:
    """What a file check sees: the module, its name index, and `report`."""

    def __init__(self, path: str, text: str, module: cst.Module, module_name: str, enabled: frozenset[str],
                 abspath: str = ""):
        self.path = path
        self.abspath = abspath
        self.text = text
        self.module = module
        self.module_name = module_name
        self.enabled = enabled
        self.facts: dict[str, Any] = {}
        self._raw: list[tuple[str, cst.CSTNode, str]] = []
        self._cache: dict[str, Any] = {}
        self.dependencies: dict[str, str] = {}
        self.fix_errors: list[str] = []

    def depends_on(self, abspath: str, digest: str) -> None:
        """The analysis read another project file (a helper module): the result holds while it is unchanged."""
        self.dependencies[abspath] = digest

    @cached_property
    def index(self) -> ModuleIndex:
        return index_module(self.module, self.module_name)

    @cached_property
    def _positions(self):
        return compute_positions(self.module)

    def position(self, node: cst.CSTNode):
        return self._positions[node]

    def line_of(self, node: cst.CSTNode) -> int:
        return self._positions[node].start.line

    def span(self, node: cst.CSTNode) -> tuple[int, int, int, int]:
        """(line, column, end line, end column), 1-based, for facts that the project pass reports."""
        rng = self._positions[node]
        return rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1

    def shared(self, key: str, build):
        """A per-file analysis computed once and shared by every check that asks for it."""
        if key not in self._cache:
            self._cache[key] = build(self)
        return self._cache[key]

    def wants(self, *codes: str) -> bool:
        return any(c in self.enabled for c in codes)

    def report(self, code: str, node: cst.CSTNode, message: str) -> None:
        if code in self.enabled:
            self._raw.append((code, node, message))

    def findings(self) -> list[Finding]:
        out = []
        for code, node, message in self._raw:
            rng = self._positions[node]
            out.append(
                Finding(
                    path=self.path,
                    line=rng.start.line,
                    column=rng.start.column + 1,
                    code=code,
                    message=message,
                    end_line=rng.end.line,
                    end_column=rng.end.column + 1,
                    fix=self._fix(code, node),
                )
            )
        return out

    def _fix(self, code: str, node: cst.CSTNode):
        """The finding's automatic fix, if its rule has one for this shape (a fixer that fails is an
        internal error of its own, and the finding is still reported)."""
        try:
            return file_fix(self, code, node)
        except Exception as exc:
            self.fix_errors.append(f"{self.path}: fix for {code}: {type(exc).__name__}: {_one_line(exc)}")
            return None


def _syntax_finding(path: str, message: str, line: int = 1, column: int = 1) -> Finding:
    return Finding(path=path, line=max(line, 1), column=max(column, 1), code=SYNTAX_ERROR, message=message,
                   end_line=max(line, 1), end_column=max(column, 1))


_NATIVE_POSITION = re.compile(r"error at (\d+):(\d+): ?(.*)")


def _syntax_error_finding(path: str, text: str, exc: cst.ParserSyntaxError) -> Finding:
    """MLD001 at the parser's error position, with a short reason."""
    line, column = exc.raw_line, exc.raw_column + 1
    reason = (exc.message or "invalid syntax").strip().splitlines()[0]
    m = _NATIVE_POSITION.search(exc.message or "")
    if m:
        line, column, reason = int(m.group(1)), int(m.group(2)) + 1, m.group(3)
    if reason.startswith("expected one of"):
        reason = "invalid syntax"
    python = _python_syntax_error(text)
    if python is not None:
        line, column, reason = python
    elif python_accepts(text):  # a libcst limitation (e.g. some tab/space indentation), not the user's
        reason = f"{reason} (Python accepts this file; libcst, which mllint-deploy parses with, does not)"
    return _syntax_finding(path, f"cannot parse file: {reason[:160]}", line, column)


def _python_syntax_error(text: str):
    """Python's own position and wording for the error (parse only: `ast.parse` never runs code)."""
    try:
        ast.parse(text)
    except SyntaxError as err:
        return err.lineno or 1, err.offset or 1, err.msg or "invalid syntax"
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


def parse(text: str) -> cst.Module:
    check_parsable(text)  # too large or too deeply nested: refused before libcst's native parser can crash
    return cst.parse_module(text)


def lint_text(path: str, text: str, file_checks, enabled: frozenset[str], module_name: str = "",
              project_checks=(), abspath: str = "", digest: str = "") -> FileResult:
    """Run the per-file phase on already decoded text: file checks, then facts for the project checks."""
    result = FileResult(path=path, suppressions=parse_suppressions(text))
    earlier = already_parsed(str(Path(abspath).resolve()), digest) if abspath and digest else None
    try:
        module = earlier.index.module_scope.node if earlier is not None else parse(text)
    except UnreadableSource as exc:
        result.findings.append(_syntax_finding(path, str(exc), exc.line, exc.column))
        return result
    except cst.ParserSyntaxError as exc:
        result.findings.append(_syntax_error_finding(path, text, exc))
        return result
    except RecursionError:
        result.findings.append(_syntax_finding(path, "cannot parse file: nesting too deep"))
        return result
    except Exception as exc:  # the parser may raise other errors on odd input
        result.findings.append(_syntax_finding(path, f"cannot parse file: {type(exc).__name__}: {_one_line(exc)}"))
        return result
    ctx = FileContext(path, text, module, module_name, enabled, abspath)
    if earlier is not None and earlier.index.module_name == module_name:
        ctx.__dict__["index"] = earlier.index  # followed from a file linted before: parsed and indexed once
    if project_checks:
        try:
            ctx.facts["module"] = build_module_facts(ctx)
        except RecursionError:
            result.internal_errors.append(f"{path}: module facts: nesting too deep to analyse")
        except Exception as exc:
            result.internal_errors.append(f"{path}: module facts: {type(exc).__name__}: {_one_line(exc)}")
    for check in project_checks:
        try:
            ctx.facts[type(check).__name__] = check.collect(ctx)
        except RecursionError:
            result.internal_errors.append(f"{path}: {type(check).__name__}: nesting too deep to analyse")
        except Exception as exc:
            result.internal_errors.append(f"{path}: {type(check).__name__}: {type(exc).__name__}: {_one_line(exc)}")
    for check in file_checks:
        try:
            check.check(ctx)
        except RecursionError:
            result.internal_errors.append(f"{path}: {type(check).__name__}: nesting too deep to analyse")
        except Exception as exc:
            result.internal_errors.append(f"{path}: {type(check).__name__}: {type(exc).__name__}: {_one_line(exc)}")
    try:
        ctx.facts["readiness"] = build_readiness_facts(ctx)  # the checklist's evidence, cached with the rest
    except RecursionError:
        result.internal_errors.append(f"{path}: readiness facts: nesting too deep to analyse")
    except Exception as exc:
        result.internal_errors.append(f"{path}: readiness facts: {type(exc).__name__}: {_one_line(exc)}")
    try:
        result.findings.extend(ctx.findings())
    except Exception as exc:
        result.internal_errors.append(f"{path}: positions: {type(exc).__name__}: {_one_line(exc)}")
    if project_checks:
        try:
            result.project_fixes = project_fixes(ctx, enabled)
        except Exception as exc:
            ctx.fix_errors.append(f"{path}: project fixes: {type(exc).__name__}: {_one_line(exc)}")
    result.internal_errors.extend(ctx.fix_errors)
    result.facts = ctx.facts
    result.dependencies = dict(ctx.dependencies)
    if digest and "index" in ctx.__dict__:  # later files that import this module reuse the parse
        remember_parsed(str(Path(abspath).resolve()), digest, ctx.index, len(text))
    if result.findings:
        lines = text.splitlines()
        result.findings = [replace(f, fingerprint=context_fingerprint(f.code, f.path, lines, f.line))
                           for f in result.findings]
    return result


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def lint_path(path: Path, display: str, file_checks, enabled: frozenset[str], project_checks=(),
              data: bytes | None = None, module_name: str | None = None) -> FileResult:
    """Read, decode and lint one file; unreadable or undecodable files become one MLD001 finding.

    `data` is the file's bytes when the caller has read them already (the cache keys on them)."""
    if module_name is None:
        module_name = module_name_for(path)
    try:
        data = data if data is not None else read_bytes(str(path))
    except UnreadableSource as exc:
        result = FileResult(path=display)
        result.findings.append(_syntax_finding(display, str(exc), exc.line, exc.column))
        return result
    digest = hashlib.sha256(data).hexdigest()
    if path.name.endswith(".ipynb"):
        result = lint_notebook_bytes(data, display, file_checks, enabled, module_name, project_checks, str(path))
        result.digest = digest
        return result
    try:
        text = decode(data)
    except UnreadableSource as exc:
        result = FileResult(path=display)
        result.findings.append(_syntax_finding(display, str(exc), exc.line, exc.column))
        return result
    result = lint_text(display, text, file_checks, enabled, module_name, project_checks, str(path), digest=digest)
    result.digest = digest
    return result


def lint_stdin(display: str, file_checks, enabled: frozenset[str], project_checks=(),
               data: bytes | None = None) -> FileResult:
    """Lint what stdin holds (or `data`, when the caller has read it already)."""
    if data is None:
        data = sys.stdin.buffer.read()
    if display.endswith(".ipynb"):
        nb_path = os.path.abspath(display)
        return lint_notebook_bytes(data, display, file_checks, enabled, module_name_for(Path(nb_path)),
                                   project_checks, nb_path)
    try:
        text = decode(data)
    except UnreadableSource as exc:
        result = FileResult(path=display)
        result.findings.append(_syntax_finding(display, str(exc), exc.line, exc.column))
        return result
    abspath = os.path.abspath(display)
    return lint_text(display, text, file_checks, enabled, module_name_for(Path(abspath)), project_checks, abspath)


def lint_notebook_bytes(data: bytes, display: str, file_checks, enabled: frozenset[str], module_name: str = "",
                        project_checks=(), abspath: str = "") -> FileResult:
    """The per-file phase for a notebook: its joined code cells linted as one module.

    Findings stay in the joined text's coordinates, with the joined text's suppressions and line map in
    the result; the suppression chain applies `# noqa` there and then places each finding in its cell.
    A cell that does not parse is one MLD001 finding, already in its cell."""
    try:
        nb = read_notebook(data)
    except BrokenNotebook as exc:
        result = FileResult(path=display)
        result.findings.append(_syntax_finding(display, str(exc), exc.line, exc.column))
        return result
    if nb is None:
        return FileResult(path=display)
    result = lint_text(display, nb.text, file_checks, enabled, module_name,
                       project_checks=project_checks, abspath=abspath)
    for bad in nb.bad_cells:
        lines = nb.cells.get(bad.cell, [])
        result.findings.append(Finding(
            path=display, line=bad.line, column=bad.column, code=SYNTAX_ERROR,
            message=f"cannot parse cell {bad.cell}: {bad.reason}", end_line=bad.line, end_column=bad.column,
            cell=bad.cell, fingerprint=context_fingerprint(SYNTAX_ERROR, display, lines, bad.line),
        ))
    result.facts["notebook"] = NotebookFacts(list(nb.line_map), nb.text.splitlines())
    return result


def lint_notebook_path(path: Path, display: str, file_checks, enabled: frozenset[str], module_name: str = "",
                       project_checks=()) -> FileResult:
    """Read one notebook file and lint it; an unreadable file is one MLD001 finding."""
    try:
        data = read_bytes(str(path))
    except UnreadableSource as exc:
        result = FileResult(path=display)
        result.findings.append(_syntax_finding(display, str(exc), exc.line, exc.column))
        return result
    return lint_notebook_bytes(data, display, file_checks, enabled, module_name, project_checks, str(path))
