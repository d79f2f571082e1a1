/*
 * mgr-ops.c - what one update costs through shmlab's manager (lesson 07).
 *
 * Starts a manager, then P client processes, all started at once, each
 * with its own connection, update one counter in it for about S seconds;
 * the program prints, as CSV, the updates per second of all together.
 * MODE is how each client updates:
 *   incr       mgr_incr: one request, and its reply awaited, per update
 *   set        mgr_set of an int: the same round trip (not a safe counter)
 *   pipelined  incr requests sent 100 at a time before any reply is read,
 *              as tests/bench-manager.c does: the round trips overlap
 *
 * Usage: mgr-ops incr|set|pipelined PROCESSES SECONDS
 */
#include "manager.h"
#include "measure.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define MAX_PROCESSES 64
#define PIPELINE 100  /* requests in flight, in pipelined mode */

static void fail(struct mgr *c, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, mgr_error(c));
    exit(EXIT_FAILURE);
}

/* Round-trip updates, one at a time: the count made in `seconds`. */
static long synchronous(const char *address, int incr, double seconds, double *elapsed)
{
    struct mgr *c = mgr_connect(address);
    if (c == NULL)
        exit(EXIT_FAILURE);
    struct value v = {.type = V_INT};
    long n = 0;
    double start = now();
    do {
        for (int k = 0; k < 100; k++, n++) {
            v.u.i = n;
            if (incr && mgr_incr(c, "measure", "counter", 1, NULL) == -1)
                fail(c, "mgr_incr");
            if (!incr && mgr_set(c, "measure", "counter", &v) == -1)
                fail(c, "mgr_set");
        }
        *elapsed = now() - start;
    } while (*elapsed < seconds);
    mgr_close(c);
    return n;
}

/* Sends the whole buffer: a socket may take less than asked. */
static void send_all(int fd, const struct buf *out)
{
    for (size_t sent = 0; sent < out->len;) {
        ssize_t w = write(fd, out->data + sent, out->len - sent);
        if (w == -1)
            die_errno("write (manager socket)");
        sent += (size_t)w;
    }
}

/* Reads replies until `count` have come; each must say MGR_OK. */
static void take_replies(int fd, struct buf *in, int count)
{
    for (int got = 0; got < count;) {
        struct value *reply;
        char err[128];
        int fatal, r = frame_take(in, &reply, err, sizeof err, &fatal);
        if (r == -1) {
            fprintf(stderr, "a bad reply: %s\n", err);
            exit(EXIT_FAILURE);
        }
        if (r == 1) {
            if (reply->u.list.items[0]->u.i != MGR_OK) {
                fprintf(stderr, "a pipelined incr failed\n");
                exit(EXIT_FAILURE);
            }
            value_free(reply);
            got++;
            continue;
        }
        uint8_t chunk[65536];
        ssize_t k = read(fd, chunk, sizeof chunk);
        if (k == -1)
            die_errno("read (manager socket)");
        if (k == 0) {
            fprintf(stderr, "the manager closed the connection\n");
            exit(EXIT_FAILURE);
        }
        if (buf_append(in, chunk, (size_t)k) == -1) {
            fprintf(stderr, "out of memory\n");
            exit(EXIT_FAILURE);
        }
    }
}

/* PIPELINE incr requests written at once, then their replies read. */
static long pipelined(const char *address, double seconds, double *elapsed)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *where = address + strlen("unix:");
    if (strlen(where) >= sizeof sa.sun_path) {
        fprintf(stderr, "socket path too long: %s\n", where);
        exit(EXIT_FAILURE);
    }
    memcpy(sa.sun_path, where, strlen(where) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd == -1)
        die_errno("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
        die_errno("connect(%s)", address);
    /* The request [op, name, path, delta], framed PIPELINE times. */
    struct value *req = value_list(), *path = value_list();
    struct buf out = {0}, in = {0};
    if (req == NULL || path == NULL || list_append(path, value_str("counter")) == -1 ||
        list_append(req, value_str("incr")) == -1 ||
        list_append(req, value_str("measure")) == -1 || list_append(req, path) == -1 ||
        list_append(req, value_int(1)) == -1) {
        fprintf(stderr, "out of memory\n");
        exit(EXIT_FAILURE);
    }
    for (int k = 0; k < PIPELINE; k++)
        if (frame_append(&out, req) != 0) {
            fprintf(stderr, "cannot frame the request\n");
            exit(EXIT_FAILURE);
        }
    value_free(req);
    long n = 0;
    double start = now();
    do {
        send_all(fd, &out);
        take_replies(fd, &in, PIPELINE);
        n += PIPELINE;
        *elapsed = now() - start;
    } while (*elapsed < seconds);
    buf_free(&out);
    buf_free(&in);
    if (close(fd) == -1)
        die_errno("close (manager socket)");
    return n;
}

int main(int argc, char *argv[])
{
    const char *mode = argc > 3 ? argv[1] : "";
    int processes = argc > 3 ? atoi(argv[2]) : 0;
    double seconds = argc > 3 ? atof(argv[3]) : 0;
    int incr = strcmp(mode, "incr") == 0, set = strcmp(mode, "set") == 0;
    if ((!incr && !set && strcmp(mode, "pipelined") != 0) || processes < 1 ||
        processes > MAX_PROCESSES || seconds <= 0) {
        fprintf(stderr, "usage: %s incr|set|pipelined PROCESSES(1-%d) SECONDS\n", argv[0],
                MAX_PROCESSES);
        return EXIT_FAILURE;
    }
    double *rate = mmap(NULL, MAX_PROCESSES * sizeof *rate, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (rate == MAP_FAILED)
        die_errno("mmap(rates)");

    struct manager m;
    if (manager_start(&m) == -1)
        return EXIT_FAILURE;
    struct mgr *c = mgr_connect(m.address);
    if (c == NULL || mgr_create(c, "measure", "dict") == -1)
        return EXIT_FAILURE;
    mgr_close(c);

    struct gate g;
    gate_make(&g);
    pid_t pids[MAX_PROCESSES];
    for (int i = 0; i < processes; i++) {
        if ((pids[i] = fork()) == -1)
            die_errno("fork (client %d)", i);
        if (pids[i] == 0) {
            double elapsed = 0;
            gate_wait(&g);
            long n = incr || set ? synchronous(m.address, incr, seconds, &elapsed)
                                 : pipelined(m.address, seconds, &elapsed);
            rate[i] = n / elapsed;
            _exit(EXIT_SUCCESS);
        }
    }
    gate_open(&g);
    int failed = 0;
    double total = 0;
    for (int i = 0; i < processes; i++) {  /* not wait(): the manager is our child too */
        int status;
        if (waitpid(pids[i], &status, 0) == -1)
            die_errno("waitpid (client %d)", i);
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        total += rate[i];
    }
    if (manager_shutdown(&m) == -1)
        failed++;
    if (munmap(rate, MAX_PROCESSES * sizeof *rate) == -1)
        die_errno("munmap(rates)");
    if (failed) {
        fprintf(stderr, "mgr-ops: %d client(s) or the manager failed\n", failed);
        return EXIT_FAILURE;
    }
    printf("method,processes,ops_per_second\n");
    printf("manager-%s,%d,%.0f\n", mode, processes, total);
    return EXIT_SUCCESS;
}
