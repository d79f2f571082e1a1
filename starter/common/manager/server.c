/*
 * server.c - the manager's server: one process that owns every shared
 * object and applies requests to them one at a time.
 *
 * That is the whole trick of Python's multiprocessing.Manager, and of this
 * one: no two requests ever run at once, so each request is atomic. What a
 * client holds is never the object, only a way to send requests about it.
 *
 * One event loop (poll) serves every client. No request waits for the
 * network: replies are queued and written as the socket allows, so a slow
 * or stuck client delays nobody else. A lock that is taken waits in a queue
 * of its own, and is handed on, in order, when released, or when its
 * holder disconnects or dies.
 */
#define _GNU_SOURCE /* ppoll, accept4 */
#include "server.h"
#include "protocol.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OUT_LIMIT (4u << 20)  /* stop reading a client whose replies pile up unread */
#define AUTH_SECONDS 10       /* a TCP client must prove the authkey within this */
#define READ_CHUNK 65536

enum kind { K_DICT, K_LIST, K_VALUE, K_LOCK };
static const char *kind_names[] = {"dict", "list", "value", "lock"};

struct conn;

struct object {
    char *name;
    enum kind kind;
    struct value *value;    /* dict, list or value: the data */
    struct conn *holder;    /* lock: who holds it, or NULL */
    struct conn **waiters;  /* lock: who waits for it, first come first served */
    size_t n_waiters;
};

struct conn {
    int fd;
    int id;                 /* for the log */
    char peer[64];          /* who it is, for the log */
    int needs_auth;         /* a TCP client that has not proved the authkey yet */
    long long auth_deadline_ms;
    uint8_t nonce[32];      /* the challenge it must answer */
    struct buf in, out;
    int closing;            /* write what is queued, then close */
    struct object *waiting; /* the lock it waits for, or NULL */
    long long deadline_ms;  /* when waiting: give up then; -1: never */
};

static struct object **objects;
static size_t n_objects;
static struct conn **conns;
static size_t n_conns;
static int next_conn_id = 1;
static volatile sig_atomic_t stop_requested;
static const uint8_t *authkey;  /* for TCP clients */
static size_t authkey_len;
static long long accept_paused_until_ms;  /* out of descriptors: stop accepting a while */

static void server_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "manager[%d]: ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- replies ------------------------------------------------------------- */

static void reply_error(struct conn *c, int status, const char *fmt, ...);

/*
 * Queues [status, result] for c; takes result. The list is written as
 * bytes around the result's encoding, never made as a value: a reply is
 * the one thing every request makes.
 */
static void reply(struct conn *c, int status, struct value *result)
{
    /* The frame's length (filled in below), a list of 2, and the status, an int. */
    uint8_t head[4 + 5 + 9] = {0, 0, 0, 0, 'l', 0, 0, 0, 2, 'i'};
    for (int i = 0; i < 8; i++)
        head[10 + i] = (uint8_t)((uint64_t)(int64_t)status >> (56 - 8 * i));
    size_t start = c->out.len;
    if (result == NULL || buf_append(&c->out, head, sizeof head) == -1 ||
        value_encode(result, &c->out) == -1) {
        c->out.len = start;
        value_free(result);
        server_log("connection %d: out of memory for a reply; closing it", c->id);
        c->closing = 1;
        return;
    }
    value_free(result);
    size_t n = c->out.len - start - 4;
    if (n > MGR_FRAME_MAX) {
        c->out.len = start;
        reply_error(c, MGR_E_TOO_BIG, "the answer is over the frame limit of %u bytes",
                    MGR_FRAME_MAX);
        return;
    }
    uint8_t *p = c->out.data + start;
    p[0] = (uint8_t)(n >> 24), p[1] = (uint8_t)(n >> 16), p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)n;
}

static void reply_error(struct conn *c, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply(c, status, value_str(msg));
}

/* ---- objects ------------------------------------------------------------- */

static struct object *find_object(const struct value *name)
{
    for (size_t i = 0; i < n_objects; i++)
        if (strlen(objects[i]->name) == name->u.bytes.len &&
            memcmp(objects[i]->name, name->u.bytes.data, name->u.bytes.len) == 0)
            return objects[i];
    return NULL;
}

static struct object *new_object(const struct value *name, enum kind kind)
{
    struct object *o = calloc(1, sizeof *o);
    struct object **more = realloc(objects, (n_objects + 1) * sizeof *objects);
    if (o == NULL || more == NULL) {
        free(o);
        return NULL;
    }
    objects = more;
    o->name = strdup(name->u.bytes.data);
    o->kind = kind;
    o->value = kind == K_DICT ? value_dict() : kind == K_LIST ? value_list()
             : kind == K_VALUE ? value_none() : NULL;
    if (o->name == NULL || (kind != K_LOCK && o->value == NULL)) {
        free(o->name);
        value_free(o->value);
        free(o);
        return NULL;
    }
    objects[n_objects++] = o;
    return o;
}

static void free_object(struct object *o)
{
    free(o->name);
    value_free(o->value);
    free(o->waiters);
    free(o);
}

/* ---- paths: reaching inside nested containers ------------------------------ */

/* The i-th list index a path element names, or -1 (with the reason in err). */
static long long list_index(const struct value *list, const struct value *seg,
                            char *err, size_t err_size)
{
    long long i;
    char *end;
    if (seg->type == V_INT) {
        i = seg->u.i;
    } else {
        const char *digits = seg->u.bytes.data;
        i = strtoll(digits, &end, 10);
        if (seg->u.bytes.len == 0 || (digits[0] != '-' && (digits[0] < '0' || digits[0] > '9')) ||
            end != digits + seg->u.bytes.len) {
            snprintf(err, err_size, "'%s' is not a list index", seg->u.bytes.data);
            return -1;
        }
    }
    if (i < 0 || i >= list->u.list.len) {
        snprintf(err, err_size, "index %lld is out of range (the list has %u items)", i,
                 list->u.list.len);
        return -1;
    }
    return i;
}

