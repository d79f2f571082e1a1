/*
 * Lesson 05, the shareable list: the tests.
 *
 * The list is made by the test and read and written by another program:
 * this test binary started again with exec, knowing only the list's name,
 * with the list mapped at another address than the creator's (as in any
 * unrelated program). So a slot that holds a pointer, to the caller's
 * bytes or even into the creator's own mapping of the segment, is found
 * out: the other program gets back an address outside its mapping. The
 * creator also overwrites its own copy of every string once the list is
 * made, as any caller may.
 * Nothing here is a race: each check is decided by what the code does
 * (the random lists are repeated by their seed).
 * The overwritten lists once took a fork per round (2 x 300): on a loaded
 * machine that outran the time limit. All rounds of a test now run in one
 * child: on a 2-core machine at a load of about 30, both tests took 1.1 s
 * together (the 600 forks: 15.3 s, and 1 run in 10 timed out), and the
 * wrong variants they catch were still caught in 200 of 200 runs.
 */
#include "lab.h"
#include "slist.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STR(literal) .kind = SLIST_STRING, .s = literal, .len = sizeof literal - 1

/* A list of every kind; then what the other program writes over it. */
static const struct slist_item mixed[] = {
    {.kind = SLIST_INT, .i = 0},
    {.kind = SLIST_INT, .i = -42},
    {.kind = SLIST_DOUBLE, .d = 3.25},
    {.kind = SLIST_BOOL, .b = true},
    {.kind = SLIST_BOOL, .b = false},
    {.kind = SLIST_NONE},
    {STR("howdy"), .capacity = 16},
    {STR(""), .capacity = 8},
    {.kind = SLIST_DOUBLE, .d = 2.5, .capacity = 8},
    {STR("abc")},
};
static const struct slist_item mixed_after[] = {
    {.kind = SLIST_INT, .i = INT64_MIN},
    {.kind = SLIST_INT, .i = INT64_MAX},
    {.kind = SLIST_DOUBLE, .d = -INFINITY},
    {.kind = SLIST_BOOL, .b = false},
    {.kind = SLIST_BOOL, .b = true},
    {.kind = SLIST_INT, .i = 7},
    {STR("0123456789abcdef")},
    {STR("x")},
    {STR("eight!!!")},
    {.kind = SLIST_NONE},
};

/* Strings whose bytes are not text: NULs inside and at the end, UTF-8. */
static const struct slist_item bytes[] = {
    {STR("a\0b\0c")},
    {STR("abc\0\0\0")},
    {STR("\0")},
    {STR("\xff\xfe\x00\x01")},
    {STR("na\xc3\xafve caf\xc3\xa9 \xe2\x9c\x93")},  /* "naïve café ✓": 12 characters, 16 bytes */
};
static const struct slist_item bytes_after[] = {
    {STR("\0\0\0\0\0")},
    {STR("xyz\0")},
    {STR("")},
    {STR("\x01\0\0\0")},
    {STR("\xc3\x85\xc3\x84\xc3\x96 \xe2\x82\xac\xe2\x82\xac")},  /* "ÅÄÖ €€": 13 bytes */
};

/*
 * The edges of every kind's range: 64-bit ints past 2^31 and 2^32, doubles a
 * float would change (0.1, 1e300, the smallest subnormal, 1 + 2^-52), -0.0
 * (its sign is a bit of its own), NaN, empty strings, and a string of the
 * largest length in a slot of the largest capacity. big holds the
 * SLIST_MAX_CAPACITY bytes; main() fills it in both programs.
 */
static char big[SLIST_MAX_CAPACITY];
static const struct slist_item edges[] = {
    {.kind = SLIST_INT, .i = INT64_MIN},
    {.kind = SLIST_INT, .i = INT64_MAX},
    {.kind = SLIST_INT, .i = 2147483648},           /* 2^31: past a 32-bit int */
    {.kind = SLIST_INT, .i = -4294967297},          /* -(2^32 + 1) */
    {.kind = SLIST_DOUBLE, .d = 0.1},
    {.kind = SLIST_DOUBLE, .d = 1e300},             /* past a float's range */
    {.kind = SLIST_DOUBLE, .d = -0.0},
    {.kind = SLIST_DOUBLE, .d = 4.9406564584124654e-324},  /* the smallest double above 0 */
    {.kind = SLIST_DOUBLE, .d = NAN},
    {.kind = SLIST_BOOL, .b = true},
    {STR("")},                                      /* an empty string, in a slot of 0 bytes */
    {.kind = SLIST_STRING, .s = big, .len = SLIST_MAX_CAPACITY},
    {.kind = SLIST_NONE, .capacity = SLIST_MAX_CAPACITY},
};
static const struct slist_item edges_after[] = {
    {.kind = SLIST_INT, .i = INT64_MAX},
    {.kind = SLIST_INT, .i = INT64_MIN},
    {.kind = SLIST_DOUBLE, .d = DBL_MAX},
    {.kind = SLIST_DOUBLE, .d = -1e-300},
    {.kind = SLIST_INT, .i = -1},
    {.kind = SLIST_DOUBLE, .d = 1.0000000000000002},  /* 1 + 2^-52 */
    {.kind = SLIST_BOOL, .b = false},
    {.kind = SLIST_DOUBLE, .d = -DBL_MIN},
    {.kind = SLIST_DOUBLE, .d = -0.0},
    {.kind = SLIST_BOOL, .b = false},
    {STR("")},
    {STR("")},                                      /* the largest slot, emptied */
    {.kind = SLIST_STRING, .s = big, .len = SLIST_MAX_CAPACITY},  /* and the other filled */
};

struct table {
    const char *name;
    const struct slist_item *before, *after;
    size_t n;
};

static const struct table tables[] = {
    {"mixed", mixed, mixed_after, sizeof mixed / sizeof mixed[0]},
    {"bytes", bytes, bytes_after, sizeof bytes / sizeof bytes[0]},
    {"edges", edges, edges_after, sizeof edges / sizeof edges[0]},
    {"empty", NULL, NULL, 0},
};

static const struct table *find_table(const char *name)
{
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (strcmp(tables[i].name, name) == 0)
            return &tables[i];
    return NULL;
}

/* ---- describing and comparing items ----------------------------------- */

static const char *kind_name(enum slist_kind kind)
{
    static const char *names[] = {"none", "an int", "a double", "a bool", "a string"};
    return (unsigned)kind <= SLIST_STRING ? names[kind] : "no kind at all";
}

/* The bytes as C would write them: "a\0b", "na\xc3\xafve". */
static void quote(char *out, size_t size, const char *s, size_t len)
{
    size_t used = (size_t)snprintf(out, size, "\"");
    for (size_t i = 0; i < len && i < 24 && used + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0')
            used += (size_t)snprintf(out + used, size - used, "\\0");
        else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            used += (size_t)snprintf(out + used, size - used, "\\x%02x", c);
        else
            out[used++] = (char)c;
    }
    snprintf(out + used, size - used, len > 24 ? "...\"" : "\"");
}

static const char *describe(const struct slist_item *it, char *out, size_t size)
{
    char q[256];
    switch (it->kind) {
    case SLIST_INT: snprintf(out, size, "the int %" PRId64, it->i); break;
    case SLIST_DOUBLE: snprintf(out, size, "the double %.17g", it->d); break;
    case SLIST_BOOL: snprintf(out, size, "the bool %s", it->b ? "true" : "false"); break;
    case SLIST_NONE: snprintf(out, size, "none"); break;
    case SLIST_STRING:
        quote(q, sizeof q, it->s, it->len);
        snprintf(out, size, "a string of %zu bytes, %s", it->len, q);
        break;
    default: snprintf(out, size, "an item of kind %d, no kind at all", (int)it->kind);
    }
    return out;
}

/*
 * Reads item i of l and compares it with want. Returns NULL if they are
 * the same, or what is wrong, in words. A string must lie inside this
 * process's mapping of the list: an address anywhere else is not read.
 */
