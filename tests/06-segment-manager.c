/*
 * Lesson 06, the segment manager: the tests.
 *
 * A program (the test process itself, or a process it forks and then
 * ends) starts a manager; its workers make segments through it. The tests
 * end the program in every way a program ends: shutdown, a worker killed
 * half-way or inside shm_open (the lesson's build wraps shm_open: see
 * tests/harness/crash_shm_open.c), SIGKILL, and SIGINT, SIGTERM, SIGHUP
 * and SIGQUIT sent to its whole process group as a terminal does, a worker
 * or an exec'd program outliving it; then they look in /dev/shm. A segment
 * of another program, which the program's workers attach to, must survive
 * all of it. Whatever a manager leaves running is reported by the harness,
 * and every name carries the run's prefix, so a leftover is seen and
 * removed. Then: every call the manager makes that can fail (in the
 * program, its workers and its own process) is failed in turn, and
 * interrupted in turn (lab_try_each_failure/interruption); the manager's
 * process is looked at in /proc (it must hold none of the program's
 * descriptors); a child of the program's own must not be reaped by it;
 * a name registered twice, a shutdown with a worker still running, sizes
 * at their edges, and seeded random programs.
 * After a program is ended, the test waits until every process of it,
 * a manager's own included, has ended (up to 5 s), then looks; where a
 * wrong manager would act too early or too late, it watches for 1 s or
 * 2 s (a shutdown that waits for a live worker: 5 s). A correct manager
 * passes whatever the timing.
 * Measured with `make stress LESSON=06 RUNS=200` on a 2-core machine that
 * other suites kept busy (load 15 to 30): the starter caught 200/200 (4.0 s
 * per run), the solution passed 200/200 (7.7 s per run; at load 8 to 18,
 * 2.4 s). The two fault tests take about half of a run, the random
 * programs a sixth.
 */
