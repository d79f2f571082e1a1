"""Grading a class: `tests/lab grade-all SUBMISSIONS [OUT]` (make grade-all).

Every entry of SUBMISSIONS is one student's copy of starter/: a directory, a
.tar.gz (.tgz) or a .zip, named after the student. Each lesson of each
submission is built and graded on its own, against the lab's own tests and
headers (only the lesson's editable files are taken from the student), in a
sandbox of its own (sandbox.py: a user of its own, bubblewrap, a tmpfs to
work in, limits, cgroups), JOBS at a time.

Once a test of a suite has hung (or crashed), the suite's later tests are
not run (GIVE_UP_AFTER=1: each would wait out its time limit for nothing),
and are reported as not run: the lesson fails either way.

The grade comes from the suite's results file (tests/harness/lab.c: written
once the tests' processes are all stopped), which must list exactly the
checks the lab's own build of the suite listed; never from what a submission
prints. Outputs, in OUT (reports.py): gradebook.csv, gradescope/NAME/
results.json, junit/NAME.xml, summary.html; and logs/NAME/LESSON.*, what
each grade saw.

Without root, or where bubblewrap cannot make its namespaces, it refuses;
SANDBOX=weak grades anyway with only time and resource limits, and says so
in every report. SANDBOX=platform is for a course platform that runs each
submission in a container of its own (Gradescope).
"""
from __future__ import annotations

import csv
import heapq
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unicodedata
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Mapping, Sequence, TextIO

from . import processes, reports, sandbox, suite
from .common import Lab, LabError
from .manifest import Lesson, Manifest
from .reports import Row, Verdict
from .build import EMPTY, MISSING
from .sandbox import MIB, Limits, Running, Sandbox, make_dirs, read_plain, real_dir

ARCHIVES = (".tar.gz", ".tgz", ".zip")
# What comes back out of a sandbox, and how much of it: a page or so.
# How the harness (lab.c, describe_message) says Check stopped a test at its time limit.
TEST_TIMED_OUT = "deadlock or endless loop: the test was still running after"
NOT_GRADED = "not graded: the grader's time for the whole suite"   # lab.c's
REGRADE_MARK = "REGRADE on a quieter machine"                       # lab.c's
STDERR_HEADER = ("# What the tests and the student's code printed (the first 4 KiB); it "
                 "counts for nothing: the grade is in the .verdict beside this file.\n")
RESULTS, BUILD_LOG, STDERR = ("results.tsv", 65536), ("build.log", 16384), ("stderr.txt", 4096)
# In a student's name, what a path or a terminal cannot carry (letters of any
# language stay: Zoé and Zoë are two students).
UNSAFE_NAME = re.compile('[\x00-\x1f\x7f-\x9f/\\\\<>:"|?*\udc80-\udcff]')
# Not text: control characters but tab and newline, C1, and what XML forbids.
NOT_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")


@dataclass(frozen=True)
class Options:
    """How to grade, from the environment (make grade-all JOBS=8 ...)."""
    jobs: int           # sandboxes at once
    limits: Limits      # each sandbox's
    lessons: str        # the lessons to grade ("01 04"), or all
    test_seconds: int   # each test's time limit
    give_up_after: int  # tests that hang before the rest of a suite is not run
    sandbox: str        # "" (shmlab's own), "weak" or "platform"

    @staticmethod
    def from_env(env: Mapping[str, str] = os.environ) -> "Options":
        def number(name: str, default: int, least: int = 1) -> int:
            text = env.get(name) or str(default)
            if not text.isdigit() or int(text) < least:
                raise LabError(f"{name} must be a whole number, at least {least}; not '{text}'")
            return int(text)

        kind = env.get("SANDBOX", "")
        if kind not in ("", "weak", "platform"):
            raise LabError(f"SANDBOX must be weak or platform, or unset; not '{kind}'")
        # The suites mostly wait (for time limits, the race amplifier's pauses,
        # the manager's): at one sandbox per core the machine stays three
        # quarters idle (100 submissions took 399 s with 2 at a time, 231 s
        # with 4, on 2 cores, every grade the same).
        limits = Limits(wall=number("WALL", 180), cpu=number("CPU", 120),
                        nproc=number("NPROC", 1200), mem_mb=number("MEM_MB", 1024),
                        fsize_mb=number("FSIZE_MB", 64), disk_mb=number("DISK_MB", 256),
                        shm_mb=number("SHM_MB", 64))
        return Options(jobs=number("JOBS", 2 * len(os.sched_getaffinity(0))), limits=limits,
                       lessons=env.get("LESSONS", ""), test_seconds=number("TEST_SECONDS", 10),
                       give_up_after=number("GIVE_UP_AFTER", 1, least=0), sandbox=kind)


@dataclass(frozen=True)
class Handed:
    """What the class handed in."""
    students: tuple[str, ...]   # the names graded under
    about: Mapping[str, str]    # by student: the folder graded, and a renaming if any
    refused: tuple[str, ...]    # entries that are no submission, and why


@dataclass(frozen=True)
class Grading:
    """What every job of one grading shares."""
    out: Path
    options: Options
    sandbox: Sandbox
    running: Running
    slot: int                                   # of the machine's (sandbox.class_slot)
    lessons: tuple[Lesson, ...]
    all_files: tuple[str, ...]                  # every lesson's editable files, graded or not
    expected: Mapping[str, tuple[str, ...]]     # each lesson's checks, by lesson id

    def run(self, uid: int, work: Path, command: list[str], output: Path,
            cgroups: Sequence[Path] = ()) -> int | None:
        return self.sandbox.run(self.running, uid, work, command, output, cgroups)


# ---- submissions ------------------------------------------------------------