static const char *differs(const struct slist *l, size_t i, const struct slist_item *want)
{
    static char why[1024];
    char a[300], b[300];
    struct slist_item got;
    memset(&got, 0, sizeof got);
    if (slist_get(l, i, &got) == -1) {
        snprintf(why, sizeof why, "slist_get of item %zu failed (see stderr); it should be %s",
                 i, describe(want, a, sizeof a));
        return why;
    }
    if (got.kind != want->kind) {
        snprintf(why, sizeof why, "item %zu is %s, not %s", i, kind_name(got.kind),
                 describe(want, a, sizeof a));
        return why;
    }
    if (got.kind == SLIST_STRING) {
        uintptr_t start = (uintptr_t)l->addr, end = start + l->size, at = (uintptr_t)got.s;
        if (got.len > 0 && (at < start || at > end || got.len > end - at)) {
            snprintf(why, sizeof why, "slist_get gave item %zu, a string of %zu bytes, at "
                     "address %p, outside this process's mapping of the list (%p to %p). If "
                     "the slot holds a pointer, that is an address that means something only "
                     "in the process that stored it: the bytes themselves must be in the "
                     "segment, and out->s must point at them there (not at a copy)",
                     i, got.len, (void *)got.s, l->addr, (void *)end);
            return why;
        }
    }
    int same = 1;
    switch (got.kind) {
    case SLIST_INT: same = got.i == want->i; break;
    case SLIST_DOUBLE: same = memcmp(&got.d, &want->d, sizeof got.d) == 0; break;
    case SLIST_BOOL: same = got.b == want->b; break;
    case SLIST_STRING:
        same = got.len == want->len && (got.len == 0 || memcmp(got.s, want->s, got.len) == 0);
        break;
    default: break;
    }
    if (same)
        return NULL;
    snprintf(why, sizeof why, "item %zu is %s, not %s", i, describe(&got, a, sizeof a),
             describe(want, b, sizeof b));
    double as_float = (float)want->d;
    if (got.kind == SLIST_DOUBLE && memcmp(&got.d, &as_float, sizeof got.d) == 0)
        strncat(why, ": that is the double as a float holds it, with 24 bits of mantissa. "
                "A double must be kept whole, in 8 bytes", sizeof why - strlen(why) - 1);
    if (got.kind == SLIST_INT && got.i == (int64_t)(int32_t)want->i)
        strncat(why, ": that is its low 32 bits. An item's int is 64 bits (int64_t), and all "
                "of them must be kept", sizeof why - strlen(why) - 1);
    if (want->kind == SLIST_STRING && memchr(want->s, '\0', want->len) != NULL &&
        got.len < want->len)
        strncat(why, ": bytes after a NUL were lost. A string here is its bytes and their "
                "count, not a C string: NUL is a byte like any other (strlen, strcpy and "
                "trimming NULs all drop some)", sizeof why - strlen(why) - 1);
    return why;
}

/* ---- random lists ----------------------------------------------------- */

/* The random numbers of one list: the same seed gives the same list in both programs. */
static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A random list, and what it must hold: made from a seed, then changed from the seed + 1. */
struct random_list {
    size_t n;
    struct slist_item *items;  /* what the list holds */
    size_t *room;              /* each slot's capacity: the larger of its capacity and string */
    char **bytes;              /* each item's string bytes (room of its own, for changes) */
};

/* A random value of a random kind into it; a string of at most max_len bytes, into buf. */
static void random_value(uint64_t *st, struct slist_item *it, char *buf, size_t max_len)
{
    static const int64_t ints[] = {INT64_MIN, INT64_MAX, 0, -1, 2147483648, -2147483649};
    static const double doubles[] = {-0.0, 0.1, 1e300, 4.9406564584124654e-324, DBL_MAX, -1.5};
    size_t capacity = it->capacity;
    memset(it, 0, sizeof *it);
    it->capacity = capacity;
    it->kind = (enum slist_kind)(splitmix(st) % 5);
    uint64_t r = splitmix(st);
    switch (it->kind) {
    case SLIST_INT: it->i = r % 3 == 0 ? ints[r / 3 % 6] : (int64_t)splitmix(st); break;
    case SLIST_DOUBLE: {
        uint64_t bits = splitmix(st);
        memcpy(&it->d, &bits, sizeof it->d);
        if (r % 3 == 0 || isnan(it->d))  /* NaN payloads are not the contract's business */
            it->d = doubles[r / 3 % 6];
        break;
    }
    case SLIST_BOOL: it->b = r & 1; break;
    case SLIST_STRING:
        it->len = max_len == 0 ? 0 : r % (max_len + 1);
        for (size_t k = 0; k < it->len; k++)
            buf[k] = (char)(splitmix(st) % 4 == 0 ? 0 : splitmix(st));  /* NULs too */
        it->s = buf;
        break;
    case SLIST_NONE: break;
    }
}

/* The list that seed makes: n items of random kinds, capacities and values. */
static void random_list_make(struct random_list *rl, uint64_t seed, size_t n)
{
    static const size_t capacities[] = {0, 1, 7, 8, 9, 64};
    uint64_t st = seed;
    rl->n = n;
    rl->items = calloc(n + 1, sizeof *rl->items);
    rl->room = calloc(n + 1, sizeof *rl->room);
    rl->bytes = calloc(n + 1, sizeof *rl->bytes);
    if (rl->items == NULL || rl->room == NULL || rl->bytes == NULL) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t r = splitmix(&st);
        size_t capacity = capacities[r % 6];
        if (capacity == 64 && n <= 1000)
            capacity = (size_t)(r >> 8) % 300;
        size_t longer = (r >> 32) % 4 == 0 ? 1 + (r >> 40) % 40 : 0;  /* a string past it */
        rl->bytes[i] = malloc(capacity + 41);
        if (rl->bytes[i] == NULL) {
            fprintf(stderr, "harness: out of memory\n");
            abort();
        }
        rl->items[i].capacity = capacity;
        random_value(&st, &rl->items[i], rl->bytes[i], capacity + longer);
        rl->items[i].capacity = capacity;
        size_t len = rl->items[i].kind == SLIST_STRING ? rl->items[i].len : 0;
        rl->room[i] = len > capacity ? len : capacity;
    }
}

/*
 * The changes seed + 1 makes to the list: new values for about half the
 * items, and now and then a string one byte too long for its slot, which
 * must be refused. With l, they are made (slist_set) and checked; without,
 * only rl changes, to what the list must then hold. Returns NULL, or what
 * went wrong.
 */
static const char *random_list_change(struct random_list *rl, uint64_t seed, struct slist *l)
{
    static char why[512];
    static char scratch[SLIST_MAX_CAPACITY / 1024];
    uint64_t st = seed + 1;
    for (size_t i = 0; i < rl->n; i++) {
        uint64_t r = splitmix(&st);
        if (r % 2 == 0)
            continue;
        if (r % 5 == 1 && rl->room[i] + 1 <= sizeof scratch) {
            size_t len = rl->room[i] + 1;
            memset(scratch, 'L', len);
            struct slist_item too_long = {.kind = SLIST_STRING, .s = scratch, .len = len};
            if (l != NULL && slist_set(l, i, &too_long) == 0) {
                snprintf(why, sizeof why, "slist_set of a string of %zu bytes into item %zu, "
                         "a slot of %zu bytes, succeeded: it does not fit", len, i,
                         rl->room[i]);
                return why;
            }
            continue;
        }
        struct slist_item it = {.capacity = rl->room[i]};
        random_value(&st, &it, rl->bytes[i], rl->room[i]);
        it.capacity = rl->items[i].capacity;
        if (l != NULL && slist_set(l, i, &it) == -1) {
            char d[300];
            snprintf(why, sizeof why, "slist_set of %s into item %zu, a slot of %zu bytes, "
                     "failed (see stderr)", describe(&it, d, sizeof d), i, rl->room[i]);
            return why;
        }
        rl->items[i] = it;
    }
    return NULL;
}

/* Does l hold what rl says, each slot with its capacity? NULL, or what differs. */
static const char *random_list_differs(const struct slist *l, const struct random_list *rl)
{
    static char why[1024];
    if (l->len != rl->n) {
        snprintf(why, sizeof why, "the list made of %zu items has %zu", rl->n, l->len);
        return why;
    }
    for (size_t i = 0; i < rl->n; i++) {
        const char *d = differs(l, i, &rl->items[i]);
        if (d != NULL)
            return d;
        struct slist_item got;
        if (slist_get(l, i, &got) == 0 && got.capacity != rl->room[i]) {
            snprintf(why, sizeof why, "item %zu's slot has capacity %zu, not %zu: a slot's "
                     "capacity is the larger of the capacity it was made with and the length "
                     "of the string it was made with", i, got.capacity, rl->room[i]);
            return why;
        }
    }
    return NULL;
}

