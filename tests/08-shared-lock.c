/*
 * Lesson 08, the lock that is not shared: the tests.
 *
 * A fresh manager per test holds balance = 0. deposit() is called from the
 * test process or from worker processes at once; afterwards the balance
 * must be exactly the sum deposited. A lock only helps if every worker
 * takes the same one, and a worker that dies holding it must not block the
 * others forever.
 *
 * As in lesson 07, every read from the manager in deposit.c pauses 1-3 ms
 * before it returns (tests/harness/amplify_manager.c), so a read-add-write
 * that is not protected loses deposits every run, not by luck.
 *
 * Error paths: every manager call deposit() makes is made to fail in turn
 * (lab_try_each_failure, tests/harness/fault.c); afterwards no manager lock
 * may be held (another connection's deposit must get through while deposit's
 * connection stays open) and nothing may be half changed. Schedules: one
 * worker is stopped (SIGSTOP) in the pause after its read, where a deposit
 * that locks holds its lock, and another deposit runs beside it; under
 * lab_try_each_interruption each timed mgr_acquire in turn is told it was
 * not granted in time, so code that goes on without the lock loses an
 * update every time. Range: int64_t at its ends and past 2^31, and a
 * seeded random test.
 *
 * Measured with `make stress LESSON=08 RUNS=200` on a 2-core machine:
 *   starter (a lock per worker)               caught 200/200   0.73 s per run
 *   solution (one lock, shared by name)       passed 200/200   1.02 s per run
 * and again with the error-path, schedule and range tests, on a machine
 * loaded by other suites (load average 10 to 30):
 *   starter                                   caught 200/200   5.48 s per run
 *   solution                                  passed 200/200   6.03 s per run
 */
#include "lab.h"
#include "deposit.h"
#include "lab_manager.h"
#include "fault.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKER_SECONDS 10.0
/* 99 deposits one after another, each holding the lock over a 1-3 ms read:
   on a loaded machine under the sanitizers that alone can take seconds. */
#define MANY_WORKER_SECONDS 25.0

static struct manager m;
static struct mgr *c;

static const char *hang_hint =
    "A worker waited for a lock that was never released: every acquire needs its "
    "release, on the error paths too.";

static void start(void)
{
    if (manager_start(&m) == -1)
        lab_fail("manager_start failed (see stderr)");
    if ((c = mgr_connect(m.address)) == NULL)
        lab_fail("mgr_connect failed (see stderr)");
    struct value *zero = value_int(0);
    if (mgr_create(c, BALANCE, "value") == -1 || mgr_set(c, BALANCE, NULL, zero) == -1)
        lab_fail("setting up the balance: %s", mgr_error(c));
    value_free(zero);
}

static void stop(void)
{
    mgr_close(c);
    if (manager_shutdown(&m) == -1)
        lab_fail("manager_shutdown failed (see stderr)");
}

static int64_t balance(void)
{
    struct value *v;
    if (mgr_get(c, BALANCE, NULL, &v) == -1)
        lab_fail("the balance cannot be read: %s (was it deleted or replaced?)", mgr_error(c));
    if (v->type != V_INT)
        lab_fail("the balance is a %s, not an int", value_type_name(v->type));
    int64_t b = v->u.i;
    value_free(v);
    return b;
}

static void expect_balance(int64_t want, const char *what)
{
    int64_t got = balance();
    if (got < want)
        lab_fail("%s: the balance should be %lld, it is %lld: %lld of the money deposited is "
                 "missing, though every deposit returned 0. Deposits were lost: either two "
                 "read the same balance and each wrote back its own sum, the later wiping out "
                 "the earlier (nothing may come between a deposit's read and its write back: "
                 "every worker must hold one lock, the same one, held by the manager and found "
                 "by one name, from before its mgr_get until after its mgr_set; or let the "
                 "server add, mgr_incr), or a compare-and-set that did not swap was taken for "
                 "done (read again and retry)", what, (long long)want, (long long)got,
                 (long long)(want - got));
    if (got != want)
        lab_fail("%s: the balance should be %lld, it is %lld: %lld more than was deposited "
                 "(a deposit counted twice?)", what, (long long)want, (long long)got,
                 (long long)(got - want));
}

