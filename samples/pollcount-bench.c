// SPDX-License-Identifier: GPL-2.0
/*
 * pollcount-bench: pollcount side by side with the kernel's eventfd and a
 * pipe, in one run, over repeated rounds. `make bench` runs it in the VM on
 * the bench kernel and draws its CSV (scripts/bench/chart); `make check`
 * runs one short round on the check kernel. It prints figures and asserts
 * nothing about speed: under QEMU's TCG absolute figures move by tens of
 * percent between runs, so what it reports is each column's ratio to
 * eventfd measured in the same round, as the median and min-max over the
 * rounds. A ratio above 1.00 is better than eventfd (faster, or smaller).
 *
 * Tests (every figure is lower-is-better: ns per operation, or bytes):
 *   write+read        one write and one read, one thread
 *   write+poll+read   the same with a poll() between (the poll hook, no wait)
 *   epoll cycle       write, epoll_wait (level-triggered), read
 *   pingpong read     two threads, two channels, blocking reads: a round
 *                     trip is two wakeups of a sleeping reader
 *   pingpong epoll    the same, each thread sleeping in epoll_wait
 *   pingpong uring    the same, each thread reading through its own io_uring
 *   create+close      eventfd2 / POLLCOUNT_IOC_CREATE / open / pipe2, close
 *   herd wake         16 threads in epoll_wait with EPOLLEXCLUSIVE on one
 *                     channel, one write at a time: write-to-wake latency,
 *                     and how many threads wake per write (must be 1)
 *   poll storm        64 threads calling epoll_wait(..., 0) on one epoll set
 *                     with one ready level-triggered item (the kernel's
 *                     epoll65 test): ns per call, every one a poll hook call
 *   scale 1/1k/10k    epoll cycle on one active channel with 1, 1000 or
 *                     10000 idle ones in the same set (epoll promises O(1))
 *   memory            kernel slab bytes per channel, from /proc/slabinfo
 *                     around making 10000 of them (the file included)
 *   herd wakes/write  1 when every write finds the previous waker asleep
 *                     again; EPOLLEXCLUSIVE wakes the next waiter too when
 *                     the first one's set has no thread in epoll_wait yet
 *
 * Columns: eventfd; pollcount made by POLLCOUNT_IOC_CREATE (an anonymous
 * file, like eventfd's); pollcount opened from /dev/pollcount (a device
 * file: the VFS also sends fsnotify events on each read and write); a pipe
 * (8 bytes written and read; its own pair of files).
 *
 * Usage: pollcount-bench [-r ROUNDS] [-n ITERATIONS] [-m CHANNELS] [-o CSV] [-i]
 *   defaults: 5 rounds of 20000 (the threaded and scale tests use 1/10),
 *   10000 channels for the scale and memory tests (fewer: a quicker run).
 *   -o: also write every raw figure and the ratios as CSV to this file.
 *   -i: the VM counts instructions (qemu/run --icount, one guest ns per
 *       instruction): label the figures "insns" instead of "ns".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "pollcount.h"

enum backend { EVENTFD, POLLCOUNT, POLLCOUNT_OPEN, PIPE, BACKENDS };
static const char *const backend_names[BACKENDS] = { "eventfd", "pollcount", "pollcount-open",
						     "pipe" };

/* A channel: one fd for counters, a pipe's two ends for a pipe. */
struct chan {
	int rfd, wfd;
};

#define HERD_THREADS	16
#define STORM_THREADS	64
#define MAX_CHANS	10000

/* -m: how many channels the scale and memory tests make (the scale test's
 * middle row has a tenth of them). */
static int channels = MAX_CHANS;
#define MAX_ROUNDS	64

enum test {
	WRITE_READ, WRITE_POLL_READ, EPOLL_CYCLE, PINGPONG_READ, PINGPONG_EPOLL, PINGPONG_URING,
	CREATE_CLOSE, HERD_WAKE, HERD_WAKES, POLL_STORM, SCALE_1, SCALE_TENTH, SCALE_ALL, MEMORY,
	TESTS
};
static struct {
	const char *name, *unit;
} tests[TESTS] = {
	[WRITE_READ] = { "write+read", "ns" },
	[WRITE_POLL_READ] = { "write+poll+read", "ns" },
	[EPOLL_CYCLE] = { "epoll cycle", "ns" },
	[PINGPONG_READ] = { "pingpong read", "ns" },
	[PINGPONG_EPOLL] = { "pingpong epoll", "ns" },
	[PINGPONG_URING] = { "pingpong uring", "ns" },
	[CREATE_CLOSE] = { "create+close", "ns" },
	[HERD_WAKE] = { "herd wake", "ns" },
	[HERD_WAKES] = { "herd wakes/write", "wakes" },
	[POLL_STORM] = { "poll storm", "ns" },
	[SCALE_1] = { "scale 1 idle", "ns" },
	[SCALE_TENTH] = { "scale 1k idle", "ns" },	/* renamed by -m */
	[SCALE_ALL] = { "scale 10k idle", "ns" },
	[MEMORY] = { "memory", "bytes" },
};