static void random_list_free(struct random_list *rl)
{
    for (size_t i = 0; i < rl->n; i++)
        free(rl->bytes[i]);
    free(rl->bytes);
    free(rl->room);
    free(rl->items);
}

/* The other program's part of a random list: attach, compare, change. */
static int other_program_random(const char *name, uint64_t seed, size_t n)
{
    struct random_list rl;
    random_list_make(&rl, seed, n);
    struct slist l;
    if (slist_attach(&l, name) == -1) {
        printf("could not attach the list (slist_attach failed; see stderr)\n");
        return 1;
    }
    const char *why = random_list_differs(&l, &rl);
    if (why == NULL)
        why = random_list_change(&rl, seed, &l);
    if (why != NULL)
        printf("%s\n", why);
    slist_detach(&l);
    random_list_free(&rl);
    return why == NULL ? 0 : 1;
}

/* ---- the other program ------------------------------------------------ */

/*
 * Attaches the list, checks that it holds table->before, writes
 * table->after over it. Says what was wrong on stdout, for the creator.
 */
static int other_program(const char *name, const char *table_name, const char *creator_addr)
{
    unsigned long long seed;
    size_t n;
    if (sscanf(table_name, "random:%llu:%zu", &seed, &n) == 2)
        return other_program_random(name, seed, n);
    const struct table *t = find_table(table_name);
    if (t == NULL)
        return 2;
    struct slist l, spacer;
    if (slist_attach(&l, name) == -1) {
        printf("could not attach the list (slist_attach failed; see stderr)\n");
        return 1;
    }
    /* Like any unrelated program, it must see the list at an address of its own. */
    if (strcmp(creator_addr, "-") != 0 && l.addr == (void *)strtoull(creator_addr, NULL, 16)) {
        spacer = l;
        if (slist_attach(&l, name) == -1) {
            printf("could not attach the list twice (slist_attach failed; see stderr)\n");
            return 1;
        }
        slist_detach(&spacer);
    }
    if (l.len != t->n) {
        printf("found a list of %zu items; the creator made %zu\n", l.len, t->n);
        return 1;
    }
    for (size_t i = 0; i < t->n; i++) {
        const char *why = differs(&l, i, &t->before[i]);
        if (why != NULL) {
            printf("read: %s\n", why);
            return 1;
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        if (slist_set(&l, i, &t->after[i]) == -1) {
            char d[300];
            printf("could not store %s as item %zu (slist_set failed; see stderr)\n",
                   describe(&t->after[i], d, sizeof d), i);
            return 1;
        }
    }
    return slist_detach(&l) == 0 ? 0 : 1;
}

/*
 * Runs the other program on the list; fails the test, in its words, if it
 * failed, with note (lab_seed_note() for random lists, or "") at the end.
 */
static void run_other_program_noted(const char *name, const char *table, const struct slist *l,
                                    const char *note)
{
    int out[2];
    if (pipe(out) == -1)
        lab_fail("harness: pipe: %s", strerror(errno));
    char addr[32];
    snprintf(addr, sizeof addr, "%llx", (unsigned long long)(uintptr_t)l->addr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl("/proc/self/exe", "other-program", "--other", name, table, addr, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char said[2048] = "";
    size_t used = 0;
    ssize_t got;
    while (used < sizeof said - 1 && (got = read(out[0], said + used, sizeof said - 1 - used)) > 0)
        used += (size_t)got;
    said[used] = '\0';
    close(out[0]);
    if (used > 0 && said[used - 1] == '\n')
        said[used - 1] = '\0';
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        lab_fail("the other program, started by exec, crashed (%s) reading the list; it had "
                 "said: \"%s\". A slot that holds a pointer sends the reader to an address "
                 "that is not the string in its own memory%s", lab_describe_status(status), said,
                 note);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lab_fail("the other program, started by exec, %s: %s%s", lab_describe_status(status),
                 said[0] ? said : "(it said nothing)", note);
}

static void run_other_program(const char *name, const char *table, const struct slist *l)
{
    run_other_program_noted(name, table, l, "");
}

/* ---- the tests -------------------------------------------------------- */

/*
 * Makes a list of table t from copies of its strings, then overwrites the
 * copies: what the list holds must not depend on the caller's memory.
 */
static void create_from_copies(struct slist *l, const char *name, const struct table *t)
{
    struct slist_item items[16];
    char *copies[16];
    for (size_t i = 0; i < t->n; i++) {
        items[i] = t->before[i];
        copies[i] = malloc(t->before[i].len + 1);
        if (copies[i] == NULL)
            lab_fail("harness: out of memory");
        if (items[i].kind == SLIST_STRING) {
            memcpy(copies[i], t->before[i].s, t->before[i].len);
            items[i].s = copies[i];
        }
    }
    int rc = slist_create(l, name, items, t->n);
    for (size_t i = 0; i < t->n; i++) {
        memset(copies[i], '#', t->before[i].len);
        free(copies[i]);
    }
    if (rc == -1)
        lab_fail("slist_create(\"%s\") of %zu items failed (its reason is on stderr)", name,
                 t->n);
}

static void round_trip(const char *table_name)
{
    const struct table *t = find_table(table_name);
    const char *name = lab_name(table_name);
    struct slist l;
    create_from_copies(&l, name, t);
    if (l.len != t->n)
        lab_fail("the list made of %zu items says it has %zu", t->n, l.len);
    for (size_t i = 0; i < t->n; i++) {
        const char *why = differs(&l, i, &t->before[i]);
        if (why != NULL)
            lab_fail("in the creator, right after slist_create: %s", why);
    }
    run_other_program(name, table_name, &l);
    for (size_t i = 0; i < t->n; i++) {
        const char *why = differs(&l, i, &t->after[i]);
        if (why != NULL)
            lab_fail("the other program stored new items; the creator then read: %s", why);
    }
    if (slist_detach(&l) == -1 || slist_unlink(name) == -1)
        lab_fail("slist_detach or slist_unlink failed (see stderr)");
}

START_TEST(every_kind_round_trips_through_another_program)
{
    round_trip("mixed");
}
END_TEST

START_TEST(strings_with_nul_bytes_and_utf8_survive_intact)
{
    round_trip("bytes");
}
END_TEST

/* Makes a list of n items, in this process only. */
static void make(struct slist *l, const char *name, const struct slist_item *items, size_t n)
{
    if (slist_create(l, name, items, n) == -1)
        lab_fail("slist_create(\"%s\") of %zu items failed (its reason is on stderr)", name, n);
}

static void expect_item(const struct slist *l, size_t i, const struct slist_item *want,
                        const char *after)
{
    const char *why = differs(l, i, want);
    if (why != NULL)
        lab_fail("after %s, %s", after, why);
}

static void drop(struct slist *l, const char *name)
{
    slist_detach(l);
    slist_unlink(name);
}

START_TEST(a_string_longer_than_its_slot_is_refused)
{
    const char *name = lab_name("full");
    const struct slist_item items[] = {{STR("abc"), .capacity = 8}, {STR("neighbour")}};
    const struct slist_item nine = {STR("123456789")}, eight = {STR("12345678")};
    struct slist l;
    make(&l, name, items, 2);
    int rc = slist_set(&l, 0, &nine);
    struct slist_item got;
    memset(&got, 0, sizeof got);
    slist_get(&l, 0, &got);
    if (rc == 0) {
        char d[300];
        lab_fail("slist_set stored a string of 9 bytes in a slot of 8 and returned 0; item 0 "
                 "is now %s. A string that does not fit must be refused with an error, never "
                 "cut short in silence nor written past its slot",
                 describe(&got, d, sizeof d));
    }
    expect_item(&l, 0, &items[0], "a refused slist_set of 9 bytes into an 8-byte slot");
    expect_item(&l, 1, &items[1], "a refused slist_set of 9 bytes into item 0's 8-byte slot");
    if (slist_set(&l, 0, &eight) == -1)
        lab_fail("slist_set of a string of 8 bytes into a slot of 8 failed: it fits exactly");
    expect_item(&l, 0, &eight, "slist_set of 8 bytes into an 8-byte slot");
    expect_item(&l, 1, &items[1], "slist_set of 8 bytes into item 0's 8-byte slot (if item 1 "
                "changed, the string ran past its slot)");
    drop(&l, name);
}
END_TEST

START_TEST(a_number_slot_made_without_room_takes_no_string)
{
    const char *name = lab_name("number");
    const struct slist_item items[] = {{.kind = SLIST_INT, .i = 5}, {STR("after")}};
    const struct slist_item one = {STR("x")};
    struct slist l;
    make(&l, name, items, 2);
    if (slist_set(&l, 0, &one) == 0)
        lab_fail("slist_set stored a string of 1 byte in a slot made for an int with "
                 "capacity 0: there is no room for it, and it must be refused");
    expect_item(&l, 0, &items[0], "a refused slist_set of a string into an int's slot");
    expect_item(&l, 1, &items[1], "a refused slist_set of a string into item 0's slot");
    const struct slist_item d = {.kind = SLIST_DOUBLE, .d = 0.5}, none = {.kind = SLIST_NONE};
    if (slist_set(&l, 0, &d) == -1 || slist_set(&l, 1, &none) == -1)
        lab_fail("slist_set of a double over an int, or of none over a string, failed: any "
                 "slot may change kind, only strings need room");
    expect_item(&l, 0, &d, "slist_set of a double over an int");
    expect_item(&l, 1, &none, "slist_set of none over a string");
    drop(&l, name);
}
END_TEST

START_TEST(a_slot_is_measured_in_bytes_not_characters)
{
    /* "naïve café ✓" is 12 characters and 16 bytes in UTF-8. */
    const struct slist_item utf8 = {STR("na\xc3\xafve caf\xc3\xa9 \xe2\x9c\x93")};
    const char *name = lab_name("utf8");
    const struct slist_item items[] = {
        {.kind = SLIST_NONE, .capacity = 12},  /* room for 12 bytes: too few */
        {.kind = SLIST_NONE, .capacity = 16},  /* exactly enough */
        utf8,                                  /* capacity 0: as many bytes as it has */
    };
    struct slist l;
    make(&l, name, items, 3);
    struct slist_item got;
    memset(&got, 0, sizeof got);
    if (slist_get(&l, 2, &got) == -1 || got.capacity != 16)
        lab_fail("a string slot made for \"naïve café ✓\" with capacity 0 has capacity %zu; "
                 "it must have room for the string's 16 bytes (its 12 characters do not "
                 "matter: UTF-8 takes 1 to 4 bytes a character)", got.capacity);
    expect_item(&l, 2, &utf8, "slist_create with \"naïve café ✓\"");
    if (slist_set(&l, 0, &utf8) == 0)
        lab_fail("slist_set stored \"naïve café ✓\", 12 characters but 16 bytes, in a slot of "
                 "12 bytes: a capacity is in bytes, and those 16 bytes do not fit");
    expect_item(&l, 0, &items[0], "a refused slist_set of 16 bytes into a 12-byte slot");
    if (slist_set(&l, 1, &utf8) == -1)
        lab_fail("slist_set of \"naïve café ✓\" (16 bytes) into a 16-byte slot failed: it fits");
    expect_item(&l, 1, &utf8, "slist_set of 16 bytes into a 16-byte slot");
    drop(&l, name);
}
END_TEST

START_TEST(its_length_never_changes)
{
    const char *name = lab_name("fixed");
    const struct slist_item items[] = {{.kind = SLIST_INT, .i = 1}, {.kind = SLIST_INT, .i = 2}};
    const struct slist_item three = {.kind = SLIST_INT, .i = 3};
    struct slist l;
    make(&l, name, items, 2);
    struct slist_item got;
    if (slist_get(&l, 2, &got) == 0)
        lab_fail("slist_get of item 2 of a list of 2 items succeeded: there is no item 2");
    if (slist_set(&l, 2, &three) == 0)
        lab_fail("slist_set of item 2 of a list of 2 items succeeded: a list's length never "
                 "changes, and item 2 is past its end");
    if (slist_set(&l, (size_t)-1, &three) == 0)
        lab_fail("slist_set of item SIZE_MAX succeeded");
    const struct slist_item bad = {.kind = (enum slist_kind)99};
    if (slist_set(&l, 0, &bad) == 0)
        lab_fail("slist_set of an item of kind 99, which is no kind, succeeded");
    expect_item(&l, 0, &items[0], "refused slist_sets");
    expect_item(&l, 1, &items[1], "refused slist_sets");
    drop(&l, name);

    struct slist empty;
    make(&empty, name, NULL, 0);
    if (empty.len != 0 || slist_get(&empty, 0, &got) == 0)
        lab_fail("an empty list has length %zu, or an item 0", empty.len);
    drop(&empty, name);
}
END_TEST

/* Makes a segment that is not a list: size bytes, filled with fill. */
static void make_raw(const char *name, size_t size, int fill)
{
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1 || ftruncate(fd, (off_t)size) == -1)
        lab_fail("harness: making the segment %s: %s", name, strerror(errno));
    unsigned char buf[4096];
    memset(buf, fill, sizeof buf);
    if (size > 0 && write(fd, buf, size < sizeof buf ? size : sizeof buf) == -1)
        lab_fail("harness: writing the segment %s: %s", name, strerror(errno));
    close(fd);
}

START_TEST(attach_refuses_a_segment_that_is_not_a_list)
{
    static const struct {
        const char *what;
        size_t size;
        int fill;
    } raw[] = {
        {"4096 zero bytes", 4096, 0},
        {"4096 bytes of 0xff", 4096, 0xff},
        {"3 bytes", 3, 'x'},
        {"0 bytes", 0, 0},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        const char *name = lab_name("raw");
        make_raw(name, raw[i].size, raw[i].fill);
        struct slist l;
        int rc = slist_attach(&l, name);
        if (rc == 0)
            slist_detach(&l);
        shm_unlink(name);
        if (rc == 0)
            lab_fail("slist_attach accepted a segment of %s as a list: it must recognise a "
                     "list (a mark in its header) and refuse anything else", raw[i].what);
    }
    struct slist l;
    if (slist_attach(&l, lab_name("missing")) == 0)
        lab_fail("slist_attach of a name that does not exist succeeded");
}
END_TEST

START_TEST(bad_creates_leave_nothing_behind)
{
    const char *name = lab_name("bad");
    struct slist l;
    static struct slist_item many[SLIST_MAX_ITEMS + 1];
    if (slist_create(&l, name, many, SLIST_MAX_ITEMS + 1) == 0)
        lab_fail("a list of SLIST_MAX_ITEMS + 1 items was made");
    const struct slist_item huge = {.kind = SLIST_NONE, .capacity = SLIST_MAX_CAPACITY + 1};
    if (slist_create(&l, name, &huge, 1) == 0)
        lab_fail("a slot of SLIST_MAX_CAPACITY + 1 bytes was made");
    const struct slist_item bad = {.kind = (enum slist_kind)99};
    if (slist_create(&l, name, &bad, 1) == 0)
        lab_fail("a list holding an item of kind 99, which is no kind, was made");
    /* A segment of that name that is somebody else's must be left alone. */
    make_raw(name, 64, 'z');
    const struct slist_item one = {.kind = SLIST_INT, .i = 1};
    if (slist_create(&l, name, &one, 1) == 0)
        lab_fail("slist_create made a list under a name that already exists: it must refuse "
                 "(O_EXCL), or it takes over somebody else's segment");
    int fd = shm_open(name, O_RDONLY, 0);
    char first = 0;
    if (fd == -1 || read(fd, &first, 1) != 1 || first != 'z')
        lab_fail("a refused slist_create removed or changed the segment that already had "
                 "its name");
    close(fd);
    shm_unlink(name);
}
END_TEST

START_TEST(the_largest_list_and_slot_are_made)
{
    const char *name = lab_name("largest");
    static struct slist_item many[SLIST_MAX_ITEMS];
    for (size_t i = 0; i < SLIST_MAX_ITEMS; i++)
        many[i] = (struct slist_item){.kind = SLIST_INT, .i = (int64_t)i};
    struct slist l;
    if (slist_create(&l, name, many, SLIST_MAX_ITEMS) == -1)
        lab_fail("slist_create of SLIST_MAX_ITEMS (%d) items failed: that many are allowed",
                 SLIST_MAX_ITEMS);
    expect_item(&l, SLIST_MAX_ITEMS - 1, &many[SLIST_MAX_ITEMS - 1],
                "slist_create of SLIST_MAX_ITEMS items, the last one");
    drop(&l, name);

    /* One slot of the largest capacity, filled; and a string of a few hundred bytes. */
    char *big = malloc(SLIST_MAX_CAPACITY);
    if (big == NULL)
        lab_fail("harness: out of memory");
    for (size_t i = 0; i < SLIST_MAX_CAPACITY; i++)
        big[i] = (char)('a' + i % 26);
    const struct slist_item items[] = {
        {.kind = SLIST_NONE, .capacity = SLIST_MAX_CAPACITY},
        {.kind = SLIST_STRING, .s = big, .len = 700},
    };
    const struct slist_item full = {.kind = SLIST_STRING, .s = big, .len = SLIST_MAX_CAPACITY};
    if (slist_create(&l, name, items, 2) == -1) {
        free(big);
        lab_fail("slist_create of a slot of SLIST_MAX_CAPACITY (%d) bytes and a string of 700 "
                 "bytes failed: both are allowed", SLIST_MAX_CAPACITY);
    }
    int set = slist_set(&l, 0, &full);
    const char *why = set == 0 ? differs(&l, 0, &full) : "slist_set failed (see stderr)";
    const char *why700 = differs(&l, 1, &items[1]);
    drop(&l, name);
    free(big);
    if (why != NULL)
        lab_fail("a string of SLIST_MAX_CAPACITY bytes in a slot of that capacity: %s", why);
    if (why700 != NULL)
        lab_fail("a string of 700 bytes: %s", why700);

    /*
     * A list past 4 GiB: 4097 slots of SLIST_MAX_CAPACITY, allowed by the
     * header, whose size does not fit 32 bits. Sparse: only the pages
     * written are ever made. Where the grader's limits do not allow a
     * segment that large, it is not tried (that is the grader's limit).
     */
    enum { PAST_4G = 4097 };
    size_t want = (size_t)PAST_4G * SLIST_MAX_CAPACITY;
    if (lab_largest_segment(want + ((size_t)1 << 24)) < want + ((size_t)1 << 24))
        return;
    static struct slist_item wide[PAST_4G];
    for (size_t i = 0; i < PAST_4G; i++)
        wide[i] = (struct slist_item){.kind = SLIST_INT, .i = (int64_t)i,
                                      .capacity = SLIST_MAX_CAPACITY};
    if (slist_create(&l, name, wide, PAST_4G) == -1)
        lab_fail("slist_create of %d items of %d bytes of room each (%zu bytes in all, past "
                 "4 GiB) failed: the header allows it (see stderr)", PAST_4G,
                 SLIST_MAX_CAPACITY, want);
    const struct slist_item last = {.kind = SLIST_STRING, .s = "the last slot", .len = 13};
    set = slist_set(&l, PAST_4G - 1, &last);
    why = set == 0 ? differs(&l, PAST_4G - 1, &last) : "slist_set failed (see stderr)";
    const char *first = differs(&l, 0, &wide[0]);
    drop(&l, name);
    if (why != NULL || first != NULL)
        lab_fail("a list of %zu bytes (past 4 GiB, its size does not fit 32 bits): %s %s", want,
                 why != NULL ? "its last slot:" : "its first item:",
                 why != NULL ? why : first);
}
END_TEST

/*
 * The segment is memory any process of its owner may write. After bytes of
 * a list were overwritten, slist_attach may refuse it, or accept it;
 * slist_get and slist_set may refuse an item, or do their work: but a
 * string slist_get gives must lie inside the segment, slist_set must write
 * only inside it, and nothing may crash. The overwrites are the same every
 * run, so a verdict never depends on luck: every 4-byte step of the list
 * with values that break a length or an offset (past the end, huge, just
 * before the start, another slot's offset, so that two rooms overlap), then
 * rounds of a few words at once. They all run in one child process (a crash
 * is seen there and told, with the overwrite that caused it), which takes a
 * fraction of a second even on a loaded machine.
 */
#define ROUNDS 300

static uint64_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 17;
}

/* Overwrites the bytes of a list: a few words with values likely to break a length or an offset. */
static void overwrite(unsigned char *bytes, size_t size, uint64_t *state)
{
    static const uint64_t evil[] = {UINT64_MAX, 1ULL << 40, 0x7fffffff, 0x80000000, 0, 1};
    int words = 1 + (int)(next_random(state) % 3);
    for (int w = 0; w < words; w++) {
        size_t at = (size_t)(next_random(state) % (size / 4)) * 4;
        uint64_t v = next_random(state) % 2 ? evil[next_random(state) % 6]
                                            : (uint64_t)size - next_random(state) % 64;
        size_t n = size - at < 8 ? size - at : 8;
        memcpy(bytes + at, &v, n);
    }
}

/* What a child that tries many cases is doing, for the message if it crashes; and its reason. */
struct progress {
    char doing[300];
    char said[700];
};

static struct progress *progress_map(void)
{
    void *p = mmap(NULL, sizeof(struct progress), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        lab_fail("harness: mmap: %s", strerror(errno));
    memset(p, 0, sizeof(struct progress));
    return p;
}

/*
 * Runs fn(arg) in a child; the child ends with _exit(3) and progress->said
 * if it found something wrong. The refusals' messages are expected (many
 * of them): its stderr goes to /dev/null. Returns the child's wait status.
 */
static int in_child(void (*fn)(void *arg, struct progress *p), void *arg, struct progress *p)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        lab_fail("harness: fork: %s", strerror(errno));
    if (pid == 0) {
        static char buffer[1 << 16];  /* thousands of refusals: written in few calls */
        if (freopen("/dev/null", "w", stderr) == NULL || setvbuf(stderr, buffer, _IOFBF,
                                                                   sizeof buffer) != 0)
            _exit(5);
        fn(arg, p);
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) == -1)
        lab_fail("harness: waitpid: %s", strerror(errno));
    return status;
}

