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
 * Measured with `make stress LESSON=08 RUNS=200` on a 2-core machine:
 *   starter (a lock per worker)               caught 200/200   0.73 s per run
 *   solution (one lock, shared by name)       passed 200/200   1.02 s per run
 */
#include "lab.h"
#include "deposit.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKER_SECONDS 10.0

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
        lab_fail("%s: the balance should be %lld, it is %lld, %lld short. Deposits "
                 "overlapped: two workers read the same balance and both wrote back their "
                 "own sum. A lock excludes only those who take that same lock: every worker "
                 "must take one lock, held by the manager and found by one name (or let the "
                 "server add: mgr_incr)", what, (long long)want, (long long)got,
                 (long long)(want - got));
    if (got != want)
        lab_fail("%s: the balance should be %lld, it is %lld", what, (long long)want,
                 (long long)got);
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
            lab_worker_fail("deposit(mgr, %d) returned -1; the manager's last answer: %s",
                            w + 1, mgr_error(mine));
    mgr_close(mine);
}

static void workers_deposit(int workers, int each, const char *what)
{
    struct plan p = {each};
    start();
    lab_run_workers(workers, deposit_repeatedly, &p, WORKER_SECONDS, hang_hint);
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
    int64_t got = balance() % BIG, want = 10 * (1 + 2 + 3 + 4);
    if (got != want)
        lab_fail("after a worker was killed mid-deposit, the others deposited %lld in all, "
                 "but their share of the balance is %lld", (long long)want, (long long)got);
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

int main(void)
{
    Suite *s = suite_create("08-shared-lock");
    lab_add(s, one_deposit_lands);
    lab_add(s, one_process_deposits_fifty_times);
    lab_add(s, two_workers_deposit_ten_times_each);
    lab_add(s, ninety_nine_workers_deposit_once_each);
    lab_add(s, eight_workers_deposit_five_times_each);
    lab_add(s, a_worker_killed_while_depositing_does_not_block_the_others);
    lab_add(s, a_missing_balance_is_an_error_not_a_crash);
    return lab_main(s);
}
