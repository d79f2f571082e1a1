"""The command line: `tests/lab COMMAND [ARGS]`; the Makefile's targets call it."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .common import LabError
from .context import Context

USAGE = """\
usage: tests/lab COMMAND [ARGS]
For students (WORK is your workspace, work/ unless you say otherwise):
  overview [WORK]              grade what changed, and say what to do next (plain `make`)
  list [WORK]                  every lesson with its status and points, and your progress
  hint LESSON [WORK]           the lesson's hints, one more each time
  run LESSON [WORK] [ARGS...]  build and run the lesson's demo
  check LESSON [WORK]          grade one lesson
  submit [WORK]                pack what is handed in (build/submission.tar.gz), and check it
  grade [WORK] [LESSON]        grade every lesson: exit 0 all pass, 1 some fail, 2 cannot grade
  watch [WORK] [LESSON]        grade a lesson each time one of its files is saved (LESSON,
                               or the first not passing, graded first)
  reset LESSON [WORK] [--yes]  put the lesson's starter back (after asking; yours is kept)
  stress LESSON [RUNS] [WORK]  the suite RUNS (20) times on the starter and on WORK (or the solution)
  python [LESSON]              run the book's Python for a lesson (or all), under each start method
  lessons                      list the lessons
For instructors and the lab's own development (not in the student kit):
  docs [student|full|both]     build the book (the kit ships it built, in docs/book/)
  test [LESSON|PART]           the project's own tests (make test), or one lesson's, or one
                               part: harness manager texts book command class kit gradescope
                               readme measure
  grade-all SUBMISSIONS [OUT]  grade a class, each submission sandboxed
  class-bench [N]              grade N made-up submissions, and time it
  dist                         the student kit
  gradescope                   the Gradescope autograder
  fuzz [SECONDS]               fuzz the manager's parser (default 600; 0: until stopped)
  bench                        the manager's speed, beside raw round trips and Python's Manager
  measure [--quick]            what sharing costs on this machine: CSV and plots in
                               BUILD/measure/ (docs/costs.md); --quick: a short run that
                               proves it works
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tests/lab", usage=USAGE, add_help=False)
    sub = p.add_subparsers(dest="command")

    def verb(name: str, *args: tuple[str, dict]) -> None:
        s = sub.add_parser(name, add_help=False)
        for arg, options in args:
            s.add_argument(arg, **options)

    work = ("work", {"nargs": "?", "default": "work"})
    verb("overview", work)
    verb("list", work)
    verb("hint", ("lesson", {}), work)
    verb("run", ("lesson", {}), work, ("args", {"nargs": argparse.REMAINDER}))
    verb("check", ("lesson", {}), work)
    verb("submit", work)
    verb("grade", work, ("lesson", {"nargs": "?", "default": ""}))
    verb("watch", work, ("lesson", {"nargs": "?", "default": ""}))
    verb("reset", ("lesson", {}), work, ("--yes", {"action": "store_true"}))
    verb("stress", ("lesson", {}), ("runs", {"nargs": "?", "default": "20"}),
         ("work", {"nargs": "?", "default": ""}))
    verb("docs", ("edition", {"nargs": "?", "default": "both"}))
    verb("lessons")
    verb("python", ("lesson", {"nargs": "?", "default": ""}))
    verb("test", ("part", {"nargs": "?", "default": ""}))
    verb("grade-all", ("submissions", {"nargs": "?", "default": ""}),
         ("out", {"nargs": "?", "default": "build/class"}))
    verb("class-bench", ("n", {"nargs": "?", "default": "100"}))
    verb("dist")
    verb("gradescope")
    verb("fuzz", ("seconds", {"nargs": "?", "default": "600"}))
    verb("bench")
    verb("measure", ("--quick", {"action": "store_true"}))
    # Used by the class grader, the packaging and the project's tests.
    verb("prepare", ("lessons", {"nargs": "*"}))
    verb("sandboxed-grade", ("src", {}), ("lesson", {}), ("out", {}))
    verb("solution-lines")
    return p


def _whole_number(text: str, what: str) -> int:
    if not text.isdigit():
        raise LabError(f"{what} must be a whole number, not '{text}'")
    return int(text)


