"""make test: every part, several at once, each part's lines printed together, in order."""
from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from shmlab.common import LabError
from shmlab.context import Context

from .checks import NOTE, Check, Part


# Each part's time in make test, measured (a quiet 2-core machine, 13 lessons,
# four parts at a time). The longest start first, so that the last to end are
# short ones: started in the parts' order, lesson 13 (8 min) began late and the
# machine stood half idle for the last 5 minutes. A part not named here is
# taken to be of DEFAULT_SECONDS.
SECONDS = (("gradescope", 800), ("kit", 720), ("class", 700), ("13", 510),
           ("command", 340), ("11", 360), ("texts", 340), ("06", 310), ("02", 270),
           ("01", 240), ("12", 240), ("10", 230), ("book", 230), ("03", 200), ("09", 190),
           ("08", 160), ("05", 140), ("manager", 140), ("07", 120), ("harness", 120),
           ("04", 90), ("measure", 20), ("readme", 1))
DEFAULT_SECONDS = 200


@dataclass(frozen=True)
class Outcome:
    what: str
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()   # what it could not check on this machine, and why


def _run_check(check: Check) -> Outcome:
    try:
        said = tuple(check.run())
    except LabError as e:
        said = (str(e),)
    except Exception as e:  # a check that breaks is a failed check, not a crashed run
        said = (f"the check itself failed: {type(e).__name__}: {e}",)
    return Outcome(check.what, tuple(line for line in said if not line.startswith(NOTE)),
                   tuple(line for line in said if line.startswith(NOTE)))


def _run_part(part: Part) -> tuple[list[Outcome], float]:
    """Its checks' outcomes, and the part's time (a part may run its checks at
    once, so a check's own time would be only its wait for the one before)."""
    began = time.monotonic()
    return [_run_check(check) for check in part.checks], time.monotonic() - began


def _all_parts(ctx: Context) -> tuple[list[Part], list[Part]]:
    """The parts, and those that must run once all the others have ended."""
    from . import book, classroom, command, kit, lessons, measure, readme
    first = [*lessons.parts(ctx), *book.parts(ctx), *command.parts(ctx),
             *classroom.parts(ctx), *kit.parts(ctx), *readme.parts(ctx), *measure.parts(ctx)]
    return first, lessons.final_parts(ctx)


def main(ctx: Context, only: str) -> int:
    parts, last = _all_parts(ctx)
    if only:
        last = []
        keys = {p.key for p in parts}
        if only not in keys:
            try:
                only = ctx.manifest.find(only).id
            except LabError:
                raise LabError(f"no part '{only}' of the tests; the parts are: "
                               + " ".join(sorted(keys))) from None
        parts = [p for p in parts if p.key == only]
    style = ctx.style
    began = time.monotonic()
    passed = failed = 0
    notes: list[str] = []
    # The parts mostly wait (time limits, sleeps, the race amplifier's pauses):
    # two at a time per core keeps the machine busy without starving the races.
    workers = max(2, 2 * len(os.sched_getaffinity(0)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # The longest parts start first; their lines are still printed in the parts' order.
        seconds = dict(SECONDS)
        started = {id(part): pool.submit(_run_part, part)
                   for part in sorted(parts, key=lambda p: -seconds.get(p.key, DEFAULT_SECONDS))}
        futures: list[tuple[Part, Future[tuple[list[Outcome], float]]]] = [
            (part, started[id(part)]) for part in parts]
        results = [(part, future.result) for part, future in futures]
        results += [(part, lambda part=part: _run_part(part)) for part in last]
        for part, result in results:
            outcomes, seconds = result()
            print(f"{style.bold(part.title)}  ({seconds:.0f} s)", flush=True)
            for o in outcomes:
                mark = style.green("ok  ") if not o.problems else style.red("FAIL")
                print(f"  {mark}  {o.what}")
                for line in (*o.problems, *o.notes):
                    for sub in line.splitlines():
                        print(f"        {sub}")
                notes += [n for n in o.notes if n not in notes]
                passed += not o.problems
                failed += bool(o.problems)
            print(end="", flush=True)
    took = time.monotonic() - began
    print(f"test: {passed} passed, {failed} failed, in {took / 60:.1f} min")
    for note in notes:  # said last, where the summary is read
        print(f"test: {note}")
    return 0 if failed == 0 else 1
