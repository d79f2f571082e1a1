/*
 * Lesson 10, the queue that deadlocks: the tests.
 *
 * Producers put messages that describe themselves (who put it, which of
 * theirs it is, its length, then bytes that follow from these), so that
 * whoever takes a message can tell whether it is whole, and whose it is.
 * The tests look for:
 *   - queue_gather: every message taken once and whole, each producer's in
 *     the order it put them, with messages from 0 bytes to 1 MiB and totals
 *     far past what a pipe holds (a gatherer that waits for its producers
 *     before it reads waits for ever); a producer that fails or dies is
 *     reported, and the others' messages are still taken;
 *   - queue_scatter: every message taken once and whole by one of several
 *     readers, an empty message too, and every reader stopped at the end;
 *     readers that all die are reported, not a SIGPIPE death or a hang, and
 *     so is one that dies while the others take the rest;
 *     the caller's SIGPIPE left as it was found (default, unblocked);
 *   - no descriptor left open, no child but its own waited for, bad counts
 *     refused; every call that can fail, made to fail (and interrupted):
 *     reported by name, nothing left behind.
 * A scenario that does not end in time is stopped, and the message says
 * what usually makes it wait for ever. The random sizes come from the
 * run's seed, which a message prints.
 */
#include "lab.h"
#include "queue.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKER_SECONDS 5.0   /* a scenario takes well under a second */
#define MAXP 8               /* producers or readers in these tests */
#define MAXM 400             /* messages per producer */
#define HEAD 16              /* a message's description of itself; shorter ones are tiny */
#define TINY '~'             /* every byte of a tiny message */
#define NOBODY 0xffffffffu

/* What is planned, and what the tests see: shared with every process of a scenario. */
struct seen {
    int who;                      /* producers (gather) or 1 (scatter) */
    int count[MAXP];              /* messages each puts */
    uint32_t size[MAXP][MAXM];
    int fail_after[MAXP];         /* producer i returns 1 after this many (-1: never) */
    int die_after[MAXP];          /* ... raises SIGKILL after this many */
    int readers_abort;            /* scatter: each reader aborts on its first message */
    int abort_on;                 /* scatter: the reader that takes message abort_on - 1 aborts */
    int oversize_rc;              /* what queue_put returned for QUEUE_MAX + 1 bytes */
    int put_failed;               /* a producer's queue_put returned -1 */
    int got[MAXP][MAXM];
    int next[MAXP];               /* gather: the next message expected of each producer */
    int tiny_planned[HEAD], tiny_got[HEAD];
    int by_reader[MAXP];
    pid_t taken_in;               /* gather: the process that ran take */
    int problem_set;
    char problem[700];            /* the first thing seen wrong */
    long rc;
    int fds_left;
    int died_of;                  /* scatter's process: the signal that killed it */
    char signals_changed[200];    /* scatter: what it left changed of the caller's SIGPIPE */
};
static struct seen *seen;

static void seen_reset(void)
{
    if (seen == NULL) {
        seen = mmap(NULL, sizeof *seen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                    -1, 0);
        if (seen == MAP_FAILED) {
            seen = NULL;
            lab_fail("harness: mmap for what the tests see failed");
        }
    }
    memset(seen, 0, sizeof *seen);
    for (int i = 0; i < MAXP; i++)
        seen->fail_after[i] = seen->die_after[i] = -1;
}

static void put32(char *p, uint32_t v) { memcpy(p, &v, sizeof v); }

static uint32_t get32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t tag_of(uint32_t who, uint32_t seq)
{
    return who * 2654435761u ^ (seq + 1) * 40503u ^ 0x5eed;
}

static char byte_at(uint32_t tag, size_t at)
{
    return (char)(tag + at * 131 + (at >> 9));
}

/* Message seq of producer who, len bytes, into buf. */
static void make_message(char *buf, uint32_t who, uint32_t seq, size_t len)
{
    if (len < HEAD) {
        memset(buf, TINY, len);
        return;
    }
    uint32_t tag = tag_of(who, seq);
    put32(buf, who);
    put32(buf + 4, seq);
    put32(buf + 8, (uint32_t)len);
    put32(buf + 12, tag);
    for (size_t at = HEAD; at < len; at++)
        buf[at] = byte_at(tag, at);
}

