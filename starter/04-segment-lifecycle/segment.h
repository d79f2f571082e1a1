/*
 * segment.h - lesson 04, a segment's life. The lab owns this file: the
 * tests and the demo use segments exactly as declared here.
 *
 * A named POSIX shared memory segment: what Python's
 * multiprocessing.shared_memory.SharedMemory is. One process creates it;
 * any process that knows its name, related or not, attaches to it; each
 * detaches when done; exactly one unlinks the name.
 *
 * Every function returns 0, or -1 having said on stderr which call failed
 * on which name, e.g.  shm_open("/shmlab-howdy"): File exists
 *
 * A name is '/' and 1 to NAME_MAX characters, none of them '/'. Every
 * function refuses any other name (glibc would quietly take "x" or "//x"
 * for "/x"; other systems refuse them).
 */
#ifndef SEGMENT_H
#define SEGMENT_H

#include <stddef.h>

#define SEGMENT_MAX ((size_t)1 << 30)  /* 1 GiB: larger sizes are refused */

struct segment {
    void *addr;    /* where it is mapped in this process */
    size_t size;   /* its size in bytes */
};

/*
 * Creates a new segment: name must be a name (above), must not exist yet, and
 * size must be 1 to SEGMENT_MAX bytes. Only its owner may use it (mode
 * 0600). It starts zero-filled and mapped at s->addr. If any step fails,
 * nothing is left behind: no name, no mapping, no descriptor.
 */
int segment_create(struct segment *s, const char *name, size_t size);

/* Maps an existing segment, by name, whole: s->size is the segment's real size. */
int segment_attach(struct segment *s, const char *name);

/* Unmaps it from this process. The segment and its contents live on. */
int segment_detach(struct segment *s);

/* Removes the name. The memory goes once the last process has detached. */
int segment_unlink(const char *name);

#endif
