/*
 * Lesson 01, the unshared list: the tests.
 *
 * What they look for, in the parent, after collect() returns:
 *   - every child's item, in that child's slot (fork copies memory, it does
 *     not share it: an item written to an ordinary array never arrives);
 *   - even the item of a child that takes long (a parent that reads after
 *     waiting for one child, or none, misses it);
 *   - all 64 bits of each item, negative ones and LONG_MIN/LONG_MAX too;
 *   - a child that failed is reported, not passed off as success, and the
 *     message on stderr says which child and how it ended;
 *   - collect() waits for its own children only (a child of the caller's
 *     that has already ended is not taken by a wait() for any child);
 *   - every call that can fail (mmap, each fork, waitpid interrupted by a
 *     signal) is made to fail in turn: collect() reports it by name and
 *     leaves no child running or unreaped and nothing mapped;
 *   - no child is left a zombie, no mapping is left behind, no child ends
 *     with exit() instead of _exit() (the harness checks these after each test).
 * Nothing here is a race: each check is decided by waiting, not by luck.
 * The random test draws its values, delays and failures from the run's
 * seed, which its message prints.
 * Measured with `make stress LESSON=01 RUNS=200`: the starter fails 200/200,
 * the solution passes 200/200 (see the lesson text for the figures).
 */
#include "lab.h"
#include "collect.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOTHING (-1L)  /* what a slot holds when no item arrived */
#define SLOW_MS 300    /* the slow child's delay: far longer than a fork */

static long item_for(int index) { return 1000 + 7L * index; }

static void sleep_ms(int ms) { usleep(1000 * (useconds_t)ms); }

/*
 * What each child is to do: the item work(i) returns, how long it takes,
 * and how it fails (0: it does not; > 0: it exits with that status; < 0:
 * it is killed by that signal). Set before collect() forks, so every child
 * sees it.
 */
static long want[COLLECT_MAX];
static int delay_ms[COLLECT_MAX];
static int fails[COLLECT_MAX];

/*
 * What the children did, where the test can see it afterwards: which
 * process ran work(i) (0: none did) and how many work() calls ran in all.
 * A shared mapping of the test's own, made once per test process.
 */
struct trace {
    pid_t pid[COLLECT_MAX];
    int runs;
};
static struct trace *trace;

