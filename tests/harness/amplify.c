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
 * Every entry point the compiler emits for C is here, so a student's file
 * links whatever it does; 128-bit atomics are left out on purpose (a link
 * error names them, never a silent gap).
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

void __tsan_func_entry(void *caller) { (void)caller; }
void __tsan_func_exit(void) {}
void __tsan_ignore_thread_begin(void) {}
void __tsan_ignore_thread_end(void) {}

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

#define HERE ((uintptr_t)__builtin_return_address(0))

/* Plain stores: the race window is just before them. Plain loads: in some processes. */
#define PLAIN_ACCESS(size)                                                               \
    void __tsan_read##size(void *a)                                                     \
    { maybe_delay_load(); record(a, size, TRACE_LOAD, HERE); }                          \
    void __tsan_write##size(void *a)                                                    \
    { maybe_delay(); record(a, size, TRACE_STORE, HERE); }                              \
    void __tsan_unaligned_read##size(void *a)                                           \
    { maybe_delay_load(); record(a, size, TRACE_LOAD, HERE); }                          \
    void __tsan_unaligned_write##size(void *a)                                          \
    { maybe_delay(); record(a, size, TRACE_STORE, HERE); }                              \
    void __tsan_volatile_read##size(void *a)                                            \
    { maybe_delay_load(); record(a, size, TRACE_LOAD, HERE); }                          \
    void __tsan_volatile_write##size(void *a)                                           \
    { maybe_delay(); record(a, size, TRACE_STORE, HERE); }                              \
    void __tsan_unaligned_volatile_read##size(void *a)                                  \
    { maybe_delay_load(); record(a, size, TRACE_LOAD, HERE); }                          \
    void __tsan_unaligned_volatile_write##size(void *a)                                 \
    { maybe_delay(); record(a, size, TRACE_STORE, HERE); }
PLAIN_ACCESS(1)
PLAIN_ACCESS(2)
PLAIN_ACCESS(4)
PLAIN_ACCESS(8)
PLAIN_ACCESS(16)

void __tsan_read_range(void *a, unsigned long size) { (void)a; (void)size; maybe_delay_load(); }
void __tsan_write_range(void *a, unsigned long size) { (void)a; (void)size; maybe_delay(); }
void __tsan_vptr_read(void **p) { (void)p; }
void __tsan_vptr_update(void **p, void *v) { (void)p; (void)v; }

/* Newer compilers call these for struct copies and memset. */
void *__tsan_memcpy(void *d, const void *s, size_t n) { return memcpy(d, s, n); }
void *__tsan_memmove(void *d, const void *s, size_t n) { return memmove(d, s, n); }
void *__tsan_memset(void *d, int c, size_t n) { return memset(d, c, n); }

/*
 * Atomics: always sequentially consistent, which is at least as strong as
 * any order the program asked for.
 */
#define SC __ATOMIC_SEQ_CST
#define ATOMICS(bits, T)                                                              \
    T __tsan_atomic##bits##_load(const volatile T *a, int mo)                         \
    { (void)mo; maybe_delay_load(); record((void *)a, bits / 8, TRACE_LOAD, HERE);    \
      return __atomic_load_n(a, SC); }                                                \
    void __tsan_atomic##bits##_store(volatile T *a, T v, int mo)                      \
    { (void)mo; maybe_delay(); record((void *)a, bits / 8, TRACE_STORE, HERE);        \
      __atomic_store_n(a, v, SC); }                                                   \
    T __tsan_atomic##bits##_exchange(volatile T *a, T v, int mo)                      \
    { (void)mo; return __atomic_exchange_n(a, v, SC); }                               \
    T __tsan_atomic##bits##_fetch_add(volatile T *a, T v, int mo)                     \
    { (void)mo; return __atomic_fetch_add(a, v, SC); }                                \
    T __tsan_atomic##bits##_fetch_sub(volatile T *a, T v, int mo)                     \
    { (void)mo; return __atomic_fetch_sub(a, v, SC); }                                \
    T __tsan_atomic##bits##_fetch_and(volatile T *a, T v, int mo)                     \
    { (void)mo; return __atomic_fetch_and(a, v, SC); }                                \
    T __tsan_atomic##bits##_fetch_or(volatile T *a, T v, int mo)                      \
    { (void)mo; return __atomic_fetch_or(a, v, SC); }                                 \
    T __tsan_atomic##bits##_fetch_xor(volatile T *a, T v, int mo)                     \
    { (void)mo; return __atomic_fetch_xor(a, v, SC); }                                \
    T __tsan_atomic##bits##_fetch_nand(volatile T *a, T v, int mo)                    \
    { (void)mo; return __atomic_fetch_nand(a, v, SC); }                               \
    int __tsan_atomic##bits##_compare_exchange_strong(volatile T *a, T *c, T v,       \
                                                      int mo, int fail_mo)            \
    { (void)mo; (void)fail_mo;                                                        \
      return __atomic_compare_exchange_n(a, c, v, 0, SC, SC); }                       \
    int __tsan_atomic##bits##_compare_exchange_weak(volatile T *a, T *c, T v,         \
                                                    int mo, int fail_mo)              \
    { (void)mo; (void)fail_mo;                                                        \
      return __atomic_compare_exchange_n(a, c, v, 1, SC, SC); }                       \
    T __tsan_atomic##bits##_compare_exchange_val(volatile T *a, T c, T v,             \
                                                 int mo, int fail_mo)                 \
    { (void)mo; (void)fail_mo;                                                        \
      __atomic_compare_exchange_n(a, &c, v, 0, SC, SC); return c; }
ATOMICS(8, int8_t)
ATOMICS(16, int16_t)
ATOMICS(32, int32_t)
ATOMICS(64, int64_t)

void __tsan_atomic_thread_fence(int mo) { (void)mo; __atomic_thread_fence(SC); }
void __tsan_atomic_signal_fence(int mo) { (void)mo; __atomic_signal_fence(SC); }
