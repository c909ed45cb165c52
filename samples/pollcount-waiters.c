// SPDX-License-Identifier: GPL-2.0
/*
 * pollcount-waiters: a pollcount counter with one waiter of each kind,
 * held still for gdb's `pollcount-waiters` (scripts/gdb/pollcount-waiters.py),
 * which the scripted gdb session of `make check` asserts against
 * (scripts/gdb/gdb-check, Documentation/gdb.md).
 *
 * The program opens /dev/pollcount (that file stays open, without waiters)
 * and makes an anonymous counter with POLLCOUNT_IOC_CREATE (semaphore mode,
 * blocking). Then, each in a thread named with prctl(PR_SET_NAME):
 *
 *   pcw-ep-lt     asleep in epoll_wait() on set "lt", which watches the
 *                 counter with EPOLLIN, level-triggered
 *   pcw-ep-excl   asleep in epoll_wait() on set "excl", which watches the
 *                 counter with EPOLLIN|EPOLLEXCLUSIVE
 *   pcw-ep-nest   asleep in epoll_wait() on set "nest", which watches the
 *                 fd of set "lt" with EPOLLIN (it is not on the counter's
 *                 queue: it is one level up, on lt's)
 *   pcw-poll      asleep in poll() on the counter, POLLIN
 *   pcw-read      blocked in read() on the counter
 *
 * So the counter's wait queue holds four entries: two epoll items
 * (ep_poll_callback), a poll table entry (pollwake) and the reader's own
 * entry (autoremove_wake_function). The reader is queued before the
 * EPOLLEXCLUSIVE item: a wakeup (nr_exclusive 1) stops after the first
 * exclusive entry it wakes, and the reader's entry, not exclusive but added
 * at the tail as eventfd's readers are, would sleep on behind it.
 *
 * Once every thread sleeps in its syscall, the main thread renames itself
 * pcw-main and makes the marker call, ioctl(counter, PCW_MARK): an unknown
 * ioctl (ENOTTY), where the gdb check stops and walks the queue. Then it
 * writes 10 to the counter and checks that every thread wakes with its
 * event (semaphore mode: the reader takes 1, the rest stay readable).
 *
 * Usage: pollcount-waiters       prints the fds and thread ids, exits 0 when
 *                                every waiter woke as expected
 */
#define _GNU_SOURCE		/* gettid() */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pollcount.h"
#include "asleep.h"

/* Not a pollcount ioctl: the marker gdb breaks on (pollcount's ioctl hook). */
#define PCW_MARK _IO(POLLCOUNT_IOC_MAGIC, 0x7f)

enum what { EP_LT, EP_EXCL, EP_NEST, POLL, READ, NR_WAITERS };

struct waiter {
	const char *name;	/* the thread's comm */
	enum what what;
	int fd;			/* the epoll set, or the counter */
	pid_t tid;
	long ret;
	uint64_t value;		/* epoll_event.data, revents or the value read */
	uint32_t events;
};

static int dev, counter, ep_lt, ep_excl, ep_nest;

static void die(const char *what)
{
	fprintf(stderr, "pollcount-waiters: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct epoll_event ev = { 0 };
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };

	prctl(PR_SET_NAME, w->name);
	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	switch (w->what) {
	case EP_LT:
	case EP_EXCL:
	case EP_NEST:
		w->ret = epoll_wait(w->fd, &ev, 1, -1);
		w->events = ev.events;
		w->value = ev.data.u64;
		break;
	case POLL:
		w->ret = poll(&pfd, 1, -1);
		w->events = pfd.revents;
		break;
	case READ:
		w->ret = read(w->fd, &w->value, sizeof(w->value));
		break;
	default:
		break;
	}
	return NULL;
}

/* The call each kind of waiter sleeps in. */
static enum sleep_call call_of(enum what what)
{
	return what == POLL ? IN_POLL : what == READ ? IN_READ : IN_EPOLL_WAIT;
}

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		die("epoll_ctl");
}

static void start(struct waiter *w, pthread_t *thread)
{
	if (pthread_create(thread, NULL, wait_thread, w))
		die("pthread_create");
}

/* Waits until waiters first..last all sleep in their syscalls. */
static void settle_waiters(struct waiter *w, int first, int last)
{
	pid_t *tids[NR_WAITERS];
	enum sleep_call calls[NR_WAITERS];
	int i;

	for (i = first; i <= last; i++) {
		tids[i - first] = &w[i].tid;
		calls[i - first] = call_of(w[i].what);
	}
	if (settle(tids, calls, last - first + 1)) {
		fprintf(stderr, "pollcount-waiters: the threads did not all fall asleep\n");
		exit(1);
	}
}

