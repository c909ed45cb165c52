// SPDX-License-Identifier: GPL-2.0
/*
 * The doors to a counter besides read(2) and write(2) of 8 bytes: readv,
 * preadv2 with RWF_NOWAIT, pread/pwrite, writev, pwritev2, and reads into
 * memory that is not there yet or goes away meanwhile, and reads through
 * read, readv, io_uring and aio while signals arrive. Written once and run
 * against eventfd and every pollcount backend (pollcount_backend.h): every
 * read goes through read_iter in both, every write through a plain write.
 */
#include <liburing.h>
#include <linux/aio_abi.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "pollcount_backend.h"

FIXTURE(io)
{
	int fd;		/* blocking counter at 0 */
	int nb;		/* non-blocking counter at 0 */
};

FIXTURE_VARIANT(io)
{
	enum backend b;
};

BACKEND_VARIANTS(io);

FIXTURE_SETUP(io)
{
	SKIP_IF_ABSENT(variant->b);
	self->fd = backend_make(variant->b, 0, 0);
	ASSERT_LE(0, self->fd) TH_LOG("make: %s", strerror(errno));
	self->nb = backend_make(variant->b, 0, EFD_NONBLOCK);
	ASSERT_LE(0, self->nb) TH_LOG("make nonblock: %s", strerror(errno));
}

FIXTURE_TEARDOWN(io)
{
	close(self->fd);
	close(self->nb);
}

#define DRAIN(fd, err) read_u64_nowait(fd, err)

TEST_F(io, readv_of_two_4_byte_halves_reads_one_value)
{
	uint32_t lo = 0xdeadbeef, hi = 0xdeadbeef;
	struct iovec iov[2] = { { &lo, 4 }, { &hi, 4 } };
	uint64_t v;
	int err;

	ASSERT_EQ(8, write_u64(self->nb, 5));
	EXPECT_EQ(8, readv(self->nb, iov, 2));
	memcpy(&v, &lo, 4);
	memcpy((char *)&v + 4, &hi, 4);
	EXPECT_EQ(5, v);
	DRAIN(self->nb, &err);
	EXPECT_EQ(EAGAIN, err);
}

TEST_F(io, readv_of_uneven_split_reads_one_value)
{
	unsigned char buf[8] = { 0 };
	struct iovec iov[3] = { { buf, 1 }, { buf + 1, 2 }, { buf + 3, 5 } };
	uint64_t v;

	ASSERT_EQ(8, write_u64(self->nb, 0x0102030405060708ULL));
	EXPECT_EQ(8, readv(self->nb, iov, 3));
	memcpy(&v, buf, 8);
	EXPECT_EQ(0x0102030405060708ULL, v);
}

/* Two 8-byte iovecs: one value, into the first; the blocking fd does not wait for a second. */
TEST_F(io, readv_of_two_values_reads_one)
{
	uint64_t a = 0x5a5a5a5a5a5a5a5aULL, b = 0x5a5a5a5a5a5a5a5aULL;
	struct iovec iov[2] = { { &a, 8 }, { &b, 8 } };
	int err;

	ASSERT_EQ(8, write_u64(self->fd, 5));
	EXPECT_EQ(8, readv(self->fd, iov, 2));
	EXPECT_EQ(5, a);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, b);
	DRAIN(self->fd, &err);
	EXPECT_EQ(EAGAIN, err);
}

