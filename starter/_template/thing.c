/*
 * thing.c - lesson NN, <title>. This is the file you edit.
 *
 * The broken starter: it compiles, runs, and shows the trap. Keep it short
 * enough to read in a minute; the broken line should be easy to find once
 * the reader knows the trap.
 */
#include "thing.h"
#include "errors.h"

int thing_do(int n)
{
    return n < 0 ? -1 : 1;  /* the trap goes here */
}
