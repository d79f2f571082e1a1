/*
 * Right: another correct way. A ring of four slots, so the writer may run
 * up to four messages ahead; `free` counts empty slots, `ready` counts
 * messages. Where the next message goes and where the next one is taken
 * from are kept in the channel itself, in the shared mapping: each process
 * moves its own index, and every channel has its own.
 */
#include "channel.h"
#include "errors.h"

#include <errno.h>
#include <semaphore.h>
#include <sys/mman.h>

#define SLOTS 4

struct channel {
    sem_t free;        /* empty slots: SLOTS at first */
    sem_t ready;       /* messages waiting: 0 at first */
    unsigned next_in;  /* the writer's: where the next message goes */
    unsigned next_out; /* the reader's: where the next one is taken from */
    struct message slot[SLOTS];
};

struct channel *channel_create(void)
{
    struct channel *ch = mmap(NULL, sizeof *ch, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ch == MAP_FAILED) {
        warn_errno("mmap(channel, %zu bytes)", sizeof *ch);
        return NULL;
    }
    if (sem_init(&ch->free, 1, SLOTS) == -1) {
        warn_errno("sem_init(channel free slots)");
        munmap(ch, sizeof *ch);
        return NULL;
    }
    if (sem_init(&ch->ready, 1, 0) == -1) {
        warn_errno("sem_init(channel messages)");
        sem_destroy(&ch->free);
        munmap(ch, sizeof *ch);
        return NULL;
    }
    ch->next_in = ch->next_out = 0;
    return ch;
}

static int take(sem_t *sem, const char *what)
{
    while (sem_wait(sem) == -1)
        if (errno != EINTR) {
            warn_errno("sem_wait(%s)", what);
            return -1;
        }
    return 0;
}

int channel_publish(struct channel *ch, const struct message *m)
{
    if (take(&ch->free, "channel free slots") == -1)
        return -1;
    ch->slot[ch->next_in % SLOTS] = *m;
    ch->next_in++;
    if (sem_post(&ch->ready) == -1) {
        warn_errno("sem_post(channel messages)");
        return -1;
    }
    return 0;
}

int channel_receive(struct channel *ch, struct message *m)
{
    if (take(&ch->ready, "channel messages") == -1)
        return -1;
    *m = ch->slot[ch->next_out % SLOTS];
    ch->next_out++;
    if (sem_post(&ch->free) == -1) {
        warn_errno("sem_post(channel free slots)");
        return -1;
    }
    return 0;
}

void channel_destroy(struct channel *ch)
{
    sem_destroy(&ch->free);
    sem_destroy(&ch->ready);
    munmap(ch, sizeof *ch);
}
