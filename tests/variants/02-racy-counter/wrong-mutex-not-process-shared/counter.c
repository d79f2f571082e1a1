/* Wrong: one mutex in the shared mapping, but initialised with default (process-private) attributes. */
#include "counter.h"
#include "errors.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/mman.h>

struct counter { pthread_mutex_t lock; long value; };
struct counter *counter_create(void)
{
    struct counter *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) {
        warn_errno("mmap(counter)");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->value = 0;
    return c;
}
int counter_add(struct counter *c, long n)
{
    pthread_mutex_lock(&c->lock);
    c->value += n;
    pthread_mutex_unlock(&c->lock);
    return 0;
}
long counter_value(struct counter *c) { return c->value; }
void counter_destroy(struct counter *c) { pthread_mutex_destroy(&c->lock); munmap(c, sizeof *c); }
