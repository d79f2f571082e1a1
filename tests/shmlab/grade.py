"""Grading one lesson of a workspace: build, run its suite, keep the verdict.

A verdict is kept beside the build (OUT/verdict.json) under a hash of
everything that made it: the student's files and the lab's side of the
lesson. Asked again with nothing changed, the kept verdict is the answer.
"""
from __future__ import annotations

import json
import dataclasses
import os
import re
import signal
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .build import Toolchain, build, files_digest, lab_stamp
from .common import Lab, Style, run_in_group
from .manifest import Lesson
from .suite import SUITE_LIMIT, Progress, SuiteRun, run_suite

VERDICT_VERSION = 1
# The harness's words for a test that ran out of time on a busy machine, never
# shown to hang, or stopped at the suite's deadline: no grade (lab.c's). A
# student is told to check again instead; such a verdict is not kept for reuse.
REGRADE_MARK = "REGRADE on a quieter machine"
STOPPED_NOTE = "the suite was still running after"
NOT_GRADED = "not graded: the grader's time for the whole suite"   # lab.c's
# Seconds of a sandbox's wall clock kept for what comes before and after the
# suite: the sandbox's start, the harness's clean-up and its results file (a
# sixth of a shorter wall clock).
WALL_MARGIN = 25


@dataclass(frozen=True)
class Failure:
    title: str                  # the test's name, in words
    message: str
    stderr: tuple[str, ...]     # the last lines the code under test printed on stderr


@dataclass(frozen=True)
class Verdict:
    lesson: str                 # the lesson's id
    key: str                    # the hash of everything that made this verdict
    built: bool
    passed: bool
    checks: int                 # how many checks the suite has
    checks_ok: int
    failures: tuple[Failure, ...]
    build_log: str              # why it did not build
    note: str                   # what else went wrong (the suite stopped early, say)

    def points(self, lesson: Lesson) -> int:
        return lesson.points if self.passed else 0

    def to_json(self) -> str:
        return json.dumps({"version": VERDICT_VERSION, **asdict(self)}, indent=1)

    @staticmethod
    def from_json(text: str) -> "Verdict | None":
        try:
            data = json.loads(text)
            if data.pop("version") != VERDICT_VERSION:
                return None
            data["failures"] = tuple(Failure(f["title"], f["message"], tuple(f["stderr"]))
                                     for f in data["failures"])
            return Verdict(**data)
        except (ValueError, KeyError, TypeError):
            return None


def verdict_key(lab: Lab, tc: Toolchain, lesson: Lesson, src: Path) -> str:
    # A test's time limit, a seed asked for, or warnings allowed change what a verdict
    # can be: part of the key.
    limit = os.environ.get("LAB_TEST_SECONDS", "")
    seed = os.environ.get("LAB_SEED", "")
    flags = " ".join(tc.student_flags)
    return f"{lab_stamp(lab, tc, lesson, 'normal')}{files_digest(lesson, src)}{limit}:{seed}:{flags}"


def kept_verdict(lab: Lab, tc: Toolchain, lesson: Lesson, src: Path, out: Path) -> Verdict | None:
    """The verdict kept for exactly these files and this lab, or None."""
    try:
        kept = Verdict.from_json((out / "verdict.json").read_text())
    except OSError:
        return None
    if kept is None or kept.key != verdict_key(lab, tc, lesson, src):
        return None
    # The machine's fault, not the files': asked again, they are checked again.
    if kept.note.startswith(STOPPED_NOTE) or any(_again(lesson) in f.message
                                                 for f in kept.failures):
        return None
    return kept


def _again(lesson: Lesson) -> str:
    return f"check again on a quieter machine (make check LESSON={lesson.id})"