static double figures[MAX_ROUNDS][TESTS][BACKENDS];

/* /dev/pollcount, open for the whole run: POLLCOUNT_IOC_CREATE is timed alone. */
static int pollcount_dev;

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "pollcount-bench: %s: %s\n", what, strerror(errno));
		exit(1);
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static struct chan chan_make(enum backend b, int flags)
{
	struct pollcount_create req = { .flags = flags };
	struct chan c = { -1, -1 };
	int p[2];

	switch (b) {
	case EVENTFD:
		c.rfd = eventfd(0, flags);
		break;
	case POLLCOUNT:
		c.rfd = ioctl(pollcount_dev, POLLCOUNT_IOC_CREATE, &req);
		break;
	case POLLCOUNT_OPEN:
		c.rfd = open("/dev/pollcount", O_RDWR | flags);
		break;
	case PIPE:
		must(pipe2(p, flags) == 0, "pipe2");
		c.rfd = p[0];
		c.wfd = p[1];
		return c;
	default:
		break;
	}
	must(c.rfd >= 0, "make a channel");
	c.wfd = c.rfd;
	return c;
}

static void chan_close(struct chan c)
{
	close(c.rfd);
	if (c.wfd != c.rfd)
		close(c.wfd);
}

static void put(struct chan c)
{
	uint64_t v = 1;

	must(write(c.wfd, &v, 8) == 8, "write");
}

static void get(struct chan c)
{
	uint64_t v;

	must(read(c.rfd, &v, 8) == 8, "read");
}

static int epoll_on(struct chan c, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	must(ep >= 0, "epoll_create1");
	must(epoll_ctl(ep, EPOLL_CTL_ADD, c.rfd, &ev) == 0, "epoll_ctl");
	return ep;
}

static void epoll_wait_one(int ep)
{
	struct epoll_event ev;

	must(epoll_wait(ep, &ev, 1, -1) == 1, "epoll_wait");
}

/* --- one thread ------------------------------------------------------------ */

static double write_read(enum backend b, long n, int with_poll)
{
	struct chan c = chan_make(b, 0);
	struct pollfd p = { .fd = c.rfd, .events = POLLIN };
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		put(c);
		if (with_poll)
			must(poll(&p, 1, 0) == 1, "poll");
		get(c);
	}
	t0 = (now_ns() - t0) / n;
	chan_close(c);
	return t0;
}

/* An epoll cycle on one active channel, with `idle` idle ones in the set. */
static double epoll_cycle(enum backend b, long n, int idle)
{
	struct chan c = chan_make(b, 0), *idles = calloc(idle ? idle : 1, sizeof(*idles));
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_on(c, EPOLLIN), i;
	double t0;
	long k;

	must(idles != NULL, "calloc");
	for (i = 0; i < idle; i++) {
		idles[i] = chan_make(b, 0);
		must(epoll_ctl(ep, EPOLL_CTL_ADD, idles[i].rfd, &ev) == 0, "epoll_ctl idle");
	}
	t0 = now_ns();
	for (k = 0; k < n; k++) {
		put(c);
		epoll_wait_one(ep);
		get(c);
	}
	t0 = (now_ns() - t0) / n;
	close(ep);
	for (i = 0; i < idle; i++)
		chan_close(idles[i]);
	free(idles);
	chan_close(c);
	return t0;
}

static double create_close(enum backend b, long n)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++)
		chan_close(chan_make(b, 0));
	return (now_ns() - t0) / n;
}

/* --- ping-pong: a token between two threads, through two channels -------- */

enum wait_kind { BY_READ, BY_EPOLL, BY_URING };

struct player {
	struct chan in, out;
	enum wait_kind kind;
	long n;
	int serve;
};

