# Lesson 02's trap in Python, as it is usually written: a global Value,
# which only the fork start method shares. `make test` checks that it prints
#   fork:              a number up to 99 (99, usually: a lost addition is rare)
#   spawn, forkserver: 0 (the children add to another Value, made when the
#                      script's top level ran again in a fresh interpreter)
# shmlab-expect fork: ^[1-9][0-9]?$
# shmlab-expect spawn forkserver: ^0$
from multiprocessing import Process, Value

total = Value("i", 0, lock=False)

def work():
    total.value += 1

if __name__ == "__main__":
    workers = [Process(target=work) for _ in range(99)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(total.value)      # 99 most of the time; now and then less
