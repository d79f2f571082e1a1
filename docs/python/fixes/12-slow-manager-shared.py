# The same array through shared memory: each worker writes its slice into
# a segment, and only the segment's name is passed along.
# shmlab-expect fork spawn forkserver: ^SharedMemory: 20000 doubles, all right, in [0-9.]+ s$
import time
from multiprocessing import Barrier, Process
from multiprocessing.shared_memory import SharedMemory

N, WORKERS = 20000, 4

def work(name, first, count, start):
    shm = SharedMemory(name=name)
    view = shm.buf.cast("d")        # the segment, as doubles
    start.wait()                    # all together, once every process is up
    for i in range(first, first + count):
        view[i] = i / 7             # a store to memory, no request
    view.release()
    shm.close()

if __name__ == "__main__":
    shm = SharedMemory(create=True, size=8 * N)
    try:
        start = Barrier(WORKERS + 1)
        workers = [Process(target=work, args=(shm.name, w * N // WORKERS, N // WORKERS, start))
                   for w in range(WORKERS)]
        for w in workers:
            w.start()
        start.wait()
        began = time.perf_counter()
        for w in workers:
            w.join()
        view = shm.buf.cast("d")
        array = view.tolist()
        view.release()
        seconds = time.perf_counter() - began
        right = "all right" if array == [i / 7 for i in range(N)] else "WRONG"
        print(f"SharedMemory: {N} doubles, {right}, in {seconds:.2f} s")
    finally:
        shm.close()
        shm.unlink()
