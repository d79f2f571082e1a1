/*
 * main.c - lesson 09 demo: a pool squares the numbers 0 to N-1; the task
 * for 5 fails, and the one for 9 crashes its worker. What does the caller
 * learn of them?
 *
 * Usage: demo [workers [tasks [crash]]]   (default 4 workers, 12 tasks, and
 *        the task for 9 crashes; crash -1: none does)
 */
#include "pool.h"
#include "errors.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FAILS 5     /* the task that returns an error */
#define WORK_MS 20  /* what a task takes, when there are at most 100 */

static int tasks;
static long crashes = 9;  /* the task that aborts its worker */

static int square(long arg, long *value)
{
    if (tasks <= 100)
        usleep(1000 * WORK_MS);  /* a little work, so that the tasks overlap */
    if (arg == FAILS)
        return EDOM;
    if (arg == crashes) {
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    *value = arg * arg;
    return 0;
}

/*
 * The alarm rang: pool_map is stuck. The demo ends its workers (its
 * children, which the kernel lists in /proc), or they would wait for ever
 * too, and exits. Only calls safe in a signal handler.
 */
static void gave_up(int sig)
{
    (void)sig;
    static const char text[] =
        "\npool_map has not returned after 5 s and more, far longer than its tasks need:\n"
        "it waits for an answer that will never come. The demo gives up, and ends its\n"
        "workers.\n";
    ssize_t ignored = write(STDERR_FILENO, text, sizeof text - 1);
    (void)ignored;
    char path[64] = "/proc/self/task/", digits[16], list[4096];
    int len = 0, at = (int)strlen(path);
    for (pid_t pid = getpid(); pid > 0; pid /= 10)
        digits[len++] = (char)('0' + pid % 10);
    while (len > 0)
        path[at++] = digits[--len];
    memcpy(path + at, "/children", sizeof "/children");
    int fd = open(path, O_RDONLY);
    ssize_t got = fd == -1 ? -1 : read(fd, list, sizeof list - 1);
    list[got > 0 ? got : 0] = ' ';  /* so that the last number ends too */
    for (ssize_t i = 0, child = 0; i <= got; i++) {
        if (list[i] >= '0' && list[i] <= '9') {
            child = child * 10 + (list[i] - '0');
        } else {
            if (child > 0)
                kill((pid_t)child, SIGKILL);
            child = 0;
        }
    }
    if (fd != -1)
        close(fd);
    _exit(EXIT_FAILURE);
}

int main(int argc, char *argv[])
{
    int workers = argc > 1 ? atoi(argv[1]) : 4;
    int n = argc > 2 ? atoi(argv[2]) : 12;
    tasks = n;
    crashes = argc > 3 ? atol(argv[3]) : crashes;
    if (workers < 1 || workers > POOL_MAX_WORKERS || n < 0 || n > 100000) {
        fprintf(stderr, "usage: %s [workers (1-%d) [tasks (0-100000) [crash (-1: none)]]]\n",
                argv[0], POOL_MAX_WORKERS);
        return EXIT_FAILURE;
    }

    static long args[100000];
    static struct pool_result results[100000];
    for (int i = 0; i < n; i++) {
        args[i] = i;
        results[i].outcome = 0;  /* no outcome yet */
    }

    struct pool *pool = pool_start(workers, square);
    if (pool == NULL)
        return EXIT_FAILURE;
    signal(SIGALRM, gave_up);
    alarm(5 + (n <= 100 ? 2 * n * WORK_MS / 1000 : n / 1000));  /* twice what they take, and more */
    int rc = pool_map(pool, args, n, results);
    alarm(0);

    int unaccounted = 0;
    for (int i = 0; i < n; i++) {
        struct pool_result *r = &results[i];
        if (n > 20 && r->outcome == POOL_DONE && r->value == args[i] * args[i])
            continue;  /* many tasks: show only what is not plainly right */
        printf("task %2d: ", i);
        if (r->outcome == POOL_DONE)
            printf("done, %ld\n", r->value);
        else if (r->outcome == POOL_FAILED)
            printf("failed, error %d (%s)\n", r->error, strerror(r->error));
        else if (r->outcome == POOL_CRASHED && WIFSIGNALED(r->status))
            printf("crashed: its worker was killed by signal %d (%s)\n", WTERMSIG(r->status),
                   strsignal(WTERMSIG(r->status)));
        else if (r->outcome == POOL_CRASHED)
            printf("crashed: its worker exited with status %d\n", WEXITSTATUS(r->status));
        else
            printf("no outcome at all\n"), unaccounted++;
    }
    printf("pool_map returned %d", rc);
    if (rc == 0 && n > FAILS)
        printf(": all done, it says, though task %d cannot be squared", FAILS);
    if (rc == 0 && crashes >= 0 && n > crashes)
        printf(", and task %ld crashed", crashes);
    if (unaccounted > 0)
        printf("; %d task%s came back with no outcome", unaccounted, unaccounted == 1 ? "" : "s");
    printf(".\n");
    if (pool_close(pool) == -1)
        rc = -1;
    pool_free(pool);
    return rc == -1 || unaccounted > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
