/*
 * The manager's own tests: every operation, every error reply, locks
 * released when their holder dies, a server that survives bad input, and
 * no server, socket or directory left behind.
 */
#include "lab.h"
#include "manager.h"
#include "sha256.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct manager m;
static struct mgr *c;

static void start(void)
{
    if (manager_start(&m) == -1)
        lab_fail("manager_start failed (see stderr)");
    c = mgr_connect(m.address);
    if (c == NULL)
        lab_fail("mgr_connect(\"%s\") failed (see stderr)", m.address);
}

static void stop(void)
{
    mgr_close(c);
    if (manager_shutdown(&m) == -1)
        lab_fail("manager_shutdown failed (see stderr)");
}

/* Fails unless the last call failed with `status`. */
static void expect_status(int rc, int status, const char *what)
{
    if (rc == 0)
        lab_fail("%s succeeded; it should fail with '%s'", what, mgr_status_name(status));
    if (mgr_status(c) != status)
        lab_fail("%s failed with '%s' (%s); expected '%s'", what,
                 mgr_status_name(mgr_status(c)), mgr_error(c), mgr_status_name(status));
}

static void ok(int rc, const char *what)
{
    if (rc != 0)
        lab_fail("%s failed: %s", what, mgr_error(c));
}

/* The value at name/path, printed as Python would. */
static const char *show(const char *name, const char *path)
{
    static char text[1024];
    struct value *v;
    ok(mgr_get(c, name, path, &v), "get");
    value_format(v, text, sizeof text);
    value_free(v);
    return text;
}

static void expect_shown(const char *name, const char *path, const char *want)
{
    const char *got = show(name, path);
    if (strcmp(got, want) != 0)
        lab_fail("%s/%s is %s, expected %s", name, path ? path : "", got, want);
}

START_TEST(start_and_shutdown_leave_nothing_behind)
{
    start();
    struct stat st;
    if (stat(m.dir, &st) == -1 || (st.st_mode & 0777) != 0700)
        lab_fail("the manager's directory %s must exist with mode 0700 (it has %o)", m.dir,
                 (unsigned)(st.st_mode & 0777));
    stop();
    if (stat(m.dir, &st) == 0)
        lab_fail("after shutdown, %s is still there", m.dir);
}
END_TEST

START_TEST(values_of_every_type_round_trip)
{
    start();
    ok(mgr_create(c, "v", "value"), "create value");
    expect_shown("v", NULL, "None");
    struct value *vals[] = {value_int(-42), value_double(2.5), value_bytes("a\0b", 3),
                            value_list(), value_dict()};
    const char *shown[] = {"-42", "2.5", "'a\\x00b'", "[]", "{}"};
    for (int i = 0; i < 5; i++) {
        ok(mgr_set(c, "v", NULL, vals[i]), "set");
        expect_shown("v", NULL, shown[i]);
        value_free(vals[i]);
    }
    stop();
}
END_TEST

START_TEST(nested_set_reaches_inside)
{
    start();
    ok(mgr_create(c, "d", "dict"), "create dict");
    struct value *inner = value_dict(), *three = value_int(3);
    ok(mgr_set(c, "d", "test", inner), "set d/test");
    ok(mgr_set(c, "d", "test/3", three), "set d/test/3");  /* the server does d["test"]["3"] = 3 */
    expect_shown("d", NULL, "{'test': {'3': 3}}");
    expect_status(mgr_set(c, "d", "missing/1", three), MGR_E_BAD_PATH, "set d/missing/1");
    expect_status(mgr_set(c, "d", "test/3/x", three), MGR_E_TYPE, "set inside an int");
    value_free(inner);
    value_free(three);
    stop();
}
END_TEST

START_TEST(lists_append_index_len_delete)
{
    start();
    ok(mgr_create(c, "l", "list"), "create list");
    for (int i = 0; i < 5; i++) {
        struct value *v = value_int(i * 10);
        ok(mgr_append(c, "l", NULL, v), "append");
        value_free(v);
    }
    int64_t n;
    ok(mgr_len(c, "l", NULL, &n), "len");
    if (n != 5)
        lab_fail("len says %lld after 5 appends", (long long)n);
    expect_shown("l", "2", "20");
    ok(mgr_delete(c, "l", "0"), "delete l/0");
    expect_shown("l", NULL, "[10, 20, 30, 40]");
    expect_status(mgr_get(c, "l", "4", NULL), MGR_E_BAD_PATH, "get l/4");
    expect_status(mgr_get(c, "l", "x", NULL), MGR_E_BAD_PATH, "get l/x");
    struct value *k;
    expect_status(mgr_keys(c, "l", NULL, &k), MGR_E_TYPE, "keys of a list");
    stop();
}
END_TEST

START_TEST(dicts_keys_delete_and_incr)
{
    start();
    ok(mgr_create(c, "d", "dict"), "create dict");
    int64_t v;
    ok(mgr_incr(c, "d", "apples", 2, &v), "incr a missing key");
    ok(mgr_incr(c, "d", "apples", 3, &v), "incr");
    if (v != 5)
        lab_fail("incr by 2 then 3 from nothing gave %lld, not 5", (long long)v);
    ok(mgr_incr(c, "d", "pears", 1, NULL), "incr");
    struct value *keys;
    ok(mgr_keys(c, "d", NULL, &keys), "keys");
    char text[128];
    value_format(keys, text, sizeof text);
    value_free(keys);
    if (strcmp(text, "['apples', 'pears']") != 0)
        lab_fail("keys are %s", text);
    ok(mgr_delete(c, "d", "apples"), "delete d/apples");
    expect_status(mgr_delete(c, "d", "apples"), MGR_E_BAD_PATH, "delete it again");
    struct value *s = value_str("x");
    ok(mgr_set(c, "d", "name", s), "set a string");
    expect_status(mgr_incr(c, "d", "name", 1, NULL), MGR_E_TYPE, "incr a string");
    value_free(s);
    stop();
}
END_TEST

