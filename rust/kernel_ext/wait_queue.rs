// SPDX-License-Identifier: GPL-2.0

//! A wait queue whose own spinlock guards a value: `fs/eventfd.c`'s pattern.
//!
//! eventfd keeps its count under `ctx->wqh.lock`, the lock of the wait
//! queue its readers, writers and pollers sleep on, and wakes them with
//! `wake_up_locked_poll()` while still holding it. One lock per counter, and
//! the wakeup carries the events that became true as its key, so that
//! `ep_poll_callback()` skips epoll items that did not ask for them and
//! `EPOLLEXCLUSIVE` wakes only one of its waiters.
//!
//! The kernel crate's `CondVar` has its own wait queue beside a separate lock
//! (two locks), and `PollCondVar` pays `synchronize_rcu()` on every drop.
//! Here the value lives exactly as long as the wait queue, which lives
//! exactly as long as the file (see `file_ops.rs`), so epoll needs nothing
//! more at close: `eventpoll_release()` unhooks every epoll item before the
//! file's `release` frees the queue.

use super::c_helpers::{pollcount_spin_lock_irq, pollcount_spin_unlock_irq};
use core::{
    cell::UnsafeCell,
    ffi::c_void,
    marker::PhantomData,
    ops::{Deref, DerefMut},
};
use kernel::{
    bindings,
    fs::File,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        barrier::{smp_mb, Full},
        LockClassKey,
    },
    types::{NotThreadSafe, Opaque},
};

/// A value that `poll` can see without the lock: its poll mask.
pub(crate) trait PollState {
    /// The events (`EPOLLIN`, `EPOLLOUT`, ...) this value makes true.
    fn poll_events(&self) -> u32;
}

/// The `struct poll_table` of one call of a file's `poll` hook: select's,
/// poll's, an epoll item's (`ep_ptable_queue_proc()`) or io_uring's queueing
/// function, or null when the caller only wants the events.
///
/// The kernel crate's `kernel::sync::poll::PollTable` is the same wrapper,
/// but it registers only a `PollCondVar`; this one registers a
/// [`WaitQueue`], through [`WaitQueue::poll`].
///
/// # Invariants
///
/// `table` is null or a valid `poll_table` for `'a`.
#[repr(transparent)]
pub(crate) struct PollTable<'a> {
    table: *mut bindings::poll_table,
    _call: PhantomData<&'a bindings::poll_table>,
}

impl PollTable<'_> {
    /// Wraps the table a `poll` hook was called with.
    ///
    /// # Safety
    ///
    /// `table` is null or a valid `poll_table` for the returned lifetime.
    pub(crate) unsafe fn from_raw(table: *mut bindings::poll_table) -> Self {
        // INVARIANT: the caller's promise.
        Self {
            table,
            _call: PhantomData,
        }
    }
}

/// A `struct wait_queue_head` whose spinlock guards a `T`.
///
/// # Invariants
///
/// `head` is an initialised wait queue head; `value` is only accessed through
/// a [`WaitQueueGuard`], which holds `head.lock`. `events` is
/// `value.poll_events()` as it was when the lock was last released.
#[pin_data(PinnedDrop)]
pub(crate) struct WaitQueue<T: PollState> {
    #[pin]
    head: Opaque<bindings::wait_queue_head>,
    value: UnsafeCell<T>,
    /// Written under the lock, read by `poll` without it: a relaxed atomic
    /// is the LKMM's `WRITE_ONCE()`/`READ_ONCE()`.
    events: Atomic<u32>,
}

// SAFETY: A wait queue head may be used and freed from any thread; `T` moves
// with the queue, hence `T: Send`.
unsafe impl<T: PollState + Send> Send for WaitQueue<T> {}
// SAFETY: Shared access to `T` only happens under the spinlock, one thread at
// a time (type invariant), so `T: Send` suffices, as for `SpinLock<T>`.
unsafe impl<T: PollState + Send> Sync for WaitQueue<T> {}

