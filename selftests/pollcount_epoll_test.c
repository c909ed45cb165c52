// SPDX-License-Identifier: GPL-2.0
/*
 * epoll's contract against eventfd and every pollcount backend: level and
 * edge triggered, EPOLLONESHOT, EPOLLEXCLUSIVE (wakeups counted), epoll in
 * epoll, epoll in poll, EPOLL_CTL_DEL, close of a watched fd, and the
 * epoll_data round trip. Event masks and wakeup counts must match eventfd.
 */
#include <sys/epoll.h>

#include "kselftest_harness.h"
#include "pollcount_backend.h"

FIXTURE(ep)
{
	int fd;		/* non-blocking counter at 0 */
	int ep;
};

FIXTURE_VARIANT(ep)
{
	enum backend b;
};

BACKEND_VARIANTS(ep);

FIXTURE_SETUP(ep)
{
	SKIP_IF_ABSENT(variant->b);
	self->fd = backend_make(variant->b, 0, EFD_NONBLOCK);
	ASSERT_LE(0, self->fd) TH_LOG("make: %s", strerror(errno));
	self->ep = epoll_create1(0);
	ASSERT_LE(0, self->ep);
}

FIXTURE_TEARDOWN(ep)
{
	close(self->ep);
	close(self->fd);
}

static int add(int ep, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* epoll_wait() without blocking; returns the number of events, *mask the first's. */
static int wait_now(int ep, uint32_t *mask)
{
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, 0);

	if (mask)
		*mask = n > 0 ? ev[0].events : 0;
	return n;
}

/* Empties the counter, whatever its mode. */
static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

TEST_F(ep, level_triggered_reports_until_drained)
{
	uint32_t mask;

	ASSERT_EQ(0, add(self->ep, self->fd, EPOLLIN));
	EXPECT_EQ(0, wait_now(self->ep, NULL));
	ASSERT_EQ(8, write_u64(self->fd, 1));
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	EXPECT_EQ(EPOLLIN, mask);
	/* Level-triggered: again and again while readable. */
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	drain(self->fd);
	EXPECT_EQ(0, wait_now(self->ep, NULL));
}

TEST_F(ep, level_triggered_in_and_out)
{
	uint32_t mask;

	ASSERT_EQ(0, add(self->ep, self->fd, EPOLLIN | EPOLLOUT));
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	EXPECT_EQ(EPOLLOUT, mask);
	ASSERT_EQ(8, write_u64(self->fd, 1));
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	EXPECT_EQ(is_mailbox(variant->b) ? EPOLLIN : EPOLLIN | EPOLLOUT, mask);
}

TEST_F(ep, edge_triggered_once_per_write)
{
	uint32_t mask;

	ASSERT_EQ(0, add(self->ep, self->fd, EPOLLIN | EPOLLET));
	ASSERT_EQ(8, write_u64(self->fd, 1));
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	EXPECT_EQ(EPOLLIN, mask);
	/* Once per change, even though still readable. */
	EXPECT_EQ(0, wait_now(self->ep, NULL));
	if (is_mailbox(variant->b)) {
		/* A full slot takes no second write: empty it, refill it. */
		drain(self->fd);
		EXPECT_EQ(0, wait_now(self->ep, NULL));
	}
	/* Every write is a new edge, like eventfd's (its wakeup is per write). */
	ASSERT_EQ(8, write_u64(self->fd, 2));
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	EXPECT_EQ(EPOLLIN, mask);
	EXPECT_EQ(0, wait_now(self->ep, NULL));
}

TEST_F(ep, edge_triggered_write_of_zero)
{
	if (is_mailbox(variant->b))
		SKIP(return, "a mailbox refuses 0 (EINVAL)");
	ASSERT_EQ(0, add(self->ep, self->fd, EPOLLIN | EPOLLET));
	/* A write of 0 wakes, but the re-poll finds nothing to read. */
	ASSERT_EQ(8, write_u64(self->fd, 0));
	EXPECT_EQ(0, wait_now(self->ep, NULL));
	ASSERT_EQ(8, write_u64(self->fd, 5));
	ASSERT_EQ(8, write_u64(self->fd, 0));
	/* Two wakeups, one ready item: reported once. */
	EXPECT_EQ(1, wait_now(self->ep, NULL));
	EXPECT_EQ(0, wait_now(self->ep, NULL));
}

