/*
 * queue.c - lesson 10, the queue that deadlocks. This is the file you edit.
 *
 * A message is its length, then its bytes, written into a pipe. The
 * gathering process waits for its producers to finish, then reads what
 * they put; the scattering process puts its messages, then one empty
 * message that tells the readers to stop. Run `make run LESSON=10` and see
 * which of these hold.
 */
#include "queue.h"
#include "errors.h"

#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

struct queue {
    int read_end;   /* -1 once closed in this process */
    int write_end;
};

struct queue *queue_open(void)
{
    struct queue *q = malloc(sizeof *q);
    if (q == NULL) {
        warn_errno("malloc(a queue)");
        return NULL;
    }
    int ends[2];
    if (pipe(ends) == -1) {
        warn_errno("pipe(a queue)");
        free(q);
        return NULL;
    }
    q->read_end = ends[0];
    q->write_end = ends[1];
    return q;
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
    if (write_all(q->write_end, (const char *)&head, sizeof head, "a message's length") == -1)
        return -1;
    return write_all(q->write_end, data, len, "a message");
}

long queue_get(struct queue *q, void *buf)
{
    uint32_t head;
    int got = read_all(q->read_end, (char *)&head, sizeof head, "a message's length");
    if (got != 1)
        return got == 0 ? QUEUE_END : -1;
    if (head > QUEUE_MAX) {
        fprintf(stderr, "queue_get: a message of %lu bytes: at most %d (a torn stream?)\n",
                (unsigned long)head, QUEUE_MAX);
        return -1;
    }
    if (read_all(q->read_end, buf, head, "a message") != 1)
        return -1;
    return (long)head;
}

void queue_close(struct queue *q)
{
    if (q == NULL)
        return;
    close_end(&q->read_end);
    close_end(&q->write_end);
    free(q);
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
        if (pid[started] == 0)
            _exit(produce(started, q, arg) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
    }
    /* Let them finish, then read everything they put. */
    for (int i = 0; i < started; i++)
        failed |= reap(pid[i], "producer", i) == -1;
    close_end(&q->write_end);
    char *buf = malloc(QUEUE_MAX);
    if (buf == NULL) {
        warn_errno("malloc(a message buffer)");
        queue_close(q);
        return -1;
    }
    long taken = 0, got;
    while ((got = queue_get(q, buf)) >= 0) {
        take(buf, (size_t)got, arg);
        taken++;
    }
    free(buf);
    queue_close(q);
    return failed || got == -1 ? -1 : taken;
}

/* A reader: takes messages until an empty one, and exits. */
static void read_until_the_end(int index, struct queue *q, queue_reader consume, void *arg)
{
    char *buf = malloc(QUEUE_MAX);
    if (buf == NULL) {
        warn_errno("malloc(reader %d's message buffer)", index);
        _exit(EXIT_FAILURE);
    }
    long len;
    while ((len = queue_get(q, buf)) > 0)
        consume(index, buf, (size_t)len, arg);
    _exit(len == -1 ? EXIT_FAILURE : EXIT_SUCCESS);
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
    for (int i = 0; i < n && !failed; i++)
        failed = queue_put(q, msgs[i], lens[i]) == -1;
    /* An empty message says: the end. */
    if (queue_put(q, "", 0) == -1)
        failed = 1;
    for (int i = 0; i < started; i++)
        failed |= reap(pid[i], "reader", i) == -1;
    queue_close(q);
    return failed ? -1 : 0;
}
