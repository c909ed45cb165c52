// SPDX-License-Identifier: GPL-2.0
/*
 * The asynchronous doors to a counter: io_uring (through liburing) and aio
 * (raw syscalls), against eventfd and every pollcount backend
 * (pollcount_backend.h).
 *
 * A blocking read through io_uring must be served the way eventfd's is: a
 * nonblocking attempt (IOCB_NOWAIT, which FMODE_NOWAIT allows), then a
 * retry driven by the poll hook, never a worker thread (iou-wrk-*) asleep
 * in read. The tests check /proc/self/task for such threads, and a control
 * (IOSQE_ASYNC) shows that the check sees them when they exist.
 *
 * Kernel users of eventfd (IORING_REGISTER_EVENTFD, aio's IOCB_FLAG_RESFD)
 * accept only the kernel's own eventfd files: for a pollcount fd they fail
 * with EINVAL, the limit the README states.
 */
#include <dirent.h>
#include <liburing.h>
#include <linux/aio_abi.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "pollcount_backend.h"

#define RING_ENTRIES 64
#define WAITING_READS 16

/*
 * io_uring's io-wq workers (iou-wrk-*) in this process: its threads other
 * than the caller, where no test has another thread of its own. A worker
 * is created inside the submission that punts a request to it, so it is
 * listed when io_uring_submit() returns; it names itself iou-wrk-<pid>
 * only once it runs, so the name cannot be waited for.
 */
static int io_workers(void)
{
	DIR *d = opendir("/proc/self/task");
	char self[16];
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	snprintf(self, sizeof(self), "%d", gettid());
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, self))
			n++;
	closedir(d);
	return n;
}

struct delayed_write {
	int fd;
	uint64_t value;
};

static void *write_value(void *arg)
{
	struct delayed_write *w = arg;

	write_u64(w->fd, w->value);
	return NULL;
}

FIXTURE(uring)
{
	int fd;		/* blocking counter at 0 */
	struct io_uring ring;
};

FIXTURE_VARIANT(uring)
{
	enum backend b;
};

BACKEND_VARIANTS(uring);

FIXTURE_SETUP(uring)
{
	int ret;

	SKIP_IF_ABSENT(variant->b);
	self->fd = backend_make(variant->b, 0, 0);
	ASSERT_LE(0, self->fd) TH_LOG("make: %s", strerror(errno));
	ret = io_uring_queue_init(RING_ENTRIES, &self->ring, 0);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_queue_init: %s (CONFIG_IO_URING?)", strerror(-ret));
}

FIXTURE_TEARDOWN(uring)
{
	io_uring_queue_exit(&self->ring);
	close(self->fd);
}

static struct io_uring_sqe *sqe_for(struct io_uring *ring, uint64_t user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (sqe)
		io_uring_sqe_set_data64(sqe, user_data);
	return sqe;
}

/* Whether a completion is ready now, without waiting. */
static bool cqe_ready(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;

	return io_uring_peek_cqe(ring, &cqe) == 0;
}

/* Waits for the next completion; copies it out and marks it seen. */
static int next_cqe(struct io_uring *ring, struct io_uring_cqe *out)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe(ring, &cqe);

	if (ret)
		return ret;
	*out = *cqe;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