START_TEST(a_dict_of_thousands_of_keys)
{
    start();
    ok(mgr_create(c, "d", "dict"), "create");
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ok(mgr_incr(c, "d", key, i, NULL), "incr a new key");
    }
    for (int i = 0; i < 2000; i += 2) {
        snprintf(key, sizeof key, "k%d", i);
        ok(mgr_delete(c, "d", key), "delete a key");
    }
    int64_t n;
    ok(mgr_len(c, "d", NULL, &n), "len");
    if (n != 1000)
        lab_fail("2000 keys set and 1000 deleted, but the dict holds %lld", (long long)n);
    for (int i = 0; i < 2000; i++) {
        struct value *v;
        snprintf(key, sizeof key, "k%d", i);
        int rc = mgr_get(c, "d", key, &v);
        if (i % 2 == 0 && rc == 0)
            lab_fail("key %s was deleted but is still there", key);
        if (i % 2 == 1 && (rc == -1 || v->u.i != i))
            lab_fail("key %s lost its value", key);
        value_free(v);
    }
    expect_status(mgr_get(c, "d", "k1\\0", NULL), MGR_E_BAD_PATH, "a key that is not there");
    ok(mgr_create(c, "l", "list"), "create a list");
    struct value *one = value_int(1);
    ok(mgr_append(c, "l", NULL, one), "append");
    value_free(one);
    expect_status(mgr_get(c, "l", "+0", NULL), MGR_E_BAD_PATH, "index '+0'");
    expect_status(mgr_get(c, "l", " 0", NULL), MGR_E_BAD_PATH, "index ' 0'");
    expect_shown("l", "0", "1");
    stop();
}
END_TEST

START_TEST(compare_and_set)
{
    start();
    ok(mgr_create(c, "v", "value"), "create");
    struct value *zero = value_int(0), *one = value_int(1);
    ok(mgr_set(c, "v", NULL, zero), "set");
    int swapped;
    ok(mgr_cas(c, "v", NULL, zero, one, &swapped), "cas 0 -> 1");
    if (!swapped)
        lab_fail("cas from 0 to 1 did not swap a 0");
    ok(mgr_cas(c, "v", NULL, zero, one, &swapped), "cas 0 -> 1 again");
    if (swapped)
        lab_fail("cas from 0 swapped a 1");
    expect_shown("v", NULL, "1");
    value_free(zero);
    value_free(one);
    stop();
}
END_TEST

START_TEST(names_and_kinds_are_checked)
{
    start();
    expect_status(mgr_get(c, "nobody", NULL, NULL), MGR_E_NO_SUCH_NAME, "get of a missing name");
    ok(mgr_create(c, "d", "dict"), "create");
    ok(mgr_create(c, "d", "dict"), "create the same again");
    expect_status(mgr_create(c, "d", "list"), MGR_E_EXISTS, "create as another kind");
    expect_status(mgr_create(c, "x", "table"), MGR_E_MALFORMED, "create an unknown kind");
    struct value none = {.type = V_NONE};
    expect_status(mgr_append(c, "d", NULL, &none), MGR_E_TYPE, "append to a dict");
    ok(mgr_create(c, "L", "lock"), "create lock");
    expect_status(mgr_get(c, "L", NULL, NULL), MGR_E_TYPE, "get a lock");
    expect_status(mgr_acquire(c, "d", -1), MGR_E_TYPE, "acquire a dict");
    ok(mgr_delete(c, "d", NULL), "delete the object");
    expect_status(mgr_get(c, "d", NULL, NULL), MGR_E_NO_SUCH_NAME, "get after delete");
    struct value *req = value_list();
    list_append(req, value_str("frobnicate"));
    list_append(req, value_str("L"));
    list_append(req, value_list());
    expect_status(mgr_call(c, req, NULL), MGR_E_UNKNOWN_OP, "an unknown operation");
    value_free(req);
    req = value_int(7);
    expect_status(mgr_call(c, req, NULL), MGR_E_MALFORMED, "a request that is not a list");
    value_free(req);
    stop();
}
END_TEST

/* An unrelated program: this test binary, run again by exec with --client ADDRESS. */
static int run_as_client(const char *address)
{
    struct mgr *mine = mgr_connect(address);
    struct value *hello = value_str("hello from an exec'd process");
    int rc = mine != NULL && mgr_create(mine, "note", "value") == 0 &&
             mgr_set(mine, "note", NULL, hello) == 0;
    value_free(hello);
    mgr_close(mine);
    return rc ? 0 : 1;
}

