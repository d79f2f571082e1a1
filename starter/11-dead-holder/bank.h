/*
 * bank.h - lesson 11, the lock whose holder died. The lab owns this file:
 * the tests and the demo use the bank exactly as declared here.
 *
 * Accounts in memory that processes share, and money moved between them
 * under one lock. Any process may be killed at any moment, SIGKILL
 * included, even while it holds the lock in the middle of a transfer; the
 * bank must go on working for the others all the same, and never create
 * or lose money.
 */
#ifndef BANK_H
#define BANK_H

#define BANK_MAX_ACCOUNTS 64

struct bank;

/*
 * Makes a bank of `accounts` accounts (1 to BANK_MAX_ACCOUNTS), each
 * holding `initial`. Make it before fork: the processes forked afterwards
 * share it. Returns NULL having said why on stderr (errno EINVAL for a
 * count out of range).
 */
struct bank *bank_open(int accounts, long initial);

/*
 * Moves `amount` (more than 0) from account `from` to account `to` (two
 * different accounts), all at once: no process ever sees the money gone
 * from one account and not yet in the other, and an account may go below
 * zero. Returns 0 once the transfer is done; -1 having said why on stderr
 * if it was not made (errno EINVAL for bad arguments).
 *
 * If a process is killed in the middle of bank_transfer, its transfer is
 * either made whole or not made at all, and every other process goes on.
 */
int bank_transfer(struct bank *b, int from, int to, long amount);

/*
 * Copies the balance of every account into balances[0 .. accounts-1], all
 * as they were at one moment (no transfer half seen). Returns 0, or -1
 * having said why on stderr.
 */
int bank_balances(struct bank *b, long balances[]);

/*
 * Lets go of the bank in this process. Call it once in each process that
 * is done with it; the memory goes when the last one lets go.
 * bank_close(NULL) does nothing.
 */
void bank_close(struct bank *b);

#endif