TEST_F(uring, read_waits_for_a_write_from_another_thread)
{
	struct delayed_write w = { .fd = self->fd, .value = 9 };
	struct io_uring_cqe cqe;
	uint64_t v = 0;
	pthread_t t;

	io_uring_prep_read(sqe_for(&self->ring, 1), self->fd, &v, 8, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	EXPECT_FALSE(cqe_ready(&self->ring));
	EXPECT_EQ(0, io_workers());
	ASSERT_EQ(0, pthread_create(&t, NULL, write_value, &w));
	ASSERT_EQ(0, next_cqe(&self->ring, &cqe));
	pthread_join(t, NULL);
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(8, cqe.res);
	EXPECT_EQ(9, v);
}

TEST_F(uring, read_of_a_ready_counter_completes_at_once)
{
	struct io_uring_cqe cqe;
	uint64_t v = 0;
	int err;

	ASSERT_EQ(8, write_u64(self->fd, 4));
	io_uring_prep_read(sqe_for(&self->ring, 1), self->fd, &v, 8, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0, next_cqe(&self->ring, &cqe));
	EXPECT_EQ(8, cqe.res);
	EXPECT_EQ(4, v);
	read_u64_nowait(self->fd, &err);
	EXPECT_EQ(EAGAIN, err);
}

TEST_F(uring, short_read_is_einval)
{
	struct io_uring_cqe cqe;
	uint32_t half = 0;

	io_uring_prep_read(sqe_for(&self->ring, 1), self->fd, &half, 4, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0, next_cqe(&self->ring, &cqe));
	EXPECT_EQ(-EINVAL, cqe.res);
}

TEST_F(uring, write_adds)
{
	struct io_uring_cqe cqe;
	uint64_t v = 6;
	int err;

	io_uring_prep_write(sqe_for(&self->ring, 1), self->fd, &v, 8, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0, next_cqe(&self->ring, &cqe));
	EXPECT_EQ(8, cqe.res);
	EXPECT_EQ(6, read_u64_nowait(self->fd, &err));
	EXPECT_EQ(0, err);
}

TEST_F(uring, oneshot_poll_completes_on_a_write)
{
	struct io_uring_cqe cqe;

	io_uring_prep_poll_add(sqe_for(&self->ring, 1), self->fd, POLLIN);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	EXPECT_FALSE(cqe_ready(&self->ring));
	ASSERT_EQ(8, write_u64(self->fd, 1));
	ASSERT_EQ(0, next_cqe(&self->ring, &cqe));
	EXPECT_EQ(POLLIN, cqe.res & (POLLIN | POLLOUT | POLLERR));
	EXPECT_FALSE(cqe.flags & IORING_CQE_F_MORE);
}

/* One completion per write, each with F_MORE; reads (EPOLLOUT wakeups) add none. */
TEST_F(uring, multishot_poll_completes_once_per_write)
{
	struct io_uring_cqe cqe;
	int i, err;

	io_uring_prep_poll_multishot(sqe_for(&self->ring, 1), self->fd, POLLIN);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	EXPECT_FALSE(cqe_ready(&self->ring));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(8, write_u64(self->fd, i + 1));
		ASSERT_EQ(0, next_cqe(&self->ring, &cqe));
		EXPECT_EQ(1, cqe.user_data);
		EXPECT_TRUE(cqe.res & POLLIN);
		EXPECT_TRUE(cqe.flags & IORING_CQE_F_MORE);
		EXPECT_EQ(i + 1, read_u64_nowait(self->fd, &err));
		EXPECT_FALSE(cqe_ready(&self->ring));
	}
	/* Removing it ends it: a last completion without F_MORE. */
	io_uring_prep_poll_remove(sqe_for(&self->ring, 2), 1);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, next_cqe(&self->ring, &cqe));
		if (cqe.user_data == 1) {
			EXPECT_EQ(-ECANCELED, cqe.res);
			EXPECT_FALSE(cqe.flags & IORING_CQE_F_MORE);
		} else {
			EXPECT_EQ(0, cqe.res);
		}
	}
}

/* A cancelled read takes nothing: a later write's value is still there. */
TEST_F(uring, pending_read_can_be_cancelled)
{
	struct io_uring_cqe cqe;
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;
	bool read_done = false, cancel_done = false;
	int i, err;

	io_uring_prep_read(sqe_for(&self->ring, 1), self->fd, &v, 8, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	EXPECT_FALSE(cqe_ready(&self->ring));
	io_uring_prep_cancel64(sqe_for(&self->ring, 2), 1, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, next_cqe(&self->ring, &cqe));
		if (cqe.user_data == 1) {
			EXPECT_EQ(-ECANCELED, cqe.res);
			read_done = true;
		} else {
			EXPECT_EQ(0, cqe.res);
			cancel_done = true;
		}
	}
	EXPECT_TRUE(read_done && cancel_done);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, v);
	ASSERT_EQ(8, write_u64(self->fd, 3));
	EXPECT_EQ(3, read_u64_nowait(self->fd, &err));
	EXPECT_EQ(0, err);
}

