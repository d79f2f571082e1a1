/*
 * client.c - starting and stopping a manager, and talking to it (manager.h).
 *
 * A client call is a round trip: frame the request, write it, read frames
 * until the reply is whole. The connection remembers which process opened
 * it: after a fork, parent and child must not share one socket, or their
 * requests and replies interleave; each process connects for itself.
 */
#define _GNU_SOURCE /* prctl's PR_SET_PDEATHSIG */
#include "manager.h"
#include "server.h"
#include "sha256.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct mgr {
    int fd;
    pid_t pid;          /* the process that opened it */
    struct buf in;
    int status;         /* of the last call */
    char error[512];
    char once_client[65]; /* mgr_request_id: the next call's client and number */
    int64_t once_number;  /* 0: the next call is sent as it is */
};

/* ---- the server's life ----------------------------------------------------- */

static int socket_path(const char *address, struct sockaddr_un *sa)
{
    const char *path = strncmp(address, "unix:", 5) == 0 ? address + 5 : NULL;
    if (path == NULL || strlen(path) >= sizeof sa->sun_path)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    strcpy(sa->sun_path, path);
    return 0;
}

/* A listening TCP socket on host:port (port 0: any free one), or -1. */
static int listen_tcp(struct manager *m, const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "manager: '%s' is not an IPv4 address\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    socklen_t len = sizeof sa;
    if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 || listen(fd, 128) == -1 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) == -1) {
        fprintf(stderr, "listen on tcp:%s:%d: %s\n", host, port, strerror(errno));
        if (fd != -1)
            close(fd);
        return -1;
    }
    snprintf(m->tcp_address, sizeof m->tcp_address, "tcp:%s:%d", host, ntohs(sa.sin_port));
    return fd;
}

static int start(struct manager *m, const char *host, int port, const void *key,
                 size_t key_len);

/*
 * In the server: closes every descriptor it inherited but its sockets and
 * stdin, stdout and stderr. Otherwise it would keep the parent's other
 * sockets and pipes open for as long as it runs: a connection the parent
 * closed would not close, a pipe would never report its end.
 */
static void close_other_fds(int keep1, int keep2)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return;
    int fds[1024], n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL && n < 1024) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd > 2 && fd != keep1 && fd != keep2 && fd != dirfd(dir))
            fds[n++] = fd;
    }
    closedir(dir);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

int manager_start(struct manager *m)
{
    return start(m, NULL, 0, NULL, 0);
}

int manager_start_tcp(struct manager *m, const char *host, int port, const void *key,
                      size_t key_len)
{
    if (key == NULL || key_len == 0 || key_len > sizeof m->authkey) {
        fprintf(stderr, "manager_start_tcp: an authkey of 1 to %zu bytes is required\n",
                sizeof m->authkey);
        return -1;
    }
    return start(m, host, port, key, key_len);
}