/* Why a worker's deposit failed, in words: the manager's error, or that there was none. */
static void deposit_failed(struct mgr *mine, int64_t amount)
{
    if (mgr_error(mine)[0] == '\0')
        lab_worker_fail("deposit(mgr, %lld) returned -1 though no manager call failed: the "
                        "deposit had to count. A compare-and-set that did not swap means "
                        "another came first: read again and retry", (long long)amount);
    lab_worker_fail("deposit(mgr, %lld) returned -1; the manager's last answer: %s",
                    (long long)amount, mgr_error(mine));
}

START_TEST(one_deposit_lands)
{
    start();
    if (deposit(c, 5) == -1)
        lab_fail("deposit(c, 5) returned -1; the manager's last answer: %s", mgr_error(c));
    expect_balance(5, "one deposit of 5");
    stop();
}
END_TEST

START_TEST(one_process_deposits_fifty_times)
{
    start();
    for (int i = 1; i <= 50; i++)
        if (deposit(c, i) == -1)
            lab_fail("deposit %d returned -1; the manager's last answer: %s", i, mgr_error(c));
    expect_balance(50 * 51 / 2, "one process depositing 1, 2, ... 50");
    stop();
}
END_TEST

START_TEST(one_process_deposits_into_two_managers_in_turn)
{
    for (int round = 1; round <= 2; round++) {
        start();
        if (deposit(c, 5) == -1)
            lab_fail("deposit into the %s manager this process used returned -1 (the "
                     "manager's last answer: %s)%s", round == 1 ? "first" : "second",
                     mgr_error(c), round == 2 ? ": something kept in the process from the "
                     "first call (a static 'already created' flag?) does not hold for another "
                     "manager. Each call works with the connection it is given" : "");
        expect_balance(5, round == 1 ? "one deposit of 5 into a process's first manager"
                                     : "one deposit of 5 into a process's second manager");
        stop();
    }
}
END_TEST

struct plan { int each; };

/* Worker w deposits w + 1, plan->each times. */
static void deposit_repeatedly(int w, void *arg)
{
    struct plan *p = arg;
    struct mgr *mine = mgr_connect(m.address);
    if (mine == NULL)
        lab_worker_fail("mgr_connect to the manager failed (the lab's side: not your code)");
    for (int k = 0; k < p->each; k++)
        if (deposit(mine, w + 1) == -1)
            deposit_failed(mine, w + 1);
    mgr_close(mine);
}

static void workers_deposit(int workers, int each, const char *what)
{
    struct plan p = {each};
    start();
    lab_run_workers(workers, deposit_repeatedly, &p,
                    workers > 10 ? MANY_WORKER_SECONDS : WORKER_SECONDS, hang_hint);
    expect_balance((int64_t)each * workers * (workers + 1) / 2, what);
    stop();
}

START_TEST(two_workers_deposit_ten_times_each)
{
    workers_deposit(2, 10, "2 workers depositing 10 times each");
}
END_TEST

START_TEST(ninety_nine_workers_deposit_once_each)
{
    workers_deposit(99, 1, "99 workers depositing once each");
}
END_TEST

START_TEST(eight_workers_deposit_five_times_each)
{
    workers_deposit(8, 5, "8 workers depositing 5 times each");
}
END_TEST

/* The victim deposits a million at a time, for ever, until it is killed. */
#define BIG 1000000

START_TEST(a_worker_killed_while_depositing_does_not_block_the_others)
{
    start();
    pid_t victim = fork();
    if (victim == -1)
        lab_fail("fork: %s", strerror(errno));
    if (victim == 0) {
        struct mgr *mine = mgr_connect(m.address);
        while (mine != NULL && deposit(mine, BIG) == 0)
            ;
        _exit(1);
    }
    /* Let it get going; each deposit spends most of its time inside the lock. */
    usleep(30 * 1000);
    kill(victim, SIGKILL);
    int status;
    waitpid(victim, &status, 0);
    if (WIFEXITED(status))
        lab_fail("the depositing worker stopped by itself (status %d) before it was killed: "
                 "deposit returned -1 (see stderr)", WEXITSTATUS(status));

    struct plan p = {10};
    lab_run_workers(4, deposit_repeatedly, &p, WORKER_SECONDS,
                    "The worker killed with SIGKILL held the lock, and nobody released it: "
                    "a lock must be released when its holder dies. The manager's own "
                    "locks are: the server sees the connection close.");
    int64_t total = balance(), got = total % BIG, want = 10 * (1 + 2 + 3 + 4);
    if (got != want)
        lab_fail("after a worker was killed in the middle of a deposit, 4 others deposited "
                 "%lld in all (each deposit returned 0), but the balance is %lld: whole "
                 "millions from the killed worker's deposits, and %lld from the others', not "
                 "%lld. %s", (long long)want, (long long)total, (long long)got, (long long)want,
                 got < want ? "Their deposits overlapped: two read the same balance and each "
                 "wrote back its own sum, so one was lost. Every worker must hold the same "
                 "lock from before its read until after its write back (or let the server add, "
                 "mgr_incr)" : "More than they deposited arrived: a deposit counted twice?");
    stop();
}
END_TEST

