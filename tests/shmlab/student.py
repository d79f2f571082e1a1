"""The student's commands: overview (plain `make`), list, hint, run, check, grade, reset.

Each takes the lesson it acts on as a value, and names that lesson in
everything it says. `watch` lives in watch.py, grading lessons at once in
grading.py, the workspace and its record of progress in progress.py.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

from . import processes, progress
from .build import build, files_digest, held, lab_files_edited, lab_objects_ready
from .common import LabError
from .context import Context
from .grading import grade_lessons
from .manifest import Lesson
from .progress import Workspace, open_workspace


def workspace(ctx: Context, work: Path) -> Workspace:
    return open_workspace(ctx.lab, ctx.manifest, work)


def make_work(ctx: Context, ws: Workspace) -> str:
    """" WORK=..." for a workspace other than work/, for the make commands we suggest."""
    if ws.tree == "work":
        return ""
    where = ctx.lab.rel(ws.path)
    if not where.startswith("/") and (ctx.lab.root / where).resolve() != ws.path.resolve():
        where = str(ws.path.resolve())  # make runs in the lab's root
    return f" WORK={shlex.quote(where)}"


def make_args(ctx: Context, ws: Workspace, lesson: Lesson) -> str:
    """What a suggested make command needs to act on this lesson of this workspace."""
    return f"LESSON={lesson.id}{make_work(ctx, ws)}"


# ---- grading ---------------------------------------------------------------------

def grade(ctx: Context, work: Path, only: Lesson | None) -> int:
    """make grade: every lesson (or ONLY) graded afresh, each failure in full.
    Of every lesson, those still as the starter has them are not graded: each
    fails, as its starter does (make test proves it), and their failures in
    full would bury the lessons worked on. Exits 0 if all pass, 1 if any
    fails; a LabError (2) if it cannot grade."""
    ws = workspace(ctx, work)
    lessons = (only,) if only else ctx.manifest.lessons
    untouched = [] if only else [lesson for lesson in lessons if _untouched(ctx, ws, lesson)]
    graded = tuple(lesson for lesson in lessons if lesson not in untouched)
    print(ctx.style.bold(f"Grading {ws.path}/"))
    verdicts = grade_lessons(ctx, ws, graded, reuse=False, brief=False) if graded else []
    if untouched:
        print(f"Not started, so not graded (each still fails, as its starter does; make check "
              f"LESSON=NN grades one all the same): {' '.join(l.id for l in untouched)}")
    got = sum(v.points(lesson) for lesson, v in zip(graded, verdicts))
    print(ctx.style.bold(f"Total: {got}/{sum(lesson.points for lesson in lessons)} points"))
    return 0 if not untouched and all(v.passed for v in verdicts) else 1


def check(ctx: Context, lesson: Lesson, work: Path) -> int:
    """make check LESSON=NN: one lesson, graded afresh."""
    return grade(ctx, work, lesson)


def submit(ctx: Context, work: Path) -> int:
    """make submit: build/submission.tar.gz, exactly what the class grader takes
    (each lesson's file(s) from WORK, under work/), then opened as the grader
    opens a submission: every file must come out the same, and each lesson must
    build as the grader builds it. Exits 0 if so, 1 if not (the file is kept)."""
    from . import classroom  # (it brings the class grader's modules)
    ws = workspace(ctx, work)
    lessons = ctx.manifest.lessons
    archive = ctx.lab.build / "submission.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    packed = []
    with tarfile.open(archive, "w:gz") as tar:
        for lesson in lessons:
            for f in lesson.files:
                if (ws.path / lesson.name / f).is_file():
                    tar.add(ws.path / lesson.name / f, arcname=f"work/{lesson.name}/{f}")
                    packed.append((lesson, f))
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        opened, taken = Path(scratch) / "opened", Path(scratch) / "taken"
        with tarfile.open(archive) as tar:
            tar.extractall(opened, filter="data")
        graded = classroom.copy_lessons(lessons, ctx.manifest.all_files(), opened, taken)
        for lesson, f in packed:
            came = taken / lesson.name / f
            if not came.is_file() or came.read_bytes() != (ws.path / lesson.name / f).read_bytes():
                problems.append(f"{lesson.name}/{f} does not come out of it as it is in "
                                f"{ws.path.name}/")
        tc = dataclasses.replace(ctx.toolchain(), student_flags=())  # as the grader builds

        def builds(lesson: Lesson) -> str:
            """"" if LESSON builds as the grader builds it, else why not."""
            built = build(ctx.lab, tc, lesson, taken / lesson.name,
                          Path(scratch) / "build" / lesson.name, demo=False)
            if built.ok:
                return ""
            # The compiler's first complaint, as of the student's file, not the scratch copy.
            lines = [line.replace(f"{taken}/", f"{ws.path.name}/")
                     for line in built.log.splitlines()]
            first = next((line for line in lines if "error" in line or "warning" in line),
                         lines[0] if lines else "")
            return f"lesson {lesson.id} does not build, so it gets no points: {first}"
        # A lesson never graded here compiles the lab's side first: minutes, all of them.
        first = [lesson for lesson in lessons if not lab_objects_ready(ctx.lab, tc, lesson)]
        print(f"submit: building the {len(lessons)} lessons as the grader will, one per core"
              + (f" (the lab's side of {len(first)} of them first, once: a few minutes)"
                 if first else "") + "…", flush=True)
        # Compiling keeps a core busy: one lesson per core, as make grade does.
        with ThreadPoolExecutor(max_workers=max(1, len(os.sched_getaffinity(0)))) as pool:
            futures = {pool.submit(builds, lesson): lesson for lesson in lessons}
            for done, future in enumerate(as_completed(futures), 1):
                if first:
                    how = "does not build" if future.result() else "builds"
                    print(f"submit: lesson {futures[future].id} {how} ({done} of "
                          f"{len(lessons)})", flush=True)
        problems += [why for why in (f.result() for f in futures) if why]  # in lesson order
    missing = [f"{lesson.name}/{f}" for lesson in lessons for f in lesson.files
               if (lesson, f) not in packed]
    print(f"{ctx.lab.rel(archive)}: {len(packed)} files of {len(lessons)} lessons, from "
          f"{ws.path.name}/ (the grader takes {graded}).")
    untouched = [lesson.id for lesson in lessons
                 if files_digest(lesson, ws.lesson_dir(lesson))
                 == files_digest(lesson, ctx.lab.root / "starter" / lesson.name)]
    for line in [*(f"  missing: {m} (that lesson gets no points)" for m in missing),
                 *([f"  still as the starter has it: lesson{'s' * (len(untouched) > 1)} "
                    f"{', '.join(untouched)} (no points: "
                    "the starter fails its tests)"] if untouched else []),
                 *(f"  {p}" for p in problems)]:
        print(line)
    if problems:
        print(f"{ctx.lab.rel(archive)} is written all the same: fix what is above (make check "
              "of that lesson shows all the compiler says), then make submit again.")
        return 1
    print("Opened as the grader opens it, every file is there and every lesson builds: hand "
          f"in {ctx.lab.rel(archive)}. (make grade shows the points it gets.)")
    return 0


def _untouched(ctx: Context, ws: Workspace, lesson: Lesson) -> bool:
    """Whether a workspace's lesson is still as the starter has it (the
    starter and solutions trees themselves are never taken for untouched)."""
    return ws.tree not in ("starter", "solutions") and files_digest(
        lesson, ws.lesson_dir(lesson)) == files_digest(lesson, ctx.lab.root / "starter" / lesson.name)


def overview(ctx: Context, work: Path) -> int:
    """Plain `make`: grades what changed since it was last graded (the rest
    keeps its verdict), briefly, and says what to do next. A lesson still as
    the starter has it is not graded: its starter fails, as make test proves,
    and some starters take a minute to fail. Exits 0 once graded."""
    ws = workspace(ctx, work)
    lessons = ctx.manifest.lessons
    untouched = [lesson for lesson in lessons if _untouched(ctx, ws, lesson)]
    edited = tuple(lesson for lesson in lessons if lesson not in untouched)
    print(ctx.style.bold(f"Grading {ws.path}/"))
    verdicts = grade_lessons(ctx, ws, edited, reuse=True, brief=True) if edited else []
    if untouched:
        print(f"Not started, so not graded (each still fails, as its starter does): "
              f"{' '.join(lesson.id for lesson in untouched)}")
    got = sum(v.points(lesson) for lesson, v in zip(edited, verdicts))
    top = sum(lesson.points for lesson in lessons)
    print(ctx.style.bold(f"Total: {got}/{top} points"))
    print()
    passed = {lesson.id for lesson, v in zip(edited, verdicts) if v.passed}
    failing = [lesson for lesson in lessons if lesson.id not in passed]
    if not failing:
        print("Every lesson passes. Well done: read the lessons' exercises for more.")
    else:
        print("\n".join(next_steps(ctx, ws, failing[0])))
    return 0


def _book(ctx: Context) -> str:
    """Where the book is, said only where that works: the kit ships it built;
    the lab builds it (when its Makefile has the target)."""
    if (ctx.lab.root / "docs/book/index.html").is_file():
        return " (or the book: docs/book/index.html)"
    try:
        makefile = (ctx.lab.root / "Makefile").read_text(errors="replace")
    except OSError:
        return ""
    if re.search(r"^docs-student\s*:", makefile, re.MULTILINE):
        return " (or the book: make docs-student)"
    return ""


def next_steps(ctx: Context, ws: Workspace, lesson: Lesson) -> list[str]:
    pick = make_args(ctx, ws, lesson)
    return [
        f"Next: lesson {lesson.id}, {lesson.title}.",
        f"  1. read lessons/{lesson.name}.md{_book(ctx)}",
        f"  2. run the demo:  make run {pick}",
        f"  3. edit {' '.join(ws.files(lesson))}",
        f"  4. check it:      make check {pick}   (or leave make watch{make_work(ctx, ws)} "
        "running)",
        f"  stuck?            make hint {pick}    (one more hint each time)",
    ]


# ---- what the workspace says of itself ---------------------------------------------

def list_lessons(ctx: Context, work: Path) -> int:
    """make list: every lesson's status and points, from the record (grades nothing)."""
    ws = workspace(ctx, work)
    style = ctx.style
    kept = progress.records(ws)
    colour: dict[str, Callable[[str], str]] = {progress.PASSING: style.green, progress.FAILING: style.red,
              progress.EDITED: style.yellow, progress.NOT_STARTED: str}
    print(style.bold(f"{'Lesson':<38} {'status':<17} points"))
    passing = got = top = 0
    for lesson in ctx.manifest.lessons:
        st = progress.status(ctx.lab, ws, lesson, kept.get(lesson.id, progress.Record()))
        points = lesson.points if st == progress.PASSING else 0
        passing += st == progress.PASSING
        got, top = got + points, top + lesson.points
        print(f"{lesson.id} {lesson.title:<35} {colour[st](f'{st:<17}')} "
              f"{points:>3}/{lesson.points}")
    count = len(ctx.manifest.lessons)
    filled = passing * 20 // count if count else 0
    print(f"Progress: [{'#' * filled}{'.' * (20 - filled)}] {passing} of {count} lessons pass, "
          f"{got}/{top} points")
    if passing < count:
        w = make_work(ctx, ws)
        print(f"Next: make check LESSON=NN{w} after each change, or make watch{w}; "
              f"stuck? make hint LESSON=NN{w}")
    return 0


