/*
 * ops.c - what one update of a shared counter costs, by how it is guarded.
 *
 * P worker processes add 1 to one counter in a MAP_SHARED mapping for about
 * S seconds, all started at once; the program prints, as CSV, the updates
 * per second of all of them together. METHOD is how each addition is made:
 *   plain   value += 1, unguarded: racy (lesson 02's trap), here for scale
 *   atomic  atomic_fetch_add, one indivisible instruction (C11 atomics)
 *   mutex   a process-shared pthread mutex around value += 1 (lesson 08)
 *   sem     a POSIX semaphore, initialised to 1, used as the lock
 * With one process the lock is never contended; with more, it is.
 *
 * Usage: ops METHOD PROCESSES SECONDS      e.g. ops mutex 4 1.0
 */
#include "measure.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MAX_PROCESSES 64
#define BATCH 1000  /* updates between two looks at the clock */

struct shared {
    volatile long plain;
    atomic_long atomic;
    long guarded;           /* changed only with the mutex or the semaphore held */
    pthread_mutex_t mutex;
    sem_t sem;
    double rate[MAX_PROCESSES];  /* each worker's updates per second */
};

enum method { PLAIN, ATOMIC, MUTEX, SEM };

static void update(struct shared *s, enum method m)
{
    int err;
    switch (m) {
    case PLAIN:
        s->plain += 1;
        break;
    case ATOMIC:
        atomic_fetch_add(&s->atomic, 1);
        break;
    case MUTEX:
        if ((err = pthread_mutex_lock(&s->mutex)) != 0)
            die_err(err, "pthread_mutex_lock");
        s->guarded += 1;
        if ((err = pthread_mutex_unlock(&s->mutex)) != 0)
            die_err(err, "pthread_mutex_unlock");
        break;
    case SEM:
        while (sem_wait(&s->sem) == -1)
            if (errno != EINTR)
                die_errno("sem_wait");
        s->guarded += 1;
        if (sem_post(&s->sem) == -1)
            die_errno("sem_post");
        break;
    }
}

/* A worker: updates for `seconds`, then leaves its rate in s->rate[i]. */
static void work(struct shared *s, enum method m, int i, double seconds)
{
    long n = 0;
    double start = now(), elapsed;
    do {
        for (int k = 0; k < BATCH; k++)
            update(s, m);
        n += BATCH;
        elapsed = now() - start;
    } while (elapsed < seconds);
    s->rate[i] = n / elapsed;
}

/* The mutex and the semaphore live in the shared mapping, and must be told so. */
static void init_locks(struct shared *s)
{
    pthread_mutexattr_t attr;
    int err;
    if ((err = pthread_mutexattr_init(&attr)) != 0)
        die_err(err, "pthread_mutexattr_init");
    if ((err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) != 0)
        die_err(err, "pthread_mutexattr_setpshared");
    if ((err = pthread_mutex_init(&s->mutex, &attr)) != 0)
        die_err(err, "pthread_mutex_init");
    if ((err = pthread_mutexattr_destroy(&attr)) != 0)
        die_err(err, "pthread_mutexattr_destroy");
    if (sem_init(&s->sem, 1, 1) == -1)  /* 1: shared between processes */
        die_errno("sem_init");
}

int main(int argc, char *argv[])
{
    static const char *names[] = {"plain", "atomic", "mutex", "sem"};
    int m = -1;
    for (int k = 0; argc > 3 && k < 4; k++)
        if (strcmp(argv[1], names[k]) == 0)
            m = k;
    int processes = argc > 3 ? atoi(argv[2]) : 0;
    double seconds = argc > 3 ? atof(argv[3]) : 0;
    if (m < 0 || processes < 1 || processes > MAX_PROCESSES || seconds <= 0) {
        fprintf(stderr, "usage: %s plain|atomic|mutex|sem PROCESSES(1-%d) SECONDS\n",
                argv[0], MAX_PROCESSES);
        return EXIT_FAILURE;
    }
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        die_errno("mmap(shared)");
    init_locks(s);

    struct gate g;
    gate_make(&g);
    for (int i = 0; i < processes; i++) {
        pid_t pid = fork();
        if (pid == -1)
            die_errno("fork (worker %d)", i);
        if (pid == 0) {
            gate_wait(&g);
            work(s, (enum method)m, i, seconds);
            _exit(EXIT_SUCCESS);
        }
    }
    gate_open(&g);
    double total = 0;
    int failed = 0;
    for (int i = 0; i < processes; i++) {
        int status;
        if (wait(&status) == -1)
            die_errno("wait");
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    for (int i = 0; i < processes; i++)
        total += s->rate[i];

    if (sem_destroy(&s->sem) == -1)
        die_errno("sem_destroy");
    int err = pthread_mutex_destroy(&s->mutex);
    if (err != 0)
        die_err(err, "pthread_mutex_destroy");
    if (munmap(s, sizeof *s) == -1)
        die_errno("munmap(shared)");
    if (failed) {
        fprintf(stderr, "ops: %d worker(s) failed\n", failed);
        return EXIT_FAILURE;
    }
    printf("method,processes,ops_per_second\n");
    printf("%s,%d,%.0f\n", names[m], processes, total);
    return EXIT_SUCCESS;
}
