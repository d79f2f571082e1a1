/* Wrong: the mutex is shared and process-shared, but every process initialises it again on first use. */
#include "counter.h"
#include "errors.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include <unistd.h>
struct counter { pthread_mutex_t lock; long value; };
static pid_t initialised_in;
struct counter *counter_create(void)
{
    struct counter *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) {
        warn_errno("mmap(counter)");
        return NULL;
    }
    c->value = 0;
    return c;
}
int counter_add(struct counter *c, long n)
{
    if (initialised_in != getpid()) {
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        pthread_mutex_init(&c->lock, &attr);
        pthread_mutexattr_destroy(&attr);
        initialised_in = getpid();
    }
    pthread_mutex_lock(&c->lock);
    c->value += n;
    pthread_mutex_unlock(&c->lock);
    return 0;
}
long counter_value(struct counter *c) { return c->value; }
void counter_destroy(struct counter *c) { munmap(c, sizeof *c); }
