/*
 * Lesson 04, a segment's life: the tests.
 *
 * Every name goes through lab_name(), so it carries this run's prefix and
 * the harness reports a segment left in /dev/shm as "never unlinked".
 * The other side of the round trip is a separate program: this test binary
 * started again with exec, knowing nothing but the segment's name.
 * Nothing here is a race: each check is decided by what the code does.
 * The contract is tried at its edges (sizes 1 and SEGMENT_MAX; 0, past it,
 * and past 2^32, where an int wraps; names of NAME_MAX characters and one
 * more; malformed names), with seeded random sizes and names, and with
 * every call the code makes failed in turn by the harness.
 * Measured with `make stress LESSON=04 RUNS=200` on a 2-core machine
 * (loaded by other jobs, load average about 20): the starter caught
 * 200/200 (0.43 s per run), the solution passed 200/200 (1.8 s per run).
 */
#include "lab.h"
#include "segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG 100000

static const unsigned char first[5] = {22, 33, 44, 55, 100};

/* The other program: attach by name, check both ends, write "howdy". */
static int other_program(const char *name)
{
    struct segment s;
    if (segment_attach(&s, name) == -1)
        return 2;
    unsigned char *b = s.addr;
    if (s.size != BIG)
        return 3;
    if (memcmp(b, first, 5) != 0 || b[BIG - 1] != 77)
        return 4;
    memcpy(b, "howdy", 5);
    return segment_detach(&s) == 0 ? 0 : 5;
}

static void create_or_fail(struct segment *s, const char *name, size_t size)
{
    if (segment_create(s, name, size) == -1)
        lab_fail("segment_create(\"%s\", %zu) failed (its reason is on stderr)", name, size);
}

/* ---- helpers for the edges of the contract ---------------------------- */

/* Descriptors this process holds now. */
static int count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    int n = 0;
    while (readdir(dir) != NULL)
        n++;
    closedir(dir);
    return n;
}

/*
 * Whether a segment of this name exists, asked the way another program
 * would: shm_open by the name (the test's own call, not the code's).
 */
static int name_exists(const char *name)
{
    int fd = shm_open(name, O_RDONLY, 0);
    if (fd == -1)
        return 0;
    close(fd);
    return 1;
}

/* What the code under test writes on stderr while it runs, caught in a file. */
struct caught {
    int saved;
    FILE *file;
    char text[1024];
};

static void catch_stderr(struct caught *c)
{
    fflush(stderr);
    c->file = tmpfile();
    c->saved = dup(STDERR_FILENO);
    if (c->file == NULL || c->saved == -1)
        lab_fail("test: tmpfile or dup for catching stderr failed: %s", strerror(errno));
    dup2(fileno(c->file), STDERR_FILENO);
}

/* Puts stderr back, keeps what was written (and shows it, as it would have been). */
static const char *release_stderr(struct caught *c)
{
    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    rewind(c->file);
    size_t n = fread(c->text, 1, sizeof c->text - 1, c->file);
    c->text[n] = '\0';
    fclose(c->file);
    fputs(c->text, stderr);
    return c->text;
}

/*
 * A create the contract refuses: it must return -1, say why on stderr, and
 * make nothing (no name, no mapping, no descriptor). `what` says the request
 * in words ("a size of 0").
 */
static void expect_create_refused(const char *name, size_t size, const char *what)
{
    int fds = count_fds(), maps = lab_count_shared_mappings();
    struct segment s = {NULL, 0};
    struct caught c;
    catch_stderr(&c);
    int rc = segment_create(&s, name, size);
    const char *said = release_stderr(&c);
    if (rc == 0) {
        int there = name_exists(name);
        if (s.addr != NULL && s.size > 0)
            munmap(s.addr, s.size);
        shm_unlink(name);
        lab_fail("segment_create with %s returned 0 (a segment of %zu bytes%s): the header "
                 "says it must refuse (-1, and why on stderr)", what, s.size,
                 there ? " was made" : ", though none exists under that name");
    }
    if (said[0] == '\0')
        lab_fail("segment_create refused %s, but said nothing on stderr: the header promises "
                 "a message saying what was wrong", what);
    if (name_exists(name)) {
        shm_unlink(name);
        lab_fail("segment_create refused %s, but left a segment of that name behind", what);
    }
    if (count_fds() > fds)
        lab_fail("segment_create refused %s, but left %d descriptor(s) open", what,
                 count_fds() - fds);
    if (lab_count_shared_mappings() > maps)
        lab_fail("segment_create refused %s, but left %d shared mapping(s) mapped", what,
                 lab_count_shared_mappings() - maps);
}

