/*
 * manager.h - shmlab's manager: a server process that holds shared objects
 * (dicts, lists, values, locks) by name, and the client calls that reach
 * them. Like Python's multiprocessing.Manager, in C.
 *
 *     struct manager m;
 *     manager_start(&m);                        forks the server
 *     ...fork workers; each one:
 *         struct mgr *c = mgr_connect(m.address);
 *         mgr_incr(c, "totals", "apples", 1, NULL);
 *         mgr_close(c);
 *     manager_shutdown(&m);                     stops and reaps it
 *
 * Every call returns 0 on success and -1 on failure; mgr_error() then says
 * what went wrong and mgr_status() which status (protocol.h) the server
 * answered. A path reaches inside nested containers: "test/3" is
 * obj["test"][3] (a list takes the number as an index, a dict as a key).
 * The empty path (or NULL) is the object itself.
 */
#ifndef MANAGER_H
#define MANAGER_H

#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"
#include "value.h"

struct manager {
    pid_t pid;               /* the server process */
    pid_t owner;             /* the process that started it: only it may shut it down */
    char dir[64];            /* a private directory (mode 0700) holding the socket */
    char address[128];       /* what local clients connect to: "unix:<path>" */
    char tcp_address[64];    /* with manager_start_tcp: "tcp:<host>:<port>" */
    unsigned char authkey[64];
    size_t authkey_len;
};

/* Starts a server. 0, or -1 having said why on stderr. */
int manager_start(struct manager *m);

/*
 * Starts a server that also listens on TCP, at host (an IPv4 address;
 * "0.0.0.0" for every interface) and port (0: any free port; the one
 * chosen is in m->tcp_address). A TCP client must prove it knows authkey
 * (1 to 64 bytes), and the server proves it to the client, both by
 * HMAC-SHA256 challenge and response; a wrong key is refused and logged.
 */
int manager_start_tcp(struct manager *m, const char *host, int port, const void *authkey,
                      size_t authkey_len);

/* Stops the server, waits for it, removes its socket and directory. 0 or -1. */
int manager_shutdown(struct manager *m);

struct mgr;  /* one connection; use it only in the process that opened it */

struct mgr *mgr_connect(const char *address);  /* NULL, having said why on stderr */
/* For "tcp:..." addresses: connects and proves the authkey (and checks the server's proof). */
struct mgr *mgr_connect_key(const char *address, const void *authkey, size_t authkey_len);
void mgr_close(struct mgr *c);
const char *mgr_error(const struct mgr *c);
int mgr_status(const struct mgr *c);

/* kind: "dict", "list", "value" or "lock". Creating what exists already is fine. */
int mgr_create(struct mgr *c, const char *name, const char *kind);
int mgr_get(struct mgr *c, const char *name, const char *path, struct value **out);
int mgr_set(struct mgr *c, const char *name, const char *path, const struct value *v);
int mgr_delete(struct mgr *c, const char *name, const char *path);
int mgr_keys(struct mgr *c, const char *name, const char *path, struct value **out);
int mgr_len(struct mgr *c, const char *name, const char *path, int64_t *out);
int mgr_append(struct mgr *c, const char *name, const char *path, const struct value *v);
/* Adds delta atomically, in the server; a missing dict key starts at 0. */
int mgr_incr(struct mgr *c, const char *name, const char *path, int64_t delta, int64_t *out);
/* If the place holds expected, stores desired; *swapped says whether it did.
 * The place must exist (unlike mgr_incr's): a missing key is MGR_E_BAD_PATH. */
int mgr_cas(struct mgr *c, const char *name, const char *path, const struct value *expected,
            const struct value *desired, int *swapped);
/* Waits for the lock: timeout_ms < 0 waits for ever; status MGR_E_TIMEOUT if not in time. */
int mgr_acquire(struct mgr *c, const char *name, int timeout_ms);
int mgr_release(struct mgr *c, const char *name);

/*
 * Makes the next call on c (one call only) request `number` of `client`:
 * the server runs it at most once, however often it is sent, and answers a
 * repeat with the first answer. A client that lost its connection in the
 * middle of a call sends it again with the same number, on a new
 * connection; its next request takes the next number. client: 1 to 64
 * bytes, the same on every connection, and no other client's; number: 1 up.
 * acquire cannot be sent this way (a lock belongs to its connection).
 */
int mgr_request_id(struct mgr *c, const char *client, int64_t number);

/*
 * What the server holds, a dict: "connections" (an int), "you" (this
 * connection's number), "objects" (their names), "held" (each held lock's
 * name, and its holder's connection number) and "clients" (how many
 * clients' last answers it keeps, for mgr_request_id).
 */
int mgr_info(struct mgr *c, struct value **out);

/* Sends one request (a list, see protocol.h) and waits for its reply. */
int mgr_call(struct mgr *c, const struct value *request, struct value **result);

#endif
