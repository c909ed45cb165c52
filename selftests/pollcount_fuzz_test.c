// SPDX-License-Identifier: GPL-2.0
/*
 * Randomized differential fuzzer: one seeded random sequence of operations
 * applied in lockstep to eventfds and to pollcount counters, which must
 * give identical results: return value, errno, value read, poll and epoll
 * masks, fdinfo count, fcntl flags. Mailboxes, which eventfd has no
 * equivalent of, are checked against a model of their own rules.
 *
 * Work is split into episodes of at most EPISODE_OPS operations on fresh
 * counters, so a divergence is replayed from its episode alone; the
 * fuzzer then shrinks that episode to the shortest operation log that
 * still diverges (removing chunks, then single operations) and prints it
 * with the seed.
 *
 * The documented differences are the only exceptions; each is named in
 * DIFFERENCES below, and the code that applies one says which.
 *
 *   POLLCOUNT_FUZZ_SECONDS  stop after this long (default 60)
 *   POLLCOUNT_FUZZ_OPS      or after this many operations (default 1000000)
 *   POLLCOUNT_FUZZ_SEED     the seed (default: from the clock, printed)
 */
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "pollcount_backend.h"

/*
 * Where pollcount deliberately differs from eventfd, and what the fuzzer
 * does about each (README: "where pollcount deliberately differs").
 */
static const char *const DIFFERENCES[][2] = {
	{ "read into a bad buffer",
	  "both EFAULT; eventfd has taken the count, pollcount kept it: the fuzzer "
	  "then reads pollcount's value into a good buffer and checks it is what "
	  "eventfd lost" },
	{ "poll masks",
	  "pollcount adds EPOLLRDNORM to EPOLLIN and EPOLLWRNORM to EPOLLOUT: compared "
	  "with those bits derived from eventfd's; epoll interest masks do not ask "
	  "for RDNORM/WRNORM" },
	{ "initial count above 0xffffffff",
	  "eventfd2() takes an unsigned int: the eventfd is made with 0 and written "
	  "the count" },
	{ "POLLCOUNT_IOC_CREATE's reserved word and MAILBOX flag",
	  "eventfd2() has neither: reserved != 0 must be EINVAL; MAILBOX makes a "
	  "mailbox, checked against the model" },
	{ "O_LARGEFILE in F_GETFL",
	  "open() sets it on /dev/pollcount files, anonymous files lack it: masked" },
	{ "the ioctl on eventfd",
	  "eventfd has none: the eventfd side of POLLCOUNT_IOC_CREATE is eventfd2(); "
	  "other commands must fail alike (ENOTTY) or be handled alike by the VFS" },
};

#define SLOTS 6
#define EPISODE_OPS 160
#define MAX_COUNTERS 64

enum op_kind {
	OP_CREATE, OP_OPEN, OP_CLOSE, OP_DUP, OP_READ, OP_WRITE, OP_READV, OP_POLL,
	OP_SELECT, OP_FCNTL, OP_EPOLL_CTL, OP_EPOLL_WAIT, OP_IOCTL, OP_FDINFO, OP_FORK_WRITE,
	OP_KINDS
};

static const char *const OP_NAMES[OP_KINDS] = {
	"create", "open", "close", "dup", "read", "write", "readv", "poll", "select",
	"fcntl", "epoll_ctl", "epoll_wait", "ioctl", "fdinfo", "fork+write",
};

enum buf_kind { BUF_GOOD, BUF_UNALIGNED, BUF_BAD, BUF_READONLY, BUF_KINDS };

struct op {
	enum op_kind kind;
	int slot, slot2;
	uint64_t value;		/* count, value written, ioctl cmd */
	uint32_t flags, reserved;
	int size;		/* read/write size, readv split, fcntl/epoll sub-op */
	enum buf_kind buf;
};

/* A pollcount counter and its eventfd twin, or a mailbox and its model. */
struct counter {
	bool mailbox;
	uint64_t model;		/* mailbox: the slot's value, 0 when empty */
};

struct slot {
	bool used;
	int pc, efd;		/* efd: -1 for a mailbox */
	int counter;
};

