// SPDX-License-Identifier: GPL-2.0

//! The series' `kernel::sync::poll` for a kernel without it, in its text: [`PollFlags`] (patch 1),
//! and `PollTable` with [`PollTable::register_queue`] (patch 2; its `WaitQueue`: see `mod.rs`).

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

/// Wraps the kernel's `poll_table`, for one call of a file's `poll` operation.
///
/// `'a` is the lifetime of what the file lends its `poll` operation: its private data, which
/// lives until the file is released, after every entry added through this table is gone (epoll
/// removes its entries in `eventpoll_release()` before `->release()`; select, poll, aio and
/// io_uring hold a reference to the file while theirs are queued). A [`WaitQueue`] borrowed for
/// `'a` can therefore be registered with [`PollTable::register_queue`]. `'a` is invariant, so
/// that no shorter borrow passes for it.
///
/// # Invariants
///
/// The pointer is null or references a valid `poll_table` while this `PollTable` exists, and
/// every value borrowed for `'a` outlives the entries added through it.
#[repr(transparent)]
pub struct PollTable<'a> {
    table: *mut bindings::poll_table,
    _lifetime: PhantomData<fn(&'a ()) -> &'a ()>,
}

impl<'a> PollTable<'a> {
    /// Creates a [`PollTable`] from a valid pointer.
    ///
    /// # Safety
    ///
    /// The pointer must be null or reference a valid `poll_table` until the returned value is
    /// dropped, and every value borrowed for `'a` must live until the entries added through the
    /// table are removed: a file operation meets this by using the lifetime of its borrow of the
    /// file's private data, which lives until the file is released.
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
    /// The queue is borrowed for `'a`, as long as the file keeps its private data: a queue in
    /// the private data, as in `fs/eventfd.c`, costs nothing at close, where a [`PollCondVar`]
    /// waits for an RCU grace period.
    pub fn register_queue<T>(&self, file: &File, queue: &'a WaitQueue<T>) {
        // SAFETY:
        // * `file.as_ptr()` references a valid file for the duration of this call.
        // * `self.table` is null or references a valid poll_table for the duration of this call.
        // * `queue` is borrowed for `'a`, so it outlives every entry added through this table
        //   (type invariant): no entry outlives its head.
        unsafe { bindings::poll_wait(file.as_ptr(), queue.as_raw(), self.table) }
    }
}
