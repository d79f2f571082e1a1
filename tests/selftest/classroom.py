"""make test's part for grading a class (tests/lab grade-all, shmlab/classroom.py).

The submissions of tests/submissions/ (hostile, broken and right ones, each
over a copy of solutions/ or starter/) and three archives are graded on
lessons 01 and 04: each must get exactly the score tests/submissions/expected
gives it, and leave nothing behind. And a lesson whose check has a capital
letter in its name is graded by that name (the grader once read the names
from the C source with a pattern that had no capitals, and gave 0).
"""
from __future__ import annotations

import csv
import glob
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import time
import xml.etree.ElementTree as ET
import zipfile
import zlib
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Iterator

from shmlab import classroom, reports, sandbox
from shmlab.common import Lab, LabError, tail
from shmlab.context import Context
from shmlab.manifest import Manifest

from .checks import NOTE, Check, Part
from .scratch import wait_for

LESSONS = ("01", "04")      # what the class check grades (tests/submissions/expected)
ARCHIVES = ("archive-right", "archive-climbs-out", "archive-zip")   # each right: 10 and 10
# What a hostile submission would leave outside its sandbox, if it could.
ESCAPES = ("/dev/shm/fill-*", "/etc/shmlab-was-here", "/root/shmlab-was-here", "/shmlab-escaped")
# What looks-for-classmates looks for: in a classmate's folder, the grader's /tmp and /dev/shm.
SECRET = "shmlab-secret"
# The fields of Gradescope's results.json, as its autograder specification lists them.
GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format",
                  "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
                  "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output",
                   "output_format", "tags", "visibility", "extra_data"}


def parts(ctx: Context) -> list[Part]:
    lab, manifest = ctx.lab, ctx.manifest
    return [Part("Grading a class", (
        Check("hostile, broken and right submissions each get their honest score",
              partial(grades_the_submissions, lab, manifest)),
        Check("and leave nothing behind: processes, mounts, files, changes to the lab",
              partial(leaves_the_machine_clean, lab)),
        Check("the gradebook, Gradescope's results.json, JUnit XML and the summary are "
              "well formed", partial(outputs_are_well_formed, lab)),
        Check("a check with a capital letter in its name is graded by that name",
              partial(capitals_in_a_check_name, lab)),
        Check("a lesson out of time twice on a busy machine is REGRADE, not the student's fail",
              partial(out_of_time_on_a_busy_machine, lab)),
        Check("two grade-all runs at once: each gives honest scores, side by side",
              partial(two_classes_at_once, lab)),
        Check("a job's processes, however many, get one job's share of the CPU",
              partial(a_job_weighs_as_one_on_the_cpu, lab)),
        Check("Ctrl-C during a grade-all: it says what it kept, and a lesson stopped halfway "
              "has no verdict", partial(an_interrupted_grading_fails_no_one, lab)),
        Check("with every slot taken, a grade-all waits, says so, then grades",
              partial(a_class_waits_for_a_free_slot, lab)),
        Check("graded again: only what the load may explain, never a hang the harness judged",
              partial(only_what_may_be_load_is_graded_again, lab, manifest)),
        Check("the time-left guess counts the long lessons still running, not only the short "
              "ones that ended", partial(time_left_counts_the_running, manifest)),
        Check("a suite stopped by the grader's time keeps what it saw: a check failed "
              "before is a FAIL at once, none failed is graded again; a sandbox's limit met "
              "is named",
              partial(what_the_suite_saw_before_its_time_ran_out_stands, lab, manifest)),
        Check("checks held back behind one that hung are not run, and one out of time beside "
              "a failure not graded, not failed: in the verdict and in JUnit",
              partial(checks_held_back_are_not_run, lab, manifest)),
        Check("a class that is missing, a file, empty or holds no lesson's file, and a "
              "lesson that does not exist: a clear error, no gradebook",
              partial(bad_classes_are_refused, lab)),
    ), key="class")]


def _where(lab: Lab) -> tuple[Path, Path, Path]:
    """The class check's submissions, its grader's output, and its record of the lab's files."""
    t = lab.build / "test"
    return t / "class-subs", t / "class", t / "class-git-before.txt"


def _git_status(lab: Lab) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                          cwd=lab.root, capture_output=True, text=True, check=False).stdout


def why_weak() -> str:
    """Why this machine cannot run shmlab's own sandbox (no root, no bubblewrap, no
    user namespaces); "" if it can, or if SANDBOX already says which to use."""
    if os.environ.get("SANDBOX"):
        return ""
    try:
        sandbox.detect("", classroom.Options.from_env().limits, Path("/"), Path("/"), (),
                       io.StringIO())
    except LabError as e:
        return str(e)
    return ""


def weak() -> bool:
    """Whether the class checks grade with SANDBOX=weak: told so, or the machine's want."""
    return bool(os.environ.get("SANDBOX") or why_weak())


def _grade_all(lab: Lab, subs: Path, out: Path, log: Path, **env: str) -> list[str]:
    """Runs `tests/lab grade-all SUBS OUT` (SANDBOX=weak where the machine
    cannot run shmlab's own); what went wrong, if it failed."""
    log.parent.mkdir(parents=True, exist_ok=True)
    if why_weak():
        env = {"SANDBOX": "weak", **env}
    with log.open("wb") as f:
        done = subprocess.run([str(lab.root / "tests" / "lab"), "grade-all", str(subs), str(out)],
                              cwd=lab.root, env={**os.environ, **env}, stdout=f,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False)
    if done.returncode == 0:
        return []
    return [f"tests/lab grade-all failed ({done.returncode}):", *tail(log, 20)]


