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
 * shows whether the writer waits for it; while a writer pauses, a third
 * worker watches the waiting reader in /proc (how often it wakes, whether
 * it is running) to tell sleeping from spinning and polling; two channels
 * used at once by one pair of processes show state kept outside the
 * channel; and the harness tries every call that can fail (mmap, sem_init,
 * pthread_*_init) and interrupts every wait (EINTR from sem_wait, spurious
 * wakeups from pthread_cond_wait). The student's file is built with the
 * race amplifier (lessons.toml: build = "race"), which pauses before stores
 * and loads, so that a message announced before it is written arrives torn.
 *
 * Measured with `make stress LESSON=03` (200 runs, as 4 runs of 50 at once)
 * on a 2-core machine loaded by other jobs (load average 20 to 30):
 *   starter (a plain int, polled)             caught 200/200   18.5 s per run
 *                                             (its reader hangs in several tests)
 *   solution (a process-shared semaphore pair) passed 200/200   4.7 s per run
 */
#include "lab.h"
#include "channel.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MESSAGES 5000
#define WORKER_SECONDS 5.0
#define PAUSE_MS 3000      /* the writer's pause at most: it ends when the observer is done */
#define WATCH_MS 700       /* how long the observer watches the waiting reader */
#define WAKEUP_LIMIT 3     /* a sleeper wakes 0 times while nothing comes; a poller, each poll */
#define RUNNING_PERCENT 50 /* a sleeper is never seen running; a spinner nearly always */

static const char *hang_hint =
    "The reader (or the writer) waited for ever. A loop that waits for a plain int to "
    "change may read it once and never again: at -O2 the compiler assumes nothing else "
    "changes it. A semaphore, mutex or condition variable that is not process-shared "
    "never wakes a process other than its own. Two processes that both spin can "
    "starve each other on a busy machine; and a process that polls, sleeping between "
    "looks, is late for every message: thousands of them take longer than the test waits. "
    "And a flag set, or a signal sent, without holding the mutex is lost when the other "
    "side is between its check and its pthread_cond_wait (the tests start some waits "
    "a moment late, as a busy machine does): change the condition and signal with the "
    "mutex held.";

/*
 * The torn messages a reader saw: how many, and where each one's tear
 * begins. When every tear begins at the same item and runs to the end of
 * the array, nothing raced: the copy is short.
 */
struct tears {
    int count;
    int index;      /* where the first torn message's tear begins */
    int elsewhere;  /* torn messages whose tear begins elsewhere, or stops before the end */
};

/* Whether m is torn; if so, notes where its tear begins. */
static int note_tear(struct tears *t, const struct message *m)
{
    int from = -1, whole_tail = 1;
    for (int i = 0; i < CHANNEL_ITEMS; i++) {
        if (m->array[i] != m->value && from < 0)
            from = i;
        else if (m->array[i] == m->value && from >= 0)
            whole_tail = 0;
    }
    if (from < 0)
        return 0;
    if (t->count++ == 0)
        t->index = from;
    if (from != t->index || !whole_tail)
        t->elsewhere++;
    return 1;
}

/* "" or, when every one of many messages was torn the same way, why. */
static const char *short_copy(const struct tears *t, int received)
{
    static char why[300];
    if (t->count < 2 || t->elsewhere > 0 || t->count < received / 2)
        return "";
    snprintf(why, sizeof why, "the copy is short: items from %d on never arrive (a size or "
             "count off by one). Every torn message was torn at the same place, item %d to "
             "the end, which no race does: copy the whole message (sizeof *m, or all %d "
             "items)", t->index, t->index, CHANNEL_ITEMS);
    return why;
}

