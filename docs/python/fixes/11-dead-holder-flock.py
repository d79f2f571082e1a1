# A lock the kernel lets go of when its holder dies: flock on a file that
# each process opens for itself (a descriptor inherited through fork would
# share one lock between parent and child).
# shmlab-expect fork spawn forkserver: ^flock: let go when its holder died$
import fcntl
import os
import tempfile
import time
from multiprocessing import Event, Process

def hold(path, holding):
    with open(path) as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        holding.set()
        time.sleep(60)          # killed in here, holding the lock

if __name__ == "__main__":
    fd, path = tempfile.mkstemp(prefix="shmlab-")
    os.close(fd)
    holding = Event()
    victim = Process(target=hold, args=(path, holding))
    victim.start()
    holding.wait()
    victim.kill()
    victim.join()
    with open(path) as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)   # would raise if still held
        print("flock: let go when its holder died")
    os.unlink(path)