#include "lab.h"
#include "segmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
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
        _exit(segmgr_create(job.m, job.names[0], 4096, &s) == 0 ? 0 : 3);
    }
    int status;
    waitpid(pid, &status, 0);
    int killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (segmgr_shutdown(job.m) == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
    /*
     * Not killed: the code made the segment some other way than shm_open (on
     * Linux, open in /dev/shm does the same), so this moment cannot be tried.
     * That is no fault: the outcome is still judged.
     */
    if (!killed && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
        lab_fail("a worker's segmgr_create of %s %s", job.names[0],
                 lab_describe_status(status));
    if (!killed && exists(job.names[0]))
        lab_fail("after segmgr_shutdown, the segment %s a worker made is still in /dev/shm",
                 job.names[0]);
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
    signal(SIGHUP, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});  /* SIGQUIT: no core files */
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
              "the fork, then ignore it), nor of any other signal that ends a program from "
              "its terminal: SIGINT, SIGTERM, SIGHUP, SIGQUIT";
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
            /* Either segment gone (in whichever order a wrong manager unlinks them). */
            if (!by_exec && (!exists(job.names[0]) || !exists(job.names[2]))) {
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

START_TEST(a_program_hung_up_with_sighup_leaks_nothing)
{
    end_program_with(SIGHUP, "SIGHUP", 1);
}
END_TEST

START_TEST(a_program_quit_with_sigquit_leaks_nothing)
{
    end_program_with(SIGQUIT, "SIGQUIT", 1);
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

/* ---- process hygiene ---------------------------------------------------- */

/* The processes descended from this one (children, theirs, ...): how many, up to max. */
static int descendants(pid_t *pids, int max)
{
    pid_t all[1024], parents[1024];
    int n_all = 0;
    DIR *proc = opendir("/proc");
    struct dirent *e;
    while (proc != NULL && (e = readdir(proc)) != NULL && n_all < 1024) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *end = strrchr(buf, ')'), state;
        int ppid;
        if (end != NULL && sscanf(end + 1, " %c %d", &state, &ppid) == 2 && state != 'Z') {
            all[n_all] = (pid_t)atoi(e->d_name);
            parents[n_all++] = (pid_t)ppid;
        }
    }
    if (proc != NULL)
        closedir(proc);
    int n = 0;
    pid_t self = getpid();
    for (int grew = 1; grew;) {  /* add children of what is known until nothing is added */
        grew = 0;
        for (int i = 0; i < n_all; i++) {
            int known = 0, parent_known = parents[i] == self;
            for (int j = 0; j < n; j++) {
                known |= pids[j] == all[i];
                parent_known |= pids[j] == parents[i];
            }
            if (!known && parent_known && n < max) {
                pids[n++] = all[i];
                grew = 1;
            }
        }
    }
    return n;
}

/* What a descriptor is: its file ("pipe:[812]", "socket:[90]", a path) and its access mode. */
struct open_file {
    int fd;
    char what[128];
    int mode;
};

/* The descriptors 3 and up of process pid (0: this one): how many, up to max. */
static int open_files(pid_t pid, struct open_file *files, int max)
{
    char dir[64];
    snprintf(dir, sizeof dir, pid ? "/proc/%d/fd" : "/proc/self/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int fd_of_dir = dirfd(d), n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd < 3 || (pid == 0 && fd == fd_of_dir))
            continue;
        char path[128], info[512];
        snprintf(path, sizeof path, "%s/%d", dir, fd);
        ssize_t len = readlink(path, files[n].what, sizeof files[n].what - 1);
        if (len <= 0)
            continue;
        files[n].what[len] = '\0';
        files[n].fd = fd;
        files[n].mode = -1;
        snprintf(path, sizeof path, pid ? "/proc/%d/fdinfo/%d" : "/proc/self/fdinfo/%d",
                 pid ? (int)pid : fd, fd);
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            while (fgets(info, sizeof info, f) != NULL)
                if (sscanf(info, "flags: %o", (unsigned *)&files[n].mode) == 1)
                    files[n].mode &= O_ACCMODE;
            fclose(f);
        }
        n++;
    }
    closedir(d);
    return n;
}

/*
 * In the process `helper`, the first descriptor that is one of the
 * program's (the same file, the same way open; a pipe's two ends differ):
 * its description in `what`, or 0 if it holds none.
 */
static int holds_programs_descriptor(pid_t helper, char *what, size_t size)
{
    struct open_file mine[128], its[128];
    int n_mine = open_files(0, mine, 128), n_its = open_files(helper, its, 128);
    for (int files = 0; files < 2; files++)  /* pipes and sockets first: the clearest */
        for (int i = 0; i < n_its; i++)
            for (int j = 0; j < n_mine; j++)
                if (strcmp(its[i].what, mine[j].what) == 0 && its[i].mode == mine[j].mode &&
                    (files || strchr(its[i].what, ':') != NULL)) {
                    snprintf(what, size, "its descriptor %d is the program's %d (%s)",
                             its[i].fd, mine[j].fd, its[i].what);
                    return 1;
                }
    return 0;
}

START_TEST(the_managers_own_process_keeps_none_of_the_programs_descriptors)
{
    int others[2];  /* the program's own files: what a helper has no business holding */
    if (pipe(others) == -1)
        lab_fail("harness: pipe: %s", strerror(errno));
    pid_t before[64], after[64];
    int n_before = descendants(before, 64);
    struct segmgr *m = start_or_fail();
    name_t n;
    struct segment s;
    name(n, "descriptors");
    create_or_fail(m, n, &s);
    /* A helper closes what it does not need as it starts: it is given time to. */
    char why[256] = "";
    pid_t helper = 0;
    double deadline = now() + CLEANUP_SECONDS;
    do {
        why[0] = '\0';
        int n_after = descendants(after, 64);
        for (int i = 0; i < n_after && why[0] == '\0'; i++) {
            int old = 0;
            for (int j = 0; j < n_before; j++)
                old |= after[i] == before[j];
            if (!old && holds_programs_descriptor(after[i], why, sizeof why))
                helper = after[i];
        }
        if (why[0] != '\0')
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    } while (why[0] != '\0' && now() < deadline);
    segmgr_detach(&s);
    int down = segmgr_shutdown(m);
    close(others[0]);
    close(others[1]);
    if (why[0] != '\0')
        lab_fail("the manager's process %d kept descriptors of the program: %s. A process "
                 "forked from the program inherits every descriptor it has: a helper must close "
                 "all but what it needs (its own end of its line, stdin/stdout/stderr), or it "
                 "keeps the program's pipes, sockets and files open, and their other ends never "
                 "see the end", (int)helper, why);
    if (down == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
}
END_TEST

#define IDLE_SECONDS 0.5

START_TEST(the_managers_process_sleeps_while_the_program_works)
{
    pid_t before[64], after[64];
    int n_before = descendants(before, 64);
    struct segmgr *m = start_or_fail();
    name_t n;
    struct segment s;
    name(n, "idle");
    create_or_fail(m, n, &s);
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);  /* it settles */
    int n_after = descendants(after, 64);
    double at_start[64];
    for (int i = 0; i < n_after; i++)
        at_start[i] = lab_runnable_seconds(after[i]);
    nanosleep(&(struct timespec){0, (long)(IDLE_SECONDS * 1e9)}, NULL);
    pid_t busy = 0;
    double most = 0;
    for (int i = 0; i < n_after; i++) {
        int old = 0;
        for (int j = 0; j < n_before; j++)
            old |= after[i] == before[j];
        double used = lab_runnable_seconds(after[i]) - at_start[i];
        if (!old && used > most) {
            most = used;
            busy = after[i];
        }
    }
    segmgr_detach(&s);
    if (segmgr_shutdown(m) == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
    if (most > IDLE_SECONDS / 2)
        lab_fail("while the program did nothing for %.1f s, the manager's process %d was "
                 "running or waiting to run for %.2f s of it: it spins (a recv with "
                 "MSG_DONTWAIT, or a poll with no wait, in a loop?). A helper that waits must "
                 "sleep in a call that blocks until something happens", IDLE_SECONDS,
                 (int)busy, most);
}
END_TEST

START_TEST(the_manager_waits_only_for_its_own_processes)
{
    name_t n;
    name(n, "bystander");
    pid_t bystander = lab_bystander_start();
    struct segmgr *m = start_or_fail();
    struct segment s;
    create_or_fail(m, n, &s);
    segmgr_detach(&s);
    if (segmgr_shutdown(m) == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
    lab_bystander_check(bystander, "segmgr_start or segmgr_shutdown");
}
END_TEST

/* ---- names registered twice; a shutdown with workers still running -------- */

START_TEST(a_refused_second_create_of_a_name_keeps_the_first_one_tracked)
{
    name_t n;
    name(n, "twice");
    struct segmgr *m = start_or_fail();
    struct segment s, t;
    create_or_fail(m, n, &s);
    /* A worker tries the same name: two registrations of one name, one refused. */
    pid_t pid = fork();
    if (pid == 0)
        _exit(segmgr_create(m, n, 4096, &t) == -1 ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        lab_fail("a worker's segmgr_create of %s, which the program had made already, %s: it "
                 "must be refused (O_EXCL)", n, WIFEXITED(status) ? "succeeded" :
                 lab_describe_status(status));
    if (!exists(n))
        lab_fail("a worker's refused segmgr_create of %s unlinked the segment the program had "
                 "made: a refused create leaves the name's segment alone", n);
    segmgr_detach(&s);
    if (segmgr_shutdown(m) == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
    if (still_there(&n, 1) != NULL)
        lab_fail("the program made %s, a worker's segmgr_create of the same name was refused, "
                 "and after segmgr_shutdown the segment was still in /dev/shm: when the refused "
                 "create took its name back, the manager forgot the program's too. Each "
                 "registration counts on its own (a list, not a set), and a refused one takes "
                 "back only itself", n);
}
END_TEST

START_TEST(shutdown_does_not_wait_for_a_worker_still_running)
{
    name_t own, live;
    name(own, "program");
    name(live, "live-worker");
    struct segmgr *m = start_or_fail();
    struct segment s;
    create_or_fail(m, own, &s);
    int hold[2], ready[2];
    if (pipe(hold) == -1 || pipe(ready) == -1)
        lab_fail("harness: pipe: %s", strerror(errno));
    pid_t worker_pid = fork();
    if (worker_pid == 0) {
        close(hold[1]);
        close(ready[0]);
        struct segment w;
        if (segmgr_create(m, live, 4096, &w) == -1)
            _exit(3);
        if (write(ready[1], "r", 1) != 1)
            _exit(4);
        char c;
        while (read(hold[0], &c, 1) > 0)
            ;
        segmgr_detach(&w);
        _exit(0);
    }
    close(hold[0]);
    close(ready[1]);
    char r;
    ssize_t got = read(ready[0], &r, 1);
    close(ready[0]);
    /* A watchdog: if shutdown waits for the worker, it kills the worker after a while. */
    int *fired = mmap(NULL, sizeof *fired, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
    if (fired == MAP_FAILED)
        lab_fail("harness: mmap: %s", strerror(errno));
    *fired = 0;
    pid_t watchdog = got == 1 ? fork() : -1;
    if (watchdog == 0) {
        nanosleep(&(struct timespec){(time_t)CLEANUP_SECONDS, 0}, NULL);
        *fired = 1;
        kill(worker_pid, SIGKILL);
        _exit(0);
    }
    segmgr_detach(&s);
    int down = got == 1 ? segmgr_shutdown(m) : 0;
    int live_left = exists(live);
    if (watchdog > 0) {
        kill(watchdog, SIGKILL);
        waitpid(watchdog, NULL, 0);
    }
    int waited_out = *fired;
    munmap(fired, sizeof *fired);
    close(hold[1]);  /* the worker may end now */
    int status;
    waitpid(worker_pid, &status, 0);
    if (got != 1)
        lab_fail("a worker %s before it was ready: its segmgr_create failed (see stderr)",
                 lab_describe_status(status));
    if (waited_out)
        lab_fail("segmgr_shutdown returned only once a worker still running, holding its line "
                 "to the manager, was killed (after %.0f s): it waited for the end of the line, "
                 "which never comes while a worker lives. Shutdown is a request the manager "
                 "answers: it unlinks everything now, whoever is still running",
                 CLEANUP_SECONDS);
    if (down == -1)
        lab_fail("segmgr_shutdown failed while a worker still ran (its reason is on stderr)");
    if (live_left)
        lab_fail("segmgr_shutdown returned while a worker still ran, and the segment %s the "
                 "worker had made was still in /dev/shm: shutdown unlinks every segment made "
                 "through the manager, whichever process made it, at once", live);
    if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
        lab_fail("the worker, still running at the shutdown, then %s: a worker may go on with "
                 "what it has mapped", lab_describe_status(status));
}
END_TEST

/* ---- the whole range ----------------------------------------------------- */

START_TEST(sizes_from_one_byte_to_the_maximum)
{
    static const size_t sizes[] = {1, 4095, 4097, SEGMGR_MAX_SIZE};
    static const size_t refused[] = {0, SEGMGR_MAX_SIZE + 1, (size_t)1 << 31, (size_t)1 << 32,
                                     ((size_t)1 << 32) + 4096, SIZE_MAX};
    struct segmgr *m = start_or_fail();
    name_t n;
    name(n, "size");
    struct segment s, t;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (segmgr_create(m, n, refused[i], &s) == 0)
            lab_fail("segmgr_create of %zu bytes succeeded: sizes are 1 to SEGMGR_MAX_SIZE "
                     "(%zu); the size is a size_t, and must be checked as one", refused[i],
                     SEGMGR_MAX_SIZE);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        /* The largest: as large as the grader's own limits allow (lab.h). */
        size_t size = sizes[i] == SEGMGR_MAX_SIZE ? lab_largest_segment(SEGMGR_MAX_SIZE)
                                                  : sizes[i];
        if (segmgr_create(m, n, size, &s) == -1)
            lab_fail("segmgr_create of %zu bytes failed (see stderr): sizes are 1 to "
                     "SEGMGR_MAX_SIZE (%zu)", size, SEGMGR_MAX_SIZE);
        if (s.size != size)
            lab_fail("segmgr_create of %zu bytes said its size is %zu", size, s.size);
        unsigned char *made = s.addr;
        made[0] = 1;
        made[size - 1] = 2;
        if (segmgr_attach(m, n, &t) == -1)
            lab_fail("segmgr_attach of a segment of %zu bytes failed (see stderr)", size);
        const unsigned char *seen = t.addr;
        if (t.size != size || seen[0] != (size == 1 ? 2 : 1) || seen[size - 1] != 2)
            lab_fail("a segment was made of %zu bytes, and segmgr_attach mapped %zu bytes: it "
                     "must map the whole segment, its real size (fstat)", size, t.size);
        segmgr_detach(&t);
        segmgr_detach(&s);
        shm_unlink(n);  /* by hand: the same name again, one size after another */
    }
    if (segmgr_shutdown(m) == -1)
        lab_fail("segmgr_shutdown failed (its reason is on stderr)");
}
END_TEST

/*
 * Random programs, seeded: 1 to 4 workers make 1 to 3 segments each, of
 * random sizes and names of random lengths up to 255 bytes; a worker may
 * be killed after it made them, or unlink one by hand; the program tries
 * a worker's name again (refused), attaches every segment left and checks
 * its size, and shuts down: nothing made may be left.
 */
START_TEST(random_programs_leave_nothing)
{
    enum { WORKERS = 4, EACH = 3 };
    static name_t names[WORKERS][EACH];
    static size_t sizes[WORKERS][EACH];
    for (int round = 0; round < 6; round++) {
        int workers = 1 + (int)(lab_random() % WORKERS);
        int count[WORKERS], fate[WORKERS];
        for (int w = 0; w < workers; w++) {
            count[w] = 1 + (int)(lab_random() % EACH);
            fate[w] = (int)(lab_random() % 3);  /* 0 ends, 1 is killed, 2 unlinks one by hand */
            for (int j = 0; j < count[w]; j++) {
                char base[32];
                snprintf(base, sizeof base, "r%d-%d-%d-", round, w, j);
                name(names[w][j], base);
                size_t used = strlen(names[w][j]), len = used + lab_random() % (256 - used);
                memset(names[w][j] + used, 'a' + (int)(lab_random() % 26), len - used);
                names[w][j][len] = '\0';
                uint64_t pick = lab_random();
                sizes[w][j] = pick % 4 == 0 ? 4096 * (1 + pick / 4 % 16) : 1 + pick / 4 % 70000;
            }
        }
        struct segmgr *m = start_or_fail();
        pid_t pids[WORKERS];
        for (int w = 0; w < workers; w++) {
            pids[w] = fork();
            if (pids[w] == 0) {
                for (int j = 0; j < count[w]; j++) {
                    struct segment s;
                    if (segmgr_create(m, names[w][j], sizes[w][j], &s) == -1)
                        _exit(3);
                    memcpy(s.addr, &sizes[w][j], sizes[w][j] < sizeof(size_t) ? sizes[w][j] :
                           sizeof(size_t));
                    segmgr_detach(&s);
                }
                if (fate[w] == 1)
                    raise(SIGKILL);
                if (fate[w] == 2)
                    shm_unlink(names[w][0]);
                _exit(0);
            }
        }
        for (int w = 0; w < workers; w++) {
            int status;
            waitpid(pids[w], &status, 0);
            if (fate[w] != 1 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
                lab_fail("round %d: worker %d %s: its segmgr_create of %zu bytes under a name "
                         "of %zu bytes failed (see stderr)%s", round, w,
                         lab_describe_status(status), sizes[w][0], strlen(names[w][0]),
                         lab_seed_note());
        }
        struct segment s;
        if ((fate[0] != 2 || count[0] > 1) && segmgr_create(m, names[0][count[0] - 1], 1, &s) == 0)
            lab_fail("round %d: the program's segmgr_create of a name a worker had made "
                     "succeeded: it must refuse (O_EXCL)%s", round, lab_seed_note());
        for (int w = 0; w < workers; w++)
            for (int j = fate[w] == 2 ? 1 : 0; j < count[w]; j++) {
                if (segmgr_attach(m, names[w][j], &s) == -1)
                    lab_fail("round %d: segmgr_attach of a segment of %zu bytes that worker %d "
                             "made failed (see stderr)%s", round, sizes[w][j], w,
                             lab_seed_note());
                if (s.size != sizes[w][j])
                    lab_fail("round %d: a worker made a segment of %zu bytes, and "
                             "segmgr_attach mapped %zu%s", round, sizes[w][j], s.size,
                             lab_seed_note());
                segmgr_detach(&s);
            }
        if (segmgr_shutdown(m) == -1)
            lab_fail("round %d: segmgr_shutdown failed (its reason is on stderr)%s", round,
                     lab_seed_note());
        for (int w = 0; w < workers; w++) {
            const char *left = still_there(names[w], count[w]);
            if (left != NULL)
                lab_fail("round %d: after segmgr_shutdown, a segment of %zu bytes that worker "
                         "%d made (%s) was still in /dev/shm (a name of %zu bytes)%s", round,
                         sizes[w][0], w, fate[w] == 1 ? "then it was killed" : fate[w] == 2 ?
                         "and then unlinked another by hand" : "and it ended", strlen(left),
                         lab_seed_note());
        }
    }
}
END_TEST

/* ---- every error path ---------------------------------------------------- */

/* In a scenario: whether n is in /dev/shm (a failed check ends the scenario). */
static void expect_gone_after_failed_create(const char *who, const char *n)
{
    if (exists(n))
        lab_worker_fail("%s segmgr_create(\"%s\") returned -1 but the segment was in /dev/shm "
                        "afterwards: a create that fails must unlink what it made", who, n);
}

/* Another program's segment of name n (4096 bytes of `fill`), made in a scenario. */
static void make_others(const char *n, char fill)
{
    int fd = shm_open(n, O_CREAT | O_EXCL | O_RDWR, 0600);
    char f[4096];
    memset(f, fill, sizeof f);
    if (fd == -1 || ftruncate(fd, 4096) == -1 || write(fd, f, sizeof f) != (ssize_t)sizeof f)
        lab_worker_fail("harness: making the segment %s: %s", n, strerror(errno));
    close(fd);
}

/* In a scenario: the other program's segment n is there and holds `fill`; then it goes. */
static void expect_others_intact(const char *n, char fill, const char *after)
{
    int fd = shm_open(n, O_RDONLY, 0);
    char got = 0;
    ssize_t r = fd == -1 ? -1 : read(fd, &got, 1);
    if (fd != -1)
        close(fd);
    shm_unlink(n);
    if (r != 1 || got != fill)  /* (a reason holds 240 characters: said briefly) */
        lab_worker_fail("%s, another program's %s was %s: the manager must unlink only what "
                        "it made, and forget a name it could not take", after, n,
                        r == -1 ? "gone" : "changed");
}

/*
 * A manager's process may be a daemon (a session of its own, double fork):
 * then it is not the program's child, and the program cannot wait for it;
 * it ends a moment after it answered a shutdown. In a scenario, that moment
 * is given before the harness looks for processes left running (up to
 * CLEANUP_SECONDS): a daemon that does not end is still reported.
 */
static void let_daemons_end(void)
{
    double deadline = now() + CLEANUP_SECONDS;
    for (int left = 1; left && now() < deadline;) {
        left = 0;
        DIR *proc = opendir("/proc");
        struct dirent *e;
        while (proc != NULL && (e = readdir(proc)) != NULL && !left) {
            char path[300], buf[512], state;
            int ppid, session;
            if (e->d_name[0] < '0' || e->d_name[0] > '9')
                continue;
            snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
            FILE *f = fopen(path, "r");
            if (f == NULL)
                continue;
            size_t len = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[len] = '\0';
            char *end = strrchr(buf, ')');
            if (end != NULL && sscanf(end + 1, " %c %d %*d %d", &state, &ppid, &session) == 3 &&
                state != 'Z' && (ppid == getpid() || ppid == getppid()) &&
                session != getsid(0))
                left = 1;
        }
        if (proc != NULL)
            closedir(proc);
        if (left)
            nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
}

struct api_case {
    name_t own;      /* the program makes it, its worker attaches it */
    name_t workers;  /* the worker makes it */
    name_t others;   /* another program's: attached, never to be unlinked */
};

/*
 * The manager's whole API in a few milliseconds, every result checked:
 * start; the program makes a segment; a worker makes one and attaches the
 * program's; the program tries its own name again (refused: it exists),
 * attaches another program's segment, detaches, shuts down. Whatever call
 * the harness fails: a failed create leaves nothing, and a name it could
 * not take stays another program's (the scenario makes a segment of that
 * name afterwards, which the manager must leave alone); shutdown, even
 * after failures, unlinks everything made.
 */
static int whole_api(void *arg)
{
    const struct api_case *c = arg;
    int reported = 0;
    struct segmgr *m = segmgr_start();
    if (m == NULL)
        return LAB_REPORTED;  /* the harness checks that no process and no descriptor is left */
    make_others(c->others, 'o');

    struct segment s, t, o;
    int made = segmgr_create(m, c->own, 4096, &s) == 0;
    if (made) {
        if (s.size != 4096 || ((char *)s.addr)[4095] != 0)
            lab_worker_fail("segmgr_create said it succeeded, but its segment is not 4096 "
                            "zero bytes (size %zu)", s.size);
        memcpy(s.addr, "own", 3);
    } else {
        reported = 1;
        expect_gone_after_failed_create("the program's", c->own);
    }

    pid_t pid = fork();
    if (pid == -1)
        lab_worker_fail("harness: fork: %s", strerror(errno));
    if (pid == 0) {
        int rc = 0;
        struct segment w, a;
        if (segmgr_create(m, c->workers, 4096, &w) == -1) {
            rc |= 1;
        } else {
            memcpy(w.addr, "worker's", 8);
            segmgr_detach(&w);
        }
        if (made && segmgr_attach(m, c->own, &a) == -1) {
            rc |= 2;
        } else if (made) {
            if (a.size != 4096 || memcmp(a.addr, "own", 3) != 0)
                rc |= 4;
            segmgr_detach(&a);
        }
        _exit(rc);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) & 4)
        lab_worker_fail("a worker of the program %s", WIFEXITED(status) ? "attached the "
                        "program's segment, and saw neither its size nor what it holds" :
                        lab_describe_status(status));
    if (WEXITSTATUS(status) != 0)
        reported = 1;
    int workers_failed = WEXITSTATUS(status) & 1;
    if (workers_failed)
        expect_gone_after_failed_create("a worker's", c->workers);

    /* Its own name again: refused (O_EXCL); and the refusal must not cost the segment. */
    if (made) {
        if (segmgr_create(m, c->own, 4096, &t) == 0)
            lab_worker_fail("segmgr_create of %s, which the program had made already, "
                            "succeeded: it must refuse a name that exists (O_EXCL)", c->own);
        if (!exists(c->own))
            lab_worker_fail("a second segmgr_create of %s was refused, and the segment made "
                            "by the first was gone: the refused create unlinked a segment "
                            "it had not made", c->own);
    }

    if (segmgr_attach(m, c->others, &o) == -1) {
        reported = 1;
    } else {
        if (o.size != 4096 || ((char *)o.addr)[0] != 'o')
            lab_worker_fail("segmgr_attach of %s said it succeeded, but mapped neither its "
                            "size nor what it holds (size %zu)", c->others, o.size);
        segmgr_detach(&o);
    }
    if (made && segmgr_detach(&s) == -1)
        reported = 1;

    /* Names it could not take are another program's now: never the manager's to unlink. */
    if (!made)
        make_others(c->own, 'p');
    if (workers_failed)
        make_others(c->workers, 'q');

    int down = segmgr_shutdown(m);
    if (down == -1)
        reported = 1;
    else if (made && exists(c->own))
        lab_worker_fail("segmgr_shutdown returned 0, but the program's segment %s was still "
                        "in /dev/shm", c->own);
    else if (!workers_failed && exists(c->workers))
        lab_worker_fail("segmgr_shutdown returned 0, but the segment %s a worker made was "
                        "still in /dev/shm", c->workers);
    expect_others_intact(c->others, 'o', "after segmgr_shutdown");
    if (!made)
        expect_others_intact(c->own, 'p', "after a failed create and shutdown");
    if (workers_failed)
        expect_others_intact(c->workers, 'q', "after a worker's failed create and shutdown");
    let_daemons_end();
    return reported ? LAB_REPORTED : LAB_SUCCEEDED;
}

static void api_case(struct api_case *c)
{
    name(c->own, "own");
    name(c->workers, "workers");
    name(c->others, "another-programs");
}

START_TEST(every_failing_call_is_reported_and_leaves_nothing)
{
    struct api_case c;
    api_case(&c);
    lab_try_each_failure("the manager (segmgr_start, create, attach, detach, shutdown)",
                         whole_api, &c);
}
END_TEST

START_TEST(an_interrupted_call_is_retried_or_reported)
{
    struct api_case c;
    api_case(&c);
    lab_try_each_interruption("the manager (segmgr_start, create, attach, detach, shutdown)",
                              whole_api, &c);
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
    lab_add(s, a_program_hung_up_with_sighup_leaks_nothing);
    lab_add(s, a_program_quit_with_sigquit_leaks_nothing);
    lab_add(s, a_worker_that_outlives_the_program_keeps_the_segments_until_it_ends);
    lab_add(s, a_program_started_by_exec_does_not_hold_the_cleanup_up);
    lab_add(s, a_segment_made_by_another_program_is_left_alone);
    lab_add(s, two_managers_keep_to_their_own);
    lab_add(s, a_worker_cannot_shut_the_manager_down);
    lab_add(s, bad_requests_get_clear_errors);
    lab_add(s, nothing_is_left_mapped_or_open);
    lab_add(s, the_managers_own_process_keeps_none_of_the_programs_descriptors);
    lab_add(s, the_managers_process_sleeps_while_the_program_works);
    lab_add(s, the_manager_waits_only_for_its_own_processes);
    lab_add(s, a_refused_second_create_of_a_name_keeps_the_first_one_tracked);
    lab_add(s, shutdown_does_not_wait_for_a_worker_still_running);
    lab_add(s, sizes_from_one_byte_to_the_maximum);
    lab_add(s, random_programs_leave_nothing);
    lab_add_long(s, every_failing_call_is_reported_and_leaves_nothing, 3);
    lab_add_long(s, an_interrupted_call_is_retried_or_reported, 3);
    lab_messages_name_objects();  /* the header promises the name in each message */
    return lab_main(s);
}
