// SPDX-License-Identifier: GPL-2.0
/*
 * pollcount-demo: the epoll articles' demo, for real. `make run` runs it in
 * the VM; `make shell` lets you run it by hand.
 *
 * Two counters in one epoll set, a writer thread, and an epoll loop that
 * prints every event that arrives:
 *
 *   int dev = open("/dev/pollcount", O_RDWR);        // a counter of its own
 *   struct pollcount_create req = { .count = 0, .flags = 0 };
 *   int counter = ioctl(dev, POLLCOUNT_IOC_CREATE, &req);  // like eventfd2(0, 0)
 *   req.flags = POLLCOUNT_MAILBOX;
 *   int mailbox = ioctl(dev, POLLCOUNT_IOC_CREATE, &req);  // one-slot mailbox
 *
 *   epoll_ctl(ep, EPOLL_CTL_ADD, counter, &(struct epoll_event){ .events = EPOLLIN });
 *   //  -> ep_insert -> ep_item_poll -> vfs_poll -> pollcount's poll hook
 *   //     -> poll_wait -> ep_ptable_queue_proc: the epoll item joins the
 *   //        counter's wait queue
 *   write(counter, &(uint64_t){ 1 }, 8);
 *   //  -> pollcount write -> wake_up_locked_poll(EPOLLIN) -> ep_poll_callback
 *   //     -> the item goes on the ready list
 *   epoll_wait(ep, events, 8, -1);
 *   //  -> ep_send_events -> ep_item_poll -> pollcount's poll hook: EPOLLIN
 *   read(counter, &value, 8);                 // value == 1, the count is 0 again
 *
 * Counter mode adds writes up until a read takes the sum (eventfd); mailbox
 * mode holds one value: the second write blocks until the first is read.
 * The demo exits non-zero if what it read differs from what was written.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pollcount.h"

#define COUNTER_WRITES 3
static const uint64_t mailbox_values[] = { 10, 20, 30 };
#define MAILBOX_WRITES (sizeof(mailbox_values) / sizeof(mailbox_values[0]))

static int counter_fd, mailbox_fd;
static sem_t counter_drained;

static void die(const char *what)
{
	fprintf(stderr, "pollcount-demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static const char *events_str(uint32_t ev, char *buf, size_t len)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ EPOLLIN, "IN" }, { EPOLLRDNORM, "RDNORM" }, { EPOLLOUT, "OUT" },
		{ EPOLLWRNORM, "WRNORM" }, { EPOLLERR, "ERR" }, { EPOLLHUP, "HUP" },
	};
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ev & names[i].bit)
			off += snprintf(buf + off, len - off, "%sEPOLL%s", off ? "|" : "",
					names[i].name);
	return buf;
}

static void *writer(void *arg)
{
	uint64_t v;
	size_t i;

	(void)arg;
	for (i = 1; i <= COUNTER_WRITES; i++) {
		v = i;
		if (write(counter_fd, &v, sizeof(v)) != sizeof(v))
			die("write counter");
		printf("  writer: counter += %llu\n", (unsigned long long)v);
		fflush(stdout);
		sem_wait(&counter_drained);	/* one event per write, for a tidy log */
	}
	for (i = 0; i < MAILBOX_WRITES; i++) {
		v = mailbox_values[i];
		/* Blocks while the slot is full: the reader empties it. */
		if (write(mailbox_fd, &v, sizeof(v)) != sizeof(v))
			die("write mailbox");
		printf("  writer: mailbox <- %llu\n", (unsigned long long)v);
		fflush(stdout);
	}
	return NULL;
}

static void show_device(void)
{
	char line[512];
	struct stat st;
	FILE *kmsg;
	int fd;

	if (stat("/dev/pollcount", &st))
		die("stat /dev/pollcount (is pollcount.ko loaded?)");
	printf("/dev/pollcount: char device %u:%u, mode %04o\n", major(st.st_rdev),
	       minor(st.st_rdev), st.st_mode & 07777);

	/* The module's own log lines, from the kernel log. */
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	kmsg = fd >= 0 ? fdopen(fd, "r") : NULL;
	while (kmsg && fgets(line, sizeof(line), kmsg))
		if (strstr(line, "pollcount"))
			printf("kernel log: %s", strchr(line, ';') ? strchr(line, ';') + 1 : line);
	if (kmsg)
		fclose(kmsg);
}

int main(void)
{
	struct pollcount_create req = { 0 };
	struct epoll_event ev, events[4];
	uint64_t counter_sum = 0, mailbox_got[MAILBOX_WRITES];
	size_t counter_reads = 0, mailbox_reads = 0, i;
	pthread_t thread;
	int dev, ep, n;
	char buf[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	show_device();

	dev = open("/dev/pollcount", O_RDWR);
	if (dev < 0)
		die("open /dev/pollcount");
	counter_fd = ioctl(dev, POLLCOUNT_IOC_CREATE, &req);
	req.flags = POLLCOUNT_MAILBOX;
	mailbox_fd = ioctl(dev, POLLCOUNT_IOC_CREATE, &req);
	if (counter_fd < 0 || mailbox_fd < 0)
		die("POLLCOUNT_IOC_CREATE");
	printf("created counter (fd %d) and mailbox (fd %d) with POLLCOUNT_IOC_CREATE\n",
	       counter_fd, mailbox_fd);

	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.fd = counter_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, counter_fd, &ev))
		die("epoll_ctl counter");
	ev.data.fd = mailbox_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, mailbox_fd, &ev))
		die("epoll_ctl mailbox");
	printf("epoll set %d watches both for EPOLLIN (level-triggered)\n", ep);

	sem_init(&counter_drained, 0, 0);
	if (pthread_create(&thread, NULL, writer, NULL))
		die("pthread_create");

	while (counter_reads < COUNTER_WRITES || mailbox_reads < MAILBOX_WRITES) {
		n = epoll_wait(ep, events, 4, 10000);
		if (n <= 0) {
			fprintf(stderr, "pollcount-demo: epoll_wait: %s\n",
				n ? strerror(errno) : "no event in 10 s");
			return 1;
		}
		for (i = 0; i < (size_t)n; i++) {
			int fd = events[i].data.fd;
			uint64_t value;

			if (read(fd, &value, sizeof(value)) != sizeof(value))
				die("read");
			printf("  epoll: %s on %s -> read %llu\n",
			       events_str(events[i].events, buf, sizeof(buf)),
			       fd == counter_fd ? "counter" : "mailbox",
			       (unsigned long long)value);
			if (fd == counter_fd) {
				counter_sum += value;
				counter_reads++;
				sem_post(&counter_drained);
			} else if (mailbox_reads < MAILBOX_WRITES) {
				mailbox_got[mailbox_reads++] = value;
			}
		}
	}
	pthread_join(thread, NULL);

	if (counter_sum != COUNTER_WRITES * (COUNTER_WRITES + 1) / 2) {
		fprintf(stderr, "pollcount-demo: counter read %llu in all, expected %d\n",
			(unsigned long long)counter_sum, COUNTER_WRITES * (COUNTER_WRITES + 1) / 2);
		return 1;
	}
	for (i = 0; i < MAILBOX_WRITES; i++) {
		if (mailbox_got[i] != mailbox_values[i]) {
			fprintf(stderr, "pollcount-demo: mailbox value %zu was %llu, expected %llu\n",
				i, (unsigned long long)mailbox_got[i],
				(unsigned long long)mailbox_values[i]);
			return 1;
		}
	}
	printf("counter: %zu events, sum %llu; mailbox: %zu values in order. OK\n",
	       counter_reads, (unsigned long long)counter_sum, mailbox_reads);
	return 0;
}
