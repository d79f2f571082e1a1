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
 * Error paths: every manager call record() makes is made to fail in turn
 * (lab_try_each_failure, tests/harness/fault.c); afterwards no manager lock
 * may be held (another connection's record must get through while record's
 * connection stays open) and nothing may be half changed. Schedules: one
 * worker is stopped (SIGSTOP) in the pause after its read, where a record
 * that locks holds its lock, and another record runs beside it; under
 * lab_try_each_interruption each timed mgr_acquire in turn is told it was
 * not granted in time, so code that goes on without the lock loses an
 * update every time. Range: indexes of every length (0, INT_MIN, INT_MAX),
 * values at int64_t's ends and past 2^31, and a seeded random test.
 *
 * Measured with `make stress LESSON=07 RUNS=200` on a 2-core machine:
 *   starter (changes a copy)                  caught 200/200   0.22 s per run
 *   solution (a set at a path, in the server) passed 200/200   0.16 s per run
 *   get-modify-set written back, no lock      caught 200/200   0.29 s per run
 * and again with the error-path, schedule and range tests, on a machine
 * loaded by other suites (load average about 25):
 *   starter                                   caught 200/200   1.35 s per run
 *   solution                                  passed 200/200   3.05 s per run
 */
#include "lab.h"
#include "record.h"
#include "lab_manager.h"
#include "fault.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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

/* What is wrong with v, where an int was recorded: "missing", "a double, not an int: ...". */
static const char *seen_instead(const struct value *v)
{
    static char text[160];
    if (v == NULL)
        return "missing";
    if (v->type == V_INT)
        return "another value";
    snprintf(text, sizeof text, "a %s, not an int: store it with value_int (the value is an "
             "int64_t, kept whole; a double keeps only 53 bits of it)",
             value_type_name(v->type));
    return text;
}

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
    char wrong_type[256] = "";
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        struct value *v = dict_get(inner, key, strlen(key));
        if (v != NULL && v->type == V_INT && v->u.i == value_for(i))
            found++;
        else if (first_missing < 0)
            first_missing = i;
        if (v != NULL && v->type != V_INT && wrong_type[0] == '\0')
            snprintf(wrong_type, sizeof wrong_type, "results['test']['%s'] holds %s", key,
                     seen_instead(v));
    }
    int kept = dict_get(inner, "keep", 4) != NULL;
    value_free(inner);
    if (wrong_type[0] != '\0')
        lab_fail("after %s recorded %d value%s, %s", who, n, n == 1 ? "" : "s", wrong_type);
    if (found == 0 && n > 0)
        lab_fail("after %s recorded %d value%s, the manager's results['test'] holds none of "
                 "them: record changed a copy. mgr_get hands back a copy of the manager's "
                 "dict, and changing a copy changes nothing in the manager's process (a "
                 "Python manager's nested dict behaves the same)", who, n, n == 1 ? "" : "s");
    if (found < n)
        lab_fail("%s recorded %d values, but the manager's results['test'] holds only %d "
                 "(index %d is missing): %d records were lost. A get-modify-set fetched "
                 "the dict, added one key and wrote the whole dict back, over the keys others "
                 "had written in between. The update must be atomic: every worker holding one "
                 "manager lock, the same one, from before its get until after its set; or a "
                 "set done by the server at a path; or a compare-and-set that did not swap "
                 "was taken for done: it must be retried (read again and retry)", who, n, found, first_missing, n - found);
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

START_TEST(an_index_recorded_again_holds_its_last_value)
{
    start();
    const int64_t values[] = {5, 7, -3, 0};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        if (record(c, 3, values[i]) == -1)
            lab_fail("record(c, 3, %" PRId64 ") returned -1; the manager's last answer: %s",
                     values[i], mgr_error(c));
        struct value *v;
        if (mgr_get(c, RESULTS, INNER "/3", &v) == -1)
            lab_fail("after record(c, 3, %" PRId64 "), results['test']['3'] cannot be read: "
                     "%s", values[i], mgr_error(c));
        int right = v->type == V_INT && v->u.i == values[i];
        int64_t seen = v->type == V_INT ? v->u.i : 0;
        int is_int = v->type == V_INT;
        value_free(v);
        if (!right)
            lab_fail("index 3 recorded %zu time(s), last with %" PRId64 ": results['test']['3'] "
                     "holds %s%" PRId64 ", not %" PRId64 ". record sets the value "
                     "(results['test'][str(index)] = value); it does not add to what was there",
                     i + 1, values[i], is_int ? "" : "a non-int ", seen, values[i]);
    }
    stop();
}
END_TEST

