/*
 * Lesson 02, the racy counter: the tests.
 *
 * Worker processes, released together by the harness, add to one counter;
 * afterwards the counter must hold exactly what they added. Also: totals
 * across the whole range of a long (an int counter is named as such),
 * random workers and amounts from the run's seed, and every call that can
 * fail in counter_create/counter_add failed in turn (NULL or -1 with a
 * message naming the call, no mapping or named semaphore left, and the
 * additions that returned 0 still exactly what the counter holds).
 *
 * Races hide: run plainly, a racy counter often comes out right (two
 * workers adding 100,000 each came out exact in 85 of 200 runs on a 2-core
 * machine). So counter.c is compiled with the race amplifier
 * (tests/harness/amplify.c): one store in four waits 20 us first, which
 * turns a window of nanoseconds into one of microseconds; half of the
 * processes also wait before one plain load in eight. Correct fixes (a
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

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
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

/*
 * A total past 2^31 that comes out as its low 32 bits: the counter (or the
 * addition) went through an int. Says so, rather than blaming a race.
 */
static void expect_not_cut_to_32_bits(long want, long got)
{
    if (got != want && want != (long)(int)want &&
        (got == (long)(int)want || got == (long)(unsigned)want))
        lab_fail("the counter says %ld where %ld was added: that is %ld cut to its low 32 "
                 "bits. The counter (or the addition) goes through an int somewhere; the "
                 "header says long, and totals past 2^31 must come out whole", got, want, want);
}

/*
 * Fails the test if got is want rounded through a double: a double keeps
 * 53 bits, so a total past 2^53 comes back rounded, and LONG_MAX rounds up
 * to 2^63, past long's range (converted back, x86 gives LONG_MIN).
 */
static void expect_not_rounded_through_a_double(long want, long got)
{
    double d = (double)want;
    int rounded = d >= 0x1p63 ? got == LONG_MIN || got == LONG_MAX : (double)got == d;
    if (got != want && rounded)
        lab_fail("the counter says %ld where the total is %ld: that is %ld rounded through a "
                 "double, which keeps only 53 bits (LONG_MAX becomes 2^63, which no long "
                 "holds). The counter (or the addition) goes through a double somewhere; the "
                 "header says long, and every value of it must come out whole", got, want,
                 want);
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
        /* The amplifier writes down the loads and stores to the counter: the story of a loss. */
        lab_race_trace(job.counter, 256);
        lab_run_workers(workers, add_repeatedly, &job, WORKER_SECONDS, hang_hint);
        long got = counter_value(job.counter);
        counter_destroy(job.counter);
        expect_not_cut_to_32_bits(per_round, got);
        expect_not_rounded_through_a_double(per_round, got);
        if (got < per_round)
            lab_fail("round %d of %d: %d worker processes added %ld in all, but the counter "
                     "says %ld, %ld short. Two processes loaded the same old value and "
                     "both stored old + n, so one addition overwrote the other. counter_add "
                     "needs mutual exclusion across processes: one lock that all of them "
                     "share (in the shared memory, process-shared), or an atomic add. %s",
                     round, rounds, workers, per_round, got, per_round - got,
                     lab_race_explain());
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

/* One process alone, at the edges of long: the total is checked after each step. */
START_TEST(totals_past_2_to_the_31_negative_and_at_LONG_MIN_and_LONG_MAX_are_exact)
{
    static const long steps[] = {
        INT_MAX, 1, 1L << 32, -(1L << 33), -1, (long)INT_MAX + 2,  /* back to 0 */
        LONG_MAX, LONG_MIN, 1, LONG_MIN, LONG_MAX, 0, 1,           /* back to 0 */
    };
    struct counter *c = create_or_fail();
    long want = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (counter_add(c, steps[i]) != 0) {
            counter_destroy(c);
            lab_fail("counter_add(c, %ld) returned an error with no other process around",
                     steps[i]);
        }
        want += steps[i];
        long got = counter_value(c);
        if (got != want) {
            counter_destroy(c);
            expect_not_cut_to_32_bits(want, got);
            expect_not_rounded_through_a_double(want, got);
            lab_fail("after adding %ld, the counter says %ld, not %ld: a long counter must "
                     "hold every value from LONG_MIN to LONG_MAX, negative ones too",
                     steps[i], got, want);
        }
    }
    counter_destroy(c);
}
END_TEST

