"""What every module of the driver shares: the lab's place, errors, colour."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from . import processes


class LabError(Exception):
    """A reason the command cannot go on, said to the user as is; exits with STATUS."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Lab:
    """Where the lab is and where it builds: passed to whatever needs them."""
    root: Path      # the lab's top directory (the Makefile's)
    build: Path     # build/, or BUILD from the environment

    @staticmethod
    def here() -> "Lab":
        root = Path(__file__).resolve().parent.parent.parent
        build = Path(os.environ.get("BUILD") or "build")
        if not build.is_absolute():
            build = root / build
        return Lab(root=root, build=build)

    def rel(self, path: Path) -> str:
        """PATH as the user would type it: relative to the lab's root where it is under it."""
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class Style:
    """Colour for a terminal, nothing for a pipe or a file."""
    on: bool

    @staticmethod
    def for_stream(stream: TextIO = sys.stdout) -> "Style":
        return Style(on=stream.isatty() and os.environ.get("NO_COLOR") is None)

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.on else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)


def indent(text: str, by: int) -> str:
    pad = " " * by
    return "\n".join(pad + line if line else line for line in text.splitlines())


def tail(path: Path, lines: int, limit: int = 65536) -> list[str]:
    """The last LINES lines of a file (of its last LIMIT bytes), or none if it is missing."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            data = f.read()
    except OSError:
        return []
    text = data.decode("utf-8", "replace").rstrip("\n")
    return text.splitlines()[-lines:] if text else []


def run_in_group(argv: list[str], *, stdout: int | IO[bytes], stderr: int | IO[bytes],
                 timeout: float | None, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> int:
    """Runs ARGV in a session of its own, under the suite's limit on processes;
    past TIMEOUT seconds, kills it; when it ends, whatever it left in its session.
    Its exit status, or 124 when it ran out of time (as timeout(1) says)."""
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout, stderr=stderr,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=processes.limit_for_suite(env))
    except OSError as e:
        raise LabError(f"cannot run {argv[0]}: {e.strerror}") from None
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return 124
    finally:
        processes.kill_session(proc.pid)   # what it left, in groups of their own
