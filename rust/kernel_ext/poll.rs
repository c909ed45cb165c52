// SPDX-License-Identifier: GPL-2.0

//! What the series in `patches/` adds to the kernel crate's `kernel::sync::poll`, for a kernel
//! without it: [`PollFlags`] (patch 1), [`WaitQueue`] and [`PollTable::register_queue`] (patch
//! 2), in the series' text (`make upstream-check` compares them), `crate::` read as `kernel::`.

use super::bindings;
use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    ops::{Deref, DerefMut},
};
use kernel::{
    fs::File,
    prelude::*,
    sync::{rcu::synchronize_rcu, LockClassKey},
    task::TASK_NORMAL,
    types::{NotThreadSafe, Opaque},
};

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
        // * `queue` is pinned, so its drop runs before the memory of `queue.head` is reused; the
        //   drop wakes any entry still queued with `POLLFREE` and waits for an RCU grace period,
        //   so no entry outlives the head.
        unsafe { bindings::poll_wait(file.as_ptr(), queue.head.get(), self.table) }
    }
}

/// A wait queue whose own spinlock guards a `T`: the shape of `fs/eventfd.c`, whose count lives
/// under the lock of the queue its readers, writers and pollers wait on.
///
/// One lock serves both, so a change and the wakeup it causes are one critical section
/// ([`WaitQueueGuard::wake_up`], C's `wake_up_locked_poll()`), and a waiter checks its condition
/// and queues itself without a window in which a wakeup is lost
/// ([`WaitQueueGuard::wait_interruptible`], C's `wait_event_interruptible_locked_irq()`).
/// [`PollTable::register_queue`] makes it a file's poll queue. The lock is taken with
/// interrupts disabled (`spin_lock_irq()`), as C's locked waits take it: aio's `IOCB_CMD_POLL`
/// takes a polled queue's lock under its own irq-safe lock, so it must be irq-safe everywhere.
///
/// # Examples
///
/// ```
/// use kernel::{
///     static_lock_class,
///     sync::poll::{PollFlag, WaitQueue}, //
/// };
///
/// #[pin_data]
/// struct Flag {
///     #[pin]
///     raised: WaitQueue<bool>,
/// }
///
/// fn raise(flag: &Flag) {
///     let mut raised = flag.raised.lock();
///     *raised = true;
///     raised.wake_up(PollFlag::In.into());
/// }
///
/// fn wait_raised(flag: &Flag) -> Result {
///     let mut raised = flag.raised.lock();
///     while !*raised {
///         raised.wait_interruptible()?;
///     }
///     Ok(())
/// }
///
/// let flag = KBox::pin_init(
///     pin_init!(Flag {
///         raised <- WaitQueue::new(false, c"flag", static_lock_class!()),
///     }),
///     GFP_KERNEL,
/// )?;
/// raise(&flag);
/// wait_raised(&flag)?;
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `head` is an initialised wait queue head; `data` is accessed only through a
/// [`WaitQueueGuard`], which holds `head.lock`.
#[pin_data(PinnedDrop)]
pub struct WaitQueue<T> {
    #[pin]
    head: Opaque<bindings::wait_queue_head>,
    data: UnsafeCell<T>,
}

// SAFETY: A wait queue head may be used and freed on any thread; `T` moves with the queue.
unsafe impl<T: Send> Send for WaitQueue<T> {}
// SAFETY: `T` is accessed only under the lock, by one thread at a time, as for `SpinLock<T>`.
unsafe impl<T: Send> Sync for WaitQueue<T> {}

impl<T> WaitQueue<T> {
    /// Constructs a new wait queue initialiser guarding `data`.
    pub fn new(
        data: T,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid while the closure is called and both `name` and `key` have
            // static lifetimes so they live indefinitely.
            head <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(slot, name.as_char_ptr(), key.as_ptr())
            }),
            data: UnsafeCell::new(data),
        })
    }

    /// Takes the lock, with interrupts disabled: `spin_lock_irq()`.
    ///
    /// Process context only, with interrupts enabled: the unlock enables them (with lockdep,
    /// asserted).
    pub fn lock(&self) -> WaitQueueGuard<'_, T> {
        // SAFETY: `head` is initialised (type invariant), so its lock is an initialised spinlock.
        unsafe { bindings::spin_lock_irq(&raw mut (*self.head.get()).lock) };
        // INVARIANT: The lock is held until the guard drops, taken with `spin_lock_irq()`.
        WaitQueueGuard {
            queue: self,
            _not_send: NotThreadSafe,
        }
    }
}