def _gradebook(out: Path) -> dict[str, list[str]]:
    """The gradebook's rows by student (the header under "student")."""
    try:
        with (out / "gradebook.csv").open(newline="") as f:
            return {row[0]: row for row in csv.reader(f) if row}
    except OSError:
        return {}


def make_fixtures(lab: Lab, dest: Path) -> None:
    """The submissions of tests/submissions/, each over a copy of solutions/ (or of
    starter/ for `starter`), and three archives of solutions/: a .tar.gz, a .zip,
    and a .tar.gz with a member that tries to climb out of where it is unpacked."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for kind in sorted(p for p in (lab.root / "tests" / "submissions").iterdir() if p.is_dir()):
        classroom.make_submission(lab, kind, dest / kind.name)
    # What looks-for-classmates must not find in a classmate's folder.
    (dest / "right" / SECRET).write_text("a classmate's file\n")
    solutions = lab.root / "solutions"
    with tarfile.open(dest / "archive-right.tar.gz", "w:gz") as tar:
        tar.add(solutions, arcname="work")
    escape = dest.parent / "class-escape.txt"
    escape.write_text("escaped\n")
    with tarfile.open(dest / "archive-climbs-out.tar.gz", "w:gz") as tar:
        tar.add(solutions, arcname="work")
        tar.add(escape, arcname="../../../shmlab-escaped")
    escape.unlink()
    with zipfile.ZipFile(dest / "archive-zip.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(solutions.rglob("*")):
            z.write(f, Path("work") / f.relative_to(solutions))
    # As students hand in: the whole kit (the untouched starter/ beside their
    # work/), names in other scripts and one a spreadsheet would run, two
    # entries whose names read the same, and a file that is no submission.
    classroom.copy_over(lab.root / "starter", dest / "hands-in-the-whole-kit" / "starter")
    classroom.copy_over(solutions, dest / "hands-in-the-whole-kit" / "work")
    for name in ("Zoé van Dal", "Zoë van Dal", "=1+2", "same-name"):
        classroom.copy_over(solutions, dest / name)
    shutil.copy(dest / "archive-zip.zip", dest / "same-name.zip")
    (dest / "notes.txt").write_text("not a submission\n")


def handed_in_notes(subs: Path) -> dict[str, str]:
    """The submissions make_fixtures adds as students hand in, by their name in the
    gradebook (as a spreadsheet reads it), with what its note must say."""
    twin = f"same-name-{zlib.crc32(os.fsencode(subs / 'same-name.zip'))}"
    return {"hands-in-the-whole-kit": "graded work/ (not starter/)", "Zoé van Dal": "",
            "Zoë van Dal": "", "'=1+2": "", "same-name": "",
            twin: f"graded work/; handed in as same-name.zip, graded as {twin}: another name "
                  "reads the same"}


@contextmanager
def planted_secrets() -> Iterator[None]:
    """Files of the grader's, in its /tmp and /dev/shm, that no sandbox may see."""
    planted = [Path(d) / f"{SECRET}-{os.getpid()}" for d in ("/tmp", "/dev/shm")]
    try:
        for f in planted:
            f.write_text("the grader's\n")
        yield
    finally:
        for f in planted:
            f.unlink(missing_ok=True)


def grades_the_submissions(lab: Lab, manifest: Manifest) -> list[str]:
    subs, out, before = _where(lab)
    before.parent.mkdir(parents=True, exist_ok=True)
    before.write_text(_git_status(lab))
    make_fixtures(lab, subs)
    with planted_secrets():
        failed = _grade_all(lab, subs, out, lab.build / "test" / "class.log",
                            LESSONS=" ".join(LESSONS), TEST_SECONDS="10", WALL="120")
    if failed:
        return failed
    points = [manifest.find(id).points for id in LESSONS]
    want: dict[str, list[int]] = {}
    for line in (lab.root / "tests" / "submissions" / "expected").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, *given = line.split()
            want[name] = [int(score) for score in given]
    want.update((name, points) for name in ARCHIVES)
    notes = handed_in_notes(subs)
    want.update((name, points) for name in notes)
    if weak():  # a weak sandbox does not hide the answers: the README says so
        want["reads-the-solutions"] = points
        want["looks-for-classmates"] = [0, *points[1:]]
    weak_note = "weak sandbox" if weak() else ""
    book = _gradebook(out)
    problems = []
    for name, scores in want.items():
        note = "; ".join(n for n in (weak_note, notes.get(name, "")) if n)
        row = [name, *map(str, scores), str(sum(scores)), str(sum(points)), note]
        if book.get(name) != row:
            expected = ", ".join(f"{id} {score}" for id, score in zip(LESSONS, scores))
            got = ",".join(book[name]) if name in book else "nothing"
            said = [line for log in sorted((out / "logs" / name).glob("*.stderr"))
                    for line in log.read_text(errors="replace").splitlines()[1:3]]
            problems.append(f"{name}: expected {expected}; the gradebook says: {got}"
                            + (f"; it said: {' / '.join(said)}" if said else ""))
    extra = set(book) - set(want) - {"student"}
    if extra:
        problems.append(f"the gradebook has students no one handed in: {', '.join(sorted(extra))}")
    if why_weak():
        problems.append(f"{NOTE}the class was graded with SANDBOX=weak, as this machine "
                        f"cannot run shmlab's own sandbox ({why_weak()}): that a sandbox hides "
                        "the answers, the classmates and the grader's secrets, and gives each "
                        "submission a user and limits of its own, was not checked")
    return problems


