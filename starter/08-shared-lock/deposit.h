/*
 * deposit.h - lesson 08, the lock that is not shared. The lab owns this
 * file: the tests and the demo call deposit() exactly as declared here.
 *
 * A manager (starter/common/manager/manager.h) holds an int value named
 * "balance". Worker processes deposit into it by the bank's rule: read the
 * balance, work out the new one, write it back. In Python:
 *
 *     balance = manager.Value("i", 0)
 *     with lock:
 *         balance.value += amount
 *
 * "Having said why" is a line on stderr that names the call that failed
 * and gives mgr_error(c), e.g.  mgr_get(results): <what mgr_error says>
 */
#ifndef DEPOSIT_H
#define DEPOSIT_H

#include <stdint.h>

#include "manager.h"

#define BALANCE "balance"  /* the manager's value */

/*
 * Called in a worker process, with that process's own connection c: adds
 * amount to the manager's balance. Many workers deposit at the same time,
 * and every deposit must count. Returns 0, or -1 having said why on stderr.
 */
int deposit(struct mgr *c, int64_t amount);

#endif