static int start(struct manager *m, const char *host, int port, const void *key,
                 size_t key_len)
{
    memset(m, 0, sizeof *m);
    if (key_len > 0)
        memcpy(m->authkey, key, key_len);
    m->authkey_len = key_len;
    /* The maker's pid in the name: the lab's tests tell whose it is, running or not. */
    snprintf(m->dir, sizeof m->dir, "/tmp/shmlab-manager-%d-XXXXXX", (int)getpid());
    if (mkdtemp(m->dir) == NULL) {  /* made with mode 0700: only we can reach the socket */
        fprintf(stderr, "mkdtemp(\"%s\"): %s\n", m->dir, strerror(errno));
        return -1;
    }
    snprintf(m->address, sizeof m->address, "unix:%s/socket", m->dir);
    struct sockaddr_un sa;
    socket_path(m->address, &sa);

    /* Listening before the fork: when start returns, clients can connect. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fprintf(stderr, "socket(AF_UNIX): %s\n", strerror(errno));
        rmdir(m->dir);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 || listen(fd, 128) == -1) {
        fprintf(stderr, "bind/listen(\"%s\"): %s\n", sa.sun_path, strerror(errno));
        close(fd);
        unlink(sa.sun_path);
        rmdir(m->dir);
        return -1;
    }

    int tcp_fd = -1;
    if (host != NULL && (tcp_fd = listen_tcp(m, host, port)) == -1) {
        close(fd);
        unlink(sa.sun_path);
        rmdir(m->dir);
        return -1;
    }
    /* The server must not die of SIGTERM before it has set up its handler:
       the child starts with SIGTERM and SIGHUP blocked, and unblocks them
       only inside its poll. (Until then it still has the parent's handlers.) */
    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop_signals, &old_mask);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
    if (pid == -1) {
        fprintf(stderr, "fork (manager server): %s\n", strerror(errno));
        if (tcp_fd != -1)
            close(tcp_fd);
        close(fd);
        unlink(sa.sun_path);
        rmdir(m->dir);
        return -1;
    }
    if (pid == 0) {
        /* A process group of its own: signals meant for the program's group
           (Ctrl-C, or a test runner killing a failed test's group) do not
           kill the server before it can clean up. Its parent's death does:
           then the kernel sends us SIGTERM, and we remove the socket and go.
           The parent may have died already, before this line: check. */
        if (setpgid(0, 0) == -1)
            fprintf(stderr, "manager: setpgid: %s\n", strerror(errno));
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
            fprintf(stderr, "manager: prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
        close_other_fds(fd, tcp_fd);
        if (getppid() == parent)
            server_run(fd, tcp_fd, sa.sun_path, m->dir, m->authkey, m->authkey_len);
        else {
            unlink(sa.sun_path);
            rmdir(m->dir);
        }
        _exit(EXIT_SUCCESS);  /* not exit(): the parent's atexit handlers are not ours */
    }
    close(fd);
    if (tcp_fd != -1)
        close(tcp_fd);
    m->pid = pid;
    m->owner = parent;
    return 0;
}

int manager_shutdown(struct manager *m)
{
    if (m->pid <= 0) {  /* never started, or stopped already: kill(0) would hit our group */
        fprintf(stderr, "manager_shutdown: this manager is not running\n");
        return -1;
    }
    if (getpid() != m->owner) {
        fprintf(stderr, "manager_shutdown: only the process that started the manager "
                "(pid %d) may stop it\n", (int)m->owner);
        return -1;
    }
    if (kill(m->pid, SIGTERM) == -1 && errno != ESRCH) {
        fprintf(stderr, "kill(manager %d, SIGTERM): %s\n", (int)m->pid, strerror(errno));
        return -1;
    }
    int status = 0, waited;
    while ((waited = waitpid(m->pid, &status, 0)) == -1 && errno == EINTR)
        ;
    if (waited == -1)
        fprintf(stderr, "waitpid(manager %d): %s\n", (int)m->pid, strerror(errno));
    m->pid = 0;
    /* The server removes these itself; if it was killed outright, we do. */
    struct sockaddr_un sa;
    socket_path(m->address, &sa);
    unlink(sa.sun_path);
    rmdir(m->dir);
    if (waited == -1)
        return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the manager did not exit cleanly (wait status %#x)\n", status);
        return -1;
    }
    return 0;
}

/* ---- connections ----------------------------------------------------------- */

/* A connected socket for "tcp:host:port", or -1 having said why. */
static int connect_tcp(const char *address)
{
    char host[128];
    const char *colon = strrchr(address + 4, ':');
    if (colon == NULL || (size_t)(colon - (address + 4)) >= sizeof host) {
        fprintf(stderr, "mgr_connect(\"%s\"): expected tcp:host:port\n", address);
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - (address + 4)), address + 4);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *found;
    int err = getaddrinfo(host, colon + 1, &hints, &found);
    if (err != 0) {
        fprintf(stderr, "getaddrinfo(\"%s\"): %s\n", address, gai_strerror(err));
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1 || connect(fd, found->ai_addr, found->ai_addrlen) == -1) {
        fprintf(stderr, "connect(\"%s\"): %s\n", address, strerror(errno));
        if (fd != -1)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    return fd;
}

static int read_frame(struct mgr *c, struct value **frame);
static int send_value(struct mgr *c, const struct value *v);

/*
 * The answer to the server's challenge, and our own challenge to it
 * (server.c explains the exchange). 0, or -1 having said why.
 */
