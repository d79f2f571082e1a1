"""What leaves the repository: the student kit and the Gradescope bundle.

The kit (make dist) is everything a student needs and nothing of the
solutions: the lessons' texts without their fixes (GitHub Markdown, the code
filled in), the starters, the lab's tests, harness and driver, the student
edition of the book, a Makefile of what works in the kit, a README for
students, and a GitHub Classroom autograding configuration. The Gradescope
bundle (make gradescope) is the lab's grading side with a setup.sh and a
run_autograder.
"""
from __future__ import annotations

import json
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

from . import book
from .common import Lab, LabError
from .manifest import Manifest

# In the Makefile, what the student kit's leaves out. In the header (the
# comments at the top), a line that ends with "(lab-only)" goes, with the
# lines under it down to an empty comment line ("#") or the header's end;
# below, a line that starts with "# lab-only" goes with everything after it.
HEADER_MARK = "(lab-only)"
BODY_MARK = "# lab-only"

# The lab's files that grade and run a lesson, from the root: the solutions,
# the wrong fixes made from them (tests/variants), the class's hostile
# submissions and the project's own tests (tests/selftest) stay behind.
LAB_FILES = ("starter", "lessons/lessons.toml", "tests/harness", "tests/shmlab", "tests/lab",
             "tests/deps", "tests/sandbox", "tests/manager.c", "tests/fuzz-manager.c",
             "tests/bench-manager.c", "tests/fuzz-corpus", "docs/manager-protocol.md",
             "docs/figures")
OPTIONAL = ("tests/sandbox",)   # copied if the lab has it
NEVER = ("__pycache__", "*.pyc", "selftest*")  # the project's own tests, the harness's too

SETUP_SH = """\
#!/bin/sh
# Gradescope runs this once, as root, to build the autograder's image.
set -e
cd /autograder/source/shmlab
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
tests/deps class
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission: it grades /autograder/submission
# and writes /autograder/results/results.json. AUTOGRADER_ROOT moves
# /autograder elsewhere (for trying it out).
root=${AUTOGRADER_ROOT:-/autograder}
lab=$root/source/shmlab
tmp=$(mktemp -d)
chmod 755 "$tmp"  # the grading users (not root) must reach their work in it
# The submission, whatever its layout, is one student's copy of starter/.
mkdir -p "$tmp/subs" && cp -R "$root/submission" "$tmp/subs/submission"
# Gradescope gives every submission a container of its own: that is the sandbox.
SANDBOX=platform BUILD="$tmp/build" "$lab/tests/lab" grade-all "$tmp/subs" "$tmp/out" \\
    > "$tmp/log.txt" 2>&1
mkdir -p "$root/results"
if [ -f "$tmp/out/gradescope/submission/results.json" ]; then
    cp "$tmp/out/gradescope/submission/results.json" "$root/results/results.json"
else
    tail -n 5 "$tmp/log.txt" | python3 -c 'import json, sys
print(json.dumps({"score": 0, "output": "The autograder could not grade this submission:\\n"
                  + sys.stdin.read()}))' > "$root/results/results.json"
fi
rm -rf "$tmp"
"""


# ---- the solutions' own lines ------------------------------------------------------

def _lines(paths: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        found.update(line.lstrip(" ") for line in path.read_text(errors="replace").splitlines())
    return found


def solution_lines(lab: Lab, manifest: Manifest) -> list[str]:
    """Lines of the solutions' code (not comments) that only the solutions have: not
    the lesson's starter, nor any other file a student gets anyway (a later lesson's
    starter may hold working code an earlier lesson asks for). Short lines (a brace,
    `return 0;`) are everywhere: only those longer than 24 characters count."""
    root = lab.root
    shipped = _lines(sorted([*root.glob("starter/*/*.[ch]"), *root.glob("starter/common/*/*.[ch]"),
                             *root.glob("tests/*.c"), *root.glob("tests/harness/*.[ch]")]))
    comment = re.compile(r"^\s*(/?\*|//)")
    found: dict[str, None] = {}     # in order, once each
    for lesson in manifest.lessons:
        for name in lesson.files:
            path = root / "solutions" / lesson.name / name
            try:
                text = path.read_text(errors="replace")
            except OSError as e:
                raise LabError(f"cannot read solutions/{lesson.name}/{name}: {e.strerror}") from None
            for line in text.splitlines():
                line = line.lstrip(" ")
                if len(line) > 24 and not comment.match(line) and line not in shipped:
                    found[line] = None
    return list(found)


# ---- the kit ------------------------------------------------------------------------

def kit_makefile(text: str) -> str:
    """The lab's Makefile less what only works in the lab (HEADER_MARK, BODY_MARK)."""
    out: list[str] = []
    in_header, skipping = True, False
    lines = text.splitlines()
    for n, line in enumerate(lines):
        in_header = in_header and line.startswith("#")
        if in_header:
            if line.rstrip().endswith(HEADER_MARK):
                skipping = True
                if out and out[-1].rstrip() == "#":
                    out.pop()   # the empty comment line that set the part apart
            elif line.rstrip() == "#":
                skipping = False
            if skipping:
                continue
        elif line.startswith(BODY_MARK):
            dropped = _targets(lines[n:])
            break
        out.append(line)
    else:
        dropped = []
    while out and out[-1].strip() in ("", "#"):
        out.pop()       # what preceded a part left out
    if dropped:
        # Asked for in the kit, they say so, rather than "Nothing to be done".
        out += ["", "# What only the whole lab has.", f"{' '.join(dropped)}:",
                '\t@echo "make $@: not in the student kit (the book is built already, in '
                'docs/book/index.html)" >&2; exit 2']
    return "\n".join(out) + "\n"


def _targets(lines: list[str]) -> list[str]:
    """The targets that LINES of a Makefile give rules for."""
    return [m.group(1) for m in map(re.compile(r"^([a-z][\w-]*):").match, lines) if m]


def _copy(lab: Lab, rel: str, dest: Path) -> None:
    src = lab.root / rel
    target = dest / rel
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns(*NEVER))
        else:
            shutil.copy2(src, target)
    except OSError as e:
        raise LabError(f"cannot copy {rel} into {lab.rel(dest)}: {e.strerror}") from None


