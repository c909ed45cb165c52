// SPDX-License-Identifier: GPL-2.0
/*
 * Fault sweep, the way syzkaller does it: for each operation on a pollcount
 * file, fail its 1st, 2nd, 3rd ... fault point (an allocation, failslab, or
 * a user copy, fail_usercopy) through /proc/thread-self/fail-nth, until the
 * operation runs to its end without reaching the nth one.
 *
 * Every attempt must end in success or an errno a C programmer expects
 * (ENOMEM, EFAULT, ENFILE, ...), leave the counter's value and mode as they
 * were unless it succeeded, and leave no fd behind. Memory is checked by
 * the module's own count of live counters at unload, and the console by
 * make check's verdict (nothing may splat). Each operation prints how many
 * fault points it found and survived.
 *
 * Needs root (debugfs) and CONFIG_FAULT_INJECTION with FAILSLAB and
 * FAULT_INJECTION_USERCOPY, as the check kernel has: skips otherwise.
 */
#include <dirent.h>
#include <liburing.h>
#include <linux/aio_abi.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "pollcount_backend.h"
#include "pollcount_failnth.h"

#define MAX_FAULT_POINTS 1000	/* an operation with more is a bug of its own */

/* The counter's state, as fdinfo shows it. */
struct state {
	uint64_t count;
	char mode[16];
};

static bool read_state(int fd, struct state *st)
{
	char text[512], *p;

	if (!read_fdinfo(fd, text, sizeof(text)) || !fdinfo_parse_count(text, &st->count))
		return false;
	p = strstr(text, "pollcount-mode:");
	return p && sscanf(p, "pollcount-mode: %15s", st->mode) == 1;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/*
 * One operation: runs on `fd` (a counter in the variant's mode holding
 * `initial`) with the nth fault armed; returns 0 or an errno, and on
 * success the state it expects. It may leave a new fd in *made (closed
 * by the sweep).
 */
struct op {
	const char *name;
	uint64_t initial;
	int flags;		/* of the counter: EFD_NONBLOCK or 0 */
	int (*run)(int fd, struct state *expect, int *made);
	int min_points;		/* fault points the operation surely reaches */
};

static int armed_nth;		/* the fault point arm() fails next */
static int settled = -1;	/* settle()'s verdict: -1 not settled, else injected */

/* Arms fail-nth: called by each operation right before its syscall. */
static void arm(void)
{
	failnth_arm(armed_nth);
}

/*
 * Disarms before the end of an operation, so that what follows (collecting
 * a result through another subsystem's syscall) is not under the sweep.
 */
static void settle(void)
{
	settled = failnth_disarm();
}

static int op_open(int fd, struct state *expect, int *made)
{
	arm();
	*made = open(POLLCOUNT_DEV, O_RDWR);
	return *made < 0 ? errno : 0;
}

static int op_create(int fd, struct state *expect, int *made)
{
	struct pollcount_create req = { .count = 9, .flags = POLLCOUNT_MAILBOX };

	arm();
	*made = ioctl(fd, POLLCOUNT_IOC_CREATE, &req);
	return *made < 0 ? errno : 0;
}

/* A read of the whole count (counter) or of the slot (mailbox) empties it. */
static void took(struct state *expect)
{
	expect->count = 0;
}

static int op_read(int fd, struct state *expect, int *made)
{
	uint64_t v = 0;

	arm();
	if (read(fd, &v, 8) != 8)
		return errno;
	took(expect);
	return v == 5 ? 0 : -1;
}

static int op_read_nonblocking(int fd, struct state *expect, int *made)
{
	uint64_t v = 0;
	struct iovec iov = { &v, 8 };

	arm();
	if (preadv2(fd, &iov, 1, -1, RWF_NOWAIT) != 8)
		return errno;
	took(expect);
	return v == 5 ? 0 : -1;
}

static int op_readv(int fd, struct state *expect, int *made)
{
	uint32_t lo = 0, hi = 0;
	struct iovec iov[2] = { { &lo, 4 }, { &hi, 4 } };

	arm();
	if (readv(fd, iov, 2) != 8)
		return errno;
	took(expect);
	return lo == 5 && hi == 0 ? 0 : -1;
}

static int op_write(int fd, struct state *expect, int *made)
{
	uint64_t v = 3;

	arm();
	if (write(fd, &v, 8) != 8)
		return errno;
	expect->count += 3;
	return 0;
}

static int op_epoll_add(int fd, struct state *expect, int *made)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	int ep = epoll_create1(0), ret;

	if (ep < 0)
		return -1;
	/* Only the epoll_ctl() is under the armed fault. */
	*made = ep;
	arm();
	ret = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return ret ? errno : 0;
}

static int op_poll(int fd, struct state *expect, int *made)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	int ret;

	arm();
	ret = poll(&p, 1, 0);
	if (ret < 0)
		return errno;
	return ret == 1 && (p.revents & POLLIN) ? 0 : -1;
}