/* The first thing seen wrong is kept; any process may see it. */
static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
    if (__atomic_exchange_n(&seen->problem_set, 1, __ATOMIC_SEQ_CST))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(seen->problem, sizeof seen->problem, fmt, ap);
    va_end(ap);
}

static const char *torn =
    "the stream was torn: another message's bytes came between this one's. A pipe keeps "
    "one write() together only up to PIPE_BUF (4096 bytes); a longer message, or a length "
    "and its bytes written apart, is whole only if one process at a time writes (and one "
    "at a time reads)";

/*
 * Checks a message that was taken: whole, one that was put, not taken
 * before. Returns its producer (NOBODY for a tiny one, or one not
 * recognised) and sets *seq.
 */
static uint32_t check_message(const char *data, size_t len, uint32_t *seq)
{
    if (len < HEAD) {
        for (size_t at = 0; at < len; at++)
            if (data[at] != TINY) {
                problem("a message of %zu bytes was taken that nobody put (its bytes are not "
                        "those of a short message): %s", len, torn);
                return NOBODY;
            }
        __atomic_add_fetch(&seen->tiny_got[len], 1, __ATOMIC_SEQ_CST);
        return NOBODY;
    }
    uint32_t who = get32(data), s = get32(data + 4), put_len = get32(data + 8);
    if (who >= (uint32_t)seen->who || s >= (uint32_t)seen->count[who] ||
        get32(data + 12) != tag_of(who, s)) {
        problem("a message of %zu bytes was taken whose first bytes are not the start of "
                "any message put (they are from the middle of one): %s", len, torn);
        return NOBODY;
    }
    if (put_len != len) {
        problem("message %u of producer %u came as %zu bytes; it was put as %u bytes: %s", s,
                who, len, put_len, torn);
        return NOBODY;
    }
    uint32_t tag = tag_of(who, s);
    for (size_t at = HEAD; at < len; at++)
        if (data[at] != byte_at(tag, at)) {
            problem("message %u of producer %u (%zu bytes) is its own up to byte %zu; from "
                    "there on its bytes are another message's: %s", s, who, len, at, torn);
            return NOBODY;
        }
    if (__atomic_add_fetch(&seen->got[who][s], 1, __ATOMIC_SEQ_CST) > 1)
        problem("message %u of producer %u (%zu bytes) was taken twice: each message goes "
                "to one taker, once", s, who, len);
    *seq = s;
    return who;
}

/* ---- gathering -------------------------------------------------------------- */

static int producer(int index, struct queue *q, void *arg)
{
    (void)arg;
    char *buf = malloc(QUEUE_MAX + 1);
    if (buf == NULL)
        return 3;
    int rc = 0;
    for (int s = 0; s < seen->count[index] && rc == 0; s++) {
        if (s == seen->fail_after[index])
            rc = 1;
        else if (s == seen->die_after[index])
            raise(SIGKILL);
        else {
            make_message(buf, (uint32_t)index, (uint32_t)s, seen->size[index][s]);
            if (queue_put(q, buf, seen->size[index][s]) != 0) {
                seen->put_failed = 1;
                rc = 2;
            }
        }
    }
    free(buf);
    return rc;
}

static void take(const void *data, size_t len, void *arg)
{
    (void)arg;
    seen->taken_in = getpid();
    uint32_t s, who = check_message(data, len, &s);
    if (who == NOBODY)
        return;
    if ((int)s < seen->next[who])
        problem("message %u of producer %u came after its message %d: a producer's messages "
                "must arrive in the order it put them", s, who, seen->next[who] - 1);
    seen->next[who] = (int)s + 1;
}

/* In a process of its own: queue_gather, and what it left open. */
static void run_gather(int index, void *arg)
{
    (void)index;
    (void)arg;
    int fds = lab_open_descriptors();
    seen->rc = queue_gather(seen->who, producer, take, NULL);
    seen->fds_left = lab_open_descriptors() - fds;
}

static const char *hang_gather =
    "queue_gather never returned. If the gathering process waits for its producers before "
    "it reads, a producer that has put more than the pipe holds (64 KiB) waits for room "
    "that only a read can make, and both wait for ever. If it reads until the end of the "
    "stream, the end comes only once no process holds the pipe's write end: its own copy "
    "too. (A torn stream can also leave a reader waiting for bytes that never come.)";