static void *play(void *arg)
{
	struct player *p = arg;
	struct io_uring ring;
	int ep = -1;
	uint64_t v;
	long i;

	if (p->kind == BY_EPOLL)
		ep = epoll_on(p->in, EPOLLIN);
	if (p->kind == BY_URING)
		must(io_uring_queue_init(4, &ring, 0) == 0, "io_uring_queue_init");
	for (i = 0; i < p->n; i++) {
		if (p->serve)
			put(p->out);
		switch (p->kind) {
		case BY_READ:
			get(p->in);
			break;
		case BY_EPOLL:
			epoll_wait_one(ep);
			get(p->in);
			break;
		case BY_URING: {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			struct io_uring_cqe *cqe;

			io_uring_prep_read(sqe, p->in.rfd, &v, 8, 0);
			must(io_uring_submit_and_wait(&ring, 1) == 1, "io_uring_submit_and_wait");
			must(io_uring_peek_cqe(&ring, &cqe) == 0, "io_uring_peek_cqe");
			errno = cqe->res < 0 ? -cqe->res : 0;
			must(cqe->res == 8, "io_uring read");
			io_uring_cqe_seen(&ring, cqe);
			break;
		}
		}
		if (!p->serve)
			put(p->out);
	}
	if (ep >= 0)
		close(ep);
	if (p->kind == BY_URING)
		io_uring_queue_exit(&ring);
	return NULL;
}

static double ping_pong(enum backend b, long n, enum wait_kind kind)
{
	struct chan ping = chan_make(b, 0), pong = chan_make(b, 0);
	struct player server = { pong, ping, kind, n, 1 }, echo = { ping, pong, kind, n, 0 };
	pthread_t t;
	double t0;

	must(pthread_create(&t, NULL, play, &echo) == 0, "pthread_create");
	t0 = now_ns();
	play(&server);
	t0 = (now_ns() - t0) / n;
	pthread_join(t, NULL);
	chan_close(ping);
	chan_close(pong);
	return t0;
}

/* --- herd: who wakes for one write ---------------------------------------- */

struct herd {
	struct chan c;
	int stop[2];		/* a pipe, written once to stop every member */
	sem_t consumed;
	atomic_long wakes, wake_ns_total;
	double written_at;
};

static void *herd_member(void *arg)
{
	struct herd *h = arg;
	int ep = epoll_on(h->c, EPOLLIN | EPOLLEXCLUSIVE);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };
	uint64_t v;

	/* Not exclusive, level-triggered: the stop wakes every member. */
	must(epoll_ctl(ep, EPOLL_CTL_ADD, h->stop[0], &ev) == 0, "epoll_ctl stop");
	for (;;) {
		must(epoll_wait(ep, &ev, 1, -1) == 1, "herd epoll_wait");
		double woke = now_ns();

		if (ev.data.u32 == 1)
			break;
		atomic_fetch_add(&h->wakes, 1);
		/* Nonblocking: a thread woken for nothing finds it taken. */
		if (read(h->c.rfd, &v, 8) == 8) {
			atomic_fetch_add(&h->wake_ns_total, (long)(woke - h->written_at));
			sem_post(&h->consumed);
		} else {
			must(errno == EAGAIN, "herd read");
		}
	}
	close(ep);
	return NULL;
}

static void herd(enum backend b, long n, double *latency, double *wakes)
{
	/* O_NONBLOCK is also EFD_NONBLOCK and POLLCOUNT_NONBLOCK. */
	struct herd h = { .c = chan_make(b, O_NONBLOCK) };
	pthread_t t[HERD_THREADS];
	int i;
	long k;

	must(sem_init(&h.consumed, 0, 0) == 0, "sem_init");
	must(pipe2(h.stop, O_CLOEXEC) == 0, "pipe2");
	for (i = 0; i < HERD_THREADS; i++)
		must(pthread_create(&t[i], NULL, herd_member, &h) == 0, "pthread_create");
	usleep(100000);		/* let them all reach epoll_wait */
	for (k = 0; k < n; k++) {
		h.written_at = now_ns();
		put(h.c);
		while (sem_wait(&h.consumed) != 0)
			must(errno == EINTR, "sem_wait");
	}
	*wakes = (double)atomic_load(&h.wakes) / n;
	*latency = (double)atomic_load(&h.wake_ns_total) / n;
	must(write(h.stop[1], "", 1) == 1, "write stop");
	for (i = 0; i < HERD_THREADS; i++)
		pthread_join(t[i], NULL);
	close(h.stop[0]);
	close(h.stop[1]);
	sem_destroy(&h.consumed);
	chan_close(h.c);
}

/* --- storm: many threads through one ready item's poll hook -------------- */

struct storm {
	int ep;
	long calls;
};

static void *storm_member(void *arg)
{
	struct storm *s = arg;
	struct epoll_event ev;
	long i;

	for (i = 0; i < s->calls; i++)
		must(epoll_wait(s->ep, &ev, 1, 0) == 1, "storm epoll_wait");
	return NULL;
}

