/*
 * main.c - lesson 06 demo: Python's SharedMemoryManager, in C. A program
 * starts a manager and three workers; each worker makes a segment through
 * it and writes its name there, and worker 1 crashes half-way. Then the
 * program shuts the manager down, or, with `kill`, is killed before it
 * can. Which segments are left in /dev/shm afterwards?
 *
 * This demo is two processes: an observer, which only watches, and the
 * program, which it starts and which does the work.
 *
 * Usage: demo          (the program ends normally)
 *        demo kill     (the program is killed with SIGKILL before its shutdown)
 */
#include "segmgr.h"
#include "errors.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 3

static char prefix[64];  /* "shmlab-demo-<pid>": every segment of this demo */

static void worker(struct segmgr *m, int i)
{
    char name[128];
    snprintf(name, sizeof name, "/%s-worker-%d", prefix, i);
    struct segment s;
    if (segmgr_create(m, name, 4096, &s) == -1)
        _exit(EXIT_FAILURE);
    snprintf(s.addr, s.size, "made by worker %d", i);
    if (i == 1)
        raise(SIGKILL);  /* crashes before it is done */
    segmgr_detach(&s);
    _exit(EXIT_SUCCESS);
}

static void program(int killed)
{
    struct segmgr *m = segmgr_start();
    if (m == NULL)
        exit(EXIT_FAILURE);
    char name[128];
    snprintf(name, sizeof name, "/%s-program", prefix);
    struct segment s;
    if (segmgr_create(m, name, 4096, &s) == -1)
        exit(EXIT_FAILURE);
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        pids[i] = fork();
        if (pids[i] == -1)
            die_errno("fork");
        if (pids[i] == 0)
            worker(m, i);
    }
    for (int i = 0; i < WORKERS; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) == -1)  /* by pid: a manager may have a child too */
            die_errno("waitpid(worker %d)", i);
        if (WIFSIGNALED(status))
            printf("program: worker %d was killed by signal %d (%s)\n", i, WTERMSIG(status),
                   strsignal(WTERMSIG(status)));
    }
    segmgr_detach(&s);
    if (killed) {
        printf("program: killed with SIGKILL before it can shut the manager down\n");
        fflush(stdout);
        raise(SIGKILL);
    }
    printf("program: shutting the manager down\n");
    exit(segmgr_shutdown(m) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

/* Prints, and removes, the demo's segments still in /dev/shm; returns how many. */
static int leftovers(int print)
{
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        die_errno("opendir(\"/dev/shm\")");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        n++;
        if (print) {
            char name[300];
            snprintf(name, sizeof name, "/%s", e->d_name);
            printf("observer: left in /dev/shm: %s; the demo removes it now\n", name);
            shm_unlink(name);
        }
    }
    closedir(dir);
    return n;
}

int main(int argc, char *argv[])
{
    int killed = argc == 2 && strcmp(argv[1], "kill") == 0;
    snprintf(prefix, sizeof prefix, "shmlab-demo-%d", (int)getpid());
    fflush(stdout);
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0)
        program(killed);
    int status;
    if (waitpid(pid, &status, 0) == -1)
        die_errno("waitpid");
    /* Give a manager's own process, if it has one, a moment to clean up. */
    for (int i = 0; i < 100 && leftovers(0) > 0; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    int left = leftovers(1);
    if (left == 0)
        printf("observer: nothing of the demo is left in /dev/shm\n");
    return left == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