/* Producer i's messages: n of them, sizes from the function. */
static void plan_producer(int i, int n, uint32_t (*size)(int i, int s))
{
    seen->count[i] = n;
    for (int s = 0; s < n; s++) {
        seen->size[i][s] = size(i, s);
        if (seen->size[i][s] < HEAD)
            seen->tiny_planned[seen->size[i][s]]++;
    }
}

static int planned_total(void)
{
    int n = 0;
    for (int i = 0; i < seen->who; i++) {
        int stops = seen->fail_after[i] >= 0 ? seen->fail_after[i]
                    : seen->die_after[i] >= 0 ? seen->die_after[i] : seen->count[i];
        n += stops;
    }
    return n;
}

/*
 * After a scenario: every message put was taken once and whole. Messages
 * a failing producer never put are not expected.
 */
static void expect_all_taken(const char *setting)
{
    if (seen->problem_set)
        lab_fail("%s: %s", setting, seen->problem);
    for (int len = 0; len < HEAD; len++)
        if (seen->tiny_got[len] != seen->tiny_planned[len])
            lab_fail("%s: %d messages of %d bytes were put, and %d taken%s", setting,
                     seen->tiny_planned[len], len, seen->tiny_got[len],
                     len == 0 && seen->tiny_got[len] < seen->tiny_planned[len]
                         ? ": an empty message is a message too, not the end of the stream"
                         : "");
    for (int i = 0; i < seen->who; i++) {
        int stops = seen->fail_after[i] >= 0 ? seen->fail_after[i]
                    : seen->die_after[i] >= 0 ? seen->die_after[i] : seen->count[i];
        for (int s = 0; s < stops; s++)
            if (seen->size[i][s] >= HEAD && seen->got[i][s] == 0) {
                char whose[40] = "";
                if (seen->who > 1)
                    snprintf(whose, sizeof whose, " of producer %d", i);
                lab_fail("%s: message %d%s (%u bytes) was never taken", setting, s, whose,
                         seen->size[i][s]);
            }
    }
}

static void expect_nothing_left(const char *call)
{
    if (seen->fds_left > 0)
        lab_fail("%s returned, and left %d more descriptors open than before: each process "
                 "closes both ends of a queue's pipe when it is done (queue_close)", call,
                 seen->fds_left);
    if (seen->signals_changed[0] != '\0')
        lab_fail("%s returned, and left %s in the process that called it, where it had found "
                 "SIGPIPE at its default, unblocked: hold SIGPIPE back only while writing, then "
                 "put back the mask and the handler as they were (a SIGPIPE that came meanwhile "
                 "taken with sigwait, not left pending)", call, seen->signals_changed);
}

static void gather_and_check(const char *setting, const char *hang)
{
    lab_capture_begin();
    lab_run_workers(1, run_gather, NULL, WORKER_SECONDS, hang);
    const char *said = lab_capture_end();
    expect_all_taken(setting);
    if (seen->rc != planned_total())
        lab_fail("%s: every message was taken, but queue_gather returned %ld, not %d (the "
                 "messages taken)%s%.300s", setting, seen->rc, planned_total(),
                 said[0] ? "; it said: " : "", said);
    if (seen->taken_in == 0 && planned_total() > 0)
        lab_fail("%s: take was never called", setting);
    expect_nothing_left("queue_gather");
}

static uint32_t small(int i, int s) { return (uint32_t)(HEAD + (i * 37 + s * 11) % 180); }
static uint32_t tiny(int i, int s) { return (uint32_t)((i + s) % HEAD); }
static uint32_t big(int i, int s) { return (uint32_t)(200000 + i * 1000 + s); }
static uint32_t largest(int i, int s) { (void)i, (void)s; return QUEUE_MAX; }

START_TEST(one_producer_one_message)
{
    seen_reset();
    seen->who = 1;
    plan_producer(0, 1, small);
    gather_and_check("1 producer, 1 message of 16 bytes", hang_gather);
}
END_TEST

START_TEST(four_producers_small_messages)
{
    seen_reset();
    seen->who = 4;
    for (int i = 0; i < 4; i++)
        plan_producer(i, 25, small);
    gather_and_check("4 producers, 25 messages of 16 to 195 bytes each", hang_gather);
}
END_TEST

START_TEST(empty_and_tiny_messages_arrive)
{
    seen_reset();
    seen->who = 3;
    for (int i = 0; i < 3; i++)
        plan_producer(i, 40, tiny);
    gather_and_check("3 producers, 40 messages of 0 to 15 bytes each", hang_gather);
}
END_TEST

