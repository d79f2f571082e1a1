/* Tries to change the lab's tests, a system file, and to leave a file above its directory. */
#include "collect.h"
#include <fcntl.h>
#include <unistd.h>
static void scribble(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd != -1) {
        ssize_t ignored = write(fd, "int main(void) { return 0; }\n", 29);
        (void)ignored;
        close(fd);
    }
}
int collect(int n, long (*work)(int index), long items[])
{
    (void)n, (void)work, (void)items;
    scribble("tests/01-unshared-list.c");
    scribble("tests/harness/lab.c");
    scribble("/etc/shmlab-was-here");
    scribble("../shmlab-was-here");
    scribble("/root/shmlab-was-here");
    return -1;
}