START_TEST(an_unrelated_process_connects_by_address)
{
    start();
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "manager-client", "--client", m.address, (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lab_fail("a program started with exec could not use the manager at %s (%s)",
                 m.address, lab_describe_status(status));
    expect_shown("note", NULL, "'hello from an exec\\'d process'");
    stop();
}
END_TEST

/* ---- bad bytes on the wire ------------------------------------------------- */

static void send_bytes(int fd, const void *p, size_t n)
{
    if (write(fd, p, n) != (ssize_t)n)
        lab_fail("raw write of %zu bytes: %s", n, strerror(errno));
}

static int raw_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(m.address + 5) >= sizeof sa.sun_path)
        lab_fail("socket path too long: %s", m.address);
    memcpy(sa.sun_path, m.address + 5, strlen(m.address + 5) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
        lab_fail("raw connect: %s", strerror(errno));
    return fd;
}

/*
 * Reads one frame from fd and returns its status (the int it starts with),
 * or -1 on EOF. Bytes read past the frame wait in a buffer for the next call
 * (one connection at a time; raw_done() forgets them).
 */
static struct buf raw_in;

static int raw_status(int fd)
{
    struct value *reply = NULL;
    char err[256];
    int fatal;
    while (frame_take(&raw_in, &reply, err, sizeof err, &fatal) == 0) {
        uint8_t chunk[4096];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0)
            return -1;
        buf_append(&raw_in, chunk, (size_t)n);
    }
    int status = reply != NULL && reply->type == V_LIST && reply->u.list.len > 0 &&
                 reply->u.list.items[0]->type == V_INT ? (int)reply->u.list.items[0]->u.i : -2;
    value_free(reply);
    return status;
}

static void raw_done(int fd)
{
    close(fd);
    buf_free(&raw_in);
}

static void expect_still_serving(void)
{
    int64_t n;
    ok(mgr_incr(c, "alive", NULL, 1, &n), "a request from a well-behaved client");
}

START_TEST(bad_frames_get_error_replies_and_the_server_keeps_serving)
{
    start();
    ok(mgr_create(c, "alive", "value"), "create");
    int fd = raw_connect();
    /* An unknown tag inside a well-formed frame: an error, and the stream goes on. */
    uint8_t bad_tag[] = {0, 0, 0, 1, 'Z'};
    send_bytes(fd, bad_tag, sizeof bad_tag);
    if (raw_status(fd) != MGR_E_MALFORMED)
        lab_fail("a frame holding an unknown tag did not get a 'malformed' reply");
    /* A count that promises more than the frame holds. */
    uint8_t short_list[] = {0, 0, 0, 5, 'l', 0xff, 0xff, 0xff, 0xff};
    send_bytes(fd, short_list, sizeof short_list);
    if (raw_status(fd) != MGR_E_MALFORMED)
        lab_fail("a list claiming 4 billion items in 5 bytes did not get a 'malformed' reply");
    expect_still_serving();
    /* An oversize frame: an error, then the connection is closed. */
    uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
    send_bytes(fd, huge, sizeof huge);
    if (raw_status(fd) != MGR_E_TOO_BIG)
        lab_fail("a frame of 2 GiB did not get a 'too big' reply");
    if (raw_status(fd) != -1)
        lab_fail("after an oversize frame the connection should be closed");
    raw_done(fd);
    /* A truncated frame, then the client vanishes. */
    fd = raw_connect();
    uint8_t truncated[] = {0, 0, 0, 100, 'l', 0};
    send_bytes(fd, truncated, sizeof truncated);
    raw_done(fd);
    expect_still_serving();
    /* Nesting deeper than the limit. */
    fd = raw_connect();
    uint8_t deep[4 + 5 * 40];
    deep[0] = 0, deep[1] = 0, deep[2] = 0, deep[3] = 5 * 40;
    for (int i = 0; i < 40; i++)
        memcpy(deep + 4 + 5 * i, "l\0\0\0\1", 5);
    send_bytes(fd, deep, sizeof deep);
    if (raw_status(fd) != MGR_E_MALFORMED)
        lab_fail("lists nested 40 deep did not get a 'malformed' reply");
    raw_done(fd);
    expect_still_serving();
    stop();
}
END_TEST

/* ---- concurrency ------------------------------------------------------------ */

static void incr_many(int index, void *arg)
{
    (void)index;
    (void)arg;
    struct mgr *w = mgr_connect(m.address);
    if (w == NULL)
        _exit(2);
    for (int i = 0; i < 200; i++)
        if (mgr_incr(w, "d", "count", 1, NULL) == -1)
            _exit(3);
    mgr_close(w);
}

START_TEST(incr_from_many_processes_loses_nothing)
{
    start();
    ok(mgr_create(c, "d", "dict"), "create");
    lab_run_workers(8, incr_many, NULL, 10, "a worker never got its replies");
    expect_shown("d", "count", "1600");
    stop();
}
END_TEST

