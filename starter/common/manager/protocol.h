/*
 * protocol.h - how a manager and its clients talk (docs/manager-protocol.md).
 *
 * Every message is a frame: a 4-byte big-endian length, then that many
 * bytes holding one value (value.h). A request is a list
 *     [op, name, path, arguments...]
 * (op and name are strings, path a list of strings), and its reply a list
 *     [status, result]
 * where status is MGR_OK and result the answer, or an error status and a
 * string saying what went wrong. Replies come in the order of the requests.
 */
#ifndef PROTOCOL_H
#define PROTOCOL_H

#include "value.h"

#define MGR_FRAME_MAX (1u << 20)  /* 1 MiB: a longer frame is refused */

enum mgr_status {
    MGR_OK = 0,
    MGR_E_MALFORMED,    /* the frame or request could not be read */
    MGR_E_TOO_BIG,      /* a frame over MGR_FRAME_MAX */
    MGR_E_UNKNOWN_OP,
    MGR_E_NO_SUCH_NAME, /* no object of that name */
    MGR_E_TYPE,         /* the operation does not fit the value's type */
    MGR_E_BAD_PATH,     /* a key or index that is not there */
    MGR_E_EXISTS,       /* create: the name is taken by another kind */
    MGR_E_TIMEOUT,      /* acquire: not granted in time */
    MGR_E_NOT_HELD,     /* release: this connection does not hold the lock */
    MGR_E_DEADLOCK,     /* acquire: this connection holds it already */
    MGR_E_AUTH,         /* the client did not prove the authkey */
    MGR_E_INTERNAL,     /* out of memory, or a failed system call */
    MGR_E_IO,           /* (client side) the connection failed */
    MGR_E_STALE,        /* once: a request number older than the client's last */
};

const char *mgr_status_name(int status);

/* Appends payload, framed, to out. 0, FRAME_TOO_BIG (over MGR_FRAME_MAX), or -1 (out of memory). */
#define FRAME_TOO_BIG (-2)
int frame_append(struct buf *out, const struct value *payload);

/*
 * Takes the first frame from in, if it is complete. Returns 1 with
 * *payload set; 0 when more bytes are needed; -1 when the frame is bad,
 * with err saying why. A bad frame whose length was fine has been removed
 * from in, and the stream can go on (*fatal = 0); after a bad length it
 * cannot (*fatal = 1).
 */
int frame_take(struct buf *in, struct value **payload, char *err, size_t err_size,
               int *fatal);

#endif
