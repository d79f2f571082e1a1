"""Grading a workspace's lessons: several at once, one status line for all.

The lessons are independent, and their suites mostly wait (time limits,
the race amplifier's pauses): grading them at once, one per core, takes
about the time of the slowest. What each printed comes out in the lessons'
order all the same.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from . import progress
from .build import Toolchain, files_digest, held, lab_files_edited, lab_objects_ready
from .context import Context
from .grade import Verdict, describe, grade_lesson
from .manifest import Lesson
from .progress import Workspace
from .statusline import StatusLine
from .suite import Progress


class _Stopped(Exception):
    """Raised in a grading thread's progress callback: the command is ending."""


def grade_one(ctx: Context, tc: Toolchain, ws: Workspace, lesson: Lesson, *, reuse: bool,
              report: Progress | None, line: StatusLine, label: str = "",
              check: Callable[[], None] | None = None) -> tuple[Verdict, str]:
    """The lesson's verdict, and the hash of the files it was given (taken
    first: a file saved while it is graded makes it 'edited' again); LINE
    shows what it waits for, after LABEL; CHECK, if given, is called while it
    waits, and raises to stop.
    Two commands grading one lesson of one workspace at once (make check in
    two terminals, make watch beside it) would build in the same directory:
    the second waits for the first, and says so."""
    files = files_digest(lesson, ws.lesson_dir(lesson))
    out = ws.out(lesson)
    with held(out.with_name(f"{out.name}.lock"),
              lambda: line.set(lesson.id, f"{label}waiting for the other command grading "
                                          f"lesson {lesson.id} of {ws.path.name}/ to end "
                                          "(they would build in the same place)…"),
              check):
        say_if_compiling(ctx, tc, lesson, line, label)
        verdict = grade_lesson(ctx.lab, tc, lesson, ws.lesson_dir(lesson), out,
                               reuse=reuse, progress=report)
    return verdict, files


def say_if_compiling(ctx: Context, tc: Toolchain, lesson: Lesson, line: StatusLine,
                     label: str = "") -> None:
    """A lesson's first grade compiles the lab's tests of it first, which
    takes a while: the status line says so until a test runs."""
    if not lab_objects_ready(ctx.lab, tc, lesson):
        line.set(lesson.id, f"{label}compiling the lab's tests of lesson {lesson.id} "
                            "(once, before its first grade)…")


def _workers() -> int:
    # The suites mostly wait (time limits, the race amplifier's pauses), but
    # compiling does not: one lesson per core.
    return max(1, len(os.sched_getaffinity(0)))


def grade_lessons(ctx: Context, ws: Workspace, lessons: tuple[Lesson, ...], *, reuse: bool,
                  brief: bool) -> list[Verdict]:
    """Grades LESSONS of WS at once, one per core, and prints each lesson's
    lines in the lessons' order as soon as it and those before it are graded.
    REUSE: a lesson whose files and lab are unchanged keeps its last verdict."""
    tc = ctx.toolchain()
    line = StatusLine()
    stop = threading.Event()
    several = len(lessons) > 1

    def job(lesson: Lesson) -> tuple[Verdict, str]:
        label = f"{lesson.id}: " if several else ""
        shown = line.progress(lesson.id, label)

        def check() -> None:
            if stop.is_set():
                raise _Stopped()

        def report(number: int, of: int, name: str, seconds: float) -> None:
            check()
            shown(number, of, name, seconds)
        try:
            return grade_one(ctx, tc, ws, lesson, reuse=reuse, report=report, line=line,
                             label=label, check=check)
        finally:
            line.set(lesson.id, "")

    verdicts = []
    told: set[str] = set()
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        futures: list[Future[tuple[Verdict, str]]] = [pool.submit(job, l) for l in lessons]
        try:
            for lesson, future in zip(lessons, futures):
                verdict, files = future.result()
                progress.remember_grade(ws, lesson, verdict.passed, files)
                shown = describe(lesson, verdict, ctx.style, brief=brief)
                # A lab's file edited counts for nothing, passing or not (an outsider
                # changed bank.h, passed, and was never told it was not used).
                said = "\n".join(shown)
                notes = [note for note in lab_files_edited(ctx.lab, lesson, ws.lesson_dir(lesson))
                         if note not in said and note not in told]
                told.update(notes)   # a common file's, once, not under every lesson
                shown += ["       " + note for note in notes]
                line.print(shown)
                verdicts.append(verdict)
        except BaseException:
            # Ctrl-C, or the lab's own code does not build: the others stop too.
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            line.clear()
            raise
    return verdicts
