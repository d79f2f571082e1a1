/*
 * slist.c - lesson 05, the shareable list: the fixed version.
 *
 * A pointer is an address in one process's memory; another process has
 * other memory at that address, or none. So nothing in the segment is a
 * pointer: a string's bytes live in the segment itself, and its slot says
 * where, as an offset from the segment's start. Each process turns the
 * offset into a pointer with its own mapping's address.
 *
 * The layout (every number in the machine's byte order):
 *
 *   offset 0    header   magic "shmlabL1" (8 bytes), number of items (u64)
 *   offset 16   slots    one per item, 32 bytes each:
 *                          kind (u32), capacity in bytes (u32),
 *                          offset of the string's bytes (u64),
 *                          length of the string now held (u64),
 *                          value: i64, double or bool (8 bytes)
 *   after them  strings  each slot's capacity of bytes, at its offset,
 *                        rounded up to a multiple of 8
 *
 * A string is its bytes and their count, so any byte, NUL included, is
 * kept, and its length is measured in bytes whatever they encode.
 */
#include "slist.h"
#include "errors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = "shmlabL1";

struct header {
    char magic[8];
    uint64_t len;
};

struct slot {
    uint32_t kind;
    uint32_t capacity;
    uint64_t offset;  /* from the segment's start: the same in every process */
    uint64_t used;
    union {
        int64_t i;
        double d;
        uint8_t b;
    } v;
};

static struct slot *slots(const struct slist *l)
{
    return (struct slot *)((char *)l->addr + sizeof(struct header));
}

static size_t round8(size_t n)
{
    return (n + 7) / 8 * 8;
}

static int valid_kind(const char *name, size_t index, enum slist_kind kind)
{
    if ((unsigned)kind <= SLIST_STRING)
        return 1;
    fprintf(stderr, "%s, item %zu: %d is not a kind of item\n", name, index, (int)kind);
    return 0;
}

/*
 * Where slot s keeps its string, in this process, and its capacity; NULL
 * if the slot does not keep it inside the segment, after the slots (the
 * segment was overwritten). Each field is read once: another process may
 * be writing the segment while this one looks, so what was checked must be
 * what is used.
 */
static char *room_of(const struct slist *l, const struct slot *s, size_t *capacity)
{
    uint64_t offset = s->offset, cap = s->capacity;
    uint64_t first = sizeof(struct header) + l->len * sizeof(struct slot);
    if (offset < first || offset > l->size || cap > l->size - offset)
        return NULL;
    *capacity = (size_t)cap;
    return (char *)l->addr + offset;
}

/* Writes item into slot s, whose string room is `room`; the caller has checked that it fits. */
static void store(struct slot *s, char *room, const struct slist_item *item)
{
    s->kind = item->kind;
    switch (item->kind) {
    case SLIST_INT: s->v.i = item->i; break;
    case SLIST_DOUBLE: s->v.d = item->d; break;
    case SLIST_BOOL: s->v.b = item->b; break;
    case SLIST_STRING:
        if (item->len > 0)  /* an empty string may come with s == NULL */
            memcpy(room, item->s, item->len);
        s->used = item->len;
        break;
    case SLIST_NONE: break;
    }
}

int slist_create(struct slist *l, const char *name, const struct slist_item *items, size_t n)
{
    if (n > SLIST_MAX_ITEMS) {
        fprintf(stderr, "slist_create(\"%s\"): %zu items; a list holds at most %d\n", name, n,
                SLIST_MAX_ITEMS);
        return -1;
    }
    size_t size = sizeof(struct header) + n * sizeof(struct slot);
    for (size_t i = 0; i < n; i++) {
        size_t room = items[i].capacity;
        if (!valid_kind("slist_create", i, items[i].kind))
            return -1;
        if (items[i].kind == SLIST_STRING && items[i].len > room)
            room = items[i].len;
        if (room > SLIST_MAX_CAPACITY) {
            fprintf(stderr, "slist_create(\"%s\"), item %zu: %zu bytes; a slot holds at most "
                    "%d\n", name, i, room, SLIST_MAX_CAPACITY);
            return -1;
        }
        size += round8(room);
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
    l->addr = addr;
    l->size = size;
    l->len = n;

    struct header *h = addr;
    memcpy(h->magic, magic, sizeof magic);
    h->len = n;
    size_t next = sizeof(struct header) + n * sizeof(struct slot);
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &slots(l)[i];
        size_t room = items[i].capacity;
        if (items[i].kind == SLIST_STRING && items[i].len > room)
            room = items[i].len;
        s->capacity = (uint32_t)room;
        s->offset = next;
        store(s, (char *)addr + next, &items[i]);
        next += round8(room);
    }
    return 0;
undo:
    close(fd);
    shm_unlink(name);
    return -1;
}

