// SPDX-License-Identifier: GPL-2.0

//! The one layer of pollcount that talks to C. All of pollcount's `unsafe`
//! lives under this directory, each block with its `// SAFETY:` argument;
//! the rest of the module is safe Rust (`make lint` checks that).
//!
//! * [`wait_queue`]: a wait queue whose spinlock guards a value, with keyed
//!   wakeups, as in `fs/eventfd.c`.
//! * [`file_ops`]: the `file_operations` vtable (with `poll`, which the
//!   kernel crate's `MiscDevice` lacks), the misc device registration, and
//!   anonymous files installed in new fds.
//! * [`user`]: a copy to userspace that may run under a spinlock.

pub(crate) mod file_ops;
pub(crate) mod user;
pub(crate) mod wait_queue;
