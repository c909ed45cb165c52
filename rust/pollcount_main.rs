// SPDX-License-Identifier: GPL-2.0

//! pollcount: a pollable counter device, eventfd-compatible, in Rust.
//!
//! `open("/dev/pollcount", O_RDWR)` gives a fresh counter (count 0, counter
//! mode) private to that open file. `POLLCOUNT_IOC_CREATE` on any pollcount
//! file gives a new anonymous file (`anon_inode:[pollcount]`) with an initial
//! count, a mode and flags, as `eventfd2()` does. `dup()`, `fork()` and fd
//! passing share a counter; separate opens do not.
//!
//! * Counter mode is eventfd: 8-byte reads take the count (or 1 with
//!   `POLLCOUNT_SEMAPHORE`), 8-byte writes add to it, and poll reports
//!   `EPOLLIN` when a read would not block, `EPOLLOUT` when a write of 1
//!   would not, `EPOLLERR` at a count of `0xffffffffffffffff`.
//! * Mailbox mode (`POLLCOUNT_MAILBOX`) holds one non-zero value: a write
//!   waits for the slot to be empty, a read for it to be full.
//!
//! The uapi is `include/uapi/pollcount.h`; from userspace (the whole
//! program is `samples/pollcount-first.c`):
//!
//! ```c
//! struct pollcount_create req = { .count = 0, .flags = POLLCOUNT_MAILBOX };
//! struct epoll_event ev = { .events = EPOLLIN };
//! uint64_t value = 42;
//! int dev = open("/dev/pollcount", O_RDWR);     // a counter of its own
//! int box = ioctl(dev, POLLCOUNT_IOC_CREATE, &req); // a new mailbox fd
//! int ep = epoll_create1(0);
//! epoll_ctl(ep, EPOLL_CTL_ADD, box, &ev);       // -> pollcount's poll hook
//! write(box, &value, sizeof(value));             // wakes the epoll item
//! epoll_wait(ep, &ev, 1, -1);                    // ev.events == EPOLLIN
//! read(box, &value, sizeof(value));              // 42; the slot is empty
//! ```
//!
//! `counter.rs` holds the rules (plain Rust, KUnit-tested); `kernel_ext/` is
//! all the code that talks to C; this file is the syscalls in their terms.

mod counter;
mod kernel_ext;

use counter::{Counter, Mode, Refused};
use kernel::{
    fs::{File, Kiocb},
    ioctl::_IOW,
    iov::IovIterDest,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::atomic::{Atomic, Relaxed},
    uaccess::{UserPtr, UserSlice},
};
use kernel_ext::{
    bindings,
    file_ops::{
        fault_in_writeable, install_anon_file, nonblocking, put_u64_nofault,
        MiscDeviceRegistration, PollFile,
    },
    poll::{PollFlags, PollTable},
    WaitQueue, WaitQueueGuard,
};

module! {
    type: PollcountModule,
    name: "pollcount",
    authors: ["pollcount developers"],
    description: "A pollable, eventfd-compatible counter device",
    license: "GPL",
}

// The uapi, as in include/uapi/pollcount.h. The selftests check every
// value from userspace against the header.

/// `struct pollcount_create`: `{ __u64 count; __u32 flags; __u32 reserved; }`.
const CREATE_SIZE: usize = 16;
/// The ioctl magic, 0xBB: free in `Documentation/userspace-api/ioctl/ioctl-number.rst`.
const POLLCOUNT_IOC_MAGIC: u32 = 0xBB;
/// `POLLCOUNT_IOC_CREATE`: `_IOW(0xBB, 0x01, struct pollcount_create)`.
const POLLCOUNT_IOC_CREATE: u32 = _IOW::<[u8; CREATE_SIZE]>(POLLCOUNT_IOC_MAGIC, 0x01);
/// `POLLCOUNT_SEMAPHORE`, equal to `EFD_SEMAPHORE`.
const POLLCOUNT_SEMAPHORE: u32 = 1;
/// `POLLCOUNT_MAILBOX`: a bit neither eventfd nor `O_*` flags use here.
const POLLCOUNT_MAILBOX: u32 = 2;
/// `POLLCOUNT_NONBLOCK`, equal to `O_NONBLOCK`.
const POLLCOUNT_NONBLOCK: u32 = bindings::O_NONBLOCK;
/// `POLLCOUNT_CLOEXEC`, equal to `O_CLOEXEC`.
const POLLCOUNT_CLOEXEC: u32 = bindings::O_CLOEXEC;
const POLLCOUNT_FLAGS: u32 =
    POLLCOUNT_SEMAPHORE | POLLCOUNT_MAILBOX | POLLCOUNT_NONBLOCK | POLLCOUNT_CLOEXEC;

