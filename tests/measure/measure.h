/*
 * measure.h - what the measurement programs of `make measure` share: a
 * clock, a helper for calls that return an error number, and the gate that
 * lets every worker start at once.
 */
#ifndef MEASURE_H
#define MEASURE_H

#include "errors.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Seconds on a clock that never jumps. */
static inline double now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        die_errno("clock_gettime");
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* For pthread_* calls, which return the error number instead of setting errno. */
#define die_err(err, ...) (warn_err((err), __VA_ARGS__), exit(EXIT_FAILURE))

/*
 * The gate: workers block reading a pipe until the parent closes its write
 * end, so that all of them start together, after every fork is done (a
 * fork takes longer than many thousand additions).
 */
struct gate {
    int fd[2];
};

static inline void gate_make(struct gate *g)
{
    if (pipe(g->fd) == -1)
        die_errno("pipe (gate)");
}

static inline void gate_wait(struct gate *g)  /* in a worker */
{
    char c;
    if (close(g->fd[1]) == -1)
        die_errno("close (gate)");
    if (read(g->fd[0], &c, 1) == -1)  /* end of file: the gate is open */
        die_errno("read (gate)");
}

static inline void gate_open(struct gate *g)  /* in the parent */
{
    if (close(g->fd[1]) == -1 || close(g->fd[0]) == -1)
        die_errno("close (gate)");
}

#endif