START_TEST(a_connection_is_not_shared_across_fork)
{
    start();
    pid_t pid = fork();
    if (pid == 0)
        _exit(mgr_create(c, "x", "dict") == -1 && mgr_status(c) == MGR_E_IO ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lab_fail("a child using its parent's connection was not refused");
    expect_status(mgr_get(c, "x", NULL, NULL), MGR_E_NO_SUCH_NAME, "the parent's get");
    stop();
}
END_TEST

START_TEST(a_slow_or_stuck_client_does_not_stall_the_others)
{
    start();
    ok(mgr_create(c, "alive", "value"), "create");
    char blob[65536];
    memset(blob, 'x', sizeof blob);
    struct value *v = value_bytes(blob, sizeof blob);
    ok(mgr_set(c, "alive", NULL, v), "set a 64 KiB string");
    value_free(v);

    /* Slow: asks for 64 MiB of replies and never reads them. */
    int slow = raw_connect();
    struct value *get = value_list();
    list_append(get, value_str("get"));
    list_append(get, value_str("alive"));
    list_append(get, value_list());
    struct buf frames = {0};
    for (int i = 0; i < 1024; i++)
        frame_append(&frames, get);
    value_free(get);
    int flags = fcntl(slow, F_GETFL);
    fcntl(slow, F_SETFL, flags | O_NONBLOCK);  /* we must not block on it either */
    ssize_t sent = write(slow, frames.data, frames.len);
    buf_free(&frames);
    if (sent <= 0)
        lab_fail("could not send the slow client's requests: %s", strerror(errno));

    /* Stuck: half a frame header, then nothing. */
    int stuck = raw_connect();
    send_bytes(stuck, "\0\0", 2);

    /* Everyone else is still served. */
    ok(mgr_create(c, "count", "value"), "create while a client is slow and one is stuck");
    for (int i = 0; i < 100; i++)
        ok(mgr_incr(c, "count", NULL, 1, NULL), "incr while a client is slow and one is stuck");
    expect_shown("count", NULL, "100");
    close(slow);
    close(stuck);
    stop();
}
END_TEST

/* ---- locks ------------------------------------------------------------------ */

static long long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000LL + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

START_TEST(a_lock_excludes_times_out_and_is_handed_on)
{
    start();
    ok(mgr_create(c, "L", "lock"), "create");
    struct mgr *other = mgr_connect(m.address);
    ok(mgr_acquire(c, "L", -1), "acquire");
    expect_status(mgr_acquire(c, "L", -1), MGR_E_DEADLOCK, "acquire twice");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = mgr_acquire(other, "L", 200);
    long long waited = ms_since(&t0);
    if (rc == 0 || mgr_status(other) != MGR_E_TIMEOUT)
        lab_fail("a second client got a held lock (or failed otherwise: %s)", mgr_error(other));
    if (waited < 150)
        lab_fail("acquire with a 200 ms timeout gave up after %lld ms", waited);
    if (mgr_acquire(other, "L", 0) == 0)
        lab_fail("a try-lock (timeout 0) got a held lock");
    if (mgr_release(other, "L") == 0 || mgr_status(other) != MGR_E_NOT_HELD)
        lab_fail("a client released a lock it does not hold");
    ok(mgr_release(c, "L"), "release");
    if (mgr_acquire(other, "L", 1000) != 0)
        lab_fail("a released lock was not granted: %s", mgr_error(other));
    mgr_close(other);  /* while holding it: released for us */
    ok(mgr_acquire(c, "L", 1000), "acquire after the holder disconnected");
    stop();
}
END_TEST

START_TEST(a_lock_held_by_a_killed_process_is_released)
{
    start();
    ok(mgr_create(c, "L", "lock"), "create");
    int ready[2];
    if (pipe(ready) == -1)
        lab_fail("pipe: %s", strerror(errno));
    pid_t holder = fork();
    if (holder == 0) {
        struct mgr *h = mgr_connect(m.address);
        if (h == NULL || mgr_acquire(h, "L", -1) == -1)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        pause();  /* holds the lock until killed */
        _exit(0);
    }
    char x;
    close(ready[1]);
    if (read(ready[0], &x, 1) != 1)
        lab_fail("the holder could not take the lock");
    close(ready[0]);
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    if (mgr_acquire(c, "L", 2000) == -1)
        lab_fail("the lock of a process killed by SIGKILL was not released: %s", mgr_error(c));
    stop();
}
END_TEST

START_TEST(the_server_exits_when_its_parent_dies)
{
    int info[2];
    if (pipe(info) == -1)
        lab_fail("pipe: %s", strerror(errno));
    pid_t parent = fork();
    if (parent == 0) {
        struct manager mine;
        if (manager_start(&mine) == -1)
            _exit(1);
        if (write(info[1], &mine, sizeof mine) != sizeof mine)
            _exit(1);
        pause();
        _exit(0);
    }
    struct manager theirs;
    close(info[1]);
    if (read(info[0], &theirs, sizeof theirs) != sizeof theirs)
        lab_fail("the parent could not start a manager");
    close(info[0]);
    kill(parent, SIGKILL);
    waitpid(parent, NULL, 0);
    /* The server was the parent's child: it now belongs to us (a subreaper). */
    for (int i = 0; i < 200 && kill(theirs.pid, 0) == 0; i++) {
        waitpid(theirs.pid, NULL, WNOHANG);
        usleep(10 * 1000);
    }
    struct stat st;
    if (kill(theirs.pid, 0) == 0)
        lab_fail("the server (pid %d) still runs 2 s after its parent was killed",
                 (int)theirs.pid);
    if (stat(theirs.dir, &st) == 0)
        lab_fail("the dead parent's server left %s behind", theirs.dir);
}
END_TEST

START_TEST(only_the_starter_may_shut_it_down)
{
    start();
    pid_t pid = fork();
    if (pid == 0)
        _exit(manager_shutdown(&m) == -1 ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lab_fail("a child was allowed to shut down its parent's manager");
    ok(mgr_create(c, "still", "value"), "a request after the refused shutdown");
    stop();
}
END_TEST


/* ---- the protocol document ---------------------------------------------------- */

/* Formats bytes as the document shows them: hex, 16 to a line. */
static void hex_lines(const uint8_t *p, size_t n, char *out, size_t size)
{
    size_t len = 0;
    for (size_t i = 0; i < n && len + 4 < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%02x%s", p[i],
                                i % 16 == 15 || i + 1 == n ? "\n" : " ");
}

static char *read_doc(void)
{
    static char text[1 << 16];
    FILE *f = fopen("docs/manager-protocol.md", "r");
    if (f == NULL)
        lab_fail("docs/manager-protocol.md: %s (run the suite from the project's root)",
                 strerror(errno));
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

/* Sends the document's request on a raw socket; fails unless the reply is `want`'s bytes. */
static void exchange_matches(const uint8_t *request, size_t n, const char *doc, const char *what)
{
    int fd = raw_connect();
    send_bytes(fd, request, n);
    uint8_t reply[256];
    size_t got = 0;
    while (got < 4 || got < 4 + ((size_t)reply[2] << 8 | reply[3])) {
        ssize_t r = read(fd, reply + got, sizeof reply - got);
        if (r <= 0)
            lab_fail("the server closed the connection before replying to the example");
        got += (size_t)r;
    }
    close(fd);
    char hex[1024];
    hex_lines(reply, got, hex, sizeof hex);
    if (strstr(doc, hex) == NULL)
        lab_fail("the server's %s to the document's example is\n%s\nwhich the document does "
                 "not show: update docs/manager-protocol.md", what, hex);
}

START_TEST(the_protocol_document_shows_the_real_bytes)
{
    const char *doc = read_doc();
    struct value *req = value_list(), *path = value_list();
    list_append(req, value_str("set"));
    list_append(req, value_str("d"));
    list_append(path, value_str("test"));
    list_append(path, value_str("3"));
    list_append(req, path);
    list_append(req, value_int(3));
    struct buf frame = {0};
    frame_append(&frame, req);
    value_free(req);
    char hex[1024];
    hex_lines(frame.data, frame.len, hex, sizeof hex);
    if (strstr(doc, hex) == NULL)
        lab_fail("the client encodes d['test']['3'] = 3 as\n%s\nwhich the document does not "
                 "show: update docs/manager-protocol.md", hex);

    start();
    ok(mgr_create(c, "d", "dict"), "create");
    exchange_matches(frame.data, frame.len, doc, "error reply");  /* no key 'test' yet */
    struct value *inner = value_dict();
    ok(mgr_set(c, "d", "test", inner), "set d/test");
    value_free(inner);
    exchange_matches(frame.data, frame.len, doc, "reply");
    buf_free(&frame);
    stop();
}
END_TEST

/* ---- TCP and the authkey ------------------------------------------------------ */

static void expect_hex(const uint8_t *mac, const char *want, const char *what)
{
    char got[65];
    for (int i = 0; i < 32; i++)
        snprintf(got + 2 * i, 3, "%02x", mac[i]);
    if (strcmp(got, want) != 0)
        lab_fail("HMAC-SHA256 of %s is %s, RFC 4231 says %s", what, got, want);
}

START_TEST(hmac_sha256_matches_rfc_4231)
{
    uint8_t mac[32], key[131];
    memset(key, 0x0b, 20);
    hmac_sha256(key, 20, "Hi There", 8, NULL, 0, mac);
    expect_hex(mac, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
               "test case 1");
    hmac_sha256("Jefe", 4, "what do ya want ", 16, "for nothing?", 12, mac);
    expect_hex(mac, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
               "test case 2");
    memset(key, 0xaa, sizeof key);
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    hmac_sha256(key, sizeof key, msg, strlen(msg), NULL, 0, mac);
    expect_hex(mac, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
               "test case 6 (a key longer than a block)");
    if (!equal_in_constant_time("abc", "abc", 3) || equal_in_constant_time("abc", "abd", 3))
        lab_fail("equal_in_constant_time compares wrongly");
}
END_TEST

#define KEY "correct horse battery staple"

static void start_tcp(void)
{
    if (manager_start_tcp(&m, "127.0.0.1", 0, KEY, strlen(KEY)) == -1)
        lab_fail("manager_start_tcp failed (see stderr)");
    if ((c = mgr_connect(m.address)) == NULL)
        lab_fail("mgr_connect(\"%s\") failed (see stderr)", m.address);
}

START_TEST(tcp_with_the_right_key_is_served)
{
    start_tcp();
    struct mgr *remote = mgr_connect_key(m.tcp_address, KEY, strlen(KEY));
    if (remote == NULL)
        lab_fail("a client with the right key could not connect to %s (see stderr)",
                 m.tcp_address);
    int64_t n;
    if (mgr_create(remote, "v", "value") == -1 || mgr_incr(remote, "v", NULL, 5, &n) == -1)
        lab_fail("a request over TCP failed: %s", mgr_error(remote));
    mgr_close(remote);
    expect_shown("v", NULL, "5");
    stop();
}
END_TEST

START_TEST(tcp_with_a_wrong_key_is_refused_and_logged)
{
    /* The server writes its log to the stderr it inherits: catch it in a file. */
    char log_path[] = "/tmp/shmlab-log-XXXXXX";
    int log_fd = mkstemp(log_path);
    int saved = dup(STDERR_FILENO);
    if (log_fd == -1 || saved == -1 || dup2(log_fd, STDERR_FILENO) == -1)
        lab_fail("redirecting stderr: %s", strerror(errno));
    unlink(log_path);
    start_tcp();
    dup2(saved, STDERR_FILENO);
    close(saved);

    struct mgr *intruder = mgr_connect_key(m.tcp_address, "guess", 5);
    if (intruder != NULL)
        lab_fail("a client with the wrong key was let in");
    if (mgr_connect(m.tcp_address) != NULL)
        lab_fail("a client with no key was let in");
    ok(mgr_create(c, "alive", "value"), "a local request after the refusals");
    stop();

    char log[4096] = "";
    ssize_t n = pread(log_fd, log, sizeof log - 1, 0);
    close(log_fd);
    log[n > 0 ? n : 0] = '\0';
    if (strstr(log, "wrong authkey; refused") == NULL)
        lab_fail("the server did not log the refused client; its log was: %s", log);
}
END_TEST

START_TEST(tcp_requests_before_the_proof_are_never_run)
{
    start_tcp();
    struct sockaddr_in sa = {.sin_family = AF_INET};
    const char *port = strrchr(m.tcp_address, ':') + 1;
    sa.sin_port = htons((uint16_t)atoi(port));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
        lab_fail("connect to %s: %s", m.tcp_address, strerror(errno));
    struct value *req = value_list();
    list_append(req, value_str("create"));
    list_append(req, value_str("sneaky"));
    list_append(req, value_list());
    list_append(req, value_str("dict"));
    struct buf frame = {0};
    frame_append(&frame, req);
    value_free(req);
    send_bytes(fd, frame.data, frame.len);
    buf_free(&frame);
    if (raw_status(fd) != -2)  /* -2: a frame that is not a reply: the challenge */
        lab_fail("a TCP client was not sent a challenge first");
    int status = raw_status(fd);
    raw_done(fd);
    if (status != MGR_E_AUTH)
        lab_fail("a request sent instead of the answer to the challenge got status %d, not "
                 "%d (authentication failed)", status, MGR_E_AUTH);
    expect_status(mgr_get(c, "sneaky", NULL, NULL), MGR_E_NO_SUCH_NAME,
                  "get of what the unauthenticated client tried to create");
    stop();
}
END_TEST

/* A fake server that sends a challenge, accepts any answer, and cannot prove the key. */
START_TEST(a_server_that_cannot_prove_the_key_is_not_trusted)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd == -1 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) == -1 || listen(lfd, 1) == -1 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) == -1)
        lab_fail("fake server: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        int fd = accept(lfd, NULL, NULL);
        uint8_t zeros[32] = {0};
        struct value *challenge = value_list(), *welcome = value_list();
        list_append(challenge, value_str("challenge"));
        list_append(challenge, value_bytes(zeros, 32));
        list_append(welcome, value_int(MGR_OK));
        list_append(welcome, value_bytes(zeros, 32));
        struct buf out = {0};
        frame_append(&out, challenge);
        if (write(fd, out.data, out.len) != (ssize_t)out.len)
            _exit(1);
        raw_status(fd);  /* reads the client's answer, whatever it is */
        out.len = 0;
        frame_append(&out, welcome);
        if (write(fd, out.data, out.len) != (ssize_t)out.len)
            _exit(1);
        usleep(200 * 1000);
        _exit(0);
    }
    close(lfd);
    char address[64];
    snprintf(address, sizeof address, "tcp:127.0.0.1:%d", ntohs(sa.sin_port));
    struct mgr *fooled = mgr_connect_key(address, KEY, strlen(KEY));
    waitpid(pid, NULL, 0);
    if (fooled != NULL)
        lab_fail("the client trusted a server that never proved it knows the authkey");
}
END_TEST