START_TEST(one_message_bigger_than_a_pipe_holds)
{
    seen_reset();
    seen->who = 1;
    plan_producer(0, 1, big);
    gather_and_check("1 producer, 1 message of 200,000 bytes (a pipe holds 65,536)",
                     hang_gather);
}
END_TEST

START_TEST(the_largest_message_arrives_and_a_larger_one_is_refused)
{
    seen_reset();
    seen->who = 2;
    plan_producer(0, 2, largest);
    plan_producer(1, 2, largest);
    gather_and_check("2 producers, 2 messages of QUEUE_MAX (1 MiB) bytes each", hang_gather);
}
END_TEST

static int oversize(int index, struct queue *q, void *arg)
{
    (void)arg;
    char *buf = calloc(1, QUEUE_MAX + 1);
    if (buf == NULL)
        return 3;
    seen->oversize_rc = queue_put(q, buf, QUEUE_MAX + 1);
    make_message(buf, (uint32_t)index, 0, 100);
    int rc = queue_put(q, buf, 100);
    free(buf);
    return rc;
}

static void run_oversize(int index, void *arg)
{
    (void)index;
    (void)arg;
    seen->rc = queue_gather(1, oversize, take, NULL);
}

START_TEST(a_message_longer_than_QUEUE_MAX_is_refused_and_the_queue_goes_on)
{
    seen_reset();
    seen->who = 1;
    seen->count[0] = 1;
    seen->size[0][0] = 100;
    lab_capture_begin();
    lab_run_workers(1, run_oversize, NULL, WORKER_SECONDS, hang_gather);
    const char *said = lab_capture_end();
    if (seen->oversize_rc != -1)
        lab_fail("queue_put of QUEUE_MAX + 1 bytes returned %d, not -1: a message is at most "
                 "QUEUE_MAX bytes", seen->oversize_rc);
    if (said[0] == '\0')
        lab_fail("queue_put of QUEUE_MAX + 1 bytes returned -1, but said nothing on stderr: "
                 "say why");
    if (seen->problem_set)
        lab_fail("after queue_put refused QUEUE_MAX + 1 bytes, the producer put a message of "
                 "100 bytes: %s. A refused message must put nothing at all", seen->problem);
    if (seen->rc != 1 || seen->got[0][0] != 1)
        lab_fail("after queue_put refused QUEUE_MAX + 1 bytes, the producer put a message of "
                 "100 bytes; queue_gather returned %ld and took it %d times, not 1 and once",
                 seen->rc, seen->got[0][0]);
}
END_TEST

/*
 * Sizes from 0 to 1 MiB, most of them small (as many between 1 and 1 KiB as
 * between 1 KiB and 1 MiB), each producer's first one large.
 */
static uint32_t random_size(int i, int s)
{
    (void)i;
    uint64_t r = lab_random();
    if (s == 0)
        return (uint32_t)(256 * 1024 + r % (QUEUE_MAX - 256 * 1024 + 1));
    if (r % 10 == 0)
        return (uint32_t)((r >> 8) % HEAD);
    double exponent = (double)((r >> 8) % 2001) / 100.0;  /* 2^0 to 2^20 */
    uint32_t len = 1;
    while (exponent >= 1.0) {
        len *= 2;
        exponent -= 1.0;
    }
    len += (uint32_t)((double)len * exponent);
    return len > QUEUE_MAX ? QUEUE_MAX : len;
}

START_TEST(eight_producers_messages_up_to_1_MiB_every_one_whole)
{
    for (int round = 0; round < 2; round++) {
        seen_reset();
        seen->who = 8;
        long total = 0;
        for (int i = 0; i < 8; i++) {
            plan_producer(i, 12, random_size);
            for (int s = 0; s < 12; s++)
                total += seen->size[i][s];
        }
        char setting[200];
        snprintf(setting, sizeof setting, "round %d, 8 producers, 12 messages of 0 bytes to "
                 "1 MiB each, %ld bytes in all%s", round + 1, total, lab_seed_note());
        gather_and_check(setting, hang_gather);
    }
}
END_TEST

