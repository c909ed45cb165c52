// SPDX-License-Identifier: GPL-2.0
/*
 * Sharing and concurrency, against eventfd and every pollcount backend:
 * dup, fork and SCM_RIGHTS share one counter, separate ones do not; N
 * writer and M reader threads on one counter, blocking and non-blocking,
 * read back exactly what was written.
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "pollcount_backend.h"

FIXTURE(share)
{
	int fd;		/* non-blocking counter at 0 */
};

FIXTURE_VARIANT(share)
{
	enum backend b;
};

BACKEND_VARIANTS(share);

FIXTURE_SETUP(share)
{
	SKIP_IF_ABSENT(variant->b);
	self->fd = backend_make(variant->b, 0, EFD_NONBLOCK);
	ASSERT_LE(0, self->fd) TH_LOG("make: %s", strerror(errno));
}

FIXTURE_TEARDOWN(share)
{
	close(self->fd);
}

TEST_F(share, dup_shares_the_counter)
{
	int copy = dup(self->fd), err;

	ASSERT_LE(0, copy);
	ASSERT_EQ(8, write_u64(copy, 11));
	EXPECT_EQ(11, read_u64(self->fd, &err));
	close(copy);
	/* The counter outlives the closed dup. */
	ASSERT_EQ(8, write_u64(self->fd, 2));
	EXPECT_EQ(2, read_u64(self->fd, &err));
}

TEST_F(share, fork_shares_the_counter)
{
	int status, err;
	pid_t child;

	set_nonblock(self->fd, false);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0)
		_exit(write_u64(self->fd, 13) == 8 ? 0 : 1);
	/* A blocking read in the parent sees the child's write. */
	EXPECT_EQ(13, read_u64(self->fd, &err));
	EXPECT_EQ(0, err);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(share, scm_rights_shares_the_counter)
{
	int sv[2], status, err;
	pid_t child;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		/* A process that never had the fd receives it and writes. */
		close(self->fd);
		int fd = recv_fd(sv[1]);

		_exit(fd >= 0 && write_u64(fd, 21) == 8 ? 0 : 1);
	}
	ASSERT_EQ(0, send_fd(sv[0], self->fd));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(21, read_u64(self->fd, &err));
	close(sv[0]);
	close(sv[1]);
}

TEST_F(share, separate_counters_do_not_share)
{
	int other = backend_make(variant->b, 0, EFD_NONBLOCK), err;

	ASSERT_LE(0, other);
	ASSERT_EQ(8, write_u64(self->fd, 5));
	read_u64(other, &err);
	EXPECT_EQ(EAGAIN, err);
	EXPECT_EQ(5, read_u64(self->fd, &err));
	close(other);
}

/* --- N writers, M readers -------------------------------------------------- */

#define WRITES_PER_WRITER 400

struct stress {
	int fd;
	bool nonblocking;
	int writers_left;
	uint64_t written;	/* sum of all writes, known in advance */
	uint64_t read_sum;
	uint64_t reads;
	int stop;		/* set once read_sum == written */
	uint64_t errors;
};

static void *stress_writer(void *arg)
{
	struct stress *s = arg;
	uint64_t i;

	for (i = 1; i <= WRITES_PER_WRITER; i++) {
		for (;;) {
			if (write_u64(s->fd, i) == 8)
				break;
			if (errno != EAGAIN) {
				__atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
				return NULL;
			}
			sched_yield();
		}
	}
	__atomic_sub_fetch(&s->writers_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *stress_reader(void *arg)
{
	struct stress *s = arg;
	uint64_t v;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		if (read(s->fd, &v, 8) == 8) {
			if (__atomic_add_fetch(&s->read_sum, v, __ATOMIC_ACQ_REL) == s->written)
				__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
			__atomic_add_fetch(&s->reads, 1, __ATOMIC_RELAXED);
		} else if (errno == EAGAIN) {
			sched_yield();
		} else if (errno != EINTR) {
			__atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
			return NULL;
		}
	}
	return NULL;
}

static void wake_with_signal(int sig)
{
	(void)sig;
}

/*
 * Runs nw writers and nr readers; returns when all is read, or after 60 s.
 * Blocking readers still asleep at the end are released with a signal
 * (no SA_RESTART: their read fails with EINTR and they see `stop`), sent
 * again every 50 ms in case one arrived just before a reader went to
 * sleep. Not in a tight loop: a 32-bit ARM reader in the middle of a
 * 64-bit atomic (an ldrexd/strexd loop) that a signal interrupts every
 * time never completes it, which under QEMU held a reader for the whole
 * 60 s.
 */
static void run_stress(struct __test_metadata *_metadata, enum backend b,
		       int nw, int nr, bool nonblocking)
{
	struct sigaction sa = { .sa_handler = wake_with_signal };
	struct stress s = { .nonblocking = nonblocking, .writers_left = nw };
	bool done[8] = { false };
	double kicked[8] = { 0 };
	pthread_t w[8], r[8];
	double deadline;
	int i, joined;

	sigaction(SIGUSR2, &sa, NULL);
	s.fd = backend_make(b, 0, nonblocking ? EFD_NONBLOCK : 0);
	ASSERT_LE(0, s.fd);
	s.written = (uint64_t)nw * WRITES_PER_WRITER * (WRITES_PER_WRITER + 1) / 2;
	for (i = 0; i < nr; i++)
		ASSERT_EQ(0, pthread_create(&r[i], NULL, stress_reader, &s));
	for (i = 0; i < nw; i++)
		ASSERT_EQ(0, pthread_create(&w[i], NULL, stress_writer, &s));
	for (i = 0; i < nw; i++)
		pthread_join(w[i], NULL);

	deadline = now_s() + 60;
	for (joined = 0; joined < nr && now_s() < deadline;) {
		for (i = 0, joined = 0; i < nr; i++) {
			if (done[i] || pthread_tryjoin_np(r[i], NULL) == 0) {
				done[i] = true;
				joined++;
			} else if (__atomic_load_n(&s.stop, __ATOMIC_ACQUIRE) &&
				   now_s() - kicked[i] >= 0.05) {
				kicked[i] = now_s();
				pthread_kill(r[i], SIGUSR2);
			}
		}
		sched_yield();
	}
	close(s.fd);
	EXPECT_EQ(nr, joined) TH_LOG("readers stuck: read %llu of %llu",
				     (unsigned long long)s.read_sum,
				     (unsigned long long)s.written);
	EXPECT_EQ(0, s.errors);
	EXPECT_EQ(s.written, s.read_sum);
	TH_LOG("%d writers, %d readers, %s: %llu writes, %llu reads, sum %llu", nw, nr,
	       nonblocking ? "non-blocking" : "blocking",
	       (unsigned long long)nw * WRITES_PER_WRITER, (unsigned long long)s.reads,
	       (unsigned long long)s.read_sum);
}

TEST_F_TIMEOUT(share, writers_and_readers_blocking, 300)
{
	run_stress(_metadata, variant->b, 1, 1, false);
	run_stress(_metadata, variant->b, 4, 4, false);
	run_stress(_metadata, variant->b, 8, 8, false);
}

TEST_F_TIMEOUT(share, writers_and_readers_nonblocking, 300)
{
	run_stress(_metadata, variant->b, 1, 1, true);
	run_stress(_metadata, variant->b, 4, 2, true);
	run_stress(_metadata, variant->b, 8, 8, true);
}

TEST_HARNESS_MAIN
