/*
 * Lesson 01, the unshared list: the tests.
 *
 * What they look for, in the parent, after collect() returns:
 *   - every child's item, in that child's slot (fork copies memory, it does
 *     not share it: an item written to an ordinary array never arrives);
 *   - even the item of a child that takes long (a parent that reads after
 *     waiting for one child, or none, misses it);
 *   - a child that failed is reported, not passed off as success;
 *   - no child is left a zombie, no mapping is left behind.
 * Nothing here is a race: each check is decided by waiting, not by luck.
 * Measured with `make stress LESSON=01 RUNS=200`: the starter fails 200/200,
 * the solution passes 200/200 (see the lesson text for the figures).
 */
#include "lab.h"
#include "collect.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NOTHING (-1L)  /* what a slot holds when no item arrived */
#define SLOW_MS 300    /* the slow child's delay: far longer than a fork */

static long item_for(int index) { return 1000 + 7L * index; }

static void sleep_ms(int ms) { usleep(1000 * (useconds_t)ms); }

/* Children finish out of order: the lower the number, the later. */
static int children;
static long staggered_work(int index)
{
    sleep_ms((children - 1 - index) % 8);
    return item_for(index);
}

/* All quick but the last, which takes SLOW_MS. */
static long last_is_slow(int index)
{
    if (index == children - 1)
        sleep_ms(SLOW_MS);
    return item_for(index);
}

static void clear(long items[], int n)
{
    for (int i = 0; i < n; i++)
        items[i] = NOTHING;
}

/* Which child's item is this value? -1 if nobody's. */
static int owner_of(long value, int n)
{
    for (int j = 0; j < n; j++)
        if (value == item_for(j))
            return j;
    return -1;
}

/* Fails the test, in the lesson's words, unless items[0..n) are all right. */
static void expect_all_items(const long items[], int n, int rc)
{
    int arrived = 0, untouched = 0, wrong = -1;
    for (int i = 0; i < n; i++) {
        if (items[i] == item_for(i))
            arrived++;
        else if (items[i] == NOTHING)
            untouched++;
        if (items[i] != item_for(i) && wrong < 0)
            wrong = i;
    }
    if (untouched == n)
        lab_fail("the parent saw 0 of %d items: each child wrote its item into its own "
                 "copy of the list (fork copies memory, it does not share it); the parent's "
                 "list never changed", n);
    if (wrong >= 0) {
        long value = items[wrong];
        int owner = owner_of(value, n);
        if (owner >= 0)
            lab_fail("slot %d holds child %d's item, not child %d's: child i must write "
                     "its item to items[i], whatever order the children finish in",
                     wrong, owner, wrong);
        if (value == NOTHING)
            lab_fail("the parent saw %d of %d items; slot %d was never written: child %d's "
                     "item did not reach the parent", arrived, n, wrong, wrong);
        lab_fail("the parent saw %d of %d items; slot %d holds %ld, not child %d's item "
                 "(%ld): the parent copied the slot before child %d had written it (wait "
                 "for every child before reading), or the item was lost on the way",
                 arrived, n, wrong, value, wrong, item_for(wrong), wrong);
    }
    if (rc != 0)
        lab_fail("every item arrived, but collect() returned %d instead of 0 though every "
                 "child succeeded", rc);
}

static void collect_and_check(int n)
{
    static long items[COLLECT_MAX];
    children = n;
    clear(items, n);
    int rc = collect(n, staggered_work, items);
    expect_all_items(items, n, rc);
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

START_TEST(the_parent_waits_for_the_slowest_child)
{
    long items[4];
    children = 4;
    clear(items, 4);
    int rc = collect(4, last_is_slow, items);
    if (items[3] != item_for(3) && items[0] == item_for(0))
        lab_fail("child 3 takes %d ms; its item was missing though the others arrived: the "
                 "parent read the list before every child had finished (wait for each "
                 "child, e.g. waitpid on every pid, not for the first one)", SLOW_MS);
    expect_all_items(items, 4, rc);
}
END_TEST

/* Child 2 fails: with exit status 3, or killed by SIGKILL. */
static int failure_kind;
static long child_two_fails(int index)
{
    if (index == 2) {
        if (failure_kind == 0)
            _exit(3);
        raise(SIGKILL);
    }
    return item_for(index);
}

static void expect_failure_reported(const char *how)
{
    long items[5];
    children = 5;
    clear(items, 5);
    int rc = collect(5, child_two_fails, items);
    if (rc != -1)
        lab_fail("child 2 %s, yet collect() returned %d, not -1: a parent that does not "
                 "look at each child's wait status cannot tell a failure from a success",
                 how, rc);
    for (int i = 0; i < 5; i++)
        if (i != 2 && items[i] != item_for(i))
            lab_fail("child 2 failed, and child %d's item went missing with it: one failed "
                     "child must not cost the others their items", i);
}

START_TEST(a_child_that_exits_with_an_error_is_reported)
{
    failure_kind = 0;
    expect_failure_reported("exited with status 3");
}
END_TEST

START_TEST(a_child_killed_by_a_signal_is_reported)
{
    failure_kind = 1;
    expect_failure_reported("was killed by SIGKILL");
}
END_TEST

static long must_not_run(int index)
{
    (void)index;
    _exit(99);
}

START_TEST(a_bad_number_of_children_is_refused)
{
    long items[1] = {NOTHING};
    int bad[] = {-1, COLLECT_MAX + 1};
    for (int i = 0; i < 2; i++) {
        int rc = collect(bad[i], must_not_run, items);
        if (rc != -1)
            lab_fail("collect(%d, ...) returned %d: a count outside 0..%d must be refused "
                     "with -1", bad[i], rc, COLLECT_MAX);
    }
    int rc = collect(0, must_not_run, items);
    if (rc != 0)
        lab_fail("collect(0, ...) returned %d: running no children is not an error", rc);
}
END_TEST

static void collect_four(void)
{
    collect_and_check(4);
}

START_TEST(no_memory_mapping_is_left_behind)
{
    lab_expect_no_mapping_leak(collect_four, 20, "calls of collect()",
                               "collect() must munmap what it maps, or every call leaks memory");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("01-unshared-list");
    lab_add(s, one_child);
    lab_add(s, two_children);
    lab_add(s, eight_children_each_item_in_its_own_slot);
    lab_add(s, sixty_four_children);
    lab_add(s, the_parent_waits_for_the_slowest_child);
    lab_add(s, a_child_that_exits_with_an_error_is_reported);
    lab_add(s, a_child_killed_by_a_signal_is_reported);
    lab_add(s, a_bad_number_of_children_is_refused);
    lab_add(s, no_memory_mapping_is_left_behind);
    return lab_main(s);
}
