/*
 * crash_shm_open.c - for lessons built `crash` (lessons/lessons.toml): the
 * student's calls to shm_open go through here (the link's --wrap=shm_open).
 * A process whose environment names a segment in LAB_CRASH_AFTER_CREATING
 * is killed with SIGKILL right after shm_open has created that segment,
 * before the code that called it can do anything more: the worst moment
 * for whoever must know of the segment.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

int __real_shm_open(const char *name, int oflag, mode_t mode);

int __wrap_shm_open(const char *name, int oflag, mode_t mode)
{
    int fd = __real_shm_open(name, oflag, mode);
    const char *doomed = getenv("LAB_CRASH_AFTER_CREATING");
    if (fd != -1 && (oflag & O_CREAT) && doomed != NULL && strcmp(name, doomed) == 0)
        raise(SIGKILL);
    return fd;
}