/* What the test's workers share with the test. */
struct run {
    struct channel *ch;
    int messages;          /* how many the writer sends before CHANNEL_END */
    int writer_pause_ms;   /* after the first message */
    int reader_delay_ms;   /* after each receive */
    int reader_start_ms;   /* before the first receive */
    int pausing;           /* the writer: 1 while it pauses, 2 after */
    int watched;           /* the observer: 1 once it is done watching */
    pid_t reader_pid;
    /* filled in by the reader */
    int received, torn, out_of_order, first_bad;
    struct tears tears;
    int values[MAX_MESSAGES];
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
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
        if (v == 0 && r->writer_pause_ms > 0) {
            /* Until the observer is done: on a busy machine its watch takes longer. */
            __atomic_store_n(&r->pausing, 1, __ATOMIC_SEQ_CST);
            double start = now_ms();
            while (!__atomic_load_n(&r->watched, __ATOMIC_SEQ_CST) &&
                   now_ms() - start < r->writer_pause_ms)
                sleep_ms(5);
            __atomic_store_n(&r->pausing, 2, __ATOMIC_SEQ_CST);
        }
    }
}

static void reader(struct run *r)
{
    struct message m;
    __atomic_store_n(&r->reader_pid, getpid(), __ATOMIC_SEQ_CST);
    sleep_ms(r->reader_start_ms);
    r->first_bad = -1;
    for (;;) {
        if (channel_receive(r->ch, &m) == -1)
            lab_worker_fail("the reader's channel_receive returned -1");
        if (note_tear(&r->tears, &m))
            r->torn++;
        if (m.value == CHANNEL_END)
            break;
        if (r->received < MAX_MESSAGES)
            r->values[r->received] = m.value;
        if (m.value != r->received && r->first_bad < 0)
            r->first_bad = r->received;
        __atomic_add_fetch(&r->received, 1, __ATOMIC_SEQ_CST);
        sleep_ms(r->reader_delay_ms);
    }
}

/* From /proc/<pid>/status: "voluntary_ctxt_switches:\t12": how often it went to sleep. */
static long sleeps_of(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long n = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return n;
}

/* From /proc/<pid>/stat: its state ('R' running or ready to, 'S' asleep), its CPU ticks. */
static char state_of(pid_t pid, long *ticks)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    text[n] = '\0';
    char *after = strrchr(text, ')');  /* the name, in parentheses, may hold spaces */
    char state = '?';
    unsigned long utime = 0, stime = 0;
    if (after == NULL || sscanf(after + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                                &state, &utime, &stime) != 3)
        return '?';
    *ticks = (long)(utime + stime);
    return state;
}

/*
 * The observer: while the writer pauses, with nothing to read, it watches
 * the waiting reader from outside (in /proc): how often it wakes up, and
 * how long it is running or ready to run. A reader that sleeps until it is
 * woken wakes 0 times and is neither; one that spins is always one or the
 * other, however busy the machine. Deciding from outside, while it
 * happens, says what was seen even when a poller is too slow to finish.
 * The writer's pause lasts until the observer is done, so that a busy
 * machine, which stretches the watch, does not end the pause under it.
 */
static void watch(struct run *r)
{
    for (int waited = 0; __atomic_load_n(&r->received, __ATOMIC_SEQ_CST) < 1 ||
                         __atomic_load_n(&r->pausing, __ATOMIC_SEQ_CST) != 1; waited++) {
        if (waited > 4000)
            return;  /* no first message: the other checks say why */
        sleep_ms(1);
    }
    sleep_ms(50);  /* the reader has taken message 0 and gone back to waiting */
    pid_t pid = __atomic_load_n(&r->reader_pid, __ATOMIC_SEQ_CST);
    long ticks_before = 0, ticks_after = 0;
    long sleeps_before = sleeps_of(pid);
    double start = now_ms(), runnable_before = lab_runnable_seconds(pid);
    state_of(pid, &ticks_before);
    int samples = 0, running = 0;
    while (now_ms() - start < WATCH_MS) {
        long t;
        char st = state_of(pid, &t);
        samples += st != '?';
        running += st == 'R';
        sleep_ms(5);
    }
    long sleeps = sleeps_of(pid) - sleeps_before;
    double runnable_ms = (lab_runnable_seconds(pid) - runnable_before) * 1e3;
    double watched_ms = now_ms() - start;
    state_of(pid, &ticks_after);
    __atomic_store_n(&r->watched, 1, __ATOMIC_SEQ_CST);  /* the writer may go on */
    if (__atomic_load_n(&r->pausing, __ATOMIC_SEQ_CST) != 1 || samples == 0 || sleeps_before < 0)
        return;  /* the pause ended while we watched (a very busy machine): nothing to judge */
    long cpu_ms = (ticks_after - ticks_before) * 1000 / sysconf(_SC_CLK_TCK);
    /* A poller also runs a little at each look; a spinner never goes to sleep. */
    /* More than once a millisecond is a spinner too: the race amplifier's pauses are sleeps. */
    if (sleeps >= WAKEUP_LIMIT)
        lab_worker_fail("with nothing to read (the writer paused), the reader woke up %ld times "
                        "in %.0f ms: it polls %s instead of sleeping until it is woken, as in "
                        "sem_wait or pthread_cond_wait", sleeps, watched_ms,
                        sleeps > watched_ms ? "or spins (each wake-up a look)"
                                            : "(look, sleep a little, look again)");
    /* (A worker's reason holds about 240 characters: said short.) */
    if (running * 100 > samples * RUNNING_PERCENT ||
        runnable_ms * 100 > watched_ms * RUNNING_PERCENT)
        lab_worker_fail("with nothing to read (the writer paused), the reader ran or was ready "
                        "to for %.0f ms of %.0f (%ld ms of CPU): it spins instead of "
                        "sleeping until it is woken, as in sem_wait or pthread_cond_wait",
                        runnable_ms, watched_ms, cpu_ms);
}

