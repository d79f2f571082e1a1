/*
 * pool.h - lesson 09, the pool that swallows errors. The lab owns this
 * file: the tests and the demo use the pool exactly as declared here.
 *
 * A pool of worker processes that run one function on many arguments, as
 * Python's multiprocessing.Pool.map does: the caller hands over the
 * arguments and gets back, for each one, what became of it.
 */
#ifndef POOL_H
#define POOL_H

#define POOL_MAX_WORKERS 64

/*
 * A task: computes *value from arg and returns 0, or returns an error code
 * (> 0) when it fails. It runs in a worker process, so it may also crash
 * that process: abort, be killed, or _exit in the middle.
 */
typedef int (*pool_task)(long arg, long *value);

/* What became of one task. */
enum pool_outcome {
    POOL_DONE = 1,  /* it returned 0: value holds what it computed */
    POOL_FAILED,    /* it returned an error code: error holds it */
    POOL_CRASHED,   /* its worker died before answering: status holds how */
};

struct pool_result {
    int outcome;    /* enum pool_outcome */
    long value;     /* POOL_DONE: the task's value */
    int error;      /* POOL_FAILED: the code the task returned */
    int status;     /* POOL_CRASHED: the dead worker's wait status (WIFSIGNALED ...) */
};

struct pool;

/*
 * Starts `workers` worker processes (1 to POOL_MAX_WORKERS) that will run
 * task. Returns the pool, or NULL having said why on stderr; then no
 * process of it is left running.
 */
struct pool *pool_start(int workers, pool_task task);

/*
 * Runs task(args[i]) for each i from 0 to n-1 on the pool's workers, and
 * waits until every one has an outcome; results[i] is args[i]'s, whatever
 * order they finish in. Each worker runs one task at a time, and a task
 * goes to a worker as soon as one is free.
 *
 * A worker that dies running a task (a crash, a signal, an exit) does not
 * stop the pool: that task is POOL_CRASHED, with the worker's wait status;
 * a new worker takes the dead one's place, and the other tasks go on.
 *
 * Returns how many tasks did not end POOL_DONE (0: all did). Returns -1
 * when the pool itself failed (a call failed: said on stderr; the pool is
 * then broken, and only pool_close and pool_free may follow), or when the
 * pool is closed or n is negative (said on stderr; nothing runs).
 */
int pool_map(struct pool *pool, const long args[], int n, struct pool_result results[]);

/*
 * Lets each worker finish the task it runs, ends every worker and waits for
 * it. Afterwards pool_map refuses to run anything. Returns 0, or -1 having
 * said why on stderr (every worker has ended and been waited for all the
 * same).
 */
int pool_close(struct pool *pool);

/* Closes the pool if it is open, and frees it. pool_free(NULL) does nothing. */
void pool_free(struct pool *pool);

#endif
