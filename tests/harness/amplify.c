/*
 * amplify.c - makes data races show up every time, not one run in ten.
 *
 * A lost update needs two processes to read the same old value in the few
 * nanoseconds between one's load and its store. Left to chance, a racy
 * counter often comes out right, and a grader that runs it once passes it.
 *
 * So the student's file is compiled with `clang -fsanitize=thread`, which
 * puts a call before every memory access (__tsan_write8(addr) sits right
 * between the load and the store of `c->value += n`) and turns C11 atomics
 * into calls (__tsan_atomic64_fetch_add). It is linked not with
 * ThreadSanitizer's runtime but with this file, which
 *   - sleeps a few microseconds before one plain write in four, so another
 *     process gets to read the old value in between; half of the
 *     processes also sleep before one plain read in eight, and
 *   - performs every atomic operation for real, so correct code stays
 *     correct (atomic stores get the same delay: a load then a store is
 *     still a race).
 * Locks and semaphores are library calls the compiler does not touch.
 *
 * Every entry point the compiler emits for C is in tsan_calls.h, so a
 * student's file links whatever it does.
 */
#include "trace.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DELAY_NS 20000  /* 20 us: measured to beat sched_yield() alone */
#define DELAY_ONE_IN 4

#define LOAD_DELAY_ONE_IN 8

static uint64_t rng_state;
static int delays_loads;  /* this process also pauses before plain loads */

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;  /* xorshift64 */
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/*
 * Each process needs its own sequence, or forked workers move in lockstep.
 * Half of the processes, chosen at random, also pause before loads: a
 * pause inside a reader's copy lets a writer change what it has half read
 * (a torn read), one the store delays alone rarely show.
 */
static void reseed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    rng_state = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ 0x9e3779b97f4a7c15u;
    delays_loads = (int)(next_random() >> 7) & 1;
}

static void pause_a_little(void)
{
    struct timespec ts = {0, DELAY_NS};
    nanosleep(&ts, NULL);
}

static void maybe_delay(void)
{
    if (next_random() % DELAY_ONE_IN == 0)
        pause_a_little();
}

static void maybe_delay_load(void)
{
    if (delays_loads && next_random() % LOAD_DELAY_ONE_IN == 0)
        pause_a_little();
}

void __tsan_init(void)
{
    reseed();
    pthread_atfork(NULL, NULL, reseed);
}

/*
 * The trace (trace.h): a load is written down with the value it is about
 * to read; a store before it happens, so its value is filled in at this
 * process's next access (or read from memory at the end).
 */
/* The harness's (lab.c), when it is linked: the demo program has none. */
struct trace *lab_trace __attribute__((weak));
static struct trace_event *pending_store;  /* this process's last store, value not yet known */

static void finish_pending(void)
{
    struct trace_event *e = pending_store;
    if (e == NULL)
        return;
    e->value = e->size == 8 ? *(volatile int64_t *)e->addr : *(volatile int32_t *)e->addr;
    __atomic_store_n(&e->complete, 1, __ATOMIC_RELEASE);
    pending_store = NULL;
}

static void record(void *a, int size, int op, uintptr_t pc)
{
    struct trace *t = lab_trace;
    if (t == NULL)
        return;
    finish_pending();
    uintptr_t addr = (uintptr_t)a;
    if ((size != 4 && size != 8) || addr < t->lo || addr >= t->hi)
        return;
    int i = __atomic_fetch_add(&t->next, 1, __ATOMIC_ACQ_REL);
    if (i >= TRACE_EVENTS)
        return;
    struct trace_event *e = &t->events[i];
    e->pid = getpid();
    e->op = op;
    e->addr = addr;
    e->pc = pc;
    e->size = size;
    if (op == TRACE_LOAD) {
        e->value = size == 8 ? *(volatile int64_t *)a : *(volatile int32_t *)a;
        __atomic_store_n(&e->complete, 1, __ATOMIC_RELEASE);
    } else {
        pending_store = e;
    }
}

/* For the harness: a worker about to end fills in its last store's value. */
void lab_trace_finish(void);
void lab_trace_finish(void)
{
    finish_pending();
}

/* Plain stores: the race window is just before them. Plain loads: in some processes. */
static void on_load(const void *a, int size, uintptr_t pc)
{
    maybe_delay_load();
    record((void *)a, size, TRACE_LOAD, pc);
}

static void on_store(const void *a, int size, uintptr_t pc)
{
    maybe_delay();
    record((void *)a, size, TRACE_STORE, pc);
}

static void on_update(const void *a, int size, uintptr_t pc) { (void)a; (void)size; (void)pc; }

static void on_range(const void *a, unsigned long size, int store, uintptr_t pc)
{
    (void)a;
    (void)size;
    (void)pc;
    if (store)
        maybe_delay();
    else
        maybe_delay_load();
}

static void on_copy(const void *dest, size_t size, uintptr_t pc) { (void)dest; (void)size; (void)pc; }

#include "tsan_calls.h"
