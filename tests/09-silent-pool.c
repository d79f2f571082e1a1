/*
 * Lesson 09, the pool that swallows errors: the tests.
 *
 * Each test plans what every task is to do (return a value, fail with an
 * error code, crash its worker in one of three ways, take long, or wait
 * for others to run at once), runs the pool in a process of its own, and
 * then looks at what came back. They look for:
 *   - every task's outcome, in the order of the arguments, whatever order
 *     the tasks finished in: its value, its error code, or the wait status
 *     of the worker that died running it, and each task run exactly once;
 *   - pool_map's count of the tasks that did not end POOL_DONE;
 *   - a pool that goes on after its workers die: all its workers there
 *     for the next call (tasks that need every worker at once still run);
 *   - 50,000 tiny tasks on two workers (a pool that writes every argument
 *     before it reads a value fills both pipes, and waits for ever);
 *   - a worker killed from outside while idle, between calls or during
 *     one: no SIGPIPE, no hang, no task counted for it;
 *   - pool_close: every worker ended and waited for, even with a second
 *     pool open (whose workers hold copies of the first one's descriptors);
 *     then pool_map refuses, with a message, and runs nothing;
 *   - pool_start refuses a bad number of workers, pool_map a negative
 *     number of tasks; the pool waits for its own workers only;
 *   - every call that can fail, made to fail in turn (and interrupted):
 *     reported by name, nothing left running, unreaped or open.
 * The harness checks after each test that no process, zombie or
 * descriptor is left. Nothing here is a race: each outcome is decided by
 * what the tasks do, not by timing. The random test draws its plan from
 * the run's seed, which its message prints.
 */
#include "lab.h"
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TASKS 50000
#define WORKER_SECONDS 5.0   /* a scenario takes well under a second */
#define TOGETHER_SECONDS 4.0 /* how long a task waits for the others to run at once */
#define NOT_RUN 9999         /* the error code of a task given an argument it never had */
#define ALONE 9998           /* ... of a task that waited in vain for the others */

/* What each task is to do. */
enum action {
    RETURN,    /* return 0 with value `number` */
    FAIL,      /* return the error code `number` */
    ABORT,     /* abort(): its worker dies of SIGABRT */
    KILL,      /* raise SIGKILL */
    EXIT,      /* _exit(number) in the middle */
    TOGETHER,  /* wait until `number` tasks run at once, then return like RETURN */
    KILL_IDLE, /* once the call's other `number` - 1 tasks run, kill an idle worker of
                  the pool, then return value_for(i) */
};

struct step {
    enum action action;
    long number;
    int delay_ms;
};

/* Task i is given the argument arg_of(i), not i: a pool that passes something else is seen. */
static long arg_of(int i) { return 1000003L * i + 17; }

/*
 * What the tasks are to do, and what the test sees afterwards: a mapping
 * shared with the scenario's process and every worker, so that a plan
 * set after the workers were forked still reaches them.
 */
struct seen {
    struct step plans[2][MAX_TASKS];  /* for the first call of pool_map, and the later ones */
    int call;                  /* which call of pool_map runs */
    pid_t ran_by[MAX_TASKS];   /* the worker that ran task i (0: none) */
    int runs[MAX_TASKS];       /* how many times it ran */
    int at_once;               /* TOGETHER tasks running now */
    long args[MAX_TASKS];
    struct pool_result results[MAX_TASKS];
    struct pool_result first[8];  /* the first call's first results, kept from the next */
    int rc[4];                 /* what each call of the scenario returned */
    int closed;                /* pool_close has returned */
    pid_t dead_worker;         /* the worker killed while idle */
};
static struct seen *seen;
static struct step *plan;      /* the plan of the first call; `later` of the others */
static struct step *later;

static void seen_reset(void)
{
    if (seen == NULL) {
        seen = mmap(NULL, sizeof *seen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                    -1, 0);
        if (seen == MAP_FAILED) {
            seen = NULL;
            lab_fail("harness: mmap for what the tasks did failed");
        }
    }
    memset(seen, 0, sizeof *seen);
    plan = seen->plans[0];
    later = seen->plans[1];
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        continue;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long value_for(int i) { return 7L * i - 300; }

/* The parent of process pid, or 0 if it is gone. */
static pid_t parent_of(pid_t pid)
{
    char path[64];
    int ppid = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) != 1)
        ppid = 0;
    fclose(f);
    return (pid_t)ppid;
}

/*
 * Run by task i of n, on a pool with more workers than tasks: waits until
 * every other task has started, then kills a worker of the pool (a child
 * of the pool's parent) that runs none of them: an idle one, since every
 * task is handed out. Gives the parent time to notice. Finding none (or
 * the others not starting in time) kills nothing: the test then only
 * checks the results.
 */
