/*
 * main.c - lesson NN demo: what it shows, in one sentence.
 *
 * Usage: demo [n]
 */
#include "thing.h"
#include "errors.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char *argv[])
{
    int n = argc > 1 ? atoi(argv[1]) : 1;
    int rc = thing_do(n);
    printf("thing_do(%d) returned %d%s\n", n, rc, rc == 0 ? "" : ": the trap");
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
