// SPDX-License-Identifier: GPL-2.0

//! A misc device's file operations from a `#[vtable]` trait shaped like the kernel crate's
//! `MiscDevice`, with what it lacks: `poll` (the series adds it), a plain `write` (eventfd's
//! `writev` semantics), mode and seek policy, and anonymous files with the same operations, as
//! `eventfd2()` makes. A file's private data is a `T::Ptr`, stored by `open` (or
//! [`install_anon_file`]) and taken back by `release`, after every other operation.

use super::{
    bindings,
    poll::{PollFlags, PollTable},
};
use core::marker::PhantomData;
use kernel::{
    error::{from_err_ptr, to_result, VTABLE_DEFAULT_ERROR},
    fs::{file::FileDescriptorReservation, File, Kiocb},
    iov::IovIterDest,
    module::this_module,
    prelude::*,
    seq_file::SeqFile,
    sync::aref::ARef,
    types::{ForeignOwnable, Opaque},
    uaccess::UserPtr,
};

/// What a file operation borrows of the file's private data.
pub(crate) type Borrowed<'a, T> = <<T as PollFile>::Ptr as ForeignOwnable>::Borrowed<'a>;

/// Trait implemented by the private data of an open pollable file, of the misc device or
/// anonymous. As with `MiscDevice`, a hook left out is a null entry, with the VFS's default.
#[vtable]
pub(crate) trait PollFile: Sized {
    /// What kind of pointer should `Self` be wrapped in.
    type Ptr: ForeignOwnable + Send + Sync;

    /// `f_mode` bits cleared on every file of this type.
    const FMODE_CLEAR: bindings::fmode_t = 0;
    /// `f_mode` bits set on every file of this type.
    const FMODE_SET: bindings::fmode_t = 0;
    /// Whether `lseek(2)` succeeds without moving (`noop_llseek`); otherwise it is `ESPIPE`.
    const NOOP_LLSEEK: bool = false;

