/*
 * thing.h - lesson NN, <title>. The lab owns this file: the tests and the
 * demo use the API exactly as declared here.
 *
 * Declare the lesson's tiny API: a few functions, each documented with what
 * it must do, what it returns, and how it reports an error.
 */
#ifndef THING_H
#define THING_H

/* Does the lesson's one thing. Returns 0, or -1 having said why on stderr. */
int thing_do(int n);

#endif
