/*
 * Lesson 03, values, arrays and signalling: the tests.
 *
 * A writer and a reader, two worker processes released together by the
 * harness, share one channel. The reader logs what it receives into a
 * mapping of the test's, and the test checks it: every message once, in
 * order, whole; the reader asleep, not spinning, while it waits; no hang.
 * Built at -O2, like the demo, so that a wait loop over a plain int may be
 * compiled into one load and a loop that never ends.
 *
 * Nothing here depends on luck: a reader that is slowed down on purpose
 * shows whether the writer waits for it, and a writer that pauses 400 ms
 * shows whether the reader sleeps or spins (its CPU time, from getrusage).
 *
 * Measured with `make stress LESSON=03 RUNS=200` on a 2-core machine:
 *   starter (a plain int, polled)             caught 200/200   6.5 s per run
 *                                             (its reader hangs in one test: 5 s)
 *   solution (a process-shared semaphore pair) passed 200/200   1.3 s per run
 */
#include "lab.h"
#include "channel.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_MESSAGES 5000
#define WORKER_SECONDS 5.0
#define PAUSE_MS 400       /* the writer's pause in the sleeping test */
#define SPIN_LIMIT_MS 150  /* more CPU than this while waiting PAUSE_MS is spinning */
#define SWITCH_LIMIT 100   /* a sleeper wakes a few times, a poller thousands */
#define PREEMPT_LIMIT 20   /* a sleeper is not preempted (0 measured under load), a spinner is */

static const char *hang_hint =
    "The reader (or the writer) waited for ever. A loop that waits for a plain int to "
    "change may read it once and never again: at -O2 the compiler assumes nothing else "
    "changes it. A semaphore, mutex or condition variable that is not process-shared "
    "never wakes a process other than its own. And two processes that both spin can "
    "starve each other on a busy machine.";