/* In a child: says what went wrong and ends. */
static void child_says(struct progress *p, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
static void child_says(struct progress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->said, sizeof p->said, fmt, ap);
    va_end(ap);
    _exit(3);
}

/*
 * Inaccessible pages just before and just after a mapping, where there is
 * room for them: code that reads or writes there crashes, rather than
 * changing something else in silence.
 */
struct guards {
    void *before, *after;
};

static void *guard_page(void *where)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *g = mmap(where, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    if (g == MAP_FAILED)
        return NULL;  /* something is there already */
    if (g != where) {  /* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
        munmap(g, page);
        return NULL;
    }
    return g;
}

static size_t page_end(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (size + page - 1) / page * page;
}

static struct guards guard(const struct slist *l)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct guards g = {guard_page((char *)l->addr - page),
                       guard_page((char *)l->addr + page_end(l->size))};
    return g;
}

static void unguard(struct guards g)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (g.before != NULL)
        munmap(g.before, page);
    if (g.after != NULL)
        munmap(g.after, page);
}

/*
 * Reads every item of l and writes a short string and an int into each;
 * all must stay inside the segment. The bytes of the last page past the
 * segment's end (mapped, but no part of it) must stay zero.
 */
static void use_every_item(const struct slist *l, struct progress *p)
{
    uintptr_t start = (uintptr_t)l->addr, end = start + l->size;
    for (size_t i = 0; i < l->len && i < SLIST_MAX_ITEMS; i++) {
        struct slist_item got;
        memset(&got, 0, sizeof got);
        if (slist_get(l, i, &got) == -1 || got.kind != SLIST_STRING || got.len == 0)
            continue;
        uintptr_t at = (uintptr_t)got.s;
        if (at < start || at > end || got.len > end - at)
            child_says(p, "slist_get gave item %zu as a string of %zu bytes at %p, outside the "
                       "segment (%p to %p)", i, got.len, (void *)got.s, l->addr, (void *)end);
    }
    const struct slist_item x = {STR("x")}, eight = {STR("12345678")};
    const struct slist_item num = {.kind = SLIST_INT, .i = -1};
    const unsigned char *tail = (const unsigned char *)l->addr + l->size;
    size_t tail_len = page_end(l->size) - l->size;
    for (size_t i = 0; i < l->len && i < SLIST_MAX_ITEMS; i++) {
        slist_set((struct slist *)l, i, &x);
        slist_set((struct slist *)l, i, &eight);
        slist_set((struct slist *)l, i, &num);
        static const unsigned char zeros[1 << 16];
        if (tail_len <= sizeof zeros && memcmp(tail, zeros, tail_len) != 0)
            child_says(p, "slist_set of item %zu wrote past the end of the segment, into the "
                       "rest of its last page", i);
    }
}

struct overwrites {
    const char *name;           /* the list's */
    struct slist *made;         /* the creator's mapping: "another process" writes through it */
    const unsigned char *clean; /* the list as made */
    int after_attach;           /* overwritten after it was attached, or before */
};

/* One overwrite: puts the list back as made, writes `value` at `at`, and uses it. */
static void try_overwrite(struct overwrites *o, struct slist *seen, size_t at, uint64_t value,
                          uint64_t *round_state, struct progress *p)
{
    unsigned char *bytes = o->made->addr;
    size_t size = o->made->size;
    memcpy(bytes, o->clean, size);
    if (round_state == NULL) {
        memcpy(bytes + at, &value, size - at < 8 ? size - at : 8);
        snprintf(p->doing, sizeof p->doing, "the 8 bytes at offset %zu of %zu set to %" PRIu64
                 " (%#" PRIx64 ")", at, size, value, value);
    } else {
        uint64_t was = *round_state;
        overwrite(bytes, size, round_state);
        snprintf(p->doing, sizeof p->doing, "a few words set to values that break a length "
                 "or an offset (round state %" PRIu64 ")", was);
    }
    if (o->after_attach) {
        use_every_item(seen, p);
        return;
    }
    struct slist fresh;
    if (slist_attach(&fresh, o->name) == -1)
        return;  /* refused: fine */
    struct guards g = guard(&fresh);
    use_every_item(&fresh, p);
    unguard(g);
    slist_detach(&fresh);
}

static void overwrite_all(void *arg, struct progress *p)
{
    struct overwrites *o = arg;
    struct slist seen;
    struct guards g = {NULL, NULL};
    if (o->after_attach) {
        if (slist_attach(&seen, o->name) == -1)
            child_says(p, "slist_attach of the list, not yet overwritten, failed");
        g = guard(&seen);
    }
    size_t size = o->made->size;
    uint64_t word;
    for (size_t at = 0; at + 4 <= size; at += 4) {
        uint64_t values[] = {UINT64_MAX, 1ULL << 40, 0x7fffffff, 0x80000000, 0, 1, size,
                             size - 1, size - 8, size + 8, UINT64_MAX - 7, 0, 0, 0, 0, 0, 0,
                             0, 0, 0, 0, 0, 0};
        size_t n = 11;
        /* Another word of the list here, so that an offset becomes another slot's. */
        for (size_t d = 8; d <= 48; d += 8) {
            if (at >= d) {
                memcpy(&word, o->clean + at - d, 8);
                values[n++] = word;
            }
            if (at + d + 8 <= size) {
                memcpy(&word, o->clean + at + d, 8);
                values[n++] = word;
            }
        }
        for (size_t v = 0; v < n; v++)
            try_overwrite(o, &seen, at, values[v], NULL, p);
    }
    uint64_t state = 20261126;
    for (int round = 0; round < ROUNDS; round++)
        try_overwrite(o, &seen, 0, 0, &state, p);
    memcpy(o->made->addr, o->clean, size);
    if (o->after_attach) {
        unguard(g);
        slist_detach(&seen);
    }
}

static void overwritten_rounds(int after_attach)
{
    const char *name = lab_name("overwritten");
    const struct table *t = find_table("mixed");
    struct slist l;
    create_from_copies(&l, name, t);
    unsigned char *clean = malloc(l.size);
    if (clean == NULL)
        lab_fail("harness: out of memory");
    memcpy(clean, l.addr, l.size);
    struct overwrites o = {name, &l, clean, after_attach};
    struct progress *p = progress_map();
    int status = in_child(overwrite_all, &o, p);
    memcpy(l.addr, clean, l.size);
    free(clean);
    drop(&l, name);
    char doing[sizeof p->doing], said[sizeof p->said];
    memcpy(doing, p->doing, sizeof doing);
    memcpy(said, p->said, sizeof said);
    munmap(p, sizeof *p);
    const char *when = after_attach ? "after" : "before";
    const char *also_at_every_call = ", at every slist_get, not only in slist_attach (and at "
                                     "every slist_set)";
    if (WIFSIGNALED(status))
        lab_fail("a list was overwritten (%s) %s it was attached; then using its items "
                 "crashed (%s). The segment is memory that other processes write: check every "
                 "length and offset read from it before using it%s", doing, when,
                 lab_describe_status(status),
                 after_attach ? also_at_every_call : "");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
        lab_fail("a list was overwritten (%s) %s it was attached; then %s. The segment is "
                 "memory that other processes write: check every length and offset read from "
                 "it before using it%s", doing, when, said,
                 after_attach ? also_at_every_call : "");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lab_fail("harness: the child that overwrote lists %s", lab_describe_status(status));
}

START_TEST(an_overwritten_list_is_refused_never_trusted)
{
    overwritten_rounds(0);
}
END_TEST

START_TEST(a_list_overwritten_after_attach_is_not_trusted_either)
{
    overwritten_rounds(1);
}
END_TEST

START_TEST(values_at_the_edges_of_their_range_and_an_empty_list_round_trip)
{
    round_trip("edges");
    round_trip("empty");
}
END_TEST

/*
 * Random lists (a new seed each run; SEED=n repeats one): random kinds,
 * capacities (strings longer than them, too) and values, NUL bytes in
 * strings; one list of SLIST_MAX_ITEMS items and one of none. The other
 * program makes the same list from the seed, compares every item and its
 * capacity, and changes about half of them; the creator then reads the
 * changes back.
 */
START_TEST(random_lists_read_back_exactly_in_another_program)
{
    for (int c = 0; c < 10; c++) {
        uint64_t seed = lab_random();
        size_t n = c == 0 ? SLIST_MAX_ITEMS : c == 1 ? 0 : 1 + (size_t)(lab_random() % 60);
        struct random_list rl;
        random_list_make(&rl, seed, n);
        const char *name = lab_name("random");
        struct slist l;
        if (slist_create(&l, name, rl.items, n) == -1) {
            random_list_free(&rl);
            lab_fail("slist_create of a random list of %zu items failed (its reason is on "
                     "stderr)%s", n, lab_seed_note());
        }
        const char *why = random_list_differs(&l, &rl);
        if (why != NULL)
            lab_fail("in the creator, right after slist_create of a random list of %zu items: "
                     "%s%s", n, why, lab_seed_note());
        char arg[64];
        snprintf(arg, sizeof arg, "random:%llu:%zu", (unsigned long long)seed, n);
        run_other_program_noted(name, arg, &l, lab_seed_note());
        random_list_change(&rl, seed, NULL);
        why = random_list_differs(&l, &rl);
        if (why != NULL)
            lab_fail("the other program stored new items in a random list of %zu items; the "
                     "creator then read: %s%s", n, why, lab_seed_note());
        drop(&l, name);
        random_list_free(&rl);
    }
}
END_TEST

START_TEST(a_slot_has_room_for_the_longer_of_its_capacity_and_its_string)
{
    const char *name = lab_name("longer");
    const struct slist_item items[] = {
        {STR("sixteen bytes!!!"), .capacity = 4},
        {STR("neighbour"), .capacity = 2},
        {.kind = SLIST_INT, .i = 77},
        {STR("the last one, 25 bytes..."), .capacity = 9},
    };
    struct slist l;
    make(&l, name, items, 4);
    for (size_t i = 0; i < 4; i++) {
        if (items[i].kind != SLIST_STRING)
            continue;
        struct slist_item got;
        memset(&got, 0, sizeof got);
        int rc = slist_get(&l, i, &got);
        if (rc == -1 || got.capacity != items[i].len)
            lab_fail("item %zu was made with capacity %zu and a string of %zu bytes; slist_get "
                     "of it then %s%zu. The slot must hold the whole string: its capacity is "
                     "the larger of the two (max(capacity, len), says the header)", i,
                     items[i].capacity, items[i].len, rc == -1 ? "failed (see stderr) instead "
                     "of giving capacity " : "gave capacity ", rc == -1 ? items[i].len :
                     got.capacity);
    }
    for (size_t i = 0; i < 4; i++)
        expect_item(&l, i, &items[i], "slist_create of strings longer than their capacity");
    const struct slist_item fits = {STR("0123456789abcdef")}, over = {STR("0123456789abcdefg")};
    if (slist_set(&l, 0, &fits) == -1)
        lab_fail("slist_set of a string of 16 bytes into item 0, a slot of 16 bytes (made for "
                 "one), failed");
    if (slist_set(&l, 0, &over) == 0)
        lab_fail("slist_set of a string of 17 bytes into item 0, a slot of 16 bytes, succeeded");
    expect_item(&l, 0, &fits, "slist_set of 16 bytes into a slot made for 16");
    for (size_t i = 1; i < 4; i++)
        expect_item(&l, i, &items[i], "slist_set of 16 bytes into item 0's 16-byte slot");
    drop(&l, name);
}
END_TEST

/*
 * Every slot and string room is its own. Each item in turn is written,
 * three times over: an int with every bit set; a string that fills its
 * slot's room (or that int again, where there is no room); a double. After
 * each write every other item must be unchanged.
 */
START_TEST(writing_an_item_changes_no_other_item)
{
    const char *name = lab_name("neighbours");
    const struct slist_item items[] = {
        {STR(""), .capacity = 8},
        {.kind = SLIST_INT, .i = 1},
        {STR("ab")},
        {.kind = SLIST_DOUBLE, .d = 2.0, .capacity = 3},
        {.kind = SLIST_BOOL, .b = true},
        {STR(""), .capacity = 1},
        {.kind = SLIST_NONE, .capacity = 9},
        {.kind = SLIST_INT, .i = 7},
    };
    enum { N = sizeof items / sizeof items[0] };
    struct slist_item now[N];
    memcpy(now, items, sizeof items);
    static char full[N][16];
    struct slist l;
    make(&l, name, items, N);
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < N; i++) {
            struct slist_item got;
            memset(&got, 0, sizeof got);
            if (slist_get(&l, i, &got) == -1)
                lab_fail("slist_get of item %zu failed (see stderr)", i);
            struct slist_item it = {.kind = SLIST_INT, .i = -1};
            if (pass == 1 && got.capacity > 0 && got.capacity <= sizeof full[i]) {
                memset(full[i], 'a' + (int)i, got.capacity);
                it = (struct slist_item){.kind = SLIST_STRING, .s = full[i],
                                         .len = got.capacity};
            } else if (pass == 2) {
                it = (struct slist_item){.kind = SLIST_DOUBLE, .d = -DBL_MAX};
            }
            if (slist_set(&l, i, &it) == -1)
                lab_fail("slist_set of item %zu failed (see stderr)", i);
            now[i] = it;
            char d[300];
            expect_item(&l, i, &it, "slist_set of that item");
            for (size_t j = 0; j < N; j++) {
                const char *why = j == i ? NULL : differs(&l, j, &now[j]);
                if (why != NULL)
                    lab_fail("after slist_set of item %zu (%s), %s. Each item's slot and its "
                             "string's room must be its own: two that overlap (a room that "
                             "starts too early, or runs into the next) change each other", i,
                             describe(&it, d, sizeof d), why);
            }
        }
    }
    drop(&l, name);
}
END_TEST

