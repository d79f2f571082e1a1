/*
 * lab.c - the grading harness shared by every lesson's suite (see lab.h).
 *
 * Why it exists: code that forks can fail where Check does not look. A
 * child that crashes, a child never reaped, a segment never unlinked: all of
 * them pass silently unless someone checks. This file is that someone.
 */
#define _GNU_SOURCE /* prctl's PR_SET_CHILD_SUBREAPER, strsignal */
#include "lab.h"
#include "fault.h"
#include "trace.h"

#include <dirent.h>
#include <fcntl.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHM_DIR "/dev/shm"
#define REPORT_MAX 2048

static char run_prefix[64];
static pid_t runner_pid;     /* the process that runs the suite: each test's parent */  /* "shmlab-<pid>-<random>", without the slash */
static int fds_at_start;
static int test_seconds = LAB_TEST_SECONDS;  /* or LAB_TEST_SECONDS from the environment */

/*
 * Check counts a test whose process exits with status 0 as passed, even in
 * the middle of the test: code under test that calls exit(0) would pass
 * every check after it. So a test that really ran to its end exits with a
 * status of its own instead, chosen afresh for each run, and Check is told
 * that this one, and only this one, means done.
 */
static int done_status;

/* Random cases (lab_seed): the run's seed, and the current test's sequence, begun from it. */
static unsigned long run_seed;
static uint64_t random_state;

/*
 * A grader in a hurry (LAB_GIVE_UP_AFTER=n) stops running a suite's tests
 * once n of them hung or crashed: each more would only wait out its time
 * limit to say the same. The tests leave a mark in a file as they start,
 * and another as they end on their own; a start without its end is a test
 * that hung or crashed.
 */
static char progress_path[4096];
static int give_up_after;          /* 0: never give up */
static int progress_is_ours;       /* made here (so removed here), not given by LAB_PROGRESS */

/*
 * For the student's command: each test's stderr goes to a file of its own
 * (LAB_STDERR_DIR/test-<n>.txt, n counting from 1), so that what the code
 * under test printed can be shown under the test it belongs to.
 */
static char stderr_dir[3072];

/* The tests, as added: LAB_LIST=1 prints their names instead of running them. */
#define MAX_TESTS 256
static const TTest *tests_added[MAX_TESTS];
static int test_times[MAX_TESTS];  /* each one's time limit, in test_seconds */
static int n_tests;

/*
 * A test that runs out of time on a busy machine may only have been slow:
 * it is run once more, with RETRY_FACTOR times its time, before it is called
 * a deadlock. At most RETRIES tests a run, so that code that hangs
 * everywhere is not waited for twice everywhere.
 */
#define RETRY_FACTOR 3
#define RETRIES 3
static int retrying_index;         /* while a test is run again: its number, from 1 */

/*
 * A grader's time for the whole suite (LAB_SUITE_SECONDS; 0: none): a class's
 * sandbox stops a lesson at its wall clock, and what was seen till then would
 * be lost. At that time the test running is stopped, and it and those after
 * it are "not graded"; the results of those before it stand.
 */
static int suite_seconds;
static double suite_deadline;
#define NOT_GRADED "not graded: the grader's time for the whole suite"

/*
 * When each test began, written by the test's own process into memory the
 * runner shares: Check says how a test ended, not how long it took. A test
 * took until the next one began (its fork, fixture and checks included).
 */
struct test_clock {
    int started;
    double began[MAX_TESTS];
    int busy_seen;      /* a test's process found the machine busy (machine_busy) */
    double progressed;  /* when a test's process last saw a child of its own end */
    pid_t running;      /* the test's process (and group), while it runs */
    int cut;            /* the test stopped at suite_deadline, from 1; -1: none was running */
};
static struct test_clock *test_clock;
static int wait_starved;  /* a lab_wait_child gave up on a process kept from the CPU */
static double wait_given;  /* the seconds the last lab_wait_child to give up waited */

/*
 * A child of the test ended: the test is getting on. A test that ran out of
 * time on a busy machine, and had done so a moment before, was slow, not
 * hung (run_again_longer).
 */
static double now_seconds(void);

static void note_progress(void)
{
    if (test_clock != NULL)
        test_clock->progressed = now_seconds();
}

static void mark(char c)
{
    if (progress_path[0] == '\0')
        return;
    int fd = open(progress_path, O_WRONLY | O_APPEND);
    if (fd != -1) {
        ssize_t ignored = write(fd, &c, 1);
        (void)ignored;
        close(fd);
    }
}

static FILE *capture_file;  /* while lab_capture_begin's capture runs */
static pid_t capture_pid;   /* the process that began it (a worker's lab_fail ends none) */

void lab_test_ended(void)
{
    mark('E');
    if (capture_file != NULL && capture_pid == getpid())
        lab_capture_end();  /* what the code said is shown under the test all the same */
}

/* How many tests started, and how many of them never ended on their own. */
static int count_marks(int *started_out)
{
    int fd = open(progress_path, O_RDONLY), started = 0, ended = 0;
    char buf[4096];
    ssize_t n;
    while (fd != -1 && (n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            started += buf[i] == 'S';
            ended += buf[i] == 'E';
        }
    if (fd != -1)
        close(fd);
    *started_out = started;
    return started - ended;
}

/* This test's stderr to its own file (see stderr_dir); the n-th test's is test-<n>.txt. */
static void redirect_stderr(int n)
{
    char path[sizeof stderr_dir + 32];
    snprintf(path, sizeof path, "%s/test-%d.txt", stderr_dir, n);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1)
        return;  /* stderr stays where it was: only the display loses */
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* ---- small helpers ---------------------------------------------------- */

/* Appends a sentence to a report, dropping what does not fit. */
static void report_add(char *report, const char *fmt, ...)
{
    size_t used = strlen(report);
    if (used + 1 >= REPORT_MAX)
        return;
    if (used > 0)
        strncat(report, "; ", REPORT_MAX - used - 1);
    used = strlen(report);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(report + used, REPORT_MAX - used, fmt, ap);
    va_end(ap);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

const char *lab_describe_status(int status)
{
    static char text[128];
    if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "was killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(text, sizeof text, "changed state (wait status %#x)", status);
    return text;
}

const char *lab_name(const char *base)
{
    static char name[256];
    snprintf(name, sizeof name, "/%s-%s", run_prefix, base);
    return name;
}

static int count_dir_entries(const char *path)
{
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

int lab_count_shared_mappings(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL)
        return -1;
    char line[512], perms[8];
    int n = 0;
    while (fgets(line, sizeof line, maps) != NULL)
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[3] == 's')
            n++;
    fclose(maps);
    return n;
}

void lab_expect_no_mapping_leak(void (*cycle)(void), int rounds, const char *what,
                                const char *fix)
{
    int before = lab_count_shared_mappings();
    for (int i = 0; i < rounds; i++)
        cycle();
    int after = lab_count_shared_mappings();
    if (after > before)
        lab_fail("after %d %s, the process holds %d more shared mappings than before: %s",
                 rounds, what, after - before, fix);
}

/* ---- processes left behind -------------------------------------------- */

/* Fills pids with the running (not zombie) children of this process; returns how many. */
/*
 * What /proc/<pid>/stat says of a process: its state, parent and session.
 * 0, or -1 if it has gone. The command name may hold spaces and
 * parentheses: the fields are read from past the last ')'.
 */
static int proc_stat(pid_t pid, char *state, int *ppid, int *session)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *stat = fopen(path, "r");
    if (stat == NULL)
        return -1;
    size_t len = fread(buf, 1, sizeof buf - 1, stat);
    fclose(stat);
    buf[len] = '\0';
    char *end = strrchr(buf, ')');
    if (end == NULL || sscanf(end + 1, " %c %d %*d %d", state, ppid, session) != 3)
        return -1;
    return 0;
}

static int find_children(pid_t *pids, int max)
{
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        return 0;
    int n = 0;
    pid_t self = getpid();
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL && n < max) {
        char state;
        int ppid, session;
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)atoi(entry->d_name);
        /* -1: it ended while we looked */
        if (proc_stat(pid, &state, &ppid, &session) == 0 && ppid == self && state != 'Z')
            pids[n++] = pid;
    }
    closedir(proc);
    return n;
}

/*
 * Kills and reaps every child, including orphaned grandchildren that come
 * to us because we are a subreaper. Returns how many were still running.
 */
static void report_left_running(char *report, pid_t pid)
{
    report_add(report, "process %d was still running after the test (every process the code "
               "starts must have finished and been waited for before it returns)", (int)pid);
}

static int kill_children(char *report)
{
    /*
     * First asked to end (SIGHUP), and given a moment: a process that
     * cleans up on its way out (the manager removes its socket) then
     * leaves nothing behind. What is still there is killed. (Not SIGTERM:
     * a fork of a test process has Check's SIGTERM handler, which kills
     * the test's whole process group.)
     */
    pid_t asked[256];
    int n_asked = find_children(asked, 256);
    for (int i = 0; i < n_asked; i++) {
        if (report != NULL && i < 3)
            report_left_running(report, asked[i]);
        kill(asked[i], SIGHUP);
    }
    for (int waited = 0; n_asked > 0 && waited < 300; waited += 5) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        int alive = 0;
        for (int i = 0; i < n_asked; i++)
            alive += kill(asked[i], 0) == 0;
        if (alive == 0)
            break;
        sleep_ms(5);
    }
    int killed = n_asked;
    for (int round = 0; round < 50; round++) {
        pid_t pids[256];
        int n = find_children(pids, 256);
        if (n == 0)
            break;
        for (int i = 0; i < n; i++) {
            int told = 0;  /* asked to end already, and reported then */
            for (int a = 0; a < n_asked && a < 3; a++)
                told |= asked[a] == pids[i];
            if (report != NULL && killed < 3 && !told)
                report_left_running(report, pids[i]);
            kill(pids[i], SIGKILL);
            killed++;
        }
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        sleep_ms(1);
    }
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    return killed;
}

