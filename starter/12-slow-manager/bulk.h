/*
 * bulk.h - lesson 12, the manager that is too slow. The lab owns this
 * file: the tests and the demo use it exactly as declared here.
 *
 * Worker processes each compute a slice of a large array of doubles, and
 * one process gathers the whole array. A manager runs (lessons 07 and 08:
 * manager.h); every process may reach it at `address`. The workers are
 * not forked by the gathering process, nor after it called bulk_open: they
 * know nothing of it but the manager's address.
 */
#ifndef BULK_H
#define BULK_H

#include <stddef.h>

#define BULK_MAX (1 << 20)   /* elements at most: 8 MiB of doubles */

struct bulk;

/*
 * In the gathering process: makes room for n doubles (1 to BULK_MAX),
 * all 0.0, which the workers can reach through the manager at address.
 * `name` is free for it to use as the name of a shared memory segment
 * ("/shmlab-..."), if it needs one. Returns NULL having said why on stderr
 * (errno EINVAL for an n out of range).
 */
struct bulk *bulk_open(const char *address, const char *name, size_t n);

/*
 * In a worker, once bulk_open has returned in the gathering process: puts
 * values[0 .. count-1] at indexes first .. first+count-1. Workers put
 * different indexes, many at once. Returns 0, or -1 having said why on
 * stderr (errno EINVAL if the indexes do not fit in the n of bulk_open).
 */
int bulk_put(const char *address, size_t first, const double *values, size_t count);

/*
 * In the gathering process, once every worker's bulk_put has returned:
 * copies the n doubles into out[0 .. n-1]. Returns 0, or -1 having said
 * why on stderr.
 */
int bulk_collect(struct bulk *b, double *out);

/* Lets go of everything bulk_open made (in the manager too). bulk_close(NULL) does nothing. */
void bulk_close(struct bulk *b);

#endif