static void trace_reset(void)
{
    if (trace == NULL) {
        trace = mmap(NULL, sizeof *trace, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
        if (trace == MAP_FAILED) {
            trace = NULL;
            lab_fail("harness: mmap for the children's trace failed");
        }
    }
    memset(trace, 0, sizeof *trace);
}

static long table_work(int index)
{
    if (index < 0 || index >= COLLECT_MAX)
        _exit(98);  /* collect() called work() with an index it was never given */
    trace->pid[index] = getpid();
    __atomic_add_fetch(&trace->runs, 1, __ATOMIC_RELAXED);
    if (delay_ms[index] > 0)
        sleep_ms(delay_ms[index]);
    if (fails[index] > 0)
        _exit(fails[index]);
    if (fails[index] < 0) {
        signal(-fails[index], SIG_DFL);  /* not Check's handler, which ends the whole test */
        raise(-fails[index]);
    }
    return want[index];
}

/* The usual plan: child i returns item_for(i), and the lower the number, the later. */
static void plan_staggered(int n)
{
    for (int i = 0; i < n; i++) {
        want[i] = item_for(i);
        delay_ms[i] = (n - 1 - i) % 8;
        fails[i] = 0;
    }
}

static int run_collect(int n, long items[], long nothing)
{
    for (int i = 0; i < n && i < COLLECT_MAX; i++)
        items[i] = nothing;
    trace_reset();
    return collect(n, table_work, items);
}

/* Whether process pid still exists (running, or ended and never waited for). */
static int still_there(pid_t pid)
{
    return pid > 0 && kill(pid, 0) == 0;
}

static const char *shown(long value, long nothing)
{
    static char text[64];
    if (value == nothing)
        return "nothing (it was never written)";
    snprintf(text, sizeof text, "%ld", value);
    return text;
}

/*
 * Fails the test, in the lesson's words, unless the slots of the children
 * that succeeded hold their items (and, if none failed, rc is 0). Says
 * what was seen first, then what it means: the slot's value, and whether
 * its child had been waited for when collect() returned.
 */
static void expect_items(const long items[], int n, int rc, long nothing)
{
    int arrived = 0, expected = 0, wrong = -1, not_ended = -1;
    for (int i = 0; i < n; i++) {
        if (still_there(trace->pid[i]) && not_ended < 0)
            not_ended = i;
        if (fails[i] != 0)
            continue;
        expected++;
        if (items[i] == want[i])
            arrived++;
        else if (wrong < 0)
            wrong = i;
    }
    if (wrong >= 0) {
        int i = wrong;
        long value = items[i];
        if (trace->pid[i] == 0)
            lab_fail("work(%d) had not run when collect(%d, ...) returned %d (slot %d holds "
                     "%s): collect() started no child for it, or returned before that child "
                     "had even begun (every child must have ended and been waited for when "
                     "collect() returns)", i, n, rc, i, shown(value, nothing));
        if (want[i] != (long)(int)want[i] &&
            (value == (long)(int)want[i] || value == (long)(unsigned)want[i]))
            lab_fail("slot %d holds %ld, which is child %d's item %ld cut to its low 32 bits: "
                     "between work(%d) and items[%d] the item passed through an int (or "
                     "another 32-bit type); items are long, and all 64 bits must arrive",
                     i, value, i, want[i], i, i);
        for (int j = 0; j < n; j++)
            if (j != i && fails[j] == 0 && value == want[j] && want[j] != want[i])
                lab_fail("slot %d holds child %d's item (%ld), not child %d's (%ld): child i "
                         "must write its item to items[i], whatever order the children "
                         "finish in", i, j, value, i, want[i]);
        if (arrived == 0 && not_ended < 0)
            lab_fail("the parent saw none of the %d items, though every child had ended and "
                     "been waited for: slot %d holds %s, not child %d's item %ld. Each child "
                     "wrote its item where only that child could see it: fork copies memory, "
                     "it does not share it (an ordinary, static or volatile variable alike); "
                     "the items must travel through memory mapped MAP_SHARED before the "
                     "fork, or through a pipe", expected, i, shown(value, nothing), i, want[i]);
        if (arrived == 0)
            lab_fail("the parent saw none of the %d items (slot %d holds %s, not child %d's "
                     "item %ld), and child %d (pid %d) had not been waited for when collect() "
                     "returned. Either the items went where the parent cannot see them (fork "
                     "copies memory, it does not share it), or the parent read the list "
                     "before every child had finished, or both: wait for each child "
                     "(waitpid) before reading, and pass the items through memory mapped "
                     "MAP_SHARED before the fork, or a pipe", expected, i,
                     shown(value, nothing), i, want[i], not_ended, (int)trace->pid[not_ended]);
        if (still_there(trace->pid[i]))
            lab_fail("the parent saw %d of %d items; slot %d holds %s, not child %d's item "
                     "%ld, and child %d (pid %d) had not been waited for when collect() "
                     "returned: the parent read the list before every child had finished "
                     "(wait for each child by its pid before reading)", arrived, expected, i,
                     shown(value, nothing), i, want[i], i, (int)trace->pid[i]);
        lab_fail("the parent saw %d of %d items; slot %d holds %s, not child %d's item %ld, "
                 "though child %d had ended and been waited for: its item was lost on the way "
                 "to the parent", arrived, expected, i, shown(value, nothing), i, want[i], i);
    }
    if (expected == n && rc != 0)
        lab_fail("every item arrived, but collect() returned %d instead of 0 though every "
                 "child succeeded", rc);
}

static void collect_and_check(int n)
{
    static long items[COLLECT_MAX];
    plan_staggered(n);
    int rc = run_collect(n, items, NOTHING);
    expect_items(items, n, rc, NOTHING);
}

START_TEST(one_child)
{
    collect_and_check(1);
}
END_TEST

START_TEST(two_children)
{
    collect_and_check(2);
}
END_TEST

START_TEST(eight_children_each_item_in_its_own_slot)
{
    collect_and_check(8);
}
END_TEST

START_TEST(sixty_four_children)
{
    collect_and_check(64);
}
END_TEST

/* As many children as the header allows, all quick: 1024 forks take long enough. */
START_TEST(the_most_children_allowed_COLLECT_MAX_all_arrive)
{
    static long items[COLLECT_MAX];
    plan_staggered(COLLECT_MAX);
    memset(delay_ms, 0, sizeof delay_ms);
    int rc = run_collect(COLLECT_MAX, items, NOTHING);
    expect_items(items, COLLECT_MAX, rc, NOTHING);
}
END_TEST

/*
 * How long the parent was running or waiting to run (lab_runnable_seconds)
 * in collect(4) beyond what the same call takes with four quick children:
 * a parent that spins while child 3 sleeps SLOW_MS is runnable all along,
 * one that sleeps in waitpid hardly at all. The quick call is its own
 * measure of what forking costs on this machine, loaded or not; the least
 * of three tries, since another process can take the CPU in any one.
 */
static double runnable_while_waiting(long items[4], int *rc)
{
    double least = 1e9;
    for (int try = 0; try < 3 && least > SLOW_MS / 1000.0 / 2; try++) {
        long quick[4];
        plan_staggered(4);
        memset(delay_ms, 0, sizeof delay_ms);
        double before = lab_runnable_seconds(0);
        run_collect(4, quick, NOTHING);
        double forking = lab_runnable_seconds(0) - before;
        plan_staggered(4);
        for (int i = 0; i < 4; i++)
            delay_ms[i] = i == 3 ? SLOW_MS : 0;
        before = lab_runnable_seconds(0);
        *rc = run_collect(4, items, NOTHING);
        double waiting = lab_runnable_seconds(0) - before - forking;
        least = waiting < least ? waiting : least;
    }
    return least;
}

START_TEST(the_parent_waits_for_the_slowest_child)
{
    long items[4];
    int rc;
    double runnable = runnable_while_waiting(items, &rc);
    if (runnable > SLOW_MS / 1000.0 / 2)
        lab_fail("while child 3 took %d ms, the parent was running or waiting to run for %.0f "
                 "ms of them: it spins (waitpid with WNOHANG in a loop?). A parent that waits "
                 "must sleep in a call that blocks, waitpid without WNOHANG", SLOW_MS,
                 runnable * 1000);
    if (items[3] != item_for(3) && items[0] == item_for(0))
        lab_fail("child 3 takes %d ms; its item was missing though the others arrived: the "
                 "parent read the list before every child had finished (wait for each "
                 "child, e.g. waitpid on every pid, not for the first one)", SLOW_MS);
    expect_items(items, 4, rc, NOTHING);
}
END_TEST

START_TEST(items_keep_all_64_bits_negative_and_LONG_MIN_to_LONG_MAX)
{
    static const long values[] = {
        LONG_MIN, LONG_MAX, -1, 0, 1, (long)INT_MAX + 1, (long)INT_MIN - 1,
        1L << 32, -(1L << 40) - 12345, 0x123456789abcdefL, -42, (long)UINT_MAX,
    };
    enum { N = sizeof values / sizeof values[0] };
    long items[N];
    plan_staggered(N);
    for (int i = 0; i < N; i++)
        want[i] = values[i];
    const long nothing = 0x5eedL;  /* none of the values */
    int rc = run_collect(N, items, nothing);
    expect_items(items, N, rc, nothing);
}
END_TEST

/* What collect() printed on stderr, its children's output too (lab_capture_end). */
static const char *said = "";

/* Whether the text holds the number v as a whole number (not as part of a longer one). */
static int says_number(const char *text, long v)
{
    for (const char *p = text; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p) || (p > text && isdigit((unsigned char)p[-1])))
            continue;
        if (strtol(p, NULL, 10) == v)
            return 1;
    }
    return 0;
}