/* The value one path element leads to from v, or NULL (status and err say why). */
static struct value *step(struct value *v, const struct value *seg, int *status,
                          char *err, size_t err_size)
{
    if (v->type == V_DICT) {
        if (seg->type != V_BYTES) {
            *status = MGR_E_BAD_PATH;
            snprintf(err, err_size, "dict keys are strings, not %s", value_type_name(seg->type));
            return NULL;
        }
        struct value *next = dict_get(v, seg->u.bytes.data, seg->u.bytes.len);
        if (next == NULL) {
            *status = MGR_E_BAD_PATH;
            snprintf(err, err_size, "no key '%s'", seg->u.bytes.data);
        }
        return next;
    }
    if (v->type == V_LIST) {
        long long i = list_index(v, seg, err, err_size);
        if (i < 0) {
            *status = MGR_E_BAD_PATH;
            return NULL;
        }
        return v->u.list.items[i];
    }
    *status = MGR_E_TYPE;
    snprintf(err, err_size, "cannot look inside %s", value_type_name(v->type));
    return NULL;
}

/* Follows the first n elements of path from root. */
static struct value *walk(struct value *root, const struct value *path, uint32_t n,
                          int *status, char *err, size_t err_size)
{
    struct value *v = root;
    if (v == NULL) {  /* a lock: nothing inside */
        *status = MGR_E_TYPE;
        snprintf(err, err_size, "a lock holds no data");
        return NULL;
    }
    for (uint32_t i = 0; v != NULL && i < n; i++)
        v = step(v, path->u.list.items[i], status, err, err_size);
    return v;
}

/* ---- the operations ------------------------------------------------------- */

/*
 * Each operation gets the request's object (NULL for create), its path and
 * its arguments, and either replies or (acquire) leaves the client waiting.
 */
struct request {
    struct conn *c;
    const struct value *name;
    struct object *object;
    const struct value *path;   /* a list */
    struct value **args;
    uint32_t n_args;
};

static int need_args(struct request *r, uint32_t n, const char *op, const char *usage)
{
    if (r->n_args == n)
        return 0;
    reply_error(r->c, MGR_E_MALFORMED, "%s takes %u argument%s (%s), not %u", op, n,
                n == 1 ? "" : "s", usage, r->n_args);
    return -1;
}

static int need_data(struct request *r, const char *op)
{
    if (r->object->kind != K_LOCK)
        return 0;
    reply_error(r->c, MGR_E_TYPE, "%s: '%s' is a lock, which holds no data", op,
                r->object->name);
    return -1;
}

static void op_create(struct request *r)
{
    if (need_args(r, 1, "create", "the kind: dict, list, value or lock") == -1)
        return;
    const struct value *k = r->args[0];
    int kind = -1;
    for (int i = 0; i < 4 && k->type == V_BYTES; i++)
        if (strcmp(k->u.bytes.data, kind_names[i]) == 0)
            kind = i;
    if (kind < 0) {
        reply_error(r->c, MGR_E_MALFORMED, "create: the kind must be dict, list, value or lock");
        return;
    }
    if (r->object != NULL) {
        if ((int)r->object->kind == kind)
            reply(r->c, MGR_OK, value_none());  /* already there: like get-or-create */
        else
            reply_error(r->c, MGR_E_EXISTS, "create: '%s' exists already, as a %s",
                        r->object->name, kind_names[r->object->kind]);
        return;
    }
    if (new_object(r->name, (enum kind)kind) == NULL)
        reply_error(r->c, MGR_E_INTERNAL, "create: out of memory");
    else
        reply(r->c, MGR_OK, value_none());
}

static void op_get(struct request *r)
{
    char err[256];
    int status = MGR_OK;
    if (need_args(r, 0, "get", "none") == -1 || need_data(r, "get") == -1)
        return;
    struct value *v = walk(r->object->value, r->path, r->path->u.list.len, &status, err,
                           sizeof err);
    if (v == NULL) {
        reply_error(r->c, status, "get %s: %s", r->object->name, err);
        return;
    }
    struct value *copy = value_copy(v);
    if (copy == NULL)
        reply_error(r->c, MGR_E_INTERNAL, "get: out of memory");
    else
        reply(r->c, MGR_OK, copy);
}

/*
 * Finds where the last path element points: the container *parent and the
 * element *last in it. With an empty path, *parent is NULL: the object itself.
 */
static int locate(struct request *r, const char *op, struct value **parent,
                  const struct value **last)
{
    char err[256];
    int status = MGR_OK;
    uint32_t n = r->path->u.list.len;
    *parent = NULL;
    *last = NULL;
    if (n == 0)
        return 0;
    *parent = walk(r->object->value, r->path, n - 1, &status, err, sizeof err);
    if (*parent == NULL) {
        reply_error(r->c, status, "%s %s: %s", op, r->object->name, err);
        return -1;
    }
    *last = r->path->u.list.items[n - 1];
    if ((*parent)->type != V_DICT && (*parent)->type != V_LIST) {
        reply_error(r->c, MGR_E_TYPE, "%s %s: cannot look inside %s", op, r->object->name,
                    value_type_name((*parent)->type));
        return -1;
    }
    if ((*parent)->type == V_DICT && (*last)->type != V_BYTES) {
        reply_error(r->c, MGR_E_BAD_PATH, "%s %s: dict keys are strings", op, r->object->name);
        return -1;
    }
    return 0;
}

/*
 * Frames nest at most VALUE_MAX_DEPTH deep, and a reply wraps its answer in
 * one list more. So an object may nest VALUE_MAX_DEPTH - 1 deep, or a get of
 * it could not be decoded (and the server's recursion would have no bound):
 * a value placed `path_len` levels down must leave room for its own depth.
 */
static int too_deep(struct request *r, const char *op, uint32_t path_len, const struct value *v)
{
    if (path_len + value_depth(v) <= VALUE_MAX_DEPTH - 1)
        return 0;
    reply_error(r->c, MGR_E_MALFORMED, "%s %s: the result would nest deeper than %d", op,
                r->object->name, VALUE_MAX_DEPTH - 1);
    return 1;
}

