"""make test's parts for the harness, the manager, each lesson, the texts and the template.

A lesson is proved both ways: its solution (and every correct alternative
in tests/variants/<lesson>/right-*) passes its suite, and its starter (and
every wrong fix, wrong-*) fails it, for the reasons the variant's `expect`
file names. A suite that can only pass proves nothing.
"""
from __future__ import annotations

import glob
import html
import os
import re
import shutil
import subprocess
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Callable

from shmlab.build import CFLAGS, FAULT_PREFIX, KEEP_IN_TEXT, MODES, STUDENT_TEXT, Toolchain, build
from shmlab.classroom import NOT_GRADED
from shmlab.common import Lab, LabError, run_in_group
from shmlab.context import Context
from shmlab.manifest import Lesson
from shmlab.suite import SUITE_LIMIT, SuiteRun, run_suite

from . import pybook
from .checks import Check, Part

ASAN_TEST_SECONDS = "60"   # per test, under ASan and UBSan (the lab's own limit is 10 s)

# What the lab leaves on the machine: segments and semaphores in /dev/shm,
# manager directories in /tmp.
LEFTOVERS = ("/dev/shm/shmlab-*", "/dev/shm/sem.shmlab-*", "/tmp/shmlab-manager-*")
# Segment names carry their maker's pid: shmlab-<pid>-... or shmlab-demo-<pid>[-...]
MAKER = re.compile(r"^(sem\.)?shmlab-(demo-|manager-)?([0-9]+)(-|$)")
SHOWN = 40          # lines of a report shown under a failed check
FUZZ_SECONDS = 20
DEMO_LIMIT = 300    # seconds for a demo under valgrind (lesson 11's: 3 s quiet, over 120
                    # s once in a loaded make test)
AT_ONCE = 2         # a lesson's suites that run at once (see _Overlap)


def parts(ctx: Context) -> list[Part]:
    _snapshot_leftovers(ctx.lab)  # before anything runs: what was there is not ours
    return [_harness_part(ctx), _manager_part(ctx),
            *(_lesson_part(ctx, lesson) for lesson in ctx.manifest.lessons),
            _texts_part(ctx)]


def final_parts(ctx: Context) -> list[Part]:
    """What can only be checked once every other part has ended."""
    return [Part("What the lab leaves on the machine", (
        Check("nothing of the lab is left in /dev/shm or /tmp", partial(_no_leftovers, ctx.lab)),
    ), key="leftovers")]


# ---- small helpers -------------------------------------------------------------

def _head(lines: list[str], n: int = SHOWN) -> list[str]:
    return lines[:n] + ([f"... {len(lines) - n} more lines"] if len(lines) > n else [])


def _file_lines(path: Path, n: int = SHOWN) -> list[str]:
    try:
        return _head(path.read_text(errors="replace").splitlines(), n)
    except OSError as e:
        return [f"(cannot read {path}: {e.strerror})"]