START_TEST(one_process_records_into_two_managers_in_turn)
{
    for (int round = 1; round <= 2; round++) {
        start();
        if (record(c, 0, value_for(0)) == -1)
            lab_fail("record into the %s manager this process used returned -1 (the manager's "
                     "last answer: %s)%s", round == 1 ? "first" : "second", mgr_error(c),
                     round == 2 ? ": something kept in the process from the first call (a "
                     "static 'already created' flag?) does not hold for another manager. Each "
                     "call works with the connection it is given" : "");
        expect_recorded(1, round == 1 ? "one process, its first manager"
                                      : "one process, its second manager");
        stop();
    }
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
    workers_record(4, 25);  /* the trap's: 100 tasks on a pool of 4 */
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

/* ---- Every error path (lab_try_each_failure) -------------------------------------------- */

/*
 * The scenarios below run in processes of their own (see lab.h), each
 * starting a manager of its own (the harness ends whatever processes a run
 * leaves, so the test's manager cannot serve them) holding
 * {"test": {"keep": -1}, "other": 1}. A manager lock is held by a
 * connection: the scenario keeps record's connection open while it checks
 * for a lock, as a worker that goes on working would.
 */
/* Starts the scenario's manager, with the dict; returns the scenario's own connection. */
static struct mgr *scenario_begin(void)
{
    struct mgr *probe = lab_scenario_begin();
    struct value *inner = value_dict(), *one = value_int(1);
    dict_set(inner, "keep", 4, value_int(-1));
    if (mgr_create(probe, RESULTS, "dict") == -1 || mgr_set(probe, RESULTS, INNER, inner) == -1
        || mgr_set(probe, RESULTS, "other", one) == -1)
        lab_scenario_fail("setting up the manager's dict (the lab's side): %s",
                          mgr_error(probe));
    value_free(inner);
    value_free(one);
    return probe;
}

/*
 * Fails unless the scenario's dict is {"test": {"keep": -1, and for each
 * i < n with state[i] set, str(index[i]): value[i]}, "other": 1}: state[i]
 * is 1 if that record must be there, 2 if it may be there or not (a record
 * that returned -1), 0 if it must not. `what` says who recorded.
 */
static void expect_scenario_dict(struct mgr *probe, int n, const int *index,
                                 const int64_t *value, const int *state, const char *what)
{
    struct value *inner, *other;
    if (mgr_get(probe, RESULTS, "other", &other) == -1)
        lab_scenario_fail("after %s, results['other'] is gone: record changed the outer dict",
                      what);
    int other_ok = other->type == V_INT && other->u.i == 1;
    value_free(other);
    if (!other_ok)
        lab_scenario_fail("after %s, results['other'] is no longer 1: record changed the outer "
                      "dict", what);
    if (mgr_get(probe, RESULTS, INNER, &inner) == -1)
        lab_scenario_fail("after %s, results['test'] cannot be read: %s (replaced or deleted?)",
                      what, mgr_error(probe));
    if (inner->type != V_DICT)
        lab_scenario_fail("after %s, results['test'] is a %s, not a dict", what,
                      value_type_name(inner->type));
    struct value *keep = dict_get(inner, "keep", 4);
    int keep_ok = keep != NULL && keep->type == V_INT && keep->u.i == -1;
    size_t expected_keys = 1;
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", index[i]);
        struct value *v = dict_get(inner, key, strlen(key));
        int right = v != NULL && v->type == V_INT && v->u.i == value[i];
        expected_keys += v != NULL;
        if (v != NULL && v->type != V_INT) {
            char seen[200];
            snprintf(seen, sizeof seen, "%s", seen_instead(v));
            value_free(inner);
            lab_scenario_fail("after %s, results['test']['%s'] is %s", what, key, seen);
        }
        if ((state[i] == 1 && !right) || (state[i] != 1 && v != NULL && !right)) {
            value_free(inner);
            lab_scenario_fail("after %s, results['test']['%s'] is %s, not %" PRId64 "%s", what,
                          key, v == NULL ? "missing" : "another value", value[i], state[i] == 1
                          ? ": a record that returned 0 was lost (written over by a write "
                          "back made without the lock?)" : "");
        }
        if (state[i] == 0 && v != NULL) {
            value_free(inner);
            lab_scenario_fail("after %s, results['test']['%s'] is there, but no record of it "
                          "returned 0", what, key);
        }
    }
    size_t keys = inner->u.dict.len;
    value_free(inner);
    if (!keep_ok)
        lab_scenario_fail("after %s, results['test']['keep'], which nobody recorded, is gone or "
                      "changed: record replaced the inner dict instead of adding to it", what);
    if (keys != expected_keys)
        lab_scenario_fail("after %s, results['test'] holds %zu keys, not %zu: record wrote keys "
                      "nobody recorded", what, keys, expected_keys);
}