static void kill_an_idle_worker(int i, int n)
{
    double until = now() + TOGETHER_SECONDS;
    for (int j = 0; j < n; j++)
        while (j != i && __atomic_load_n(&seen->runs[j], __ATOMIC_SEQ_CST) == 0)
            if (now() > until)
                return;
            else
                sleep_ms(1);
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(proc)) != NULL) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0 || pid == getpid() || parent_of(pid) != getppid())
            continue;
        int busy = 0;
        for (int j = 0; j < n; j++)
            busy |= seen->ran_by[j] == pid;
        if (!busy) {
            kill(pid, SIGKILL);
            sleep_ms(200);
            break;
        }
    }
    closedir(proc);
}

/* The one task every pool here runs. */
static int task(long arg, long *value)
{
    long i = (arg - 17) / 1000003L;
    if (i < 0 || i >= MAX_TASKS || arg != arg_of((int)i))
        return NOT_RUN;
    struct step *s = &seen->plans[seen->call > 0][i];
    seen->ran_by[i] = getpid();
    __atomic_add_fetch(&seen->runs[i], 1, __ATOMIC_SEQ_CST);
    if (s->delay_ms > 0)
        sleep_ms(s->delay_ms);
    switch (s->action) {
    case RETURN:
        *value = s->number;
        return 0;
    case FAIL:
        return (int)s->number;
    case ABORT:
        signal(SIGABRT, SIG_DFL);  /* not Check's handler */
        abort();
    case KILL:
        raise(SIGKILL);
        break;
    case EXIT:
        _exit((int)s->number);
    case TOGETHER: {
        int want = (int)s->number;
        __atomic_add_fetch(&seen->at_once, 1, __ATOMIC_SEQ_CST);
        double until = now() + TOGETHER_SECONDS;
        while (__atomic_load_n(&seen->at_once, __ATOMIC_SEQ_CST) < want && now() < until)
            sleep_ms(1);
        if (__atomic_load_n(&seen->at_once, __ATOMIC_SEQ_CST) < want)
            return ALONE;
        *value = want;
        return 0;
    }
    case KILL_IDLE:
        kill_an_idle_worker((int)i, (int)s->number);
        *value = value_for((int)i);
        return 0;
    }
    return NOT_RUN;
}

/* Task i returns value_for(i) after a few milliseconds, more for lower numbers. */
static void plan_values(int n)
{
    for (int i = 0; i < n; i++)
        plan[i] = (struct step){RETURN, value_for(i), (n - i) % 4};
}

/* n tasks that can run only if `together` of them run at once. */
static void plan_together(struct step *p, int n, int together)
{
    for (int i = 0; i < n; i++)
        p[i] = (struct step){TOGETHER, together, 0};
}

static const char *hang_map =
    "pool_map never returned: it waits for an answer that will never come. A task that fails "
    "must still answer (its error code with its value); a worker that dies answers nothing, "
    "and the parent learns of its death only from end-of-file on the worker's pipe, which "
    "comes once no process holds a copy of the pipe's write end (the parent's copy, or a "
    "copy another worker inherited), or from waitpid";

/* What the process that runs a scenario is given. */
struct scenario {
    int workers;
    int n;        /* tasks in each call of pool_map */
    int maps;     /* calls of pool_map, one after another */
    int kill_idle;  /* between the calls: kill an idle worker with SIGKILL */
    int second_pool;  /* keep another pool open while this one closes */
    int map_after_close;
};

static void wait_until_dead(pid_t pid)
{
    char path[64], state = '?';
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int tries = 0; tries < 5000; tries++) {
        FILE *f = fopen(path, "r");
        if (f == NULL)
            return;
        int got = fscanf(f, "%*d (%*[^)]) %c", &state);
        fclose(f);
        if (got == 1 && (state == 'Z' || state == 'X'))
            return;
        sleep_ms(1);
    }
}

/*
 * A process that runs a pool is a program's, not Check's: Check's SIGTERM
 * handler, which a fork of the test inherits, would end the whole test
 * when a pool sends its worker SIGTERM.
 */
static void as_a_program(void)
{
    signal(SIGTERM, SIG_DFL);
}