/* Puts v (taken) at the located place. */
static void store(struct request *r, const char *op, struct value *parent,
                  const struct value *last, struct value *v)
{
    char err[256];
    if (too_deep(r, op, r->path->u.list.len, v)) {
        value_free(v);
        return;
    }
    if (parent == NULL) {
        struct value *old = r->object->value;
        if (r->object->kind != K_VALUE && v->type != old->type) {
            reply_error(r->c, MGR_E_TYPE, "%s %s: a %s can only be replaced by a %s", op,
                        r->object->name, kind_names[r->object->kind],
                        kind_names[r->object->kind]);
            value_free(v);
            return;
        }
        value_free(old);
        r->object->value = v;
    } else if (parent->type == V_DICT) {
        if (dict_set(parent, last->u.bytes.data, last->u.bytes.len, v) == -1) {
            value_free(v);
            reply_error(r->c, MGR_E_INTERNAL, "%s: out of memory", op);
            return;
        }
    } else {
        long long i = list_index(parent, last, err, sizeof err);
        if (i < 0) {
            value_free(v);
            reply_error(r->c, MGR_E_BAD_PATH, "%s %s: %s", op, r->object->name, err);
            return;
        }
        value_free(parent->u.list.items[i]);
        parent->u.list.items[i] = v;
    }
    reply(r->c, MGR_OK, value_none());
}

static void op_set(struct request *r)
{
    struct value *parent, *copy;
    const struct value *last;
    if (need_args(r, 1, "set", "the new value") == -1 || need_data(r, "set") == -1 ||
        locate(r, "set", &parent, &last) == -1)
        return;
    if ((copy = value_copy(r->args[0])) == NULL)
        reply_error(r->c, MGR_E_INTERNAL, "set: out of memory");
    else
        store(r, "set", parent, last, copy);
}

static void op_delete(struct request *r)
{
    char err[256];
    struct value *parent;
    const struct value *last;
    if (need_args(r, 0, "delete", "none") == -1 ||
        (r->path->u.list.len > 0 && need_data(r, "delete") == -1) ||
        locate(r, "delete", &parent, &last) == -1)
        return;
    if (parent == NULL) {  /* the object itself */
        struct object *o = r->object;
        if (o->holder != NULL || o->n_waiters > 0) {
            reply_error(r->c, MGR_E_TYPE, "delete: lock '%s' is in use", o->name);
            return;
        }
        for (size_t i = 0; i < n_objects; i++)
            if (objects[i] == o)
                objects[i] = objects[--n_objects];
        free_object(o);
    } else if (parent->type == V_DICT) {
        if (dict_delete(parent, last->u.bytes.data, last->u.bytes.len) == -1) {
            reply_error(r->c, MGR_E_BAD_PATH, "delete %s: no key '%s'", r->object->name,
                        last->u.bytes.data);
            return;
        }
    } else {
        long long i = list_index(parent, last, err, sizeof err);
        if (i < 0) {
            reply_error(r->c, MGR_E_BAD_PATH, "delete %s: %s", r->object->name, err);
            return;
        }
        value_free(parent->u.list.items[i]);
        memmove(&parent->u.list.items[i], &parent->u.list.items[i + 1],
                (parent->u.list.len - i - 1) * sizeof parent->u.list.items[0]);
        parent->u.list.len--;
    }
    reply(r->c, MGR_OK, value_none());
}

static struct value *target(struct request *r, const char *op)
{
    char err[256];
    int status = MGR_OK;
    if (need_data(r, op) == -1)
        return NULL;
    struct value *v = walk(r->object->value, r->path, r->path->u.list.len, &status, err,
                           sizeof err);
    if (v == NULL)
        reply_error(r->c, status, "%s %s: %s", op, r->object->name, err);
    return v;
}

static void op_keys(struct request *r)
{
    struct value *v, *keys;
    if (need_args(r, 0, "keys", "none") == -1 || (v = target(r, "keys")) == NULL)
        return;
    if (v->type != V_DICT) {
        reply_error(r->c, MGR_E_TYPE, "keys: %s is not a dict", value_type_name(v->type));
        return;
    }
    if ((keys = value_list()) == NULL)
        goto out_of_memory;
    for (uint32_t i = 0; i < v->u.dict.len; i++) {
        struct value *k = value_bytes(v->u.dict.entries[i].key, v->u.dict.entries[i].key_len);
        if (k == NULL || list_append(keys, k) == -1) {
            value_free(k);
            value_free(keys);
            goto out_of_memory;
        }
    }
    reply(r->c, MGR_OK, keys);
    return;
out_of_memory:
    reply_error(r->c, MGR_E_INTERNAL, "keys: out of memory");
}

static void op_len(struct request *r)
{
    struct value *v;
    if (need_args(r, 0, "len", "none") == -1 || (v = target(r, "len")) == NULL)
        return;
    if (v->type == V_DICT)
        reply(r->c, MGR_OK, value_int(v->u.dict.len));
    else if (v->type == V_LIST)
        reply(r->c, MGR_OK, value_int(v->u.list.len));
    else if (v->type == V_BYTES)
        reply(r->c, MGR_OK, value_int(v->u.bytes.len));
    else
        reply_error(r->c, MGR_E_TYPE, "len: %s has no length", value_type_name(v->type));
}

static void op_append(struct request *r)
{
    struct value *v, *copy;
    if (need_args(r, 1, "append", "the item") == -1 || (v = target(r, "append")) == NULL)
        return;
    if (v->type != V_LIST) {
        reply_error(r->c, MGR_E_TYPE, "append: %s is not a list", value_type_name(v->type));
        return;
    }
    if (too_deep(r, "append", r->path->u.list.len + 1, r->args[0]))
        return;
    if ((copy = value_copy(r->args[0])) == NULL || list_append(v, copy) == -1) {
        value_free(copy);
        reply_error(r->c, MGR_E_INTERNAL, "append: out of memory");
        return;
    }
    reply(r->c, MGR_OK, value_int(v->u.list.len));
}