TEST_F(ep, edge_triggered_out_after_read)
{
	uint32_t mask;
	int err;

	ASSERT_EQ(8, write_u64(self->fd, COUNT_MAX));	/* full */
	ASSERT_EQ(0, add(self->ep, self->fd, EPOLLOUT | EPOLLET));
	EXPECT_EQ(0, wait_now(self->ep, NULL));
	EXPECT_EQ(COUNT_MAX, read_u64(self->fd, &err));
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	EXPECT_EQ(EPOLLOUT, mask);
	EXPECT_EQ(0, wait_now(self->ep, NULL));
}

/*
 * Keyed wakeups: a write wakes with EPOLLIN, so ep_poll_callback() skips an
 * edge-triggered item that only wants EPOLLOUT. An unkeyed wakeup would
 * queue it, and the re-poll would report the (unchanged) EPOLLOUT again.
 */
TEST_F(ep, write_does_not_wake_an_out_only_edge_item)
{
	uint32_t mask;

	ASSERT_EQ(0, add(self->ep, self->fd, EPOLLOUT | EPOLLET));
	EXPECT_EQ(1, wait_now(self->ep, &mask));	/* the initial edge */
	EXPECT_EQ(EPOLLOUT, mask);
	ASSERT_EQ(8, write_u64(self->fd, 1));
	EXPECT_EQ(0, wait_now(self->ep, NULL));
}

/* ... and a read wakes with EPOLLOUT, skipping an item that only wants EPOLLIN. */
TEST_F(ep, read_does_not_wake_an_in_only_edge_item)
{
	int fd = backend_make(variant->b, 5, EFD_SEMAPHORE | EFD_NONBLOCK), err;
	uint32_t mask;

	if (fd < 0 && (errno == EOPNOTSUPP || is_mailbox(variant->b)))
		SKIP(return, "needs semaphore mode, to stay readable after a read");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, add(self->ep, fd, EPOLLIN | EPOLLET));
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	EXPECT_EQ(EPOLLIN, mask);
	EXPECT_EQ(1, read_u64(fd, &err));	/* 4 left: still readable */
	EXPECT_EQ(0, wait_now(self->ep, NULL));
	close(fd);
}

TEST_F(ep, oneshot_until_rearmed)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = self->fd };
	uint32_t mask;

	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_ADD, self->fd, &ev));
	ASSERT_EQ(8, write_u64(self->fd, 1));
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	/* Disarmed: still readable, still written to, no event. */
	EXPECT_EQ(0, wait_now(self->ep, NULL));
	if (!is_mailbox(variant->b))
		ASSERT_EQ(8, write_u64(self->fd, 1));
	EXPECT_EQ(0, wait_now(self->ep, NULL));
	/* EPOLL_CTL_MOD re-arms it. */
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_MOD, self->fd, &ev));
	EXPECT_EQ(1, wait_now(self->ep, &mask));
	EXPECT_EQ(EPOLLIN, mask);
	EXPECT_EQ(0, wait_now(self->ep, NULL));
}

/*
 * EPOLLEXCLUSIVE only limits wakeups of epoll sets that have a waiter:
 * ep_poll_callback() reports "woken exclusively" only when it woke one.
 * With no thread in epoll_wait(), one write readies every set.
 */
static int ready_sets_after_one_write(enum backend b, bool exclusive, int nep)
{
	int fd = backend_make(b, 0, EFD_NONBLOCK), eps[8], i, ready = 0;

	if (fd < 0)
		return -1;
	for (i = 0; i < nep; i++) {
		eps[i] = epoll_create1(0);
		if (add(eps[i], fd, EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0)))
			return -1;
	}
	if (write_u64(fd, 1) != 8)
		return -1;
	for (i = 0; i < nep; i++) {
		ready += wait_now(eps[i], NULL);
		close(eps[i]);
	}
	close(fd);
	return ready;
}

