"""make test's part for make measure: a quick run draws every plot from CSV
that has rows, and leaves no segment and no process behind."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from functools import partial
from pathlib import Path

from shmlab import measure
from shmlab.common import Lab
from shmlab.context import Context

from .checks import Check, Part

SHOWN = 40          # lines of a failed run's messages shown under the check
TIMEOUT = 300       # seconds: a quick run takes well under a minute
MIN_SVG_BYTES = 4000  # an empty gnuplot canvas is smaller than a plot with lines
SVG = "{http://www.w3.org/2000/svg}"
# What the measurement programs name their segments: tests/measure/move.c, move.py.
SEGMENT_PREFIX = "shmlab-measure-"


def _segments() -> set[str]:
    try:
        return {name for name in os.listdir("/dev/shm") if name.startswith(SEGMENT_PREFIX)}
    except OSError:
        return set()


def _processes(lab: Lab) -> list[str]:
    """The command lines of processes still running a program of make measure
    for this build (BUILD in their environment: a make measure of another
    build may be running beside make test)."""
    marks = (str(measure.out_dir(lab) / "bin"), str(measure.SOURCES))
    ours = f"BUILD={lab.build}".encode()
    left = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not any(mark in argv for mark in marks):
                continue
            if ours not in (entry / "environ").read_bytes().split(b"\0"):
                continue
        except OSError:  # ended while we looked, or not ours to read
            continue
        left.append(f"{entry.name}: {argv.strip()}")
    return left


def _quick_run(lab: Lab) -> list[str]:
    """tests/lab measure --quick in its own process, as a reader runs it; then
    nothing of it may be left in /dev/shm or among the processes."""
    before = _segments()
    log = lab.build / "test" / "measure-quick.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    # Its own session: should it hang, it goes with every process it started.
    proc = subprocess.Popen([sys.executable, str(lab.root / "tests" / "lab"), "measure",
                             "--quick"], cwd=lab.root, env={**os.environ, "BUILD": str(lab.build)},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        said, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        said, _ = proc.communicate()
        said += f"\n(stopped after {TIMEOUT} s)"
    log.write_text(said)
    problems = []
    if proc.returncode != 0:
        problems += [f"tests/lab measure --quick: exit status {proc.returncode} "
                     f"({lab.rel(log)}):", *said.splitlines()[-SHOWN:]]
    problems += [f"left in /dev/shm: {name}" for name in sorted(_segments() - before)]
    problems += [f"a process left running: {p}" for p in _processes(lab)]
    return problems


def _csv_has_rows(path: Path) -> list[str]:
    try:
        with path.open(newline="") as f:
            rows = [row for row in csv.reader(f) if row]
    except OSError as e:
        return [f"{path}: {e.strerror}"]
    if len(rows) < 2:
        return [f"{path}: no rows under its header"]
    width = len(rows[0])
    return [f"{path}, row {i}: {len(row)} fields, not {width}"
            for i, row in enumerate(rows[1:], 2) if len(row) != width]


def _svg_is_a_plot(path: Path) -> list[str]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        return [f"{path}: not an SVG that parses: {e}"]
    if root.tag != f"{SVG}svg":
        return [f"{path}: its root is {root.tag}, not an SVG"]
    problems = []
    if path.stat().st_size < MIN_SVG_BYTES:
        problems.append(f"{path}: {path.stat().st_size} bytes: too small to hold a plot")
    # gnuplot draws each plotted line in a group of its own: gnuplot_plot_1, _2...
    if not any(g.get("id", "").startswith("gnuplot_plot_") for g in root.iter(f"{SVG}g")):
        problems.append(f"{path}: no plotted line in it")
    return problems


def _outputs(lab: Lab) -> list[str]:
    out = measure.out_dir(lab)
    return [problem for name in measure.OUTPUTS
            for problem in (*_csv_has_rows(out / f"{name}.csv"),
                            *_svg_is_a_plot(out / f"{name}.svg"))]


def _checks_catch_breakage(lab: Lab, tmp: Path) -> list[str]:
    """The output checks must be able to fail: an empty CSV, a broken SVG."""
    tmp.mkdir(parents=True, exist_ok=True)
    empty, broken = tmp / "empty.csv", tmp / "broken.svg"
    empty.write_text("method,processes,ops_per_second\n")
    broken.write_text('<svg xmlns="http://www.w3.org/2000/svg"><g id="gnuplot_plot_1">')
    problems = []
    if not _csv_has_rows(empty):
        problems.append("the CSV check passed a CSV with a header and no rows")
    if not _svg_is_a_plot(broken):
        problems.append("the SVG check passed an SVG that does not parse")
    return problems


def parts(ctx: Context) -> list[Part]:
    lab = ctx.lab
    checks = (
        Check("tests/lab measure --quick runs every measurement and leaves nothing behind "
              "(no segment in /dev/shm, no process)", partial(_quick_run, lab)),
        Check("every CSV it wrote has rows, every SVG parses and holds a plot",
              partial(_outputs, lab)),
        Check("those checks catch a CSV without rows and an SVG that does not parse",
              partial(_checks_catch_breakage, lab, lab.build / "test" / "measure-broken")),
    )
    return [Part("What sharing costs (make measure)", checks, key="measure")]
