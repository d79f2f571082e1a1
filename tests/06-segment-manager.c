/*
 * Lesson 06, the segment manager: the tests.
 *
 * A program (the test process itself, or a process it forks and then
 * ends) starts a manager; its workers make segments through it. The tests
 * end the program in every way a program ends: shutdown, a worker killed
 * half-way or inside shm_open (the lesson's build wraps shm_open: see
 * tests/harness/crash_shm_open.c), SIGKILL, SIGINT and SIGTERM sent to its
 * whole process group as a terminal does, a worker or an exec'd program
 * outliving it; then they look in /dev/shm. A segment of another program,
 * which the program's workers attach to, must survive all of it. Whatever
 * a manager leaves running is reported by the harness, and every name
 * carries the run's prefix, so a leftover is seen and removed.
 * After a program is ended, the test waits until every process of it,
 * a manager's own included, has ended (up to 5 s), then looks; where a
 * wrong manager would act too early or too late, it watches for 0.5 s or
 * 2 s. A correct manager passes whatever the timing.
 * Measured with `make stress LESSON=06 RUNS=200` on a 2-core machine: the
 * starter caught 200/200 (2.54 s per run), the solution passed 200/200
 * (0.55 s per run); with two busy loops running, 100/100 and 100/100
 * (0.69 s per run).
 */
#include "lab.h"
#include "segmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLEANUP_SECONDS 5.0

typedef char name_t[256];

static void name(name_t out, const char *base)
{
    snprintf(out, sizeof(name_t), "%s", lab_name(base));
}

static int exists(const char *n)
{
    int fd = shm_open(n, O_RDONLY, 0);
    if (fd == -1)
        return 0;
    close(fd);
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The first of the names still in /dev/shm, or NULL. */
static const char *still_there(name_t names[], int n)
{
    for (int i = 0; i < n; i++)
        if (exists(names[i]))
            return names[i];
    return NULL;
}

/*
 * Reaps every child, orphans included (the harness makes this process
 * their reaper): so it returns once a manager's own processes have done
 * their cleanup and ended, or after CLEANUP_SECONDS.
 */
static void reap_all(void)
{
    double deadline = now() + CLEANUP_SECONDS;
    while (now() < deadline) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid == -1)
            return;  /* no children left */
        if (pid == 0)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

/* A segment of somebody else's, made without the manager: 4096 bytes of 'f'. */
static void make_foreign(const char *n)
{
    int fd = shm_open(n, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1 || ftruncate(fd, 4096) == -1)
        lab_fail("harness: making the segment %s: %s", n, strerror(errno));
    char f[4096];
    memset(f, 'f', sizeof f);
    if (write(fd, f, sizeof f) != (ssize_t)sizeof f)
        lab_fail("harness: writing the segment %s: %s", n, strerror(errno));
    close(fd);
}

/* Fails the test unless the foreign segment is still there, starting with `first`. */
static void expect_foreign_intact(const char *n, char first, const char *after)
{
    int fd = shm_open(n, O_RDONLY, 0);
    char got = 0;
    if (fd == -1)
        lab_fail("%s, the segment %s, which another program made and the manager only "
                 "attached to, was unlinked: a manager must unlink only the segments it made "
                 "(Python's resource tracker has this bug, gh-82300: the other program loses "
                 "its segment)", after, n);
    ssize_t r = read(fd, &got, 1);
    close(fd);
    if (r != 1 || got != first)
        lab_fail("%s, the segment %s of another program no longer holds what was written "
                 "in it", after, n);
    shm_unlink(n);
}

static void create_or_fail(struct segmgr *m, const char *n, struct segment *s)
{
    if (segmgr_create(m, n, 4096, s) == -1)
        lab_fail("segmgr_create(\"%s\", 4096) failed (its reason is on stderr)", n);
    memcpy(s->addr, n, strlen(n));
}

static struct segmgr *start_or_fail(void)
{
    struct segmgr *m = segmgr_start();
    if (m == NULL)
        lab_fail("segmgr_start failed (its reason is on stderr)");
    return m;
}

/* ---- workers ------------------------------------------------------------ */

struct job {
    struct segmgr *m;
    name_t names[8];     /* worker i makes names[i] */
    name_t foreign;      /* and, if set, attaches this one and writes 'w' at its start */
    int die_after;       /* worker i dies with SIGKILL after making its segment if i == this */
};

static void worker(int i, void *arg)
{
    struct job *job = arg;
    struct segment s, f;
    if (segmgr_create(job->m, job->names[i], 4096, &s) == -1)
        _exit(3);
    memcpy(s.addr, "made by a worker", 16);
    if (i == job->die_after)
        raise(SIGKILL);
    if (job->foreign[0] != '\0') {
        if (segmgr_attach(job->m, job->foreign, &f) == -1)
            _exit(4);
        ((char *)f.addr)[0] = 'w';
        segmgr_detach(&f);
    }
    segmgr_detach(&s);
}

/*
 * Runs n workers that each make a segment; worker die_after (if any) is
 * killed half-way. Returns NULL, or what went wrong.
 */
static const char *run_workers(struct job *job, int n, int die_after)
{
    static char why[256];
    job->die_after = die_after;
    pid_t pids[8];
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == -1)
            return "harness: fork failed";
        if (pids[i] == 0) {
            worker(i, job);
            _exit(0);
        }
    }
    why[0] = '\0';
    for (int i = 0; i < n; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (i != die_after && code != 0 && why[0] == '\0')
            snprintf(why, sizeof why, "worker %d %s: %s", i, lab_describe_status(status),
                     code == 3 ? "its segmgr_create failed (see stderr)"
                     : code == 4 ? "its segmgr_attach of another program's segment failed"
                     : "it crashed");
    }
    return why[0] ? why : NULL;
}

