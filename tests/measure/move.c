/*
 * move.c - what moving a block of N bytes from one process to another costs.
 *
 * A writer (the parent) hands blocks of N bytes to a reader (its child),
 * one at a time, for about S seconds; the program prints, as CSV, the
 * microseconds per block and the megabytes (10^6 bytes) per second. HOW:
 *   shm   through a shared segment (shm_open + mmap, lesson 04): the
 *         writer memcpy's the block in, the reader memcpy's it out; two
 *         semaphores in the segment take turns (lesson 03's handshake)
 *   pipe  through a pipe: write() in, read() out, and the kernel copies
 * Both copy each byte twice; what differs is who copies, and the waits.
 *
 * Usage: move shm|pipe BYTES SECONDS       e.g. move shm 4096 1.0
 */
#include "measure.h"

#include <fcntl.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MAX_BYTES ((size_t)1 << 30)

/* The segment: the handshake, then the block. */
struct slot {
    sem_t empty;        /* posted by the reader: the writer may fill the block */
    sem_t full;         /* posted by the writer: a block, or the end, is there */
    int done;           /* set by the writer, with full posted: no more blocks */
    unsigned char block[];
};

static void wait_sem(sem_t *s)
{
    while (sem_wait(s) == -1)
        if (errno != EINTR)
            die_errno("sem_wait");
}

static void post_sem(sem_t *s)
{
    if (sem_post(s) == -1)
        die_errno("sem_post");
}

static unsigned char *private_buffer(size_t n, int fill)
{
    unsigned char *b = malloc(n);
    if (b == NULL)
        die_errno("malloc(%zu)", n);
    memset(b, fill, n);  /* touched now: page faults stay out of the timing */
    return b;
}

/* The reader's side of shm: copy each block out until the writer says done. */
static void shm_reader(struct slot *s, size_t n)
{
    unsigned char *mine = private_buffer(n, 0);
    for (;;) {
        wait_sem(&s->full);
        if (s->done)
            break;
        memcpy(mine, s->block, n);
        post_sem(&s->empty);
    }
    free(mine);
}

/* The writer's side: blocks per second, counting only what the reader took. */
static double shm_writer(struct slot *s, size_t n, double seconds)
{
    unsigned char *data = private_buffer(n, 'x');
    long taken = -1;  /* blocks the reader has taken; the first one, untimed,
                       * warms the segment's pages */
    double start = 0, elapsed = 0;
    for (;;) {
        wait_sem(&s->empty);  /* the reader has taken every block sent */
        if (++taken == 1)
            start = now();
        elapsed = now() - start;
        if (taken > 1 && elapsed >= seconds)
            break;
        memcpy(s->block, data, n);
        post_sem(&s->full);
    }
    s->done = 1;
    post_sem(&s->full);
    free(data);
    return (taken - 1) / elapsed;
}

static double through_shm(size_t n, double seconds)
{
    /* A name of its own (the pid), unlinked as soon as it is mapped: nothing is
     * left in /dev/shm, whatever happens next; the child inherits the mapping. */
    char name[64];
    snprintf(name, sizeof name, "/shmlab-measure-move-%ld", (long)getpid());
    size_t size = sizeof(struct slot) + n;
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1)
        die_errno("shm_open(%s)", name);
    if (shm_unlink(name) == -1)
        die_errno("shm_unlink(%s)", name);
    if (ftruncate(fd, (off_t)size) == -1)
        die_errno("ftruncate(%s, %zu)", name, size);
    struct slot *s = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (s == MAP_FAILED)
        die_errno("mmap(%s)", name);
    if (close(fd) == -1)
        die_errno("close(%s)", name);
    if (sem_init(&s->empty, 1, 1) == -1 || sem_init(&s->full, 1, 0) == -1)
        die_errno("sem_init");
    s->done = 0;

    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0) {
        shm_reader(s, n);
        _exit(EXIT_SUCCESS);
    }
    double rate = shm_writer(s, n, seconds);
    int status;
    if (waitpid(pid, &status, 0) == -1)
        die_errno("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "move: the reader failed\n");
        exit(EXIT_FAILURE);
    }
    if (sem_destroy(&s->empty) == -1 || sem_destroy(&s->full) == -1)
        die_errno("sem_destroy");
    if (munmap(s, size) == -1)
        die_errno("munmap(%s)", name);
    return rate;
}

/* The reader's side of the pipe: read whole blocks until end of file, then
 * tell how many blocks came (a short count would mean lost bytes). */
static void pipe_reader(int in, int report, size_t n)
{
    unsigned char *mine = private_buffer(n, 0);
    long blocks = 0;
    size_t got = 0;
    for (;;) {
        ssize_t r = read(in, mine + got, n - got);
        if (r == -1)
            die_errno("read (pipe)");
        if (r == 0)
            break;
        got += (size_t)r;
        if (got == n) {
            blocks++;
            got = 0;
            /* One byte back per block: the writer times whole blocks taken. */
            if (write(report, "", 1) != 1)
                die_errno("write (acknowledgement)");
        }
    }
    free(mine);
}

static void write_all(int fd, const unsigned char *data, size_t n)
{
    for (size_t sent = 0; sent < n;) {
        ssize_t w = write(fd, data + sent, n - sent);
        if (w == -1)
            die_errno("write (pipe)");
        sent += (size_t)w;
    }
}

static double through_pipe(size_t n, double seconds)
{
    int data[2], ack[2];
    if (pipe(data) == -1 || pipe(ack) == -1)
        die_errno("pipe");
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0) {
        if (close(data[1]) == -1 || close(ack[0]) == -1)
            die_errno("close");
        pipe_reader(data[0], ack[1], n);
        _exit(EXIT_SUCCESS);
    }
    if (close(data[0]) == -1 || close(ack[1]) == -1)
        die_errno("close");
    unsigned char *block = private_buffer(n, 'x');
    long blocks = -1;  /* the first block, untimed, warms both buffers */
    double start = 0, elapsed = 0;
    char c;
    do {
        write_all(data[1], block, n);
        if (read(ack[0], &c, 1) != 1)  /* the reader has the whole block */
            die_errno("read (acknowledgement)");
        if (++blocks == 0)
            start = now();
        elapsed = now() - start;
    } while (blocks == 0 || elapsed < seconds);
    if (close(data[1]) == -1)  /* end of file: the reader stops */
        die_errno("close (pipe)");
    int status;
    if (waitpid(pid, &status, 0) == -1)
        die_errno("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "move: the reader failed\n");
        exit(EXIT_FAILURE);
    }
    if (close(ack[0]) == -1)
        die_errno("close");
    free(block);
    return blocks / elapsed;
}

int main(int argc, char *argv[])
{
    const char *how = argc > 3 ? argv[1] : "";
    long long bytes = argc > 3 ? atoll(argv[2]) : 0;
    double seconds = argc > 3 ? atof(argv[3]) : 0;
    int shm = strcmp(how, "shm") == 0;
    if ((!shm && strcmp(how, "pipe") != 0) || bytes < 1 || (size_t)bytes > MAX_BYTES ||
        seconds <= 0) {
        fprintf(stderr, "usage: %s shm|pipe BYTES(1-%zu) SECONDS\n", argv[0], MAX_BYTES);
        return EXIT_FAILURE;
    }
    size_t n = (size_t)bytes;
    double rate = shm ? through_shm(n, seconds) : through_pipe(n, seconds);
    printf("method,bytes,us_per_block,mb_per_second\n");
    printf("%s,%zu,%.3f,%.3f\n", how, n, 1e6 / rate, rate * n / 1e6);
    return EXIT_SUCCESS;
}
