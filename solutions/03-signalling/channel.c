/*
 * channel.c - lesson 03, values, arrays and signalling: the fixed version.
 *
 * Two process-shared semaphores in the shared mapping turn the slot into a
 * mailbox that holds one message. `empty` counts free slots (1 at first),
 * `full` counts messages waiting (0 at first). The writer waits for an
 * empty slot, fills it, and posts `full`; the reader waits for `full`,
 * copies the message, and posts `empty`. So every message is taken once,
 * in order, never while half-written; a process that waits sleeps in the
 * kernel instead of spinning; and sem_wait/sem_post order the memory: what
 * the writer stored before sem_post is what the reader sees after sem_wait.
 */
#include "channel.h"
#include "errors.h"

#include <errno.h>
#include <semaphore.h>
#include <sys/mman.h>

struct channel {
    sem_t empty;          /* 1 while the slot may be written */
    sem_t full;           /* 1 while a message waits in it */
    struct message slot;
};

struct channel *channel_create(void)
{
    struct channel *ch = mmap(NULL, sizeof *ch, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ch == MAP_FAILED) {
        warn_errno("mmap(channel, %zu bytes, shared)", sizeof *ch);
        return NULL;
    }
    /* pshared = 1: the semaphores live in shared memory and work across processes. */
    if (sem_init(&ch->empty, 1, 1) == -1 || sem_init(&ch->full, 1, 0) == -1) {
        warn_errno("sem_init(channel, shared)");
        munmap(ch, sizeof *ch);
        return NULL;
    }
    return ch;
}

/* sem_wait, again if a signal interrupted it. */
static int wait_for(sem_t *sem, const char *what)
{
    while (sem_wait(sem) == -1) {
        if (errno != EINTR) {
            warn_errno("sem_wait(%s)", what);
            return -1;
        }
    }
    return 0;
}

int channel_publish(struct channel *ch, const struct message *m)
{
    if (wait_for(&ch->empty, "channel empty") == -1)
        return -1;
    ch->slot = *m;
    if (sem_post(&ch->full) == -1) {
        warn_errno("sem_post(channel full)");
        return -1;
    }
    return 0;
}

int channel_receive(struct channel *ch, struct message *m)
{
    if (wait_for(&ch->full, "channel full") == -1)
        return -1;
    *m = ch->slot;
    if (sem_post(&ch->empty) == -1) {
        warn_errno("sem_post(channel empty)");
        return -1;
    }
    return 0;
}

void channel_destroy(struct channel *ch)
{
    if (sem_destroy(&ch->empty) == -1 || sem_destroy(&ch->full) == -1)
        warn_errno("sem_destroy(channel)");
    if (munmap(ch, sizeof *ch) == -1)
        warn_errno("munmap(channel)");
}