def grade_lesson(lab: Lab, tc: Toolchain, lesson: Lesson, src: Path, out: Path, *,
                 reuse: bool = True, progress: Progress | None = None) -> Verdict:
    """Grades the lesson's files in SRC (a lesson directory), building in OUT."""
    if reuse:
        kept = kept_verdict(lab, tc, lesson, src, out)
        if kept is not None:
            return kept
    key = verdict_key(lab, tc, lesson, src)
    built = build(lab, tc, lesson, src, out)
    if not built.ok:
        verdict = Verdict(lesson=lesson.id, key=key, built=False, passed=False,
                          checks=len(built.objects.tests) if built.objects else 0, checks_ok=0,
                          failures=(), build_log=built.log, note="")
    else:
        assert built.objects is not None
        verdict = _from_run(lesson, key, run_suite(out / "check", built.objects.tests,
                                                   progress=progress), out)
    (out / "verdict.json").write_text(verdict.to_json())
    return verdict


def _from_run(lesson: Lesson, key: str, run: SuiteRun, out: Path) -> Verdict:
    failures = tuple(Failure(r.title, r.message.replace(REGRADE_MARK, _again(lesson)), r.stderr)
                     for r in run.results if not r.ok)
    note = ""
    if run.timed_out:
        running = (f", in test {run.stopped_in} of {len(run.tests)} "
                   f"({run.tests[run.stopped_in - 1].replace('_', ' ')}),"
                   if 0 < run.stopped_in <= len(run.tests) else "")
        note = (f"{STOPPED_NOTE} {run.limit:.0f} s{running} and was stopped; the checks it had "
                "not finished count as failed: fix the first that hangs, and check again")
    elif any(f.message.startswith(NOT_GRADED) for f in failures):
        cut = sum(f.message.startswith(NOT_GRADED) for f in failures)
        hung = sum(f.message.startswith("deadlock or endless loop") for f in failures)
        note = (f"{cut} of {len(run.tests)} checks not graded: the suite ran out of time"
                + (f", most of it waited out by the {hung} that hang above: fix those first, "
                   "then check again" if hung else ""))
    elif len(run.results) < len(run.tests):
        note = (f"the suite stopped after {len(run.results)} of its {len(run.tests)} checks "
                f"({_status_words(run.status)}); what it printed is in {out}/stderr.txt")
    elif run.status != 0 and not failures:
        note = f"every check passed, but the test program then {_status_words(run.status)}"
    return Verdict(lesson=lesson.id, key=key, built=True, passed=run.passed,
                   checks=len(run.tests), checks_ok=run.ok_count, failures=failures,
                   build_log="", note=note)


def _status_words(status: int) -> str:
    if status < 0:
        try:
            return f"was killed by signal {-status} ({signal.Signals(-status).name})"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
REPEAT_WORTH_CUTTING = 120   # characters: shorter advice costs less than a pointer to it
SENTENCE_WORTH_CUTTING = 40  # a shorter one ("1 short.") may repeat by chance


def said_once(message: str, before: list[tuple[str, str]]) -> str:
    """MESSAGE without the sentences that a failure shown BEFORE it (title,
    message) said already: checks that fail for one reason give the same
    advice, and a student saw it five times over under five checks. Each run
    of such sentences becomes a pointer to the first failure that said them."""
    said: dict[str, str] = {}
    for title, earlier in before:
        for sentence in SENTENCE_END.split(earlier):
            said.setdefault(sentence, title)
    mine = SENTENCE_END.split(message)
    again = [len(x) >= SENTENCE_WORTH_CUTTING and x in said for x in mine]
    if sum(len(x) for x, a in zip(mine, again) if a) < REPEAT_WORTH_CUTTING:
        return message
    if all(again):
        return f"The same as under “{said[mine[0]]}”, above."
    kept: list[str] = []
    for i, (sentence, repeated) in enumerate(zip(mine, again)):
        if not repeated:
            kept.append(sentence)
        elif i == 0 or not again[i - 1]:
            kept.append(f"(Why, and what to do: as under “{said[sentence]}”, above.)")
    return " ".join(kept)


