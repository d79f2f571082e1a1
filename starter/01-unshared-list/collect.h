/*
 * collect.h - lesson 01, the unshared list. The lab owns this file: the
 * tests and the demo call collect() exactly as declared here.
 */
#ifndef COLLECT_H
#define COLLECT_H

#define COLLECT_MAX 1024

/*
 * Runs work(0), work(1), ... work(n-1), each in a child process of its own,
 * and stores the value that work(i) returns in items[i] of the calling
 * process.
 *
 * Returns 0 when every child finished and succeeded. Returns -1 when n is
 * not between 0 and COLLECT_MAX (then nothing runs), or when a child failed:
 * it exited with a non-zero status or was killed by a signal. It then says
 * on stderr which child failed and how; items[i] of the children that
 * succeeded still holds their values, and items[i] of a child that failed
 * keeps what it held before the call.
 *
 * Either way, every child has ended and been waited for when it returns.
 */
int collect(int n, long (*work)(int index), long items[]);

#endif
