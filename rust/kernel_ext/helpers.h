/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kernel_ext's C helpers, wrapping what Rust cannot call, as rust/helpers/
 * does; Rust names them without the pollcount_ prefix (bindings_helper.h).
 */
#ifndef POLLCOUNT_HELPERS_H
#define POLLCOUNT_HELPERS_H

#include <linux/sched.h>
#include <linux/uio.h>
#include <linux/wait.h>

/* What the series adds to rust/helpers/, for a kernel without it. */
void pollcount___add_wait_queue_entry_tail(struct wait_queue_head *wq_head,
					   struct wait_queue_entry *wq_entry);
void pollcount___remove_wait_queue(struct wait_queue_head *wq_head,
				   struct wait_queue_entry *wq_entry);
bool pollcount_waitqueue_active(struct wait_queue_head *wq_head);
void pollcount_set_current_state(unsigned int state);

bool pollcount_put_u64_nofault(u64 value, struct iov_iter *iter);

#endif /* POLLCOUNT_HELPERS_H */
