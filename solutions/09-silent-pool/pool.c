/*
 * pool.c - lesson 09, the pool that swallows errors: the fixed version.
 *
 * Each worker is joined to the parent by a socket pair of its own
 * (SOCK_SEQPACKET: every send arrives whole, as one message), and holds
 * one task at a time, so the parent always knows which task each worker
 * runs. A worker answers with the task's error code and value together:
 * a failure travels like a success. When a worker dies, the parent's
 * recv on its socket returns 0 (end-of-file): the worker's end has no
 * other copy, so its death is always seen. The parent then reaps it,
 * reports its task crashed with the wait status, and starts another.
 */
#include "pool.h"
#include "errors.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct worker {
    pid_t pid;   /* 0: no process (it died and could not be replaced) */
    int fd;      /* the parent's end of the socket pair, or -1 */
    int task;    /* the index of the task it runs, or -1: idle */
};

struct pool {
    pool_task task;
    int workers;
    int closed;  /* pool_close has run */
    int broken;  /* a call failed in pool_map: answers may still be on the way */
    struct worker w[POOL_MAX_WORKERS];
};

/* What a worker sends back: the task's error code (0: done) and its value. */
struct answer {
    int error;
    long value;
};

/* A worker: runs the task on each argument that arrives, until end-of-file. */
static void serve(int fd, pool_task task)
{
    for (;;) {
        long arg;
        ssize_t got = recv(fd, &arg, sizeof arg, 0);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == 0)
            _exit(EXIT_SUCCESS);  /* the pool is closing */
        if (got != sizeof arg) {
            if (got == -1)
                warn_errno("recv (a task, in worker pid %d)", (int)getpid());
            _exit(EXIT_FAILURE);
        }
        struct answer a = {0, 0};
        a.error = task(arg, &a.value);
        while (send(fd, &a, sizeof a, MSG_NOSIGNAL) == -1)
            if (errno != EINTR) {
                warn_errno("send (an answer, in worker pid %d)", (int)getpid());
                _exit(EXIT_FAILURE);
            }
    }
}

/* Starts worker i. Returns 0, or -1 having said why. */
static int start_worker(struct pool *p, int i)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1) {
        warn_errno("socketpair (worker %d)", i);
        return -1;
    }
    pid_t pid = fork();
    if (pid == -1) {
        warn_errno("fork (worker %d)", i);
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        /* The other workers' sockets are the parent's business, not this worker's. */
        for (int j = 0; j < p->workers; j++)
            if (p->w[j].fd != -1)
                close(p->w[j].fd);
        close(sv[0]);
        serve(sv[1], p->task);
    }
    close(sv[1]);  /* now the worker holds the only copy of its end */
    p->w[i] = (struct worker){.pid = pid, .fd = sv[0], .task = -1};
    return 0;
}

/* Waits for worker i to end and closes its socket. Returns 0, or -1 having said why. */
static int reap(struct pool *p, int i, int *status)
{
    pid_t got;
    do
        got = waitpid(p->w[i].pid, status, 0);
    while (got == -1 && errno == EINTR);
    if (got == -1)
        warn_errno("waitpid (worker %d, pid %d)", i, (int)p->w[i].pid);
    close(p->w[i].fd);
    p->w[i] = (struct worker){.pid = 0, .fd = -1, .task = -1};
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
        warn_errno("malloc (a pool of %d workers)", workers);
        return NULL;
    }
    *p = (struct pool){.task = task, .workers = workers};
    for (int i = 0; i < workers; i++)
        p->w[i] = (struct worker){.pid = 0, .fd = -1, .task = -1};
    for (int i = 0; i < workers; i++)
        if (start_worker(p, i) == -1) {
            pool_free(p);  /* ends the workers already started */
            return NULL;
        }
    return p;
}

/*
 * Gives task t to idle worker i. If the worker died while idle (killed from
 * outside), reaps it and gives the task to its replacement. Returns 0, or -1
 * having said why.
 */
