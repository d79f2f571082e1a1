"""make measure: what sharing costs, measured on this machine (docs/costs.md).

Three measurements, each a series of runs of small programs in tests/measure/
(C, and Python for the Python columns), each printing CSV on stdout:

  race  how often a racy counter ends short, with no race amplifier,
        by workers and additions per worker (race.c)
  ops   updates per second of one shared counter, by how it is guarded
        and by how many processes update it (ops.c, mgr-ops.c, ops.py)
  move  moving a block of N bytes between two processes (move.c,
        mgr-move.c, move.py)

Each case of ops and move runs three times, and the median is kept. Each
gathers its rows into BUILD/measure/NAME.csv and gnuplot draws
BUILD/measure/NAME.svg with tests/measure/NAME.gp. --quick runs a few small
cases briefly: it proves that everything works, and its numbers mean nothing.
A Python column this Python cannot measure is left out, with a note.
"""
from __future__ import annotations

import csv
import datetime
import io
import os
import platform
import signal
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .build import CFLAGS
from .common import Lab, LabError
from .context import Context
from .statusline import StatusLine

SOURCES = Path("tests/measure")
MANAGER = Path("starter/common/manager")
# The C programs: (name, whether it is linked with the manager).
PROGRAMS = (("race", False), ("ops", False), ("move", False),
            ("mgr-ops", True), ("mgr-move", True))
SKIPPED = 3  # a Python script's exit status: this Python lacks what it needs
# The manager refuses a frame over 1 MiB (protocol.h): its blocks stop below.
MANAGER_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Plan:
    workers: tuple[int, ...]       # race: worker processes
    additions: tuple[int, ...]     # race: additions per worker
    runs: int                      # race: runs per cell
    processes: tuple[int, ...]     # ops: processes updating at once
    sizes: tuple[int, ...]         # move: block sizes in bytes
    ops_seconds: float             # each ops run lasts about this long
    move_seconds: float            # and each move run
    repeats: int                   # ops and move: runs of each case; the median is kept


FULL = Plan(workers=(2, 4, 8, 16), additions=(1, 10, 100, 1000, 10_000, 100_000, 1_000_000),
            runs=50, processes=(1, 2, 4, 8),
            sizes=(8, *(4 ** k for k in range(2, 14))),  # 8 B, 16 B, 64 B ... 64 MiB
            ops_seconds=1.0, move_seconds=0.5, repeats=3)
QUICK = Plan(workers=(2, 4), additions=(1, 1000), runs=3, processes=(1, 2),
             sizes=(8, 4096, 65536), ops_seconds=0.1, move_seconds=0.1, repeats=1)

C_METHODS = ("plain", "atomic", "mutex", "sem")
MANAGER_METHODS = ("incr", "set", "pipelined")
PY_OPS = ("value", "manager")
PY_MOVES = ("manager", "shared_memory")
OUTPUTS = ("race", "ops", "move")  # NAME.csv and NAME.svg each


@dataclass
class Table:
    """One CSV: its header (the first program's) and every program's rows."""
    header: list[str]
    rows: list[list[str]]


def out_dir(lab: Lab) -> Path:
    return lab.build / "measure"