def student_name(entry: Path) -> str:
    """The entry's name without its archive's suffix, as the student wrote it
    (in one Unicode form), but for what a path or a terminal cannot carry, and
    a leading dot (a hidden file)."""
    name = unicodedata.normalize("NFC", entry.name)
    for suffix in ARCHIVES:
        name = name.removesuffix(suffix)
    name = UNSAFE_NAME.sub("_", name)
    return "_" + name[1:] if name.startswith(".") or not name else name


def unpack(g: Grading, entry: Path, dest: Path, uid: int) -> str | None:
    """The lesson files of one submission into DEST (plain files only); an
    archive is opened in a sandbox, as the unprivileged user UID. Returns the
    folder graded (copy_lessons), or None if ENTRY is not a submission."""
    if not make_dirs(dest):
        return None
    if not entry.name.endswith(ARCHIVES):
        return copy_lessons(g.lessons, g.all_files, entry, dest) if real_dir(entry) else None
    tree = g.out / "unpack" / dest.name
    if not g.sandbox.make_workdir(tree, uid):
        return None
    try:
        shutil.copyfile(entry, tree / "archive")
        os.chown(tree / "archive", uid, uid)
    except OSError:
        pass
    w = g.sandbox.inside(tree)
    if entry.name.endswith(".zip"):
        extract = ["unzip", "-q", "-o", f"{w}/archive", "-d", f"{w}/x"]
    else:
        extract = ["tar", "-xzf", f"{w}/archive", "-C", f"{w}/x", "--no-same-owner",
                   "--no-same-permissions"]
    g.run(uid, tree, ["sh", "-c", 'mkdir -p "$0/x" && "$@"', str(w), *extract], Path(os.devnull))
    # A broken archive is still a student's: graded, on nothing.
    graded = copy_lessons(g.lessons, g.all_files, tree / "x", dest)
    g.sandbox.drop_workdir(tree)
    return graded if graded is not None else "nothing (the archive did not unpack)"


def copy_lessons(lessons: Sequence[Lesson], all_files: Sequence[str], tree: Path,
                 dest: Path) -> str | None:
    """Finds the directory that holds the lessons' directories (TREE, or one up
    to three levels down; not __MACOSX, not a hidden one), and copies each
    lesson's editable files that are plain files, at most 1 MiB of each. A file
    found loose, whose name only one lesson uses (of ALL_FILES: every lesson's,
    graded or not), counts for that lesson. Nothing is followed through a
    link. Of several such directories, the student's workspace (work/, as
    `make` makes it) is preferred, and a starter/ comes last: a student who
    hands in the whole kit is graded on their work. Returns the folder graded, from TREE ("." for TREE itself,
    "loose files", or "nothing" when no lesson's file was found); None if
    TREE is not a directory."""
    if not real_dir(tree):
        return None
    holders = [d for d in [tree, *sorted(_subdirs(tree, 3), key=str)]
               if any(real_dir(d / lesson.name) for lesson in lessons)]
    found = min(holders, key=lambda d: (d.name != "work", d.name == "starter"), default=None)
    for lesson in lessons:
        make_dirs(dest / lesson.name)
        for f in lesson.files:
            if found is not None:
                data = read_plain(found / lesson.name, f, MIB)
            elif all_files.count(f) == 1:
                data = read_plain(tree, f, MIB)   # handed in loose
            else:
                data = None
            if data is not None:
                (dest / lesson.name / f).write_bytes(data)
    if found is None:
        return "loose files" if any(p.is_file() for p in dest.rglob("*")) else "nothing"
    others = [f"{d.relative_to(tree)}/" for d in holders if d != found]
    return f"{found.relative_to(tree)}/" + (f" (not {', '.join(others)})" if others else "")


def _subdirs(tree: Path, depth: int) -> list[Path]:
    """The real directories under TREE, DEPTH levels down at most, but hidden ones."""
    found = []
    try:
        entries = list(os.scandir(tree))
    except OSError:
        return []
    for e in entries:
        if e.is_dir(follow_symlinks=False) and not e.name.startswith((".", "__MACOSX")):
            found.append(Path(e.path))
            if depth > 1:
                found += _subdirs(Path(e.path), depth - 1)
    return found


# ---- one lesson of one submission -------------------------------------------

def job(g: Grading, seq: int, student: str, lesson: Lesson) -> Verdict | None:
    """Grades it, leaving OUT/logs/STUDENT/LESSON.*; None if stopped first."""
    uid = sandbox.job_uid(g.slot, seq)
    log = g.out / "logs" / student / lesson.name    # LESSON.tsv, LESSON.verdict...
    work = g.out / "run" / str(seq)
    make_dirs(log.parent)
    sandbox.wait_user_gone(uid)   # an earlier job of this user's: its tasks count against ours
    cgroups = g.sandbox.cgroups.make(f"shmlab-{g.slot}-job{seq}", g.options.limits)
    status: int | None = None
    seconds = refused = 0
    came_out: dict[str, str] = {}
    try:
        if g.sandbox.make_workdir(work, uid):
            try:
                # (An archive that would not unpack has no lessons: graded on nothing.)
                handed_in = g.out / "submissions" / student / lesson.name
                (work / "sub" / lesson.name).mkdir(parents=True)
                if handed_in.is_dir():
                    shutil.copytree(handed_in, work / "sub" / lesson.name, dirs_exist_ok=True)
                sandbox.chown_tree(work, uid)
                began = time.monotonic()
                status = _grade_in_sandbox(g, uid, work, lesson, cgroups,
                                           Path(f"{log}.sandbox.txt"))
                seconds = int(time.monotonic() - began)
                if status is None:
                    return None
                # Only what the grade needs comes out, and no more of it than a
                # page or so, never through a link (the sandbox's user could make one).
                for (name, limit), suffix in ((RESULTS, "tsv"), (BUILD_LOG, "build"),
                                              (STDERR, "stderr")):
                    data = read_plain(work / "out", name, limit)
                    if data is not None:
                        # Paths as the student knows them: 01-unshared-list/collect.c,
                        # not where the sandbox put the submission.
                        came_out[suffix] = clean_text(data).replace(
                            f"{g.sandbox.inside(work) / 'sub'}/", "")
                        Path(f"{log}.{suffix}").write_text(STDERR_HEADER * (suffix == "stderr")
                                                           + came_out[suffix], encoding="utf-8")
            finally:
                g.sandbox.drop_workdir(work)
        Path(f"{log}.status").write_text(f"{status}\n" if status is not None
                                         else "no work directory\n")
        Path(f"{log}.seconds").write_text(f"{seconds}\n")
    finally:
        refused = g.sandbox.cgroups.forks_refused(cgroups)
        g.sandbox.cgroups.remove(cgroups)
        if os.geteuid() == 0:   # then the job ran as UID, whatever the sandbox
            sandbox.kill_user(uid)
            if not g.sandbox.own:
                sandbox.remove_files_of(uid)
    v = replace(verdict(student, lesson, g.expected[lesson.id], g.options.limits.wall, status,
                        seconds, came_out.get("tsv", ""), came_out.get("build", ""),
                        came_out.get("stderr", ""), g.options.limits, refused),
                seconds=seconds)
    # Out of time, never shown to hang: graded again at the end, which writes the
    # verdict that counts. Till then the file must not read as a fail.
    again = ("NOT GRADED YET: out of time, never shown to hang (the machine's load may be "
             "why): it is graded again at the end. The first grade said:\n"
             if unsettled(v) else "")
    Path(f"{log}.verdict").write_text(again + v.text + "\n", encoding="utf-8")
    return v