/* incr: adds to an int or double; a missing dict key counts as 0. Replies the new value. */
static void op_incr(struct request *r)
{
    char err[256];
    struct value *parent, *v;
    const struct value *last;
    if (need_args(r, 1, "incr", "the amount") == -1 || need_data(r, "incr") == -1 ||
        locate(r, "incr", &parent, &last) == -1)
        return;
    const struct value *delta = r->args[0];
    if (delta->type != V_INT && delta->type != V_DOUBLE) {
        reply_error(r->c, MGR_E_TYPE, "incr: the amount must be an int or a double");
        return;
    }
    if (parent == NULL) {
        v = r->object->value;
        if (v->type == V_NONE) {  /* a value object that was never set starts at 0 */
            v->type = delta->type;
            if (v->type == V_INT)
                v->u.i = 0;
            else
                v->u.d = 0.0;
        }
    } else if (parent->type == V_DICT) {
        v = dict_get(parent, last->u.bytes.data, last->u.bytes.len);
        if (v == NULL) {
            v = delta->type == V_INT ? value_int(0) : value_double(0);
            if (v == NULL || dict_set(parent, last->u.bytes.data, last->u.bytes.len, v) == -1) {
                value_free(v);
                reply_error(r->c, MGR_E_INTERNAL, "incr: out of memory");
                return;
            }
        }
    } else {
        long long i = list_index(parent, last, err, sizeof err);
        if (i < 0) {
            reply_error(r->c, MGR_E_BAD_PATH, "incr %s: %s", r->object->name, err);
            return;
        }
        v = parent->u.list.items[i];
    }
    if (v->type == V_INT && delta->type == V_INT)
        v->u.i = (int64_t)((uint64_t)v->u.i + (uint64_t)delta->u.i);  /* wraps, never UB */
    else if (v->type == V_DOUBLE)
        v->u.d += delta->type == V_INT ? (double)delta->u.i : delta->u.d;
    else {
        reply_error(r->c, MGR_E_TYPE, "incr: cannot add %s to %s",
                    value_type_name(delta->type), value_type_name(v->type));
        return;
    }
    reply(r->c, MGR_OK, value_copy(v));
}

/* cas: if the place holds `expected`, put `desired` there. Replies [1 or 0, the old value]. */
static void op_cas(struct request *r)
{
    struct value *v, *result, *swapped, *old;
    if (need_args(r, 2, "cas", "the expected value and the new one") == -1 ||
        (v = target(r, "cas")) == NULL)
        return;
    if (r->path->u.list.len == 0 && r->object->kind != K_VALUE &&
        r->args[1]->type != v->type) {
        reply_error(r->c, MGR_E_TYPE, "cas %s: a %s can only be replaced by a %s",
                    r->object->name, kind_names[r->object->kind], kind_names[r->object->kind]);
        return;
    }
    if (too_deep(r, "cas", r->path->u.list.len, r->args[1]))
        return;
    int equal = value_equal(v, r->args[0]);
    result = value_list();
    swapped = value_int(equal);
    old = value_copy(v);
    if (result == NULL || swapped == NULL || old == NULL || list_append(result, swapped) == -1) {
        value_free(swapped);
        goto fail;
    }
    if (list_append(result, old) == -1)
        goto fail;
    old = NULL;
    if (equal) {
        struct value *desired = value_copy(r->args[1]);
        if (desired == NULL)
            goto fail;
        /* Overwrite in place: v stays where it is in its container. */
        struct value tmp = *v;
        *v = *desired;
        *desired = tmp;
        value_free(desired);
    }
    reply(r->c, MGR_OK, result);
    return;
fail:
    value_free(old);
    value_free(result);
    reply_error(r->c, MGR_E_INTERNAL, "cas: out of memory");
}

/*
 * Gives a free lock to the first waiter. That client's later requests run
 * from the main loop (serve_ready_clients), not from here: running them
 * here could delete objects under a caller's feet, and nest without end.
 */
static void hand_on(struct object *lock)
{
    if (lock->holder != NULL || lock->n_waiters == 0)
        return;
    struct conn *next = lock->waiters[0];
    memmove(lock->waiters, lock->waiters + 1, --lock->n_waiters * sizeof *lock->waiters);
    lock->holder = next;
    next->waiting = NULL;
    reply(next, MGR_OK, value_none());
}

static void op_acquire(struct request *r)
{
    struct object *lock = r->object;
    if (lock->kind != K_LOCK) {
        reply_error(r->c, MGR_E_TYPE, "acquire: '%s' is a %s, not a lock", lock->name,
                    kind_names[lock->kind]);
        return;
    }
    if (r->n_args > 1 || (r->n_args == 1 && r->args[0]->type != V_INT &&
                          r->args[0]->type != V_NONE)) {
        reply_error(r->c, MGR_E_MALFORMED, "acquire takes one optional argument: a timeout "
                    "in milliseconds (none: wait forever)");
        return;
    }
    long long timeout = r->n_args == 1 && r->args[0]->type == V_INT ? r->args[0]->u.i : -1;
    if (timeout > 24LL * 3600 * 1000)
        timeout = 24LL * 3600 * 1000;  /* a day at most: keeps the arithmetic in range */
    if (lock->holder == r->c) {
        reply_error(r->c, MGR_E_DEADLOCK, "acquire: this connection holds '%s' already",
                    lock->name);
    } else if (lock->holder == NULL) {
        lock->holder = r->c;
        reply(r->c, MGR_OK, value_none());
    } else if (timeout == 0) {
        reply_error(r->c, MGR_E_TIMEOUT, "acquire: '%s' is held by another client", lock->name);
    } else {
        struct conn **more = realloc(lock->waiters, (lock->n_waiters + 1) * sizeof *more);
        if (more == NULL) {
            reply_error(r->c, MGR_E_INTERNAL, "acquire: out of memory");
            return;
        }
        lock->waiters = more;
        lock->waiters[lock->n_waiters++] = r->c;
        r->c->waiting = lock;
        r->c->deadline_ms = timeout < 0 ? -1 : now_ms() + timeout;
    }
}

static void op_release(struct request *r)
{
    struct object *lock = r->object;
    if (lock->kind != K_LOCK) {
        reply_error(r->c, MGR_E_TYPE, "release: '%s' is a %s, not a lock", lock->name,
                    kind_names[lock->kind]);
        return;
    }
    if (lock->holder != r->c) {
        reply_error(r->c, MGR_E_NOT_HELD, "release: this connection does not hold '%s'",
                    lock->name);
        return;
    }
    lock->holder = NULL;
    reply(r->c, MGR_OK, value_none());
    hand_on(lock);
}