def _run(lab: Lab, argv: list[str], log: Path, *, timeout: float | None = None) -> int:
    """Runs ARGV in the lab's root, its stdout and stderr to LOG; its exit status
    (124 when it ran out of TIMEOUT, as timeout(1) says it)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return run_in_group(argv, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                            cwd=lab.root)


def _listed(program: Path) -> tuple[str, ...]:
    """The tests a suite has, as it lists them itself (LAB_LIST=1)."""
    done = subprocess.run([str(program)], env={**os.environ, "LAB_LIST": "1"},
                          capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise LabError(f"{program} did not list its tests (LAB_LIST=1): exit status "
                       f"{done.returncode}")
    return tuple(done.stdout.split())


# ---- a lesson's suite, both ways -------------------------------------------------

def _variant_files(lab: Lab, lesson: Lesson, src: Path, out: Path) -> tuple[Path, list[str]]:
    """The directory that holds the variant SRC's files, whole, and what went wrong.

    A variant gives a file either whole or as FILE.patch against the
    solution's (or against the directory its `base` file names), so that it
    differs from a correct version only where it is wrong.
    """
    if not list(src.glob("*.patch")):
        return src, []
    base = lab.root / "solutions" / lesson.name
    if (src / "base").is_file():
        base = lab.root / (src / "base").read_text().strip()
    whole = out.with_name(out.name + ".src")
    shutil.rmtree(whole, ignore_errors=True)
    whole.mkdir(parents=True)
    for f in lesson.files:
        patch = src / f"{f}.patch"
        # A file the variant gives whole, or the one its patch was made against
        # (or, neither given, the base's as it is).
        origin = src / f if not patch.is_file() and (src / f).is_file() else base / f
        try:
            shutil.copyfile(origin, whole / f)
        except OSError as e:
            return whole, [f"cannot copy {lab.rel(origin)}: {e.strerror}"]
        if not patch.is_file():
            continue
        with patch.open("rb") as diff:
            done = subprocess.run(["patch", "-s", "-p1", "--no-backup-if-mismatch", "-r", "-",
                                   "-d", str(whole)],
                                  stdin=diff, capture_output=True, check=False)
        if done.returncode != 0:
            said = (done.stdout + done.stderr).decode(errors="replace").splitlines()
            return whole, [f"{lab.rel(patch)} no longer applies to {lab.rel(origin)}, "
                           "the file it was made against:", *_head(said, 10)]
    return whole, []


def _phrases(src: Path) -> list[str]:
    """The `expect` file's phrases, one a line: why a wrong fix must fail (every line
    must be said; "a | b" is said when either is)."""
    try:
        text = (src / "expect").read_text()
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line.strip()]


def _judge(lab: Lab, expect: str, run: SuiteRun, src: Path, out: Path) -> list[str]:
    """What is wrong with RUN, the suite of SRC, which should EXPECT (pass or fail)."""
    report = [f"its report ({lab.rel(out / 'report.txt')}):", *_file_lines(out / "report.txt"),
              f"its stderr ({lab.rel(out / 'stderr.txt')}):",
              *_file_lines(out / "stderr.txt", 20)]
    if expect == "pass":
        return [] if run.passed else ["expected the suite to pass, it did not;", *report]
    if run.passed:
        return ["expected the suite to fail, it passed;", *report]
    # It must have failed on a check, not by failing to run, ...
    ran = [r.name for r in run.results]
    if run.timed_out or ran != list(run.tests):
        return [f"the suite stopped after {len(ran)} of its {len(run.tests)} tests "
                f"(status {run.status}{', timed out' if run.timed_out else ''}): it crashed?",
                *report]
    failed = [r for r in run.results if not r.ok]
    if not failed:
        return [f"every check passed, but the suite exited with status {run.status};", *report]
    # ... saying why, in words, ...
    problems = [f"the check '{r.title}' failed without a message" for r in failed
                if not r.message.strip()]
    # ... and for the reason its `expect` file gives.
    said = "\n".join([r.message for r in failed] + [line for r in failed for line in r.stderr])
    # A line "a | b" is said when either is: where two reasons are both right.
    unsaid = [phrase for phrase in _phrases(src)
              if not any(alt.strip() in said for alt in phrase.split(" | "))]
    if unsaid:
        problems += [f"the suite failed, but never said \"{phrase}\"" for phrase in unsaid]
        problems += ["what it said:", *_head([f"  {r.title}: {r.message}" for r in failed])]
    return problems


def _outcome(ctx: Context, lesson: Lesson, expect: str, src: Path, out: Path, *,
             mode: str = "normal", builds: threading.Lock | None = None,
             demo: bool = False) -> list[str]:
    """Builds the files of SRC into OUT (MODE; its DEMO too, if asked) and runs the
    suite: problems unless its outcome is EXPECT. BUILDS, if given, is held while
    compiling."""
    tc = Toolchain.from_env()
    files, problems = _variant_files(ctx.lab, lesson, src, out)
    if problems:
        return problems
    with builds or nullcontext():
        built = build(ctx.lab, tc, lesson, files, out, mode, demo=demo)
    if not built.ok or built.objects is None:
        return [f"{ctx.lab.rel(src)} does not build ({mode}):",
                *_head(built.log.splitlines(), 20)]
    # The sanitizers make code several times slower, and make test runs on a loaded
    # machine: a correct solution under them gets a wider time limit per test.
    env = {"LAB_TEST_SECONDS": ASAN_TEST_SECONDS} if mode == "asan" else {}
    # Code that must fail is not given more time on a busy machine: its hangs would
    # wait three times as long, and it fails all the same (a right one keeps it).
    if expect == "fail":
        env["LAB_BUSY"] = "0"
    run = run_suite(out / "check", built.objects.tests, env=env)
    problems = _judge(ctx.lab, expect, run, src, out)
    failed = [r for r in run.results if not r.ok]
    if problems and expect == "pass" and failed and all(
            "REGRADE on a quieter machine" in r.message for r in failed):
        # No grade, on a loaded machine (a speed short, a test slow): once more.
        run = run_suite(out / "check", built.objects.tests, env=env)
        problems = _judge(ctx.lab, expect, run, src, out)
    if problems and expect == "fail" and any(
            r.message.startswith("deadlock or endless loop") or
            "REGRADE on a quieter machine" in r.message for r in run.results if not r.ok):
        # On a loaded machine a check that says why may run out of time before it
        # does (lesson 01's never-unmaps once, at load 60): once more, given more
        # time if the harness finds the machine busy.
        del env["LAB_BUSY"]
        run = run_suite(out / "check", built.objects.tests, env=env)
        problems = _judge(ctx.lab, expect, run, src, out)
    return problems


def _demo_under_valgrind(lab: Lab, out: Path) -> list[str]:
    """The solution's demo (built by the solution's check) under valgrind: no memory
    error, no definite leak, in it or in any process it starts."""
    if shutil.which("valgrind") is None:
        return ["valgrind is missing (tests/deps test installs it)"]
    demo = out / "demo"
    if not demo.is_file():
        return [f"no demo in {lab.rel(out)}: the solution did not build"]
    log = out / "valgrind.txt"
    status = _run(lab, ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                        "--errors-for-leak-kinds=definite", "--trace-children=yes", str(demo)],
                  log, timeout=DEMO_LIMIT)
    if status == 0:
        return []
    why = f"still running after {DEMO_LIMIT} s" if status == 124 else f"exit status {status}"
    return [f"valgrind ({why}), in {lab.rel(log)}:", *_file_lines(log, 30)]


class _Overlap:
    """Runs some of a part's checks WIDTH at a time, ahead of the runner, which then
    asks for their outcomes one after another, in its order.

    A suite mostly waits (time limits, hung workers, the race amplifier's
    pauses), so two suites of one lesson overlap well even on two cores. The
    jobs start when the first outcome is asked for: after the checks before
    them, which they may need (the solution's build, its demo).
    """

    def __init__(self, jobs: list[Callable[[], list[str]]], first: int, width: int) -> None:
        self._jobs = jobs
        self._first = first        # the job to start before the others (the longest)
        self._width = width
        self._lock = threading.Lock()
        self._futures: list[Future[list[str]]] = []

    def outcome(self, i: int) -> list[str]:
        with self._lock:
            if not self._futures:
                pool = ThreadPoolExecutor(self._width, thread_name_prefix="overlap")
                order = [self._first] + [j for j in range(len(self._jobs)) if j != self._first]
                started = {j: pool.submit(self._jobs[j]) for j in order}
                self._futures = [started[j] for j in range(len(self._jobs))]
                pool.shutdown(wait=False)  # its threads end with their last job
        return self._futures[i].result()


def _lesson_part(ctx: Context, lesson: Lesson) -> Part:
    lab = ctx.lab
    t = lab.build / "test" / lesson.name
    solution = lab.root / "solutions" / lesson.name
    # The lab's side of a lesson is compiled and pinned by whichever build comes
    # first, under names of this process's: one build at a time per mode.
    builds = {mode: threading.Lock() for mode in MODES}

    def outcome(expect: str, src: Path, out: Path, mode: str = "normal",
                demo: bool = False) -> Callable[[], list[str]]:
        return partial(_outcome, ctx, lesson, expect, src, out, mode=mode, builds=builds[mode],
                       demo=demo)

    later: list[tuple[str, Callable[[], list[str]]]] = [
        ("the starter fails its suite, saying why",
         outcome("fail", lab.root / "starter" / lesson.name, t / "starter")),
    ]
    variants = lab.root / "tests" / "variants" / lesson.name
    for v in sorted(p for p in variants.glob("*") if p.is_dir()):
        if v.name.startswith("right-"):
            later.append((f"a correct alternative passes: {v.name[len('right-'):]}",
                          outcome("pass", v, t / v.name)))
        elif v.name.startswith("wrong-"):
            later.append((f"a wrong fix fails, for its reasons: {v.name[len('wrong-'):]}",
                          outcome("fail", v, t / v.name)))
    later += [
        ("the solution passes under AddressSanitizer and UBSan",
         outcome("pass", solution, t / "asan", "asan")),
        ("the solution's demo runs clean under valgrind",
         partial(_demo_under_valgrind, lab, t / "solution")),
    ]
    # The sanitizers' build compiles the lab's side again: the longest job, first.
    overlap = _Overlap([job for _, job in later], first=len(later) - 2, width=AT_ONCE)
    checks = [Check("the solution passes its suite",
                    outcome("pass", solution, t / "solution", demo=True))]
    checks += [Check(what, partial(overlap.outcome, i)) for i, (what, _) in enumerate(later)]
    return Part(f"Lesson {lesson.name}", tuple(checks), key=lesson.id, ordered=True)


# ---- the harness -----------------------------------------------------------------

def _harness_selftest(ctx: Context) -> list[str]:
    """tests/harness/selftest.c: each wrong thing a test can do is reported in its words."""
    lab, tc = ctx.lab, Toolchain.from_env()
    out = lab.build / "test" / "harness"
    program = out / "selftest"
    # Its "code under test", built as a student's file is: calls sent to the fault injector.
    code = out / "selftest_code.o"
    fault = out / "fault.o"
    built = (_run(lab, [tc.cc, *CFLAGS, *KEEP_IN_TEXT, "-c", "tests/harness/selftest_code.c",
                        "-o", str(code)], out / "build.log") == 0 and
             _run(lab, [tc.cc, *CFLAGS, "-Itests/harness", "-c", "tests/harness/fault.c", "-o",
                        str(fault)], out / "build-fault.log") == 0)
    if built:
        wrapped = sorted(line.split()[2][len(FAULT_PREFIX):] for line in subprocess.run(
            ["nm", "--defined-only", str(fault)], capture_output=True, text=True,
            check=False).stdout.splitlines() if line.split()[-1].startswith(FAULT_PREFIX))
        built = _run(lab, ["objcopy", f"--rename-section=.text={STUDENT_TEXT}",
                           *(f"--redefine-sym={w}={FAULT_PREFIX}{w}" for w in wrapped),
                           str(code)], out / "build-objcopy.log") == 0
    if not built or _run(lab, [tc.cc, *CFLAGS, "-Itests/harness", "-o", str(program),
                               "tests/harness/selftest.c", "tests/harness/lab.c", str(fault),
                               str(code), *tc.check_cflags, *tc.check_libs],
                         out / "build.log") != 0:
        return ["the harness's self-test does not build:",
                *(line for log in ("build.log", "build-fault.log", "build-objcopy.log")
                  for line in _file_lines(out / log))]
    if _run(lab, ["env", f"LAB_STUDENT_OBJECT={code}", str(program)], out / "report.txt",
            timeout=SUITE_LIMIT) != 0:
        return ["the harness's self-test failed:",
                *(line for line in _file_lines(out / "report.txt", 80)
                  if not line.startswith("  ok"))]
    return []


def _env_suite(ctx: Context, mode: str) -> tuple[Path, tuple[str, ...]] | list[str]:
    """tests/selftest/harness_env.c built in MODE: the program and its tests' names
    as written there, or what went wrong."""
    lab, tc = ctx.lab, Toolchain.from_env()
    out = lab.build / "test" / f"harness-env-{mode}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    source = lab.root / "tests" / "selftest" / "harness_env.c"
    program = out / "check"
    if _run(lab, [*tc.compiler(mode), *CFLAGS, "-Itests/harness", "-o", str(program),
                  str(source), "tests/harness/lab.c", "tests/harness/fault.c", *tc.check_cflags, *tc.check_libs],
            out / "build.log") != 0:
        return [f"tests/selftest/harness_env.c does not build ({mode}):",
                *_file_lines(out / "build.log")]
    names = tuple(re.findall(r"^\s*lab_add\(s, (\w+)\);", source.read_text(), re.MULTILINE))
    return program, names


def _harness_lists(ctx: Context, mode: str) -> list[str]:
    """LAB_LIST=1: the tests' names, as written and in order, and nothing run; under
    the sanitizers too (the driver lists a suite before it runs it)."""
    made = _env_suite(ctx, mode)
    if isinstance(made, list):
        return made
    program, names = made
    out = program.parent
    progress, results, stderr_dir = out / "progress", out / "results.tsv", out / "stderr"
    stderr_dir.mkdir()
    done = subprocess.run([str(program)], capture_output=True, text=True, timeout=60,
                          check=False, cwd=out,
                          env={**os.environ, "LAB_LIST": "1", "LAB_PROGRESS": str(progress),
                               "LAB_RESULTS": str(results), "LAB_STDERR_DIR": str(stderr_dir)})
    problems = []
    if done.returncode != 0:
        problems += [f"LAB_LIST=1: exit status {done.returncode}, not 0; its stderr:",
                     *_head(done.stderr.splitlines(), 10)]
    if done.stdout.splitlines() != list(names):
        problems.append(f"LAB_LIST=1 printed {done.stdout.splitlines()}, not {list(names)}")
    ran = [p.name for p in (results, *stderr_dir.iterdir()) if p.exists()]
    if progress.exists() and progress.read_bytes():
        ran.append(f"{progress.name} ({progress.read_bytes().decode(errors='replace')})")
    if ran or "said by test" in done.stderr:
        problems.append("LAB_LIST=1 ran tests: it made " + (", ".join(ran) or "no file")
                        + f"; it printed on stderr: {done.stderr.strip()!r}")
    return problems


def _harness_marks_and_stderr(ctx: Context) -> list[str]:
    """LAB_PROGRESS: one 'S' per test started; LAB_STDERR_DIR: test-<n>.txt holds
    what the n-th test printed on stderr, and nothing of another test's."""
    made = _env_suite(ctx, "normal")
    if isinstance(made, list):
        return made
    program, names = made
    run = run_suite(program, names, limit=60)
    out = program.parent
    problems = []
    failing = {"Second_Speaks_Then_Fails"}
    if [(r.name, r.ok) for r in run.results] != [(n, n not in failing) for n in names]:
        problems.append(f"the suite's results: {[(r.name, r.ok) for r in run.results]}")
    marks = (out / "progress").read_bytes() if (out / "progress").exists() else b""
    if marks.count(b"S") != len(names):
        problems.append(f"LAB_PROGRESS has {marks.count(b'S')} 'S' marks ({marks!r}) for "
                        f"{len(names)} tests")
    said = {1: "said by test 1", 2: "said by test 2", 3: "", 4: "said by test 4's child", 5: ""}
    for n, words in said.items():
        path = out / "stderr" / f"test-{n}.txt"
        try:
            text = path.read_text()
        except OSError as e:
            problems.append(f"LAB_STDERR_DIR: cannot read test-{n}.txt: {e.strerror}")
            continue
        if text.strip() != words:
            problems.append(f"LAB_STDERR_DIR: test-{n}.txt holds {text!r}, not {words!r}")
    extra = sorted(p.name for p in (out / "stderr").iterdir()
                   if p.name not in {f"test-{n}.txt" for n in said})
    if extra:
        problems.append(f"LAB_STDERR_DIR holds more files than tests: {extra}")
    if "said by test" in (out / "stderr.txt").read_text(errors="replace"):
        problems.append("a test's stderr reached the suite's own stderr, not only its file")
    shown = [line for r in run.results if not r.ok for line in r.stderr]
    if shown != ["said by test 2"]:
        problems.append(f"the failing test's stderr, as run_suite reads it: {shown}")
    return problems


def _suite_stopped(ctx: Context) -> list[str]:
    """A suite whose fifth test hangs: at the deadline run_suite gives the harness
    (LAB_SUITE_SECONDS) the four tests before stand, the fifth is "not graded";
    stopped from outside before that, the run names the test it was in."""
    made = _env_suite(ctx, "normal")
    if isinstance(made, list):
        return made
    program, names = made
    hang = {"LAB_ENV_HANG": "1", "LAB_TEST_SECONDS": "120"}
    problems = []
    run = run_suite(program, names, limit=12, env=hang)
    got = [(r.name, r.ok, r.message.startswith(NOT_GRADED)) for r in run.results]
    want = [(n, n != "Second_Speaks_Then_Fails" and n != names[-1], n == names[-1])
            for n in names]
    if run.timed_out or got != want:
        problems.append(f"stopped at the harness's deadline, the results were "
                        f"{got} (timed out: {run.timed_out}), not {want}")
    run = run_suite(program, names, limit=4, env={**hang, "LAB_SUITE_SECONDS": "100"})
    if not run.timed_out or run.stopped_in != len(names):
        problems.append(f"stopped from outside in test {len(names)}, the run said timed out: "
                        f"{run.timed_out}, in test {run.stopped_in}")
    return problems


def _harness_part(ctx: Context) -> Part:
    return Part("The harness", (
        Check("the harness's own tests pass", partial(_harness_selftest, ctx)),
        Check("LAB_LIST=1 lists every test, as written and in order, and runs none",
              partial(_harness_lists, ctx, "normal")),
        Check("LAB_LIST=1 does so under AddressSanitizer and UBSan too",
              partial(_harness_lists, ctx, "asan")),
        Check("LAB_PROGRESS marks each test's start; LAB_STDERR_DIR gives each test's "
              "stderr a file of its own", partial(_harness_marks_and_stderr, ctx)),
        Check("a suite out of time keeps the results of the tests before the one it "
              "stopped, and names that one", partial(_suite_stopped, ctx)),
    ), key="harness", ordered=True)


# ---- the manager -------------------------------------------------------------------

def _manager_suite(ctx: Context, mode: str) -> list[str]:
    """tests/manager.c, the suite of the lab's own manager (starter/common/manager/)."""
    lab, tc = ctx.lab, Toolchain.from_env()
    out = lab.build / "test" / f"manager-{mode}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sources = sorted(str(p.relative_to(lab.root))
                     for p in (lab.root / "starter/common/manager").glob("*.c"))
    if _run(lab, [*tc.compiler(mode), *CFLAGS, "-Itests/harness", "-Istarter/common/manager",
                  "-o", str(out / "check"), "tests/manager.c", "tests/harness/lab.c", "tests/harness/fault.c", *sources,
                  *tc.check_cflags, *tc.check_libs], out / "build.log") != 0:
        return [f"the manager's suite does not build ({mode}):", *_file_lines(out / "build.log")]
    run = run_suite(out / "check", _listed(out / "check"))
    if run.passed:
        return []
    return ["the manager's suite failed:",
            *(f"  {r.title}: {r.message}" for r in run.results if not r.ok),
            *_file_lines(out / "stderr.txt", 20)]