def leaves_the_machine_clean(lab: Lab) -> list[str]:
    """After the hostile ones: nothing of theirs is left anywhere."""
    subs, out, before = _where(lab)
    problems = []
    # Another grading now (the kit's, say) has users of the same numbers: wait for it.
    with sandbox.no_class_being_graded():
        ps = subprocess.run(["ps", "-eo", "uid=,pid=,stat=,comm="], capture_output=True,
                            text=True, check=False).stdout.splitlines()
    left = [line.strip() for line in ps
            if sandbox.is_sandbox_uid(int(line.split()[0]))
            and not line.split()[2].startswith("Z")]
    if left:
        problems.append(f"processes of the sandboxes' users still run: {'; '.join(left)}")
    mounts = [line for line in Path("/proc/mounts").read_text().splitlines()
              if line.split()[1].startswith(str(out))]
    if mounts:
        problems.append(f"mounts left: {'; '.join(mounts)}")
    cgroups = sandbox.find_cgroups().leftovers()
    if cgroups:
        problems.append(f"cgroups left: {' '.join(map(str, cgroups))}")
    escapes = [*ESCAPES, str(lab.build / "test" / "shmlab-was-here"),
               str(lab.build / "shmlab-escaped"), str(lab.root / "shmlab-was-here")]
    made = [f for pattern in escapes for f in glob.glob(pattern)]
    if made:
        problems.append(f"files the submissions made outside their sandbox: {' '.join(made)}")
    try:
        was = before.read_text()
    except OSError:
        return [*problems, "no record of the lab's files before the grading"]
    if _git_status(lab) != was:
        changed = set(_git_status(lab).splitlines()) ^ set(was.splitlines())
        problems.append(f"files of the lab changed: {'; '.join(sorted(changed))}")
    return problems


def outputs_are_well_formed(lab: Lab) -> list[str]:
    subs, out, before = _where(lab)
    problems = []
    students = set(_gradebook(out)) - {"student"}
    header = (out / "gradebook.csv").read_text().splitlines()[:1] if students else []
    if header != [",".join(("student", *LESSONS, "total", "max", "note"))]:
        problems.append(f"gradebook.csv has the wrong header: {header}")
    for shown in sorted(students):
        # The gradebook keeps a spreadsheet from running a name: '=1+2 is =1+2.
        student = shown[1:] if re.match("'[=+@-]", shown) else shown
        results = out / "gradescope" / student / "results.json"
        why = _not_gradescope(results)
        if why:
            problems.append(f"{results} is not Gradescope's format: {why}")
        junit = out / "junit" / f"{student}.xml"
        try:
            if ET.parse(junit).getroot().tag != "testsuites":
                problems.append(f"{junit} is not JUnit XML: its root is not <testsuites>")
        except (OSError, ET.ParseError) as e:
            problems.append(f"{junit} is not well-formed XML: {e}")
    try:
        summary = (out / "summary.html").read_text()
    except OSError as e:
        return [*problems, f"cannot read summary.html: {e.strerror}"]
    for what, sign in (("its lessons", "<h2>Lessons</h2>"), ("its students", "<h2>Students</h2>"),
                       ("the mean", "Mean "), ("the median", "median "),
                       ("a link to a student's log", 'href="logs/right/01-unshared-list.verdict"'),
                       ("what was refused", "notes.txt: not a directory"),
                       ("how long grading took", " min (after "),
                       ("how long compiling took", " compiling the lab's side). Mean"),
                       ("a renamed student", "another name reads the same")):
        if sign not in summary:
            problems.append(f"summary.html lacks {what} ({sign!r})")
    if re.search(r"0x[0-9a-f]{6,}", summary):
        problems.append("summary.html shows raw addresses")
    # JUnit: the time of each lesson; a lesson that did not build, each check failed with why.
    try:
        junit = ET.parse(out / "junit" / "does-not-compile.xml").getroot()
        first = junit.find("testsuite")
        cases = [] if first is None else first.findall("testcase")
        if first is None or first.get("time") is None:
            problems.append("JUnit: a lesson's testsuite has no time")
        elif len(cases) < 2 or not all("error" in (c.findtext("failure") or "") for c in cases):
            problems.append("JUnit: a lesson that does not build is not its checks each failed "
                            "with the compiler's message")
    except (OSError, ET.ParseError) as e:
        problems.append(f"cannot read junit/does-not-compile.xml: {e}")
    # Each check its own time, as the harness measured it: a run takes some.
    try:
        cases = ET.parse(out / "junit" / "right.xml").getroot().iter("testcase")
        times = [float(c.get("time", "nan")) for c in cases]
        if not times or not all(t >= 0 for t in times) or sum(times) <= 0:
            problems.append(f"JUnit: right.xml's checks lack their times: {times[:5]}")
    except (OSError, ET.ParseError, ValueError) as e:
        problems.append(f"cannot read junit/right.xml's times: {e}")
    return problems


def _not_gradescope(path: Path) -> str:
    """What makes PATH not a Gradescope results.json; nothing if it is one."""
    try:
        return not_gradescope(json.loads(path.read_text()))
    except (OSError, ValueError) as e:
        return str(e)


