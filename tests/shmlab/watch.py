"""make watch: grades a lesson each time one of its files is saved, until Ctrl-C.

It looks at the lessons' editable files twice a second (their size, time
and inode: an editor that saves by renaming a new file over the old one
changes the inode). Looking is cheap for a dozen files, needs no tool, and
sees a lesson directory removed and made again, which a watch on
directories (inotify) loses.
"""
from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

from . import progress
from .context import Context
from .grade import describe
from .manifest import Lesson
from .progress import Workspace
from .statusline import StatusLine
from .grading import grade_one
from .student import make_args, workspace

POLL = 0.5      # seconds between looks
SETTLE = 0.2    # after a change, for the editor to finish writing

Seen = dict[str, tuple[tuple[int, int, int] | None, ...]]


def _look(ws: Workspace, lessons: tuple[Lesson, ...]) -> Seen:
    """Each lesson's files as they are: (size, time, inode), None for a missing one."""
    def one(path: Path) -> tuple[int, int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns, st.st_ino
    return {lesson.id: tuple(one(ws.lesson_dir(lesson) / f) for f in lesson.files)
            for lesson in lessons}


def _grade(ctx: Context, ws: Workspace, lesson: Lesson, line: StatusLine, *,
           reuse: bool) -> bool:
    tc = ctx.toolchain()
    verdict, files = grade_one(ctx, tc, ws, lesson, reuse=reuse, report=line.progress(lesson.id),
                               line=line)
    line.set(lesson.id, "")
    progress.remember_grade(ws, lesson, verdict.passed, files)
    line.print(describe(lesson, verdict, ctx.style, brief=True))
    return verdict.passed


def _first_not_passing(ctx: Context, ws: Workspace) -> Lesson | None:
    kept = progress.records(ws)
    for lesson in ctx.manifest.lessons:
        if progress.status(ctx.lab, ws, lesson, kept.get(lesson.id, progress.Record())) \
                != progress.PASSING:
            return lesson
    return None


def _after(ctx: Context, ws: Workspace, lesson: Lesson, passed: bool) -> None:
    style = ctx.style
    if not passed:
        return
    after = _first_not_passing(ctx, ws)
    if after is None:
        print(style.green(f"Lesson {lesson.id} passes, and so does every lesson.") + " Well done.")
    else:
        print(style.green(f"Lesson {lesson.id} passes.") + f" Next: lesson {after.id}, "
              f"{after.title}: edit {' '.join(ws.files(after))} (make hint "
              f"{make_args(ctx, ws, after)} if stuck)")


def _start(ctx: Context, ws: Workspace, line: StatusLine, named: Lesson | None) -> None:
    """Grades the lesson NAMED, or else the first lesson not passing, the one the
    student is likely on."""
    style = ctx.style
    first = named or _first_not_passing(ctx, ws)
    if first is None:
        print(style.green("Every lesson passes.") + " Well done. A save grades its lesson again.")
        return
    print(style.bold(f"Lesson {first.id}, {first.title}: edit {' '.join(ws.files(first))}"))
    _after(ctx, ws, first, _grade(ctx, ws, first, line, reuse=True))


def _changed(ws: Workspace, lessons: tuple[Lesson, ...], seen: Seen) -> tuple[list[Lesson], Seen]:
    """The lessons whose files changed since SEEN, once the editor is done writing;
    and how the files are now (taken before grading: a save made meanwhile
    is seen at the next look)."""
    if _look(ws, lessons) == seen:
        return [], seen
    time.sleep(SETTLE)
    now = _look(ws, lessons)
    return [lesson for lesson in lessons if now[lesson.id] != seen[lesson.id]], now


def watch(ctx: Context, work: Path, first: Lesson | None = None) -> int:
    """make watch [LESSON=NN]: FIRST (or the first lesson not passing) graded, then
    each lesson saved, until Ctrl-C (then exits 0, quietly)."""
    # Each line as it comes, even into a pipe or a file: watch runs for hours.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    ws = workspace(ctx, work)
    lessons = ctx.manifest.lessons
    line = StatusLine()
    waiting = f"(waiting for you to save a lesson's file in {ws.path}/; Ctrl-C stops)"
    try:
        print(ctx.style.bold(f"Watching every lesson of {ws.path}/: a lesson is graded when "
                             "you save one of its files"))
        seen = _look(ws, lessons)
        _start(ctx, ws, line, first)
        print(waiting)
        while True:
            time.sleep(POLL)
            changed, seen = _changed(ws, lessons, seen)
            for lesson in changed:
                print()
                print(ctx.style.bold(f"{time.strftime('%H:%M:%S')} lesson {lesson.id} changed: "
                                     f"grading lesson {lesson.id}, {lesson.title}"))
                _after(ctx, ws, lesson, _grade(ctx, ws, lesson, line, reuse=False))
            if changed:
                print(waiting)
    except KeyboardInterrupt:
        line.clear()
        print()
        return 0