#define PROBE_SECONDS 3

/* Another worker's record, of index 6: what the probes below try. */
static int record_6(struct mgr *x, void *unused)
{
    (void)unused;
    return record(x, 6, value_for(6));
}
static const struct lab_mgr_op another_record = {record_6, NULL};

/*
 * Fails unless another connection's record gets through now, while the
 * connection record() just used is still open: a lock it kept would stop it.
 */
static void expect_lock_free(const char *after)
{
    const char *why = lab_mgr_blocked(lab_scenario_address(), &another_record, PROBE_SECONDS);
    if (why != NULL)
        lab_scenario_fail("%s, then another connection's record %s: %s. Every way out after "
                          "mgr_acquire, error paths too, must mgr_release", after, why,
                          strstr(why, "in vain") != NULL ? "record's connection (still open) "
                          "still held a lock" : "did record's connection still hold a lock?");
}

static int record_once(void *unused)
{
    (void)unused;
    struct mgr *probe = scenario_begin();
    struct mgr *mine = lab_scenario_connect();
    int rc = record(mine, 5, value_for(5));
    if (rc != 0 && rc != -1)
        lab_scenario_fail("record returned %d: the header says 0 or -1", rc);
    if (rc == -1 && !lab_failure_happened())
        lab_scenario_fail("record(c, 5, %lld) returned -1 with no call failed",
                      (long long)value_for(5));
    const int index[] = {5};
    const int64_t value[] = {value_for(5)};
    const int state[] = {rc == 0 ? 1 : 2};
    expect_scenario_dict(probe, 1, index, value, state, rc == 0 ? "record(c, 5, ...) returned "
                         "0" : "record(c, 5, ...) returned -1");
    /* After the failure, the calls are real again: another worker must get any lock. */
    if (lab_failure_happened() && !(rc == -1 && lab_release_was_failed()))
        expect_lock_free(rc == 0 ? "record returned 0" : "record returned -1");
    mgr_close(mine);
    lab_scenario_end(probe);
    return rc == 0 ? LAB_SUCCEEDED : LAB_REPORTED;
}

START_TEST(a_failed_manager_call_is_reported_and_leaves_no_lock_held_and_the_dict_whole)
{
    lab_try_each_failure("record", record_once, NULL);
}
END_TEST

/* ---- More schedules: a record beside a worker paused in the middle of its own ------------ */

#define RESUME_MS 300

/* A worker's record of index 1: the one paused in its read. */
static int record_1(struct mgr *x, void *unused)
{
    (void)unused;
    return record(x, 1, value_for(1));
}

/*
 * Another worker records index 1 and is stopped (SIGSTOP) in the pause
 * after its read: if its record takes a lock, it holds it now, between its
 * read and its write back. Then record(2) runs here: it must wait (the other
 * worker is let go again after RESUME_MS, or as soon as this record
 * returns), or report that it did not get the lock; it must never write
 * while the other holds it. Under lab_try_each_interruption, one timed
 * mgr_acquire is not granted in time.
 */
static int record_beside_a_paused_worker(void *unused)
{
    (void)unused;
    struct mgr *probe = scenario_begin();
    const struct lab_mgr_op first = {record_1, NULL};
    struct lab_mgr_paused other;
    lab_mgr_pause_in_read(lab_scenario_address(), &first, RESUME_MS, &other);
    struct mgr *mine = lab_scenario_connect();
    int rc = record(mine, 2, value_for(2));
    int other_ok = lab_mgr_paused_end(&other);
    mgr_close(mine);
    if (!lab_failure_happened() && (rc != 0 || !other_ok))
        lab_scenario_fail("with no call failed, %s returned -1 (two records at once): every "
                      "record must land. A compare-and-set that did not swap means another "
                      "came first: read again and retry", rc != 0 ? "record" : "the paused "
                      "worker's record");
    const int index[] = {1, 2};
    const int64_t value[] = {value_for(1), value_for(2)};
    const int state[] = {other_ok ? 1 : 2, rc == 0 ? 1 : 2};
    expect_scenario_dict(probe, 2, index, value, state, "a worker paused between its read "
                         "and write back while another recorded");
    lab_scenario_end(probe);
    return rc == 0 && other_ok ? LAB_SUCCEEDED : LAB_REPORTED;
}

