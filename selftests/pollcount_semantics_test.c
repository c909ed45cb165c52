// SPDX-License-Identifier: GPL-2.0
/*
 * Read, write, errno, poll, select, ppoll, fcntl and fdinfo semantics,
 * written once and run against eventfd and every pollcount backend
 * (pollcount_backend.h). Counter mode must match eventfd exactly; mailbox
 * mode has its own expectations, spelled out where they differ.
 */
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "pollcount_backend.h"

FIXTURE(sem)
{
	int fd;		/* blocking counter at 0 */
	int nb;		/* non-blocking counter at 0 */
};

FIXTURE_VARIANT(sem)
{
	enum backend b;
};

BACKEND_VARIANTS(sem);

FIXTURE_SETUP(sem)
{
	SKIP_IF_ABSENT(variant->b);
	self->fd = backend_make(variant->b, 0, 0);
	ASSERT_LE(0, self->fd) TH_LOG("make: %s", strerror(errno));
	self->nb = backend_make(variant->b, 0, EFD_NONBLOCK);
	ASSERT_LE(0, self->nb) TH_LOG("make nonblock: %s", strerror(errno));
}

FIXTURE_TEARDOWN(sem)
{
	close(self->fd);
	close(self->nb);
}

TEST_F(sem, read_empty_is_eagain)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;

	EXPECT_EQ(-1, read(self->nb, &v, sizeof(v)));
	EXPECT_EQ(EAGAIN, errno);
	/* A failed read leaves the buffer alone. */
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, v);
}

TEST_F(sem, write_then_read)
{
	int err;

	ASSERT_EQ(8, write_u64(self->nb, 5));
	EXPECT_EQ(5, read_u64(self->nb, &err));
	EXPECT_EQ(0, err);
	read_u64(self->nb, &err);
	EXPECT_EQ(EAGAIN, err);
}

TEST_F(sem, second_write)
{
	int err;

	ASSERT_EQ(8, write_u64(self->nb, 3));
	if (is_mailbox(variant->b)) {
		/* The slot is full: the second write waits for a read. */
		EXPECT_EQ(-1, write_u64(self->nb, 4));
		EXPECT_EQ(EAGAIN, errno);
		EXPECT_EQ(3, read_u64(self->nb, &err));
		EXPECT_EQ(8, write_u64(self->nb, 4));
		EXPECT_EQ(4, read_u64(self->nb, &err));
	} else {
		/* Writes add up until a read takes the sum. */
		EXPECT_EQ(8, write_u64(self->nb, 4));
		EXPECT_EQ(7, read_u64(self->nb, &err));
	}
	EXPECT_EQ(0, err);
}

TEST_F(sem, short_read_is_einval_and_keeps_count)
{
	char small[7];
	int err;

	ASSERT_EQ(8, write_u64(self->nb, 9));
	EXPECT_EQ(-1, read(self->nb, small, sizeof(small)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->nb, small, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(9, read_u64(self->nb, &err));
}

TEST_F(sem, long_read_returns_eight)
{
	uint64_t big[2] = { 0, 0x1111 };

	ASSERT_EQ(8, write_u64(self->nb, 6));
	EXPECT_EQ(8, read(self->nb, big, sizeof(big)));
	EXPECT_EQ(6, big[0]);
	EXPECT_EQ(0x1111, big[1]);
}

TEST_F(sem, write_must_be_eight_bytes)
{
	uint64_t big[2] = { 1, 1 };
	int err;

	EXPECT_EQ(-1, write(self->nb, big, 7));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->nb, big, 16));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->nb, big, 0));
	EXPECT_EQ(EINVAL, errno);
	read_u64(self->nb, &err);
	EXPECT_EQ(EAGAIN, err);
}

TEST_F(sem, write_all_ones_is_einval)
{
	int err;

	EXPECT_EQ(-1, write_u64(self->nb, UINT64_MAX));
	EXPECT_EQ(EINVAL, errno);
	/* Also on a blocking file: EINVAL, never a wait. */
	EXPECT_EQ(-1, write_u64(self->fd, UINT64_MAX));
	EXPECT_EQ(EINVAL, errno);
	read_u64(self->nb, &err);
	EXPECT_EQ(EAGAIN, err);
}

TEST_F(sem, write_zero)
{
	int err;

	if (is_mailbox(variant->b)) {
		/* An empty slot is 0: writing it is meaningless. */
		EXPECT_EQ(-1, write_u64(self->nb, 0));
		EXPECT_EQ(EINVAL, errno);
	} else {
		EXPECT_EQ(8, write_u64(self->nb, 0));
	}
	read_u64(self->nb, &err);
	EXPECT_EQ(EAGAIN, err);
}