/* Is the segment at l a list whose slots all lie inside it? Sets l->len. */
static int holds_a_list(struct slist *l, const char *name)
{
    const struct header *h = l->addr;
    if (l->size < sizeof *h || memcmp(h->magic, magic, sizeof magic) != 0) {
        fprintf(stderr, "slist_attach(\"%s\"): the segment does not hold a list\n", name);
        return 0;
    }
    if (h->len > SLIST_MAX_ITEMS || h->len > (l->size - sizeof *h) / sizeof(struct slot)) {
        fprintf(stderr, "slist_attach(\"%s\"): the list's header says %llu items, more than "
                "its %zu bytes hold\n", name, (unsigned long long)h->len, l->size);
        return 0;
    }
    l->len = h->len;
    for (size_t i = 0; i < l->len; i++) {
        size_t capacity;
        const struct slot *s = &slots(l)[i];
        if (room_of(l, s, &capacity) == NULL || s->used > capacity) {
            fprintf(stderr, "slist_attach(\"%s\"): item %zu's slot lies outside the segment\n",
                    name, i);
            return 0;
        }
    }
    return 1;
}

int slist_attach(struct slist *l, const char *name)
{
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
        fprintf(stderr, "slist_attach(\"%s\"): the segment is empty: not a list\n", name);
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
    l->addr = addr;
    l->size = (size_t)st.st_size;
    if (!holds_a_list(l, name)) {
        slist_detach(l);
        return -1;
    }
    return 0;
}

static int valid_index(const struct slist *l, const char *call, size_t index)
{
    if (index < l->len)
        return 1;
    fprintf(stderr, "%s: index %zu is beyond the list's %zu items (its length never "
            "changes)\n", call, index, l->len);
    return 0;
}

/* Says that slot index was found overwritten; returns -1. */
static int overwritten(const char *call, size_t index)
{
    fprintf(stderr, "%s: item %zu's slot lies outside the segment: another process overwrote "
            "it\n", call, index);
    return -1;
}

int slist_get(const struct slist *l, size_t index, struct slist_item *out)
{
    if (!valid_index(l, "slist_get", index))
        return -1;
    const struct slot *s = &slots(l)[index];
    size_t capacity;
    const char *room = room_of(l, s, &capacity);
    if (room == NULL)
        return overwritten("slist_get", index);
    uint32_t kind = s->kind;
    *out = (struct slist_item){.kind = (enum slist_kind)kind, .capacity = capacity};
    switch (kind) {
    case SLIST_INT: out->i = s->v.i; break;
    case SLIST_DOUBLE: out->d = s->v.d; break;
    case SLIST_BOOL: out->b = s->v.b != 0; break;
    case SLIST_STRING:
        /* This process's address of the bytes: its own mapping plus the offset. */
        out->s = room;
        out->len = s->used;
        if (out->len > capacity)
            return overwritten("slist_get", index);
        break;
    case SLIST_NONE: break;
    default:
        fprintf(stderr, "slist_get: item %zu has kind %u, which is no kind of item: another "
                "process overwrote it\n", index, (unsigned)kind);
        return -1;
    }
    return 0;
}

int slist_set(struct slist *l, size_t index, const struct slist_item *item)
{
    if (!valid_index(l, "slist_set", index) || !valid_kind("slist_set", index, item->kind))
        return -1;
    struct slot *s = &slots(l)[index];
    size_t capacity;
    char *room = room_of(l, s, &capacity);
    if (room == NULL)
        return overwritten("slist_set", index);
    if (item->kind == SLIST_STRING && item->len > capacity) {
        fprintf(stderr, "slist_set, item %zu: a string of %zu bytes does not fit its %zu-byte "
                "slot\n", index, item->len, capacity);
        return -1;
    }
    store(s, room, item);
    return 0;
}

int slist_detach(struct slist *l)
{
    if (munmap(l->addr, l->size) == -1) {
        warn_errno("munmap(list, %zu)", l->size);
        return -1;
    }
    l->addr = NULL;
    l->size = 0;
    l->len = 0;
    return 0;
}

int slist_unlink(const char *name)
{
    if (shm_unlink(name) == -1) {
        warn_errno("shm_unlink(\"%s\")", name);
        return -1;
    }
    return 0;
}