impl<T: PollState> WaitQueue<T> {
    /// A wait queue guarding `value`; `name` and `key` are for lockdep.
    pub(crate) fn new(
        value: T,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> impl PinInit<Self> {
        let events = value.poll_events();
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes while the closure runs; `name`
            // and `key` are static, so they outlive the wait queue.
            head <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(slot, name.as_char_ptr(), key.as_ptr())
            }),
            value: UnsafeCell::new(value),
            events: Atomic::new(events),
        })
    }

    fn head(&self) -> *mut bindings::wait_queue_head {
        self.head.get()
    }

    /// Takes the wait queue's lock, with interrupts disabled (`spin_lock_irq`),
    /// as eventfd does: aio's `IOCB_CMD_POLL` takes a file's wait queue lock
    /// under its hardirq-safe `ctx_lock`, so the lock must be irq-safe
    /// everywhere. Every caller is a file operation (or a KUnit test), in
    /// process context with interrupts enabled, and takes the lock once.
    pub(crate) fn lock(&self) -> WaitQueueGuard<'_, T> {
        // SAFETY: `head` is initialised (type invariant), so its lock is an
        // initialised spinlock; this thread does not hold it and runs in
        // process context with interrupts enabled, as every caller does
        // (above; with lockdep, the helper asserts the interrupts).
        unsafe { pollcount_spin_lock_irq(&raw mut (*self.head()).lock) };
        // INVARIANT: the lock is held until the guard drops.
        WaitQueueGuard {
            queue: self,
            changed: false,
            _not_send: NotThreadSafe,
        }
    }

    /// Runs `attempt` under the lock until it returns `Some`, sleeping on the
    /// queue in between; each wakeup runs it again.
    ///
    /// Returns `EAGAIN` instead of sleeping when `nonblocking()` (asked only
    /// then, so the common case never pays for the question), and
    /// `ERESTARTSYS` when a signal arrives first: the syscall then restarts
    /// or fails with `EINTR`, as `SA_RESTART` decides. `attempt` changes
    /// nothing when it returns `None`, so an interrupted wait loses nothing.
    ///
    /// This is eventfd's `wait_event_interruptible_locked_irq()`: the lock
    /// is taken once and held except while asleep. `do_wait_intr_irq()`
    /// queues the entry, sets the task state and checks for signals under
    /// the lock, and drops it only around `schedule()`; a waker needs the
    /// same lock to change the value, so no wakeup can slip in between the
    /// failed attempt and the sleep.
    pub(crate) fn lock_until<R>(
        &self,
        nonblocking: impl FnOnce() -> bool,
        mut attempt: impl FnMut(&mut WaitQueueGuard<'_, T>) -> Option<R>,
    ) -> Result<R> {
        let mut guard = self.lock();
        // The common case: no wait, one lock round trip.
        if let Some(done) = attempt(&mut guard) {
            return Ok(done);
        }
        if nonblocking() {
            return Err(EAGAIN);
        }
        Self::sleep_until(guard, attempt)
    }

    /// `lock_until`'s sleep: a read or write that finds the counter ready
    /// never runs it.
    fn sleep_until<R>(
        mut guard: WaitQueueGuard<'_, T>,
        mut attempt: impl FnMut(&mut WaitQueueGuard<'_, T>) -> Option<R>,
    ) -> Result<R> {
        let queue = guard.queue;
        let wait = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `wait` is valid for writes; this initialises it for the
        // current task with `autoremove_wake_function`, which dequeues it
        // when it wakes the task. Not exclusive (flags 0), as eventfd's
        // sleepers are not: every wakeup reaches every sleeper, so a sleep
        // that ends in a signal swallows no wakeup meant for another.
        unsafe { bindings::init_wait_entry(wait.get(), 0) };
        let result = loop {
            // SAFETY: the lock is held (the guard), as `do_wait_intr_irq()`
            // requires; it returns with the lock held again, and the guard is
            // not used while the lock is dropped around `schedule()`. `wait`
            // stays on this stack frame until it is off the queue (below).
            if unsafe { bindings::do_wait_intr_irq(queue.head(), wait.get()) } != 0 {
                break Err(ERESTARTSYS);
            }
            if let Some(done) = attempt(&mut guard) {
                break Ok(done);
            }
        };
        // Still under the lock, which every wakeup holds: eventfd ends its
        // wait here with `__remove_wait_queue()` and `TASK_RUNNING`. Here:
        //
        // If the entry is off the queue, the wakeup that woke the task took
        // it off (`autoremove_wake_function()` does, once it has set the
        // task running), and `do_wait_intr_irq()` returned 0, because it
        // queues the entry before it checks for a signal: the task has been
        // through `schedule()` and runs. Nothing is left to undo, and no
        // `finish_wait()` call is paid on every sleep.
        //
        // Otherwise, after a signal (the task still `TASK_INTERRUPTIBLE`) or
        // a wakeup that was not the entry's own (`wake_up_process()`, say),
        // `finish_wait()` takes it off, under the lock, and sets the task
        // running.
        // SAFETY: `wait` is initialised, and the lock of the only queue it
        // may be on is held.
        let dequeued = unsafe { list_empty(&raw mut (*wait.get()).entry) };
        drop(guard);
        if !dequeued {
            // SAFETY: `wait` was initialised above and has not left this frame.
            unsafe { bindings::finish_wait(queue.head(), wait.get()) };
        }
        result
    }

    /// `poll`: adds the poll table's entry (select, poll, or an epoll item
    /// via `ep_ptable_queue_proc()`) to this queue, then returns the value's
    /// events, read without taking the lock.
    ///
    /// # Safety
    ///
    /// This queue must outlive every entry added to it: it must be owned by
    /// `file`'s private data, freed only by `file`'s `release`.
    pub(crate) unsafe fn poll(&self, file: &File, table: &PollTable<'_>) -> u32 {
        // `poll_wait()`, which is inline in C and a helper call from Rust,
        // split so that its test stays here: only a caller that will sleep
        // passes a table with a queueing function. epoll re-checking an item
        // it already queued, and every poll that will not sleep, pay no call.
        // SAFETY: `table.table` is null or valid for this call (invariant).
        if let Some(queue_proc) = unsafe { table.table.as_ref() }.and_then(|t| t._qproc) {
            // SAFETY: the queue outlives the entry (caller); the rest is
            // `poll_wait`'s own contract, met as above.
            unsafe { poll_wait(file, self.head(), table, queue_proc) };
        }

        // The value is changed only under the lock, and its events are
        // published before every wakeup and every release of the lock
        // (`WaitQueueGuard::wake_up_poll` and `drop`).
        // Reading them here without the lock is what eventfd_poll() does
        // with its count, and for the same reasons it cannot miss a wakeup:
        //
        // A caller that will sleep (select, poll, the first ep_item_poll()
        // of an epoll item) passed a table whose queueing function took
        // this queue's lock to add its entry (add_wait_queue()). A writer
        // changes the value under the same lock, so either its critical
        // section came first, and the lock handed over its published
        // events before the load below (acquire after release), or it
        // came after, and its wake_up_poll() finds the entry now queued
        // and wakes the caller, who polls again.
        //
        // A caller that will not sleep (epoll re-checking an item it has
        // already queued, a poll with timeout 0) may load events that are
        // about to change: the change's wakeup then reaches its entry
        // (epoll's is still queued) and the caller looks again, or it
        // asked for a snapshot only. Either way the lock buys nothing but
        // a round trip per poll, which epoll_wait pays per ready item.
        self.published_events()
    }

    /// The events published by the last release of the lock, or by a
    /// wakeup since: what `poll` reports, read without the lock.
    pub(crate) fn published_events(&self) -> u32 {
        self.events.load(Relaxed)
    }
}

/// The part of `poll_wait()` that queues: `queue_proc` (select's
/// `__pollwait`, epoll's `ep_ptable_queue_proc`, io_uring's or aio's) adds
/// the caller's entry to `head`. Named as in C, so that gdb's backtraces
/// show the articles' `poll_wait` step.
///
/// # Safety
///
/// `head` must outlive the entry added to it, and `queue_proc` must be
/// `table`'s own queueing function, `table` valid for this call.
unsafe fn poll_wait(
    file: &File,
    head: *mut bindings::wait_queue_head,
    table: &PollTable<'_>,
    queue_proc: unsafe extern "C" fn(
        *mut bindings::file,
        *mut bindings::wait_queue_head,
        *mut bindings::poll_table,
    ),
) {
    // SAFETY: `file` is valid; the table, its function and the lifetime of
    // `head` are the caller's promises.
    unsafe { queue_proc(file.as_ptr(), head, table.table) };
    // As in `poll_wait()`: paired with `wq_has_sleeper()`, so that the
    // caller's later loads cannot be reordered before the entry was added.
    smp_mb(Full);
}

/// `list_empty()`: whether `list` (a queue's list of entries, or an entry's
/// place in one) links to nothing but itself.
///
/// # Safety
///
/// `list` is an initialised list head, and it cannot change during the
/// call: the lock of its queue is held, or no other thread can reach it.
unsafe fn list_empty(list: *mut bindings::list_head) -> bool {
    // SAFETY: `list` is valid and stable (caller).
    unsafe { (*list).next == list }
}

/// `waitqueue_active()`: whether anything is queued on `head`.
///
/// # Safety
///
/// As for [`list_empty`]: `head` is initialised, and its list is stable.
unsafe fn has_waiters(head: *mut bindings::wait_queue_head) -> bool {
    // SAFETY: the caller's promise.
    unsafe { !list_empty(&raw mut (*head).head) }
}

#[pinned_drop]
impl<T: PollState> PinnedDrop for WaitQueue<T> {
    /// The queue must be empty when it dies: every poll table entry is
    /// removed before the file's `release` (see the module documentation).
    /// A leftover entry would point into freed memory; warn loudly instead
    /// (a kernel warning fails `make check`).
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `head` is initialised (type invariant). This is drop: no
        // other thread may reach the queue any more, so no lock is needed to
        // read its list (if one still could, this warning is the report).
        kernel::warn_on!(unsafe { has_waiters(self.head()) });
    }
}

