# Lesson 02's fix in Python: one read and one write, under the Value's own
# lock, taken once around both. `make test` checks that it prints 99 under
# each start method.
# shmlab-expect fork spawn forkserver: ^99$
from multiprocessing import Process, Value

def work(total):
    with total.get_lock():
        total.value += 1

if __name__ == "__main__":
    total = Value("i", 0)
    workers = [Process(target=work, args=(total,)) for _ in range(99)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(total.value)      # 99, always