START_TEST(a_producer_that_fails_or_dies_is_reported_and_the_rest_still_arrive)
{
    seen_reset();
    seen->who = 4;
    for (int i = 0; i < 4; i++)
        plan_producer(i, 6, big);
    seen->fail_after[1] = 3;
    seen->die_after[2] = 2;
    lab_capture_begin();
    lab_run_workers(1, run_gather, NULL, WORKER_SECONDS, hang_gather);
    const char *said = lab_capture_end();
    const char *setting = "4 producers, 6 messages of 200,000 bytes each; producer 1 returns "
                          "1 after 3, producer 2 is killed after 2";
    expect_all_taken(setting);
    if (seen->rc != -1)
        lab_fail("%s: queue_gather returned %ld, not -1: a producer that failed or died must "
                 "be reported (its exit status from waitpid says so)", setting, seen->rc);
    if (said[0] == '\0')
        lab_fail("%s: queue_gather returned -1 but said nothing on stderr: say which producer "
                 "failed, and how", setting);
    expect_nothing_left("queue_gather");
}
END_TEST

static void gather_beside_a_bystander(int index, void *arg)
{
    (void)index;
    (void)arg;
    pid_t bystander = lab_bystander_start();
    seen->rc = queue_gather(seen->who, producer, take, NULL);
    if (waitpid(bystander, NULL, WNOHANG) == -1 && errno == ECHILD)
        lab_worker_fail("queue_gather reaped a child that it did not fork (the caller's own, "
                        "pid %d): it waits with wait() or waitpid(-1, ...), which take any "
                        "child; wait for each producer by its pid", (int)bystander);
}

START_TEST(the_gatherer_waits_for_its_own_producers_only)
{
    seen_reset();
    seen->who = 3;
    for (int i = 0; i < 3; i++)
        plan_producer(i, 5, small);
    lab_run_workers(1, gather_beside_a_bystander, NULL, WORKER_SECONDS, hang_gather);
    expect_all_taken("3 producers, 5 small messages each, beside a child of the caller's");
}
END_TEST

/* ---- scattering ------------------------------------------------------------- */

static void consume(int index, const void *data, size_t len, void *arg)
{
    (void)arg;
    if (seen->readers_abort) {
        signal(SIGABRT, SIG_DFL);  /* not Check's handler */
        abort();
    }
    if (index >= 0 && index < MAXP)
        __atomic_add_fetch(&seen->by_reader[index], 1, __ATOMIC_SEQ_CST);
    uint32_t s;
    if (check_message(data, len, &s) != NOBODY && seen->abort_on > 0 &&
        s == (uint32_t)seen->abort_on - 1) {
        signal(SIGABRT, SIG_DFL);
        abort();
    }
}

struct scatter_args {
    int readers;
    void *msgs[MAXM];
    size_t lens[MAXM];
};

/*
 * A function that holds SIGPIPE back, or ignores it, while it writes must
 * leave it as it found it: its caller's own writes to a closed pipe expect
 * what they always got. Says in out what was left changed, or "".
 */
static void note_signals_left(char *out, size_t size)
{
    struct sigaction now;
    sigset_t blocked, waiting;
    out[0] = '\0';
    if (sigaction(SIGPIPE, NULL, &now) == 0 && now.sa_handler != SIG_DFL)
        snprintf(out, size, "SIGPIPE %s", now.sa_handler == SIG_IGN ? "ignored" : "caught by "
                 "a handler");
    else if (sigprocmask(SIG_BLOCK, NULL, &blocked) == 0 && sigismember(&blocked, SIGPIPE))
        snprintf(out, size, "SIGPIPE blocked");
    else if (sigpending(&waiting) == 0 && sigismember(&waiting, SIGPIPE))
        snprintf(out, size, "a SIGPIPE pending");
}

/* In a process of its own: queue_scatter in a child, whose death is told apart. */
static void run_scatter(int index, void *arg)
{
    (void)index;
    struct scatter_args *a = arg;
    pid_t pid = fork();
    if (pid == -1)
        lab_worker_fail("harness: fork: %s", strerror(errno));
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        sigset_t pipe_signal;
        sigemptyset(&pipe_signal);
        sigaddset(&pipe_signal, SIGPIPE);
        sigprocmask(SIG_UNBLOCK, &pipe_signal, NULL);
        int fds = lab_open_descriptors();
        seen->rc = queue_scatter(a->readers, consume, NULL, (const void *const *)a->msgs,
                                 a->lens, seen->count[0]);
        seen->fds_left = lab_open_descriptors() - fds;
        note_signals_left(seen->signals_changed, sizeof seen->signals_changed);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            lab_worker_fail("harness: waitpid: %s", strerror(errno));
    if (WIFSIGNALED(status))
        seen->died_of = WTERMSIG(status);
}