START_TEST(a_missing_balance_is_an_error_not_a_crash)
{
    start();
    if (mgr_delete(c, BALANCE, NULL) == -1)
        lab_fail("deleting the balance: %s", mgr_error(c));
    int rc = deposit(c, 1);
    if (rc != -1)
        lab_fail("with no balance in the manager, deposit returned %d, not -1", rc);
    stop();
}
END_TEST

/* ---- Every error path (lab_try_each_failure) -------------------------------------------- */

/*
 * The scenarios below run in processes of their own (see lab.h), each
 * starting a manager of its own (the harness ends whatever processes a run
 * leaves, so the test's manager cannot serve them) holding balance = START.
 * A manager lock is held by a connection: the scenario keeps deposit's
 * connection open while it checks the lock, as a worker that goes on
 * working would.
 */
#define START 1000
#define AMOUNT 7

static void set_balance(struct mgr *x, int64_t to);

/* Starts the scenario's manager, the balance at START; returns the scenario's own connection. */
static struct mgr *scenario_begin(void)
{
    struct mgr *probe = lab_scenario_begin();
    if (mgr_create(probe, BALANCE, "value") == -1)
        lab_scenario_fail("creating the balance (the lab's side): %s", mgr_error(probe));
    set_balance(probe, START);
    return probe;
}

static void set_balance(struct mgr *x, int64_t to)
{
    struct value *v = value_int(to);
    if (v == NULL || mgr_set(x, BALANCE, NULL, v) == -1)
        lab_scenario_fail("setting the balance (the lab's side): %s", mgr_error(x));
    value_free(v);
}

static int64_t balance_seen_by(struct mgr *x)
{
    struct value *v;
    if (mgr_get(x, BALANCE, NULL, &v) == -1)
        lab_scenario_fail("afterwards the balance cannot be read: %s (was it deleted or "
                        "replaced?)", mgr_error(x));
    if (v->type != V_INT)
        lab_scenario_fail("afterwards the balance is a %s, not an int",
                        value_type_name(v->type));
    int64_t b = v->u.i;
    value_free(v);
    return b;
}

#define PROBE_SECONDS 3

/* Another worker's deposit of 1: what the probes below try. */
static int deposit_1(struct mgr *x, void *unused)
{
    (void)unused;
    return deposit(x, 1);
}
static const struct lab_mgr_op another_deposit = {deposit_1, NULL};

/*
 * Fails unless another connection's deposit gets through now, while the
 * connection deposit() just used is still open: a lock it kept would stop
 * it. (It deposits 1; the caller has checked the balance before.)
 */
static void expect_lock_free(const char *after)
{
    const char *why = lab_mgr_blocked(lab_scenario_address(), &another_deposit, PROBE_SECONDS);
    if (why != NULL)
        lab_scenario_fail("%s, then another connection's deposit %s: %s. Every way out after "
                          "mgr_acquire, error paths too, must mgr_release", after, why,
                          strstr(why, "in vain") != NULL ? "deposit's connection (still open) "
                          "still held the lock" : "did deposit's connection still hold the "
                          "lock?");
}

static int deposit_once(void *unused)
{
    (void)unused;
    struct mgr *probe = scenario_begin();
    struct mgr *mine = lab_scenario_connect();
    int rc = deposit(mine, AMOUNT);
    int64_t got = balance_seen_by(probe);
    if (rc != 0 && rc != -1)
        lab_scenario_fail("deposit returned %d: the header says 0 or -1", rc);
    if (rc == -1 && !lab_failure_happened())
        lab_scenario_fail("deposit(%d) returned -1 with no call failed", AMOUNT);
    if (rc == 0 && got != START + AMOUNT)
        lab_scenario_fail("deposit(%d) into %d returned 0, but the balance is %lld: %s", AMOUNT,
                      START, (long long)got, got == START ? "it said success for a deposit "
                      "that never landed (a failed mgr_set, or a compare-and-set that did not "
                      "swap, taken for success?)" : "not the old balance plus the amount");
    if (rc == -1 && got != START && got != START + AMOUNT)
        lab_scenario_fail("deposit(%d) into %d returned -1 and left the balance at %lld: a "
                      "failed deposit leaves it as it was (or, failing after the write, plus "
                      "the whole amount)", AMOUNT, START, (long long)got);
    /* After the failure, the calls are real again: another worker must get the lock. */
    if (lab_failure_happened() && !(rc == -1 && lab_release_was_failed()))
        expect_lock_free(rc == 0 ? "deposit returned 0" : "deposit returned -1");
    mgr_close(mine);
    lab_scenario_end(probe);
    return rc == 0 ? LAB_SUCCEEDED : LAB_REPORTED;
}

