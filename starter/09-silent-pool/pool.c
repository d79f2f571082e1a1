/*
 * pool.c - lesson 09, the pool that swallows errors. This is the file you
 * edit.
 *
 * Each worker has two pipes: the parent writes arguments into one, the
 * worker writes values into the other. pool_map deals the arguments round
 * the workers like cards, then picks the values up in the same order. Run
 * `make run LESSON=09` and see what becomes of a task that fails and of one
 * that crashes.
 */
#include "pool.h"
#include "errors.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

struct pool {
    int workers;
    pool_task task;
    pid_t pid[POOL_MAX_WORKERS];
    int to[POOL_MAX_WORKERS];    /* the parent writes arguments here */
    int from[POOL_MAX_WORKERS];  /* and reads values here */
};

/* A worker: runs the task on every argument that arrives, and sends its value back. */
static void work(int in, int out, pool_task task)
{
    long arg;
    while (read(in, &arg, sizeof arg) == sizeof arg) {
        long value = 0;
        task(arg, &value);
        if (write(out, &value, sizeof value) != sizeof value)
            _exit(EXIT_FAILURE);
    }
    _exit(EXIT_SUCCESS);
}

struct pool *pool_start(int workers, pool_task task)
{
    if (workers < 1 || workers > POOL_MAX_WORKERS) {
        fprintf(stderr, "pool_start: %d workers: 1 to %d\n", workers, POOL_MAX_WORKERS);
        return NULL;
    }
    struct pool *p = malloc(sizeof *p);
    if (p == NULL) {
        warn_errno("malloc (a pool)");
        return NULL;
    }
    p->workers = workers;
    p->task = task;

    int to[POOL_MAX_WORKERS][2], from[POOL_MAX_WORKERS][2];
    for (int w = 0; w < workers; w++)
        if (pipe(to[w]) == -1 || pipe(from[w]) == -1) {
            warn_errno("pipe (worker %d)", w);
            return NULL;
        }
    for (int w = 0; w < workers; w++) {
        p->pid[w] = fork();
        if (p->pid[w] == -1) {
            warn_errno("fork (worker %d)", w);
            return NULL;
        }
        if (p->pid[w] == 0) {
            close(to[w][1]);
            close(from[w][0]);
            work(to[w][0], from[w][1], task);
        }
    }
    for (int w = 0; w < workers; w++) {
        close(to[w][0]);
        close(from[w][1]);
        p->to[w] = to[w][1];
        p->from[w] = from[w][0];
    }
    return p;
}

int pool_map(struct pool *p, const long args[], int n, struct pool_result results[])
{
    for (int i = 0; i < n; i++)
        if (write(p->to[i % p->workers], &args[i], sizeof args[i]) != sizeof args[i]) {
            warn_errno("write (task %d)", i);
            return -1;
        }
    for (int i = 0; i < n; i++) {
        long value;
        if (read(p->from[i % p->workers], &value, sizeof value) != sizeof value)
            break;
        results[i].outcome = POOL_DONE;
        results[i].value = value;
    }
    return 0;
}

int pool_close(struct pool *p)
{
    for (int w = 0; w < p->workers; w++) {
        kill(p->pid[w], SIGTERM);
        waitpid(p->pid[w], NULL, 0);
        close(p->to[w]);
        close(p->from[w]);
    }
    return 0;
}

void pool_free(struct pool *p)
{
    if (p != NULL)
        pool_close(p);
    free(p);
}