TEST_F(ep, exclusive_without_waiters_readies_every_set)
{
	EXPECT_EQ(4, ready_sets_after_one_write(variant->b, true, 4));
	EXPECT_EQ(4, ready_sets_after_one_write(variant->b, false, 4));
}

struct blocked_wait {
	int ep;
	pid_t tid;
	int n;
	struct epoll_event ev;
};

static void *epoll_wait_thread(void *arg)
{
	struct blocked_wait *w = arg;
	int n;

	announce_tid(&w->tid);
	n = epoll_wait(w->ep, &w->ev, 1, -1);	/* only a wakeup ends it */
	__atomic_store_n(&w->n, n, __ATOMIC_RELEASE);
	return NULL;
}

#define WAITERS 4

/*
 * WAITERS threads, each blocked in epoll_wait() on its own epoll set that
 * watches the counter; one write. Returns how many threads got the event
 * within 20 s. Wakeups happen inside write(): a thread that did not get the
 * event must have been asleep when write() returned, and still be.
 */
static int threads_woken_by_one_write(struct __test_metadata *_metadata, int fd,
				      bool exclusive)
{
	struct blocked_wait w[WAITERS];
	pthread_t t[WAITERS];
	bool sleeping[WAITERS];
	int i, woken = 0, expect = exclusive ? 1 : WAITERS;
	double deadline;

	for (i = 0; i < WAITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].ep = epoll_create1(0);
		if (add(w[i].ep, fd, EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0)) ||
		    !start_blocked_thread(&t[i], epoll_wait_thread, &w[i], &w[i].tid))
			return -1;
	}
	if (write_u64(fd, 1) != 8)
		return -1;
	for (i = 0; i < WAITERS; i++)
		sleeping[i] = blocked_in_syscall(w[i].tid);

	deadline = now_s() + 20;
	do {
		for (i = 0, woken = 0; i < WAITERS; i++)
			woken += __atomic_load_n(&w[i].n, __ATOMIC_ACQUIRE) == 1;
		sched_yield();
	} while (woken < expect && now_s() < deadline);

	for (i = 0; i < WAITERS; i++) {
		if (w[i].n == 1) {
			EXPECT_EQ(EPOLLIN, w[i].ev.events);
		} else {
			/* Not woken: it was, and is, asleep. */
			EXPECT_TRUE(sleeping[i]);
			EXPECT_TRUE(blocked_in_syscall(w[i].tid));
		}
		pthread_cancel(t[i]);
		pthread_join(t[i], NULL);
		close(w[i].ep);
	}
	return woken;
}

/* The contract: one write, one of N exclusive waiters; all N without the flag. */
TEST_F(ep, exclusive_wakes_one_blocked_thread)
{
	EXPECT_EQ(1, threads_woken_by_one_write(_metadata, self->fd, true));
}

TEST_F(ep, non_exclusive_wakes_every_blocked_thread)
{
	EXPECT_EQ(WAITERS, threads_woken_by_one_write(_metadata, self->fd, false));
}

TEST_F(ep, epoll_in_epoll)
{
	int outer = epoll_create1(0);
	struct epoll_event ev;

	ASSERT_LE(0, outer);
	ASSERT_EQ(0, add(self->ep, self->fd, EPOLLIN));
	ASSERT_EQ(0, add(outer, self->ep, EPOLLIN));
	EXPECT_EQ(0, epoll_wait(outer, &ev, 1, 0));
	ASSERT_EQ(8, write_u64(self->fd, 1));
	EXPECT_EQ(1, epoll_wait(outer, &ev, 1, 0));
	EXPECT_EQ(EPOLLIN, ev.events);
	EXPECT_EQ(self->ep, ev.data.fd);
	EXPECT_EQ(1, wait_now(self->ep, NULL));
	drain(self->fd);
	EXPECT_EQ(0, epoll_wait(outer, &ev, 1, 0));
	close(outer);
}

