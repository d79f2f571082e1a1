/*
 * channel.h - lesson 03, values, arrays and signalling. The lab owns this
 * file: the tests and the demo use the channel exactly as declared here.
 *
 * A writer process hands messages, one after another, to a reader process
 * (Python's version: a shared Value and Array that the writer sets and the
 * reader watches, with -1 to end). A message is a value and an array; the
 * writer fills the whole array with the value, so a reader that sees a mix
 * of two messages can tell.
 *
 * "Having said why" is a line on stderr that names the call that failed
 * (errors.h), e.g.  sem_wait: Interrupted system call
 */
#ifndef CHANNEL_H
#define CHANNEL_H

#define CHANNEL_ITEMS 16
#define CHANNEL_END (-1)  /* the value of the last message */

struct message {
    int value;
    int array[CHANNEL_ITEMS];
};

struct channel;  /* defined in channel.c */

/*
 * Makes a channel in memory shared with the processes forked after this
 * call. NULL, having said why on stderr, if it cannot.
 */
struct channel *channel_create(void);

/*
 * Writer: hands *m to the reader. The reader must receive every message,
 * once, whole and in order, so this may have to wait for the reader to
 * take the one before. 0, or -1 having said why on stderr.
 */
int channel_publish(struct channel *ch, const struct message *m);

/*
 * Reader: waits for the next message and copies it into *m. While it
 * waits it must sleep, not spin. 0, or -1 having said why on stderr.
 */
int channel_receive(struct channel *ch, struct message *m);

/* Releases the channel; called once, by its creator, after both processes are done. */
void channel_destroy(struct channel *ch);

#endif
