/*
 * main.c - lesson 04 demo: Python's SharedMemory example, in C. One process
 * creates a segment of 100,000 bytes and writes 22 33 44 55 100 at its
 * start and a last byte at its end; another program, started with exec
 * and knowing only the name, attaches, checks both ends and writes "howdy";
 * the creator reads it back, detaches and unlinks.
 *
 * Usage: demo              (the creator)
 *        demo attach NAME  (the other program; the creator runs it)
 */
#include "segment.h"
#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 100000

static int attacher(const char *name)
{
    struct segment s;
    if (segment_attach(&s, name) == -1)
        return EXIT_FAILURE;
    unsigned char *b = s.addr;
    printf("attacher: %zu bytes; first five %d %d %d %d %d\n", s.size, b[0], b[1], b[2], b[3],
           b[4]);
    fflush(stdout);
    printf("attacher: last byte %d\n", b[SIZE - 1]);  /* beyond a wrong size: a crash */
    memcpy(b, "howdy", 5);
    return segment_detach(&s) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char *argv[])
{
    if (argc == 3 && strcmp(argv[1], "attach") == 0)
        return attacher(argv[2]);

    char name[64];
    snprintf(name, sizeof name, "/shmlab-demo-%d", (int)getpid());
    struct segment s;
    if (segment_create(&s, name, SIZE) == -1)
        return EXIT_FAILURE;
    unsigned char *b = s.addr;
    memcpy(b, (unsigned char[]){22, 33, 44, 55, 100}, 5);
    b[SIZE - 1] = 77;
    printf("creator: made %s, %d bytes\n", name, SIZE);
    fflush(stdout);

    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0) {
        /* This program's own file, by its real path (which valgrind, too, can run). */
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n == -1)
            die_errno("readlink(\"/proc/self/exe\")");
        self[n] = '\0';
        execl(self, argv[0], "attach", name, (char *)NULL);
        die_errno("execl(\"%s\")", self);
    }
    int status;
    if (waitpid(pid, &status, 0) == -1)
        die_errno("waitpid");
    if (WIFSIGNALED(status))
        printf("creator: the attacher was killed by signal %d (%s)\n", WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    printf("creator: the segment now starts with \"%.5s\"\n", (char *)b);
    segment_detach(&s);
    segment_unlink(name);
    char path[128];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    int left = access(path, F_OK) == 0;
    if (left)
        printf("creator: is %s still there? yes: it outlives us (rm %s removes it)\n",
               path, path);
    else
        printf("creator: is %s still there? no\n", path);
    int attached = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return left || !attached ? EXIT_FAILURE : EXIT_SUCCESS;
}
