"""Reading a file into text: bytes, PEP 263 decoding, and the reasons a file cannot be read."""

from __future__ import annotations

import io
import os
import stat
import tokenize
from dataclasses import dataclass


class UnreadableSource(Exception):
    """The file cannot be turned into text; the message says why, in one line."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.line = line
        self.column = column


MAX_BYTES = 64 * 1024 * 1024


def read_bytes(path: str) -> bytes:
    """The file's bytes; a directory, FIFO, device, dangling link or unreadable file raises."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UnreadableSource(f"cannot read file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UnreadableSource("cannot read file: it is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableSource("cannot read file: not a regular file")
    if st.st_size > MAX_BYTES:
        raise UnreadableSource(f"file too large to lint ({st.st_size} bytes)")
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UnreadableSource(f"cannot read file: {exc.strerror or exc}") from None


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