def machine() -> str:
    """This machine in one line, for the chapter's reader: cores, CPU, kernel, date."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{len(os.sched_getaffinity(0))} cores ({model}), Linux {platform.release()}, "
            f"Python {platform.python_version()}, {datetime.date.today().isoformat()}")


def _build(lab: Lab, cc: str) -> Path:
    """Compiles the C programs into BUILD/measure/bin; returns that directory."""
    bin_dir = out_dir(lab) / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    manager = sorted(str(p.relative_to(lab.root)) for p in (lab.root / MANAGER).glob("*.c"))
    for name, with_manager in PROGRAMS:
        argv = [cc, *CFLAGS, "-pthread", "-Istarter/common", f"-I{MANAGER}",
                "-o", str(bin_dir / name), str(SOURCES / f"{name}.c"),
                *(manager if with_manager else [])]
        done = subprocess.run(argv, cwd=lab.root, capture_output=True, text=True,
                              errors="replace", check=False)
        if done.returncode != 0:
            raise LabError(f"{SOURCES}/{name}.c does not build:\n{done.stdout}{done.stderr}")
    return bin_dir


def _run(lab: Lab, argv: list[str], timeout: float) -> tuple[list[str], list[list[str]]] | str:
    """Runs one measurement: its CSV header and rows, or, when a Python
    script cannot measure here, what it said. Each program runs in a session
    of its own, so that a run out of time is ended with all its children."""
    proc = subprocess.Popen(argv, cwd=lab.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise LabError(f"{' '.join(argv)}: still running after {timeout:.0f} s; ended") from None
    finally:
        try:  # whatever it left behind (a forgotten child) goes too
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc.returncode == SKIPPED:
        return err.strip()
    if proc.returncode != 0:
        raise LabError(f"{' '.join(argv)}: exit status {proc.returncode}:\n{err.strip()}")
    rows = [row for row in csv.reader(io.StringIO(out)) if row]
    if len(rows) < 2:
        raise LabError(f"{' '.join(argv)}: no CSV rows in what it printed:\n{out}")
    return rows[0], rows[1:]


def _median(lab: Lab, argv: list[str], timeout: float,
            repeats: int) -> tuple[list[str], list[list[str]]] | str:
    """Runs ARGV REPEATS times; keeps the run whose last column (the rate) is
    the median: on a shared machine one run may be unlucky either way."""
    got = [_run(lab, argv, timeout) for _ in range(repeats)]
    for one in got:
        if isinstance(one, str):
            return one
    ranked = sorted((one for one in got if not isinstance(one, str)),
                    key=lambda one: float(one[1][0][-1]))
    return ranked[len(ranked) // 2]


def _gather(lab: Lab, line: StatusLine, name: str, runs: list[list[str]],
            timeout: float, repeats: int = 1) -> tuple[Table, list[str]]:
    """Runs each argv of RUNS: the table of all their rows, and the notes of those skipped."""
    table = Table(header=[], rows=[])
    notes: list[str] = []
    try:
        for i, argv in enumerate(runs, 1):
            shown = " ".join(Path(a).name for a in argv if a != sys.executable)
            line.set("measure", f"measure: {name}, {i} of {len(runs)}: {shown}")
            got = _median(lab, argv, timeout, repeats)
            if isinstance(got, str):
                if got not in notes:
                    notes.append(got)
                continue
            header, rows = got
            if table.header and header != table.header:
                raise LabError(f"{shown}: its CSV header {header} is not {table.header}")
            table.header = header
            table.rows += rows
    finally:
        line.set("measure", "")
    if not table.rows:
        raise LabError(f"measure: {name}: no measurement gave a row")
    return table, notes


def _write(path: Path, table: Table) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(table.header)
        writer.writerows(table.rows)


def _plot(lab: Lab, name: str, variables: dict[str, str]) -> Path:
    """NAME.svg from NAME.csv, by tests/measure/NAME.gp; VARIABLES are set first."""
    out = out_dir(lab)
    csv_path, svg = out / f"{name}.csv", out / f"{name}.svg"
    settings = {"csv": str(csv_path), "out": str(svg), **variables}
    if any("'" in value for value in settings.values()):
        raise LabError(f"gnuplot would misread a quote in {settings}: use a BUILD without one")
    assignments = "; ".join(f"{key}='{value}'" for key, value in settings.items())
    done = subprocess.run(["gnuplot", "-e", assignments, str(SOURCES / f"{name}.gp")],
                          cwd=lab.root, capture_output=True, text=True, errors="replace",
                          check=False)
    if done.returncode != 0 or not svg.is_file():
        raise LabError(f"gnuplot {SOURCES}/{name}.gp failed:\n{done.stderr.strip()}")
    return svg


def _methods(table: Table) -> str:
    """The methods that gave rows, in the order they were measured."""
    return " ".join(dict.fromkeys(row[0] for row in table.rows))


def _race(lab: Lab, line: StatusLine, bin_dir: Path, plan: Plan) -> list[str]:
    runs = [[str(bin_dir / "race"), str(w), str(a), str(plan.runs)]
            for w in plan.workers for a in plan.additions]
    table, notes = _gather(lab, line, "race", runs, timeout=300)
    _write(out_dir(lab) / "race.csv", table)
    _plot(lab, "race", {"workers": " ".join(map(str, plan.workers))})
    return notes


def _ops(lab: Lab, line: StatusLine, bin_dir: Path, plan: Plan) -> list[str]:
    s = str(plan.ops_seconds)
    runs = [[str(bin_dir / "ops"), m, str(p), s] for m in C_METHODS for p in plan.processes]
    runs += [[str(bin_dir / "mgr-ops"), m, str(p), s]
             for m in MANAGER_METHODS for p in plan.processes]
    runs += [[sys.executable, str(SOURCES / "ops.py"), m, str(p), s]
             for m in PY_OPS for p in plan.processes]
    table, notes = _gather(lab, line, "ops", runs, 60 + 4 * plan.ops_seconds, plan.repeats)
    _write(out_dir(lab) / "ops.csv", table)
    _plot(lab, "ops", {"methods": _methods(table)})
    return notes


def _move(lab: Lab, line: StatusLine, bin_dir: Path, plan: Plan) -> list[str]:
    s = str(plan.move_seconds)
    runs = [[str(bin_dir / "move"), m, str(n), s] for m in ("shm", "pipe") for n in plan.sizes]
    runs += [[str(bin_dir / "mgr-move"), str(n), s]
             for n in plan.sizes if n <= MANAGER_MAX_BYTES]
    runs += [[sys.executable, str(SOURCES / "move.py"), m, str(n), s]
             for m in PY_MOVES for n in plan.sizes]
    table, notes = _gather(lab, line, "move", runs, 120 + 4 * plan.move_seconds, plan.repeats)
    _write(out_dir(lab) / "move.csv", table)
    _plot(lab, "move", {"methods": _methods(table)})
    return notes


def measure(ctx: Context, quick: bool) -> int:
    """make measure (tests/lab measure [--quick]): exits 0 when every plot was drawn."""
    lab = ctx.lab
    if not (lab.root / SOURCES).is_dir():
        raise LabError(f"make measure needs the whole repository ({SOURCES}/ is not here)")
    if shutil.which("gnuplot") is None:
        raise LabError("gnuplot is missing (tests/deps measure installs it)")
    plan = QUICK if quick else FULL
    out = out_dir(lab)
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:  # nothing of an earlier run may pass for this one's
        for suffix in (".csv", ".svg"):
            (out / f"{name}{suffix}").unlink(missing_ok=True)
    here = machine()
    (out / "machine.txt").write_text(here + "\n")
    print(f"measure: on {here}{' (quick: the numbers mean nothing)' if quick else ''}",
          flush=True)
    began = time.monotonic()
    bin_dir = _build(lab, ctx.toolchain().cc)
    line = StatusLine()
    notes: list[str] = []
    for name, step in (("race", _race), ("ops", _ops), ("move", _move)):
        started = time.monotonic()
        notes += step(lab, line, bin_dir, plan)
        print(f"measure: {name}: {lab.rel(out / (name + '.csv'))}, "
              f"{lab.rel(out / (name + '.svg'))} ({time.monotonic() - started:.0f} s)",
              flush=True)
    for note in notes:
        print(f"measure: not measured: {note}")
    print(f"measure: done in {time.monotonic() - began:.0f} s")
    return 0