/* The whole life of a segment of `size` bytes under `name`, checked at both ends. */
static void round_trip(const char *name, size_t size, const char *what)
{
    struct segment s, t;
    if (segment_create(&s, name, size) == -1)
        lab_fail("segment_create of %s failed (its reason is on stderr)", what);
    unsigned char *b = s.addr;
    if (s.size != size)
        lab_fail("segment_create of %s said its size is %zu", what, s.size);
    if (b[0] != 0 || b[size - 1] != 0)
        lab_fail("a new segment (%s) is not zero-filled", what);
    if (!name_exists(name))
        lab_fail("after segment_create of %s, another program that opens the segment by its "
                 "name (shm_open) finds none: the segment must be made under exactly the name "
                 "given", what);
    b[0] = 11;
    b[size - 1] = 22;
    if (segment_attach(&t, name) == -1)
        lab_fail("segment_attach of %s failed (its reason is on stderr)", what);
    unsigned char *c = t.addr;
    if (t.size != size)
        lab_fail("segment_attach of %s reported size %zu: the size must be the segment's own "
                 "(fstat says it), whatever it is", what, t.size);
    if (c[0] != (size == 1 ? 22 : 11) || c[size - 1] != 22)  /* one byte is both ends */
        lab_fail("segment_attach of %s mapped something else: the creator wrote 11 and 22 at "
                 "its ends, the attacher sees %d and %d", what, c[0], c[size - 1]);
    c[size - 1] = 33;
    if (b[size - 1] != 33)
        lab_fail("the attacher of %s wrote its last byte, the creator does not see it", what);
    if (segment_detach(&t) == -1 || segment_detach(&s) == -1)
        lab_fail("segment_detach of %s failed (its reason is on stderr)", what);
    if (segment_unlink(name) == -1)
        lab_fail("segment_unlink of %s failed (its reason is on stderr)", what);
    if (name_exists(name))
        lab_fail("after segment_unlink of %s, the name is still there", what);
}

/* "/shmlab-<run>-<base>nnnn...": a name of this run, `length` characters long with its '/'. */
static void long_name(char *out, size_t size, const char *base, size_t length)
{
    snprintf(out, size, "%s", lab_name(base));
    size_t n = strlen(out);
    while (n < length && n + 1 < size)
        out[n++] = 'n';
    out[n] = '\0';
}

START_TEST(a_program_started_by_exec_shares_the_segment)
{
    char name[256];
    snprintf(name, sizeof name, "%s", lab_name("howdy"));
    struct segment s;
    create_or_fail(&s, name, BIG);
    unsigned char *b = s.addr;
    memcpy(b, first, 5);
    b[BIG - 1] = 77;
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "other-program", "--attach", name, (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        lab_fail("the other program crashed (%s) reading both ends of a %d-byte segment and "
                 "writing \"howdy\" at its start: it mapped less than the segment's size "
                 "(attach must map the real size, which fstat tells), or mapped it without "
                 "PROT_WRITE", lab_describe_status(status), BIG);
    static const char *why[] = {
        [2] = "segment_attach failed (see stderr)",
        [3] = "segment_attach reported the wrong size: it must be the segment's own (fstat)",
        [4] = "it did not see the bytes the creator wrote",
        [5] = "segment_detach failed",
    };
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code != 0)
        lab_fail("the other program, started by exec, %s", code >= 2 && code <= 5 ? why[code]
                                                             : lab_describe_status(status));
    if (memcmp(b, "howdy", 5) != 0)
        lab_fail("the other program wrote \"howdy\", the creator sees \"%.5s\"", (char *)b);
    if (segment_detach(&s) == -1 || segment_unlink(name) == -1)
        lab_fail("segment_detach or segment_unlink failed (see stderr)");
}
END_TEST

