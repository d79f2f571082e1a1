/* Wrong: a semaphore in the shared mapping, but sem_init's pshared argument is 0. */
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
    sem_init(&c->sem, 0, 1);
    c->value = 0;
    return c;
}
int counter_add(struct counter *c, long n)
{
    sem_wait(&c->sem);
    c->value += n;
    sem_post(&c->sem);
    return 0;
}
long counter_value(struct counter *c) { return c->value; }
void counter_destroy(struct counter *c) { sem_destroy(&c->sem); munmap(c, sizeof *c); }