TEST_F(io, readv_shorter_than_8_in_all_is_einval_and_keeps_count)
{
	char a[3], b[4];
	struct iovec iov[2] = { { a, 3 }, { b, 4 } };
	int err;

	ASSERT_EQ(8, write_u64(self->nb, 9));
	EXPECT_EQ(-1, readv(self->nb, iov, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(9, DRAIN(self->nb, &err));
	EXPECT_EQ(0, err);
}

TEST_F(io, preadv2_nowait_on_an_empty_blocking_counter_is_eagain)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;
	struct iovec iov = { &v, 8 };

	EXPECT_EQ(-1, preadv2(self->fd, &iov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, v);
	ASSERT_EQ(8, write_u64(self->fd, 3));
	EXPECT_EQ(8, preadv2(self->fd, &iov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(3, v);
}

TEST_F(io, pread_and_pwrite_are_espipe)
{
	uint64_t v = 1;
	struct iovec iov = { &v, 8 };
	int err;

	ASSERT_EQ(8, write_u64(self->nb, 6));
	EXPECT_EQ(-1, pread(self->nb, &v, 8, 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pwrite(self->nb, &v, 8, 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, preadv2(self->nb, &iov, 1, 0, 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pwritev2(self->nb, &iov, 1, 0, 0));
	EXPECT_EQ(ESPIPE, errno);
	/* Nothing was taken or added. */
	EXPECT_EQ(6, DRAIN(self->nb, &err));
	EXPECT_EQ(0, err);
}

/* write is plain write: writev writes one value per segment, each of 8 bytes. */
TEST_F(io, writev_writes_each_8_byte_segment)
{
	uint64_t a = 2, b = 3;
	struct iovec iov[2] = { { &a, 8 }, { &b, 8 } };
	int err;

	if (is_mailbox(variant->b)) {
		/* The second value waits for room: one segment only. */
		EXPECT_EQ(8, writev(self->nb, iov, 1));
		EXPECT_EQ(2, DRAIN(self->nb, &err));
		return;
	}
	EXPECT_EQ(16, writev(self->nb, iov, 2));
	EXPECT_EQ(5, DRAIN(self->nb, &err));
}

TEST_F(io, writev_of_4_byte_halves_is_einval)
{
	uint64_t v = 7;
	struct iovec iov[2] = { { &v, 4 }, { (char *)&v + 4, 4 } };
	int err;

	EXPECT_EQ(-1, writev(self->nb, iov, 2));
	EXPECT_EQ(EINVAL, errno);
	DRAIN(self->nb, &err);
	EXPECT_EQ(EAGAIN, err);
}

TEST_F(io, pwritev2_nowait_is_eopnotsupp)
{
	uint64_t v = 7;
	struct iovec iov = { &v, 8 };
	int err;

	EXPECT_EQ(-1, pwritev2(self->fd, &iov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EOPNOTSUPP, errno);
	DRAIN(self->fd, &err);
	EXPECT_EQ(EAGAIN, err);
	EXPECT_EQ(8, pwritev2(self->fd, &iov, 1, -1, 0));
	EXPECT_EQ(7, DRAIN(self->fd, &err));
}

static uint64_t *fresh_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static bool page_resident(void *p)
{
	unsigned char vec = 0;

	return mincore(p, 4096, &vec) == 0 && (vec & 1);
}

/* A read that ends in EAGAIN writes nothing: the page is not even faulted in. */
TEST_F(io, eagain_leaves_an_untouched_page_untouched)
{
	uint64_t *page = fresh_page();

	ASSERT_NE(NULL, page);
	ASSERT_FALSE(page_resident(page));
	EXPECT_EQ(-1, read(self->nb, page, 8));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_FALSE(page_resident(page));
	munmap(page, 4096);
}

TEST_F(io, nonblocking_read_into_an_untouched_page_delivers)
{
	uint64_t *page = fresh_page();
	int err;

	ASSERT_NE(NULL, page);
	ASSERT_EQ(8, write_u64(self->nb, 77));
	EXPECT_EQ(8, read(self->nb, page, 8));
	EXPECT_EQ(77, *page);
	DRAIN(self->nb, &err);
	EXPECT_EQ(EAGAIN, err);
	munmap(page, 4096);
}

/*
 * A value split across a present page and one that is not: the no-fault
 * store cannot complete, so the read faults the second page in and stores
 * again, from the start of the value.
 */
TEST_F(io, readv_across_a_page_not_yet_present_delivers_every_byte)
{
	uint64_t *page = fresh_page(), v = 0;
	uint32_t lo = 0;
	struct iovec iov[2] = { { &lo, 4 }, { NULL, 4 } };
	int err;

	ASSERT_NE(NULL, page);
	iov[1].iov_base = page;
	ASSERT_FALSE(page_resident(page));
	ASSERT_EQ(8, write_u64(self->nb, 0x1122334455667788ULL));
	EXPECT_EQ(8, readv(self->nb, iov, 2));
	memcpy(&v, &lo, 4);
	memcpy((char *)&v + 4, page, 4);
	EXPECT_EQ(0x1122334455667788ULL, v);
	DRAIN(self->nb, &err);
	EXPECT_EQ(EAGAIN, err);
	munmap(page, 4096);
}

/*
 * A buffer whose 8 bytes run from a present page into one that cannot be
 * written: EFAULT, through read(2) as through readv(2). pollcount writes
 * nothing, not even while
 * it faults the first page in, and keeps the value; eventfd takes the
 * value before its copy fails half-way, the documented difference.
 */
static void read_into_a_hole(struct __test_metadata *_metadata, int fd, enum backend b,
			     bool vectored)
{
	char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t sentinel = 0xa5a5a5a5, seen;
	struct iovec iov = { NULL, 8 };
	ssize_t n;
	int err;

	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, mprotect(pages + 4096, 4096, PROT_NONE));
	memcpy(pages + 4092, &sentinel, 4);
	iov.iov_base = pages + 4092;
	ASSERT_EQ(8, write_u64(fd, 5));
	n = vectored ? readv(fd, &iov, 1) : read(fd, pages + 4092, 8);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EFAULT, errno);
	memcpy(&seen, pages + 4092, 4);
	if (b != EVENTFD) {
		EXPECT_EQ(sentinel, seen);
		EXPECT_EQ(5, read_u64_nowait(fd, &err));
	}
	DRAIN(fd, &err);
	EXPECT_EQ(EAGAIN, err);
	munmap(pages, 8192);
}

TEST_F(io, read_into_a_hole_is_efault_and_writes_nothing)
{
	read_into_a_hole(_metadata, self->nb, variant->b, false);
}

TEST_F(io, readv_into_a_hole_is_efault_and_writes_nothing)
{
	read_into_a_hole(_metadata, self->nb, variant->b, true);
}

/*
 * readv of the value split between writable bytes and a page that can be
 * read but not written, at every split (1+7 ... 7+1, and 2+2+4 over three
 * iovecs): the store gets part-way and fails. pollcount must leave every
 * byte as it was and keep the value, whether the read-only page is not yet
 * present (nothing may be stored: the old bytes cannot even be saved) or
 * present (the bytes stored before the read-only part must be put back);
 * eventfd takes the value before its copy fails part-way, the documented
 * difference.
 */
static void readv_split_into_readonly(struct __test_metadata *_metadata, int fd, enum backend b,
				      bool touched)
{
	static const size_t splits[][3] = {
		{ 1, 7 }, { 2, 6 }, { 3, 5 }, { 4, 4 }, { 5, 3 }, { 6, 2 }, { 7, 1 }, { 2, 2, 4 },
	};
	size_t s;

	for (s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
		char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned char writable[8];
		struct iovec iov[3];
		int n = 0, err;
		size_t off = 0;

		ASSERT_NE(MAP_FAILED, ro);
		memset(writable, 0xa5, sizeof(writable));
		/* Every part but the last in writable memory, the last in the page. */
		while (n < 3 && splits[s][n]) {
			bool last = n == 2 || !splits[s][n + 1];

			iov[n].iov_base = last ? (void *)ro : (void *)(writable + off);
			iov[n].iov_len = splits[s][n];
			off += splits[s][n];
			n++;
		}
		if (touched)
			ASSERT_EQ(0, *(volatile char *)ro);	/* maps the zero page */
		ASSERT_EQ(8, write_u64(fd, 0x1122334455667788ULL));
		EXPECT_EQ(-1, readv(fd, iov, n));
		EXPECT_EQ(EFAULT, errno);
		if (b != EVENTFD) {
			size_t i;

			for (i = 0; i < 8; i++)
				EXPECT_EQ(0xa5, writable[i])
					TH_LOG("split %zu: byte %zu was left written", s, i);
			EXPECT_EQ(0x1122334455667788ULL, read_u64_nowait(fd, &err));
		}
		DRAIN(fd, &err);
		EXPECT_EQ(EAGAIN, err);
		munmap(ro, 4096);
	}
}

TEST_F(io, readv_split_into_an_absent_readonly_page_writes_nothing)
{
	readv_split_into_readonly(_metadata, self->nb, variant->b, false);
}

TEST_F(io, readv_split_into_a_present_readonly_page_writes_nothing)
{
	readv_split_into_readonly(_metadata, self->nb, variant->b, true);
}

/*
 * A ready counter, a destination that needs a fault-in (a fresh mapping,
 * never touched), and a signal arriving all the time (its handler
 * installed without SA_RESTART, as profilers' and Go's preemption signals
 * are): every read delivers the value, through every door, as eventfd's
 * does. A pending signal is no reason to answer a ready counter with
 * EINTR. Another thread sends the reader the next signal as soon as the
 * last one was handled: one is pending nearly all the time, yet the
 * reader always gets on between two, however slow the machine.
 */
#define SIGNALLED_READS 200

static volatile sig_atomic_t signals;

static void count_signal(int sig)
{
	signals++;
}

struct signaller {
	pid_t tid;		/* the reader */
	volatile bool stop;
};

static void *keep_signalling(void *arg)
{
	struct signaller *s = arg;

	while (!s->stop) {
		sig_atomic_t seen = signals;

		if (syscall(SYS_tgkill, getpid(), s->tid, SIGUSR1))
			break;
		while (!s->stop && signals == seen)
			sched_yield();
	}
	return NULL;
}

enum door { DOOR_READ, DOOR_READV, DOOR_IO_URING, DOOR_AIO, DOORS };
static const char *const door_names[DOORS] = { "read", "readv", "io_uring", "aio" };

/* One read of 8 bytes into buf through `door`: bytes read, or -errno. */
static long read_through(enum door door, int fd, void *buf, struct io_uring *ring,
			 aio_context_t aio)
{
	struct iovec iov = { buf, 8 };
	struct iocb cb = { .aio_lio_opcode = IOCB_CMD_PREAD, .aio_fildes = fd,
			   .aio_buf = (uintptr_t)buf, .aio_nbytes = 8 }, *cbs[1] = { &cb };
	struct io_uring_cqe *cqe;
	struct io_event ev;
	long ret;

	switch (door) {
	case DOOR_READ:
		return read(fd, buf, 8) < 0 ? -errno : 8;
	case DOOR_READV:
		return readv(fd, &iov, 1) < 0 ? -errno : 8;
	case DOOR_IO_URING:
		io_uring_prep_read(io_uring_get_sqe(ring), fd, buf, 8, 0);
		ret = io_uring_submit(ring);
		if (ret != 1)
			return ret < 0 ? ret : -EIO;
		/* Waiting may be cut short by the timer; the read is not. */
		while ((ret = io_uring_wait_cqe(ring, &cqe)) == -EINTR)
			;
		if (ret)
			return ret;
		ret = cqe->res;
		io_uring_cqe_seen(ring, cqe);
		return ret;
	case DOOR_AIO:
		if (syscall(SYS_io_submit, aio, 1, cbs) != 1)
			return -errno;
		while ((ret = syscall(SYS_io_getevents, aio, 1, 1, &ev, NULL)) < 0 && errno == EINTR)
			;
		return ret == 1 ? ev.res : -EIO;
	default:
		return -EINVAL;
	}
}

TEST_F_TIMEOUT(io, a_ready_counter_is_read_even_while_signals_arrive, 300)
{
	struct sigaction sa = { .sa_handler = count_signal }, old;	/* no SA_RESTART */
	struct io_uring ring;
	aio_context_t aio = 0;
	enum door door;
	int err;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, syscall(SYS_io_setup, 4, &aio)) TH_LOG("io_setup: %s", strerror(errno));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, &old));
	for (door = 0; door < DOORS; door++) {
		struct signaller s = { .tid = gettid() };
		int delivered = 0, failed = 0, first_errno = 0, i;
		pthread_t t;

		signals = 0;
		ASSERT_EQ(0, pthread_create(&t, NULL, keep_signalling, &s));
		for (i = 0; i < SIGNALLED_READS; i++) {
			uint64_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			long n;

			ASSERT_NE(MAP_FAILED, page);
			ASSERT_EQ(8, write_u64(self->nb, i + 1));
			n = read_through(door, self->nb, page, &ring, aio);
			if (n == 8 && *page == (uint64_t)i + 1) {
				delivered++;
			} else {
				failed++;
				if (!first_errno)
					first_errno = n < 0 ? -n : EIO;
				DRAIN(self->nb, &err);
			}
			munmap(page, 4096);
		}
		s.stop = true;
		pthread_join(t, NULL);
		TH_LOG("%s: %d of %d reads delivered, %d signals", door_names[door], delivered,
		       SIGNALLED_READS, (int)signals);
		EXPECT_EQ(0, failed) TH_LOG("%s: %d reads failed, the first with %s", door_names[door],
					    failed, strerror(first_errno));
		/*
		 * Signals came while reads ran, or this tested nothing. How
		 * many depends on how the two threads share the CPUs: from 0.4
		 * to 100 per read has been seen under emulation.
		 */
		EXPECT_LE(SIGNALLED_READS / 10, signals);
	}
	sigaction(SIGUSR1, &old, NULL);
	syscall(SYS_io_destroy, aio);
	io_uring_queue_exit(&ring);
}

struct blocked_read {
	int fd;
	void *buf;
	pid_t tid;
	ssize_t ret;
};

static void *read_blocking(void *arg)
{
	struct blocked_read *r = arg;

	announce_tid(&r->tid);
	r->ret = read(r->fd, r->buf, 8);
	return NULL;
}

/* A reader asleep on an empty counter, its buffer a page not yet present. */
TEST_F(io, blocking_read_into_an_untouched_page_delivers)
{
	struct blocked_read r = { .fd = self->fd, .buf = fresh_page() };
	pthread_t t;
	int err;

	ASSERT_NE(NULL, r.buf);
	ASSERT_TRUE(start_blocked_thread(&t, read_blocking, &r, &r.tid));
	EXPECT_FALSE(page_resident(r.buf));
	ASSERT_EQ(8, write_u64(self->fd, 31));
	pthread_join(t, NULL);
	EXPECT_EQ(8, r.ret);
	EXPECT_EQ(31, *(uint64_t *)r.buf);
	DRAIN(self->fd, &err);
	EXPECT_EQ(EAGAIN, err);
	munmap(r.buf, 4096);
}

/*
 * Conservation while the reader's buffer is unmapped and mapped again by
 * another thread and a writer waits for room: every value pollcount hands
 * out is either delivered or still in the counter. Values are 1 << 32 and
 * are read with preadv2(RWF_NOWAIT) (the writer's fd blocks), low half
 * into the flapping page, high half into stable memory, so the reader
 * learns what it got without touching the page. eventfd takes a value before it copies, so an EFAULT loses it: the
 * documented difference.
 */
#define ONE (1ULL << 32)
#define FLAP_RACES 50		/* EFAULTs and deliveries to see before stopping */
#define FLAP_SECONDS 60		/* ... or give up: the test then fails */

struct flapper {
	void *page;
	volatile bool stop;
	unsigned long flaps;
	int error;		/* errno of a failed remap, else 0 */
};

/* Unmaps and remaps the page; NOREPLACE: never over a mapping that took the hole. */
static void *flap_page(void *arg)
{
	struct flapper *f = arg;

	while (!f->stop) {
		munmap(f->page, 4096);
		sched_yield();
		if (mmap(f->page, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != f->page) {
			f->error = errno;
			break;
		}
		f->flaps++;
		sched_yield();
	}
	return NULL;
}

struct writer {
	int fd;
	volatile bool stop;
	volatile bool done;
	unsigned long long written;
};

static void *write_ones(void *arg)
{
	struct writer *w = arg;

	while (!w->stop && write_u64(w->fd, ONE) == 8)
		w->written++;
	w->done = true;
	return NULL;
}

TEST_F_TIMEOUT(io, unmapped_buffer_loses_no_value, 120)
{
	struct flapper f = { .page = fresh_page() };
	struct writer w = { .fd = self->fd };
	uint32_t hi;
	struct iovec iov[2] = { { NULL, 4 }, { &hi, 4 } };
	unsigned long long got = 0, delivered = 0, efaults = 0;
	double deadline = now_s() + FLAP_SECONDS;
	pthread_t ft, wt;
	uint64_t v;
	int err;

	ASSERT_NE(NULL, f.page);
	iov[0].iov_base = (char *)f.page + 4096 - 4;
	ASSERT_EQ(0, pthread_create(&ft, NULL, flap_page, &f));
	ASSERT_EQ(0, pthread_create(&wt, NULL, write_ones, &w));
	while (!w.done) {
		ssize_t n = preadv2(self->fd, iov, 2, -1, RWF_NOWAIT);

		if (n == 8) {
			got += hi;
			delivered++;
		} else if (errno == EFAULT) {
			efaults++;
		} else {
			ASSERT_EQ(EAGAIN, errno);
			sched_yield();
		}
		if ((efaults >= FLAP_RACES && delivered >= FLAP_RACES) || now_s() > deadline)
			w.stop = true;
	}
	f.stop = true;
	pthread_join(ft, NULL);
	pthread_join(wt, NULL);
	ASSERT_EQ(0, f.error) TH_LOG("remapping the page: %s", strerror(f.error));
	/* What the racing reads left behind, read into stable memory. */
	while ((v = read_u64_nowait(self->fd, &err)) && !err)
		got += v >> 32;
	EXPECT_EQ(EAGAIN, err);
	TH_LOG("%llu of %llu values delivered; %llu reads, %llu EFAULTs, %lu flaps",
	       got, w.written, delivered, efaults, f.flaps);
	/* The race happened, and reads got through: else this tested nothing. */
	EXPECT_LE(FLAP_RACES, efaults);
	EXPECT_LE(FLAP_RACES, delivered);
	if (variant->b == EVENTFD) {
		EXPECT_GE(w.written, got);
	} else {
		EXPECT_EQ(w.written, got);
	}
}

TEST_HARNESS_MAIN