def not_gradescope(data: object) -> str:
    """What makes DATA not a Gradescope result, as its documentation has it; nothing if
    it is one (the kit's check tries the Gradescope bundle with it too)."""
    number = (int, float)
    if not isinstance(data, dict) or not isinstance(data.get("score"), number) or \
            not isinstance(data.get("execution_time"), number):
        return "no score or execution_time"
    if set(data) - GRADESCOPE_TOP:
        return f"fields Gradescope does not document: {sorted(set(data) - GRADESCOPE_TOP)}"
    tests = data.get("tests")
    if not isinstance(tests, list) or not tests:
        return "no tests"
    for t in tests:
        if not (isinstance(t, dict) and isinstance(t.get("name"), str)
                and isinstance(t.get("score"), number) and isinstance(t.get("max_score"), number)
                and t.get("status") in ("passed", "failed") and isinstance(t.get("output"), str)
                and t.get("visibility") == "visible" and not set(t) - GRADESCOPE_TEST):
            return f"a test is not as Gradescope documents it: {t}"
    return ""


# ---- out of time on a busy machine ---------------------------------------------------

def out_of_time_on_a_busy_machine(lab: Lab) -> list[str]:
    """The endless loop, on a machine the grader is told is busy (LAB_BUSY=1), with
    a wall clock shorter than the harness's second try (10 s, then 30 s): the
    harness, told the time it has (LAB_SUITE_SECONDS), does not try again, and
    says REGRADE; graded again, the same: never shown to hang, it is REGRADE. (On a quiet machine the harness
    does not run a timed-out test again, and the loop is a plain fail: see
    grades_the_submissions.)"""
    subs, out, _ = _where(lab)
    here = lab.build / "test" / "class-busy"
    shutil.rmtree(here, ignore_errors=True)
    classroom.copy_over(subs / "endless-loop", here / "subs" / "endless-loop")
    if (out / "lab-objects").is_dir():  # the class check's: compiled once is enough
        shutil.copytree(out / "lab-objects", here / "out" / "lab-objects", symlinks=True)
    failed = _grade_all(lab, here / "subs", here / "out", here / "log.txt", LESSONS="01",
                        LAB_BUSY="1", TEST_SECONDS="10", WALL="25")
    if failed:
        return failed
    row = _gradebook(here / "out").get("endless-loop")
    logs = here / "out" / "logs" / "endless-loop"
    verdict = sandbox.read_text(logs / "01-unshared-list.verdict")
    problems = []
    if row is None or row[1] != "0" or not row[-1].startswith("REGRADE 01"):
        problems.append(f"the gradebook says {row}, not 0 for lesson 01 with the note REGRADE 01")
    if not verdict.startswith("REGRADE") or "the grader's time for the whole suite" not in verdict:
        problems.append(f"its verdict is not REGRADE after two tries: {verdict[:300]}")
    results = sandbox.read_text(here / "out" / "gradescope" / "endless-loop" / "results.json")
    if "REGRADE: not graded yet" not in results or "not your fail" not in results:
        problems.append("Gradescope's results.json does not say lesson 01 is not graded yet: "
                        f"{results[:300]}")
    try:
        suite = ET.parse(here / "out" / "junit" / "endless-loop.xml").getroot().find("testsuite")
        if suite is None or suite.get("failures") != "0" or suite.get("errors") == "0" or \
                suite.find(".//failure") is not None or suite.find(".//error") is None or \
                suite.find(".//skipped") is not None:
            problems.append("JUnit calls lesson 01, REGRADE, failed or skipped, not an error")
    except (OSError, ET.ParseError) as e:
        problems.append(f"cannot read junit/endless-loop.xml: {e}")
    log = sandbox.read_text(here / "log.txt")
    if "grading it again" not in log or not re.search(
            r"endless-loop 01-unshared-list: (out of time|out of the grader's time)", log):
        problems.append("grade-all did not say it graded the lesson again, and why")
    # Its progress line, before that: not a fail it may not be.
    if not re.search(r"\] endless-loop +01-unshared-list out of time, never shown to hang "
                     r".*graded again at the end", log):
        problems.append("grade-all's progress line for the lesson to grade again did not say "
                        "so (it showed the first grade's FAIL)")
    if "class:   endless-loop 01-unshared-list: REGRADE" not in log:
        problems.append("grade-all did not say, after grading it again, that the lesson is "
                        "REGRADE")
    return problems


def _class_of_two(lab: Lab, here: Path) -> dict[str, str]:
    """HERE/subs: the right lesson 01 and the starter; the environment to grade it."""
    subs, _, _ = _where(lab)
    shutil.rmtree(here, ignore_errors=True)
    for name in ("right", "starter"):
        classroom.copy_over(subs / name, here / "subs" / name)
    env = {**os.environ, "LESSONS": "01"}
    if why_weak():
        env["SANDBOX"] = "weak"
    return env


