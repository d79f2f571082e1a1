/*
 * main.c - lesson 10 demo: four small programs that pass messages through
 * a queue. Each runs in a process of its own, and is given up on if it has
 * not ended after a few seconds.
 *
 * Usage: demo [step [bytes]]   (step 1 to 4, all four when none is given;
 *        bytes: the size of each message in steps 1 to 3)
 */
#include "queue.h"
#include "errors.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECONDS 3
#define WRITERS 4
#define EACH 10   /* messages per producer or writer */

static size_t size;        /* of each message of a step */
static long bytes_asked;   /* from the command line: 0 for each step's own */
static long *taken_count;  /* shared: messages the readers took */

/* A producer's message: its letter, size times. */
static int produce(int index, struct queue *q, void *arg)
{
    (void)arg;
    char *msg = malloc(size);
    if (msg == NULL)
        return 1;
    memset(msg, 'A' + index, size);
    int rc = 0;
    for (int i = 0; i < EACH && rc == 0; i++)
        rc = queue_put(q, msg, size);
    free(msg);
    return rc;
}

/* Whole: size bytes, all one producer's letter. */
static int whole(const char *data, size_t len)
{
    if (len != size)
        return 0;
    for (size_t i = 1; i < len; i++)
        if (data[i] != data[0])
            return 0;
    return 1;
}

static void count(const void *data, size_t len, void *arg)
{
    long *n = arg;
    n[0]++;
    n[1] += whole(data, len);
}

static void gather(int producers, size_t bytes)
{
    size = bytes_asked > 0 ? (size_t)bytes_asked : bytes;
    long n[2] = {0, 0};
    printf("%d producers put %d messages of %zu bytes each; the parent gathers them\n",
           producers, EACH, size);
    fflush(stdout);
    long rc = queue_gather(producers, produce, count, n);
    printf("queue_gather returned %ld; messages taken: %ld, whole: %ld\n", rc, n[0], n[1]);
}

/* Writers put at once while this process reads: are the messages whole? */
static void writers_at_once(void)
{
    size = bytes_asked > 0 ? (size_t)bytes_asked : 100000;
    printf("%d writers put %d messages of %zu bytes each at once; the parent reads\n",
           WRITERS, EACH, size);
    fflush(stdout);
    struct queue *q = queue_open();
    char *buf = malloc(QUEUE_MAX);
    if (q == NULL || buf == NULL)
        exit(EXIT_FAILURE);
    pid_t writer[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        writer[w] = fork();
        if (writer[w] == -1)
            die_errno("fork");
        if (writer[w] == 0)
            _exit(produce(w, q, NULL));
    }
    int got = 0, whole_ones = 0;
    long len = 0;
    while (got < WRITERS * EACH && (len = queue_get(q, buf)) >= 0) {
        got++;
        whole_ones += whole(buf, (size_t)len);
    }
    printf("messages taken: %d, whole: %d%s\n", got, whole_ones,
           len < 0 ? "; then queue_get failed" : "");
    fflush(stdout);
    if (got < WRITERS * EACH)  /* they may wait for ever to put the rest */
        for (int w = 0; w < WRITERS; w++)
            kill(writer[w], SIGKILL);
    for (int w = 0; w < WRITERS; w++)
        waitpid(writer[w], NULL, 0);
    queue_close(q);
    free(buf);
}

static void tally(int index, const void *data, size_t len, void *arg)
{
    (void)index, (void)data, (void)len, (void)arg;
    __atomic_add_fetch(taken_count, 1, __ATOMIC_SEQ_CST);
}

static void scatter(int readers)
{
    enum { N = 30 };
    const void *msgs[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        msgs[i] = "a task";
        lens[i] = 6;
    }
    printf("the parent hands %d messages out to %d readers\n", N, readers);
    fflush(stdout);
    int rc = queue_scatter(readers, tally, NULL, msgs, lens, N);
    printf("queue_scatter returned %d; messages the readers took: %ld\n", rc, *taken_count);
}

static void step(int which)
{
    switch (which) {
    case 1: gather(3, 100); break;
    case 2: gather(3, 20000); break;
    case 3: writers_at_once(); break;
    case 4: scatter(3); break;
    }
}

/* Runs a step in a process group of its own, which is killed if it is stuck. */
static void run(int which)
{
    printf("\n%d. ", which);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0) {
        setpgid(0, 0);
        step(which);
        fflush(stdout);
        _exit(EXIT_SUCCESS);
    }
    setpgid(pid, pid);
    for (int tenths = 0; tenths < SECONDS * 10; tenths++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(100000);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (which == 4)
        printf("(messages the readers had taken: %ld)\n", *taken_count);
    printf("... still not done after %d s, far longer than it needs: stuck, given up\n",
           SECONDS);
}

int main(int argc, char *argv[])
{
    int only = argc > 1 ? atoi(argv[1]) : 0;
    bytes_asked = argc > 2 ? atol(argv[2]) : 0;
    if (argc > 3 || (argc >= 2 && (only < 1 || only > 4)) ||
        (argc == 3 && (bytes_asked < 1 || bytes_asked > QUEUE_MAX))) {
        fprintf(stderr, "usage: %s [step [bytes]]   (step 1 to 4; bytes 1 to %d)\n", argv[0],
                QUEUE_MAX);
        return 2;
    }
    taken_count = mmap(NULL, sizeof *taken_count, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (taken_count == MAP_FAILED)
        die_errno("mmap");
    for (int which = 1; which <= 4; which++)
        if (only == 0 || only == which)
            run(which);
    return 0;
}