/* In a process of its own: start, map (maps times), close, free; what came back goes in seen. */
static void run_scenario(int index, void *arg)
{
    (void)index;
    as_a_program();
    struct scenario *sc = arg;
    struct pool *other = NULL;
    struct pool *p = pool_start(sc->workers, task);
    if (p == NULL)
        lab_worker_fail("pool_start(%d, task) returned NULL", sc->workers);
    /* Started after p: its workers inherit copies of p's descriptors. */
    if (sc->second_pool && (other = pool_start(2, task)) == NULL)
        lab_worker_fail("pool_start(2, task) for a second pool returned NULL");
    for (int m = 0; m < sc->maps; m++) {
        if (m > 0 && sc->kill_idle) {
            seen->dead_worker = seen->ran_by[0];
            kill(seen->dead_worker, SIGKILL);
            wait_until_dead(seen->dead_worker);
        }
        if (m > 0)
            memset(seen->runs, 0, sizeof seen->runs);
        for (int i = 0; i < sc->n; i++) {
            seen->args[i] = arg_of(i);
            seen->results[i] = (struct pool_result){0, 0x5eed, 0x5eed, 0x5eed};
        }
        seen->at_once = 0;
        seen->call = m;
        lab_capture_begin();
        seen->rc[m] = pool_map(p, seen->args, sc->n, seen->results);
        const char *said = lab_capture_end();
        if (m == 0)
            memcpy(seen->first, seen->results, sizeof seen->first);
        if (m + 1 < sc->maps && seen->rc[m] == -1)
            lab_worker_fail("pool_map returned -1 in call %d of %d, where every task could run: "
                            "the pool must go on. It said: %.300s", m + 1, sc->maps,
                            said[0] ? said : "(nothing on stderr)");
    }
    if (sc->second_pool)
        seen->rc[3] = pool_close(p);
    if (sc->second_pool) {
        struct pool_result results[8];
        if (pool_map(other, seen->args, 8, results) != 0)
            lab_worker_fail("the second pool's pool_map did not return 0 after the first "
                            "closed");
        for (int i = 0; i < 8; i++)
            seen->runs[i]--;  /* the first pool's tasks are counted, not these */
    }
    int closed = pool_close(p);
    seen->closed = 1;
    if (sc->map_after_close) {
        seen->rc[1] = pool_map(p, seen->args, sc->n, seen->results);
        seen->rc[2] = closed;
    }
    pool_free(p);
    pool_free(other);
}

static void run(struct scenario *sc, const char *hang_hint)
{
    lab_run_workers(1, run_scenario, sc, WORKER_SECONDS, hang_hint);
}

static const char *outcome_name(int outcome)
{
    switch (outcome) {
    case POOL_DONE: return "POOL_DONE";
    case POOL_FAILED: return "POOL_FAILED";
    case POOL_CRASHED: return "POOL_CRASHED";
    case 0: return "no outcome at all (results[i] was never written)";
    default: return "an outcome that is not in pool.h";
    }
}

/* How task i's result reads, in words. */
static const char *told(const struct pool_result *r)
{
    static char text[160];
    if (r->outcome == POOL_DONE)
        snprintf(text, sizeof text, "POOL_DONE with value %ld", r->value);
    else if (r->outcome == POOL_FAILED)
        snprintf(text, sizeof text, "POOL_FAILED with error %d", r->error);
    else if (r->outcome == POOL_CRASHED)
        snprintf(text, sizeof text, "POOL_CRASHED with a status that says it %s",
                 lab_describe_status(r->status));
    else
        snprintf(text, sizeof text, "%s", outcome_name(r->outcome));
    return text;
}

/* What task i should have come back as, in words. */
static const char *expected(int i)
{
    static char text[160];
    const struct step *s = &plan[i];
    switch (s->action) {
    case RETURN: snprintf(text, sizeof text, "POOL_DONE with value %ld", s->number); break;
    case TOGETHER: snprintf(text, sizeof text, "POOL_DONE with value %ld", s->number); break;
    case KILL_IDLE: snprintf(text, sizeof text, "POOL_DONE with value %ld", value_for(i)); break;
    case FAIL: snprintf(text, sizeof text, "POOL_FAILED with error %ld", s->number); break;
    case ABORT: snprintf(text, sizeof text, "POOL_CRASHED, its worker killed by SIGABRT"); break;
    case KILL: snprintf(text, sizeof text, "POOL_CRASHED, its worker killed by SIGKILL"); break;
    case EXIT: snprintf(text, sizeof text, "POOL_CRASHED, its worker exited with status %ld",
                        s->number); break;
    }
    return text;
}

/* Whether result r is what task i should have come back as. */
static int as_planned(int i, const struct pool_result *r)
{
    const struct step *s = &plan[i];
    switch (s->action) {
    case RETURN:
    case TOGETHER:
        return r->outcome == POOL_DONE && r->value == s->number;
    case KILL_IDLE:
        return r->outcome == POOL_DONE && r->value == value_for(i);
    case FAIL:
        return r->outcome == POOL_FAILED && r->error == s->number;
    case ABORT:
    case KILL:
        return r->outcome == POOL_CRASHED && WIFSIGNALED(r->status) &&
               WTERMSIG(r->status) == (s->action == ABORT ? SIGABRT : SIGKILL);
    case EXIT:
        return r->outcome == POOL_CRASHED && WIFEXITED(r->status) &&
               WEXITSTATUS(r->status) == s->number;
    }
    return 0;
}

