# Lesson 07's trap in Python: an update through a nested proxy is lost.
# `make test` checks that it prints {'test': {}} under each start method.
# shmlab-expect fork spawn forkserver: ^\{'test': \{\}\}$
from multiprocessing import Manager, Pool

def work(idx, results):
    results["test"][idx] = idx

if __name__ == "__main__":
    manager = Manager()
    results = manager.dict()
    results["test"] = {}
    with Pool(4) as pool:
        pool.starmap(work, [(i, results) for i in range(100)])
    print(results)          # {'test': {}}