    /// Called when the misc device is opened; the returned pointer becomes the private data.
    fn open(file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Self::Ptr>;

    /// Called when the file is released.
    fn release(device: Self::Ptr, _file: &File) {
        drop(device);
    }

    /// Every read: `read(2)`, `readv(2)`, `preadv2(2)`, io_uring, aio, `kernel_read()`. (A file
    /// with a plain `read` as well is refused by `__kernel_read()`.)
    fn read_iter(_kiocb: Kiocb<'_, Self::Ptr>, _iov: &mut IovIterDest<'_>) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `write(2)` of `len` bytes from `buf`; `writev(2)` calls it once per segment, and
    /// `RWF_NOWAIT` is `EOPNOTSUPP`.
    fn write(
        _device: Borrowed<'_, Self>,
        _file: &File,
        _buf: UserPtr,
        _len: usize,
    ) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `poll(2)`, `select(2)`, epoll, io_uring and aio: registers every queue that is woken when
    /// the answer changes with `table`, then returns the events that are ready. May be called
    /// with a table that registers nothing; must not wait for events. `device` and `table` share
    /// a lifetime, so a queue in `device` can be registered (`PollTable::register_queue`).
    fn poll<'a>(_device: Borrowed<'a, Self>, _file: &File, _table: &PollTable<'a>) -> PollFlags {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `ioctl(2)`, and 32-bit userspace's through `compat_ptr_ioctl()`.
    fn ioctl(_device: Borrowed<'_, Self>, _file: &File, _cmd: u32, _arg: usize) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Lines for `/proc/<pid>/fdinfo/<fd>`.
    fn show_fdinfo(_device: Borrowed<'_, Self>, _m: &SeqFile, _file: &File) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The `&File` of a file operation in progress.
///
/// # Safety
///
/// `file` is the file of a file operation running on this thread, until `'a` ends.
unsafe fn file_ref<'a>(file: *mut bindings::file) -> &'a File {
    // SAFETY: `File::from_raw_file` requires a file valid for `'a`, which the caller of the
    // operation keeps (it holds a reference), and that every active `fdget_pos()` on it took
    // `f_pos_lock`. These files are a character device's or an anon inode's, never
    // `FMODE_ATOMIC_POS`, so `fdget_pos()` never takes that lock on them: a `read(2)` on another
    // thread is an `fdget_pos()` region that did not, as it is for any misc device
    // (`miscdevice.rs` makes the same call). What the rule protects is `f_pos`, and nothing here
    // reads or writes it: `File` has no accessor for it, and `noop_llseek` leaves it alone.
    unsafe { File::from_raw_file(file) }
}

/// A `file_operations` entry: `entry` if the trait's implementer has the hook, else null.
const fn hook<F: Copy>(has: bool, entry: Option<F>) -> Option<F> {
    if has {
        entry
    } else {
        None
    }
}

/// The file operations of a [`PollFile`] type.
struct FileOps<T: PollFile>(PhantomData<T>);

impl<T: PollFile> FileOps<T> {
    /// # Safety
    ///
    /// `file` is a file of these operations, between its `open` and its `release`.
    unsafe fn device<'a>(file: *mut bindings::file) -> Borrowed<'a, T> {
        // SAFETY: The private data is a `T::Ptr` from `into_foreign()`, taken back only by
        // `release`, which cannot run while a file operation does (caller).
        unsafe { T::Ptr::borrow((*file).private_data) }
    }

    /// Gives `file` the mode of a file of type `T`.
    ///
    /// # Safety
    ///
    /// `file` is being opened or created, not yet reachable by any other thread.
    unsafe fn set_mode(file: *mut bindings::file) {
        // SAFETY: No other thread can read the mode yet (caller).
        unsafe { (*file).f_mode = ((*file).f_mode & !T::FMODE_CLEAR) | T::FMODE_SET };
    }

    /// # Safety
    ///
    /// `inode` and `file` are being opened through a misc device registered with these
    /// operations: `misc_open()` set the private data to its `struct miscdevice`.
    unsafe extern "C" fn open(inode: *mut bindings::inode, raw_file: *mut bindings::file) -> c_int {
        // SAFETY: The pointers are valid and for a file being opened.
        let ret = unsafe { bindings::generic_file_open(inode, raw_file) };
        if ret != 0 {
            return ret;
        }
        // SAFETY: `misc_open()` set the private data to the `struct miscdevice`, which is the
        // `inner` of a `MiscDeviceRegistration<T>` (`repr(transparent)`), and keeps it
        // registered during this call (caller).
        let misc = unsafe { &*(*raw_file).private_data.cast::<MiscDeviceRegistration<T>>() };
        // SAFETY: An operation of `raw_file` runs on this thread for the call.
        let file = unsafe { file_ref(raw_file) };
        match T::open(file, misc) {
            Ok(ptr) => {
                // The private data changes type, from the miscdevice to `T::Ptr`, which every
                // other operation reads it as.
                // SAFETY: An open may set the private data and the mode of the file it opens.
                unsafe {
                    (*raw_file).private_data = ptr.into_foreign();
                    Self::set_mode(raw_file);
                }
                0
            }
            Err(err) => err.to_errno(),
        }
    }

    /// # Safety
    ///
    /// `file` is a file of these operations, being released.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: The release call of a file owns the private data, from `into_foreign()`.
        let ptr = unsafe { T::Ptr::from_foreign((*file).private_data) };
        // SAFETY: An operation of `file` runs on this thread for the call.
        T::release(ptr, unsafe { file_ref(file) });
        0
    }

    /// # Safety
    ///
    /// `iocb` is a valid kiocb of a file of these operations, and `iter` a valid destination.
    unsafe extern "C" fn read_iter(
        iocb: *mut bindings::kiocb,
        iter: *mut bindings::iov_iter,
    ) -> isize {
        // SAFETY: A valid kiocb whose file's private data is a `T::Ptr` (caller).
        let kiocb = unsafe { Kiocb::from_raw(iocb) };
        // SAFETY: A valid destination iterator for the call (caller).
        let iov = unsafe { IovIterDest::from_raw(iter) };
        match T::read_iter(kiocb, iov) {
            Ok(n) => n as isize,
            Err(err) => err.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// `file` is a file of these operations; `buf` is a user pointer.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        len: usize,
        _pos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: An operation of `file` runs on this thread for the call.
        let (device, file_ref) = unsafe { (Self::device(file), file_ref(file)) };
        let buf = UserPtr::from_ptr(buf.cast_mut().cast());
        match T::write(device, file_ref, buf, len) {
            Ok(n) => n as isize,
            Err(err) => err.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// `file` is a file of these operations; `table` is null or valid for the call.
    unsafe extern "C" fn poll(
        file: *mut bindings::file,
        table: *mut bindings::poll_table,
    ) -> c_uint {
        // SAFETY: An operation of `file` runs on this thread for the call; every caller of
        // `vfs_poll()` holds a reference to the file.
        let (device, file_ref) = unsafe { (Self::device(file), file_ref(file)) };
        // SAFETY: `table` is null or valid for the call (caller), and the `PollTable` is dropped
        // at its end. Its lifetime is that of `device`, the borrow of the private data, which
        // `release` takes back only after every poll entry is gone: epoll removes its entries in
        // `eventpoll_release()` before `->release()`, and every other caller of `vfs_poll()`
        // holds a reference to the file while its entries are queued.
        let table = unsafe { PollTable::from_raw(table) };
        T::poll(device, file_ref, &table).into()
    }

    /// # Safety
    ///
    /// `file` is a file of these operations.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: An operation of `file` runs on this thread for the call.
        let (device, file_ref) = unsafe { (Self::device(file), file_ref(file)) };
        match T::ioctl(device, file_ref, cmd, arg) {
            Ok(ret) => ret as c_long,
            Err(err) => err.to_errno() as c_long,
        }
    }

    /// # Safety
    ///
    /// `file` is a file of these operations; `m` is a valid seq_file, ours for the call.
    unsafe extern "C" fn show_fdinfo(m: *mut bindings::seq_file, file: *mut bindings::file) {
        // SAFETY: An operation of `file` runs on this thread for the call.
        let (device, file_ref) = unsafe { (Self::device(file), file_ref(file)) };
        // SAFETY: `m` is valid and exclusively ours for the call (caller).
        let m = unsafe { SeqFile::from_raw(m) };
        T::show_fdinfo(device, m, file_ref);
    }

    const VTABLE: bindings::file_operations = bindings::file_operations {
        open: Some(Self::open),
        release: Some(Self::release),
        read_iter: hook(T::HAS_READ_ITER, Some(Self::read_iter)),
        write: hook(T::HAS_WRITE, Some(Self::write)),
        poll: hook(T::HAS_POLL, Some(Self::poll)),
        unlocked_ioctl: hook(T::HAS_IOCTL, Some(Self::ioctl)),
        // The ioctl argument is a pointer to a layout-stable struct.
        #[cfg(CONFIG_COMPAT)]
        compat_ioctl: hook(T::HAS_IOCTL, bindings::compat_ptr_ioctl),
        show_fdinfo: hook(T::HAS_SHOW_FDINFO, Some(Self::show_fdinfo)),
        llseek: hook(T::NOOP_LLSEEK, Some(bindings::noop_llseek)),
        owner: this_module::<T::OwnerModule>().as_ptr(),
        ..pin_init::zeroed()
    };
}

/// A registration of a misc device whose opens are [`PollFile`]s: the kernel crate's
/// `MiscDeviceRegistration`, for this trait, with the device node's mode.
///
/// # Invariants
///
/// `inner` is registered with `misc_register()` from construction until drop.
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub(crate) struct MiscDeviceRegistration<T> {
    #[pin]
    inner: Opaque<bindings::miscdevice>,
    _t: PhantomData<T>,
}

// SAFETY: `misc_deregister()` may run on any thread.
unsafe impl<T> Send for MiscDeviceRegistration<T> {}
// SAFETY: No `&self` method changes anything.
unsafe impl<T> Sync for MiscDeviceRegistration<T> {}

impl<T: PollFile> MiscDeviceRegistration<T> {
    /// Registers `/dev/<name>` with a dynamic minor and the node's `mode`.
    pub(crate) fn register(name: &'static CStr, mode: u16) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            inner <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                let mut misc: bindings::miscdevice = pin_init::zeroed();
                misc.minor = bindings::MISC_DYNAMIC_MINOR as c_int;
                misc.name = name.as_char_ptr();
                misc.fops = &FileOps::<T>::VTABLE;
                misc.mode = mode;
                // SAFETY: `slot` is valid for writes while the closure runs.
                unsafe { slot.write(misc) };
                // SAFETY: `slot` holds a filled-in miscdevice and is pinned; drop deregisters it
                // before its memory goes away. `name` is static.
                to_result(unsafe { bindings::misc_register(slot) })
            }),
            _t: PhantomData,
        })
    }

    /// The minor number the misc core assigned.
    pub(crate) fn minor(&self) -> i32 {
        // SAFETY: `inner` is registered (type invariant); `minor` is fixed after registration.
        unsafe { (*self.inner.get()).minor }
    }
}

#[pinned_drop]
impl<T> PinnedDrop for MiscDeviceRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `inner` is registered (type invariant), and deregistered exactly once, here.
        unsafe { bindings::misc_deregister(self.inner.get()) };
    }
}