/// The lock of a [`WaitQueue`], held; gives access to its value.
///
/// # Invariants
///
/// `queue.head.lock` is held by this thread for as long as the guard lives.
/// Unless `changed`, `queue.events` holds the value's events.
pub(crate) struct WaitQueueGuard<'a, T: PollState> {
    queue: &'a WaitQueue<T>,
    /// Whether the value was lent out mutably since its events were stored.
    changed: bool,
    _not_send: NotThreadSafe,
}

impl<T: PollState> WaitQueueGuard<'_, T> {
    /// `wake_up_locked_poll()`: wakes the waiters interested in `events`,
    /// passed as the wakeup key; a waiter without a key filter (a blocked
    /// read or write) is always woken.
    ///
    /// Publishes the value's events first: a woken epoll_wait() or poll()
    /// calls `poll` at once, before this lock is released, and must find
    /// the change that woke it (a wakeup orders the waker's earlier stores
    /// before whatever the woken task does next).
    pub(crate) fn wake_up_poll(&mut self, events: u32) {
        self.publish();
        let head = self.queue.head();
        // SAFETY: the lock is held (type invariant), so reading the list and
        // waking under the lock are allowed.
        unsafe {
            if has_waiters(head) {
                bindings::__wake_up_locked_key(
                    head,
                    bindings::TASK_NORMAL,
                    events as usize as *mut c_void,
                );
            }
        }
    }

    /// Stores the value's events where `WaitQueue::poll` reads them, if it
    /// may have changed since the lock was taken or they were last stored
    /// (a relaxed store, at most once per syscall).
    fn publish(&mut self) {
        if self.changed {
            self.changed = false;
            self.queue.events.store(self.poll_events(), Relaxed);
        }
    }
}

