/*
 * protocol.c - frames on a byte stream (see protocol.h).
 */
#include "protocol.h"

#include <stdio.h>

const char *mgr_status_name(int status)
{
    static const char *names[] = {
        "ok", "malformed", "too big", "unknown operation", "no such name", "wrong type",
        "bad path", "exists", "timeout", "not held", "deadlock", "authentication failed",
        "internal error", "connection failed", "stale",
    };
    return status >= 0 && (size_t)status < sizeof names / sizeof names[0] ? names[status]
                                                                         : "unknown status";
}

int frame_append(struct buf *out, const struct value *payload)
{
    size_t start = out->len;
    uint8_t length[4] = {0};
    if (buf_append(out, length, 4) == -1 || value_encode(payload, out) == -1) {
        out->len = start;
        return -1;
    }
    size_t n = out->len - start - 4;
    if (n > MGR_FRAME_MAX) {
        out->len = start;
        return FRAME_TOO_BIG;
    }
    uint8_t *p = out->data + start;
    p[0] = (uint8_t)(n >> 24), p[1] = (uint8_t)(n >> 16), p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)n;
    return 0;
}

int frame_take(struct buf *in, struct value **payload, char *err, size_t err_size, int *fatal)
{
    *fatal = 0;
    if (in->len < 4)
        return 0;
    const uint8_t *p = in->data;
    uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (n > MGR_FRAME_MAX) {
        snprintf(err, err_size, "frame of %u bytes is over the limit of %u", n, MGR_FRAME_MAX);
        *fatal = 1;
        return -1;
    }
    if (in->len - 4 < n)
        return 0;
    size_t used = 0;
    *payload = value_decode(p + 4, n, &used, err, err_size);
    if (*payload != NULL && used != n) {
        snprintf(err, err_size, "%zu stray bytes after the value in a frame", (size_t)n - used);
        value_free(*payload);
        *payload = NULL;
    }
    buf_consume(in, 4 + (size_t)n);
    return *payload != NULL ? 1 : -1;
}
