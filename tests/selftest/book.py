"""make test's part for the book: both editions build, read back, link, differ
as they should and render styled; and the checks themselves can fail."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import partial

from shmlab import book
from shmlab.common import Lab
from shmlab.context import Context

from .checks import Check, Part

SHOWN = 40  # lines of a failed build's messages shown under the check
# The pages chromium renders: (edition, page, width, height, label, what the check says).
VIEWS = (
    ("student", "index", 1280, 1000, "laptop", "the index, styled, on a laptop"),
    ("student", "05-shareable-list", 390, 844, "phone", "a lesson, styled, on a phone"),
    ("full", "06-segment-manager", 1280, 1000, "laptop",
     "a lesson of the full edition, styled, on a laptop"),
)


def _builds(ctx: Context) -> list[str]:
    """make docs, as a student or CI runs it (its own process: what it prints stays
    out of make test's lines), then each EPUB read back."""
    lab = ctx.lab
    log = lab.build / "test" / "book-build.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, str(lab.root / "tests" / "lab"), "docs", "both"],
                          cwd=lab.root, env={**os.environ, "BUILD": str(lab.build)},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        said = (done.stdout + done.stderr).splitlines()
        return [f"tests/lab docs both: exit status {done.returncode} ({lab.rel(log)}):",
                *said[-SHOWN:]]
    return [problem for edition in book.EDITIONS
            for problem in book.epub_reads_back(lab, ctx.manifest, edition)]


def _checks_catch_breakage(lab: Lab) -> list[str]:
    """The checks must be able to fail: a copy of the student edition, broken on purpose."""
    out = book.out_dir(lab)
    broken = out / "broken"
    shutil.rmtree(broken, ignore_errors=True)
    try:
        try:
            shutil.copytree(out / "student", broken)
            index = broken / "index.html"
            index.write_text(index.read_text().replace(
                "</main>", '<a href="no-such-page.html">x</a>'
                           '<a href="index.html#no-such-anchor">y</a></main>'))
            lesson = (broken / "01-unshared-list.html").read_text().splitlines(keepends=True)
            (broken / "unstyled.html").write_text(
                "".join(line for line in lesson if "book.css" not in line))
        except OSError as e:
            return [f"cannot make the broken copy {lab.rel(broken)}: {e.strerror}: {e.filename}"]
        problems = []
        found = book.links(lab, "broken")
        if not any("no-such-page.html" in p for p in found):
            problems.append("the link check passed a link to no page")
        if not any("#no-such-anchor" in p for p in found):
            problems.append("the link check passed a link to no anchor")
        seen = book.renders(lab, "broken", "unstyled", 1280, 1000, "laptop")
        if not any("book.css" in p for p in seen):
            problems += ["the render check did not see a page without its stylesheet; "
                         "it said:", *seen]
        return problems
    finally:
        shutil.rmtree(broken, ignore_errors=True)
        for shot in (out / "screenshots").glob("broken-*"):
            shot.unlink()


def parts(ctx: Context) -> list[Part]:
    lab = ctx.lab
    checks = [
        Check("make docs builds both editions, HTML and EPUB; each EPUB holds every chapter",
              partial(_builds, ctx)),
        Check("every link and anchor of the student edition resolves",
              partial(book.links, lab, "student")),
        Check("every link and anchor of the full edition resolves",
              partial(book.links, lab, "full")),
        Check("the student edition shows no line of a solution; the full one every lesson's diff",
              partial(book.editions, lab, ctx.manifest)),
        *(Check(f"chromium renders {what}", partial(book.renders, lab, edition, page, w, h, label))
          for edition, page, w, h, label, what in VIEWS),
        Check("the book's checks catch a broken link and a page without its stylesheet",
              partial(_checks_catch_breakage, lab)),
    ]
    return [Part("The book", tuple(checks), key="book", ordered=True)]
