"""For instructors and the lab's own development: stress, fuzz, bench.

stress runs a lesson's suite many times, to see that the starter's trap is
caught every time and a fix passes every time (races are a matter of luck:
once is not enough). fuzz feeds the manager's parser libFuzzer's inputs;
bench times the manager beside Python's multiprocessing.Manager.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .build import CFLAGS, Built, build
from .common import Lab, LabError, tail
from .context import Context
from .manifest import Lesson
from .progress import open_workspace
from .statusline import StatusLine
from .suite import SuiteRun, run_suite

# The manager's parts the fuzzer's target calls (not the client).
FUZZED = ("value.c", "protocol.c", "server.c", "sha256.c")


# ---- stress -----------------------------------------------------------------------

def _compared(ctx: Context, lesson: Lesson, work: Path | None) -> tuple[Path, str]:
    """What the starter is compared with, and its name: WORK when given; else
    the solution; in the student kit, which has none, the student's work/."""
    if work is not None:
        return open_workspace(ctx.lab, ctx.manifest, work).lesson_dir(lesson), str(work)
    solution = ctx.lab.root / "solutions" / lesson.name
    if solution.is_dir():
        return solution, "solution"
    mine = open_workspace(ctx.lab, ctx.manifest, ctx.lab.root / "work")
    return mine.lesson_dir(lesson), "your work"


def _built(ctx: Context, lesson: Lesson, src: Path, out: Path, label: str) -> Built | None:
    built = build(ctx.lab, ctx.toolchain(), lesson, src, out, demo=False)
    if not built.ok:
        print(f"lesson {lesson.id}: {label} does not build:")
        print(built.log)
        return None
    return built


@dataclass
class Repeated:
    passed: int
    seconds: float                 # per run
    failures: dict[str, list[str]]  # a failing test's name: what it said, in each run it failed


def _why(run: SuiteRun) -> dict[str, str]:
    """Each test that failed in RUN, and what it said (a suite stopped whole says so)."""
    why = {r.name: r.message for r in run.results if not r.ok}
    if not why and not run.passed:
        why["(the whole suite)"] = ("ran out of time" if run.timed_out
                                   else f"ended with status {run.status} before every test ran")
    return why


def _repeat(built: Built, runs: int, line: StatusLine, what: str, after: str = "") -> Repeated:
    """Runs the suite RUNS times: how many runs passed, the seconds per run,
    and what each failing test said. The time left it shows, once a run has
    ended, is these runs', with AFTER still to come (runs of a time not known
    yet: the starter's hang, a right answer's do not)."""
    assert built.objects is not None
    done = Repeated(passed=0, seconds=0.0, failures={})
    began = time.monotonic()
    for n in range(1, runs + 1):
        left, each_run = "", ""
        each = (time.monotonic() - began) / (n - 1) if n > 1 else 0.0
        if each > 0:
            # The time left first: a terminal 80 columns wide cuts the line's end.
            rest = _minutes(each * (runs - n + 1))
            then = f" of these, then {after}" if after else " in all"
            left = f"about {rest} left{then}; "
            each_run = f" ({each:.0f} s a run, one after another)"
        line.set("stress", f"{what}: {left}run {n} of {runs}, {done.passed} passed so far"
                 f"{each_run}")
        run = run_suite(built.out / "check", built.objects.tests, per_test_stderr=False)
        done.passed += run.passed
        for name, message in _why(run).items():
            done.failures.setdefault(name, []).append(message)
    line.set("stress", "")
    done.seconds = (time.monotonic() - began) / runs
    return done


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _tell_failures(label: str, done: Repeated) -> None:
    """Which tests failed in how many runs, with the first thing each said."""
    print(f"  where {label} failed:")
    for name, messages in done.failures.items():
        print(f"    {name.replace('_', ' ')}: {len(messages)} run(s); the first said:")
        print(f"      {messages[0][:600]}")


def stress(ctx: Context, lesson: Lesson, runs: int, work: Path | None) -> int:
    """make stress LESSON=NN RUNS=N [WORK=dir]: exits 0 only when the starter
    was caught and the other passed in every run; 2 when one does not build."""
    src, label = _compared(ctx, lesson, work)
    base = ctx.lab.build / "stress"
    starter = _built(ctx, lesson, ctx.lab.root / "starter" / lesson.name,
                     base / "starter" / lesson.name, "the starter")
    fixed = _built(ctx, lesson, src, base / "fixed" / lesson.name, label)
    if starter is None or fixed is None:
        return 2
    print(f"lesson {lesson.id}: the suite {runs} times on the starter, then {runs} times on "
          f"{label}, one run after another (the time each takes is shown after the first)",
          flush=True)
    line = StatusLine()
    trap = _repeat(starter, runs, line, f"lesson {lesson.id}, the starter",
                   after=f"the {runs} of {label}")
    other = _repeat(fixed, runs, line, f"lesson {lesson.id}, {label}")
    caught = runs - trap.passed
    print(f"lesson {lesson.id}: starter caught {caught}/{runs} ({trap.seconds:.2f} s per run), "
          f"{label} passed {other.passed}/{runs} ({other.seconds:.2f} s per run)")
    if other.failures:
        _tell_failures(label, other)
    return 0 if caught == runs and other.passed == runs else 1


