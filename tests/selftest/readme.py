"""The README against the manifest: the table of lessons says what lessons.toml says."""
from __future__ import annotations

import re

from shmlab.context import Context

from .checks import Check, Part

ROW = re.compile(r"^\| (\d\d) \| \[(.*)\]\((.*)\) \| (.*) \|$")


def lesson_table_matches(ctx: Context) -> list[str]:
    text = (ctx.lab.root / "README.md").read_text()
    rows = {m.group(1): m.groups()[1:] for m in map(ROW.match, text.splitlines()) if m}
    problems = []
    for lesson in ctx.manifest.lessons:
        want = (lesson.title, f"lessons/{lesson.name}.md", lesson.trap)
        got = rows.pop(lesson.id, None)
        if got != want:
            problems.append(f"README.md, lesson {lesson.id}: the table says {got}; the manifest "
                            f"says {want}")
    problems += [f"README.md lists a lesson {i} that the manifest does not have" for i in rows]
    return problems


def parts(ctx: Context) -> list[Part]:
    return [Part("The README", (Check("the README's table of lessons matches lessons.toml",
                                      lambda: lesson_table_matches(ctx)),), key="readme")]