impl<T: PollState> Deref for WaitQueueGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the lock is held (type invariant), so no one else accesses the value.
        unsafe { &*self.queue.value.get() }
    }
}

impl<T: PollState> DerefMut for WaitQueueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.changed = true;
        // SAFETY: the lock is held (type invariant), so no one else accesses the value.
        unsafe { &mut *self.queue.value.get() }
    }
}

impl<T: PollState> Drop for WaitQueueGuard<'_, T> {
    fn drop(&mut self) {
        // Publish the events for `WaitQueue::poll` before the unlock, whose
        // release ordering makes them visible with the value itself.
        self.publish();
        // SAFETY: the lock is held by this thread (type invariant), taken
        // with `pollcount_spin_lock_irq` by `WaitQueue::lock`.
        unsafe { pollcount_spin_unlock_irq(&raw mut (*self.queue.head()).lock) };
    }
}

#[kernel::prelude::kunit_tests(pollcount_wait_queue)]
mod tests {
    use super::*;
    use kernel::{
        ffi::{c_int, c_uint},
        static_lock_class,
        sync::atomic::{Atomic, Relaxed},
    };

    /// A test value's events: its low bits.
    impl PollState for u64 {
        fn poll_events(&self) -> u32 {
            *self as u32
        }
    }

    fn queue(value: u64) -> Result<Pin<KBox<WaitQueue<u64>>>> {
        KBox::pin_init(
            WaitQueue::new(value, c"pollcount_test", static_lock_class!()),
            GFP_KERNEL,
        )
    }

