"""One line at the foot of a terminal that says which test is still running.

A test that deadlocks runs until its time limit: without a word, the
student would stare at a silent terminal. On a terminal the line is
rewritten in place (carriage return, then erase to the end of the line)
and erased before anything else is printed; off a terminal (a pipe, a
log, make test) nothing of it is written at all. Lessons graded at once
share the one line, each its part.
"""
from __future__ import annotations

import shutil
import sys
import threading
from typing import TextIO

from .suite import Progress

SHOW_AFTER = 2.0    # seconds a test runs before the line names it
ERASE = "\r\x1b[K"


class StatusLine:
    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self._stream = stream
        self._on = stream.isatty()
        self._parts: dict[str, str] = {}   # what is running, by lesson
        self._shown = ""                  # the text on the terminal now
        # The suites report from the grading threads; printing comes from the main one.
        self._lock = threading.Lock()

    def progress(self, key: str, label: str = "") -> Progress:
        """A callback for run_suite: KEY's part of the line, LABEL before it."""
        def report(number: int, of: int, name: str, seconds: float) -> None:
            text = ""
            if seconds >= SHOW_AFTER:
                text = f"{label}test {number} of {of}: {name.replace('_', ' ')}… {seconds:.0f} s"
            self.set(key, text)
        return report

    def set(self, key: str, text: str) -> None:
        with self._lock:
            if text:
                self._parts[key] = text
            else:
                self._parts.pop(key, None)
            self._draw()

    def print(self, lines: list[str]) -> None:
        """LINES above the status line, which is then drawn again under them."""
        with self._lock:
            if self._shown:
                self._stream.write(ERASE)
                self._shown = ""
            for line in lines:
                self._stream.write(line + "\n")
            self._stream.flush()
            self._draw()

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()
            self._draw()

    def _draw(self) -> None:
        if not self._on:
            return
        text = "  ·  ".join(self._parts[k] for k in sorted(self._parts))
        # Longer than the terminal is wide, it would wrap, and \r would go back
        # only to the start of its last row.
        width = shutil.get_terminal_size().columns - 1
        if len(text) > width:
            text = text[:max(0, width - 1)] + "…"
        if text != self._shown:
            self._stream.write(ERASE + text)
            self._stream.flush()
        self._shown = text
