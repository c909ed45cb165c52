// SPDX-License-Identifier: GPL-2.0
/*
 * Stress with conservation, against eventfd and pollcount in both modes:
 * on one shared counter, 8 writers, 8 blocking readers, 4 epoll waiters
 * (level-triggered, edge-triggered, two EPOLLEXCLUSIVE) that read what
 * they are woken for, and a thread that dups the fd, adds the dup to an
 * epoll set, waits on it and closes it, over and over. Readers are stopped
 * by signals while they sleep in read, which must lose nothing.
 *
 * Judged by sums only: everything written was read, or is still in the
 * counter at the end. No sleep decides anything; the run is bounded by
 * the number of writes.
 */
#include <sys/epoll.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "pollcount_backend.h"

#define WRITERS 8
#define READERS 8
#define EPOLLERS 4
#define WRITES_PER_WRITER 1500

struct shared {
	int fd;			/* blocking counter */
	bool mailbox;
	volatile bool stop;
	unsigned long long written, read;	/* atomically updated sums */
	unsigned long long dup_rounds, epoll_wakeups;
};

static void add(unsigned long long *sum, unsigned long long v)
{
	__atomic_fetch_add(sum, v, __ATOMIC_RELAXED);
}

static void on_signal(int sig)
{
	(void)sig;	/* only to interrupt a blocking read */
}

/* What writer() writes in all: 1, 2, 3, 1, 2, 3, ... */
static unsigned long long written_by_one_writer(void)
{
	unsigned long long sum = 0;
	int i;

	for (i = 0; i < WRITES_PER_WRITER; i++)
		sum += 1 + (i % 3);
	return sum;
}

static void *writer(void *arg)
{
	struct shared *sh = arg;
	int i;

	for (i = 0; i < WRITES_PER_WRITER; i++) {
		uint64_t v = 1 + (i % 3);

		if (write_u64(sh->fd, v) != 8) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			break;
		}
		add(&sh->written, v);
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct shared *sh = arg;

	while (!sh->stop) {
		uint64_t v;

		if (read(sh->fd, &v, 8) == 8)
			add(&sh->read, v);
		else if (errno != EINTR)
			break;
	}
	return NULL;
}

/* Takes what is there without blocking; adds it to the read sum. */
static void take_nowait(struct shared *sh)
{
	uint64_t v;
	struct iovec iov = { &v, 8 };

	if (preadv2(sh->fd, &iov, 1, -1, RWF_NOWAIT) == 8)
		add(&sh->read, v);
}

struct epoller {
	struct shared *sh;
	uint32_t events;
};

static void *epoller(void *arg)
{
	struct epoller *e = arg;
	struct epoll_event ev = { .events = e->events };
	int ep = epoll_create1(0);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, e->sh->fd, &ev))
		return NULL;
	while (!e->sh->stop) {
		int n = epoll_wait(ep, &ev, 1, -1);

		if (n == 1) {
			add(&e->sh->epoll_wakeups, 1);
			take_nowait(e->sh);
		}
	}
	close(ep);
	return NULL;
}

static void *duper(void *arg)
{
	struct shared *sh = arg;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	int ep = epoll_create1(0);

	while (!sh->stop && ep >= 0) {
		int d = dup(sh->fd);

		if (d < 0)
			break;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev) && errno == EEXIST) {
			epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL);
			epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev);
		}
		epoll_wait(ep, &ev, 1, 0);
		close(d);	/* the item stays until the file goes: epoll's rule */
		add(&sh->dup_rounds, 1);
	}
	if (ep >= 0)
		close(ep);
	return NULL;
}

FIXTURE(stress)
{
	struct shared sh;
};

FIXTURE_VARIANT(stress)
{
	enum backend b;
};

FIXTURE_VARIANT_ADD(stress, eventfd) { .b = EVENTFD };
FIXTURE_VARIANT_ADD(stress, pollcount_create) { .b = PC_CREATE };
FIXTURE_VARIANT_ADD(stress, pollcount_mailbox) { .b = PC_MAILBOX };

FIXTURE_SETUP(stress)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */

	SKIP_IF_ABSENT(variant->b);
	memset(&self->sh, 0, sizeof(self->sh));
	self->sh.fd = backend_make(variant->b, 0, 0);
	ASSERT_LE(0, self->sh.fd) TH_LOG("make: %s", strerror(errno));
	self->sh.mailbox = is_mailbox(variant->b);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
}

FIXTURE_TEARDOWN(stress)
{
	close(self->sh.fd);
}

/* Stops the threads: the stop flag, then signals until each has left. */
static void stop_all(struct shared *sh, pthread_t *t, int n)
{
	struct timespec pace = { 0, 1000000 };
	int i, left = n;
	bool *gone = calloc(n, sizeof(*gone));

	sh->stop = true;
	while (left) {
		for (i = 0; i < n; i++) {
			if (gone[i])
				continue;
			if (pthread_tryjoin_np(t[i], NULL) == 0) {
				gone[i] = true;
				left--;
			} else {
				pthread_kill(t[i], SIGUSR1);
			}
		}
		/* A thread between its stop check and its read gets the next signal. */
		nanosleep(&pace, NULL);
	}
	free(gone);
}

TEST_F_TIMEOUT(stress, conservation_under_contention, 600)
{
	struct shared *sh = &self->sh;
	static const uint32_t modes[EPOLLERS] = {
		EPOLLIN, EPOLLIN | EPOLLET, EPOLLIN | EPOLLEXCLUSIVE, EPOLLIN | EPOLLEXCLUSIVE,
	};
	struct epoller ep[EPOLLERS];
	pthread_t w[WRITERS], others[READERS + EPOLLERS + 1];
	int i, n = 0;
	unsigned long long before_drain;

	for (i = 0; i < READERS; i++)
		ASSERT_EQ(0, pthread_create(&others[n++], NULL, reader, sh));
	for (i = 0; i < EPOLLERS; i++) {
		ep[i] = (struct epoller){ sh, modes[i] };
		ASSERT_EQ(0, pthread_create(&others[n++], NULL, epoller, &ep[i]));
	}
	ASSERT_EQ(0, pthread_create(&others[n++], NULL, duper, sh));
	for (i = 0; i < WRITERS; i++)
		ASSERT_EQ(0, pthread_create(&w[i], NULL, writer, sh));
	for (i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	stop_all(sh, others, n);
	before_drain = sh->read;
	take_nowait(sh);
	TH_LOG("written %llu, read %llu (+%llu left in the counter), %llu epoll wakeups, %llu dup rounds",
	       sh->written, before_drain, sh->read - before_drain, sh->epoll_wakeups, sh->dup_rounds);
	/* Every write went through (none failed), and every value is accounted for. */
	EXPECT_EQ(WRITERS * written_by_one_writer(), sh->written) TH_LOG("a writer stopped early");
	EXPECT_EQ(sh->written, sh->read);
	EXPECT_LT(0, sh->dup_rounds);
}

TEST_HARNESS_MAIN
