/*
 * segment.c - lesson 04, a segment's life: the fixed version.
 *
 * A named segment is a file in a memory filesystem (/dev/shm on Linux): it
 * outlives every process that used it until its name is unlinked, like a
 * file. So its life has four steps, each checked:
 *   create  shm_open(O_CREAT | O_EXCL, 0600), ftruncate to its size, mmap;
 *   attach  shm_open, fstat for the real size, mmap that;
 *   detach  munmap (the descriptor was closed right after mmap: the
 *           mapping keeps the memory, the descriptor is no longer needed);
 *   unlink  shm_unlink, by exactly one process.
 * If creation fails half-way, what was made is undone.
 */
#include "segment.h"
#include "errors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int valid_name(const char *name)
{
    if (name != NULL && name[0] == '/' && name[1] != '\0' && strchr(name + 1, '/') == NULL)
        return 1;
    fprintf(stderr, "segment: \"%s\" is not a segment name: it must be '/' and then a name "
            "without another '/'\n", name ? name : "(null)");
    return 0;
}

int segment_create(struct segment *s, const char *name, size_t size)
{
    if (!valid_name(name))
        return -1;
    if (size == 0 || size > SEGMENT_MAX) {
        fprintf(stderr, "segment_create(\"%s\"): size %zu is not between 1 and %zu\n", name,
                size, SEGMENT_MAX);
        return -1;
    }
    /* O_EXCL: never take over a segment somebody else made under this name. */
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1) {
        warn_errno("shm_open(\"%s\")", name);
        return -1;
    }
    if (ftruncate(fd, (off_t)size) == -1) {
        warn_errno("ftruncate(\"%s\", %zu)", name, size);
        goto undo;
    }
    void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        warn_errno("mmap(\"%s\", %zu)", name, size);
        goto undo;
    }
    close(fd);  /* the mapping keeps the memory */
    s->addr = addr;
    s->size = size;
    return 0;
undo:
    close(fd);
    shm_unlink(name);
    return -1;
}

int segment_attach(struct segment *s, const char *name)
{
    if (!valid_name(name))
        return -1;
    int fd = shm_open(name, O_RDWR, 0);
    if (fd == -1) {
        warn_errno("shm_open(\"%s\")", name);
        return -1;
    }
    struct stat st;  /* the size is the segment's, not a guess */
    if (fstat(fd, &st) == -1) {
        warn_errno("fstat(\"%s\")", name);
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        fprintf(stderr, "segment_attach(\"%s\"): the segment has size 0\n", name);
        close(fd);
        return -1;
    }
    void *addr = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        warn_errno("mmap(\"%s\", %lld)", name, (long long)st.st_size);
        close(fd);
        return -1;
    }
    close(fd);
    s->addr = addr;
    s->size = (size_t)st.st_size;
    return 0;
}

int segment_detach(struct segment *s)
{
    if (munmap(s->addr, s->size) == -1) {
        warn_errno("munmap(segment, %zu)", s->size);
        return -1;
    }
    s->addr = NULL;
    s->size = 0;
    return 0;
}

int segment_unlink(const char *name)
{
    if (!valid_name(name))
        return -1;
    if (shm_unlink(name) == -1) {
        warn_errno("shm_unlink(\"%s\")", name);
        return -1;
    }
    return 0;
}