static const struct {
    const char *name;
    void (*run)(struct request *);
} ops[] = {
    {"create", op_create}, {"get", op_get}, {"set", op_set}, {"delete", op_delete},
    {"keys", op_keys}, {"len", op_len}, {"append", op_append}, {"incr", op_incr},
    {"cas", op_cas}, {"acquire", op_acquire}, {"release", op_release},
};

static int is_op(const struct value *op, const char *name)
{
    return op->u.bytes.len == strlen(name) && memcmp(op->u.bytes.data, name, op->u.bytes.len) == 0;
}

/* ---- requests that may be sent again ---------------------------------------- */

/*
 * A client whose connection broke cannot tell whether its last request ran:
 * the server may have run it and only the reply was lost. Sending it again
 * would run it twice (an incr counted twice). A request sent with an id,
 *     ["once", client, [], number, request]
 * runs at most once: the server keeps, for each client, the number of its
 * last such request and the reply it gave, and answers a repeat of that
 * number with the same reply, without running the request again. Numbers
 * only go up: an older one is refused (status "stale"). ONCE_CLIENTS
 * clients are kept; the one heard from longest ago is forgotten first.
 */
#define ONCE_CLIENTS 4096
#define ONCE_ID_MAX 64

struct once {
    char client[ONCE_ID_MAX];
    uint32_t client_len;
    int64_t number;           /* of its last request; 0: none yet */
    uint8_t *reply;           /* the frame that answered it, whole; NULL: none kept */
    size_t reply_len;
    unsigned long long heard; /* when last heard from, on once_clock */
};

static struct once *onces;
static size_t n_onces;
static unsigned long long once_clock;

static void handle(struct conn *c, struct value *req);

/* The client's entry, made if new (forgetting the least recent one if full), or NULL. */
static struct once *once_entry(const struct value *client)
{
    for (size_t i = 0; i < n_onces; i++)
        if (onces[i].client_len == client->u.bytes.len &&
            memcmp(onces[i].client, client->u.bytes.data, client->u.bytes.len) == 0)
            return &onces[i];
    struct once *o;
    if (n_onces == ONCE_CLIENTS) {
        o = &onces[0];
        for (size_t i = 1; i < n_onces; i++)
            if (onces[i].heard < o->heard)
                o = &onces[i];
        free(o->reply);
    } else {
        if (onces == NULL && (onces = calloc(ONCE_CLIENTS, sizeof *onces)) == NULL)
            return NULL;
        o = &onces[n_onces++];
    }
    *o = (struct once){.client_len = client->u.bytes.len};
    memcpy(o->client, client->u.bytes.data, client->u.bytes.len);
    return o;
}

static void op_once(struct conn *c, struct value *req)
{
    struct value **item = req->u.list.items;
    const struct value *client = item[1];
    if (req->u.list.len != 5 || item[2]->u.list.len != 0 || item[3]->type != V_INT ||
        item[3]->u.i < 1 || item[4]->type != V_LIST) {
        reply_error(c, MGR_E_MALFORMED, "once is [\"once\", client, [], number, request]: "
                    "a number from 1 up, and a request");
        return;
    }
    if (client->u.bytes.len > ONCE_ID_MAX) {
        reply_error(c, MGR_E_MALFORMED, "once: a client's name is 1 to %d bytes", ONCE_ID_MAX);
        return;
    }
    const struct value *inner = item[4];
    const struct value *op = inner->u.list.len > 0 ? inner->u.list.items[0] : NULL;
    if (op != NULL && op->type == V_BYTES && (is_op(op, "once") || is_op(op, "acquire"))) {
        reply_error(c, MGR_E_MALFORMED, "once cannot carry %s%s", op->u.bytes.data,
                    is_op(op, "acquire") ? ": a lock belongs to a connection, and is given "
                    "back when it breaks; a new connection acquires it anew" : "");
        return;
    }
    struct once *o = once_entry(client);
    if (o == NULL) {
        reply_error(c, MGR_E_INTERNAL, "once: out of memory");
        return;
    }
    int64_t number = item[3]->u.i;
    o->heard = ++once_clock;
    if (number < o->number) {
        reply_error(c, MGR_E_STALE, "once: request %lld of client '%s' is older than its "
                    "last one (%lld), whose answer is the only one kept",
                    (long long)number, client->u.bytes.data, (long long)o->number);
        return;
    }
    if (number == o->number) {  /* a repeat: the same answer, and nothing runs */
        if (o->reply == NULL)
            reply_error(c, MGR_E_INTERNAL, "once: request %lld ran, but its answer could "
                        "not be kept (out of memory)", (long long)number);
        else if (buf_append(&c->out, o->reply, o->reply_len) == -1)
            c->closing = 1;
        return;
    }
    size_t before = c->out.len;
    handle(c, (struct value *)inner);
    /* Whatever happens now, the request has run: never run it again. */
    o->number = number;
    free(o->reply);
    o->reply = NULL;
    o->reply_len = c->out.len - before;
    if (o->reply_len > 0 && (o->reply = malloc(o->reply_len)) != NULL)
        memcpy(o->reply, c->out.data + before, o->reply_len);
}

static void forget_onces(void)
{
    for (size_t i = 0; i < n_onces; i++)
        free(onces[i].reply);
    free(onces);
    onces = NULL;
    n_onces = 0;
}

/*
 * info: what the server holds, for a person or a test to look at: how many
 * connections it has, its objects' names, which locks are held and by
 * which connection, and how many clients' last answers it keeps.
 */
