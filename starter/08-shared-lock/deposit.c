/*
 * deposit.c - lesson 08, the lock that is not shared. This is the file you
 * edit.
 *
 * Read, add, write back: with a lock around it, so that deposits do not
 * overlap. Run `make run LESSON=08` and count the money.
 */
#include "deposit.h"
#include "errors.h"

#include <stdio.h>
#include <unistd.h>

int deposit(struct mgr *c, int64_t amount)
{
    char lock[32];
    snprintf(lock, sizeof lock, "lock-%d", (int)getpid());
    if (mgr_create(c, lock, "lock") == -1 || mgr_acquire(c, lock, -1) == -1) {
        fprintf(stderr, "lock %s: %s\n", lock, mgr_error(c));
        return -1;
    }

    int rc = -1;
    struct value *balance = NULL;
    if (mgr_get(c, BALANCE, NULL, &balance) == -1) {
        fprintf(stderr, "get %s: %s\n", BALANCE, mgr_error(c));
    } else if (balance->type != V_INT) {
        fprintf(stderr, "deposit: %s holds %s, not an int\n", BALANCE,
                value_type_name(balance->type));
    } else {
        balance->u.i += amount;
        if (mgr_set(c, BALANCE, NULL, balance) == -1)
            fprintf(stderr, "set %s: %s\n", BALANCE, mgr_error(c));
        else
            rc = 0;
    }
    value_free(balance);

    if (mgr_release(c, lock) == -1) {
        fprintf(stderr, "release %s: %s\n", lock, mgr_error(c));
        rc = -1;
    }
    return rc;
}
