/*
 * value.c - the manager's values, and their wire form (see value.h).
 */
#include "value.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- making and freeing ------------------------------------------------ */

static struct value *make(enum value_type type)
{
    struct value *v = calloc(1, sizeof *v);
    if (v != NULL)
        v->type = type;
    return v;
}

struct value *value_none(void) { return make(V_NONE); }
struct value *value_list(void) { return make(V_LIST); }
struct value *value_dict(void) { return make(V_DICT); }

struct value *value_int(int64_t i)
{
    struct value *v = make(V_INT);
    if (v != NULL)
        v->u.i = i;
    return v;
}

struct value *value_double(double d)
{
    struct value *v = make(V_DOUBLE);
    if (v != NULL)
        v->u.d = d;
    return v;
}

struct value *value_bytes(const void *data, size_t len)
{
    if (len > UINT32_MAX)
        return NULL;
    struct value *v = make(V_BYTES);
    if (v == NULL)
        return NULL;
    v->u.bytes.data = malloc(len + 1);
    if (v->u.bytes.data == NULL) {
        free(v);
        return NULL;
    }
    if (len > 0)
        memcpy(v->u.bytes.data, data, len);
    v->u.bytes.data[len] = '\0';
    v->u.bytes.len = (uint32_t)len;
    return v;
}

struct value *value_str(const char *s)
{
    return value_bytes(s, strlen(s));
}

void value_free(struct value *v)
{
    if (v == NULL)
        return;
    switch (v->type) {
    case V_BYTES:
        free(v->u.bytes.data);
        break;
    case V_LIST:
        for (uint32_t i = 0; i < v->u.list.len; i++)
            value_free(v->u.list.items[i]);
        free(v->u.list.items);
        break;
    case V_DICT:
        for (uint32_t i = 0; i < v->u.dict.len; i++) {
            free(v->u.dict.entries[i].key);
            value_free(v->u.dict.entries[i].val);
        }
        free(v->u.dict.entries);
        free(v->u.dict.index);
        break;
    default:
        break;
    }
    free(v);
}

struct value *value_copy(const struct value *v)
{
    struct value *c = NULL;
    switch (v->type) {
    case V_NONE: return value_none();
    case V_INT: return value_int(v->u.i);
    case V_DOUBLE: return value_double(v->u.d);
    case V_BYTES: return value_bytes(v->u.bytes.data, v->u.bytes.len);
    case V_LIST:
        c = value_list();
        for (uint32_t i = 0; c != NULL && i < v->u.list.len; i++) {
            struct value *item = value_copy(v->u.list.items[i]);
            if (item == NULL || list_append(c, item) == -1) {
                value_free(item);
                value_free(c);
                return NULL;
            }
        }
        return c;
    case V_DICT:
        c = value_dict();
        for (uint32_t i = 0; c != NULL && i < v->u.dict.len; i++) {
            const struct entry *e = &v->u.dict.entries[i];
            struct value *val = value_copy(e->val);
            if (val == NULL || dict_set(c, e->key, e->key_len, val) == -1) {
                value_free(val);
                value_free(c);
                return NULL;
            }
        }
        return c;
    }
    return NULL;
}

int value_equal(const struct value *a, const struct value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case V_NONE: return 1;
    case V_INT: return a->u.i == b->u.i;
    case V_DOUBLE: return a->u.d == b->u.d;
    case V_BYTES:
        return a->u.bytes.len == b->u.bytes.len &&
               memcmp(a->u.bytes.data, b->u.bytes.data, a->u.bytes.len) == 0;
    case V_LIST:
        if (a->u.list.len != b->u.list.len)
            return 0;
        for (uint32_t i = 0; i < a->u.list.len; i++)
            if (!value_equal(a->u.list.items[i], b->u.list.items[i]))
                return 0;
        return 1;
    case V_DICT:
        if (a->u.dict.len != b->u.dict.len)
            return 0;
        for (uint32_t i = 0; i < a->u.dict.len; i++) {
            const struct entry *e = &a->u.dict.entries[i];
            const struct value *other = dict_get(b, e->key, e->key_len);
            if (other == NULL || !value_equal(e->val, other))
                return 0;
        }
        return 1;
    }
    return 0;
}

int value_depth(const struct value *v)
{
    int deepest = 0;
    if (v->type == V_LIST)
        for (uint32_t i = 0; i < v->u.list.len; i++) {
            int d = value_depth(v->u.list.items[i]);
            deepest = d > deepest ? d : deepest;
        }
    else if (v->type == V_DICT)
        for (uint32_t i = 0; i < v->u.dict.len; i++) {
            int d = value_depth(v->u.dict.entries[i].val);
            deepest = d > deepest ? d : deepest;
        }
    else
        return 0;
    return 1 + deepest;
}