def copy_lab(lab: Lab, manifest: Manifest, dest: Path) -> None:
    """The lab's files that grade the lessons into DEST, with the kit's Makefile."""
    for rel in LAB_FILES:
        if rel in OPTIONAL and not (lab.root / rel).exists():
            continue
        _copy(lab, rel, dest)
    for lesson in manifest.lessons:
        _copy(lab, f"tests/{lesson.name}.c", dest)     # its Check suite
    try:
        makefile = (lab.root / "Makefile").read_text()
        (dest / "Makefile").write_text(kit_makefile(makefile))
    except OSError as e:
        raise LabError(f"cannot write {lab.rel(dest / 'Makefile')}: {e.strerror}") from None


def classroom_config(manifest: Manifest) -> dict[str, list[dict[str, object]]]:
    """GitHub Classroom's autograding: a test per lesson, its points, the command that grades it."""
    return {"tests": [{"name": f"{lesson.id} {lesson.title}", "setup": "sudo tests/deps",
                       "run": f"make check LESSON={lesson.id}", "input": "", "output": "",
                       "comparison": "included", "timeout": 10, "points": lesson.points}
                      for lesson in manifest.lessons]}


def _size(path: Path) -> str:
    """As du -h says it, roughly."""
    size = path.stat().st_size
    return f"{size / 1048576:.1f}M" if size >= 1048576 else f"{size / 1024:.0f}K"


def _without_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "__pycache__" in info.name.split("/") else info


def dist(lab: Lab, manifest: Manifest) -> int:
    """make dist: BUILD/dist/shmlab-student.tar.gz, the kit in a directory shmlab/."""
    out = lab.build / "dist"
    kit = out / "shmlab"
    try:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
    except OSError as e:
        raise LabError(f"cannot make {lab.rel(out)}: {e.strerror}") from None
    # The kit's book is built apart (BUILD/dist/build/book/), so that it never
    # meets a make docs running at the same time.
    own = Lab(root=lab.root, build=out / "build")
    book.build_edition(own, manifest, "student")
    copy_lab(lab, manifest, kit)
    # The lessons as readable files: no solution, the code and the hints in.
    for lesson in manifest.lessons:
        book.lesson_text(own, lesson, kit / "lessons" / f"{lesson.name}.md")
    try:
        shutil.copy(lab.root / "docs/student-readme.md", kit / "README.md")
        shutil.copytree(book.out_dir(own) / "student", kit / "docs" / "book")
        shutil.copy(book.out_dir(own) / "shmlab-student.epub", kit / "docs")
        classroom = kit / ".github" / "classroom"
        classroom.mkdir(parents=True)
        (classroom / "autograding.json").write_text(
            json.dumps(classroom_config(manifest), indent=2, ensure_ascii=False) + "\n")
    except OSError as e:
        raise LabError(f"cannot make the kit in {lab.rel(kit)}: {e.strerror}") from None
    tarball = out / "shmlab-student.tar.gz"
    try:
        with tarfile.open(tarball, "w:gz") as tar:
            tar.add(kit, arcname="shmlab", filter=_without_caches)
    except OSError as e:
        raise LabError(f"cannot write {lab.rel(tarball)}: {e.strerror}") from None
    print(f"package: {lab.rel(tarball)} ({_size(tarball)})")
    return 0


# ---- the Gradescope bundle -----------------------------------------------------------

def gradescope(lab: Lab, manifest: Manifest) -> int:
    """make gradescope: BUILD/gradescope/shmlab-autograder.zip: setup.sh,
    run_autograder, and the lab's grading side in shmlab/."""
    out = lab.build / "gradescope"
    bundle = out / "bundle"
    try:
        shutil.rmtree(out, ignore_errors=True)
        bundle.mkdir(parents=True)
        copy_lab(lab, manifest, bundle / "shmlab")
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            (bundle / name).write_text(text)
            (bundle / name).chmod(0o755)
    except OSError as e:
        raise LabError(f"cannot make {lab.rel(bundle)}: {e.strerror}") from None
    archive = out / "shmlab-autograder.zip"
    try:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(bundle.rglob("*")):
                if "__pycache__" not in path.parts:
                    z.write(path, path.relative_to(bundle))  # keeps the files' modes
    except OSError as e:
        raise LabError(f"cannot write {lab.rel(archive)}: {e.strerror}") from None
    print(f"package: {lab.rel(archive)}")
    return 0
