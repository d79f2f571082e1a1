/*
 * main.c - lesson 12 demo: four workers each compute a quarter of an
 * array of doubles and put it with bulk_put; the parent collects it all,
 * checks every element, and says how long it took.
 *
 * Usage: demo [elements]   (20000 when not given; at most BULK_MAX)
 */
#include "bulk.h"
#include "errors.h"
#include "manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4

static double element(size_t i)
{
    return (double)i / 7.0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A worker: waits for the go (a byte on the pipe), computes its slice, puts it. */
static void work(const char *address, int go, size_t first, size_t count)
{
    char byte;
    if (read(go, &byte, 1) != 1)
        _exit(EXIT_FAILURE);  /* the parent gave up */
    double *slice = malloc(count * sizeof *slice + 1);
    if (slice == NULL)
        die_errno("malloc(a slice)");
    for (size_t i = 0; i < count; i++)
        slice[i] = element(first + i);
    int rc = bulk_put(address, first, slice, count);
    free(slice);
    _exit(rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

int main(int argc, char *argv[])
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    struct manager m;
    if (manager_start(&m) == -1)
        exit(EXIT_FAILURE);
    int go[2];
    if (pipe(go) == -1)
        die_errno("pipe");
    /* The workers are started first: they know the manager, not the gatherer. */
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        pids[w] = fork();
        if (pids[w] == -1)
            die_errno("fork");
        if (pids[w] == 0) {
            close(go[1]);
            work(m.address, go[0], n * (size_t)w / WORKERS,
                 n * (size_t)(w + 1) / WORKERS - n * (size_t)w / WORKERS);
        }
    }
    close(go[0]);
    char name[64];
    snprintf(name, sizeof name, "/shmlab-demo-%d", (int)getpid());
    double start = now();
    struct bulk *b = bulk_open(m.address, name, n);
    if (b != NULL && write(go[1], "gogo", WORKERS) != WORKERS)
        die_errno("write(the workers' go)");
    close(go[1]);
    int failed = b == NULL;
    for (int w = 0; w < WORKERS; w++) {
        int status;
        if (waitpid(pids[w], &status, 0) == -1)
            die_errno("waitpid(worker %d)", w);
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    double *out = malloc(n * sizeof *out + 1);
    if (out == NULL)
        die_errno("malloc(the array)");
    if (!failed && bulk_collect(b, out) == 0) {
        double seconds = now() - start;
        size_t right = 0;
        for (size_t i = 0; i < n; i++)
            right += out[i] == element(i);
        printf("%d workers put %zu doubles; the parent collected them: %zu right.\n"
               "It took %.3f s: %.0f doubles a second", WORKERS, n, right, seconds,
               (double)n / seconds);
        if (n < BULK_MAX)
            printf(", so %d would take %.1f s", BULK_MAX, seconds * BULK_MAX / (double)n);
        printf(".\n");
    } else {
        printf("it failed (the reasons are above)\n");
    }
    free(out);
    bulk_close(b);
    manager_shutdown(&m);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
