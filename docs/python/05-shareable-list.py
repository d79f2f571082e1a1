# Lesson 05's list in Python: another process attaches by name and changes
# two items. `make test` checks what the parent then reads, under each start
# method.
# shmlab-expect fork spawn forkserver: ^\['hi', 43, 3\.5, True, None, b'ok'\]$
from multiprocessing import Process, shared_memory

def other(name):
    y = shared_memory.ShareableList(name=name)   # knowing only the name
    y[0] = "hi"            # a string may shrink, or grow up to its slot's room
    y[1] = 43
    y.shm.close()

if __name__ == "__main__":
    x = shared_memory.ShareableList(["howdy", 42, 3.5, True, None, b"ok"])
    p = Process(target=other, args=(x.shm.name,))
    p.start()
    p.join()
    print(list(x))         # ['hi', 43, 3.5, True, None, b'ok']
    x.shm.close()
    x.shm.unlink()