def _grade_in_sandbox(g: Grading, uid: int, work: Path, lesson: Lesson,
                      cgroups: Sequence[Path], output: Path) -> int | None:
    w = g.sandbox.inside(work)
    lab, objects = g.sandbox.lab_inside, g.sandbox.objects_inside
    o = g.options
    command = ["env", f"BUILD={w}/build", f"LAB_OBJECTS={objects}", "LAB_NO_PROGRESS=1",
               f"LAB_TEST_SECONDS={o.test_seconds}", f"LAB_GIVE_UP_AFTER={o.give_up_after}",
               f"LAB_WALL={o.limits.wall}",
               "LAB_OBJECTS_PINNED=1", f"{lab}/tests/lab", "sandboxed-grade", f"{w}/sub",
               lesson.id, f"{w}/out"]
    # bubblewrap binds the whole system, other sandboxes' work directories
    # included; one that goes at that moment makes it fail before anything ran:
    # then it tries again.
    for _ in range(3):
        status = g.run(uid, work, command, output, cgroups)
        if status != 1 or (work / "out").exists() or not re.search(
                r"^bwrap: ", sandbox.read_text(output), re.MULTILINE):
            break
        time.sleep(random.randint(1, 5) / 10)
    return status


def verdict(student: str, lesson: Lesson, expected: Sequence[str], wall: int,
            status: int | None, seconds: int, tsv: str, build: str, stderr: str,
            limits: Limits | None = None, forks_refused: int = 0) -> Verdict:
    """"pass", or "FAIL" and why, from what came out of the sandbox. LIMITS,
    the sandbox's, are named where a message shows the code ran into one, or
    where its forks were refused at the limit on processes (FORKS_REFUSED)."""
    def fail(why: str, details: Sequence[str] = (), rows: tuple[Row, ...] = ()) -> Verdict:
        said = "\n".join((why, stderr, *(row.message for row in rows)))
        notes = _limits_met(said, status, limits, forks_refused) if limits else []
        return Verdict(student, lesson, "FAIL " + why, (*details, *notes), rows)

    if not tsv:
        if build:
            # Each of the suite's checks fails for it (JUnit lists them so).
            said = ("not handed in" if MISSING in build else
                    "handed in empty" if f" {EMPTY}: " in build else "does not build")
            return fail(said, ["  " + line for line in _lines(build)[:20]],
                        tuple(Row("not run", name, said) for name in expected))
        if seconds >= wall:
            return fail(f"{reports.OUT_OF_TIME} ({wall} s a lesson): the tests never finished")
        if status == 137:
            return fail("the test program was killed (SIGKILL) before it could report: the "
                        "code under test killed it (kill(-1), say), or it passed a limit on "
                        "memory or processes")
        return fail("the tests gave no results (the test program was killed, or its results "
                    "file was made by something else first)",
                    ["  " + line for line in _lines(stderr)[:5]])
    rows = tuple(_row(line) for line in _lines(tsv))
    # Exactly the suite's checks, each once: anything else was not written by the suite.
    if sorted(row.name for row in rows) != sorted(expected):
        return fail("the results file does not list the suite's checks: not the suite's own",
                    rows=rows)
    failed = [row for row in rows if row.status != "ok"]
    cut = [row for row in failed if row.message.startswith(NOT_GRADED)]
    if cut and not any(_failed_for_sure(row) for row in rows):
        # Stopped by the grader's clock with nothing failed so far: graded again.
        return fail(f"{reports.OUT_OF_TIME} ({wall} s a lesson): {len(cut)} of {len(rows)} "
                    "checks not graded, none failed before",
                    [f"  {row.title}: {row.message}" for row in failed], rows)
    if failed:
        # Checks held back behind one that hung (GIVE_UP_AFTER) did not fail: not run.
        held = [row for row in failed if row.message.startswith("not run:")]
        # Out of time on a busy machine beside a check failed for sure: no grade of
        # their own, and no REGRADE to ask for (the lesson fails either way).
        slow = [row for row in failed if row not in cut and REGRADE_MARK in row.message]
        shown = [row for row in failed if row not in cut and row not in held + slow]
        if not shown:
            shown, slow = slow, []
        else:
            # The verdict, JUnit and results.json say the same of them: no REGRADE.
            slow = [_either_way(row) for row in slow]
            cut = [_either_way(row) for row in cut]
            rows = tuple(next((r for r in slow + cut if r.name == row.name), row)
                         for row in rows)
        return fail(f"{len(shown)} of {len(rows)} checks failed"
                    + (f" ({len(held)} more not run: the suite stops after a check that "
                       "hangs or crashes)" if held else "")
                    + (f" ({len(slow)} more not graded: out of time on a busy machine)"
                       if slow else "")
                    + (f" ({len(cut)} more not graded: the grader's time ran out)" if cut else ""),
                    [f"  {row.title}: {row.message}" for row in shown + slow + cut]
                    + ([f"  not run, {_count(len(held), 'check')} "
                        f"({', '.join(row.title for row in held)}): "
                        f"{held[0].message[len('not run: '):]}"] if held else []), rows)
    # All ok, but the test program did not end well: the file was not its own.
    if status != 0:
        return fail("the results file says every check passed, but the test program did not "
                    "end as a passing suite does: something else wrote the file", rows=rows)
    return Verdict(student, lesson, "pass", (), rows)


