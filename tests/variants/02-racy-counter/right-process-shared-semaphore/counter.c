/* Right: a process-shared POSIX semaphore, initialised to 1, in the shared mapping. */
#include "counter.h"
#include "errors.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/mman.h>

struct counter { sem_t sem; long value; };
struct counter *counter_create(void)
{
    struct counter *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) {
        warn_errno("mmap(counter)");
        return NULL;
    }
    if (sem_init(&c->sem, 1, 1) == -1) {
        warn_errno("sem_init(counter, shared)");
        munmap(c, sizeof *c);
        return NULL;
    }
    c->value = 0;
    return c;
}
int counter_add(struct counter *c, long n)
{
    if (sem_wait(&c->sem) == -1) {
        warn_errno("sem_wait(counter)");
        return -1;
    }
    c->value += n;
    if (sem_post(&c->sem) == -1) {
        warn_errno("sem_post(counter)");
        return -1;
    }
    return 0;
}
long counter_value(struct counter *c) { return c->value; }
void counter_destroy(struct counter *c) { sem_destroy(&c->sem); munmap(c, sizeof *c); }