def hint(ctx: Context, lesson: Lesson, work: Path) -> int:
    """make hint LESSON=NN: one more hint; once the last was shown, all of them."""
    ws = workspace(ctx, work)
    hints = lesson.hints
    if not hints:
        print(f"Lesson {lesson.id} has no hints: read lessons/{lesson.name}.md.")
        return 0
    # A workspace that keeps no record (starter/, LAB_NO_PROGRESS) gets them all.
    before = progress.records(ws).get(lesson.id, progress.Record()).hints
    shown = min(before + 1, len(hints)) if ws.records else len(hints)
    again = before >= len(hints) or not ws.records
    bold = ctx.style.bold
    print(bold(f"Lesson {lesson.id}, {lesson.title}: "
               + (f"its {len(hints)} hints" if again else f"hint {shown} of {len(hints)}")))
    for n in range(1 if again else shown, shown + 1):
        print()
        print(_for_terminal(f"{bold(f'Hint {n}:')} {hints[n - 1]}", ctx))
    print()
    if not again and shown > 1:
        earlier = {2: "Hint 1", 3: "Hints 1 and 2"}.get(shown, f"Hints 1 to {shown - 1}")
        print(f"({earlier} shown before; "
              + ("make hint again shows them all.)" if shown == len(hints)
                 else "after the last, make hint shows them all.)"))
    if shown == len(hints):
        print(f"That was the last hint of lesson {lesson.id}. The lesson's text explains the "
              f"rest: lessons/{lesson.name}.md")
    else:
        print(f"Another: make hint {make_args(ctx, ws, lesson)}")
    progress.remember_hints(ws, lesson, shown)
    return 0


