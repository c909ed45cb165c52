// SPDX-License-Identifier: GPL-2.0

//! The one layer of pollcount that talks to C. All of pollcount's `unsafe`
//! lives under this directory, each block with its `// SAFETY:` argument;
//! the rest of the module is safe Rust (`make lint` checks that).
//!
//! * The wait queue and poll API that the series in `patches/` proposes for
//!   the kernel crate: `WaitQueue`, `PollTable::register_queue`,
//!   `PollFlags`. On a kernel with the series it is the kernel's own
//!   (rust/Kbuild sets `kernel_wait_queue`); on 7.3 as released, the
//!   series' `wait_queue.rs` is compiled from the patch itself
//!   (`scripts/kbuild/series-file`), and `poll.rs` has the rest.
//! * [`file_ops`]: a `file_operations` vtable from a `#[vtable]` trait,
//!   shaped like the kernel crate's `MiscDevice`, with what pollcount needs
//!   beyond it: `poll`, a plain `write`, the file's mode and seek policy,
//!   and anonymous files with the same operations.
//! * `bindings`: the kernel crate's bindings, and those of `helpers.c`
//!   and `bindings_helper.h` (generated at build time by the kernel's own
//!   bindgen command).

// As the kernel crate's bindings: `struct file` embeds an empty struct,
// harmless behind a pointer; the generated items are `pub`; and what a
// kernel with the series provides itself goes unused.
#[allow(dead_code, improper_ctypes, unreachable_pub)]
pub(crate) mod bindings;
pub(crate) mod file_ops;
#[cfg(kernel_wait_queue)]
pub(crate) use kernel::sync::{new_wait_queue, poll, WaitQueue, WaitQueueGuard};
// The API as the series proposes it, `pub` in the kernel crate, and all of
// it, not only what pollcount uses.
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
