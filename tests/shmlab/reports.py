"""The class's reports, from the verdicts of the class grader (classroom.py).

In OUT:
  gradebook.csv                  a row per student, a column per lesson, the total
  gradescope/NAME/results.json   Gradescope's format, one per student
  junit/NAME.xml                 JUnit XML, one per student
  summary.html                   the class on one page

Each is built with the library that knows its format (csv, json,
xml.etree): a student's text can put a quote or a bracket anywhere.
"""
from __future__ import annotations

import csv
import json
import re
import statistics
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Mapping, Sequence
from urllib.parse import quote

from .common import LabError
from .manifest import Lesson

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; color: #1f2328; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d8dde3; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
.bar { background: #0b5cad; height: 1rem; display: inline-block; vertical-align: middle; }
.note { background: #fff8e1; border-left: 4px solid #e0b400; padding: 0.5rem 1rem; }
"""
OWN_SANDBOX = "Graded by the lab's tests, each lesson in a sandbox of its own."
# The verdicts that come with the suite's own list of checks.
RAN = re.compile(r"(pass|FAIL [0-9]+ of)")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
NOT_BUILT = ("FAIL does not build", "FAIL not handed in", "FAIL handed in empty")  # (classroom)
# What a check out of time on a busy machine says instead of REGRADE where the
# lesson failed for sure on another check (classroom.verdict).
EITHER_WAY = "no grade of its own needed: the lesson fails on its other checks either way"
# A lesson's status when the sandbox's time ran out before its suite had finished
# (after "FAIL "): the grader's time, so graded again if nothing had failed by then.
OUT_OF_TIME = "out of the grader's time"


def ran_out_of_time(status: str) -> bool:
    return status.startswith(f"FAIL {OUT_OF_TIME}")


@dataclass(frozen=True)
class Row:
    """One line of a suite's results file: a check, and what it found."""
    status: str     # "ok", or anything else for a failure
    name: str       # the check, as the suite names it (one_child)
    message: str
    seconds: float = 0.0    # how long it ran (the harness times each test)
    limit: float = 0.0      # and how long it could have run

    @property
    def title(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class Verdict:
    """One lesson of one student's submission, as the class grader judged it."""
    student: str
    lesson: Lesson
    status: str                 # "pass", or "FAIL" and why, in a line
    details: tuple[str, ...]    # the lines under it (indented)
    rows: tuple[Row, ...]       # the suite's results as they came back; none if none
    seconds: float = 0.0        # how long its sandbox took

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def score(self) -> int:
        return self.lesson.points if self.passed else 0

    @property
    def text(self) -> str:
        return "\n".join((self.status, *self.details))


Verdicts = Mapping[tuple[str, str], Verdict]   # by (student, lesson id)


@dataclass(frozen=True)
class Class:
    """What the reports say of the class besides the verdicts."""
    note: str                   # how the sandbox was weaker than shmlab's own, if it was
    when: datetime
    about: Mapping[str, str]    # by student: the folder graded, a renaming
    refused: Sequence[str]      # what was handed in but is no submission, and why
    took: float                 # seconds the grading took
    compiling: float = 0.0      # seconds compiling the lab's side took, before it


def write_reports(out: Path, lessons: Sequence[Lesson], students: Sequence[str],
                  verdicts: Verdicts, c: Class) -> None:
    """Writes the four reports into OUT. C.note, if any, is said in every report."""
    try:
        (out / "gradescope").mkdir(parents=True, exist_ok=True)
        (out / "junit").mkdir(parents=True, exist_ok=True)
        _gradebook(out / "gradebook.csv", lessons, students, verdicts, c)
        for student in students:
            mine = [verdicts[student, lesson.id] for lesson in lessons]
            (out / "gradescope" / student).mkdir(exist_ok=True)
            # Gradescope grades one student a run: its wall time is the grading's.
            # In a class, a student's lessons ran among everyone's: their own time.
            took = c.took + c.compiling if len(students) == 1 else sum(v.seconds for v in mine)
            _gradescope(out / "gradescope" / student / "results.json", mine, c.note,
                        c.about.get(student, ""), took)
            _junit(out / "junit" / f"{student}.xml", student, mine)
        _summary(out / "summary.html", lessons, students, verdicts, c)
    except OSError as e:
        raise LabError(f"cannot write the reports in {out}: {e.filename}: {e.strerror}") from None


def _gradebook(path: Path, lessons: Sequence[Lesson], students: Sequence[str],
               verdicts: Verdicts, c: Class) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        book = csv.writer(f, lineterminator="\n")
        book.writerow(["student", *(lesson.id for lesson in lessons), "total", "max", "note"])
        for student in students:
            scores = [verdicts[student, lesson.id].score for lesson in lessons]
            again = [lesson.id for lesson in lessons
                     if verdicts[student, lesson.id].status.startswith("REGRADE")]
            notes = [f"REGRADE {' '.join(again)}" if again else "",
                     _sandbox_column(c.note), _worth_noting(c.about.get(student, ""))]
            book.writerow([_cell(student), *scores, sum(scores),
                           sum(lesson.points for lesson in lessons),
                           _cell("; ".join(n for n in notes if n))])


def _cell(text: str) -> str:
    """TEXT as a spreadsheet shows it, never as a formula (=, +, -, @ first)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _worth_noting(about: str) -> str:
    """What the gradebook says of a submission: only the unusual (a renaming,
    a folder chosen among several, nothing found)."""
    usual = re.fullmatch(r"graded [^()]*/", about) is not None
    return "" if usual or not about else about


def _sandbox_column(note: str) -> str:
    """The gradebook's note: which sandbox, when it was not shmlab's own."""
    if not note:
        return ""
    if note.startswith("LOCAL TRIAL"):
        return "local trial, no sandbox"
    return "weak sandbox" if note.startswith("WEAK SANDBOX") else "platform's container"


def _gradescope(path: Path, mine: list[Verdict], note: str, about: str, took: float) -> None:
    tests = [{
        # A lesson out of time on a busy machine has no grade yet: its name says so.
        "name": f"{v.lesson.id} {v.lesson.title}"
                + (" (REGRADE: not graded yet)" if v.status.startswith("REGRADE") else ""),
        "score": v.score,
        "max_score": v.lesson.points,
        "status": "passed" if v.score == v.lesson.points else "failed",
        "output": v.text,   # the sandbox's note is said once, above the tests
        "visibility": "visible",
    } for v in mine]
    for test, v in zip(tests, mine):
        if v.status.startswith("REGRADE"):
            del test["status"]   # neither: Gradescope showed a lesson not graded as failed
    unusual = _worth_noting(about)
    again = [v.lesson.id for v in mine if v.status.startswith("REGRADE")]
    said = [note or OWN_SANDBOX, f"Your submission: {unusual}." if unusual else "",
            f"Lesson{'s' if len(again) > 1 else ''} {', '.join(again)} ran out of time on a "
            "busy machine: that is no grade, and not your fail; your instructor will grade "
            f"{'them' if len(again) > 1 else 'it'} again." if again else ""]
    results = {
        "score": sum(v.score for v in mine),
        "execution_time": round(took),
        "output": "\n".join(line for line in said if line),
        "visibility": "visible",
        "tests": tests,
    }
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _junit(path: Path, student: str, mine: list[Verdict]) -> None:
    suites = ET.Element("testsuites", name=student)
    for v in mine:
        name = v.lesson.name
        # REGRADE: out of time on a busy machine, no grade yet: what did not pass is
        # an error, not a failure (nothing in it failed for sure), and not skipped,
        # which a JUnit reader shows green (an instructor saw a REGRADE so).
        regrade = v.status.startswith("REGRADE")
        # A check held back behind one that hung (GIVE_UP_AFTER), or not graded (out of
        # time on a busy machine, or in the grader's time) did not fail: skipped.
        held = sum(row.status != "ok" and _not_graded(row) for row in v.rows)
        failures = sum(row.status != "ok" for row in v.rows) - held
        suite = ET.SubElement(suites, "testsuite", name=name, tests=str(len(v.rows) or 1),
                              failures="0" if regrade else str(failures or int(not v.passed)),
                              errors=str(failures + held or 1) if regrade else "0",
                              skipped="0" if regrade else str(held),
                              time=f"{v.seconds:.0f}")
        if not v.rows:
            # Nothing ran to list the checks: one case says why.
            case = ET.SubElement(suite, "testcase", classname=name, name="build and run",
                                 time=f"{v.seconds:.3f}")
            ET.SubElement(case, "error" if regrade else "failure",
                          message=v.status).text = v.text
            continue
        ran = RAN.match(v.status) is not None
        for row in v.rows:
            case = ET.SubElement(suite, "testcase", classname=name, name=row.title,
                                 time=f"{row.seconds:.3f}")
            if row.status != "ok":
                # A suite that did not run (a build that failed) fails each check with
                # its reason: the compiler's messages, say.
                kind = "error" if regrade else "skipped" if _not_graded(row) else "failure"
                ET.SubElement(case, kind, message=row.message).text = None if ran else v.text
    tree = ET.ElementTree(suites)
    ET.indent(tree)
    tree.write(path, encoding="UTF-8", xml_declaration=True)


def _not_graded(row: Row) -> bool:
    """A check that did not fail: not run, or stopped by a clock the load may explain
    (lab.c's words, or EITHER_WAY where the lesson failed on another check)."""
    return row.message.startswith(("not run:", "not graded:")) or \
        "REGRADE on a quieter machine" in row.message or \
        EITHER_WAY in row.message.replace(EITHER_WAY.capitalize(), EITHER_WAY)   # a sentence's


def _summary(path: Path, lessons: Sequence[Lesson], students: Sequence[str],
             verdicts: Verdicts, c: Class) -> None:
    n = len(students)
    html = ET.Element("html", lang="en")
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "meta", charset="utf-8")
    ET.SubElement(head, "title").text = "shmlab: the class"
    ET.SubElement(head, "meta", name="viewport", content="width=device-width, initial-scale=1")
    ET.SubElement(head, "style").text = STYLE
    body = ET.SubElement(html, "body")
    ET.SubElement(body, "h1").text = "shmlab: the class"
    if c.note:
        ET.SubElement(body, "p", {"class": "note"}).text = c.note
    top = sum(lesson.points for lesson in lessons)
    everyone = list(verdicts.values())
    # A student with a lesson to grade again has no total yet: the mean, the median
    # and the histogram leave them out (an outsider saw a REGRADE counted as 0).
    waiting = {v.student for v in everyone if v.status.startswith("REGRADE")}
    total_of = {s: sum(verdicts[s, lesson.id].score for lesson in lessons) for s in students}
    totals = [total_of[s] for s in students if s not in waiting]
    p = ET.SubElement(body, "p")
    p.text = (f"{_count(n, 'submission', 'submissions')}, graded {c.when:%Y-%m-%d %H:%M} "
              f"in {c.took / 60:.1f} min "
              f"(after {c.compiling / 60:.1f} min compiling the lab's side). "
              f"Mean {statistics.mean(totals) if totals else 0:.1f} of {top}, median "
              f"{statistics.median(totals) if totals else 0:g}. "
              + (f"({_count(len(waiting), 'student', 'students')} with a lesson to grade "
                 "again left out: no total yet). " if waiting else "")
              + f"{_count(sum(_timed_out(v) for v in everyone), 'lesson', 'lessons')} had a check "
              "that hung (a deadlock or an endless loop; a check only out of time on a busy "
              "machine is not counted), "
              f"{_count(sum(v.status.startswith('REGRADE') for v in everyone), 'is', 'are')} "
              f"to be graded again (REGRADE: out of time on a busy machine, not the student's "
              f"fail), "
              f"{sum(v.status.startswith(NOT_BUILT) for v in everyone)} did not build or "
              "were not handed in (or empty). The gradebook: ")
    link = ET.SubElement(p, "a", href="gradebook.csv")
    link.text = "gradebook.csv"
    link.tail = "."

    ET.SubElement(body, "h2").text = "Scores"
    table = _table(body, "total", "students", "")
    for label, count in _histogram(totals, top):
        width = count * 40 // n if n else 0
        row = _row(table, label, str(count), "")
        ET.SubElement(row[2], "span", {"class": "bar", "style": f"width: {width}rem"})

    ET.SubElement(body, "h2").text = "Lessons"
    table = _table(body, "lesson", "passed", "the most common failure")
    for lesson in lessons:
        mine = [verdicts[s, lesson.id] for s in students]
        passed = sum(v.passed for v in mine)
        again = sum(v.status.startswith("REGRADE") for v in mine)
        _row(table, f"{lesson.id} {lesson.title}",
             f"{passed} of {n - again}" + (f" ({again} to grade again)" if again else ""),
             _most_common(mine))

    ET.SubElement(body, "h2").text = "Students"
    table = _table(body, "student", *(lesson.id for lesson in lessons), "total", "note")
    for student, total in ((s, total_of[s]) for s in students):
        tr = _row(table, student)
        for lesson in lessons:
            v = verdicts[student, lesson.id]
            td = ET.SubElement(tr, "td")
            a = ET.SubElement(td, "a", href=f"logs/{quote(student)}/{lesson.name}.verdict",
                              title=v.status)
            a.text = str(v.score) if not v.status.startswith("REGRADE") else "regrade"
        ET.SubElement(tr, "td").text = str(total)
        ET.SubElement(tr, "td").text = _worth_noting(c.about.get(student, ""))
    if c.refused:
        ET.SubElement(body, "h2").text = "Handed in, but not graded"
        ul = ET.SubElement(body, "ul")
        for why in c.refused:
            ET.SubElement(ul, "li").text = why
    path.write_text("<!DOCTYPE html>\n" + ET.tostring(html, encoding="unicode", method="html")
                    + "\n", encoding="utf-8")


def _count(n: int, one: str, many: str) -> str:
    """"1 is", "3 are": a count with its verb."""
    return f"{n} {one if n == 1 else many}"


def _timed_out(v: Verdict) -> bool:
    """A check of V hung, as the harness judged it: a deadlock or an endless loop (a
    check only out of time on a busy machine, never shown to hang, is none)."""
    return any(row.message.startswith("deadlock or endless loop") and not _not_graded(row)
               for row in v.rows) or ran_out_of_time(v.status)


def _histogram(totals: list[int], top: int) -> list[tuple[str, int]]:
    """The totals counted in tenths of TOP, the best first: (label, how many)."""
    bars = [(str(top), sum(t == top for t in totals))]
    for tenth in range(9, -1, -1):
        lo, hi = top * tenth // 10, top * (tenth + 1) // 10
        bars.append((f"{lo}–{hi - 1}" if hi - 1 > lo else str(lo),   # not "9–9"
                     sum(lo <= t < hi for t in totals)))
    return bars


def _most_common(verdicts: list[Verdict]) -> str:
    """The check most submissions failed first, with one of their messages."""
    # Not a pass's details: one graded again says so there (an outsider read 8 failed of 7).
    firsts = [v.details[0].lstrip(" ") for v in verdicts
              if v.details and not v.passed and not v.status.startswith("REGRADE")]
    firsts = [line for line in firsts if line]
    if not firsts:
        return "none"
    counts = Counter(line.split(":", 1)[0] for line in firsts)
    check, count = max(counts.items(), key=lambda item: (item[1], item[0]))
    example = next((line for line in firsts if f"{check}:" in line), "")
    # Its whole first line; an address differs from run to run and says nothing.
    # The check is what they share; how each failed it may differ.
    # How many failed at all first: "1 submission" read as one failure where four had.
    failed = _count(len(firsts), "submission", "submissions")
    if count == 1:
        if len(firsts) == 1:
            return f"1 submission: {ADDRESS.sub('0x…', example)}"
        return (f"{failed} failed, no two of them the same check first; one: "
                f"{ADDRESS.sub('0x…', example)}")
    said = example.split(":", 1)[1].strip() if ":" in example else ""
    # A tie is said: the one quoted is not the only most common.
    tied = sorted(c for c, k in counts.items() if k == count and c != check)
    also = "".join(f", and {count} \"{c}\"" for c in tied)
    which = f"one of the {count} \"{check}\"" if tied else "one of those"
    # The rest, said: an outsider added up 2 and 2 and missed 3 of the 7.
    rest = len(firsts) - count * (1 + len(tied))
    # The quote comes before the rest are named: after them, an outsider took
    # it for one of the rest's.
    others = f" The other {rest} failed another check first (or did not build)." if rest else ""
    return (f"{failed} failed; {count} of them \"{check}\" first{also}; {which} "
            f"said: “{ADDRESS.sub('0x…', said).rstrip('.')}”.{others}")


def _table(parent: ET.Element, *headings: str) -> ET.Element:
    table = ET.SubElement(parent, "table")
    tr = ET.SubElement(table, "tr")
    for heading in headings:
        ET.SubElement(tr, "th").text = heading
    return table


def _row(table: ET.Element, *cells: str) -> ET.Element:
    tr = ET.SubElement(table, "tr")
    for cell in cells:
        ET.SubElement(tr, "td").text = cell
    return tr