static int hand_out(struct pool *p, int i, int t, long arg)
{
    for (;;) {
        if (send(p->w[i].fd, &arg, sizeof arg, MSG_NOSIGNAL) == sizeof arg) {
            p->w[i].task = t;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno != EPIPE) {
            warn_errno("send (task %d, to worker %d)", t, i);
            return -1;
        }
        int status;
        if (reap(p, i, &status) == -1 || start_worker(p, i) == -1)
            return -1;
    }
}

/*
 * Takes worker i's answer, or its death, into results. Returns 1 when its
 * task has an outcome, 0 when there was nothing to take after all, -1
 * having said why.
 */
static int take_answer(struct pool *p, int i, struct pool_result results[])
{
    int t = p->w[i].task;
    struct answer a;
    ssize_t got = recv(p->w[i].fd, &a, sizeof a, MSG_DONTWAIT);
    if (got == -1 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (got == -1) {
        warn_errno("recv (the answer to task %d, from worker %d)", t, i);
        return -1;
    }
    if (got == 0) {  /* end-of-file: the worker died running task t */
        int status;
        if (reap(p, i, &status) == -1)
            return -1;
        results[t] = (struct pool_result){.outcome = POOL_CRASHED, .status = status};
        return start_worker(p, i) == -1 ? -1 : 1;
    }
    if (got != sizeof a) {
        fprintf(stderr, "pool_map: worker %d answered task %d with %zd bytes, not %zu\n", i, t,
                got, sizeof a);
        return -1;
    }
    if (a.error == 0)
        results[t] = (struct pool_result){.outcome = POOL_DONE, .value = a.value};
    else
        results[t] = (struct pool_result){.outcome = POOL_FAILED, .error = a.error};
    p->w[i].task = -1;
    return 1;
}

int pool_map(struct pool *p, const long args[], int n, struct pool_result results[])
{
    if (p->closed || p->broken || n < 0) {
        fprintf(stderr, "pool_map: %s\n", p->closed ? "the pool is closed"
                                          : p->broken ? "the pool is broken by an earlier error"
                                                      : "a negative number of tasks");
        errno = EINVAL;
        return -1;
    }
    int next = 0, finished = 0, not_done = 0;
    while (finished < n) {
        for (int i = 0; i < p->workers && next < n; i++)
            if (p->w[i].task == -1) {
                if (hand_out(p, i, next, args[next]) == -1)
                    goto broken;
                next++;
            }

        /* Sleep until a busy worker answers or dies. */
        struct pollfd fds[POOL_MAX_WORKERS];
        for (int i = 0; i < p->workers; i++)
            fds[i] = (struct pollfd){.fd = p->w[i].task == -1 ? -1 : p->w[i].fd,
                                     .events = POLLIN};
        if (poll(fds, (nfds_t)p->workers, -1) == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("poll (the workers' sockets)");
            goto broken;
        }
        for (int i = 0; i < p->workers; i++) {
            if (fds[i].fd == -1 || fds[i].revents == 0)
                continue;
            int t = p->w[i].task;
            int rc = take_answer(p, i, results);
            if (rc == -1)
                goto broken;
            finished += rc;
            not_done += rc == 1 && results[t].outcome != POOL_DONE;
        }
    }
    return not_done;

broken:
    p->broken = 1;
    return -1;
}

int pool_close(struct pool *p)
{
    if (p->closed)
        return 0;
    p->closed = 1;
    /*
     * shutdown, not close: a worker forked later (by this pool or another)
     * may hold a copy of the parent's end, and while any copy is open close
     * ends nothing. shutdown ends the connection itself, for every copy.
     */
    for (int i = 0; i < p->workers; i++)
        if (p->w[i].fd != -1 && shutdown(p->w[i].fd, SHUT_WR) == -1)
            warn_errno("shutdown (worker %d's socket)", i);
    int rc = 0;
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
