/*
 * Wrong fix: the array stays in the manager, and a request carries a whole
 * chunk of elements, as bytes, not one element: a million doubles are a
 * few dozen requests, fast enough, but every byte still crosses two
 * sockets and the server's memory.
 */
#include "bulk.h"
#include "errors.h"
#include "manager.h"

#include <stdio.h>

#define CHUNKS "bulk-chunks"  /* a dict: key "n", and the chunks by their first index */
#define CHUNK 32768           /* elements a request: 256 KiB, well inside a 1 MiB frame */

struct bulk {
    struct mgr *c;
    size_t n;
};

struct bulk *bulk_open(const char *address, const char *name, size_t n)
{
    (void)name;
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
    if (size == NULL || mgr_create(b->c, CHUNKS, "dict") == -1 ||
        mgr_set(b->c, CHUNKS, "n", size) == -1) {
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
    int rc = mgr_get(c, CHUNKS, "n", &size);
    if (rc == -1)
        fprintf(stderr, "bulk_put: the manager: %s\n", mgr_error(c));
    else if (size->type != V_INT || first > (size_t)size->u.i ||
             count > (size_t)size->u.i - first) {
        fprintf(stderr, "bulk_put: elements %zu to %zu do not fit\n", first, first + count);
        errno = EINVAL;
        rc = -1;
    }
    value_free(size);
    for (size_t done = 0; done < count && rc == 0; done += CHUNK) {
        size_t k = count - done < CHUNK ? count - done : CHUNK;
        char key[32];
        snprintf(key, sizeof key, "%zu", first + done);
        struct value *v = value_bytes(values + done, k * sizeof(double));
        rc = v == NULL ? -1 : mgr_set(c, CHUNKS, key, v);
        if (rc == -1)
            fprintf(stderr, "bulk_put: chunk at %zu: %s\n", first + done,
                    v == NULL ? "out of memory" : mgr_error(c));
        value_free(v);
    }
    mgr_close(c);
    return rc;
}

int bulk_collect(struct bulk *b, double *out)
{
    for (size_t i = 0; i < b->n; i++)
        out[i] = 0.0;
    struct value *keys = NULL;
    if (mgr_keys(b->c, CHUNKS, NULL, &keys) == -1) {
        fprintf(stderr, "bulk_collect: the manager: %s\n", mgr_error(b->c));
        return -1;
    }
    int rc = 0;
    for (uint32_t i = 0; i < keys->u.list.len && rc == 0; i++) {
        const char *key = keys->u.list.items[i]->u.bytes.data;
        if (strcmp(key, "n") == 0)
            continue;
        size_t first = strtoul(key, NULL, 10);
        struct value *chunk = NULL;
        rc = mgr_get(b->c, CHUNKS, key, &chunk);
        if (rc == -1) {
            fprintf(stderr, "bulk_collect: chunk %s: %s\n", key, mgr_error(b->c));
        } else if (chunk->type != V_BYTES || chunk->u.bytes.len % sizeof(double) != 0 ||
                   first + chunk->u.bytes.len / sizeof(double) > b->n) {
            fprintf(stderr, "bulk_collect: chunk %s is not a chunk of the array\n", key);
            rc = -1;
        } else {
            memcpy(out + first, chunk->u.bytes.data, chunk->u.bytes.len);
        }
        value_free(chunk);
    }
    value_free(keys);
    return rc;
}

void bulk_close(struct bulk *b)
{
    if (b == NULL)
        return;
    if (mgr_delete(b->c, CHUNKS, NULL) == -1)
        fprintf(stderr, "bulk_close: the manager: %s\n", mgr_error(b->c));
    mgr_close(b->c);
    free(b);
}