START_TEST(a_record_never_runs_inside_another_even_when_its_acquire_times_out)
{
    lab_try_each_interruption("record", record_beside_a_paused_worker, NULL);
}
END_TEST

/*
 * A record is stopped right after its first mgr_create (where a lock is
 * made) while another record runs from start to end (lab_manager.h).
 */
START_TEST(a_record_that_begins_while_another_ends_lands)
{
    start();
    const struct lab_mgr_op first_record = {record_1, NULL};
    lab_mgr_begin_while_another_ends(m.address, &first_record, &another_record, "record");
    const int index[] = {1, 6};
    const int64_t value[] = {value_for(1), value_for(6)};
    for (int i = 0; i < 2; i++) {
        char path[32];
        snprintf(path, sizeof path, INNER "/%d", index[i]);
        struct value *v;
        if (mgr_get(c, RESULTS, path, &v) == -1)
            lab_fail("both records returned 0, but results['test']['%d'] is missing: %s",
                     index[i], mgr_error(c));
        int right = v->type == V_INT && v->u.i == value[i];
        value_free(v);
        if (!right)
            lab_fail("both records returned 0, but results['test']['%d'] is not %" PRId64,
                     index[i], value[i]);
    }
    stop();
}
END_TEST

/* ---- The whole range: indexes of every length, values of all of int64_t ------------------ */

/* The keys of dict d, quoted and separated by commas, as many as fit in out. */
static void keys_found(const struct value *d, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < d->u.dict.len && used < size; k++) {
        int n = snprintf(out + used, size - used, "%s'%.*s'", k ? ", " : "",
                         (int)d->u.dict.entries[k].key_len, d->u.dict.entries[k].key);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Records value[i] at index[i] from this process, then checks each is there exactly. */
static void record_each(int n, const int *index, const int64_t *value, const char *why)
{
    for (int i = 0; i < n; i++)
        if (record(c, index[i], value[i]) == -1)
            lab_fail("record(c, %d, %" PRId64 ") returned -1; the manager's last answer: %s",
                     index[i], value[i], mgr_error(c));
    struct value *inner;
    if (mgr_get(c, RESULTS, INNER, &inner) == -1)
        lab_fail("results['test'] cannot be read: %s (was it replaced or deleted?)",
                 mgr_error(c));
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", index[i]);
        struct value *v = dict_get(inner, key, strlen(key));
        if (v == NULL || v->type != V_INT || v->u.i != value[i]) {
            char seen[200], found[400];
            if (v != NULL && v->type == V_INT)
                snprintf(seen, sizeof seen, "%" PRId64, v->u.i);
            else
                snprintf(seen, sizeof seen, "%s", seen_instead(v));
            keys_found(inner, found, sizeof found);
            int present = v != NULL, wrong_type = v != NULL && v->type != V_INT;
            value_free(inner);  /* v with it */
            if (wrong_type)
                lab_fail("after record(c, %d, %" PRId64 "), results['test']['%s'] is %s",
                         index[i], value[i], key, seen);
            if (present)
                lab_fail("after record(c, %d, %" PRId64 "), results['test']['%s'] is %s: %s",
                         index[i], value[i], key, seen, why);
            lab_fail("after record(c, %d, %" PRId64 "), results['test']['%s'] is %s (the keys "
                     "found: %s): %s", index[i], value[i], key, seen, found, why);
        }
    }
    size_t keys = inner->u.dict.len;
    value_free(inner);
    if (keys != (size_t)n + 1)
        lab_fail("after %d records at different indexes, results['test'] holds %zu keys, not "
                 "%d (theirs and 'keep'): %s", n, keys, n + 1, why);
}