static struct scatter_args *scatter_plan(int readers, int n, uint32_t (*size)(int i, int s))
{
    static struct scatter_args a;
    seen->who = 1;
    plan_producer(0, n, size);
    a.readers = readers;
    for (int s = 0; s < n; s++) {
        a.lens[s] = seen->size[0][s];
        a.msgs[s] = malloc(a.lens[s] + 1);
        if (a.msgs[s] == NULL)
            lab_fail("harness: out of memory for the messages");
        make_message(a.msgs[s], 0, (uint32_t)s, a.lens[s]);
    }
    return &a;
}

static void scatter_free(struct scatter_args *a)
{
    for (int s = 0; s < seen->count[0]; s++)
        free(a->msgs[s]);
}

static const char *hang_scatter =
    "queue_scatter never returned: its readers were still waiting for a message. Each "
    "reader must learn that no more will come: one end mark stops one reader, so each "
    "needs its own; or end-of-file, which comes only once no process holds the pipe's "
    "write end: the scattering process's copy, and the copy each reader inherited when it "
    "was forked";

static void scatter_and_check(int readers, int n, uint32_t (*size)(int i, int s),
                              const char *setting)
{
    seen_reset();
    struct scatter_args *a = scatter_plan(readers, n, size);
    lab_capture_begin();
    lab_run_workers(1, run_scatter, a, WORKER_SECONDS, hang_scatter);
    const char *said = lab_capture_end();
    scatter_free(a);
    if (seen->died_of != 0)
        lab_fail("%s: the process that called queue_scatter was killed by signal %d (%s)",
                 setting, seen->died_of, strsignal(seen->died_of));
    expect_all_taken(setting);
    if (seen->rc != 0)
        lab_fail("%s: every message was taken, but queue_scatter returned %ld, not 0%s%.300s",
                 setting, seen->rc, said[0] ? "; it said: " : "", said);
    expect_nothing_left("queue_scatter");
}

START_TEST(one_reader_takes_every_message)
{
    scatter_and_check(1, 30, small, "1 reader, 30 small messages");
}
END_TEST

START_TEST(four_readers_each_stop_at_the_end)
{
    scatter_and_check(4, 40, small, "4 readers, 40 small messages");
}
END_TEST

START_TEST(eight_readers_and_no_message_all_stop)
{
    scatter_and_check(8, 0, small, "8 readers, no message at all");
}
END_TEST

static uint32_t some_empty(int i, int s) { return s % 5 == 2 ? 0 : small(i, s); }

START_TEST(an_empty_message_is_a_message_not_the_end)
{
    scatter_and_check(3, 30, some_empty, "3 readers, 30 messages, 6 of them empty");
}
END_TEST

START_TEST(four_readers_messages_up_to_1_MiB_every_one_whole)
{
    for (int round = 0; round < 2; round++) {
        char setting[200];
        snprintf(setting, sizeof setting, "round %d, 4 readers, 40 messages of 0 bytes to 1 "
                 "MiB%s", round + 1, lab_seed_note());
        scatter_and_check(4, 40, random_size, setting);
    }
}
END_TEST

static uint32_t hundred_k(int i, int s) { (void)i, (void)s; return 100000; }

START_TEST(readers_that_all_die_are_reported_without_a_hang_or_SIGPIPE)
{
    seen_reset();
    struct scatter_args *a = scatter_plan(3, 50, hundred_k);
    seen->readers_abort = 1;
    lab_capture_begin();
    lab_run_workers(1, run_scatter, a, WORKER_SECONDS,
                    "queue_scatter never returned after every reader had died: it waits for "
                    "room in a pipe that nobody will read any more. If the scattering process "
                    "closes its read end, a write fails (EPIPE) once no reader is left");
    const char *said = lab_capture_end();
    scatter_free(a);
    const char *setting = "3 readers that abort on their first message, 50 messages of "
                          "100,000 bytes";
    if (seen->died_of == SIGPIPE)
        lab_fail("%s: the process that called queue_scatter was killed by SIGPIPE: once no "
                 "process can read a pipe, a write to it raises SIGPIPE, whose default is to "
                 "kill. Block it (sigprocmask) or ignore it while writing, and take the "
                 "failure as EPIPE", setting);
    if (seen->died_of != 0)
        lab_fail("%s: the process that called queue_scatter was killed by signal %d (%s)",
                 setting, seen->died_of, strsignal(seen->died_of));
    if (seen->rc != -1)
        lab_fail("%s: queue_scatter returned %ld, not -1: readers that died must be reported",
                 setting, seen->rc);
    if (said[0] == '\0')
        lab_fail("%s: queue_scatter returned -1 but said nothing on stderr: say which readers "
                 "died, and how", setting);
    expect_nothing_left("queue_scatter");
}
END_TEST