/* ---- edge cases found in review ---------------------------------------------------- */

/* A request frame for op on name with no path, and one optional argument. */
static void append_request(struct buf *out, const char *op, const char *name, struct value *arg)
{
    struct value *req = value_list();
    list_append(req, value_str(op));
    list_append(req, value_str(name));
    list_append(req, value_list());
    if (arg != NULL)
        list_append(req, arg);
    frame_append(out, req);
    value_free(req);
}

START_TEST(every_lock_of_a_departed_holder_is_released)
{
    start();
    ok(mgr_create(c, "Y", "value") == 0 && mgr_create(c, "L1", "lock") == 0 &&
       mgr_create(c, "L2", "lock") == 0 ? 0 : -1, "create Y, L1, L2");
    struct mgr *holder = mgr_connect(m.address);
    if (mgr_acquire(holder, "L1", -1) == -1 || mgr_acquire(holder, "L2", -1) == -1)
        lab_fail("the holder could not take both locks: %s", mgr_error(holder));
    /* A waiter queues "acquire L1" and, behind it, "delete Y". */
    int waiter = raw_connect();
    struct buf frames = {0};
    append_request(&frames, "acquire", "L1", NULL);
    append_request(&frames, "delete", "Y", NULL);
    send_bytes(waiter, frames.data, frames.len);
    buf_free(&frames);
    usleep(50 * 1000);
    mgr_close(holder);  /* L1 goes to the waiter, whose delete then runs; L2 must be free */
    if (raw_status(waiter) != MGR_OK || raw_status(waiter) != MGR_OK)
        lab_fail("the waiter did not get L1, or its delete failed");
    if (mgr_acquire(c, "L2", 1000) == -1)
        lab_fail("L2, held by a client that went away, was not released: %s", mgr_error(c));
    raw_done(waiter);
    stop();
}
END_TEST

