/*
 * hosts.h - worker processes on hosts of their own, for the lessons whose
 * manager is reached over a network (hosts.c).
 *
 * A "host" is a network namespace: the worker sees its own interfaces
 * and nothing of the test's but a virtual cable (a veth pair) to it, so
 * it reaches the test's manager as another machine would, by an address
 * on that cable, never by 127.0.0.1. Where namespaces cannot be made (no
 * CAP_NET_ADMIN, as in most sandboxes, or no `ip` command), the worker
 * stays on the test's host and uses loopback; that is said once on stderr.
 * A host also has a name (uname) and process ids of its own, where the
 * machine allows: every worker has the same pid, as workers on machines
 * of their own may.
 */
#ifndef HOSTS_H
#define HOSTS_H

#include <sys/types.h>

/*
 * fork(), with the child on a host of its own. In the child it returns 0
 * once the host is up, with `server` set to the address at which the
 * child reaches the test's host ("100.x.y.z", or "127.0.0.1" on loopback);
 * in the test it returns the child's pid; -1 if fork failed. Services the
 * child is to reach must listen on every address ("0.0.0.0"). The cable
 * goes with the child's namespace when the child ends: nothing is left.
 */
pid_t lab_host_fork(char server[16]);

/*
 * lab_host_fork, on a host called `name` (at most 31 bytes; NULL: a name
 * of its own). Two hosts of one name, one after the other, are one machine
 * started again, as a container is: the same name, and the same pids.
 */
pid_t lab_host_fork_named(char server[16], const char *name);

#endif
