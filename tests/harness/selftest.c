/*
 * selftest.c - the harness's own tests.
 *
 * A harness that never fails proves nothing, so this runs a suite of tests
 * that each do one wrong thing (leave a segment, leave a zombie, hang,
 * crash, ...) under lab_main, reads what lab_main printed, and checks that
 * each wrong thing failed its test with the words a student should see.
 * Then it checks that the harness cleaned up after them: no segment left in
 * /dev/shm, no process left running.
 */
#define _GNU_SOURCE /* prctl's PR_SET_CHILD_SUBREAPER */
#include "lab.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the deliberately wrong tests -------------------------------------- */

static void idle_worker(int index, void *arg)
{
    (void)index;
    (void)arg;
}

START_TEST(passes_cleanly)
{
    lab_run_workers(3, idle_worker, NULL, 5, "");
}
END_TEST

START_TEST(leaves_a_segment)
{
    int fd = shm_open(lab_name("left"), O_CREAT | O_RDWR, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
}
END_TEST

START_TEST(leaves_a_semaphore)
{
    sem_t *sem = sem_open(lab_name("sem"), O_CREAT, 0600, 1);
    ck_assert_ptr_ne(sem, SEM_FAILED);
    sem_close(sem);
}
END_TEST

START_TEST(leaves_a_zombie)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    /* Until it has ended, however busy the machine, and without reaping it. */
    siginfo_t info;
    waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
}
END_TEST

START_TEST(leaves_a_child_running_in_its_own_session)
{
    if (fork() == 0) {
        setsid();  /* out of the test's process group: Check's killpg misses it */
        pause();
        _exit(0);
    }
}
END_TEST

START_TEST(leaves_an_orphaned_grandchild)
{
    pid_t child = fork();
    if (child == 0) {
        if (fork() == 0) {
            setsid();
            pause();
        }
        _exit(0);
    }
    waitpid(child, NULL, 0);
    usleep(50 * 1000);
}
END_TEST

/* A daemon (double fork, setsid) that ends a moment after the test: not the code's to wait for. */
START_TEST(starts_a_daemon_that_ends_soon)
{
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        if (fork() == 0) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            _exit(0);
        }
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(leaks_a_file_descriptor)
{
    ck_assert_int_ge(open("/dev/null", O_RDONLY), 0);
}
END_TEST

START_TEST(slow_but_done_in_time_when_given_more)
{
    usleep(1500 * 1000);  /* past its 1 s; on a busy machine it is given 3 s */
}
END_TEST

START_TEST(hangs)
{
    pause();
}
END_TEST

/* Never done, but always getting on: a child of its own ends every 50 ms. */
START_TEST(getting_on_but_never_done)
{
    for (;;) {
        pid_t pid = fork();
        if (pid == 0) {
            usleep(50 * 1000);
            _exit(0);
        }
        int status;
        lab_wait_child(pid, &status, 5.0);
    }
}
END_TEST

/*
 * lab_wait_child on a busy machine (LAB_BUSY=1): a child that never ends but
 * is runnable all along (here: it spins) may only be slow; one asleep hangs.
 */
START_TEST(a_child_runnable_all_along_may_be_slow)
{
    pid_t pid = fork();
    if (pid == 0)
        for (;;)
            continue;
    int status;
    if (lab_wait_child(pid, &status, 0.1))
        lab_fail("the spinning child ended");
    if (!lab_wait_starved())
        lab_fail("lab_wait_child gave up on a spinning child, and called it asleep");
}
END_TEST

START_TEST(a_child_asleep_is_not_slow)
{
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    int status;
    if (lab_wait_child(pid, &status, 0.1))
        lab_fail("the sleeping child ended");
    if (lab_wait_starved())
        lab_fail("lab_wait_child gave up on a sleeping child, and called it runnable");
}
END_TEST

START_TEST(crashes)
{
    raise(SIGSEGV);
}
END_TEST

START_TEST(exits_in_the_middle)
{
    exit(4);
}
END_TEST

/* Check would count this as passed: the code under test ends the test process with status 0. */
START_TEST(exits_with_status_0_in_the_middle)
{
    exit(0);
}
END_TEST

START_TEST(fails_with_its_own_words)
{
    lab_fail("the counter says %d", 97);
}
END_TEST

static void worker_one_exits_5(int index, void *arg)
{
    (void)arg;
    if (index == 1)
        _exit(5);
}

START_TEST(a_worker_fails)
{
    lab_run_workers(3, worker_one_exits_5, NULL, 5, "");
}
END_TEST

