/*
 * A correct alternative with two pipes per worker, as the starter has,
 * made honest: the answer carries the task's error code; every worker
 * closes every pipe end that is not its own (its siblings' too), so that a
 * dead worker's pipe gives end-of-file; a worker holds one task at a time;
 * SIGPIPE is blocked while pool_map writes (a write to a dead worker then
 * fails with EPIPE, and the signal it left pending is taken back); and
 * pool_close sends each worker a stop message rather than trusting
 * end-of-file, which never comes while a later worker holds a copy of the
 * write end.
 */
#include "pool.h"
#include "errors.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct order {
    int stop;   /* 1: end, no task */
    long arg;
};

struct answer {
    int error;
    long value;
};

struct worker {
    pid_t pid;
    int to, from;  /* the parent's ends, or -1 */
    int task;
};

struct pool {
    pool_task task;
    int workers, closed, broken;
    struct worker w[POOL_MAX_WORKERS];
};

/* Whole reads and writes of small records: under PIPE_BUF, so never split by another writer. */
static ssize_t read_all(int fd, void *buf, size_t size)
{
    size_t have = 0;
    while (have < size) {
        ssize_t got = read(fd, (char *)buf + have, size - have);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0)
            return got == 0 && have == 0 ? 0 : -1;
        have += (size_t)got;
    }
    return (ssize_t)have;
}

static int write_all(int fd, const void *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t put = write(fd, (const char *)buf + done, size - done);
        if (put == -1 && errno == EINTR)
            continue;
        if (put == -1)
            return -1;
        done += (size_t)put;
    }
    return 0;
}

static void serve(int in, int out, pool_task task)
{
    struct order o;
    ssize_t got;
    while ((got = read_all(in, &o, sizeof o)) == sizeof o && !o.stop) {
        struct answer a = {0, 0};
        a.error = task(o.arg, &a.value);
        if (write_all(out, &a, sizeof a) == -1)
            _exit(EXIT_FAILURE);
    }
    if (got == -1)
        warn_errno("read (an order, in worker pid %d)", (int)getpid());
    _exit(got == -1 ? EXIT_FAILURE : EXIT_SUCCESS);
}

