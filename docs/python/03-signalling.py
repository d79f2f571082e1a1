# Lesson 03's trap in Python: a reader polls a shared Value for news.
# `make test` checks, under each start method, that every line it prints is
# a number and an array, and that it prints fewer lines than the 1000
# messages sent: the reader misses most of them.
# shmlab-expect fork spawn forkserver: ^(-?[0-9]+ \[[-0-9, ]+\]\n?){0,999}$
from multiprocessing import Process, Value, Array

def writer(value, array):
    for i in range(1000):
        array[:] = [i] * 16
        value.value = i
    value.value = -1

def reader(value, array):
    last = None
    while value.value != -1:
        if value.value != last:            # something new?
            last = value.value
            print(last, array[:])

if __name__ == "__main__":
    value, array = Value("i", 0), Array("i", 16)
    workers = [Process(target=reader, args=(value, array)),
               Process(target=writer, args=(value, array))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