def _limits_met(said: str, status: int | None, limits: Limits,
                forks_refused: int = 0) -> list[str]:
    """What the sandbox's limits explain of what was said, or of the forks it
    refused: they are the grader's, set for a class, and a student reading
    "Resource temporarily unavailable", or "deadlock or endless loop" of a
    fork bomb that keeps trying, cannot know them."""
    notes = []
    if status == 128 + signal.SIGXFSZ or "File size limit exceeded" in said:
        notes.append(f"  (the grader lets a process write files of at most {limits.fsize_mb} "
                     "MiB: a bigger one is killed by SIGXFSZ, File size limit exceeded)")
    if forks_refused > 0 or re.search(r"fork[^\n]*Resource temporarily unavailable", said):
        refused = (f" (here {_count(forks_refused, 'fork')} failed so)"
                   if forks_refused > 0 else "")
        notes.append(f"  (the grader lets a submission run at most {limits.nproc} processes at "
                     "once: a fork past that fails with EAGAIN, Resource temporarily "
                     f"unavailable{refused}; a process that forks in a loop without end meets "
                     "it)")
    return notes


def _row(line: str) -> Row:
    """A line of the harness's results file: status, check, seconds, limit, message."""
    status, name, seconds, limit, message = (line.split("\t", 4) + [""] * 4)[:5]
    return Row(status, name or status, message, suite.seconds_of(seconds),
               suite.seconds_of(limit))


def expected_tests(objects: Path, lesson: Lesson) -> list[str]:
    """The lesson's checks, as its suite lists them (LAB_LIST=1): `tests/lab
    prepare` writes them from the lab's own build, never a student's."""
    path = objects / f"{lesson.name}-normal.tests"
    try:
        names = path.read_text(encoding="utf-8").split()
    except OSError as e:
        raise LabError(f"cannot read {path}: {e.strerror} (`tests/lab prepare` lists each "
                       "suite's checks there): the lab's fault, not the students'") from None
    if not names:
        raise LabError(f"{path} lists no checks: the lab's fault, not the students'")
    return names


def clean_text(data: bytes) -> str:
    """Text fit for CSV, JSON and XML: valid UTF-8, no control characters but
    tab and newline, nothing XML does not allow."""
    return NOT_TEXT.sub("", data.decode("utf-8", "ignore"))


# ---- the whole class --------------------------------------------------------

def grade_class(lab: Lab, manifest: Manifest, submissions: Path, out: Path, options: Options,
                log: TextIO | None = None) -> int:
    """Grades every submission in SUBMISSIONS into OUT (see the module's doc).
    LOG, if given, takes what it says (else stdout, and stderr for warnings)."""
    say, warn = log or sys.stdout, log or sys.stderr
    out = Path(os.path.realpath(out))
    if not submissions.exists():
        raise LabError(f"which submissions? {submissions} does not exist (make grade-all "
                       "SUBMISSIONS=dir: a directory of students' copies)")
    if not submissions.is_dir():
        raise LabError(f"which submissions? {submissions} is a file, not a directory (make "
                       "grade-all SUBMISSIONS=dir: a directory of students' copies, each a "
                       "directory, .tar.gz or .zip; put a single one in a directory of its own)")
    lessons = manifest.select(options.lessons)
    if not lessons:
        raise LabError("no lessons to grade: lessons/lessons.toml lists none")
    # The lab's compiled side: made here, or once for many gradings (LAB_OBJECTS: the
    # Gradescope image's, compiled by its setup.sh).
    objects = Path(os.environ.get("LAB_OBJECTS") or out / "lab-objects")
    # Interrupted, the sandboxes stop and their work directories go all the same.
    stop_by_signal = threading.current_thread() is threading.main_thread()
    if stop_by_signal:
        before = signal.signal(signal.SIGTERM, _interrupt)
        # SIGINT too, even where it came ignored (a background job of a script): an
        # outsider's kill -INT of the process group then did nothing.
        before_int = signal.signal(signal.SIGINT, _interrupt)
    try:
        with sandbox.class_slot(warn) as slot:
            box = sandbox.detect(options.sandbox, options.limits, lab.root, objects,
                                 (Path(os.path.realpath(submissions)), out), warn)
            g = Grading(out=out, options=options, sandbox=box, running=Running(), slot=slot,
                        lessons=lessons, all_files=tuple(manifest.all_files()), expected={})
            try:
                return _grade_class(lab, g, submissions, say, warn)
            finally:
                _remove_work(out)
    except KeyboardInterrupt:
        raise LabError(f"interrupted: the sandboxes were stopped, and no report was written "
                       f"(the lessons graded to their end have a verdict in {out / 'logs'}); "
                       f"the same command grades the class again, from the start", 130) from None
    finally:
        if stop_by_signal:
            signal.signal(signal.SIGTERM, before)
            signal.signal(signal.SIGINT, before_int)


