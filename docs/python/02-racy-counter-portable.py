# Lesson 02's trap, written to work under every start method: the Value is
# made in the parent and handed to each child. Still racy. `make test`
# checks that it prints, under each method, a number up to 99.
# shmlab-expect fork spawn forkserver: ^[1-9][0-9]?$
from multiprocessing import Process, Value

def work(total):
    total.value += 1

if __name__ == "__main__":
    total = Value("i", 0, lock=False)
    workers = [Process(target=work, args=(total,)) for _ in range(99)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(total.value)      # 99 most of the time; now and then less
