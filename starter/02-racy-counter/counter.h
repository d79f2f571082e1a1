/*
 * counter.h - lesson 02, the racy counter. The lab owns this file: the
 * tests and the demo use the counter exactly as declared here.
 *
 * A counter that several processes add to at the same time. One process
 * creates it, then forks the workers; they all add to the same counter.
 *
 * "Having said why" is a line on stderr that names the call that failed
 * (errors.h), e.g.  mmap(counter): Cannot allocate memory
 */
#ifndef COUNTER_H
#define COUNTER_H

struct counter;  /* defined in counter.c: what it holds is up to you */

/*
 * Makes a counter that starts at 0, in memory shared with every process
 * forked after this call. Returns NULL, having said why on stderr, if it
 * cannot.
 */
struct counter *counter_create(void);

/*
 * Adds n to the counter. Many processes call this at the same time, and
 * every addition must count. Returns 0, or -1 (having said why on stderr)
 * if it could not add.
 */
int counter_add(struct counter *c, long n);

/* The counter's value. Called when no process is adding to it. */
long counter_value(struct counter *c);

/*
 * Releases everything counter_create made. Called once, by the process
 * that created the counter, after every other process using it has ended.
 */
void counter_destroy(struct counter *c);

#endif