def _grade_class(lab: Lab, g: Grading, submissions: Path, say: TextIO, warn: TextIO) -> int:
    out = g.out
    for d in ("logs", "submissions", "run", "unpack", "gradescope", "junit"):
        shutil.rmtree(out / d, ignore_errors=True)
    for d in ("submissions", "logs", "run"):
        if not make_dirs(out / d):
            raise LabError(f"cannot make {out / d}")
    # Only the lessons graded; one at a time, saying so: under load a lesson takes minutes.
    ids = [lesson.id for lesson in g.lessons]
    print(f"class: compiling the lab's side of lesson{'s' if len(ids) > 1 else ''} "
          f"{' '.join(ids)}, once", file=say, flush=True)
    compiling = time.monotonic()
    for lesson_id in ids:
        began = time.monotonic()
        prepared = subprocess.run([str(lab.root / "tests" / "lab"), "prepare", lesson_id],
                                  cwd=lab.root,
                                  env={**os.environ, "LAB_OBJECTS": str(g.sandbox.objects)},
                                  capture_output=True, text=True, errors="replace", check=False)
        # Its "ready" lines are said here, as the class's; the rest, and all of a failure, is shown.
        print(prepared.stderr + (prepared.stdout if prepared.returncode != 0 else ""), end="",
              file=warn)
        if prepared.returncode != 0:
            raise LabError(f"the lab's own code of lesson {lesson_id} does not build "
                           "(tests/lab prepare failed)")
        print(f"class:   lesson {lesson_id} ready ({time.monotonic() - began:.0f} s)",
              file=say, flush=True)
    compiling = time.monotonic() - compiling
    g = replace(g, expected={lesson.id: tuple(expected_tests(g.sandbox.objects, lesson))
                             for lesson in g.lessons})
    handed = _unpack_all(g, submissions, warn)
    students = handed.students
    if not students:
        raise LabError(f"no submissions in {submissions}")
    jobs = [(student, lesson) for student in students for lesson in g.lessons]
    fit = processes.jobs_that_fit(g.options.jobs, g.options.limits.nproc)
    if fit < g.options.jobs:
        print(f"class: {fit} at a time, not {g.options.jobs}: each sandbox may run "
              f"{g.options.limits.nproc} processes, and the machine has room for "
              f"{processes.pids_free()} more in all (kernel.pid_max), half of it kept for "
              "another class graded beside: right answers must never find it full",
              file=warn, flush=True)
        g = replace(g, options=replace(g.options, jobs=fit))
    print(f"class: {_count(len(students), 'submission')}, {_count(len(jobs), 'lesson')} to grade, "
          f"{g.options.jobs} at a time", file=say, flush=True)
    start = time.monotonic()
    verdicts = _run_jobs(g, jobs, say)
    verdicts.update(_grade_again(g, jobs, verdicts, say))
    took = time.monotonic() - start
    _remove_work(out)
    print("class: writing the reports: gradebook.csv, and for each student Gradescope's "
          "results.json and a JUnit file; then summary.html",
          file=say, flush=True)
    reports.write_reports(out, g.lessons, students, verdicts,
                          reports.Class(g.sandbox.note, datetime.now(), handed.about,
                                        handed.refused, took, compiling))
    print(f"class: the reports took {time.monotonic() - start - took:.0f} s more", file=say)
    print(f"class: graded {_count(len(students), 'submission')} in {took:.0f} s "
          f"({took / len(students):.1f} s each), after {compiling:.0f} s compiling the lab's "
          "side", file=say)
    print(f"class: {out}/gradebook.csv, {out}/summary.html, "
          f"{out}/gradescope/*/results.json, {out}/junit/*.xml", file=say, flush=True)
    return 0


