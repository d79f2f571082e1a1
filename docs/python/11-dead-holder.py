# Lesson 11's trap in Python: a process killed while it holds a lock.
# `make test` checks, under each start method, that both locks stay taken.
# shmlab-expect fork spawn forkserver: ^Lock\(\): taken for ever\nManager\(\)\.Lock\(\): taken for ever$
import time
from multiprocessing import Event, Lock, Manager, Process

def hold(lock, holding):
    with lock:
        holding.set()
        time.sleep(60)          # killed in here, holding the lock

def kill_the_holder(name, lock, holding):
    victim = Process(target=hold, args=(lock, holding))
    victim.start()
    holding.wait()
    victim.kill()               # SIGKILL: no finally, no `with` runs
    victim.join()
    if lock.acquire(timeout=2):
        print(f"{name}: let go")
    else:
        print(f"{name}: taken for ever")

if __name__ == "__main__":
    kill_the_holder("Lock()", Lock(), Event())
    with Manager() as manager:
        kill_the_holder("Manager().Lock()", manager.Lock(), manager.Event())