/// A new anonymous file (`anon_inode:<name>`) of type `T` whose private data is `ptr`, opened
/// `O_RDWR` plus `flags & O_NONBLOCK`, as `eventfd2()` makes its files. On error `ptr` is dropped.
// Inline, or the caller gets the `Result` back through memory.
#[inline]
pub(crate) fn anon_inode_file<T: PollFile>(
    name: &'static CStr,
    ptr: T::Ptr,
    flags: u32,
) -> Result<ARef<File>> {
    let private = ptr.into_foreign();
    let file_flags = bindings::O_RDWR | (flags & bindings::O_NONBLOCK);
    // SAFETY: `name` and the operations are static; `private` is the file's private data from now
    // on, taken back by `release`. On success this takes a module reference through `.owner`.
    // (Its mode is `set_mode`'s, below, as for an open of the device.)
    let file = unsafe {
        bindings::anon_inode_getfile_fmode(
            name.as_char_ptr(),
            &FileOps::<T>::VTABLE,
            private,
            file_flags as c_int,
            0,
        )
    };
    match from_err_ptr(file) {
        Ok(file) => {
            // SAFETY: The new file is not yet reachable by any other thread.
            unsafe { FileOps::<T>::set_mode(file) };
            // SAFETY: `anon_inode_getfile_fmode()` returned a new file (never null on success)
            // with one reference, which the `ARef` now owns.
            Ok(unsafe { ARef::from_raw(core::ptr::NonNull::new_unchecked(file.cast())) })
        }
        Err(err) => {
            // SAFETY: No file was made, so `private` is still only ours.
            drop(unsafe { T::Ptr::from_foreign(private) });
            Err(err)
        }
    }
}

