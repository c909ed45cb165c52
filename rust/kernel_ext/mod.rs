// SPDX-License-Identifier: GPL-2.0

//! What pollcount adds to the kernel crate, and the one layer of pollcount
//! that talks to C: each piece is written as it would be upstreamed, safe
//! abstractions over `unsafe` callbacks. All of pollcount's `unsafe` lives
//! under this directory, each block with its `// SAFETY:` argument; the
//! rest of the module is safe Rust (`make lint` checks that).
//!
//! * [`wait_queue`]: a wait queue whose spinlock guards a value, with keyed
//!   wakeups and eventfd's locked wait, as in `fs/eventfd.c`.
//! * [`file_ops`]: the `file_operations` vtable (with `poll`, which the
//!   kernel crate's `MiscDevice` lacks, and `read_iter`), the misc device
//!   registration, anonymous files installed in new fds, and what a
//!   `read_iter` needs beyond the kernel crate's `Kiocb` and `IovIterDest`.
//! * `c_helpers` and `helpers.c`: the few inline C functions and macros
//!   that bindgen cannot reach (`spin_lock_irq`, the
//!   8-byte user accesses, `pagefault_disable`, `FMODE_NOWAIT`).

mod c_helpers;
pub(crate) mod file_ops;
pub(crate) mod wait_queue;