START_TEST(unlink_removes_the_name)
{
    const char *name = lab_name("gone");
    struct segment s;
    create_or_fail(&s, name, 10);
    if (segment_detach(&s) == -1)
        lab_fail("segment_detach failed (see stderr)");
    if (segment_unlink(name) == -1)
        lab_fail("segment_unlink(\"%s\") failed (see stderr)", name);
    struct segment again;
    if (segment_attach(&again, name) == 0)
        lab_fail("after segment_unlink, the segment \"%s\" can still be attached: the name "
                 "was never removed, so the segment outlives every process", name);
}
END_TEST

START_TEST(bad_requests_get_clear_errors)
{
    struct segment s;
    const char *name = lab_name("bad");
    if (segment_attach(&s, name) == 0)
        lab_fail("attaching a segment that does not exist succeeded");
    if (segment_unlink(name) == 0)
        lab_fail("unlinking a segment that does not exist succeeded");
    if (segment_create(&s, name, 0) == 0)
        lab_fail("a segment of 0 bytes was created");
    if (segment_create(&s, name, SEGMENT_MAX + 1) == 0)
        lab_fail("a segment larger than SEGMENT_MAX was created");
    if (segment_create(&s, lab_name("bad") + 1, 10) == 0)
        lab_fail("a name without its leading '/' was accepted");
    create_or_fail(&s, name, 10);
    struct segment twin;
    if (segment_create(&twin, name, 10) == 0)
        lab_fail("a second segment_create of the same name succeeded: it must refuse "
                 "(O_EXCL), or it takes over somebody else's segment");
    if (segment_detach(&s) == -1 || segment_unlink(name) == -1)
        lab_fail("cleaning up failed (see stderr)");
    if (segment_unlink(name) == 0)
        lab_fail("a second segment_unlink of the same name succeeded");
}
END_TEST

START_TEST(only_its_owner_may_use_it)
{
    char path[300];
    const char *name = lab_name("private");
    struct segment s;
    mode_t old_umask = umask(0);  /* the mode must come from the code, not the umask */
    create_or_fail(&s, name, 10);
    umask(old_umask);
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm%s", name);
    int mode = stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
    segment_detach(&s);
    segment_unlink(name);
    if (mode != 0600)
        lab_fail("the segment was created with mode %03o: only its owner should read and write "
                 "it (0600)", mode);
}
END_TEST

START_TEST(a_failed_create_leaves_nothing_behind)
{
    /* A file size limit makes ftruncate fail half-way through creation. */
    const char *name = lab_name("half-made");
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit small = {4096, 4096};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &small);
        struct segment s;
        _exit(segment_create(&s, name, 65536) == -1 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lab_fail("segment_create of 64 kB succeeded under a 4 kB file size limit: the "
                 "ftruncate that failed was not checked");
    struct segment s;
    if (segment_attach(&s, name) == 0) {
        segment_detach(&s);
        lab_fail("a segment_create that failed left its segment behind: undo what was made "
                 "(shm_unlink) when a later step fails");
    }
}
END_TEST

START_TEST(the_smallest_and_the_largest_sizes_work)
{
    round_trip(lab_name("one-byte"), 1, "a 1-byte segment");
    /* 1 GiB of address space; only two pages of it are ever touched. */
    size_t largest = lab_largest_segment(SEGMENT_MAX);
    char what[128];
    snprintf(what, sizeof what, "a segment of %s (%zu bytes)", largest == SEGMENT_MAX ?
             "SEGMENT_MAX" : "the most the grader's limits allow", largest);
    round_trip(lab_name("largest"), largest, what);
}
END_TEST

START_TEST(sizes_outside_1_to_SEGMENT_MAX_are_refused)
{
    /* The ones that pass through an int or an unsigned as 0, negative, or small. */
    const char *name = lab_name("too-big");
    expect_create_refused(name, 0, "a size of 0");
    expect_create_refused(name, SEGMENT_MAX + 1, "a size of SEGMENT_MAX + 1");
    expect_create_refused(name, (size_t)1 << 31, "a size of 2^31 (an int sees it negative)");
    expect_create_refused(name, (size_t)1 << 32, "a size of 2^32 (an int sees 0)");
    expect_create_refused(name, ((size_t)1 << 32) + 4096,
                          "a size of 2^32 + 4096 (an int or unsigned sees 4096)");
    expect_create_refused(name, SIZE_MAX, "a size of SIZE_MAX (a signed type sees -1)");
}
END_TEST