const char *value_type_name(enum value_type t)
{
    static const char *names[] = {"none", "int", "double", "bytes", "list", "dict"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* ---- lists and dicts --------------------------------------------------- */

/* Makes room for one more element of `size` bytes in *array. */
static int grow(void **array, uint32_t *cap, uint32_t len, size_t size)
{
    if (len < *cap)
        return 0;
    uint32_t new_cap = *cap ? *cap * 2 : 4;
    void *bigger = realloc(*array, new_cap * size);
    if (bigger == NULL)
        return -1;
    *array = bigger;
    *cap = new_cap;
    return 0;
}

int list_append(struct value *list, struct value *item)
{
    if (grow((void **)&list->u.list.items, &list->u.list.cap, list->u.list.len,
             sizeof(struct value *)) == -1)
        return -1;
    list->u.list.items[list->u.list.len++] = item;
    return 0;
}

/*
 * A small dict is searched from the start. From INDEX_FROM keys on, a hash
 * table of entry numbers finds a key in one or two probes: without it, a
 * client could send a frame of 100,000 keys and keep the server busy for
 * seconds building the dict, everyone else waiting.
 */
#define INDEX_FROM 8

static uint32_t hash(const char *key, size_t len)  /* FNV-1a */
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)key[i]) * 16777619u;
    return h;
}

static void index_put(struct value *dict, uint32_t n)  /* entry n into the table */
{
    const struct entry *e = &dict->u.dict.entries[n];
    uint32_t mask = dict->u.dict.index_cap - 1, i = hash(e->key, e->key_len) & mask;
    while (dict->u.dict.index[i] != 0)
        i = (i + 1) & mask;
    dict->u.dict.index[i] = n + 1;
}

/* Rebuilds the table for the entries there are; without memory, goes back to searching. */
static void reindex(struct value *dict)
{
    free(dict->u.dict.index);
    dict->u.dict.index = NULL;
    dict->u.dict.index_cap = 0;
    if (dict->u.dict.len < INDEX_FROM)
        return;
    uint32_t cap = 16;
    while (cap < 2 * dict->u.dict.len)
        cap *= 2;
    if ((dict->u.dict.index = calloc(cap, sizeof(uint32_t))) == NULL)
        return;
    dict->u.dict.index_cap = cap;
    for (uint32_t n = 0; n < dict->u.dict.len; n++)
        index_put(dict, n);
}

static struct entry *find(const struct value *dict, const char *key, size_t key_len)
{
    if (dict->u.dict.index != NULL) {
        uint32_t mask = dict->u.dict.index_cap - 1, i = hash(key, key_len) & mask;
        for (uint32_t slot; (slot = dict->u.dict.index[i]) != 0; i = (i + 1) & mask) {
            struct entry *e = &dict->u.dict.entries[slot - 1];
            if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
                return e;
        }
        return NULL;
    }
    for (uint32_t i = 0; i < dict->u.dict.len; i++) {
        struct entry *e = &dict->u.dict.entries[i];
        if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
            return e;
    }
    return NULL;
}

struct value *dict_get(const struct value *dict, const char *key, size_t key_len)
{
    struct entry *e = find(dict, key, key_len);
    return e != NULL ? e->val : NULL;
}

int dict_set(struct value *dict, const char *key, size_t key_len, struct value *val)
{
    struct entry *e = find(dict, key, key_len);
    if (e != NULL) {
        value_free(e->val);
        e->val = val;
        return 0;
    }
    if (key_len > UINT32_MAX ||
        grow((void **)&dict->u.dict.entries, &dict->u.dict.cap, dict->u.dict.len,
             sizeof(struct entry)) == -1)
        return -1;
    char *copy = malloc(key_len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, key, key_len);
    copy[key_len] = '\0';
    dict->u.dict.entries[dict->u.dict.len++] = (struct entry){copy, (uint32_t)key_len, val};
    if (dict->u.dict.index != NULL && 2 * dict->u.dict.len <= dict->u.dict.index_cap)
        index_put(dict, dict->u.dict.len - 1);
    else if (dict->u.dict.len >= INDEX_FROM)
        reindex(dict);  /* doubles the table: cheap on average */
    return 0;
}

/* The table slot that holds entry n. */
static uint32_t slot_of(const struct value *dict, uint32_t n)
{
    const struct entry *e = &dict->u.dict.entries[n];
    uint32_t mask = dict->u.dict.index_cap - 1, i = hash(e->key, e->key_len) & mask;
    while (dict->u.dict.index[i] != n + 1)
        i = (i + 1) & mask;
    return i;
}