/*
 * Fails the test unless every one of the n results is as planned, each
 * task ran once, and rc counts the tasks that did not end POOL_DONE. Says
 * what was seen first, then what it likely means. `setting` opens the
 * message ("4 workers, 40 tasks").
 */
static void expect_results(const char *setting, int n, int rc)
{
    int not_done = 0;
    for (int i = 0; i < n; i++)
        not_done += plan[i].action != RETURN && plan[i].action != TOGETHER &&
                    plan[i].action != KILL_IDLE;
    for (int i = 0; i < n; i++) {
        const struct pool_result *r = &seen->results[i];
        const struct step *s = &plan[i];
        if (as_planned(i, r))
            continue;
        if (r->outcome == POOL_FAILED && r->error == NOT_RUN)
            lab_fail("%s: task %d was run on an argument it was never given (args[%d] is "
                     "%ld): the worker must get args[i] exactly", setting, i, i, arg_of(i));
        if (r->outcome == POOL_FAILED && r->error == ALONE)
            lab_fail("%s: task %d needed %ld tasks running at once and waited %.0f s in vain "
                     "(it saw %d): the pool did not have that many workers free. A worker "
                     "that died was not replaced, or a task was held back while a worker was "
                     "idle", setting, i, s->number, TOGETHER_SECONDS, seen->at_once);
        if (s->action == FAIL && r->outcome == POOL_DONE)
            lab_fail("%s: task %d failed with error code %ld, but pool_map reported it %s: "
                     "the task's error was dropped on the way, and the caller takes a failure "
                     "for a success. The worker must send back what the task returned, not "
                     "only its value", setting, i, s->number, told(r));
        if ((s->action == ABORT || s->action == KILL || s->action == EXIT) &&
            r->outcome == POOL_DONE)
            lab_fail("%s: task %d's worker died running it (it should be %s), but pool_map "
                     "reported it %s: a value that never came was passed off as one", setting,
                     i, expected(i), told(r));
        if (r->outcome == 0 && rc >= 0)
            lab_fail("%s: pool_map returned %d, yet task %d has no outcome at all (it should "
                     "be %s): pool_map returned before every task had one. A worker's death "
                     "(read returning 0) is not the end of the work: its task must be reported "
                     "crashed and the other tasks still run", setting, rc, i, expected(i));
        if (r->outcome == POOL_CRASHED && (s->action == ABORT || s->action == KILL ||
                                           s->action == EXIT))
            lab_fail("%s: task %d is POOL_CRASHED, rightly, but its status says the worker %s; "
                     "it should be %s. The status must be the one waitpid gave for that "
                     "worker", setting, i, lab_describe_status(r->status), expected(i));
        for (int j = 0; j < n; j++)
            if (j != i && as_planned(j, r) && r->outcome == POOL_DONE &&
                plan[j].number != s->number)
                lab_fail("%s: results[%d] holds task %d's outcome (%s), not task %d's (%s): "
                         "results[i] must be args[i]'s, whatever order the tasks finish in",
                         setting, i, j, told(r), i, expected(i));
        lab_fail("%s: task %d came back %s; it should be %s", setting, i, told(r), expected(i));
    }
    for (int i = 0; i < n; i++) {
        int runs = seen->runs[i];
        if (runs != 1)
            lab_fail("%s: task %d ran %d times: each task runs exactly once (a task whose "
                     "worker died is reported, not run again)", setting, i, runs);
    }
    if (rc != not_done)
        lab_fail("%s: every outcome is right, but pool_map returned %d: it returns how many "
                 "tasks did not end POOL_DONE, here %d", setting, rc, not_done);
}

static void map_and_check(int workers, int n, const char *setting, const char *hint)
{
    struct scenario sc = {.workers = workers, .n = n, .maps = 1};
    run(&sc, hint);
    expect_results(setting, n, seen->rc[0]);
}

START_TEST(one_worker_one_task)
{
    seen_reset();
    plan_values(1);
    map_and_check(1, 1, "1 worker, 1 task", hang_map);
}
END_TEST

START_TEST(values_come_back_in_the_order_of_the_arguments)
{
    seen_reset();
    plan_values(200);
    plan[0].delay_ms = 300;  /* the first task ends last */
    map_and_check(4, 200, "4 workers, 200 tasks, the first one slow", hang_map);
}
END_TEST

