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
from pathlib import Path

from .build import CFLAGS, Built, build
from .common import Lab, LabError, tail
from .context import Context
from .manifest import Lesson
from .progress import open_workspace
from .statusline import StatusLine
from .suite import run_suite

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


def _repeat(built: Built, runs: int, line: StatusLine, what: str) -> tuple[int, float]:
    """Runs the suite RUNS times: how many runs passed, and the seconds per run."""
    assert built.objects is not None
    passed = 0
    began = time.monotonic()
    for n in range(1, runs + 1):
        line.set("stress", f"{what}: run {n} of {runs}, {passed} passed so far")
        passed += run_suite(built.out / "check", built.objects.tests,
                            per_test_stderr=False).passed
    line.set("stress", "")
    return passed, (time.monotonic() - began) / runs


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
    line = StatusLine()
    starter_passed, starter_time = _repeat(starter, runs, line, f"lesson {lesson.id}, the starter")
    passed, fixed_time = _repeat(fixed, runs, line, f"lesson {lesson.id}, {label}")
    caught = runs - starter_passed
    print(f"lesson {lesson.id}: starter caught {caught}/{runs} ({starter_time:.2f} s per run), "
          f"{label} passed {passed}/{runs} ({fixed_time:.2f} s per run)")
    return 0 if caught == runs and passed == runs else 1


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
