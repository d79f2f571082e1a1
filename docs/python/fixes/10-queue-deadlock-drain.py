# Lesson 10's fix in Python: take the messages before joining, and give
# every consumer a sentinel of its own. `make test` checks that it prints:
# shmlab-expect fork spawn forkserver: ^got 1000000 bytes, then joined\n3 of 3 consumers stopped$
from multiprocessing import Process, Queue

def produce(q, size):
    q.put(b"x" * size)

def consume(q):
    while q.get() is not None:
        pass

if __name__ == "__main__":
    q = Queue()
    child = Process(target=produce, args=(q, 1_000_000))
    child.start()
    got = q.get()                           # drain first ...
    child.join()                            # ... then join
    print(f"got {len(got)} bytes, then joined")

    q = Queue()
    consumers = [Process(target=consume, args=(q,)) for _ in range(3)]
    for c in consumers:
        c.start()
    for task in range(30):
        q.put(task)
    for c in consumers:
        q.put(None)                         # one sentinel each
    for c in consumers:
        c.join()                            # each stops: it has a sentinel
    print(sum(not c.is_alive() for c in consumers), "of 3 consumers stopped")