def _dispatch(ctx: Context, a: argparse.Namespace) -> int:
    # Imported here, so that each command loads only the modules it needs.
    if a.command in ("overview", "list", "hint", "run", "check", "grade", "watch", "reset",
                     "submit"):
        from . import student
        from .build import warnings_allowed
        work = Path(a.work or "work")
        if warnings_allowed() and a.command in ("run", "check", "grade", "watch"):
            print("WERROR=0: warnings in your files are not errors in this build "
                  "(make submit and the grader keep them errors)", file=sys.stderr)
        if a.command == "overview":
            return student.overview(ctx, work)
        if a.command == "list":
            return student.list_lessons(ctx, work)
        if a.command == "hint":
            return student.hint(ctx, ctx.manifest.find(a.lesson), work)
        if a.command == "run":
            return student.run(ctx, ctx.manifest.find(a.lesson), work, a.args or [])
        if a.command == "check":
            return student.check(ctx, ctx.manifest.find(a.lesson), work)
        if a.command == "submit":
            return student.submit(ctx, work)
        if a.command == "grade":
            only = ctx.manifest.find(a.lesson) if a.lesson else None
            return student.grade(ctx, work, only)
        if a.command == "watch":
            first = ctx.manifest.find(a.lesson) if a.lesson else None
            return student.watch(ctx, work, first)
        return student.reset(ctx, ctx.manifest.find(a.lesson), work, a.yes)
    if a.command == "python":
        from . import pysnippets
        return pysnippets.show(ctx.lab, ctx.manifest.find(a.lesson) if a.lesson else None,
                               ctx.style)
    if a.command == "prepare":
        from . import build
        return build.prepare(ctx.lab, ctx.toolchain(), ctx.manifest,
                             [ctx.manifest.find(x) for x in a.lessons])
    if a.command == "sandboxed-grade":
        from . import grade
        return grade.sandboxed_grade(ctx.lab, ctx.toolchain(), Path(a.src),
                                     ctx.manifest.find(a.lesson), Path(a.out))
    if a.command in ("stress", "fuzz", "bench"):
        from . import devtools
        if a.command == "stress":
            runs = _whole_number(a.runs, "RUNS")
            if runs < 1:
                raise LabError("RUNS must be at least 1")
            return devtools.stress(ctx, ctx.manifest.find(a.lesson), runs,
                                   Path(a.work) if a.work else None)
        if a.command == "fuzz":
            return devtools.fuzz(ctx, _whole_number(a.seconds, "FUZZ_SECONDS"))
        return devtools.bench(ctx)
    if a.command == "measure":
        from . import measure
        return measure.measure(ctx, a.quick)
    if a.command == "docs":
        from . import book
        return book.build(ctx.lab, ctx.manifest, a.edition)
    if a.command in ("dist", "gradescope", "solution-lines"):
        from . import package
        if a.command == "dist":
            return package.dist(ctx.lab, ctx.manifest)
        if a.command == "gradescope":
            return package.gradescope(ctx.lab, ctx.manifest, os.environ.get("LESSONS", ""))
        print("\n".join(package.solution_lines(ctx.lab, ctx.manifest)))
        return 0
    if a.command in ("grade-all", "class-bench"):
        from . import classroom
        if a.command == "class-bench":
            return classroom.bench(ctx.lab, ctx.manifest, _whole_number(a.n, "N"))
        if not a.submissions:
            raise LabError("which submissions? make grade-all SUBMISSIONS=dir "
                           "(a directory of students' copies)")
        return classroom.grade_class(ctx.lab, ctx.manifest, Path(a.submissions), Path(a.out),
                                     classroom.Options.from_env())
    if a.command == "test":
        return _self_test(ctx, a.part)
    if a.command == "lessons":
        for lesson in ctx.manifest.lessons:
            print(f"{lesson.name}  {lesson.title} ({lesson.points} points)")
        return 0
    print(USAGE, end="")
    return 0 if a.command is None else 2


def _self_test(ctx: Context, part: str) -> int:
    if not (ctx.lab.root / "tests" / "selftest").is_dir() or not (ctx.lab.root / "solutions").is_dir():
        raise LabError("the lab's own tests need the whole repository (solutions/ included): "
                       "this is a student's copy; make grade grades your work")
    from selftest import runner  # tests/selftest: never shipped in the student kit
    return runner.main(ctx, part)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("help", "-h", "--help"):
        print(USAGE, end="")
        return 0
    parser = _parser()
    try:
        a = parser.parse_args(argv)
    except SystemExit:
        return 2
    try:
        seed = os.environ.get("LAB_SEED", "")
        if seed:  # make check SEED=n: the suite would read anything else as 0
            _whole_number(seed, "SEED")
        ctx = Context.here()
        try:
            ctx.lab.build.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LabError(f"cannot make {ctx.lab.build}: {e.strerror}") from None
        return _dispatch(ctx, a)
    except LabError as e:
        print(f"lab: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        # The suites run in process groups of their own, stopped with the command
        # (suite.py); a lesson not finished keeps the grade it had before.
        print("\nlab: interrupted; a lesson not yet graded to its end keeps the grade "
              "make list showed before", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