TEST_F(ep, epoll_in_poll_wakes)
{
	struct waiter a = { .fd = self->ep, .events = POLLIN };
	pthread_t t;

	ASSERT_EQ(0, add(self->ep, self->fd, EPOLLIN));
	ASSERT_TRUE(start_blocked_thread(&t, wait_for_events, &a, &a.tid));
	ASSERT_EQ(8, write_u64(self->fd, 1));
	pthread_join(t, NULL);
	EXPECT_EQ(1, a.ret);
	EXPECT_EQ(POLLIN, a.revents);
}

TEST_F(ep, epoll_wait_wakes_on_write_from_another_thread)
{
	struct blocked_wait w = { .ep = self->ep };
	pthread_t t;

	ASSERT_EQ(0, add(self->ep, self->fd, EPOLLIN));
	ASSERT_TRUE(start_blocked_thread(&t, epoll_wait_thread, &w, &w.tid));
	ASSERT_EQ(8, write_u64(self->fd, 7));
	pthread_join(t, NULL);
	EXPECT_EQ(1, w.n);
	EXPECT_EQ(EPOLLIN, w.ev.events);
	EXPECT_EQ(self->fd, w.ev.data.fd);
}

TEST_F(ep, ctl_del_stops_events)
{
	ASSERT_EQ(0, add(self->ep, self->fd, EPOLLIN));
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_DEL, self->fd, NULL));
	ASSERT_EQ(8, write_u64(self->fd, 1));
	EXPECT_EQ(0, wait_now(self->ep, NULL));
	/* Deleting twice: ENOENT, as for any file. */
	EXPECT_EQ(-1, epoll_ctl(self->ep, EPOLL_CTL_DEL, self->fd, NULL));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(ep, close_of_watched_fd_removes_it)
{
	int fd = backend_make(variant->b, 1, EFD_NONBLOCK);	/* ready */

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, add(self->ep, fd, EPOLLIN));
	EXPECT_EQ(1, wait_now(self->ep, NULL));
	/* The last close releases the file; epoll forgets it, ready or not. */
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(0, wait_now(self->ep, NULL));
}

TEST_F(ep, close_of_a_dup_keeps_it)
{
	int fd = backend_make(variant->b, 1, EFD_NONBLOCK), copy;

	ASSERT_LE(0, fd);
	copy = dup(fd);
	ASSERT_EQ(0, add(self->ep, fd, EPOLLIN));
	/* epoll watches the file, not the fd: a live dup keeps it watched. */
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(1, wait_now(self->ep, NULL));
	close(copy);
	EXPECT_EQ(0, wait_now(self->ep, NULL));
}

TEST_F(ep, epoll_data_round_trip)
{
	static int anchor;
	struct epoll_event ev = { .events = EPOLLIN };
	int copy1 = dup(self->fd), copy2 = dup(self->fd);

	ev.data.fd = 1234;
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_ADD, self->fd, &ev));
	ev.data.ptr = &anchor;
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_ADD, copy1, &ev));
	ev.data.u64 = 0xfedcba9876543210ULL;
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_ADD, copy2, &ev));
	ASSERT_EQ(8, write_u64(self->fd, 1));

	struct epoll_event out[3];
	int n = epoll_wait(self->ep, out, 3, 0), i, seen = 0;

	ASSERT_EQ(3, n);
	for (i = 0; i < n; i++) {
		if (out[i].data.fd == 1234 && out[i].data.u64 >> 32 == 0)
			seen |= 1;
		else if (out[i].data.ptr == &anchor)
			seen |= 2;
		else if (out[i].data.u64 == 0xfedcba9876543210ULL)
			seen |= 4;
	}
	EXPECT_EQ(7, seen);
	close(copy1);
	close(copy2);
}

TEST_HARNESS_MAIN