START_TEST(a_failed_manager_call_is_reported_and_leaves_the_lock_free_and_the_balance_whole)
{
    lab_try_each_failure("deposit", deposit_once, NULL);
}
END_TEST

/* ---- More schedules: a deposit beside a worker paused in the middle of its own ----------- */

#define RESUME_MS 300

/* The paused worker's deposit of BIG. */
static int deposit_big(struct mgr *x, void *unused)
{
    (void)unused;
    return deposit(x, BIG);
}

/*
 * Another worker deposits BIG and is stopped (SIGSTOP) in the pause after
 * its read: if its deposit takes a lock, it holds it now, between its read
 * and its write back. Then deposit(AMOUNT) runs here: it must wait for the
 * lock (the other worker is let go again after RESUME_MS, or as soon as
 * this deposit returns), or report that it did not get it; it must never
 * read and write the balance while the other holds it. Under
 * lab_try_each_interruption, one timed mgr_acquire is not granted in time.
 */
static int deposit_beside_a_paused_worker(void *unused)
{
    (void)unused;
    struct mgr *probe = scenario_begin();
    const struct lab_mgr_op first = {deposit_big, NULL};
    struct lab_mgr_paused other;
    lab_mgr_pause_in_read(lab_scenario_address(), &first, RESUME_MS, &other);
    struct mgr *mine = lab_scenario_connect();
    int rc = deposit(mine, AMOUNT);
    int other_ok = lab_mgr_paused_end(&other);
    if (!lab_failure_happened() && (rc != 0 || !other_ok)) {
        mgr_close(mine);
        lab_scenario_fail("with no call failed, %s returned -1 (two deposits at once): every "
                      "deposit must count. A compare-and-set that did not swap means another "
                      "came first: read again and retry", rc != 0 ? "deposit" : "the paused "
                      "worker's deposit");
    }
    int64_t want = START + (other_ok ? BIG : 0) + (rc == 0 ? AMOUNT : 0);
    int64_t got = balance_seen_by(probe);
    if (got != want) {
        const char *lost = got == want - AMOUNT ? "the +7 deposit"
                           : got == want - BIG ? "the +1000000 deposit" : "a deposit";
        lab_scenario_fail("a worker paused between its read and write back of +%d; another "
                      "deposited +%d; %s; the balance went from %d to %lld, not %lld: %s ran "
                      "without the lock the other held", BIG, AMOUNT,
                      other_ok && rc == 0 ? "both returned 0" : rc == 0 ? "this one returned 0"
                      : other_ok ? "the paused one returned 0" : "both returned -1", START,
                      (long long)got, (long long)want, lost);
    }
    mgr_close(mine);
    lab_scenario_end(probe);
    return rc == 0 && other_ok ? LAB_SUCCEEDED : LAB_REPORTED;
}

START_TEST(a_deposit_never_runs_inside_another_even_when_its_acquire_times_out)
{
    lab_try_each_interruption("deposit", deposit_beside_a_paused_worker, NULL);
}
END_TEST

/*
 * A deposit is stopped right after its first mgr_create (where a lock is
 * made) while another deposit runs from start to end (lab_manager.h).
 */
START_TEST(a_deposit_that_begins_while_another_ends_counts)
{
    start();
    lab_mgr_begin_while_another_ends(m.address, &another_deposit, &another_deposit, "deposit");
    expect_balance(2, "two deposits of 1, one begun while the other ended");
    stop();
}
END_TEST

/* ---- The whole range of int64_t --------------------------------------------------------- */

