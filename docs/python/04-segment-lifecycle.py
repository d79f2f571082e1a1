# Lesson 04's segment in Python: made, attached by name, written, read,
# closed, unlinked. One process plays both sides; `make test` checks that it
# prints b'howdy' and leaves nothing in /dev/shm.
# shmlab-expect default: ^b'howdy'$
from multiprocessing import shared_memory

a = shared_memory.SharedMemory(create=True, size=100_000)
a.buf[:5] = bytearray([22, 33, 44, 55, 100])

b = shared_memory.SharedMemory(a.name)   # another process, knowing the name
b.buf[:5] = b"howdy"
b.close()

print(bytes(a.buf[:5]))                  # b'howdy'
a.close()
a.unlink()                               # forget this, and the memory stays
