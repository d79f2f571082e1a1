"""make test's part for the student's command: tests/lab run as a student runs it,
each check on a scratch copy of the lab (scratch.py). Here: make (overview),
list, watch, and what a terminal shows; command_lesson.py has the commands
that act on one lesson, and the workspace's making and record.

A check returns the problems it found; none means it passed. Those of a
behaviour the bash driver got wrong fail on it (tests/lab of git HEAD).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Callable

from shmlab.context import Context
from shmlab.manifest import Lesson

from . import command_lesson
from .checks import Check, Part
from .scratch import (environment, find, lab, lesson_line, on_terminal, put, said,
                      scratch_lab, wait_for)

# The lesson 01 starter, made to hang in its first test (one child) and to say
# something on stderr in every test: what a student's deadlock looks like.
HANG = ("    if (n < 0 || n > COLLECT_MAX)\n        return -1;\n",
        "    if (n < 0 || n > COLLECT_MAX)\n        return -1;\n"
        "    fprintf(stderr, \"collect: marker %d\\n\", n);\n"
        "    if (n == 1)\n        for (;;)\n            pause();\n")


def _hanging(ctx: Context, root: Path) -> Path:
    """ROOT's work/ with lesson 01's file made to hang (HANG); its path."""
    lab(ctx, root, "list")
    target = root / "work" / find(ctx, "01").name / "collect.c"
    text = target.read_text()
    if HANG[0] not in text:
        raise AssertionError(f"the lesson 01 starter has changed: no {HANG[0]!r} in it")
    text = text.replace(HANG[0], HANG[1], 1).replace("#include <stdlib.h>",
                                                     "#include <stdio.h>\n#include <stdlib.h>")
    target.write_text(text)
    return target


def _kept(root: Path) -> dict[str, int]:
    """The modification times of every verdict and suite result under ROOT's build/work."""
    return {str(p): p.stat().st_mtime_ns for pattern in ("*/verdict.json", "*/results.tsv")
            for p in (root / "build" / "work").glob(pattern)}


def overview_grades_only_what_changed(ctx: Context) -> list[str]:
    """Plain make in a new workspace grades nothing (every lesson is still its
    starter) and says so; with lesson 01's file changed, it grades that lesson
    alone, and keeps its verdict; again with nothing changed, it runs no suite."""
    root = scratch_lab(ctx, "overview", kit=True)
    first = lab(ctx, root, "overview")
    if first.returncode != 0 or _kept(root) or "Not started, so not graded" not in first.stdout \
            or "Next: lesson 01" not in first.stdout:
        return said("make in a new workspace graded a starter, or did not say it graded none, "
                    "or did not send the student to lesson 01", first)
    one = find(ctx, "01")
    with open(root / "work" / one.name / one.files[0], "a") as f:
        f.write("/* changed */\n")
    changed = lab(ctx, root, "overview")
    kept = _kept(root)
    if sorted(Path(k).parent.name for k in kept) != [one.name, one.name]:
        return said("make, with lesson 01's file changed, did not grade lesson 01 alone and "
                    "keep its verdict in build/work/<lesson>/verdict.json", changed)
    again = lab(ctx, root, "overview")
    if _kept(root) != kept or again.returncode != 0:
        return said("make, with nothing changed, graded again", again)
    return []


def _graded_like(done: Path, root: Path) -> None:
    """ROOT given the work/ and kept verdicts of DONE (another copy of the lab,
    graded already), if it has them: its make grades nothing again."""
    if (done / "work").is_dir() and (done / "build" / "work").is_dir():
        shutil.rmtree(root / "work", ignore_errors=True)
        shutil.copytree(done / "work", root / "work", symlinks=True)
        shutil.copytree(done / "build" / "work", root / "build" / "work", symlinks=True)


def next_steps_work_where_shown(ctx: Context) -> list[str]:
    """make's Next: block, in the lab and in the kit, suggests make targets that
    the Makefile there has, and files that are there."""
    problems = []
    for name, kit in (("overview", True), ("next-lab", False)):
        root = ctx.lab.build / "test" / "command" / name
        if not (root / "work").is_dir():
            root = scratch_lab(ctx, name, kit=kit)
            _graded_like(ctx.lab.build / "test" / "command" / "overview", root)
        done = lab(ctx, root, "overview")
        block = done.stdout.partition("\nNext:")[2]
        if not block:
            problems += said(f"make in the {'kit' if kit else 'lab'} said no Next:", done)
            continue
        if kit and re.search(r"\bmake docs", block):
            problems.append("make in the kit suggests building the book, which the kit ships "
                            "built (docs/book/index.html)")
        makefile = (root / "Makefile").read_text()
        for target in re.findall(r"\bmake ([a-z][a-z-]*)", block):
            if not re.search(rf"^{target}\s*:", makefile, re.MULTILINE):
                problems.append(f"make in the {'kit' if kit else 'lab'} suggests make {target}, "
                                "which its Makefile has not")
        for path in re.findall(r"\b((?:lessons|docs|work)/[\w./-]+\.(?:md|html|c))\b", block):
            if not (root / path).is_file():
                problems.append(f"make in the {'kit' if kit else 'lab'} names {path}, "
                                "which is not there")
    return problems


