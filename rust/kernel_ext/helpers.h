/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for pollcount's C layer, rust/kernel_ext/ (c_helpers.rs declares them
 * to Rust). Each wraps an inline function or a macro the kernel crate's
 * bindings cannot reach: bindgen neither calls inline functions nor
 * evaluates the casts in macros like FMODE_NOWAIT. Upstream, these would be
 * rust/helpers/ entries; Rust binder keeps its own C files the same way.
 */
#ifndef POLLCOUNT_HELPERS_H
#define POLLCOUNT_HELPERS_H

#include <linux/fs.h>
#include <linux/spinlock.h>
#include <linux/uio.h>

void pollcount_spin_lock_irq(spinlock_t *lock);
void pollcount_spin_unlock_irq(spinlock_t *lock);
int pollcount_get_user_u64(const void __user *from, u64 *value);
bool pollcount_put_u64_nofault(u64 value, struct iov_iter *iter);
void pollcount_file_mode_like_eventfd(struct file *file);

#endif /* POLLCOUNT_HELPERS_H */
