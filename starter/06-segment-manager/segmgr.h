/*
 * segmgr.h - lesson 06, the segment manager. The lab owns this file: the
 * tests and the demo use the manager exactly as declared here.
 *
 * What Python's multiprocessing.managers.SharedMemoryManager is: segments
 * made through a manager are unlinked when the program is done with them,
 * whatever way it ends. A program starts one manager; it and every process
 * it forks afterwards (its workers) make segments through it. Every
 * segment made through it is unlinked
 *   - at segmgr_shutdown, whichever process made it, or else
 *   - once the program and all its workers have ended, however they ended:
 *     returned, crashed, interrupted (SIGINT, SIGTERM), killed (SIGKILL).
 * A segment that the manager did not make, it never unlinks, even when a
 * process of the program attaches to it: it is somebody else's. (A
 * program that the program runs with exec is not one of its workers: it
 * cannot use the manager.)
 *
 * A manager may run a process of its own, a child of the program: wait for
 * your workers by their pids (waitpid), not with wait(), which waits for
 * any child, that one too.
 *
 * Every function returns 0 (or a manager), or -1 (or NULL) having said on
 * stderr which call failed on which name, e.g.
 *     shm_open("/shmlab-w1"): File exists
 */
#ifndef SEGMGR_H
#define SEGMGR_H

#include <stddef.h>

#define SEGMGR_MAX_SIZE ((size_t)1 << 30)  /* 1 GiB: larger segments are refused */

struct segmgr;  /* the manager; what is in it is segmgr.c's business */

struct segment {
    void *addr;    /* where it is mapped in this process */
    size_t size;   /* its size in bytes */
};

/* Starts a manager. */
struct segmgr *segmgr_start(void);

/*
 * Makes a new segment through the manager, in this process or any process
 * forked after segmgr_start: as lesson 04's segment_create (name '/' and a
 * name, not there yet; size 1 to SEGMGR_MAX_SIZE; mode 0600; zero-filled),
 * mapped at s.
 */
int segmgr_create(struct segmgr *m, const char *name, size_t size, struct segment *s);

/* Maps an existing segment, by name, whole. It stays its maker's: never unlinked by m. */
int segmgr_attach(struct segmgr *m, const char *name, struct segment *s);

/* Unmaps a segment from this process; it lives on until the manager unlinks it. */
int segmgr_detach(struct segment *s);

/*
 * Unlinks every segment made through m, by any of its processes, and stops
 * the manager. Only the process that started it may call it, once; m is
 * gone afterwards. Workers simply end.
 */
int segmgr_shutdown(struct segmgr *m);

#endif