/* Worker i adds 2^32 + i: each addition alone is past what an int holds. */
static void add_past_32_bits(int index, void *arg)
{
    struct job *job = arg;
    for (long k = 0; k < job->additions; k++)
        if (counter_add(job->counter, (1L << 32) + index) != 0)
            lab_worker_fail("counter_add(c, 2^32 + %d) returned non-zero (its reason is on "
                            "stderr)", index);
}

START_TEST(four_workers_adding_2_to_the_32_each_time_get_an_exact_total)
{
    enum { WORKERS = 4, ADDITIONS = 25 };
    struct job job = {create_or_fail(), ADDITIONS};
    lab_run_workers(WORKERS, add_past_32_bits, &job, WORKER_SECONDS, hang_hint);
    long got = counter_value(job.counter);
    counter_destroy(job.counter);
    long want = WORKERS * ADDITIONS * (1L << 32) + ADDITIONS * (0 + 1 + 2 + 3);
    expect_not_cut_to_32_bits(want, got);
    expect_not_rounded_through_a_double(want, got);
    if (got != want)
        lab_fail("%d workers each added 2^32 + their number %d times, %ld in all, but the "
                 "counter says %ld (%ld %s): additions were lost or counted twice",
                 WORKERS, ADDITIONS, want, got, got < want ? want - got : got - want,
                 got < want ? "short" : "too many");
}
END_TEST

/*
 * Random cases from the run's seed: how many workers, how many additions
 * each, and the amounts (any sign, up to 2^40). Each worker draws its
 * amounts from a seed of its own, and the test draws them again to know
 * the exact total.
 */
#define MAX_RANDOM_WORKERS 12
struct random_job {
    struct counter *counter;
    uint64_t seed[MAX_RANDOM_WORKERS];
    int additions[MAX_RANDOM_WORKERS];
};

static long next_amount(uint64_t *state)
{
    *state ^= *state << 13;  /* xorshift64 */
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (long)(*state % (1UL << 41)) - (1L << 40);
}

static void add_random_amounts(int index, void *arg)
{
    struct random_job *job = arg;
    uint64_t state = job->seed[index];
    for (int k = 0; k < job->additions[index]; k++) {
        long n = next_amount(&state);
        if (counter_add(job->counter, n) != 0)
            lab_worker_fail("counter_add(c, %ld) returned non-zero (its reason is on stderr)", n);
    }
}

START_TEST(a_seeded_random_mix_of_workers_and_amounts_adds_up_exactly)
{
    for (int round = 1; round <= 4; round++) {
        struct random_job job = {create_or_fail(), {0}, {0}};
        int workers = 1 + (int)(lab_random() % MAX_RANDOM_WORKERS);
        long want = 0;
        for (int i = 0; i < workers; i++) {
            job.seed[i] = lab_random() | 1;  /* xorshift never leaves 0 */
            job.additions[i] = 1 + (int)(lab_random() % 150);
            uint64_t state = job.seed[i];
            for (int k = 0; k < job.additions[i]; k++)
                want += next_amount(&state);
        }
        lab_run_workers(workers, add_random_amounts, &job, WORKER_SECONDS, hang_hint);
        long got = counter_value(job.counter);
        counter_destroy(job.counter);
        expect_not_cut_to_32_bits(want, got);
        expect_not_rounded_through_a_double(want, got);
        if (got != want)
            lab_fail("round %d: %d workers added random amounts (up to 2^40, either sign), "
                     "%ld in all, but the counter says %ld: additions were lost or counted "
                     "twice%s", round, workers, want, got, lab_seed_note());
    }
}
END_TEST

/*
 * Error paths: create, add in this process, then in three processes at
 * once, read, destroy. Whatever failed, the additions that returned 0 are
 * exactly what the counter holds (one that returned -1 did not count), no
 * lock is left held (the three processes would hang), and a failed
 * counter_create leaves nothing behind.
 */
enum { TOGETHER = 3, EACH_ADDS = 300 };

struct tally {
    long added[TOGETHER];  /* what each process added, counting only additions that returned 0 */
    int reported[TOGETHER];
    long bad_return[TOGETHER];
};

