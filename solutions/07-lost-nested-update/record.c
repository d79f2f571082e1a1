/*
 * record.c - lesson 07, the lost nested update: the fixed version.
 *
 * mgr_get hands back a copy of the inner dict: the manager's dict lives in
 * the manager's process, and nothing a worker does to its copy reaches it.
 * Writing the copy back (get, modify, set) fixes one worker but loses the
 * updates of the others: two workers get the same dict, each adds its key,
 * and the second set overwrites the first. The fix here asks the server to
 * make the change itself, at the path "test/<index>": the server applies
 * requests one at a time, so the update is atomic and no copy travels.
 * (Holding one shared manager lock around get-modify-set also works:
 * lesson 08.)
 */
#include "record.h"
#include "errors.h"

#include <stdio.h>

int record(struct mgr *c, int index, int64_t value)
{
    char path[32];
    snprintf(path, sizeof path, INNER "/%d", index);

    struct value *v = value_int(value);
    if (v == NULL) {
        fprintf(stderr, "record: out of memory\n");
        return -1;
    }
    int rc = mgr_set(c, RESULTS, path, v);
    if (rc == -1)
        fprintf(stderr, "set %s/%s: %s\n", RESULTS, path, mgr_error(c));
    value_free(v);
    return rc;
}