/*
 * The attacher's own view decides which indices exist: the length it saw
 * when it attached (l->len) and the size it mapped. Another process then
 * overwrites the list's header: every word of its first 64 bytes that held
 * the length now says 12, 1000, 65536, 2^40, or 2^64 - 1 items. Items past
 * the 11 the attacher saw must still be refused, and nothing may crash.
 */
static const size_t header_items = 11;

struct header_attack {
    struct slist *made, *seen;
    size_t at[16], width[16], n;  /* where the length was found, and its width in bytes */
};

static void overwrite_the_length(void *arg, struct progress *p)
{
    struct header_attack *h = arg;
    static const uint64_t lengths[] = {12, 1000, 65536, 1ULL << 40, UINT64_MAX};
    static const size_t indices[] = {11, 12, 999, 65535, 1 << 20, 1 << 28, (size_t)1 << 36,
                                     SIZE_MAX / 2, SIZE_MAX};
    const struct slist_item five = {.kind = SLIST_INT, .i = 5};
    for (size_t v = 0; v < sizeof lengths / sizeof lengths[0]; v++) {
        for (size_t k = 0; k < h->n; k++) {
            uint32_t narrow = (uint32_t)lengths[v];
            memcpy((char *)h->made->addr + h->at[k], h->width[k] == 8 ? (void *)&lengths[v] :
                   (void *)&narrow, h->width[k]);
        }
        for (size_t i = 0; i < sizeof indices / sizeof indices[0]; i++) {
            snprintf(p->doing, sizeof p->doing, "its header overwritten to say %" PRIu64
                     " items, slist_get or slist_set of item %zu", lengths[v], indices[i]);
            struct slist_item got;
            if (slist_get(h->seen, indices[i], &got) == 0)
                child_says(p, "slist_get of item %zu succeeded", indices[i]);
            if (slist_set(h->seen, indices[i], &five) == 0)
                child_says(p, "slist_set of item %zu succeeded", indices[i]);
        }
        if (h->seen->len != header_items)
            child_says(p, "its header overwritten to say %" PRIu64 " items, the attacher's "
                       "l->len became %zu", lengths[v], h->seen->len);
    }
}

