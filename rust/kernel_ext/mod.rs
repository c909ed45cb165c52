// SPDX-License-Identifier: GPL-2.0

//! The one layer of pollcount that talks to C: all of its `unsafe`, each
//! block with its `// SAFETY:` argument (`make lint` checks that).
//!
//! * The wait queue and poll API the series in `patches/` proposes for the
//!   kernel crate (`WaitQueue`, `new_wait_queue!`, `PollTable`,
//!   `PollFlags`): the kernel's own when it has the series (rust/Kbuild
//!   sets `kernel_wait_queue`), else the series' `wait_queue.rs` compiled
//!   from the patch (`scripts/kbuild/series-file`) and `poll.rs`.
//! * [`file_ops`]: `file_operations` from a `#[vtable]` trait shaped like
//!   `MiscDevice`, with `poll`, a plain `write`, mode and seek policy, and
//!   anonymous files.
//! * `bindings`: the kernel crate's, and those of `helpers.c` and
//!   `bindings_helper.h`, generated with the kernel's bindgen command.

// As the kernel crate's bindings: `struct file` embeds an empty struct,
// harmless behind a pointer; the generated items are `pub`; and what a
// kernel with the series provides itself goes unused.
#[allow(dead_code, improper_ctypes, unreachable_pub)]
pub(crate) mod bindings;
pub(crate) mod file_ops;
#[cfg(kernel_wait_queue)]
pub(crate) use kernel::sync::{new_wait_queue, poll, WaitQueue, WaitQueueGuard};
// The series' text, `pub` as in the kernel crate: poll.rs has the PollFlags
// pollcount uses and PollTable; wait_queue is patch 2's file whole.
#[cfg(not(kernel_wait_queue))]
#[allow(dead_code, unreachable_pub)]
pub(crate) mod poll;
#[cfg(not(kernel_wait_queue))]
#[allow(dead_code, unreachable_pub)]
mod wait_queue {
    include!(env!("POLLCOUNT_SERIES_WAIT_QUEUE"));
}
#[cfg(not(kernel_wait_queue))]
pub(crate) use wait_queue::{new_wait_queue, WaitQueue, WaitQueueGuard};
