// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking reads and writes across two threads, and signals while blocked,
 * against eventfd and every pollcount backend. Each test waits until the
 * blocked thread really sleeps in the kernel (pollcount_backend.h) before it
 * acts, so the wakeup path is what is tested, on any machine speed.
 */
#include "kselftest_harness.h"
#include "pollcount_backend.h"

FIXTURE(blk)
{
	int fd;		/* blocking counter at 0 */
};

FIXTURE_VARIANT(blk)
{
	enum backend b;
};

BACKEND_VARIANTS(blk);

FIXTURE_SETUP(blk)
{
	SKIP_IF_ABSENT(variant->b);
	self->fd = backend_make(variant->b, 0, 0);
	ASSERT_LE(0, self->fd) TH_LOG("make: %s", strerror(errno));
}

FIXTURE_TEARDOWN(blk)
{
	close(self->fd);
}

/* One blocking read or write in its own thread. */
struct op {
	int fd;
	bool is_write;
	uint64_t value;		/* to write, or what was read */
	pid_t tid;
	ssize_t ret;
	int err;
};

static void *do_op(void *arg)
{
	struct op *op = arg;

	announce_tid(&op->tid);
	op->ret = op->is_write ? write(op->fd, &op->value, 8) : read(op->fd, &op->value, 8);
	op->err = op->ret < 0 ? errno : 0;
	return NULL;
}

TEST_F(blk, blocked_reader_wakes_on_write)
{
	struct op op = { .fd = self->fd };
	pthread_t t;

	ASSERT_TRUE(start_blocked_thread(&t, do_op, &op, &op.tid));
	ASSERT_EQ(8, write_u64(self->fd, 7));
	pthread_join(t, NULL);
	EXPECT_EQ(8, op.ret);
	EXPECT_EQ(7, op.value);
}

TEST_F(blk, blocked_writer_wakes_on_read)
{
	struct op op = { .fd = self->fd, .is_write = true, .value = 1 };
	pthread_t t;
	int err;

	/* Full: counter at the edge, or a full slot. */
	ASSERT_EQ(8, write_u64(self->fd, COUNT_MAX));
	ASSERT_TRUE(start_blocked_thread(&t, do_op, &op, &op.tid));
	EXPECT_EQ(COUNT_MAX, read_u64(self->fd, &err));
	pthread_join(t, NULL);
	EXPECT_EQ(8, op.ret);
	EXPECT_EQ(1, read_u64(self->fd, &err));
	EXPECT_EQ(0, err);
}

TEST_F(blk, two_blocked_readers_both_served)
{
	struct op a = { .fd = self->fd }, b = { .fd = self->fd };
	pthread_t ta, tb;
	int err;

	ASSERT_TRUE(start_blocked_thread(&ta, do_op, &a, &a.tid));
	ASSERT_TRUE(start_blocked_thread(&tb, do_op, &b, &b.tid));
	ASSERT_EQ(8, write_u64(self->fd, 4));
	/* One reader takes the 4; the other sleeps on until the next write. */
	while (__atomic_load_n(&a.ret, __ATOMIC_ACQUIRE) == 0 &&
	       __atomic_load_n(&b.ret, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	ASSERT_EQ(8, write_u64(self->fd, 6));
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	EXPECT_EQ(8, a.ret);
	EXPECT_EQ(8, b.ret);
	EXPECT_EQ(10, a.value + b.value);
	EXPECT_TRUE((a.value == 4 && b.value == 6) || (a.value == 6 && b.value == 4));
	set_nonblock(self->fd, true);
	read_u64(self->fd, &err);
	EXPECT_EQ(EAGAIN, err);
}

static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

static void handle(int sig, int flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

TEST_F(blk, signal_interrupts_read_with_eintr)
{
	struct op op = { .fd = self->fd, .value = 0x77 };
	pthread_t t;
	int err;

	handle(SIGUSR1, 0);	/* no SA_RESTART */
	ASSERT_TRUE(start_blocked_thread(&t, do_op, &op, &op.tid));
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	pthread_join(t, NULL);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EINTR, op.err);
	EXPECT_EQ(0x77, op.value);	/* the buffer untouched */
	/* Nothing was lost or invented. */
	ASSERT_EQ(8, write_u64(self->fd, 5));
	EXPECT_EQ(5, read_u64(self->fd, &err));
}

TEST_F(blk, signal_interrupts_write_with_eintr)
{
	struct op op = { .fd = self->fd, .is_write = true, .value = 1 };
	pthread_t t;
	int err;

	handle(SIGUSR1, 0);
	ASSERT_EQ(8, write_u64(self->fd, COUNT_MAX));
	ASSERT_TRUE(start_blocked_thread(&t, do_op, &op, &op.tid));
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	pthread_join(t, NULL);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EINTR, op.err);
	/* The count is intact: the interrupted write added nothing. */
	EXPECT_EQ(COUNT_MAX, read_u64(self->fd, &err));
	set_nonblock(self->fd, true);
	read_u64(self->fd, &err);
	EXPECT_EQ(EAGAIN, err);
}

TEST_F(blk, signal_with_sa_restart_restarts_read)
{
	struct op op = { .fd = self->fd };
	pthread_t t;

	handled = 0;
	handle(SIGUSR1, SA_RESTART);
	ASSERT_TRUE(start_blocked_thread(&t, do_op, &op, &op.tid));
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	/* The handler runs, then the read restarts and sleeps again. */
	while (!handled)
		sched_yield();
	ASSERT_TRUE(wait_until_sleeping(op.tid));
	EXPECT_EQ(EBUSY, pthread_tryjoin_np(t, NULL));
	ASSERT_EQ(8, write_u64(self->fd, 9));
	pthread_join(t, NULL);
	EXPECT_EQ(8, op.ret);
	EXPECT_EQ(9, op.value);
}

TEST_F(blk, signal_with_sa_restart_restarts_write)
{
	struct op op = { .fd = self->fd, .is_write = true, .value = 3 };
	pthread_t t;
	int err;

	handled = 0;
	handle(SIGUSR1, SA_RESTART);
	ASSERT_EQ(8, write_u64(self->fd, COUNT_MAX));
	ASSERT_TRUE(start_blocked_thread(&t, do_op, &op, &op.tid));
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	while (!handled)
		sched_yield();
	ASSERT_TRUE(wait_until_sleeping(op.tid));
	EXPECT_EQ(COUNT_MAX, read_u64(self->fd, &err));
	pthread_join(t, NULL);
	EXPECT_EQ(8, op.ret);
	EXPECT_EQ(3, read_u64(self->fd, &err));
}

TEST_HARNESS_MAIN