START_TEST(every_index_is_checked_against_the_attachers_own_length)
{
    const char *name = lab_name("header");
    struct slist_item items[11];
    items[0] = (struct slist_item){STR("first"), .capacity = 64};
    for (size_t i = 1; i < header_items; i++)
        items[i] = (struct slist_item){.kind = SLIST_INT, .i = (int64_t)i * 1000};
    struct slist made, seen;
    make(&made, name, items, header_items);
    if (slist_attach(&seen, name) == -1)
        lab_fail("slist_attach of a list just made failed (see stderr)");
    /* Where this list keeps its length: the words of its header that hold 11. */
    struct header_attack h = {.made = &made, .seen = &seen};
    unsigned char *bytes = made.addr;
    unsigned char *clean = malloc(made.size);
    if (clean == NULL)
        lab_fail("harness: out of memory");
    memcpy(clean, bytes, made.size);
    for (size_t at = 0; at + 4 <= made.size && at < 64 && h.n < 16; at += 4) {
        uint64_t wide = 0;
        uint32_t narrow;
        memcpy(&narrow, bytes + at, 4);
        if (at % 8 == 0 && at + 8 <= made.size)
            memcpy(&wide, bytes + at, 8);
        if (wide == header_items || narrow == header_items) {
            h.at[h.n] = at;
            h.width[h.n++] = wide == header_items ? 8 : 4;
            at += wide == header_items ? 4 : 0;
        }
    }
    struct progress *p = progress_map();
    int status = in_child(overwrite_the_length, &h, p);
    memcpy(bytes, clean, made.size);
    free(clean);
    slist_detach(&seen);
    drop(&made, name);
    char doing[sizeof p->doing], said[sizeof p->said];
    memcpy(doing, p->doing, sizeof doing);
    memcpy(said, p->said, sizeof said);
    munmap(p, sizeof *p);
    const char *fix = "An index must be checked against the length this process saw when it "
                      "attached (l->len) and the size it mapped, never against the header, "
                      "which any process can overwrite";
    if (WIFSIGNALED(status))
        lab_fail("a list of %zu items was attached; then, with %s crashed (%s). %s",
                 header_items, doing, lab_describe_status(status), fix);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
        lab_fail("a list of %zu items was attached; then, with its header overwritten by "
                 "another process, %s. %s", header_items, said, fix);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lab_fail("harness: the child that overwrote the header %s", lab_describe_status(status));
}
END_TEST

