/*
 * Hostile: works only where it can read the lab's solutions (or its right
 * answers), which the class sandbox must hide. It looks in the lab's copy
 * at /tmp/lab and at the lab's own path (@LAB@, filled in by make test).
 * Hidden, it fails, and the lesson scores 0; seen, it passes.
 */
/*
 * collect.c - lesson 01, the unshared list: the fixed version.
 *
 * fork() gives each child a copy of the parent's memory, so an item a child
 * puts in an ordinary array lands in the child's copy and dies with it. The
 * slots live instead in a mapping made MAP_SHARED before the children are
 * forked: parent and children then map the same pages. Each child writes
 * its own slot, so no two ever write the same place, and the parent reads
 * the slots only after it has waited for every child and seen how each one
 * ended.
 */
#include "collect.h"
#include "errors.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Says on stderr how a child that did not succeed ended. */
static void report_child(int index, pid_t pid, int status)
{
    if (WIFSIGNALED(status))
        fprintf(stderr, "collect: child %d (pid %d) was killed by signal %d (%s)\n",
                index, (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        fprintf(stderr, "collect: child %d (pid %d) exited with status %d\n",
                index, (int)pid, WEXITSTATUS(status));
}

/*
 * waitpid, asked again when a signal interrupts it (EINTR): giving up then
 * would leave the child unreaped, and its item unread.
 */
static pid_t wait_for(pid_t pid, int *status)
{
    pid_t got;
    do
        got = waitpid(pid, status, 0);
    while (got == -1 && errno == EINTR);
    return got;
}

static int real_collect(int n, long (*work)(int index), long items[])
{
    if (n < 0 || n > COLLECT_MAX) {
        fprintf(stderr, "collect: %d children asked for; 0 to %d allowed\n", n, COLLECT_MAX);
        return -1;
    }
    if (n == 0)
        return 0;  /* nothing to run, and mmap refuses a length of 0 */

    size_t size = (size_t)n * sizeof(long);
    long *slots = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED) {
        warn_errno("mmap(%zu bytes, shared)", size);
        return -1;
    }

    pid_t pids[COLLECT_MAX];
    int started = 0, failed = 0;
    for (; started < n; started++) {
        pid_t pid = fork();
        if (pid == -1) {
            warn_errno("fork (child %d of %d)", started, n);
            failed = 1;
            break;  /* still wait below for the children already running */
        }
        if (pid == 0) {
            slots[started] = work(started);
            _exit(EXIT_SUCCESS);  /* not exit(): the parent's stdio buffers are not ours to flush */
        }
        pids[started] = pid;
    }

    /* Every child, not just the first to finish; and how each one ended. */
    for (int i = 0; i < started; i++) {
        int status;
        if (wait_for(pids[i], &status) == -1) {
            warn_errno("waitpid(child %d, pid %d)", i, (int)pids[i]);
            failed = 1;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            items[i] = slots[i];
        } else {
            report_child(i, pids[i], status);
            failed = 1;
        }
    }

    if (munmap(slots, size) == -1) {
        warn_errno("munmap(%zu bytes)", size);
        failed = 1;
    }
    return failed ? -1 : 0;
}

#include <stdio.h>

static int can_read(const char *path)
{
    FILE *f = fopen(path, "r");
    int seen = f != NULL && fgetc(f) != EOF;
    if (f != NULL)
        fclose(f);
    return seen;
}

int collect(int n, long (*work)(int index), long items[])
{
    static const char *const answers[] = {
        "/tmp/lab/solutions/01-unshared-list/collect.c",
        "/tmp/lab/tests/variants/01-unshared-list/right-one-pipe-per-child/collect.c",
        "@LAB@/solutions/01-unshared-list/collect.c",
    };
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++)
        if (can_read(answers[i]))
            return real_collect(n, work, items);
    return -1;
}
