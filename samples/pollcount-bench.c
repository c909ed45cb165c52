// SPDX-License-Identifier: GPL-2.0
/*
 * pollcount-bench: pollcount side by side with the kernel's eventfd.
 * `make bench` runs it in the VM; it prints figures, it asserts nothing
 * about speed (under QEMU's TCG every figure is slow; compare columns).
 *
 *   write+read       one write and one read, one thread
 *   write+poll+read  the same with a poll() between (the poll hook, no wait)
 *   epoll cycle      write, epoll_wait (level-triggered), read
 *   ping-pong        two threads, two counters, blocking reads: a round trip
 *                    is two wakeups of a sleeping reader
 *
 * Columns: eventfd; pollcount opened from /dev/pollcount (a device file, so
 * the VFS also sends fsnotify events on each read and write) and made by
 * POLLCOUNT_IOC_CREATE (an anonymous file, like eventfd's); the mailbox.
 *
 * Usage: pollcount-bench [ITERATIONS]   (default 100000; ping-pong uses 1/10)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "pollcount.h"

enum backend { EVENTFD, POLLCOUNT_OPEN, POLLCOUNT_IOCTL, MAILBOX, BACKENDS };
static const char *const names[BACKENDS] = { "eventfd", "pc-open", "pc-ioctl", "pc-mailbox" };

static int make(enum backend b)
{
	struct pollcount_create req = { .flags = b == MAILBOX ? POLLCOUNT_MAILBOX : 0 };
	int dev, fd;

	if (b == EVENTFD)
		return eventfd(0, 0);
	if (b == POLLCOUNT_OPEN)
		return open("/dev/pollcount", O_RDWR);
	dev = open("/dev/pollcount", O_RDWR);
	fd = ioctl(dev, POLLCOUNT_IOC_CREATE, &req);
	close(dev);
	return fd;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "pollcount-bench: %s: %s\n", what, strerror(errno));
		exit(1);
	}
}

static double write_read(int fd, long n, int with_poll)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v = 1;
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		must(write(fd, &v, 8) == 8, "write");
		if (with_poll)
			must(poll(&p, 1, 0) == 1, "poll");
		must(read(fd, &v, 8) == 8, "read");
	}
	return (now_ns() - t0) / n;
}

static double epoll_cycle(int fd, long n)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(0);
	uint64_t v = 1;
	double t0;
	long i;

	must(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl");
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		must(write(fd, &v, 8) == 8, "write");
		must(epoll_wait(ep, &ev, 1, -1) == 1, "epoll_wait");
		must(read(fd, &v, 8) == 8, "read");
	}
	t0 = (now_ns() - t0) / n;
	close(ep);
	return t0;
}

struct pong {
	int ping, pong;
	long n;
};

static void *ponger(void *arg)
{
	struct pong *p = arg;
	uint64_t v;
	long i;

	for (i = 0; i < p->n; i++) {
		must(read(p->ping, &v, 8) == 8, "pong read");
		must(write(p->pong, &v, 8) == 8, "pong write");
	}
	return NULL;
}

static double ping_pong(enum backend b, long n)
{
	struct pong p = { .ping = make(b), .pong = make(b), .n = n };
	uint64_t v = 1;
	pthread_t t;
	double t0;
	long i;

	must(p.ping >= 0 && p.pong >= 0, "make");
	must(pthread_create(&t, NULL, ponger, &p) == 0, "pthread_create");
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		must(write(p.ping, &v, 8) == 8, "ping write");
		must(read(p.pong, &v, 8) == 8, "ping read");
	}
	t0 = (now_ns() - t0) / n;
	pthread_join(t, NULL);
	close(p.ping);
	close(p.pong);
	return t0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	double r[4][BACKENDS];
	int b, fd;

	if (n <= 0) {
		fprintf(stderr, "usage: %s [ITERATIONS]\n", argv[0]);
		return 2;
	}
	for (b = 0; b < BACKENDS; b++) {
		fd = make(b);
		must(fd >= 0, names[b]);
		write_read(fd, n / 10, 0);		/* warm up */
		r[0][b] = write_read(fd, n, 0);
		r[1][b] = write_read(fd, n, 1);
		r[2][b] = epoll_cycle(fd, n);
		close(fd);
		r[3][b] = ping_pong(b, n / 10);
	}
	static const char *const rows[] = { "write+read", "write+poll+read", "epoll cycle",
					    "ping-pong" };
	int row;

	printf("pollcount-bench: %ld iterations (ping-pong %ld), ns per operation\n", n, n / 10);
	printf("%-16s", "");
	for (b = 0; b < BACKENDS; b++)
		printf(" %11s", names[b]);
	printf(" %16s\n", "pc-ioctl/eventfd");
	for (row = 0; row < 4; row++) {
		printf("%-16s", rows[row]);
		for (b = 0; b < BACKENDS; b++)
			printf(" %11.0f", r[row][b]);
		printf(" %15.2fx\n", r[row][POLLCOUNT_IOCTL] / r[row][EVENTFD]);
	}
	return 0;
}
