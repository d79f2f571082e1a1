/*
 * tally.c - lesson 13, the update that counted twice: the solution.
 *
 * A broken connection leaves a request's fate unknown: it may have run,
 * with only its answer lost. So every addition is sent as a request the
 * manager runs at most once (mgr_request_id): this tally's own name, and
 * a number that grows by one for each addition. Sent again with the same
 * number, it gets the first answer, and counts nothing more.
 *
 * Connecting again waits longer after each attempt that fails, so that a
 * hundred workers do not hammer a manager that is down; and the authkey
 * comes from the environment, never from the code.
 */
#include "tally.h"
#include "errors.h"
#include "manager.h"

#include <stdio.h>
#include <sys/random.h>
#include <time.h>

#define FIRST_WAIT_MS 10
#define LONGEST_WAIT_MS 1000

struct tally {
    char address[128];
    char key[65];         /* the authkey, from the environment */
    char name[33];        /* this tally's name in the manager: random, its own */
    int64_t number;       /* of its last addition */
    struct mgr *c;        /* NULL while disconnected */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits ms milliseconds, give or take a quarter: workers cut off together come back apart. */
static void wait_about(long ms)
{
    unsigned char r = 0;
    if (getrandom(&r, 1, 0) != 1)
        r = 128;
    long us = ms * 750 + ms * 500 * r / 255;
    struct timespec ts = {us / 1000000, us % 1000000 * 1000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        continue;
}

struct tally *tally_open(const char *address)
{
    const char *key = getenv(TALLY_KEY_ENV);
    if (key == NULL || key[0] == '\0' || strlen(key) > 64) {
        fprintf(stderr, "tally_open: the authkey must be in %s (1 to 64 bytes)%s\n",
                TALLY_KEY_ENV, key == NULL ? ", which is not set" : "");
        return NULL;
    }
    struct tally *t = calloc(1, sizeof *t);
    if (t == NULL) {
        warn_errno("calloc(a tally)");
        return NULL;
    }
    unsigned char id[16];
    if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id) {
        warn_errno("getrandom(a name for the tally)");
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < sizeof id; i++)
        snprintf(t->name + 2 * i, 3, "%02x", id[i]);
    snprintf(t->address, sizeof t->address, "%s", address);
    snprintf(t->key, sizeof t->key, "%s", key);
    t->c = mgr_connect_key(address, t->key, strlen(t->key));
    if (t->c == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

int tally_add(struct tally *t, const char *key, int64_t delta)
{
    int64_t number = ++t->number;   /* the same number on every try of this addition */
    long wait_ms = 0;               /* before the next attempt to connect */
    double failing_since = 0;
    for (;;) {
        if (t->c == NULL) {
            if (wait_ms > 0)
                wait_about(wait_ms);
            t->c = mgr_connect_key(t->address, t->key, strlen(t->key));
        }
        if (t->c != NULL) {
            wait_ms = 0;
            failing_since = 0;
            if (mgr_request_id(t->c, t->name, number) == 0 &&
                mgr_incr(t->c, TALLY_DICT, key, delta, NULL) == 0)
                return 0;
            if (mgr_status(t->c) != MGR_E_IO) {
                fprintf(stderr, "tally_add(\"%s\"): %s\n", key, mgr_error(t->c));
                return -1;
            }
            /* Broken: did it run? Only the manager knows; the same number asks it. */
            mgr_close(t->c);
            t->c = NULL;
            continue;   /* the first attempt to connect again is at once */
        }
        if (failing_since == 0)
            failing_since = now();
        else if (now() - failing_since > TALLY_PATIENCE) {
            fprintf(stderr, "tally_add(\"%s\"): no connection to %s for %d s; giving up\n",
                    key, t->address, TALLY_PATIENCE);
            return -1;
        }
        wait_ms = wait_ms == 0 ? FIRST_WAIT_MS : wait_ms * 2;
        if (wait_ms > LONGEST_WAIT_MS)
            wait_ms = LONGEST_WAIT_MS;
    }
}

void tally_close(struct tally *t)
{
    if (t == NULL)
        return;
    mgr_close(t->c);
    free(t);
}