START_TEST(odd_requests_get_honest_answers)
{
    start();
    ok(mgr_create(c, "L", "lock"), "create a lock");
    expect_status(mgr_delete(c, "L", "x"), MGR_E_TYPE, "delete inside a lock");
    ok(mgr_create(c, "d", "dict"), "create a dict");
    struct value *deep = value_list(), *inner = deep;
    for (int i = 0; i < VALUE_MAX_DEPTH - 1; i++) {
        struct value *next = value_list();
        list_append(inner, next);
        inner = next;
    }
    expect_status(mgr_set(c, "d", "a", deep), MGR_E_MALFORMED, "a set nesting 33 deep");
    value_free(deep);
    struct value *five = value_int(5), *empty = value_dict();
    expect_status(mgr_cas(c, "d", NULL, empty, five, NULL), MGR_E_TYPE,
                  "a cas turning a dict into an int");
    value_free(five);
    value_free(empty);
    /* An answer over the frame limit: an error, and the connection goes on. */
    ok(mgr_create(c, "l", "list"), "create a list");
    char chunk[60000];
    memset(chunk, 'x', sizeof chunk);
    struct value *big = value_bytes(chunk, sizeof chunk);
    for (int i = 0; i < 20; i++)
        ok(mgr_append(c, "l", NULL, big), "append 60 kB");
    value_free(big);
    expect_status(mgr_get(c, "l", NULL, NULL), MGR_E_TOO_BIG, "a get of 1.2 MB");
    int64_t n;
    ok(mgr_len(c, "l", NULL, &n), "len after the refused get");
    stop();
}
END_TEST

