/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kernel_ext's C helpers: inline functions and macros that Rust cannot
 * call, each wrapped in a function, as the kernel's rust/helpers/ do (Rust
 * binder keeps its own C the same way). Rust sees them through the bindings
 * that bindings_helper.h generates, named without the pollcount_ prefix.
 */
#ifndef POLLCOUNT_HELPERS_H
#define POLLCOUNT_HELPERS_H

#include <linux/spinlock.h>
#include <linux/uio.h>
#include <linux/wait.h>

void pollcount_spin_lock_irq(spinlock_t *lock);
void pollcount_spin_unlock_irq(spinlock_t *lock);
bool pollcount_waitqueue_active(struct wait_queue_head *wq_head);
int pollcount_get_user_u64(const void __user *from, u64 *value);
bool pollcount_put_u64_nofault(u64 value, struct iov_iter *iter);

#endif /* POLLCOUNT_HELPERS_H */
