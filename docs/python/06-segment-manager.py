# Lesson 06's manager in Python: segments made through a
# SharedMemoryManager, used by workers, unlinked when the with block ends.
# `make test` checks, under each start method, what the workers wrote and
# that nothing is left.
# shmlab-expect fork spawn forkserver: ^b'\\x01\\x02\\x03\\x04' \[0, 1, 4, 9\]\nleft in /dev/shm: \[\]$
import os
from multiprocessing import Process
from multiprocessing.managers import SharedMemoryManager

def work(a, x, i):
    a.buf[i] = i + 1
    x[i] = i * i

if __name__ == "__main__":
    with SharedMemoryManager() as smm:
        a = smm.SharedMemory(size=4096)         # made through the manager
        x = smm.ShareableList(range(4))
        workers = [Process(target=work, args=(a, x, i)) for i in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        print(bytes(a.buf[:4]), list(x))
        names = [a.name, x.shm.name]
    # here every segment made through smm is unlinked
    print("left in /dev/shm:", [n for n in names if os.path.exists("/dev/shm/" + n)])
