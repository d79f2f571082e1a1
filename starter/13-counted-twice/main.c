/*
 * main.c - lesson 13 demo: a manager over TCP, four workers that each add
 * 1 to one counter `additions` times, and between them a network that
 * breaks one request in five (the lab's cut_proxy.h): half of the breaks
 * before the manager gets the request, half after it answered. The total
 * should be exactly workers x additions.
 *
 * Usage: demo [additions [one_in]]   (250 and 5 when not given; one_in 0: no breaks)
 */
#include "cut_proxy.h"
#include "errors.h"
#include "manager.h"
#include "tally.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 4
#define DEMO_KEY "lesson-13-secret"

static void work(const char *address, int additions)
{
    struct tally *t = tally_open(address);
    if (t == NULL)
        _exit(EXIT_FAILURE);
    for (int i = 0; i < additions; i++)
        if (tally_add(t, "events", 1) == -1) {
            tally_close(t);
            _exit(EXIT_FAILURE);
        }
    tally_close(t);
    _exit(EXIT_SUCCESS);
}

int main(int argc, char *argv[])
{
    int additions = argc > 1 ? atoi(argv[1]) : 250;
    int one_in = argc > 2 ? atoi(argv[2]) : 5;
    if (getenv(TALLY_KEY_ENV) == NULL) {
        printf("%s is not set: the demo's manager and workers use \"%s\".\n", TALLY_KEY_ENV,
               DEMO_KEY);
        if (setenv(TALLY_KEY_ENV, DEMO_KEY, 1) == -1)
            die_errno("setenv(%s)", TALLY_KEY_ENV);
    }
    fflush(stdout);  /* or the processes forked below print it again as they exit */
    const char *key = getenv(TALLY_KEY_ENV);
    struct manager m;
    if (manager_start_tcp(&m, "127.0.0.1", 0, key, strlen(key)) == -1)
        exit(EXIT_FAILURE);
    struct mgr *c = mgr_connect_key(m.tcp_address, key, strlen(key));
    if (c == NULL || mgr_create(c, TALLY_DICT, "dict") == -1) {
        fprintf(stderr, "the demo could not make its dict: %s\n", c ? mgr_error(c) : "");
        manager_shutdown(&m);
        exit(EXIT_FAILURE);
    }
    mgr_close(c);  /* the workers, forked below, must not inherit it */
    struct cut_proxy net;
    if (cut_proxy_start(&net, "127.0.0.1", m.tcp_address, one_in) == -1) {
        manager_shutdown(&m);
        exit(EXIT_FAILURE);
    }
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        pids[w] = fork();
        if (pids[w] == -1)
            die_errno("fork");
        if (pids[w] == 0)
            work(net.address, additions);
    }
    int failed = 0;
    for (int w = 0; w < WORKERS; w++) {
        int status;
        if (waitpid(pids[w], &status, 0) == -1)
            die_errno("waitpid(worker %d)", w);
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    struct cut_proxy_seen seen = cut_proxy_seen(&net);
    cut_proxy_stop(&net);
    int64_t total = 0;
    struct value *v;
    c = mgr_connect_key(m.tcp_address, key, strlen(key));
    if (c != NULL && mgr_get(c, TALLY_DICT, "events", &v) == 0) {
        total = v->type == V_INT ? v->u.i : 0;
        value_free(v);
    }
    long want = (long)WORKERS * additions;
    printf("%d workers added 1, %d times each: the counter should be %ld.\n"
           "The network broke %ld connections before the manager got the request, "
           "and %ld after it answered.\n", WORKERS, additions, want, seen.cut_before,
           seen.cut_after);
    printf("The counter is %lld", (long long)total);
    if (total > want)
        printf(": %lld additions counted twice.\n", (long long)(total - want));
    else if (total < want)
        printf(": %lld additions lost.\n", (long long)(want - total));
    else
        printf(": right.\n");
    if (failed > 0)
        printf("%d workers failed (the reasons are above).\n", failed);
    mgr_close(c);
    manager_shutdown(&m);
    return total == want && failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