/* Empties slot i, moving later entries of the same run back (no tombstones). */
static void index_remove(struct value *dict, uint32_t i)
{
    uint32_t mask = dict->u.dict.index_cap - 1, *index = dict->u.dict.index;
    for (uint32_t j = (i + 1) & mask; index[j] != 0; j = (j + 1) & mask) {
        const struct entry *e = &dict->u.dict.entries[index[j] - 1];
        uint32_t home = hash(e->key, e->key_len) & mask;
        /* The entry at j stays if its home lies cyclically in (i, j]. */
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            index[i] = index[j];
            i = j;
        }
    }
    index[i] = 0;
}

int dict_delete(struct value *dict, const char *key, size_t key_len)
{
    struct entry *e = find(dict, key, key_len);
    if (e == NULL)
        return -1;
    uint32_t n = (uint32_t)(e - dict->u.dict.entries), last = dict->u.dict.len - 1;
    if (dict->u.dict.index != NULL) {
        index_remove(dict, slot_of(dict, n));
        if (n != last)  /* the last entry moves into the hole: renumber its slot */
            dict->u.dict.index[slot_of(dict, last)] = n + 1;
    }
    free(e->key);
    value_free(e->val);
    *e = dict->u.dict.entries[last];  /* order is not kept */
    dict->u.dict.len--;
    return 0;
}

/* ---- buffers ----------------------------------------------------------- */