# ---- fuzz -------------------------------------------------------------------------

def fuzz_manager(lab: Lab, seconds: int) -> tuple[bool, str]:
    """The manager's frame and request parser under libFuzzer for SECONDS (0:
    until stopped). New inputs go to BUILD/fuzz/corpus, a crashing one to
    BUILD/fuzz/. Returns (no crash, the fuzzer's summary or the end of its log)."""
    out = lab.build / "fuzz"
    try:
        (out / "corpus").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LabError(f"cannot make {out}/corpus: {e.strerror}") from None
    fuzzer = out / "fuzz-manager"
    compile_ = ["clang", "-g", "-O1", *CFLAGS, "-fsanitize=fuzzer,address,undefined",
                "-fno-sanitize-recover=all", "-Istarter/common/manager", "-o", str(fuzzer),
                "tests/fuzz-manager.c", *(f"starter/common/manager/{f}" for f in FUZZED)]
    done = _quiet(lab, compile_)
    if done.returncode != 0:
        raise LabError(f"the manager's fuzzer did not build:\n{done.stdout}{done.stderr}")
    log = out / "log.txt"
    with open(log, "wb") as f:
        ran = subprocess.run([str(fuzzer), f"-max_total_time={seconds}", "-rss_limit_mb=2048",
                              "-timeout=10", f"-artifact_prefix={out}/", "-print_final_stats=1",
                              str(out / "corpus"), "tests/fuzz-corpus/manager"],
                             cwd=lab.root, stdout=f, stderr=subprocess.STDOUT, check=False)
    if ran.returncode != 0:
        return False, "\n".join(tail(log, 40))
    found = re.findall(r"Done \d+ runs in \d+ second\(s\)", log.read_text(errors="replace"))
    return True, found[-1] if found else "the fuzzer ended without its summary"


def _quiet(lab: Lab, argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, cwd=lab.root, capture_output=True, text=True,
                              errors="replace", check=False)
    except OSError as e:
        raise LabError(f"{argv[0]}: {e.strerror}") from None


def fuzz(ctx: Context, seconds: int) -> int:
    """make fuzz FUZZ_SECONDS=N: exits 0 if nothing crashed."""
    lab = ctx.lab
    how_long = f"for {seconds} s" if seconds else "until Ctrl-C"
    print(f"fuzz: the manager's parser, {how_long} (the fuzzer's log: "
          f"{lab.rel(lab.build / 'fuzz' / 'log.txt')})", flush=True)
    ok, said = fuzz_manager(lab, seconds)
    print(said)
    if not ok:
        print(f"fuzz: a crash; the input that made it is in {lab.rel(lab.build / 'fuzz')}/")
        return 1
    print("fuzz: no crash")
    return 0


# ---- bench ------------------------------------------------------------------------

def bench(ctx: Context) -> int:
    """make bench: the manager's speed (tests/bench-manager.c), with Python's
    Manager's beside it when the lab has its script (the kit has not)."""
    lab = ctx.lab
    out = lab.build / "bench"
    out.mkdir(parents=True, exist_ok=True)
    manager = sorted(f"starter/common/manager/{p.name}"
                     for p in (lab.root / "starter/common/manager").glob("*.c"))
    done = _quiet(lab, [ctx.toolchain().cc, *CFLAGS, "-Istarter/common",
                        "-Istarter/common/manager", "-o", str(out / "bench-manager"),
                        "tests/bench-manager.c", *manager])
    if done.returncode != 0:
        raise LabError(f"the benchmark did not build:\n{done.stdout}{done.stderr}")
    python: list[str] = []
    said = ""
    script = lab.root / "tests/bench-python-manager.py"
    if script.is_file():
        # One number on stdout (sets per second from one client); the rest on stderr.
        measured = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                                  check=False)
        said = measured.stderr.strip()
        if measured.returncode == 0 and measured.stdout.strip():
            python = [measured.stdout.strip()]
    subprocess.run([str(out / "bench-manager"), *python], cwd=lab.root, check=False)
    if said:
        print(said)
    return 0
