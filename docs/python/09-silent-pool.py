# Lesson 09's traps in Python: a pool whose task fails in silence, and a
# pool that waits for ever for the task of a worker that was killed.
# `make test` checks, under each start method, that it prints:
# shmlab-expect fork spawn forkserver: ^done: 6 tasks\nstill waiting after 3 s$
import os
import signal
from multiprocessing import Pool, TimeoutError

def square(x):
    if x == 5:
        raise ValueError("cannot square 5")
    return x * x

def killed(x):
    os.kill(os.getpid(), signal.SIGKILL)    # as the OOM killer would

if __name__ == "__main__":
    with Pool(4) as pool:
        results = [pool.apply_async(square, (x,)) for x in range(6)]
        pool.close()
        pool.join()
        print("done:", len(results), "tasks")   # the ValueError sits unread in results[5]

    with Pool(2) as pool:
        waiting = pool.map_async(killed, [1])
        try:
            waiting.get(timeout=3)
        except TimeoutError:
            print("still waiting after 3 s")    # and would for ever, without a timeout
