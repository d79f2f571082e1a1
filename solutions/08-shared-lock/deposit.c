/*
 * deposit.c - lesson 08, the lock that is not shared: the fixed version.
 *
 * A lock excludes only those who take the same lock. The starter made one
 * per worker ("lock-<pid>"): every worker got its own at once, and nothing
 * was excluded. Here every worker takes one lock, held by the manager and
 * found by name. The manager grants it to one connection at a time, and if
 * the holder dies or disconnects, the server releases it, so a crashed
 * worker cannot block the others forever. (The simplest fix of all skips
 * the lock: mgr_incr, an addition done by the server.)
 */
#include "deposit.h"
#include "errors.h"

#include <stdio.h>

#define LOCK "balance-lock"  /* one name, so one lock, for every worker */

int deposit(struct mgr *c, int64_t amount)
{
    const char *lock = LOCK;
    /* Creating what exists already is fine: whoever comes first makes it. */
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
