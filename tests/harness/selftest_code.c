/*
 * selftest_code.c - "code under test" for the harness's own tests
 * (selftest.c): built the way a student's file is, its calls that can
 * fail sent to the fault injector (tests/shmlab/build.py's _wrap_calls).
 * Each function makes one mistake that the harness must catch, except
 * make_segment_right, which it must pass.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int make_segment_right(const char *name);
int make_segment_leaky(const char *name);
int make_segment_silent(const char *name);
int fork_child_that_exits(void);
int make_segment_and_keep_it(const char *name);

/* Right: every failure reported, and nothing of it kept. */
int make_segment_right(const char *name)
{
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1) {
        perror("shm_open");
        return -1;
    }
    int rc = -1;
    if (ftruncate(fd, 4096) == -1) {
        perror("ftruncate");
    } else {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
        } else {
            munmap(p, 4096);
            rc = 0;
        }
    }
    close(fd);
    if (shm_unlink(name) == -1) {
        perror("shm_unlink");
        rc = -1;
    }
    return rc;
}

/* Wrong: a failed ftruncate returns at once, keeping the descriptor and the name. */
int make_segment_leaky(const char *name)
{
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1) {
        perror("shm_open");
        return -1;
    }
    if (ftruncate(fd, 4096) == -1) {
        perror("ftruncate");
        return -1;
    }
    close(fd);
    shm_unlink(name);
    return 0;
}

/* Wrong: fails without a word. */
int make_segment_silent(const char *name)
{
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1)
        return -1;
    close(fd);
    shm_unlink(name);
    return 0;
}

/* Wrong: the child ends with exit(), flushing its parent's buffers a second time. */
int fork_child_that_exits(void)
{
    pid_t pid = fork();
    if (pid == -1) {
        perror("fork");
        return -1;
    }
    if (pid == 0)
        exit(0);
    return waitpid(pid, NULL, 0) == pid ? 0 : -1;
}

/* Wrong: a segment under a name of its own, never unlinked. */
int make_segment_and_keep_it(const char *name)
{
    int fd = shm_open(name, O_CREAT | O_RDWR, 0600);
    if (fd == -1) {
        perror("shm_open");
        return -1;
    }
    close(fd);
    return 0;
}

/* Wrong: the same, made with open() straight in /dev/shm, where shm_open makes it. */
int make_file_in_dev_shm_and_keep_it(const char *path)
{
    int fd = open(path, O_CREAT | O_RDWR, 0600);
    if (fd == -1) {
        perror("open");
        return -1;
    }
    close(fd);
    return 0;
}