START_TEST(the_longest_name_works_and_a_longer_one_is_refused)
{
    /* '/' and NAME_MAX characters: the longest name a segment can have on Linux. */
    char name[NAME_MAX + 8];
    long_name(name, sizeof name, "longest-", 1 + NAME_MAX);
    round_trip(name, 4096, "a segment whose name is '/' and NAME_MAX (255) characters");
    long_name(name, sizeof name, "longest-", 2 + NAME_MAX);
    expect_create_refused(name, 4096, "a name one character longer than NAME_MAX");
    struct segment s;
    if (segment_attach(&s, name) == 0)
        lab_fail("segment_attach of a name longer than NAME_MAX succeeded");
}
END_TEST

START_TEST(names_that_are_not_a_slash_and_a_name_are_refused)
{
    char name[300];
    expect_create_refused("", 10, "the empty name");
    expect_create_refused("/", 10, "the name \"/\"");
    expect_create_refused(lab_name("no-slash") + 1, 10, "a name without its leading '/'");
    snprintf(name, sizeof name, "/%s", lab_name("two-slashes"));
    expect_create_refused(name, 10, "a name starting with two '/' (\"//name\")");
    snprintf(name, sizeof name, "%s/inner", lab_name("dir"));
    expect_create_refused(name, 10, "a name with another '/' inside (\"/a/b\")");

    /* Attach and unlink check names too: glibc alone would take "x" and "//x" for "/x". */
    const char *real = lab_name("named");
    struct segment s;
    if (segment_create(&s, real, 4096) == -1)
        lab_fail("segment_create(\"%s\", 4096) failed (see stderr)", real);
    char doubled[300];
    snprintf(doubled, sizeof doubled, "/%s", real);
    const char *other[] = {real + 1, doubled};
    const char *what[] = {"without its leading '/'", "with two '/' (\"//name\")"};
    for (int i = 0; i < 2; i++) {
        struct segment t;
        if (segment_attach(&t, other[i]) == 0) {
            segment_detach(&t);
            segment_detach(&s);
            shm_unlink(real);
            lab_fail("segment_attach of the name %s (\"%s\") succeeded: the rule for names "
                     "holds for every function (glibc quietly takes that name for \"%s\"; "
                     "other systems do not)", what[i], other[i], real);
        }
        if (segment_unlink(other[i]) == 0 || !name_exists(real)) {
            segment_detach(&s);
            shm_unlink(real);
            lab_fail("segment_unlink of the name %s (\"%s\") %s: the rule for names holds "
                     "for every function", what[i], other[i], name_exists(real) ?
                     "returned 0" : "removed the segment");
        }
    }
    segment_detach(&s);
    if (segment_unlink(real) == -1)
        lab_fail("segment_unlink(\"%s\") failed (see stderr)", real);
}
END_TEST

/*
 * Random sizes (page edges, odd sizes, up to 4 MiB) and name lengths, each
 * round trip checked; and random sizes past SEGMENT_MAX, each refused.
 */
START_TEST(random_sizes_and_names_round_trip)
{
    char name[NAME_MAX + 8], what[160];
    for (int i = 0; i < 30; i++) {
        uint64_t r = lab_random();
        size_t size;
        switch (r % 3) {
        case 0:
            size = 1 + (size_t)(r >> 8) % 4096;
            break;
        case 1:  /* a page edge: k pages, and one byte less or more */
            size = 4096 * (1 + (size_t)(r >> 8) % 1024) + (size_t)((r >> 20) % 3) - 1;
            break;
        default:
            size = 1 + (size_t)(r >> 8) % (4u << 20);
            break;
        }
        size_t length = strlen(lab_name("random-")) + (size_t)(lab_random() % 200);
        if (length > 1 + NAME_MAX)
            length = 1 + NAME_MAX;
        long_name(name, sizeof name, "random-", length);
        snprintf(what, sizeof what, "a segment of %zu bytes named with %zu characters%s", size,
                 length, lab_seed_note());
        round_trip(name, size, what);
        size_t big = SEGMENT_MAX + 1 + (size_t)(lab_random() % (SIZE_MAX - SEGMENT_MAX));
        snprintf(what, sizeof what, "a size of %zu (past SEGMENT_MAX)%s", big, lab_seed_note());
        expect_create_refused(name, big, what);
    }
}
END_TEST