static int says_word(const char *text, const char *word)
{
    char lower[4096];
    size_t i;
    for (i = 0; text[i] != '\0' && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)text[i]);
    lower[i] = '\0';
    return strstr(lower, word) != NULL;
}

/*
 * Child 2 of 5 fails (failure: > 0 an exit status, < 0 a signal), the only
 * one that does: collect() must say so, by name and how, and leave its slot
 * as it was.
 */
static void expect_failure_reported(int failure, const char *how)
{
    long items[5];
    plan_staggered(5);
    fails[2] = failure;
    lab_capture_begin();
    int rc = run_collect(5, items, NOTHING);
    said = lab_capture_end();
    if (rc != -1 && failure < 0)
        lab_fail("child 2 was killed by signal %d but collect returned %d, not -1, though "
                 "it was the only child that failed (%s): a child killed by a signal did not "
                 "succeed (WIFEXITED is false for it; only WIFEXITED with WEXITSTATUS 0 is a "
                 "success)", -failure, rc, strsignal(-failure));
    if (rc != -1)
        lab_fail("child 2 %s, yet collect() returned %d, not -1: a parent that does not "
                 "look at each child's wait status cannot tell a failure from a success",
                 how, rc);
    for (int i = 0; i < 5; i++)
        if (i != 2 && items[i] != item_for(i))
            lab_fail("child 2 failed, and child %d's item went missing with it: one failed "
                     "child must not cost the others their items", i);
    if (items[2] != NOTHING)
        lab_fail("child 2 %s; its slot held %ld before the call and holds %ld after it: a "
                 "failed child's item must keep what it held before the call (copy only the "
                 "slots of the children that succeeded)", how, NOTHING, items[2]);
    if (said[0] == '\0')
        lab_fail("child 2 %s and collect() returned -1, but said nothing on stderr: the "
                 "header promises a message saying which child failed and how", how);
    if (!says_number(said, 2) && !says_number(said, trace->pid[2]))
        lab_fail("child 2 (pid %d) %s; collect() said \"%.200s\", which names neither "
                 "child 2 nor pid %d: the message must say which child failed", (int)trace->pid[2],
                 how, said, (int)trace->pid[2]);
    if (fails[2] > 0 && !says_number(said, fails[2]))
        lab_fail("child 2 exited with status %d; collect() said \"%.200s\", without that "
                 "status: say how the child ended (WEXITSTATUS of the wait status, not the "
                 "wait status itself)", fails[2], said);
    if (fails[2] < 0 && !says_word(said, "signal") && !says_word(said, "kill"))
        lab_fail("child 2 was killed by signal %d (%s); collect() said \"%.200s\", which "
                 "does not say it was killed by a signal: look at WIFSIGNALED and WTERMSIG, "
                 "not only at the exit status", -fails[2], strsignal(-fails[2]), said);
}