START_TEST(the_server_keeps_none_of_its_parents_descriptors)
{
    int p[2];
    if (pipe(p) == -1)
        lab_fail("pipe: %s", strerror(errno));
    start();
    ok(mgr_create(c, "x", "value"), "a first request");  /* the server is running by now */
    close(p[1]);  /* the last writer, unless the server kept a copy */
    int flags = fcntl(p[0], F_GETFL);
    fcntl(p[0], F_SETFL, flags | O_NONBLOCK);
    char x;
    ssize_t got = read(p[0], &x, 1);
    int kept = got == -1 && errno == EAGAIN;
    close(p[0]);
    stop();
    if (kept)
        lab_fail("the manager server kept its parent's pipe open: a pipe it inherited never "
                 "reports its end while the server runs");
}
END_TEST

/* incr of "n" in dict "d", sent as request `number` of `client` on connection k. */
static int64_t incr_once(struct mgr *k, const char *client, int64_t number)
{
    int64_t now = -1;
    if (mgr_request_id(k, client, number) == -1 || mgr_incr(k, "d", "n", 1, &now) == -1)
        lab_fail("incr as request %lld of client %s failed: %s", (long long)number, client,
                 mgr_error(k));
    return now;
}

START_TEST(a_request_with_an_id_runs_once_however_often_it_is_sent)
{
    start();
    ok(mgr_create(c, "d", "dict"), "create d");
    if (incr_once(c, "w1", 1) != 1)
        lab_fail("the first incr did not make n 1");
    /* The reply was lost, say: the same request again, here and on a new connection. */
    struct mgr *again = mgr_connect(m.address);
    if (incr_once(c, "w1", 1) != 1 || incr_once(again, "w1", 1) != 1)
        lab_fail("a repeated request did not get the first answer (n = 1)");
    expect_shown("d", "n", "1");
    if (incr_once(again, "w1", 2) != 2 || incr_once(c, "w2", 1) != 3)
        lab_fail("the next number, or another client's first, did not run");
    if (mgr_request_id(c, "w1", 1) == -1)
        lab_fail("mgr_request_id: %s", mgr_error(c));
    expect_status(mgr_incr(c, "d", "n", 1, NULL), MGR_E_STALE, "an older request number");
    /* A request that failed fails the same way when repeated: it is not run again. */
    mgr_request_id(c, "w1", 3);
    expect_status(mgr_incr(c, "later", "n", 1, NULL), MGR_E_NO_SUCH_NAME, "incr of a missing object");
    ok(mgr_create(c, "later", "dict"), "create it");
    mgr_request_id(c, "w1", 3);
    expect_status(mgr_incr(c, "later", "n", 1, NULL), MGR_E_NO_SUCH_NAME,
                  "the same request again, the object there now");
    expect_shown("d", "n", "3");
    /* One call only: the next one is sent as it is, and runs each time. */
    ok(mgr_incr(c, "d", "n", 1, NULL), "a plain incr");
    ok(mgr_incr(c, "d", "n", 1, NULL), "a plain incr");
    expect_shown("d", "n", "5");
    ok(mgr_create(c, "L", "lock"), "create L");
    mgr_request_id(c, "w1", 4);
    expect_status(mgr_acquire(c, "L", 0), MGR_E_MALFORMED, "acquire with a request id");
    if (mgr_request_id(c, "", 1) == 0 || mgr_request_id(c, "w1", 0) == 0)
        lab_fail("mgr_request_id took an empty client or the number 0");
    mgr_close(again);
    stop();
}
END_TEST

