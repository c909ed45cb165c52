// SPDX-License-Identifier: GPL-2.0
/* kernel_ext's C helpers (helpers.h): what Rust cannot spell, no logic. */
#include <linux/iov_iter.h>
#include <linux/uaccess.h>

#include "helpers.h"

/* __always_inline where rust/Kbuild inlines these into Rust, as rust/helpers/ */
#ifndef __pollcount_helper
#define __pollcount_helper
#endif

/* The series' rust/helpers/ wrappers for WaitQueue, for a kernel without it. */
__pollcount_helper void pollcount___add_wait_queue_entry_tail(struct wait_queue_head *wq_head,
							      struct wait_queue_entry *wq_entry)
{
	__add_wait_queue_entry_tail(wq_head, wq_entry);
}

__pollcount_helper void pollcount___remove_wait_queue(struct wait_queue_head *wq_head,
						      struct wait_queue_entry *wq_entry)
{
	__remove_wait_queue(wq_head, wq_entry);
}

__pollcount_helper bool pollcount_waitqueue_active(struct wait_queue_head *wq_head)
{
	/* The caller orders this test against changes to the queue itself. */
	return waitqueue_active(wq_head);
}

__pollcount_helper void pollcount_set_current_state(unsigned int state)
{
	set_current_state(state);
}

/*
 * One 8-byte store into a naturally aligned user buffer, which lies in one
 * page (and one MTE granule): it fails whole or succeeds whole. Returns the
 * bytes not copied, as an iterator step.
 */
static __always_inline size_t put_u64_step_nofault(void __user *to, size_t progress, size_t len,
						   void *value, void *priv2)
{
	if (should_fail_usercopy())
		return len;
	if (!user_write_access_begin(to, sizeof(u64)))
		return len;
	unsafe_put_user(*(u64 *)value, (u64 __user *)to, efault);
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return len;
}

/*
 * Steps of put_u64_split_nofault(), with page faults disabled. access_ok()
 * (not __access_ok()) accepts a tagged arm64 pointer as the stores do.
 */
static size_t load_step(void __user *from, size_t progress, size_t len, void *to, void *priv2)
{
	if (!access_ok(from, len))
		return len;
	return __copy_from_user_inatomic(to + progress, from, len);
}

/* The store (a fail_usercopy point); *reached: how far it may have written. */
static size_t store_step(void __user *to, size_t progress, size_t len, void *from, void *reached)
{
	*(size_t *)reached = progress + len;
	if (should_fail_usercopy() || !access_ok(to, len))
		return len;
	return __copy_to_user_inatomic(to, from + progress, len);
}

/*
 * Puts saved bytes back one at a time, so that every byte a failed store
 * may have written is restored, even where a store that faults has
 * written some bytes other than its first ones (arm64 allows that of an
 * unaligned store). A byte that cannot be written was not written.
 */
static size_t restore_step(void __user *to, size_t progress, size_t len, void *from, void *priv2)
{
	size_t i;

	if (access_ok(to, len))
		for (i = 0; i < len; i++)
			(void)__copy_to_user_inatomic(to + i, from + progress + i, 1);
	return 0;
}

static size_t memcpy_from_step(void *from, size_t progress, size_t len, void *to, void *priv2)
{
	memcpy(to + progress, from, len);
	return 0;
}

static size_t memcpy_to_step(void *to, size_t progress, size_t len, void *from, void *priv2)
{
	memcpy(to, from + progress, len);
	return 0;
}

/*
 * The value anywhere else: split across iovecs (readv(2) with short
 * segments), unaligned (perhaps across a page boundary), or into a kernel
 * buffer (__kernel_read()). A store into user memory can fail half-way,
 * leaving part of the value written, and a read that then ends in EFAULT
 * or EAGAIN must leave the buffer as it was. So the old bytes are saved
 * first (if they cannot even be read, a page is not present: nothing is
 * stored; a write-only arm64 pkey page lands here too, and the read ends
 * in EFAULT), and a store that fails half-way puts them back. Until then
 * another thread, or another process sharing the page, may see the new
 * bytes, and a store of its own in that window is undone: a buffer
 * written while a read fills it has no defined contents anyway.
 */
static noinline bool put_u64_split_nofault(u64 value, struct iov_iter *iter)
{
	struct iov_iter probe = *iter;
	size_t reached = 0;
	bool stored = false;
	u64 saved;

	pagefault_disable();
	if (iterate_and_advance(&probe, sizeof(saved), &saved, load_step,
				memcpy_from_step) != sizeof(saved))
		goto out;
	probe = *iter;
	if (iterate_and_advance2(&probe, sizeof(value), &value, &reached, store_step,
				 memcpy_to_step) == sizeof(value)) {
		*iter = probe;
		stored = true;
		goto out;
	}
	probe = *iter;
	/* Only the bytes the store reached: the rest were never written. */
	iterate_and_advance(&probe, reached, &saved, restore_step, memcpy_to_step);
out:
	pagefault_enable();
	return stored;
}

/*
 * Delivers a read's value without sleeping, for use under a spinlock: with
 * page faults disabled, a user page that is not present fails the copy
 * instead of being faulted in. Either all 8 bytes are copied and @iter is
 * advanced past them, or false is returned with @iter and every byte of
 * the destination as they were.
 *
 * The usual destination, read(2)'s single aligned user buffer, takes one
 * store, inline; iterate_ubuf() advances the iterator.
 */
__pollcount_helper bool pollcount_put_u64_nofault(u64 value, struct iov_iter *iter)
{
	size_t copied;

	if (unlikely(!iter_is_ubuf(iter) || iov_iter_count(iter) < sizeof(value) ||
		     !IS_ALIGNED((unsigned long)(iter->ubuf + iter->iov_offset), sizeof(value))))
		return put_u64_split_nofault(value, iter);
	pagefault_disable();
	copied = iterate_ubuf(iter, sizeof(value), &value, NULL, put_u64_step_nofault);
	pagefault_enable();
	return copied == sizeof(value);
}
