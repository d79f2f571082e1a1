"""Running a lesson's Check suite, and reading what it found.

The suite (tests/harness/lab.c) writes one line per test to its results file
(LAB_RESULTS), marks each test's start in a progress file (LAB_PROGRESS), and,
when asked (LAB_STDERR_DIR), sends each test's stderr to a file of its own:
what the student's code printed is shown under the test it belongs to.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from . import processes
from .common import tail

SUITE_LIMIT = 300   # seconds for a whole suite; each test has its own, shorter, limit
# Of a suite's limit, the seconds kept for the harness to stop the test running at
# its own deadline (LAB_SUITE_SECONDS) and write what it saw before it is stopped
# from outside: a suite stopped from outside leaves no results at all.
SUITE_MARGIN = 20
STDERR_LINES = 8    # how much of a failing test's stderr is shown under it

# progress(test number, of how many, its name, seconds since it started)
Progress = Callable[[int, int, str, float], None]


@dataclass(frozen=True)
class TestResult:
    name: str                  # as the suite names it: one_child
    ok: bool
    message: str               # why it failed, in the lesson's terms
    stderr: tuple[str, ...]    # the last lines the test printed on stderr
    seconds: float = 0.0       # how long it ran
    limit: float = 0.0         # how long it could have run

    @property
    def title(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class SuiteRun:
    results: tuple[TestResult, ...]
    tests: tuple[str, ...]     # every test the suite has, in order
    status: int                # the suite's exit status (negative: killed by that signal)
    timed_out: bool            # stopped after SUITE_LIMIT
    stopped_in: int = 0        # timed out: the test that was running then (from 1), or 0
    limit: float = SUITE_LIMIT  # the seconds it was given

    @property
    def passed(self) -> bool:
        return (self.status == 0 and not self.timed_out
                and [r.name for r in self.results] == list(self.tests)
                and all(r.ok for r in self.results))

    @property
    def ok_count(self) -> int:
        return sum(r.ok for r in self.results)


def read_results(path: Path, stderr_dir: Path | None) -> tuple[TestResult, ...]:
    """The suite's results file: "ok|FAIL<TAB>name<TAB>seconds<TAB>limit<TAB>message" a line."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ()
    results = []
    for n, line in enumerate(lines, start=1):
        status, name, seconds, limit, message = (line.split("\t", 4) + [""] * 4)[:5]
        shown: tuple[str, ...] = ()
        if status != "ok" and stderr_dir is not None:
            shown = tuple(tail(stderr_dir / f"test-{n}.txt", STDERR_LINES))
        results.append(TestResult(name=name, ok=status == "ok", message=message, stderr=shown,
                                  seconds=seconds_of(seconds), limit=seconds_of(limit)))
    return tuple(results)


def seconds_of(field: str) -> float:
    """A results file's seconds; 0 for what is not a time (the file may be anyone's)."""
    try:
        seconds = float(field)
    except ValueError:
        return 0.0
    return seconds if 0 <= seconds < 1e6 else 0.0


def _started(progress: Path) -> int:
    try:
        return progress.read_bytes().count(b"S")
    except OSError:
        return 0


def run_suite(check: Path, tests: tuple[str, ...], *, progress: Progress | None = None,
              per_test_stderr: bool = True, limit: float = SUITE_LIMIT,
              env: dict[str, str] | None = None) -> SuiteRun:
    """Runs the suite CHECK once, in its directory's files: report.txt, stderr.txt,
    results.tsv, and each test's stderr in stderr/ (PER_TEST_STDERR)."""
    out = check.parent
    results = out / "results.tsv"
    marks = out / "progress"
    stderr_dir = out / "stderr"
    for stale in (results, marks):
        stale.unlink(missing_ok=True)
    shutil.rmtree(stderr_dir, ignore_errors=True)
    run_env = {**os.environ, **(env or {}), "LAB_RESULTS": str(results),
               "LAB_PROGRESS": str(marks)}
    # The student's object: the harness reads the line of a call that it made fail there.
    objects = sorted(out.glob("*.o"))
    if objects:
        run_env["LAB_STUDENT_OBJECT"] = str(objects[0])
    if "LAB_SUITE_SECONDS" not in run_env:
        run_env["LAB_SUITE_SECONDS"] = str(max(1, int(limit - min(SUITE_MARGIN, limit / 6))))
    if per_test_stderr:
        stderr_dir.mkdir()
        run_env["LAB_STDERR_DIR"] = str(stderr_dir)
    with open(out / "report.txt", "wb") as report, open(out / "stderr.txt", "wb") as err:
        proc = subprocess.Popen([str(check)], stdout=report, stderr=err, stdin=subprocess.DEVNULL,
                                env=run_env, start_new_session=True,
                                preexec_fn=processes.limit_for_suite(run_env))
        try:
            stopped_in = _wait(proc, tests, marks, progress, limit)
        except BaseException:
            _kill_group(proc)  # interrupted (Ctrl-C): the suite goes too
            raise
        finally:
            # Whatever the code left running, in groups of its own: a fork bomb's; and
            # what the harness killed between tests (lab.c's clear_the_way).
            killed, left = processes.kill_session(proc.pid)
            err.flush()
            found = re.search(rb"harness: (\d+) processes that tests left running were killed",
                              (out / "stderr.txt").read_bytes()[-65536:])
            killed += int(found[1]) if found else 0
            if killed >= processes.MANY_LEFT or left:
                print(f"lab: the suite's code left {killed} processes running, killed now"
                      + (f", and {left} that fork faster than they are killed (`pkill -9 -s "
                         f"{proc.pid}`)" if left else "")
                      + f": {processes.FORKS_WITHOUT_END}", file=sys.stderr)
    found = read_results(results, stderr_dir if per_test_stderr else None)
    return SuiteRun(results=tuple(replace(r, message=processes.explain(r.message))
                                  for r in found),
                    tests=tests, status=proc.returncode, timed_out=stopped_in is not None,
                    stopped_in=stopped_in or 0, limit=limit)


def _wait(proc: subprocess.Popen[bytes], tests: tuple[str, ...], marks: Path,
          progress: Progress | None, limit: float) -> int | None:
    """Waits for the suite, telling PROGRESS which test runs. None if it ended in
    time; else the number of the test running when it was stopped (0: none)."""
    began = time.monotonic()
    current, since = 0, began
    while True:
        try:
            proc.wait(timeout=0.2)
            return None
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        started = _started(marks)
        if now - began > limit:
            _kill_group(proc)
            return started if 0 < started <= len(tests) else 0
        if started != current:
            current, since = started, now
        if progress is not None and 0 < current <= len(tests):
            progress(current, len(tests), tests[current - 1], now - since)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
