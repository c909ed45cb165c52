// SPDX-License-Identifier: GPL-2.0
/*
 * libpollcount-eventfd.so: run an unmodified program on pollcount counters.
 *
 *   LD_PRELOAD=build/lib/libpollcount-eventfd.so some-program
 *
 * Every eventfd(count, flags) the program (or a library it loads: GLib,
 * libuv, CPython's os.eventfd) makes returns a pollcount counter made by
 * POLLCOUNT_IOC_CREATE, with the same count and flags; /proc/PID/fd names
 * it "anon_inode:[pollcount]". libc's eventfd_read() and eventfd_write()
 * are a read and a write, so they need nothing from here.
 *
 * What it cannot reach: eventfd2 made by syscall(SYS_eventfd2, ...) or by
 * a statically linked program, which get the kernel's eventfd. And the
 * kernel users of eventfd (io_uring's IORING_REGISTER_EVENTFD, aio's
 * IOCB_FLAG_RESFD, KVM's irqfd, vhost) accept only the kernel's own eventfd
 * files: given a pollcount fd they fail with EINVAL (or EBADF), as for any
 * other file.
 *
 * Without a usable /dev/pollcount (module not loaded, not a pollcount
 * device, not openable) the call fails with ENODEV, after one line on
 * stderr: a program that silently got the kernel's eventfd would be a test
 * of nothing. POLLCOUNT_EVENTFD_FALLBACK=1 asks for the kernel's eventfd
 * instead (still said once on stderr). POLLCOUNT_EVENTFD_DEVICE names
 * another device node than /dev/pollcount. POLLCOUNT_EVENTFD_LOG=FILE
 * appends a line per counter made ("pollcount-eventfd: PID COMM: count C
 * flags F fd N"), to see which eventfds a program makes, and when.
 *
 * Errors are eventfd's: unknown flags EINVAL, a full fd table EMFILE,
 * ENFILE and ENOMEM as the kernel says. One difference: the device is open
 * while the counter is made, so it takes two free descriptors where
 * eventfd takes one (EMFILE when only one is left).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../include/uapi/pollcount.h"

/* The flags pass through unchanged: pollcount defines them as eventfd's. */
_Static_assert(POLLCOUNT_SEMAPHORE == EFD_SEMAPHORE, "EFD_SEMAPHORE");
_Static_assert(POLLCOUNT_NONBLOCK == EFD_NONBLOCK, "EFD_NONBLOCK");
_Static_assert(POLLCOUNT_CLOEXEC == EFD_CLOEXEC, "EFD_CLOEXEC");

#define EVENTFD_FLAGS (EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC)

/* Say it once per process: a program may make thousands of counters. */
static void say_once(const char *what, const char *device, int err)
{
	static atomic_flag said = ATOMIC_FLAG_INIT;
	char line[256];
	int n;

	if (atomic_flag_test_and_set(&said))
		return;
	n = snprintf(line, sizeof(line), "libpollcount-eventfd: %s: %s (%s)%s\n", device,
		     strerror(err), what,
		     getenv("POLLCOUNT_EVENTFD_FALLBACK") ?
			     "; POLLCOUNT_EVENTFD_FALLBACK set: using the kernel's eventfd" :
			     "; eventfd() fails with ENODEV (POLLCOUNT_EVENTFD_FALLBACK=1: use the kernel's eventfd)");
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The device is not usable: ENODEV, or the kernel's eventfd if asked. */
static int unusable(const char *what, const char *device, int err, unsigned int count, int flags)
{
	int (*real_eventfd)(unsigned int, int);
	const char *fallback = getenv("POLLCOUNT_EVENTFD_FALLBACK");

	say_once(what, device, err);
	if (fallback && *fallback && strcmp(fallback, "0")) {
		real_eventfd = (int (*)(unsigned int, int))dlsym(RTLD_NEXT, "eventfd");
		if (real_eventfd)
			return real_eventfd(count, flags);
	}
	errno = ENODEV;
	return -1;
}

/* POLLCOUNT_EVENTFD_LOG: one line per counter, appended whole. */
static void log_counter(unsigned int count, int flags, int fd)
{
	const char *path = getenv("POLLCOUNT_EVENTFD_LOG");
	char comm[32] = "?", line[160];
	int logfd, n, saved = errno;

	if (!path || !*path)
		return;
	logfd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (logfd >= 0) {
		n = (int)read(logfd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		close(logfd);
	}
	n = snprintf(line, sizeof(line), "pollcount-eventfd: %d %s: count %u flags %#x fd %d\n",
		     (int)getpid(), comm, count, (unsigned int)flags, fd);
	logfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (logfd >= 0 && n > 0) {
		(void)!write(logfd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
	if (logfd >= 0)
		close(logfd);
	errno = saved;
}

int eventfd(unsigned int count, int flags)
{
	const char *device = getenv("POLLCOUNT_EVENTFD_DEVICE");
	struct pollcount_create create = { .count = count, .flags = (__u32)flags };
	struct stat st;
	int dev, fd, err;

	if (flags & ~EVENTFD_FLAGS) {
		errno = EINVAL;
		return -1;
	}
	if (!device || !*device)
		device = "/dev/pollcount";

	dev = open(device, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (dev < 0) {
		err = errno;
		/* Out of descriptors or memory: what eventfd itself would say. */
		if (err == EMFILE || err == ENFILE || err == ENOMEM)
			return -1;
		return unusable("cannot open it; is the pollcount module loaded?", device, err,
				count, flags);
	}
	if (fstat(dev, &st) || !S_ISCHR(st.st_mode)) {
		close(dev);
		return unusable("not a character device", device, ENODEV, count, flags);
	}

	fd = ioctl(dev, POLLCOUNT_IOC_CREATE, &create);
	err = errno;
	close(dev);
	if (fd >= 0) {
		log_counter(count, flags, fd);
		return fd;
	}
	/*
	 * ENOTTY (or EINVAL from a driver that parses the number its own way):
	 * some other device. EMFILE, ENFILE, ENOMEM: as eventfd.
	 */
	if (err == ENOTTY || err == EINVAL)
		return unusable("not a pollcount device", device, err, count, flags);
	errno = err;
	return -1;
}
