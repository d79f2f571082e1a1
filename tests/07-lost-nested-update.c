/*
 * Lesson 07, the lost nested update: the tests.
 *
 * A fresh manager per test holds results = {"test": {"keep": -1},
 * "other": 1}. record() is called, from the test process or from worker
 * processes at once, and afterwards the manager's results["test"] must hold
 * every value recorded, and the keys nobody touched.
 *
 * A get-modify-set loses updates only when another set lands between a
 * worker's get and its set. The lesson is built so that every read from
 * the manager in record.c pauses 1-3 ms before it returns
 * (tests/harness/amplify_manager.c): the window is then wide open, every
 * run. A lock around the get-modify-set, or a set done by the server at a
 * path, is not affected.
 *
 * Measured with `make stress LESSON=07 RUNS=200` on a 2-core machine:
 *   starter (changes a copy)                  caught 200/200   0.22 s per run
 *   solution (a set at a path, in the server) passed 200/200   0.16 s per run
 *   get-modify-set written back, no lock      caught 200/200   0.29 s per run
 */
#include "lab.h"
#include "record.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct manager m;
static struct mgr *c;

static void start(void)
{
    if (manager_start(&m) == -1)
        lab_fail("manager_start failed (see stderr)");
    if ((c = mgr_connect(m.address)) == NULL)
        lab_fail("mgr_connect failed (see stderr)");
    struct value *inner = value_dict(), *keep = value_int(-1), *one = value_int(1);
    dict_set(inner, "keep", 4, keep);
    if (mgr_create(c, RESULTS, "dict") == -1 || mgr_set(c, RESULTS, INNER, inner) == -1 ||
        mgr_set(c, RESULTS, "other", one) == -1)
        lab_fail("setting up the manager's dict: %s", mgr_error(c));
    value_free(inner);
    value_free(one);
}

static void stop(void)
{
    mgr_close(c);
    if (manager_shutdown(&m) == -1)
        lab_fail("manager_shutdown failed (see stderr)");
}

static int64_t value_for(int index) { return 1000 + index; }

/* Fails unless results["test"] holds value_for(i) for i < n, and "keep". */
static void expect_recorded(int n, const char *who)
{
    struct value *inner, *other;
    if (mgr_get(c, RESULTS, INNER, &inner) == -1)
        lab_fail("after %s, results['test'] cannot be read: %s (was it replaced or deleted?)",
                 who, mgr_error(c));
    if (inner->type != V_DICT)
        lab_fail("after %s, results['test'] is a %s, not a dict", who,
                 value_type_name(inner->type));
    int found = 0, first_missing = -1;
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        struct value *v = dict_get(inner, key, strlen(key));
        if (v != NULL && v->type == V_INT && v->u.i == value_for(i))
            found++;
        else if (first_missing < 0)
            first_missing = i;
    }
    int kept = dict_get(inner, "keep", 4) != NULL;
    value_free(inner);
    if (found == 0 && n > 0)
        lab_fail("after %s recorded %d value%s, the manager's results['test'] holds none of "
                 "them: record changed a copy. mgr_get hands back a copy of the manager's "
                 "dict, and changing a copy changes nothing in the manager's process (a "
                 "Python manager's nested dict behaves the same)", who, n, n == 1 ? "" : "s");
    if (found < n)
        lab_fail("%s recorded %d values, but the manager's results['test'] holds only %d "
                 "(index %d is missing): %d records were lost. Each get-modify-set fetched "
                 "the dict, added one key and wrote the whole dict back, overwriting the "
                 "keys others had written in between. The update must be atomic: one "
                 "manager lock held around get-modify-set, or a set done by the server at "
                 "a path", who, n, found, first_missing, n - found);
    if (!kept)
        lab_fail("after %s, results['test']['keep'], which nobody recorded, is gone: "
                 "record replaced the inner dict instead of adding to it", who);
    if (mgr_get(c, RESULTS, "other", &other) == -1)
        lab_fail("after %s, results['other'] is gone: record replaced the outer dict", who);
    value_free(other);
}

START_TEST(one_record_reaches_the_manager)
{
    start();
    if (record(c, 0, value_for(0)) == -1)
        lab_fail("record(c, 0, %lld) returned -1; the manager's last answer: %s",
                 (long long)value_for(0), mgr_error(c));
    expect_recorded(1, "one process");
    stop();
}
END_TEST

START_TEST(one_process_records_ten_values)
{
    start();
    for (int i = 0; i < 10; i++)
        if (record(c, i, value_for(i)) == -1)
            lab_fail("record(c, %d, ...) returned -1; the manager's last answer: %s", i,
                     mgr_error(c));
    expect_recorded(10, "one process");
    stop();
}
END_TEST

struct share { int workers, each; };

/* Worker w records indexes w, w + workers, w + 2 * workers, ... */
static void record_share(int w, void *arg)
{
    struct share *s = arg;
    struct mgr *mine = mgr_connect(m.address);
    if (mine == NULL)
        lab_worker_fail("mgr_connect to the manager failed (the lab's side: not your code)");
    for (int k = 0; k < s->each; k++) {
        int index = w + k * s->workers;
        if (record(mine, index, value_for(index)) == -1)
            lab_worker_fail("record(mgr, %d, ...) returned -1; the manager's last answer: %s",
                            index, mgr_error(mine));
    }
    mgr_close(mine);
}

static void workers_record(int workers, int each)
{
    char who[64];
    struct share s = {workers, each};
    start();
    lab_run_workers(workers, record_share, &s, 10,
                    "Workers blocked on the manager: a lock acquired and never released?");
    snprintf(who, sizeof who, "%d workers at once", workers);
    expect_recorded(workers * each, who);
    stop();
}

START_TEST(two_workers_record_at_once)
{
    workers_record(2, 5);
}
END_TEST

START_TEST(eight_workers_record_at_once)
{
    workers_record(8, 5);
}
END_TEST

START_TEST(a_pool_of_four_records_a_hundred_values)
{
    workers_record(4, 25);  /* the seed: 100 tasks on a pool of 4 */
}
END_TEST

START_TEST(a_missing_inner_dict_is_an_error_not_a_crash)
{
    start();
    if (mgr_delete(c, RESULTS, INNER) == -1)
        lab_fail("deleting results['test']: %s", mgr_error(c));
    int rc = record(c, 1, value_for(1));
    if (rc != -1)
        lab_fail("with no results['test'] in the manager, record returned %d, not -1", rc);
    stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("07-lost-nested-update");
    lab_add(s, one_record_reaches_the_manager);
    lab_add(s, one_process_records_ten_values);
    lab_add(s, two_workers_record_at_once);
    lab_add(s, eight_workers_record_at_once);
    lab_add(s, a_pool_of_four_records_a_hundred_values);
    lab_add(s, a_missing_inner_dict_is_an_error_not_a_crash);
    return lab_main(s);
}