START_TEST(a_child_that_exits_with_an_error_is_reported)
{
    expect_failure_reported(77, "exited with status 77");
}
END_TEST

START_TEST(a_child_killed_by_a_signal_is_reported)
{
    expect_failure_reported(-SIGKILL, "was killed by SIGKILL");
}
END_TEST

START_TEST(a_bad_number_of_children_is_refused_and_runs_nothing)
{
    long items[1] = {NOTHING};
    int bad[] = {-1, COLLECT_MAX + 1, INT_MIN, INT_MAX};
    for (int i = 0; i < 4; i++) {
        trace_reset();
        lab_capture_begin();
        int rc = collect(bad[i], table_work, items);
        said = lab_capture_end();
        /*
         * A negative count that is never checked still gives -1 here, by
         * luck: (size_t)n * sizeof(long) wraps round to a size mmap
         * refuses. Its message then names mmap (or ENOMEM), not the count.
         */
        if (rc == -1 && bad[i] < 0 &&
            (says_word(said, "mmap") || strstr(said, strerror(ENOMEM)) != NULL))
            lab_fail("collect(%d, ...) returned -1, but only because mmap failed (it said "
                     "\"%.200s\"): the count was never checked, and (size_t)n * sizeof(long) "
                     "wrapped round to a size mmap refuses. A count below 0 must be refused "
                     "before anything is tried (check n < 0, not only n > COLLECT_MAX)",
                     bad[i], said);
        if (rc != -1)
            lab_fail("collect(%d, ...) returned %d: a count outside 0..%d must be refused "
                     "with -1", bad[i], rc, COLLECT_MAX);
        if (trace->runs != 0)
            lab_fail("collect(%d, ...) returned -1 but ran work() %d time(s) first: a count "
                     "outside 0..%d must be refused before anything runs", bad[i], trace->runs,
                     COLLECT_MAX);
        if (items[0] != NOTHING)
            lab_fail("collect(%d, ...) was refused but wrote %ld into items[0]", bad[i],
                     items[0]);
    }
    int rc = run_collect(0, items, NOTHING);
    if (rc != 0)
        lab_fail("collect(0, ...) returned %d: running no children is not an error", rc);
    if (trace->runs != 0 || items[0] != NOTHING)
        lab_fail("collect(0, ...) ran work() %d time(s) or wrote items[0]: with n = 0 nothing "
                 "runs", trace->runs);
}
END_TEST

