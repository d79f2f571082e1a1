/*
 * tally.h - lesson 13, the update that counted twice. The lab owns this
 * file: the tests and the demo use it exactly as declared here.
 *
 * Workers, on other hosts, count what they see in a manager they reach
 * over TCP (manager_start_tcp, lesson 08's manager): its dict TALLY_DICT,
 * made by whoever started the manager, holds a counter for each key. The
 * network between them breaks now and then: a connection closes in the
 * middle of a request, before the manager got it or after it answered.
 * The authkey is a secret: it is in the environment variable
 * TALLY_KEY_ENV, never in the code.
 */
#ifndef TALLY_H
#define TALLY_H

#include <stdint.h>

#define TALLY_DICT "tally"
#define TALLY_KEY_ENV "SHMLAB_AUTHKEY"
#define TALLY_PATIENCE 10   /* seconds to go on trying to connect before giving up */

struct tally;

/*
 * Connects to the manager at address ("tcp:<host>:<port>") with the
 * authkey in the environment variable SHMLAB_AUTHKEY. Returns NULL having
 * said why on stderr: no key in the environment, a key the manager
 * refuses, no manager there.
 */
struct tally *tally_open(const char *address);

/*
 * Adds delta to the counter `key`, exactly once, even if the connection
 * breaks on the way. Then it connects again, waiting longer after each
 * attempt that fails (from about 10 ms, doubling, to about 1 s; each wait
 * drawn from half of that to a quarter more, so that workers cut off together
 * come back apart: once at 1 s, never two attempts in 0.5 s), and tries
 * again. (A wait drawn from 0 up to the doubled one, "full jitter", tries
 * twice as often at 1 s, and now and then at once: too often for this lab's
 * manager.) Returns 0 once the addition is done; -1 having said why on
 * stderr if the manager answered an error, or if no connection could be made
 * for TALLY_PATIENCE seconds (counted from the first attempt that failed).
 */
int tally_add(struct tally *t, const char *key, int64_t delta);

/* Closes the connection and frees t. tally_close(NULL) does nothing. */
void tally_close(struct tally *t);

#endif