/* Deposits each of amounts[] in turn from `from`, checking the balance after each. */
static void deposit_in_turn(int64_t from, const int64_t *amounts, int n, const char *why)
{
    struct value *v = value_int(from);
    if (mgr_set(c, BALANCE, NULL, v) == -1)
        lab_fail("setting the balance: %s", mgr_error(c));
    value_free(v);
    int64_t want = from;
    for (int i = 0; i < n; i++) {
        int64_t before = want;
        if (deposit(c, amounts[i]) == -1)
            lab_fail("deposit(c, %" PRId64 ") into a balance of %" PRId64 " returned -1; the "
                     "manager's last answer: %s", amounts[i], before, mgr_error(c));
        want = (int64_t)((uint64_t)want + (uint64_t)amounts[i]);
        int64_t got = balance();
        if (got != want)
            lab_fail("deposit(c, %" PRId64 ") into a balance of %" PRId64 " left it at %" PRId64
                     ", not %" PRId64 ": %s", amounts[i], before, got, want, why);
    }
}

START_TEST(amounts_and_balances_past_two_to_the_31_add_up_exactly)
{
    start();
    const int64_t amounts[] = {3000000000LL, 1LL << 40, -(1LL << 33), 5};
    deposit_in_turn(0, amounts, 4, "the amount and the balance are int64_t; stored through a "
                    "32-bit int, anything past 2147483647 is cut");
    const int64_t one[] = {1};
    deposit_in_turn(2147483647LL, one, 1, "2147483647 + 1 is 2147483648 in an int64_t; a "
                    "32-bit int wraps it round to a negative number");
    stop();
}
END_TEST

START_TEST(zero_and_negative_amounts_are_deposits_too)
{
    start();
    const int64_t amounts[] = {0, -5, 12, -(1LL << 40), 0};
    deposit_in_turn(3, amounts, 5, "deposit adds the amount, whatever its sign (zero adds "
                    "nothing, a negative amount takes away)");
    stop();
}
END_TEST

START_TEST(the_balance_reaches_int64_max_and_int64_min_exactly)
{
    start();
    const int64_t up[] = {INT64_MAX - 1, 1, -INT64_MAX, INT64_MIN, INT64_MAX};
    deposit_in_turn(0, up, 5, "int64_t goes from INT64_MIN to INT64_MAX; every value in "
                    "between must survive the read, the addition and the write back: a sum "
                    "done in a double is rounded, for a double keeps only 53 bits (add in "
                    "int64_t)");
    stop();
}
END_TEST

/* The random plan: worker w deposits amount[w][k] for k < each[w]. */
#define MAX_RANDOM_WORKERS 6
#define MAX_RANDOM_EACH 6
struct random_plan {
    int workers;
    int each[MAX_RANDOM_WORKERS];
    int64_t amount[MAX_RANDOM_WORKERS][MAX_RANDOM_EACH];
};

static void deposit_planned(int w, void *arg)
{
    struct random_plan *p = arg;
    struct mgr *mine = mgr_connect(m.address);
    if (mine == NULL)
        lab_worker_fail("mgr_connect to the manager failed (the lab's side: not your code)");
    for (int k = 0; k < p->each[w]; k++)
        if (deposit(mine, p->amount[w][k]) == -1)
            deposit_failed(mine, p->amount[w][k]);
    mgr_close(mine);
}

START_TEST(random_workers_and_amounts_add_up_exactly)
{
    start();
    for (int round = 0; round < 3; round++) {
        struct random_plan p = {.workers = 2 + (int)(lab_random() % (MAX_RANDOM_WORKERS - 1))};
        int64_t from = (int64_t)(lab_random() % (1ULL << 42)) - (1LL << 41), want = from;
        for (int w = 0; w < p.workers; w++) {
            p.each[w] = 1 + (int)(lab_random() % MAX_RANDOM_EACH);
            for (int k = 0; k < p.each[w]; k++) {
                /* Up to 2^40 either way: past a 32-bit int, far from int64_t's ends. */
                p.amount[w][k] = (int64_t)(lab_random() % (1ULL << 41)) - (1LL << 40);
                want += p.amount[w][k];
            }
        }
        struct value *v = value_int(from);
        if (mgr_set(c, BALANCE, NULL, v) == -1)
            lab_fail("setting the balance: %s", mgr_error(c));
        value_free(v);
        lab_run_workers(p.workers, deposit_planned, &p, WORKER_SECONDS, hang_hint);
        int64_t got = balance();
        if (got != want)
            lab_fail("%d workers deposited random amounts (between -2^40 and 2^40) into a "
                     "balance of %lld: it should be %lld, it is %lld (%s by %lld). %s%s",
                     p.workers, (long long)from, (long long)want, (long long)got,
                     got < want ? "short" : "over", (long long)(got < want ? want - got
                     : got - want), "Either deposits overlapped (two read the same balance "
                     "and each wrote back its own sum), or an amount or the balance went "
                     "through a type smaller than int64_t", lab_seed_note());
    }
    stop();
}
END_TEST