static void op_info(struct conn *c)
{
    struct value *info = value_dict(), *names = value_list(), *held = value_dict();
    int ok = info != NULL && names != NULL && held != NULL;
    for (size_t i = 0; ok && i < n_objects; i++) {
        struct object *o = objects[i];
        struct value *name = value_str(o->name);
        ok = name != NULL && list_append(names, name) == 0;
        if (!ok)
            value_free(name);
        if (ok && o->holder != NULL) {
            struct value *who = value_int(o->holder->id);
            ok = who != NULL && dict_set(held, o->name, strlen(o->name), who) == 0;
            if (!ok)
                value_free(who);
        }
    }
    struct value *n = NULL, *k = NULL, *mine = NULL;
    ok = ok && (n = value_int((int64_t)n_conns)) != NULL && dict_set(info, "connections", 11, n) == 0;
    if (!ok)
        value_free(n);
    ok = ok && (mine = value_int(c->id)) != NULL && dict_set(info, "you", 3, mine) == 0;
    if (!ok)
        value_free(mine);
    ok = ok && (k = value_int((int64_t)n_onces)) != NULL && dict_set(info, "clients", 7, k) == 0;
    if (!ok)
        value_free(k);
    if (ok && dict_set(info, "objects", 7, names) == 0)
        names = NULL;
    else
        ok = 0;
    if (ok && dict_set(info, "held", 4, held) == 0)
        held = NULL;
    else
        ok = 0;
    value_free(names);
    value_free(held);
    if (!ok) {
        value_free(info);
        reply_error(c, MGR_E_INTERNAL, "info: out of memory");
        return;
    }
    reply(c, MGR_OK, info);
}

/* Checks a request's shape, finds its object, and runs it. */
static void handle(struct conn *c, struct value *req)
{
    if (req->type != V_LIST || req->u.list.len < 3) {
        reply_error(c, MGR_E_MALFORMED, "a request is a list [op, name, path, args...]");
        return;
    }
    struct value **item = req->u.list.items;
    if (item[0]->type != V_BYTES || item[1]->type != V_BYTES || item[2]->type != V_LIST) {
        reply_error(c, MGR_E_MALFORMED, "a request starts with op (string), name (string) "
                    "and path (list)");
        return;
    }
    if (is_op(item[0], "ping")) {
        reply(c, MGR_OK, value_str("pong"));
        return;
    }
    if (is_op(item[0], "info")) {
        op_info(c);
        return;
    }
    const struct value *path = item[2];
    for (uint32_t i = 0; i < path->u.list.len; i++) {
        enum value_type t = path->u.list.items[i]->type;
        if (t != V_BYTES && t != V_INT) {
            reply_error(c, MGR_E_MALFORMED, "path element %u is a %s: strings and ints only",
                        i, value_type_name(t));
            return;
        }
    }
    if (memchr(item[1]->u.bytes.data, '\0', item[1]->u.bytes.len) != NULL ||
        item[1]->u.bytes.len == 0) {
        reply_error(c, MGR_E_MALFORMED, "a name must be a non-empty string without NUL bytes");
        return;
    }
    if (is_op(item[0], "once")) {
        op_once(c, req);
        return;
    }
    struct request r = {c, item[1], find_object(item[1]), path, item + 3, req->u.list.len - 3};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (strlen(ops[i].name) != item[0]->u.bytes.len ||
            memcmp(ops[i].name, item[0]->u.bytes.data, item[0]->u.bytes.len) != 0)
            continue;
        if (r.object == NULL && ops[i].run != op_create)
            reply_error(c, MGR_E_NO_SUCH_NAME, "%s: no object named '%s'", ops[i].name,
                        item[1]->u.bytes.data);
        else
            ops[i].run(&r);
        return;
    }
    reply_error(c, MGR_E_UNKNOWN_OP, "unknown operation '%.40s'", item[0]->u.bytes.data);
}

/* ---- authentication (TCP clients) ------------------------------------------ */

/*
 * Like Python's managers, both sides prove they know the authkey without
 * sending it: each sends the other a random challenge, and the answer is
 * HMAC-SHA256(authkey, label || challenge). The labels differ by direction,
 * so an answer cannot be reflected back. Until the client has answered,
 * the server runs none of its requests.
 */
#define CLIENT_LABEL "shmlab client proof"
#define SERVER_LABEL "shmlab server proof"

static void send_challenge(struct conn *c)
{
    struct value *msg = value_list();
    if (getrandom(c->nonce, sizeof c->nonce, 0) != (ssize_t)sizeof c->nonce) {
        server_log("getrandom: %s; refusing %s", strerror(errno), c->peer);
        c->closing = 1;
    } else if (msg == NULL || list_append(msg, value_str("challenge")) == -1 ||
               list_append(msg, value_bytes(c->nonce, sizeof c->nonce)) == -1 ||
               frame_append(&c->out, msg) == -1) {
        c->closing = 1;
    }
    value_free(msg);
}

/* The client's answer: ["response", its proof, its own challenge]. */
static void check_proof(struct conn *c, const struct value *msg)
{
    uint8_t want[SHA256_BYTES], proof[SHA256_BYTES];
    struct value **item = msg->type == V_LIST ? msg->u.list.items : NULL;
    int shaped = item != NULL && msg->u.list.len == 3 && item[0]->type == V_BYTES &&
                 strcmp(item[0]->u.bytes.data, "response") == 0 && item[1]->type == V_BYTES &&
                 item[1]->u.bytes.len == SHA256_BYTES && item[2]->type == V_BYTES &&
                 item[2]->u.bytes.len == sizeof c->nonce;
    hmac_sha256(authkey, authkey_len, CLIENT_LABEL, strlen(CLIENT_LABEL), c->nonce,
                sizeof c->nonce, want);
    if (!shaped || !equal_in_constant_time(want, item[1]->u.bytes.data, SHA256_BYTES)) {
        server_log("connection %d from %s: %s; refused", c->id, c->peer,
                   shaped ? "wrong authkey" : "no answer to the challenge");
        reply_error(c, MGR_E_AUTH, "authentication failed");
        c->closing = 1;
        return;
    }
    c->needs_auth = 0;
    hmac_sha256(authkey, authkey_len, SERVER_LABEL, strlen(SERVER_LABEL),
                item[2]->u.bytes.data, item[2]->u.bytes.len, proof);
    reply(c, MGR_OK, value_bytes(proof, sizeof proof));
}