def _remove_work(out: Path) -> None:
    """The sandboxes' work directories: unmounted (after an interrupt, say), removed."""
    sandbox.cleanup_mounts(out)
    for d in ("run", "unpack"):
        shutil.rmtree(out / d, ignore_errors=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _unpack_all(g: Grading, submissions: Path, warn: TextIO) -> Handed:
    """Each entry of SUBMISSIONS unpacked into OUT/submissions/NAME: the
    students, what each handed in, and the entries that are no submission."""
    students: list[str] = []
    about: dict[str, str] = {}
    refused: list[str] = []
    n = 0
    try:
        entries = sorted(submissions.iterdir(), key=lambda e: (e.name.startswith("."), e.name))
    except OSError as e:
        raise LabError(f"cannot read the submissions in {submissions}: {e.strerror}") from None
    for entry in entries:
        if entry.name == "__MACOSX" or entry.name == ".DS_Store":
            continue    # what macOS's archiver adds: nobody's work
        shown = os.fsdecode(entry.name).encode("utf-8", "replace").decode("utf-8")
        if entry.is_symlink():
            print(f"class: {entry} is a link: skipped (a submission is a directory or an "
                  "archive)", file=warn)
            refused.append(f"{shown}: a link (a submission is a directory or an archive)")
            continue
        student = student_name(entry)
        notes = []
        # Two names that read the same once cleaned stay two students.
        if (g.out / "submissions" / student).exists():
            student = f"{student}-{zlib.crc32(os.fsencode(entry))}"
            print(f"class: {entry} is graded as {student} (another name reads the same)",
                  file=warn)
            notes.append(f"handed in as {shown}, graded as {student}: another name reads "
                         "the same")
        graded = unpack(g, entry, g.out / "submissions" / student,
                        sandbox.unpacker_uid(g.slot, n))
        n += 1
        if graded is None:
            print(f"class: {entry} is not a submission (a directory, .tar.gz or .zip): "
                  "skipped", file=warn)
            refused.append(f"{shown}: not a directory, .tar.gz or .zip")
            continue
        students.append(student)
        about[student] = "; ".join([f"graded {graded}", *notes])
    if len(students) > 1 and all(about[s].startswith("graded nothing") for s in students):
        raise LabError(f"none of the {len(students)} submissions in {submissions} holds a "
                       "lesson's file (is it the right directory? each entry is one "
                       "student's copy of starter/, or of work/)")
    return Handed(tuple(students), about, tuple(refused))


def _grade_again(g: Grading, jobs: list[tuple[str, Lesson]], verdicts: reports.Verdicts,
                 say: TextIO) -> dict[tuple[str, str], Verdict]:
    """The lessons that ran out of time but were never shown to hang, graded
    again with fewer at once: a loaded machine, not the student, may have been
    why. Out of time again on a machine still busy, a lesson is REGRADE, not
    the student's fail."""
    again = [(student, lesson) for student, lesson in jobs
             if unsettled(verdicts[student, lesson.id])]
    if not again:
        return {}
    fewer = max(1, g.options.jobs // 4)
    print(f"class: {len(again)} lesson{'s' if len(again) != 1 else ''} ran out of time "
          f"without being shown to hang (the machine's load may be why): grading "
          f"{'them' if len(again) != 1 else 'it'} again, {fewer} at a time",
          file=say, flush=True)
    for student, lesson in again:
        print(f"class:   {student} {lesson.name}: {_why_again(verdicts[student, lesson.id])}",
              file=say, flush=True)
    redone = _run_jobs(replace(g, options=replace(g.options, jobs=fewer)), again, say,
                       first=len(jobs), again_later=False)
    settled = {}
    for key, v in redone.items():
        first = verdicts[key].status
        if unsettled(v) and (reports.ran_out_of_time(v.status) and machine_busy()
                              or any(REGRADE_MARK in row.message for row in v.rows)):
            v = replace(v, status="REGRADE: out of time twice on a busy machine, never shown "
                        "to hang (the grader's load, not the student's fail): grade it again "
                        "on a quieter machine", details=(f"  the first time: {first}",
                                                         f"  the second time: {v.status}",
                                                         *v.details))
        else:
            # Not the word FAIL, in a pass's report: an outsider read it so.
            v = replace(v, details=(*v.details, "  (graded a second time, with fewer "
                                                "lessons at once: the first time it ran out "
                                                "of time, never shown to hang, and said: "
                                                f"{first.removeprefix('FAIL ')}. The second "
                                                "grade, above, counts.)"))
        settled[key] = v
        (g.out / "logs" / v.student / f"{v.lesson.name}.verdict").write_text(
            v.text + "\n", encoding="utf-8")
    # What counts, said where the lessons to grade again were listed: the second
    # round's own lines cannot know it (an outsider saw no REGRADE on the console).
    print(f"class: graded again: {len(settled)} lesson{'s' if len(settled) != 1 else ''}",
          file=say, flush=True)
    for v in settled.values():
        print(f"class:   {v.student} {v.lesson.name}: {v.status}", file=say, flush=True)
    return settled


def _count(n: int, one: str) -> str:
    """"1 check", "3 checks"."""
    return f"{n} {one}{'' if n == 1 else 's'}"


def _why_again(v: Verdict) -> str:
    """Why V is graded again, without the FAIL it may not be."""
    slow = [row.title for row in v.rows if row.status != "ok" and _out_of_time(row)]
    if slow:
        return (f"out of time in {_count(len(slow), 'check')} ({', '.join(slow[:3])}"
                f"{', ...' if len(slow) > 3 else ''}), never shown to hang")
    return v.status.removeprefix("FAIL ")


def unsettled(v: Verdict) -> bool:
    """Out of time and never shown to hang: stopped by the wall clock, or a test
    Check stopped at its limit and the harness did not run again with more time,
    or did, and saw it getting on to the end when it stopped it (REGRADE).
    (Workers the harness calls deadlocked were given more time already if the
    machine was busy: that verdict is the harness's own, and stands.) Never if
    a check failed for another reason: more time would not change the grade."""
    if any(_failed_for_sure(row) for row in v.rows):
        return False
    return reports.ran_out_of_time(v.status) or any(_out_of_time(row) for row in v.rows)


def _either_way(row: Row) -> Row:
    """A check out of time on a busy machine beside one failed for sure: no
    REGRADE to ask for, the lesson fails either way."""
    either = reports.EITHER_WAY
    return replace(row, message=row.message.replace(
        ". " + REGRADE_MARK, ". " + either[0].upper() + either[1:]).replace(REGRADE_MARK, either))


def _out_of_time(row: Row) -> bool:
    """A check stopped by a clock, and never shown to hang."""
    return (row.message.startswith(TEST_TIMED_OUT) and "again when run once more" not in
            row.message or REGRADE_MARK in row.message or row.message.startswith(NOT_GRADED))


def _failed_for_sure(row: Row) -> bool:
    """A check that failed, not by time: the lesson fails whatever the rest do. (Not
    one not run after another hung, nor the harness's own trouble.)"""
    return (row.status != "ok" and not _out_of_time(row)
            and not row.message.startswith(("not run:", "harness:")))


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def machine_busy(env: Mapping[str, str] = os.environ) -> bool:
    """As the harness judges it (lab.c): some task waited for a CPU half of the
    last 10 s; where that cannot be read, load at least one per CPU."""
    told = env.get("LAB_BUSY", "")
    if told:
        return told.strip() not in ("0", "")
    found = re.search(r"some avg10=([0-9.]+)", sandbox.read_text(Path("/proc/pressure/cpu")))
    if found:
        return float(found[1]) >= 50
    return os.getloadavg()[0] >= (os.cpu_count() or 1)


def _time_left(done: list[Verdict], running: list[tuple[Lesson, float]],
               queued: list[Lesson], workers: int, wall: float) -> float | None:
    """A guess at the seconds until the last lesson ends: those RUNNING (each
    with the seconds it has run) go on, then the QUEUED ones take the first
    free of WORKERS in turn. None before any suite has run.

    The lessons that end first are the short ones, and the long ones (a
    starter that hangs runs its suite's full time) are still running: a mean
    of the ended alone guessed a third of the time left. So a lesson's mean is
    the time its suites have run so far, the running ones' too, over the
    number that ended (a lesson none of whose own ended takes all lessons'); a
    lesson running longer than its mean is guessed to run as long again (at
    most to the WALL); and a queued one may not build at all (a second), as
    many as have not so far."""
    built = [v for v in done if any(row.status != "not run" for row in v.rows)]
    if not built:
        return None
    ran: dict[str, float] = {}
    ended: dict[str, int] = {}
    for v in built:
        ran[v.lesson.id] = ran.get(v.lesson.id, 0.0) + v.seconds
        ended[v.lesson.id] = ended.get(v.lesson.id, 0) + 1
    for lesson, seconds in running:
        ran[lesson.id] = ran.get(lesson.id, 0.0) + seconds
    overall = sum(ran.values()) / len(built)
    unbuilt = 1 - len(built) / len(done)

    def mean(lesson: Lesson) -> float:
        return ran[lesson.id] / ended[lesson.id] if lesson.id in ended else overall

    def still(lesson: Lesson, seconds: float) -> float:
        return min(max(mean(lesson) - seconds, seconds), max(0.0, wall - seconds))
    free = [still(lesson, seconds) for lesson, seconds in running]
    free += [0.0] * max(0, workers - len(free))
    heapq.heapify(free)
    last = max(free, default=0.0)
    for lesson in queued:
        ends = heapq.heappop(free) + (1 - unbuilt) * mean(lesson) + unbuilt
        heapq.heappush(free, ends)
        last = max(last, ends)
    return last


def _run_jobs(g: Grading, jobs: list[tuple[str, Lesson]], say: TextIO,
              first: int = 0, again_later: bool = True) -> dict[tuple[str, str], Verdict]:
    """Each (student, lesson) in a sandbox of its own, JOBS at a time; a line as
    each ends. FIRST: the first job's number (its user's, its cgroup's).
    AGAIN_LATER: a lesson out of time, never shown to hang, is graded again at
    the end (its line says so, not the fail it may not be)."""
    verdicts = {}
    started: dict[int, float] = {}   # when each job began, by its number

    def timed(seq: int, student: str, lesson: Lesson) -> Verdict | None:
        started[seq] = time.monotonic()
        return job(g, seq, student, lesson)
    with ThreadPoolExecutor(max_workers=g.options.jobs) as pool:
        futures = {pool.submit(timed, seq, student, lesson): (seq, lesson)
                   for seq, (student, lesson) in enumerate(jobs, first)}
        waiting = dict(futures)
        try:
            for k, future in enumerate(as_completed(futures), 1):
                del waiting[future]
                try:
                    v = future.result()
                except OSError as e:
                    raise LabError(f"cannot grade in {g.out}: {e.filename}: {e.strerror}") from None
                if v is None:
                    continue
                verdicts[v.student, v.lesson.id] = v
                now = time.monotonic()
                left = _time_left(
                    list(verdicts.values()),
                    [(lesson, now - started[seq]) for seq, lesson in waiting.values()
                     if seq in started],
                    [lesson for seq, lesson in sorted(waiting.values(), key=lambda w: w[0])
                     if seq not in started], g.options.jobs, g.options.limits.wall)
                if left is not None and again_later:
                    # Then those to grade again, fewer at a time (_grade_again), each
                    # about as long as its first time: an outsider's guess said 0 s
                    # with two such, 3 minutes, to go.
                    left += (sum(u.seconds for u in verdicts.values() if unsettled(u))
                             / max(1, g.options.jobs // 4))
                status = v.status
                if unsettled(v):
                    status = ("out of time, never shown to hang (the machine's load may be "
                              "why): graded again at the end" if again_later else
                              "out of time again, never shown to hang: judged below")
                guess = "" if left is None else f", about {_duration(left)} left"
                print(f"[{k}/{len(jobs)}] [{time.strftime('%H:%M:%S')}{guess}] "
                      f"{v.student:<20} {v.lesson.name} {status}", file=say, flush=True)
        except BaseException:
            g.running.stop()
            for future in futures:
                future.cancel()
            raise
    return verdicts


def bench(lab: Lab, manifest: Manifest, n: int, options: Options | None = None) -> int:
    """N made-up submissions (4 in 10 right, 2 the starter, 2 half right, 2
    hostile or broken, from tests/submissions), graded on every lesson; says
    the wall time and the time per submission, checks that each got its honest
    score, and says how close the slowest passing check came to its time limit.
    Exits 1 if a score was not the honest one."""
    options = options or Options.from_env()
    d = lab.build / "class-bench"
    hostile = sorted(p for p in (lab.root / "tests" / "submissions").iterdir()
                     if p.is_dir() and p.name not in ("right", "starter"))
    known = expected_scores(lab)
    honest: dict[str, int] = {}
    shutil.rmtree(d / "subs", ignore_errors=True)
    if not make_dirs(d / "subs"):
        raise LabError(f"cannot make {d / 'subs'}")
    for i in range(n):
        student = f"student-{i:03d}"
        sub = d / "subs" / student
        kind = i % 10
        scores = {lesson.id: lesson.points for lesson in manifest.lessons}
        if kind in (4, 5):
            make_submission(lab, lab.root / "tests" / "submissions" / "starter", sub)
            scores = {lid: 0 for lid in scores}
        elif kind in (6, 7):
            make_submission(lab, lab.root / "tests" / "submissions" / "starter", sub)
            for lesson in manifest.lessons:
                if int(lesson.id) % 2 == 0:
                    copy_over(lab.root / "solutions" / lesson.name, sub / lesson.name)
                else:
                    scores[lesson.id] = 0
        elif kind in (8, 9):
            attack = hostile[i // 10 % len(hostile)]
            make_submission(lab, attack, sub)
            scores.update(known.get(attack.name, {}))
        else:
            make_submission(lab, lab.root / "tests" / "submissions" / "right", sub)
        honest[student] = sum(scores.values())
        # Each its own: no two submissions have the same files.
        for c in sub.rglob("*.c"):
            if not c.is_symlink():
                with c.open("a") as f:
                    f.write(f"/* {i} */\n")
    start = time.monotonic()
    with (d / "log.txt").open("w") as log:
        try:
            grade_class(lab, manifest, d / "subs", d / "out", options, log)
        except LabError as e:
            print(f"class: {e}", file=log)
            failed = True
        else:
            failed = False
    lines = sandbox.read_text(d / "log.txt").splitlines()
    if failed:
        print("\n".join(lines[-5:]))
        raise LabError("grading failed")
    took = time.monotonic() - start
    print("\n".join(lines[-3:]))
    print(f"bench: {n} submissions, every lesson, {options.jobs} at a time: {took:.0f} s in "
          f"all (with the lab's own compile), {took / n:.2f} s per submission")
    with (d / "out" / "gradebook.csv").open(newline="", encoding="utf-8") as f:
        graded = {row["student"]: row for row in csv.DictReader(f)}
    wrong = [f"  {who}: {graded[who]['total'] if who in graded else 'not graded'}, not {want}"
             f"{' (' + graded[who]['note'] + ')' if graded.get(who, {}).get('note') else ''}"
             for who, want in honest.items()
             if who not in graded or graded[who]["total"] != str(want)]
    print(f"bench: {n - len(wrong)} of {n} submissions got their honest score", *wrong, sep="\n")
    margins = time_margins(d / "out" / "logs")
    (d / "margins.txt").write_text("\n".join(margins) + "\n", encoding="utf-8")
    print("\n".join(margins))
    return 1 if wrong else 0


def make_submission(lab: Lab, kind: Path, dest: Path) -> None:
    """KIND, one of tests/submissions/, as a student hands it in at DEST: its files
    over a copy of solutions/ (of starter/ for `starter`). Two of them read or
    look for what they must not find, on top of the right answer (its collect()
    renamed; theirs calls it); one's lesson 01 is a link to the lab's solution."""
    base = "starter" if kind.name == "starter" else "solutions"
    copy_over(lab.root / base, dest)
    copy_over(kind, dest)
    lesson = dest / "01-unshared-list"
    if kind.name in ("reads-the-solutions", "looks-for-classmates"):
        answer = (lab.root / "solutions" / lesson.name / "collect.c").read_text()
        answer = answer.replace("\nint collect(", "\nstatic int real_collect(", 1)
        f = lesson / "collect.c"
        f.write_text(answer + f.read_text().replace("@LAB@", str(lab.root)))
    elif kind.name == "links-a-lesson-to-the-solutions":
        shutil.rmtree(lesson)
        lesson.symlink_to(lab.root / "solutions" / lesson.name)


def expected_scores(lab: Lab) -> dict[str, dict[str, int]]:
    """tests/submissions/expected: each submission's honest points, by lesson."""
    lessons: list[str] = []
    scores: dict[str, dict[str, int]] = {}
    for line in (lab.root / "tests" / "submissions" / "expected").read_text().splitlines():
        if line.startswith("# submission"):
            lessons = line.split()[2:]
        elif line.strip() and not line.startswith("#"):
            name, *given = line.split()
            scores[name] = dict(zip(lessons, map(int, given)))
    return scores


def time_margins(logs: Path) -> list[str]:
    """Each lesson's check with the least margin: the longest that check took
    in a class, where it passed, against the time it had (more if it was run again)."""
    slowest: dict[tuple[str, str], Row] = {}
    for tsv in sorted(logs.glob("*/*.tsv")):
        for line in _lines(sandbox.read_text(tsv)):
            row = _row(line)
            key = (tsv.stem, row.name)
            if row.status == "ok" and row.limit > 0 and (
                    key not in slowest or row.seconds > slowest[key].seconds):
                slowest[key] = row
    tightest: dict[str, Row] = {}
    for (lesson, _), row in slowest.items():
        if lesson not in tightest or (row.seconds / row.limit >
                                      tightest[lesson].seconds / tightest[lesson].limit):
            tightest[lesson] = row
    return [f"{lesson}: its tightest check, {row.title}, took at most {row.seconds:.2f} s "
            f"of its {row.limit:.0f} s (a margin of {row.limit / max(row.seconds, 0.001):.1f}x)"
            for lesson, row in sorted(tightest.items())]


def copy_over(src: Path, dest: Path) -> None:
    """SRC's files over DEST's, as `cp -R SRC/. DEST/` does: a link stays a
    link, and replaces the file it lands on."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in sorted(src.iterdir()):
        to = dest / entry.name
        if entry.is_dir() and not entry.is_symlink():
            copy_over(entry, to)
            continue
        if to.is_symlink() or to.exists():
            to.unlink()
        if entry.name == "__MACOSX" or entry.name == ".DS_Store":
            continue    # what macOS's archiver adds: nobody's work
        if entry.is_symlink():
            to.symlink_to(os.readlink(entry))
        else:
            shutil.copy2(entry, to)


def _lines(text: str) -> list[str]:
    """TEXT's lines, as sed and wc count them: a last newline ends a line, not starts one."""
    if not text:
        return []
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
