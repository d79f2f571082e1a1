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
 * Nothing here is a race: each check is decided by what the code does.
 * Measured with `make stress LESSON=05 RUNS=200` on a 2-core machine: the
 * starter caught 200/200 (0.02 s per run), the solution passed 200/200 (0.15 s
 * per run: the 600 rounds of overwritten lists are most of it).
 */
#include "lab.h"
#include "slist.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

struct table {
    const char *name;
    const struct slist_item *before, *after;
    size_t n;
};

static const struct table tables[] = {
    {"mixed", mixed, mixed_after, sizeof mixed / sizeof mixed[0]},
    {"bytes", bytes, bytes_after, sizeof bytes / sizeof bytes[0]},
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
    case SLIST_DOUBLE: snprintf(out, size, "the double %g", it->d); break;
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
    if (want->kind == SLIST_STRING && memchr(want->s, '\0', want->len) != NULL &&
        got.len < want->len)
        strncat(why, ": bytes after a NUL were lost. A string here is its bytes and their "
                "count, not a C string: NUL is a byte like any other (strlen, strcpy and "
                "trimming NULs all drop some)", sizeof why - strlen(why) - 1);
    return why;
}

/* ---- the other program ------------------------------------------------ */

/*
 * Attaches the list, checks that it holds table->before, writes
 * table->after over it. Says what was wrong on stdout, for the creator.
 */
static int other_program(const char *name, const char *table_name, const char *creator_addr)
{
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

/* Runs the other program on the list; fails the test, in its words, if it failed. */
static void run_other_program(const char *name, const char *table, const struct slist *l)
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
                 "that is not the string in its own memory", lab_describe_status(status), said);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lab_fail("the other program, started by exec, %s: %s", lab_describe_status(status),
                 said[0] ? said : "(it said nothing)");
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
}
END_TEST

/*
 * The segment is memory any process of its owner may write. After random
 * bytes of a list were overwritten, slist_attach may refuse it, or accept
 * it; slist_get may refuse an item, or give it: but a string it gives must
 * lie inside the segment, and nothing may crash. Each round runs in a child,
 * so a crash is seen and told. The rounds are the same every run (a fixed
 * seed), so a verdict never depends on luck.
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

/* In a child: attach (or use a list attached before), read every item. Exit 0, or 3 and a reason. */
static void read_all_or_say(const struct slist *l, int out)
{
    for (size_t i = 0; i < l->len && i < SLIST_MAX_ITEMS; i++) {
        struct slist_item got;
        memset(&got, 0, sizeof got);
        if (slist_get(l, i, &got) == -1 || got.kind != SLIST_STRING || got.len == 0)
            continue;
        uintptr_t start = (uintptr_t)l->addr, end = start + l->size, at = (uintptr_t)got.s;
        if (at < start || at > end || got.len > end - at) {
            dprintf(out, "slist_get gave item %zu as a string of %zu bytes at %p, outside the "
                    "segment (%p to %p)", i, got.len, (void *)got.s, l->addr, (void *)end);
            _exit(3);
        }
    }
    _exit(0);
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
    uint64_t state = 20261126;
    char said[512] = "";
    const char *why = NULL;
    int status = 0;
    for (int round = 0; round < ROUNDS && why == NULL; round++) {
        memcpy(l.addr, clean, l.size);
        int out[2];
        if (pipe(out) == -1)
            lab_fail("harness: pipe: %s", strerror(errno));
        uint64_t round_state = state;
        next_random(&state);
        pid_t pid = fork();
        if (pid == 0) {
            close(out[0]);
            fclose(stderr);  /* the refusals' messages are expected: 300 rounds of them */
            struct slist seen;
            if (after_attach) {
                if (slist_attach(&seen, name) == -1)
                    _exit(4);
                overwrite(seen.addr, seen.size, &round_state);
            } else {
                overwrite(l.addr, l.size, &round_state);
                if (slist_attach(&seen, name) == -1)
                    _exit(0);  /* refused: fine */
            }
            read_all_or_say(&seen, out[1]);
        }
        close(out[1]);
        ssize_t got = read(out[0], said, sizeof said - 1);
        said[got > 0 ? got : 0] = '\0';
        close(out[0]);
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status))
            why = "crashed";
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
            why = said;
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 4)
            why = "could not attach the list before it was overwritten";
    }
    memcpy(l.addr, clean, l.size);
    free(clean);
    drop(&l, name);
    if (why == NULL)
        return;
    if (strcmp(why, "crashed") == 0)
        lab_fail("some bytes of a list were overwritten, %s it was attached; then reading its "
                 "items crashed (%s). The segment is memory that other processes write: check "
                 "every length and offset read from it before using it",
                 after_attach ? "after" : "before", lab_describe_status(status));
    lab_fail("some bytes of a list were overwritten, %s it was attached; then %s. The "
             "segment is memory that other processes write: check every length and offset "
             "read from it before using it%s", after_attach ? "after" : "before", why,
             after_attach ? ", at every slist_get, not only in slist_attach" : "");
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
    return lab_main(s);
}
