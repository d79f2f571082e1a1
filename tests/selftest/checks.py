"""What a check and a part of `make test` are."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


# A line a check returns that starts so is no problem: it says what the
# check could not do on this machine, and why (make test repeats it last).
NOTE = "NOT CHECKED HERE: "


@dataclass(frozen=True)
class Check:
    what: str                          # one line of make test's output
    run: Callable[[], list[str]]       # the problems it found (and NOTEs); none: it passed


@dataclass(frozen=True)
class Part:
    title: str
    checks: tuple[Check, ...]
    key: str            # what `make test LESSON=KEY` names: a lesson's id, or a part's name
    ordered: bool = True  # the checks depend on each other: run them one after another
