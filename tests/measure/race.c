/*
 * race.c - how often does a racy counter lose an update, with no help?
 *
 * W worker processes each add 1, A times, to one counter in a MAP_SHARED
 * mapping, with the same unprotected `value += n` as lesson 02's starter,
 * but without the lab's race amplifier, and started as lesson 02's demo
 * starts them: each as soon as it is forked. The run is repeated R times;
 * the program prints, as CSV, in how many of them the counter ended short.
 *
 * Usage: race WORKERS ADDITIONS RUNS
 *   e.g. race 2 10 20     (a naive test: it nearly always passes)
 *        race 8 100000 20 (it nearly always fails)
 */
#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* volatile: each addition is a load and a store to memory, as in lesson 02,
 * where counter_add() sits in another file; without it the compiler would
 * add A in one instruction and the race would almost never show. */
static void counter_add(volatile long *value, long n)
{
    *value += n;
}

/* One run: the counter's final value. */
static long one_run(volatile long *value, int workers, long additions)
{
    *value = 0;
    for (int i = 0; i < workers; i++) {
        pid_t pid = fork();
        if (pid == -1)
            die_errno("fork (worker %d)", i);
        if (pid == 0) {
            for (long k = 0; k < additions; k++)
                counter_add(value, 1);
            _exit(EXIT_SUCCESS);
        }
    }
    for (int i = 0; i < workers; i++) {
        int status;
        if (wait(&status) == -1)
            die_errno("wait");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "race: a worker failed\n");
            exit(EXIT_FAILURE);
        }
    }
    return *value;
}

int main(int argc, char *argv[])
{
    int workers = argc > 3 ? atoi(argv[1]) : 0;
    long additions = argc > 3 ? atol(argv[2]) : 0;
    int runs = argc > 3 ? atoi(argv[3]) : 0;
    if (workers < 1 || workers > 1000 || additions < 1 || runs < 1) {
        fprintf(stderr, "usage: %s WORKERS ADDITIONS RUNS\n", argv[0]);
        return EXIT_FAILURE;
    }
    volatile long *value = mmap(NULL, sizeof *value, PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (value == MAP_FAILED)
        die_errno("mmap(counter)");

    int short_runs = 0;
    long worst = 0;  /* the most additions lost in one run */
    for (int r = 0; r < runs; r++) {
        long lost = workers * additions - one_run(value, workers, additions);
        short_runs += lost > 0;
        if (lost > worst)
            worst = lost;
    }
    if (munmap((void *)value, sizeof *value) == -1)
        die_errno("munmap(counter)");
    printf("workers,additions,runs,short_runs,fraction_short,most_lost\n");
    printf("%d,%ld,%d,%d,%.3f,%ld\n", workers, additions, runs, short_runs,
           (double)short_runs / runs, worst);
    return EXIT_SUCCESS;
}