START_TEST(every_value_a_long_can_hold_comes_back)
{
    static const long values[] = {LONG_MIN, LONG_MAX, -1, 0, 1, (long)INT_MAX + 1,
                                  (long)INT_MIN - 1, 1L << 40, -42};
    enum { N = sizeof values / sizeof values[0] };
    seen_reset();
    for (int i = 0; i < N; i++)
        plan[i] = (struct step){RETURN, values[i], 0};
    map_and_check(3, N, "3 workers, values from LONG_MIN to LONG_MAX", hang_map);
}
END_TEST

START_TEST(a_task_that_fails_is_reported_failed_with_its_error_code)
{
    seen_reset();
    plan_values(40);
    for (int i = 3; i < 40; i += 7)
        plan[i] = (struct step){FAIL, 100 + i, 1};
    plan[39] = (struct step){FAIL, INT_MAX, 0};
    map_and_check(4, 40, "4 workers, 40 tasks, 6 of which fail", hang_map);
}
END_TEST

static void one_crash(enum action how, long number, const char *setting)
{
    seen_reset();
    plan_values(40);
    plan[13] = (struct step){how, number, 5};
    map_and_check(4, 40, setting, hang_map);
}

START_TEST(a_worker_that_aborts_is_reported_crashed_with_SIGABRT)
{
    one_crash(ABORT, 0, "4 workers, 40 tasks, task 13 aborts");
}
END_TEST

START_TEST(a_worker_killed_by_SIGKILL_is_reported_crashed_with_SIGKILL)
{
    one_crash(KILL, 0, "4 workers, 40 tasks, task 13 is killed");
}
END_TEST

START_TEST(a_worker_that_exits_midway_is_reported_with_its_exit_status)
{
    one_crash(EXIT, 3, "4 workers, 40 tasks, task 13 calls _exit(3)");
}
END_TEST

START_TEST(a_worker_that_exits_with_status_0_midway_is_still_a_crash)
{
    one_crash(EXIT, 0, "4 workers, 40 tasks, task 13 calls _exit(0)");
}
END_TEST

START_TEST(the_only_worker_crashes_and_the_tasks_after_it_still_run)
{
    seen_reset();
    plan_values(10);
    plan[2] = (struct step){ABORT, 0, 0};
    plan[6] = (struct step){KILL, 0, 0};
    map_and_check(1, 10, "1 worker, 10 tasks, tasks 2 and 6 crash it", hang_map);
}
END_TEST

START_TEST(after_crashes_the_pool_still_has_all_its_workers)
{
    seen_reset();
    for (int i = 0; i < 8; i++)
        plan[i] = (struct step){i == 1 || i == 5 ? KILL : RETURN, value_for(i), 0};
    plan_together(later, 8, 4);
    struct scenario sc = {.workers = 4, .n = 8, .maps = 2};
    run(&sc, hang_map);
    plan = later;
    expect_results("4 workers, then 8 tasks (2 killed), then 8 tasks that need 4 at once",
                   8, seen->rc[1]);
}
END_TEST

START_TEST(fifty_thousand_tiny_tasks_on_two_workers)
{
    seen_reset();
    for (int i = 0; i < MAX_TASKS; i++)
        plan[i] = (struct step){RETURN, value_for(i), 0};
    map_and_check(2, MAX_TASKS, "2 workers, 50000 tiny tasks",
                  "pool_map never returned on 50,000 tiny tasks and two workers. If it writes "
                  "every argument before it reads a value, the pipes fill both ways (a pipe "
                  "holds 64 KiB): the parent waits for a worker to read, the worker waits for "
                  "the parent to read its answers, and neither ever does. Give a worker its "
                  "next task only when it has answered the last");
}
END_TEST

/*
 * Random plans from the run's seed: how many workers and tasks, and what
 * each task does (a value, an error code, a crash of any of three kinds,
 * a delay). Every outcome must come back exactly.
 */
START_TEST(a_seeded_random_mix_of_values_failures_and_crashes_comes_back_exactly)
{
    for (int round = 0; round < 4; round++) {
        seen_reset();
        int workers = 1 + (int)(lab_random() % 6), n = (int)(lab_random() % 120);
        for (int i = 0; i < n; i++) {
            uint64_t r = lab_random();
            int kind = (int)(r % 16), delay = (int)((r >> 8) % 4);
            long number = (long)lab_random();
            plan[i] = kind == 0   ? (struct step){ABORT, 0, delay}
                      : kind == 1 ? (struct step){KILL, 0, delay}
                      : kind == 2 ? (struct step){EXIT, (long)((r >> 16) % 256), delay}
                      : kind < 5  ? (struct step){FAIL, 1 + (long)((r >> 16) % INT_MAX), delay}
                                  : (struct step){RETURN, number, delay};
        }
        char setting[160];
        snprintf(setting, sizeof setting, "round %d, %d workers, %d tasks%s", round + 1,
                 workers, n, lab_seed_note());
        map_and_check(workers, n, setting, hang_map);
    }
}
END_TEST