/*
 * The list's whole life, in the scenario process: made, attached a second
 * time, written through the second mapping, read through the first,
 * detached, unlinked; and an attach of a segment that is not a list. Each
 * call the code makes that can fail is failed in turn by the harness: the
 * function that made it must say so and leave nothing behind (no segment,
 * no mapping, no descriptor), and what it did before must still hold.
 */
/* In the scenario: the list goes (what is left is then the code's doing), and the test fails. */
static void scenario_fails(struct slist *l, const char *name, const char *why)
    __attribute__((noreturn));
static void scenario_fails(struct slist *l, const char *name, const char *why)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", why);  /* why may be differs' buffer */
    if (l != NULL)
        slist_detach(l);
    shm_unlink(name);
    lab_worker_fail("%s", copy);
}

static int whole_life(void *arg)
{
    (void)arg;
    const char *name = lab_name("every-failure");
    const struct table *t = find_table("mixed");
    struct slist made, seen;
    char why[1024];
    if (slist_create(&made, name, t->before, t->n) == -1)
        return LAB_REPORTED;
    for (size_t i = 0; i < t->n; i++) {
        const char *d = differs(&made, i, &t->before[i]);
        if (d != NULL) {
            snprintf(why, sizeof why, "slist_create returned 0, but then %s", d);
            scenario_fails(&made, name, why);
        }
    }
    int rc = LAB_SUCCEEDED;
    const struct slist_item *now = t->before;
    if (slist_attach(&seen, name) == -1) {
        rc = LAB_REPORTED;
    } else {
        if (seen.len != t->n) {
            snprintf(why, sizeof why, "slist_attach returned 0, but the list it mapped has "
                     "%zu items, not %zu", seen.len, t->n);
            slist_detach(&seen);
            scenario_fails(&made, name, why);
        }
        for (size_t i = 0; i < t->n; i++)
            if (slist_set(&seen, i, &t->after[i]) == -1) {
                snprintf(why, sizeof why, "slist_set of item %zu, through a second attach, "
                         "failed", i);
                slist_detach(&seen);
                scenario_fails(&made, name, why);
            }
        now = t->after;
        if (slist_detach(&seen) == -1)
            rc = LAB_REPORTED;
    }
    for (size_t i = 0; i < t->n; i++) {
        const char *d = differs(&made, i, &now[i]);
        if (d != NULL) {
            snprintf(why, sizeof why, "after %s, the list as made: %s", rc == LAB_REPORTED ?
                     "a failed slist_attach" : "slist_set through a second attach", d);
            scenario_fails(&made, name, why);
        }
    }
    if (slist_detach(&made) == -1)
        rc = LAB_REPORTED;
    if (slist_unlink(name) == -1) {
        rc = LAB_REPORTED;
    } else {
        /* 0 means the name is gone: a failed shm_unlink must not be reported as done. */
        int left = shm_open(name, O_RDONLY, 0);
        if (left != -1 || errno != ENOENT) {
            if (left != -1)
                close(left);
            lab_worker_fail("slist_unlink returned 0, but the name %s is still there "
                            "(shm_open of it %s): when shm_unlink fails, slist_unlink must "
                            "return -1, not report the segment gone", name, left != -1 ?
                            "succeeded" : strerror(errno));
        }
    }
    /* A segment that is not a list: refused, whatever fails on the way. */
    const char *raw = lab_name("every-failure-raw");
    int fd = shm_open(raw, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1 || ftruncate(fd, 4096) == -1)
        lab_worker_fail("harness: making the segment %s: %s", raw, strerror(errno));
    close(fd);
    struct slist wrong;
    int accepted = slist_attach(&wrong, raw) == 0;
    shm_unlink(raw);
    if (accepted) {
        slist_detach(&wrong);
        lab_worker_fail("slist_attach accepted 4096 zero bytes as a list");
    }
    return rc;
}