static void run_workers_or_fail(struct job *job, int n, int die_after)
{
    const char *why = run_workers(job, n, die_after);
    if (why != NULL)
        lab_fail("%s", why);
}

/* ---- the tests ---------------------------------------------------------- */

START_TEST(segments_made_by_workers_are_unlinked_at_shutdown)
{
    struct job job = {.m = start_or_fail()};
    name_t own;
    struct segment s;
    name(own, "program");
    create_or_fail(job.m, own, &s);
    for (int i = 0; i < 4; i++) {
        char base[32];
        snprintf(base, sizeof base, "worker-%d", i);
        name(job.names[i], base);
    }
    run_workers_or_fail(&job, 4, -1);
    for (int i = 0; i < 4; i++)
        if (!exists(job.names[i]))
            lab_fail("worker %d's segment %s was gone as soon as the worker ended: the "
                     "manager keeps a segment until shutdown, for the other processes of the "
                     "program", i, job.names[i]);
    segmgr_detach(&s);
    if (segmgr_shutdown(job.m) == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
    if (exists(own))
        lab_fail("after segmgr_shutdown, the program's own segment %s is still in /dev/shm",
                 own);
    const char *left = still_there(job.names, 4);
    if (left != NULL)
        lab_fail("after segmgr_shutdown, the segment %s, made by a worker through the "
                 "manager, is still in /dev/shm: the manager never learnt of it. A list kept "
                 "in the program's own memory does not see what its forked workers add to "
                 "their copies (lesson 01)", left);
}
END_TEST

START_TEST(a_worker_killed_half_way_leaks_nothing)
{
    struct job job = {.m = start_or_fail()};
    name(job.names[0], "survivor");
    name(job.names[1], "killed");
    run_workers_or_fail(&job, 2, 1);
    if (segmgr_shutdown(job.m) == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
    if (still_there(&job.names[1], 1) != NULL)
        lab_fail("a worker made %s through the manager and was killed with SIGKILL before "
                 "it was done; after segmgr_shutdown the segment is still in /dev/shm. The "
                 "manager must know of a segment from the moment it is made, not from "
                 "something the worker does later; and segmgr_shutdown must return only once "
                 "the segments are unlinked", job.names[1]);
    if (still_there(&job.names[0], 1) != NULL)
        lab_fail("after segmgr_shutdown, the segment %s of a worker that ended normally is "
                 "still in /dev/shm", job.names[0]);
}
END_TEST

START_TEST(a_worker_killed_inside_its_create_leaks_nothing)
{
    struct job job = {.m = start_or_fail()};
    name(job.names[0], "doomed");
    pid_t pid = fork();
    if (pid == 0) {
        /* The lab's shm_open kills this process as soon as the segment exists. */
        setenv("LAB_CRASH_AFTER_CREATING", job.names[0], 1);
        struct segment s;
        segmgr_create(job.m, job.names[0], 4096, &s);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    int killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (segmgr_shutdown(job.m) == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
    if (!killed)
        lab_fail("a worker's segmgr_create of %s was to be killed inside shm_open, right "
                 "after the segment was made, but it %s: segmgr_create must make the segment "
                 "with shm_open", job.names[0], lab_describe_status(status));
    if (exists(job.names[0]))
        lab_fail("a worker was killed with SIGKILL inside segmgr_create, right after shm_open "
                 "had made %s; after segmgr_shutdown the segment is still there. Whatever "
                 "comes after shm_open may never run: the manager must hear of the name before "
                 "the segment exists (and forget it if shm_open fails)", job.names[0]);
}
END_TEST

START_TEST(a_long_name_is_tracked_whole)
{
    /* 255 bytes, and other programs' segments named by its first 30 to 254
     * (where buffers of 32, 48, 64, 128 or 256 bytes would cut it). */
    struct job job = {.m = start_or_fail()};
    char *n = job.names[0];
    name(job.names[0], "long-");
    size_t used = strlen(n);
    memset(n + used, 'x', 255 - used);
    n[255] = '\0';
    static const size_t cuts[] = {30, 31, 32, 46, 47, 48, 62, 63, 64, 100, 126, 127, 128, 200,
                                  254};
    enum { CUTS = sizeof cuts / sizeof cuts[0] };
    name_t prefixes[CUTS];
    for (int i = 0; i < CUTS; i++) {
        snprintf(prefixes[i], sizeof(name_t), "%.*s", (int)cuts[i], n);
        make_foreign(prefixes[i]);
    }
    run_workers_or_fail(&job, 1, -1);
    if (segmgr_shutdown(job.m) == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
    int left = exists(n);
    for (int i = 0; i < CUTS; i++) {
        if (!exists(prefixes[i]))
            lab_fail("after a worker made a segment of a 255-byte name and the manager was "
                     "shut down, another program's segment named by the first %zu bytes of "
                     "that name was gone: the manager cut the long name short, and unlinked "
                     "the wrong segment. It must keep the whole name, up to 255 bytes",
                     cuts[i]);
        shm_unlink(prefixes[i]);
    }
    if (left)
        lab_fail("after segmgr_shutdown, the segment of a 255-byte name made by a worker is "
                 "still in /dev/shm: the manager must keep the whole name, up to 255 bytes");
}
END_TEST

/*
 * The program, in a process of its own and a process group of its own (as
 * a shell would start it): starts a manager, makes a segment, has two
 * workers make one each and attach to a segment of another program, says
 * it is ready, and waits to be ended.
 */
static void program(int ready, struct job *job)
{
    setpgid(0, 0);
    /* As a shell starts a program: Check's own handlers, inherited by fork, go. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    job->m = segmgr_start();
    if (job->m == NULL)
        _exit(2);
    struct segment s;
    if (segmgr_create(job->m, job->names[2], 4096, &s) == -1)
        _exit(3);
    if (run_workers(job, 2, -1) != NULL)
        _exit(5);
    if (write(ready, "r", 1) != 1)
        _exit(4);
    for (;;)
        pause();
}

static void end_program_with(int sig, const char *sig_name, int whole_group)
{
    struct job job = {.m = NULL};
    name(job.names[0], "worker-0");
    name(job.names[1], "worker-1");
    name(job.names[2], "program");
    name(job.foreign, "another-programs");
    make_foreign(job.foreign);

    int ready[2];
    if (pipe(ready) == -1)
        lab_fail("harness: pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        program(ready[1], &job);
    }
    close(ready[1]);
    char r;
    ssize_t got = read(ready[0], &r, 1);
    close(ready[0]);
    if (got != 1) {
        int status;
        waitpid(pid, &status, 0);
        reap_all();
        lab_fail("the program (a manager and two workers) %s before it was ready: its "
                 "segmgr_start, segmgr_create or a worker failed (see stderr)",
                 lab_describe_status(status));
    }
    if (whole_group)
        kill(-pid, sig);  /* the program's whole process group, as a terminal does */
    else
        kill(pid, sig);
    int status;
    waitpid(pid, &status, 0);

    reap_all();
    const char *left = still_there(job.names, 3);
    if (left != NULL) {
        const char *how = sig == SIGKILL
            ? "Nothing in a process runs after SIGKILL, not a handler, not atexit: only "
              "another process that notices its end (a tracker) can unlink what it made"
            : "The manager's cleanup must not depend on the program getting to run its "
              "shutdown; and a tracker in the program's process group gets the signal too, "
              "so it must not die of it, from the moment it exists (block the signal across "
              "the fork, then ignore it)";
        lab_fail("after the program was ended with %s%s and its processes were gone, its "
                 "segment %s was still in /dev/shm. %s", sig_name,
                 whole_group ? " (sent to its whole process group)" : "", left, how);
    }
    char after[128];
    snprintf(after, sizeof after, "after the program was ended with %s", sig_name);
    expect_foreign_intact(job.foreign, 'w', after);
}

/*
 * The program again, with one more process that outlives it, until the
 * test closes its end of `hold`: a worker that made a segment through the
 * manager (by_exec 0), or a program that the program ran with exec (1).
 * Whichever it is says it is ready, once it is.
 */
static void program_with_a_lingerer(int ready, int hold, struct job *job, int by_exec)
{
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    job->m = segmgr_start();
    if (job->m == NULL)
        _exit(2);
    struct segment s, w;
    if (segmgr_create(job->m, job->names[2], 4096, &s) == -1)
        _exit(3);
    pid_t pid = fork();
    if (pid == 0 && by_exec) {
        char fd[16];
        snprintf(fd, sizeof fd, "%d", ready);
        dup2(hold, STDIN_FILENO);
        execl("/proc/self/exe", "lingerer", "--linger", fd, (char *)NULL);
        _exit(127);
    }
    if (pid == 0) {
        if (segmgr_create(job->m, job->names[0], 4096, &w) == -1)
            _exit(3);
        if (write(ready, "r", 1) != 1)
            _exit(4);
        char c;
        while (read(hold, &c, 1) > 0)
            ;
        _exit(0);
    }
    for (;;)
        pause();
}

/* The program run by exec: says it is ready, then waits for its input to end. */
static int lingerer(const char *ready_fd)
{
    int ready = atoi(ready_fd);
    if (write(ready, "r", 1) != 1)
        return 1;
    close(ready);
    char c;
    while (read(STDIN_FILENO, &c, 1) > 0)
        ;
    return 0;
}

static void kill_program_leaving_a_lingerer(int by_exec)
{
    struct job job = {.m = NULL};
    name(job.names[0], "lingering-worker");
    name(job.names[2], "program");
    int ready[2], hold[2];
    if (pipe(ready) == -1 || pipe(hold) == -1)
        lab_fail("harness: pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        program_with_a_lingerer(ready[1], hold[0], &job, by_exec);
    }
    close(ready[1]);
    close(hold[0]);
    char r;
    ssize_t got = read(ready[0], &r, 1);
    close(ready[0]);
    const char *why = NULL;
    char text[1024];
    if (got != 1) {
        why = "the program (a manager and one more process) ended before it was ready: its "
              "segmgr_start or segmgr_create failed (see stderr)";
    } else {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        /* A correct manager cleans up in milliseconds; a wrong one is given time to err. */
        double deadline = now() + (by_exec ? 2.0 : 1.0);
        while (why == NULL && now() < deadline) {
            if (!by_exec && still_there(job.names, 3) != job.names[0]) {
                snprintf(text, sizeof text, "the program was killed with SIGKILL while one of "
                         "its workers still ran, and %s was unlinked at once: a worker may still "
                         "use the segments, so the manager must wait until every process of "
                         "the program has ended, not only the one that started it",
                         exists(job.names[0]) ? job.names[2] : job.names[0]);
                why = text;
            }
            if (by_exec && !exists(job.names[2]))
                break;
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        if (by_exec && why == NULL && exists(job.names[2])) {
            snprintf(text, sizeof text, "the program was killed with SIGKILL; 2 s later its "
                     "segment %s was still there, while a program it had started with exec "
                     "still ran. That program cannot use the manager, but it kept the "
                     "manager's descriptor open, so the end never showed: open it with "
                     "SOCK_CLOEXEC (or O_CLOEXEC)", job.names[2]);
            why = text;
        }
    }
    close(hold[1]);  /* the lingerer may go now */
    reap_all();
    if (why != NULL)
        lab_fail("%s", why);
    const char *left = still_there(job.names, 3);
    if (left != NULL)
        lab_fail("the program was killed with SIGKILL and the process it left ended later; "
                 "then %s was still in /dev/shm: the manager must clean up once the last "
                 "process of the program has ended", left);
}

START_TEST(a_worker_that_outlives_the_program_keeps_the_segments_until_it_ends)
{
    kill_program_leaving_a_lingerer(0);
}
END_TEST

START_TEST(a_program_started_by_exec_does_not_hold_the_cleanup_up)
{
    kill_program_leaving_a_lingerer(1);
}
END_TEST

START_TEST(a_program_killed_with_sigkill_leaks_nothing)
{
    end_program_with(SIGKILL, "SIGKILL", 0);
}
END_TEST

START_TEST(a_program_interrupted_with_sigint_leaks_nothing)
{
    end_program_with(SIGINT, "SIGINT", 1);
}
END_TEST

START_TEST(a_program_terminated_with_sigterm_leaks_nothing)
{
    end_program_with(SIGTERM, "SIGTERM", 1);
}
END_TEST

START_TEST(a_segment_made_by_another_program_is_left_alone)
{
    struct job job = {.m = start_or_fail()};
    name(job.foreign, "another-programs");
    make_foreign(job.foreign);
    name(job.names[0], "worker-0");
    run_workers_or_fail(&job, 1, -1);
    struct segment s;
    if (segmgr_create(job.m, job.foreign, 4096, &s) == 0)
        lab_fail("segmgr_create of %s, a name another program's segment already has, "
                 "succeeded: it must refuse (O_EXCL)", job.foreign);
    if (segmgr_shutdown(job.m) == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
    expect_foreign_intact(job.foreign, 'w', "after a worker attached to it, the program tried "
                          "to make a segment of its name, and the manager was shut down");
}
END_TEST

START_TEST(two_managers_keep_to_their_own)
{
    name_t a, b;
    name(a, "first");
    name(b, "second");
    struct segmgr *m1 = start_or_fail(), *m2 = start_or_fail();
    struct segment sa, sb;
    create_or_fail(m1, a, &sa);
    create_or_fail(m2, b, &sb);
    segmgr_detach(&sa);
    segmgr_detach(&sb);
    if (segmgr_shutdown(m1) == -1)
        lab_fail("segmgr_shutdown of the first manager failed (see stderr)");
    if (!exists(b))
        lab_fail("shutting down one manager unlinked %s, which a second manager made", b);
    if (exists(a))
        lab_fail("after segmgr_shutdown, its segment %s is still in /dev/shm", a);
    if (segmgr_shutdown(m2) == -1)
        lab_fail("segmgr_shutdown of the second manager failed (see stderr)");
    if (still_there(&b, 1) != NULL)
        lab_fail("after the second segmgr_shutdown, its segment %s is still in /dev/shm", b);
}
END_TEST

START_TEST(a_worker_cannot_shut_the_manager_down)
{
    name_t n;
    name(n, "owners");
    struct segmgr *m = start_or_fail();
    struct segment s;
    create_or_fail(m, n, &s);
    pid_t pid = fork();
    if (pid == 0)
        _exit(segmgr_shutdown(m) == -1 ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lab_fail("segmgr_shutdown in a worker %s: only the process that started the "
                 "manager may shut it down, and a worker's call must return -1",
                 WIFEXITED(status) ? "returned 0" : lab_describe_status(status));
    if (!exists(n))
        lab_fail("a worker's refused segmgr_shutdown unlinked the program's segment %s", n);
    segmgr_detach(&s);
    if (segmgr_shutdown(m) == -1)
        lab_fail("segmgr_shutdown in the program failed (see stderr)");
    if (still_there(&n, 1) != NULL)
        lab_fail("after segmgr_shutdown, the segment %s is still in /dev/shm", n);
}
END_TEST

START_TEST(bad_requests_get_clear_errors)
{
    name_t n;
    name(n, "bad");
    struct segmgr *m = start_or_fail();
    struct segment s;
    if (segmgr_create(m, n, 0, &s) == 0)
        lab_fail("a segment of 0 bytes was made");
    if (segmgr_create(m, n, SEGMGR_MAX_SIZE + 1, &s) == 0)
        lab_fail("a segment larger than SEGMGR_MAX_SIZE was made");
    if (segmgr_create(m, n + 1, 10, &s) == 0)
        lab_fail("a name without its leading '/' was accepted");
    if (segmgr_attach(m, n, &s) == 0)
        lab_fail("attaching a segment that does not exist succeeded");
    /* A segment unlinked by hand before shutdown is simply gone: not an error. */
    create_or_fail(m, n, &s);
    segmgr_detach(&s);
    shm_unlink(n);
    if (segmgr_shutdown(m) == -1)
        lab_fail("segmgr_shutdown failed because a segment had been unlinked already: it "
                 "is gone, which is what shutdown wants");
}
END_TEST

static void start_use_shutdown(void)
{
    name_t n;
    name(n, "cycle");
    struct segmgr *m = start_or_fail();
    struct segment s, t;
    create_or_fail(m, n, &s);
    if (segmgr_attach(m, n, &t) == -1)
        lab_fail("segmgr_attach of a segment just made failed (see stderr)");
    if (segmgr_detach(&t) == -1 || segmgr_detach(&s) == -1 || segmgr_shutdown(m) == -1)
        lab_fail("segmgr_detach or segmgr_shutdown failed (see stderr)");
}

START_TEST(nothing_is_left_mapped_or_open)
{
    lab_expect_no_mapping_leak(start_use_shutdown, 20,
                               "managers started, used and shut down",
                               "segmgr_detach must munmap what create and attach mapped");
}
END_TEST

int main(int argc, char *argv[])
{
    if (argc == 3 && strcmp(argv[1], "--linger") == 0)
        return lingerer(argv[2]);
    Suite *s = suite_create("06-segment-manager");
    lab_add(s, segments_made_by_workers_are_unlinked_at_shutdown);
    lab_add(s, a_worker_killed_half_way_leaks_nothing);
    lab_add(s, a_worker_killed_inside_its_create_leaks_nothing);
    lab_add(s, a_long_name_is_tracked_whole);
    lab_add(s, a_program_killed_with_sigkill_leaks_nothing);
    lab_add(s, a_program_interrupted_with_sigint_leaks_nothing);
    lab_add(s, a_program_terminated_with_sigterm_leaks_nothing);
    lab_add(s, a_worker_that_outlives_the_program_keeps_the_segments_until_it_ends);
    lab_add(s, a_program_started_by_exec_does_not_hold_the_cleanup_up);
    lab_add(s, a_segment_made_by_another_program_is_left_alone);
    lab_add(s, two_managers_keep_to_their_own);
    lab_add(s, a_worker_cannot_shut_the_manager_down);
    lab_add(s, bad_requests_get_clear_errors);
    lab_add(s, nothing_is_left_mapped_or_open);
    return lab_main(s);
}
