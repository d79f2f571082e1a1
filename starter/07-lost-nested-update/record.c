/*
 * record.c - lesson 07, the lost nested update. This is the file you edit.
 *
 * Fetch the inner dict, put the value in it. Run `make run LESSON=07` and
 * see what the manager's dict holds afterwards.
 */
#include "record.h"
#include "errors.h"

#include <stdio.h>
#include <string.h>

int record(struct mgr *c, int index, int64_t value)
{
    struct value *inner;
    if (mgr_get(c, RESULTS, INNER, &inner) == -1) {
        fprintf(stderr, "get %s/%s: %s\n", RESULTS, INNER, mgr_error(c));
        return -1;
    }

    char key[16];
    snprintf(key, sizeof key, "%d", index);
    struct value *v = value_int(value);
    if (v == NULL || dict_set(inner, key, strlen(key), v) == -1) {
        fprintf(stderr, "record: out of memory\n");
        value_free(v);
        value_free(inner);
        return -1;
    }

    value_free(inner);
    return 0;
}
