/*
 * main.c - lesson 08 demo: N worker processes each deposit 1 into a
 * balance held by a manager, K times. Does the balance add up?
 *
 * Usage: demo [workers [deposits per worker]]    (default 99 workers, 1 each:
 *        the classic, where 99 processes add 1 and the total says 97)
 */
#include "deposit.h"
#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    int workers = argc > 1 ? atoi(argv[1]) : 99;
    int each = argc > 2 ? atoi(argv[2]) : 1;
    if (workers < 1 || workers > 200 || each < 1 || each > 1000) {
        fprintf(stderr, "usage: %s [workers (1-200) [deposits each (1-1000)]]\n", argv[0]);
        return EXIT_FAILURE;
    }

    struct manager m;
    if (manager_start(&m) == -1)
        return EXIT_FAILURE;
    struct mgr *c = mgr_connect(m.address);
    struct value *zero = value_int(0);
    if (c == NULL || mgr_create(c, BALANCE, "value") == -1 ||
        mgr_set(c, BALANCE, NULL, zero) == -1) {
        fprintf(stderr, "setting up the manager: %s\n", c ? mgr_error(c) : "no connection");
        manager_shutdown(&m);
        return EXIT_FAILURE;
    }
    value_free(zero);

    pid_t pids[200];
    for (int w = 0; w < workers; w++) {
        pids[w] = fork();
        if (pids[w] == -1)
            die_errno("fork (worker %d)", w);
        if (pids[w] == 0) {
            struct mgr *mine = mgr_connect(m.address);  /* each process its own connection */
            if (mine == NULL)
                _exit(EXIT_FAILURE);
            for (int k = 0; k < each; k++)
                if (deposit(mine, 1) == -1)
                    _exit(EXIT_FAILURE);
            mgr_close(mine);
            _exit(EXIT_SUCCESS);
        }
    }
    for (int w = 0; w < workers; w++)
        if (waitpid(pids[w], NULL, 0) == -1)
            die_errno("waitpid(worker %d)", w);

    struct value *balance = NULL;
    long long got = -1;
    if (mgr_get(c, BALANCE, NULL, &balance) == 0 && balance->type == V_INT)
        got = balance->u.i;
    value_free(balance);
    printf("%d workers each deposited 1, %d time%s: the balance should be %d.\n", workers,
           each, each == 1 ? "" : "s", workers * each);
    printf("It is %lld%s\n", got, got == workers * each ? ": every deposit counted." : ".");
    mgr_close(c);
    manager_shutdown(&m);
    return got == workers * each ? EXIT_SUCCESS : EXIT_FAILURE;
}
