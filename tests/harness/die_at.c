/*
 * die_at.c - for lessons built `kill` (lessons/lessons.toml): stops a
 * process dead at an exact step of the student's code.
 *
 * Killing a process from outside lands wherever it happens to be, most
 * often not where it hurts. Here the process kills itself, right before
 * the nth step the student's code takes, so that a test can try every
 * point of a critical section in turn: after the lock, between the first
 * store and the second, before the unlock.
 *
 * A step is a store to memory, or a call that takes or lets go of a lock,
 * or makes one anew (pthread_mutex_init).
 * The student's file is compiled with `clang -fsanitize=thread`, which puts
 * a call before every store (tsan_calls.h); this file stands in for
 * ThreadSanitizer's runtime and counts them. The lock calls reach it
 * renamed (pthread_mutex_lock -> lab_fault_pthread_mutex_lock, the way the
 * fault injector's calls are, fault.h; a semaphore's wait and
 * pthread_mutex_init stay the fault injector's, which calls this file back). In a build without the compiler's
 * calls (the sanitizers' build), the lock calls are the only steps.
 */
#define _GNU_SOURCE  /* F_OFD_SETLK: a student may lock that way */
#include "lab.h"
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* This process's count and target: each process has its own (fork copies them). */
static long steps;
static long die_at;
static int die_signal;
static int holding;                   /* locks held, as far as the calls show */
static struct lab_step *die_where;    /* the test's, in memory it shares */
static uint64_t slow_state;           /* lab_steps_slow: 0 off, else a random state */

static void step(char kind, uintptr_t pc);
static void after_sem_wait(int rc);

void lab_die_at(long n, int sig, struct lab_step *where)
{
    fault_before_step = step;
    fault_after_sem_wait = after_sem_wait;
    steps = 0;
    die_at = n;
    die_signal = sig;
    die_where = where;
    if (where != NULL)
        where->happened = 0;
}

long lab_steps(void)
{
    return steps;
}

/*
 * As the race amplifier does (amplify.c): a pause of 20 us before one
 * store in four, so that processes that change the accounts without a
 * common lock really overlap.
 */
void lab_steps_slow(int on)
{
    slow_state = on ? ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u : 0;
}

static void maybe_pause(void)
{
    if (slow_state == 0)
        return;
    slow_state ^= slow_state << 13;
    slow_state ^= slow_state >> 7;
    slow_state ^= slow_state << 17;
    if (slow_state % 4 == 0) {
        struct timespec t = {0, 20000};
        nanosleep(&t, NULL);
    }
}

static void step(char kind, uintptr_t pc)
{
    steps++;
    if (die_at == 0 || steps != die_at)
        return;
    if (die_where != NULL) {
        die_where->pid = getpid();
        die_where->n = steps;
        die_where->kind = kind;
        die_where->pc = pc;
        die_where->holding = holding;
        __atomic_store_n(&die_where->happened, 1, __ATOMIC_SEQ_CST);
    }
    raise(die_signal);  /* SIGSTOP: it goes on from here once continued */
}

/* The compiler's calls: a store, or an atomic change, is a step. */
static void on_load(const void *a, int size, uintptr_t pc) { (void)a; (void)size; (void)pc; }
static void on_store(const void *a, int size, uintptr_t pc)
{
    (void)a;
    (void)size;
    maybe_pause();
    step('S', pc);
}
static void on_update(const void *a, int size, uintptr_t pc) { (void)a; (void)size; step('S', pc); }

static void on_range(const void *a, unsigned long size, int store, uintptr_t pc)
{
    (void)a;
    (void)size;
    if (store)
        step('S', pc);
}

static void on_copy(const void *dest, size_t size, uintptr_t pc) { (void)dest; (void)size; step('S', pc); }

void __tsan_init(void) {}

#include "tsan_calls.h"

/*
 * The lock calls: a step before each, and a note of what is held after
 * (for the messages: "with the lock held").
 */
#define HERE ((uintptr_t)__builtin_return_address(0))

static int took(int err)
{
    if (err == 0 || err == EOWNERDEAD)
        holding++;
    return err;
}

int lab_fault_pthread_mutex_lock(pthread_mutex_t *m);
int lab_fault_pthread_mutex_lock(pthread_mutex_t *m)
{
    step('L', HERE);
    return took(pthread_mutex_lock(m));
}

int lab_fault_pthread_mutex_trylock(pthread_mutex_t *m);
int lab_fault_pthread_mutex_trylock(pthread_mutex_t *m)
{
    step('L', HERE);
    return took(pthread_mutex_trylock(m));
}

int lab_fault_pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t);
int lab_fault_pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t)
{
    step('L', HERE);
    return took(pthread_mutex_timedlock(m, t));
}

int lab_fault_pthread_mutex_unlock(pthread_mutex_t *m);
int lab_fault_pthread_mutex_unlock(pthread_mutex_t *m)
{
    step('U', HERE);
    int err = pthread_mutex_unlock(m);
    if (err == 0 && holding > 0)
        holding--;
    return err;
}

int lab_fault_pthread_mutex_consistent(pthread_mutex_t *m);
int lab_fault_pthread_mutex_consistent(pthread_mutex_t *m)
{
    step('C', HERE);
    return pthread_mutex_consistent(m);
}

/* A semaphore used as a lock: its wait (in fault.c, which calls step first and this after) and its post. */
static void after_sem_wait(int rc)
{
    if (rc == 0)
        holding++;
}

int lab_fault_sem_post(sem_t *s);
int lab_fault_sem_post(sem_t *s)
{
    step('U', HERE);
    int rc = sem_post(s);
    if (rc == 0 && holding > 0)
        holding--;
    return rc;
}

/* Record locks: F_SETLK(W) takes or lets go, by l_type. */
static int fcntl_step(int fd, int cmd, void *arg, uintptr_t pc)
{
    int locking = cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
    int unlocking = locking && ((struct flock *)arg)->l_type == F_UNLCK;
    if (locking)
        step(unlocking ? 'U' : 'L', pc);
    int rc = fcntl(fd, cmd, arg);
    if (rc == 0 && locking)
        holding = unlocking ? (holding > 0 ? holding - 1 : 0) : holding + 1;
    return rc;
}

int lab_fault_fcntl(int fd, int cmd, ...);
int lab_fault_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);  /* whatever was passed: fcntl takes one word or none */
    va_end(ap);
    return fcntl_step(fd, cmd, arg, HERE);
}

int lab_fault_flock(int fd, int op);
int lab_fault_flock(int fd, int op)
{
    int unlocking = (op & ~LOCK_NB) == LOCK_UN;
    step(unlocking ? 'U' : 'L', HERE);
    int rc = flock(fd, op);
    if (rc == 0)
        holding = unlocking ? (holding > 0 ? holding - 1 : 0) : holding + 1;
    return rc;
}

int lab_fault_lockf(int fd, int cmd, off_t len);
int lab_fault_lockf(int fd, int cmd, off_t len)
{
    int unlocking = cmd == F_ULOCK;
    if (cmd != F_TEST)
        step(unlocking ? 'U' : 'L', HERE);
    int rc = lockf(fd, cmd, len);
    if (rc == 0 && cmd != F_TEST)
        holding = unlocking ? (holding > 0 ? holding - 1 : 0) : holding + 1;
    return rc;
}