def _for_terminal(markdown: str, ctx: Context) -> str:
    """A hint's Markdown as a terminal shows it: *emphasis* without its stars
    (bold on a terminal), `code` as written, lines wrapped to 100 columns."""
    text = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", lambda m: ctx.style.bold(m[1]),
                  markdown)
    return "\n".join(textwrap.fill(par, width=100, break_long_words=False,
                                   break_on_hyphens=False) for par in text.split("\n"))


# ---- running and resetting --------------------------------------------------------

def run(ctx: Context, lesson: Lesson, work: Path, args: list[str]) -> int:
    """make run LESSON=NN ARGS=...: builds the lesson's demo with the student's
    files and runs it; exits as the demo does."""
    ws = workspace(ctx, work)
    # Apart from the grading's build, whose kept verdict `make` reuses.
    out = ws.build / "run" / lesson.name
    if not lab_objects_ready(ctx.lab, ctx.toolchain(), lesson):
        print(f"compiling the lab's side of lesson {lesson.id} first (once; seconds, or "
              "minutes on a busy machine)…", flush=True)
    # Two make run of one lesson at once would build in the same place: one builds at
    # a time (the linker writes a new demo, so one still running keeps its own).
    with held(out.with_name(f"{out.name}.lock"),
              lambda: print(f"waiting for the other make run of lesson {lesson.id} of "
                            f"{ws.path.name}/ to finish building…", flush=True)):
        built = build(ctx.lab, ctx.toolchain(), lesson, ws.lesson_dir(lesson), out)
    if not built.ok:
        print(f"lesson {lesson.id} does not build:")
        print(built.log)
        return 1
    for note in lab_files_edited(ctx.lab, lesson, ws.lesson_dir(lesson), demo=True):
        print(note, flush=True)
    demo = out / "demo"
    print(ctx.style.bold(" ".join([ctx.lab.rel(demo), *map(shlex.quote, args)])), flush=True)
    try:
        # Under the suite's limit on processes: a demo that forks without end stops there.
        done = subprocess.run([str(demo), *args], check=False,
                              preexec_fn=processes.limit_for_suite())
    except OSError as e:
        raise LabError(f"cannot run {demo}: {e.strerror}") from None
    if done.returncode < 0:
        print(f"lesson {lesson.id}'s demo was killed by signal {-done.returncode} "
              f"({_signal_name(-done.returncode)})", file=sys.stderr)
        return 128 - done.returncode
    return done.returncode


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


