// SPDX-License-Identifier: GPL-2.0
/*
 * Proof for the series in this folder: samples/rust/rust_misc_device.rs,
 * with its new poll hook, polls like a C driver. Each open of
 * /dev/rust-misc-device has its own buffer; the device is always writable
 * and readable once a write put data in the buffer, and a write wakes
 * whoever waits for that through poll, select, epoll (level- and
 * edge-triggered) or io_uring. Every wakeup test first waits until the
 * waiter really sleeps in its system call, so a missing wakeup hangs the
 * waiter (bounded by its timeout) instead of passing by luck.
 *
 * Built and run by patches/upstream-check, in the VM, on the patched kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define DEVICE "/dev/rust-misc-device"
#define WAIT_MS 10000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/*
 * Whether thread `tid` sleeps interruptibly (state S) inside a system call:
 * /proc/self/task/<tid>/syscall starts with the syscall's number while the
 * thread is blocked in one ("running" or -1 otherwise).
 */
static bool blocked_in_syscall(pid_t tid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (!read_text(path, buf, sizeof(buf)))
		return false;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] != 'S')
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	return read_text(path, buf, sizeof(buf)) && buf[0] >= '0' && buf[0] <= '9';
}

/* The writer of the wakeup tests: once `waiter` sleeps, write "wake". */
struct late_write {
	int fd;
	pid_t waiter;
	bool waiter_slept;
	ssize_t written;
	pthread_t thread;
};

static void *late_write_thread(void *arg)
{
	struct late_write *w = arg;
	double deadline = now_s() + 20;

	while (!w->waiter_slept && now_s() < deadline) {
		w->waiter_slept = blocked_in_syscall(w->waiter);
		sched_yield();
	}
	w->written = write(w->fd, "wake", 4);
	return NULL;
}

static int start_late_write(struct late_write *w, int fd)
{
	*w = (struct late_write){ .fd = fd, .waiter = gettid(), .written = -1 };
	return pthread_create(&w->thread, NULL, late_write_thread, w);
}

FIXTURE(dev)
{
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s (is the series applied and "
				      "CONFIG_SAMPLE_RUST_MISC_DEVICE set?)", DEVICE, strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

static short poll_now(int fd)
{
	struct pollfd pfd = {
		.fd = fd, .events = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM,
	};

	return poll(&pfd, 1, 0) == 1 ? pfd.revents : 0;
}

TEST_F(dev, empty_is_writable_not_readable)
{
	EXPECT_EQ(POLLOUT | POLLWRNORM, poll_now(self->fd));
}

TEST_F(dev, write_makes_it_readable)
{
	char buf[16] = {};

	ASSERT_EQ(5, write(self->fd, "hello", 5));
	EXPECT_EQ(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM, poll_now(self->fd));
	EXPECT_EQ(5, pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_STREQ("hello", buf);
	/* Reading does not consume: still readable. */
	EXPECT_EQ(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM, poll_now(self->fd));
}

TEST_F(dev, each_open_has_its_own_readiness)
{
	int other = open(DEVICE, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, other);
	ASSERT_EQ(5, write(self->fd, "hello", 5));
	EXPECT_EQ(POLLOUT | POLLWRNORM, poll_now(other));
	close(other);
}

TEST_F(dev, poll_sleeps_until_a_write)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	struct late_write w;

	ASSERT_EQ(0, start_late_write(&w, self->fd));
	EXPECT_EQ(1, poll(&pfd, 1, WAIT_MS));
	pthread_join(w.thread, NULL);
	EXPECT_TRUE(w.waiter_slept);
	EXPECT_EQ(4, w.written);
	/* poll reports only what was asked for (and errors). */
	EXPECT_EQ(POLLIN, pfd.revents);
}

TEST_F(dev, select_sleeps_until_a_write)
{
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	struct late_write w;
	fd_set rfds;

	FD_ZERO(&rfds);
	FD_SET(self->fd, &rfds);
	ASSERT_EQ(0, start_late_write(&w, self->fd));
	EXPECT_EQ(1, select(self->fd + 1, &rfds, NULL, NULL, &tv));
	pthread_join(w.thread, NULL);
	EXPECT_TRUE(w.waiter_slept);
	EXPECT_TRUE(FD_ISSET(self->fd, &rfds));
}

/* A new epoll set watching `fd` for `events`, or -1. */
static int epoll_watching(int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = 42 };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(ep);
		return -1;
	}
	return ep;
}

