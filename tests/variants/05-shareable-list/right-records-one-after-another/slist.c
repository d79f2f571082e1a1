/*
 * A correct alternative with another layout: after a header comes a table
 * of where each item's record starts; a record is a small head followed by
 * the string's room. Numbers are copied in and out with memcpy. Nothing is
 * a pointer; each process adds offsets to its own mapping's address.
 */
#include "slist.h"
#include "errors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARK 0x31564c53424d4853ULL  /* "SHMBSLV1" */

struct head { uint64_t mark, count; };
struct record { uint8_t kind, flag; uint16_t pad; uint32_t room; uint64_t used; int64_t num; };

static uint64_t *table(const struct slist *l) { return (uint64_t *)((char *)l->addr + sizeof(struct head)); }
static struct record *rec(const struct slist *l, size_t i) { return (struct record *)((char *)l->addr + table(l)[i]); }
static char *room_of(const struct slist *l, size_t i) { return (char *)(rec(l, i) + 1); }

/* Record i, if the table and the record lie inside the segment (checked at each use). */
static struct record *checked(const struct slist *l, size_t i)
{
    uint64_t at = table(l)[i];
    if (at < sizeof(struct head) + 8 * l->len || at > l->size - sizeof(struct record))
        return NULL;
    struct record *r = (struct record *)((char *)l->addr + at);
    uint32_t room = r->room;
    uint64_t used = r->used;
    if (room > l->size - at - sizeof(struct record) || used > room)
        return NULL;
    return r;
}

static size_t room_for(const struct slist_item *it)
{
    return it->kind == SLIST_STRING && it->len > it->capacity ? it->len : it->capacity;
}

static void put(struct slist *l, size_t i, const struct slist_item *it)
{
    struct record *r = rec(l, i);
    r->kind = (uint8_t)it->kind;
    if (it->kind == SLIST_INT) memcpy(&r->num, &it->i, 8);
    if (it->kind == SLIST_DOUBLE) memcpy(&r->num, &it->d, 8);
    if (it->kind == SLIST_BOOL) r->flag = it->b;
    if (it->kind == SLIST_STRING) {
        if (it->len) memcpy(room_of(l, i), it->s, it->len);
        r->used = it->len;
    }
}

int slist_create(struct slist *l, const char *name, const struct slist_item *items, size_t n)
{
    if (n > SLIST_MAX_ITEMS) { fprintf(stderr, "slist_create: too many items\n"); return -1; }
    size_t size = sizeof(struct head) + 8 * n;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)items[i].kind > SLIST_STRING || room_for(&items[i]) > SLIST_MAX_CAPACITY) {
            fprintf(stderr, "slist_create: item %zu is bad\n", i);
            return -1;
        }
        size += sizeof(struct record) + (room_for(&items[i]) + 7) / 8 * 8;
    }
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1) { warn_errno("shm_open(\"%s\")", name); return -1; }
    void *a = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) == -1)
        warn_errno("ftruncate(\"%s\")", name);
    else if ((a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
        warn_errno("mmap(\"%s\")", name);
    if (a == MAP_FAILED) { close(fd); shm_unlink(name); return -1; }
    close(fd);
    *l = (struct slist){a, size, n};
    struct head *h = a;
    h->mark = MARK;
    h->count = n;
    size_t at = sizeof(struct head) + 8 * n;
    for (size_t i = 0; i < n; i++) {
        table(l)[i] = at;
        rec(l, i)->room = (uint32_t)room_for(&items[i]);
        at += sizeof(struct record) + (room_for(&items[i]) + 7) / 8 * 8;
        put(l, i, &items[i]);
    }
    return 0;
}

int slist_attach(struct slist *l, const char *name)
{
    int fd = shm_open(name, O_RDWR, 0);
    if (fd == -1) { warn_errno("shm_open(\"%s\")", name); return -1; }
    struct stat st;
    if (fstat(fd, &st) == -1) { warn_errno("fstat(\"%s\")", name); close(fd); return -1; }
    if ((size_t)st.st_size < sizeof(struct head)) {
        fprintf(stderr, "slist_attach(\"%s\"): not a list\n", name);
        close(fd);
        return -1;
    }
    void *a = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (a == MAP_FAILED) { warn_errno("mmap(\"%s\")", name); return -1; }
    *l = (struct slist){a, (size_t)st.st_size, 0};
    struct head *h = a;
    int ok = h->mark == MARK && h->count <= (l->size - sizeof *h) / 8;
    for (size_t i = 0; ok && i < h->count; i++) {
        uint64_t at = table(l)[i];
        ok = at <= l->size - sizeof(struct record) &&
             rec(l, i)->room <= l->size - at - sizeof(struct record) && rec(l, i)->used <= rec(l, i)->room;
    }
    if (!ok) {
        fprintf(stderr, "slist_attach(\"%s\"): not a list\n", name);
        munmap(a, l->size);
        return -1;
    }
    l->len = h->count;
    return 0;
}

int slist_get(const struct slist *l, size_t i, struct slist_item *out)
{
    if (i >= l->len) { fprintf(stderr, "slist_get: no item %zu\n", i); return -1; }
    struct record *r = checked(l, i);
    if (r == NULL) { fprintf(stderr, "slist_get: item %zu overwritten\n", i); return -1; }
    uint8_t kind = r->kind;
    uint32_t room = r->room;
    uint64_t used = r->used;
    if (used > room) return -1;  /* changed since checked */
    *out = (struct slist_item){.kind = (enum slist_kind)kind, .capacity = room};
    if (kind == SLIST_INT) memcpy(&out->i, &r->num, 8);
    if (kind == SLIST_DOUBLE) memcpy(&out->d, &r->num, 8);
    if (kind == SLIST_BOOL) out->b = r->flag;
    if (kind == SLIST_STRING) { out->s = (char *)(r + 1); out->len = used; }
    return kind <= SLIST_STRING ? 0 : -1;
}

int slist_set(struct slist *l, size_t i, const struct slist_item *it)
{
    struct record *r = i < l->len ? checked(l, i) : NULL;
    if (r == NULL || (unsigned)it->kind > SLIST_STRING ||
        (it->kind == SLIST_STRING && it->len > r->room)) {
        fprintf(stderr, "slist_set: item %zu refused\n", i);
        return -1;
    }
    put(l, i, it);
    return 0;
}

int slist_detach(struct slist *l)
{
    if (munmap(l->addr, l->size) == -1) { warn_errno("munmap"); return -1; }
    return 0;
}

int slist_unlink(const char *name)
{
    if (shm_unlink(name) == -1) { warn_errno("shm_unlink(\"%s\")", name); return -1; }
    return 0;
}
