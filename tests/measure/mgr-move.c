/*
 * mgr-move.c - what moving a block of N bytes through shmlab's manager costs.
 *
 * A writer process stores a block of N bytes in a manager dict (mgr_set),
 * then a reader process fetches it (mgr_get), one block at a time, for about
 * S seconds; a byte over a pipe each way says whose turn it is. The program
 * prints, as CSV, the microseconds per block and the megabytes per second.
 * Each block crosses two sockets and is encoded and decoded twice; and the
 * manager refuses a frame over MGR_FRAME_MAX (1 MiB), so a block must be
 * a little smaller than that (protocol.h).
 *
 * Usage: mgr-move BYTES SECONDS        e.g. mgr-move 4096 1.0
 */
#include "manager.h"
#include "measure.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define ENVELOPE 256  /* room in a frame for the request around the bytes */

static void fail(struct mgr *c, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, mgr_error(c));
    exit(EXIT_FAILURE);
}

/* The reader: waits for its turn, fetches the block, checks its size, and
 * gives the turn back; until the writer closes its pipe. */
static void reader(const char *address, size_t n, int turn, int back)
{
    struct mgr *c = mgr_connect(address);
    if (c == NULL)
        exit(EXIT_FAILURE);
    char t;
    ssize_t r;
    while ((r = read(turn, &t, 1)) == 1) {
        struct value *v;
        if (mgr_get(c, "measure", "block", &v) == -1)
            fail(c, "mgr_get");
        if (v->type != V_BYTES || v->u.bytes.len != n) {
            fprintf(stderr, "mgr-move: the block came back changed\n");
            exit(EXIT_FAILURE);
        }
        value_free(v);
        if (write(back, "", 1) != 1)
            die_errno("write (turn)");
    }
    if (r == -1)
        die_errno("read (turn)");
    mgr_close(c);
}

int main(int argc, char *argv[])
{
    long long bytes = argc > 2 ? atoll(argv[1]) : 0;
    double seconds = argc > 2 ? atof(argv[2]) : 0;
    if (bytes < 1 || bytes > MGR_FRAME_MAX - ENVELOPE || seconds <= 0) {
        fprintf(stderr, "usage: %s BYTES(1-%u) SECONDS\n", argv[0], MGR_FRAME_MAX - ENVELOPE);
        return EXIT_FAILURE;
    }
    size_t n = (size_t)bytes;
    struct manager m;
    if (manager_start(&m) == -1)
        return EXIT_FAILURE;
    struct mgr *c = mgr_connect(m.address);
    if (c == NULL || mgr_create(c, "measure", "dict") == -1)
        return EXIT_FAILURE;

    int turn[2], back[2];
    if (pipe(turn) == -1 || pipe(back) == -1)
        die_errno("pipe");
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0) {
        /* The parent's connection is its own: the child opens another. */
        if (close(turn[1]) == -1 || close(back[0]) == -1)
            die_errno("close");
        reader(m.address, n, turn[0], back[1]);
        _exit(EXIT_SUCCESS);
    }
    if (close(turn[0]) == -1 || close(back[1]) == -1)
        die_errno("close");

    char *data = malloc(n + 1);  /* value.h: a byte string ends with a '\0' beyond len */
    if (data == NULL)
        die_errno("malloc(%zu)", n + 1);
    memset(data, 'x', n);
    data[n] = '\0';
    struct value block = {.type = V_BYTES, .u.bytes = {.data = data, .len = (uint32_t)n}};
    long blocks = -1;  /* the first block, untimed, warms the buffers */
    double start = 0, elapsed = 0;
    char t;
    do {
        if (mgr_set(c, "measure", "block", &block) == -1)
            fail(c, "mgr_set");
        if (write(turn[1], "", 1) != 1 || read(back[0], &t, 1) != 1)
            die_errno("the turn pipes");
        if (++blocks == 0)
            start = now();
        elapsed = now() - start;
    } while (blocks == 0 || elapsed < seconds);
    if (close(turn[1]) == -1)  /* end of file: the reader stops */
        die_errno("close (turn)");
    int status, failed = 0;
    if (waitpid(pid, &status, 0) == -1)  /* not wait(): the manager is our child too */
        die_errno("waitpid (reader)");
    failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    if (close(back[0]) == -1)
        die_errno("close (turn)");
    free(data);
    mgr_close(c);
    failed += manager_shutdown(&m) == -1;
    if (failed) {
        fprintf(stderr, "mgr-move: the reader or the manager failed\n");
        return EXIT_FAILURE;
    }
    double rate = blocks / elapsed;
    printf("method,bytes,us_per_block,mb_per_second\n");
    printf("manager,%zu,%.3f,%.3f\n", n, 1e6 / rate, rate * n / 1e6);
    return EXIT_SUCCESS;
}
