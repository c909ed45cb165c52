/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backends for pollcount's differential selftests.
 *
 * Each semantic test is written once, against a counter made by one of:
 *   eventfd            the kernel's eventfd2()            (the reference)
 *   pollcount_open     open("/dev/pollcount")             (counter mode)
 *   pollcount_create   ioctl(POLLCOUNT_IOC_CREATE)        (counter mode)
 *   pollcount_mailbox  ioctl(POLLCOUNT_IOC_CREATE, MAILBOX) (its own rules)
 * Counter mode must match eventfd in return values, errnos, masks and
 * wakeups. The pollcount backends skip (KSFT_SKIP) without /dev/pollcount.
 */
#ifndef POLLCOUNT_BACKEND_H
#define POLLCOUNT_BACKEND_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pollcount.h"

#define POLLCOUNT_DEV "/dev/pollcount"
#define COUNT_MAX 0xfffffffffffffffeULL	/* the largest count a write reaches */

enum backend { EVENTFD, PC_OPEN, PC_CREATE, PC_MAILBOX };

/* An address no process maps (the zero page's neighbour), hidden from the compiler. */
static volatile uintptr_t bad_address = 8;
#define BAD_PTR ((void *)bad_address)

static inline bool pollcount_present(void)
{
	return access(POLLCOUNT_DEV, F_OK) == 0;
}

static inline bool is_mailbox(enum backend b)
{
	return b == PC_MAILBOX;
}

/*
 * A counter with `initial` count and eventfd2() flags (EFD_SEMAPHORE,
 * EFD_NONBLOCK, EFD_CLOEXEC: equal to the POLLCOUNT_* flags). Returns the
 * fd, or -1 with errno set; EOPNOTSUPP for what a backend cannot make
 * (open() has no semaphore mode; eventfd2() takes a 32-bit initial count).
 */
static inline int backend_make(enum backend b, uint64_t initial, int flags)
{
	struct pollcount_create req = { .count = initial, .flags = (__u32)flags };
	int fd, dev, saved;

	switch (b) {
	case EVENTFD:
		if (initial > COUNT_MAX) {
			errno = EOPNOTSUPP;
			return -1;
		}
		fd = eventfd(0, flags);
		break;
	case PC_OPEN:
		if (flags & EFD_SEMAPHORE) {
			errno = EOPNOTSUPP;
			return -1;
		}
		if (initial > COUNT_MAX) {
			errno = EOPNOTSUPP;
			return -1;
		}
		fd = open(POLLCOUNT_DEV, O_RDWR | (flags & (O_NONBLOCK | O_CLOEXEC)));
		break;
	case PC_CREATE:
	case PC_MAILBOX:
		if (b == PC_MAILBOX)
			req.flags |= POLLCOUNT_MAILBOX;
		dev = open(POLLCOUNT_DEV, O_RDWR | O_CLOEXEC);
		if (dev < 0)
			return -1;
		fd = ioctl(dev, POLLCOUNT_IOC_CREATE, &req);
		saved = errno;
		close(dev);
		errno = saved;
		return fd;
	default:
		errno = EINVAL;
		return -1;
	}
	/* eventfd and open start at 0: write the initial count. */
	if (fd >= 0 && initial && write(fd, &initial, 8) != 8) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static inline ssize_t write_u64(int fd, uint64_t v)
{
	return write(fd, &v, sizeof(v));
}

/* Reads one value; returns it, or sets *err to errno (else to 0). */
static inline uint64_t read_u64(int fd, int *err)
{
	uint64_t v = 0;

	*err = read(fd, &v, sizeof(v)) == sizeof(v) ? 0 : errno;
	return v;
}

/*
 * Takes the counter's value without blocking, whatever the fd's
 * O_NONBLOCK (preadv2 with RWF_NOWAIT); sets *err to errno, else to 0.
 */
static inline uint64_t read_u64_nowait(int fd, int *err)
{
	uint64_t v = 0;
	struct iovec iov = { &v, sizeof(v) };

	*err = preadv2(fd, &iov, 1, -1, RWF_NOWAIT) == sizeof(v) ? 0 : errno;
	return v;
}

/* A /proc file's text (NUL-terminated, at most size - 1 bytes); false if unreadable or empty. */
static inline bool read_text(const char *path, char *text, size_t size)
{
	ssize_t n;
	int f = open(path, O_RDONLY | O_CLOEXEC);

	if (f < 0)
		return false;
	n = read(f, text, size - 1);
	close(f);
	if (n <= 0)
		return false;
	text[n] = '\0';
	return true;
}

/* /proc/self/fdinfo/<fd> into text (NUL-terminated); false if unreadable. */
static inline bool read_fdinfo(int fd, char *text, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	return read_text(path, text, size);
}

/* The count in fdinfo's text, for eventfd ("eventfd-count:") and pollcount alike. */
static inline bool fdinfo_parse_count(const char *text, uint64_t *count)
{
	const char *p = strstr(text, "-count:");
	unsigned long long c;

	if (!p || sscanf(p, "-count: %llx", &c) != 1)
		return false;
	*count = c;
	return true;
}

static inline bool fdinfo_count(int fd, uint64_t *count)
{
	char text[512];

	return read_fdinfo(fd, text, sizeof(text)) && fdinfo_parse_count(text, count);
}

static inline void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* poll() revents for `events`, without waiting. */
static inline short poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A thread's state letter from /proc/self/task/<tid>/stat ('S': sleeping). */
static inline char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (!read_text(path, buf, sizeof(buf)))
		return '?';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/*
 * Whether thread `tid` is inside a system call and not running: the first
 * field of /proc/self/task/<tid>/syscall is the syscall's number while the
 * thread is blocked in one, "running" while it runs, -1 outside syscalls.
 */
static inline bool in_syscall(pid_t tid)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	return read_text(path, buf, sizeof(buf)) && buf[0] >= '0' && buf[0] <= '9';
}

