/*
 * Lesson 02, the racy counter: the tests.
 *
 * Worker processes, released together by the harness, add to one counter;
 * afterwards the counter must hold exactly what they added.
 *
 * Races hide: run plainly, a racy counter often comes out right (two
 * workers adding 100,000 each came out exact in 85 of 200 runs on a 2-core
 * machine). So counter.c is compiled with the race amplifier
 * (tests/harness/amplify.c): one store in four waits 20 us first, which
 * turns a window of nanoseconds into one of microseconds. Correct fixes (a
 * process-shared mutex or semaphore, an atomic add) are not affected:
 * locks are untouched and atomics stay atomic. Each test also repeats its
 * scenario several times.
 *
 * Measured on a 2-core machine with `make stress LESSON=02 RUNS=200`
 * (WORK= a variant for the wrong fixes), seconds per run of the suite:
 *   starter, no lock                          caught 200/200   0.3-0.5 s
 *   solution, process-shared mutex            passed 200/200   1.1 s
 *   a static mutex, one per process           caught 200/200   0.5 s
 *   the mutex initialised in each child       caught 200/200   2.5 s (some runs deadlock)
 *   an atomic load, then an atomic store      caught 200/200   0.3 s
 *   volatile                                  caught 200/200   0.4 s
 *   a mutex not made process-shared           caught  20/20   20 s (every test deadlocks:
 *                                             5 s for each of 4 tests; measured 20 times)
 * A semaphore not made process-shared deadlocks the same way.
 */
#include "lab.h"
#include "counter.h"

#include <unistd.h>

#define WORKER_SECONDS 5.0

static const char *hang_hint =
    "A worker waited forever for the counter's lock: a mutex or semaphore used by several "
    "processes must live in the shared memory and be made process-shared "
    "(pthread_mutexattr_setpshared, or sem_init's second argument 1), or a wake-up in one "
    "process never reaches a waiter in another; and every lock taken must be released.";

struct job {
    struct counter *counter;
    long additions;  /* how many times each worker adds */
};

/* Worker i adds i + 1, so a worker whose additions all vanish shows too. */
static void add_repeatedly(int index, void *arg)
{
    struct job *job = arg;
    for (long k = 0; k < job->additions; k++)
        if (counter_add(job->counter, index + 1) != 0)
            lab_worker_fail("counter_add(c, %d) returned non-zero (its reason is on stderr)",
                            index + 1);
}

static struct counter *create_or_fail(void)
{
    struct counter *c = counter_create();
    if (c == NULL)
        lab_fail("counter_create() returned NULL (its reason is on stderr)");
    return c;
}

/* Runs `workers` workers that each add `additions` times, `rounds` times over. */
static void count_together(int workers, long additions, int rounds)
{
    long per_round = 0;
    for (int i = 0; i < workers; i++)
        per_round += (i + 1) * additions;

    for (int round = 1; round <= rounds; round++) {
        struct job job = {create_or_fail(), additions};
        long start = counter_value(job.counter);
        if (start != 0)
            lab_fail("a new counter says %ld, not 0", start);
        lab_run_workers(workers, add_repeatedly, &job, WORKER_SECONDS, hang_hint);
        long got = counter_value(job.counter);
        counter_destroy(job.counter);
        if (got < per_round)
            lab_fail("round %d of %d: %d worker processes added %ld in all, but the counter "
                     "says %ld, %ld short. Two processes loaded the same old value and "
                     "both stored old + n, so one addition overwrote the other. counter_add "
                     "needs mutual exclusion across processes: one lock that all of them "
                     "share (in the shared memory, process-shared), or an atomic add.",
                     round, rounds, workers, per_round, got, per_round - got);
        if (got > per_round)
            lab_fail("round %d of %d: %d worker processes added %ld in all, but the counter "
                     "says %ld, more than was ever added", round, rounds, workers,
                     per_round, got);
    }
}

START_TEST(a_new_counter_starts_at_zero)
{
    struct counter *c = create_or_fail();
    long value = counter_value(c);
    counter_destroy(c);
    if (value != 0)
        lab_fail("a new counter says %ld, not 0", value);
}
END_TEST

START_TEST(one_process_alone_adds_correctly)
{
    struct counter *c = create_or_fail();
    long want = 0;
    for (long n = -50; n <= 100; n++) {
        if (counter_add(c, n) != 0)
            lab_fail("counter_add(c, %ld) returned an error with no other process around", n);
        want += n;
    }
    long got = counter_value(c);
    counter_destroy(c);
    if (got != want)
        lab_fail("one process added -50, -49, ... 100 (%ld in all) and the counter says %ld: "
                 "the arithmetic itself is wrong, before any second process is involved",
                 want, got);
}
END_TEST

START_TEST(two_workers_add_once_each)
{
    count_together(2, 1, 40);
}
END_TEST

START_TEST(ninety_nine_workers_add_once_each)
{
    count_together(99, 1, 3);  /* the classic: 99 processes, and the total says 97 */
}
END_TEST

START_TEST(eight_workers_add_a_hundred_times_each)
{
    count_together(8, 100, 5);
}
END_TEST

START_TEST(three_workers_add_two_thousand_times_each)
{
    count_together(3, 2000, 1);
}
END_TEST

static void create_use_destroy(void)
{
    struct counter *c = create_or_fail();
    counter_add(c, 1);
    counter_destroy(c);
}

START_TEST(nothing_is_left_behind_after_destroy)
{
    lab_expect_no_mapping_leak(create_use_destroy, 50, "counters created and destroyed",
                               "counter_destroy must munmap what counter_create mapped");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("02-racy-counter");
    lab_add(s, a_new_counter_starts_at_zero);
    lab_add(s, one_process_alone_adds_correctly);
    lab_add(s, two_workers_add_once_each);
    lab_add(s, ninety_nine_workers_add_once_each);
    lab_add(s, eight_workers_add_a_hundred_times_each);
    lab_add(s, three_workers_add_two_thousand_times_each);
    lab_add(s, nothing_is_left_behind_after_destroy);
    return lab_main(s);
}