static double poll_storm(enum backend b, long n)
{
	struct chan c = chan_make(b, 0);
	struct storm s = { .ep = epoll_on(c, EPOLLIN), .calls = n / STORM_THREADS + 1 };
	pthread_t t[STORM_THREADS];
	double t0;
	int i;

	put(c);
	t0 = now_ns();
	for (i = 0; i < STORM_THREADS; i++)
		must(pthread_create(&t[i], NULL, storm_member, &s) == 0, "pthread_create");
	for (i = 0; i < STORM_THREADS; i++)
		pthread_join(t[i], NULL);
	t0 = (now_ns() - t0) / (s.calls * STORM_THREADS);
	close(s.ep);
	chan_close(c);
	return t0;
}

/* --- memory: slab bytes per channel ---------------------------------------- */

/* The bytes in use in every slab cache, from /proc/slabinfo (-1 without it). */
static double slab_bytes(void)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512], name[64];
	unsigned long active, total, size;
	double bytes = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lu %lu %lu", name, &active, &total, &size) == 4)
			bytes += (double)active * size;
	fclose(f);
	return bytes;
}

/*
 * slab_bytes() once the slabs stop shrinking (up to a second): a closed
 * file's dentry is freed after an RCU grace period, and dentries of the
 * previous pass, freed while this one creates its channels, would read as
 * fewer bytes per channel.
 */
static double slab_bytes_settled(void)
{
	double last = slab_bytes(), now = last;
	int i;

	for (i = 0; i < 100 && last >= 0; i++) {
		usleep(10000);
		now = slab_bytes();
		if (now == last)
			break;
		last = now;
	}
	return now;
}

static double memory_per_chan(enum backend b)
{
	static struct chan chans[MAX_CHANS];
	double before, after;
	int i, pass;

	/* The first pass grows the fd table; the second is measured. */
	for (pass = 0; pass < 2; pass++) {
		before = slab_bytes_settled();
		for (i = 0; i < channels; i++)
			chans[i] = chan_make(b, 0);
		after = slab_bytes();
		for (i = 0; i < channels; i++)
			chan_close(chans[i]);
	}
	/* Let this pass's frees finish too, so the next test starts clean. */
	slab_bytes_settled();
	return before < 0 ? -1 : (after - before) / channels;
}

/* --- the run ----------------------------------------------------------------- */

