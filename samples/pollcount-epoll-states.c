// SPDX-License-Identifier: GPL-2.0
/*
 * pollcount-epoll-states: the states of an epoll set that the epoll articles
 * describe, made one at a time on pollcount counters and held still at a
 * marker for gdb to look at (`pollcount-eventpoll`,
 * scripts/gdb/pollcount-eventpoll.py). The scripted gdb session of
 * `make check` draws the set at each marker and asserts what it sees
 * (Documentation/epoll-claims.md); this program asserts what epoll_wait()
 * returns.
 *
 * One epoll set, "main", watches four counters, each with its own
 * epoll_data (64 bits, handed back untouched):
 *
 *   lt        EPOLLIN                 data 0x1111000000000001
 *   et        EPOLLIN|EPOLLET         data 0x2222000000000002
 *   oneshot   EPOLLIN|EPOLLONESHOT    data 0x3333000000000003
 *   late      EPOLLIN                 data 0x4444000000000004
 *
 * The markers (step: what the set holds then):
 *
 *   1 added       four epitems, none ready; rdllist empty, ovflist unused
 *   2 written     lt, et and oneshot written: rdllist lt, et, oneshot
 *   3 delivered   after epoll_wait() returned those three: lt is back on
 *                 rdllist (level-triggered re-queue in ep_deliver_event());
 *                 et is not; oneshot is disarmed (no events left)
 *   4 again       a second epoll_wait() returned lt alone
 *   5 drained     the counters read, epoll_wait() returned nothing; lt left
 *                 the list when it was polled and found empty
 *   6 scanning    lt and et written; a thread's epoll_wait() copied lt out
 *                 and stalls copying et to a page that is not there yet
 *                 (userfaultfd), ep->mtx held, ep->lock not, the scan
 *                 active; late was written meanwhile: ep_poll_callback()
 *                 chained it on ovflist, not rdllist
 *   7 scanned     the page supplied, that epoll_wait() returned the two it
 *                 had taken (lt, et); ep_done_scan() moved late from
 *                 ovflist to the head of rdllist, so the next epoll_wait()
 *                 returns late, then lt
 *   8 exclusive   two more sets, "excl1" and "excl2", watch one counter with
 *                 EPOLLIN|EPOLLEXCLUSIVE, a thread asleep in epoll_wait() on
 *                 each; one write woke exactly one: the wakeup stops at the
 *                 first exclusive item whose set has a sleeper, so the
 *                 other set's item is not even queued and its thread sleeps
 *                 on (a set without a sleeper would not stop it: its item
 *                 is queued and the walk goes on)
 *
 * A marker is ioctl(counter lt, PCS_MARK, step): not a pollcount ioctl
 * (ENOTTY), so pollcount's ioctl hook is where gdb stops.
 *
 * Usage: pollcount-epoll-states    prints each step; exits 0 when every
 *                                  epoll_wait() returned what epoll promises
 */
#define _GNU_SOURCE		/* gettid() */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pollcount.h"
#include "asleep.h"

/* Not a pollcount ioctl: the marker gdb breaks on (pollcount's ioctl hook). */
#define PCS_MARK _IO(POLLCOUNT_IOC_MAGIC, 0x7e)

enum item { LT, ET, ONESHOT, LATE, EXCL, NR_COUNTERS };
static const uint32_t item_events[] = {
	[LT] = EPOLLIN,
	[ET] = EPOLLIN | EPOLLET,
	[ONESHOT] = EPOLLIN | EPOLLONESHOT,
	[LATE] = EPOLLIN,
	[EXCL] = EPOLLIN | EPOLLEXCLUSIVE,
};
static const uint64_t item_data[] = {
	[LT] = 0x1111000000000001ull,
	[ET] = 0x2222000000000002ull,
	[ONESHOT] = 0x3333000000000003ull,
	[LATE] = 0x4444000000000004ull,
	[EXCL] = 0x5555000000000005ull,
};
static const char *const item_name[] = { "lt", "et", "oneshot", "late", "excl" };

static int counters[NR_COUNTERS], ep;
static int failed;

