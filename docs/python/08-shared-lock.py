# Lesson 08's trap in Python: each worker makes a lock of its own.
# `make test` checks, under each start method, that it prints a number up
# to 99 (short of it now and then: the locks changed nothing).
# shmlab-expect fork spawn forkserver: ^[1-9][0-9]?$
from multiprocessing import Lock, Manager, Process

def work(total):
    lock = Lock()               # a lock of its own
    with lock:
        total.value += 1

if __name__ == "__main__":
    manager = Manager()
    total = manager.Value("i", 0)
    workers = [Process(target=work, args=(total,)) for _ in range(99)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(total.value)          # 97, now and then; the lock changed nothing