    #[test]
    fn the_lock_guards_the_value() -> Result {
        let q = queue(5)?;
        {
            let mut guard = q.lock();
            assert_eq!(*guard, 5);
            *guard = 6;
        }
        assert_eq!(*q.lock(), 6);
        Ok(())
    }

    #[test]
    fn each_unlock_publishes_the_events_poll_reads() -> Result {
        let q = queue(0x41)?;
        assert_eq!(q.published_events(), 0x41);
        {
            let mut guard = q.lock();
            *guard = 0x104;
            // Not before the unlock: a lockless reader sees the old events
            // until the new value is visible with them.
            assert_eq!(q.published_events(), 0x41);
        }
        assert_eq!(q.published_events(), 0x104);
        let taken = q.lock_until(
            || false,
            |guard| {
                **guard = 0x4;
                Some(())
            },
        );
        assert_eq!(taken, Ok(()));
        assert_eq!(q.published_events(), 0x4);
        Ok(())
    }

    #[test]
    fn lock_until_returns_at_once_when_ready() -> Result {
        let q = queue(3)?;
        let mut attempts = 0;
        let taken = q.lock_until(
            || false,
            |guard| {
                attempts += 1;
                let value = **guard;
                **guard = 0;
                (value > 0).then_some(value)
            },
        );
        assert_eq!(taken, Ok(3));
        assert_eq!(attempts, 1);
        assert_eq!(*q.lock(), 0);
        Ok(())
    }

    #[test]
    fn lock_until_nonblocking_is_eagain_after_one_attempt() -> Result {
        let q = queue(0)?;
        let mut attempts = 0;
        let result = q.lock_until(
            || true,
            |_| {
                attempts += 1;
                None::<u64>
            },
        );
        assert_eq!(result, Err(EAGAIN));
        assert_eq!(attempts, 1);
        Ok(())
    }

    /// The key the last wakeup carried to [`record_wakeup`], as
    /// `ep_poll_callback()` would read it.
    static LAST_KEY: Atomic<usize> = Atomic::new(usize::MAX);

    /// The events [`record_wakeup`] found published when woken: what a
    /// woken `epoll_wait()` would read from `poll` at that moment.
    static SEEN_EVENTS: Atomic<u32> = Atomic::new(u32::MAX);