/*
 * A daemon, a process that left our session (setsid) and whose parent
 * ended, comes to us only because we are a subreaper; on a real system
 * init would reap it. It is not the code's child to wait for: once it has
 * ended it is reaped without a word, and it is given a moment to end.
 */
static int is_adopted_daemon(pid_t pid)
{
    char state;
    int ppid, session;
    return proc_stat(pid, &state, &ppid, &session) == 0 && session != getsid(0);
}

/*
 * Whether the machine is busy: some task waited for a CPU at least half of
 * the last 10 s (the kernel's pressure stall information), or, where that
 * cannot be read, more tasks were ready to run than there are CPUs.
 * LAB_BUSY=1 or 0 says so instead.
 */
static int busy_now(void)
{
    FILE *f = fopen("/proc/pressure/cpu", "r");
    double some;
    if (f != NULL) {
        int read = fscanf(f, "some avg10=%lf", &some);
        fclose(f);
        if (read == 1)
            return some >= 50.0;
    }
    double load;
    f = fopen("/proc/loadavg", "r");
    if (f == NULL)
        return 0;
    int read = fscanf(f, "%lf", &load);
    fclose(f);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return read == 1 && load >= (double)(cpus > 0 ? cpus : 1);
}

static int machine_busy(void)
{
    const char *told = getenv("LAB_BUSY");  /* the harness's own tests say which */
    if (told != NULL && told[0] != '\0')
        return atoi(told) != 0;
    int busy = busy_now();
    if (busy && test_clock != NULL)
        test_clock->busy_seen = 1;
    return busy;
}

/*
 * For a test that ran out of time: whether the machine is busy now, or was
 * found busy while the suite ran. A wait that a busy machine stretched
 * (lab_run_workers, lab_wait_child) may outlast the test's own time, and
 * the load may be gone by the time the suite looks back at it.
 */
static int machine_was_busy(void)
{
    return machine_busy() || (getenv("LAB_BUSY") == NULL && test_clock != NULL &&
                              test_clock->busy_seen);
}

int lab_machine_busy(void)
{
    return machine_was_busy();
}

/*
 * How long a daemon is given to end: on a busy machine up to ten times as
 * long (a manager told to stop was once still there after 300 ms at load 50,
 * and right code failed), but never more than a quarter of a test's time.
 * Right code ends at once; only wrong code waits it out.
 */
static int daemon_moment_ms(void)
{
    int quarter = test_seconds * 250;
    return machine_busy() && quarter > 300 ? (quarter < 3000 ? quarter : 3000) : 300;
}

static void check_children(char *report)
{
    int zombies = 0, moment = daemon_moment_ms();
    for (int wait_ms = 0; wait_ms <= moment; wait_ms += 10) {
        siginfo_t info;
        info.si_pid = 0;
        /* Look at an ended child before reaping it: whose is it? */
        while (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0) {
            pid_t pid = info.si_pid;
            int adopted = is_adopted_daemon(pid), status;
            waitpid(pid, &status, 0);
            if (!adopted && zombies++ < 3)
                report_add(report, "child %d %s but was never reaped: it stayed a zombie "
                           "(the parent must waitpid() for every child it forks)",
                           (int)pid, lab_describe_status(status));
            info.si_pid = 0;
        }
        pid_t pids[256];
        int n = find_children(pids, 256), daemons = 0;
        for (int i = 0; i < n; i++)
            daemons += is_adopted_daemon(pids[i]);
        if (daemons == 0 || daemons < n)
            break;  /* only daemons get the moment to end */
        sleep_ms(10);
    }
    kill_children(report);
}

/* ---- segments and semaphores left behind ------------------------------ */

/* Unlinks every object of this run in /dev/shm; reports them when report != NULL. */
static void remove_leftovers(char *report)
{
    DIR *dir = opendir(SHM_DIR);
    if (dir == NULL)
        return;
    struct dirent *entry;
    size_t plen = strlen(run_prefix);
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        int is_sem = strncmp(name, "sem.", 4) == 0;
        if (strncmp(name + (is_sem ? 4 : 0), run_prefix, plen) != 0)
            continue;
        if (report != NULL) {
            if (is_sem)
                report_add(report, "named semaphore /%s was never removed "
                           "(sem_unlink it once no process needs it)", name + 4);
            else
                report_add(report, "segment /%s was never unlinked "
                           "(it outlives every process until shm_unlink removes it)", name);
        }
        char path[512];
        snprintf(path, sizeof path, "%s/%s", SHM_DIR, name);
        unlink(path);
    }
    closedir(dir);
}

/* ---- what the code under test made, by name -------------------------- */

static pid_t test_pid;  /* the test's own process */

/*
 * fork() copies the parent's stdio buffers and atexit handlers: a child
 * that ends with exit() writes the parent's unwritten output a second time
 * and runs the parent's handlers. A child must end with _exit(). Every
 * process of a test runs this at exit(); only the test's own may.
 */
static void note_exit_in_child(void)
{
    if (getpid() != test_pid && fault_record != NULL)
        __atomic_add_fetch(&fault_record->exits_in_children, 1, __ATOMIC_RELAXED);
}

static void check_exits_in_children(char *report)
{
    if (fault_record != NULL && fault_record->exits_in_children > 0)
        report_add(report, "%d process(es) forked by the code ended with exit() instead of "
                   "_exit(): a child then writes out its parent's unwritten stdio buffers a "
                   "second time and runs the parent's atexit handlers (end children with "
                   "_exit)", fault_record->exits_in_children);
}

/* "segment.c:41" for a call site in the student's file, or "" when it cannot tell. */
static void describe_site(uintptr_t pc, char *out, size_t size);