START_TEST(indexes_of_every_length_and_index_zero_are_keys_of_their_own)
{
    start();
    const int index[] = {0, 7, -1, 1000000000, INT_MAX, INT_MIN, 123456789, -98765};
    const int64_t value[] = {10, 11, 12, 13, 14, 15, 16, 17};
    record_each(8, index, value, "the key is str(index), every digit of it (and the minus "
                "sign): a buffer sized for short keys cuts the long ones, so that two indexes "
                "share a key or the key is not the index");
    stop();
}
END_TEST

START_TEST(values_past_two_to_the_31_and_int64s_ends_are_kept_exactly)
{
    start();
    const int index[] = {1, 2, 3, 4, 5, 6, 7};
    const int64_t value[] = {INT64_MAX, INT64_MIN, 2147483648LL, -2147483649LL,
                             1LL << 40, 0, -1};
    record_each(7, index, value, "the value is an int64_t, kept whole: stored through an "
                "int, anything past 2^31 is cut");
    stop();
}
END_TEST

/* The random plan: worker w records index[w][k] = value[w][k] for k < each[w]. */
#define MAX_RANDOM_WORKERS 6
#define MAX_RANDOM_EACH 8
struct random_plan {
    int workers;
    int each[MAX_RANDOM_WORKERS];
    int index[MAX_RANDOM_WORKERS][MAX_RANDOM_EACH];
    int64_t value[MAX_RANDOM_WORKERS][MAX_RANDOM_EACH];
};

static void record_planned(int w, void *arg)
{
    struct random_plan *p = arg;
    struct mgr *mine = mgr_connect(m.address);
    if (mine == NULL)
        lab_worker_fail("mgr_connect to the manager failed (the lab's side: not your code)");
    for (int k = 0; k < p->each[w]; k++)
        if (record(mine, p->index[w][k], p->value[w][k]) == -1)
            lab_worker_fail("record(mgr, %d, %" PRId64 ") returned -1; the manager's last "
                            "answer: %s", p->index[w][k], p->value[w][k], mgr_error(mine));
    mgr_close(mine);
}

/* Whether index i is used in p already (the first `upto` records of worker w, and all before). */
static int index_used(const struct random_plan *p, int w, int upto, int i)
{
    for (int v = 0; v <= w; v++)
        for (int k = 0; k < (v == w ? upto : p->each[v]); k++)
            if (p->index[v][k] == i)
                return 1;
    return 0;
}

START_TEST(random_workers_indexes_and_values_are_all_recorded_exactly)
{
    start();
    struct random_plan p = {.workers = 2 + (int)(lab_random() % (MAX_RANDOM_WORKERS - 1))};
    int total = 0;
    for (int w = 0; w < p.workers; w++) {
        p.each[w] = 1 + (int)(lab_random() % MAX_RANDOM_EACH);
        for (int k = 0; k < p.each[w]; k++) {
            int i;
            do  /* any int, of any length: short ones as often as long ones */
                i = (int)(uint32_t)(lab_random() >> (lab_random() % 32));
            while (index_used(&p, w, k, i));
            p.index[w][k] = i;
            p.value[w][k] = (int64_t)lab_random();
            total++;
        }
    }
    lab_run_workers(p.workers, record_planned, &p, 10,
                    "Workers blocked on the manager: a lock acquired and never released?");
    struct value *inner;
    if (mgr_get(c, RESULTS, INNER, &inner) == -1)
        lab_fail("after %d workers recorded, results['test'] cannot be read: %s (was it "
                 "replaced or deleted?)%s", p.workers, mgr_error(c), lab_seed_note());
    int found = 0;
    char first_wrong[400] = "";
    for (int w = 0; w < p.workers; w++)
        for (int k = 0; k < p.each[w]; k++) {
            char key[16];
            snprintf(key, sizeof key, "%d", p.index[w][k]);
            struct value *v = dict_get(inner, key, strlen(key));
            if (v != NULL && v->type == V_INT && v->u.i == p.value[w][k])
                found++;
            else if (first_wrong[0] == '\0')
                snprintf(first_wrong, sizeof first_wrong, "results['test']['%s'] should be "
                         "%" PRId64 ", it is %s", key, p.value[w][k], seen_instead(v));
        }
    size_t keys = inner->u.dict.len;
    value_free(inner);
    if (found != total || keys != (size_t)total + 1)
        lab_fail("%d workers recorded %d random values at random indexes; results['test'] "
                 "holds %d of them right, and %zu keys in all, not %d (theirs and 'keep')%s%s. "
                 "Records were lost (get-modify-set without one shared lock?), or a key or a "
                 "value was cut (a buffer too short for str(index), an int for an int64_t)%s",
                 p.workers, total, found, keys, total + 1, first_wrong[0] ? ": " : "",
                 first_wrong, lab_seed_note());
    expect_recorded(0, "the random workers");  /* 'keep' and 'other' are still there */
    stop();
}
END_TEST