static int create_add_destroy(void *arg)
{
    (void)arg;
    struct counter *c = counter_create();
    if (c == NULL)
        return LAB_REPORTED;
    long start = counter_value(c);
    if (start != 0)
        lab_worker_fail("a new counter says %ld, not 0", start);
    long want = 0;
    int reported = 0;
    static const long alone[] = {5, -3, 1L << 33, -(1L << 33)};
    for (size_t i = 0; i < sizeof alone / sizeof alone[0]; i++) {
        int rc = counter_add(c, alone[i]);
        if (rc != 0 && rc != -1)
            lab_worker_fail("counter_add(c, %ld) returned %d: 0 or -1 only", alone[i], rc);
        if (rc == 0)
            want += alone[i];
        reported |= rc == -1;
    }

    struct tally *t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                           -1, 0);
    if (t == MAP_FAILED)
        lab_worker_fail("harness: mmap for the tally failed");
    pid_t pids[TOGETHER];
    for (int k = 0; k < TOGETHER; k++) {
        pids[k] = fork();
        if (pids[k] == -1)
            lab_worker_fail("harness: fork for process %d of %d failed", k, TOGETHER);
        if (pids[k] == 0) {
            for (int j = 0; j < EACH_ADDS; j++) {
                int rc = counter_add(c, k + 1);
                if (rc == 0)
                    t->added[k] += k + 1;
                else if (rc == -1)
                    t->reported[k] = 1;
                else
                    t->bad_return[k] = rc;
            }
            _exit(0);
        }
    }
    for (int k = 0; k < TOGETHER; k++) {
        int status;
        waitpid(pids[k], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            lab_worker_fail("a process adding to the counter %s", lab_describe_status(status));
        if (t->bad_return[k] != 0)
            lab_worker_fail("counter_add returned %ld: 0 or -1 only", t->bad_return[k]);
        want += t->added[k];
        reported |= t->reported[k];
    }
    munmap(t, sizeof *t);

    long got = counter_value(c);
    counter_destroy(c);
    if (got < want)
        lab_worker_fail("the additions that returned 0 add up to %ld, but the counter says %ld, "
                        "%ld short: additions were lost (two processes loaded the same old "
                        "value: nothing kept them apart%s)", want, got, want - got,
                        lab_a_call_was_made_to_fail()
                            ? ", or the lock stopped doing so after the failure" : "");
    if (got > want)
        lab_worker_fail("the additions that returned 0 add up to %ld, but the counter says %ld: "
                        "an addition that returned -1 was counted all the same (-1 means "
                        "it did not add)", want, got);
    return reported ? LAB_REPORTED : LAB_SUCCEEDED;
}

START_TEST(every_call_that_can_fail_is_reported_and_leaves_nothing_behind)
{
    lab_try_each_failure("counter_create/counter_add", create_add_destroy, NULL);
}
END_TEST

START_TEST(an_interrupted_wait_for_the_lock_never_loses_or_adds_a_count)
{
    lab_try_each_interruption("counter_create/counter_add", create_add_destroy, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("02-racy-counter");
    lab_add(s, a_new_counter_starts_at_zero);
    lab_add(s, one_process_alone_adds_correctly);
    lab_add(s, two_workers_add_once_each);
    lab_add_long(s, ninety_nine_workers_add_once_each, 3);  /* 297 forks: slow on a loaded machine */
    /* Every addition may wait in the amplifier, one process at a time under a
     * lock: 8 s of 10 at load 46 in a class bench, so three times the limit. */
    lab_add_long(s, eight_workers_add_a_hundred_times_each, 3);
    lab_add(s, three_workers_add_two_thousand_times_each);
    lab_add(s, nothing_is_left_behind_after_destroy);
    lab_add(s, totals_past_2_to_the_31_negative_and_at_LONG_MIN_and_LONG_MAX_are_exact);
    lab_add(s, four_workers_adding_2_to_the_32_each_time_get_an_exact_total);
    lab_add_long(s, a_seeded_random_mix_of_workers_and_amounts_adds_up_exactly, 3);
    lab_add_long(s, every_call_that_can_fail_is_reported_and_leaves_nothing_behind, 3);
    lab_add_long(s, an_interrupted_wait_for_the_lock_never_loses_or_adds_a_count, 3);
    return lab_main(s);
}