def list_shows_each_lessons_grade(ctx: Context) -> list[str]:
    """list: a lesson graded and failing is failing, even unchanged from the
    starter; one never graded is not started; one changed since, edited."""
    root = scratch_lab(ctx, "list")
    one, two, three = find(ctx, "01"), find(ctx, "02"), find(ctx, "03")
    done = lab(ctx, root, "list")
    if done.stdout.count("not started") != len(ctx.manifest.lessons):
        return said("list in a new workspace did not show every lesson not started", done)
    lab(ctx, root, "check", "01")
    lab(ctx, root, "check", "03")
    put(ctx, root, three)
    done = lab(ctx, root, "list")
    problems = []
    if not re.search(r"\bfailing\b", lesson_line(done.stdout, one)):
        problems += said("list did not show lesson 01, graded and failing, as failing", done)
    if "not started" not in lesson_line(done.stdout, two):
        problems += said("list did not show lesson 02, never graded, as not started", done)
    if "edited, unchecked" not in lesson_line(done.stdout, three):
        problems += said("list did not show lesson 03, changed since its grade, as edited", done)
    return problems


def watch_grades_every_lesson(ctx: Context) -> list[str]:
    """watch grades a lesson saved while another fails (03 while 01 does), keeps
    running once one passes, and ends quietly on Ctrl-C."""
    root = scratch_lab(ctx, "watch")
    lab(ctx, root, "list")
    out = root / "watch.txt"
    one, three = find(ctx, "01"), find(ctx, "03")
    with out.open("w") as f:
        # env: SIGINT as Ctrl-C sends it, even if make test's caller ignores it.
        proc = subprocess.Popen(["env", "--default-signal=INT", str(root / "tests" / "lab"),
                                 "watch"], cwd=root, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=environment(ctx),
                                start_new_session=True)
    try:
        return _watching(ctx, root, proc, out, one, three)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _watching(ctx: Context, root: Path, proc: subprocess.Popen[bytes], out: Path,
              one: Lesson, three: Lesson) -> list[str]:
    def shown(what: str) -> list[str]:
        return [what + "; it printed:", *("  " + line for line in
                                          out.read_text(errors="replace").splitlines()[-30:])]
    if not wait_for(out, r"^01 .*FAIL", 120) or not wait_for(out, "waiting for you", 10):
        return shown("watch did not grade lesson 01 at its start, and wait")
    put(ctx, root, three)
    if not wait_for(out, r"^03 .*pass", 120):
        return shown("watch did not grade lesson 03 when its file was saved (01 failing)")
    put(ctx, root, one)
    if not wait_for(out, r"^01 .*pass", 120):
        return shown("watch did not grade lesson 01 when its file was saved")
    time.sleep(2)
    if proc.poll() is not None:
        return shown("watch ended after a lesson passed")
    os.killpg(proc.pid, signal.SIGINT)
    try:
        status = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        return shown("watch did not end on Ctrl-C (SIGINT)")
    if status not in (0, 130) or "Traceback" in out.read_text(errors="replace"):
        return shown(f"watch ended on Ctrl-C with status {status}, or not quietly")
    return []


def colour_only_on_a_terminal(ctx: Context) -> list[str]:
    root = scratch_lab(ctx, "colour")
    piped = lab(ctx, root, "list")
    problems = []
    if "\x1b[" in piped.stdout:
        problems.append("list's output into a pipe holds escape codes")
    if shutil.which("script") is None:
        return problems + ["'script' (util-linux) is missing: no terminal to look at colour on"]
    if "\x1b[" not in on_terminal(ctx, root, "list"):
        problems.append("list on a terminal shows no colour")
    return problems


def slow_test_is_named_on_a_terminal(ctx: Context) -> list[str]:
    """A test that runs over 2 s is named on one line rewritten in place, on a
    terminal only (a student's deadlock is not 25 s of silence)."""
    root = scratch_lab(ctx, "status")
    _hanging(ctx, root)
    slow = {"LAB_TEST_SECONDS": "4"}
    shown = on_terminal(ctx, root, "check", "01", env=slow)
    problems = []
    if not re.search(r"\r(\x1b\[K)?test 1 of \d+: one child… [2-9] s", shown):
        problems.append("check 01, whose first test hangs, did not say on a terminal "
                        "'test 1 of N: one child… N s' on a line rewritten in place")
    piped = lab(ctx, root, "check", "01", env=slow)
    if "\r" in piped.stdout or "test 1 of" in piped.stdout:
        problems += said("check 01 into a pipe wrote its status line", piped)
    return problems


