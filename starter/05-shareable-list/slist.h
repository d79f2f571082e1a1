/*
 * slist.h - lesson 05, the shareable list. The lab owns this file: the
 * tests and the demo use the list exactly as declared here.
 *
 * What Python's multiprocessing.shared_memory.ShareableList is: a list of
 * a fixed length, kept in one named segment, whose items are 64-bit
 * integers, doubles, bools, strings or none. Any process that knows the
 * name attaches to it, reads items and writes them. Its length never
 * changes, and a string slot has a capacity in bytes, fixed when the list
 * is made.
 *
 * Every function returns 0, or -1 having said on stderr what failed and
 * on which name or item (a failed system call by its name), e.g.
 *     slist_set, item 3: a string of 12 bytes does not fit its 8-byte slot
 *     ftruncate("/shmlab-list", 4096): No space left on device
 *
 * The segment is memory that any process of its owner may write, at any
 * time, and get wrong: nothing read from it is trusted. slist_attach
 * refuses a segment that does not hold a list; slist_get and slist_set
 * refuse (-1) an item whose slot does not lie inside the segment.
 *
 * There is no lock: like Python's, this list is for one writer at a time
 * (lessons 02 and 03 show how to add one).
 */
#ifndef SLIST_H
#define SLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLIST_MAX_ITEMS 65536          /* items in one list, at most */
#define SLIST_MAX_CAPACITY (1 << 20)   /* bytes in one string slot, at most */

enum slist_kind { SLIST_NONE, SLIST_INT, SLIST_DOUBLE, SLIST_BOOL, SLIST_STRING };

/* One item, as the caller gives it or gets it back. */
struct slist_item {
    enum slist_kind kind;
    int64_t i;        /* SLIST_INT */
    double d;         /* SLIST_DOUBLE */
    bool b;           /* SLIST_BOOL */
    const char *s;    /* SLIST_STRING: its bytes, any bytes, NULs included; no NUL needed at the end */
    size_t len;       /* SLIST_STRING: how many bytes */
    size_t capacity;  /* the slot's room for a string, in bytes (see slist_create) */
};

/* A list as this process sees it. */
struct slist {
    void *addr;       /* the segment, mapped in this process */
    size_t size;      /* the segment's size in bytes */
    size_t len;       /* the number of items: fixed at creation */
};

/*
 * Makes a new list of n items (0 to SLIST_MAX_ITEMS) in a new segment
 * called name ('/' and a name, as in lesson 04; mode 0600), holding
 * items[0..n-1], and maps it at l. Item i's slot can hold strings of up to
 * max(items[i].capacity, items[i].len) bytes, whatever its kind now, and
 * never more: a number's slot made with capacity 0 has no room for a
 * string. If any step fails, nothing is left behind.
 */
int slist_create(struct slist *l, const char *name, const struct slist_item *items, size_t n);

/* Maps an existing list by name. Refuses a segment that does not hold a list. */
int slist_attach(struct slist *l, const char *name);

/*
 * Item index, into *out: its kind and value, and its slot's capacity. A
 * string's out->s points into this process's mapping of the list, valid
 * until slist_detach (and changed by the next slist_set of that item).
 */
int slist_get(const struct slist *l, size_t index, struct slist_item *out);

/*
 * Stores item as item index; item->capacity is not used. A string longer
 * than the slot's capacity is refused, and the item keeps its old value.
 */
int slist_set(struct slist *l, size_t index, const struct slist_item *item);

/* Unmaps the list from this process; the list lives on. */
int slist_detach(struct slist *l);

/* Removes the list's name; its memory goes once every process has detached. */
int slist_unlink(const char *name);

#endif
