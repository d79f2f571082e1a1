/*
 * main.c - lesson 01 demo: N children each compute one item (the square of
 * their number); what does the parent see afterwards?
 *
 * Usage: demo [children]    (default 8, at most COLLECT_MAX)
 */
#include "collect.h"
#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NOTHING (-1L)  /* what a slot holds when no item arrived there */

static long square(int index)
{
    usleep(1000 * (index % 4));  /* children do not all take the same time */
    return (long)index * index;
}

int main(int argc, char *argv[])
{
    int n = argc > 1 ? atoi(argv[1]) : 8;
    if (n < 1 || n > COLLECT_MAX) {
        fprintf(stderr, "usage: %s [children], 1 to %d\n", argv[0], COLLECT_MAX);
        return EXIT_FAILURE;
    }

    static long items[COLLECT_MAX];
    for (int i = 0; i < n; i++)
        items[i] = NOTHING;

    int rc = collect(n, square, items);

    int arrived = 0;
    printf("the parent sees: [");
    for (int i = 0; i < n; i++) {
        if (items[i] == NOTHING) {
            printf("%s_", i ? ", " : "");
        } else {
            printf("%s%ld", i ? ", " : "", items[i]);
            arrived += items[i] == (long)i * i;
        }
    }
    printf("]\n");
    printf("collect() returned %d; %d of %d items arrived in their slots%s\n", rc, arrived, n,
           arrived == n ? "." : " (_ marks an empty slot).");
    return rc == 0 && arrived == n ? EXIT_SUCCESS : EXIT_FAILURE;
}
