/*
 * Right: a named semaphore as the lock. sem_open maps it in this process,
 * and the workers forked later inherit that mapping, so they share it. The
 * name is removed at once (sem_unlink): nobody needs to find it by name,
 * and a program that dies leaves nothing behind in /dev/shm.
 */
#include "counter.h"
#include "errors.h"

#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

struct counter {
    sem_t *lock;  /* sem_open's mapping, inherited by every process forked later */
    long value;
};

struct counter *counter_create(void)
{
    struct counter *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) {
        warn_errno("mmap(counter)");
        return NULL;
    }
    static unsigned made;
    char name[64];
    snprintf(name, sizeof name, "/counter-lock-%d-%u", (int)getpid(), made++);
    c->lock = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    if (c->lock == SEM_FAILED) {
        warn_errno("sem_open(%s)", name);
        munmap(c, sizeof *c);
        return NULL;
    }
    if (sem_unlink(name) == -1) {
        warn_errno("sem_unlink(%s)", name);
        sem_close(c->lock);
        munmap(c, sizeof *c);
        return NULL;
    }
    c->value = 0;
    return c;
}

int counter_add(struct counter *c, long n)
{
    while (sem_wait(c->lock) == -1) {
        if (errno != EINTR) {
            warn_errno("sem_wait(counter lock)");
            return -1;
        }
    }
    c->value += n;
    if (sem_post(c->lock) == -1) {
        warn_errno("sem_post(counter lock)");
        return -1;
    }
    return 0;
}

long counter_value(struct counter *c) { return c->value; }

void counter_destroy(struct counter *c)
{
    sem_close(c->lock);
    munmap(c, sizeof *c);
}