struct world {
	struct slot slot[SLOTS];
	struct counter counter[MAX_COUNTERS];
	int counters;
	int pc_epoll, efd_epoll;
	char *readonly;		/* a PROT_READ page */
	char divergence[512];
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic for a seed, fast, good enough. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t pick(uint64_t n)
{
	return rnd() % n;
}

static uint64_t interesting_value(void)
{
	static const uint64_t edge[] = {
		0, 1, 2, 3, 7, 0xff, 0xffffffffULL, 0x100000000ULL, 1ULL << 63,
		0xfffffffffffffffdULL, 0xfffffffffffffffeULL, 0xffffffffffffffffULL,
	};

	return pick(3) ? edge[pick(sizeof(edge) / sizeof(edge[0]))] : rnd() >> pick(64);
}

static void random_op(struct op *op)
{
	static const uint32_t ioctls[] = {
		POLLCOUNT_IOC_CREATE, FIONBIO, FIOCLEX, FIONCLEX, FIONREAD, FIOASYNC,
		_IOW(POLLCOUNT_IOC_MAGIC, 0x02, struct pollcount_create),
		_IOR(POLLCOUNT_IOC_MAGIC, 0x01, struct pollcount_create),
		_IOW(POLLCOUNT_IOC_MAGIC, 0x01, __u64), 0,
	};

	memset(op, 0, sizeof(*op));
	op->kind = pick(OP_KINDS);
	op->slot = pick(SLOTS);
	op->slot2 = pick(SLOTS);
	op->value = interesting_value();
	op->buf = pick(BUF_KINDS);
	op->size = pick(17);
	switch (op->kind) {
	case OP_CREATE:
		op->flags = pick(4) ? (uint32_t)(pick(8) & EFD_SEMAPHORE) |
				(pick(2) ? EFD_NONBLOCK : 0) | (pick(2) ? EFD_CLOEXEC : 0)
				: (uint32_t)rnd();
		if (!pick(5))
			op->flags = POLLCOUNT_MAILBOX | (pick(2) ? EFD_NONBLOCK : 0);
		op->reserved = pick(8) ? 0 : (uint32_t)rnd();
		break;
	case OP_IOCTL:
		op->value = pick(4) ? ioctls[pick(sizeof(ioctls) / sizeof(ioctls[0]))]
				    : (uint32_t)rnd();
		break;
	case OP_FCNTL:
	case OP_EPOLL_CTL:
		op->size = pick(4);
		op->flags = (uint32_t)pick(16);
		break;
	case OP_WRITE:
	case OP_FORK_WRITE:
		if (pick(4))
			op->size = 8;
		break;
	case OP_READ:
		if (pick(4))
			op->size = 8;
		break;
	default:
		break;
	}
}

static void describe(const struct op *op, char *out, size_t len)
{
	snprintf(out, len, "%s slot=%d slot2=%d value=%#llx flags=%#x reserved=%#x size=%d buf=%d",
		 OP_NAMES[op->kind], op->slot, op->slot2, (unsigned long long)op->value,
		 op->flags, op->reserved, op->size, op->buf);
}

/* --- the two worlds ------------------------------------------------------- */

#define DIVERGE(w, ...)                                                        \
	do {                                                                   \
		snprintf((w)->divergence, sizeof((w)->divergence), __VA_ARGS__); \
		return false;                                                  \
	} while (0)

/* A result: return value and errno, compared as a pair. */
struct res {
	long ret;
	int err;
};

static struct res result(long ret)
{
	return (struct res){ ret, ret < 0 ? errno : 0 };
}

static bool same(struct world *w, const char *what, struct res pc, struct res efd)
{
	if (pc.ret == efd.ret && pc.err == efd.err)
		return true;
	DIVERGE(w, "%s: pollcount %ld (%s), eventfd %ld (%s)", what, pc.ret,
		pc.err ? strerror(pc.err) : "ok", efd.ret, efd.err ? strerror(efd.err) : "ok");
}

/* For calls that return a new fd: the numbers differ between the worlds. */
static bool same_fd(struct world *w, const char *what, struct res pc, struct res efd)
{
	struct res p = { pc.ret >= 0 ? 0 : pc.ret, pc.err }, e = { efd.ret >= 0 ? 0 : efd.ret, efd.err };

	return same(w, what, p, e);
}

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->pc_epoll = epoll_create1(EPOLL_CLOEXEC);
	w->efd_epoll = epoll_create1(EPOLL_CLOEXEC);
	w->readonly = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void world_close(struct world *w)
{
	int i;

	for (i = 0; i < SLOTS; i++) {
		if (!w->slot[i].used)
			continue;
		close(w->slot[i].pc);
		if (w->slot[i].efd >= 0)
			close(w->slot[i].efd);
	}
	close(w->pc_epoll);
	close(w->efd_epoll);
	munmap(w->readonly, 4096);
}

static void slot_free(struct world *w, int s)
{
	if (w->slot[s].used) {
		close(w->slot[s].pc);
		if (w->slot[s].efd >= 0)
			close(w->slot[s].efd);
	}
	w->slot[s].used = false;
}

/*
 * Each slot's fds sit at fixed numbers, one range per world. epoll keys
 * its items by file and fd number, and an item outlives the close of its
 * fd while a dup keeps the file open. Left to the kernel, the two worlds'
 * lowest free fds differ (creating a pollcount opens the device first), so
 * a later dup could land on a number still registered in one world only.
 */
#define PC_FD_BASE	500
#define EFD_FD_BASE	600

/* Moves fd to target, keeping its close-on-exec flag (fd as it was if that fails). */
static int pin_fd(int fd, int target)
{
	int cloexec = fcntl(fd, F_GETFD) & FD_CLOEXEC, moved;

	if (fd == target)
		return fd;
	moved = dup3(fd, target, cloexec ? O_CLOEXEC : 0);
	if (moved < 0)
		return fd;
	close(fd);
	return moved;
}

static void slot_pin(struct world *w, int s)
{
	w->slot[s].pc = pin_fd(w->slot[s].pc, PC_FD_BASE + s);
	if (w->slot[s].efd >= 0)
		w->slot[s].efd = pin_fd(w->slot[s].efd, EFD_FD_BASE + s);
}

static void *buffer(struct world *w, enum buf_kind kind, void *good)
{
	switch (kind) {
	case BUF_UNALIGNED:
		return (char *)good + 1;
	case BUF_BAD:
		return BAD_PTR;
	case BUF_READONLY:
		return w->readonly;
	default:
		return good;
	}
}

static bool is_blocking(int fd)
{
	return !(fcntl(fd, F_GETFL) & O_NONBLOCK);
}

/* The mailbox's poll mask, from the model. */
static short mailbox_mask(const struct counter *c)
{
	return c->model ? (POLLIN | POLLRDNORM) : (POLLOUT | POLLWRNORM);
}

/* pollcount's mask for eventfd's: RDNORM with IN, WRNORM with OUT (difference 2). */
static unsigned int with_norm(unsigned int efd_mask)
{
	return efd_mask | (efd_mask & POLLIN ? POLLRDNORM : 0) |
	       (efd_mask & POLLOUT ? POLLWRNORM : 0);
}

static bool op_create(struct world *w, const struct op *op, bool by_open)
{
	struct pollcount_create req = { .count = op->value, .flags = op->flags,
					 .reserved = op->reserved };
	struct slot *s = &w->slot[op->slot];
	uint32_t known = EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC;
	struct res pc, efd;
	int dev;

	if (w->counters == MAX_COUNTERS)
		return true;
	slot_free(w, op->slot);
	if (by_open) {
		int flags = O_RDWR | (op->flags & EFD_NONBLOCK ? O_NONBLOCK : 0);

		pc = result(open(POLLCOUNT_DEV, flags));
		efd = result(eventfd(0, op->flags & EFD_NONBLOCK));
		if (!same_fd(w, "open vs eventfd2(0)", pc, efd))
			return false;
		if (pc.ret < 0)
			return true;
		*s = (struct slot){ true, pc.ret, efd.ret, w->counters++ };
		w->counter[s->counter] = (struct counter){ false, 0 };
		slot_pin(w, op->slot);
		return true;
	}
	dev = open(POLLCOUNT_DEV, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		DIVERGE(w, "open %s: %s", POLLCOUNT_DEV, strerror(errno));
	pc = result(ioctl(dev, POLLCOUNT_IOC_CREATE, &req));
	close(dev);
	if (op->flags & POLLCOUNT_MAILBOX && !(op->flags & ~(POLLCOUNT_MAILBOX | known)) &&
	    !(op->flags & EFD_SEMAPHORE) && !op->reserved) {
		/* A mailbox: its model is the reference (difference 4). */
		if (op->value == 0xffffffffffffffffULL) {
			if (pc.ret != -1 || pc.err != EINVAL)
				DIVERGE(w, "mailbox with count ~0: %ld (%s), want EINVAL",
					pc.ret, strerror(pc.err));
			return true;
		}
		if (pc.ret < 0)
			DIVERGE(w, "mailbox create: %s", strerror(pc.err));
		*s = (struct slot){ true, pc.ret, -1, w->counters++ };
		w->counter[s->counter] = (struct counter){ true, op->value };
		slot_pin(w, op->slot);
		return true;
	}
	if (op->reserved) {
		/* eventfd2() has no reserved word (difference 4): EINVAL. */
		efd = (struct res){ -1, EINVAL };
	} else if (op->flags & ~known) {
		efd = result(eventfd(0, op->flags));	/* unknown flags: EINVAL */
	} else if (op->value > 0xffffffffULL) {
		/* eventfd2() takes an unsigned int (difference 3). */
		efd = result(eventfd(0, op->flags));
		if (efd.ret >= 0 && op->value != 0xffffffffffffffffULL &&
		    write_u64(efd.ret, op->value) != 8) {
			close(efd.ret);
			DIVERGE(w, "eventfd write of the initial count: %s", strerror(errno));
		}
		if (efd.ret >= 0 && op->value == 0xffffffffffffffffULL) {
			/* No write reaches ~0 (EPOLLERR state): pollcount only. */
			close(efd.ret);
			if (pc.ret >= 0)
				close(pc.ret);
			return true;
		}
	} else {
		efd = result(eventfd(op->value, op->flags));
	}
	if (!same_fd(w, "POLLCOUNT_IOC_CREATE vs eventfd2", pc, efd)) {
		if (pc.ret >= 0)
			close(pc.ret);
		if (efd.ret >= 0)
			close(efd.ret);
		return false;
	}
	if (pc.ret < 0)
		return true;
	*s = (struct slot){ true, pc.ret, efd.ret, w->counters++ };
	w->counter[s->counter] = (struct counter){ false, 0 };
	slot_pin(w, op->slot);
	return true;
}

static bool op_read(struct world *w, const struct op *op, bool vectored)
{
	struct slot *s = &w->slot[op->slot];
	struct counter *c = &w->counter[s->counter];
	unsigned char pcbuf[24] = { 0 }, efbuf[24] = { 0 };
	uint64_t pcv = 0, efv = 0, before = 0;
	struct res pc, efd;
	int size = op->size;

	if (!s->used)
		return true;
	if (vectored) {
		/* Two iovecs: `size` bytes, then the rest of 8 (or 0). */
		struct iovec pv[2] = { { pcbuf, size % 9 }, { pcbuf + size % 9, 8 - size % 9 } };
		struct iovec ev[2] = { { efbuf, size % 9 }, { efbuf + size % 9, 8 - size % 9 } };

		if (!c->mailbox && is_blocking(s->efd) && fdinfo_count(s->efd, &before) && !before)
			return true;	/* would block */
		if (c->mailbox && is_blocking(s->pc) && !c->model)
			return true;
		pc = result(readv(s->pc, pv, 2));
		memcpy(&pcv, pcbuf, 8);
		if (c->mailbox)
			goto mailbox;
		efd = result(readv(s->efd, ev, 2));
		memcpy(&efv, efbuf, 8);
		if (!same(w, "readv", pc, efd))
			return false;
		if (pc.ret == 8 && pcv != efv)
			DIVERGE(w, "readv value: pollcount %#llx, eventfd %#llx",
				(unsigned long long)pcv, (unsigned long long)efv);
		return true;
	}
	if (c->mailbox) {
		if (is_blocking(s->pc) && !c->model && size >= 8)
			return true;	/* would block */
		pc = result(read(s->pc, buffer(w, op->buf, pcbuf + 8), size));
		if (op->buf == BUF_GOOD || op->buf == BUF_UNALIGNED)
			memcpy(&pcv, pcbuf + 8 + (op->buf == BUF_UNALIGNED), 8);
		goto mailbox;
	}
	if (!fdinfo_count(s->efd, &before))
		DIVERGE(w, "eventfd fdinfo unreadable");
	if (is_blocking(s->efd) && !before && size >= 8)
		return true;	/* would block */
	pc = result(read(s->pc, buffer(w, op->buf, pcbuf + 8), size));
	if (op->buf == BUF_GOOD || op->buf == BUF_UNALIGNED)
		memcpy(&pcv, pcbuf + 8 + (op->buf == BUF_UNALIGNED), 8);
	efd = result(read(s->efd, buffer(w, op->buf, efbuf + 8), size));
	if (op->buf == BUF_GOOD || op->buf == BUF_UNALIGNED)
		memcpy(&efv, efbuf + 8 + (op->buf == BUF_UNALIGNED), 8);
	if (!same(w, "read", pc, efd))
		return false;
	if (pc.ret == 8 && pcv != efv)
		DIVERGE(w, "read value: pollcount %#llx, eventfd %#llx",
			(unsigned long long)pcv, (unsigned long long)efv);
	if (pc.ret < 0 && pc.err == EFAULT && before) {
		/* Difference 1: eventfd lost what pollcount kept; take it now. */
		struct iovec iov = { &pcv, 8 };
		uint64_t after = 0;

		if (preadv2(s->pc, &iov, 1, -1, RWF_NOWAIT) != 8)
			DIVERGE(w, "read after EFAULT: pollcount lost its value (%s)",
				strerror(errno));
		if (!fdinfo_count(s->efd, &after))
			DIVERGE(w, "eventfd fdinfo unreadable");
		if (pcv != before - after)
			DIVERGE(w, "read after EFAULT: pollcount kept %#llx, eventfd lost %#llx",
				(unsigned long long)pcv, (unsigned long long)(before - after));
	}
	return true;

mailbox:
	{
		uint64_t want = c->model;
		int total = vectored ? 8 : size;	/* readv asks for 8 in two iovecs */
		int want_err = total < 8 ? EINVAL : !want ? EAGAIN : 0;

		if (!want_err && !vectored && (op->buf == BUF_BAD || op->buf == BUF_READONLY))
			want_err = EFAULT;
		if (want_err ? (pc.ret != -1 || pc.err != want_err) : pc.ret != 8 || pcv != want)
			DIVERGE(w, "mailbox read: %ld (%s) value %#llx, model %s %#llx", pc.ret,
				pc.err ? strerror(pc.err) : "ok", (unsigned long long)pcv,
				want_err ? strerror(want_err) : "8", (unsigned long long)want);
		if (!want_err)
			c->model = 0;
		return true;
	}
}

static bool op_write(struct world *w, const struct op *op)
{
	struct slot *s = &w->slot[op->slot];
	struct counter *c = &w->counter[s->counter];
	unsigned char pcbuf[24], efbuf[24];
	uint64_t before = 0, v = op->value;
	struct res pc, efd;

	if (!s->used)
		return true;
	memcpy(pcbuf + 8 + (op->buf == BUF_UNALIGNED), &v, 8);
	memcpy(efbuf + 8 + (op->buf == BUF_UNALIGNED), &v, 8);
	if (c->mailbox) {
		int want_err = op->size != 8 ? EINVAL :
			       (op->buf == BUF_BAD) ? EFAULT :
			       (v == 0 || v == ~0ULL) ? EINVAL : c->model ? EAGAIN : 0;

		if (want_err == EAGAIN && is_blocking(s->pc))
			return true;	/* would block */
		pc = result(write(s->pc, buffer(w, op->buf == BUF_READONLY ? BUF_GOOD : op->buf,
						 pcbuf + 8), op->size));
		if (want_err ? (pc.ret != -1 || pc.err != want_err) : pc.ret != 8)
			DIVERGE(w, "mailbox write %#llx: %ld (%s), model %s",
				(unsigned long long)v, pc.ret, pc.err ? strerror(pc.err) : "ok",
				want_err ? strerror(want_err) : "8");
		if (!want_err)
			c->model = v;
		return true;
	}
	if (!fdinfo_count(s->efd, &before))
		DIVERGE(w, "eventfd fdinfo unreadable");
	if (is_blocking(s->efd) && op->size == 8 && op->buf != BUF_BAD && v != ~0ULL &&
	    ~0ULL - before <= v)
		return true;	/* would block */
	pc = result(write(s->pc, buffer(w, op->buf == BUF_READONLY ? BUF_GOOD : op->buf,
					 pcbuf + 8), op->size));
	efd = result(write(s->efd, buffer(w, op->buf == BUF_READONLY ? BUF_GOOD : op->buf,
					   efbuf + 8), op->size));
	return same(w, "write", pc, efd);
}

static bool op_poll(struct world *w, const struct op *op, bool use_select)
{
	struct slot *s = &w->slot[op->slot];
	struct counter *c = &w->counter[s->counter];
	short events = POLLIN | POLLOUT | (op->flags & 1 ? POLLRDNORM : 0);
	short pcm, efm;

	if (!s->used)
		return true;
	if (use_select) {
		struct timeval zero = { 0 };
		fd_set r, wr;
		int n;

		FD_ZERO(&r);
		FD_ZERO(&wr);
		FD_SET(s->pc, &r);
		FD_SET(s->pc, &wr);
		n = select(s->pc + 1, &r, &wr, NULL, &zero);
		pcm = n < 0 ? -1 : (FD_ISSET(s->pc, &r) ? POLLIN : 0) | (FD_ISSET(s->pc, &wr) ? POLLOUT : 0);
		if (c->mailbox) {
			efm = mailbox_mask(c) & (POLLIN | POLLOUT);
		} else {
			FD_ZERO(&r);
			FD_ZERO(&wr);
			FD_SET(s->efd, &r);
			FD_SET(s->efd, &wr);
			n = select(s->efd + 1, &r, &wr, NULL, &zero);
			efm = n < 0 ? -1 : (FD_ISSET(s->efd, &r) ? POLLIN : 0) |
					   (FD_ISSET(s->efd, &wr) ? POLLOUT : 0);
		}
		if (pcm != efm)
			DIVERGE(w, "select: pollcount %#x, %s %#x", pcm,
				c->mailbox ? "model" : "eventfd", efm);
		return true;
	}
	pcm = poll_now(s->pc, events);
	/* poll reports the mask's events that were asked for, and errors. */
	if (c->mailbox)
		efm = mailbox_mask(c) & (events | POLLERR | POLLHUP);
	else
		efm = with_norm(poll_now(s->efd, events)) & (events | POLLERR | POLLHUP);
	if (pcm != efm)
		DIVERGE(w, "poll(%#x): pollcount %#x, %s %#x", events, pcm,
			c->mailbox ? "model" : "eventfd", efm);
	return true;
}

static bool op_fcntl(struct world *w, const struct op *op)
{
	struct slot *s = &w->slot[op->slot];
	int mask = O_ACCMODE | O_NONBLOCK | O_APPEND;	/* O_LARGEFILE: difference 5 */
	struct res pc, efd;

	if (!s->used)
		return true;
	switch (op->size) {
	case 0:	/* F_SETFL O_NONBLOCK on or off */
		pc = result(fcntl(s->pc, F_SETFL, op->flags & 1 ? O_NONBLOCK : 0));
		if (s->efd < 0) {
			if (pc.ret)
				DIVERGE(w, "mailbox F_SETFL: %s", strerror(pc.err));
			return true;
		}
		efd = result(fcntl(s->efd, F_SETFL, op->flags & 1 ? O_NONBLOCK : 0));
		return same(w, "F_SETFL", pc, efd);
	case 1:	/* F_GETFL */
		pc = result(fcntl(s->pc, F_GETFL));
		if (s->efd < 0)
			return true;
		efd = result(fcntl(s->efd, F_GETFL));
		if (pc.ret >= 0)
			pc.ret &= mask;
		if (efd.ret >= 0)
			efd.ret &= mask;
		return same(w, "F_GETFL", pc, efd);
	case 2:	/* F_SETFD */
		pc = result(fcntl(s->pc, F_SETFD, op->flags & 1 ? FD_CLOEXEC : 0));
		if (s->efd < 0)
			return true;
		efd = result(fcntl(s->efd, F_SETFD, op->flags & 1 ? FD_CLOEXEC : 0));
		return same(w, "F_SETFD", pc, efd);
	default: /* F_GETFD */
		pc = result(fcntl(s->pc, F_GETFD));
		if (s->efd < 0)
			return true;
		efd = result(fcntl(s->efd, F_GETFD));
		return same(w, "F_GETFD", pc, efd);
	}
}

static bool op_epoll_ctl(struct world *w, const struct op *op)
{
	static const int ctl[] = { EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL, EPOLL_CTL_ADD };
	struct slot *s = &w->slot[op->slot];
	/* Interest: IN, OUT, ET, ONESHOT; never RDNORM/WRNORM (difference 2). */
	uint32_t events = (op->flags & 1 ? EPOLLIN : 0) | (op->flags & 2 ? EPOLLOUT : 0) |
			  (op->flags & 4 ? EPOLLET : 0) | (op->flags & 8 ? EPOLLONESHOT : 0);
	struct epoll_event pev = { .events = events, .data.u32 = op->slot };
	struct epoll_event eev = pev;
	struct res pc, efd;

	if (!s->used || s->efd < 0)
		return true;
	pc = result(epoll_ctl(w->pc_epoll, ctl[op->size], s->pc, &pev));
	efd = result(epoll_ctl(w->efd_epoll, ctl[op->size], s->efd, &eev));
	return same(w, "epoll_ctl", pc, efd);
}

static int by_slot(const void *a, const void *b)
{
	const struct epoll_event *x = a, *y = b;

	return (int)x->data.u32 - (int)y->data.u32;
}

static bool op_epoll_wait(struct world *w)
{
	struct epoll_event pe[SLOTS * 4], ee[SLOTS * 4];
	int np = epoll_wait(w->pc_epoll, pe, SLOTS * 4, 0);
	int ne = epoll_wait(w->efd_epoll, ee, SLOTS * 4, 0);
	int i;

	if (np != ne)
		DIVERGE(w, "epoll_wait: pollcount %d events, eventfd %d", np, ne);
	qsort(pe, np > 0 ? np : 0, sizeof(pe[0]), by_slot);
	qsort(ee, ne > 0 ? ne : 0, sizeof(ee[0]), by_slot);
	/* No interest in RDNORM/WRNORM (difference 2): the events are equal. */
	for (i = 0; i < np; i++)
		if (pe[i].data.u32 != ee[i].data.u32 || pe[i].events != ee[i].events)
			DIVERGE(w, "epoll_wait: slot %u %#x, eventfd slot %u %#x", pe[i].data.u32,
				pe[i].events, ee[i].data.u32, ee[i].events);
	return true;
}

static bool op_ioctl(struct world *w, const struct op *op)
{
	struct slot *s = &w->slot[op->slot];
	struct pollcount_create req = { .count = 1, .flags = op->flags };
	int arg = 1;
	struct res pc, efd;
	unsigned long cmd = (uint32_t)op->value;

	if (!s->used || s->efd < 0 || cmd == POLLCOUNT_IOC_CREATE)
		return true;	/* CREATE is op_create's, against eventfd2() */
	if (cmd == FIONBIO) {
		pc = result(ioctl(s->pc, cmd, &arg));
		efd = result(ioctl(s->efd, cmd, &arg));
	} else {
		pc = result(ioctl(s->pc, cmd, &req));
		efd = result(ioctl(s->efd, cmd, &req));
	}
	return same(w, "ioctl", pc, efd);
}

static bool op_fdinfo(struct world *w, const struct op *op)
{
	struct slot *s = &w->slot[op->slot];
	uint64_t pcc = 0, efc = 0;

	if (!s->used)
		return true;
	if (!fdinfo_count(s->pc, &pcc))
		DIVERGE(w, "pollcount fdinfo unreadable");
	if (w->counter[s->counter].mailbox) {
		if (pcc != w->counter[s->counter].model)
			DIVERGE(w, "mailbox fdinfo count %#llx, model %#llx",
				(unsigned long long)pcc,
				(unsigned long long)w->counter[s->counter].model);
		return true;
	}
	if (!fdinfo_count(s->efd, &efc))
		DIVERGE(w, "eventfd fdinfo unreadable");
	if (pcc != efc)
		DIVERGE(w, "fdinfo count: pollcount %#llx, eventfd %#llx",
			(unsigned long long)pcc, (unsigned long long)efc);
	return true;
}

/* A child writes in both worlds and exits; the parent reaps it. */
static bool op_fork_write(struct world *w, const struct op *op)
{
	struct slot *s = &w->slot[op->slot];
	uint64_t before = 0;
	pid_t child;
	int status;

	if (!s->used || s->efd < 0 || op->value == ~0ULL)
		return true;
	if (!fdinfo_count(s->efd, &before) || ~0ULL - before <= op->value)
		return true;	/* a write that would block or fail: not in a child */
	child = fork();
	if (child == 0) {
		bool ok = write_u64(s->pc, op->value) == 8 && write_u64(s->efd, op->value) == 8;

		_exit(ok ? 0 : 1);
	}
	if (child < 0 || waitpid(child, &status, 0) != child)
		DIVERGE(w, "fork: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		DIVERGE(w, "a child's write of %#llx failed in one world",
			(unsigned long long)op->value);
	return true;
}

static bool apply(struct world *w, const struct op *op)
{
	struct slot *s = &w->slot[op->slot];

	switch (op->kind) {
	case OP_CREATE:
		return op_create(w, op, false);
	case OP_OPEN:
		return op_create(w, op, true);
	case OP_CLOSE:
		slot_free(w, op->slot);
		return true;
	case OP_DUP:
		if (!s->used || op->slot2 == op->slot)
			return true;
		slot_free(w, op->slot2);
		w->slot[op->slot2] = *s;
		w->slot[op->slot2].pc = dup(s->pc);
		w->slot[op->slot2].efd = s->efd >= 0 ? dup(s->efd) : -1;
		if (w->slot[op->slot2].pc < 0 || (s->efd >= 0 && w->slot[op->slot2].efd < 0))
			DIVERGE(w, "dup: %s", strerror(errno));
		slot_pin(w, op->slot2);
		return true;
	case OP_READ:
		return op_read(w, op, false);
	case OP_READV:
		return op_read(w, op, true);
	case OP_WRITE:
		return op_write(w, op);
	case OP_POLL:
		return op_poll(w, op, false);
	case OP_SELECT:
		return op_poll(w, op, true);
	case OP_FCNTL:
		return op_fcntl(w, op);
	case OP_EPOLL_CTL:
		return op_epoll_ctl(w, op);
	case OP_EPOLL_WAIT:
		return op_epoll_wait(w);
	case OP_IOCTL:
		return op_ioctl(w, op);
	case OP_FDINFO:
		return op_fdinfo(w, op);
	case OP_FORK_WRITE:
		return op_fork_write(w, op);
	default:
		return true;
	}
}

/*
 * Runs `n` operations on fresh worlds; returns the index of the first that
 * diverged (its message in *why), or -1. Operations on empty slots are
 * no-ops, so any subsequence of an episode is itself runnable.
 */
static int run(const struct op *ops, int n, char *why, size_t len)
{
	struct world w;
	int i, bad = -1;

	world_init(&w);
	for (i = 0; i < n; i++) {
		if (!apply(&w, &ops[i])) {
			bad = i;
			snprintf(why, len, "%s", w.divergence);
			break;
		}
	}
	world_close(&w);
	return bad;
}

/* Shrinks a diverging episode: drops chunks, then single operations. */
static int shrink(struct op *ops, int n)
{
	struct op trial[EPISODE_OPS];
	char why[512];
	int chunk, i;

	for (chunk = n / 2; chunk >= 1; chunk /= 2) {
		for (i = 0; i + chunk <= n;) {
			int m = 0, j;

			for (j = 0; j < n; j++)
				if (j < i || j >= i + chunk)
					trial[m++] = ops[j];
			if (run(trial, m, why, sizeof(why)) >= 0) {
				memcpy(ops, trial, m * sizeof(ops[0]));
				n = m;
			} else {
				i += chunk;
			}
		}
	}
	return n;
}

static long env_long(const char *name, long fallback)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : fallback;
}

FIXTURE(fuzz) {};
FIXTURE_SETUP(fuzz) {}
FIXTURE_TEARDOWN(fuzz) {}

/*
 * The harness's timeout is a day, for `make fuzz DURATION=`; the fuzzer
 * stops itself at POLLCOUNT_FUZZ_SECONDS, and make check's VM has its own.
 */
TEST_F_TIMEOUT(fuzz, differential_against_eventfd, 86400)
{
	long seconds = env_long("POLLCOUNT_FUZZ_SECONDS", 60);
	long max_ops = env_long("POLLCOUNT_FUZZ_OPS", 1000000);
	uint64_t seed = env_long("POLLCOUNT_FUZZ_SEED", 0);
	struct op episode[EPISODE_OPS];
	long ops = 0, episodes = 0;
	double start = now_s(), elapsed;
	char why[512];

	if (!pollcount_present())
		SKIP(return, "/dev/pollcount is absent: load pollcount.ko");
	if (!seed)
		seed = (uint64_t)(now_s() * 1e6) | 1;
	rng_state = seed;
	ksft_print_msg("seed %llu, up to %ld s or %ld operations\n",
		       (unsigned long long)seed, seconds, max_ops);
	for (size_t d = 0; d < sizeof(DIFFERENCES) / sizeof(DIFFERENCES[0]); d++)
		ksft_print_msg("documented difference: %s\n", DIFFERENCES[d][0]);
	while (ops < max_ops && now_s() - start < seconds) {
		uint64_t episode_seed = rnd() | 1;
		int i, bad;

		rng_state = episode_seed;
		for (i = 0; i < EPISODE_OPS; i++)
			random_op(&episode[i]);
		rng_state = episode_seed * 0x9E3779B97F4A7C15ULL | 1;
		bad = run(episode, EPISODE_OPS, why, sizeof(why));
		ops += bad < 0 ? EPISODE_OPS : bad + 1;
		episodes++;
		if (bad >= 0) {
			int n = shrink(episode, bad + 1);
			char line[200];

			TH_LOG("divergence after %ld operations: %s", ops, why);
			TH_LOG("seed %llu, episode %ld; shortest log that diverges (%d operations):",
			       (unsigned long long)seed, episodes, n);
			for (i = 0; i < n; i++) {
				describe(&episode[i], line, sizeof(line));
				TH_LOG("  %2d %s", i, line);
			}
			run(episode, n, why, sizeof(why));
			TH_LOG("it diverges with: %s", why);
			ASSERT_TRUE(false);
		}
	}
	elapsed = now_s() - start;
	ksft_print_msg("%ld operations in %ld episodes, %.1f s: %.0f ops/s, no divergence\n",
		       ops, episodes, elapsed, ops / elapsed);
	EXPECT_LT(0, ops);
}

TEST_HARNESS_MAIN