def failures_show_the_codes_stderr(ctx: Context) -> list[str]:
    """Under a failing test, the last lines the student's code printed on stderr."""
    root = scratch_lab(ctx, "stderr")
    _hanging(ctx, root)
    done = lab(ctx, root, "check", "01", env={"LAB_TEST_SECONDS": "3"})
    body = done.stdout.partition("FAIL  one child")[2].partition("FAIL  two children")[0]
    if "| collect: marker 1" not in body or "stderr.txt" in done.stdout:
        return said("check 01 did not show, under its failing test 'one child', what the "
                    "code printed on stderr ('collect: marker 1')", done, 40)
    return []


BOMBER = 59999     # a user of no one's: the limit on processes binds no root


def a_fork_bomb_stops_at_a_limit_and_is_killed(ctx: Context) -> list[str]:
    """Code that forks without end, checked by a student (not root) outside any
    sandbox: its processes stop at the user's limit the command sets (its
    headroom made 300 here), and none is left running once the check ends. (One
    such check once left 32,500 processes running, the machine full.)"""
    # Outside the lab: its user must reach the copy, and the lab may be in a
    # directory only root can enter (a CI's clone in mktemp -d's, say).
    outside = Path(tempfile.mkdtemp(prefix="shmlab-bomb-", dir="/tmp"))
    outside.chmod(0o755)
    try:
        return _fork_bomb_in(ctx, shutil.copytree(scratch_lab(ctx, "bomb"), outside / "lab",
                                                  symlinks=True))
    finally:
        subprocess.run(["pkill", "-9", "-u", str(BOMBER)], check=False)
        shutil.rmtree(outside, ignore_errors=True)


def _fork_bomb_in(ctx: Context, root: Path) -> list[str]:
    work = root / "work"
    shutil.copytree(ctx.lab.root / "tests" / "submissions" / "fork-bomb", work)
    for path in [root, *root.rglob("*")]:
        os.lchown(path, BOMBER, BOMBER)
    env = environment(ctx, {"LAB_NPROC_HEADROOM": "300", "LAB_TEST_SECONDS": "2",
                            "HOME": str(root), "BUILD": str(root / "build")})
    env.pop("LAB_OBJECTS")  # the lab's shared objects are root's: this user compiles its own
    try:
        done = subprocess.run(["setpriv", f"--reuid={BOMBER}", f"--regid={BOMBER}",
                               "--clear-groups", str(root / "tests" / "lab"), "check", "01",
                               str(work)], cwd=root, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env, timeout=600, check=False)
        out = done.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + "\n(stopped after 600 s)"
    left = subprocess.run(["pgrep", "-c", "-u", str(BOMBER)], capture_output=True, text=True,
                          check=False).stdout.strip() or "0"
    problems = []
    if left != "0":
        subprocess.run(["pkill", "-9", "-u", str(BOMBER)], check=False)
        problems.append(f"after check 01 of a fork bomb ended, {left} of its processes were "
                        "still running")
    if not re.search(r"01 The unshared list\s+FAIL", out) or "forks without end" not in out:
        problems.append("check 01 of a fork bomb did not fail it, saying the code forks "
                        f"without end; it said:\n{out[-2000:]}")
    return problems


CHECKS: tuple[tuple[str, Callable[[Context], list[str]]], ...] = (
    ("make: with nothing changed, no suite runs; a change regrades that lesson alone",
     overview_grades_only_what_changed),
    ("make: Next: suggests only what works there, in the lab and in the kit",
     next_steps_work_where_shown),
    ("list: graded lessons show their grade, others not started or edited",
     list_shows_each_lessons_grade),
    ("watch: grades whichever lesson is saved, keeps running, ends on Ctrl-C",
     watch_grades_every_lesson),
    ("a test running over 2 s is named on a terminal, and only there",
     slow_test_is_named_on_a_terminal),
    ("a failing test shows what the code printed on stderr", failures_show_the_codes_stderr),
    ("colour on a terminal only", colour_only_on_a_terminal),
    ("a fork bomb, checked by a student: stopped at a limit, and nothing left running",
     a_fork_bomb_stops_at_a_limit_and_is_killed),
)


def parts(ctx: Context) -> list[Part]:
    # Two parts, so that make test runs them at once: the first grades whole workspaces.
    def part(title: str, checks: tuple[tuple[str, Callable[[Context], list[str]]], ...]) -> Part:
        return Part(title, tuple(Check(what, partial(run, ctx)) for what, run in checks),
                    key="command")
    return [part("The student's command: make, list, watch, the terminal", CHECKS),
            part("The student's command: run, hint, check, reset, stress, grade",
                 command_lesson.CHECKS)]
