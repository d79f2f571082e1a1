/*
 * queue.c - lesson 10, the queue that deadlocks: the solution.
 *
 * A message is its length, then its bytes. A pipe keeps the bytes of one
 * write() together only up to PIPE_BUF (4 KiB), so a message is whole only
 * if one process at a time writes it and one at a time reads it: two
 * process-shared mutexes, in a mapping made before fork, see to that (as
 * Python's Queue keeps a lock for writers and one for readers).
 *
 * The end of the stream is end-of-file, which a reader sees only once every
 * copy of the pipe's write end is closed: each process closes the ends it
 * does not use as soon as it is forked. The gathering process reads while
 * its producers run, and waits for them only at the end: a pipe holds 64
 * KiB, and a producer with more to say waits until somebody reads.
 */
#include "queue.h"
#include "errors.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct locks {
    pthread_mutex_t put;  /* held while one message is written */
    pthread_mutex_t get;  /* held while one message is read */
};

struct queue {
    int read_end;         /* -1 once closed in this process */
    int write_end;
    struct locks *locks;  /* shared by every process forked after queue_open */
};

static int shared_mutex(pthread_mutex_t *m, const char *which)
{
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);
    if (err != 0) {
        warn_err(err, "pthread_mutexattr_init(the %s lock)", which);
        return -1;
    }
    err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (err != 0)
        warn_err(err, "pthread_mutexattr_setpshared(the %s lock)", which);
    else if ((err = pthread_mutex_init(m, &attr)) != 0)
        warn_err(err, "pthread_mutex_init(the %s lock)", which);
    pthread_mutexattr_destroy(&attr);
    return err == 0 ? 0 : -1;
}

struct queue *queue_open(void)
{
    struct queue *q = malloc(sizeof *q);
    if (q == NULL) {
        warn_errno("malloc(a queue)");
        return NULL;
    }
    q->locks = mmap(NULL, sizeof *q->locks, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                    -1, 0);
    if (q->locks == MAP_FAILED) {
        warn_errno("mmap(a queue's locks)");
        free(q);
        return NULL;
    }
    int ends[2];
    if (shared_mutex(&q->locks->put, "put") == -1 || shared_mutex(&q->locks->get, "get") == -1) {
        munmap(q->locks, sizeof *q->locks);
        free(q);
        return NULL;
    }
    if (pipe(ends) == -1) {
        warn_errno("pipe(a queue)");
        munmap(q->locks, sizeof *q->locks);
        free(q);
        return NULL;
    }
    q->read_end = ends[0];
    q->write_end = ends[1];
    return q;
}

static int lock(pthread_mutex_t *m, const char *which)
{
    int err = pthread_mutex_lock(m);
    if (err != 0)
        warn_err(err, "pthread_mutex_lock(the %s lock)", which);
    return err == 0 ? 0 : -1;
}

static int unlock(pthread_mutex_t *m, const char *which)
{
    int err = pthread_mutex_unlock(m);
    if (err != 0)
        warn_err(err, "pthread_mutex_unlock(the %s lock)", which);
    return err == 0 ? 0 : -1;
}

/* Closes *fd in this process, once. */
static void close_end(int *fd)
{
    if (*fd != -1)
        close(*fd);
    *fd = -1;
}

/* Writes all n bytes: a write to a pipe may stop short when a signal comes. */
static int write_all(int fd, const char *p, size_t n, const char *what)
{
    while (n > 0) {
        ssize_t done = write(fd, p, n);
        if (done == -1 && errno == EINTR)
            continue;
        if (done == -1) {
            warn_errno("write(%s)", what);
            return -1;
        }
        p += done;
        n -= (size_t)done;
    }
    return 0;
}

/*
 * Reads all n bytes: a read returns what the pipe holds, which may be less.
 * Returns 1, 0 on end-of-file before the first byte, -1 on failure.
 */
static int read_all(int fd, char *p, size_t n, const char *what)
{
    size_t got = 0;
    while (got < n) {
        ssize_t done = read(fd, p + got, n - got);
        if (done == -1 && errno == EINTR)
            continue;
        if (done == -1) {
            warn_errno("read(%s)", what);
            return -1;
        }
        if (done == 0 && got == 0)
            return 0;
        if (done == 0) {
            fprintf(stderr, "read(%s): the stream ended after %zu of %zu bytes\n", what, got,
                    n);
            return -1;
        }
        got += (size_t)done;
    }
    return 1;
}

int queue_put(struct queue *q, const void *data, size_t len)
{
    if (len > QUEUE_MAX) {
        fprintf(stderr, "queue_put: a message of %zu bytes: at most %d\n", len, QUEUE_MAX);
        return -1;
    }
    uint32_t head = (uint32_t)len;
    if (lock(&q->locks->put, "put") == -1)
        return -1;
    int rc = write_all(q->write_end, (const char *)&head, sizeof head, "a message's length");
    if (rc == 0)
        rc = write_all(q->write_end, data, len, "a message");
    if (unlock(&q->locks->put, "put") == -1)
        rc = -1;
    return rc;
}

long queue_get(struct queue *q, void *buf)
{
    uint32_t head;
    long rc;
    if (lock(&q->locks->get, "get") == -1)
        return -1;
    int got = read_all(q->read_end, (char *)&head, sizeof head, "a message's length");
    if (got == 1 && head > QUEUE_MAX) {
        fprintf(stderr, "queue_get: a message of %lu bytes: at most %d (a torn stream?)\n",
                (unsigned long)head, QUEUE_MAX);
        got = -1;
    }
    if (got == 1)
        got = read_all(q->read_end, buf, head, "a message") == 1 ? 1 : -1;
    rc = got == 1 ? (long)head : got == 0 ? QUEUE_END : -1;
    if (unlock(&q->locks->get, "get") == -1)
        rc = -1;
    return rc;
}

