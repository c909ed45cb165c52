// SPDX-License-Identifier: GPL-2.0
/*
 * libpollcount-eventfd.so, tested as a program sees it: this test is
 * dynamically linked and run with the library in LD_PRELOAD, on a kernel
 * with pollcount loaded (make check runs it in the virtme-ng VM, before
 * the third-party suites; by hand:
 * LD_PRELOAD=build/lib/libpollcount-eventfd.so build/lib/pollcount_preload_test).
 *
 * Each eventfd() must give a pollcount counter (/proc/self/fd names it
 * "anon_inode:[pollcount]") that behaves as eventfd(count, flags) would;
 * each bad input must give libc's eventfd() errno, or ENODEV for a missing
 * or foreign device, with no fd left behind.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"

/* What /proc/self/fd says FD is, into BUF. */
static const char *fd_target(int fd, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return "(none)";
	buf[n] = '\0';
	return buf;
}

/* How many fds this process has open. */
static int open_fds(void)
{
	char path[64];
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (access(path, F_OK) == 0)
			n++;
	}
	return n;
}

/* The kernel's own eventfd, which no preload reaches. */
static int kernel_eventfd(unsigned int count, int flags)
{
	return (int)syscall(SYS_eventfd2, count, flags);
}

/*
 * Every test needs the library preloaded: without it each would pass on
 * the kernel's eventfd and prove nothing.
 */
static void assert_preloaded(struct __test_metadata *_metadata)
{
	Dl_info info = { 0 };
	void *sym = dlsym(RTLD_DEFAULT, "eventfd");

	ASSERT_NE(NULL, sym);
	ASSERT_NE(0, dladdr(sym, &info));
	ASSERT_NE(NULL, strstr(info.dli_fname, "libpollcount-eventfd"))
		TH_LOG("eventfd() comes from %s: run me with LD_PRELOAD=.../libpollcount-eventfd.so",
		       info.dli_fname);
}

TEST(eventfd_gives_a_pollcount_counter_with_its_count)
{
	char buf[64];
	uint64_t v;
	int fd;

	assert_preloaded(_metadata);
	fd = eventfd(7, 0);
	ASSERT_LE(0, fd) TH_LOG("eventfd: %s", strerror(errno));
	EXPECT_STREQ("anon_inode:[pollcount]", fd_target(fd, buf, sizeof(buf)));
	ASSERT_EQ(sizeof(v), read(fd, &v, sizeof(v)));
	EXPECT_EQ(7, v);
	/* Blocking (no EFD_NONBLOCK) and not close-on-exec, as eventfd(7, 0). */
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST(largest_initial_count_is_kept)
{
	uint64_t v;
	int fd;

	assert_preloaded(_metadata);
	fd = eventfd(UINT_MAX, EFD_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(v), read(fd, &v, sizeof(v)));
	EXPECT_EQ(UINT_MAX, v);
	close(fd);
}

TEST(semaphore_nonblock_and_cloexec_flags_are_eventfds)
{
	char buf[64];
	uint64_t v;
	int fd;

	assert_preloaded(_metadata);
	fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_STREQ("anon_inode:[pollcount]", fd_target(fd, buf, sizeof(buf)));
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Semaphore: each read takes 1; at 0 a non-blocking read is EAGAIN. */
	ASSERT_EQ(sizeof(v), read(fd, &v, sizeof(v)));
	EXPECT_EQ(1, v);
	ASSERT_EQ(sizeof(v), read(fd, &v, sizeof(v)));
	EXPECT_EQ(1, v);
	EXPECT_EQ(-1, read(fd, &v, sizeof(v)));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

TEST(libc_eventfd_read_and_write_work_on_it)
{
	struct pollfd pfd;
	eventfd_t v = 0;
	int fd;

	assert_preloaded(_metadata);
	fd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, fd);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, eventfd_write(fd, 40));
	ASSERT_EQ(0, eventfd_write(fd, 2));
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(0, eventfd_read(fd, &v));
	EXPECT_EQ(42, v);
	close(fd);
}

