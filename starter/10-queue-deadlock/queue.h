/*
 * queue.h - lesson 10, the queue that deadlocks. The lab owns this file:
 * the tests and the demo use the queue exactly as declared here.
 *
 * A queue of messages between processes, over a pipe, as Python's
 * multiprocessing.Queue: any number of processes put messages of any size
 * into it, and any number take them out. Two ways to use it come with it:
 * gathering what many producers make, and handing messages out to many
 * readers.
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <stddef.h>

#define QUEUE_MAX (1 << 20)    /* the longest message: 1 MiB */
#define QUEUE_MAX_PROCS 64     /* producers or readers at most */
#define QUEUE_END (-2)         /* queue_get: no message will come any more */

struct queue;

/*
 * Makes a queue. Make it before fork: the processes forked afterwards
 * share it. Returns NULL having said why on stderr.
 */
struct queue *queue_open(void);

/*
 * Puts one message of len bytes (0 to QUEUE_MAX). It arrives whole:
 * however many processes put at once, no other message's bytes come
 * between its own. Waits while the queue is full. Returns 0, or -1 having
 * said why on stderr.
 */
int queue_put(struct queue *q, const void *data, size_t len);

/*
 * Takes the next message into buf, which has room for QUEUE_MAX bytes, and
 * returns its length; or QUEUE_END once the stream has ended for this
 * reader; or -1 having said why on stderr. However many processes take at
 * once, each message goes whole to one of them.
 */
long queue_get(struct queue *q, void *buf);

/* Lets go of the queue in this process. queue_close(NULL) does nothing. */
void queue_close(struct queue *q);

/* What a producer runs: puts messages into q; returns 0, or not 0 when it failed. */
typedef int (*queue_producer)(int index, struct queue *q, void *arg);

/* What the gathering process does with each message. */
typedef void (*queue_taker)(const void *data, size_t len, void *arg);

/*
 * Starts `producers` processes (1 to QUEUE_MAX_PROCS); process i runs
 * produce(i, q, arg) and then exits. Meanwhile, in the calling process,
 * hands every message they put to take(data, len, arg), once and whole, as
 * it arrives: a producer may put far more than a pipe holds. A producer's
 * messages arrive in the order it put them.
 *
 * Returns how many messages were taken once every producer has ended and
 * been waited for. Returns -1 (having said why on stderr) when a call
 * failed or a producer failed: produce returned not 0, or its process died;
 * even then, every message that arrived was taken, and every producer was
 * waited for.
 */
long queue_gather(int producers, queue_producer produce, queue_taker take, void *arg);

/* What each reader runs on each message it takes. */
typedef void (*queue_reader)(int index, const void *data, size_t len, void *arg);

/*
 * Starts `readers` processes (1 to QUEUE_MAX_PROCS) and puts the n
 * messages msgs[0..n-1] (lens[i] bytes each, 0 to QUEUE_MAX). Each message
 * goes, once and whole, to one of the readers, which runs
 * consume(index, data, len, arg) on it. When every message is put, tells
 * every reader that no more will come, and waits for each to end.
 *
 * Returns 0, or -1 having said why on stderr: a call failed, or a reader
 * died or failed (then the messages that no reader can take any more are
 * not put, and the others still end).
 */
int queue_scatter(int readers, queue_reader consume, void *arg, const void *const msgs[],
                  const size_t lens[], int n);

#endif