/* Runs the requests that have fully arrived, in order, unless c must wait. */
static void serve_conn(struct conn *c)
{
    while (!c->closing && c->waiting == NULL && c->out.len < OUT_LIMIT) {
        struct value *req = NULL;
        char err[256];
        int fatal;
        int got = frame_take(&c->in, &req, err, sizeof err, &fatal);
        if (got == 0)
            return;
        if (got < 0) {
            server_log("connection %d: bad frame: %s%s", c->id, err,
                       fatal ? "; closing it" : "");
            reply_error(c, fatal ? MGR_E_TOO_BIG : MGR_E_MALFORMED, "bad frame: %s", err);
            if (fatal)
                c->closing = 1;
            continue;
        }
        if (c->needs_auth)
            check_proof(c, req);
        else
            handle(c, req);
        value_free(req);
    }
}

/* ---- connections ----------------------------------------------------------- */

static void drop_conn(struct conn *c)
{
    if (c->waiting != NULL) {
        struct object *lock = c->waiting;
        for (size_t i = 0; i < lock->n_waiters; i++)
            if (lock->waiters[i] == c) {
                memmove(lock->waiters + i, lock->waiters + i + 1,
                        (lock->n_waiters - i - 1) * sizeof *lock->waiters);
                lock->n_waiters--;
                break;
            }
    }
    for (size_t i = 0; i < n_objects; i++) {
        if (objects[i]->holder == c) {
            server_log("lock '%s' released: its holder (connection %d) went away",
                       objects[i]->name, c->id);
            objects[i]->holder = NULL;
            hand_on(objects[i]);
        }
    }
    for (size_t i = 0; i < n_conns; i++)
        if (conns[i] == c)
            conns[i] = conns[--n_conns];
    close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

/*
 * A host that vanishes (switched off, unplugged) sends no FIN: without
 * keep-alive probes its connection, and any lock it holds, would stay for
 * hours. With them, a TCP peer that stops answering is dropped in about
 * 16 s: 10 s idle, then 3 probes 2 s apart.
 */
static void keep_alive(struct conn *c)
{
    int on = 1, idle = 10, interval = 2, probes = 3;
    if (setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) == -1 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) == -1 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval) == -1 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes) == -1)
        server_log("connection %d from %s: setsockopt(SO_KEEPALIVE): %s", c->id, c->peer,
                   strerror(errno));
}

static void accept_clients(int listen_fd, int is_tcp)
{
    for (;;) {
        struct sockaddr_in from;
        socklen_t from_len = sizeof from;
        int fd = accept4(listen_fd, (struct sockaddr *)&from, &from_len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EMFILE || errno == ENFILE) {
                /* The listener stays readable: polling it now would spin. */
                server_log("accept: %s; not accepting for 100 ms", strerror(errno));
                accept_paused_until_ms = now_ms() + 100;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                server_log("accept: %s", strerror(errno));
            }
            return;
        }
        struct conn *c = calloc(1, sizeof *c);
        struct conn **more = realloc(conns, (n_conns + 1) * sizeof *conns);
        if (more != NULL)
            conns = more;
        if (c == NULL || more == NULL) {
            server_log("out of memory for a new connection; refusing it");
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->id = next_conn_id++;
        conns[n_conns++] = c;
        if (is_tcp) {
            char ip[INET_ADDRSTRLEN] = "?";
            inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
            snprintf(c->peer, sizeof c->peer, "%s:%d", ip, ntohs(from.sin_port));
            keep_alive(c);
            c->needs_auth = 1;
            c->auth_deadline_ms = now_ms() + AUTH_SECONDS * 1000LL;
            send_challenge(c);
        } else {
            snprintf(c->peer, sizeof c->peer, "the Unix socket");
        }
    }
}

/* Reads what c has sent. 0, or -1 when c is gone. */
static int read_conn(struct conn *c)
{
    uint8_t chunk[READ_CHUNK];
    for (;;) {
        ssize_t n = read(c->fd, chunk, sizeof chunk);
        if (n > 0) {
            if (buf_append(&c->in, chunk, (size_t)n) == -1)
                return -1;
            /* A short read took all there was: no need to ask again and hear EAGAIN. */
            if ((size_t)n < sizeof chunk || c->in.len > 2 * (size_t)MGR_FRAME_MAX)
                return 0;
            continue;
        }
        if (n == 0)
            return -1;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    }
}

/* Writes what is queued for c. 0, or -1 when c is gone. */
static int write_conn(struct conn *c)
{
    while (c->out.len > 0) {
        ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
            continue;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    }
    return 0;
}

static void expire_waits(void)
{
    long long now = now_ms();
    for (size_t i = 0; i < n_conns; i++) {
        struct conn *c = conns[i];
        if (c->needs_auth && !c->closing && c->auth_deadline_ms <= now) {
            server_log("connection %d from %s: no answer to the challenge in %d s; closing it",
                       c->id, c->peer, AUTH_SECONDS);
            reply_error(c, MGR_E_AUTH, "authentication failed: too slow");
            c->closing = 1;
        }
        if (c->waiting == NULL || c->deadline_ms < 0 || c->deadline_ms > now)
            continue;
        struct object *lock = c->waiting;
        for (size_t k = 0; k < lock->n_waiters; k++)
            if (lock->waiters[k] == c) {
                memmove(lock->waiters + k, lock->waiters + k + 1,
                        (lock->n_waiters - k - 1) * sizeof *lock->waiters);
                lock->n_waiters--;
                break;
            }
        c->waiting = NULL;
        reply_error(c, MGR_E_TIMEOUT, "acquire: '%s' was not free in time", lock->name);
    }
}

/* Runs what clients let go on (a lock granted, a wait timed out) had sent meanwhile. */
static void serve_ready_clients(void)
{
    int progress = 1;
    while (progress) {
        progress = 0;
        for (size_t i = 0; i < n_conns; i++) {
            struct conn *c = conns[i];
            size_t before = c->in.len;
            if (c->waiting == NULL && !c->closing && c->in.len > 0) {
                serve_conn(c);
                progress |= c->in.len != before;
            }
        }
    }
}

