/*
 * bank.c - lesson 11, the lock whose holder died: the solution.
 *
 * An ordinary mutex whose holder dies stays locked for ever. A robust one
 * does not: the kernel notes the death, and the next process to lock it
 * gets the lock with EOWNERDEAD, which means "you hold it now, and with it
 * whatever the dead holder left half done". That process repairs the
 * accounts, tells the mutex they are consistent again, and goes on.
 *
 * Repair needs a record of what was half done: before it changes a
 * balance, the holder writes down the two balances as they were (an undo
 * record), and only then arms it. Whoever finds it armed puts them back.
 */
#include "bank.h"
#include "errors.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

/*
 * The order of the writes is what makes a repair possible, and the
 * compiler may reorder plain stores: this fence keeps the steps apart. (A
 * process's stores are not lost when it is killed; only the compiler's
 * order is at stake, so a signal fence is enough.)
 */
#define IN_ORDER() atomic_signal_fence(memory_order_seq_cst)

/* The transfer under way, as the accounts were before it. */
struct undo {
    int armed;             /* 1 only while balances are being changed */
    int from, to;
    long from_was, to_was;
};

struct bank {
    pthread_mutex_t lock;  /* robust: held around every look at the accounts */
    int accounts;
    struct undo undo;
    long balance[BANK_MAX_ACCOUNTS];
};

static int init_lock(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);
    if (err != 0) {
        warn_err(err, "pthread_mutexattr_init(the bank's lock)");
        return -1;
    }
    err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (err != 0)
        warn_err(err, "pthread_mutexattr_setpshared(the bank's lock)");
    else if ((err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) != 0)
        warn_err(err, "pthread_mutexattr_setrobust(the bank's lock)");
    else if ((err = pthread_mutex_init(m, &attr)) != 0)
        warn_err(err, "pthread_mutex_init(the bank's lock)");
    pthread_mutexattr_destroy(&attr);
    return err == 0 ? 0 : -1;
}

struct bank *bank_open(int accounts, long initial)
{
    if (accounts < 1 || accounts > BANK_MAX_ACCOUNTS) {
        fprintf(stderr, "bank_open: %d accounts: a bank has 1 to %d\n", accounts,
                BANK_MAX_ACCOUNTS);
        errno = EINVAL;
        return NULL;
    }
    struct bank *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    if (b == MAP_FAILED) {
        warn_errno("mmap(a bank of %d accounts)", accounts);
        return NULL;
    }
    if (init_lock(&b->lock) == -1) {
        munmap(b, sizeof *b);
        return NULL;
    }
    b->accounts = accounts;
    b->undo.armed = 0;
    for (int i = 0; i < accounts; i++)
        b->balance[i] = initial;
    return b;
}

/*
 * Puts back what a dead holder left half done. If this process dies here
 * too, the record is still armed, and the next holder does it all again:
 * putting back the same values twice does no harm.
 */
static void repair(struct bank *b)
{
    struct undo *u = &b->undo;
    if (!u->armed)
        return;  /* it died outside a change: nothing is half done */
    b->balance[u->from] = u->from_was;
    b->balance[u->to] = u->to_was;
    IN_ORDER();
    u->armed = 0;
}

static int lock(struct bank *b)
{
    int err = pthread_mutex_lock(&b->lock);
    if (err == EOWNERDEAD) {
        /* The lock is ours, and the mess of the process that died holding it. */
        repair(b);
        err = pthread_mutex_consistent(&b->lock);
        if (err != 0) {
            warn_err(err, "pthread_mutex_consistent(the bank's lock)");
            pthread_mutex_unlock(&b->lock);
            errno = err;
            return -1;
        }
    }
    if (err != 0) {
        warn_err(err, "pthread_mutex_lock(the bank's lock)");
        errno = err;
        return -1;
    }
    return 0;
}

static int unlock(struct bank *b)
{
    int err = pthread_mutex_unlock(&b->lock);
    if (err != 0) {
        warn_err(err, "pthread_mutex_unlock(the bank's lock)");
        errno = err;
        return -1;
    }
    return 0;
}

int bank_transfer(struct bank *b, int from, int to, long amount)
{
    if (from < 0 || from >= b->accounts || to < 0 || to >= b->accounts || from == to ||
        amount <= 0) {
        fprintf(stderr, "bank_transfer(%d -> %d, %ld): two different accounts of 0 to %d, "
                "and an amount above 0\n", from, to, amount, b->accounts - 1);
        errno = EINVAL;
        return -1;
    }
    if (lock(b) == -1)
        return -1;
    struct undo *u = &b->undo;
    u->from = from;
    u->to = to;
    u->from_was = b->balance[from];
    u->to_was = b->balance[to];
    IN_ORDER();
    u->armed = 1;  /* from here to the disarming, a death is undone */
    IN_ORDER();
    b->balance[from] -= amount;
    b->balance[to] += amount;
    IN_ORDER();
    u->armed = 0;  /* the transfer is made: a death from here on keeps it */
    return unlock(b);
}

int bank_balances(struct bank *b, long balances[])
{
    if (lock(b) == -1)
        return -1;
    for (int i = 0; i < b->accounts; i++)
        balances[i] = b->balance[i];
    return unlock(b);
}

void bank_close(struct bank *b)
{
    if (b != NULL && munmap(b, sizeof *b) == -1)
        warn_errno("munmap(a bank)");
}