static int prove_key(struct mgr *c, const char *address, const void *key, size_t key_len)
{
    struct value *challenge = NULL, *welcome = NULL, *answer = value_list();
    uint8_t mine[32], proof[SHA256_BYTES], want[SHA256_BYTES];
    int rc = -1;
    if (read_frame(c, &challenge) == -1 || challenge->type != V_LIST ||
        challenge->u.list.len != 2 || challenge->u.list.items[1]->type != V_BYTES) {
        fprintf(stderr, "mgr_connect(\"%s\"): no challenge from the server: %s\n", address,
                c->error[0] ? c->error : "malformed");
        goto out;
    }
    const struct value *nonce = challenge->u.list.items[1];
    hmac_sha256(key, key_len, "shmlab client proof", 19, nonce->u.bytes.data,
                nonce->u.bytes.len, proof);
    if (getrandom(mine, sizeof mine, 0) != (ssize_t)sizeof mine) {
        fprintf(stderr, "getrandom: %s\n", strerror(errno));
        goto out;
    }
    if (answer == NULL || list_append(answer, value_str("response")) == -1 ||
        list_append(answer, value_bytes(proof, sizeof proof)) == -1 ||
        list_append(answer, value_bytes(mine, sizeof mine)) == -1 ||
        send_value(c, answer) == -1 || read_frame(c, &welcome) == -1) {
        fprintf(stderr, "mgr_connect(\"%s\"): %s\n", address, c->error);
        goto out;
    }
    if (welcome->type != V_LIST || welcome->u.list.len != 2 ||
        welcome->u.list.items[0]->type != V_INT || welcome->u.list.items[0]->u.i != MGR_OK) {
        fprintf(stderr, "mgr_connect(\"%s\"): the server refused the authkey\n", address);
        goto out;
    }
    const struct value *theirs = welcome->u.list.items[1];
    hmac_sha256(key, key_len, "shmlab server proof", 19, mine, sizeof mine, want);
    if (theirs->type != V_BYTES || theirs->u.bytes.len != SHA256_BYTES ||
        !equal_in_constant_time(want, theirs->u.bytes.data, SHA256_BYTES)) {
        fprintf(stderr, "mgr_connect(\"%s\"): the server did not prove it knows the "
                "authkey; not trusting it\n", address);
        goto out;
    }
    rc = 0;
out:
    value_free(challenge);
    value_free(welcome);
    value_free(answer);
    return rc;
}

struct mgr *mgr_connect(const char *address)
{
    return mgr_connect_key(address, NULL, 0);
}

struct mgr *mgr_connect_key(const char *address, const void *key, size_t key_len)
{
    struct sockaddr_un sa;
    int tcp = strncmp(address, "tcp:", 4) == 0;
    if (!tcp && socket_path(address, &sa) == -1) {
        fprintf(stderr, "mgr_connect(\"%s\"): not an address this client knows "
                "(unix:<path> or tcp:<host>:<port>)\n", address);
        return NULL;
    }
    if (tcp && (key == NULL || key_len == 0)) {
        fprintf(stderr, "mgr_connect(\"%s\"): a TCP manager needs its authkey "
                "(mgr_connect_key)\n", address);
        return NULL;
    }
    struct mgr *c = calloc(1, sizeof *c);
    if (c == NULL) {
        fprintf(stderr, "mgr_connect: out of memory\n");
        return NULL;
    }
    c->pid = getpid();
    if (tcp) {
        c->fd = connect_tcp(address);
    } else {
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd != -1 && connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
            fprintf(stderr, "connect(\"%s\"): %s\n", address, strerror(errno));
            close(c->fd);
            c->fd = -1;
        } else if (c->fd == -1) {
            fprintf(stderr, "socket(AF_UNIX): %s\n", strerror(errno));
        }
    }
    if (c->fd == -1 || (tcp && prove_key(c, address, key, key_len) == -1)) {
        mgr_close(c);
        return NULL;
    }
    return c;
}

void mgr_close(struct mgr *c)
{
    if (c == NULL)
        return;
    if (c->fd != -1)
        close(c->fd);  /* in another process this closes only that process's copy */
    buf_free(&c->in);
    free(c);
}

const char *mgr_error(const struct mgr *c) { return c->error; }
int mgr_status(const struct mgr *c) { return c->status; }

static int fail(struct mgr *c, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    c->status = status;
    return -1;
}