static void observer(struct run *r)
{
    watch(r);
    __atomic_store_n(&r->watched, 1, __ATOMIC_SEQ_CST);
}

static void writer_or_reader(int index, void *arg)
{
    if (index == 0)
        writer(arg);
    else if (index == 1)
        reader(arg);
    else
        observer(arg);
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

static void run_and_check_with(struct run *r, const char *setting, int workers)
{
    lab_run_workers(workers, writer_or_reader, r, WORKER_SECONDS, hang_hint);
    channel_destroy(r->ch);
    if (short_copy(&r->tears, r->received)[0] != '\0')
        lab_fail("%s: %d message%s arrived torn: %s", setting, r->torn,
                 r->torn == 1 ? "" : "s", short_copy(&r->tears, r->received));
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
    if (r->first_bad > 0 && r->values[r->first_bad] == r->first_bad - 1)
        lab_fail("%s: message %d arrived as %d, the message before it: the reader was told a "
                 "new message was there while the slot still held the previous one. The "
                 "message was announced (sem_post / flag) before the slot was written: write "
                 "the message into the slot first, then announce it", setting, r->first_bad,
                 r->values[r->first_bad]);
    if (r->first_bad >= 0)
        lab_fail("%s: message %d arrived as %d: messages must arrive once each, in order",
                 setting, r->first_bad, r->values[r->first_bad]);
}

static void run_and_check(struct run *r, const char *setting)
{
    run_and_check_with(r, setting, 2);
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
    /* A third worker, the observer, watches the reader while the writer pauses. */
    run_and_check_with(r, "a writer that pauses", 3);
}
END_TEST

/* ---- two channels at once ------------------------------------------------ */

#define PAIR_MESSAGES 1000

/* Two channels between one writer and one reader, and what the reader saw. */
struct pair {
    struct channel *ch[2];
    int bad_channel, bad_index, bad_value;  /* the first message that was wrong */
    int wrong, torn;
    struct tears tears;
};

/* Message i of channel c (0 is A, 1 is B): odd on A, even on B, never 0; then the end. */
static int pair_value(int c, int i)
{
    return i == PAIR_MESSAGES ? CHANNEL_END : 1 + 2 * i + c;
}

static void pair_send(struct pair *p, int c, int i)
{
    struct message m;
    m.value = pair_value(c, i);
    for (int k = 0; k < CHANNEL_ITEMS; k++)
        m.array[k] = m.value;
    if (channel_publish(p->ch[c], &m) == -1)
        lab_worker_fail("the writer's channel_publish of message %d on channel %c returned -1",
                        i, "AB"[c]);
}

static void pair_take(struct pair *p, int c, int i)
{
    struct message m;
    if (channel_receive(p->ch[c], &m) == -1)
        lab_worker_fail("the reader's channel_receive of message %d on channel %c returned -1",
                        i, "AB"[c]);
    if (note_tear(&p->tears, &m))
        p->torn++;
    if (m.value != pair_value(c, i) && p->wrong++ == 0) {
        p->bad_channel = c;
        p->bad_index = i;
        p->bad_value = m.value;
    }
}

/*
 * The writer sends message i on A, then on B; the reader takes it from B
 * first, then from A. So the two processes use the channels in different
 * orders (and neither waits for what the other cannot send yet).
 */
static void pair_worker(int index, void *arg)
{
    struct pair *p = arg;
    for (int i = 0; i <= PAIR_MESSAGES; i++) {
        if (index == 0) {
            pair_send(p, 0, i);
            pair_send(p, 1, i);
        } else {
            pair_take(p, 1, i);
            pair_take(p, 0, i);
        }
    }
}

/* "channel A's message 7", "the end message", "nothing ever sent (0)" */
static const char *describe_value(int value)
{
    static char text[128];
    if (value == CHANNEL_END)
        snprintf(text, sizeof text, "the last message (CHANNEL_END)");
    else if (value >= 1 && value <= 2 * PAIR_MESSAGES)
        snprintf(text, sizeof text, "channel %c's message %d", "AB"[(value - 1) % 2],
                 (value - 1) / 2);
    else if (value == 0)
        snprintf(text, sizeof text, "0, an empty slot: announced before the slot was written, "
                 "or never sent there");
    else
        snprintf(text, sizeof text, "%d, which was never sent", value);
    return text;
}

START_TEST(two_channels_used_at_once_keep_their_messages_apart)
{
    struct pair *p = mmap(NULL, sizeof *p, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    if (p == MAP_FAILED)
        lab_fail("test: mmap for the reader's log failed");
    for (int c = 0; c < 2; c++)
        if ((p->ch[c] = channel_create()) == NULL)
            lab_fail("channel_create() of channel %c returned NULL (its reason is on stderr)",
                     "AB"[c]);
    lab_run_workers(2, pair_worker, p, WORKER_SECONDS, hang_hint);
    channel_destroy(p->ch[0]);
    channel_destroy(p->ch[1]);
    if (p->wrong > 0) {
        char expected[80];
        snprintf(expected, sizeof expected, "%s", describe_value(pair_value(p->bad_channel,
                                                                            p->bad_index)));
        lab_fail("two channels used at once by one writer and one reader (%d messages each, "
                 "taken in another order than sent): %s arrived as %s (%d message%s wrong). "
                 "Each channel must keep everything it needs (indices, counts, flags) in its "
                 "own struct channel, in the shared mapping: a process's static or global "
                 "variables are shared by every channel of that process, and seen by no other "
                 "process", PAIR_MESSAGES, expected, describe_value(p->bad_value), p->wrong,
                 p->wrong == 1 ? " was" : "s were");
    }
    if (p->torn > 0 && short_copy(&p->tears, 2 * (PAIR_MESSAGES + 1))[0] != '\0')
        lab_fail("two channels used at once: %d message%s arrived torn: %s", p->torn,
                 p->torn == 1 ? "" : "s", short_copy(&p->tears, 2 * (PAIR_MESSAGES + 1)));
    if (p->torn > 0)
        lab_fail("two channels used at once: %d message%s arrived torn, the array a mix of two "
                 "messages", p->torn, p->torn == 1 ? "" : "s");
    munmap(p, sizeof *p);
}
END_TEST

/* ---- every failure and every interruption ------------------------------ */

#define EXCHANGE_MESSAGES 20

/* The writer's side of an exchange, in a child: _exit 0, 3 if a call reported a failure. */
static void exchange_writer(struct channel *ch)
{
    int reported = 0;
    struct message m;
    for (int v = 1; v <= EXCHANGE_MESSAGES + 1; v++) {
        m.value = v <= EXCHANGE_MESSAGES ? v : CHANNEL_END;
        for (int i = 0; i < CHANNEL_ITEMS; i++)
            m.array[i] = m.value;
        if (v % 4 == 1)
            sleep_ms(1);  /* the reader waits for this one */
        /* A call that reported a failure did nothing (the header): send it again. */
        for (int tries = 0; channel_publish(ch, &m) == -1; tries++) {
            reported = 1;
            if (tries == 3)
                _exit(4);
        }
    }
    _exit(reported ? 3 : 0);
}

/*
 * A scenario that hangs would wait out the harness's time for every case:
 * one that has not finished its 20 messages after EXCHANGE_SECONDS (a
 * correct exchange takes milliseconds, a loaded machine some more) says so
 * and ends. The scenario's process is about to end: the handler may format.
 */
#define EXCHANGE_SECONDS 3

static pid_t exchange_writer_pid;  /* stopped with the scenario */

static void exchange_took_too_long(int sig)
{
    (void)sig;
    kill(exchange_writer_pid, SIGKILL);
    waitpid(exchange_writer_pid, NULL, 0);
    lab_worker_fail("the exchange of %d messages was still not done after %d s: a wait for "
                    "a message or a free slot that never came (or that spins, or polls too "
                    "slowly to finish)", EXCHANGE_MESSAGES, EXCHANGE_SECONDS);
}

/*
 * A channel's whole life in the scenario's process: create, a writer child
 * that sends 20 messages and the end, the scenario reading them, destroy.
 * Whatever failed or was interrupted, the messages that arrive must be
 * every one once, whole, in order; a call that reports a failure is made
 * again (it must have done nothing).
 */
static int exchange(void *arg)
{
    (void)arg;
    struct channel *ch = channel_create();
    if (ch == NULL)
        return LAB_REPORTED;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1) {
        channel_destroy(ch);
        lab_worker_fail("test: fork for the writer: %s", strerror(errno));
    }
    if (pid == 0)
        exchange_writer(ch);
    exchange_writer_pid = pid;
    signal(SIGALRM, exchange_took_too_long);
    alarm(EXCHANGE_SECONDS);
    char problem[300] = "";
    int reported = 0, expected = 1, tries = 0;
    struct message m;
    while (problem[0] == '\0') {
        if (expected % 4 == 3)
            sleep_ms(1);  /* the writer waits for the slot */
        if (channel_receive(ch, &m) == -1) {
            reported = 1;
            if (tries++ == 3)
                snprintf(problem, sizeof problem, "channel_receive returned -1 again and again");
            continue;
        }
        for (int i = 0; i < CHANNEL_ITEMS; i++)
            if (m.array[i] != m.value)
                snprintf(problem, sizeof problem, "message %d arrived torn (value %d, array "
                         "item %d is %d)", expected, m.value, i, m.array[i]);
        if (problem[0] != '\0' || (m.value == CHANNEL_END && expected > EXCHANGE_MESSAGES))
            break;
        if (m.value != expected)
            snprintf(problem, sizeof problem, "the reader expected message %d and received %s "
                     "%d (%s)", expected,
                     m.value == 0 ? "an empty slot," : "message", m.value,
                     m.value == 0 ? "announced before the slot was written, or never sent" :
                     m.value < expected && m.value != CHANNEL_END ?
                     "a message taken twice, or announced before the slot was written" :
                     "messages overwritten before they were taken");
        expected++;
    }
    if (problem[0] != '\0')
        kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    alarm(0);
    channel_destroy(ch);
    if (problem[0] != '\0')
        lab_worker_fail("%s", problem);
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3))
        lab_worker_fail("the writer %s", WIFEXITED(status) && WEXITSTATUS(status) == 4 ?
                        "'s channel_publish returned -1 again and again" :
                        lab_describe_status(status));
    return reported || WEXITSTATUS(status) == 3 ? LAB_REPORTED : LAB_SUCCEEDED;
}

START_TEST(every_failing_call_is_reported_and_leaves_nothing)
{
    lab_try_each_failure("the channel's life (create, publish, receive, destroy)", exchange,
                         NULL);
}
END_TEST

START_TEST(interrupted_and_spurious_waits_lose_no_message)
{
    lab_try_each_interruption("the channel's life (create, publish, receive, destroy)",
                              exchange, NULL);
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
    lab_add(s, two_channels_used_at_once_keep_their_messages_apart);
    lab_add_long(s, every_failing_call_is_reported_and_leaves_nothing, 3);
    lab_add_long(s, interrupted_and_spurious_waits_lose_no_message, 3);
    return lab_main(s);
}