START_TEST(every_failing_call_is_reported_and_leaves_nothing)
{
    lab_try_each_failure("the list's life (slist_create, attach, get, set, detach, unlink)",
                         whole_life, NULL);
}
END_TEST

START_TEST(the_list_is_made_for_its_owner_only)
{
    const char *name = lab_name("mode");
    const struct slist_item one = {.kind = SLIST_INT, .i = 1};
    struct slist l;
    mode_t mask = umask(0);  /* the mode the code asks for, not what the umask leaves of it */
    make(&l, name, &one, 1);
    umask(mask);
    int fd = shm_open(name, O_RDONLY, 0);
    struct stat st;
    if (fd == -1 || fstat(fd, &st) == -1)
        lab_fail("harness: the list's segment %s: %s", name, strerror(errno));
    close(fd);
    drop(&l, name);
    if ((st.st_mode & 0077) != 0 || (st.st_mode & 0600) != 0600)
        lab_fail("slist_create made the segment with mode %04o: the header says 0600, read "
                 "and write for its owner only; any other user could read or change the list",
                 (unsigned)(st.st_mode & 07777));
}
END_TEST

static void create_attach_detach_unlink(void)
{
    const char *name = lab_name("cycle");
    const struct slist_item items[] = {{STR("cycle"), .capacity = 64}, {.kind = SLIST_INT}};
    struct slist a, b;
    make(&a, name, items, 2);
    if (slist_attach(&b, name) == -1)
        lab_fail("slist_attach of a list just made failed (see stderr)");
    if (slist_detach(&b) == -1 || slist_detach(&a) == -1 || slist_unlink(name) == -1)
        lab_fail("slist_detach or slist_unlink failed (see stderr)");
    make_raw(name, 4096, 0);  /* and an attach that is refused */
    if (slist_attach(&b, name) == 0)
        lab_fail("slist_attach accepted 4096 zero bytes as a list");
    shm_unlink(name);
    /* and a create refused for its last item, when the rest may be made already */
    const struct slist_item bad[] = {{STR("fine"), .capacity = 4096}, {.kind = (enum slist_kind)99}};
    if (slist_create(&a, name, bad, 2) == 0)
        lab_fail("slist_create made a list holding an item of kind 99");
    shm_unlink(name);
}

START_TEST(nothing_is_left_mapped_or_open)
{
    lab_expect_no_mapping_leak(create_attach_detach_unlink, 50,
                               "lists made, attached, detached and unlinked",
                               "slist_detach must munmap what create and attach mapped, and "
                               "a refused attach or create must unmap what it mapped");
}
END_TEST

int main(int argc, char *argv[])
{
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 % 251);  /* every byte value but a few, NULs too */
    if (argc == 5 && strcmp(argv[1], "--other") == 0)
        return other_program(argv[2], argv[3], argv[4]);
    Suite *s = suite_create("05-shareable-list");
    lab_add(s, every_kind_round_trips_through_another_program);
    lab_add(s, strings_with_nul_bytes_and_utf8_survive_intact);
    lab_add(s, a_string_longer_than_its_slot_is_refused);
    lab_add(s, a_number_slot_made_without_room_takes_no_string);
    lab_add(s, a_slot_is_measured_in_bytes_not_characters);
    lab_add(s, its_length_never_changes);
    lab_add(s, attach_refuses_a_segment_that_is_not_a_list);
    lab_add(s, bad_creates_leave_nothing_behind);
    lab_add(s, the_largest_list_and_slot_are_made);
    lab_add(s, an_overwritten_list_is_refused_never_trusted);
    lab_add(s, a_list_overwritten_after_attach_is_not_trusted_either);
    lab_add(s, nothing_is_left_mapped_or_open);
    lab_add_long(s, every_failing_call_is_reported_and_leaves_nothing, 3);
    lab_add(s, values_at_the_edges_of_their_range_and_an_empty_list_round_trip);
    lab_add(s, random_lists_read_back_exactly_in_another_program);
    lab_add(s, a_slot_has_room_for_the_longer_of_its_capacity_and_its_string);
    lab_add(s, writing_an_item_changes_no_other_item);
    lab_add(s, every_index_is_checked_against_the_attachers_own_length);
    lab_add(s, the_list_is_made_for_its_owner_only);
    lab_messages_name_objects();  /* the header promises the name in each message */
    return lab_main(s);
}