def reset(ctx: Context, lesson: Lesson, work: Path, yes: bool) -> int:
    """make reset LESSON=NN: the starter's files back, after asking; the
    student's are kept in WORK/.backup/. Answered no, it changes nothing and exits 0:
    a choice, not an error (make would say "Error 1")."""
    ws = workspace(ctx, work)
    if ws.tree in ("starter", "solutions"):
        raise LabError(f"{ws.tree}/ is the lab's own: reset puts a lesson of a workspace back")
    starter = ctx.lab.root / "starter" / lesson.name
    if files_digest(lesson, ws.lesson_dir(lesson)) == files_digest(lesson, starter):
        print(f"Lesson {lesson.id} is as the starter has it already: nothing to reset.")
        return 0
    backup = ws.path / ".backup" / f"{lesson.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if not yes:
        print(f"Reset lesson {lesson.id} to its starter? (If so, your {' '.join(lesson.files)} "
              f"will be kept in {backup}/.) [y/N] ", end="", flush=True)
        answer = sys.stdin.readline()
        if not answer:
            print()  # end of input: the prompt's line still needs its end
        if answer.strip() not in ("y", "Y", "yes", "YES"):
            print(f"Nothing changed: lesson {lesson.id} is as you left it.")
            return 0
    _back_up_and_restore(ws, lesson, starter, backup)
    progress.forget_grade(ws, lesson)
    print(f"Lesson {lesson.id} is back to its starter; your version is in {backup}/.")
    return 0


def _back_up_and_restore(ws: Workspace, lesson: Lesson, starter: Path, backup: Path) -> None:
    try:
        backup.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LabError(f"cannot make {backup}: {e.strerror}") from None
    for f in lesson.files:
        mine = ws.lesson_dir(lesson) / f
        try:
            if mine.is_file():
                shutil.copy2(mine, backup / f)
            shutil.copyfile(starter / f, mine)
        except OSError as e:
            raise LabError(f"cannot restore {mine} of lesson {lesson.id}: {e.strerror}") from None


def watch(ctx: Context, work: Path, first: Lesson | None = None) -> int:
    from .watch import watch as watching  # its own module: the one command that loops
    return watching(ctx, work, first)
