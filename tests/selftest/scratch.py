"""Scratch copies of the lab, for the checks of the student's command, and
running their tests/lab as a student would.

A scratch copy (BUILD/test/command/<name>) holds the lab's files without
its build/ and work/; its command builds in its own build/. The lab's
compiled side is shared (LAB_OBJECTS): it is hashed by its sources, which
the copy has unchanged. Output is piped (no terminal, so no colour) unless
a check asks for a terminal (script(1)).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from shmlab.build import objects_root
from shmlab.context import Context
from shmlab.manifest import Lesson

LIMIT = 600         # seconds for one command: a whole grade of the lab took over 300 s at load 40


def scratch_lab(ctx: Context, name: str, *, kit: bool = False) -> Path:
    """A fresh copy of the lab. KIT: laid out as the student kit is (no solutions,
    no tests of the lab's own, its Makefile, a built book), for what must work there."""
    dest = ctx.lab.build / "test" / "command" / name
    shutil.rmtree(dest, ignore_errors=True)
    root = ctx.lab.root.resolve()
    at_root = {"work", ".git"} | ({"solutions"} if kit else set())
    anywhere = {"__pycache__"} | ({"selftest", "variants"} if kit else set())

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).resolve()
        return {n for n in names if n in anywhere or (here / n) == ctx.lab.build.resolve()
                or (here == root and (n in at_root or n.startswith("build")))}
    shutil.copytree(root, dest, symlinks=True, ignore=ignore)
    if kit:
        from shmlab import package
        makefile = dest / "Makefile"
        makefile.write_text(package.kit_makefile(makefile.read_text()))
        book = dest / "docs" / "book"
        if book.is_file():
            book.unlink()   # the lab's old book script: in the kit, the book itself
        book.mkdir(parents=True, exist_ok=True)
        (dest / "docs" / "book" / "index.html").write_text("<!doctype html><title>shmlab</title>\n")
    return dest


def environment(ctx: Context, more: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("BUILD", "NO_COLOR", "LAB_NO_PROGRESS", "LAB_TEST_SECONDS")}
    env["LAB_OBJECTS"] = str(objects_root(ctx.lab))
    return {**env, **(more or {})}


def lab(ctx: Context, root: Path, *args: str, stdin: str = "",
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """ROOT's tests/lab ARGS, in ROOT, stdout and stderr together, piped."""
    # Bytes, decoded here: text mode would turn a carriage return into a newline.
    try:
        done = subprocess.run([str(root / "tests" / "lab"), *args], cwd=root,
                              input=stdin.encode(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=environment(ctx, env), timeout=LIMIT,
                              check=False)
        status, out = done.returncode, done.stdout
    except subprocess.TimeoutExpired as e:
        status, out = 124, e.stdout or b""
    return subprocess.CompletedProcess(args, status, out.decode(errors="replace"), None)


def on_terminal(ctx: Context, root: Path, *args: str,
                env: dict[str, str] | None = None) -> str:
    """What tests/lab ARGS writes on a terminal (script(1) gives it one)."""
    command = shlex.join([str(root / "tests" / "lab"), *args])
    done = subprocess.run(["script", "-q", "-e", "-c", command, "/dev/null"], cwd=root,
                          stdin=subprocess.DEVNULL, capture_output=True, env=environment(ctx, env),
                          timeout=LIMIT, check=False)
    return done.stdout.decode(errors="replace")


def said(what: str, done: subprocess.CompletedProcess[str], lines: int = 30) -> list[str]:
    """A problem, and the end of what the command printed."""
    out = done.stdout.splitlines()
    return [f"{what} (exit status {done.returncode}); it printed:",
            *("  " + line for line in out[-lines:])]


def lesson_line(out: str, lesson: Lesson) -> str:
    """The lesson's line in list's or grade's output."""
    found = re.search(rf"^{lesson.id} .*$", out, re.MULTILINE)
    return found.group(0) if found else ""


def find(ctx: Context, lid: str) -> Lesson:
    return ctx.manifest.find(lid)


def put(ctx: Context, root: Path, lesson: Lesson, tree: str = "solutions") -> None:
    """Lesson's files from the lab's TREE into ROOT's work/."""
    for f in lesson.files:
        shutil.copyfile(ctx.lab.root / tree / lesson.name / f, root / "work" / lesson.name / f)


def wait_for(path: Path, pattern: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if re.search(pattern, path.read_text(errors="replace"), re.MULTILINE):
            return True
        time.sleep(0.2)
    return False
