/*
 * bank.c - lesson 11, the lock whose holder died: the starter.
 *
 * The accounts and their lock live in one shared mapping, made before
 * fork, so every process moves money under the same process-shared mutex.
 * Transfers from many processes add up; but kill one while it holds the
 * lock, and see what the others do (make run LESSON=11).
 */
#include "bank.h"
#include "errors.h"

#include <pthread.h>
#include <sys/mman.h>

struct bank {
    pthread_mutex_t lock;  /* held around every look at the accounts */
    int accounts;
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
    for (int i = 0; i < accounts; i++)
        b->balance[i] = initial;
    return b;
}

static int lock(struct bank *b)
{
    int err = pthread_mutex_lock(&b->lock);
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
    b->balance[from] -= amount;
    b->balance[to] += amount;
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