static int start_worker(struct pool *p, int i)
{
    int to[2], from[2];
    if (pipe(to) == -1) {
        warn_errno("pipe (to worker %d)", i);
        return -1;
    }
    if (pipe(from) == -1) {
        warn_errno("pipe (from worker %d)", i);
        close(to[0]);
        close(to[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == -1) {
        warn_errno("fork (worker %d)", i);
        close(to[0]), close(to[1]), close(from[0]), close(from[1]);
        return -1;
    }
    if (pid == 0) {
        for (int j = 0; j < p->workers; j++) {
            if (p->w[j].to != -1)
                close(p->w[j].to);
            if (p->w[j].from != -1)
                close(p->w[j].from);
        }
        close(to[1]);
        close(from[0]);
        serve(to[0], from[1], p->task);
    }
    close(to[0]);
    close(from[1]);
    p->w[i] = (struct worker){pid, to[1], from[0], -1};
    return 0;
}

static int reap(struct pool *p, int i, int *status)
{
    pid_t got;
    do
        got = waitpid(p->w[i].pid, status, 0);
    while (got == -1 && errno == EINTR);
    if (got == -1)
        warn_errno("waitpid (worker %d, pid %d)", i, (int)p->w[i].pid);
    close(p->w[i].to);
    close(p->w[i].from);
    p->w[i] = (struct worker){0, -1, -1, -1};
    return got == -1 ? -1 : 0;
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
    *p = (struct pool){.task = task, .workers = workers};
    for (int i = 0; i < workers; i++)
        p->w[i] = (struct worker){0, -1, -1, -1};
    for (int i = 0; i < workers; i++)
        if (start_worker(p, i) == -1) {
            pool_free(p);
            return NULL;
        }
    return p;
}

/* Takes back a SIGPIPE that a failed write left pending while it was blocked. */
static void forget_sigpipe(void)
{
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    struct timespec now = {0, 0};
    while (sigtimedwait(&pipe_only, NULL, &now) == SIGPIPE)
        continue;
}

static int hand_out(struct pool *p, int i, int t, long arg)
{
    struct order o = {0, arg};
    for (;;) {
        if (write_all(p->w[i].to, &o, sizeof o) == 0) {
            p->w[i].task = t;
            return 0;
        }
        if (errno != EPIPE) {
            warn_errno("write (task %d, to worker %d)", t, i);
            return -1;
        }
        forget_sigpipe();
        int status;
        if (reap(p, i, &status) == -1 || start_worker(p, i) == -1)
            return -1;
    }
}

static int take_answer(struct pool *p, int i, struct pool_result results[])
{
    int t = p->w[i].task;
    struct answer a;
    ssize_t got = read_all(p->w[i].from, &a, sizeof a);
    if (got == 0) {
        int status;
        if (reap(p, i, &status) == -1)
            return -1;
        results[t] = (struct pool_result){.outcome = POOL_CRASHED, .status = status};
        return start_worker(p, i) == -1 ? -1 : 1;
    }
    if (got == -1) {
        warn_errno("read (the answer to task %d, from worker %d)", t, i);
        return -1;
    }
    if (a.error == 0)
        results[t] = (struct pool_result){.outcome = POOL_DONE, .value = a.value};
    else
        results[t] = (struct pool_result){.outcome = POOL_FAILED, .error = a.error};
    p->w[i].task = -1;
    return 1;
}

static int map(struct pool *p, const long args[], int n, struct pool_result results[])
{
    int next = 0, finished = 0, not_done = 0;
    while (finished < n) {
        for (int i = 0; i < p->workers && next < n; i++)
            if (p->w[i].task == -1) {
                if (hand_out(p, i, next, args[next]) == -1)
                    return -1;
                next++;
            }
        struct pollfd fds[POOL_MAX_WORKERS];
        for (int i = 0; i < p->workers; i++)
            fds[i] = (struct pollfd){p->w[i].task == -1 ? -1 : p->w[i].from, POLLIN, 0};
        if (poll(fds, (nfds_t)p->workers, -1) == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("poll");
            return -1;
        }
        for (int i = 0; i < p->workers; i++) {
            if (fds[i].fd == -1 || fds[i].revents == 0)
                continue;
            int t = p->w[i].task;
            int rc = take_answer(p, i, results);
            if (rc == -1)
                return -1;
            finished += rc;
            not_done += results[t].outcome != POOL_DONE;
        }
    }
    return not_done;
}

int pool_map(struct pool *p, const long args[], int n, struct pool_result results[])
{
    if (p->closed || p->broken || n < 0) {
        fprintf(stderr, "pool_map: %s\n", p->closed ? "the pool is closed" : p->broken ?
                "the pool broke in an earlier call" : "a negative number of tasks");
        errno = EINVAL;
        return -1;
    }
    sigset_t pipe_only, before;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_only, &before);
    int rc = map(p, args, n, results);
    sigprocmask(SIG_SETMASK, &before, NULL);
    if (rc == -1)
        p->broken = 1;
    return rc;
}

int pool_close(struct pool *p)
{
    if (p->closed)
        return 0;
    p->closed = 1;
    sigset_t pipe_only, before;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_only, &before);
    struct order stop = {1, 0};
    int rc = 0;
    for (int i = 0; i < p->workers; i++)
        if (p->w[i].pid != 0 && write_all(p->w[i].to, &stop, sizeof stop) == -1) {
            if (errno == EPIPE) {
                forget_sigpipe();  /* it had died: it is reaped below all the same */
                continue;
            }
            /* It would wait for ever for the stop that never came: end it the hard way. */
            warn_errno("write (stop, to worker %d)", i);
            kill(p->w[i].pid, SIGKILL);
            rc = -1;
        }
    sigprocmask(SIG_SETMASK, &before, NULL);
    for (int i = 0; i < p->workers; i++) {
        int status;
        if (p->w[i].pid != 0 && reap(p, i, &status) == -1)
            rc = -1;
    }
    return rc;
}

void pool_free(struct pool *p)
{
    if (p == NULL)
        return;
    pool_close(p);
    free(p);
}
