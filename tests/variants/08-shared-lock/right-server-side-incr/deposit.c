/* Right: no lock at all; the server adds, one request at a time. */
#include "deposit.h"
#include "errors.h"

#include <stdio.h>

int deposit(struct mgr *c, int64_t amount)
{
    if (mgr_incr(c, BALANCE, NULL, amount, NULL) == -1) {
        fprintf(stderr, "incr %s: %s\n", BALANCE, mgr_error(c));
        return -1;
    }
    return 0;
}