#[pinned_drop]
impl<T> PinnedDrop for WaitQueue<T> {
    fn drop(self: Pin<&mut Self>) {
        let head = self.head.get();
        // Nothing else can reach the queue, but a remover (epoll's `ep_remove_wait_queue()`) may
        // still be inside `remove_wait_queue()` on it: the lock waits for it.
        let active = {
            let _guard = self.lock();
            // SAFETY: `head` is initialised and its lock is held.
            unsafe { bindings::waitqueue_active(head) }
        };
        if active {
            // Only for a queue freed before a file it was registered for: detach every epoll
            // entry (`POLLFREE`) and let an `ep_remove_wait_queue()` that already loaded the
            // head finish with it, as `PollCondVar`'s drop does always.
            // SAFETY: `head` is initialised, and the lock is not held.
            unsafe { bindings::__wake_up_pollfree(head) };
            synchronize_rcu();
        }
    }
}

/// The lock of a [`WaitQueue`], held; gives access to the data.
///
/// # Invariants
///
/// This thread holds `queue.head.lock`, taken with `spin_lock_irq()`, while the guard lives.
pub struct WaitQueueGuard<'a, T> {
    queue: &'a WaitQueue<T>,
    _not_send: NotThreadSafe,
}

impl<T> WaitQueueGuard<'_, T> {
    fn head(&self) -> *mut bindings::wait_queue_head {
        self.queue.head.get()
    }

    /// Wakes the waiters interested in `events`, with `events` as the wakeup's key:
    /// `wake_up_locked_poll()`. A poller whose events are not in the key stays asleep (epoll
    /// checks, and `EPOLLEXCLUSIVE` wakes one); a task asleep in [`Self::wait_interruptible`] is
    /// always woken.
    pub fn wake_up(&self, events: PollFlags) {
        let key = u32::from(events) as usize as *mut c_void;
        // SAFETY: The lock is held (type invariant), as both functions require.
        unsafe {
            if bindings::waitqueue_active(self.head()) {
                bindings::__wake_up_locked_key(self.head(), TASK_NORMAL, key);
            }
        }
    }

    /// Sleeps until the queue is woken or a signal arrives, with the lock dropped meanwhile and
    /// held again on return: one round of `wait_event_interruptible_locked_irq()`. Call it in a
    /// loop that checks the condition under the lock first; a wakeup that comes after that check
    /// is not lost. Returns `ERESTARTSYS` if a signal is pending.
    pub fn wait_interruptible(&mut self) -> Result {
        let head = self.head();
        let wait = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `wait` is valid for writes: an entry for this task, not exclusive, which
        // `autoremove_wake_function()` dequeues when it wakes the task.
        unsafe { bindings::init_wait_entry(wait.get(), 0) };
        // SAFETY: The lock is held, taken with `spin_lock_irq()` (type invariant), as
        // `do_wait_intr_irq()` requires; it queues `wait`, and returns with the lock held.
        let ret = unsafe { bindings::do_wait_intr_irq(head, wait.get()) };
        // After a signal, or a wakeup that was not the entry's own, `wait` is still queued:
        // `finish_wait()` dequeues it (it takes the lock) and sets the task running.
        // SAFETY: The lock is held, and held again before the guard is used; `wait` is
        // initialised and off every queue when this frame ends.
        unsafe {
            bindings::spin_unlock_irq(&raw mut (*head).lock);
            bindings::finish_wait(head, wait.get());
            bindings::spin_lock_irq(&raw mut (*head).lock);
        }
        if ret == 0 {
            Ok(())
        } else {
            Err(ERESTARTSYS)
        }
    }
}

impl<T> Deref for WaitQueueGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: The lock is held (type invariant), so no one else accesses the data.
        unsafe { &*self.queue.data.get() }
    }
}

impl<T> DerefMut for WaitQueueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: The lock is held (type invariant), so no one else accesses the data.
        unsafe { &mut *self.queue.data.get() }
    }
}

impl<T> Drop for WaitQueueGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: The lock is held by this thread, taken with `spin_lock_irq()` (type invariant).
        unsafe { bindings::spin_unlock_irq(&raw mut (*self.head()).lock) };
    }
}