def _fuzz_manager(ctx: Context, seconds: int) -> list[str]:
    """The manager's frame and request parser under libFuzzer. New inputs go to
    build/fuzz/corpus; a crashing input to build/fuzz/."""
    lab = ctx.lab
    out = lab.build / "fuzz"
    (out / "corpus").mkdir(parents=True, exist_ok=True)
    manager = "starter/common/manager"
    if _run(lab, ["clang", "-g", "-O1", *CFLAGS, "-fsanitize=fuzzer,address,undefined",
                  "-fno-sanitize-recover=all", f"-I{manager}", "-o", str(out / "fuzz-manager"),
                  "tests/fuzz-manager.c", *(f"{manager}/{f}.c" for f in
                                            ("value", "protocol", "server", "sha256"))],
            out / "build.log") != 0:
        return ["the fuzzer does not build:", *_file_lines(out / "build.log")]
    log = out / "log.txt"
    status = _run(lab, [str(out / "fuzz-manager"), f"-max_total_time={seconds}",
                        "-rss_limit_mb=2048", "-timeout=10", f"-artifact_prefix={out}/",
                        "-print_final_stats=1", str(out / "corpus"), "tests/fuzz-corpus/manager"],
                  log, timeout=seconds + 120)
    if status != 0:
        lines = log.read_text(errors="replace").splitlines()
        return [f"the fuzzer found a problem (status {status}; {lab.rel(log)}):", *lines[-40:]]
    return []


