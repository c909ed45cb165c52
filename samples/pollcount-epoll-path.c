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
 * Usage: pollcount-epoll-path [--et] [--trace] [--rounds N]
 *   --et       edge-triggered (EPOLLIN|EPOLLET) instead of level-triggered
 *   --trace    trace only this process, from the first phase to the last
 *              (tracefs set up by the caller, e.g. qemu/guest-trace), mark
 *              each phase in the trace with "pollcount: <phase>", and print
 *              nothing until done (a print is a write, and would be traced)
 *   --rounds N repeat the write/epoll_wait/read phases N times (default 1)
 * Exits non-zero if epoll does not report exactly what was written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void die(const char *what)
{
	fprintf(stderr, "pollcount-epoll-path: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, ep, i, n, rounds = 1;
	int trace = 0, et = 0;
	uint64_t v;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--et"))
			et = 1;
		else if (!strcmp(argv[i], "--trace"))
			trace = 1;
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--et] [--trace] [--rounds N]\n", argv[0]);
			return 2;
		}
	}
	if (trace) {
		char pid[32];

		snprintf(pid, sizeof(pid), "%d", getpid());
		write_file(TRACEFS "set_ftrace_pid", pid);
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

	tracing("1");
	phase_begin("epoll_ctl(ADD)");
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		die("epoll_ctl");

	for (i = 0; i < rounds; i++) {
		phase_begin("write");
		v = 1;
		if (write(fd, &v, sizeof(v)) != sizeof(v))
			die("write");

		phase_begin("epoll_wait");
		n = epoll_wait(ep, &ev, 1, 10000);
		if (n != 1 || !(ev.events & EPOLLIN)) {
			tracing("0");
			fprintf(stderr, "pollcount-epoll-path: epoll_wait gave %d events (0x%x)\n",
				n, n > 0 ? ev.events : 0);
			return 1;
		}
		phase_begin("epoll_wait again");
		n = epoll_wait(ep, &ev, 1, 0);
		if (n != (et ? 0 : 1)) {
			tracing("0");
			fprintf(stderr, "pollcount-epoll-path: second epoll_wait gave %d events\n", n);
			return 1;
		}

		phase_begin("read");
		if (read(fd, &v, sizeof(v)) != sizeof(v) || v != 1) {
			tracing("0");
			die("read");
		}
	}
	tracing("0");
	close(ep);
	close(fd);
	printf("%s-triggered: epoll_ctl(ADD), %d x (write, epoll_wait, epoll_wait again, read): ok\n",
	       et ? "edge" : "level", rounds);
	return 0;
}
