/*
 * lab.h - the one grading harness every lesson's Check suite uses.
 *
 * A suite is a list of tests written with Check's START_TEST/END_TEST and
 * added with lab_add(). lab_main() runs them, each in a forked process with
 * a time limit, and after each test that did not fail on its own it checks
 * what the test left behind: children still running or never reaped,
 * shared memory segments or named semaphores never unlinked, file
 * descriptors never closed. Each of those fails the test with a message that
 * says what was seen and what it means.
 */
#ifndef LAB_H
#define LAB_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Seconds a test may run before it counts as a deadlock or endless loop.
 * The environment variable LAB_TEST_SECONDS overrides it (for slow
 * machines, and for the harness's own tests).
 */
#define LAB_TEST_SECONDS 10

/*
 * Runs the suite, prints one line per test and Check's summary, returns 0 iff all passed.
 * What the lab's driver and grader set in the environment:
 *   LAB_LIST=1          print the tests' names, one per line, and run nothing
 *   LAB_RESULTS=path    also write "ok|FAIL<TAB>name<TAB>message" per test there
 *   LAB_PROGRESS=path   a mark ('S') there as each test starts: which one runs
 *   LAB_STDERR_DIR=dir  the n-th test's stderr goes to dir/test-<n>.txt
 *   LAB_GIVE_UP_AFTER=n skip the rest once n tests hung or crashed
 *   LAB_BUSY=1|0        take the machine as busy or quiet (else measured): on a
 *                       busy one, a test that ran out of time runs once more,
 *                       with three times its time, before it is called a hang
 *   LAB_RETRIES=n       at most n tests a run are run again so (3 unless told)
 *   LAB_SUITE_SECONDS=n the grader's time for the whole suite: at n s the test
 *                       running is stopped, and it and those after it are "not
 *                       graded" (REGRADE); the results before it stand
 */
int lab_main(Suite *suite);

/*
 * Adds a test to the lesson's suite, with its own time limit and the checks
 * for what it left behind. Its name is shown with spaces for underscores.
 */
void lab_add(Suite *suite, const TTest *test);

/* Fails the current test with a message in the lesson's terms (printf-style). */
#define lab_fail(...) (lab_test_ended(), ck_abort_msg(__VA_ARGS__))

/* For lab_fail: the current test ends here, failed but not hung (see LAB_GIVE_UP_AFTER). */
void lab_test_ended(void);

/*
 * Names for POSIX shared memory and named semaphores. Every name a test
 * creates goes through here: it gets this run's unique prefix (so two
 * grading runs on one machine never meet), and the harness finds and reports
 * whatever was left under that prefix. Returns "/shmlab-<run>-<base>" in a
 * static buffer.
 */
const char *lab_name(const char *base);

/*
 * Runs fn(index, arg) in n child processes, index 0 to n-1. The children
 * are released together once all of them exist, so they really overlap;
 * the odd ones run in a session and process group of their own. Returns
 * when all have exited. Fails the test if a worker crashed or exited
 * with a non-zero status, or was still running after `seconds`; `hang_hint`
 * then says, in the lesson's terms, why workers may hang.
 */
void lab_run_workers(int n, void (*fn)(int index, void *arg), void *arg,
                     double seconds, const char *hang_hint);

/*
 * Waits for the test's child pid to end, at most `seconds` (on a busy
 * machine, three times as long, as lab_run_workers waits). Returns 1 with
 * its wait status if it ended; 0 if it was still running, and has then been
 * killed and reaped.
 */
int lab_wait_child(pid_t pid, int *status, double seconds);

/*
 * Whether a lab_wait_child of this test gave up, on a busy machine, on a
 * process that was not seen asleep: it, or another child of the test, was
 * runnable (running, or waiting for a CPU) in the half second it was
 * watched. Then it may only have been slow, and a hang is not shown (say
 * REGRADE, as lab_fail's other words for the machine's fault).
 */
int lab_wait_starved(void);

/* The seconds the last lab_wait_child to give up waited (on a busy machine, 3x its own). */
double lab_wait_given(void);

/*
 * Whether the machine is busy now, or was found busy while the suite ran
 * (LAB_BUSY=1 or 0 says so instead): a measured speed that falls short
 * there is the machine's, maybe, and no grade (REGRADE, lab_fail's words).
 */
int lab_machine_busy(void);

/*
 * In a worker of lab_run_workers: ends the worker, failed, with the reason
 * in words (printf-style), which the test's report then shows beside the
 * worker ("worker 3 (pid 812): deposit(5) returned -1 ..."), instead of a
 * bare exit status. Outside a worker, prints the reason on stderr and exits 1.
 */
void lab_worker_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * What the code under test prints on stderr (its children's output too)
 * from lab_capture_begin() to lab_capture_end(), which returns it: its
 * last 16 KiB (from a whole line), valid until the next capture. It is
 * shown again under the test all the same, and so is a capture that a
 * lab_fail cut short.
 */
void lab_capture_begin(void);
const char *lab_capture_end(void);

/*
 * The last line of text (a capture), for a message: results.json, JUnit and
 * Gradescope show a check's message, not its stderr. In a static buffer.
 */
const char *lab_last_line(const char *text);

/* Describes a wait status in words: "exited with status 3", "was killed by signal 9 (Killed)". */
const char *lab_describe_status(int status);

/* Number of descriptors this process has open (its /proc/self/fd). */
int lab_open_descriptors(void);

/* Number of shared mappings of this process (anonymous shared or /dev/shm). */
int lab_count_shared_mappings(void);

/*
 * Runs cycle() `rounds` times (e.g. create, use, destroy) and fails the test
 * if the process then holds more shared mappings than before, saying
 * "after <rounds> <what>, the process holds N more shared mappings: <fix>".
 */
void lab_expect_no_mapping_leak(void (*cycle)(void), int rounds, const char *what,
                                const char *fix);

/*
 * Random cases that can be repeated. The run's seed is LAB_SEED from the
 * environment (`make check LESSON=05 SEED=n` sets it), or else a new one
 * each run; each test's sequence starts afresh from it. A test that fails
 * on random cases puts lab_seed_note() in its message, which says how to
 * run exactly those cases again.
 */
unsigned long lab_seed(void);
uint64_t lab_random(void);                 /* the test's next random number */
const char *lab_seed_note(void);           /* " (seed 1234: SEED=1234 repeats these cases)" */
/* For cases that are moments (a kill after a random pause): the same draws land elsewhere. */
const char *lab_seed_note_timed(void);

/*
 * `max`, or less where the grader's own limits do not let a process make a
 * file that big or map it (a class's sandbox, a course platform's
 * container): the limits are the grader's, never the code's fault. For the
 * tests at a lesson's largest segment.
 */
size_t lab_largest_segment(size_t max);

/*
 * The seconds process pid (0: this one) has run or waited to run (the
 * kernel's schedstat): one that spins is always one or the other, however
 * busy the machine; one that sleeps in a blocking call is neither.
 */
double lab_runnable_seconds(pid_t pid);

/*
 * A child of the test's own, which has already ended when the code under
 * test runs: code that waits with wait() (any child) where it should wait
 * for its own children with waitpid() takes it. lab_bystander_check then
 * fails the test, saying so; it also reaps the bystander.
 */
pid_t lab_bystander_start(void);
void lab_bystander_check(pid_t bystander, const char *api);

/*
 * For lessons built `race`: from now on the race amplifier writes down the
 * loads and stores the student's code makes to [addr, addr + len), in
 * every process. lab_race_explain() then looks there for a lost update and
 * tells it step by step ("1. process 812 loads 5 at counter.c:31; 2.
 * process 813 loads 5 ..."), or returns "" (none found, or not a race
 * build). Put it in the message of a test that found a wrong total.
 */
void lab_race_trace(const void *addr, size_t len);
const char *lab_race_explain(void);

/*
 * For lessons built `kill` (tests/harness/die_at.c): a process of the
 * test can be stopped dead at an exact step of the student's code. A step
 * is a store to memory (in the sanitizers' build, which has no compiler's
 * calls, stores are not steps), or a call that takes a lock, lets go of
 * one or makes one: pthread_mutex_lock, _trylock, _timedlock, _unlock,
 * _consistent, _init, sem_wait, sem_timedwait, sem_post, fcntl's
 * F_SETLK(W), flock, lockf.
 *
 * lab_die_at(n, sig, where): from now on this process counts its steps,
 * and raises sig (SIGKILL; or SIGSTOP, and it goes on once continued)
 * right before the nth (n = 0: never, only count). `where`, in memory the
 * test shares (or NULL), then tells which step it was. lab_steps() is the
 * count so far.
 */
struct lab_step {
    int happened;       /* the process reached it, and raised the signal */
    pid_t pid;
    long n;
    char kind;          /* 'S' a store, 'L' a lock taken, 'U' one let go,
                           'C' pthread_mutex_consistent, 'I' pthread_mutex_init */
    int holding;        /* locks it held then, as far as its calls showed */
    uintptr_t pc;       /* where in the student's code */
};
void lab_die_at(long n, int sig, struct lab_step *where);
long lab_steps(void);

/* In this process, from now on (or no more): a pause of 20 us before one store in four. */
void lab_steps_slow(int on);

/* "its 4th step: a store at bank.c:97, holding a lock" */
const char *lab_describe_step(const struct lab_step *s);

/*
 * Error paths, tried (tests/harness/fault.c). The code under test calls
 * the functions that can fail (fork, mmap, ftruncate, shm_open, write,
 * malloc, the manager's mgr_* ...) through the grader, which can make any
 * one call fail as that function fails.
 *
 * lab_try_each_failure runs scenario(arg) in a process of its own: once to
 * see which calls it makes, then once for each of them (its first call, its
 * second, its last; at most LAB_FAULT_CASES runs in all) with that call
 * failed. The scenario calls the code under test and returns what the code
 * said: LAB_REPORTED (it returned its error) or LAB_SUCCEEDED (it returned
 * success: then the scenario has checked, with lab_worker_fail, that the
 * result is right all the same). After each run the test fails, naming the
 * call that failed and where the code made it (file:line), if
 *   - the code crashed, hung, or exited in the middle;
 *   - it reported the failure without a message on stderr naming the call;
 *   - it left anything behind: a named segment or semaphore, a descriptor,
 *     a shared mapping, a child process running or never reaped.
 * `api` names what the scenario calls, for the messages ("segment_create").
 *
 * lab_try_each_interruption does the same with the failures that correct
 * code survives: EINTR from read, write, sem_wait and waitpid, a spurious
 * wakeup from pthread_cond_wait, a manager lock not granted in time.
 * Either outcome is right, as long as it is true.
 */
enum { LAB_REPORTED = 10, LAB_SUCCEEDED = 11 };
#define LAB_FAULT_CASES 40
void lab_try_each_failure(const char *api, int (*scenario)(void *arg), void *arg);
void lab_try_each_interruption(const char *api, int (*scenario)(void *arg), void *arg);
/* In a scenario: whether a call has been made to fail (or interrupted) in
   this run yet; 0 in the first run, where nothing is. For messages that
   should not blame a failure when there was none. */
int lab_a_call_was_made_to_fail(void);

/*
 * For lessons whose headers promise "which call failed on which name": a
 * failure made on a name (shm_open, shm_unlink, sem_open, sem_unlink, and
 * ftruncate, fstat or mmap of a descriptor opened on one) must be reported
 * with that name. Call it in main, before lab_main.
 */
void lab_messages_name_objects(void);

/* As lab_add, with `times` times the usual time limit (the fault tests run many scenarios). */
void lab_add_long(Suite *suite, const TTest *test, int times);

#endif
