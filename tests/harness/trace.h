/*
 * trace.h - what the race amplifier (amplify.c) and the harness (lab.c)
 * share: a record of the loads and stores the student's code made to one
 * piece of shared memory, in every process, in the order they happened.
 * With it, a lost update is shown as it happened ("worker A loaded 5,
 * worker B loaded 5, A stored 6, B stored 6"), not only as a wrong total.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdint.h>
#include <sys/types.h>

#define TRACE_EVENTS 4096

enum trace_op { TRACE_LOAD, TRACE_STORE };

struct trace_event {
    pid_t pid;
    int op;             /* enum trace_op */
    uintptr_t addr;
    uintptr_t pc;       /* where in the student's code */
    int64_t value;      /* loaded; or, for a store, what it stored (filled in afterwards) */
    int size;           /* 4 or 8 bytes */
    int complete;       /* a store's value is known */
};

struct trace {
    uintptr_t lo, hi;   /* the memory watched: [lo, hi) */
    int next;           /* events taken so far (may pass TRACE_EVENTS: the rest are dropped) */
    struct trace_event events[TRACE_EVENTS];
};

/* The current test's trace (lab_race_trace), shared by its processes; NULL: nothing watched. */
extern struct trace *lab_trace;

#endif
