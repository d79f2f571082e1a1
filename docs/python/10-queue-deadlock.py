# Lesson 10's traps in Python: a parent that joins its child before it
# takes the child's message off the Queue, and one sentinel for three
# consumers. `make test` checks, under each start method, that it prints:
# shmlab-expect fork spawn forkserver: ^small: joined, then got 100 bytes\nlarge: still joining after 3 s\n1 of 3 consumers stopped$
from multiprocessing import Process, Queue
from multiprocessing.connection import wait

def produce(q, size):
    q.put(b"x" * size)

def consume(q):
    while q.get() is not None:
        pass

if __name__ == "__main__":
    # (The small one gets a minute, for a busy machine; the large one would
    # wait for ever, so 3 s show it.)
    for name, size, seconds in (("small", 100, 60), ("large", 1_000_000, 3)):
        q = Queue()
        child = Process(target=produce, args=(q, size))
        child.start()
        child.join(timeout=seconds)         # join first, get after: the trap
        if child.is_alive():
            print(f"{name}: still joining after {seconds} s")
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
    ended = wait([c.sentinel for c in consumers])  # one stops; the others never will
    print(len(ended), "of 3 consumers stopped")
    for c in consumers:                     # (only so that the demo can end)
        q.put(None)
    for c in consumers:
        c.join()
