"""The processes a suite starts, kept in bounds on the student's own machine.

A class's sandbox has a process limit and a cgroup of its own; the student's
`make check` has neither. Code that forks in a loop without end (a fork bomb,
written by accident: a child that goes on round the parent's loop) would fill
the machine, and its processes, in process groups of their own (Check gives
each test one), would outlive the suite. So a suite runs with a limit on the
user's processes (RLIMIT_NPROC: what the user has now, and some thousands more;
root is not limited by it), and when it ends, every process left in its session
is killed.
"""
from __future__ import annotations

import os
import re
import resource
import signal
import time
from pathlib import Path
from typing import Callable

# Processes (threads count too) a suite may add to what the user runs already:
# the largest lesson forks about a thousand at once.
HEADROOM = 4096
# Processes left when a suite ended that mean code forked without end.
MANY_LEFT = 100
FORKS_WITHOUT_END = ("code that forks without end (a child that goes on round its parent's "
                     "loop, instead of _exit) fills the machine")
EAGAIN_FORK = re.compile(r"fork[^|]*Resource temporarily unavailable")


def user_tasks(uid: int) -> int:
    """How many tasks (processes and threads) user UID runs now, as RLIMIT_NPROC counts."""
    n = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                n += len(os.listdir(entry / "task"))
        except OSError:
            continue    # gone meanwhile
    return n


def pids_free() -> int:
    """Process ids the kernel has left to give (kernel.pid_max, less every task's)."""
    try:
        pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    except (OSError, ValueError):
        pid_max = 32768
    tasks = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                tasks += len(os.listdir(entry / "task"))
            except OSError:
                continue
    return pid_max - tasks


def jobs_that_fit(jobs: int, nproc: int) -> int:
    """How many of JOBS sandboxes, each allowed NPROC processes, fit in half of
    the process ids left (the other half for another class, and the machine):
    at 64 jobs of 1,200 a kernel's 32,768 would run out, and a right answer's
    fork fail."""
    return max(1, min(jobs, pids_free() // 2 // nproc))


def limit_for_suite(env: dict[str, str] | None = None) -> Callable[[], None] | None:
    """For Popen's preexec_fn: the suite's limit on the user's processes; None for
    root (whom it does not bind). LAB_NPROC_HEADROOM sets the headroom (tests)."""
    if os.geteuid() == 0 and not (env or os.environ).get("LAB_NPROC_HEADROOM"):
        return None
    headroom = int((env or os.environ).get("LAB_NPROC_HEADROOM") or HEADROOM)
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    want = user_tasks(os.getuid()) + headroom
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft != resource.RLIM_INFINITY and soft <= want:
        return None     # the user's own limit is lower already

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NPROC, (want, hard))
    return apply


def explain(message: str) -> str:
    """A test's MESSAGE, with why a fork failed with EAGAIN, if one did."""
    if not EAGAIN_FORK.search(message):
        return message
    return (f"{message} (the user's processes were at their limit: {FORKS_WITHOUT_END}; in "
            "this test, or in one before it)")


def session_members(sid: int) -> list[int]:
    """The live processes of session SID (zombies are already dead)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 3 and fields[3] == str(sid) and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def kill_session(sid: int, rounds: int = 200) -> tuple[int, int]:
    """Kills every process of session SID, round after round until none is left
    (a process forked while a round ran is killed by the next). Returns how many
    it killed, and how many were left after the last round: 0, unless they
    outran ROUNDS rounds."""
    me = os.getpid()
    killed = 0
    for _ in range(rounds):
        members = [pid for pid in session_members(sid) if pid != me]
        if not members:
            return killed, 0
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.01)
    return killed, len(session_members(sid))