TEST(unknown_flags_are_einval_as_eventfds_and_leave_no_fd)
{
	/* POLLCOUNT_MAILBOX (bit 1) is pollcount's, not eventfd's. */
	static const int bad[] = { 1 << 1, 1 << 2, O_RDWR, O_APPEND, INT_MIN, -1 };
	int before, i;

	assert_preloaded(_metadata);
	before = open_fds();
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		errno = 0;
		EXPECT_EQ(-1, eventfd(0, bad[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("flags %#x", bad[i]);
		/* The kernel's eventfd says the same. */
		EXPECT_EQ(-1, kernel_eventfd(0, bad[i]));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(before, open_fds());
}

TEST(a_full_fd_table_is_emfile_as_eventfds_and_leaves_no_fd)
{
	int before, fds[64], n = 0;
	struct rlimit rl;

	assert_preloaded(_metadata);
	before = open_fds();
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = before + 16;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	/* Take every descriptor left under the limit, gaps included. */
	while (n < 64 && (fds[n] = dup(STDIN_FILENO)) >= 0)
		n++;
	ASSERT_EQ(EMFILE, errno);
	errno = 0;
	EXPECT_EQ(-1, eventfd(0, 0));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(-1, kernel_eventfd(0, 0));
	EXPECT_EQ(EMFILE, errno);
	while (n > 0)
		close(fds[--n]);
	EXPECT_EQ(before, open_fds());
}

/* Runs eventfd() with DEVICE as the device; returns its fd or -errno, and
 * what it wrote to stderr, into ERR.
 */
static int eventfd_on(const char *device, int calls, char *err, size_t len)
{
	int pipefd[2], saved, fd = -1, i, e = 0;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	saved = dup(STDERR_FILENO);
	dup2(pipefd[1], STDERR_FILENO);
	setenv("POLLCOUNT_EVENTFD_DEVICE", device, 1);
	for (i = 0; i < calls; i++) {
		if (fd >= 0)
			close(fd);
		fd = eventfd(0, EFD_CLOEXEC);
		e = errno;
	}
	unsetenv("POLLCOUNT_EVENTFD_DEVICE");
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(pipefd[0], err, len - 1);
	err[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	close(pipefd[1]);
	return fd >= 0 ? fd : -e;
}

TEST(a_missing_device_is_enodev_said_once_on_stderr)
{
	char err[1024];
	int before;

	assert_preloaded(_metadata);
	before = open_fds();
	EXPECT_EQ(-ENODEV, eventfd_on("/nonexistent/pollcount", 3, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "/nonexistent/pollcount")) TH_LOG("stderr: %s", err);
	/* One line for three calls. */
	EXPECT_EQ(strchr(err, '\n'), strrchr(err, '\n')) TH_LOG("stderr: %s", err);
	EXPECT_EQ(before, open_fds());
}

TEST(a_device_that_is_not_pollcount_is_enodev)
{
	char err[1024];
	int before;

	assert_preloaded(_metadata);
	before = open_fds();
	/* A character device that knows no POLLCOUNT_IOC_CREATE ... */
	EXPECT_EQ(-ENODEV, eventfd_on("/dev/null", 1, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a pollcount device")) TH_LOG("stderr: %s", err);
	/* ... and no device at all. */
	EXPECT_EQ(-ENODEV, eventfd_on("/proc/self/status", 1, err, sizeof(err)));
	EXPECT_EQ(before, open_fds());
}

TEST(the_fallback_is_the_kernels_eventfd_only_when_asked_for)
{
	char err[1024], buf[64];
	int fd;

	assert_preloaded(_metadata);
	setenv("POLLCOUNT_EVENTFD_FALLBACK", "1", 1);
	fd = eventfd_on("/nonexistent/pollcount", 1, err, sizeof(err));
	unsetenv("POLLCOUNT_EVENTFD_FALLBACK");
	ASSERT_LE(0, fd);
	EXPECT_STREQ("anon_inode:[eventfd]", fd_target(fd, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(err, "kernel's eventfd")) TH_LOG("stderr: %s", err);
	close(fd);
}

TEST_HARNESS_MAIN
