"""make test's part for the student's command, continued: the commands that act
on one lesson (run, hint, check, reset, stress, grade), and the workspace's
making and record of progress. See command.py.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import tarfile
from pathlib import Path
from typing import Callable

from shmlab.context import Context

from .scratch import (LIMIT, environment, find, lab, lesson_line, put, said, scratch_lab,
                      wait_for)


def names_the_lesson_asked_for(ctx: Context) -> list[str]:
    """run, hint, check and reset act on LESSON and name it, in a workspace
    that exists (the bash driver acted on the last lesson whatever LESSON said)."""
    root = scratch_lab(ctx, "names")
    lab(ctx, root, "list")
    problems: list[str] = []
    last = ctx.manifest.lessons[-1]
    two, three, four = find(ctx, "02"), find(ctx, "03"), find(ctx, "04")
    done = lab(ctx, root, "run", "02", "work", "3", "5")
    if f"{two.name}/demo 3 5" not in done.stdout or last.name in done.stdout:
        problems += said("run 02 work 3 5 did not run lesson 02's demo with 3 5", done)
    done = lab(ctx, root, "hint", "03")
    if not done.stdout.startswith(f"Lesson 03, {three.title}") or not shows(three.hints[0],
                                                                           done.stdout):
        problems += said("hint 03 did not give lesson 03's first hint", done)
    done = lab(ctx, root, "check", "01")
    if not lesson_line(done.stdout, find(ctx, "01")) or lesson_line(done.stdout, last):
        problems += said("check 01 did not grade lesson 01 alone", done)
    (root / "work" / four.name / four.files[0]).write_text("/* mine */\n")
    (root / "work" / last.name / last.files[0]).write_text("/* mine too */\n")
    done = lab(ctx, root, "reset", "04", "work", "--yes")
    restored = (root / "work" / four.name / four.files[0]).read_text() == \
        (root / "starter" / four.name / four.files[0]).read_text()
    untouched = (root / "work" / last.name / last.files[0]).read_text() == "/* mine too */\n"
    if not restored or not untouched or "Lesson 04" not in done.stdout:
        problems += said("reset 04 did not put back lesson 04 (and it alone)", done)
    return problems


def two_checks_of_a_lesson_take_turns(ctx: Context) -> list[str]:
    """A make check of a lesson while another grades it in the same workspace
    waits its turn and says so (the two built in one directory, and one
    failed to link: a student outsider's "does not build")."""
    root = scratch_lab(ctx, "turns")
    lab(ctx, root, "list")
    one = find(ctx, "01")
    lock = root / "build" / "work" / f"{one.name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    log = root.parent / "turns.txt"
    problems: list[str] = []
    with lock.open("w") as held, log.open("wb") as out:
        fcntl.flock(held, fcntl.LOCK_EX)     # as the other command holds it
        proc = subprocess.Popen([str(root / "tests" / "lab"), "check", one.id], cwd=root,
                                stdout=out, stderr=subprocess.STDOUT, env=environment(ctx),
                                start_new_session=True)
        try:
            if not wait_for(log, rf"waiting for the other command grading lesson {one.id}",
                            LIMIT):
                problems.append("check 01, with lesson 01 of work/ being graded already, "
                                "did not say it waits for it")
            elif proc.poll() is not None or lesson_line(log.read_text(), one):
                problems.append("check 01 graded lesson 01 while another command held it")
            fcntl.flock(held, fcntl.LOCK_UN)
            proc.wait(timeout=LIMIT)
        except subprocess.TimeoutExpired:
            problems.append(f"check 01 still ran {LIMIT} s after the other command ended")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    printed = log.read_text(errors="replace")
    if not problems and (proc.returncode != 1 or not lesson_line(printed, one)):
        problems.append(f"check 01, its turn come, did not grade lesson 01 (exit status "
                        f"{proc.returncode}); it printed:\n{printed[-2000:]}")
    return problems


def _no_pandoc(ctx: Context) -> Path:
    """A directory of links to every command on PATH but pandoc."""
    bin_dir = ctx.lab.build / "test" / "command" / "no-pandoc-bin"
    shutil.rmtree(bin_dir, ignore_errors=True)
    bin_dir.mkdir(parents=True)
    for folder in os.environ.get("PATH", "").split(":"):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            if name != "pandoc" and not (bin_dir / name).exists():
                (bin_dir / name).symlink_to(Path(folder) / name)
    return bin_dir


def shows(hint: str, stdout: str) -> bool:
    """Whether STDOUT shows HINT, wrapped and without its Markdown emphasis."""
    return " ".join(hint.replace("*", "").split()) in " ".join(stdout.split())


def hint_gives_one_more_each_time(ctx: Context) -> list[str]:
    """hint: from the manifest (no pandoc needed), one more each time (only that
    one: an outsider read the same hints again and again), all of them once the
    last was shown; counted in WORK/.progress, which may still be in the bash
    driver's format."""
    root = scratch_lab(ctx, "hint")
    lab(ctx, root, "list")
    (root / "work" / ".progress").write_text("02 failing 123456 1\n")
    env = {"PATH": str(_no_pandoc(ctx))}
    one, two = find(ctx, "01"), find(ctx, "02")
    n = len(one.hints)
    problems = []
    for call in range(1, n + 2):
        done = lab(ctx, root, "hint", "01", env=env)
        want = [call] if call <= n else list(range(1, n + 1))
        got = re.findall(r"^(?:\x1b\[1m)?Hint (\d+):", done.stdout, re.MULTILINE)
        if done.returncode != 0 or got != [str(i) for i in want] or \
                not all(shows(one.hints[i - 1], done.stdout) for i in want) or \
                (call >= n) != ("last hint" in done.stdout):
            problems += said(f"hint 01, call {call}, did not show hint(s) {want}", done)
    done = lab(ctx, root, "hint", "02", env=env)
    if done.returncode != 0 or "hint 2 of" not in done.stdout or not shows(two.hints[1],
                                                                          done.stdout):
        problems += said("hint 02, with the bash driver's .progress (1 shown), did not show "
                         "the 2nd", done)
    return problems


def make_copies_the_starter(ctx: Context) -> list[str]:
    """The first make copies starter/'s lessons and common/ to work/ (never
    _template), and later the lessons it lacks; another WORK must exist."""
    root = scratch_lab(ctx, "first")
    done = lab(ctx, root, "list")
    want = sorted([lesson.name for lesson in ctx.manifest.lessons] + ["common"])
    have = sorted(p.name for p in (root / "work").iterdir() if not p.name.startswith("."))
    problems = []
    if have != want:
        problems += said(f"the first list made work/ with {' '.join(have)}", done)
    three = find(ctx, "03")
    shutil.rmtree(root / "work" / three.name)
    lab(ctx, root, "list")
    if not (root / "work" / three.name / three.files[0]).is_file():
        problems.append("list did not copy lesson 03, missing from work/, from starter/")
    missing = root / "no-such-workspace"
    done = lab(ctx, root, "list", str(missing))
    if done.returncode != 2 or str(missing) not in done.stdout or missing.exists():
        problems += said(f"list {missing} did not fail (2), naming it", done)
    return problems


def no_progress_for_the_labs_trees(ctx: Context) -> list[str]:
    """No WORK/.progress in starter/ or solutions/, nor with LAB_NO_PROGRESS set;
    each builds in its own directory."""
    root = scratch_lab(ctx, "records")
    lab(ctx, root, "list")
    lab(ctx, root, "hint", "01", "starter")
    lab(ctx, root, "check", "01", "starter")
    lab(ctx, root, "hint", "01", "solutions")
    quiet = {"LAB_NO_PROGRESS": "1"}
    lab(ctx, root, "hint", "01", "work", env=quiet)
    lab(ctx, root, "check", "01", "work", env=quiet)
    problems = [f"{tree}/.progress was written" for tree in ("starter", "solutions", "work")
                if (root / tree / ".progress").exists()]
    if not (root / "build" / "starter" / find(ctx, "01").name).is_dir():
        problems.append("check 01 starter did not build in build/starter/")
    return problems


def stress_compares_what_there_is(ctx: Context) -> list[str]:
    """stress: the starter against the solution in the lab; in the kit, which
    has no solutions/, against the student's work."""
    problems = []
    root = scratch_lab(ctx, "stress-lab")
    done = lab(ctx, root, "stress", "01", "2")
    if done.returncode != 0 or "starter caught 2/2" not in done.stdout \
            or "solution passed 2/2" not in done.stdout:
        problems += said("stress 01 2 in the lab did not catch the starter and pass the solution",
                         done)
    kit = scratch_lab(ctx, "stress-kit", kit=True)
    done = lab(ctx, kit, "stress", "01", "2")
    if done.returncode != 1 or "starter caught 2/2" not in done.stdout \
            or "your work passed 0/2" not in done.stdout or "solution" in done.stdout:
        problems += said("stress 01 2 in the kit did not run the starter and work/ "
                         "(your work passed 0/2)", done)
    if not (kit / "work" / find(ctx, "01").name).is_dir():
        return problems + ["stress 01 in the kit, before any make, did not make work/"]
    put(ctx, kit, find(ctx, "01"))
    done = lab(ctx, kit, "stress", "01", "2")
    if done.returncode != 0 or "your work passed 2/2" not in done.stdout:
        problems += said("stress 01 2 in the kit, the work fixed, did not pass it", done)
    return problems


def reset_asks_and_keeps_a_copy(ctx: Context) -> list[str]:
    root = scratch_lab(ctx, "reset")
    lab(ctx, root, "list")
    one = find(ctx, "01")
    put(ctx, root, one)
    mine = root / "work" / one.name / one.files[0]
    solution = (ctx.lab.root / "solutions" / one.name / one.files[0]).read_text()
    problems = []
    done = lab(ctx, root, "reset", "01", stdin="n\n")
    if done.returncode != 0 or mine.read_text() != solution:
        problems += said("reset 01, answered n, changed the file or did not exit 0 (declined "
                         "is not an error)", done)
    done = lab(ctx, root, "reset", "01", stdin="y\n")
    kept = list((root / "work" / ".backup").glob(f"{one.name}-*/{one.files[0]}"))
    if done.returncode != 0 or mine.read_text() != \
            (root / "starter" / one.name / one.files[0]).read_text():
        problems += said("reset 01, answered y, did not restore the starter", done)
    elif len(kept) != 1 or kept[0].read_text() != solution:
        problems.append("reset 01 kept no copy of the student's file in work/.backup/")
    return problems


def grade_exits_as_documented(ctx: Context) -> list[str]:
    """grade: 0 all pass, 1 some fail, 2 cannot grade (no such workspace or lesson).
    Every lesson of a new workspace: none graded (each is its starter), and it
    says so (an outsider's make grade printed every starter's failures in full)."""
    root = scratch_lab(ctx, "grade")
    lab(ctx, root, "list")
    problems = []
    done = lab(ctx, root, "grade", "work")
    if done.returncode != 1 or "Not started, so not graded" not in done.stdout \
            or "FAIL" in done.stdout:
        problems += said("grade work, every lesson its starter, did not exit 1 grading none "
                         "and saying so", done, 10)
    for args, status in ((("grade", "solutions", "01"), 0), (("grade", "work", "01"), 1),
                         (("grade", "no-such-dir"), 2), (("grade", "work", "99"), 2)):
        done = lab(ctx, root, *args)
        if done.returncode != status:
            problems += said(f"{' '.join(args)} did not exit {status}", done, 10)
    return problems


def submit_packs_and_refuses_what_does_not_build(ctx: Context) -> list[str]:
    """submit packs work/'s lesson files (all, each as it is) and exits 0; with a
    lesson that does not build, it names that lesson and exits 1 (what is handed
    in would get no points there)."""
    root = scratch_lab(ctx, "submit")
    lab(ctx, root, "list")
    archive = root / "build" / "submission.tar.gz"
    done = lab(ctx, root, "submit")
    problems: list[str] = []
    wanted = sorted(f"work/{lesson.name}/{f}" for lesson in ctx.manifest.lessons
                    for f in lesson.files)
    try:
        with tarfile.open(archive) as tar:
            packed = sorted(m.name for m in tar.getmembers() if m.isfile())
    except (OSError, tarfile.TarError) as e:
        packed = [f"(cannot open it: {e})"]
    if done.returncode != 0 or packed != wanted:
        problems += said(f"submit on a fresh work/ did not exit 0 with every lesson's file "
                         f"packed (it packed {packed[:3]}...)", done, 10)
    two = find(ctx, "02")
    with open(root / "work" / two.name / two.files[0], "a") as f:
        f.write("\nthis line is not C\n")
    done = lab(ctx, root, "submit")
    # The compiler's own complaint, of work/'s file (a student outsider saw only a
    # scratch copy's path and "In function").
    complaint = re.search(rf"lesson {two.id} does not build, so it gets no points: "
                          rf"work/{two.name}/{two.files[0]}:\d+:\d+: error", done.stdout)
    if done.returncode != 1 or complaint is None:
        problems += said("submit, with lesson 02 not building, did not exit 1 naming it and "
                         "the compiler's error in work/'s file", done, 10)
    return problems


CHECKS: tuple[tuple[str, Callable[[Context], list[str]]], ...] = (
    ("run, hint, check, reset act on the lesson asked for and name it",
     names_the_lesson_asked_for),
    ("check: a second command grading a lesson of one workspace waits for the first",
     two_checks_of_a_lesson_take_turns),
    ("hint: one more each time, without pandoc, old .progress read", hint_gives_one_more_each_time),
    ("the first make copies starter/ (no _template); another WORK must exist",
     make_copies_the_starter),
    ("no progress kept in starter/, solutions/, or with LAB_NO_PROGRESS",
     no_progress_for_the_labs_trees),
    ("stress: starter against the solution, or in the kit against work/",
     stress_compares_what_there_is),
    ("reset: asks, restores the starter, keeps the student's file", reset_asks_and_keeps_a_copy),
    ("grade exits 0, 1 or 2 as documented", grade_exits_as_documented),
    ("submit packs work/'s files, and exits 1 naming a lesson that does not build",
     submit_packs_and_refuses_what_does_not_build),
)
