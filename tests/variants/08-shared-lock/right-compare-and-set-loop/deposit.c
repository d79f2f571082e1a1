/*
 * Right: optimistic: read the balance, and write the new one only if the
 * balance is still what was read (compare-and-set, in the server); if
 * someone deposited in between, read again and retry.
 */
#include "deposit.h"
#include "errors.h"

#include <stdio.h>

int deposit(struct mgr *c, int64_t amount)
{
    for (;;) {
        struct value *old;
        if (mgr_get(c, BALANCE, NULL, &old) == -1) {
            fprintf(stderr, "get %s: %s\n", BALANCE, mgr_error(c));
            return -1;
        }
        if (old->type != V_INT) {
            fprintf(stderr, "deposit: %s is not an int\n", BALANCE);
            value_free(old);
            return -1;
        }
        struct value new = {.type = V_INT, .u.i = old->u.i + amount};
        int swapped = 0;
        int rc = mgr_cas(c, BALANCE, NULL, old, &new, &swapped);
        value_free(old);
        if (rc == -1) {
            fprintf(stderr, "cas %s: %s\n", BALANCE, mgr_error(c));
            return -1;
        }
        if (swapped)
            return 0;
    }
}