START_TEST(collect_waits_for_its_own_children_only)
{
    long items[4];
    plan_staggered(4);
    pid_t bystander = lab_bystander_start();
    int rc = run_collect(4, items, NOTHING);
    lab_bystander_check(bystander, "collect()");
    expect_items(items, 4, rc, NOTHING);
}
END_TEST

/*
 * Random cases from the run's seed: how many children, their items (any
 * long), how long each takes, and which fail and how. The items of the
 * children that succeed must arrive; -1 exactly when one failed.
 */
START_TEST(a_seeded_random_mix_of_items_delays_and_failures_is_collected_exactly)
{
    static long items[COLLECT_MAX];
    for (int round = 0; round < 12; round++) {
        int n = (int)(lab_random() % 41);  /* 0 to 40 */
        int failures = 0;
        for (int i = 0; i < n; i++) {
            uint64_t r = lab_random();
            want[i] = (long)lab_random();
            if (r % 4 == 0)
                want[i] = (long)(int)want[i];  /* small ones too */
            delay_ms[i] = (int)((r >> 8) % 4);
            int f = (int)((r >> 16) % 16), status = 1 + (int)((r >> 24) % 255);
            fails[i] = f == 0 ? status : f == 1 ? -SIGKILL : f == 2 ? -SIGTERM : 0;
            failures += fails[i] != 0;
        }
        long nothing = (long)lab_random();
        lab_capture_begin();
        int rc = run_collect(n, items, nothing);
        said = lab_capture_end();
        int want_rc = failures > 0 ? -1 : 0, killed = -1;
        for (int i = 0; i < n; i++)
            if (fails[i] < 0 && killed < 0)
                killed = i;
        if (rc == 0 && killed >= 0)
            lab_fail("round %d: %d children, %d of which failed: child %d was killed by "
                     "signal %d but collect returned 0 (a child killed by a signal did not "
                     "succeed)%s", round + 1, n, failures, killed, -fails[killed],
                     lab_seed_note());
        if (rc != want_rc)
            lab_fail("round %d: %d children, %d of which failed: collect() returned %d, not "
                     "%d%s", round + 1, n, failures, rc, want_rc, lab_seed_note());
        for (int i = 0; i < n; i++)
            if (fails[i] == 0 && items[i] != want[i])
                lab_fail("round %d: %d children, %d of which failed: child %d succeeded and "
                         "returned %ld, but slot %d holds %ld%s", round + 1, n, failures, i,
                         want[i], i, items[i], lab_seed_note());
            else if (fails[i] != 0 && items[i] != nothing)
                lab_fail("round %d: child %d failed, and its slot, which held %ld before the "
                         "call, holds %ld after it: a failed child's item must keep what it "
                         "held before the call%s", round + 1, i, nothing, items[i],
                         lab_seed_note());
        if (failures > 0 && said[0] == '\0')
            lab_fail("round %d: %d of %d children failed, and collect() said nothing on "
                     "stderr%s", round + 1, failures, n, lab_seed_note());
    }
}
END_TEST