/*
 * epoll_wait() on `ep`, which must sleep until a late write to `fd` wakes
 * it: its result; *slept says whether it really slept before the write.
 */
static int epoll_wait_for_a_write(int ep, int fd, struct epoll_event *ev, bool *slept)
{
	struct late_write w;
	int n;

	*slept = false;
	if (start_late_write(&w, fd))
		return -1;
	n = epoll_wait(ep, ev, 1, WAIT_MS);
	pthread_join(w.thread, NULL);
	*slept = w.waiter_slept && w.written == 4;
	return n;
}

/* The epoll tests, level- and edge-triggered, on a fixture of their own. */
FIXTURE(ep)
{
	int fd, ep;
};

FIXTURE_VARIANT(ep)
{
	uint32_t events;
};

FIXTURE_VARIANT_ADD(ep, level_triggered) { .events = EPOLLIN };
FIXTURE_VARIANT_ADD(ep, edge_triggered) { .events = EPOLLIN | EPOLLET };

FIXTURE_SETUP(ep)
{
	self->fd = open(DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DEVICE, strerror(errno));
	self->ep = epoll_watching(self->fd, variant->events);
	ASSERT_LE(0, self->ep);
}

FIXTURE_TEARDOWN(ep)
{
	close(self->ep);
	close(self->fd);
}

TEST_F(ep, sleeps_until_a_write_then_reports_by_trigger)
{
	struct epoll_event ev = {};
	bool slept;

	EXPECT_EQ(0, epoll_wait(self->ep, &ev, 1, 0));
	EXPECT_EQ(1, epoll_wait_for_a_write(self->ep, self->fd, &ev, &slept));
	EXPECT_TRUE(slept);
	EXPECT_EQ((uint32_t)EPOLLIN, ev.events);
	EXPECT_EQ(42u, ev.data.u64);
	if (!(variant->events & EPOLLET)) {
		/* Level-triggered: still ready, reported again. */
		EXPECT_EQ(1, epoll_wait(self->ep, &ev, 1, 0));
		return;
	}
	/* Edge-triggered: reported once per change... */
	EXPECT_EQ(0, epoll_wait(self->ep, &ev, 1, 0));
	/* ...and a new write is a new change, which wakes a sleeper again. */
	EXPECT_EQ(1, epoll_wait_for_a_write(self->ep, self->fd, &ev, &slept));
	EXPECT_TRUE(slept);
}

TEST_F(dev, io_uring_poll_completes_on_a_write)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct late_write w;
	int ret;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret == -ENOSYS)
		SKIP(return, "no io_uring in this kernel");
	ASSERT_EQ(0, ret);
	io_uring_prep_poll_add(io_uring_get_sqe(&ring), self->fd, POLLIN);
	ASSERT_EQ(1, io_uring_submit(&ring));
	/* Not ready yet: nothing completes. */
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe));

	ASSERT_EQ(0, start_late_write(&w, self->fd));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	pthread_join(w.thread, NULL);
	EXPECT_TRUE(w.waiter_slept);
	EXPECT_EQ(POLLIN, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
}

/* A waiter still queued when its file goes away: close tears it down. */
TEST_F(dev, close_with_a_watching_epoll)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int fd = open(DEVICE, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	close(fd);
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	close(ep);
}

TEST_HARNESS_MAIN
