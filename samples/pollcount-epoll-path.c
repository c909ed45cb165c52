// SPDX-License-Identifier: GPL-2.0
/*
 * pollcount-epoll-path: one trip along epoll's path through the kernel,
 * phase by phase, for watching with ftrace (`make trace`) or gdb
 * (`make debug`, `make gdb`, and the scripted gdb check in `make check`).
 *
 *   1. epoll_ctl(EPOLL_CTL_ADD)   do_epoll_ctl -> ep_insert -> ep_item_poll
 *                                 -> vfs_poll -> pollcount's poll hook
 *                                 -> poll_wait -> ep_ptable_queue_proc
 *   2. write(fd, 1)               ksys_write -> vfs_write -> pollcount's write
 *                                 -> __wake_up_locked_key(EPOLLIN) -> ep_poll_callback
 *   3. epoll_wait()               do_epoll_wait -> ep_poll -> ep_send_events
 *                                 -> ep_item_poll -> pollcount's poll hook
 *   4. epoll_wait() again, at once, before reading: level-triggered, the
 *      item went back on the ready list, so it is polled and reported
 *      again; edge-triggered, the ready list is empty: nothing is polled
 *   5. read()                     pollcount's read -> __wake_up_locked_key(EPOLLOUT)
 *
 * With --blocked-waiter, a second thread is already asleep in epoll_wait()
 * when the write comes, so the write's wakeup goes on from ep_poll_callback
 * to wake that thread (__wake_up -> ep_autoremove_wake_function ->
 * try_to_wake_up); the thread returns with the event instead of phase 3-4.
 *
 * Usage: pollcount-epoll-path [--et] [--blocked-waiter] [--trace] [--rounds N]
 *   --et       edge-triggered (EPOLLIN|EPOLLET) instead of level-triggered
 *   --blocked-waiter  a thread waits in epoll_wait() before the write
 *   --trace    trace only this process, from the first phase to the last
 *              (tracefs set up by the caller, e.g. scripts/trace/guest-trace), mark
 *              each phase in the trace with "pollcount: <phase>", and print
 *              nothing until done (a print is a write, and would be traced)
 *   --rounds N repeat the write/epoll_wait/read phases N times (default 1)
 * Exits non-zero if epoll does not report exactly what was written.
 */
#define _GNU_SOURCE		/* gettid() */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing/"

static int trace_on = -1, trace_marker = -1;

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		fprintf(stderr, "pollcount-epoll-path: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Marks the start of a phase, in the trace or on stdout. */
static void phase_begin(const char *name)
{
	if (trace_marker >= 0)
		dprintf(trace_marker, "pollcount: %s", name);
	else
		printf("phase: %s\n", name);
}

static void tracing(const char *on)
{
	if (trace_on >= 0 && write(trace_on, on, 1) != 1)
		perror("tracing_on");
}

/* The thread of --blocked-waiter: asleep in epoll_wait() until the write. */
struct waiter {
	int ep;
	pid_t tid;
	int n;
	struct epoll_event ev;
};

static void *wait_in_epoll(void *arg)
{
	struct waiter *w = arg;

	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	w->n = epoll_wait(w->ep, &w->ev, 1, -1);
	return NULL;
}

/* Whether thread `tid` sleeps (state S): it is inside epoll_wait() then. */
static int sleeping(pid_t tid)
{
	char path[64], buf[256], *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

static void die(const char *what)
{
	fprintf(stderr, "pollcount-epoll-path: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, ep, i, n, rounds = 1;
	int trace = 0, et = 0, blocked_waiter = 0;
	struct waiter waiter = { 0 };
	pthread_t thread;
	uint64_t v;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--et"))
			et = 1;
		else if (!strcmp(argv[i], "--blocked-waiter"))
			blocked_waiter = 1;
		else if (!strcmp(argv[i], "--trace"))
			trace = 1;
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--et] [--blocked-waiter] [--trace] [--rounds N]\n",
				argv[0]);
			return 2;
		}
	}
	if (trace) {
		char pid[32];

		snprintf(pid, sizeof(pid), "%d", getpid());
		write_file(TRACEFS "set_ftrace_pid", pid);
		/* pollcount's kprobe events follow their own pid filter. */
		write_file(TRACEFS "set_event_pid", pid);
		trace_on = open(TRACEFS "tracing_on", O_WRONLY | O_CLOEXEC);
		trace_marker = open(TRACEFS "trace_marker", O_WRONLY | O_CLOEXEC);
		if (trace_on < 0 || trace_marker < 0)
			die("tracefs");
	}

	if (et)
		ev.events |= EPOLLET;
	fd = open("/dev/pollcount", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/pollcount");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	if (!trace)
		printf("%s-triggered epoll on /dev/pollcount\n", et ? "edge" : "level");
	if (blocked_waiter) {
		/* Asleep in epoll_wait() on the (still empty) set before tracing starts. */
		waiter.ep = ep;
		rounds = 1;
		if (pthread_create(&thread, NULL, wait_in_epoll, &waiter))
			die("pthread_create");
		while (!__atomic_load_n(&waiter.tid, __ATOMIC_ACQUIRE) || !sleeping(waiter.tid))
			sched_yield();
	}

	tracing("1");
	phase_begin("epoll_ctl(ADD)");
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		die("epoll_ctl");

	for (i = 0; i < rounds; i++) {
		phase_begin("write");
		v = 1;
		if (write(fd, &v, sizeof(v)) != sizeof(v))
			die("write");

		if (blocked_waiter) {
			/* The write woke the thread; it returns with the event. */
			phase_begin("join the woken thread");
			pthread_join(thread, NULL);
			if (waiter.n != 1 || !(waiter.ev.events & EPOLLIN)) {
				tracing("0");
				fprintf(stderr, "pollcount-epoll-path: the waiter got %d events\n",
					waiter.n);
				return 1;
			}
			goto read;
		}

		phase_begin("epoll_wait");
		n = epoll_wait(ep, &ev, 1, 10000);
		if (n != 1 || !(ev.events & EPOLLIN)) {
			tracing("0");
			fprintf(stderr, "pollcount-epoll-path: epoll_wait gave %d events (0x%x)\n",
				n, n > 0 ? ev.events : 0);
			return 1;
		}
		if (!trace && i == 0)
			printf("  write 1, epoll_wait: %d event, EPOLLIN\n", n);
		phase_begin("epoll_wait again");
		n = epoll_wait(ep, &ev, 1, 0);
		if (n != (et ? 0 : 1)) {
			tracing("0");
			fprintf(stderr, "pollcount-epoll-path: second epoll_wait gave %d events\n", n);
			return 1;
		}
		/* The difference between the modes, which the trace shows in the kernel. */
		if (!trace && i == 0)
			printf("  epoll_wait again, before reading: %d event%s\n", n,
			       et ? "s: edge-triggered, the item was not put back on the ready list"
				  : ": level-triggered, the item went back on the ready list as it was delivered");

read:
		phase_begin("read");
		if (read(fd, &v, sizeof(v)) != sizeof(v) || v != 1) {
			tracing("0");
			die("read");
		}
	}
	tracing("0");
	close(ep);
	close(fd);
	printf("%s-triggered%s: epoll_ctl(ADD), %d x (write, %s, read): ok\n",
	       et ? "edge" : "level", blocked_waiter ? ", blocked waiter" : "", rounds,
	       blocked_waiter ? "the waiter returns" : "epoll_wait, epoll_wait again");
	return 0;
}