/* ---- results['test'] that is not a dict: an error to report, not a reason to exit -------- */

#define NOT_A_DICT_SECONDS 5

/*
 * results['test'] is set to `bad`; record runs in a process of its own, which
 * keeps its connection open afterwards (as a worker that goes on would), so
 * that a lock record kept is still held when another connection records,
 * with results['test'] a dict again.
 */
static void record_when_test_is(struct value *bad, const char *what)
{
    start();
    if (mgr_set(c, RESULTS, INNER, bad) == -1)
        lab_fail("setting results['test'] to %s: %s", what, mgr_error(c));
    value_free(bad);
    const struct lab_mgr_op first = {record_1, NULL};
    struct lab_mgr_held held;
    int rc, status;
    if (lab_mgr_hold(m.address, &first, &held, &rc, &status) == -1)
        lab_fail("with results['test'] = %s, record never returned: its process %s. A "
                 "results['test'] that is not a dict is an error to report (a message, "
                 "return -1), %s", what, lab_describe_status(status), WIFEXITED(status) ?
                 "not a reason to end the worker's process: exit() there takes the whole "
                 "worker down, and a lock it held with it" : "checked before the inner value "
                 "is used as a dict");
    char after[160];
    snprintf(after, sizeof after, "with results['test'] = %s, record returned %d", what, rc);
    if (rc != -1) {
        lab_mgr_let_go(&held);
        lab_fail("%s, not -1: results['test'] is not a dict, so there is nothing to record "
                 "into", after);
    }
    struct value *inner = value_dict();
    dict_set(inner, "keep", 4, value_int(-1));
    if (mgr_set(c, RESULTS, INNER, inner) == -1)
        lab_fail("setting results['test'] back to a dict: %s", mgr_error(c));
    value_free(inner);
    const char *why = lab_mgr_blocked(m.address, &another_record, NOT_A_DICT_SECONDS);
    lab_mgr_let_go(&held);
    if (why != NULL)
        lab_fail("%s; with results['test'] a dict again, another connection's record %s%s",
                 after, why, strstr(why, "in vain") != NULL ? ": record's connection (still "
                 "open) still held a lock. Every way out after mgr_acquire, the not-a-dict "
                 "one too, must mgr_release" : ", not returning 0");
    stop();
}

START_TEST(an_inner_value_that_is_not_a_dict_is_reported_and_leaves_no_lock_held)
{
    record_when_test_is(value_int(5), "5 (an int)");
}
END_TEST

START_TEST(an_inner_list_is_reported_and_leaves_no_lock_held)
{
    record_when_test_is(value_list(), "[] (a list)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("07-lost-nested-update");
    lab_add(s, one_record_reaches_the_manager);
    lab_add(s, one_process_records_ten_values);
    lab_add(s, an_index_recorded_again_holds_its_last_value);
    lab_add(s, one_process_records_into_two_managers_in_turn);
    lab_add(s, two_workers_record_at_once);
    lab_add(s, eight_workers_record_at_once);
    lab_add(s, a_pool_of_four_records_a_hundred_values);
    lab_add(s, a_missing_inner_dict_is_an_error_not_a_crash);
    lab_add(s, an_inner_value_that_is_not_a_dict_is_reported_and_leaves_no_lock_held);
    lab_add(s, an_inner_list_is_reported_and_leaves_no_lock_held);
    lab_add_long(s, a_failed_manager_call_is_reported_and_leaves_no_lock_held_and_the_dict_whole, 3);
    lab_add_long(s, a_record_never_runs_inside_another_even_when_its_acquire_times_out, 3);
    lab_add(s, a_record_that_begins_while_another_ends_lands);
    lab_add(s, indexes_of_every_length_and_index_zero_are_keys_of_their_own);
    lab_add(s, values_past_two_to_the_31_and_int64s_ends_are_kept_exactly);
    lab_add(s, random_workers_indexes_and_values_are_all_recorded_exactly);
    return lab_main(s);
}
