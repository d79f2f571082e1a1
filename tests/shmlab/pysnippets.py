"""make python: the book's Python, run as the book says it runs.

Every Python program the book shows is a file of docs/python/, named after its
lesson (02-racy-counter.py, 02-racy-counter-portable.py...); a fix, which only
the full edition shows, is in docs/python/fixes/. Each says, in
comment lines of its own, what it prints under which start methods:

    # shmlab-expect fork: ^[1-9][0-9]?$
    # shmlab-expect spawn forkserver: ^0$

a regular expression for the whole of its output ("default": the method
Python picks). `make python LESSON=02` runs each file under each method it
names and says whether the output is what the book shows; `make test` does
the same for every file.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .common import Lab, LabError, Style
from .manifest import Lesson

DIR = "docs/python"
EXPECT = re.compile(r"^# shmlab-expect ([a-z ]+): (.*)$", re.MULTILINE)
METHODS = ("default", "fork", "spawn", "forkserver")
# A file's run: a second or two, but lesson 08's 99 spawned workers take 19 s of
# CPU; at load 30 on two cores that ran past 120 s. Only a hang takes 600.
SECONDS = 600
SHOWN = 12      # lines of output shown per run
# Runs a file as its own main module under one start method (spawn's children
# find the file through the main module's __file__, as for `python3 file.py`).
BOOT = """\
import multiprocessing, runpy, sys
method, path = sys.argv[1], sys.argv[2]
if method != "default":
    multiprocessing.set_start_method(method)
sys.argv = [path]
runpy.run_path(path, run_name="__main__")
"""


@dataclass(frozen=True)
class Expectation:
    method: str
    pattern: str


@dataclass(frozen=True)
class Outcome:
    path: Path
    method: str
    output: str
    problem: str    # empty: as the book says


def files(lab: Lab, lesson: Lesson | None = None) -> list[Path]:
    """The book's Python files, of one lesson or all: the traps, then the fixes
    (docs/python/fixes/, which the student kit leaves out); a lesson's main one
    first."""
    prefix = f"{lesson.id}-" if lesson else ""
    found = [*(lab.root / DIR).glob(f"{prefix}*.py"), *(lab.root / DIR).glob(f"fixes/{prefix}*.py")]
    return sorted(found, key=lambda p: (p.parent.name == "fixes", p.name[:2],
                                        p.stem.count("-"), p.name))


def expectations(path: Path) -> list[Expectation]:
    found = []
    for methods, pattern in EXPECT.findall(path.read_text()):
        for method in methods.split():
            if method not in METHODS:
                raise LabError(f"{path}: no start method '{method}' "
                               f"(there are {', '.join(METHODS)})")
            found.append(Expectation(method, pattern))
    if not found:
        raise LabError(f"{path}: no '# shmlab-expect METHOD: PATTERN' line says what it prints")
    return found


def _segments() -> set[str]:
    """Python's segments in /dev/shm (SharedMemory names them psm_...)."""
    try:
        return {n for n in os.listdir("/dev/shm") if n.startswith("psm_")}
    except OSError:
        return set()


def _semaphores() -> set[str]:
    """Python's named semaphores in /dev/shm (a Lock is one: sem.mp-...)."""
    try:
        return {n for n in os.listdir("/dev/shm") if n.startswith("sem.mp-")}
    except OSError:
        return set()


def _remove_new_semaphores(before: set[str]) -> None:
    """A program killed with its resource tracker leaves its semaphores: they go.
    (One of another run beside it may go too; that run keeps the semaphore it opened.)"""
    for name in _semaphores() - before:
        try:
            os.unlink(f"/dev/shm/{name}")
        except OSError:
            pass


def run(path: Path, expect: Expectation) -> Outcome:
    """One file under one start method, its output held against the pattern."""
    before = _segments()
    before_semaphores = _semaphores()
    proc = subprocess.Popen([sys.executable, "-c", BOOT, expect.method, str(path)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        _remove_new_semaphores(before_semaphores)
        return Outcome(path, expect.method, out, f"still running after {SECONDS} s; stopped")
    finally:
        try:  # a worker that outlived its parent
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    out = out.rstrip("\n")
    problem = ""
    if proc.returncode != 0:
        problem = f"exited with status {proc.returncode}"
    elif err.strip():
        problem = "wrote to stderr: " + err.strip().splitlines()[-1]
    elif not re.fullmatch(expect.pattern, out):
        problem = f"its output does not match what the book says ({expect.pattern})"
    left = _segments() - before
    # Another run beside this one (make test, two kits at once) makes and removes
    # segments of its own: only what stays after every such run has ended was left.
    deadline = time.monotonic() + SECONDS
    while left and not problem and time.monotonic() < deadline:
        time.sleep(0.5)
        left &= _segments()
    if left and not problem:
        problem = f"left {', '.join(sorted(left))} in /dev/shm"
    return Outcome(path, expect.method, out, problem)


def run_all(lab: Lab, lesson: Lesson | None = None) -> list[Outcome]:
    return [run(path, e) for path in files(lab, lesson) for e in expectations(path)]


def show(lab: Lab, lesson: Lesson | None, style: Style) -> int:
    """make python LESSON=NN: each file, each method, what it printed, and the verdict."""
    paths = files(lab, lesson)
    if not paths:
        print(f"lesson {lesson.id if lesson else ''} has no Python in the book")
        return 0
    if lesson is None:
        runs = sum(len(expectations(path)) for path in paths)
        print(f"Every lesson's Python: {runs} runs, some a minute or more on a busy machine "
              "(make python LESSON=NN runs one lesson's).")
    wrong = 0
    for path in paths:
        for e in expectations(path):
            # Flushed: a run may take minutes, and a pipe would hold the line till the end.
            print(style.bold(f"$ python3 {lab.rel(path)}   # start method: {e.method}"),
                  flush=True)
            done = run(path, e)
            lines = done.output.splitlines()
            for line in lines[:SHOWN]:
                print("  " + line)
            if len(lines) > SHOWN:
                print(f"  ... {len(lines) - SHOWN} more lines")
            if done.problem:
                wrong += 1
                print(style.red(f"  not as the book says: {done.problem}"))
            else:
                print(style.green("  as the book says"), flush=True)
    return 1 if wrong else 0
