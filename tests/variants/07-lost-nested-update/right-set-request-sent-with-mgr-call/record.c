/*
 * Right: the server sets the one key, as in the solution, but the request
 * is built by hand and sent with mgr_call: ["set", "results", ["test",
 * "<index>"], value] (docs/manager-protocol.md).
 */
#include "record.h"
#include "errors.h"

#include <stdio.h>

int record(struct mgr *c, int index, int64_t value)
{
    char key[16];
    snprintf(key, sizeof key, "%d", index);
    struct value *request = value_list(), *path = value_list();
    if (request == NULL || path == NULL || list_append(path, value_str(INNER)) == -1 ||
        list_append(path, value_str(key)) == -1 ||
        list_append(request, value_str("set")) == -1 ||
        list_append(request, value_str(RESULTS)) == -1 || list_append(request, path) == -1) {
        fprintf(stderr, "record: out of memory\n");
        value_free(path);
        value_free(request);
        return -1;
    }
    path = NULL;  /* the request holds it now */
    if (list_append(request, value_int(value)) == -1) {
        fprintf(stderr, "record: out of memory\n");
        value_free(request);
        return -1;
    }
    int rc = mgr_call(c, request, NULL);
    if (rc == -1)
        fprintf(stderr, "set %s/%s/%s (mgr_call): %s\n", RESULTS, INNER, key, mgr_error(c));
    value_free(request);
    return rc;
}