/// [`anon_inode_file`] installed in a new fd, which it returns; `flags` may also hold
/// `O_CLOEXEC`, for the fd.
pub(crate) fn install_anon_file<T: PollFile>(
    name: &'static CStr,
    ptr: T::Ptr,
    flags: u32,
) -> Result<u32> {
    let reservation = FileDescriptorReservation::get_unused_fd_flags(flags & bindings::O_CLOEXEC)?;
    let file = anon_inode_file::<T>(name, ptr, flags)?;
    let fd = reservation.reserved_fd();
    reservation.fd_install(file);
    Ok(fd)
}

/// Whether a read must not block: its file is `O_NONBLOCK` (read once, as `READ_ONCE()`:
/// `fcntl(2)` may change it meanwhile), or its caller set `IOCB_NOWAIT` (`RWF_NOWAIT`,
/// io_uring's first attempt, aio).
pub(crate) fn nonblocking<P: ForeignOwnable>(kiocb: &Kiocb<'_, P>) -> bool {
    let iocb = kiocb.as_raw();
    // SAFETY: The kiocb and its file are valid while `kiocb` lives (`Kiocb::from_raw`).
    unsafe {
        (*iocb).ki_flags & bindings::IOCB_NOWAIT != 0
            || (&raw const (*(*iocb).ki_filp).f_flags).read_volatile() & bindings::O_NONBLOCK != 0
    }
}

/// Copies `value` (native endian) to `dest` without sleeping, so under a spinlock: with page
/// faults disabled, a page that is not present fails the copy. Returns true, `dest` past the 8
/// bytes, or false, `dest` and every byte of the destination as they were.
pub(crate) fn put_u64_nofault(dest: &mut IovIterDest<'_>, value: u64) -> bool {
    // SAFETY: `as_raw` is a valid destination iterator for the call; the helper never sleeps and
    // touches user memory only through the no-fault accessors, which check each address.
    unsafe { bindings::put_u64_nofault(value, dest.as_raw()) }
}

