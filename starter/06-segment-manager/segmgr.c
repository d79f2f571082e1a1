/*
 * segmgr.c - lesson 06, the segment manager. This is the file you edit.
 *
 * The manager keeps the names of the segments made through it in a list,
 * and unlinks each of them at shutdown. Run `make run LESSON=06`, and
 * `make run LESSON=06 ARGS=kill`.
 */
#include "segmgr.h"
#include "errors.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct segmgr {
    char **names;   /* the segments made through it */
    size_t n, max;
};

struct segmgr *segmgr_start(void)
{
    struct segmgr *m = calloc(1, sizeof *m);
    if (m == NULL)
        fprintf(stderr, "segmgr_start: out of memory\n");
    return m;
}

static int remember(struct segmgr *m, const char *name)
{
    if (m->n == m->max) {
        size_t max = m->max ? 2 * m->max : 16;
        char **names = realloc(m->names, max * sizeof *names);
        if (names == NULL) {
            fprintf(stderr, "segmgr: out of memory for \"%s\"\n", name);
            return -1;
        }
        m->names = names;
        m->max = max;
    }
    m->names[m->n] = strdup(name);
    if (m->names[m->n] == NULL) {
        fprintf(stderr, "segmgr: out of memory for \"%s\"\n", name);
        return -1;
    }
    m->n++;
    return 0;
}

static int valid_name(const char *name)
{
    if (name != NULL && name[0] == '/' && name[1] != '\0' && strlen(name) <= NAME_MAX &&
        strchr(name + 1, '/') == NULL)
        return 1;
    fprintf(stderr, "segmgr: \"%s\" is not a segment name: it must be '/' and then up to "
            "%d bytes without another '/'\n", name ? name : "(null)", NAME_MAX - 1);
    return 0;
}

/* ---- segments ----------------------------------------------------------- */

int segmgr_create(struct segmgr *m, const char *name, size_t size, struct segment *s)
{
    if (!valid_name(name))
        return -1;
    if (size == 0 || size > SEGMGR_MAX_SIZE) {
        fprintf(stderr, "segmgr_create(\"%s\"): size %zu is not between 1 and %zu\n", name,
                size, SEGMGR_MAX_SIZE);
        return -1;
    }
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
    close(fd);
    if (remember(m, name) == -1) {
        munmap(addr, size);
        shm_unlink(name);
        return -1;
    }
    s->addr = addr;
    s->size = size;
    return 0;
undo:
    close(fd);
    shm_unlink(name);
    return -1;
}

int segmgr_attach(struct segmgr *m, const char *name, struct segment *s)
{
    (void)m;  /* the segment is not ours to unlink */
    if (!valid_name(name))
        return -1;
    int fd = shm_open(name, O_RDWR, 0);
    if (fd == -1) {
        warn_errno("shm_open(\"%s\")", name);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == -1) {
        warn_errno("fstat(\"%s\")", name);
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        fprintf(stderr, "segmgr_attach(\"%s\"): the segment has size 0\n", name);
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

int segmgr_detach(struct segment *s)
{
    if (munmap(s->addr, s->size) == -1) {
        warn_errno("munmap(segment, %zu)", s->size);
        return -1;
    }
    s->addr = NULL;
    s->size = 0;
    return 0;
}

int segmgr_shutdown(struct segmgr *m)
{
    int rc = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (shm_unlink(m->names[i]) == -1 && errno != ENOENT) {
            warn_errno("segmgr_shutdown: shm_unlink(\"%s\")", m->names[i]);
            rc = -1;
        }
        free(m->names[i]);
    }
    free(m->names);
    free(m);
    return rc;
}
