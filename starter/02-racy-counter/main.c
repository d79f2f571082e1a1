/*
 * main.c - lesson 02 demo: W worker processes each add 1 to one shared
 * counter A times. Does the counter say W * A?
 *
 * Usage: demo [workers [additions]]    (default 8 workers, 1000 additions;
 *        `demo 99 1` is Python's classic: 99 processes each add 1)
 *
 * Built, like the tests, with the race amplifier: counter.c's stores are
 * sometimes delayed by microseconds, so a race that would show up one run
 * in ten shows up nearly every run. A correct counter is not affected.
 */
#include "counter.h"
#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    int workers = argc > 1 ? atoi(argv[1]) : 8;
    long additions = argc > 2 ? atol(argv[2]) : 1000;
    if (workers < 1 || workers > 1000 || additions < 1) {
        fprintf(stderr, "usage: %s [workers (1-1000) [additions (1-)]]\n", argv[0]);
        return EXIT_FAILURE;
    }

    struct counter *c = counter_create();
    if (c == NULL)
        return EXIT_FAILURE;

    for (int i = 0; i < workers; i++) {
        pid_t pid = fork();
        if (pid == -1)
            die_errno("fork (worker %d)", i);
        if (pid == 0) {
            for (long k = 0; k < additions; k++)
                if (counter_add(c, 1) != 0)
                    _exit(EXIT_FAILURE);
            _exit(EXIT_SUCCESS);
        }
    }

    int failed = 0;
    for (int i = 0; i < workers; i++) {
        int status;
        if (wait(&status) == -1)
            die_errno("wait");
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }

    long want = workers * additions, got = counter_value(c);
    counter_destroy(c);
    printf("%d workers each added 1, %ld time%s: the counter should say %ld.\n",
           workers, additions, additions == 1 ? "" : "s", want);
    printf("It says %ld", got);
    if (got == want)
        printf(": every addition counted.\n");
    else
        printf(": %ld additions were lost.\n", want - got);
    if (failed)
        printf("%d workers failed.\n", failed);
    return got == want && !failed ? EXIT_SUCCESS : EXIT_FAILURE;
}