/* Removes the /dev/shm entry `entry`; 1 if it was there. */
static int unlink_entry(const char *entry)
{
    char path[FAULT_NAME_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", SHM_DIR, entry);
    return unlink(path) == 0;
}

/*
 * Every segment and named semaphore the code under test created, whatever
 * name it chose, must be gone (the harness's own run prefix finds only the
 * names the tests chose). A name whose unlink the grader made fail is the
 * grader's to remove.
 */
static void check_created_names(char *report)
{
    struct fault_record *r = fault_record;
    if (r == NULL)
        return;
    if (r->unlink_skipped[0] != '\0') {
        unlink_entry(r->unlink_skipped);
        r->unlink_skipped[0] = '\0';
    }
    for (int i = 0; i < r->n_names && i < FAULT_NAMES; i++) {
        char where[128];
        describe_site(r->name_pcs[i], where, sizeof where);
        int is_sem = strncmp(r->names[i], "sem.", 4) == 0;
        /* What is shared by name is the owner's alone: others could read or change it. */
        if (r->name_modes[i] & 077)
            report_add(report, "%s /%s was created%s%s with mode 0%03o: other users may %s it "
                       "(create it with mode 0600, for its owner only)", is_sem ?
                       "named semaphore" : "segment", r->names[i] + (is_sem ? 4 : 0),
                       where[0] ? " at " : "", where, r->name_modes[i],
                       r->name_modes[i] & 022 ? "change" : "read");
        if (!unlink_entry(r->names[i]))
            continue;
        report_add(report, "%s /%s, created by the code%s%s, was never %s", is_sem ?
                   "named semaphore" : "segment", r->names[i] + (is_sem ? 4 : 0),
                   where[0] ? " at " : "", where, is_sem ? "removed (sem_unlink it once no "
                   "process needs it)" : "unlinked (it outlives every process until "
                   "shm_unlink removes it)");
    }
    r->n_names = 0;
}

/*
 * The record is the runner's, shared with every test it forks. A test that
 * failed ended before its own check, so what its code made may still be
 * there: removed without a word (it was not this test's), and the record
 * made new.
 */
static void forget_earlier_tests(void)
{
    struct fault_record *r = fault_record;
    if (r->unlink_skipped[0] != '\0')
        unlink_entry(r->unlink_skipped);
    for (int i = 0; i < r->n_names && i < FAULT_NAMES; i++)
        unlink_entry(r->names[i]);
    memset(r, 0, sizeof *r);
}

/* ---- per-test fixture ------------------------------------------------- */

static void before_test(void)
{
    if (test_clock != NULL && retrying_index == 0 && test_clock->started < MAX_TESTS)
        test_clock->began[test_clock->started++] = now_seconds();
    signal(SIGUSR2, SIG_DFL);   /* the runner's, for its deadline: not the test's */
    if (suite_deadline > 0 && (test_clock->cut != 0 || now_seconds() >= suite_deadline))
        lab_fail(NOT_GRADED " (%d s) ran out before this test began: not the code's fail. "
                 "REGRADE on a quieter machine", suite_seconds);
    if (test_clock != NULL)
        test_clock->running = getpid();
    if (progress_path[0] != '\0') {
        int started;
        int lost = count_marks(&started);
        mark('S');
        if (stderr_dir[0] != '\0')
            redirect_stderr(retrying_index > 0 ? retrying_index : started + 1);
        /* A test run again (retry_timeouts) was run once already: its own first try,
           begun and never ended, is not an earlier test that hung. */
        if (give_up_after > 0 && retrying_index == 0 && lost >= give_up_after)
            lab_fail("not run: %d earlier test%s of this suite hung or crashed, and each "
                     "more would only wait out its time to say the same; fix %s first",
                     lost, lost == 1 ? "" : "s", lost == 1 ? "that one" : "those");
    }
    /* Orphaned grandchildren come to us, so we can see and stop them. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
        lab_fail("harness: prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
    /*
     * Check puts each test in a process group of its own: a runner stopped
     * from outside (Ctrl-C, a time limit) would leave the test running,
     * perhaps for ever. The test ends with its runner instead.
     */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
        lab_fail("harness: prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
    if (getppid() != runner_pid)
        _exit(EXIT_FAILURE);  /* the runner ended before the line above took effect */
    remove_leftovers(NULL);  /* an earlier test that failed may have left some: not ours */
    test_pid = getpid();
    random_state = run_seed;
    if (fault_record == NULL)
        lab_fail("harness: no record of calls (lab_main makes it)");
    forget_earlier_tests();
    atexit(note_exit_in_child);
    fds_at_start = count_dir_entries("/proc/self/fd");
}

/*
 * A lock made in shared memory without being process-shared may happen to
 * work (glibc wakes other processes for a robust mutex all the same), but
 * nothing promises it: the test fails even though what it saw was right.
 */
static void check_private_sync(void)
{
    const struct fault_record *r = fault_record;
    if (r == NULL || r->private_sync_pc == 0)
        return;
    char where[160];
    describe_site(r->private_sync_pc, where, sizeof where);
    lab_fail("the test itself passed, but a %s was made%s%s in memory that processes share "
             "without being made process-shared (%s): POSIX promises nothing of such a %s "
             "in any process but its maker's, and other C libraries, or another glibc, "
             "leave the others waiting for ever", r->private_sync_what, where[0] ? " at " : "",
             where, strcmp(r->private_sync_what, "semaphore") == 0
                 ? "sem_init's second argument, pshared, must be 1"
                 : strcmp(r->private_sync_what, "mutex") == 0
                       ? "pthread_mutexattr_setpshared(PTHREAD_PROCESS_SHARED)"
                       : "pthread_condattr_setpshared(PTHREAD_PROCESS_SHARED)",
             r->private_sync_what);
}

static void after_test(void)
{
    char report[REPORT_MAX] = "";
    check_children(report);
    check_exits_in_children(report);
    check_created_names(report);
    remove_leftovers(report);
    int fds = count_dir_entries("/proc/self/fd");
    if (fds > fds_at_start)
        report_add(report, "%d file descriptor(s) opened during the test were never closed",
                   fds - fds_at_start);
    if (report[0] != '\0')
        lab_fail("the test itself passed, but it left things behind: %s", report);
    check_private_sync();
    if (test_clock != NULL)
        test_clock->running = 0;
    mark('E');
    fflush(NULL);
    _exit(done_status);
}

/*
 * In the runner, before each test: a test stopped at its time limit never
 * cleaned up, and what it left running comes to us (a subreaper). A fork
 * bomb's tree, in a worker's session of its own, so out of reach of Check's
 * killpg, once took every process the sandbox allows: each later test, and
 * the run once more, failed to start its manager. Each such group is killed
 * whole, by one kill(-group), which a fork under way cannot escape. And
 * each is reaped: Check waits only for its test, and a bomb's processes,
 * once dead, stayed here as zombies, which count against the limit too.
 */
static long leftovers_killed;  /* by clear_the_way, in the runner: told at the end */

static void clear_the_way(void)
{
    pid_t own_group = getpgrp();
    for (int round = 0; round < 200; round++) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        pid_t pids[256];
        int n = find_children(pids, 256);
        if (n == 0)
            return;
        leftovers_killed += n;
        for (int i = 0; i < n; i++) {
            pid_t group = getpgid(pids[i]);
            /* Only a group that is all leftovers: its leader ended, or is ours. */
            char leader[32];
            snprintf(leader, sizeof leader, "/proc/%d", (int)group);
            int leftovers = group > 0 && group != own_group &&
                            (group == pids[i] || access(leader, F_OK) == -1);
            kill(leftovers ? -group : pids[i], SIGKILL);
        }
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        sleep_ms(1);
    }
}

/* A test case of one test, with the harness's fixtures and a time limit. */
static TCase *test_case(const TTest *test, int seconds)
{
    TCase *tc = tcase_create(test->name);
    tcase_add_unchecked_fixture(tc, clear_the_way, NULL);
    tcase_add_checked_fixture(tc, before_test, after_test);
    tcase_set_timeout(tc, seconds);
    _tcase_add_test(tc, test, 0, done_status, 0, 1);
    return tc;
}

void lab_add(Suite *suite, const TTest *test)
{
    lab_add_long(suite, test, 1);
}

void lab_add_long(Suite *suite, const TTest *test, int times)
{
    if (times < 1)
        times = 1;
    if (n_tests < MAX_TESTS) {
        tests_added[n_tests] = test;
        test_times[n_tests++] = times;
    }
    const char *seconds = getenv("LAB_TEST_SECONDS");
    if (seconds != NULL && atoi(seconds) > 0)
        test_seconds = atoi(seconds);
    if (done_status == 0)
        done_status = 64 + (int)((unsigned)(getpid() ^ time(NULL)) % 128);
    suite_add_tcase(suite, test_case(test, test_seconds * times));
}

/* ---- workers ---------------------------------------------------------- */

/* The race amplifier's (amplify.c), in lessons built `race`: a worker's last store, filled in. */
void lab_trace_finish(void) __attribute__((weak));

/* Each worker's reason for failing, in shared memory the parent reads after. */
#define REASON_MAX 1024
static char (*worker_reasons)[REASON_MAX];  /* one per worker; NULL outside lab_run_workers */
static int worker_index = -1;               /* in a worker: its index */

void lab_worker_fail(const char *fmt, ...)
{
    char text[REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (worker_reasons != NULL && worker_index >= 0)
        memcpy(worker_reasons[worker_index], text, sizeof text);
    else
        fprintf(stderr, "%s\n", text);
    _exit(1);
}

void lab_run_workers(int n, void (*fn)(int index, void *arg), void *arg,
                     double seconds, const char *hang_hint)
{
    /* A barrier in shared memory: nobody starts until all n exist. */
    pthread_barrier_t *gate = mmap(NULL, sizeof *gate, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (gate == MAP_FAILED)
        lab_fail("harness: mmap for the start barrier: %s", strerror(errno));
    pthread_barrierattr_t attr;
    pthread_barrierattr_init(&attr);
    pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    int err = pthread_barrier_init(gate, &attr, (unsigned)n + 1);
    pthread_barrierattr_destroy(&attr);
    if (err != 0)
        lab_fail("harness: pthread_barrier_init: %s", strerror(err));

    pid_t *pids = calloc((size_t)n, sizeof *pids);
    int *statuses = calloc((size_t)n, sizeof *statuses);
    if (pids == NULL || statuses == NULL)
        lab_fail("harness: out of memory for %d workers", n);
    size_t reasons_size = (size_t)n * sizeof *worker_reasons;
    worker_reasons = mmap(NULL, reasons_size, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (worker_reasons == MAP_FAILED)
        lab_fail("harness: mmap for the workers' reasons: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == -1) {
            int saved = errno;
            kill_children(NULL);
            lab_fail("harness: fork for worker %d of %d: %s", i, n, strerror(saved));
        }
        if (pids[i] == 0) {
            worker_index = i;
            /*
             * Odd workers run in a session (so a process group) of their own, as
             * a pool's workers may: what is shared by group or session is not
             * shared then. Out of the test's group, each still ends with it.
             */
            if (i % 2 == 1) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                setsid();
            }
            pthread_barrier_wait(gate);
            fn(i, arg);
            if (lab_trace_finish != NULL)
                lab_trace_finish();
            _exit(EXIT_SUCCESS);
        }
    }
    pthread_barrier_wait(gate);

    /*
     * Reap them all, giving up at the deadline; on a busy machine, workers that
     * are only slow are given RETRY_FACTOR times as long before they are
     * called hung (as a test that runs out of time is run again).
     */
    double waited = seconds, deadline = now_seconds() + seconds;
    int left = n;
    for (;;) {
        while (left > 0 && now_seconds() < deadline) {
            for (int i = 0; i < n; i++) {
                if (pids[i] > 0 && waitpid(pids[i], &statuses[i], WNOHANG) == pids[i]) {
                    pids[i] = -pids[i];  /* reaped; keep the pid for the report */
                    left--;
                    note_progress();
                }
            }
            if (left > 0)
                sleep_ms(1);
        }
        if (left == 0 || waited > seconds || !machine_busy())
            break;
        waited = seconds * RETRY_FACTOR;
        deadline += seconds * (RETRY_FACTOR - 1);
    }
    pthread_barrier_destroy(gate);
    munmap(gate, sizeof *gate);

    char report[REPORT_MAX] = "";
    if (left > 0) {
        for (int i = 0; i < n; i++)
            if (pids[i] > 0) {
                kill(pids[i], SIGKILL);
                waitpid(pids[i], NULL, 0);
            }
        const char *busy = waited > seconds ? " (the machine was busy, so it was given more "
                                              "time)" : "";
        if (n == 1)  /* "1 of 1 workers" reads as the student's workers: it is the test's */
            report_add(report, "deadlock or endless loop: the test's scenario was still running "
                       "after %g s%s and was stopped. %s", waited, busy, hang_hint);
        else
            report_add(report, "deadlock or endless loop: %d of %d workers were still running "
                       "after %g s%s and were killed. %s", left, n, waited,
                       waited > seconds ? " (the machine was busy, so they were given more "
                                          "time)" : "", hang_hint);
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (pids[i] < 0 && !(WIFEXITED(statuses[i]) && WEXITSTATUS(statuses[i]) == 0)
            && failed++ < 3) {
            worker_reasons[i][REASON_MAX - 1] = '\0';
            if (worker_reasons[i][0] != '\0' && n == 1)
                report_add(report, "%s", worker_reasons[i]);
            else if (worker_reasons[i][0] != '\0')
                report_add(report, "worker %d (pid %d): %s", i, (int)-pids[i], worker_reasons[i]);
            else
                report_add(report, "worker %d (pid %d) %s", i, (int)-pids[i],
                           lab_describe_status(statuses[i]));
        }
    }
    munmap(worker_reasons, reasons_size);
    worker_reasons = NULL;
    free(pids);
    free(statuses);
    if (report[0] != '\0')
        lab_fail("%s", report);
}

/*
 * Whether pid, or another child of this process (one it may wait for),
 * is runnable ('R': running, or waiting for a CPU) or in an uninterruptible
 * wait ('D') at some moment of the next half second. The kernel's count of
 * time spent waiting for a CPU grows only once the task runs again: at load
 * 1355 a right lesson 11's process waited 15 s, and that count said asleep.
 */
static int any_runnable(pid_t pid)
{
    for (int look = 0; look < 25; look++) {
        pid_t pids[257];
        int n = find_children(pids, 256);
        pids[n++] = pid;
        for (int i = 0; i < n; i++) {
            char state;
            int ppid, session;
            if (proc_stat(pids[i], &state, &ppid, &session) == 0 &&
                (state == 'R' || state == 'D'))
                return 1;
        }
        sleep_ms(20);
    }
    return 0;
}

int lab_wait_child(pid_t pid, int *status, double seconds)
{
    double start = now_seconds(), limit = seconds;
    for (int polls = 0;; polls++) {
        pid_t got = waitpid(pid, status, WNOHANG);
        if (got == pid) {
            note_progress();
            return 1;
        }
        if (got == -1 && errno != EINTR)
            lab_fail("harness: waitpid(%d): %s", (int)pid, strerror(errno));
        double waited = now_seconds() - start;
        if (waited >= limit && limit == seconds && machine_busy())
            limit = seconds * RETRY_FACTOR;  /* only slow, perhaps: as lab_run_workers */
        if (waited >= limit)
            break;
        /* Most children end within a millisecond: look often at first. */
        struct timespec t = {0, polls < 100 ? 100000 : 1000000};
        nanosleep(&t, NULL);
    }
    wait_given = limit;
    if (machine_busy()) {
        /* Asleep, waiting for something that never comes, or runnable and
           never given the CPU? (At load 500 a right lesson 11 waited 15 s,
           runnable all along.) Watch it a moment to tell. */
        double before = lab_runnable_seconds(pid);
        int runnable = any_runnable(pid);
        if (waitpid(pid, status, WNOHANG) == pid) {
            note_progress();
            return 1;
        }
        if (runnable || lab_runnable_seconds(pid) - before >= 0.25)
            wait_starved = 1;
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return 0;
}

int lab_wait_starved(void)
{
    return wait_starved;
}

double lab_wait_given(void)
{
    return wait_given;
}

/* ---- random cases, and a bystander ------------------------------------ */

unsigned long lab_seed(void)
{
    return run_seed;
}

uint64_t lab_random(void)
{
    random_state += 0x9e3779b97f4a7c15u;  /* splitmix64 */
    uint64_t z = random_state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/*
 * The lesson's number, from the suite program's directory, which the lab's
 * driver names after the lesson (build/work/01-unshared-list/check); "" if not.
 */
static const char *lesson_number(void)
{
    static char number[3];
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        return "";
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash == NULL)
        return "";
    *slash = '\0';
    const char *dir = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    if (isdigit((unsigned char)dir[0]) && isdigit((unsigned char)dir[1]) && dir[2] == '-')
        snprintf(number, sizeof number, "%.2s", dir);
    return number;
}

static const char *seed_note(const char *repeats)
{
    static char note[200];
    const char *lesson = lesson_number();
    snprintf(note, sizeof note, " (seed %lu: make check %s%s%sSEED=%lu %s)", run_seed,
             lesson[0] ? "LESSON=" : "with ", lesson, lesson[0] ? " " : "", run_seed, repeats);
    return note;
}

const char *lab_seed_note(void)
{
    return seed_note("repeats these cases");
}

const char *lab_seed_note_timed(void)
{
    return seed_note("draws the same cases again, though where each lands depends on timing");
}

double lab_runnable_seconds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, pid > 0 ? "/proc/%d/schedstat" : "/proc/self/schedstat",
             (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long ran = 0, waited = 0;
    if (f != NULL) {
        if (fscanf(f, "%llu %llu", &ran, &waited) != 2)
            ran = waited = 0;
        fclose(f);
    }
    return (double)(ran + waited) / 1e9;
}

size_t lab_largest_segment(size_t max)
{
    size_t largest = max;
    struct rlimit file, space;
    if (getrlimit(RLIMIT_FSIZE, &file) == 0 && file.rlim_cur != RLIM_INFINITY &&
        file.rlim_cur < largest)
        largest = (size_t)file.rlim_cur;
    /* Room for the test program itself beside the mapping. */
    if (getrlimit(RLIMIT_AS, &space) == 0 && space.rlim_cur != RLIM_INFINITY &&
        space.rlim_cur / 2 < largest)
        largest = (size_t)space.rlim_cur / 2;
    return largest;
}

pid_t lab_bystander_start(void)
{
    pid_t pid = fork();
    if (pid == -1)
        lab_fail("harness: fork for a bystander child: %s", strerror(errno));
    if (pid == 0)
        _exit(0);
    siginfo_t info;  /* ended, not yet reaped: a wait() would take it */
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) == -1)
        lab_fail("harness: waitid for the bystander: %s", strerror(errno));
    return pid;
}

void lab_bystander_check(pid_t bystander, const char *api)
{
    if (waitpid(bystander, NULL, WNOHANG) == -1 && errno == ECHILD)
        lab_fail("%s reaped a child that it did not fork (the test's own, pid %d): it waits "
                 "with wait() or waitpid(-1, ...), which take any child of the process; "
                 "wait for each of yours by its pid", api, (int)bystander);
}

/* ---- a lost update, told step by step ---------------------------------- */

struct trace *lab_trace;  /* read by the amplifier (trace.h) */

void lab_race_trace(const void *addr, size_t len)
{
    if (lab_trace == NULL) {
        lab_trace = mmap(NULL, sizeof *lab_trace, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (lab_trace == MAP_FAILED) {
            lab_trace = NULL;  /* the test goes on; only its story is lost */
            return;
        }
    }
    lab_trace->next = 0;
    lab_trace->lo = (uintptr_t)addr;
    lab_trace->hi = (uintptr_t)addr + len;
}

/* The first event at or after `from` by pid (== or != `same`) of op on addr; -1 if none. */
static int find_event(const struct trace *t, int n, int from, int to, pid_t pid, int same,
                      int op, uintptr_t addr)
{
    for (int i = from; i < n && i < to; i++) {
        const struct trace_event *e = &t->events[i];
        if (e->op == op && e->addr == addr && (same ? e->pid == pid : e->pid != pid))
            return i;
    }
    return -1;
}

static void tell_event(const struct trace_event *e, int step, char *out, size_t size)
{
    char where[160], value[32] = "?";
    describe_site(e->pc, where, sizeof where);
    if (__atomic_load_n(&e->complete, __ATOMIC_ACQUIRE))
        snprintf(value, sizeof value, "%lld", (long long)e->value);
    size_t used = strlen(out);
    snprintf(out + used, size - used, "%s%d. process %d %s %s%s%s", step > 1 ? "; " : "", step,
             (int)e->pid, e->op == TRACE_LOAD ? "loads" : "stores", value,
             where[0] ? " at " : "", where);
}

const char *lab_race_explain(void)
{
    static char text[1024];
    text[0] = '\0';
    const struct trace *t = lab_trace;
    if (t == NULL)
        return text;
    int n = t->next < TRACE_EVENTS ? t->next : TRACE_EVENTS;
    for (int i = 0; i < n; i++) {
        const struct trace_event *load1 = &t->events[i];
        if (load1->op != TRACE_LOAD)
            continue;
        /* P loads v, ... P stores; Q loaded the same v before P's store, and stores too. */
        int store1 = find_event(t, n, i + 1, n, load1->pid, 1, TRACE_STORE, load1->addr);
        if (store1 < 0)
            continue;
        for (int j = i + 1; j < store1; j++) {
            const struct trace_event *load2 = &t->events[j];
            if (load2->op != TRACE_LOAD || load2->addr != load1->addr ||
                load2->pid == load1->pid || load2->value != load1->value)
                continue;
            int store2 = find_event(t, n, j + 1, n, load2->pid, 1, TRACE_STORE, load2->addr);
            if (store2 < 0)
                continue;
            int first = store1 < store2 ? store1 : store2, last = store1 < store2 ? store2 : store1;
            snprintf(text, sizeof text, "How an addition was lost, as the race amplifier saw "
                     "it: ");
            tell_event(load1, 1, text, sizeof text);
            tell_event(load2, 2, text, sizeof text);
            tell_event(&t->events[first], 3, text, sizeof text);
            tell_event(&t->events[last], 4, text, sizeof text);
            size_t used = strlen(text);
            snprintf(text + used, sizeof text - used, ": both processes loaded %lld before "
                     "either stored, so process %d's store overwrote process %d's, and one "
                     "addition was lost", (long long)load1->value, (int)t->events[last].pid,
                     (int)t->events[first].pid);
            return text;
        }
    }
    return text;
}

/* ---- error paths, tried ----------------------------------------------- */

/*
 * Where a call site is in the student's file. The build renames the
 * student's code section to lab_student_text, so the linker marks where it
 * starts, and addr2line reads the line from the student's object file
 * (LAB_STUDENT_OBJECT, set by the lab's driver): this works in a stripped
 * program too.
 */
extern const char __start_lab_student_text[] __attribute__((weak));
extern const char __stop_lab_student_text[] __attribute__((weak));

static void describe_site(uintptr_t pc, char *out, size_t size)
{
    out[0] = '\0';
    const char *object = getenv("LAB_STUDENT_OBJECT");
    uintptr_t start = (uintptr_t)__start_lab_student_text;
    uintptr_t stop = (uintptr_t)__stop_lab_student_text;
    if (object == NULL || start == 0 || pc <= start || pc > stop)
        return;
    char offset[32];
    snprintf(offset, sizeof offset, "%#lx", (unsigned long)(pc - 1 - start));  /* the call */
    int fds[2];
    if (pipe(fds) == -1)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        int null = open("/dev/null", O_WRONLY);
        if (null != -1)
            dup2(null, STDERR_FILENO);
        execlp("addr2line", "addr2line", "-e", object, "-j", "lab_student_text", offset,
               (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[512] = "";
    ssize_t got = pid == -1 ? -1 : read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    if (pid != -1)
        waitpid(pid, NULL, 0);
    if (got <= 0)
        return;
    line[got] = '\0';
    line[strcspn(line, " \n")] = '\0';  /* drops " (discriminator 2)" */
    const char *base = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
    if (strstr(base, ":?") == NULL && strchr(base, ':') != NULL)
        snprintf(out, size, "%s", base);
}

/* "st" for 1, "nd" for 2, "th" for 11 */
static const char *ordinal_end(long n)
{
    static const char *const ends[] = {"th", "st", "nd", "rd"};
    return ends[n % 100 >= 11 && n % 100 <= 13 ? 0 : n % 10 <= 3 ? n % 10 : 0];
}

/* "the 2nd call to ftruncate (segment.c:41)" */
static void describe_call(const struct fault_record *r, char *out, size_t size)
{
    int n = r->target_nth;
    char where[160];
    describe_site(r->target_pc, where, sizeof where);
    snprintf(out, size, "the %d%s call to %s%s%s%s", n, ordinal_end(n),
             fault_call_name(r->target_fn), where[0] ? " (" : "", where, where[0] ? ")" : "");
}

const char *lab_describe_step(const struct lab_step *s)
{
    static char text[400];
    const char *what = s->kind == 'S' ? "a store" : s->kind == 'L' ? "a call that takes a lock"
                       : s->kind == 'U' ? "a call that lets go of a lock"
                       : s->kind == 'C' ? "the call to pthread_mutex_consistent"
                       : s->kind == 'I' ? "the call to pthread_mutex_init" : "a step";
    char where[160];
    describe_site(s->pc, where, sizeof where);
    snprintf(text, sizeof text, "its %ld%s step: %s%s%s, %s", s->n, ordinal_end(s->n), what,
             where[0] ? " at " : "", where,
             s->holding > 0 ? "holding the lock" : "holding no lock, as far as its calls showed");
    return text;
}

/* "failed with ENOSPC", "was interrupted (EINTR)", "woke up with no signal" */
static const char *describe_failure(int fn, int kind, int err)
{
    static char text[96];
    const char *name = fault_call_name(fn);
    if (kind == FAULT_TRANSIENT && strstr(name, "cond_") != NULL)
        return "returned with no signal sent (a spurious wakeup, which POSIX allows)";
    if (kind == FAULT_TRANSIENT && fn == FN_mgr_acquire)
        return "was not granted in time (others held the lock)";
    if (kind == FAULT_TRANSIENT && fn == FN_sem_timedwait)
        return "timed out (ETIMEDOUT), as when the other side is slower than the timeout";
    if (strncmp(name, "mgr_", 4) == 0)
        return "failed (the server answered an error)";
    if (kind == FAULT_TRANSIENT)
        snprintf(text, sizeof text, "was interrupted by a signal (EINTR)");
    else
        snprintf(text, sizeof text, "failed with %s", strerrorname_np(err));
    return text;
}

/* Whether what the code printed names the failed call (for allocations, ENOMEM's words do). */
static int message_names_call(const char *printed, int fn)
{
    const char *name = fault_call_name(fn);
    /*
     * A manager call's message gives mgr_error(c), as the headers ask: the
     * grader's error text (which names the call too), not the name alone.
     */
    if (fn == FN_mgr_acquire || strncmp(name, "mgr_", 4) == 0)
        return strstr(printed, "the grader made") != NULL || strstr(printed, "in time") != NULL;
    if (strstr(printed, name) != NULL)
        return 1;
    if (fn == FN_malloc || fn == FN_calloc || fn == FN_realloc || fn == FN_strdup)
        return strstr(printed, strerror(ENOMEM)) != NULL || strstr(printed, "memory") != NULL;
    if (fn == FN_sem_timedwait && strstr(printed, strerror(ETIMEDOUT)) != NULL)
        return 1;
    return 0;
}

/*
 * Whether the message says why the call failed, as the headers' examples
 * do ("mmap(counter): Cannot allocate memory"): the failure's strerror. A
 * manager call's answer and an allocation's are checked by name above.
 */
static int message_says_why(const char *printed, int fn, int err)
{
    const char *name = fault_call_name(fn);
    if (strncmp(name, "mgr_", 4) == 0 || fn == FN_malloc || fn == FN_calloc ||
        fn == FN_realloc || fn == FN_strdup || err <= 0)
        return 1;
    return strstr(printed, strerror(err)) != NULL;
}

/* Children the code forked, from this process, that are still there (running or zombies). */
static int children_left(const struct fault_record *r, char *report, const char *api)
{
    int left = 0;
    for (int i = 0; i < r->n_children && i < FAULT_CHILDREN; i++) {
        char state;
        int ppid, session;
        if (r->parents[i] != getpid() || proc_stat(r->children[i], &state, &ppid, &session) != 0
            || ppid != getpid())
            continue;
        if (left++ == 0)
            report_add(report, state == 'Z' ? "%s returned while child %d it forked had ended "
                       "but was never waited for (a zombie)" : "%s returned while child %d it "
                       "forked was still running", api, (int)r->children[i]);
    }
    return left;
}

/* Blocks of heap in use, counted by heap.c where it is linked (the lessons' programs). */
long lab_heap_blocks(void) __attribute__((weak));

static long heap_in_use(void)
{
    return lab_heap_blocks != NULL ? lab_heap_blocks() : 0;
}

struct scenario_run {
    pid_t pid;           /* the scenario process */
    long heap_kept;      /* blocks of heap the scenario process still held at its end */
    int status;          /* the scenario process's wait status */
    int hung;            /* still running at its deadline: killed */
    char reason[REASON_MAX];
    char printed[65536]; /* the end of what every process of it wrote on stderr */
};

/*
 * Runs scenario(arg) in a process of its own (its group's leader: a hang
 * kills the group), its stderr and its children's into a file. Before it
 * ends, that process checks what it holds itself: descriptors, shared
 * mappings, children.
 */
static void run_scenario(const char *api, int (*scenario)(void *arg), void *arg,
                         double seconds, struct scenario_run *run)
{
    memset(run, 0, sizeof *run);
    FILE *err = tmpfile();
    if (err == NULL)
        lab_fail("harness: tmpfile for the scenario's stderr: %s", strerror(errno));
    worker_reasons = mmap(NULL, sizeof *worker_reasons, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    long *heap_kept = mmap(NULL, sizeof *heap_kept, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (worker_reasons == MAP_FAILED || heap_kept == MAP_FAILED)
        lab_fail("harness: mmap for the scenario's reason: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1)
        lab_fail("harness: fork for a scenario: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        worker_index = 0;
        dup2(fileno(err), STDERR_FILENO);
        fclose(err);
        /* No stdout buffer, made on the first printf: its bytes would look like a leak. */
        setvbuf(stdout, NULL, _IONBF, 0);
        int fds = count_dir_entries("/proc/self/fd");
        int maps = lab_count_shared_mappings();
        long heap = heap_in_use();
        int said = scenario(arg);
        char report[REPORT_MAX] = "";
        children_left(fault_record, report, api);
        *heap_kept = heap_in_use() - heap;
        int more_fds = count_dir_entries("/proc/self/fd") - fds;
        if (more_fds > 0)
            report_add(report, "%d file descriptor(s) opened by the code were still open afterwards", more_fds);
        int more_maps = lab_count_shared_mappings() - maps;
        if (more_maps > 0)
            report_add(report, "%d shared mapping(s) made by the code were still mapped afterwards", more_maps);
        if (report[0] != '\0')
            lab_worker_fail("%s", report);
        fflush(NULL);
        _exit(said == LAB_REPORTED || said == LAB_SUCCEEDED ? said : 12);
    }
    setpgid(pid, pid);
    run->pid = pid;
    double deadline = now_seconds() + seconds;
    while (waitpid(pid, &run->status, WNOHANG) == 0) {
        if (now_seconds() > deadline) {
            kill(-pid, SIGKILL);
            waitpid(pid, &run->status, 0);
            run->hung = 1;
            break;
        }
        sleep_ms(1);
    }
    /* What it printed, and why it failed if it said: its last words, where a message for
       the failure comes after whatever the code printed before it. */
    long size = fseek(err, 0, SEEK_END) == 0 ? ftell(err) : 0;
    long keep = (long)sizeof run->printed - 1;
    if (fseek(err, size > keep ? size - keep : 0, SEEK_SET) != 0)
        rewind(err);
    size_t n = fread(run->printed, 1, sizeof run->printed - 1, err);
    run->printed[n] = '\0';
    fclose(err);
    memcpy(run->reason, worker_reasons[0], REASON_MAX);
    run->reason[REASON_MAX - 1] = '\0';
    munmap(worker_reasons, sizeof *worker_reasons);
    worker_reasons = NULL;
    run->heap_kept = *heap_kept;
    munmap(heap_kept, sizeof *heap_kept);
}

/* What a scenario run left outside its process: processes, named objects. */
/*
 * The test's own children from before the scenarios (a manager it started)
 * are not the scenario's: `before` lists them.
 */
struct children {
    int n;
    pid_t pids[64];
};

static int is_listed(const struct children *list, pid_t pid)
{
    for (int i = 0; i < list->n; i++)
        if (list->pids[i] == pid)
            return 1;
    return 0;
}

static void check_left_outside(const struct children *before, char *report)
{
    pid_t pids[64];
    /* A daemon (its own session) is given a moment to end, as after a test. */
    int moment = daemon_moment_ms();
    for (int waited = 0; waited < moment; waited += 10) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        int n = find_children(pids, 64), daemons = 0, others = 0;
        for (int i = 0; i < n; i++)
            if (!is_listed(before, pids[i]))
                is_adopted_daemon(pids[i]) ? daemons++ : others++;
        if (daemons == 0 || others > 0)
            break;
        sleep_ms(10);
    }
    int n = find_children(pids, 64), left = 0;
    for (int i = 0; i < n; i++) {
        if (is_listed(before, pids[i]))
            continue;
        if (left++ < 2)
            report_add(report, "process %d it started was still running after it returned",
                       (int)pids[i]);
        kill(pids[i], SIGKILL);
    }
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    check_created_names(report);
    remove_leftovers(NULL);
}

/* The outcome of one run with one call failed: "" if right, else why not. */
/* What correct code does when a call returns without having done its work. */
static const char *transient_hint(int fn)
{
    const char *name = fault_call_name(fn);
    if (strstr(name, "cond_") != NULL)
        return "a wait that returns must check its condition again and wait again if it is "
               "still false: while, not if";
    if (fn == FN_sem_timedwait)
        return "a timed wait that timed out (ETIMEDOUT) did not get the semaphore: it "
               "must wait again or report it, never go on as if it had";
    if (fn == FN_mgr_acquire)
        return "a timed acquire that was not granted holds nothing: try again or report it";
    return "a call interrupted by a signal (EINTR) did nothing: it must be made again";
}

/* Whether a failure's message must name the object it was on (lab_messages_name_objects). */
static int names_in_messages;

void lab_messages_name_objects(void)
{
    names_in_messages = 1;
}

static void judge(const char *api, const struct scenario_run *run, int kind, char *report)
{
    const struct fault_record *r = fault_record;
    size_t said = strlen(report);
    if (run->hung)
        report_add(report, "then hung: still running after it had time to finish (a lock "
                   "kept on an error path? a wait for something that will not come?)");
    else if (WIFSIGNALED(run->status))
        report_add(report, "then crashed: the process %s", lab_describe_status(run->status));
    else if (WEXITSTATUS(run->status) == 1 && run->reason[0] != '\0')
        report_add(report, "%s", run->reason);  /* the scenario's lab_worker_fail */
    else if (WEXITSTATUS(run->status) == 12)
        report_add(report, "the scenario did not finish properly");
    else if (WEXITSTATUS(run->status) == LAB_REPORTED) {
        int manager_call = strncmp(fault_call_name(r->target_fn), "mgr_", 4) == 0;
        if (!message_names_call(run->printed, r->target_fn))
            report_add(report, "%s returned an error but %s: the header promises a message "
                       "on stderr naming the call that failed (\"%s: ...\")%s", api,
                       !run->printed[0] ? "said nothing on stderr" : manager_call ? "its "
                       "message did not give the manager's answer" : "its message did not "
                       "name that call", fault_call_name(r->target_fn), manager_call ?
                       ", with mgr_error(c), the manager's answer" : "");
        else if (names_in_messages && r->target_name[0] != '\0' &&
                 strstr(run->printed, r->target_name + (r->target_name[0] == '/')) == NULL)
            report_add(report, "%s returned an error and named %s, but not the name it "
                       "failed on (%s): a failure's message says which call failed on which "
                       "object, as in shm_open(\"/shmlab-x\"): No such file or directory. "
                       "It said: %.300s", api, fault_call_name(r->target_fn), r->target_name,
                       run->printed);
        else if (!message_says_why(run->printed, r->target_fn, r->injected_errno))
            report_add(report, "%s returned an error and named %s, but not why it failed: "
                       "\"%s\" (strerror(%s)) was not in its message%s. It said: %.300s",
                       api, fault_call_name(r->target_fn), strerror(r->injected_errno),
                       strerrorname_np(r->injected_errno),
                       strncmp(fault_call_name(r->target_fn), "pthread_", 8) == 0 ? " (a "
                       "pthread_ function returns its error number and leaves errno alone: "
                       "give that number to strerror)" : "", run->printed);
    } else if (WEXITSTATUS(run->status) != LAB_SUCCEEDED) {
        report_add(report, "then the process exited with status %d in the middle of %s: code "
                   "under test must return an error to its caller, never exit",
                   WEXITSTATUS(run->status), api);
    }
    if (kind == FAULT_TRANSIENT && r->injected && strlen(report) > said)
        report_add(report, "%s", transient_hint(r->target_fn));
}

/*
 * Slow, or hung? A run stopped at its deadline on a busy machine is run
 * again with more time, as a whole test is (retry_timeouts). What the
 * stopped run left is cleared first: it was stopped by us.
 */
static void run_again_if_slow(const char *api, int (*scenario)(void *arg), void *arg,
                              double budget, struct scenario_run *run,
                              const struct children *before)
{
    if (!run->hung || !machine_busy())
        return;
    char ignored[REPORT_MAX] = "";
    check_left_outside(before, ignored);
    struct fault_record *r = fault_record;
    if (r->mode == FAULT_COUNT)
        r->n_sites = 0;
    r->target_seen = 0;
    r->injected = 0;
    r->target_name[0] = '\0';
    r->n_children = 0;
    run_scenario(api, scenario, arg, budget * RETRY_FACTOR, run);
}

int lab_a_call_was_made_to_fail(void)
{
    return fault_record != NULL && fault_record->mode == FAULT_INJECT && fault_record->injected;
}

static void try_each(const char *api, int (*scenario)(void *arg), void *arg, int kind)
{
    struct fault_record *r = fault_record;
    if (r == NULL)
        lab_fail("harness: no record of calls (lab_try_each_failure outside a test)");
    struct children before;
    before.n = find_children(before.pids, 64);
    /* Which calls does it make? One run with nothing failed. */
    r->mode = FAULT_COUNT;
    r->n_sites = 0;
    r->n_children = 0;
    r->injected = 0;
    struct scenario_run run;
    double budget = test_seconds / 2.0;  /* a run is small; more is a hang, even under load */
    run_scenario(api, scenario, arg, budget, &run);
    run_again_if_slow(api, scenario, arg, budget, &run, &before);
    r->mode = FAULT_OFF;
    char report[REPORT_MAX] = "";
    check_left_outside(&before, report);
    if (run.hung || !WIFEXITED(run.status) || WEXITSTATUS(run.status) != LAB_SUCCEEDED ||
        report[0] != '\0') {
        char why[REPORT_MAX] = "";
        if (!run.hung && WIFEXITED(run.status) && WEXITSTATUS(run.status) == LAB_REPORTED)
            report_add(why, "it returned an error, with nothing made to fail; it said: "
                       "%.400s", run.printed[0] ? run.printed : "(nothing)");
        else
            judge(api, &run, kind, why);
        lab_fail("%s, with no call made to fail: %s%s%s", api, why,
                 why[0] && report[0] ? "; " : "", report);
    }

    /* With nothing failed, everything taken is given back: a leak on the common path. */
    if (run.heap_kept > 0)
        lab_fail("%s, with no call made to fail: %ld block(s) of memory allocated were never "
                 "freed (a malloc, or a value the manager's client returned, not freed on the "
                 "way out)", api, run.heap_kept);
    long heap_normally_kept = run.heap_kept;

    /* The cases: each site's 1st call, then 2nd calls, then last calls, up to the bound. */
    int fns[LAB_FAULT_CASES], nths[LAB_FAULT_CASES], cases = 0;
    uintptr_t pcs[LAB_FAULT_CASES];
    int n_sites = r->n_sites < FAULT_SITES ? r->n_sites : FAULT_SITES;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < n_sites && cases < LAB_FAULT_CASES; i++) {
            struct fault_site *site = &r->sites[i];
            int nth = round == 0 ? 1 : round == 1 ? 2 : site->calls;
            if (fault_call_errno(site->fn, kind) == 0 || nth > site->calls ||
                (round == 2 && site->calls < 3))
                continue;
            fns[cases] = site->fn;
            pcs[cases] = site->pc;
            nths[cases++] = nth;
        }

    int failed = 0, tried = 0;
    char first[REPORT_MAX] = "", more[600] = "";
    for (int c = 0; c < cases && failed < 3; c++) {
        r->mode = FAULT_INJECT;
        r->kind = kind;
        r->target_fn = fns[c];
        r->target_pc = pcs[c];
        r->target_nth = nths[c];
        r->target_seen = 0;
        r->injected = 0;
        r->injected_pid = 0;
        r->target_name[0] = '\0';
        r->n_children = 0;
        run_scenario(api, scenario, arg, budget, &run);
        run_again_if_slow(api, scenario, arg, budget, &run, &before);
        r->mode = FAULT_OFF;
        char why[REPORT_MAX] = "";
        judge(api, &run, kind, why);
        /*
         * Heap: what the run with nothing failed kept is the scenario's own;
         * more than that, the failure's path did not free.
         */
        if (WIFEXITED(run.status) && run.heap_kept > heap_normally_kept)
            report_add(why, "%ld block(s) of memory allocated on that path were never freed "
                       "(a malloc, or a value the manager's client returned, not freed when the "
                       "call failed)", run.heap_kept - heap_normally_kept);
        check_left_outside(&before, why);
        if (!r->injected)
            continue;  /* this run did not reach that call: nothing was tried */
        tried++;
        char call[256];
        describe_call(r, call, sizeof call);
        /* A call of a process the code forked: the one that called the lesson's function saw
           only what followed (an outsider, told of a read that failed with EIO, saw ECONNRESET). */
        const char *where = r->injected_pid != 0 && r->injected_pid != run.pid
                                ? ", in a process the code had forked," : "";
        if (why[0] != '\0' && failed++ == 0)
            snprintf(first, sizeof first, "when %s%s %s: %s", call, where,
                     describe_failure(r->target_fn, kind, r->injected_errno), why);
        else if (why[0] != '\0') {
            size_t len = strlen(more);
            snprintf(more + len, sizeof more - len, "%s%s", len ? "; " : "", call);
        }
        if (run.hung)
            break;  /* one hang says it: each more would wait out its time too */
    }
    if (failed > 0)
        lab_fail("%s%s%s%s", first, failed > 1 ? " (it went wrong too when these failed: "
                 : "", more, failed > 1 ? ")" : "");
    (void)tried;
}

void lab_try_each_failure(const char *api, int (*scenario)(void *arg), void *arg)
{
    try_each(api, scenario, arg, FAULT_ERROR);
}

void lab_try_each_interruption(const char *api, int (*scenario)(void *arg), void *arg)
{
    try_each(api, scenario, arg, FAULT_TRANSIENT);
}

/* ---- running the suite ------------------------------------------------ */

/* Check's own words for timeouts, crashes and exits, said in the lab's terms. */
static void describe_message(const char *msg, int seconds, char *out, size_t size)
{
    int code;
    if (strcmp(msg, "Test timeout expired") == 0)
        snprintf(out, size, "deadlock or endless loop: the test was still running after %d s "
                 "and was stopped (something waits for an event that never comes, loops "
                 "forever, or is far slower than it should be)", seconds);
    else if (strncmp(msg, "Received signal", 15) == 0)
        snprintf(out, size, "crashed: the test process r%s%s", msg + 1,
                 sscanf(msg, "Received signal %d", &code) == 1 && code == SIGBUS
                     ? ": a read or write of a mapping past the end of the file or segment "
                       "under it (made smaller, by ftruncate, than the length mapped)"
                     : "");
    else if (sscanf(msg, "Early exit with return value %d", &code) == 1)
        snprintf(out, size, "the test process exited with status %d in the middle of the test: "
                 "the code under test called exit() where it should return an error to its "
                 "caller", code);
    else
        snprintf(out, size, "%s", msg);
}

/* A test's result, kept from Check's (which its runner owns), in the lab's words. */
struct outcome {
    char name[128];
    int passed;
    int error;           /* not a failure it reported: it crashed, exited or timed out */
    int timed_out;       /* Check stopped it at its time limit */
    int not_shown_to_hang; /* timed out, but REGRADE: slow, or no time to run it again */
    char text[4096];     /* why it failed */
    char file[256];      /* where it failed */
    int line;
    double seconds;      /* how long it ran, as the runner saw it */
    int limit;           /* the time it had, in seconds */
};

static void keep_outcome(struct outcome *o, TestResult *r, int seconds)
{
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", tr_tcname(r));
    o->passed = tr_rtype(r) == CK_PASS;
    o->limit = seconds;
    if (o->passed)
        return;
    const char *msg = tr_msg(r) != NULL ? tr_msg(r) : "";
    o->error = tr_rtype(r) == CK_ERROR;
    o->timed_out = strcmp(msg, "Test timeout expired") == 0;
    describe_message(msg, seconds, o->text, sizeof o->text);
    snprintf(o->file, sizeof o->file, "%s", tr_lfile(r) != NULL ? tr_lfile(r) : "?");
    o->line = tr_lno(r);
}

/* In the runner, at suite_deadline: the test running is stopped, and is not graded. */
static void suite_out_of_time(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    if (info->si_code != SI_TIMER || test_clock == NULL)
        return;   /* sent by the code under test: only the timer's counts */
    pid_t running = test_clock->running;
    test_clock->cut = running > 0 ? (retrying_index > 0 ? retrying_index : test_clock->started)
                                  : -1;
    if (running > 0)
        kill(-running, SIGKILL);
}

/* A timer for LAB_SUITE_SECONDS, if set; 0, or -1 having said why. */
static int start_suite_clock(void)
{
    const char *given = getenv("LAB_SUITE_SECONDS");
    if (given == NULL || atoi(given) <= 0)
        return 0;
    suite_seconds = atoi(given);
    suite_deadline = now_seconds() + suite_seconds;
    struct sigaction sa = {.sa_sigaction = suite_out_of_time, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    timer_t timer;
    struct itimerspec at = {.it_value = {.tv_sec = suite_seconds}};
    if (sigaction(SIGUSR2, &sa, NULL) == -1 || timer_create(CLOCK_MONOTONIC, &ev, &timer) == -1 ||
        timer_settime(timer, 0, &at, NULL) == -1) {
        fprintf(stderr, "harness: a timer for LAB_SUITE_SECONDS: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* Outcome o of test `index` (from 1): if the suite's deadline stopped it, not graded. */
static void note_cut(struct outcome *o, int index)
{
    if (o->passed || test_clock == NULL || test_clock->cut != index)
        return;
    o->timed_out = 0;
    o->error = 1;
    snprintf(o->text, sizeof o->text, NOT_GRADED " (%d s) ran out while this test ran, and "
             "it was stopped: not the code's fail. REGRADE on a quieter machine", suite_seconds);
}

/* Time left for `seconds` more before the suite's deadline? */
static int time_left_for(int seconds)
{
    return suite_deadline == 0 || (test_clock->cut == 0 && now_seconds() + seconds < suite_deadline);
}

/* Runs test i alone, with `seconds`, and keeps its outcome in o. */
static void run_alone(struct outcome *o, int i, int seconds)
{
    Suite *again = suite_create("again");
    suite_add_tcase(again, test_case(tests_added[i], seconds));
    SRunner *runner = srunner_create(again);
    srunner_set_fork_status(runner, CK_FORK);
    retrying_index = i + 1;
    double began = now_seconds();
    srunner_run_all(runner, CK_SILENT);
    double took = now_seconds() - began;
    retrying_index = 0;
    TestResult **results = srunner_results(runner);
    if (srunner_ntests_run(runner) == 1) {
        keep_outcome(o, results[0], seconds);
        note_cut(o, i + 1);
        o->seconds = took;
    }
    free(results);
    srunner_free(runner);
}

/*
 * Test i, out of time on a busy machine, once more with RETRY_FACTOR times
 * its time. Out of time again, it hangs; unless the machine is still busy
 * and the test was getting on to the end (a child of its own had ended in
 * the last PROGRESS_SECONDS, or a sixth of its time): a test of many short
 * processes, each waiting its turn for a CPU at load 40, took over ten
 * times its quiet time. That is the machine's fault: REGRADE.
 */
#define PROGRESS_SECONDS 10.0

static void run_again_longer(struct outcome *o, int i)
{
    int seconds = test_seconds * test_times[i] * RETRY_FACTOR;
    if (test_clock != NULL)
        test_clock->progressed = 0;
    run_alone(o, i, seconds);
    double since = test_clock != NULL && test_clock->progressed > 0
                       ? now_seconds() - test_clock->progressed : -1;
    double window = seconds / 6.0 > PROGRESS_SECONDS ? seconds / 6.0 : PROGRESS_SECONDS;
    o->not_shown_to_hang = o->timed_out && since >= 0 && since < window && machine_was_busy();
    if (o->not_shown_to_hang)
        snprintf(o->text, sizeof o->text, "out of time on a busy machine: the test was still "
                 "running after %d s, and again after %d s when run once more, but it was "
                 "getting on (a process of its own had ended %.1f s before it was stopped): "
                 "never shown to hang; slow on this busy machine, or slow in itself (a call "
                 "that waits out a timeout at every step?). REGRADE on a quieter machine",
                 test_seconds * test_times[i], seconds, since);
    else if (o->timed_out)
        snprintf(o->text, sizeof o->text, "deadlock or endless loop: the test was still "
                 "running after %d s, and again when run once more with %d s (the machine "
                 "was busy, so it was given more time; something waits for an event that "
                 "never comes, loops forever, or is far slower than it should be)",
                 test_seconds * test_times[i], seconds);
}

/*
 * Each test that ran out of time while the machine was busy runs once more,
 * alone, with RETRY_FACTOR times its time: a correct answer that was only
 * slow passes then. One that runs out of time again hangs. Under
 * LAB_GIVE_UP_AFTER, the tests not run because of one that was only slow
 * are run now (and stopped again at the next that hangs).
 */
static void retry_timeouts(struct outcome *outcomes, int n)
{
    const char *most = getenv("LAB_RETRIES");  /* the harness's own tests: every one */
    int retries = most != NULL && atoi(most) > 0 ? atoi(most) : RETRIES;
    int retried = 0, only_slow = 0;
    for (int i = 0; i < n && i < n_tests; i++) {
        struct outcome *o = &outcomes[i];
        if (!o->timed_out || strcmp(o->name, tests_added[i]->name) != 0 || !machine_was_busy())
            continue;
        char why[128] = "";
        if (!time_left_for(test_seconds * test_times[i] * RETRY_FACTOR))
            snprintf(why, sizeof why, "the grader's time for the whole suite (%d s) was "
                     "running out", suite_seconds);
        else if (retried == retries)
            snprintf(why, sizeof why, "%d tests were run again already", retries);
        if (why[0] != '\0') {
            /* Out of time on a busy machine, and never shown to hang: a grader grades it
               again (tests/shmlab/classroom.py reads this mark). */
            o->not_shown_to_hang = 1;
            snprintf(o->text, sizeof o->text, "out of time on a busy machine: the test was "
                     "still running after %d s and was stopped, and was not run again (%s): "
                     "never shown to hang. REGRADE on a quieter machine",
                     test_seconds * test_times[i], why);
            continue;
        }
        retried++;
        run_again_longer(o, i);
        only_slow += !o->timed_out;
    }
    /* The tests held back behind one never shown to hang run too: a failure of theirs
       is certain, where the slow one's is not (a grader would call it all REGRADE). */
    for (int i = 0; i < n && i < n_tests; i++)
        only_slow += outcomes[i].not_shown_to_hang;
    if (give_up_after == 0 || only_slow == 0)
        return;
    int hung = 0;
    for (int i = 0; i < n && i < n_tests; i++)
        hung += outcomes[i].timed_out && !outcomes[i].not_shown_to_hang;
    for (int i = 0; i < n && i < n_tests && hung < give_up_after; i++) {
        struct outcome *o = &outcomes[i];
        if (o->passed || strncmp(o->text, "not run:", 8) != 0 ||
            strcmp(o->name, tests_added[i]->name) != 0)
            continue;
        if (!time_left_for(test_seconds * test_times[i])) {
            /* Held back behind a test only slow, it is not run for want of time, not for a hang. */
            snprintf(o->text, sizeof o->text, NOT_GRADED " (%d s) ran out before this test "
                     "could run: not the code's fail. REGRADE on a quieter machine", suite_seconds);
            continue;
        }
        run_alone(o, i, test_seconds * test_times[i]);
        if (o->timed_out && machine_was_busy() && retried < retries) {
            retried++;
            run_again_longer(o, i);
        }
        hung += o->timed_out && !o->not_shown_to_hang;
    }
}

/*
 * For a grader (LAB_RESULTS=path): one line per test, "ok|FAIL<TAB>name<TAB>
 * seconds<TAB>limit<TAB>message" (how long it ran, and had), written only once every process of the tests has been stopped,
 * to a file that must not exist yet. Code under test cannot have written it
 * first without the grader noticing (the file is refused), nor after.
 */
static int write_results(const char *path, const struct outcome *outcomes, int n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    FILE *out = fd == -1 ? NULL : fdopen(fd, "w");
    if (out == NULL) {
        fprintf(stderr, "harness: cannot make the results file %s: %s (did something make it "
                "before the grader?)\n", path, strerror(errno));
        if (fd != -1)
            close(fd);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        fprintf(out, "%s\t%s\t%.3f\t%d\t", outcomes[i].passed ? "ok" : "FAIL",
                outcomes[i].name, outcomes[i].seconds, outcomes[i].limit);
        /* One line per test: the lines of what a program said, quoted, kept apart by " | ". */
        for (const char *p = outcomes[i].passed ? "" : outcomes[i].text; *p != '\0'; p++)
            if (*p == '\n' && p[1] != '\0' && p[1] != '\n')
                fputs(" | ", out);
            else
                fputc(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p, out);
        fputc('\n', out);
    }
    return fclose(out) == 0 ? 0 : -1;
}

/*
 * A manager's private directory (starter/common/manager/client.c names it
 * /tmp/shmlab-manager-<pid>-XXXXXX) stays when a test that started one is
 * killed (at its time limit, say): those made since `since` by a process
 * that has ended go. (Another run's, made by a process still running, stay.)
 */
static void remove_dead_managers(time_t since)
{
    DIR *tmp = opendir("/tmp");
    if (tmp == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(tmp)) != NULL) {
        int pid;
        char path[PATH_MAX], socket_path[PATH_MAX + 8];
        struct stat st;
        if (sscanf(e->d_name, "shmlab-manager-%d-", &pid) != 1 || pid <= 0 ||
            (kill(pid, 0) == 0 || errno != ESRCH))
            continue;
        snprintf(path, sizeof path, "/tmp/%s", e->d_name);
        if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode) || st.st_mtime < since)
            continue;
        snprintf(socket_path, sizeof socket_path, "%s/socket", path);
        unlink(socket_path);
        rmdir(path);
    }
    closedir(tmp);
}

int lab_main(Suite *suite)
{
    time_t started = time(NULL);
    runner_pid = getpid();
    srand((unsigned)(time(NULL) ^ getpid()));
    const char *seed = getenv("LAB_SEED");
    run_seed = seed != NULL && seed[0] != '\0' ? strtoul(seed, NULL, 10)
                                               : (unsigned long)rand() * 7919u + (unsigned)rand();
    snprintf(run_prefix, sizeof run_prefix, "shmlab-%d-%04x", (int)getpid(), rand() & 0xffff);
    /* Grandchildren that escape a test's process group come back to us here. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
        fprintf(stderr, "harness: prctl(PR_SET_CHILD_SUBREAPER): %s: processes that escape "
                "a test may be left running\n", strerror(errno));

    /* Check would run only some tests if these were set: a grade counts them all. */
    const char *selectors[] = {"CK_RUN_SUITE", "CK_RUN_CASE", "CK_INCLUDE_TAGS",
                               "CK_EXCLUDE_TAGS"};
    for (size_t i = 0; i < sizeof selectors / sizeof selectors[0]; i++)
        unsetenv(selectors[i]);

    /* A grader's or the student's command's question: which tests are there? */
    const char *list = getenv("LAB_LIST");
    if (list != NULL && list[0] != '\0') {
        for (int i = 0; i < n_tests; i++)
            printf("%s\n", tests_added[i]->name);
        srunner_free(srunner_create(suite));  /* the suite, freed (LeakSanitizer looks) */
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }

    /*
     * The marks that tell which test runs: in LAB_PROGRESS, where the
     * student's command reads them ("test 3 of 7"), or in a file of our own
     * when only giving up or the tests' stderr need them.
     */
    const char *give_up = getenv("LAB_GIVE_UP_AFTER");
    if (give_up != NULL && atoi(give_up) > 0)
        give_up_after = atoi(give_up);
    const char *dir = getenv("LAB_STDERR_DIR");
    if (dir != NULL && dir[0] != '\0' && strlen(dir) < sizeof stderr_dir)
        snprintf(stderr_dir, sizeof stderr_dir, "%s", dir);
    const char *given = getenv("LAB_PROGRESS");
    if (given != NULL && given[0] != '\0' && strlen(given) < sizeof progress_path) {
        snprintf(progress_path, sizeof progress_path, "%s", given);
        int fd = open(progress_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd == -1)
            progress_path[0] = '\0';
        else
            close(fd);
    } else if (give_up_after > 0 || stderr_dir[0] != '\0') {
        snprintf(progress_path, sizeof progress_path, "/tmp/lab-progress-XXXXXX");
        int fd = mkstemp(progress_path);
        if (fd == -1)
            progress_path[0] = '\0';
        else {
            close(fd);
            progress_is_ours = 1;
        }
    }

    /* What the code under test calls and creates, in every process of a test (fault.h). */
    fault_record = mmap(NULL, sizeof *fault_record, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (fault_record == MAP_FAILED) {
        fprintf(stderr, "harness: mmap for the record of calls: %s\n", strerror(errno));
        return EXIT_FAILURE;
    }

    test_clock = mmap(NULL, sizeof *test_clock, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (test_clock == MAP_FAILED) {
        fprintf(stderr, "harness: mmap for the tests' clock: %s\n", strerror(errno));
        return EXIT_FAILURE;
    }

    if (start_suite_clock() == -1)
        return EXIT_FAILURE;
    SRunner *runner = srunner_create(suite);
    srunner_set_fork_status(runner, CK_FORK);
    srunner_run_all(runner, CK_SILENT);
    double ended = now_seconds();
    int n = srunner_ntests_run(runner);
    struct outcome *outcomes = calloc(n > 0 ? (size_t)n : 1, sizeof *outcomes);
    if (outcomes == NULL) {
        fprintf(stderr, "harness: calloc for %d results: %s\n", n, strerror(errno));
        return EXIT_FAILURE;
    }
    TestResult **results = srunner_results(runner);
    for (int i = 0; i < n; i++) {
        int same = i < n_tests && strcmp(tr_tcname(results[i]), tests_added[i]->name) == 0;
        keep_outcome(&outcomes[i], results[i], test_seconds * (same ? test_times[i] : 1));
        note_cut(&outcomes[i], i + 1);
        if (i < test_clock->started)
            outcomes[i].seconds = (i + 1 < test_clock->started ? test_clock->began[i + 1]
                                                                : ended) - test_clock->began[i];
    }
    free(results);
    srunner_free(runner);
    retry_timeouts(outcomes, n);

    /* Whatever a failed test left behind goes, before anything is reported; and
       how much there was is said (tests/shmlab/suite.py reads it: a fork bomb's). */
    leftovers_killed += kill_children(NULL);
    if (leftovers_killed >= 100)  /* processes.py's MANY_LEFT: a few are a daemon's */
        fprintf(stderr, "harness: %ld processes that tests left running were killed\n",
                leftovers_killed);
    remove_leftovers(NULL);
    remove_dead_managers(started);
    forget_earlier_tests();
    munmap(fault_record, sizeof *fault_record);
    fault_record = NULL;
    munmap(test_clock, sizeof *test_clock);
    test_clock = NULL;
    if (progress_is_ours)
        unlink(progress_path);

    int failed = 0, errors = 0;
    for (int i = 0; i < n; i++) {
        struct outcome *o = &outcomes[i];
        char name[sizeof o->name];
        snprintf(name, sizeof name, "%s", o->name);
        for (char *p = name; *p != '\0'; p++)
            if (*p == '_')
                *p = ' ';
        if (o->passed)
            printf("  ok    %s\n", name);
        else
            printf("  FAIL  %s\n        %s\n        (%s:%d)\n", name, o->text, o->file, o->line);
        failed += !o->passed && !o->error;
        errors += o->error;
    }
    const char *results_path = getenv("LAB_RESULTS");
    int written = results_path == NULL || results_path[0] == '\0' ||
                  write_results(results_path, outcomes, n) == 0;
    free(outcomes);
    /* Check's own summary line, which CI and scripts read. */
    printf("%d%%: Checks: %d, Failures: %d, Errors: %d\n",
           n > 0 ? 100 * (n - failed - errors) / n : 100, n, failed, errors);
    fflush(stdout);
    if (!written)
        return EXIT_FAILURE;
    return failed + errors == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int lab_open_descriptors(void)
{
    return count_dir_entries("/proc/self/fd") - 1;  /* less the one that reads the directory */
}

/* ---- stderr, captured ---------------------------------------------------- */

static int capture_saved = -1;  /* the test's own stderr */
static char capture_text[16384];

void lab_capture_begin(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    capture_pid = getpid();
    capture_saved = dup(STDERR_FILENO);
    if (capture_file == NULL || capture_saved == -1)
        lab_fail("harness: cannot capture stderr");
    dup2(fileno(capture_file), STDERR_FILENO);
}

static const char *captured = "";  /* what the last capture returned */

const char *lab_capture_end(void)
{
    if (capture_file == NULL)
        return captured;  /* ended already, by a lab_fail whose message asks for it */
    fflush(stderr);
    dup2(capture_saved, STDERR_FILENO);
    close(capture_saved);
    /* The last of it: code that prints much first says why it failed last. */
    long size = fseek(capture_file, 0, SEEK_END) == 0 ? ftell(capture_file) : 0;
    long keep = (long)sizeof capture_text - 1, from = size > keep ? size - keep : 0;
    fseek(capture_file, from, SEEK_SET);
    size_t n = fread(capture_text, 1, sizeof capture_text - 1, capture_file);
    capture_text[n] = '\0';
    fclose(capture_file);
    capture_file = NULL;
    char *text = capture_text;
    if (from > 0 && strchr(text, '\n') != NULL)
        text = strchr(text, '\n') + 1;   /* from a whole line on */
    fputs(text, stderr);  /* still shown under the test */
    captured = text;
    return text;
}

const char *lab_last_line(const char *text)
{
    static char line[300];
    size_t end = strlen(text);
    while (end > 0 && text[end - 1] == '\n')
        end--;
    size_t start = end;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    snprintf(line, sizeof line, "%.*s", (int)(end - start), text + start);
    return line;
}