/* Whether thread `tid` sleeps interruptibly (state S) inside a system call. */
static inline bool blocked_in_syscall(pid_t tid)
{
	return thread_state(tid) == 'S' && in_syscall(tid);
}

/*
 * Waits until thread `tid` sleeps interruptibly (state S) inside a system
 * call: synchronisation, not a timed sleep, so a test knows a blocking
 * syscall really blocked before it acts. State S alone would also be true
 * of a thread paused anywhere else (a page fault, a futex in libc).
 * Returns false after 20 s.
 */
static inline bool wait_until_sleeping(pid_t tid)
{
	double deadline = now_s() + 20;

	while (now_s() < deadline) {
		if (blocked_in_syscall(tid))
			return true;
		sched_yield();
	}
	return false;
}

/*
 * Starts fn(arg) in a thread whose first act is storing its tid in *tid,
 * and returns once that thread sleeps in the kernel (false after 20 s).
 */
static inline bool start_blocked_thread(pthread_t *t, void *(*fn)(void *), void *arg,
					pid_t *tid)
{
	if (pthread_create(t, NULL, fn, arg))
		return false;
	while (!__atomic_load_n(tid, __ATOMIC_ACQUIRE))
		sched_yield();
	return wait_until_sleeping(*tid);
}

/* For a thread started by start_blocked_thread(): announce the tid. */
static inline void announce_tid(pid_t *tid)
{
	__atomic_store_n(tid, gettid(), __ATOMIC_RELEASE);
}

/* Passes `fd` over the unix socket `sock` (SCM_RIGHTS). */
static inline int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte = 'x';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/* Receives an fd passed by send_fd(); -1 on failure. */
static inline int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/*
 * A thread that blocks in poll() or select(), with no timeout: only the
 * wakeup under test can end its wait (a timeout would end it too, and its
 * final re-poll would then report the event anyway). If the wakeup never
 * comes, the harness's timeout fails the test.
 */
struct waiter {
	int fd;
	short events;		/* POLLIN or POLLOUT */
	bool use_select;
	pid_t tid;
	int ret;
	short revents;
};

static inline void *wait_for_events(void *arg)
{
	struct waiter *w = arg;

	announce_tid(&w->tid);
	if (w->use_select) {
		fd_set set;

		FD_ZERO(&set);
		FD_SET(w->fd, &set);
		w->ret = select(w->fd + 1, w->events == POLLIN ? &set : NULL,
				w->events == POLLOUT ? &set : NULL, NULL, NULL);
		w->revents = FD_ISSET(w->fd, &set) ? w->events : 0;
	} else {
		struct pollfd p = { .fd = w->fd, .events = w->events };

		w->ret = poll(&p, 1, -1);
		w->revents = p.revents;
	}
	return NULL;
}

#define BACKEND_VARIANTS(fixture)					\
	FIXTURE_VARIANT_ADD(fixture, eventfd) { .b = EVENTFD };		\
	FIXTURE_VARIANT_ADD(fixture, pollcount_open) { .b = PC_OPEN };	\
	FIXTURE_VARIANT_ADD(fixture, pollcount_create) { .b = PC_CREATE }; \
	FIXTURE_VARIANT_ADD(fixture, pollcount_mailbox) { .b = PC_MAILBOX }

/* In FIXTURE_SETUP: skip pollcount backends when the module is not loaded. */
#define SKIP_IF_ABSENT(b)						\
	do {								\
		if ((b) != EVENTFD && !pollcount_present())		\
			SKIP(return, "/dev/pollcount is absent: load pollcount.ko"); \
	} while (0)

#endif /* POLLCOUNT_BACKEND_H */