/*
 * 16 reads wait on one counter, and none is parked on a worker thread;
 * 16 writes of 1 then complete them one by one.
 */
TEST_F(uring, waiting_reads_use_no_worker_threads)
{
	uint64_t v[WAITING_READS] = { 0 };
	struct io_uring_cqe cqe;
	int i, done = 0;

	for (i = 0; i < WAITING_READS; i++)
		io_uring_prep_read(sqe_for(&self->ring, i), self->fd, &v[i], 8, 0);
	ASSERT_EQ(WAITING_READS, io_uring_submit(&self->ring));
	EXPECT_FALSE(cqe_ready(&self->ring));
	EXPECT_EQ(0, io_workers());
	for (i = 0; i < WAITING_READS; i++) {
		ASSERT_EQ(8, write_u64(self->fd, 1));
		ASSERT_EQ(0, next_cqe(&self->ring, &cqe));
		ASSERT_GT(WAITING_READS, cqe.user_data);
		EXPECT_EQ(8, cqe.res);
		EXPECT_EQ(1, v[cqe.user_data]);
		done++;
	}
	EXPECT_EQ(WAITING_READS, done);
	EXPECT_FALSE(cqe_ready(&self->ring));
	EXPECT_EQ(0, io_workers());
}

/* The control: IOSQE_ASYNC forces a worker, and io_workers() sees it. */
TEST_F(uring, forced_async_read_is_seen_on_a_worker)
{
	struct io_uring_sqe *sqe = sqe_for(&self->ring, 1);
	struct io_uring_cqe cqe;
	uint64_t v = 0;
	int workers;

	io_uring_prep_read(sqe, self->fd, &v, 8, 0);
	io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	/* The worker is created by the submission, and blocks in read. */
	workers = io_workers();
	EXPECT_FALSE(cqe_ready(&self->ring));
	ASSERT_EQ(8, write_u64(self->fd, 2));
	ASSERT_EQ(0, next_cqe(&self->ring, &cqe));
	EXPECT_EQ(8, cqe.res);
	EXPECT_EQ(2, v);
	EXPECT_LE(1, workers);
}

TEST_F(uring, register_eventfd_accepts_only_eventfd)
{
	int ret = io_uring_register_eventfd(&self->ring, self->fd);

	if (variant->b == EVENTFD) {
		EXPECT_EQ(0, ret);
	} else {
		/* eventfd_ctx_fdget(): not an eventfd file. */
		EXPECT_EQ(-EINVAL, ret);
	}
}