int buf_append(struct buf *b, const void *data, size_t len)
{
    if (b->len + len > b->cap && b->data != b->base) {
        /* Room taken off the front first: move the bytes back to the start. */
        size_t front = (size_t)(b->data - b->base);
        memmove(b->base, b->data, b->len);
        b->data = b->base;
        b->cap += front;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *bigger = realloc(b->base, cap);
        if (bigger == NULL)
            return -1;
        b->base = b->data = bigger;
        b->cap = cap;
    }
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void buf_consume(struct buf *b, size_t len)
{
    b->len -= len;
    if (b->len == 0) {         /* all of it: start again at the front */
        b->cap += (size_t)(b->data - b->base);
        b->data = b->base;
    } else {
        b->data += len;
        b->cap -= len;
    }
}

void buf_free(struct buf *b)
{
    free(b->base);
    *b = (struct buf){0};
}

/* ---- the wire form ----------------------------------------------------- */

/* Integers on the wire are big-endian ("network order"), whatever the machine. */
static int put_u32(struct buf *out, uint32_t x)
{
    uint8_t b[4] = {x >> 24, x >> 16, x >> 8, x};
    return buf_append(out, b, 4);
}

static int put_u64(struct buf *out, uint64_t x)
{
    return put_u32(out, (uint32_t)(x >> 32)) == 0 ? put_u32(out, (uint32_t)x) : -1;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

int value_encode(const struct value *v, struct buf *out)
{
    uint64_t bits;
    switch (v->type) {
    case V_NONE:
        return buf_append(out, "N", 1);
    case V_INT:
        return buf_append(out, "i", 1) == 0 ? put_u64(out, (uint64_t)v->u.i) : -1;
    case V_DOUBLE:
        memcpy(&bits, &v->u.d, sizeof bits);
        return buf_append(out, "d", 1) == 0 ? put_u64(out, bits) : -1;
    case V_BYTES:
        if (buf_append(out, "s", 1) == -1 || put_u32(out, v->u.bytes.len) == -1)
            return -1;
        return buf_append(out, v->u.bytes.data, v->u.bytes.len);
    case V_LIST:
        if (buf_append(out, "l", 1) == -1 || put_u32(out, v->u.list.len) == -1)
            return -1;
        for (uint32_t i = 0; i < v->u.list.len; i++)
            if (value_encode(v->u.list.items[i], out) == -1)
                return -1;
        return 0;
    case V_DICT:
        if (buf_append(out, "m", 1) == -1 || put_u32(out, v->u.dict.len) == -1)
            return -1;
        for (uint32_t i = 0; i < v->u.dict.len; i++) {
            const struct entry *e = &v->u.dict.entries[i];
            if (put_u32(out, e->key_len) == -1 || buf_append(out, e->key, e->key_len) == -1 ||
                value_encode(e->val, out) == -1)
                return -1;
        }
        return 0;
    }
    return -1;
}

struct decoder {
    const uint8_t *p, *end;
    char *err;
    size_t err_size;
};

static int need(struct decoder *d, size_t n, const char *what)
{
    if ((size_t)(d->end - d->p) >= n)
        return 0;
    snprintf(d->err, d->err_size, "truncated: %s needs %zu bytes, %zu left",
             what, n, (size_t)(d->end - d->p));
    return -1;
}

static struct value *decode(struct decoder *d, int depth)
{
    if (need(d, 1, "a value's tag") == -1)
        return NULL;
    uint8_t tag = *d->p++;
    struct value *v = NULL;
    uint32_t n;
    switch (tag) {
    case 'N':
        v = value_none();
        break;
    case 'i':
    case 'd':
        if (need(d, 8, tag == 'i' ? "an int" : "a double") == -1)
            return NULL;
        uint64_t bits = get_u64(d->p);
        d->p += 8;
        if (tag == 'i') {
            v = value_int((int64_t)bits);
        } else {
            double x;
            memcpy(&x, &bits, sizeof x);
            v = value_double(x);
        }
        break;
    case 's':
        if (need(d, 4, "a string's length") == -1)
            return NULL;
        n = get_u32(d->p);
        d->p += 4;
        if (need(d, n, "a string") == -1)
            return NULL;
        v = value_bytes(d->p, n);
        d->p += n;
        break;
    case 'l':
    case 'm':
        if (depth >= VALUE_MAX_DEPTH) {
            snprintf(d->err, d->err_size, "nested deeper than %d", VALUE_MAX_DEPTH);
            return NULL;
        }
        if (need(d, 4, "a count") == -1)
            return NULL;
        n = get_u32(d->p);
        d->p += 4;
        v = tag == 'l' ? value_list() : value_dict();
        /* Grow as items really arrive: a count of 4 billion costs nothing until then. */
        for (uint32_t i = 0; v != NULL && i < n; i++) {
            const char *key = NULL;
            uint32_t key_len = 0;
            if (tag == 'm') {
                if (need(d, 4, "a key's length") == -1)
                    goto fail;
                key_len = get_u32(d->p);
                d->p += 4;
                if (need(d, key_len, "a key") == -1)
                    goto fail;
                key = (const char *)d->p;
                d->p += key_len;
            }
            struct value *item = decode(d, depth + 1);
            if (item == NULL)
                goto fail;
            int rc = tag == 'l' ? list_append(v, item) : dict_set(v, key, key_len, item);
            if (rc == -1) {
                value_free(item);
                goto fail;
            }
        }
        break;
    default:
        snprintf(d->err, d->err_size, "unknown value tag 0x%02x", tag);
        return NULL;
    }
    if (v == NULL)
        snprintf(d->err, d->err_size, "out of memory");
    return v;
fail:
    if (d->err[0] == '\0')
        snprintf(d->err, d->err_size, "out of memory");
    value_free(v);
    return NULL;
}

struct value *value_decode(const uint8_t *p, size_t len, size_t *used,
                           char *err, size_t err_size)
{
    struct decoder d = {p, p + len, err, err_size};
    err[0] = '\0';
    struct value *v = decode(&d, 0);
    if (v != NULL)
        *used = (size_t)(d.p - p);
    return v;
}

/* ---- printing ---------------------------------------------------------- */

struct out { char *s; size_t size, len; };

static void emit(struct out *o, const char *fmt, ...)
{
    if (o->len + 1 >= o->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->s + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len = o->len + (size_t)n < o->size ? o->len + (size_t)n : o->size - 1;
}

static void emit_bytes(struct out *o, const char *data, uint32_t len)
{
    emit(o, "'");
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '\'' || c == '\\')
            emit(o, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            emit(o, "%c", c);
        else
            emit(o, "\\x%02x", c);
    }
    emit(o, "'");
}

static void format(const struct value *v, struct out *o)
{
    switch (v->type) {
    case V_NONE: emit(o, "None"); break;
    case V_INT: emit(o, "%lld", (long long)v->u.i); break;
    case V_DOUBLE: emit(o, "%g", v->u.d); break;
    case V_BYTES: emit_bytes(o, v->u.bytes.data, v->u.bytes.len); break;
    case V_LIST:
        emit(o, "[");
        for (uint32_t i = 0; i < v->u.list.len; i++) {
            emit(o, i ? ", " : "");
            format(v->u.list.items[i], o);
        }
        emit(o, "]");
        break;
    case V_DICT:
        emit(o, "{");
        for (uint32_t i = 0; i < v->u.dict.len; i++) {
            const struct entry *e = &v->u.dict.entries[i];
            emit(o, i ? ", " : "");
            emit_bytes(o, e->key, e->key_len);
            emit(o, ": ");
            format(e->val, o);
        }
        emit(o, "}");
        break;
    }
}

void value_format(const struct value *v, char *out, size_t size)
{
    struct out o = {out, size, 0};
    if (size > 0)
        out[0] = '\0';
    format(v, &o);
}
