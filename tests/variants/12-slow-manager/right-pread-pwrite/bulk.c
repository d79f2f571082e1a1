/*
 * Right: the segment is never mapped; workers pwrite their slice into it,
 * and the gatherer preads it all back (the kernel copies, as for a file).
 */
#include "bulk.h"
#include "errors.h"
#include "manager.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct bulk {
    struct mgr *c;
    int fd;
    size_t n;
    char name[256];
};

/* Moves len bytes at offset off, in either direction; 0 or -1 (errno set). */
static int whole(int fd, void *buf, size_t len, off_t off, int writing)
{
    char *p = buf;
    while (len > 0) {
        ssize_t k = writing ? pwrite(fd, p, len, off) : pread(fd, p, len, off);
        if (k == -1 && errno == EINTR)
            continue;
        if (k == -1)
            return -1;
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        p += k;
        len -= (size_t)k;
        off += k;
    }
    return 0;
}

struct bulk *bulk_open(const char *address, const char *name, size_t n)
{
    if (n < 1 || n > BULK_MAX) {
        fprintf(stderr, "bulk_open: %zu elements: 1 to %d\n", n, BULK_MAX);
        errno = EINVAL;
        return NULL;
    }
    if (strlen(name) >= sizeof ((struct bulk *)0)->name) {
        fprintf(stderr, "bulk_open: the name \"%s\" is too long\n", name);
        errno = ENAMETOOLONG;
        return NULL;
    }
    struct bulk *b = calloc(1, sizeof *b);
    if (b == NULL) {
        warn_errno("calloc(a bulk)");
        return NULL;
    }
    strcpy(b->name, name);
    b->n = n;
    b->fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (b->fd == -1) {
        warn_errno("shm_open(\"%s\")", name);
        free(b);
        return NULL;
    }
    if (ftruncate(b->fd, (off_t)(n * sizeof(double))) == -1) {
        warn_errno("ftruncate(\"%s\")", name);
        goto undo_segment;
    }
    b->c = mgr_connect(address);
    if (b->c == NULL)
        goto undo_segment;
    struct value *v = value_str(name);
    if (v == NULL || mgr_create(b->c, "bulk-fd", "dict") == -1 ||
        mgr_set(b->c, "bulk-fd", "name", v) == -1) {
        fprintf(stderr, "bulk_open: the manager: %s\n", v == NULL ? "out of memory" : mgr_error(b->c));
        value_free(v);
        mgr_close(b->c);
        goto undo_segment;
    }
    value_free(v);
    return b;
undo_segment:
    close(b->fd);
    shm_unlink(name);
    free(b);
    return NULL;
}

int bulk_put(const char *address, size_t first, const double *values, size_t count)
{
    struct mgr *c = mgr_connect(address);
    if (c == NULL)
        return -1;
    struct value *v = NULL;
    char name[256];
    int rc = mgr_get(c, "bulk-fd", "name", &v);
    if (rc == -1)
        fprintf(stderr, "bulk_put: the manager: %s\n", mgr_error(c));
    else if (v->type != V_BYTES || v->u.bytes.len == 0 || v->u.bytes.len >= sizeof name ||
             memchr(v->u.bytes.data, '\0', v->u.bytes.len) != NULL) {
        fprintf(stderr, "bulk_put: the manager holds no segment name\n");
        errno = EINVAL;
        rc = -1;
    } else {
        memcpy(name, v->u.bytes.data, v->u.bytes.len);
        name[v->u.bytes.len] = '\0';
    }
    value_free(v);
    mgr_close(c);
    if (rc == -1)
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
    size_t n = (size_t)st.st_size / sizeof(double);
    if (first > n || count > n - first) {
        fprintf(stderr, "bulk_put: elements %zu to %zu: the array has %zu\n", first,
                first + count, n);
        close(fd);
        errno = EINVAL;
        return -1;
    }
    if (whole(fd, (void *)values, count * sizeof(double), (off_t)(first * sizeof(double)), 1) == -1) {
        warn_errno("pwrite(\"%s\")", name);
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int bulk_collect(struct bulk *b, double *out)
{
    if (whole(b->fd, out, b->n * sizeof(double), 0, 0) == -1) {
        warn_errno("pread(\"%s\")", b->name);
        return -1;
    }
    return 0;
}

void bulk_close(struct bulk *b)
{
    if (b == NULL)
        return;
    close(b->fd);
    if (shm_unlink(b->name) == -1)
        warn_errno("shm_unlink(\"%s\")", b->name);
    if (mgr_delete(b->c, "bulk-fd", NULL) == -1)
        fprintf(stderr, "bulk_close: the manager: %s\n", mgr_error(b->c));
    mgr_close(b->c);
    free(b);
}
