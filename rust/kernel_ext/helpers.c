// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for pollcount's C layer, rust/kernel_ext/: see helpers.h. No logic lives here,
 * only what Rust cannot spell: inline functions and macros.
 */
#include <linux/anon_inodes.h>
#include <linux/iov_iter.h>
#include <linux/lockdep.h>
#include <linux/uaccess.h>

#include "helpers.h"

/*
 * The counter's lock is taken with interrupts disabled, as eventfd takes
 * it: aio's poll takes a file's wait queue lock under its hardirq-safe
 * ctx_lock, so lockdep requires the lock to be irq-safe everywhere. Every
 * caller runs in a syscall, with interrupts enabled (asserted: a caller with
 * them off would have them turned on by the unlock).
 */
__pollcount_hot void pollcount_spin_lock_irq(spinlock_t *lock)
{
	lockdep_assert_irqs_enabled();
	spin_lock_irq(lock);
}

__pollcount_hot void pollcount_spin_unlock_irq(spinlock_t *lock)
{
	spin_unlock_irq(lock);
}

/*
 * The value of a write, in one user load: get_user()'s access, inline.
 * eventfd_write() takes its 8 bytes with copy_from_user(), a call to
 * _copy_from_user(), which serves any length (with a `rep movsb`, and on a
 * fault a memset). Fault injection (fail_usercopy) applies here as there.
 */
__pollcount_hot int pollcount_get_user_u64(const void __user *from, u64 *value)
{
	u64 loaded;

	might_fault();
	if (should_fail_usercopy())
		return -EFAULT;
	if (!user_read_access_begin(from, sizeof(loaded)))
		return -EFAULT;
	unsafe_get_user(loaded, (const u64 __user *)from, efault);
	user_read_access_end();
	*value = loaded;
	return 0;
efault:
	user_read_access_end();
	return -EFAULT;
}

/*
 * One store of the value into a user buffer, which with page faults
 * disabled fails at a page that is not present instead of faulting it in:
 * a step of pollcount_put_u64_nofault()'s iterator, and all of
 * pollcount_put_user_u64_nofault(). Returns the number of bytes not copied.
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
 * Delivers a read's value without sleeping, for use under a spinlock: with
 * page faults disabled, a user page that is not present fails the copy
 * instead of being faulted in. All 8 bytes are copied, or none is consumed
 * from @iter (a partial copy is reverted) and false is returned.
 *
 * A single user buffer (read(2), io_uring, aio) takes one store, inline
 * (include/linux/iov_iter.h's iterate_ubuf() advances the iterator):
 * eventfd_read() calls _copy_to_iter(), which serves any iterator and
 * length. Other iterators (readv's iovecs, kernel buffers) take
 * copy_to_iter().
 */
__pollcount_hot bool pollcount_put_u64_nofault(u64 value, struct iov_iter *iter)
{
	size_t copied;

	pagefault_disable();
	if (likely(iter_is_ubuf(iter) && iov_iter_count(iter) >= sizeof(value)))
		copied = iterate_ubuf(iter, sizeof(value), &value, NULL, put_u64_step_nofault);
	else
		copied = copy_to_iter(&value, sizeof(value), iter);
	pagefault_enable();
	if (likely(copied == sizeof(value)))
		return true;
	iov_iter_revert(iter, copied);
	return false;
}

/*
 * The same store into read(2)'s plain user buffer (the ->read hook), which
 * has no iterator to advance: true if all 8 bytes were stored.
 */
__pollcount_hot bool pollcount_put_user_u64_nofault(u64 value, void __user *to)
{
	size_t left;

	pagefault_disable();
	left = put_u64_step_nofault(to, 0, sizeof(value), &value, NULL);
	pagefault_enable();
	return !left;
}

/*
 * IOCB_NOWAIT is `(__force int) RWF_NOWAIT`, a cast bindgen cannot
 * evaluate, so file_ops.rs spells its value (RWF_NOWAIT is uapi) and
 * tests ki_flags itself instead of calling here; this holds it to C's.
 */
static_assert(IOCB_NOWAIT == 8, "file_ops.rs: IOCB_NOWAIT");

/*
 * The f_mode of an eventfd file, for a file opened from /dev/pollcount:
 * no pread/pwrite (ESPIPE; lseek stays a no-op through noop_llseek), and
 * FMODE_NOWAIT, which lets RWF_NOWAIT, io_uring and aio ask a read not to
 * block (IOCB_NOWAIT) instead of punting it to a worker thread.
 */
void pollcount_file_mode_like_eventfd(struct file *file)
{
	file->f_mode &= ~(FMODE_PREAD | FMODE_PWRITE);
	file->f_mode |= FMODE_NOWAIT;
}

/*
 * anon_inode_getfile_fmode() is not in the kernel crate's bindings, so
 * c_helpers.rs declares it, with FMODE_NOWAIT (a __force cast bindgen
 * cannot evaluate) spelled in file_ops.rs. Rust calls it directly rather
 * than through a helper here: on a debug kernel each module frame costs
 * KASAN's and kmemleak's stack traces of the file's allocations a module
 * lookup. These hold both declarations to C's.
 */
static_assert(__same_type(&anon_inode_getfile_fmode,
			  struct file *(*)(const char *, const struct file_operations *,
					   void *, int, fmode_t)),
	      "c_helpers.rs: anon_inode_getfile_fmode");
static_assert((__force unsigned int)FMODE_NOWAIT == 1u << 27, "file_ops.rs: FMODE_NOWAIT");
