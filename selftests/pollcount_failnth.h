/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Systematic fault injection for the selftests, as syzkaller does it:
 * /proc/thread-self/fail-nth fails the nth fault point (an allocation, with
 * failslab, or a user copy, with fail_usercopy) that the calling thread
 * reaches from then on. See Documentation/fault-injection/.
 */
#ifndef POLLCOUNT_FAILNTH_H
#define POLLCOUNT_FAILNTH_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

static int fail_nth_fd = -1;

static inline bool failnth_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/*
 * Marks the console: while faults are injected, the kernel's own report of
 * a failed allocation (warn_alloc, with a stack trace) is expected, and
 * make check's verdict lets it pass between these markers.
 */
static inline void failnth_console_marker(bool on)
{
	failnth_write_file("/dev/kmsg", on ? "pollcount: fault injection on\n"
					   : "pollcount: fault injection off\n");
}

/*
 * Opens this thread's fail-nth and sets debugfs up: failslab also fails
 * sleeping allocations (by default it ignores them), and an injected fault
 * prints no stack trace (a splat to make check's verdict). Returns NULL,
 * or why fault injection cannot be used here (for SKIP).
 */
static inline const char *failnth_setup(void)
{
	char path[64];

	if (geteuid())
		return "needs root, for debugfs's fault injection settings";
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	fail_nth_fd = open(path, O_RDWR | O_CLOEXEC);
	if (fail_nth_fd < 0)
		return "no fail-nth: a kernel without CONFIG_FAULT_INJECTION";
	if (!failnth_write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N") ||
	    !failnth_write_file("/sys/kernel/debug/failslab/verbose", "0") ||
	    !failnth_write_file("/sys/kernel/debug/fail_usercopy/verbose", "0"))
		return "no failslab or fail_usercopy in debugfs (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_USERCOPY)";
	failnth_console_marker(true);
	return NULL;
}

static inline void failnth_teardown(void)
{
	if (fail_nth_fd >= 0) {
		close(fail_nth_fd);
		failnth_console_marker(false);
	}
	fail_nth_fd = -1;
}

/* Fails this thread's nth fault point from now on. */
static inline void failnth_arm(int nth)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", nth);

	if (pwrite(fail_nth_fd, buf, n, 0) != n)
		abort();
}

/*
 * Disarms fail-nth; returns whether the armed fault was injected. Reading
 * and writing fail-nth are user copies, fault points themselves while a
 * fault is still pending: a read that fails with EFAULT took the pending
 * fault (so the operation did not), and a write that fails with EFAULT
 * took the last one, which disarms all the same.
 */
static inline bool failnth_disarm(void)
{
	char buf[16] = "";
	bool injected;

	if (pread(fail_nth_fd, buf, sizeof(buf) - 1, 0) > 0)
		injected = atoi(buf) == 0;
	else if (errno == EFAULT)
		injected = false;
	else
		abort();
	while (pwrite(fail_nth_fd, "0", 1, 0) != 1)
		if (errno != EFAULT)
			abort();
	return injected;
}

/* The errnos an operation may fail with when an allocation or a copy fails. */
static inline bool failnth_expected_errno(int err)
{
	return err == ENOMEM || err == EFAULT || err == ENFILE || err == EMFILE ||
	       err == EAGAIN || err == EINTR;
}

#endif /* POLLCOUNT_FAILNTH_H */