def _manager_part(ctx: Context) -> Part:
    return Part("The manager", (
        Check("the manager's own tests pass", partial(_manager_suite, ctx, "normal")),
        Check("the manager's own tests pass under AddressSanitizer and UBSan",
              partial(_manager_suite, ctx, "asan")),
        Check(f"the manager's frame and request parser survives {FUZZ_SECONDS} s of fuzzing",
              partial(_fuzz_manager, ctx, FUZZ_SECONDS)),
    ), key="manager", ordered=False)


# ---- the texts and the lesson template ---------------------------------------------

def _renders(lab: Lab, text: Path) -> list[str]:
    """TEXT to HTML with the include filter: a missing file, or an include pattern
    that no longer matches the code, fails."""
    if not text.is_file():
        return [f"{lab.rel(text)} is missing"]
    out = lab.build / "test" / "texts" / (text.stem + ".html")
    log = out.with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["pandoc", "--lua-filter", "docs/include.lua", "-o", str(out),
                           str(text.relative_to(lab.root))], cwd=lab.root,
                          capture_output=True, text=True, check=False)
    log.write_text(done.stderr)
    if done.returncode != 0:
        return [f"pandoc: exit status {done.returncode}:", *_head(done.stderr.splitlines(), 20)]
    # A code block whose attributes pandoc could not read stays as typed, unfilled.
    unfilled = [line for line in out.read_text().splitlines() if "include=" in line]
    if unfilled:
        return ["a code block's include was not filled (its attributes do not parse?): "
                + html.unescape(unfilled[0]).strip()[:200]]
    return []


