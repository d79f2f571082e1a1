/*
 * main.c - lesson 07 demo: the trap's pool of workers filling a nested
 * dict held by a manager. What does the manager's dict hold at the end?
 *
 * Usage: demo [workers [records per worker]]    (default 4 workers, 5 each)
 */
#include "record.h"
#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    int workers = argc > 1 ? atoi(argv[1]) : 4;
    int each = argc > 2 ? atoi(argv[2]) : 5;
    if (workers < 1 || workers > 64 || each < 1 || each > 100) {
        fprintf(stderr, "usage: %s [workers (1-64) [records per worker (1-100)]]\n", argv[0]);
        return EXIT_FAILURE;
    }

    struct manager m;
    if (manager_start(&m) == -1)
        return EXIT_FAILURE;
    struct mgr *c = mgr_connect(m.address);
    struct value *empty = value_dict();
    if (c == NULL || mgr_create(c, RESULTS, "dict") == -1 ||
        mgr_set(c, RESULTS, INNER, empty) == -1) {
        fprintf(stderr, "setting up the manager: %s\n", c ? mgr_error(c) : "no connection");
        manager_shutdown(&m);
        return EXIT_FAILURE;
    }
    value_free(empty);

    pid_t pids[64];
    for (int w = 0; w < workers; w++) {
        pids[w] = fork();
        if (pids[w] == -1)
            die_errno("fork (worker %d)", w);
        if (pids[w] == 0) {
            struct mgr *mine = mgr_connect(m.address);  /* each process its own connection */
            if (mine == NULL)
                _exit(EXIT_FAILURE);
            for (int k = 0; k < each; k++)
                if (record(mine, w * each + k, w * each + k) == -1)
                    _exit(EXIT_FAILURE);
            mgr_close(mine);
            _exit(EXIT_SUCCESS);
        }
    }
    for (int w = 0; w < workers; w++)
        if (waitpid(pids[w], NULL, 0) == -1)
            die_errno("waitpid(worker %d)", w);

    struct value *results;
    int64_t n = -1;
    if (mgr_get(c, RESULTS, NULL, &results) == 0) {
        static char text[1 << 16];
        value_format(results, text, sizeof text);
        printf("results = %s\n", text);
        value_free(results);
    }
    mgr_len(c, RESULTS, INNER, &n);
    printf("%d workers recorded %d values; results['test'] holds %lld of them.\n",
           workers, workers * each, (long long)n);
    mgr_close(c);
    manager_shutdown(&m);
    return n == workers * each ? EXIT_SUCCESS : EXIT_FAILURE;
}
