"""The lessons, from lessons/lessons.toml: the one reader of that file.

Every other module gets a Lesson as a value; nothing else parses the manifest.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import LabError

BUILD_KINDS = ("plain", "race", "manager", "manager-plain", "crash", "kill")
MANIFEST = Path("lessons/lessons.toml")


@dataclass(frozen=True)
class Lesson:
    id: str             # "01"
    slug: str           # "unshared-list"
    title: str          # "The unshared list"
    points: int
    build: str          # one of BUILD_KINDS
    files: tuple[str, ...]   # the files the student edits
    trap: str
    hints: tuple[str, ...]

    @property
    def name(self) -> str:
        """The lessons' directories' name: 01-unshared-list."""
        return self.slug if self.slug.startswith("_") else f"{self.id}-{self.slug}"

    @property
    def heading(self) -> str:
        """The title as the book and the reports show it: 01 · The unshared list."""
        return f"{self.id} · {self.title}"

    def matches(self, want: str) -> bool:
        """Takes 1, 01, 01-unshared-list or unshared-list."""
        want = want.strip()
        if want in (self.id, self.slug, self.name):
            return True
        return want.isdigit() and self.id.isdigit() and int(want) == int(self.id)


@dataclass(frozen=True)
class Manifest:
    lessons: tuple[Lesson, ...]
    template: Lesson

    def find(self, want: str) -> Lesson:
        """The lesson WANT names; a LabError that lists them all otherwise."""
        if not want:
            raise LabError("which lesson? e.g. LESSON=01; the lessons are: " + self.ids())
        for lesson in self.lessons:
            if lesson.matches(want):
                return lesson
        raise LabError(f"no lesson '{want}'; the lessons are: {self.ids()}")

    def ids(self) -> str:
        return " ".join(lesson.id for lesson in self.lessons)

    def select(self, wanted: str) -> tuple[Lesson, ...]:
        """The lessons a space-separated list names ("01 04"), or all for an empty one."""
        if not wanted.strip():
            return self.lessons
        picked = {self.find(w).id for w in wanted.split()}
        return tuple(lesson for lesson in self.lessons if lesson.id in picked)

    def all_files(self) -> list[str]:
        return [f for lesson in self.lessons for f in lesson.files]


def _lesson(entry: dict[str, Any], where: str) -> Lesson:
    try:
        lesson = Lesson(
            id=str(entry["id"]), slug=str(entry["slug"]), title=str(entry["title"]),
            points=int(entry["points"]), build=str(entry["build"]),
            files=tuple(str(f) for f in entry["files"]), trap=str(entry.get("trap", "")),
            hints=tuple(str(h) for h in entry.get("hints", ())))
    except KeyError as missing:
        raise LabError(f"{MANIFEST}: {where} has no {missing}") from None
    if lesson.build not in BUILD_KINDS:
        raise LabError(f"{MANIFEST}: {where}: build must be one of {', '.join(BUILD_KINDS)}, "
                       f"not '{lesson.build}'")
    if not lesson.files or any("/" in f or not f.endswith(".c") for f in lesson.files):
        raise LabError(f"{MANIFEST}: {where}: files must be .c files of the lesson's directory")
    return lesson


def load(root: Path) -> Manifest:
    """Reads ROOT/lessons/lessons.toml."""
    path = root / MANIFEST
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise LabError(f"cannot read {MANIFEST}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise LabError(f"{MANIFEST} is not valid TOML: {e}") from None
    lessons = tuple(_lesson(entry, f"lesson {i + 1}")
                    for i, entry in enumerate(data.get("lesson", [])))
    ids = [lesson.id for lesson in lessons]
    if len(set(ids)) != len(ids):
        raise LabError(f"{MANIFEST}: two lessons have the same id")
    return Manifest(lessons=lessons, template=_lesson(data.get("template", {}), "[template]"))
