# Lesson 13's fix in Python: each worker names itself, and numbers its
# additions; the manager's object keeps each worker's last number, and a call
# sent again with the same number changes nothing. `make test` checks, under
# each start method, that the count comes out right through the same network.
# shmlab-expect fork spawn forkserver: ^the counter is 400, as it should be$
import importlib.util
import os
import pathlib
import socket
import threading
from multiprocessing import Process
from multiprocessing.managers import BaseManager

WORKERS, ADDITIONS = 4, 100

class Tally:
    def __init__(self):
        self.counts = {}
        self.last = {}              # each client's last number
    def add(self, client, number, key, n):  # in the manager's process, one call at a time
        if self.last.get(client) == number:
            return                  # sent again: it ran already
        self.last[client] = number
        self.counts[key] = self.counts.get(key, 0) + n
    def get(self, key):
        return self.counts.get(key, 0)

class TallyManager(BaseManager):
    pass

TALLY = Tally()                 # the one the manager's process serves

def the_tally():
    return TALLY

TallyManager.register("tally", callable=the_tally)

def work(address, authkey):
    manager = TallyManager(address=address, authkey=authkey)
    manager.connect()               # a manager started elsewhere, on another host
    tally = manager.tally()
    me = os.urandom(16).hex()       # a name of its own
    for number in range(1, ADDITIONS + 1):
        while True:
            try:
                tally.add(me, number, "events", 1)   # the same number on every try
                break
            except (EOFError, OSError):  # the connection broke: did add run? Unknown.
                manager = TallyManager(address=address, authkey=authkey)
                manager.connect()
                tally = manager.tally()  # a new connection, and the same call again

def the_network():
    """The trap's flaky network (its relay), the same code."""
    path = pathlib.Path(__file__).resolve().parent.parent / "13-counted-twice.py"
    spec = importlib.util.spec_from_file_location("counted_twice", path)
    trap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trap)
    return trap.network

if __name__ == "__main__":
    authkey = os.environ.get("SHMLAB_AUTHKEY", os.urandom(16).hex()).encode()
    manager = TallyManager(address=("127.0.0.1", 0), authkey=authkey)
    manager.start()
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=the_network(), args=(listener, manager.address),
                     daemon=True).start()
    workers = [Process(target=work, args=(listener.getsockname(), authkey))
               for _ in range(WORKERS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    total = manager.tally().get("events")
    want = WORKERS * ADDITIONS
    if total > want:
        print(f"the counter is {total}, not {want}: {total - want} counted twice")
    elif total < want:
        print(f"the counter is {total}, not {want}: {want - total} lost")
    else:
        print(f"the counter is {total}, as it should be")
    manager.shutdown()