def _texts_part(ctx: Context) -> Part:
    lab = ctx.lab
    lessons = {lab.root / "lessons" / f"{lesson.name}.md" for lesson in ctx.manifest.lessons}
    lessons |= {Path(p) for p in glob.glob(str(lab.root / "lessons" / "[0-9][0-9]-*.md"))}
    checks = [Check(f"{lab.rel(p)} renders, with the code it includes", partial(_renders, lab, p))
              for p in sorted(lessons)]
    checks += [Check(f"{lab.rel(p)} renders", partial(_renders, lab, p))
               for p in sorted((lab.root / "docs").glob("*.md"))]
    checks += pybook.checks(ctx)
    # The template is a lesson too: its starter must fail and its solution pass.
    template = ctx.manifest.template
    t = lab.build / "test" / template.name
    checks += [
        Check("the lesson template's solution passes its suite",
              partial(_outcome, ctx, template, "pass", lab.root / "solutions" / template.name,
                      t / "solution")),
        Check("the lesson template's starter fails its suite",
              partial(_outcome, ctx, template, "fail", lab.root / "starter" / template.name,
                      t / "starter")),
    ]
    return Part("The texts and the lesson template", tuple(checks), key="texts", ordered=False)


# ---- what the lab leaves behind ----------------------------------------------------

def _leftovers() -> list[str]:
    return sorted(p for pattern in LEFTOVERS for p in glob.glob(pattern))


def _before(lab: Lab) -> Path:
    return lab.build / "test" / "leftovers-before.txt"


def _snapshot_leftovers(lab: Lab) -> None:
    path = _before(lab)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{p}\n" for p in _leftovers()))
    except OSError as e:
        raise LabError(f"cannot write {path}: {e.strerror}") from None


def _no_leftovers(lab: Lab) -> list[str]:
    """Names left since make test began. A name made by a process still running
    (another run of the lab on this machine, say) is not a leak yet: only those
    of ended processes count."""
    try:
        before = set(_before(lab).read_text().splitlines())
    except OSError as e:
        return [f"cannot read {_before(lab)}, what was there before the tests: {e.strerror}"]
    left = []
    for path in _leftovers():
        if path in before:
            continue
        maker = MAKER.match(os.path.basename(path))
        if maker and os.path.isdir(f"/proc/{maker.group(3)}"):
            continue
        left.append(path)
    return [f"left behind: {' '.join(left)}"] if left else []
