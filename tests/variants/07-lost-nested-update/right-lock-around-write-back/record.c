/*
 * Right: get-modify-set, written back, with one manager lock held around
 * it. Every worker takes the same lock, by name, so only one at a time is
 * between its get and its set.
 */
#include "record.h"
#include "errors.h"

#include <stdio.h>
#include <string.h>

#define LOCK "results-lock"

int record(struct mgr *c, int index, int64_t value)
{
    if (mgr_create(c, LOCK, "lock") == -1 || mgr_acquire(c, LOCK, -1) == -1) {
        fprintf(stderr, "lock %s: %s\n", LOCK, mgr_error(c));
        return -1;
    }
    int rc = -1;
    struct value *inner = NULL, *v = NULL;
    if (mgr_get(c, RESULTS, INNER, &inner) == -1) {
        fprintf(stderr, "get %s/%s: %s\n", RESULTS, INNER, mgr_error(c));
        goto out;
    }
    if (inner->type != V_DICT) {  /* nothing to record into: an error, the lock released */
        fprintf(stderr, "record: %s/%s is a %s, not a dict\n", RESULTS, INNER,
                value_type_name(inner->type));
        goto out;
    }
    char key[16];
    snprintf(key, sizeof key, "%d", index);
    if ((v = value_int(value)) == NULL || dict_set(inner, key, strlen(key), v) == -1) {
        value_free(v);
        fprintf(stderr, "record: out of memory\n");
        goto out;
    }
    if (mgr_set(c, RESULTS, INNER, inner) == -1) {
        fprintf(stderr, "set %s/%s: %s\n", RESULTS, INNER, mgr_error(c));
        goto out;
    }
    rc = 0;
out:
    value_free(inner);
    if (mgr_release(c, LOCK) == -1) {
        fprintf(stderr, "release %s: %s\n", LOCK, mgr_error(c));
        rc = -1;
    }
    return rc;
}