def describe(lesson: Lesson, verdict: Verdict, style: Style, *, brief: bool = False) -> list[str]:
    """The lesson's line, and under it what failed and why (BRIEF: only the first failure)."""
    checks = f"{verdict.checks_ok}/{verdict.checks} checks"
    if verdict.passed:
        return [f"{lesson.id} {lesson.title:<30} {style.green('pass')} "
                f"{lesson.points:>3}/{lesson.points:<3} {checks}"]
    if not verdict.built:
        lines = [f"{lesson.id} {lesson.title:<30} {style.red('FAIL')}   0/{lesson.points:<3} "
                 "does not build:"]
        log = verdict.build_log.splitlines()
        lines += ["       " + line for line in log[:30]]
        if len(log) > 30:
            lines.append(f"       ... {len(log) - 30} more lines")
        if re.search(r"-Werror|warnings being treated as errors", verdict.build_log):
            lines.append(f"       (a warning stops the build: fix it, or, to try a wrong fix an "
                         f"exercise asks for, make check LESSON={lesson.id} WERROR=0)")
        return lines
    # Only slow on a busy machine, never shown wrong: no grade, not a fail (an
    # outsider's right lesson read FAIL 0/10 over "check again on a quieter machine").
    again = _again(lesson)
    busy = not verdict.note and all(again in f.message for f in verdict.failures)
    word = style.yellow("BUSY") if busy else style.red("FAIL")
    lines = [f"{lesson.id} {lesson.title:<30} {word} {0:>3}/{lesson.points:<3} {checks}"
             + (" (not graded: too slow to tell on this busy machine)" if busy else "")]
    shown = verdict.failures[:1] if brief else verdict.failures
    for n, failure in enumerate(shown):
        mark = style.yellow("BUSY") if again in failure.message else style.red("FAIL")
        lines.append(f"       {mark}  {failure.title}")
        message = said_once(failure.message, [(f.title, f.message) for f in shown[:n]])
        lines.append(textwrap.fill(message, width=100, initial_indent=" " * 13,
                                   subsequent_indent=" " * 13, break_on_hyphens=False))
        if failure.stderr:
            lines.append("             what the code printed on stderr (the last lines):")
            lines += ["             | " + line for line in failure.stderr]
    if brief and len(verdict.failures) > 1:
        lines.append(f"       ... and {len(verdict.failures) - 1} more: "
                     f"make check LESSON={lesson.id} shows them all")
    if verdict.note:
        lines.append("       " + verdict.note)
    return lines


def sandboxed_grade(lab: Lab, tc: Toolchain, src: Path, lesson: Lesson, out: Path) -> int:
    """One lesson of one submission, inside the class grader's sandbox.

    Builds from SRC/<lesson> into OUT/build (no demo, no symbols) and runs the
    suite once: its results go to OUT/results.tsv (written by the harness once
    every test process is stopped), a failed build's reasons to OUT/build.log.
    With LAB_WALL (the sandbox's wall clock), the suite gets what is left of it
    less a margin (LAB_SUITE_SECONDS): the checks done by then are kept.
    Nothing printed is trusted: the grader reads only those files.
    """
    began = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    tc = dataclasses.replace(tc, student_flags=())   # a class is graded with warnings as errors
    built = build(lab, tc, lesson, src / lesson.name, out / "build", demo=False, strip=True)
    if not built.ok:
        (out / "build.log").write_text(built.log + "\n")
        return 1
    assert built.objects is not None
    env = {**os.environ, "LAB_RESULTS": str(out / "results.tsv")}
    # The sandbox stops everything at its wall clock (LAB_WALL): the suite is
    # told to stop a little before, so that what it saw till then is kept.
    wall = int(os.environ.get("LAB_WALL", "0") or 0)
    if wall > 0:
        left = wall - (time.monotonic() - began) - min(WALL_MARGIN, wall / 6)
        env["LAB_SUITE_SECONDS"] = str(max(1, int(left)))
    # The student's object: the harness reads from it the line of a call it made
    # fail, or of the step at which it killed a process.
    objects = sorted((out / "build").glob("*.o"))
    if objects:
        env["LAB_STUDENT_OBJECT"] = str(objects[0])
    with open(out / "stdout.txt", "wb") as stdout, open(out / "stderr.txt", "wb") as stderr:
        return run_in_group([str(out / "build" / "check")], stdout=stdout, stderr=stderr,
                            timeout=SUITE_LIMIT, env=env)
