// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifecycle: every open pollcount file pins the module (.owner in
 * its file_operations), so unloading is refused while any is open, even
 * one held only in flight in a unix socket, and works after the last close,
 * also when the file was still in a live epoll set. Then 100 loads and
 * unloads in a row, and loads whose nth allocation or user copy fails
 * (fail-nth): each fails cleanly or succeeds, never half-registered.
 *
 * The kernel refuses delete_module() of a module in use with EWOULDBLOCK
 * (EAGAIN); kmod's rmmod reads /sys/module/pollcount/refcnt first and
 * reports EBUSY ("in use"). Both are checked.
 *
 * Needs root and the module file: $POLLCOUNT_KO, else
 * /lib/modules/pollcount.ko (where the VM puts it). Skips otherwise.
 */
#include <sys/epoll.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "pollcount_backend.h"
#include "pollcount_failnth.h"

static const char *ko_path(void)
{
	const char *p = getenv("POLLCOUNT_KO");

	return p ? p : "/lib/modules/pollcount.ko";
}

/* kmod's "in use" check: the module's reference count. */
static int refcnt(void)
{
	char buf[32] = { 0 };
	int fd = open("/sys/module/pollcount/refcnt", O_RDONLY), n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

static int unload(void)
{
	return syscall(__NR_delete_module, "pollcount", O_NONBLOCK);
}

static int load(void)
{
	int fd = open(ko_path(), O_RDONLY | O_CLOEXEC), ret, saved;

	if (fd < 0)
		return -1;
	ret = syscall(__NR_finit_module, fd, "", 0);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

/*
 * KUnit runs the module's suites at every load, which is two thirds of a
 * load's time under the check kernel; make check reports them from the
 * first load. This test loads the module some 700 times, so it filters
 * them out (kunit.filter_glob, writable at run time) and restores the
 * filter after. An unset filter reads "(null)" and means every suite.
 */
#define KUNIT_FILTER "/sys/module/kunit/parameters/filter_glob"
static char kunit_saved_filter[256];

static void kunit_set_filter(const char *glob)
{
	int fd = open(KUNIT_FILTER, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;		/* no KUnit: nothing runs at load */
	if (write(fd, glob, strlen(glob)) < 0)
		perror("write " KUNIT_FILTER);
	close(fd);
}

static void kunit_quiet(void)
{
	int fd = open(KUNIT_FILTER, O_RDONLY | O_CLOEXEC), n = -1;

	if (fd >= 0) {
		n = read(fd, kunit_saved_filter, sizeof(kunit_saved_filter) - 1);
		close(fd);
	}
	kunit_saved_filter[n > 0 ? n : 0] = 0;
	kunit_saved_filter[strcspn(kunit_saved_filter, "\n")] = 0;
	kunit_set_filter("pollcount_module_test_runs_no_kunit_suite");
}

static void kunit_restore(void)
{
	if (!kunit_saved_filter[0] || !strcmp(kunit_saved_filter, "(null)"))
		kunit_set_filter("*.*");
	else
		kunit_set_filter(kunit_saved_filter);
}

FIXTURE(mod) {};

FIXTURE_SETUP(mod)
{
	if (!pollcount_present())
		SKIP(return, "/dev/pollcount is absent: load pollcount.ko");
	if (geteuid() != 0)
		SKIP(return, "needs root to unload and load modules");
	if (access(ko_path(), R_OK))
		SKIP(return, "no module file at %s (set POLLCOUNT_KO)", ko_path());
	ASSERT_EQ(0, refcnt()) TH_LOG("pollcount is in use before the test");
	kunit_quiet();
}

/* Whatever happened, leave the module loaded for the tests that follow. */
FIXTURE_TEARDOWN(mod)
{
	if (!pollcount_present())
		EXPECT_EQ(0, load()) TH_LOG("reload: %s", strerror(errno));
	kunit_restore();
}

/* Unloading fails as the kernel and kmod report a module in use. */
#define EXPECT_IN_USE(refs)						\
	do {								\
		EXPECT_EQ(refs, refcnt());				\
		EXPECT_EQ(-1, unload());				\
		EXPECT_EQ(EWOULDBLOCK, errno);				\
		EXPECT_TRUE(pollcount_present());			\
	} while (0)

TEST_F(mod, unload_refused_while_device_open)
{
	int fd = open(POLLCOUNT_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_IN_USE(1);
	close(fd);
	EXPECT_EQ(0, refcnt());
	EXPECT_EQ(0, unload());
	EXPECT_FALSE(pollcount_present());
	EXPECT_EQ(0, load());
}

TEST_F(mod, unload_refused_while_created_file_open)
{
	struct pollcount_create req = { 0 };
	int dev = open(POLLCOUNT_DEV, O_RDWR), fd;

	ASSERT_LE(0, dev);
	fd = ioctl(dev, POLLCOUNT_IOC_CREATE, &req);
	ASSERT_LE(0, fd);
	EXPECT_IN_USE(2);
	close(dev);
	/* The anonymous file alone pins the module. */
	EXPECT_IN_USE(1);
	close(fd);
	EXPECT_EQ(0, unload());
	EXPECT_EQ(0, load());
}

TEST_F(mod, unload_refused_while_file_in_flight)
{
	int sv[2], fd, err;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	fd = open(POLLCOUNT_DEV, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(8, write_u64(fd, 31));
	ASSERT_EQ(0, send_fd(sv[0], fd));
	close(fd);
	/* No fd refers to it now; only the queued message does. */
	EXPECT_IN_USE(1);
	fd = recv_fd(sv[1]);
	ASSERT_LE(0, fd);
	EXPECT_EQ(31, read_u64(fd, &err));	/* the same counter came back */
	close(fd);
	close(sv[0]);
	close(sv[1]);
	EXPECT_EQ(0, unload());
	EXPECT_EQ(0, load());
}

TEST_F(mod, unload_after_closing_a_file_still_in_epoll)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(0), fd = open(POLLCOUNT_DEV, O_RDWR | O_NONBLOCK);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	ASSERT_EQ(8, write_u64(fd, 1));
	EXPECT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	/* Close with the item still registered (and ready): epoll lets go. */
	close(fd);
	EXPECT_EQ(0, refcnt());
	EXPECT_EQ(0, unload());
	/* The epoll set lives on without the module, empty. */
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	close(ep);
	EXPECT_EQ(0, load());
}

TEST_F_TIMEOUT(mod, load_and_unload_100_times, 600)
{
	int i, fd, err;

	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, unload()) TH_LOG("unload %d: %s", i, strerror(errno));
		ASSERT_FALSE(pollcount_present());
		ASSERT_EQ(0, load()) TH_LOG("load %d: %s", i, strerror(errno));
		fd = open(POLLCOUNT_DEV, O_RDWR | O_NONBLOCK);
		ASSERT_LE(0, fd);
		ASSERT_EQ(8, write_u64(fd, i + 1));
		EXPECT_EQ(i + 1, read_u64(fd, &err));
		close(fd);
	}
}

struct opener {
	volatile bool stop;
	unsigned long opened, refused;
	int error;		/* an unexpected errno, else 0 */
};

/* Opens, uses and closes /dev/pollcount while the module comes and goes. */
static void *open_in_a_loop(void *arg)
{
	struct opener *o = arg;

	while (!o->stop) {
		int fd = open(POLLCOUNT_DEV, O_RDWR | O_NONBLOCK), err = 0;

		if (fd < 0) {
			/* Between unload and load: no node, or no driver behind it. */
			if (errno != ENOENT && errno != ENXIO && errno != ENODEV)
				o->error = errno;
			o->refused++;
			continue;
		}
		if (write_u64(fd, 7) != 8 || read_u64(fd, &err) != 7)
			o->error = err ? err : EIO;
		close(fd);
		o->opened++;
	}
	return NULL;
}

/* Unloads race with a thread that keeps opening the device: nothing breaks. */
TEST_F_TIMEOUT(mod, unload_attempts_race_opens, 600)
{
	struct opener o = { 0 };
	int i, unloaded = 0, busy = 0;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, open_in_a_loop, &o));
	for (i = 0; i < 200 && !o.error; i++) {
		if (unload() == 0) {
			unloaded++;
			ASSERT_EQ(0, load()) TH_LOG("reload %d: %s", i, strerror(errno));
		} else {
			ASSERT_EQ(EWOULDBLOCK, errno) TH_LOG("unload %d: %s", i, strerror(errno));
			busy++;
		}
	}
	o.stop = true;
	pthread_join(t, NULL);
	TH_LOG("%d unloads, %d refused in use; %lu opens, %lu refused while unloaded",
	       unloaded, busy, o.opened, o.refused);
	EXPECT_EQ(0, o.error) TH_LOG("the opener saw %s", strerror(o.error));
	EXPECT_LT(0, o.opened);
	EXPECT_TRUE(pollcount_present());
}