static void collect_four(void)
{
    collect_and_check(4);
}

START_TEST(no_memory_mapping_is_left_behind)
{
    trace_reset();  /* the test's own mapping, made before counting */
    lab_expect_no_mapping_leak(collect_four, 20, "calls of collect()",
                               "collect() must munmap what it maps, or every call leaks memory");
}
END_TEST

/*
 * Error paths: three children (so a third fork to fail), quick ones. If
 * collect() says it succeeded, every item must be there; if it reports an
 * error, each slot holds its child's item or was left alone, never
 * anything else.
 */
static int three_children(void *arg)
{
    (void)arg;
    long items[3];
    plan_staggered(3);
    for (int i = 0; i < 3; i++)
        delay_ms[i] = i == 0 ? 2 : 0;  /* the first child still runs while the third is forked */
    int rc = run_collect(3, items, NOTHING);
    for (int i = 0; i < 3; i++) {
        if (rc == 0 && items[i] != item_for(i))
            lab_worker_fail("collect() returned 0, yet slot %d holds %s, not child %d's item "
                            "%ld: collect() may return 0 only when every item has arrived",
                            i, shown(items[i], NOTHING), i, item_for(i));
        if (items[i] != NOTHING && items[i] != item_for(i))
            lab_worker_fail("collect() returned %d and slot %d holds %ld, which no child "
                            "returned: after a failure, each slot holds its child's item or "
                            "what it held before", rc, i, items[i]);
    }
    if (rc != 0 && rc != -1)
        lab_worker_fail("collect() returned %d: 0 or -1 only", rc);
    return rc == 0 ? LAB_SUCCEEDED : LAB_REPORTED;
}

START_TEST(every_call_that_can_fail_is_reported_and_leaves_no_child_or_mapping)
{
    trace_reset();
    lab_try_each_failure("collect", three_children, NULL);
}
END_TEST

START_TEST(a_waitpid_interrupted_by_a_signal_still_waits_for_every_child)
{
    trace_reset();
    lab_try_each_interruption("collect", three_children, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("01-unshared-list");
    lab_add(s, one_child);
    lab_add(s, two_children);
    lab_add(s, eight_children_each_item_in_its_own_slot);
    lab_add(s, sixty_four_children);
    lab_add_long(s, the_most_children_allowed_COLLECT_MAX_all_arrive, 3);  /* 1024 forks, loaded */
    lab_add(s, the_parent_waits_for_the_slowest_child);
    lab_add(s, items_keep_all_64_bits_negative_and_LONG_MIN_to_LONG_MAX);
    lab_add(s, a_child_that_exits_with_an_error_is_reported);
    lab_add(s, a_child_killed_by_a_signal_is_reported);
    lab_add(s, a_bad_number_of_children_is_refused_and_runs_nothing);
    lab_add(s, collect_waits_for_its_own_children_only);
    lab_add(s, a_seeded_random_mix_of_items_delays_and_failures_is_collected_exactly);
    lab_add(s, no_memory_mapping_is_left_behind);
    lab_add_long(s, every_call_that_can_fail_is_reported_and_leaves_no_child_or_mapping, 3);
    lab_add_long(s, a_waitpid_interrupted_by_a_signal_still_waits_for_every_child, 3);
    return lab_main(s);
}
