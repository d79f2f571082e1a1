/* Wrong: the mutex is an ordinary global. Each forked worker gets its own copy. */
#include "counter.h"
#include "errors.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/mman.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
struct counter { long value; };
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
    pthread_mutex_lock(&lock);
    c->value += n;
    pthread_mutex_unlock(&lock);
    return 0;
}
long counter_value(struct counter *c) { return c->value; }
void counter_destroy(struct counter *c) { munmap(c, sizeof *c); }