int main(void)
{
	struct pollcount_create req = { .count = 0, .flags = POLLCOUNT_SEMAPHORE | POLLCOUNT_CLOEXEC };
	struct waiter w[NR_WAITERS] = {
		[EP_LT] = { .name = "pcw-ep-lt", .what = EP_LT },
		[EP_EXCL] = { .name = "pcw-ep-excl", .what = EP_EXCL },
		[EP_NEST] = { .name = "pcw-ep-nest", .what = EP_NEST },
		[POLL] = { .name = "pcw-poll", .what = POLL },
		[READ] = { .name = "pcw-read", .what = READ },
	};
	pthread_t threads[NR_WAITERS];
	uint64_t ten = 10;
	int i, failed = 0;

	alarm(300);	/* a bug here must not hang the VM until its own limit */
	dev = open("/dev/pollcount", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die("open /dev/pollcount");
	counter = ioctl(dev, POLLCOUNT_IOC_CREATE, &req);
	if (counter < 0)
		die("POLLCOUNT_IOC_CREATE");
	ep_lt = epoll_create1(EPOLL_CLOEXEC);
	ep_excl = epoll_create1(EPOLL_CLOEXEC);
	ep_nest = epoll_create1(EPOLL_CLOEXEC);
	if (ep_lt < 0 || ep_excl < 0 || ep_nest < 0)
		die("epoll_create1");
	w[EP_LT].fd = ep_lt;
	w[EP_EXCL].fd = ep_excl;
	w[EP_NEST].fd = ep_nest;
	w[POLL].fd = counter;
	w[READ].fd = counter;

	/* First the level-triggered item, the poller and the reader; then,
	 * behind them on the queue, the exclusive item; then the waiters on
	 * the epoll sets. */
	add(ep_lt, counter, EPOLLIN, counter);
	start(&w[POLL], &threads[POLL]);
	start(&w[READ], &threads[READ]);
	settle_waiters(w, POLL, READ);
	add(ep_excl, counter, EPOLLIN | EPOLLEXCLUSIVE, counter);
	add(ep_nest, ep_lt, EPOLLIN, ep_lt);
	for (i = EP_LT; i <= EP_NEST; i++)
		start(&w[i], &threads[i]);
	settle_waiters(w, EP_LT, READ);
	printf("pollcount-waiters: pid %d; fds: /dev/pollcount %d, counter %d, epoll lt %d, excl %d, nest %d\n",
	       getpid(), dev, counter, ep_lt, ep_excl, ep_nest);
	for (i = 0; i < NR_WAITERS; i++)
		printf("pollcount-waiters: %-11s tid %d, asleep\n", w[i].name, w[i].tid);
	fflush(stdout);

	/* The marker: gdb stops here, in pollcount's ioctl hook. */
	prctl(PR_SET_NAME, "pcw-main");
	if (ioctl(counter, PCW_MARK) != -1 || errno != ENOTTY)
		die("the marker ioctl is not ENOTTY");

	if (write(counter, &ten, sizeof(ten)) != sizeof(ten))
		die("write");
	for (i = 0; i < NR_WAITERS; i++)
		pthread_join(threads[i], NULL);

	failed |= w[EP_LT].ret != 1 || !(w[EP_LT].events & EPOLLIN) || w[EP_LT].value != (uint64_t)counter;
	failed |= w[EP_EXCL].ret != 1 || !(w[EP_EXCL].events & EPOLLIN);
	failed |= w[EP_NEST].ret != 1 || !(w[EP_NEST].events & EPOLLIN) || w[EP_NEST].value != (uint64_t)ep_lt;
	failed |= w[POLL].ret != 1 || !(w[POLL].events & POLLIN);
	failed |= w[READ].ret != sizeof(uint64_t) || w[READ].value != 1;
	for (i = 0; i < NR_WAITERS; i++)
		printf("pollcount-waiters: %-11s woke: returned %ld, events 0x%x, value %llu\n",
		       w[i].name, w[i].ret, w[i].events, (unsigned long long)w[i].value);
	if (failed) {
		fprintf(stderr, "pollcount-waiters: a waiter did not wake as expected\n");
		return 1;
	}
	printf("pollcount-waiters: every waiter woke with its event: ok\n");
	return 0;
}