static const char *hang_close =
    "pool_close never returned: a worker still waits for a task. If the pool tells its "
    "workers to stop by closing its end of their pipe or socket, know that close() ends "
    "nothing while another process holds a copy of that end, and a worker forked later (of "
    "this pool, or of another pool) inherited a copy of every descriptor the parent had "
    "open. shutdown() ends a socket's connection for every copy; a stop message needs no "
    "end-of-file at all";

/* Whether process pid still exists: running, or ended and never waited for. */
static int still_there(pid_t pid)
{
    return pid > 0 && kill(pid, 0) == 0;
}

START_TEST(pool_close_ends_and_waits_for_every_worker)
{
    seen_reset();
    plan_values(12);
    struct scenario sc = {.workers = 4, .n = 12, .maps = 1};
    run(&sc, hang_close);
    expect_results("4 workers, 12 tasks", 12, seen->rc[0]);
    for (int i = 0; i < 12; i++)
        if (still_there(seen->ran_by[i]))
            lab_fail("pool_close and pool_free returned, but the worker that ran task %d "
                     "(pid %d) still exists: pool_close must end every worker and wait for "
                     "it (waitpid), or it is left running, or a zombie", i,
                     (int)seen->ran_by[i]);
}
END_TEST

START_TEST(with_a_second_pool_open_the_first_still_closes)
{
    seen_reset();
    plan_values(12);
    struct scenario sc = {.workers = 3, .n = 12, .maps = 1, .second_pool = 1};
    run(&sc, hang_close);
    expect_results("two pools, 3 and 2 workers, 12 tasks", 12, seen->rc[0]);
    if (seen->rc[3] != 0)
        lab_fail("pool_close of the first pool returned %d with a second pool open, not 0",
                 seen->rc[3]);
}
END_TEST

/* What a call printed on stderr (lab_capture_end). */
static const char *said = "";

START_TEST(pool_map_after_pool_close_is_refused_with_a_message_and_runs_nothing)
{
    seen_reset();
    plan_values(6);
    struct scenario sc = {.workers = 2, .n = 6, .maps = 1, .map_after_close = 1};
    lab_capture_begin();
    run(&sc, "pool_map, called after pool_close, never returned: it must refuse at once");
    said = lab_capture_end();
    expect_results("2 workers, 6 tasks", 6, seen->rc[0]);
    if (seen->rc[2] != 0)
        lab_fail("pool_close returned %d, not 0, though nothing went wrong", seen->rc[2]);
    if (seen->rc[1] != -1)
        lab_fail("pool_map, called after pool_close, returned %d: a closed pool must refuse "
                 "with -1 (as Python's Pool raises \"Pool not running\")", seen->rc[1]);
    if (strstr(said, "close") == NULL)
        lab_fail("pool_map, called after pool_close, returned -1 and said \"%.200s\": the "
                 "message must say that the pool is closed", said);
    for (int i = 0; i < 6; i++)
        if (seen->runs[i] != 1)
            lab_fail("task %d ran %d times: pool_map after pool_close must run nothing", i,
                     seen->runs[i]);
}
END_TEST

START_TEST(a_worker_killed_while_idle_is_replaced_and_loses_no_task)
{
    seen_reset();
    plan_values(8);
    plan_together(later, 4, 4);
    struct scenario sc = {.workers = 4, .n = 4, .maps = 3, .kill_idle = 1};
    run(&sc, "pool_map never returned after one of its idle workers was killed from outside: "
             "a task given to a dead worker is never answered. Notice the death (send or "
             "write fails with EPIPE; end-of-file on the worker's socket or pipe), reap the "
             "worker and start another");
    plan = later;
    for (int i = 0; i < 4; i++) {
        const struct pool_result *r = &seen->results[i];
        if (r->outcome == POOL_CRASHED && WIFSIGNALED(r->status) &&
            WTERMSIG(r->status) == SIGKILL)
            lab_fail("task %d came back POOL_CRASHED, killed by SIGKILL, in the third call, "
                     "long after the worker (pid %d) was killed between two calls: a dead "
                     "worker must be noticed and replaced when it is next given a task, at "
                     "the latest", i, (int)seen->dead_worker);
    }
    expect_results("4 workers, one killed while idle, then 4 tasks that need 4 at once", 4,
                   seen->rc[2]);
}
END_TEST

