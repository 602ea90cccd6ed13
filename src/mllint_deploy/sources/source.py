"""Reading a file into text: bytes, PEP 263 decoding, and the reasons a file cannot be read."""

from __future__ import annotations

import ast
import errno
import io
import os
import re
import stat
import tokenize
from dataclasses import dataclass


class UnreadableSource(Exception):
    """The file cannot be turned into text; the message says why, in one line."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.line = line
        self.column = column


MAX_BYTES = 64 * 1024 * 1024  # raw bytes read from one file (a notebook's JSON may carry big outputs)
MAX_SOURCE_CHARS = 1024 * 1024  # code handed to the parser: libcst needs ~600 MB and ~10 s per MB of code
MAX_NESTING = 200  # CPython's own limit on nested brackets ("too many nested parentheses")


def read_bytes(path: str) -> bytes:
    """The file's bytes; a directory, FIFO, socket, device, dangling or looping link, unreadable or
    oversized file raises UnreadableSource with the reason.

    The file is opened first and checked through the open descriptor (non-blocking, so a FIFO never
    hangs the run), so a path swapped for something else between discovery and reading is still
    refused rather than read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnreadableSource(f"cannot read file: {_why(path, exc)}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UnreadableSource("cannot read file: it is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableSource(f"cannot read file: not a regular file ({_kind(st.st_mode)})")
        if st.st_size > MAX_BYTES:
            raise UnreadableSource(f"file too large to lint ({st.st_size:,} bytes; the limit is {MAX_BYTES:,})")
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UnreadableSource(f"cannot read file: {_why(path, exc)}") from None
    finally:
        os.close(fd)
    if size > MAX_BYTES:  # it grew while being read
        raise UnreadableSource(f"file too large to lint (more than {MAX_BYTES:,} bytes)")
    return b"".join(chunks)


def _why(path: str, exc: OSError) -> str:
    """The reason an open or read failed, in the words a user would look for."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        try:
            return f"dangling symbolic link (its target {os.readlink(path)!r} does not exist)"
        except OSError:
            return "dangling symbolic link"
    if os.path.isdir(path):
        return "it is a directory"
    return exc.strerror or str(exc)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "a special file"


def decode(data: bytes) -> str:
    """Decode Python source per PEP 263 (BOM, coding cookie, else UTF-8); newlines kept as written."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise UnreadableSource(f"cannot decode file: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        line = data[: getattr(exc, "start", 0)].count(b"\n") + 1
        raise UnreadableSource(f"cannot decode file as {encoding}: {exc.reason if hasattr(exc, 'reason') else exc}", line) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise UnreadableSource("file contains a NUL byte", line)
    return text


@dataclass(frozen=True)
class SourceText:
    """The text of one file as the analysis sees it."""

    path: str
    text: str


def python_accepts(text: str) -> bool:
    """Whether CPython's own parser accepts the text (parse only: `ast.parse` never runs code)."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def check_parsable(text: str) -> None:
    """Refuse, before libcst sees it, code that would exhaust its parser or that it wrongly accepts.

    libcst's native parser recurses on the machine stack: a few thousand nested brackets, prefix
    operators, `and`s, `elif`s or chained attributes crash the whole process (SIGSEGV) or take many
    minutes, and a large file takes minutes and gigabytes. CPython refuses all such code itself (more
    than 200 nested brackets; a parser stack overflow; a RecursionError while compiling), so
    `python -m py_compile` fails on it too. libcst also accepts Python 2's `except E, e:`, which
    Python 3 rejects. Files that look like any of these are checked with CPython's own parser first
    (`ast.parse` only builds a syntax tree, it never runs anything) and get one MLD001 with CPython's
    reason and position; everything else goes straight to libcst.
    """
    if len(text) > MAX_SOURCE_CHARS:
        raise UnreadableSource(f"file too large to lint ({len(text):,} characters of code; the limit is "
                               f"{MAX_SOURCE_CHARS:,}): exclude it or split it")
    if not _suspicious(text):
        return
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        reason = (err.msg or "invalid syntax").strip().splitlines()[0][:160]
        raise UnreadableSource(f"cannot parse file: {reason}", err.lineno or 1, err.offset or 1) from None
    except MemoryError:  # CPython's "parser stack overflow"
        raise UnreadableSource("cannot parse file: nested too deeply for Python's parser") from None
    except RecursionError:  # `python -m py_compile` fails the same way
        raise UnreadableSource("cannot parse file: nested too deeply for Python to compile") from None
    except ValueError:
        return
    depth, longest = _depth_and_longest_boolop(tree)
    if depth > MAX_AST_DEPTH:  # what CPython's compiler refuses at its default recursion limit
        raise UnreadableSource("cannot parse file: nested too deeply for Python to compile")
    if longest > MAX_BOOL_OPERANDS:  # flat for CPython, but libcst nests them and overflows its stack
        raise UnreadableSource(f"cannot parse file: {longest:,} operands chained with and/or in one expression "
                               f"(libcst, the parser mllint-deploy uses, handles at most {MAX_BOOL_OPERANDS:,})")


def _depth_and_longest_boolop(tree: ast.AST) -> tuple[int, int]:
    """The syntax tree's depth and its longest and/or chain, walked without recursion. The depth is
    measured here rather than left to a RecursionError, whose threshold moves with the caller's
    recursion limit (the lint thread raises it): the verdict must not depend on where the file ran."""
    deepest = longest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
        if isinstance(node, ast.BoolOp) and len(node.values) > longest:
            longest = len(node.values)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, longest


_BRACKET = re.compile(r"[][(){}]")
_UNARY_RUN = re.compile(r"[-+~](?:\s*[-+~]){499}")
_CHAIN_WORDS = ("lambda", "not ", "await ", "**", " if ", "elif", " and ", " or ", " + ", " - ", " * ", " | ", " & ")
MAX_BOOL_OPERANDS = 4000
MAX_AST_DEPTH = 2990  # CPython 3.11's compiler fails on deeper trees at its default recursion limit
_PY2_EXCEPT = re.compile(r"^[ \t]*except[ \t]+[^\s(:#][^:#\n]*,", re.MULTILINE)
MAX_LINE = 5000


def _suspicious(text: str) -> bool:
    """Cheap screen (about 1 ms per 100 kB): brackets nested past CPython's limit, long chains of
    operators or keywords, very long lines, or a Python 2 `except E, e:`."""
    if text.count("(") + text.count("[") + text.count("{") > MAX_NESTING:
        depth = deepest = 0
        for ch in _BRACKET.findall(text):  # brackets in strings and comments count too: a superset
            if ch in "([{":
                depth += 1
                if depth > deepest:
                    deepest = depth
            elif depth:
                depth -= 1
        if deepest > MAX_NESTING:
            return True
    if any(text.count(word) > 1000 for word in _CHAIN_WORDS):
        return True
    if len(text) > MAX_LINE and max(map(len, text.split("\n"))) > MAX_LINE:
        return True
    if "except" in text and _PY2_EXCEPT.search(text):
        return True
    return _UNARY_RUN.search(text) is not None
