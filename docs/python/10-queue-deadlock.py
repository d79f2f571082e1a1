# Lesson 10's traps in Python: a parent that joins its child before it
# takes the child's message off the Queue, and one sentinel for three
# consumers. `make test` checks, under each start method, that it prints:
# shmlab-expect fork spawn forkserver: ^small: joined, then got 100 bytes\nlarge: still joining after 3 s\n1 of 3 consumers stopped$
from multiprocessing import Process, Queue

def produce(q, size):
    q.put(b"x" * size)

def consume(q):
    while q.get() is not None:
        pass

if __name__ == "__main__":
    for name, size in (("small", 100), ("large", 1_000_000)):
        q = Queue()
        child = Process(target=produce, args=(q, size))
        child.start()
        child.join(timeout=3)               # join first, get after: the trap
        if child.is_alive():
            print(f"{name}: still joining after 3 s")
            q.get()                         # (only so that the demo can end)
            child.join()
        else:
            print(f"{name}: joined, then got {len(q.get())} bytes")

    q = Queue()
    consumers = [Process(target=consume, args=(q,)) for _ in range(3)]
    for c in consumers:
        c.start()
    for task in range(30):
        q.put(task)
    q.put(None)                             # one sentinel for three consumers
    for c in consumers:
        c.join(timeout=1)
    print(sum(not c.is_alive() for c in consumers), "of 3 consumers stopped")
    for c in consumers:                     # (only so that the demo can end)
        q.put(None)
    for c in consumers:
        c.join()