START_TEST(request_ids_are_checked_and_the_oldest_clients_forgotten)
{
    start();
    ok(mgr_create(c, "d", "dict"), "create d");
    int raw = raw_connect();
    struct value *bad[] = {value_int(0), value_int(-3), value_str("1"), value_none()};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct value *req = value_list(), *inner = value_list();
        list_append(req, value_str("once"));
        list_append(req, value_str("w"));
        list_append(req, value_list());
        list_append(req, bad[i]);
        list_append(inner, value_str("ping"));
        list_append(inner, value_str("x"));
        list_append(inner, value_list());
        list_append(req, inner);
        struct buf out = {0};
        frame_append(&out, req);
        value_free(req);
        send_bytes(raw, out.data, out.len);
        buf_free(&out);
        if (raw_status(raw) != MGR_E_MALFORMED)
            lab_fail("a once request numbered with a bad number (case %zu) was not refused "
                     "as malformed", i);
    }
    raw_done(raw);
    char name[32];
    for (int i = 0; i <= 4096; i++) {
        snprintf(name, sizeof name, "client-%d", i);
        incr_once(c, name, 1);
    }
    struct value *info;
    ok(mgr_info(c, &info), "info");
    struct value *kept = dict_get(info, "clients", 7);
    if (kept == NULL || kept->type != V_INT || kept->u.i != 4096)
        lab_fail("after 4097 clients the server keeps %lld clients' answers, not 4096",
                 kept != NULL && kept->type == V_INT ? (long long)kept->u.i : -1LL);
    value_free(info);
    if (incr_once(c, "client-0", 1) != 4098)
        lab_fail("the forgotten client-0's request 1 was not run anew");
    if (incr_once(c, "client-4096", 1) != 4097)
        lab_fail("client-4096's request 1, kept, ran again");
    stop();
}
END_TEST

/* info's field `key`, an int. */
static long long info_int(struct mgr *k, const char *key)
{
    struct value *info;
    if (mgr_info(k, &info) == -1)
        lab_fail("info failed: %s", mgr_error(k));
    struct value *v = dict_get(info, key, strlen(key));
    long long n = v != NULL && v->type == V_INT ? v->u.i : -1;
    value_free(info);
    return n;
}

START_TEST(info_shows_connections_objects_and_held_locks)
{
    start();
    ok(mgr_create(c, "L", "lock") == 0 && mgr_create(c, "d", "dict") == 0 ? 0 : -1,
       "create L and d");
    struct mgr *holder = mgr_connect(m.address);
    if (holder == NULL || mgr_acquire(holder, "L", -1) == -1)
        lab_fail("a second client could not take L");
    if (info_int(c, "connections") != 2)
        lab_fail("info says %lld connections, with 2 open", info_int(c, "connections"));
    struct value *info;
    char text[512];
    ok(mgr_info(c, &info), "info");
    value_format(info, text, sizeof text);
    value_free(info);
    if (strstr(text, "'objects': ['L', 'd']") == NULL || strstr(text, "'held': {'L': ") == NULL)
        lab_fail("info does not list the objects L and d, and L as held: %s", text);
    mgr_close(holder);
    /* The server hears of the close when it next polls: give it time, on a busy machine. */
    long long n = 0;
    for (int tries = 0; tries < 1000 && (n = info_int(c, "connections")) != 1; tries++)
        usleep(10 * 1000);
    if (n != 1)
        lab_fail("info still says %lld connections 10 s after the holder closed its own", n);
    ok(mgr_info(c, &info), "info");
    value_format(info, text, sizeof text);
    value_free(info);
    if (strstr(text, "'held': {}") == NULL)
        lab_fail("a lock of a client that has gone is still held: %s", text);
    stop();
}
END_TEST

int main(int argc, char *argv[])
{
    if (argc == 3 && strcmp(argv[1], "--client") == 0)
        return run_as_client(argv[2]);
    Suite *s = suite_create("manager");
    lab_add(s, start_and_shutdown_leave_nothing_behind);
    lab_add(s, values_of_every_type_round_trip);
    lab_add(s, nested_set_reaches_inside);
    lab_add(s, lists_append_index_len_delete);
    lab_add(s, dicts_keys_delete_and_incr);
    lab_add(s, a_dict_of_thousands_of_keys);
    lab_add(s, compare_and_set);
    lab_add(s, names_and_kinds_are_checked);
    lab_add(s, an_unrelated_process_connects_by_address);
    lab_add(s, bad_frames_get_error_replies_and_the_server_keeps_serving);
    lab_add(s, incr_from_many_processes_loses_nothing);
    lab_add(s, a_connection_is_not_shared_across_fork);
    lab_add(s, a_slow_or_stuck_client_does_not_stall_the_others);
    lab_add(s, a_lock_excludes_times_out_and_is_handed_on);
    lab_add(s, a_lock_held_by_a_killed_process_is_released);
    lab_add(s, the_server_exits_when_its_parent_dies);
    lab_add(s, only_the_starter_may_shut_it_down);
    lab_add(s, the_protocol_document_shows_the_real_bytes);
    lab_add(s, hmac_sha256_matches_rfc_4231);
    lab_add(s, tcp_with_the_right_key_is_served);
    lab_add(s, tcp_with_a_wrong_key_is_refused_and_logged);
    lab_add(s, tcp_requests_before_the_proof_are_never_run);
    lab_add(s, a_server_that_cannot_prove_the_key_is_not_trusted);
    lab_add(s, every_lock_of_a_departed_holder_is_released);
    lab_add(s, odd_requests_get_honest_answers);
    lab_add(s, the_server_keeps_none_of_its_parents_descriptors);
    lab_add(s, a_request_with_an_id_runs_once_however_often_it_is_sent);
    lab_add(s, request_ids_are_checked_and_the_oldest_clients_forgotten);
    lab_add(s, info_shows_connections_objects_and_held_locks);
    return lab_main(s);
}