TEST_F(sem, overflow_edge)
{
	int err;

	ASSERT_EQ(8, write_u64(self->nb, COUNT_MAX - 1));
	if (is_mailbox(variant->b)) {
		EXPECT_EQ(-1, write_u64(self->nb, 1));
		EXPECT_EQ(EAGAIN, errno);
		EXPECT_EQ(COUNT_MAX - 1, read_u64(self->nb, &err));
		return;
	}
	EXPECT_EQ(-1, write_u64(self->nb, 2));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(8, write_u64(self->nb, 1));	/* exactly 0xfffffffffffffffe */
	EXPECT_EQ(-1, write_u64(self->nb, 1));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(8, write_u64(self->nb, 0));	/* 0 still fits */
	EXPECT_EQ(COUNT_MAX, read_u64(self->nb, &err));
	EXPECT_EQ(0, err);
	EXPECT_EQ(8, write_u64(self->nb, COUNT_MAX));
	EXPECT_EQ(COUNT_MAX, read_u64(self->nb, &err));
}

TEST_F(sem, semaphore_reads_one)
{
	int fd, err, i;

	fd = backend_make(variant->b, 3, EFD_SEMAPHORE | EFD_NONBLOCK);
	if (fd < 0 && errno == EOPNOTSUPP)
		SKIP(return, "open() of /dev/pollcount has no semaphore mode");
	if (is_mailbox(variant->b)) {
		ASSERT_EQ(-1, fd);
		EXPECT_EQ(EINVAL, errno);	/* SEMAPHORE with MAILBOX */
		return;
	}
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(1, read_u64(fd, &err));
		EXPECT_EQ(0, err);
	}
	read_u64(fd, &err);
	EXPECT_EQ(EAGAIN, err);
	EXPECT_EQ(8, write_u64(fd, 2));
	EXPECT_EQ(1, read_u64(fd, &err));
	EXPECT_EQ(1, read_u64(fd, &err));
	close(fd);
}

TEST_F(sem, read_bad_pointer_is_efault)
{
	int err;

	ASSERT_EQ(8, write_u64(self->nb, 5));
	EXPECT_EQ(-1, read(self->nb, BAD_PTR, 8));
	EXPECT_EQ(EFAULT, errno);
	if (variant->b == EVENTFD) {
		/* eventfd takes the count before the copy faults: it is gone. */
		read_u64(self->nb, &err);
		EXPECT_EQ(EAGAIN, err);
	} else {
		/* pollcount loses nothing. */
		EXPECT_EQ(5, read_u64(self->nb, &err));
		EXPECT_EQ(0, err);
	}
}