static void worker_two_says_why(int index, void *arg)
{
    (void)arg;
    if (index == 2)
        lab_worker_fail("deposit(%d) returned %d", 7, -1);
}

START_TEST(a_worker_fails_and_says_why)
{
    lab_run_workers(3, worker_two_says_why, NULL, 5, "");
}
END_TEST

static void worker_zero_hangs(int index, void *arg)
{
    (void)arg;
    if (index == 0)
        pause();
}

START_TEST(a_worker_hangs)
{
    lab_run_workers(2, worker_zero_hangs, NULL, 0.5, "HINT-FOR-HANGS");
}
END_TEST

/* Workers count how many of them are inside at once. */
struct overlap { atomic_int inside, most; };
static void overlapping_worker(int index, void *arg)
{
    (void)index;
    struct overlap *o = arg;
    int now = atomic_fetch_add(&o->inside, 1) + 1;
    int most = atomic_load(&o->most);
    while (now > most && !atomic_compare_exchange_weak(&o->most, &most, now))
        ;
    usleep(50 * 1000);
    atomic_fetch_sub(&o->inside, 1);
}

START_TEST(workers_start_together)
{
    struct overlap *o = mmap(NULL, sizeof *o, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(o, MAP_FAILED);
    lab_run_workers(4, overlapping_worker, o, 5, "");
    int most = atomic_load(&o->most);
    munmap(o, sizeof *o);
    if (most < 4)
        lab_fail("at most %d of 4 workers ran at once", most);
}
END_TEST

/* ---- the fault injector, on selftest_code.c ------------------------------ */

int make_segment_right(const char *name);
int make_segment_leaky(const char *name);
int make_segment_silent(const char *name);
int fork_child_that_exits(void);
int make_segment_and_keep_it(const char *name);
int make_file_in_dev_shm_and_keep_it(const char *path);

static int scenario(void *arg)
{
    int (*make)(const char *) = (int (*)(const char *))arg;
    return make(lab_name("fault")) == 0 ? LAB_SUCCEEDED : LAB_REPORTED;
}

START_TEST(right_code_survives_every_failure)
{
    lab_try_each_failure("make_segment_right", scenario, (void *)make_segment_right);
}
END_TEST

/* The first run is slow (0.8 s, past a scenario's 0.5 s), as on a loaded machine. */
static int slow_the_first_time(void *arg)
{
    atomic_int *runs = arg;
    if (atomic_fetch_add(runs, 1) == 0)
        usleep(800 * 1000);
    return scenario((void *)make_segment_right);
}

START_TEST(a_slow_scenario_is_given_more_time)
{
    atomic_int *runs = mmap(NULL, sizeof *runs, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(runs, MAP_FAILED);
    atomic_init(runs, 0);
    lab_try_each_failure("slow_the_first_time", slow_the_first_time, runs);
    munmap(runs, sizeof *runs);
}
END_TEST

START_TEST(a_failure_that_leaks_is_named)
{
    lab_try_each_failure("make_segment_leaky", scenario, (void *)make_segment_leaky);
}
END_TEST

START_TEST(a_silent_failure_is_named)
{
    lab_try_each_failure("make_segment_silent", scenario, (void *)make_segment_silent);
}
END_TEST

START_TEST(a_child_that_ends_with_exit)
{
    if (fork_child_that_exits() != 0)
        lab_fail("fork_child_that_exits failed");
}
END_TEST

START_TEST(a_segment_under_a_name_of_its_own)
{
    char name[64];
    snprintf(name, sizeof name, "/shmlab-selftest-own-%d", (int)getpid());
    if (make_segment_and_keep_it(name) != 0)
        lab_fail("make_segment_and_keep_it failed");
}
END_TEST

START_TEST(a_segment_made_with_open_in_dev_shm)
{
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/shmlab-selftest-open-%d", (int)getpid());
    if (make_file_in_dev_shm_and_keep_it(path) != 0)
        lab_fail("make_file_in_dev_shm_and_keep_it failed");
}
END_TEST

/* ---- what each must print ---------------------------------------------- */

struct expectation {
    const TTest **test;
    const char *status;  /* "ok" or "FAIL" */
    const char *words;   /* what the explanation must contain */
};

static const struct expectation expected[] = {
    {&passes_cleanly, "ok", NULL},
    {&workers_start_together, "ok", NULL},
    {&leaves_a_segment, "FAIL", "-left was never unlinked"},
    {&leaves_a_semaphore, "FAIL", "-sem was never removed"},
    {&leaves_a_zombie, "FAIL", "was never reaped"},
    {&leaves_a_child_running_in_its_own_session, "FAIL", "was still running after the test"},
    {&leaves_an_orphaned_grandchild, "FAIL", "was still running after the test"},
    {&starts_a_daemon_that_ends_soon, "ok", NULL},
    {&leaks_a_file_descriptor, "FAIL", "1 file descriptor(s) opened during the test"},
    {&hangs, "FAIL", "still running after 1 s, and again when run once more with 3 s"},
    {&slow_but_done_in_time_when_given_more, "ok", NULL},
    {&getting_on_but_never_done, "FAIL", "never shown to hang; slow on this busy machine"},
    {&a_child_runnable_all_along_may_be_slow, "ok", NULL},
    {&a_child_asleep_is_not_slow, "ok", NULL},
    {&crashes, "FAIL", "received signal 11"},
    {&exits_in_the_middle, "FAIL", "exited with status 4 in the middle of the test"},
    {&exits_with_status_0_in_the_middle, "FAIL", "exited with status 0 in the middle of the test"},
    {&fails_with_its_own_words, "FAIL", "the counter says 97"},
    {&a_worker_fails, "FAIL", "worker 1 (pid"},
    {&a_worker_fails_and_says_why, "FAIL", "): deposit(7) returned -1"},
    {&a_worker_hangs, "FAIL", "1 of 2 workers were still running after 1.5 s (the machine was "
     "busy, so they were given more time) and were killed. HINT-FOR-HANGS"},
    {&right_code_survives_every_failure, "ok", NULL},
    {&a_slow_scenario_is_given_more_time, "ok", NULL},
    {&a_failure_that_leaks_is_named, "FAIL", "when the 1st call to ftruncate (selftest_code.c:59) "
     "failed with ENOSPC: 1 file descriptor(s) opened by the code were still open afterwards; "
     "segment /shmlab-"},
    {&a_silent_failure_is_named, "FAIL", "when the 1st call to shm_open (selftest_code.c:71) "
     "failed with EMFILE: make_segment_silent returned an error but said nothing on stderr"},
    {&a_child_that_ends_with_exit, "FAIL", "1 process(es) forked by the code ended with exit() "
     "instead of _exit()"},
    {&a_segment_under_a_name_of_its_own, "FAIL", ", created by the code at selftest_code.c:95, "
     "was never unlinked"},
    {&a_segment_made_with_open_in_dev_shm, "FAIL", ", created by the code at "
     "selftest_code.c:107, was never unlinked"},
};
#define N_EXPECTED (int)(sizeof expected / sizeof expected[0])

/* How many of them must fail. */
static int count_failing(void)
{
    int n = 0;
    for (int i = 0; i < N_EXPECTED; i++)
        n += strcmp(expected[i].status, "FAIL") == 0;
    return n;
}
#define N_FAILING count_failing()

/*
 * Runs the wrong tests under lab_main in a child; returns what it printed.
 * Mode 1, as a class grader runs a suite (LAB_GIVE_UP_AFTER=1: once a test
 * hangs, the rest are not run): only the test that is slow but done when
 * given more, and one after it. Mode 2, with one retry: that test and one
 * that hangs.
 */
static char *run_inner_suite(pid_t *inner, int mode)
{
    char path[] = "/tmp/shmlab-selftest-XXXXXX";
    int fd = mkstemp(path);
    if (fd == -1) {
        perror("mkstemp");
        exit(EXIT_FAILURE);
    }
    unlink(path);
    fflush(stdout);  /* else the child would print our lines again, into its file */
    *inner = fork();
    if (*inner == 0) {
        dup2(fd, STDOUT_FILENO);
        setenv("LAB_TEST_SECONDS", "1", 1);
        setenv("LAB_BUSY", "1", 1);  /* a test out of time runs again, with 3 s */
        setenv("LAB_RETRIES", "100", 1);  /* each one: a loaded machine slows many */
        Suite *s = suite_create("harness");
        if (mode == 1) {
            setenv("LAB_GIVE_UP_AFTER", "1", 1);
            lab_add(s, slow_but_done_in_time_when_given_more);
            lab_add(s, passes_cleanly);  /* not run at first: it follows a "hang" */
        } else if (mode == 2) {
            setenv("LAB_RETRIES", "1", 1);  /* the slow test takes it; hangs has none left */
            lab_add(s, slow_but_done_in_time_when_given_more);
            lab_add(s, hangs);
        } else if (mode == 4) {
            setenv("LAB_GIVE_UP_AFTER", "1", 1);
            lab_add(s, getting_on_but_never_done);
            lab_add(s, fails_with_its_own_words);  /* held back, then run: a certain failure */
        } else if (mode == 3) {
            setenv("LAB_TEST_SECONDS", "30", 1);
            setenv("LAB_SUITE_SECONDS", "3", 1);  /* hangs is stopped at 3 s, not 30 */
            lab_add(s, fails_with_its_own_words);
            lab_add(s, passes_cleanly);
            lab_add(s, hangs);
            lab_add(s, leaks_a_file_descriptor);
        } else {
            /*
             * a_worker_hangs must meet lab_run_workers' limit (1.5 s on a busy
             * machine), not the test's: under load 58 its two forks and the
             * start barrier took 2 s, so it gets ten times the test's time.
             */
            for (int i = 0; i < N_EXPECTED; i++) {
                if (*expected[i].test == a_worker_hangs ||
                    *expected[i].test == a_child_runnable_all_along_may_be_slow ||
                    *expected[i].test == a_child_asleep_is_not_slow)
                    lab_add_long(s, *expected[i].test, 10);
                else
                    lab_add(s, *expected[i].test);
            }
        }
        exit(lab_main(s));
    }
    int status;
    waitpid(*inner, &status, 0);
    static char texts[5][1 << 16];
    char *text = texts[mode];
    ssize_t n = pread(fd, text, sizeof texts[0] - 1, 0);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

/* This process's children still running, "pid (name) state" each, for a failure. */
static const char *children_named(void)
{
    static char text[512];
    size_t used = 0;
    text[0] = '\0';
    DIR *proc = opendir("/proc");
    for (struct dirent *e; proc != NULL && (e = readdir(proc)) != NULL && used < 400;) {
        char path[300], stat[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = e->d_name[0] >= '0' && e->d_name[0] <= '9' ? fopen(path, "r") : NULL;
        if (f == NULL)
            continue;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = '\0';
        char *end = strrchr(stat, ')'), state;
        int ppid;
        if (end != NULL && sscanf(end + 1, " %c %d", &state, &ppid) == 2 && ppid == getpid())
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%.*s) %c",
                                     used ? ", " : "", (int)(end - stat), stat, state);
    }
    if (proc != NULL)
        closedir(proc);
    return text;
}

/* The lines lab_main printed for one test: its status line and explanation. */
static const char *section_for(const char *text, const char *name, char *out, size_t size)
{
    char pretty[256];
    snprintf(pretty, sizeof pretty, "%s\n", name);
    for (char *p = pretty; *p != '\0'; p++)
        if (*p == '_')
            *p = ' ';
    const char *line = strstr(text, pretty);
    if (line == NULL)
        return NULL;
    while (line > text && line[-1] != '\n')
        line--;
    const char *end = line + 1;
    while ((end = strchr(end, '\n')) != NULL && strncmp(end + 1, "        ", 8) == 0)
        end++;
    size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
    snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), line);
    return out;
}