static int op_select(int fd, struct state *expect, int *made)
{
	struct timeval zero = { 0 };
	fd_set in;
	int ret;

	FD_ZERO(&in);
	FD_SET(fd, &in);
	arm();
	ret = select(fd + 1, &in, NULL, NULL, &zero);
	if (ret < 0)
		return errno;
	return ret == 1 && FD_ISSET(fd, &in) ? 0 : -1;
}

static int op_fdinfo(int fd, struct state *expect, int *made)
{
	char path[64], text[512];
	int f, n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY);
	if (f < 0)
		return -1;
	*made = f;
	arm();
	n = read(f, text, sizeof(text) - 1);
	if (n < 0)
		return errno;
	text[n] = '\0';
	return strstr(text, "pollcount-count:") ? 0 : -1;
}

static int op_dup(int fd, struct state *expect, int *made)
{
	arm();
	*made = dup(fd);
	return *made < 0 ? errno : 0;
}

/* io_uring: one READ of the ready counter, submitted and completed. */
static int op_uring_read(int fd, struct state *expect, int *made)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	uint64_t v = 0;
	int ret;

	if (io_uring_queue_init(4, &ring, 0))
		return -1;
	io_uring_prep_read(io_uring_get_sqe(&ring), fd, &v, 8, 0);
	arm();
	ret = io_uring_submit(&ring);
	if (ret == 1)
		ret = io_uring_wait_cqe(&ring, &cqe) ? -1 : cqe->res;
	io_uring_queue_exit(&ring);
	if (ret < 0)
		return -ret;
	if (ret != 8 || v != 5)
		return -1;
	took(expect);
	return 0;
}

/* aio: an IOCB_CMD_POLL of the ready counter. */
static int op_aio_poll(int fd, struct state *expect, int *made)
{
	struct iocb cb = { .aio_lio_opcode = IOCB_CMD_POLL, .aio_fildes = fd,
			   .aio_buf = POLLIN }, *cbs[1] = { &cb };
	aio_context_t ctx = 0;
	struct io_event ev;
	long ret;

	if (syscall(SYS_io_setup, 4, &ctx))
		return -1;
	arm();
	ret = syscall(SYS_io_submit, ctx, 1, cbs);
	settle();	/* io_getevents's own copy to userspace is aio's, not ours */
	if (ret == 1)
		ret = syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) == 1 ? ev.res : -EIO;
	else
		ret = -errno;
	syscall(SYS_io_destroy, ctx);
	if (ret < 0)
		return -ret;
	return ret & POLLIN ? 0 : -1;
}

FIXTURE(fault)
{
	int dummy;
};

FIXTURE_VARIANT(fault)
{
	enum backend b;
};

FIXTURE_VARIANT_ADD(fault, pollcount_open) { .b = PC_OPEN };
FIXTURE_VARIANT_ADD(fault, pollcount_create) { .b = PC_CREATE };
FIXTURE_VARIANT_ADD(fault, pollcount_mailbox) { .b = PC_MAILBOX };

