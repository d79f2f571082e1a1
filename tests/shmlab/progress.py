"""A student's workspace: where it is, where it builds, and what it keeps of the work.

WORK/.progress keeps, per lesson, the last grade with a hash of the files it
was given, and how many hints were shown. It lives in the workspace, so it
goes wherever the workspace goes. Its older form, one line "ID STATUS
CHECKSUM HINTS" a lesson, is still read: its hint counts carry over.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from .build import files_digest
from .common import Lab, LabError
from .manifest import Lesson, Manifest

PROGRESS = ".progress"
PROGRESS_VERSION = 1
# What `make list` shows, from the least done to the most.
NOT_STARTED, EDITED, FAILING, PASSING = "not started", "edited, unchecked", "failing", "passing"


@dataclass(frozen=True)
class Workspace:
    path: Path          # as the user gave it: relative to the current directory
    build: Path         # where its lessons build
    records: bool       # its progress is kept (never for starter/ or solutions/)
    tree: str           # "work", "starter" or "solutions": that directory of the lab; or ""

    def lesson_dir(self, lesson: Lesson) -> Path:
        return self.path / lesson.name

    def out(self, lesson: Lesson) -> Path:
        return self.build / lesson.name

    def files(self, lesson: Lesson) -> list[str]:
        """The lesson's editable files, as the student would type them."""
        return [str(self.lesson_dir(lesson) / f) for f in lesson.files]


def _lab_tree(lab: Lab, path: Path) -> str:
    """"work", "starter" or "solutions" when PATH is that directory of the lab, else ""."""
    resolved = path.resolve()
    for name in ("work", "starter", "solutions"):
        if resolved == (lab.root / name).resolve():
            return name
    return ""


def open_workspace(lab: Lab, manifest: Manifest, path: Path) -> Workspace:
    """The workspace at PATH. The lab's own work/ is made from starter/ the first
    time, and given the lessons added since; any other must exist already."""
    tree = _lab_tree(lab, path)
    if tree == "work":
        _make_work(lab, manifest, path)
    elif not path.is_dir():
        raise LabError(f"no directory '{path}' to work in (WORK= must name a copy of starter/)")
    if tree:
        build = lab.build / tree
    else:
        build = lab.build / "other" / hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    records = (tree not in ("starter", "solutions") and not os.environ.get("LAB_NO_PROGRESS")
               and os.access(path, os.W_OK))
    return Workspace(path=path, build=build, records=records, tree=tree)


def _copy(source: Path, dest: Path) -> None:
    try:
        shutil.copytree(source, dest, symlinks=True)
    except OSError as e:
        raise LabError(f"cannot copy {source} to {dest}: {e.strerror or e}") from None


def _make_work(lab: Lab, manifest: Manifest, work: Path) -> None:
    # The lessons and common/ (the headers they include, to read); never _template.
    parts = [lesson.name for lesson in manifest.lessons] + ["common"]
    starter = lab.root / "starter"
    if not work.exists():
        # Made aside and renamed: an interrupted first `make` leaves no half workspace.
        tmp = work.with_name(f".{work.name}.tmp.{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        for part in parts:
            _copy(starter / part, tmp / part)
        try:
            tmp.rename(work)
        except OSError as e:
            raise LabError(f"cannot rename {tmp} to {work}: {e.strerror}") from None
        print(f"Made your workspace {lab.rel(work)}/ from starter/: edit the files there.")
        return
    for lesson in manifest.lessons:
        if not (work / lesson.name).exists():
            _copy(starter / lesson.name, work / lesson.name)
            print(f"Lesson {lesson.id} was not in {lab.rel(work)}/: "
                  f"copied starter/{lesson.name}/ there.")


@dataclass(frozen=True)
class Record:
    status: str = ""    # FAILING or PASSING at the lesson's last grade; "": never graded
    files: str = ""     # the hash of the files it was graded on (build.files_digest)
    hints: int = 0      # how many hints were shown


def records(ws: Workspace) -> dict[str, Record]:
    """Every lesson's record, by the lesson's id (none for a lesson never touched)."""
    try:
        text = (ws.path / PROGRESS).read_text(errors="replace")
    except OSError:
        return {}
    try:
        data = json.loads(text)
        return {lid: Record(status=str(r.get("status", "")), files=str(r.get("files", "")),
                            hints=int(r.get("hints", 0)))
                for lid, r in data["lessons"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return _old_records(text)


def _old_records(text: str) -> dict[str, Record]:
    """The bash driver's lines. Their checksums were of another kind: a grade
    there counts as made on other files (edited, unchecked) until the next."""
    kept = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 4:
            status = f[1] if f[1] in (FAILING, PASSING) else ""
            kept[f[0]] = Record(status=status, files="old:" + f[2] if status else "",
                                hints=int(f[3]) if f[3].isdigit() else 0)
    return kept


def _write(ws: Workspace, kept: dict[str, Record]) -> None:
    data = {"version": PROGRESS_VERSION,
            "lessons": {lid: {"status": r.status, "files": r.files, "hints": r.hints}
                        for lid, r in sorted(kept.items())}}
    path = ws.path / PROGRESS
    tmp = path.with_name(f"{PROGRESS}.{os.getpid()}")
    try:
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        tmp.replace(path)   # whole or not at all, should two commands write at once
    except OSError as e:
        raise LabError(f"cannot write {path}: {e.strerror}") from None


def _update(ws: Workspace, lesson: Lesson, **change: str | int) -> None:
    if not ws.records:
        return
    kept = records(ws)
    before = kept.get(lesson.id, Record())
    kept[lesson.id] = replace(before, **change)
    if kept[lesson.id] != before:
        _write(ws, kept)


def remember_grade(ws: Workspace, lesson: Lesson, passed: bool, files: str) -> None:
    """After a grade of LESSON's files, whose hash (taken before grading) is FILES."""
    _update(ws, lesson, status=PASSING if passed else FAILING, files=files)


def forget_grade(ws: Workspace, lesson: Lesson) -> None:
    """After a reset: the lesson is as new (its hints stay shown)."""
    _update(ws, lesson, status="", files="")


def remember_hints(ws: Workspace, lesson: Lesson, shown: int) -> None:
    _update(ws, lesson, hints=shown)


def status(lab: Lab, ws: Workspace, lesson: Lesson, record: Record) -> str:
    """The lesson's grade if its files are still those graded; otherwise
    edited, unless never graded and still the starter's."""
    now = files_digest(lesson, ws.lesson_dir(lesson))
    if record.status:
        return record.status if record.files == now else EDITED
    starter = files_digest(lesson, lab.root / "starter" / lesson.name)
    return NOT_STARTED if now == starter else EDITED