START_TEST(a_worker_killed_while_idle_during_a_call_is_replaced_and_loses_no_task)
{
    seen_reset();
    plan_values(4);
    plan[0] = (struct step){KILL_IDLE, 4, 0};
    plan_together(later, 4, 4);
    struct scenario sc = {.workers = 5, .n = 4, .maps = 2};
    run(&sc, "pool_map never returned after an idle worker was killed from outside while "
             "another worker still ran a task: a dead worker must be noticed (end-of-file on "
             "its socket or pipe, or a send that fails with EPIPE), reaped and replaced");
    if (seen->rc[0] >= 0 && seen->first[0].outcome == 0)
        lab_fail("pool_map returned %d while task 0 was still running: it took the death of an "
                 "idle worker, which ran no task, for the end of a task. Only a worker that "
                 "runs a task has a task to report; a dead idle worker is reaped and replaced "
                 "(when it is noticed, or when it is next given a task), and counts for no "
                 "task", seen->rc[0]);
    struct pool_result last[4];
    memcpy(last, seen->results, sizeof last);
    memcpy(seen->results, seen->first, sizeof last);
    expect_results("5 workers, 4 tasks; task 0 kills the worker that has no task (idle), "
                   "and returns", 4, seen->rc[0]);
    memcpy(seen->results, last, sizeof last);
    plan = later;
    expect_results("then 4 tasks that need 4 workers at once", 4, seen->rc[1]);
}
END_TEST

/* In a process of its own: pool_map with -1 tasks, on a pool of 2. */
static void map_minus_one(int index, void *arg)
{
    (void)index;
    (void)arg;
    as_a_program();
    struct pool *p = pool_start(2, task);
    if (p == NULL)
        lab_worker_fail("pool_start(2, task) returned NULL");
    for (int i = 0; i < 3; i++)
        seen->args[i] = arg_of(i);
    seen->rc[0] = pool_map(p, seen->args, -1, seen->results);
    pool_free(p);
}

START_TEST(bad_numbers_of_workers_or_of_tasks_are_refused)
{
    int bad[] = {0, -1, POOL_MAX_WORKERS + 1, INT_MIN};
    for (int k = 0; k < 4; k++) {
        lab_capture_begin();
        struct pool *p = pool_start(bad[k], task);
        said = lab_capture_end();
        if (p != NULL) {
            pool_free(p);
            lab_fail("pool_start(%d, task) returned a pool: 1 to %d workers only", bad[k],
                     POOL_MAX_WORKERS);
        }
        if (said[0] == '\0')
            lab_fail("pool_start(%d, task) returned NULL but said nothing on stderr: say why",
                     bad[k]);
        int status;
        pid_t child = waitpid(-1, &status, WNOHANG);
        if (child > 0)
            lab_fail("pool_start(%d, task) returned NULL, yet it had started a process (pid "
                     "%d, which has ended): refuse before starting anything", bad[k],
                     (int)child);
        if (child == 0)
            lab_fail("pool_start(%d, task) returned NULL, yet it had started a process, still "
                     "running: refuse before starting anything", bad[k]);
    }

    seen_reset();
    plan_values(3);
    lab_capture_begin();
    lab_run_workers(1, map_minus_one, NULL, WORKER_SECONDS,
                    "pool_map(pool, args, -1, results) never returned: refuse a negative "
                    "number of tasks at once");
    said = lab_capture_end();
    if (seen->rc[0] != -1)
        lab_fail("pool_map(pool, args, -1, results) returned %d: pool.h promises -1 for a "
                 "negative number of tasks, with a message, and nothing run", seen->rc[0]);
    if (said[0] == '\0')
        lab_fail("pool_map(pool, args, -1, results) returned -1 but said nothing on stderr: "
                 "say why");
    for (int i = 0; i < 3; i++)
        if (seen->runs[i] != 0)
            lab_fail("pool_map(pool, args, -1, results) ran task %d: it must run nothing", i);
}
END_TEST

static void map_three(int index, void *arg)
{
    (void)index;
    (void)arg;
    as_a_program();
    struct pool *p = pool_start(2, task);
    if (p == NULL)
        lab_worker_fail("pool_start(2, task) returned NULL");
    for (int i = 0; i < 3; i++) {
        seen->args[i] = arg_of(i);
        seen->results[i] = (struct pool_result){0, 0, 0, 0};
    }
    pid_t bystander = lab_bystander_start();
    seen->rc[0] = pool_map(p, seen->args, 3, seen->results);
    pool_free(p);
    /* As lab_bystander_check, which fails the test from the test's own process only. */
    if (waitpid(bystander, NULL, WNOHANG) == -1 && errno == ECHILD)
        lab_worker_fail("pool_map or pool_close reaped a child that it did not fork (the "
                        "caller's own, pid %d): it waits with wait() or waitpid(-1, ...), "
                        "which take any child of the process; wait for each worker by its pid",
                        (int)bystander);
}