static void create_attach_detach_unlink(void)
{
    struct segment s, t;
    const char *name = lab_name("cycle");
    create_or_fail(&s, name, 8192);
    if (segment_attach(&t, name) == -1)
        lab_fail("segment_attach failed (see stderr)");
    if (segment_detach(&t) == -1 || segment_detach(&s) == -1 || segment_unlink(name) == -1)
        lab_fail("segment_detach or segment_unlink failed (see stderr)");
}

/*
 * The segment's whole life, in the scenario process: create, attach, detach
 * both, unlink. Each call the code makes is failed in turn by the harness:
 * the function that made it must say so, and leave nothing behind; and what
 * it reports must be true. A failed attach must leave the segment as it was
 * (its name, the creator's bytes); an unlink that says it succeeded must
 * have removed the name.
 */
static int whole_life(void *arg)
{
    (void)arg;
    const char *name = lab_name("every-failure");
    char path[300];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    struct segment made, seen;
    if (segment_create(&made, name, 4096) == -1)
        return LAB_REPORTED;
    /* Its real size, seen by the test: a create that says it succeeded must have made it so. */
    struct stat st;
    long long real = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    if (real != 4096) {
        shm_unlink(name);  /* the scenario's own cleaning: what is wrong is said below */
        lab_worker_fail("segment_create said it succeeded, but the segment %s has %lld bytes, "
                        "not 4096: a step that failed (ftruncate?) was not checked", name, real);
    }
    unsigned char *b = made.addr;
    b[0] = 1;
    b[4095] = 2;
    int rc = LAB_SUCCEEDED;
    if (segment_attach(&seen, name) == -1) {
        rc = LAB_REPORTED;
        if (!name_exists(name) || b[0] != 1 || b[4095] != 2)
            lab_worker_fail("segment_attach failed, and the segment it failed to attach was "
                            "changed or removed: an attach that fails must leave the segment "
                            "as it was");
    } else {
        const unsigned char *c = seen.addr;
        if (seen.size != 4096 || c[0] != 1 || c[4095] != 2)
            lab_worker_fail("segment_attach said it succeeded, but the segment it mapped "
                            "is not the one made (size %zu)", seen.size);
        if (segment_detach(&seen) == -1)
            rc = LAB_REPORTED;
    }
    if (segment_detach(&made) == -1)
        rc = LAB_REPORTED;
    if (segment_unlink(name) == -1)
        return LAB_REPORTED;
    if (name_exists(name))
        lab_worker_fail("segment_unlink returned 0, but the name is still there: it must "
                        "remove the name (shm_unlink), and report it when shm_unlink fails "
                        "instead of carrying on");
    return rc;
}

START_TEST(every_failing_call_is_reported_and_leaves_nothing)
{
    lab_try_each_failure("the segment's life (create, attach, detach, unlink)", whole_life,
                         NULL);
}
END_TEST

START_TEST(nothing_is_left_mapped_or_open)
{
    lab_expect_no_mapping_leak(create_attach_detach_unlink, 50,
                               "segments created, attached, detached and removed",
                               "segment_detach must munmap what create and attach mapped");
}
END_TEST

int main(int argc, char *argv[])
{
    if (argc == 3 && strcmp(argv[1], "--attach") == 0)
        return other_program(argv[2]);
    Suite *s = suite_create("04-segment-lifecycle");
    lab_add(s, a_program_started_by_exec_shares_the_segment);
    lab_add(s, unlink_removes_the_name);
    lab_add(s, bad_requests_get_clear_errors);
    lab_add(s, only_its_owner_may_use_it);
    lab_add(s, a_failed_create_leaves_nothing_behind);
    lab_add(s, nothing_is_left_mapped_or_open);
    lab_add(s, the_smallest_and_the_largest_sizes_work);
    lab_add(s, sizes_outside_1_to_SEGMENT_MAX_are_refused);
    lab_add(s, the_longest_name_works_and_a_longer_one_is_refused);
    lab_add(s, names_that_are_not_a_slash_and_a_name_are_refused);
    lab_add(s, random_sizes_and_names_round_trip);
    lab_add_long(s, every_failing_call_is_reported_and_leaves_nothing, 3);
    lab_messages_name_objects();  /* the header promises the name in each message */
    return lab_main(s);
}
