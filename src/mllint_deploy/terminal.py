"""What a terminal gets and a pipe or a CI log does not: colour on stdout, a progress line on stderr."""

from __future__ import annotations

import os
import time

COLOR_CHOICES = ("auto", "always", "never")


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def use_colour(choice: str, stream) -> bool:
    """`--color`: always/never as asked; auto follows NO_COLOR, then FORCE_COLOR, then whether
    `stream` is a terminal (https://no-color.org: NO_COLOR set and not empty turns colour off)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return _is_tty(stream) and os.environ.get("TERM") != "dumb"


def interactive(stream) -> bool:
    """A person watching: a terminal, outside CI."""
    return _is_tty(stream) and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


class Progress:
    """`mllint-deploy: 120/890 files` on one stderr line, redrawn in place, shown only once the run
    has taken about a second (short runs print nothing), erased when the run ends."""

    DELAY = 1.0
    INTERVAL = 0.1

    def __init__(self, stream) -> None:
        self._stream = stream
        self._total = 0
        self._done = 0
        self._started = 0.0
        self._drawn_at = 0.0
        self._width = 0

    def start(self, total: int) -> None:
        self._total, self._done = total, 0
        self._started = time.monotonic()

    def tick(self) -> None:
        self._done += 1
        now = time.monotonic()
        if now - self._started < self.DELAY:
            return
        if now - self._drawn_at < self.INTERVAL and self._done < self._total:
            return
        self._drawn_at = now
        tail = ", checking across files" if self._done >= self._total else ""
        self._draw(f"mllint-deploy: {self._done}/{self._total} files{tail}")

    def finish(self) -> None:
        if self._width:
            self._write("\r" + " " * self._width + "\r")
            self._width = 0

    def _draw(self, text: str) -> None:
        self._write("\r" + text.ljust(self._width))
        self._width = max(self._width, len(text))

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            pass
