/*
 * amplify_manager.c - makes lost updates through a manager show up every
 * time.
 *
 * A get-modify-set through a manager loses an update only when another
 * process's set lands between this process's get and its set: a window of
 * one round trip, tens of microseconds. The lessons that use a manager link
 * the student's file with `-Wl,--wrap=mgr_get` (and the other reads), so
 * that the student's calls come here: the real call, then a pause of 1 to
 * 3 ms before the answer is handed back. Code that holds a shared lock
 * around its get-modify-set, or lets the server do the update, is as
 * correct as before, only slower. The lab's own calls inside client.c are
 * not wrapped.
 */
#include "manager.h"

#include <stdint.h>
#include <time.h>
#include <unistd.h>

static void pause_a_little(void)
{
    static pid_t seeded_for;
    static uint64_t state;
    if (seeded_for != getpid()) {  /* each process its own sequence */
        seeded_for = getpid();
        state = (uint64_t)seeded_for * 0x9e3779b97f4a7c15u + (uint64_t)time(NULL);
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    struct timespec ts = {0, 1000000L + (long)(state % 2000000)};
    nanosleep(&ts, NULL);
}

int __real_mgr_get(struct mgr *c, const char *name, const char *path, struct value **out);
int __real_mgr_keys(struct mgr *c, const char *name, const char *path, struct value **out);
int __real_mgr_len(struct mgr *c, const char *name, const char *path, int64_t *out);
int __real_mgr_call(struct mgr *c, const struct value *request, struct value **result);

int __wrap_mgr_get(struct mgr *c, const char *name, const char *path, struct value **out)
{
    int rc = __real_mgr_get(c, name, path, out);
    pause_a_little();
    return rc;
}

int __wrap_mgr_keys(struct mgr *c, const char *name, const char *path, struct value **out)
{
    int rc = __real_mgr_keys(c, name, path, out);
    pause_a_little();
    return rc;
}

int __wrap_mgr_len(struct mgr *c, const char *name, const char *path, int64_t *out)
{
    int rc = __real_mgr_len(c, name, path, out);
    pause_a_little();
    return rc;
}

int __wrap_mgr_call(struct mgr *c, const struct value *request, struct value **result)
{
    int rc = __real_mgr_call(c, request, result);
    pause_a_little();
    return rc;
}
