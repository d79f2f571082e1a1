/*
 * main.c - lesson 11 demo: workers move money between accounts while,
 * every few milliseconds, one of them is killed with SIGKILL and another
 * takes its place. Sooner or later one dies holding the lock.
 *
 * Usage: demo [kills]   (how many workers to kill, 50 when not given)
 */
#include "bank.h"
#include "errors.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 3
#define ACCOUNTS 4
#define INITIAL 1000
#define STUCK_MS 1000   /* no transfer for this long: the others are stuck */

/* What the demo watches, shared with its workers. */
struct watch {
    atomic_long transfers;  /* made by every worker, so far */
    atomic_int stop;
};

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

static void work(struct bank *b, struct watch *w, unsigned seed)
{
    while (!atomic_load(&w->stop)) {
        int from = (int)(rand_r(&seed) % ACCOUNTS);
        int to = (from + 1 + (int)(rand_r(&seed) % (ACCOUNTS - 1))) % ACCOUNTS;
        if (bank_transfer(b, from, to, 1 + rand_r(&seed) % 100) == -1)
            _exit(EXIT_FAILURE);
        atomic_fetch_add(&w->transfers, 1);
    }
    _exit(EXIT_SUCCESS);
}

static pid_t start(struct bank *b, struct watch *w, unsigned seed)
{
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0)
        work(b, w, seed);
    return pid;
}

/* Whether the workers make a few more transfers within STUCK_MS. */
static int moving(struct watch *w)
{
    long before = atomic_load(&w->transfers);
    for (int ms = 0; ms < STUCK_MS; ms++) {
        if (atomic_load(&w->transfers) >= before + 10)
            return 1;
        sleep_ms(1);
    }
    return 0;
}

/*
 * A worker killed inside pthread_mutex_unlock, after it let go of the lock
 * but before it woke a waiter, leaves that waiter asleep with the lock free
 * (rarely: about once in 4,000 kills). A signal whose handler does nothing
 * wakes it; SA_RESTART starts its wait again, which then finds the lock
 * free. A lock still held by a dead worker puts it back to sleep.
 */
static void nothing(int sig)
{
    (void)sig;
}

static void wake_all(const pid_t pids[])
{
    for (int i = 0; i < WORKERS; i++)
        kill(pids[i], SIGURG);
}

static void reap(pid_t pid, int i)
{
    int status;
    if (waitpid(pid, &status, 0) == -1)
        die_errno("waitpid(worker %d)", i);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        printf("worker %d (pid %d) stopped: a transfer failed (its reason is above)\n", i,
               (int)pid);
}

int main(int argc, char *argv[])
{
    int kills = argc > 1 ? atoi(argv[1]) : 50;
    struct bank *b = bank_open(ACCOUNTS, INITIAL);
    if (b == NULL)
        exit(EXIT_FAILURE);
    struct watch *w = mmap(NULL, sizeof *w, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                           -1, 0);
    if (w == MAP_FAILED)
        die_errno("mmap(the demo's counters)");
    printf("%d workers move money between %d accounts of %d each; every few ms one of them\n"
           "is killed (SIGKILL) and a new one takes its place.\n", WORKERS, ACCOUNTS, INITIAL);
    fflush(stdout);  /* before the forks: a worker must not carry a copy of it */
    struct sigaction wake = {.sa_handler = nothing, .sa_flags = SA_RESTART};
    sigemptyset(&wake.sa_mask);
    if (sigaction(SIGURG, &wake, NULL) == -1)  /* the workers inherit it */
        die_errno("sigaction(SIGURG)");
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pids[i] = start(b, w, (unsigned)i + 1);
    int stuck = 0;
    for (int k = 1; k <= kills && !stuck; k++) {
        sleep_ms(5 + (int)(k * 7919 % 20));
        int i = k % WORKERS;
        kill(pids[i], SIGKILL);
        reap(pids[i], i);
        pids[i] = start(b, w, (unsigned)(k * WORKERS + i) + 1);
        if (k % 100 == 0) {
            printf("%d workers killed so far...\n", k);
            fflush(stdout);
        }
        if (!moving(w)) {
            wake_all(pids);
            if (moving(w))
                continue;
            printf("kill %d: worker %d was killed, and since then nobody has moved any money "
                   "for %d ms.\nIt died holding the lock, and the others wait for it for ever.\n",
                   k, i, 2 * STUCK_MS);
            stuck = 1;
        }
    }
    atomic_store(&w->stop, 1);
    if (stuck) {
        for (int i = 0; i < WORKERS; i++)
            kill(pids[i], SIGKILL);  /* they would never see the stop */
    } else {
        wake_all(pids);  /* one may still be asleep from a lost wakeup */
    }
    for (int i = 0; i < WORKERS; i++)
        reap(pids[i], i);
    if (stuck) {
        printf("(The demo stopped them. It does not read the balances: that would wait "
               "for ever too.)\n");
        exit(EXIT_FAILURE);
    }
    long balances[ACCOUNTS], total = 0;
    if (bank_balances(b, balances) == -1)
        exit(EXIT_FAILURE);
    for (int i = 0; i < ACCOUNTS; i++)
        total += balances[i];
    printf("%d workers were killed in the middle of their work, and the others went on.\n"
           "%ld transfers were made. The accounts hold %ld in all: %s.\n", kills,
           atomic_load(&w->transfers), total,
           total == (long)ACCOUNTS * INITIAL ? "as much as at the start"
                                             : "money was made or lost on the way");
    bank_close(b);
    munmap(w, sizeof *w);
    return total == (long)ACCOUNTS * INITIAL ? EXIT_SUCCESS : EXIT_FAILURE;
}
