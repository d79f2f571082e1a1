"""The book's Python runs as the book says, and its exercises can be done:
checks of the texts part."""
from __future__ import annotations

import re
import tempfile
from functools import partial
from pathlib import Path

from shmlab import pysnippets
from shmlab.common import Lab
from shmlab.context import Context

from .checks import Check

INCLUDED = re.compile(r'include="(docs/python/[^"]+\.py)"')
INLINE_PYTHON = re.compile(r"^\s*```\s*python\s*$", re.MULTILINE)


def _texts(lab: Lab) -> list[Path]:
    return sorted([*(lab.root / "lessons").glob("[0-9][0-9]-*.md"),
                   *(lab.root / "docs").glob("*.md")])


def _runs(path: Path, expect: pysnippets.Expectation) -> list[str]:
    done = pysnippets.run(path, expect)
    if not done.problem:
        return []
    return [done.problem, *("  | " + line for line in done.output.splitlines()[:10])]


def _every_snippet_is_a_file(lab: Lab) -> list[str]:
    """No Python typed into a text (it would run nowhere), and no file of
    docs/python/ that no text shows."""
    problems = [f"{lab.rel(text)}: a ```python block typed in: make it a file of "
                f"{pysnippets.DIR}/ and include it"
                for text in _texts(lab) if INLINE_PYTHON.search(text.read_text())]
    shown = {m for text in _texts(lab) for m in INCLUDED.findall(text.read_text())}
    problems += [f"{lab.rel(path)} is shown by no text"
                 for path in pysnippets.files(lab) if lab.rel(path) not in shown]
    problems += [f"a text includes {name}, which is not there"
                 for name in sorted(shown) if not (lab.root / name).is_file()]
    return problems


def _catches_wrong_output() -> list[str]:
    """The check must be able to fail: a file that prints what its line does not say."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "99-wrong.py"
        path.write_text("# shmlab-expect fork: ^2$\nprint(1)\n")
        wrong = pysnippets.run(path, pysnippets.expectations(path)[0])
        path.write_text("# shmlab-expect default: ^1$\nimport sys\nsys.exit(3)\n")
        failed = pysnippets.run(path, pysnippets.expectations(path)[0])
    problems = []
    if not wrong.problem:
        problems.append("a file that prints 1 where its line says 2 passed")
    if not failed.problem:
        problems.append("a file that exits with status 3 passed")
    return problems


def _exercises(lab: Lab, text: Path) -> list[str]:
    """Each exercise gives a command (a code block, or `make ...`) and has an answer."""
    body = text.read_text()
    at = body.find("\n# Exercises")
    if at < 0:
        return [f"{lab.rel(text)} has no # Exercises section"]
    section = body[at:]
    nxt = section.find("\n# ", 1)
    section = section[:nxt] if nxt > 0 else section
    items = re.split(r"^\d+\. ", section, flags=re.MULTILINE)[1:]
    if not items:
        return [f"{lab.rel(text)}: its Exercises section has no numbered exercise"]
    problems = []
    for n, item in enumerate(items, 1):
        if "```" not in item and "`make " not in item:
            problems.append(f"{lab.rel(text)}: exercise {n} gives no command to run")
        if "::: answer" not in item:
            problems.append(f"{lab.rel(text)}: exercise {n} has no ::: answer")
    return problems


def checks(ctx: Context) -> list[Check]:
    lab = ctx.lab
    found = [Check("every Python program of the texts is a file of docs/python/, and "
                   "each is shown", partial(_every_snippet_is_a_file, lab)),
             Check("the check of the book's Python can fail", _catches_wrong_output)]
    found += [Check(f"{lab.rel(path)} prints what the book says, under start method "
                    f"{e.method}", partial(_runs, path, e))
              for path in pysnippets.files(lab) for e in pysnippets.expectations(path)]
    found += [Check(f"{lab.rel(text)}: every exercise gives a command and has an answer",
                    partial(_exercises, lab, text))
              for text in sorted((lab.root / "lessons").glob("[0-9][0-9]-*.md"))]
    return found