    /// A wake function that records the wakeup's key and the events
    /// published on the woken queue (the entry's `private`); wakes nobody.
    ///
    /// # Safety
    ///
    /// Called by `__wake_up_common()` for an entry added by [`add_recorder`],
    /// whose `private` points to the live `WaitQueue<u64>` being woken.
    unsafe extern "C" fn record_wakeup(
        wait: *mut bindings::wait_queue_entry,
        _mode: c_uint,
        _sync: c_int,
        key: *mut c_void,
    ) -> c_int {
        // SAFETY: `wait` is the queued entry, and its `private` is the
        // queue being woken, alive for the wakeup (caller).
        let queue = unsafe { &*(*wait).private.cast::<WaitQueue<u64>>() };
        LAST_KEY.store(key as usize, Relaxed);
        SEEN_EVENTS.store(queue.published_events(), Relaxed);
        0
    }

    /// Queues `raw` on `q` with [`record_wakeup`]: `init_waitqueue_func_entry()`
    /// (an inline function), with the queue as `private`, then `add_wait_queue()`.
    ///
    /// # Safety
    ///
    /// `raw` is valid for writes and not queued, and stays valid until it is
    /// removed from `q` with `remove_wait_queue()`, which must happen while
    /// `q` lives.
    unsafe fn add_recorder(q: &WaitQueue<u64>, raw: *mut bindings::wait_queue_entry) {
        // SAFETY: `raw` is valid for writes (caller); the list node starts
        // empty, as `add_wait_queue()` expects; `q`'s head is initialised.
        unsafe {
            (*raw).flags = 0;
            (*raw).private = (&raw const *q).cast_mut().cast();
            (*raw).func = Some(record_wakeup);
            (*raw).entry.next = &raw mut (*raw).entry;
            (*raw).entry.prev = &raw mut (*raw).entry;
            bindings::add_wait_queue(q.head(), raw);
        }
    }

    #[test]
    fn a_woken_poller_finds_the_change_that_woke_it() -> Result {
        let q = queue(0)?;
        let entry = Opaque::<bindings::wait_queue_entry>::uninit();
        let raw = entry.get();
        // SAFETY: `entry` lives on this frame past the removal below.
        unsafe { add_recorder(&q, raw) };
        {
            // A write: change the value, then wake, still under the lock.
            let mut guard = q.lock();
            *guard = 0x41;
            guard.wake_up_poll(0x41);
        }
        // SAFETY: the entry is still queued; `entry` outlives this call.
        unsafe { bindings::remove_wait_queue(q.head(), raw) };
        // Seen before the unlock: epoll_wait() would poll the item now.
        assert_eq!(SEEN_EVENTS.load(Relaxed), 0x41);
        Ok(())
    }

    #[test]
    fn wakeups_carry_their_events_as_the_key() -> Result {
        let q = queue(0)?;
        let entry = Opaque::<bindings::wait_queue_entry>::uninit();
        let raw = entry.get();
        // SAFETY: `entry` lives on this frame past the removal below.
        unsafe { add_recorder(&q, raw) };
        LAST_KEY.store(usize::MAX, Relaxed);
        q.lock().wake_up_poll(0x41);
        let first = LAST_KEY.load(Relaxed);
        q.lock().wake_up_poll(0x104);
        let second = LAST_KEY.load(Relaxed);
        // SAFETY: the entry was added above and is still queued (the wake
        // function does not dequeue it); `entry` outlives this call.
        unsafe { bindings::remove_wait_queue(q.head(), raw) };
        assert_eq!(first, 0x41);
        assert_eq!(second, 0x104);
        // With the entry gone, a wakeup reaches nobody.
        LAST_KEY.store(usize::MAX, Relaxed);
        q.lock().wake_up_poll(0x41);
        assert_eq!(LAST_KEY.load(Relaxed), usize::MAX);
        Ok(())
    }
}