/*
 * For the lab's grader only (tests/harness/fault_manager.c, which declares
 * it): a request that fails as the server would have failed it.
 */
int mgr_fail_for_test(struct mgr *c, int status, const char *message);
int mgr_fail_for_test(struct mgr *c, int status, const char *message)
{
    return fail(c, status, "%s", message);
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_value(struct mgr *c, const struct value *v)
{
    struct buf out = {0};
    if (frame_append(&out, v) != 0) {
        buf_free(&out);
        return fail(c, MGR_E_TOO_BIG, "request too big (over %u bytes) or out of memory",
                    MGR_FRAME_MAX);
    }
    int sent = send_all(c->fd, out.data, out.len);
    buf_free(&out);
    if (sent == -1)
        return fail(c, MGR_E_IO, "send to manager: %s", strerror(errno));
    return 0;
}

/* Reads until one whole frame has arrived. */
static int read_frame(struct mgr *c, struct value **frame)
{
    for (;;) {
        char err[256];
        int fatal;
        int got = frame_take(&c->in, frame, err, sizeof err, &fatal);
        if (got == 1)
            return 0;
        if (got == -1)
            return fail(c, MGR_E_IO, "bad frame from manager: %s", err);
        uint8_t chunk[65536];
        ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(c, MGR_E_IO, "manager connection %s",
                        n == 0 ? "closed (did the manager stop?)" : strerror(errno));
        if (buf_append(&c->in, chunk, (size_t)n) == -1)
            return fail(c, MGR_E_IO, "out of memory for a reply");
    }
}

int mgr_request_id(struct mgr *c, const char *client, int64_t number)
{
    size_t len = client != NULL ? strlen(client) : 0;
    if (len == 0 || len >= sizeof c->once_client || number < 1)
        return fail(c, MGR_E_MALFORMED, "mgr_request_id: a client's name is 1 to %zu "
                    "bytes, and a request's number is 1 or more",
                    sizeof c->once_client - 1);
    memcpy(c->once_client, client, len + 1);
    c->once_number = number;
    return 0;
}

/* ["once", client, [], number, request]: the request, wrapped (docs/manager-protocol.md). */
static int send_once(struct mgr *c, const struct value *request)
{
    struct value client = {.type = V_BYTES,
                           .u.bytes = {c->once_client, (uint32_t)strlen(c->once_client)}};
    struct value op = {.type = V_BYTES, .u.bytes = {(char *)"once", 4}};
    struct value path = {.type = V_LIST};
    struct value number = {.type = V_INT, .u.i = c->once_number};
    struct value *items[] = {&op, &client, &path, &number, (struct value *)request};
    struct value once = {.type = V_LIST, .u.list = {items, 5, 5}};
    c->once_number = 0;  /* for one call only */
    return send_value(c, &once);
}

int mgr_call(struct mgr *c, const struct value *request, struct value **result)
{
    if (result != NULL)
        *result = NULL;
    if (getpid() != c->pid)
        return fail(c, MGR_E_IO, "this connection was opened by process %d: after fork, "
                    "each process must mgr_connect for itself", (int)c->pid);
    struct value *reply = NULL;
    int sent = c->once_number > 0 ? send_once(c, request) : send_value(c, request);
    if (sent == -1 || read_frame(c, &reply) == -1)
        return -1;
    if (reply->type != V_LIST || reply->u.list.len != 2 ||
        reply->u.list.items[0]->type != V_INT) {
        value_free(reply);
        return fail(c, MGR_E_IO, "malformed reply from manager");
    }
    int status = (int)reply->u.list.items[0]->u.i;
    struct value *answer = reply->u.list.items[1];
    if (status != MGR_OK) {
        fail(c, status, "%s", answer->type == V_BYTES ? answer->u.bytes.data
                                                      : mgr_status_name(status));
        value_free(reply);
        return -1;
    }
    c->status = MGR_OK;
    c->error[0] = '\0';
    if (result != NULL) {
        reply->u.list.len = 1;  /* keep the answer out of value_free(reply) */
        *result = answer;
    }
    value_free(reply);
    return 0;
}

/* ---- the operations -------------------------------------------------------- */

/* Builds [op, name, path, args...] from a path like "test/3" and calls it. */
static int call(struct mgr *c, const char *op, const char *name, const char *path,
                struct value **result, int n_args, ...)
{
    if (result != NULL)
        *result = NULL;
    struct value *req = value_list(), *p = value_list();
    int ok = req != NULL && p != NULL;
    ok = ok && list_append(req, value_str(op)) == 0 && list_append(req, value_str(name)) == 0;
    for (const char *s = path; ok && s != NULL && *s != '\0';) {
        const char *slash = strchr(s, '/');
        size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
        struct value *seg = value_bytes(s, len);
        ok = seg != NULL && list_append(p, seg) == 0;
        s += len + (slash != NULL);
    }
    ok = ok && list_append(req, p) == 0;
    if (ok)
        p = NULL;  /* req owns it now */
    va_list ap;
    va_start(ap, n_args);
    for (int i = 0; i < n_args; i++) {
        const struct value *arg = va_arg(ap, const struct value *);
        struct value *copy = ok ? value_copy(arg) : NULL;
        ok = copy != NULL && list_append(req, copy) == 0;
    }
    va_end(ap);
    value_free(p);
    if (!ok) {
        value_free(req);
        return fail(c, MGR_E_INTERNAL, "%s: out of memory", op);
    }
    int rc = mgr_call(c, req, result);
    value_free(req);
    return rc;
}

int mgr_create(struct mgr *c, const char *name, const char *kind)
{
    struct value k = {.type = V_BYTES, .u.bytes = {(char *)kind, (uint32_t)strlen(kind)}};
    return call(c, "create", name, NULL, NULL, 1, &k);
}

int mgr_get(struct mgr *c, const char *name, const char *path, struct value **out)
{
    return call(c, "get", name, path, out, 0);
}

int mgr_set(struct mgr *c, const char *name, const char *path, const struct value *v)
{
    return call(c, "set", name, path, NULL, 1, v);
}

int mgr_delete(struct mgr *c, const char *name, const char *path)
{
    return call(c, "delete", name, path, NULL, 0);
}

int mgr_keys(struct mgr *c, const char *name, const char *path, struct value **out)
{
    return call(c, "keys", name, path, out, 0);
}

int mgr_append(struct mgr *c, const char *name, const char *path, const struct value *v)
{
    return call(c, "append", name, path, NULL, 1, v);
}

/* The int a call answered, into *out (when out is not NULL). */
static int int_result(struct mgr *c, int rc, struct value *v, int64_t *out)
{
    if (rc == 0 && v->type != V_INT)
        rc = fail(c, MGR_E_TYPE, "expected an int, the manager answered a %s",
                  value_type_name(v->type));
    if (rc == 0 && out != NULL)
        *out = v->u.i;
    value_free(v);
    return rc;
}

int mgr_len(struct mgr *c, const char *name, const char *path, int64_t *out)
{
    struct value *v;
    int rc = call(c, "len", name, path, &v, 0);
    return int_result(c, rc, v, out);
}

int mgr_incr(struct mgr *c, const char *name, const char *path, int64_t delta, int64_t *out)
{
    struct value d = {.type = V_INT, .u.i = delta}, *v;
    int rc = call(c, "incr", name, path, &v, 1, &d);
    return int_result(c, rc, v, out);
}

int mgr_cas(struct mgr *c, const char *name, const char *path, const struct value *expected,
            const struct value *desired, int *swapped)
{
    struct value *v;
    int rc = call(c, "cas", name, path, &v, 2, expected, desired);
    if (rc == 0 && (v->type != V_LIST || v->u.list.len != 2 ||
                    v->u.list.items[0]->type != V_INT))
        rc = fail(c, MGR_E_IO, "malformed answer to cas");
    if (rc == 0 && swapped != NULL)
        *swapped = (int)v->u.list.items[0]->u.i;
    value_free(v);
    return rc;
}

int mgr_acquire(struct mgr *c, const char *name, int timeout_ms)
{
    struct value t = {.type = V_INT, .u.i = timeout_ms};
    if (timeout_ms < 0)
        t.type = V_NONE;
    return call(c, "acquire", name, NULL, NULL, 1, &t);
}

int mgr_release(struct mgr *c, const char *name)
{
    return call(c, "release", name, NULL, NULL, 0);
}

int mgr_info(struct mgr *c, struct value **out)
{
    return call(c, "info", "", NULL, out, 0);
}