/// Reads and writes move exactly one `__u64`.
const VALUE_SIZE: usize = core::mem::size_of::<u64>();

/// Ids for fdinfo, unique for the module's lifetime (a 64-bit count never wraps).
static NEXT_ID: Atomic<u64> = Atomic::new(0);

/// Counters alive now: none may be left at unload (no file is open then),
/// or the module's drop warns, which fails `make check`. A leak check that
/// needs no kmemleak.
static LIVE_COUNTERS: Atomic<u64> = Atomic::new(0);

/// The module: `/dev/pollcount`, mode 0666.
#[pin_data(PinnedDrop)]
struct PollcountModule {
    #[pin]
    misc: MiscDeviceRegistration<Pollcount>,
}

impl kernel::InPlaceModule for PollcountModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            misc <- MiscDeviceRegistration::register(c"pollcount", 0o666),
        })
        .pin_chain(|this| {
            pr_info!(
                "registered /dev/pollcount (misc minor {})\n",
                this.misc.minor()
            );
            Ok(())
        })
    }
}

#[pinned_drop]
impl PinnedDrop for PollcountModule {
    fn drop(self: Pin<&mut Self>) {
        pr_info!("unregistering /dev/pollcount\n");
        let leaked = LIVE_COUNTERS.load(Relaxed);
        if leaked != 0 {
            pr_err!("{} counters were never freed\n", leaked);
        }
        kernel::warn_on!(leaked != 0);
    }
}

/// One pollcount file's data: its counter, under its wait queue's lock, as
/// eventfd's count is under `ctx->wqh.lock`.
#[pin_data(PinnedDrop)]
struct Pollcount {
    #[pin]
    counter: WaitQueue<Counter>,
    /// The count as of the last change, for `poll`, which reads it without
    /// the lock as eventfd reads its count (see `poll`).
    count: Atomic<u64>,
    mode: Mode,
    id: u64,
}

impl Pollcount {
    fn new(counter: Counter) -> Result<Pin<KBox<Self>>> {
        let (count, mode) = (counter.count(), counter.mode());
        let this = KBox::pin_init(
            pin_init!(Self {
                counter <- kernel_ext::new_wait_queue!(counter, "pollcount"),
                count: Atomic::new(count),
                mode,
                id: NEXT_ID.fetch_add(1, Relaxed),
            }),
            // Userspace makes as many as it likes: charge its memory
            // cgroup, as for epoll's items and every file.
            GFP_KERNEL_ACCOUNT,
        )?;
        LIVE_COUNTERS.fetch_add(1, Relaxed);
        Ok(this)
    }

    /// `POLLCOUNT_IOC_CREATE`: a new anonymous pollcount file, as `eventfd2()`.
    fn create(arg: usize) -> Result<isize> {
        // `struct pollcount_create` in one user copy, as C copies a struct.
        let [count, flags_and_reserved]: [u64; 2] =
            UserSlice::new(UserPtr::from_addr(arg), CREATE_SIZE)
                .reader()
                .read()?;
        let [f0, f1, f2, f3, r0, r1, r2, r3] = flags_and_reserved.to_ne_bytes();
        let flags = u32::from_ne_bytes([f0, f1, f2, f3]);
        let reserved = u32::from_ne_bytes([r0, r1, r2, r3]);
        if flags & !POLLCOUNT_FLAGS != 0 || reserved != 0 {
            return Err(EINVAL);
        }
        let mode = match (
            flags & POLLCOUNT_MAILBOX != 0,
            flags & POLLCOUNT_SEMAPHORE != 0,
        ) {
            (true, true) => return Err(EINVAL),
            (true, false) => Mode::Mailbox,
            (false, semaphore) => Mode::Counter { semaphore },
        };
        let counter = Counter::new(mode, count).map_err(|_| EINVAL)?;
        let fd = install_anon_file::<Pollcount>(
            c"[pollcount]",
            Pollcount::new(counter)?,
            flags & (POLLCOUNT_NONBLOCK | POLLCOUNT_CLOEXEC),
        )?;
        Ok(fd as isize)
    }

