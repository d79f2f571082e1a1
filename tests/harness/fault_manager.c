/*
 * fault_manager.c - the manager's calls, made to fail one at a time (see
 * fault.c): for the lessons built `manager`. A failed request fails as the
 * client says failures, -1 with mgr_error() telling why, as if the server
 * had answered an error; a mgr_connect that fails says so on stderr, as
 * the real one does. A timed mgr_acquire can also be told that the lock
 * was not granted in time, as under contention.
 */
#include "fault.h"
#include "manager.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int mgr_fail_for_test(struct mgr *c, int status, const char *message);

#define HERE ((uintptr_t)__builtin_return_address(0))

/*
 * In the tests (not the demo), a pause of 0 to 2 ms after each request the
 * student's code makes that changes something: between a create and its
 * acquire, an acquire and its read, a set and its release, a release and
 * what follows, where another worker's request may land. Reads pause on
 * their own (amplify_manager.c), in nanosleep; these pause in poll, so that
 * a worker stopped "in its read" (lab_manager.c) is found in the right one.
 * A worker that lab_mgr_stop_after names stops itself here instead.
 */
static int between_calls(int fn, int rc)
{
    static pid_t seeded_for;
    static uint64_t state;
    struct fault_record *r = fault_record;
    if (r == NULL)
        return rc;
    if (r->stop_pid == getpid() && r->stop_fn == fn) {  /* lab_mgr_stop_after */
        r->stop_pid = 0;
        raise(SIGSTOP);
        return rc;
    }
    if (seeded_for != getpid()) {
        seeded_for = getpid();
        state = (uint64_t)seeded_for * 0x2545f4914f6cdd1du + (uint64_t)time(NULL);
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    int saved = errno;
    poll(NULL, 0, (int)(state % 3));
    errno = saved;
    return rc;
}
#define MGR_FAIL_OR(fn, c)                                                           \
    do {                                                                             \
        int err_;                                                                    \
        if (fault_should_fail(FN_##fn, HERE, &err_))                                 \
            return mgr_fail_for_test(c, MGR_E_INTERNAL, #fn ": the server failed "   \
                                     "this request (a failure the grader made)");    \
    } while (0)

struct mgr *lab_fault_mgr_connect(const char *address)
{
    int err;
    if (fault_should_fail(FN_mgr_connect, HERE, &err)) {
        fprintf(stderr, "mgr_connect(\"%s\"): connection refused (a failure the grader "
                "made)\n", address);
        return NULL;
    }
    return mgr_connect(address);
}

int lab_fault_mgr_create(struct mgr *c, const char *name, const char *kind)
{
    MGR_FAIL_OR(mgr_create, c);
    return between_calls(FN_mgr_create, mgr_create(c, name, kind));
}

int lab_fault_mgr_get(struct mgr *c, const char *name, const char *path, struct value **out)
{
    MGR_FAIL_OR(mgr_get, c);
    return mgr_get(c, name, path, out);
}

int lab_fault_mgr_set(struct mgr *c, const char *name, const char *path, const struct value *v)
{
    MGR_FAIL_OR(mgr_set, c);
    return between_calls(FN_mgr_set, mgr_set(c, name, path, v));
}

int lab_fault_mgr_delete(struct mgr *c, const char *name, const char *path)
{
    MGR_FAIL_OR(mgr_delete, c);
    return between_calls(FN_mgr_delete, mgr_delete(c, name, path));
}

int lab_fault_mgr_keys(struct mgr *c, const char *name, const char *path, struct value **out)
{
    MGR_FAIL_OR(mgr_keys, c);
    return mgr_keys(c, name, path, out);
}

int lab_fault_mgr_len(struct mgr *c, const char *name, const char *path, int64_t *out)
{
    MGR_FAIL_OR(mgr_len, c);
    return mgr_len(c, name, path, out);
}

int lab_fault_mgr_append(struct mgr *c, const char *name, const char *path,
                         const struct value *v)
{
    MGR_FAIL_OR(mgr_append, c);
    return between_calls(FN_mgr_append, mgr_append(c, name, path, v));
}

int lab_fault_mgr_incr(struct mgr *c, const char *name, const char *path, int64_t delta,
                       int64_t *out)
{
    MGR_FAIL_OR(mgr_incr, c);
    return between_calls(FN_mgr_incr, mgr_incr(c, name, path, delta, out));
}

int lab_fault_mgr_cas(struct mgr *c, const char *name, const char *path,
                      const struct value *expected, const struct value *desired, int *swapped)
{
    MGR_FAIL_OR(mgr_cas, c);
    return between_calls(FN_mgr_cas, mgr_cas(c, name, path, expected, desired, swapped));
}

int lab_fault_mgr_acquire(struct mgr *c, const char *name, int timeout_ms)
{
    int err;
    if (fault_should_fail(FN_mgr_acquire, HERE, &err)) {
        if (err == ETIMEDOUT && timeout_ms >= 0)
            return mgr_fail_for_test(c, MGR_E_TIMEOUT, "mgr_acquire: not granted in time "
                                     "(others held the lock)");
        if (err != ETIMEDOUT)
            return mgr_fail_for_test(c, MGR_E_INTERNAL, "mgr_acquire: the server failed "
                                     "this request (a failure the grader made)");
    }
    return between_calls(FN_mgr_acquire, mgr_acquire(c, name, timeout_ms));
}

int lab_fault_mgr_release(struct mgr *c, const char *name)
{
    MGR_FAIL_OR(mgr_release, c);
    return between_calls(FN_mgr_release, mgr_release(c, name));
}

int lab_fault_mgr_call(struct mgr *c, const struct value *request, struct value **result)
{
    MGR_FAIL_OR(mgr_call, c);
    return mgr_call(c, request, result);
}
