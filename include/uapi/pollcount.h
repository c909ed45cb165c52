/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pollcount: a pollable, eventfd-compatible counter device.
 *
 * open("/dev/pollcount", O_RDWR[|O_NONBLOCK]) gives a fresh counter (count 0,
 * counter mode) private to that open file. POLLCOUNT_IOC_CREATE, on any
 * pollcount file, returns a new fd for an anonymous file ("anon_inode:
 * [pollcount]") opened O_RDWR, as eventfd2(count, flags) does.
 *
 * Reads and writes move one __u64 (a shorter buffer: EINVAL; a write of any
 * other length: EINVAL, as eventfd).
 *   Counter mode: read returns the count and resets it to 0 (semaphore mode:
 *   returns 1 and decrements); write adds; 0xffffffffffffffff is EINVAL; a
 *   read at 0, or a write that would pass 0xfffffffffffffffe, blocks or
 *   fails with EAGAIN.
 *   Mailbox mode: one slot. A write stores a non-zero value into an empty
 *   slot (0 and 0xffffffffffffffff: EINVAL), a read empties a full one; each
 *   blocks or fails with EAGAIN otherwise.
 * poll: EPOLLIN|EPOLLRDNORM when a read would not block, EPOLLOUT|EPOLLWRNORM
 * when a write of 1 would not, EPOLLERR at a count of 0xffffffffffffffff
 * (reachable only through an initial count).
 *
 * Every door to an eventfd works the same: read/readv/preadv2 (RWF_NOWAIT:
 * EAGAIN instead of blocking), write (writev: one value per segment;
 * pwritev2(RWF_NOWAIT): EOPNOTSUPP), select/poll/epoll, io_uring reads,
 * writes and polls, aio IOCB_CMD_POLL. pread/pwrite: ESPIPE; lseek: a
 * no-op. Only kernel users of eventfd (IORING_REGISTER_EVENTFD, aio's
 * IOCB_FLAG_RESFD, KVM irqfd, vhost) refuse a pollcount fd: they accept
 * only the kernel's own eventfd files (EINVAL).
 */
#ifndef _UAPI_LINUX_POLLCOUNT_H
#define _UAPI_LINUX_POLLCOUNT_H

#include <linux/ioctl.h>
#include <linux/types.h>
/*
 * O_NONBLOCK and O_CLOEXEC differ between architectures (alpha, mips,
 * parisc, sparc), so the flags are defined as them, as <linux/eventfd.h>
 * defines EFD_NONBLOCK and EFD_CLOEXEC. They come from <linux/fcntl.h>,
 * included here unless libc's <fcntl.h> (same values) came first: the two
 * cannot both be included (each defines struct flock), so a program that
 * wants libc's includes it before this header.
 */
#ifndef O_NONBLOCK
#include <linux/fcntl.h>
#endif

/* Creation flags. */
#define POLLCOUNT_SEMAPHORE	(1 << 0)	/* == EFD_SEMAPHORE */
#define POLLCOUNT_MAILBOX	(1 << 1)	/* one-slot mailbox; not with SEMAPHORE */
#define POLLCOUNT_NONBLOCK	O_NONBLOCK	/* == EFD_NONBLOCK */
#define POLLCOUNT_CLOEXEC	O_CLOEXEC	/* == EFD_CLOEXEC */

/**
 * struct pollcount_create - argument of POLLCOUNT_IOC_CREATE
 * @count:    initial count (counter mode: any value; mailbox: 0 for empty,
 *            anything but 0xffffffffffffffff for full)
 * @flags:    POLLCOUNT_* flags; unknown bits: EINVAL
 * @reserved: must be 0 (EINVAL otherwise)
 */
struct pollcount_create {
	__u64 count;
	__u32 flags;
	__u32 reserved;
};

/*
 * Ioctl magic 0xBB: unused in Documentation/userspace-api/ioctl/ioctl-number.rst
 * (Linux 7.3). Unknown commands fail with ENOTTY.
 */
#define POLLCOUNT_IOC_MAGIC	0xBB
#define POLLCOUNT_IOC_CREATE	_IOW(POLLCOUNT_IOC_MAGIC, 0x01, struct pollcount_create)

#endif /* _UAPI_LINUX_POLLCOUNT_H */
