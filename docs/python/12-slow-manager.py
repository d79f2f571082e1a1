# Lesson 12's trap in Python: a large array moved through a Manager, one
# element a request. `make test` checks, under each start method, that it
# moves every element (the time varies: the book shows a run's).
# shmlab-expect fork spawn forkserver: ^Manager\(\)\.list\(\): 20000 doubles, all right, in [0-9.]+ s$
import time
from multiprocessing import Barrier, Manager, Process

N, WORKERS = 20000, 4

def work(results, first, count, start):
    start.wait()                # all together, once every process is up
    for i in range(first, first + count):
        results[i] = i / 7          # one request to the manager per element

if __name__ == "__main__":
    with Manager() as manager:
        results = manager.list([0.0] * N)
        start = Barrier(WORKERS + 1)
        workers = [Process(target=work, args=(results, w * N // WORKERS, N // WORKERS, start))
                   for w in range(WORKERS)]
        for w in workers:
            w.start()
        start.wait()
        began = time.perf_counter()
        for w in workers:
            w.join()
        array = list(results)       # one request: the whole list, pickled
        seconds = time.perf_counter() - began
        right = "all right" if array == [i / 7 for i in range(N)] else "WRONG"
        print(f"Manager().list(): {N} doubles, {right}, in {seconds:.2f} s")
