// SPDX-License-Identifier: GPL-2.0

//! What the series in `patches/` adds to the kernel crate's `kernel::sync::poll`, for a kernel
//! without it: [`PollFlags`] (patch 1) and [`PollTable::register_queue`] (patch 2), in the
//! series' text, and the kernel's `PollTable` it extends. (The `WaitQueue` of patch 2 is compiled
//! from the patch itself: see `mod.rs`.)

use super::{bindings, WaitQueue};
use core::marker::PhantomData;
use kernel::fs::File;

kernel::impl_flags!(
    /// A set of poll events, as a file's `poll` callback returns them.
    ///
    /// These are the kernel's `EPOLL*` values, the type `__poll_t` carries; `poll(2)` and
    /// `select(2)` translate them to their userspace encodings. (Patch 1 has all of them; these
    /// are the ones pollcount uses.)
    #[derive(Clone, Copy, Default, PartialEq, Eq)]
    pub struct PollFlags(u32);

    /// A single poll event.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum PollFlag {
        /// There is data to read.
        In = bindings::EPOLLIN,
        /// Writing is possible.
        Out = bindings::EPOLLOUT,
        /// An error condition.
        Err = bindings::EPOLLERR,
        /// Normal data can be read.
        RdNorm = bindings::EPOLLRDNORM,
        /// Normal data can be written.
        WrNorm = bindings::EPOLLWRNORM,
    }
);

/// Wraps the kernel's `poll_table`.
///
/// # Invariants
///
/// The pointer must be null or reference a valid `poll_table`.
#[repr(transparent)]
pub struct PollTable<'a> {
    table: *mut bindings::poll_table,
    _lifetime: PhantomData<&'a bindings::poll_table>,
}

impl<'a> PollTable<'a> {
    /// Creates a [`PollTable`] from a valid pointer.
    ///
    /// # Safety
    ///
    /// The pointer must be null or reference a valid `poll_table` for the duration of `'a`.
    pub unsafe fn from_raw(table: *mut bindings::poll_table) -> Self {
        // INVARIANTS: The safety requirements are the same as the struct invariants.
        PollTable {
            table,
            _lifetime: PhantomData,
        }
    }

    /// Registers this [`PollTable`] with `queue`: `poll_wait()`. A wakeup of the queue whose key
    /// has events the poller asked for then wakes it.
    ///
    /// A queue that lives as long as `file`, inside the file's private data as in `fs/eventfd.c`,
    /// costs nothing more: epoll removes its entries in `eventpoll_release()` before the file's
    /// `release`, and select, poll, aio and io_uring hold a reference to the file while their
    /// entries are queued, so the queue is empty when it is dropped. A queue dropped earlier
    /// detaches what is still queued on it (see [`WaitQueue`]'s drop).
    pub fn register_queue<T>(&self, file: &File, queue: &WaitQueue<T>) {
        // SAFETY:
        // * `file.as_ptr()` references a valid file for the duration of this call.
        // * `self.table` is null or references a valid poll_table for the duration of this call.
        // * `queue` is pinned, so its drop runs before the memory of its head is reused; the drop
        //   wakes any entry still queued with `POLLFREE` and waits for an RCU grace period, so no
        //   entry outlives the head.
        unsafe { bindings::poll_wait(file.as_ptr(), queue.as_raw(), self.table) }
    }
}