static bool module_listed(void)
{
	return access("/sys/module/pollcount", F_OK) == 0;
}

/*
 * finit_module() with its 1st, 2nd, ... fault point failing, until a load
 * reaches none: a failed load leaves no /dev/pollcount and no module; a
 * load that succeeds despite the fault (a failure handled inside) leaves a
 * working device.
 */
TEST_F_TIMEOUT(mod, load_under_fault_injection_fails_cleanly_or_succeeds, 900)
{
	const char *why = failnth_setup();
	int nth, points = -1, failed = 0;

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, unload());
	for (nth = 1; nth <= 5000 && points < 0; nth++) {
		int ko = open(ko_path(), O_RDONLY | O_CLOEXEC), ret, err;
		bool injected;

		ASSERT_LE(0, ko);
		failnth_arm(nth);
		ret = syscall(__NR_finit_module, ko, "", 0);
		err = errno;
		injected = failnth_disarm();
		close(ko);
		if (!injected)
			points = nth - 1;
		if (ret) {
			failed++;
			EXPECT_TRUE(failnth_expected_errno(err) || err == EINVAL)
				TH_LOG("load, fault %d: %s", nth, strerror(err));
			ASSERT_FALSE(pollcount_present()) TH_LOG("fault %d: a failed load left the device", nth);
			ASSERT_FALSE(module_listed()) TH_LOG("fault %d: a failed load left the module", nth);
			continue;
		}
		ASSERT_TRUE(pollcount_present()) TH_LOG("fault %d: loaded without the device", nth);
		ASSERT_TRUE(module_listed());
		if (points < 0)
			ASSERT_EQ(0, unload()) TH_LOG("fault %d: %s", nth, strerror(errno));
	}
	failnth_teardown();
	ksft_print_msg("module load: %d fault points, %d loads failed cleanly, the rest succeeded\n",
		       points, failed);
	EXPECT_LT(0, points);
	EXPECT_LT(0, failed);
}

TEST_HARNESS_MAIN