static int poll_timeout(void)
{
    long long soonest = accept_paused_until_ms > 0 ? accept_paused_until_ms : -1, now = now_ms();
    for (size_t i = 0; i < n_conns; i++) {
        if (conns[i]->waiting != NULL && conns[i]->deadline_ms >= 0 &&
            (soonest < 0 || conns[i]->deadline_ms < soonest))
            soonest = conns[i]->deadline_ms;
        if (conns[i]->needs_auth && (soonest < 0 || conns[i]->auth_deadline_ms < soonest))
            soonest = conns[i]->auth_deadline_ms;
    }
    if (soonest < 0)
        return -1;
    return soonest <= now ? 0 : (int)(soonest - now);
}

size_t server_feed(const uint8_t *data, size_t len)
{
    /* An odd first byte: a TCP client that must first answer a (zero) challenge. */
    static const uint8_t key[] = "fuzz";
    struct conn c = {.fd = -1, .id = 0};
    if (len > 0 && (data[0] & 1)) {
        c.needs_auth = 1;
        authkey = key;
        authkey_len = sizeof key - 1;
    }
    if (buf_append(&c.in, data + (len > 0), len - (len > 0)) == -1)
        return 0;
    serve_conn(&c);
    size_t replied = c.out.len;
    for (size_t i = 0; i < n_objects; i++) {
        if (objects[i]->holder == &c)
            objects[i]->holder = NULL;
        if (c.waiting == objects[i])
            objects[i]->n_waiters = 0;
    }
    buf_free(&c.in);
    buf_free(&c.out);
    for (size_t i = 0; i < n_objects; i++)
        free_object(objects[i]);
    free(objects);
    objects = NULL;
    n_objects = 0;
    forget_onces();
    return replied;
}

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void server_run(int listen_fd, int tcp_fd, const char *socket_path, const char *dir,
                const void *key, size_t key_len)
{
    authkey = key;
    authkey_len = key_len;
    /* SIGTERM (from shutdown, or when the parent dies) stops the server; it arrives
       only inside ppoll, so the loop never stops half-way through a request. */
    sigset_t blocked, during_poll;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGHUP);
    sigprocmask(SIG_BLOCK, &blocked, &during_poll);
    sigdelset(&during_poll, SIGTERM);
    sigdelset(&during_poll, SIGHUP);
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGINT, SIG_IGN);   /* Ctrl-C is for the program; it stops us when it exits */
    signal(SIGPIPE, SIG_IGN);

    int listeners[2] = {listen_fd, tcp_fd};
    for (int i = 0; i < 2; i++) {
        int flags = listeners[i] >= 0 ? fcntl(listeners[i], F_GETFL) : 0;
        if (flags == -1 || (listeners[i] >= 0 &&
                            fcntl(listeners[i], F_SETFL, flags | O_NONBLOCK) == -1))
            server_log("fcntl(listening socket, O_NONBLOCK): %s", strerror(errno));
    }

    struct pollfd *fds = NULL;
    while (!stop_requested) {
        struct pollfd *more = realloc(fds, (n_conns + 2) * sizeof *fds);
        if (more == NULL) {
            server_log("out of memory for poll; stopping");
            break;
        }
        fds = more;
        int accepting = now_ms() >= accept_paused_until_ms;
        if (accepting)
            accept_paused_until_ms = 0;
        fds[0] = (struct pollfd){.fd = accepting ? listen_fd : -1, .events = POLLIN};
        fds[n_conns + 1] = (struct pollfd){.fd = accepting ? tcp_fd : -1, .events = POLLIN};
        for (size_t i = 0; i < n_conns; i++) {
            short events = 0;
            /* Read only from clients whose requests can run: not while they wait for
               a lock, nor while their replies or requests pile up. */
            if (!conns[i]->closing && conns[i]->waiting == NULL &&
                conns[i]->out.len < OUT_LIMIT && conns[i]->in.len < 2 * (size_t)MGR_FRAME_MAX)
                events |= POLLIN;
            if (conns[i]->out.len > 0)
                events |= POLLOUT;
            fds[i + 1] = (struct pollfd){.fd = conns[i]->fd, .events = events};
        }
        size_t polled = n_conns;
        int timeout = poll_timeout();
        struct timespec ts = {timeout / 1000, (timeout % 1000) * 1000000L};
        if (ppoll(fds, polled + 2, timeout < 0 ? NULL : &ts, &during_poll) == -1) {
            if (errno == EINTR)
                continue;
            server_log("ppoll: %s", strerror(errno));
            break;
        }

        /* Snapshot: serving one client can change the list (a lock handed on). */
        struct conn **snapshot = malloc((polled + 1) * sizeof *snapshot);
        if (snapshot == NULL)
            continue;
        for (size_t i = 0; i < polled; i++)
            snapshot[i] = conns[i];
        for (size_t i = 0; i < polled; i++) {
            struct conn *c = snapshot[i];
            short ev = fds[i + 1].revents;
            int gone = 0;
            if (ev & (POLLIN | POLLHUP | POLLERR))
                gone = read_conn(c) == -1;
            if (!gone)
                serve_conn(c);
            if (!gone && c->out.len > 0)
                gone = write_conn(c) == -1;
            if (gone || (c->closing && c->out.len == 0)) {
                drop_conn(c);
                /* a later entry may have been dropped too: nothing else drops */
            }
        }
        free(snapshot);
        if (fds[0].revents & POLLIN)
            accept_clients(listen_fd, 0);
        if (tcp_fd >= 0 && (fds[polled + 1].revents & POLLIN))
            accept_clients(tcp_fd, 1);
        expire_waits();
        serve_ready_clients();
        for (size_t i = 0; i < n_conns; i++)  /* replies queued by hand_on and expiry */
            if (conns[i]->out.len > 0)
                write_conn(conns[i]);
    }

    free(fds);
    while (n_conns > 0)
        drop_conn(conns[0]);
    for (size_t i = 0; i < n_objects; i++)
        free_object(objects[i]);
    free(objects);
    free(conns);
    forget_onces();
    close(listen_fd);
    if (tcp_fd >= 0)
        close(tcp_fd);
    if (unlink(socket_path) == -1 && errno != ENOENT)
        server_log("unlink(\"%s\"): %s", socket_path, strerror(errno));
    if (rmdir(dir) == -1 && errno != ENOENT)
        server_log("rmdir(\"%s\"): %s", dir, strerror(errno));
}