START_TEST(a_reader_that_dies_is_reported_and_the_others_take_the_rest)
{
    seen_reset();
    struct scatter_args *a = scatter_plan(3, 30, small);
    seen->abort_on = 5 + 1;
    lab_capture_begin();
    lab_run_workers(1, run_scatter, a, WORKER_SECONDS, hang_scatter);
    const char *said = lab_capture_end();
    scatter_free(a);
    const char *setting = "3 readers, 30 small messages; the reader that takes message 5 "
                          "aborts";
    if (seen->died_of != 0)
        lab_fail("%s: the process that called queue_scatter was killed by signal %d (%s)",
                 setting, seen->died_of, strsignal(seen->died_of));
    expect_all_taken(setting);
    if (seen->rc != -1)
        lab_fail("%s: the other readers took the rest, but queue_scatter returned %ld, not -1: "
                 "a reader that died must be reported (queue.h: -1 when \"a reader died or "
                 "failed\"), from the status waitpid gives for it", setting, seen->rc);
    if (said[0] == '\0')
        lab_fail("%s: queue_scatter returned -1 but said nothing on stderr: say which reader "
                 "died, and how", setting);
    expect_nothing_left("queue_scatter");
}
END_TEST

static void scatter_beside_a_bystander(int index, void *arg)
{
    (void)index;
    struct scatter_args *a = arg;
    pid_t bystander = lab_bystander_start();
    seen->rc = queue_scatter(a->readers, consume, NULL, (const void *const *)a->msgs,
                             a->lens, seen->count[0]);
    if (waitpid(bystander, NULL, WNOHANG) == -1 && errno == ECHILD)
        lab_worker_fail("queue_scatter reaped a child that it did not fork (the caller's own, "
                        "pid %d): it waits with wait() or waitpid(-1, ...), which take any "
                        "child; wait for each reader by its pid", (int)bystander);
}

START_TEST(the_scatterer_waits_for_its_own_readers_only)
{
    seen_reset();
    struct scatter_args *a = scatter_plan(2, 10, small);
    lab_run_workers(1, scatter_beside_a_bystander, a, WORKER_SECONDS, hang_scatter);
    scatter_free(a);
    expect_all_taken("2 readers, 10 small messages, beside a child of the caller's");
}
END_TEST

START_TEST(bad_counts_are_refused_before_anything_starts)
{
    int bad[] = {0, -1, QUEUE_MAX_PROCS + 1};
    seen_reset();
    for (int k = 0; k < 3; k++)
        for (int call = 0; call < 2; call++) {
            const char *name = call == 0 ? "queue_gather" : "queue_scatter";
            lab_capture_begin();
            long rc = call == 0 ? queue_gather(bad[k], producer, take, NULL)
                                : queue_scatter(bad[k], consume, NULL, NULL, NULL, 0);
            const char *said = lab_capture_end();
            if (rc != -1)
                lab_fail("%s with %d %s returned %ld, not -1: 1 to %d only", name, bad[k],
                         call == 0 ? "producers" : "readers", rc, QUEUE_MAX_PROCS);
            if (said[0] == '\0')
                lab_fail("%s with %d processes returned -1 but said nothing on stderr: say why",
                         name, bad[k]);
            pid_t child = waitpid(-1, NULL, WNOHANG);
            if (child >= 0)
                lab_fail("%s with %d processes returned -1, yet it had started a process: "
                         "refuse before starting anything", name, bad[k]);
        }
}
END_TEST

/* ---- error paths ------------------------------------------------------------ */

/*
 * Three producers put 4 messages of 40,000 bytes each (more than a pipe
 * holds); then 12 such messages go to three readers. A call made to fail
 * may fail a producer or a reader: then -1, truthfully.
 */
