/*
 * counter.c - lesson 02, the racy counter: the fixed version.
 *
 * `c->value += n` is three steps: load the value, add, store it back. Two
 * processes that both load before either stores both write old + n, and
 * one addition is lost. A mutex makes the three steps happen as one for
 * everyone who takes it. For that it must be one mutex, not one per
 * process: it lives inside the shared mapping, beside the value it guards,
 * is initialised once, before any worker is forked, and is marked
 * PTHREAD_PROCESS_SHARED so the waiting and waking work across processes.
 */
#include "counter.h"
#include "errors.h"

#include <pthread.h>
#include <sys/mman.h>

struct counter {
    pthread_mutex_t lock;  /* guards value */
    long value;
};

/*
 * Makes *lock a process-shared mutex. 0, or the error, said on stderr with
 * the name of the call that failed.
 */
static int init_shared_lock(pthread_mutex_t *lock)
{
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);
    if (err != 0) {
        warn_err(err, "pthread_mutexattr_init(counter lock)");
        return err;
    }
    err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (err != 0)
        warn_err(err, "pthread_mutexattr_setpshared(counter lock, PTHREAD_PROCESS_SHARED)");
    else if ((err = pthread_mutex_init(lock, &attr)) != 0)
        warn_err(err, "pthread_mutex_init(counter lock, process-shared)");
    pthread_mutexattr_destroy(&attr);
    return err;
}

struct counter *counter_create(void)
{
    struct counter *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) {
        warn_errno("mmap(counter, %zu bytes, shared)", sizeof *c);
        return NULL;
    }
    if (init_shared_lock(&c->lock) != 0) {
        munmap(c, sizeof *c);  /* a failed create leaves nothing behind */
        return NULL;
    }
    c->value = 0;
    return c;
}

int counter_add(struct counter *c, long n)
{
    int err = pthread_mutex_lock(&c->lock);
    if (err != 0) {
        warn_err(err, "pthread_mutex_lock(counter lock)");
        return -1;
    }
    c->value += n;
    err = pthread_mutex_unlock(&c->lock);
    if (err != 0) {
        warn_err(err, "pthread_mutex_unlock(counter lock)");
        return -1;
    }
    return 0;
}

long counter_value(struct counter *c)
{
    return c->value;  /* no lock needed: nobody is adding (see counter.h) */
}

void counter_destroy(struct counter *c)
{
    int err = pthread_mutex_destroy(&c->lock);
    if (err != 0)
        warn_err(err, "pthread_mutex_destroy(counter lock)");
    if (munmap(c, sizeof *c) == -1)
        warn_errno("munmap(counter)");
}
