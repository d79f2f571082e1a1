"""move.py - what moving a block of N bytes between two processes costs in
Python (make measure).

A writer (this process) hands blocks of N bytes to a reader process, one at
a time, for about S seconds; prints, as CSV, the microseconds per block and
the megabytes (10^6 bytes) per second. Two semaphores take turns. HOW:
  manager        a Manager().dict(): d["block"] = data, then d["block"]
                 in the reader (pickled, sent to the manager and back)
  shared_memory  a shared_memory.SharedMemory segment: the block is copied
                 into shm.buf, and the reader copies it out with bytes()

Usage: python3 move.py manager|shared_memory BYTES SECONDS
Exits 3, having said why on stderr, when this Python lacks what it needs.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
from typing import Any


def reader(how: str, where: Any, n: int, full: Any, empty: Any, done: Any) -> None:
    while True:
        full.acquire()
        if done.value:
            break
        block = where["block"] if how == "manager" else bytes(where.buf[:n])
        if len(block) != n:
            raise RuntimeError(f"a block of {len(block)} bytes, not {n}")
        empty.release()


def measure(how: str, n: int, seconds: float) -> float:
    ctx = multiprocessing.get_context("fork")  # the reader inherits the segment
    full, empty = ctx.Semaphore(0), ctx.Semaphore(0)
    done = ctx.Value("b", 0, lock=False)  # set, with full released: no more blocks
    data = b"x" * n
    manager = shm = None
    try:
        if how == "manager":
            manager = ctx.Manager()
            where: Any = manager.dict()
        else:
            from multiprocessing import shared_memory
            # A name make test can look for in /dev/shm, should one be left there.
            shm = where = shared_memory.SharedMemory(name=f"shmlab-measure-py-{os.getpid()}",
                                                     create=True, size=n)
        child = ctx.Process(target=reader, args=(how, where, n, full, empty, done))
        child.start()
        blocks, start, elapsed = -1, 0.0, 0.0  # the first block, untimed, warms up
        while blocks < 1 or elapsed < seconds:
            if how == "manager":
                where["block"] = data
            else:
                where.buf[:n] = data
            full.release()
            empty.acquire()  # the reader has taken it
            blocks += 1
            if blocks == 0:
                start = time.monotonic()
            elapsed = time.monotonic() - start
        done.value = 1
        full.release()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError("the reader failed")
        return blocks / elapsed
    finally:
        if shm is not None:
            shm.close()
            shm.unlink()  # nothing left in /dev/shm
        if manager is not None:
            manager.shutdown()


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[1] not in ("manager", "shared_memory"):
        print("usage: move.py manager|shared_memory BYTES SECONDS", file=sys.stderr)
        return 2
    how, n, seconds = argv[1], int(argv[2]), float(argv[3])
    try:
        rate = measure(how, n, seconds)
    except (ValueError, ImportError, OSError) as e:  # no fork, no sem_open, no /dev/shm
        print(f"move.py {how}: this Python cannot: {e}", file=sys.stderr)
        return 3
    print("method,bytes,us_per_block,mb_per_second")
    print(f"python-{how},{n},{1e6 / rate:.3f},{rate * n / 1e6:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