/* aio, by raw syscalls: glibc has no wrappers. */
static long io_setup(unsigned int nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long io_destroy(aio_context_t ctx)
{
	return syscall(SYS_io_destroy, ctx);
}

static long io_submit(aio_context_t ctx, long n, struct iocb **iocbs)
{
	return syscall(SYS_io_submit, ctx, n, iocbs);
}

static long io_getevents(aio_context_t ctx, long min, long max, struct io_event *ev,
			 struct timespec *timeout)
{
	return syscall(SYS_io_getevents, ctx, min, max, ev, timeout);
}

FIXTURE(aio)
{
	int fd;		/* blocking counter at 0 */
	aio_context_t ctx;
};

FIXTURE_VARIANT(aio)
{
	enum backend b;
};

BACKEND_VARIANTS(aio);

FIXTURE_SETUP(aio)
{
	SKIP_IF_ABSENT(variant->b);
	self->fd = backend_make(variant->b, 0, 0);
	ASSERT_LE(0, self->fd) TH_LOG("make: %s", strerror(errno));
	self->ctx = 0;
	ASSERT_EQ(0, io_setup(8, &self->ctx)) TH_LOG("io_setup: %s (CONFIG_AIO?)", strerror(errno));
}

FIXTURE_TEARDOWN(aio)
{
	io_destroy(self->ctx);
	close(self->fd);
}

static struct iocb poll_iocb(int fd, short events)
{
	return (struct iocb){ .aio_lio_opcode = IOCB_CMD_POLL, .aio_fildes = fd,
			      .aio_buf = events, .aio_data = 7 };
}

TEST_F(aio, poll_waits_for_a_write_from_another_thread)
{
	struct delayed_write w = { .fd = self->fd, .value = 1 };
	struct iocb cb = poll_iocb(self->fd, POLLIN), *cbs[1] = { &cb };
	struct timespec zero = { 0 };
	struct io_event ev;
	pthread_t t;

	ASSERT_EQ(1, io_submit(self->ctx, 1, cbs));
	EXPECT_EQ(0, io_getevents(self->ctx, 0, 1, &ev, &zero));
	ASSERT_EQ(0, pthread_create(&t, NULL, write_value, &w));
	ASSERT_EQ(1, io_getevents(self->ctx, 1, 1, &ev, NULL));
	pthread_join(t, NULL);
	EXPECT_EQ(7, ev.data);
	EXPECT_EQ(POLLIN, ev.res & (POLLIN | POLLOUT | POLLERR));
}

TEST_F(aio, poll_of_a_ready_counter_completes_at_once)
{
	struct iocb cb = poll_iocb(self->fd, POLLIN), *cbs[1] = { &cb };
	struct io_event ev;

	ASSERT_EQ(8, write_u64(self->fd, 1));
	ASSERT_EQ(1, io_submit(self->ctx, 1, cbs));
	ASSERT_EQ(1, io_getevents(self->ctx, 1, 1, &ev, NULL));
	EXPECT_EQ(POLLIN, ev.res & (POLLIN | POLLOUT | POLLERR));
}

TEST_F(aio, read_takes_the_value)
{
	uint64_t v = 0;
	struct iocb cb = { .aio_lio_opcode = IOCB_CMD_PREAD, .aio_fildes = self->fd,
			   .aio_buf = (uintptr_t)&v, .aio_nbytes = 8 };
	struct iocb *cbs[1] = { &cb };
	struct io_event ev;

	ASSERT_EQ(8, write_u64(self->fd, 12));
	ASSERT_EQ(1, io_submit(self->ctx, 1, cbs));
	ASSERT_EQ(1, io_getevents(self->ctx, 1, 1, &ev, NULL));
	EXPECT_EQ(8, ev.res);
	EXPECT_EQ(12, v);
}

TEST_F(aio, nowait_read_of_an_empty_counter_is_eagain)
{
	uint64_t v = 0;
	struct iocb cb = { .aio_lio_opcode = IOCB_CMD_PREAD, .aio_fildes = self->fd,
			   .aio_buf = (uintptr_t)&v, .aio_nbytes = 8,
			   .aio_rw_flags = RWF_NOWAIT };
	struct iocb *cbs[1] = { &cb };
	struct io_event ev;

	ASSERT_EQ(1, io_submit(self->ctx, 1, cbs));
	ASSERT_EQ(1, io_getevents(self->ctx, 1, 1, &ev, NULL));
	EXPECT_EQ(-EAGAIN, ev.res);
}

TEST_F(aio, resfd_accepts_only_eventfd)
{
	struct iocb cb = poll_iocb(self->fd, POLLOUT), *cbs[1] = { &cb };
	struct io_event ev;
	long ret;

	cb.aio_flags = IOCB_FLAG_RESFD;
	cb.aio_resfd = self->fd;
	ret = io_submit(self->ctx, 1, cbs);
	if (variant->b == EVENTFD) {
		EXPECT_EQ(1, ret);
		EXPECT_EQ(1, io_getevents(self->ctx, 1, 1, &ev, NULL));
	} else {
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(EINVAL, errno);
	}
}

TEST_HARNESS_MAIN
