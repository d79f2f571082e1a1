/*
 * Right: a mutex and a condition variable, both process-shared, in the
 * shared mapping. `full` says whether a message waits in the slot.
 */
#include "channel.h"
#include "errors.h"

#include <pthread.h>
#include <sys/mman.h>

struct channel {
    pthread_mutex_t lock;
    pthread_cond_t changed;  /* signalled whenever `full` changes */
    int full;
    struct message slot;
};

struct channel *channel_create(void)
{
    struct channel *ch = mmap(NULL, sizeof *ch, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ch == MAP_FAILED) {
        warn_errno("mmap(channel)");
        return NULL;
    }
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    const char *call = "pthread_mutexattr_init";  /* the call that failed, for the message */
    int err = pthread_mutexattr_init(&ma);
    if (err == 0 && (call = "pthread_mutexattr_setpshared"))
        err = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    if (err == 0 && (call = "pthread_mutex_init"))
        err = pthread_mutex_init(&ch->lock, &ma);
    if (err == 0 && (call = "pthread_condattr_init"))
        err = pthread_condattr_init(&ca);
    if (err == 0 && (call = "pthread_condattr_setpshared"))
        err = pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    if (err == 0 && (call = "pthread_cond_init"))
        err = pthread_cond_init(&ch->changed, &ca);
    if (err != 0) {
        warn_err(err, "%s(channel)", call);
        munmap(ch, sizeof *ch);
        return NULL;
    }
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_destroy(&ca);
    return ch;
}

/* Waits, holding the lock, until full == want; then copies in or out and flips it. */
static int exchange(struct channel *ch, int want, struct message *out, const struct message *in)
{
    int err = pthread_mutex_lock(&ch->lock);
    if (err != 0) {
        warn_err(err, "pthread_mutex_lock(channel)");
        return -1;
    }
    /* while, not if: a wait may return with nothing changed (a spurious wakeup). */
    while (ch->full != want) {
        err = pthread_cond_wait(&ch->changed, &ch->lock);
        if (err != 0) {
            warn_err(err, "pthread_cond_wait(channel)");
            pthread_mutex_unlock(&ch->lock);
            return -1;
        }
    }
    if (in != NULL)
        ch->slot = *in;
    else
        *out = ch->slot;
    ch->full = !want;
    pthread_cond_broadcast(&ch->changed);
    pthread_mutex_unlock(&ch->lock);
    return 0;
}

int channel_publish(struct channel *ch, const struct message *m)
{
    return exchange(ch, 0, NULL, m);
}

int channel_receive(struct channel *ch, struct message *m)
{
    return exchange(ch, 1, m, NULL);
}

void channel_destroy(struct channel *ch)
{
    pthread_cond_destroy(&ch->changed);
    pthread_mutex_destroy(&ch->lock);
    munmap(ch, sizeof *ch);
}
