/*
 * Right: optimistic: fetch the inner dict, add the key to the copy, and
 * write it back only if the manager's dict is still the one fetched
 * (compare-and-set, in the server); if another worker recorded in between,
 * fetch again and retry.
 */
#include "record.h"
#include "errors.h"

#include <stdio.h>
#include <string.h>

int record(struct mgr *c, int index, int64_t value)
{
    char key[16];
    snprintf(key, sizeof key, "%d", index);
    for (;;) {
        struct value *old, *new, *v;
        if (mgr_get(c, RESULTS, INNER, &old) == -1) {
            fprintf(stderr, "get %s/%s: %s\n", RESULTS, INNER, mgr_error(c));
            return -1;
        }
        if (old->type != V_DICT) {
            fprintf(stderr, "record: %s/%s is a %s, not a dict\n", RESULTS, INNER,
                    value_type_name(old->type));
            value_free(old);
            return -1;
        }
        if ((new = value_copy(old)) == NULL || (v = value_int(value)) == NULL ||
            dict_set(new, key, strlen(key), v) == -1) {
            fprintf(stderr, "record: out of memory\n");
            value_free(new);
            value_free(old);
            return -1;
        }
        int swapped = 0;
        int rc = mgr_cas(c, RESULTS, INNER, old, new, &swapped);
        value_free(old);
        value_free(new);
        if (rc == -1) {
            fprintf(stderr, "cas %s/%s: %s\n", RESULTS, INNER, mgr_error(c));
            return -1;
        }
        if (swapped)
            return 0;
    }
}