TEST_F(sem, read_bad_pointer_when_empty_is_eagain)
{
	/* eventfd's order: EAGAIN is decided before the copy. */
	EXPECT_EQ(-1, read(self->nb, BAD_PTR, 8));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(sem, read_into_readonly_memory_is_efault)
{
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(8, write_u64(self->nb, 12));
	EXPECT_EQ(-1, read(self->nb, ro, 8));
	EXPECT_EQ(EFAULT, errno);
	if (variant->b == EVENTFD) {
		/* The documented difference: eventfd lost the count. */
		read_u64(self->nb, &err);
		EXPECT_EQ(EAGAIN, err);
	} else {
		EXPECT_EQ(12, read_u64(self->nb, &err));
		EXPECT_EQ(0, err);
	}
	munmap(ro, 4096);
}

/* A good buffer whose page is not present yet: delivered all the same. */
TEST_F(sem, read_into_an_untouched_page)
{
	uint64_t *fresh = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	ASSERT_NE(MAP_FAILED, fresh);
	ASSERT_EQ(8, write_u64(self->nb, 77));
	EXPECT_EQ(8, read(self->nb, fresh, 8));
	EXPECT_EQ(77, *fresh);
	read_u64(self->nb, &err);
	EXPECT_EQ(EAGAIN, err);
	munmap(fresh, 4096);
}

TEST_F(sem, write_bad_pointer_is_efault)
{
	int err;

	ASSERT_EQ(8, write_u64(self->nb, 4));
	EXPECT_EQ(-1, write(self->nb, BAD_PTR, 8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(4, read_u64(self->nb, &err));
	EXPECT_EQ(0, err);
}

/* poll() masks, asked as POLLIN|POLLOUT (what eventfd and pollcount share). */
TEST_F(sem, poll_masks)
{
	int err;

	EXPECT_EQ(POLLOUT, poll_now(self->nb, POLLIN | POLLOUT));
	ASSERT_EQ(8, write_u64(self->nb, 1));
	EXPECT_EQ(is_mailbox(variant->b) ? POLLIN : POLLIN | POLLOUT,
		  poll_now(self->nb, POLLIN | POLLOUT));
	read_u64(self->nb, &err);
	EXPECT_EQ(POLLOUT, poll_now(self->nb, POLLIN | POLLOUT));
	/* Full: a write of 1 would block. */
	ASSERT_EQ(8, write_u64(self->nb, COUNT_MAX));
	EXPECT_EQ(POLLIN, poll_now(self->nb, POLLIN | POLLOUT));
	/* POLLERR is reported whether asked or not; none here. */
	EXPECT_EQ(0, poll_now(self->nb, 0));
}

TEST_F(sem, select_masks)
{
	struct timeval tv = { 0, 0 };
	fd_set r, w;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(self->nb, &r);
	FD_SET(self->nb, &w);
	EXPECT_EQ(1, select(self->nb + 1, &r, &w, NULL, &tv));
	EXPECT_FALSE(FD_ISSET(self->nb, &r));
	EXPECT_TRUE(FD_ISSET(self->nb, &w));

	ASSERT_EQ(8, write_u64(self->nb, 2));
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(self->nb, &r);
	FD_SET(self->nb, &w);
	EXPECT_EQ(is_mailbox(variant->b) ? 1 : 2, select(self->nb + 1, &r, &w, NULL, &tv));
	EXPECT_TRUE(FD_ISSET(self->nb, &r));
	EXPECT_EQ(!is_mailbox(variant->b), !!FD_ISSET(self->nb, &w));
}

TEST_F(sem, ppoll_times_out_when_empty)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	struct pollfd p = { .fd = self->nb, .events = POLLIN };
	double t0 = now_s();

	EXPECT_EQ(0, ppoll(&p, 1, &ts, NULL));
	EXPECT_EQ(0, p.revents);
	/* It did wait: at least most of the 20 ms. */
	EXPECT_LE(0.015, now_s() - t0);
}

TEST_F(sem, poll_wakes_on_write_from_another_thread)
{
	struct waiter w = { .fd = self->fd, .events = POLLIN };
	pthread_t t;

	ASSERT_TRUE(start_blocked_thread(&t, wait_for_events, &w, &w.tid));
	ASSERT_EQ(8, write_u64(self->fd, 3));
	pthread_join(t, NULL);
	EXPECT_EQ(1, w.ret);
	EXPECT_EQ(POLLIN, w.revents);
}

TEST_F(sem, select_wakes_on_read_from_another_thread)
{
	struct waiter w = { .fd = self->fd, .events = POLLOUT, .use_select = true };
	pthread_t t;
	int err;

	/* Full, so not writable until this thread reads. */
	ASSERT_EQ(8, write_u64(self->fd, COUNT_MAX));
	ASSERT_TRUE(start_blocked_thread(&t, wait_for_events, &w, &w.tid));
	EXPECT_EQ(COUNT_MAX, read_u64(self->fd, &err));
	pthread_join(t, NULL);
	EXPECT_EQ(1, w.ret);
	EXPECT_EQ(POLLOUT, w.revents);
}

TEST_F(sem, fcntl_flags)
{
	int fd;

	EXPECT_EQ(O_RDWR, fcntl(self->fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	EXPECT_EQ(O_RDWR | O_NONBLOCK, fcntl(self->nb, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	EXPECT_EQ(0, fcntl(self->fd, F_GETFD));

	fd = backend_make(variant->b, 0, EFD_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	/* O_NONBLOCK set later with F_SETFL takes effect. */
	set_nonblock(fd, true);
	EXPECT_EQ(-1, read(fd, &(uint64_t){ 0 }, 8));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

TEST_F(sem, lseek_is_a_noop)
{
	int err;

	EXPECT_EQ(0, lseek(self->nb, 100, SEEK_SET));
	ASSERT_EQ(8, write_u64(self->nb, 1));
	EXPECT_EQ(1, read_u64(self->nb, &err));
}

/* fdinfo carries the same lines as eventfd's, under the backend's prefix. */
TEST_F(sem, fdinfo)
{
	const char *prefix = variant->b == EVENTFD ? "eventfd" : "pollcount";
	char text[512], want[128];

	ASSERT_EQ(8, write_u64(self->nb, 0x2a));
	ASSERT_TRUE(read_fdinfo(self->nb, text, sizeof(text)));

	snprintf(want, sizeof(want), "%s-count: %16llx\n", prefix, 0x2aULL);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("no '%s' in:\n%s", want, text);
	snprintf(want, sizeof(want), "%s-semaphore: 0\n", prefix);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("no '%s' in:\n%s", want, text);
	snprintf(want, sizeof(want), "\n%s-id: ", prefix);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("no '%s' in:\n%s", want, text);
	if (variant->b != EVENTFD) {
		snprintf(want, sizeof(want), "pollcount-mode: %s\n",
			 is_mailbox(variant->b) ? "mailbox" : "counter");
		EXPECT_NE(NULL, strstr(text, want)) TH_LOG("no '%s' in:\n%s", want, text);
	}
}

TEST_HARNESS_MAIN
