"""ops.py - what one update of a shared counter costs in Python (make measure).

P worker processes update one shared counter for about S seconds, all
started at once; prints, as CSV, the updates per second of all together.
HOW is the tool:
  value    multiprocessing.Value, its lock held around each addition:
           with v.get_lock(): v.value += 1   (shared memory and a semaphore)
  manager  a Manager().dict(), one key set per update: d["counter"] = n
           (a request to the manager's process and its reply, as lesson 07)

Usage: python3 ops.py value|manager PROCESSES SECONDS
Exits 3, having said why on stderr, when this Python lacks what it needs.
"""
from __future__ import annotations

import multiprocessing
import sys
import time
from typing import Any, Callable

BATCH = 100  # updates between two looks at the clock


def _with_value(v: Any) -> Callable[[int], None]:
    def update(_: int) -> None:
        with v.get_lock():
            v.value += 1
    return update


def _with_manager(d: Any) -> Callable[[int], None]:
    def update(n: int) -> None:
        d["counter"] = n
    return update


def work(update: Callable[[int], None], seconds: float, gate: Any, rates: Any, i: int) -> None:
    gate.wait()  # every worker starts once all have started
    n, start = 0, time.monotonic()
    while True:
        for _ in range(BATCH):
            update(n)
            n += 1
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
    rates[i] = n / elapsed


def measure(how: str, processes: int, seconds: float) -> float:
    ctx = multiprocessing.get_context("fork")  # the workers inherit the shared objects
    rates = ctx.Array("d", processes, lock=False)
    gate = ctx.Barrier(processes)
    manager = None
    try:
        if how == "value":
            update = _with_value(ctx.Value("l", 0))
        else:
            manager = ctx.Manager()
            d = manager.dict()
            update = _with_manager(d)
        workers = [ctx.Process(target=work, args=(update, seconds, gate, rates, i))
                   for i in range(processes)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if any(w.exitcode != 0 for w in workers):
            raise RuntimeError("a worker failed")
        return sum(rates)
    finally:
        if manager is not None:
            manager.shutdown()


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[1] not in ("value", "manager"):
        print("usage: ops.py value|manager PROCESSES SECONDS", file=sys.stderr)
        return 2
    how, processes, seconds = argv[1], int(argv[2]), float(argv[3])
    try:
        multiprocessing.get_context("fork")
        rate = measure(how, processes, seconds)
    except (ValueError, ImportError, OSError) as e:  # no fork, no sem_open, no /dev/shm
        print(f"ops.py {how}: this Python cannot: {e}", file=sys.stderr)
        return 3
    print("method,processes,ops_per_second")
    print(f"python-{how},{processes},{rate:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
