/*
 * bulk.c - lesson 12, the manager that is too slow: the solution.
 *
 * The array lives in a shared memory segment, and the manager holds only
 * where it is: the segment's name. A worker asks the manager once, maps
 * the segment and copies its whole slice in with one memcpy; the gatherer
 * copies the whole array out with another. A request costs a round trip
 * to the server, tens of microseconds, whatever it carries: so make few
 * of them, and let the bytes go through memory.
 */
#include "bulk.h"
#include "errors.h"
#include "manager.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHERE "bulk"  /* the manager's dict that says where the array is */

struct bulk {
    struct mgr *c;
    char name[256];
    size_t n;
    double *array;    /* the segment, mapped */
};

/* Makes the segment of n doubles (all 0.0: ftruncate fills with zeros) and maps it. */
static double *make_segment(const char *name, size_t n)
{
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd == -1) {
        warn_errno("shm_open(\"%s\")", name);
        return NULL;
    }
    size_t size = n * sizeof(double);
    void *p = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) == -1)
        warn_errno("ftruncate(\"%s\", %zu)", name, size);
    else if ((p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
        warn_errno("mmap(\"%s\", %zu)", name, size);
    close(fd);  /* the mapping keeps the segment */
    if (p == MAP_FAILED) {
        shm_unlink(name);
        return NULL;
    }
    return p;
}

/* Tells the manager where the array is. */
static int publish(struct mgr *c, const char *name)
{
    struct value *v = value_str(name);
    int rc = v == NULL ? -1 : 0;
    if (rc == 0)
        rc = mgr_create(c, WHERE, "dict");
    if (rc == 0)
        rc = mgr_set(c, WHERE, "segment", v);
    if (rc == -1)
        fprintf(stderr, "bulk_open: telling the manager where the array is: %s\n",
                v == NULL ? "out of memory" : mgr_error(c));
    value_free(v);
    return rc;
}

struct bulk *bulk_open(const char *address, const char *name, size_t n)
{
    if (n < 1 || n > BULK_MAX) {
        fprintf(stderr, "bulk_open: %zu elements: 1 to %d\n", n, BULK_MAX);
        errno = EINVAL;
        return NULL;
    }
    struct bulk *b = malloc(sizeof *b);
    if (b == NULL) {
        warn_errno("malloc(a bulk)");
        return NULL;
    }
    snprintf(b->name, sizeof b->name, "%s", name);
    b->n = n;
    b->c = mgr_connect(address);
    if (b->c == NULL) {
        free(b);
        return NULL;
    }
    b->array = make_segment(name, n);
    if (b->array == NULL) {
        mgr_close(b->c);
        free(b);
        return NULL;
    }
    if (publish(b->c, name) == -1) {
        munmap(b->array, n * sizeof(double));
        shm_unlink(name);
        mgr_close(b->c);
        free(b);
        return NULL;
    }
    return b;
}

/* Asks the manager for the segment's name: one request. */
static int find_segment(const char *address, char *name, size_t size)
{
    struct mgr *c = mgr_connect(address);
    if (c == NULL)
        return -1;
    struct value *v = NULL;
    int rc = mgr_get(c, WHERE, "segment", &v);
    if (rc == -1)
        fprintf(stderr, "bulk_put: asking the manager where the array is: %s\n", mgr_error(c));
    else if (v->type != V_BYTES || v->u.bytes.len >= size ||
             strlen(v->u.bytes.data) != v->u.bytes.len) {
        fprintf(stderr, "bulk_put: the manager's %s/segment is not a segment's name\n", WHERE);
        errno = EINVAL;
        rc = -1;
    } else {
        snprintf(name, size, "%s", v->u.bytes.data);
    }
    value_free(v);
    mgr_close(c);
    return rc;
}

int bulk_put(const char *address, size_t first, const double *values, size_t count)
{
    char name[256];
    if (find_segment(address, name, sizeof name) == -1)
        return -1;
    int fd = shm_open(name, O_RDWR, 0);
    if (fd == -1) {
        warn_errno("shm_open(\"%s\")", name);
        return -1;
    }
    /* The segment's own size says how many elements there are. */
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
    double *array = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (array == MAP_FAILED) {
        warn_errno("mmap(\"%s\")", name);
        close(fd);
        return -1;
    }
    close(fd);
    if (count > 0)
        memcpy(array + first, values, count * sizeof(double));  /* the whole slice at once */
    munmap(array, (size_t)st.st_size);
    return 0;
}

int bulk_collect(struct bulk *b, double *out)
{
    memcpy(out, b->array, b->n * sizeof(double));
    return 0;
}

void bulk_close(struct bulk *b)
{
    if (b == NULL)
        return;
    if (munmap(b->array, b->n * sizeof(double)) == -1)
        warn_errno("munmap(\"%s\")", b->name);
    if (shm_unlink(b->name) == -1)
        warn_errno("shm_unlink(\"%s\")", b->name);
    if (mgr_delete(b->c, WHERE, NULL) == -1)
        fprintf(stderr, "bulk_close: the manager: %s\n", mgr_error(b->c));
    mgr_close(b->c);
    free(b);
}