/* What the test's workers share with the test. */
struct run {
    struct channel *ch;
    int messages;          /* how many the writer sends before CHANNEL_END */
    int writer_pause_ms;   /* after the first message */
    int reader_delay_ms;   /* after each receive */
    int reader_start_ms;   /* before the first receive */
    /* filled in by the reader */
    int received, torn, out_of_order, first_bad;
    long cpu_ms;
    long voluntary, involuntary;  /* context switches while it received */
    int values[MAX_MESSAGES];
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long cpu_ms(const struct rusage *ru)
{
    return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000L +
           (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000;
}

static void writer(struct run *r)
{
    struct message m;
    for (int v = 0; v <= r->messages; v++) {
        m.value = v < r->messages ? v : CHANNEL_END;
        for (int i = 0; i < CHANNEL_ITEMS; i++)
            m.array[i] = m.value;
        if (channel_publish(r->ch, &m) == -1)
            lab_worker_fail("the writer's channel_publish of message %d returned -1", v);
        if (v == 0 && r->writer_pause_ms > 0)
            sleep_ms(r->writer_pause_ms);
    }
}

static void reader(struct run *r)
{
    struct message m;
    sleep_ms(r->reader_start_ms);
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    r->first_bad = -1;
    for (;;) {
        if (channel_receive(r->ch, &m) == -1)
            lab_worker_fail("the reader's channel_receive returned -1");
        for (int i = 0; i < CHANNEL_ITEMS; i++)
            if (m.array[i] != m.value) {
                r->torn++;
                break;
            }
        if (m.value == CHANNEL_END)
            break;
        if (r->received < MAX_MESSAGES)
            r->values[r->received] = m.value;
        if (m.value != r->received && r->first_bad < 0)
            r->first_bad = r->received;
        r->received++;
        sleep_ms(r->reader_delay_ms);
    }
    getrusage(RUSAGE_SELF, &after);
    r->cpu_ms = cpu_ms(&after) - cpu_ms(&before);
    r->voluntary = after.ru_nvcsw - before.ru_nvcsw;
    r->involuntary = after.ru_nivcsw - before.ru_nivcsw;
}

static void writer_or_reader(int index, void *arg)
{
    if (index == 0)
        writer(arg);
    else
        reader(arg);
}

static struct run *new_run(int messages)
{
    struct run *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                         -1, 0);
    if (r == MAP_FAILED)
        lab_fail("test: mmap for the reader's log failed");
    r->messages = messages;
    if ((r->ch = channel_create()) == NULL)
        lab_fail("channel_create() returned NULL (its reason is on stderr)");
    return r;
}

static void run_and_check(struct run *r, const char *setting)
{
    lab_run_workers(2, writer_or_reader, r, WORKER_SECONDS, hang_hint);
    channel_destroy(r->ch);
    if (r->torn > 0)
        lab_fail("%s: %d message%s arrived torn, the array a mix of two messages: the "
                 "reader copied while the writer was writing. Reading and writing the "
                 "message must exclude each other", setting, r->torn, r->torn == 1 ? "" : "s");
    if (r->received < r->messages)
        lab_fail("%s: the writer sent %d messages, the reader received %d: the writer "
                 "overwrote messages the reader had not taken yet. The writer must wait "
                 "until the reader has taken the previous message", setting, r->messages,
                 r->received);
    if (r->received > r->messages)
        lab_fail("%s: the writer sent %d messages, the reader received %d: some arrived "
                 "twice", setting, r->messages, r->received);
    if (r->first_bad >= 0)
        lab_fail("%s: message %d arrived as %d: messages must arrive once each, in order",
                 setting, r->first_bad, r->values[r->first_bad]);
}

START_TEST(every_message_arrives_once_in_order)
{
    run_and_check(new_run(MAX_MESSAGES), "a fast writer, 5000 messages");
}
END_TEST

START_TEST(a_slow_reader_misses_nothing)
{
    struct run *r = new_run(100);
    r->reader_delay_ms = 1;
    run_and_check(r, "a reader that takes 1 ms per message");
}
END_TEST

START_TEST(a_reader_that_starts_late_misses_nothing)
{
    struct run *r = new_run(20);
    r->reader_start_ms = 100;
    run_and_check(r, "a reader that starts 100 ms late");
}
END_TEST

START_TEST(the_reader_sleeps_while_it_waits)
{
    struct run *r = new_run(2);
    r->writer_pause_ms = PAUSE_MS;
    run_and_check(r, "a writer that pauses");
    /* Spinning shows as CPU time, or, on a busy machine, as being preempted again and
       again; polling with a short sleep shows as waking up again and again. */
    if (r->cpu_ms > SPIN_LIMIT_MS || r->involuntary > PREEMPT_LIMIT)
        lab_fail("the reader used %ld ms of CPU (and was preempted %ld times) while the "
                 "writer paused for %d ms: it spins, checking again and again, instead of "
                 "sleeping until there is something to read. A semaphore or a condition "
                 "variable puts a waiting process to sleep in the kernel",
                 r->cpu_ms, r->involuntary, PAUSE_MS);
    if (r->voluntary > SWITCH_LIMIT)
        lab_fail("the reader woke up %ld times while the writer paused for %d ms: it polls "
                 "(check, sleep a little, check again) instead of sleeping until it is "
                 "woken. And polling a plain or volatile int is a data race: a semaphore or "
                 "a condition variable both waits and orders the memory",
                 r->voluntary, PAUSE_MS);
}
END_TEST

static void create_and_destroy(void)
{
    struct channel *ch = channel_create();
    if (ch == NULL)
        lab_fail("channel_create() returned NULL (its reason is on stderr)");
    channel_destroy(ch);
}

START_TEST(nothing_is_left_behind_after_destroy)
{
    lab_expect_no_mapping_leak(create_and_destroy, 50, "channels created and destroyed",
                               "channel_destroy must munmap what channel_create mapped");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("03-signalling");
    lab_add(s, every_message_arrives_once_in_order);
    lab_add(s, a_slow_reader_misses_nothing);
    lab_add(s, a_reader_that_starts_late_misses_nothing);
    lab_add(s, the_reader_sleeps_while_it_waits);
    lab_add(s, nothing_is_left_behind_after_destroy);
    return lab_main(s);
}