/* ---- A balance that is not an int: an error, and the lock released all the same --------- */

#define NOT_AN_INT_SECONDS 5

/*
 * The balance is set to `bad`; deposit runs in a process of its own, which
 * keeps its connection open afterwards (as a worker that goes on would), so
 * that a lock deposit kept is still held. Then, with the balance an int
 * again, a deposit from another connection must get through.
 */
static void deposit_when_balance_is(struct value *bad, const char *what)
{
    start();
    if (mgr_set(c, BALANCE, NULL, bad) == -1)
        lab_fail("setting the balance to %s: %s", what, mgr_error(c));
    value_free(bad);
    struct lab_mgr_held held;
    int rc, status;
    if (lab_mgr_hold(m.address, &another_deposit, &held, &rc, &status) == -1)
        lab_fail("with the balance %s, deposit never returned: its process %s. A balance "
                 "that is not an int is an error to report (a message, return -1)", what,
                 lab_describe_status(status));
    if (rc != -1) {
        lab_mgr_let_go(&held);
        lab_fail("with the balance %s, deposit(c, 1) returned %d, not -1: there is no int "
                 "to add to", what, rc);
    }
    struct value *zero = value_int(0);
    if (mgr_set(c, BALANCE, NULL, zero) == -1)
        lab_fail("setting the balance back to 0: %s", mgr_error(c));
    value_free(zero);
    /* Another connection deposits: a lock kept by the first would stop it. */
    const char *why = lab_mgr_blocked(m.address, &another_deposit, NOT_AN_INT_SECONDS);
    lab_mgr_let_go(&held);
    if (why != NULL && strstr(why, "in vain") != NULL)
        lab_fail("with the balance %s, deposit returned -1; with the balance an int again, "
                 "another connection's deposit %s: the first deposit's connection (still "
                 "open) still held the lock. Every way out after mgr_acquire, the not-an-int "
                 "one too, must mgr_release", what, why);
    if (why != NULL)
        lab_fail("with the balance %s, deposit returned -1; with the balance an int again, "
                 "another connection's deposit(1) %s, not returning 0", what, why);
    expect_balance(1, "after the balance was an int again, one deposit of 1");
    stop();
}

START_TEST(a_balance_that_is_a_double_is_reported_and_leaves_the_lock_free)
{
    deposit_when_balance_is(value_double(2.5), "a double (2.5)");
}
END_TEST

START_TEST(a_balance_that_is_bytes_is_reported_and_leaves_the_lock_free)
{
    deposit_when_balance_is(value_bytes("12", 2), "bytes (b'12')");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("08-shared-lock");
    lab_add(s, one_deposit_lands);
    lab_add(s, one_process_deposits_fifty_times);
    lab_add(s, one_process_deposits_into_two_managers_in_turn);
    lab_add(s, two_workers_deposit_ten_times_each);
    lab_add_long(s, ninety_nine_workers_deposit_once_each, 3);
    lab_add(s, eight_workers_deposit_five_times_each);
    lab_add(s, a_worker_killed_while_depositing_does_not_block_the_others);
    lab_add(s, a_missing_balance_is_an_error_not_a_crash);
    lab_add(s, a_balance_that_is_a_double_is_reported_and_leaves_the_lock_free);
    lab_add(s, a_balance_that_is_bytes_is_reported_and_leaves_the_lock_free);
    lab_add_long(s, a_failed_manager_call_is_reported_and_leaves_the_lock_free_and_the_balance_whole, 3);
    lab_add_long(s, a_deposit_never_runs_inside_another_even_when_its_acquire_times_out, 3);
    lab_add(s, a_deposit_that_begins_while_another_ends_counts);
    lab_add(s, amounts_and_balances_past_two_to_the_31_add_up_exactly);
    lab_add(s, zero_and_negative_amounts_are_deposits_too);
    lab_add(s, the_balance_reaches_int64_max_and_int64_min_exactly);
    lab_add(s, random_workers_and_amounts_add_up_exactly);
    return lab_main(s);
}
