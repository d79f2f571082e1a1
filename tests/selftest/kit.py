"""make test's checks of the student kit (make dist), taken as a student gets it:
the tarball, unpacked in a scratch directory. Each returns its problems; none
is a pass.

  kit_holds_no_solution   nothing of the solutions is in it, and GitHub
                          Classroom's configuration grades every lesson
  kit_texts_are_readable  its lessons are Markdown a person can read: code
                          filled in, title and hints in, every link resolves
  kit_commands_work       every `make ...` the kit suggests (its README, its
                          Makefile's header, its lessons, what `make` and
                          `make list` print) runs in it as documented
  gradescope_bundle_grades  make gradescope: on a scratch /autograder, setup.sh
                          compiles the lab once; run_autograder grades the
                          solutions and the starters, compiling nothing, its
                          log on stdout; a grader's failure is a failed test
                          "autograder error", never a zero
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import unquote

from shmlab import package
from shmlab.build import objects_root
from shmlab.common import Lab, LabError
from shmlab.context import Context
from shmlab.manifest import Lesson, Manifest

from . import classroom as classroom_checks
from .checks import Check, Part

NEVER_SHIPPED = ("solutions", "variants", "submissions", "selftest")


# ---- the kit, unpacked ---------------------------------------------------------------

def _tarball(lab: Lab) -> Path:
    return lab.build / "dist" / "shmlab-student.tar.gz"


def _lab_command(lab: Lab, verb: str) -> list[str]:
    """tests/lab VERB, quietly, in a process of its own (the tests run in threads:
    nothing here may touch this process's stdout); its failure as a problem."""
    done = subprocess.run([str(lab.root / "tests" / "lab"), verb], cwd=lab.root,
                          env={**os.environ, "BUILD": str(lab.build)}, capture_output=True,
                          text=True, errors="replace", check=False)
    if done.returncode != 0:
        return [f"tests/lab {verb} failed (exit {done.returncode}):",
                *(done.stdout + done.stderr).splitlines()[-20:]]
    return []


def _make_kit(lab: Lab, manifest: Manifest) -> list[str]:
    """make dist, quietly; its failure as a problem."""
    return _lab_command(lab, "dist")


def _unpacked(lab: Lab, manifest: Manifest, scratch: str) -> tuple[Path | None, list[str]]:
    """The kit, unpacked by tar as a student would, in BUILD/test/SCRATCH/shmlab
    (made first if make dist has not been run)."""
    if not _tarball(lab).is_file():
        problems = _make_kit(lab, manifest)
        if problems:
            return None, problems
    where = lab.build / "test" / scratch
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    untar = subprocess.run(["tar", "-xzf", str(_tarball(lab)), "-C", str(where)],
                           capture_output=True, text=True)
    if untar.returncode != 0:
        return None, [f"tar cannot unpack {lab.rel(_tarball(lab))}: {untar.stderr.strip()}"]
    return where / "shmlab", []


def _files(top: Path) -> list[Path]:
    return sorted(p for p in top.rglob("*") if p.is_file())


# ---- nothing of the solutions ----------------------------------------------------------

def kit_holds_no_solution(lab: Lab, manifest: Manifest) -> list[str]:
    """make dist, then: no solutions/, variants, submissions or selftest in the
    tarball; no line only the solutions have, in any of its files; a GitHub
    Classroom configuration that grades every lesson, for positive points."""
    problems = _make_kit(lab, manifest)
    if problems:
        return problems
    with tarfile.open(_tarball(lab)) as tar:
        names = tar.getnames()
    held = [n for n in names if set(n.split("/")) & set(NEVER_SHIPPED)]
    if held:
        problems.append("the kit holds: " + ", ".join(held[:5]))

    kit, unpack = _unpacked(lab, manifest, "kit-files")
    if kit is None:
        return problems + unpack
    lines = package.solution_lines(lab, manifest)
    for path in _files(kit):
        text = path.read_text(errors="replace")
        hits = package.solution_lines_in(text, lines)
        if hits:
            problems.append(f"lines of a solution are in {path.relative_to(kit)}: {hits[0]}")

    config = kit / ".github" / "classroom" / "autograding.json"
    try:
        tests = json.loads(config.read_text())["tests"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return problems + [f"the GitHub Classroom configuration cannot be read: {e}"]
    runs = {t.get("run"): t for t in tests if isinstance(t, dict)}
    if len(tests) != len(manifest.lessons):
        problems.append(f"the GitHub Classroom configuration has {len(tests)} tests, "
                        f"for {len(manifest.lessons)} lessons")
    for lesson in manifest.lessons:
        test = runs.get(f"make check LESSON={lesson.id}")
        if test is None:
            problems.append(f"the GitHub Classroom configuration does not grade lesson {lesson.id}")
        elif not isinstance(test.get("points"), int) or test["points"] <= 0:
            problems.append(f"the GitHub Classroom configuration gives lesson {lesson.id} "
                            f"{test.get('points')} points")
    if sum("sudo" in str(t.get("setup")) for t in tests if isinstance(t, dict)) > 1:
        problems.append("the GitHub Classroom configuration installs the packages per test")
    return problems + _workflow_problems(kit, manifest)


def _workflow_problems(kit: Path, manifest: Manifest) -> list[str]:
    """Today's GitHub Classroom runs a workflow: one job, the packages once, a step per
    lesson with its points, the reporter naming every step; build/ kept out of git."""
    try:
        flow = (kit / ".github/workflows/classroom.yml").read_text()
        ignored = (kit / ".gitignore").read_text().split()
    except OSError as e:
        return [f"the kit lacks GitHub Classroom's workflow or its .gitignore: {e}"]
    problems = []
    if "build/" not in ignored:
        problems.append("the kit's .gitignore does not keep build/ out of git")
    if flow.count("tests/deps") != 1 or flow.count("runs-on:") != 1:
        problems.append("the workflow is not one job that installs the packages once")
    steps = re.findall(r"id: (lesson-\d+)\n.*?command: \"make check LESSON=(\d+)\"\n"
                       r".*?max-score: (\d+)", flow, re.DOTALL)
    want = [(f"lesson-{lesson.id}", lesson.id, str(lesson.points)) for lesson in manifest.lessons]
    if steps != want:
        problems.append(f"the workflow's steps are {steps}, not a step per lesson with its "
                        f"points: {want}")
    runners = re.search(r"runners: (\S+)", flow)
    if runners is None or runners[1].split(",") != [w[0] for w in want]:
        problems.append("the workflow's reporter does not name every lesson's step")
    return problems


# ---- the lessons, readable ------------------------------------------------------------

FENCED = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE_SPAN = re.compile(r"(`+).*?\1", re.S)
MD_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)")
HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")


def _links(text: str) -> list[str]:
    """The link and image targets of a Markdown text (and of its raw HTML), code left out."""
    prose = CODE_SPAN.sub("", FENCED.sub("", text))
    return MD_LINK.findall(prose) + HTML_LINK.findall(prose)


def _broken_links(kit: Path, path: Path) -> list[str]:
    problems = []
    for target in _links(path.read_text(errors="replace")):
        if re.match(r"^([a-z]+:|#)", target):
            continue    # the web, mail, and anchors in the same text
        file = (path.parent / unquote(target.split("#")[0])).resolve()
        where = f"{path.relative_to(kit)}: link to {target}"
        if not file.is_relative_to(kit.resolve()):
            problems.append(f"{where}: outside the kit")
        elif not file.exists():
            problems.append(f"{where}: no file {file.relative_to(kit.resolve())} in the kit")
    return problems


# A path of the lab named in code, as `tests/variants/02-racy-counter/`.
LAB_PATH = re.compile(r"`((?:tests|solutions|starter|lessons|docs)/[\w./-]*)`")


def _missing_paths(kit: Path, path: Path) -> list[str]:
    """The lab's paths a text names in code that the kit does not hold."""
    text = path.read_text(errors="replace")
    return [f"{path.relative_to(kit)}: names `{named}`, which the kit does not hold"
            for named in sorted(set(LAB_PATH.findall(text)))
            if not (kit / named.rstrip("/")).exists()]


def _plain(text: str) -> str:
    """Typographic quotes as the keyboard's (pandoc makes them in titles)."""
    return text.replace("\u2019", "'").replace("\u2018", "'")


def kit_texts_are_readable(lab: Lab, manifest: Manifest) -> list[str]:
    """Each lesson of the kit is a Markdown file a person can read: no code block
    left to fill in, no solution, its title and hints in, every relative link
    resolving to a file of the kit, and no path named that the kit lacks."""
    kit, problems = _unpacked(lab, manifest, "kit-texts")
    if kit is None:
        return problems
    for lesson in manifest.lessons:
        path = kit / "lessons" / f"{lesson.name}.md"
        try:
            text = path.read_text()
        except OSError as e:
            problems.append(f"cannot read lessons/{lesson.name}.md in the kit: {e.strerror}")
            continue
        name = f"lessons/{lesson.name}.md"
        if "{.c include=" in text or re.search(r"\binclude=", text):
            problems.append(f"{name}: a code block is left to fill in (include=)")
        if re.search(r"^:::+ *\{?\.?solution", text, re.M):
            problems.append(f"{name}: holds its ::: solution part")
        first = next((line for line in text.splitlines() if line.startswith("#")), "")
        if _plain(first) != f"# {_plain(lesson.heading)}":
            problems.append(f"{name}: its first heading is '{first}', not '# {lesson.heading}'")
        shown = re.findall(r"<summary>Hint (\d+)</summary>", text)
        if shown != [str(i) for i in range(1, len(lesson.hints) + 1)]:
            problems.append(f"{name}: shows hints {shown or 'none'}, "
                            f"not the manifest's {len(lesson.hints)}")
        problems += _broken_links(kit, path) + _missing_paths(kit, path)
    if (kit / "README.md").is_file():
        problems += _broken_links(kit, kit / "README.md") + _missing_paths(kit, kit / "README.md")
    else:
        problems.append("the kit has no README.md")
    return problems


# ---- every command the kit suggests ---------------------------------------------------

# `make`, then at most one target and the variables given to it, each after a
# single space (two or more end the command: the Makefile's header puts its
# descriptions there); not cmake, tests/make, nor make's.
COMMAND = re.compile(r"""(?<![\w./-])make(?: (?P<target>[a-z][\w-]*))?"""
                     r"""(?P<vars>(?: [A-Z][A-Z0-9_]*=(?:"[^"]*"|'[^']*'|[^\s"'`);|&<>]+))*)"""
                     r"""(?![\w'-])""")
RUNS_CAP = 1    # make stress's RUNS, at most: the same command, in one round (a starter that
                # hangs takes a minute a round)
ARGS_CAP = 100000   # a number in a demo's ARGS, at most: the same command, on less (the
                    # starter's demo of lesson 12 with 1048576 doubles took 123 s at load 20)


@dataclass(frozen=True)
class Expect:
    status: tuple[int, ...]     # the exit statuses it documents, for a starter
    limit: float                # seconds before it is stopped
    keeps_running: bool = False  # runs until stopped (make watch)


# What each target does in a fresh kit, where every lesson is its starter.
EXPECTED = (
    ("", Expect((0,), 900)),        # make: sets up work/, grades it, says what is next
    ("list", Expect((0,), 300)),
    ("hint", Expect((0,), 120)),
    ("reset", Expect((0,), 120)),   # answered y; nothing to reset in a fresh work/
    # The demo shows the trap and may exit 1: make then says "Error 1" and exits 2.
    ("run", Expect((0, 1, 2), 300)),
    ("check", Expect((1,), 600)),   # grading: 0 all pass, 1 some fail, 2 cannot grade
    ("grade", Expect((1,), 1800)),
    ("stress", Expect((1,), 900)),  # the student's work (the starter) never passes
    ("watch", Expect((), 120, keeps_running=True)),
    # In a fresh kit it compiles the lab's side of all 13 lessons, one per core:
    # 30 s alone on 2 cores; under make test's other suites (then one at a
    # time) it once ran past 300 s.
    ("submit", Expect((0,), 900)),
    # The book's Python, each file under each start method: 99 spawned workers a
    # run, several runs a lesson; at load 100 one lesson's took over 300 s. A run
    # that hangs is stopped by make python itself (600 s), which then fails.
    ("python", Expect((0,), 2400)),
)
DEFAULT = Expect((0,), 300)      # any other target: it works


def expected(target: str) -> Expect:
    return next((e for t, e in EXPECTED if t == target), DEFAULT)
# The environment of make test's own run must not reach the kit's.
NOT_PASSED = ("BUILD", "WORK", "LESSON", "RUNS", "ARGS", "OUT", "SUBMISSIONS", "FUZZ_SECONDS",
              "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "SANDBOX")


@dataclass(frozen=True)
class Suggested:
    argv: tuple[str, ...]   # as it is run: ("make", "run", "LESSON=02", "ARGS=99 1")
    where: str              # where the kit suggests it

    @property
    def text(self) -> str:
        return shlex.join(self.argv)

    @property
    def target(self) -> str:
        return self.argv[1] if len(self.argv) > 1 and "=" not in self.argv[1] else ""

    def variable(self, name: str) -> str | None:
        for arg in self.argv[1:]:
            if arg.startswith(name + "="):
                return arg[len(name) + 1:]
        return None


def commands_in(text: str, where: str, manifest: Manifest) -> list[Suggested]:
    """The `make ...` commands of a text. A lesson written NN is the first one; RUNS
    is capped at RUNS_CAP (and given, for make stress), a number in ARGS at ARGS_CAP."""
    found = []
    for match in COMMAND.finditer(text):
        try:
            argv = shlex.split(match.group(0))
        except ValueError:
            continue
        for i, arg in enumerate(argv):
            if arg == "LESSON=NN":
                argv[i] = f"LESSON={manifest.lessons[0].id}"
            elif arg.startswith("RUNS=") and arg[5:].isdigit() and int(arg[5:]) > RUNS_CAP:
                argv[i] = f"RUNS={RUNS_CAP}"
            elif arg.startswith("ARGS="):
                argv[i] = "ARGS=" + " ".join(
                    str(ARGS_CAP) if word.isdigit() and int(word) > ARGS_CAP else word
                    for word in arg[5:].split(" "))
        # make stress without RUNS runs 20 rounds: a starter that hangs takes minutes a round.
        if argv[1:2] == ["stress"] and not any(a.startswith("RUNS=") for a in argv):
            argv.append(f"RUNS={RUNS_CAP}")
        found.append(Suggested(tuple(argv), where))
    return found


def _code_of(path: Path) -> list[str]:
    """The code (spans and blocks) of a Markdown file, read by pandoc: only code is a command."""
    result = subprocess.run(["pandoc", "-f", "gfm", "-t", "json", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise LabError(f"pandoc cannot read {path.name}: {result.stderr.strip()}")
    code: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("t") in ("Code", "CodeBlock"):
                code.append(node["c"][1])
            else:
                walk(node.get("c"))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(result.stdout)["blocks"])
    return code


def suggested_by_files(kit: Path, manifest: Manifest) -> list[Suggested]:
    """What the kit's files suggest: its README, its Makefile's header, its lessons
    and GitHub Classroom's configuration."""
    found = []
    for path in [kit / "README.md", *sorted((kit / "lessons").glob("*.md"))]:
        for code in _code_of(path):
            found += commands_in(code, str(path.relative_to(kit)), manifest)
    header = []
    for line in (kit / "Makefile").read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    found += commands_in("\n".join(header), "the Makefile's header", manifest)
    config = json.loads((kit / ".github/classroom/autograding.json").read_text())
    for test in config["tests"]:
        found += commands_in(test["run"], "autograding.json", manifest)
    flow = (kit / ".github/workflows/classroom.yml").read_text()
    for command in re.findall(r'command: "([^"]*)"', flow):
        found += commands_in(command, "the GitHub Classroom workflow", manifest)
    return found


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in NOT_PASSED and not k.startswith("LAB_")}
    env["NO_COLOR"] = "1"
    return env


def _run(kit: Path, command: Suggested, expect: Expect,
         env: dict[str, str]) -> tuple[int | None, str]:
    """Runs a command in the kit, in ENV; its status (None: still running when stopped)
    and output."""
    answer = "y\n" if command.target == "reset" else ""
    work = command.variable("WORK")
    if work and not (kit / work).exists():
        # An exercise's second copy (WORK=try06), which it says to make first with
        # `cp -r starter try06`: made the same way.
        shutil.copytree(kit / "starter", kit / work)
    log = kit.parent / "command.txt"
    with log.open("w") as out:
        proc = subprocess.Popen(list(command.argv), cwd=kit, env=env,
                                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        try:
            proc.communicate(answer, timeout=expect.limit)
            status: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)     # make and all it started
            proc.wait()
            status = None
    return status, log.read_text(errors="replace")


def _names(lesson: Lesson) -> tuple[str, ...]:
    return (lesson.name, lesson.heading, lesson.title)


def _judge(command: Suggested, expect: Expect, status: int | None, output: str,
           manifest: Manifest) -> list[str]:
    said = f"{command.text} (suggested by {command.where})"
    last = "\n".join("    " + line for line in output.rstrip().splitlines()[-8:])
    if expect.keeps_running and status is not None:
        return [f"{said} stopped by itself, with status {status}:\n{last}"]
    if not expect.keeps_running and status is None:
        return [f"{said} still ran after {expect.limit:.0f} s:\n{last}"]
    if status is not None and status not in expect.status:
        return [f"{said} exited {status}, not {' or '.join(map(str, expect.status))}:\n{last}"]
    if command.target == "run" and status == 2 and "Error 1" not in output:
        return [f"{said}: the lab could not run the demo:\n{last}"]
    if "No rule to make target" in output:
        return [f"{said}: the kit's Makefile has no such target"]

    wanted = command.variable("LESSON")
    if command.target == "watch" and not wanted:
        wanted = manifest.lessons[0].id      # the lesson in progress: the first
    if not wanted:
        return []
    try:
        lesson = manifest.find(wanted)
    except LabError as e:
        return [f"{said}: {e}"]
    problems = []
    if not (any(name in _plain(output) for name in map(_plain, _names(lesson)))
            or re.search(rf"\blesson {lesson.id}\b", output, re.I)):
        problems.append(f"{said}: its output does not name lesson {lesson.id}:\n{last}")
    others = [other.name for other in manifest.lessons if other.id != lesson.id
              and any(name in _plain(output) for name in map(_plain, _names(other)))]
    if others:
        problems.append(f"{said}: acts on lesson {lesson.id} but names {', '.join(others)}:\n{last}")
    return problems


def kit_commands_work(lab: Lab, manifest: Manifest) -> list[str]:
    """Unpacks the kit and runs every command it suggests, `make` first and `make watch`
    and `make clean` last, each in its time: its exit status is the documented one (a starter fails
    its grading, status 1), and a command about a lesson talks about that lesson.
    The commands `make` and `make list` print are suggestions too.

    The lessons' commands grade starters that hang until their time runs out: one
    after the other they took most of make test's time. They run in CHAINS kits of
    their own, each set up by `make` as a student's is, side by side."""
    kit, problems = _unpacked(lab, manifest, "kit-commands")
    if kit is None:
        return problems
    before = _demo_segments()
    try:
        return problems + _run_every_command(lab, manifest, kit)
    finally:
        _remove_demo_segments(before)


def _demo_segments() -> set[Path]:
    return set(Path("/dev/shm").glob("*shmlab-demo-*"))


def _remove_demo_segments(before: set[Path]) -> None:
    """The starters' demos show their trap: `make run LESSON=04` leaves its segment
    behind, on purpose. What the kit's commands left goes, once its maker has ended."""
    for path in _demo_segments() - before:
        pid = re.search(r"shmlab-demo-(\d+)", path.name)
        if pid and not Path(f"/proc/{pid.group(1)}").exists():
            path.unlink(missing_ok=True)


CHAINS = 4  # kits running the lessons' commands side by side, beside the first one's


def _run_every_command(lab: Lab, manifest: Manifest, kit: Path) -> list[str]:
    try:
        suggested = [Suggested(("make",), "the kit's README"), *suggested_by_files(kit, manifest)]
    except (OSError, ValueError, KeyError, LabError) as e:
        return [f"cannot read the commands the kit suggests: {e}"]
    # Each command once, where it is first suggested: the README's and the Makefile's
    # in the first kit, each lesson's text in one of the others, whole.
    first: dict[tuple[str, ...], Suggested] = {}
    for command in suggested:
        first.setdefault(command.argv, command)
    main: list[Suggested] = []
    texts: dict[str, list[Suggested]] = {}
    for command in first.values():
        if command.where.startswith("lessons/"):
            texts.setdefault(command.where, []).append(command)
        else:
            main.append(command)
    chains: list[list[Suggested]] = [[] for _ in range(CHAINS)]
    for where in sorted(texts, key=lambda w: -_cost(texts[w])):   # the longest first
        min(chains, key=_cost).extend(texts[where])
    kits: list[Path] = [kit]
    problems: list[str] = []
    for n in range(1, CHAINS + 1):
        more, said = _unpacked(lab, manifest, f"kit-commands-{n}")
        if more is None:
            return said
        kits.append(more)
    setup = Suggested(("make",), "the kit's README, to set up work/")
    queues = [main, *([setup, *chain] for chain in chains)]
    # The first kit compiles the lab's side of each lesson as a student's does. The
    # others share the lab's (hashed by its sources, which the kit has unchanged):
    # five kits compiling the lab were a good part of make test's time.
    # What is checked is that each command works, not a starter's grade on a busy
    # machine: a starter's hang is not run again with three times its time (LAB_BUSY=0).
    # Those retries, at load 30, made this the longest part of make test.
    own = {**_environment(), "LAB_BUSY": "0"}
    shared = {**own, "LAB_OBJECTS": str(objects_root(lab))}
    with ThreadPoolExecutor(max_workers=len(queues)) as pool:
        runs = [pool.submit(_run_chain, k, q, manifest, follow=(k == kit),
                            env=own if k == kit else shared)
                for k, q in zip(kits, queues)]
        for run in runs:
            problems += run.result()
    return problems


def _cost(commands: list[Suggested]) -> int:
    """A guess at how long commands take: those that grade a starter run its suite
    (make stress twice: the starter, and work/, which is the starter too)."""
    return sum({"check": 1, "grade": 1, "stress": 2}.get(c.target, 0) for c in commands)


def _run_chain(kit: Path, queue: list[Suggested], manifest: Manifest, follow: bool,
               env: dict[str, str]) -> list[str]:
    """Runs QUEUE in KIT, in ENV, one after the other: make first (it sets up work/),
    make watch and make clean last; if FOLLOW, what `make` and `make list` print, run
    too."""
    problems: list[str] = []
    last = ("watch", "clean")
    queue = sorted(queue, key=lambda c: (c.target != "",
                                         last.index(c.target) if c.target in last else -1))
    done: set[tuple[str, ...]] = set()
    record = kit.parent / "commands.txt"    # what ran, for whoever reads a failure
    record.write_text("")
    while queue:
        command = queue.pop(0)
        if command.argv in done:
            continue
        done.add(command.argv)
        expect = expected(command.target)
        began = time.monotonic()
        status, output = _run(kit, command, expect, env)
        with record.open("a") as f:
            f.write(f"{'running' if status is None else status}\t"
                    f"{time.monotonic() - began:.0f} s\t{command.text}\t({command.where})\n")
        problems += _judge(command, expect, status, output, manifest)
        if follow and command.target in ("", "list"):
            new = [c for c in commands_in(output, f"`{command.text}`'s output", manifest)
                   if c.argv not in done]
            queue[:0] = [c for c in new if c.target != "watch"]
            queue += [c for c in new if c.target == "watch"]
    return problems


# ---- the Gradescope bundle -------------------------------------------------------------

def _run_autograder(root: Path, who: Path | None, **env: str) -> tuple[dict, str]:
    """run_autograder on a copy of WHO as the submission, in the scratch
    /autograder ROOT: its results.json (empty if none) and what it printed."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    if who is not None:
        shutil.copytree(who, root / "submission")
    ran = subprocess.run([str(root / "source/run_autograder")], stdin=subprocess.DEVNULL,
                         env={**_environment(), "AUTOGRADER_ROOT": str(root), **env},
                         capture_output=True, text=True, errors="replace", timeout=1800)
    try:
        results = json.loads((root / "results/results.json").read_text())
    except (OSError, ValueError):
        results = {}
    return results if isinstance(results, dict) else {}, ran.stdout


def _grades_as(manifest: Manifest, root: Path, who: str, path: Path, right: bool,
               lessons: tuple[str, ...] = ()) -> list[str]:
    """run_autograder grades a copy of PATH (WHO, as said), on LESSONS (all if
    none): every point if it is RIGHT, or none."""
    graded = [lesson for lesson in manifest.lessons if not lessons or lesson.id in lessons]
    want = sum(lesson.points for lesson in graded) if right else 0
    try:
        results, printed = _run_autograder(root, path,
                                           **({"LESSONS": " ".join(lessons)} if lessons else {}))
    except subprocess.TimeoutExpired:
        return [f"run_autograder on {who} still ran after 1800 s"]
    if not results:
        return [f"run_autograder on {who} wrote no valid results.json"]
    problems = []
    why = classroom_checks.not_gradescope(results)
    if why:
        problems.append(f"run_autograder on {who}: not Gradescope's format: {why}")
    if "class: 1 submission," not in printed:
        problems.append(f"run_autograder on {who} did not print its log (Gradescope shows "
                        f"stdout to the instructor): {printed[-300:]!r}")
    # A trial (AUTOGRADER_ROOT) has no container: said so, and its reports kept.
    if not str(results.get("output", "")).startswith("LOCAL TRIAL") or \
            not (root / "results/out/gradebook.csv").is_file():
        problems.append(f"run_autograder on {who}, a trial: its results.json does not say "
                        "so, or its reports are not kept in results/out: "
                        f"{str(results.get('output', ''))[:200]!r}")
    tests = results.get("tests")
    if results.get("score") != want or not tests or not all(
            isinstance(t, dict) and t.get("status") for t in tests):
        problems.append(f"run_autograder on {who}: score {results.get('score')}, not {want}"
                        f" ({len(tests or [])} tests); it said: "
                        f"{str(results.get('output', ''))[:300]}")
        # Which lessons, and why: the first lines of each one that went the other way.
        problems += [f"  {t.get('name')}: {t.get('status')}: "
                     f"{str(t.get('output', ''))[:400]}" for t in tests or []
                     if isinstance(t, dict) and
                     (t.get("status") == "failed") == right][:3]
    return problems


def _tree(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")} if d.is_dir() else set()


def gradescope_bundle_grades(lab: Lab, manifest: Manifest) -> list[str]:
    """make gradescope; on a scratch /autograder outside the lab (the graders'
    users must reach it), its setup.sh compiles the lab's side once (the
    packages are the machine's own), and its run_autograder grades the
    solutions (every point) and the starters (none), compiling nothing more,
    printing its log; a grading that fails is said as a failed test named
    "autograder error", never as a zero."""
    problems = _lab_command(lab, "gradescope")
    if problems:
        return problems
    archive = lab.build / "gradescope" / "shmlab-autograder.zip"
    root = Path(tempfile.mkdtemp(prefix="shmlab-autograder-", dir="/tmp"))
    try:
        root.chmod(0o755)
        (root / "source").mkdir()
        unzip = subprocess.run(["unzip", "-q", str(archive)], cwd=root / "source",
                               capture_output=True, text=True)
        if unzip.returncode != 0:
            return [f"unzip cannot unpack {lab.rel(archive)}: {unzip.stderr.strip()}"]
        setup = subprocess.run(["sh", str(root / "source/setup.sh")], stdin=subprocess.DEVNULL,
                               env={**_environment(), "AUTOGRADER_ROOT": str(root)},
                               capture_output=True, text=True, errors="replace", timeout=1800)
        if setup.returncode != 0:
            return [f"setup.sh failed ({setup.returncode}):",
                    *(setup.stdout + setup.stderr).splitlines()[-10:]]
        objects = root / "source/shmlab/build/lab-objects"
        compiled = _tree(objects)
        if not compiled:
            problems.append("setup.sh compiled nothing into shmlab/build/lab-objects")
        problems += _grades_as(manifest, root, "solutions/", lab.root / "solutions", True)
        # Every lesson's suite fails its starter in the lessons' parts; here, that a
        # zero reaches results.json. Starters that hang until their time runs out
        # made this part the longest of make test: two lessons, the first and the last.
        few = (manifest.lessons[0].id, manifest.lessons[-1].id)
        problems += _grades_as(manifest, root, "starter/", lab.root / "starter", False, few)
        # What `make submit` packs, uploaded alone: Gradescope leaves a .tar.gz shut.
        packed = lab.build / "test" / "gradescope-packed"
        shutil.rmtree(packed, ignore_errors=True)
        packed.mkdir(parents=True)
        with tarfile.open(packed / "submission.tar.gz", "w:gz") as tar:
            tar.add(lab.root / "solutions", arcname="work")
        problems += _grades_as(manifest, root, "solutions in one .tar.gz", packed, True,
                               few[:1])
        if _tree(objects) != compiled:
            problems.append("run_autograder compiled the lab's side again: "
                            f"{sorted(_tree(objects) - compiled)[:3]}")
        # The grader itself fails (a lesson that does not exist): not a zero, an error.
        results, printed = _run_autograder(root, lab.root / "solutions", LESSONS="99")
        errors = [t for t in results.get("tests") or []
                  if isinstance(t, dict) and t.get("name") == "autograder error"]
        if "score" in results or not errors or "no lesson '99'" not in errors[0].get("output", ""):
            problems.append(f"when grading fails, results.json is not one failed test "
                            f"'autograder error' with the reason: {results}")
        return problems
    except subprocess.TimeoutExpired:
        return [*problems, "setup.sh or run_autograder still ran after 1800 s"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def gradescope_bundle_of_some_lessons(lab: Lab, manifest: Manifest) -> list[str]:
    """make gradescope LESSONS="13 01": its setup.sh compiles only those, its
    run_autograder grades only those; a lesson that does not exist is an error."""
    build = lab.build / "test" / "gradescope-some"
    shutil.rmtree(build, ignore_errors=True)
    first, last = manifest.lessons[0].id, manifest.lessons[-1].id

    def make(lessons: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(lab.root / "tests" / "lab"), "gradescope"], cwd=lab.root,
                              env={**os.environ, "BUILD": str(build), "LESSONS": lessons},
                              capture_output=True, text=True, errors="replace", check=False)
    problems = []
    done = make(f"{last} {first}")
    bundle = build / "gradescope" / "bundle"
    if done.returncode != 0 or not (bundle / "setup.sh").is_file():
        problems.append(f"make gradescope LESSONS=\"{last} {first}\" failed: "
                        f"{(done.stdout + done.stderr).strip()[-500:]}")
    else:
        if f"tests/lab prepare {first} {last}\n" not in (bundle / "setup.sh").read_text():
            problems.append(f"setup.sh does not compile only lessons {first} {last}")
        if f'LESSONS="{first} {last}"' not in (bundle / "run_autograder").read_text():
            problems.append(f"run_autograder does not grade only lessons {first} {last}")
    done = make("99")
    if done.returncode == 0 or "no lesson '99'" not in done.stdout + done.stderr:
        problems.append("make gradescope LESSONS=99 did not refuse a lesson that does not "
                        f"exist: {(done.stdout + done.stderr).strip()[-300:]}")
    shutil.rmtree(build, ignore_errors=True)
    return problems


def parts(ctx: Context) -> list[Part]:
    lab, manifest = ctx.lab, ctx.manifest
    kit = (
        Check("make dist: the kit holds no solution, and a GitHub Classroom configuration",
              partial(kit_holds_no_solution, lab, manifest)),
        Check("the kit's lessons are Markdown to read: code, title and hints in, links resolve",
              partial(kit_texts_are_readable, lab, manifest)),
        Check("every command the kit suggests works in the kit, on the lesson it names",
              partial(kit_commands_work, lab, manifest)),
    )
    bundle = (
        Check("make gradescope: run_autograder, on a scratch /autograder, grades right and wrong",
              partial(gradescope_bundle_grades, lab, manifest)),
        Check("make gradescope LESSONS=\"...\": only those lessons compiled and graded",
              partial(gradescope_bundle_of_some_lessons, lab, manifest)),
    )
    return [Part("The student kit", kit, key="kit"),
            Part("The Gradescope bundle", bundle, key="gradescope")]
