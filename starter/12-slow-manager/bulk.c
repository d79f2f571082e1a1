/*
 * bulk.c - lesson 12, the manager that is too slow: the starter.
 *
 * The array lives in the manager, in a dict "bulk": one key per element,
 * as a Manager list is used in Python (`results[i] = x`). Every element
 * put is one request to the server, and every element collected another.
 * It is correct; time it (make run LESSON=12).
 */
#include "bulk.h"
#include "errors.h"
#include "manager.h"

#include <stdio.h>

struct bulk {
    struct mgr *c;
    size_t n;
};

static void key_of(size_t i, char *key, size_t size)
{
    snprintf(key, size, "%zu", i);
}

struct bulk *bulk_open(const char *address, const char *name, size_t n)
{
    (void)name;  /* no segment here: everything goes through the manager */
    if (n < 1 || n > BULK_MAX) {
        fprintf(stderr, "bulk_open: %zu elements: 1 to %d\n", n, BULK_MAX);
        errno = EINVAL;
        return NULL;
    }
    struct bulk *b = malloc(sizeof *b);
    if (b == NULL) {
        warn_errno("malloc(a bulk)");
        return NULL;
    }
    b->n = n;
    b->c = mgr_connect(address);
    if (b->c == NULL) {
        free(b);
        return NULL;
    }
    struct value *size = value_int((int64_t)n);
    if (size == NULL || mgr_create(b->c, "bulk", "dict") == -1 ||
        mgr_set(b->c, "bulk", "n", size) == -1) {
        fprintf(stderr, "bulk_open: the manager: %s\n",
                size == NULL ? "out of memory" : mgr_error(b->c));
        value_free(size);
        mgr_close(b->c);
        free(b);
        return NULL;
    }
    value_free(size);
    return b;
}

int bulk_put(const char *address, size_t first, const double *values, size_t count)
{
    struct mgr *c = mgr_connect(address);
    if (c == NULL)
        return -1;
    struct value *size = NULL;
    int rc = mgr_get(c, "bulk", "n", &size);
    if (rc == -1)
        fprintf(stderr, "bulk_put: the manager: %s\n", mgr_error(c));
    else if (first > (size_t)size->u.i || count > (size_t)size->u.i - first) {
        fprintf(stderr, "bulk_put: elements %zu to %zu: the array has %lld\n", first,
                first + count, (long long)size->u.i);
        errno = EINVAL;
        rc = -1;
    }
    value_free(size);
    for (size_t i = 0; i < count && rc == 0; i++) {
        char key[32];
        key_of(first + i, key, sizeof key);
        struct value *v = value_double(values[i]);
        rc = v == NULL ? -1 : mgr_set(c, "bulk", key, v);  /* one request per element */
        if (rc == -1)
            fprintf(stderr, "bulk_put: element %zu: %s\n", first + i,
                    v == NULL ? "out of memory" : mgr_error(c));
        value_free(v);
    }
    mgr_close(c);
    return rc;
}

int bulk_collect(struct bulk *b, double *out)
{
    for (size_t i = 0; i < b->n; i++) {
        char key[32];
        key_of(i, key, sizeof key);
        struct value *v = NULL;
        if (mgr_get(b->c, "bulk", key, &v) == -1) {  /* one request per element */
            if (mgr_status(b->c) != MGR_E_BAD_PATH) {
                fprintf(stderr, "bulk_collect: element %zu: %s\n", i, mgr_error(b->c));
                return -1;
            }
            out[i] = 0.0;  /* never put */
            continue;
        }
        out[i] = v->u.d;
        value_free(v);
    }
    return 0;
}

void bulk_close(struct bulk *b)
{
    if (b == NULL)
        return;
    if (mgr_delete(b->c, "bulk", NULL) == -1)
        fprintf(stderr, "bulk_close: the manager: %s\n", mgr_error(b->c));
    mgr_close(b->c);
    free(b);
}