START_TEST(the_pool_waits_for_its_own_workers_only)
{
    seen_reset();
    plan_values(3);
    plan[1] = (struct step){EXIT, 5, 20};
    lab_run_workers(1, map_three, NULL, WORKER_SECONDS, hang_map);
    expect_results("2 workers, 3 tasks, task 1 exits with status 5", 3, seen->rc[0]);
}
END_TEST

/*
 * Error paths: a pool of three, six tasks (one of which crashes its worker,
 * so that a replacement is started), closed and freed. If pool_map says it
 * succeeded, every outcome must be right, but a task whose worker had a
 * call of its own fail may be POOL_CRASHED: that is true too.
 */
static int three_workers_six_tasks(void *arg)
{
    (void)arg;
    as_a_program();
    struct pool *p = pool_start(3, task);
    if (p == NULL)
        return LAB_REPORTED;
    for (int i = 0; i < 6; i++) {
        seen->args[i] = arg_of(i);
        seen->results[i] = (struct pool_result){0, 0, 0, 0};
        seen->runs[i] = 0;
    }
    int rc = pool_map(p, seen->args, 6, seen->results);
    int closed = pool_close(p);
    pool_free(p);
    if (rc == -1 || closed == -1)
        return LAB_REPORTED;
    int not_done = 0;
    for (int i = 0; i < 6; i++) {
        const struct pool_result *r = &seen->results[i];
        not_done += r->outcome != POOL_DONE;
        if (!as_planned(i, r) && r->outcome != POOL_CRASHED)
            lab_worker_fail("pool_map returned %d, yet task %d came back %s; it should be %s",
                            rc, i, told(r), expected(i));
        if (r->outcome == POOL_CRASHED && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0)
            lab_worker_fail("task %d came back POOL_CRASHED with a status that says its worker "
                            "exited with status 0: the status is not the one waitpid gave", i);
    }
    if (rc != not_done)
        lab_worker_fail("pool_map returned %d, but %d tasks did not end POOL_DONE", rc,
                        not_done);
    return LAB_SUCCEEDED;
}

START_TEST(every_call_that_can_fail_is_reported_and_leaves_nothing_behind)
{
    seen_reset();
    plan_values(6);
    plan[2] = (struct step){ABORT, 0, 0};
    lab_try_each_failure("pool_start, pool_map and pool_close", three_workers_six_tasks, NULL);
}
END_TEST

START_TEST(interrupted_calls_lose_no_task_and_leave_nothing_behind)
{
    seen_reset();
    plan_values(6);
    plan[2] = (struct step){ABORT, 0, 0};
    lab_try_each_interruption("pool_start, pool_map and pool_close", three_workers_six_tasks,
                              NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("09-silent-pool");
    lab_add(s, one_worker_one_task);
    lab_add(s, values_come_back_in_the_order_of_the_arguments);
    lab_add(s, every_value_a_long_can_hold_comes_back);
    lab_add(s, a_task_that_fails_is_reported_failed_with_its_error_code);
    lab_add(s, a_worker_that_aborts_is_reported_crashed_with_SIGABRT);
    lab_add(s, a_worker_killed_by_SIGKILL_is_reported_crashed_with_SIGKILL);
    lab_add(s, a_worker_that_exits_midway_is_reported_with_its_exit_status);
    lab_add(s, a_worker_that_exits_with_status_0_midway_is_still_a_crash);
    lab_add(s, the_only_worker_crashes_and_the_tasks_after_it_still_run);
    lab_add(s, after_crashes_the_pool_still_has_all_its_workers);
    lab_add_long(s, fifty_thousand_tiny_tasks_on_two_workers, 2);
    lab_add_long(s, a_seeded_random_mix_of_values_failures_and_crashes_comes_back_exactly, 2);
    lab_add(s, pool_close_ends_and_waits_for_every_worker);
    lab_add(s, with_a_second_pool_open_the_first_still_closes);
    lab_add(s, pool_map_after_pool_close_is_refused_with_a_message_and_runs_nothing);
    lab_add(s, a_worker_killed_while_idle_is_replaced_and_loses_no_task);
    lab_add(s, a_worker_killed_while_idle_during_a_call_is_replaced_and_loses_no_task);
    lab_add(s, bad_numbers_of_workers_or_of_tasks_are_refused);
    lab_add(s, the_pool_waits_for_its_own_workers_only);
    lab_add_long(s, every_call_that_can_fail_is_reported_and_leaves_nothing_behind, 3);
    lab_add_long(s, interrupted_calls_lose_no_task_and_leave_nothing_behind, 3);
    return lab_main(s);
}
