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
             "docs/figures", "docs/python")
OPTIONAL = ("tests/sandbox",)   # copied if the lab has it
# The project's own tests, the harness's too, and the Python fixes (docs/python/fixes).
NEVER = ("__pycache__", "*.pyc", "selftest*", "fixes")

SETUP_SH = """\
#!/bin/sh
# Gradescope runs this once, as root, to build the autograder's image: the
# Debian packages, then the lab's side of every lesson, compiled once for
# all the submissions. AUTOGRADER_ROOT moves /autograder elsewhere (for a
# trial on a machine that has the packages: they are not installed then).
set -e
root=${AUTOGRADER_ROOT:-/autograder}
cd "$root/source/shmlab"
if [ -z "${AUTOGRADER_ROOT:-}" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    tests/deps class
fi
LAB_OBJECTS="$PWD/build/lab-objects" BUILD="$PWD/build" tests/lab prepare
chmod -R a+rX build  # the grading users (not root) read the objects
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission: it grades /autograder/submission
# and writes /autograder/results/results.json; what grading says goes to
# stdout too, for the instructor's debug pane. AUTOGRADER_ROOT moves
# /autograder elsewhere (for trying it out).
root=${AUTOGRADER_ROOT:-/autograder}
lab=$root/source/shmlab
tmp=$(mktemp -d)
chmod 755 "$tmp"  # the grading users (not root) must reach their work in it
# The submission, whatever its layout, is one student's copy of starter/;
# or one archive alone, as `make submit` packs it (Gradescope opens a .zip
# uploaded, never a .tar.gz): graded as that archive.
mkdir -p "$tmp/subs"
handed=("$root"/submission/*)
case ${#handed[@]}:${handed[0]} in
  1:*.tar.gz) cp "${handed[0]}" "$tmp/subs/submission.tar.gz" ;;
  1:*.tgz) cp "${handed[0]}" "$tmp/subs/submission.tgz" ;;
  1:*.zip) cp "${handed[0]}" "$tmp/subs/submission.zip" ;;
  *) cp -R "$root/submission" "$tmp/subs/submission" ;;
esac
# Gradescope gives every submission a container of its own: that is the
# sandbox. The lab's side was compiled once, by setup.sh.
SANDBOX=platform BUILD="$tmp/build" LAB_OBJECTS="$lab/build/lab-objects" \\
    "$lab/tests/lab" grade-all "$tmp/subs" "$tmp/out" 2>&1 | tee "$tmp/log.txt"
mkdir -p "$root/results"
if [ -f "$tmp/out/gradescope/submission/results.json" ]; then
    cp "$tmp/out/gradescope/submission/results.json" "$root/results/results.json"
else
    # Not a grade: the grader failed. Said as a failed test, for the student
    # and the instructor both; the log above has the whole story.
    tail -n 20 "$tmp/log.txt" | python3 -c 'import json, sys
said = sys.stdin.read()
print(json.dumps({
    "output": "The autograder failed, so this is not a grade: your instructor will grade "
              "this submission again.",
    "tests": [{"name": "autograder error", "score": 0, "max_score": 0, "status": "failed",
               "output": "The autograder could not grade this submission:\\n" + said,
               "visibility": "visible"}]}))' > "$root/results/results.json"
fi
if [ -n "${AUTOGRADER_ROOT:-}" ]; then
  # A trial: the reports the log names are kept (else they go with $tmp).
  rm -rf "$root/results/out"
  cp -R "$tmp/out" "$root/results/out" 2>/dev/null \
    && echo "run_autograder: a trial: the reports above are kept in $root/results/out"
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


def solution_lines_in(text: str, lines: list[str]) -> list[str]:
    """Those of LINES (solution_lines) that are whole lines of TEXT: a solution's
    `if (x == -1)` is not in a starter's `if (x == -1) {`."""
    held = {line.strip() for line in text.splitlines()}
    return [line for line in lines if line.strip() in held]


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
    """GitHub Classroom's autograding (its older runner): a test per lesson, its
    points, the command that grades it; the packages installed once, by the first."""
    return {"tests": [{"name": f"{lesson.id} {lesson.title}",
                       "setup": "sudo tests/deps" if i == 0 else "",
                       "run": f"make check LESSON={lesson.id}", "input": "", "output": "",
                       "comparison": "included", "timeout": 10, "points": lesson.points}
                      for i, lesson in enumerate(manifest.lessons)]}


