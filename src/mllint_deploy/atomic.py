"""Writing a file so that readers see either the old content or the complete new one."""

from __future__ import annotations

import os


def write_atomic(path, data: bytes, prefix: str = ".mllint-deploy-", mode: int | None = None) -> None:
    """Write to a new temporary file beside `path`, then rename it over `path` (removed on failure,
    Ctrl-C included). `mode`, when given, is the new file's permissions (a fixed source file keeps
    its own)."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    tmp = os.path.join(directory, f"{prefix}{os.getpid()}-{os.urandom(6).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
