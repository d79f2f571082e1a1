"""One line at the foot of a terminal that says which test is still running.

A test that deadlocks runs until its time limit: without a word, the
student would stare at a silent terminal. On a terminal the line is
rewritten in place (carriage return, then erase to the end of the line)
and erased before anything else is printed. Off a terminal (a pipe, a
log, make test) a test that runs long gets a plain line of its own now
and then instead, and so does a lesson silent for as long: a log shows
what it waits for. Lessons graded
at once share the one line, each its part.
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import TextIO

from .suite import Progress

SHOW_AFTER = 2.0    # seconds a test runs before the line names it
LOG_EVERY = 30.0    # off a terminal: a line at 30 s of a test, 60 s, 90 s...
ERASE = "\r\x1b[K"


class StatusLine:
    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self._stream = stream
        self._on = stream.isatty()
        self._parts: dict[str, str] = {}   # what is running, by lesson
        self._shown = ""                  # the text on the terminal now
        self._logged: dict[str, tuple[str, int]] = {}  # off a terminal: test, and lines, by lesson
        self._set_logged: dict[str, float] = {}       # off a terminal: when, by key
        # The suites report from the grading threads; printing comes from the main one.
        self._lock = threading.Lock()

    def progress(self, key: str, label: str = "") -> Progress:
        """A callback for run_suite: KEY's part of the line, LABEL before it."""
        def report(number: int, of: int, name: str, seconds: float) -> None:
            text = ""
            if seconds >= SHOW_AFTER:
                text = f"{label}test {number} of {of}: {name.replace('_', ' ')}… {seconds:.0f} s"
            if self._on:
                self.set(key, text)
            else:
                self._log(key, f"{label}test {number} of {of}", name, seconds)
        return report

    def _log_text(self, key: str, text: str) -> None:
        """Off a terminal: TEXT as a line, if KEY had none in the last LOG_EVERY seconds."""
        now = time.monotonic()
        with self._lock:
            due = bool(text) and now - self._set_logged.get(key, -LOG_EVERY) >= LOG_EVERY
            if due:
                self._set_logged[key] = now
        if due:
            self.print([f"  … {text}"])

    def _log(self, key: str, which: str, name: str, seconds: float) -> None:
        """Off a terminal: a line each LOG_EVERY seconds a test runs, and one when
        KEY had none for LOG_EVERY seconds (a lesson of many short tests)."""
        now = time.monotonic()
        marks = int(seconds // LOG_EVERY)
        with self._lock:
            test, logged = self._logged.get(key, ("", 0))
            if test != which + name:
                test, logged = which + name, 0
            self._logged[key] = (test, max(marks, logged))
            quiet = now - self._set_logged.setdefault(key, now) >= LOG_EVERY
            if marks > logged or quiet:
                self._set_logged[key] = now
        if marks > logged:
            self.print([f"  … {which}, {name.replace('_', ' ')}: still running after "
                        f"{marks * LOG_EVERY:.0f} s"])
        elif quiet:
            self.print([f"  … {which}, {name.replace('_', ' ')}: running"])

    def set(self, key: str, text: str) -> None:
        if not self._on:
            self._log_text(key, text)
            return
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