void queue_close(struct queue *q)
{
    if (q == NULL)
        return;
    close_end(&q->read_end);
    close_end(&q->write_end);
    munmap(q->locks, sizeof *q->locks);
    free(q);
}

/*
 * Once nobody can read a pipe, a write to it raises SIGPIPE, which kills.
 * A writer that dies holding the put lock leaves the others waiting for it
 * for ever: hold the signal back, and the write fails with EPIPE instead.
 */
static void hold_back_sigpipe(sigset_t *old)
{
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_signal, old);
}

/* Takes back a SIGPIPE held back meanwhile, and lets the next ones through. */
static void let_sigpipe_go(const sigset_t *old)
{
    sigset_t pending, pipe_signal;
    int sig;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
        sigwait(&pipe_signal, &sig);
    sigprocmask(SIG_SETMASK, old, NULL);
}

/* Waits for a process of ours, and says how it ended if not well. Returns 0 or -1. */
static int reap(pid_t pid, const char *who, int index)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR) {
            warn_errno("waitpid(%s %d, pid %d)", who, index, (int)pid);
            return -1;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        fprintf(stderr, "%s %d (pid %d) failed: it exited with status %d\n", who, index,
                (int)pid, WEXITSTATUS(status));
    else
        fprintf(stderr, "%s %d (pid %d) died of signal %d (%s)\n", who, index, (int)pid,
                WTERMSIG(status), strsignal(WTERMSIG(status)));
    return -1;
}

static int bad_count(const char *who, int n)
{
    if (n >= 1 && n <= QUEUE_MAX_PROCS)
        return 0;
    fprintf(stderr, "%d %s: 1 to %d\n", n, who, QUEUE_MAX_PROCS);
    return 1;
}

long queue_gather(int producers, queue_producer produce, queue_taker take, void *arg)
{
    if (bad_count("producers", producers))
        return -1;
    struct queue *q = queue_open();
    if (q == NULL)
        return -1;
    pid_t pid[QUEUE_MAX_PROCS];
    int started = 0, failed = 0;
    for (; started < producers; started++) {
        pid[started] = fork();
        if (pid[started] == -1) {
            warn_errno("fork(producer %d)", started);
            failed = 1;
            break;
        }
        if (pid[started] == 0) {
            /* A producer only puts: if it kept the read end, it would wait for ever
             * on a full pipe that nobody reads any more. */
            close_end(&q->read_end);
            sigset_t old;
            hold_back_sigpipe(&old);
            _exit(produce(started, q, arg) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
        }
    }
    /* The end comes when no process holds the write end: ours first. */
    close_end(&q->write_end);
    long taken = 0, len;
    char *buf = malloc(QUEUE_MAX);
    if (buf == NULL) {
        warn_errno("malloc(a message buffer)");
        failed = 1;
    }
    /* Read while they run: waiting for them first would wait for ever once
     * they have put more than the pipe holds. */
    while (buf != NULL && (len = queue_get(q, buf)) >= 0) {
        take(buf, (size_t)len, arg);
        taken++;
    }
    if (buf != NULL && len == -1)
        failed = 1;
    /* Closing the read end now makes a producer still writing fail (EPIPE),
     * rather than wait for a reader that is gone. */
    queue_close(q);
    free(buf);
    for (int i = 0; i < started; i++)
        failed |= reap(pid[i], "producer", i) == -1;
    return failed ? -1 : taken;
}

/* A reader: takes messages until the end, and exits. */
static void read_until_the_end(int index, struct queue *q, queue_reader consume, void *arg)
{
    /* Its copy of the write end would keep the end from coming. */
    close_end(&q->write_end);
    char *buf = malloc(QUEUE_MAX);
    if (buf == NULL) {
        warn_errno("malloc(reader %d's message buffer)", index);
        _exit(EXIT_FAILURE);
    }
    long len;
    while ((len = queue_get(q, buf)) >= 0)
        consume(index, buf, (size_t)len, arg);
    _exit(len == QUEUE_END ? EXIT_SUCCESS : EXIT_FAILURE);
}

int queue_scatter(int readers, queue_reader consume, void *arg, const void *const msgs[],
                  const size_t lens[], int n)
{
    if (bad_count("readers", readers))
        return -1;
    struct queue *q = queue_open();
    if (q == NULL)
        return -1;
    pid_t pid[QUEUE_MAX_PROCS];
    int started = 0, failed = 0;
    for (; started < readers; started++) {
        pid[started] = fork();
        if (pid[started] == -1) {
            warn_errno("fork(reader %d)", started);
            failed = 1;
            break;
        }
        if (pid[started] == 0)
            read_until_the_end(started, q, consume, arg);
    }
    close_end(&q->read_end);
    sigset_t old;
    hold_back_sigpipe(&old);
    for (int i = 0; i < n && !failed; i++)
        failed = queue_put(q, msgs[i], lens[i]) == -1;
    let_sigpipe_go(&old);
    /* End-of-file tells every reader at once that nothing more will come. */
    queue_close(q);
    for (int i = 0; i < started; i++)
        failed |= reap(pid[i], "reader", i) == -1;
    return failed ? -1 : 0;
}