/// Faults in the first `len` bytes of `dest` for writing, without writing them, so that a
/// following [`put_u64_nofault`] can succeed; `EFAULT` if they cannot be.
pub(crate) fn fault_in_writeable(dest: &mut IovIterDest<'_>, len: usize) -> Result {
    // SAFETY: `as_raw` is a valid iterator for the call, which only reads it.
    match unsafe { bindings::fault_in_iov_iter_writeable(dest.as_raw(), len) } {
        0 => Ok(()),
        _ => Err(EFAULT),
    }
}

#[kernel::prelude::kunit_tests(pollcount_file_ops)]
mod tests {
    use super::*;
    use kernel::sync::atomic::{Atomic, Relaxed};

    /// A pollable file with only the required items.
    struct Minimal;

    #[vtable]
    impl PollFile for Minimal {
        type Ptr = KBox<Self>;

        fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<KBox<Self>> {
            Ok(KBox::new(Minimal, GFP_KERNEL)?)
        }
    }

    #[test]
    fn absent_hooks_are_null_entries() {
        let ops = &FileOps::<Minimal>::VTABLE;
        assert!(ops.read_iter.is_none());
        assert!(ops.write.is_none());
        assert!(ops.poll.is_none());
        assert!(ops.unlocked_ioctl.is_none());
        assert!(ops.show_fdinfo.is_none());
        assert!(ops.llseek.is_none());
        assert!(ops.open.is_some());
        assert!(ops.release.is_some());
    }

    #[test]
    fn pollcount_fills_every_hook_it_implements() {
        let ops = &FileOps::<crate::Pollcount>::VTABLE;
        assert!(ops.read_iter.is_some());
        assert!(ops.write.is_some());
        assert!(ops.poll.is_some());
        assert!(ops.unlocked_ioctl.is_some());
        assert!(ops.show_fdinfo.is_some());
        assert!(ops.llseek.is_some());
    }

    /// The count a woken waiter found published, where `poll` reads it.
    static SEEN_COUNT: Atomic<u64> = Atomic::new(u64::MAX);

    /// A poll table whose queueing function adds `entry`, as epoll's `ep_ptable_queue_proc()`
    /// adds an item's; `table` first, so that the function finds the rest.
    #[repr(C)]
    struct Recorder {
        table: bindings::poll_table,
        entry: bindings::wait_queue_entry,
        head: *mut bindings::wait_queue_head,
        pollcount: *const crate::Pollcount,
    }

    /// The queueing function of a [`Recorder`]'s table.
    ///
    /// # Safety
    ///
    /// `table` is the `table` of a live, pinned [`Recorder`], and `head` a live wait queue.
    unsafe extern "C" fn record_queue(
        _file: *mut bindings::file,
        head: *mut bindings::wait_queue_head,
        table: *mut bindings::poll_table,
    ) {
        let rec = table.cast::<Recorder>();
        // SAFETY: `rec` is the caller's live, pinned `Recorder` (`table` is its first field);
        // its entry is queued only here, on the live `head`.
        unsafe {
            (*rec).head = head;
            (*rec).entry.flags = 0;
            (*rec).entry.private = (*rec).pollcount.cast_mut().cast();
            (*rec).entry.func = Some(record_count);
            bindings::INIT_LIST_HEAD(&raw mut (*rec).entry.entry);
            bindings::add_wait_queue(head, &raw mut (*rec).entry);
        }
    }

    /// A wake function that records what `poll` would report if it ran now, as a woken
    /// `epoll_wait()` runs it before the waker drops the lock; wakes nobody.
    ///
    /// # Safety
    ///
    /// Called by `__wake_up_common()` for an entry whose `private` is the live `Pollcount` whose
    /// queue is woken.
    unsafe extern "C" fn record_count(
        wait: *mut bindings::wait_queue_entry,
        _mode: c_uint,
        _sync: c_int,
        _key: *mut c_void,
    ) -> c_int {
        // SAFETY: `private` is the woken `Pollcount`, alive during its wakeup (caller).
        let this = unsafe { &*(*wait).private.cast::<crate::Pollcount>() };
        SEEN_COUNT.store(this.count.load(Relaxed), Relaxed);
        0
    }