static int gather_then_scatter(void *arg)
{
    (void)arg;
    memset(seen->got, 0, sizeof seen->got);
    memset(seen->next, 0, sizeof seen->next);
    seen->problem_set = 0;
    seen->who = 3;
    for (int i = 0; i < 3; i++)
        seen->count[i] = 4;
    long gathered = queue_gather(3, producer, take, NULL);
    if (gathered != -1 && (seen->problem_set || gathered != 12))
        lab_worker_fail("queue_gather returned %ld, not -1, yet %s", gathered,
                        seen->problem_set ? seen->problem : "not all 12 messages were taken");

    static struct scatter_args a;
    for (int s = 0; s < 12; s++) {
        a.lens[s] = seen->size[0][s];
        if ((a.msgs[s] = malloc(a.lens[s])) == NULL)
            lab_worker_fail("harness: out of memory for the messages");
        make_message(a.msgs[s], 0, (uint32_t)s, a.lens[s]);
    }
    memset(seen->got, 0, sizeof seen->got);
    seen->problem_set = 0;  /* a failed put may tear what follows it: gather said -1 then */
    seen->who = 1;
    seen->count[0] = 12;
    int scattered = queue_scatter(3, consume, NULL, (const void *const *)a.msgs, a.lens, 12);
    for (int s = 0; s < 12; s++)
        free(a.msgs[s]);
    if (scattered != -1) {
        if (seen->problem_set)
            lab_worker_fail("queue_scatter returned %d, not -1, yet %s", scattered,
                            seen->problem);
        for (int s = 0; s < 12; s++)
            if (seen->got[0][s] != 1)
                lab_worker_fail("queue_scatter returned %d, not -1, yet message %d was taken "
                                "%d times", scattered, s, seen->got[0][s]);
    }
    return gathered == -1 || scattered == -1 ? LAB_REPORTED : LAB_SUCCEEDED;
}

/* Every message 40,000 bytes: 12 for the readers, 4 from each producer. */
static void plan_errors(void)
{
    seen_reset();
    for (int i = 0; i < 3; i++)
        for (int s = 0; s < 12; s++)
            seen->size[i][s] = 40000;
}

START_TEST(every_call_that_can_fail_is_reported_and_leaves_nothing_behind)
{
    plan_errors();
    lab_try_each_failure("queue_gather and queue_scatter", gather_then_scatter, NULL);
}
END_TEST

START_TEST(interrupted_calls_lose_no_message_and_leave_nothing_behind)
{
    plan_errors();
    lab_try_each_interruption("queue_gather and queue_scatter", gather_then_scatter, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("10-queue-deadlock");
    lab_add(s, one_producer_one_message);
    lab_add(s, four_producers_small_messages);
    lab_add(s, empty_and_tiny_messages_arrive);
    lab_add(s, one_message_bigger_than_a_pipe_holds);
    lab_add(s, the_largest_message_arrives_and_a_larger_one_is_refused);
    lab_add(s, a_message_longer_than_QUEUE_MAX_is_refused_and_the_queue_goes_on);
    lab_add_long(s, eight_producers_messages_up_to_1_MiB_every_one_whole, 2);
    lab_add(s, a_producer_that_fails_or_dies_is_reported_and_the_rest_still_arrive);
    lab_add(s, the_gatherer_waits_for_its_own_producers_only);
    lab_add(s, one_reader_takes_every_message);
    lab_add(s, four_readers_each_stop_at_the_end);
    lab_add(s, eight_readers_and_no_message_all_stop);
    lab_add(s, an_empty_message_is_a_message_not_the_end);
    lab_add_long(s, four_readers_messages_up_to_1_MiB_every_one_whole, 2);
    lab_add(s, readers_that_all_die_are_reported_without_a_hang_or_SIGPIPE);
    lab_add(s, a_reader_that_dies_is_reported_and_the_others_take_the_rest);
    lab_add(s, the_scatterer_waits_for_its_own_readers_only);
    lab_add(s, bad_counts_are_refused_before_anything_starts);
    lab_add_long(s, every_call_that_can_fail_is_reported_and_leaves_nothing_behind, 3);
    lab_add_long(s, interrupted_calls_lose_no_message_and_leave_nothing_behind, 3);
    return lab_main(s);
}
