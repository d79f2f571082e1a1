# gh-88336, still there in 3.11 and 3.13: a string's slot is sized by its
# characters, and its UTF-8 bytes are cut to fit. `make test` checks:
# shmlab-expect default: ^'ééééééé' -> 'éééé'\n'✓✓✓✓✓✓✓' -> UnicodeDecodeError\nnext: 'intact'$
from multiprocessing import shared_memory

for text in ["ééééééé", "✓✓✓✓✓✓✓"]:      # 7 characters; 14 and 21 bytes
    x = shared_memory.ShareableList([text, "intact"])
    try:
        print(repr(text), "->", repr(x[0]))
    except UnicodeDecodeError:
        print(repr(text), "-> UnicodeDecodeError")
    after = x[1]
    x.shm.close()
    x.shm.unlink()
print("next:", repr(after))