    /// The poll hook registers the counter's queue (`PollTable::register_queue`), and a write
    /// stores the count `poll` reads before it wakes that queue's waiters.
    #[test]
    fn a_woken_poller_finds_the_change_that_woke_it() -> Result {
        use crate::counter::{Counter, Mode};

        let counter = Counter::new(Mode::Counter { semaphore: false }, 0).map_err(|_| EINVAL)?;
        let data = crate::Pollcount::new(counter)?;
        let pollcount: *const crate::Pollcount = &*data;
        let file = anon_inode_file::<crate::Pollcount>(c"[pollcount]", data, bindings::O_NONBLOCK)?;
        let mut rec = Recorder {
            table: bindings::poll_table {
                _qproc: Some(record_queue),
                _key: u32::MAX,
            },
            entry: pin_init::zeroed(),
            head: core::ptr::null_mut(),
            pollcount,
        };
        // SAFETY: `file` is live (the `ARef`), a pollcount file whose data is `pollcount`; `rec`
        // stays on this frame, unmoved, until its entry is off the queue again. The queue lives
        // until the `__fput_sync()`, which gives up the `ARef`'s reference.
        let (events, wrote) = unsafe {
            let events = match (*(*file.as_ptr()).f_op).poll {
                Some(poll) => poll(file.as_ptr(), &raw mut rec.table),
                None => 0,
            };
            // A write's critical section (`kernel_write()` needs a `write_iter`).
            let this = &*pollcount;
            let wrote = this.lock_until(
                || true,
                |counter| {
                    let woken = counter.write(5).ok()?;
                    this.changed(counter, woken);
                    Some(())
                },
            );
            if !rec.head.is_null() {
                bindings::remove_wait_queue(rec.head, &raw mut rec.entry);
            }
            bindings::__fput_sync(ARef::into_raw(file).as_ptr().cast());
            (events, wrote)
        };
        assert!(!rec.head.is_null());
        assert_eq!(events, bindings::EPOLLOUT | bindings::EPOLLWRNORM);
        assert_eq!(wrote, Ok(()));
        assert_eq!(SEEN_COUNT.load(Relaxed), 5);
        Ok(())
    }

    /// `kernel_read()` (9p's `trans=fd` reads a descriptor it is handed with it) takes the value
    /// through `read_iter` into a kernel buffer, as from an eventfd; `__kernel_read()` refuses a
    /// file with both a `read` and a `read_iter` hook.
    #[test]
    fn kernel_read_takes_the_value() -> Result {
        use crate::counter::{Counter, Mode};

        let counter = Counter::new(Mode::Counter { semaphore: false }, 5).map_err(|_| EINVAL)?;
        let data = crate::Pollcount::new(counter)?;
        let file = anon_inode_file::<crate::Pollcount>(c"[pollcount]", data, bindings::O_NONBLOCK)?;
        let (mut first, mut second, mut pos) = (0u64, 0u64, 0);
        // SAFETY: `file` is a live file (the `ARef` holds a reference), open for reading; each
        // buffer is valid for 8 bytes of writes and `pos` for one `loff_t`, for the call.
        let (took, empty) = unsafe {
            (
                bindings::kernel_read(file.as_ptr(), (&raw mut first).cast(), 8, &mut pos),
                bindings::kernel_read(file.as_ptr(), (&raw mut second).cast(), 8, &mut pos),
            )
        };
        // A kernel thread's last `fput()` is deferred to a work item; this test's file is released
        // now, so the counter is freed before the test ends (the module counts live counters).
        // SAFETY: The reference is the `ARef`'s, given up here; no lock is held (release may
        // sleep), and the file's release takes no lock a kernel thread could hold.
        unsafe { bindings::__fput_sync(ARef::into_raw(file).as_ptr().cast()) };
        assert_eq!(took, 8);
        assert_eq!(first, 5);
        assert_eq!(empty, EAGAIN.to_errno() as isize);
        assert_eq!(second, 0);
        Ok(())
    }
}
