/*
 * thing.c - lesson NN, <title>: the fixed version.
 *
 * The header comment says why the fix works. Its diff against the starter
 * is the lesson: change nothing else.
 */
#include "thing.h"
#include "errors.h"

int thing_do(int n)
{
    return n < 0 ? -1 : 0;
}
