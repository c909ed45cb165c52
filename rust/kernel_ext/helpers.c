// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for pollcount's C layer, rust/kernel_ext/: see helpers.h. No logic lives here,
 * only what Rust cannot spell: inline functions and macros.
 */
#include <linux/anon_inodes.h>
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
void pollcount_spin_lock_irq(spinlock_t *lock)
{
	lockdep_assert_irqs_enabled();
	spin_lock_irq(lock);
}

void pollcount_spin_unlock_irq(spinlock_t *lock)
{
	spin_unlock_irq(lock);
}

/*
 * copy_to_iter() that never sleeps, for use under a spinlock: with page
 * faults disabled, a user page that is not present fails the copy instead
 * of being faulted in. All of @bytes is copied, or none is consumed from
 * @iter (a partial copy is reverted) and false is returned.
 */
bool pollcount_copy_to_iter_nofault(const void *from, size_t bytes, struct iov_iter *iter)
{
	size_t copied;

	pagefault_disable();
	copied = copy_to_iter(from, bytes, iter);
	pagefault_enable();
	if (likely(copied == bytes))
		return true;
	iov_iter_revert(iter, copied);
	return false;
}

/* Whether the caller may not block: RWF_NOWAIT, io_uring's first try, aio. */
bool pollcount_kiocb_nowait(const struct kiocb *iocb)
{
	return iocb->ki_flags & IOCB_NOWAIT;
}

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

/* An anonymous file with eventfd's f_mode, as eventfd2() makes its files. */
struct file *pollcount_anon_inode_getfile(const char *name, const struct file_operations *fops,
					  void *priv, int flags)
{
	return anon_inode_getfile_fmode(name, fops, priv, flags, FMODE_NOWAIT);
}