FIXTURE_SETUP(fault)
{
	const char *why;

	if (!pollcount_present())
		SKIP(return, "/dev/pollcount is absent: load pollcount.ko");
	why = failnth_setup();
	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(fault)
{
	failnth_teardown();
}

/*
 * Sweeps `op` on fresh counters: returns the number of fault points found,
 * or -1 after reporting a failure.
 */
static int sweep(struct __test_metadata *_metadata, enum backend b, const struct op *op)
{
	int nth;

	for (nth = 1; nth <= MAX_FAULT_POINTS; nth++) {
		struct state before, after, expect;
		int fd, made = -1, err, fds;
		bool injected;

		fd = backend_make(b, op->initial, op->flags);
		if (fd < 0 || !read_state(fd, &before)) {
			TH_LOG("%s: cannot make a counter: %s", op->name, strerror(errno));
			return -1;
		}
		expect = before;
		fds = count_fds();
		armed_nth = nth;
		settled = -1;
		err = op->run(fd, &expect, &made);
		injected = settled >= 0 ? settled : failnth_disarm();
		if (made >= 0)
			close(made);
		if (err < 0 || (err && !failnth_expected_errno(err))) {
			TH_LOG("%s, fault %d: %s", op->name, nth,
			       err < 0 ? "wrong result" : strerror(err));
			close(fd);
			return -1;
		}
		if (!read_state(fd, &after) || count_fds() != fds) {
			TH_LOG("%s, fault %d: fdinfo unreadable or an fd leaked", op->name, nth);
			close(fd);
			return -1;
		}
		if (err)
			expect = before;
		if (after.count != expect.count || strcmp(after.mode, expect.mode)) {
			TH_LOG("%s, fault %d (%s): count %llx mode %s, expected %llx %s",
			       op->name, nth, err ? strerror(err) : "succeeded",
			       (unsigned long long)after.count, after.mode,
			       (unsigned long long)expect.count, expect.mode);
			close(fd);
			return -1;
		}
		close(fd);
		if (!injected)
			return nth - 1;
	}
	TH_LOG("%s: more than %d fault points", op->name, MAX_FAULT_POINTS);
	return -1;
}

/* min_points: the allocations and user copies each operation surely makes. */
static const struct op ops[] = {
	{ "open", 5, EFD_NONBLOCK, op_open, 2 },	/* the file, the counter */
	{ "ioctl(CREATE)", 5, EFD_NONBLOCK, op_create, 3 },	/* request, counter, file */
	{ "read, blocking fd", 5, 0, op_read, 1 },	/* the copy out */
	{ "read, nonblocking fd", 5, EFD_NONBLOCK, op_read, 1 },
	{ "read(RWF_NOWAIT)", 5, 0, op_read_nonblocking, 1 },
	{ "readv(4+4)", 5, EFD_NONBLOCK, op_readv, 1 },
	{ "write, blocking fd", 0, 0, op_write, 1 },	/* the copy in */
	{ "write, nonblocking fd", 0, EFD_NONBLOCK, op_write, 1 },
	{ "epoll_ctl(ADD)", 5, EFD_NONBLOCK, op_epoll_add, 2 },	/* epitem, poll entry */
	{ "poll", 5, EFD_NONBLOCK, op_poll, 1 },
	{ "select", 5, EFD_NONBLOCK, op_select, 1 },
	{ "fdinfo", 5, EFD_NONBLOCK, op_fdinfo, 1 },
	{ "dup", 5, EFD_NONBLOCK, op_dup, 0 },	/* a free fd slot: nothing to fail */
	{ "io_uring read", 5, 0, op_uring_read, 1 },
	{ "aio poll", 5, EFD_NONBLOCK, op_aio_poll, 1 },
};

TEST_F_TIMEOUT(fault, every_fault_point_fails_cleanly, 600)
{
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		int points = sweep(_metadata, variant->b, &ops[i]);

		ASSERT_LE(0, points) TH_LOG("%s failed its sweep", ops[i].name);
		ksft_print_msg("%s: %d fault points, all survived\n", ops[i].name, points);
		/* The sweep reached the operation's allocations and copies. */
		EXPECT_LE(ops[i].min_points, points) TH_LOG("%s: too few fault points", ops[i].name);
	}
}

/*
 * fail_usercopy at 100% for the tasks that ask (make-it-fail), or back to
 * off. The task filter goes on first and off last: in between, every
 * task's copies would fail, this one's writes to debugfs included.
 */
static bool usercopy_always_fails(bool on)
{
	const char *settings[][2] = {
		{ "task-filter", "Y" }, { "interval", "1" }, { "times", "-1" }, { "probability", "100" },
	}, *off[][2] = {
		{ "probability", "0" }, { "times", "1" }, { "interval", "1" }, { "task-filter", "N" },
	};
	char path[96];
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const char *const *kv = on ? settings[i] : off[i];

		snprintf(path, sizeof(path), "/sys/kernel/debug/fail_usercopy/%s", kv[0]);
		if (!failnth_write_file(path, kv[1]))
			return false;
	}
	return true;
}

/*
 * A read whose store into the user's buffer fails every time, though the
 * buffer is there (fail_usercopy at 100% for the reader alone, as a
 * shadow-stack page or an MTE tag mismatch would refuse every store that
 * a fault-in allows): pollcount faults the page in once, tries once more,
 * and ends the read with EFAULT, as eventfd's failed copy does, keeping
 * the value. It must never retry until a signal comes.
 */
TEST_F_TIMEOUT(fault, a_read_whose_copy_always_fails_is_efault_at_once, 60)
{
	int fd = backend_make(variant->b, 0, 0), status = 0, err, i;
	pid_t child;

	ASSERT_LE(0, fd);
	ASSERT_EQ(8, write_u64(fd, 1));
	ASSERT_TRUE(usercopy_always_fails(true));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		uint64_t v;

		if (!failnth_write_file("/proc/self/make-it-fail", "1"))
			_exit(100);
		_exit(read(fd, &v, 8) == 8 ? 0 : errno);
	}
	/* A second, generous under emulation: the read is one fault-in long. */
	for (i = 0; i < 100 && waitpid(child, &status, WNOHANG) == 0; i++)
		usleep(10 * 1000);
	if (i == 100) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	usercopy_always_fails(false);
	ASSERT_GT(100, i) TH_LOG("the read did not end in 1 s: it retries");
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	EXPECT_EQ(EFAULT, WEXITSTATUS(status)) TH_LOG("%s", strerror(WEXITSTATUS(status)));
	EXPECT_EQ(1, read_u64_nowait(fd, &err));
	EXPECT_EQ(0, err);
	close(fd);
}

TEST_HARNESS_MAIN
