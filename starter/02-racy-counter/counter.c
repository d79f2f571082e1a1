/*
 * counter.c - lesson 02, the racy counter. This is the file you edit.
 *
 * The counter lives in shared memory, so every worker adds to the same
 * one: lesson 01's trap is avoided. Run `make run LESSON=02` and count
 * what arrives.
 */
#include "counter.h"
#include "errors.h"

#include <sys/mman.h>

struct counter {
    long value;
};

struct counter *counter_create(void)
{
    struct counter *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) {
        warn_errno("mmap(counter, %zu bytes, shared)", sizeof *c);
        return NULL;
    }
    c->value = 0;
    return c;
}

int counter_add(struct counter *c, long n)
{
    c->value += n;
    return 0;
}

long counter_value(struct counter *c)
{
    return c->value;
}

void counter_destroy(struct counter *c)
{
    if (munmap(c, sizeof *c) == -1)
        warn_errno("munmap(counter)");
}
