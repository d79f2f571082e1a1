/*
 * record.h - lesson 07, the lost nested update. The lab owns this file:
 * the tests and the demo call record() exactly as declared here.
 *
 * A manager (starter/common/manager/manager.h) holds a dict named
 * "results", and in it, under the key "test", another dict. In Python:
 *
 *     results = manager.dict()
 *     results["test"] = {}
 *
 * Worker processes record their findings in the inner dict.
 *
 * "Having said why" is a line on stderr that names the call that failed
 * and gives mgr_error(c), e.g.  mgr_get(results): <what mgr_error says>
 */
#ifndef RECORD_H
#define RECORD_H

#include <stdint.h>

#include "manager.h"

#define RESULTS "results"  /* the manager's dict */
#define INNER "test"       /* the key of the dict inside it */

/*
 * Called in a worker process, with that process's own connection c: makes
 *     results["test"][str(index)] = value
 * happen in the manager, so that every process sees it. Many workers call
 * it at the same time, for different indexes. Returns 0, or -1 having said
 * why on stderr.
 */
int record(struct mgr *c, int index, int64_t value);

#endif