/* Whether lab_main's TEXT, in the lines of TEST, says WORDS. */
static int says(const char *text, const TTest *test, const char *words)
{
    char section[4096];
    return section_for(text, test->name, section, sizeof section) != NULL &&
           strstr(section, words) != NULL;
}

/* One line of this program's report, and what lab_main printed if it is a FAIL. */
static void tell(int ok, const char *what, const char *text, int *passed, int *failed)
{
    printf("  %s  %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        printf("        but lab_main printed:\n%s\n", text);
    ok ? (*passed)++ : (*failed)++;
}

int main(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1);  /* so anything the inner run leaves comes to us */
    pid_t inner, graded;
    const char *text = run_inner_suite(&inner, 0);
    int passed = 0, failed = 0;

    for (int i = 0; i < N_EXPECTED; i++) {
        const struct expectation *e = &expected[i];
        char section[4096];
        const char *name = (*e->test)->name;
        int ok = section_for(text, name, section, sizeof section) != NULL &&
                 strncmp(section + 2, e->status, strlen(e->status)) == 0 &&
                 (e->words == NULL || strstr(section, e->words) != NULL);
        printf("  %s  %s is reported as %s%s%s\n", ok ? "ok  " : "FAIL", name, e->status,
               e->words ? ": " : "", e->words ? e->words : "");
        if (!ok)
            printf("        but lab_main printed:\n%s\n", section_for(text, name, section, sizeof section)
                   ? section : text);
        ok ? passed++ : failed++;
    }

    /* Its try again is not taken for an earlier test that hung (it once was: "not run"). */
    const char *as_grader = run_inner_suite(&graded, 1);
    char section[4096];
    int again = section_for(as_grader, slow_but_done_in_time_when_given_more->name, section,
                            sizeof section) != NULL && strncmp(section + 2, "ok", 2) == 0 &&
                section_for(as_grader, passes_cleanly->name, section, sizeof section) != NULL &&
                strncmp(section + 2, "ok", 2) == 0;
    printf("  %s  as a grader runs it (LAB_GIVE_UP_AFTER=1), a slow test is run again too, "
           "and the tests it held back then run\n", again ? "ok  " : "FAIL");
    if (!again)
        printf("        but lab_main printed:\n%s\n", as_grader);
    again ? passed++ : failed++;

    /* A timeout it had no retry left for, on a busy machine: marked for a grader to regrade. */
    pid_t marked;
    const char *no_retry_left = run_inner_suite(&marked, 2);
    int regrade = section_for(no_retry_left, hangs->name, section, sizeof section) != NULL &&
                  strstr(section, "REGRADE on a quieter machine") != NULL;
    printf("  %s  a timeout not run again, its retries used up on a busy machine, says "
           "REGRADE\n", regrade ? "ok  " : "FAIL");
    if (!regrade)
        printf("        but lab_main printed:\n%s\n", no_retry_left);
    regrade ? passed++ : failed++;

    /* A grader's time for the suite: what was seen before it stands, the rest is not graded. */
    pid_t cut;
    const char *out_of_time = run_inner_suite(&cut, 3);
    int kept = says(out_of_time, fails_with_its_own_words, "the counter says 97") &&
               says(out_of_time, passes_cleanly, "  ok") &&
               says(out_of_time, hangs, "(3 s) ran out while this test ran") &&
               says(out_of_time, leaks_a_file_descriptor, "(3 s) ran out before this test began");
    tell(kept, "with a grader's time for the suite (LAB_SUITE_SECONDS), a test that hangs is "
         "stopped then, those before it keep their results, those after are not graded",
         out_of_time, &passed, &failed);

    /* Behind a test never shown to hang, the tests held back run, and may fail for sure. */
    pid_t behind;
    const char *held = run_inner_suite(&behind, 4);
    tell(says(held, getting_on_but_never_done, "REGRADE on a quieter machine") &&
         says(held, fails_with_its_own_words, "the counter says 97"),
         "as a grader runs it (LAB_GIVE_UP_AFTER=1), the tests held back behind one never "
         "shown to hang (REGRADE) run, and their failures are seen", held, &passed, &failed);

    /* The summary line Check prints, for CI and the before-stop hook. */
    const char *line = strstr(text, "%: Checks: ");
    int checks = 0, failures = 0, errors = 0;
    int summary = line != NULL &&
                  sscanf(line, "%%: Checks: %d, Failures: %d, Errors: %d",
                         &checks, &failures, &errors) == 3 &&
                  checks == N_EXPECTED && failures + errors == N_FAILING;
    printf("  %s  the inner suite's summary counts %d checks, %d failed (it says %d, %d + %d)\n",
           summary ? "ok  " : "FAIL", N_EXPECTED, N_FAILING, checks, failures, errors);
    summary ? passed++ : failed++;

    /* Nothing of the inner run may be left: no segment, no process. */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "shmlab-%d-", (int)inner);
    int segments = 0;
    DIR *dir = opendir("/dev/shm");
    for (struct dirent *e; dir != NULL && (e = readdir(dir)) != NULL;)
        segments += strstr(e->d_name, prefix) != NULL;
    if (dir != NULL)
        closedir(dir);
    printf("  %s  the harness removed every segment the tests left\n", segments ? "FAIL" : "ok  ");
    segments ? failed++ : passed++;

    usleep(100 * 1000);
    int stray = 0;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        stray++;
    int running = waitpid(-1, NULL, WNOHANG) == 0;
    printf("  %s  the harness stopped every process the tests left\n",
           stray || running ? "FAIL" : "ok  ");
    if (stray || running)
        printf("        (%d had ended, unreaped; %s still running: %s)\n", stray,
               running ? "some were" : "none was", children_named());
    stray || running ? failed++ : passed++;

    printf("selftest: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