def classroom_workflow(manifest: Manifest) -> str:
    """GitHub Classroom's autograding workflow (what Classroom runs today): one
    job; the packages once; a step per lesson with its points (the command
    grader: it passes if `make check LESSON=NN` does); the reporter that
    sends the points to Classroom. Strings are written as JSON, which YAML reads."""
    q = json.dumps
    lines = ['name: Autograding Tests', '"on":', "  - push", "  - repository_dispatch",
             "permissions:", "  checks: write", "  actions: read", "  contents: read",
             "jobs:", "  run-autograding-tests:", "    runs-on: ubuntu-latest",
             "    if: github.actor != 'github-classroom[bot]'", "    steps:",
             "      - name: Check out the student's repository",
             "        uses: actions/checkout@v4",
             "      - name: Install the lab's packages, once",
             "        run: sudo tests/deps"]
    for lesson in manifest.lessons:
        name = f"{lesson.id} {lesson.title}"
        lines += [f"      - name: {q(name)}", f"        id: lesson-{lesson.id}",
                  "        uses: classroom-resources/autograding-command-grader@v1",
                  "        with:", f"          test-name: {q(name)}",
                  f"          command: {q(f'make check LESSON={lesson.id}')}",
                  "          timeout: 10", f"          max-score: {lesson.points}"]
    ids = [f"lesson-{lesson.id}" for lesson in manifest.lessons]
    lines += ["      - name: Autograding Reporter",
              "        uses: classroom-resources/autograding-grading-reporter@v1",
              "        env:"]
    lines += [f"          {i.upper()}_RESULTS: {q('${{steps.' + i + '.outputs.result}}')}"
              for i in ids]
    lines += ["        with:", f"          runners: {','.join(ids)}"]
    return "\n".join(lines) + "\n"


# What a student's repository keeps out of git: what make builds.
KIT_GITIGNORE = "# Made by make: never handed in.\nbuild/\n__pycache__/\n"


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
    # Only the figures the kit's texts show: a fix's figure stays behind.
    shown = book.figures_used([*(kit / "lessons").glob("*.md"), *(kit / "docs").glob("*.md")])
    for figure in (kit / "docs" / "figures").glob("*.svg"):
        if figure.name not in shown:
            figure.unlink()
    try:
        shutil.copy(lab.root / "docs/student-readme.md", kit / "README.md")
        shutil.copytree(book.out_dir(own) / "student", kit / "docs" / "book")
        shutil.copy(book.out_dir(own) / "shmlab-student.epub", kit / "docs")
        classroom = kit / ".github" / "classroom"
        classroom.mkdir(parents=True)
        (classroom / "autograding.json").write_text(
            json.dumps(classroom_config(manifest), indent=2, ensure_ascii=False) + "\n")
        (kit / ".github" / "workflows").mkdir()
        (kit / ".github" / "workflows" / "classroom.yml").write_text(
            classroom_workflow(manifest))
        (kit / ".gitignore").write_text(KIT_GITIGNORE)
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

def gradescope(lab: Lab, manifest: Manifest, lessons: str = "") -> int:
    """make gradescope: BUILD/gradescope/shmlab-autograder.zip: setup.sh,
    run_autograder, and the lab's grading side in shmlab/. LESSONS ("01 02"):
    only those are compiled by setup.sh and graded (else every lesson)."""
    ids = " ".join(lesson.id for lesson in manifest.select(lessons)) if lessons.strip() else ""
    scripts = (("setup.sh", SETUP_SH.replace("tests/lab prepare\n", f"tests/lab prepare {ids}\n")
                if ids else SETUP_SH),
               ("run_autograder", RUN_AUTOGRADER.replace("SANDBOX=platform ",
                                                         f'SANDBOX=platform LESSONS="{ids}" ')
                if ids else RUN_AUTOGRADER))
    out = lab.build / "gradescope"
    bundle = out / "bundle"
    try:
        shutil.rmtree(out, ignore_errors=True)
        bundle.mkdir(parents=True)
        copy_lab(lab, manifest, bundle / "shmlab")
        for name, text in scripts:
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
    print(f"package: {lab.rel(archive)}"
          + (f": lessons {ids} (LESSONS)" if ids else ": every lesson (LESSONS=\"01 02\": "
             "only those)"))
    return 0
