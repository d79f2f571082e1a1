"""Dict sets per second through Python's multiprocessing.Manager, for `make bench`.

Prints one number: sets per second from one client (the figure the
manager's pipelined sets are compared with), and, on stderr, the rate
from two clients at once.
"""
import multiprocessing
import sys
import time

SECONDS = 1.0


def sets(d, key, out=None):
    n, start = 0, time.monotonic()
    while True:
        for _ in range(1000):
            d[key] = n
            n += 1
        elapsed = time.monotonic() - start
        if elapsed >= SECONDS:
            break
    rate = n / elapsed
    if out is not None:
        out.put(rate)
    return rate


if __name__ == "__main__":
    with multiprocessing.Manager() as manager:
        d = manager.dict()
        one = sets(d, "k")
        results = multiprocessing.Queue()
        workers = [multiprocessing.Process(target=sets, args=(d, f"k{i}", results)) for i in range(2)]
        for w in workers:
            w.start()
        two = sum(results.get() for _ in workers)
        for w in workers:
            w.join()
    print(f"{one:.0f}")
    print(f"Python Manager dict sets, 2 clients: {two:.0f} /s", file=sys.stderr)