#[kernel::prelude::kunit_tests(pollcount_wait_queue)]
mod tests {
    use super::*;
    use kernel::{
        static_lock_class,
        sync::atomic::{Atomic, Relaxed},
    };

    fn queue(value: u64) -> Result<Pin<KBox<WaitQueue<u64>>>> {
        KBox::pin_init(
            WaitQueue::new(value, c"pollcount_test", static_lock_class!()),
            GFP_KERNEL,
        )
    }

    /// The key of the last wakeup [`record_wakeup`] saw, as `ep_poll_callback()` reads it.
    static LAST_KEY: Atomic<usize> = Atomic::new(usize::MAX);

    /// A wake function that records the key and wakes nobody; on `POLLFREE` it detaches its
    /// entry, as `ep_poll_callback()` does.
    ///
    /// # Safety
    ///
    /// Called by `__wake_up_common()`, under the queue's lock, for an entry that
    /// [`add_recorder`] added.
    unsafe extern "C" fn record_wakeup(
        wait: *mut bindings::wait_queue_entry,
        _mode: c_uint,
        _sync: c_int,
        key: *mut c_void,
    ) -> c_int {
        LAST_KEY.store(key as usize, Relaxed);
        if key as usize as u32 & bindings::POLLFREE != 0 {
            // `list_del_init()`, an inline function.
            // SAFETY: `wait` is queued, and the queue's lock is held (caller).
            unsafe {
                let entry = &raw mut (*wait).entry;
                (*(*entry).prev).next = (*entry).next;
                (*(*entry).next).prev = (*entry).prev;
                bindings::INIT_LIST_HEAD(entry);
            }
        }
        0
    }

    /// Queues `raw` on `q` with [`record_wakeup`]: `init_waitqueue_func_entry()`, then
    /// `add_wait_queue()`.
    ///
    /// # Safety
    ///
    /// `raw` is valid for writes and stays valid until it is off `q`'s list.
    unsafe fn add_recorder(q: &WaitQueue<u64>, raw: *mut bindings::wait_queue_entry) {
        // SAFETY: `raw` is valid for writes (caller); `q`'s head is initialised.
        unsafe {
            (*raw).flags = 0;
            (*raw).private = core::ptr::null_mut();
            (*raw).func = Some(record_wakeup);
            bindings::INIT_LIST_HEAD(&raw mut (*raw).entry);
            bindings::add_wait_queue(q.head.get(), raw);
        }
    }

    #[test]
    fn the_lock_guards_the_data() -> Result {
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
    fn wakeups_carry_their_events_as_the_key() -> Result {
        let q = queue(0)?;
        let entry = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `entry` lives on this frame past its removal below.
        unsafe { add_recorder(&q, entry.get()) };
        q.lock().wake_up(PollFlag::In.into());
        let first = LAST_KEY.load(Relaxed);
        q.lock().wake_up(PollFlag::Out | PollFlag::WrNorm);
        let second = LAST_KEY.load(Relaxed);
        // SAFETY: The entry is still queued; `entry` outlives the call.
        unsafe { bindings::remove_wait_queue(q.head.get(), entry.get()) };
        assert_eq!(first, bindings::EPOLLIN as usize);
        assert_eq!(
            second,
            (bindings::EPOLLOUT | bindings::EPOLLWRNORM) as usize
        );
        // With the entry gone, a wakeup reaches nobody.
        LAST_KEY.store(usize::MAX, Relaxed);
        q.lock().wake_up(PollFlag::In.into());
        assert_eq!(LAST_KEY.load(Relaxed), usize::MAX);
        Ok(())
    }

    /// A queue dropped with an entry still on it (one not freed with the file it was registered
    /// for) detaches the entry with `POLLFREE` instead of leaving it pointing at freed memory.
    #[test]
    fn a_queue_dropped_early_detaches_its_entries() -> Result {
        let q = queue(0)?;
        let entry = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `entry` outlives the queue, whose drop takes it off.
        unsafe { add_recorder(&q, entry.get()) };
        LAST_KEY.store(0, Relaxed);
        drop(q);
        assert!(LAST_KEY.load(Relaxed) as u32 & bindings::POLLFREE != 0);
        // SAFETY: `entry` is initialised; nothing else can reach it now.
        let links = unsafe { &raw mut (*entry.get()).entry };
        // SAFETY: As above.
        assert!(unsafe { (*links).next } == links);
        Ok(())
    }
}