static void die(const char *what)
{
	fprintf(stderr, "pollcount-epoll-states: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void expect(int ok, const char *what)
{
	printf("pollcount-epoll-states:   %s: %s\n", what, ok ? "ok" : "FAILED");
	failed |= !ok;
}

static void mark(int step, const char *name)
{
	printf("pollcount-epoll-states: step %d, %s\n", step, name);
	fflush(stdout);
	if (ioctl(counters[LT], PCS_MARK, step) != -1 || errno != ENOTTY)
		die("the marker ioctl is not ENOTTY");
}

static void add(int set, enum item i)
{
	struct epoll_event ev = { .events = item_events[i], .data.u64 = item_data[i] };

	if (epoll_ctl(set, EPOLL_CTL_ADD, counters[i], &ev))
		die("epoll_ctl");
}

static void signal_counter(enum item i)
{
	uint64_t one = 1;

	if (write(counters[i], &one, sizeof(one)) != sizeof(one))
		die("write");
}

static void drain(enum item i)
{
	uint64_t value;

	if (read(counters[i], &value, sizeof(value)) != sizeof(value))
		die("read");
}

/* Whether N events from epoll_wait() are exactly the items WANT, in order
 * (ready-list order), each with its own data and EPOLLIN. */
static int returned(const struct epoll_event *ev, int n, const enum item *want, int nr_want)
{
	int i;

	if (n != nr_want)
		return 0;
	for (i = 0; i < n; i++)
		if (ev[i].data.u64 != item_data[want[i]] || ev[i].events != EPOLLIN)
			return 0;
	return 1;
}

/* --- step 6: an epoll_wait() stalled in its copy-out ------------------- */

struct scan {
	struct epoll_event *events;	/* two slots; the second on a missing page */
	int ret;
	int done;			/* epoll_wait() has returned ret */
	struct epoll_event got[2];
};

static void *scan_thread(void *arg)
{
	struct scan *s = arg;
	int ret;

	prctl(PR_SET_NAME, "pcs-scan");
	ret = epoll_wait(ep, s->events, 2, -1);
	if (ret > 0)
		memcpy(s->got, s->events, ret * sizeof(*s->events));
	s->ret = ret;
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void scanning_and_scanned(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct uffdio_zeropage zero = { 0 };
	struct uffd_msg msg;
	struct pollfd pfd;
	struct epoll_event ev[4];
	struct scan s = { 0 };
	pthread_t thread;
	char *buf;
	int uffd, n;

	/* Without UFFD_USER_MODE_ONLY: the fault to catch is the kernel's,
	 * epoll's own store of the second event. */
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		die("userfaultfd (CONFIG_USERFAULTFD, and root)");
	if (ioctl(uffd, UFFDIO_API, &api))
		die("UFFDIO_API");
	buf = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	buf[0] = 0;	/* the first page is there; the second is not */
	reg.range.start = (uintptr_t)buf + page;
	reg.range.len = page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		die("UFFDIO_REGISTER");
	/* Slot 0 ends the first page; slot 1 starts the second. */
	s.events = (struct epoll_event *)(buf + page) - 1;

	signal_counter(LT);
	signal_counter(ET);
	if (pthread_create(&thread, NULL, scan_thread, &s))
		die("pthread_create");
	/* The scanner's epoll_wait() faults storing et: it now sleeps in the
	 * fault, holding ep->mtx, the ready list taken for the scan. Should the
	 * kernel not wait for us there (the store failing at once), the call
	 * returns instead: say so rather than wait for the alarm. */
	pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
	if (poll(&pfd, 1, 30 * 1000) != 1) {
		if (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE))
			fprintf(stderr, "pollcount-epoll-states: epoll_wait() returned %d "
				"without waiting in the fault\n", s.ret);
		else
			fprintf(stderr, "pollcount-epoll-states: no fault from epoll_wait() in 30 s\n");
		exit(1);
	}
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
		die("read userfaultfd");
	expect(msg.event == UFFD_EVENT_PAGEFAULT && msg.arg.pagefault.address >= reg.range.start
	       && msg.arg.pagefault.address < reg.range.start + page,
	       "epoll_wait() faulted storing the second event");
	signal_counter(LATE);
	mark(6, "scanning: late written while epoll_wait() copies out");

	zero.range = reg.range;
	if (ioctl(uffd, UFFDIO_ZEROPAGE, &zero))
		die("UFFDIO_ZEROPAGE");
	pthread_join(thread, NULL);
	expect(returned(s.got, s.ret, (enum item[]){ LT, ET }, 2),
	       "that epoll_wait() returned the two it had taken, lt and et");
	mark(7, "scanned: late moved from ovflist to rdllist");
	n = epoll_wait(ep, ev, 4, 0);
	expect(returned(ev, n, (enum item[]){ LATE, LT }, 2),
	       "the next epoll_wait() returns late first (ovflist's items go to rdllist's head), then lt");
	drain(LT);
	drain(ET);
	drain(LATE);
	munmap(buf, 2 * page);
	close(uffd);
}

/* --- step 8: EPOLLEXCLUSIVE wakes one ------------------------------------ */

struct sleeper {
	const char *name;
	char index;		/* what it writes to woke_pipe when it wakes */
	int set;
	pid_t tid;
	int ret;
	struct epoll_event ev;
	int woke_pipe;
};

static void *sleeper_thread(void *arg)
{
	struct sleeper *s = arg;

	prctl(PR_SET_NAME, s->name);
	__atomic_store_n(&s->tid, gettid(), __ATOMIC_RELEASE);
	s->ret = epoll_wait(s->set, &s->ev, 1, -1);
	if (write(s->woke_pipe, &s->index, 1) != 1)
		die("write pipe");
	return NULL;
}

static void exclusive(void)
{
	struct sleeper s[2] = { { .name = "pcs-excl1", .index = 0 }, { .name = "pcs-excl2", .index = 1 } };
	pid_t *tids[2] = { &s[0].tid, &s[1].tid };
	enum sleep_call calls[2] = { IN_EPOLL_WAIT, IN_EPOLL_WAIT };
	pthread_t threads[2];
	struct pollfd pfd;
	int woke[2], i, first;
	char byte;

	if (pipe2(woke, O_CLOEXEC))
		die("pipe2");
	for (i = 0; i < 2; i++) {
		s[i].set = epoll_create1(EPOLL_CLOEXEC);
		if (s[i].set < 0)
			die("epoll_create1");
		add(s[i].set, EXCL);
		s[i].woke_pipe = woke[1];
		if (pthread_create(&threads[i], NULL, sleeper_thread, &s[i]))
			die("pthread_create");
	}
	if (settle(tids, calls, 2))
		die("the exclusive sleepers did not fall asleep");
	signal_counter(EXCL);
	if (read(woke[0], &byte, 1) != 1 || (byte != 0 && byte != 1))
		die("read pipe");
	first = byte;
	/* The other must sleep on: wait a moment to see that it does. */
	pfd = (struct pollfd){ .fd = woke[0], .events = POLLIN };
	expect(poll(&pfd, 1, 200) == 0, "one write woke one exclusive sleeper");
	printf("pollcount-epoll-states:   %s woke\n", s[first].name);
	mark(8, "exclusive: one sleeper woke, the other sleeps on");

	/* Now the other: the first set's item returns 0 from ep_poll_callback
	 * (no sleeper on its set), so the walk goes on to the second's. */
	signal_counter(EXCL);
	for (i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	expect(s[0].ret == 1 && s[1].ret == 1 && s[0].ev.data.u64 == item_data[EXCL]
	       && s[1].ev.data.u64 == item_data[EXCL],
	       "the second write woke the other");
	for (i = 0; i < 2; i++)
		close(s[i].set);
	close(woke[0]);
	close(woke[1]);
}

int main(void)
{
	struct pollcount_create req = { .count = 0, .flags = POLLCOUNT_NONBLOCK | POLLCOUNT_CLOEXEC };
	struct epoll_event ev[8];
	int dev, i, n;

	alarm(120);	/* a bug here must end the sample well before the VM's limit */
	prctl(PR_SET_NAME, "pcs-main");
	dev = open("/dev/pollcount", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die("open /dev/pollcount");
	for (i = 0; i < NR_COUNTERS; i++) {
		counters[i] = ioctl(dev, POLLCOUNT_IOC_CREATE, &req);
		if (counters[i] < 0)
			die("POLLCOUNT_IOC_CREATE");
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	printf("pollcount-epoll-states: pid %d, epoll set %d; counters", getpid(), ep);
	for (i = 0; i < NR_COUNTERS; i++)
		printf(" %s %d", item_name[i], counters[i]);
	printf("\npollcount-epoll-states: in gdb, at each marker: pollcount-eventpoll %d %d\n", getpid(), ep);

	for (i = LT; i <= LATE; i++)
		add(ep, i);
	mark(1, "added: four items, none ready");

	signal_counter(LT);
	signal_counter(ET);
	signal_counter(ONESHOT);
	mark(2, "written: lt, et, oneshot on the ready list");

	n = epoll_wait(ep, ev, 8, 0);
	expect(returned(ev, n, (enum item[]){ LT, ET, ONESHOT }, 3),
	       "epoll_wait() returned lt, et, oneshot with their data");
	mark(3, "delivered: lt re-queued, et not, oneshot disarmed");

	n = epoll_wait(ep, ev, 8, 0);
	expect(returned(ev, n, (enum item[]){ LT }, 1),
	       "a second epoll_wait() returned lt alone");
	mark(4, "again: only the level-triggered item");

	drain(LT);
	drain(ET);
	drain(ONESHOT);
	n = epoll_wait(ep, ev, 8, 0);
	expect(n == 0, "with the counters read, epoll_wait() returns nothing");
	mark(5, "drained: nothing ready");

	scanning_and_scanned();
	exclusive();

	if (failed) {
		fprintf(stderr, "pollcount-epoll-states: an epoll_wait() did not return what epoll promises\n");
		return 1;
	}
	printf("pollcount-epoll-states: every epoll_wait() returned what epoll promises: ok\n");
	return 0;
}
