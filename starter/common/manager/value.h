/*
 * value.h - the values a shmlab manager holds: what Python's manager keeps
 * in its server process, in C.
 *
 * A value is none, a 64-bit integer, a double, a byte string (which may
 * hold any bytes, NUL included), a list of values, or a dict from byte
 * strings to values. Lists and dicts nest. Values are trees: every value
 * has exactly one owner, and freeing a list or dict frees what it holds.
 *
 * The wire form (value_encode / value_decode) is in docs/manager-protocol.md.
 */
#ifndef VALUE_H
#define VALUE_H

#include <stddef.h>
#include <stdint.h>

enum value_type { V_NONE, V_INT, V_DOUBLE, V_BYTES, V_LIST, V_DICT };

struct value;

struct entry {              /* one key of a dict */
    char *key;              /* NUL-terminated copy; key_len counts the bytes */
    uint32_t key_len;
    struct value *val;
};

struct value {
    enum value_type type;
    union {
        int64_t i;
        double d;
        struct { char *data; uint32_t len; } bytes;     /* data[len] is '\0' */
        struct { struct value **items; uint32_t len, cap; } list;
        struct {
            struct entry *entries;
            uint32_t len, cap;
            uint32_t *index;      /* from 8 keys on: a hash table of entry numbers + 1 */
            uint32_t index_cap;   /* a power of two, at least twice len */
        } dict;
    } u;
};

/* Lists and dicts nest at most this deep: deeper input is refused. */
#define VALUE_MAX_DEPTH 32

/* Constructors. NULL only when memory runs out. */
struct value *value_none(void);
struct value *value_int(int64_t i);
struct value *value_double(double d);
struct value *value_bytes(const void *data, size_t len);
struct value *value_str(const char *s);
struct value *value_list(void);
struct value *value_dict(void);

void value_free(struct value *v);
struct value *value_copy(const struct value *v);
int value_equal(const struct value *a, const struct value *b);
/* 0 for a number, string or none; 1 + the deepest item for a list or dict. */
int value_depth(const struct value *v);
const char *value_type_name(enum value_type t);

/* Lists: append takes ownership of item. 0, or -1 when memory runs out. */
int list_append(struct value *list, struct value *item);

/* Dicts: set takes ownership of val (replacing and freeing an old one). */
struct value *dict_get(const struct value *dict, const char *key, size_t key_len);
int dict_set(struct value *dict, const char *key, size_t key_len, struct value *val);
int dict_delete(struct value *dict, const char *key, size_t key_len);  /* 0, or -1: no such key */

/* A growable byte buffer, for encoding and for sockets. */
/*
 * A growing byte buffer: the bytes are data[0 .. len-1]. Taking bytes off
 * the front (buf_consume) moves data forward in its allocation instead of
 * moving the bytes: a server that takes a thousand requests off one read
 * would otherwise move what follows a thousand times.
 */
struct buf {
    uint8_t *data;
    size_t len, cap;    /* cap: bytes from data to the end of the allocation */
    uint8_t *base;      /* the allocation; data is in it */
};
int buf_append(struct buf *b, const void *data, size_t len);
void buf_consume(struct buf *b, size_t len);  /* drops the first len bytes */
void buf_free(struct buf *b);

/* Appends v's wire form to out. 0, or -1 when memory runs out. */
int value_encode(const struct value *v, struct buf *out);

/*
 * Decodes one value from the len bytes at p. Returns it and sets *used to
 * the bytes it took; or returns NULL and writes why into err (truncated
 * input, an unknown tag, nesting too deep, ...). Never reads past p + len.
 */
struct value *value_decode(const uint8_t *p, size_t len, size_t *used,
                           char *err, size_t err_size);

/* Writes v the way Python would print it, e.g. {'test': {3: 3}}, into out. */
void value_format(const struct value *v, char *out, size_t size);

#endif
