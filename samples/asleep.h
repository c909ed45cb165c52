/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whether a thread of this process sleeps inside a given syscall, read from
 * /proc/self/task/TID/{stat,syscall}: what the gdb samples wait for before
 * they stop at a marker, so that gdb finds every waiter on its queue.
 */
#ifndef POLLCOUNT_SAMPLES_ASLEEP_H
#define POLLCOUNT_SAMPLES_ASLEEP_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum sleep_call { IN_EPOLL_WAIT, IN_POLL, IN_READ };

/* The syscalls a thread may sleep in for CALL, whatever libc calls them
 * through. */
static inline int in_call(enum sleep_call call, long nr)
{
	switch (call) {
	case IN_EPOLL_WAIT:
		/* arm64 has only the p-variants of epoll_wait and poll. */
		return nr == SYS_epoll_pwait
#ifdef SYS_epoll_wait
			|| nr == SYS_epoll_wait
#endif
#ifdef SYS_epoll_pwait2
			|| nr == SYS_epoll_pwait2
#endif
			;
	case IN_POLL:
		return nr == SYS_ppoll
#ifdef SYS_poll
			|| nr == SYS_poll
#endif
			;
	case IN_READ:
		return nr == SYS_read;
	}
	return 0;
}

static inline int read_task_file(pid_t tid, const char *file, char *buf, size_t size)
{
	char path[64];
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* Whether thread TID sleeps (state S) inside CALL. */
static inline int asleep_in(pid_t tid, enum sleep_call call)
{
	char buf[512], *p;

	if (!tid || read_task_file(tid, "stat", buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] != 'S')
		return 0;
	if (read_task_file(tid, "syscall", buf, sizeof(buf)) <= 0)
		return 0;
	return in_call(call, strtol(buf, NULL, 10));
}

/*
 * Waits until each of N threads sleeps in its CALLS[i], seen twice 20 ms
 * apart: a thread sets its state just before it queues itself in
 * epoll_wait. *TIDS[i] is where thread i stores its id (gettid()), 0 until
 * it has. Returns 0, or -1 after a minute.
 */
static inline int settle(pid_t *const *tids, const enum sleep_call *calls, int n)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	int i, tries, settled;

	for (tries = 0, settled = 0; settled < 2; tries++) {
		int all = 1;

		if (tries == 3000)
			return -1;
		nanosleep(&tick, NULL);
		for (i = 0; i < n; i++)
			all &= asleep_in(__atomic_load_n(tids[i], __ATOMIC_ACQUIRE), calls[i]);
		settled = all ? settled + 1 : 0;
	}
	return 0;
}

#endif /* POLLCOUNT_SAMPLES_ASLEEP_H */