    /// Runs `attempt` under the counter's lock until it returns `Some`,
    /// sleeping on the queue in between, as eventfd's
    /// `wait_event_interruptible_locked_irq()`: `EAGAIN` instead of a sleep
    /// when `nonblocking()`, `ERESTARTSYS` on a signal (`EINTR` unless
    /// `SA_RESTART`). An `attempt` that returns `None` changed nothing.
    fn lock_until<R>(
        &self,
        nonblocking: impl FnOnce() -> bool,
        mut attempt: impl FnMut(&mut WaitQueueGuard<'_, Counter>) -> Option<R>,
    ) -> Result<R> {
        let mut counter = self.counter.lock();
        if let Some(done) = attempt(&mut counter) {
            return Ok(done);
        }
        if nonblocking() {
            return Err(EAGAIN);
        }
        loop {
            counter.wait_interruptible()?;
            if let Some(done) = attempt(&mut counter) {
                return Ok(done);
            }
        }
    }

    /// After a change, under the lock: publishes the count for `poll`, then
    /// wakes the waiters for `events` (`wake_up_locked_poll()`). A woken
    /// epoll_wait() or poll() calls `poll` before the lock is released, and
    /// must find the change that woke it.
    fn changed(&self, counter: &WaitQueueGuard<'_, Counter>, events: PollFlags) {
        self.count.store(counter.count(), Relaxed);
        counter.wake_up_poll(events);
    }

    /// eventfd's read: `EINVAL` for a buffer shorter than 8 bytes in all
    /// (split across iovecs or not), then wait (or `EAGAIN` when
    /// `nonblocking()`) until readable, then `EFAULT` for a bad buffer.
    ///
    /// Unlike eventfd, a value is taken only once delivered, so a bad buffer
    /// loses nothing: it is copied out under the lock with page faults
    /// disabled, and taken only if the copy worked (a failed copy leaves the
    /// buffer as it was). If a page is not present, the lock is dropped, the
    /// page faulted in without being written, and the read starts again.
    fn read_value(
        &self,
        nonblocking: impl Fn() -> bool,
        dest: &mut IovIterDest<'_>,
    ) -> Result<usize> {
        if dest.len() < VALUE_SIZE {
            return Err(EINVAL);
        }
        // A read that may not wait, of a counter with nothing to read, fails
        // without taking the lock: edge-triggered event loops end each drain
        // with one, and io_uring tries one before it arms poll. The count
        // `poll` reads tells, as good as the lock's answer (see `poll`): this
        // thread sees its own last change, and another thread's if anything
        // ordered it before this read; a change nothing ordered comes after.
        if self.count.load(Relaxed) == 0 && nonblocking() {
            return Err(EAGAIN);
        }
        let mut faulted_in = false;
        loop {
            let (mut tried, mut slept) = (false, false);
            let delivered = self.lock_until(&nonblocking, |counter| {
                (slept, tried) = (tried, true); // Calls after the first follow a sleep.
                let value = counter.next_read()?;
                if !put_u64_nofault(dest, value) {
                    return Some(false);
                }
                if let Ok((_, woken)) = counter.read() {
                    self.changed(counter, woken);
                }
                Some(true)
            })?;
            if delivered {
                return Ok(VALUE_SIZE);
            }
            // One fault-in per try. The no-fault store cannot tell a page
            // that is gone again from one that a fault-in maps but stores
            // still refuse (a shadow-stack page, an MTE tag mismatch,
            // fail_usercopy), and retrying the latter would never end: a
            // store that fails right after a fault-in ends the read with
            // `EFAULT`, as eventfd's failed copy does, the value kept. A try
            // that slept first (another reader took the value meanwhile) may
            // find the page gone again (reclaim, migration, a fork's write
            // protection) and faults it in anew: a sleep needs a write to end
            // it, so no spin. No signal check: a ready value never gets `EINTR`.
            if faulted_in && !slept {
                return Err(EFAULT);
            }
            fault_in_writeable(dest, VALUE_SIZE)?;
            faulted_in = true;
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Pollcount {
    fn drop(self: Pin<&mut Self>) {
        LIVE_COUNTERS.fetch_sub(1, Relaxed);
    }
}

#[vtable]
impl PollFile for Pollcount {
    type Ptr = Pin<KBox<Self>>;

    // eventfd's files: no pread/pwrite (`ESPIPE`), `lseek` a no-op, and
    // `FMODE_NOWAIT`, so that `RWF_NOWAIT`, io_uring and aio may ask a read
    // not to block instead of punting it to a worker thread.
    const FMODE_CLEAR: bindings::fmode_t = bindings::FMODE_PREAD | bindings::FMODE_PWRITE;
    const FMODE_SET: bindings::fmode_t = bindings::FMODE_NOWAIT;
    const NOOP_LLSEEK: bool = true;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let counter = Counter::new(Mode::Counter { semaphore: false }, 0).map_err(|_| EINVAL)?;
        Pollcount::new(counter)
    }

    /// Every read: [`Pollcount::read_value`], nonblocking also for `IOCB_NOWAIT`.
    // Inline, as `write`, or the trampoline calls it and the `Result` returns through memory.
    #[inline]
    fn read_iter(kiocb: Kiocb<'_, Pin<KBox<Self>>>, dest: &mut IovIterDest<'_>) -> Result<usize> {
        kiocb.file().read_value(|| nonblocking(&kiocb), dest)
    }

    /// eventfd's write: `EINVAL` unless exactly 8 bytes, `EFAULT`, `EINVAL`
    /// for a value no write may carry, then wait (or `EAGAIN`) for room.
    #[inline]
    fn write(this: Pin<&Self>, file: &File, buf: UserPtr, len: usize) -> Result<usize> {
        if len != VALUE_SIZE {
            return Err(EINVAL);
        }
        let value: u64 = UserSlice::new(buf, VALUE_SIZE).reader().read()?;
        this.lock_until(
            || file.flags() & bindings::O_NONBLOCK != 0,
            |counter| match counter.write(value) {
                Ok(woken) => {
                    this.changed(counter, woken);
                    Some(Ok(VALUE_SIZE))
                }
                Err(Refused::Invalid) => Some(Err(EINVAL)),
                Err(Refused::WouldBlock) => None,
            },
        )?
    }

    /// Queues the caller on the counter's wait queue (select, poll, an epoll
    /// item through `ep_ptable_queue_proc()`, io_uring, aio), then reports
    /// the events of the count, read without the lock, as eventfd_poll()
    /// reads its count. It cannot miss a wakeup, for eventfd's reasons:
    ///
    /// A caller that will sleep passed a table whose queueing function took
    /// the queue's lock to add its entry. A change stores the count under
    /// the same lock, before its wakeup (`changed`): either its critical
    /// section came first, and the lock handed over the stored count before
    /// the load below (acquire after release), or it came after, and its
    /// wakeup finds the entry queued and wakes the caller, who polls again.
    /// (`poll_wait()`'s full barrier orders the load after the queueing.)
    ///
    /// A caller that will not sleep (epoll re-checking an item it has
    /// queued, a poll with timeout 0) may load a count about to change: the
    /// change's wakeup then reaches its entry and it looks again, or it
    /// asked for a snapshot only. Either way the lock would buy nothing but
    /// a round trip per poll, which epoll_wait pays per ready item.
    #[inline]
    fn poll<'a>(this: Pin<&'a Self>, file: &File, table: &PollTable<'a>) -> PollFlags {
        table.register_queue(file, &this.get_ref().counter);
        this.mode.events(this.count.load(Relaxed))
    }

    fn ioctl(_this: Pin<&Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            POLLCOUNT_IOC_CREATE => Pollcount::create(arg),
            _ => Err(ENOTTY),
        }
    }

    fn show_fdinfo(this: Pin<&Self>, m: &SeqFile, _file: &File) {
        let count = this.counter.lock().count();
        let (semaphore, mode) = match this.mode {
            Mode::Counter { semaphore } => (semaphore, "counter"),
            Mode::Mailbox => (false, "mailbox"),
        };
        seq_print!(
            m,
            "pollcount-count: {:16x}\npollcount-id: {}\npollcount-semaphore: {}\npollcount-mode: {}\n",
            count,
            this.id,
            u8::from(semaphore),
            mode
        );
    }
}