def _start_grading(lab: Lab, here: Path, n: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """grade-all of HERE/subs into HERE/out-N, its words in HERE/log-N.txt; in
    a process group of its own, SIGINT as Ctrl-C sends it (even if make
    test's caller ignores it)."""
    _, out, _ = _where(lab)
    if (out / "lab-objects").is_dir():
        shutil.copytree(out / "lab-objects", here / f"out-{n}" / "lab-objects", symlinks=True)
    with (here / f"log-{n}.txt").open("wb") as log:
        return subprocess.Popen(
            ["env", "--default-signal=INT", str(lab.root / "tests" / "lab"), "grade-all",
             str(here / "subs"), str(here / f"out-{n}")], cwd=lab.root, env=env, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _honest(here: Path, n: int, status: int, what: str) -> list[str]:
    book = _gradebook(here / f"out-{n}")
    scores = {who: (book.get(who) or ["", "?"])[1] for who in ("right", "starter")}
    if status == 0 and scores == {"right": "10", "starter": "0"}:
        return []
    return [f"{what}: status {status}, scores {scores} (not 10 and 0):",
            *tail(here / f"log-{n}.txt", 10)]


def two_classes_at_once(lab: Lab) -> list[str]:
    """Two grade-all runs started together, on one class (right and starter, lesson
    01), into two outputs: each gives the honest scores (10 and 0); as root, they
    run side by side in two slots (their sandboxes' users and cgroups apart), and
    the second says so."""
    here = lab.build / "test" / "class-twice"
    env = _class_of_two(lab, here)
    runs = [(n, _start_grading(lab, here, n, env)) for n in (1, 2)]
    problems = []
    for n, proc in runs:
        problems += _honest(here, n, proc.wait(), f"grade-all run {n} of 2 at once")
    said = [sandbox.read_text(here / f"log-{n}.txt") for n in (1, 2)]
    if os.geteuid() == 0 and not any("graded beside it" in text for text in said):
        problems.append("of two grade-all runs at once, neither said it ran beside the other")
    return problems


def an_interrupted_grading_fails_no_one(lab: Lab) -> list[str]:
    """Ctrl-C (SIGINT to its process group) a few seconds into grading lesson
    11 (a right one takes 20 s or more): grade-all ends, says that no report
    was written and where the verdicts it kept are, and the lessons it stopped
    have no verdict (an outsider found the right lesson's "FAIL the tests gave
    no results")."""
    here = lab.build / "test" / "class-interrupted"
    env = {**_class_of_two(lab, here), "LESSONS": "11"}
    proc = _start_grading(lab, here, 1, env)
    log, logs = here / "log-1.txt", here / "out-1" / "logs"
    try:
        if not wait_for(log, "to grade", 600):
            return ["grade-all never began to grade:", *tail(log, 10)]
        time.sleep(3)
        os.killpg(proc.pid, signal.SIGINT)
        status = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        return ["grade-all did not end within 60 s of Ctrl-C:", *tail(log, 10)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    problems = []
    said = sandbox.read_text(log)
    if status == 0 or "no report was written" not in said or str(logs) not in said:
        problems.append(f"after Ctrl-C grade-all ended with status {status} and did not say "
                        f"that no report was written, nor where the verdicts kept are")
    if (here / "out-1" / "gradebook.csv").exists():
        problems.append("an interrupted grade-all wrote a gradebook")
    verdicts = {p.parent.name: sandbox.read_text(p) for p in logs.glob("*/*.verdict")}
    if verdicts.get("right", "pass").split("\n")[0] != "pass":
        problems.append(f"the right lesson 11, stopped by Ctrl-C, has a verdict: "
                        f"{verdicts['right'].splitlines()[0]}")
    if len(verdicts) == 2 and not problems:
        problems.append("both lessons were graded to their end before the Ctrl-C came "
                        "3 s in: this check saw no lesson stopped halfway")
    return problems


def a_class_waits_for_a_free_slot(lab: Lab) -> list[str]:
    """As root, with every slot taken (held here), a grade-all waits and says
    so, then grades once one is free. (Not root: gradings need no slot.)"""
    if os.geteuid() != 0:
        return []
    here = lab.build / "test" / "class-waits"
    env = _class_of_two(lab, here)
    problems = []
    with sandbox.no_class_being_graded():
        proc = _start_grading(lab, here, 1, env)
        for _ in range(600):
            if "waiting for one of them to end" in sandbox.read_text(here / "log-1.txt") \
                    or proc.poll() is not None:
                break
            time.sleep(0.1)
        else:
            problems.append("with every slot taken, grade-all did not say within 60 s that "
                            "it waits")
        if proc.poll() is not None:
            problems.append("with every slot taken, grade-all did not wait: it ended")
    problems += _honest(here, 1, proc.wait(), "grade-all once a slot was free")
    if "a slot is free after" not in sandbox.read_text(here / "log-1.txt"):
        problems.append("grade-all did not say how long it waited for a slot")
    return problems


def _cpu_seconds(pid: int) -> float:
    fields = sandbox.read_text(Path(f"/proc/{pid}/stat")).rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime, stime


def a_job_weighs_as_one_on_the_cpu(lab: Lab) -> list[str]:
    """Eight processes spinning in one job's cgroups and one spinning in another
    job's, all on one CPU for 3 s: the one gets at least a third of what the
    eight get together (without a share of the CPU per job it gets an eighth),
    so a submission that spins many processes cannot starve its classmates.
    The one is in a job of its own, as a classmate's submission is: outside, it
    would share its cgroup with whatever else the machine runs (all of make
    test), and get less than a job for that alone."""
    if os.geteuid() != 0:
        return [f"{NOTE}a job's share of the CPU (not root: no cgroups are made)"]
    groups = sandbox.find_cgroups()
    limits = classroom.Options.from_env().limits
    job, other = groups.make("shmlab-cpu-share", limits), groups.make("shmlab-cpu-other", limits)
    if not groups.share_cpu():   # (asked once the job is made: v2 turns cpu on then)
        groups.remove(job)
        groups.remove(other)
        return [f"{NOTE}a job's share of the CPU: this machine's cgroups ({groups.version}) "
                "have no cpu controller to write to"]
    if not job or not other:
        groups.remove(job)
        groups.remove(other)
        return ["the jobs' cgroups could not be made"]

    def spinner(cgroups: tuple[Path, ...]) -> subprocess.Popen[bytes]:
        # It enters every one of the job's cgroups, as tests/sandbox does.
        return subprocess.Popen(
            ["sh", "-c", "for g in $CGROUPS; do echo $$ > $g/cgroup.procs; done; "
             'exec taskset -c 0 sh -c "while :; do :; done"'],
            env={**os.environ, "CGROUPS": " ".join(str(d) for d in cgroups)})

    inside, outside = [], None
    try:
        for _ in range(8):
            inside.append(spinner(job))
        outside = spinner(other)
        time.sleep(0.5)
        before = (_cpu_seconds(outside.pid), sum(_cpu_seconds(p.pid) for p in inside))
        time.sleep(3)
        mine = _cpu_seconds(outside.pid) - before[0]
        theirs = sum(_cpu_seconds(p.pid) for p in inside) - before[1]
    finally:
        for proc in [*inside, *([outside] if outside else [])]:
            proc.kill()
            proc.wait()
        groups.remove(job)
        groups.remove(other)
    if mine < theirs / 3:
        return [f"on one CPU for 3 s, eight processes of one job got {theirs:.2f} s of it and "
                f"the one process of another job {mine:.2f} s: the job weighs as eight, not one"]
    return []


def only_what_may_be_load_is_graded_again(lab: Lab, manifest: Manifest) -> list[str]:
    """Which verdicts grade-all grades again (classroom.unsettled), from the
    harness's own words: a test Check stopped once, or a wall clock that stopped
    the sandbox, may have been the load; a test that ran out of time twice, and
    workers the harness called deadlocked (given more time already when the
    machine was busy), are the code's; so is a lesson with a check that failed
    for another reason, whatever ran out of time beside it. (Every lesson 03
    starter of a class of 100 was once graded again, each waiting out its hangs a
    second time; starters of 09 and 10 stopped by the wall clock were graded again
    though a check had failed before.)"""
    lesson = manifest.lessons[0]
    timed_out = f"{classroom.TEST_TIMED_OUT} 10 s and was stopped (something waits for ...)"
    cut = (f"{classroom.NOT_GRADED} (155 s) ran out while this test ran, and it was stopped: "
           "not the code's fail. REGRADE on a quieter machine")
    plain = "the parent saw none of the items"
    cases = (
        ("a test stopped at its limit once", "FAIL 1 of 2 checks failed", timed_out, True),
        ("the wall clock", "FAIL out of the grader's time (180 s a lesson): the tests never finished", "", True),
        ("a test stopped at its limit, and again with more time", "FAIL 1 of 2 checks failed",
         f"{classroom.TEST_TIMED_OUT} 10 s, and again when run once more with 30 s", False),
        ("workers the harness called deadlocked", "FAIL 1 of 2 checks failed",
         "deadlock or endless loop: 1 of 2 workers were still running after 5 s and were "
         "killed.", False),
        ("a plain failure", "FAIL 1 of 2 checks failed", plain, False),
        ("the suite's time, ran out in a test", "FAIL out of the grader's time (180 s a lesson): "
         "1 of 2 checks not graded", cut, True),
        ("a plain failure, and a test stopped once", "FAIL 2 of 3 checks failed",
         (plain, timed_out), False),
        ("a plain failure, and the suite's time ran out", "FAIL 1 of 3 checks failed",
         (plain, cut), False),
    )
    problems = []
    for what, status, message, again in cases:
        failed = (message,) if isinstance(message, str) else message
        rows = (reports.Row("ok", "first", ""),
                *(reports.Row("FAIL", f"check {i}", m) for i, m in enumerate(failed))) \
            if message else ()
        v = reports.Verdict("ana", lesson, status, (), rows)
        if classroom.unsettled(v) != again:
            problems.append(f"{what}: {'not ' if again else ''}graded again, though "
                            f"{'it may have been the load' if again else 'the code is why'}")
    return problems


def time_left_counts_the_running(manifest: Manifest) -> list[str]:
    """The progress lines' guess (classroom._time_left). An outsider saw it say
    "about 6 s left" with 3 minutes to go: the first lessons to end were
    submissions that did not build, then short suites, while the long ones ran."""
    first, second = manifest.lessons[:2]
    unbuilt = reports.Verdict("ana", first, "FAIL does not build", (),
                              (reports.Row("not run", "a check", "does not build"),), 1.0)
    short = reports.Verdict("bo", first, "pass", (), (reports.Row("ok", "a check", ""),), 5.0)
    problems = []
    if classroom._time_left([unbuilt], [(first, 3.0)], [first], 4, 180) is not None:
        problems.append("a guess made from a submission that did not build alone")
    left = classroom._time_left([unbuilt, short], [(first, 60.0), (second, 60.0)],
                                [first] * 4, 4, 180)
    if left is None or left < 60:
        problems.append(f"with two lessons running for 60 s, longer than any that ended (5 s), "
                        f"the guess was {left} s left: it should not be under 60")
    left = classroom._time_left([short], [(first, 170.0)], [], 4, 180)
    if left is None or left > 10:
        problems.append(f"a lesson 170 s into its 180 s was guessed to need {left} s more")
    return problems


def what_the_suite_saw_before_its_time_ran_out_stands(lab: Lab, manifest: Manifest) -> list[str]:
    """A suite stopped by the grader's time for it (LAB_SUITE_SECONDS, from the
    sandbox's wall clock) writes what it saw: a check failed before is the
    lesson's FAIL at once; with none failed, the lesson is graded again."""
    lesson = manifest.lessons[0]
    names = ("a", "b", "c")
    cut = (f"{classroom.NOT_GRADED} (155 s) ran out while this test ran, and it was stopped: "
           "not the code's fail. REGRADE on a quieter machine")
    problems = []
    for what, first, want, again in (
            ("a check failed before", "FAIL\ta\t1.0\t10\tthe parent saw none of the items",
             "FAIL 1 of 3 checks failed (2 more not graded", False),
            ("none failed before", "ok\ta\t1.0\t10\t", "FAIL out of the grader's time (180 s a "
             "lesson): 2 of 3 checks not graded", True)):
        tsv = "\n".join((first, f"FAIL\tb\t150.0\t10\t{cut}",
                         f"FAIL\tc\t0.0\t10\t{cut.replace('while this test ran', 'before')}"))
        v = classroom.verdict("ana", lesson, names, 180, 1, 178, tsv + "\n", "", "")
        if not v.status.startswith(want) or classroom.unsettled(v) != again:
            problems.append(f"{what}: the verdict is {v.status!r}, "
                            f"{'' if classroom.unsettled(v) else 'not '}graded again; "
                            f"expected {want!r}, {'' if again else 'not '}graded again")
    # A sandbox's limit met is named: the student cannot know it.
    limits = sandbox.Limits(wall=180, cpu=120, nproc=1200, mem_mb=1024, fsize_mb=64,
                            disk_mb=256, shm_mb=64)
    tsv = ("FAIL\ta\t1.0\t10\tfork (child 3 of 20): Resource temporarily unavailable\n"
           "ok\tb\t1.0\t10\t\nok\tc\t1.0\t10\t\n")
    v = classroom.verdict("ana", lesson, names, 180, 1, 3, tsv, "", "", limits)
    if "at most 1200 processes" not in v.text:
        problems.append(f"a fork that failed with EAGAIN: the verdict does not name the "
                        f"sandbox's limit of 1200 processes: {v.text}")
    # A fork bomb that keeps trying says nothing: the cgroup counted its refused forks.
    hung = (f"FAIL\ta\t30.0\t10\t{classroom.TEST_TIMED_OUT} 10 s\n"
            "ok\tb\t1.0\t10\t\nok\tc\t1.0\t10\t\n")
    v = classroom.verdict("ana", lesson, names, 180, 1, 40, hung, "", "", limits, 6095)
    if "at most 1200 processes" not in v.text or "6095 forks failed" not in v.text:
        problems.append(f"a suite whose forks were refused 6095 times at the limit on "
                        f"processes: the verdict does not say so: {v.text}")
    v = classroom.verdict("ana", lesson, names, 180, 1, 40, hung, "", "", limits, 0)
    if "processes at once" in v.text:
        problems.append(f"a hang with no fork refused: the verdict names the limit on "
                        f"processes all the same: {v.text}")
    v = classroom.verdict("ana", lesson, names, 180, 128 + 25, 3, "", "", "", limits)
    if "at most 64 MiB" not in v.text:
        problems.append(f"a suite killed by SIGXFSZ: the verdict does not name the sandbox's "
                        f"limit of 64 MiB on a file: {v.text}")
    return problems


def checks_held_back_are_not_run(lab: Lab, manifest: Manifest) -> list[str]:
    """GIVE_UP_AFTER: the checks after one that hung are "not run" (the lab.c
    message). An instructor read "3 of 3 checks failed" of a suite where one
    hung and two never ran, and JUnit listed all three as failures."""
    lesson = manifest.lessons[0]
    held = ("not run: 1 earlier test of this suite hung or crashed, and each more would "
            "only wait out its time to say the same; fix that one first")
    slow = ("out of time on a busy machine: the test was still running after 10 s and was "
            "stopped, and was not run again (3 tests were run again already): never shown to "
            f"hang. {classroom.REGRADE_MARK}")
    cut = (f"{classroom.NOT_GRADED} (152 s) ran out while this test ran, and it was "
           f"stopped: not the code's fail. {classroom.REGRADE_MARK}")
    tsv = (f"FAIL\ta\t30.0\t10\t{classroom.TEST_TIMED_OUT} 10 s, and again when run once "
           f"more with 30 s\nFAIL\tb\t0.0\t10\t{held}\nFAIL\tc\t0.0\t10\t{held}\n"
           f"FAIL\td\t10.0\t10\t{slow}\nFAIL\te\t9.0\t90\t{cut}\n")
    v = classroom.verdict("ana", lesson, ("a", "b", "c", "d", "e"), 180, 1, 40, tsv, "", "")
    problems = []
    if not v.status.startswith("FAIL 1 of 5 checks failed (2 more not run") or \
            "(1 more not graded: out of time on a busy machine)" not in v.status or \
            "(1 more not graded: the grader's time ran out)" not in v.status or \
            "\n  d: " not in v.text or "\n  e: " not in v.text or classroom.REGRADE_MARK in v.text:
        problems.append(f"the verdict is {v.text!r}: not 1 failed, 2 not run and 2 not graded, "
                        "each named, without a REGRADE to ask for")
    out = lab.build / "test" / "junit-held.xml"
    out.parent.mkdir(parents=True, exist_ok=True)
    reports._junit(out, "ana", [v])
    suite = ET.parse(out).getroot().find("testsuite")
    if suite is None or (suite.get("failures"), suite.get("skipped")) != ("1", "4") or [
            len(case.findall("skipped")) for case in suite.iter("testcase")] != [0, 1, 1, 1, 1] \
            or classroom.REGRADE_MARK in out.read_text():
        problems.append(f"JUnit (the verdict's words, no REGRADE): {out.read_text()}")
    # The class's summary counts hangs: a check only out of time on a busy machine is none.
    slow_only = classroom.verdict("ben", lesson, ("a", "d"), 180, 1, 40,
                                  f"FAIL\ta\t0.1\t10\tthe counter says 97\n"
                                  f"FAIL\td\t10.0\t10\t{slow}\n", "", "")
    if not reports._timed_out(v) or reports._timed_out(slow_only):
        problems.append("the summary's count of lessons with a check that hung counts a check "
                        "only out of time on a busy machine, or misses one that hung")
    return problems


# ---- bad input -------------------------------------------------------------------------

def bad_classes_are_refused(lab: Lab) -> list[str]:
    """Each bad class (or LESSONS) ends grade-all with status 2 and a message that
    says what is wrong, and leaves no gradebook (a gradebook of zeros would look
    like grades)."""
    subs, out, _ = _where(lab)
    here = lab.build / "test" / "class-bad"
    shutil.rmtree(here, ignore_errors=True)
    here.mkdir(parents=True)
    (here / "a-file").write_text("not a class\n")
    (here / "empty").mkdir()
    (here / "locked").mkdir(mode=0)
    for name in ("ana", "ben"):  # each hands in something, but no lesson's file
        (here / "no-lessons" / name / "notes").mkdir(parents=True)
        (here / "no-lessons" / name / "notes" / "todo.txt").write_text("to do\n")
    cases = [("missing", here / "nowhere", {}, "does not exist"),
             ("a file", here / "a-file", {}, "is a file, not a directory"),
             ("empty", here / "empty", {}, "no submissions in"),
             ("no lesson's file", here / "no-lessons", {}, "holds a lesson's file"),
             ("a lesson that does not exist", subs, {"LESSONS": "99"}, "no lesson '99'")]
    if os.geteuid() != 0:  # root reads a directory of mode 000 all the same
        cases.append(("unreadable", here / "locked", {}, "cannot read the submissions"))
    problems = []
    for what, class_dir, env, words in cases:
        dest = here / "out" / what.replace(" ", "-").replace("'", "")
        done = subprocess.run([str(lab.root / "tests" / "lab"), "grade-all", str(class_dir),
                               str(dest)], cwd=lab.root, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, check=False,
                              env={**os.environ, "LAB_OBJECTS": str(out / "lab-objects"),
                                   **({"SANDBOX": "weak"} if why_weak() else {}), **env})
        said = (done.stdout + done.stderr).strip().splitlines()
        if done.returncode != 2 or words not in done.stderr or (dest / "gradebook.csv").exists():
            problems.append(f"{what}: exit {done.returncode}, gradebook "
                            f"{'written' if (dest / 'gradebook.csv').exists() else 'none'}, "
                            f"and it said: {said[-1] if said else 'nothing'} (wanted exit 2 "
                            f"and {words!r})")
    return problems


# ---- a check whose name has a capital letter ----------------------------------------

CAPITAL = "the_Thing_is_done"   # the template's check, renamed
SCRATCH_LESSON = """\
[[lesson]]
id = "99"
slug = "capitals"
title = "A check named with a capital letter"
points = 10
build = "plain"
files = ["thing.c"]
trap = "the grader must read a check's name as the suite gives it"
hints = ["none"]

"""


def scratch_lab(lab: Lab, root: Path) -> None:
    """A copy of the lab with one lesson, 99-capitals: the template's, its check
    named with a capital letter."""
    shutil.rmtree(root, ignore_errors=True)
    skip = shutil.ignore_patterns("__pycache__")
    for d in ("tests/shmlab", "tests/harness", "starter/common", "starter/_template",
              "solutions/_template"):
        shutil.copytree(lab.root / d, root / d, ignore=skip)
    for f in ("tests/lab", "tests/sandbox"):
        shutil.copy2(lab.root / f, root / f)
    shutil.copytree(root / "starter/_template", root / "starter/99-capitals")
    shutil.copytree(root / "solutions/_template", root / "solutions/99-capitals")
    suite = (lab.root / "tests/_template.c").read_text()
    if suite.count("the_thing_is_done") != 2:
        raise ValueError("tests/_template.c no longer has the check the_thing_is_done")
    (root / "tests/99-capitals.c").write_text(suite.replace("the_thing_is_done", CAPITAL))
    # The manifest: its comments and template, and the one lesson between.
    toml = (lab.root / "lessons/lessons.toml").read_text()
    head = toml[:toml.index("\n[[lesson]]") + 1]
    template = toml[toml.index("\n[template]") + 1:]
    (root / "lessons").mkdir()
    (root / "lessons/lessons.toml").write_text(head + SCRATCH_LESSON + template)


def capitals_in_a_check_name(lab: Lab) -> list[str]:
    t = lab.build / "test" / "class-capitals"
    scratch_lab(lab, t / "lab")
    subs = t / "subs"
    for name, kind in (("solution", "solutions"), ("starter", "starter")):
        classroom.copy_over(lab.root / kind / "_template", subs / name / "99-capitals")
    copy = Lab(root=t / "lab", build=t / "build")
    failed = _grade_all(copy, subs, t / "out", t / "grade.log", BUILD=str(t / "build"),
                        LESSONS="", TEST_SECONDS="3", WALL="120")
    if failed:
        return failed
    problems = []
    listed = (t / "out" / "lab-objects" / "99-capitals-normal.tests").read_text().split()
    if listed != [CAPITAL]:
        problems.append(f"the suite listed {listed}, not [{CAPITAL}]")
    note = "weak sandbox" if weak() else ""
    book = _gradebook(t / "out")
    for name, score in (("solution", "10"), ("starter", "0")):
        if book.get(name) != [name, score, score, "10", note]:
            verdict = tail(t / "out" / "logs" / name / "99-capitals.verdict", 5)
            problems.append(f"{name}: expected {score} of 10; the gradebook says "
                            f"{','.join(book.get(name, ['nothing']))}; its verdict: "
                            f"{' / '.join(verdict)}")
    if not problems:
        shutil.rmtree(t, ignore_errors=True)
    return problems
