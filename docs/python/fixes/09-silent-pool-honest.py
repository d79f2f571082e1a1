# Lesson 09's fix in Python: ask every result for its outcome, and use a
# pool that notices a killed worker. `make test` checks that it prints:
# shmlab-expect fork spawn forkserver: ^0 -> 0\n1 -> 1\n2 -> 4\n3 -> 9\n4 -> 16\n5 -> ValueError: cannot square 5\nBrokenProcessPool: .*$
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import Pool

def square(x):
    if x == 5:
        raise ValueError("cannot square 5")
    return x * x

def killed(x):
    os.kill(os.getpid(), signal.SIGKILL)

if __name__ == "__main__":
    with Pool(4) as pool:
        results = [pool.apply_async(square, (x,)) for x in range(6)]
        for x, r in enumerate(results):
            try:
                print(x, "->", r.get())         # get() raises what the task raised
            except ValueError as e:
                print(x, "-> ValueError:", e)

    with ProcessPoolExecutor(2) as pool:
        try:
            pool.submit(killed, 1).result()
        except BrokenProcessPool as e:
            print("BrokenProcessPool:", e)      # it noticed the death, and says so
