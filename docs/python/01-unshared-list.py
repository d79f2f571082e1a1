# Lesson 01's trap in Python: children append to a list; the parent's stays
# empty. `make python LESSON=01` runs it under each start method, and
# `make test` checks that it prints what the book says:
#   fork, spawn, forkserver: []   (each child appended to a list of its own)
# shmlab-expect fork spawn forkserver: ^\[\]$
from multiprocessing import Process

results = []

def work(n):
    results.append(n * n)

if __name__ == "__main__":
    workers = [Process(target=work, args=(n,)) for n in range(10)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(results)          # prints []
