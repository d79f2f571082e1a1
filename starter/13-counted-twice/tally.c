/*
 * tally.c - lesson 13, the update that counted twice: the starter.
 *
 * tally_add sends an incr; when the connection breaks, it connects again
 * at once and sends the incr again. It looks careful. Run the demo
 * (make run LESSON=13) and compare the total with the additions made.
 */
#include "tally.h"
#include "errors.h"
#include "manager.h"

#include <stdio.h>
#include <time.h>

#define DEFAULT_AUTHKEY "lesson-13-secret"  /* when the environment has none */

struct tally {
    char address[128];
    struct mgr *c;      /* NULL while disconnected */
};

static struct mgr *connect_to(const char *address)
{
    const char *key = getenv(TALLY_KEY_ENV);
    if (key == NULL)
        key = DEFAULT_AUTHKEY;
    return mgr_connect_key(address, key, strlen(key));
}

struct tally *tally_open(const char *address)
{
    struct tally *t = malloc(sizeof *t);
    if (t == NULL) {
        warn_errno("malloc(a tally)");
        return NULL;
    }
    snprintf(t->address, sizeof t->address, "%s", address);
    t->c = connect_to(address);
    if (t->c == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

int tally_add(struct tally *t, const char *key, int64_t delta)
{
    time_t began = time(NULL);
    for (;;) {
        if (t->c == NULL)
            t->c = connect_to(t->address);
        if (t->c != NULL) {
            if (mgr_incr(t->c, TALLY_DICT, key, delta, NULL) == 0)
                return 0;
            if (mgr_status(t->c) != MGR_E_IO) {
                fprintf(stderr, "tally_add(\"%s\"): %s\n", key, mgr_error(t->c));
                return -1;
            }
            /* The connection broke: connect again and send it again. */
            mgr_close(t->c);
            t->c = NULL;
        }
        if (time(NULL) - began > TALLY_PATIENCE) {
            fprintf(stderr, "tally_add(\"%s\"): no connection to %s for %d s; giving up\n",
                    key, t->address, TALLY_PATIENCE);
            return -1;
        }
    }
}

void tally_close(struct tally *t)
{
    if (t == NULL)
        return;
    mgr_close(t->c);
    free(t);
}