static void run_round(int round, long n)
{
	int i, b;

	for (i = 0; i < BACKENDS; i++) {
		/* Rotate the order each round, so drift favours no column. */
		b = (i + round) % BACKENDS;
		double(*f)[BACKENDS] = figures[round];

		write_read(b, n / 10, 0); /* warm up */
		f[WRITE_READ][b] = write_read(b, n, 0);
		f[WRITE_POLL_READ][b] = write_read(b, n, 1);
		f[EPOLL_CYCLE][b] = epoll_cycle(b, n, 0);
		f[PINGPONG_READ][b] = ping_pong(b, n / 10, BY_READ);
		f[PINGPONG_EPOLL][b] = ping_pong(b, n / 10, BY_EPOLL);
		f[PINGPONG_URING][b] = ping_pong(b, n / 10, BY_URING);
		f[CREATE_CLOSE][b] = create_close(b, n / 10);
		herd(b, n / 20, &f[HERD_WAKE][b], &f[HERD_WAKES][b]);
		f[POLL_STORM][b] = poll_storm(b, n);
		f[SCALE_1][b] = epoll_cycle(b, n / 10, 1);
		f[SCALE_TENTH][b] = epoll_cycle(b, n / 10, channels / 10);
		f[SCALE_ALL][b] = epoll_cycle(b, n / 10, channels);
		f[MEMORY][b] = memory_per_chan(b);
	}
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median, min and max of `v[0..n)` (sorts it). */
static void spread(double *v, int n, double *med, double *lo, double *hi)
{
	qsort(v, n, sizeof(*v), by_value);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*lo = v[0];
	*hi = v[n - 1];
}

/*
 * A column's ratio to eventfd in round r: eventfd's figure over the
 * column's (every figure is lower-is-better, so above 1 is better). For
 * eventfd itself, its median over its figure: the rounds' own noise.
 */
static double ratio(int r, int t, int b, double eventfd_median)
{
	double base = b == EVENTFD ? eventfd_median : figures[r][t][EVENTFD];

	return figures[r][t][b] > 0 ? base / figures[r][t][b] : 0;
}

int main(int argc, char **argv)
{
	int rounds = 5, opt, r, t, b;
	struct rlimit nofile = { 4 * MAX_CHANS, 4 * MAX_CHANS };
	static char tenth_name[32], all_name[32];
	double v[MAX_ROUNDS], med, lo, hi, eventfd_median = 0;
	long n = 20000;
	FILE *csv = NULL;
	struct utsname u;

	while ((opt = getopt(argc, argv, "r:n:m:o:i")) != -1) {
		switch (opt) {
		case 'i':
			/* The VM's clock counts instructions: name what is measured. */
			for (t = 0; t < TESTS; t++)
				if (!strcmp(tests[t].unit, "ns"))
					tests[t].unit = "insns";
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'm':
			channels = atoi(optarg);
			break;
		case 'o':
			csv = fopen(optarg, "w");
			must(csv != NULL, optarg);
			break;
		default:
			rounds = 0;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || n < 200 || channels < 10 || channels > MAX_CHANS) {
		fprintf(stderr, "usage: %s [-r ROUNDS (1-%d)] [-n ITERATIONS (>= 200)] "
			"[-m CHANNELS (10-%d)] [-o CSV] [-i]\n", argv[0], MAX_ROUNDS, MAX_CHANS);
		return 2;
	}
	snprintf(tenth_name, sizeof(tenth_name), "scale %d idle", channels / 10);
	snprintf(all_name, sizeof(all_name), "scale %d idle", channels);
	tests[SCALE_TENTH].name = tenth_name;
	tests[SCALE_ALL].name = all_name;
	/* The scale and memory tests hold 10000 channels (20000 fds as pipes). */
	must(setrlimit(RLIMIT_NOFILE, &nofile) == 0, "setrlimit(RLIMIT_NOFILE)");
	pollcount_dev = open("/dev/pollcount", O_RDWR | O_CLOEXEC);
	must(pollcount_dev >= 0, "open /dev/pollcount");
	uname(&u);
	printf("pollcount-bench: %d rounds of %ld iterations, kernel %s %s, %ld CPUs\n", rounds, n,
	       u.release, u.version, sysconf(_SC_NPROCESSORS_ONLN));
	for (r = 0; r < rounds; r++) {
		double t0 = now_ns();

		run_round(r, n);
		printf("round %d of %d: %.1f s\n", r + 1, rounds, (now_ns() - t0) / 1e9);
		fflush(stdout);
	}

	if (csv)
		fprintf(csv, "# raw\nround,test,backend,value,unit\n");
	for (r = 0; csv && r < rounds; r++)
		for (t = 0; t < TESTS; t++)
			for (b = 0; b < BACKENDS; b++)
				fprintf(csv, "%d,%s,%s,%.1f,%s\n", r + 1, tests[t].name,
					backend_names[b], figures[r][t][b], tests[t].unit);
	if (csv)
		fprintf(csv, "# ratios\ntest,backend,median,min,max\n");

	printf("\nmedian per round; then each column's ratio to eventfd in the same round, "
	       "median [min-max] over %d rounds (above 1.00: better than eventfd)\n", rounds);
	printf("%-17s %6s", "test", "unit");
	for (b = 0; b < BACKENDS; b++)
		printf(" %10s", backend_names[b]);
	for (b = 1; b < BACKENDS; b++)
		printf(" %20s", backend_names[b]);
	printf("\n");
	for (t = 0; t < TESTS; t++) {
		printf("%-17s %6s", tests[t].name, tests[t].unit);
		for (b = 0; b < BACKENDS; b++) {
			for (r = 0; r < rounds; r++)
				v[r] = figures[r][t][b];
			spread(v, rounds, &med, &lo, &hi);
			printf(t == HERD_WAKES ? " %10.2f" : " %10.0f", med);
			if (b == EVENTFD)
				eventfd_median = med;
		}
		for (b = 0; b < BACKENDS; b++) {
			for (r = 0; r < rounds; r++)
				v[r] = ratio(r, t, b, eventfd_median);
			spread(v, rounds, &med, &lo, &hi);
			if (b != EVENTFD)
				printf("   %5.2f [%5.2f-%5.2f]", med, lo, hi);
			if (csv)
				fprintf(csv, "%s,%s,%.3f,%.3f,%.3f\n", tests[t].name,
					backend_names[b], med, lo, hi);
		}
		printf("\n");
	}
	/* epoll's promise: the cost of a wait does not grow with the set. */
	printf("scale %d/1 idle (median time ratio, goal <= 1.20):", channels);
	for (b = 0; b < BACKENDS; b++) {
		for (r = 0; r < rounds; r++)
			v[r] = figures[r][SCALE_ALL][b] / figures[r][SCALE_1][b];
		spread(v, rounds, &med, &lo, &hi);
		printf(" %s %.2f", backend_names[b], med);
	}
	printf("\n");
	if (csv)
		fclose(csv);
	return 0;
}
