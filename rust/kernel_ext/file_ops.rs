// SPDX-License-Identifier: GPL-2.0

//! A `struct file_operations` for pollable files, built from a safe trait.
//!
//! The kernel crate's `MiscDevice` (`rust/kernel/miscdevice.rs`) has no
//! `poll` hook, so pollcount brings its own vtable in the same style: each
//! C callback recovers the file's private data and calls a safe method of
//! [`PollFile`]. The same file operations serve both kinds of pollcount
//! file: opens of the misc device, and anonymous files made by an ioctl
//! (`anon_inode_getfile()`, as `eventfd2()` makes its files).
//!
//! Lifetime rule that keeps epoll simple: a file's private data (a
//! `Pin<KBox<T>>`, holding the [`WaitQueue`]) is created when the file is,
//! and freed in `release`, after the VFS has run `eventpoll_release()` for
//! the file. Every poll table entry on the queue is gone by then: select and
//! poll hold a file reference while queued, epoll items were unhooked.
//!
//! `.owner` is set, so every open file pins the module: `rmmod` fails with
//! `EBUSY` until the last file is released.

use core::marker::PhantomData;
use kernel::{
    bindings,
    error::{from_err_ptr, to_result, VTABLE_DEFAULT_ERROR},
    fs::{file::FileDescriptorReservation, File, Kiocb, LocalFile},
    iov::IovIterDest,
    module::this_module,
    prelude::*,
    seq_file::SeqFile,
    sync::aref::ARef,
    types::{ForeignOwnable, Opaque},
    uaccess::UserPtr,
};

use super::c_helpers::{
    anon_inode_getfile_fmode, pollcount_file_mode_like_eventfd, pollcount_get_user_u64,
    pollcount_put_u64_nofault,
};
use super::wait_queue::{PollState, PollTable, WaitQueue};

/// The `kiocb` of a [`PollFile`]'s `read_iter`.
pub(crate) type PollKiocb<'a, T> = Kiocb<'a, Pin<KBox<T>>>;

/// The private data of a pollable file: one per open file description,
/// shared by every fd (dup, fork, fd passing) that refers to it.
///
/// As with the kernel crate's `MiscDevice`, the hooks after `wait_queue`
/// are optional (`#[vtable]`): one left out is a null `file_operations`
/// entry, with the VFS's default for it (`EINVAL` for read and write,
/// `ENOTTY` for ioctl, no fdinfo lines). `poll` is always there: it is
/// what the trait is for, and it reports the wait queue's state.
#[vtable]
pub(crate) trait PollFile: Sized + Send + Sync {
    /// The value the file's wait queue guards; `poll` reports its events.
    type State: PollState;

    /// A new file's data, for an open of the misc device.
    fn open() -> Result<Pin<KBox<Self>>>;

    /// The wait queue `poll` registers on: it must be part of `self`, so it
    /// lives exactly as long as the file.
    fn wait_queue(&self) -> &WaitQueue<Self::State>;

    /// `read_iter`: every read, `read(2)`, `readv(2)`, `preadv2(2)`
    /// (`RWF_NOWAIT`), io_uring and aio, and `kernel_read()`, into `dest`.
    /// The file's data is `kiocb.file()`; [`KiocbExt::nonblocking`] says
    /// whether it may block. (No plain `read` hook beside it: a file with
    /// both is refused by `__kernel_read()`.)
    fn read_iter(_kiocb: PollKiocb<'_, Self>, _dest: &mut IovIterDest<'_>) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `write(2)` of `len` bytes from the user buffer `buf`. A plain
    /// `write`, as eventfd's: `writev` runs it once per segment, and
    /// `RWF_NOWAIT` is `EOPNOTSUPP`.
    fn write(&self, _file: &LocalFile, _buf: UserPtr, _len: usize) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `ioctl(2)`; unknown commands return `ENOTTY`.
    fn ioctl(&self, _file: &File, _cmd: u32, _arg: usize) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Lines for `/proc/<pid>/fdinfo/<fd>`.
    fn show_fdinfo(&self, _m: &SeqFile, _file: &File) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The file operations of a [`PollFile`] type.
pub(crate) struct FileOps<T: PollFile>(PhantomData<T>);

impl<T: PollFile> FileOps<T> {
    /// # Safety
    ///
    /// `file` is a valid file whose private data came from
    /// `Pin<KBox<T>>::into_foreign()` and has not been released.
    unsafe fn data<'a>(file: *mut bindings::file) -> Pin<&'a T> {
        // SAFETY: (caller) the private data is a live `Pin<KBox<T>>`, freed
        // only by `release`, which cannot run during another file operation.
        unsafe { <Pin<KBox<T>> as ForeignOwnable>::borrow((*file).private_data) }
    }

    /// # Safety
    ///
    /// `inode` and `file` belong to an open of a misc device registered with
    /// these file operations: `misc_open()` has set the private data to the
    /// `struct miscdevice`.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: valid pointers for a file being opened (caller).
        let ret = unsafe { bindings::generic_file_open(inode, file) };
        if ret != 0 {
            return ret;
        }
        match T::open() {
            Ok(data) => {
                // The private data changes type, from the miscdevice to `T`:
                // every other callback reads it as `T`.
                // SAFETY: open may set the private data and the mode of the
                // file it opens.
                unsafe {
                    (*file).private_data = data.into_foreign();
                    pollcount_file_mode_like_eventfd(file);
                }
                0
            }
            Err(err) => err.to_errno(),
        }
    }

    /// # Safety
    ///
    /// `file` is being released; its private data is a `Pin<KBox<T>>`.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: release owns the private data (caller), set by `open` or
        // `install_anon_file` from `into_foreign()`; nothing uses it after.
        drop(unsafe { <Pin<KBox<T>> as ForeignOwnable>::from_foreign((*file).private_data) });
        0
    }

    /// # Safety
    ///
    /// `iocb` is a valid kiocb for a read of an open file of these
    /// operations, and `iter` a valid destination iterator, both for the call.
    unsafe extern "C" fn read_iter(
        iocb: *mut bindings::kiocb,
        iter: *mut bindings::iov_iter,
    ) -> isize {
        // SAFETY: `iocb` is valid for the call and its file's private data is
        // a `Pin<KBox<T>>`, released only after every read returned (caller).
        let kiocb = unsafe { PollKiocb::<T>::from_raw(iocb) };
        // SAFETY: `iter` is a valid destination iterator for the call (caller).
        let dest = unsafe { IovIterDest::from_raw(iter) };
        match T::read_iter(kiocb, dest) {
            Ok(n) => n as isize,
            Err(err) => err.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// `file` is an open file of these operations; `buf` is a user pointer.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        len: usize,
        _pos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: `file` is open with `T` private data (caller).
        let data = unsafe { Self::data(file) };
        // SAFETY: `file` is valid for this call. A write runs without
        // `fdget_pos()`'s position lock (the file is not `FMODE_ATOMIC_POS`),
        // so it gets a `LocalFile`, which promises nothing about other threads.
        let file = unsafe { LocalFile::from_raw_file(file) };
        match data.write(file, UserPtr::from_ptr(buf.cast_mut().cast()), len) {
            Ok(n) => n as isize,
            Err(err) => err.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// `file` is an open file of these operations; `table` is null or a
    /// valid poll table for this call.
    unsafe extern "C" fn poll(
        file: *mut bindings::file,
        table: *mut bindings::poll_table,
    ) -> bindings::__poll_t {
        // SAFETY: `file` is open with `T` private data (caller).
        let data = unsafe { Self::data(file) };
        // SAFETY: `file` is valid for this call.
        let file = unsafe { File::from_raw_file(file) };
        // SAFETY: `table` is null or valid for this call (caller).
        let table = unsafe { PollTable::from_raw(table) };
        // SAFETY: the queue is part of the private data, which lives until
        // `release` (module documentation).
        unsafe { data.wait_queue().poll(file, &table) }
    }

    /// # Safety
    ///
    /// `file` is an open file of these operations.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: `file` is open with `T` private data (caller).
        let data = unsafe { Self::data(file) };
        // SAFETY: `file` is valid for this call.
        let file = unsafe { File::from_raw_file(file) };
        match data.ioctl(file, cmd, arg) {
            Ok(ret) => ret as c_long,
            Err(err) => err.to_errno() as c_long,
        }
    }

    /// # Safety
    ///
    /// `file` is an open file of these operations; `m` is a valid seq_file
    /// this call may write to.
    unsafe extern "C" fn show_fdinfo(m: *mut bindings::seq_file, file: *mut bindings::file) {
        // SAFETY: `file` is open with `T` private data (caller).
        let data = unsafe { Self::data(file) };
        // SAFETY: `file` is valid for this call.
        let file = unsafe { File::from_raw_file(file) };
        // SAFETY: `m` is valid and exclusively ours for this call (caller).
        let m = unsafe { SeqFile::from_raw(m) };
        data.show_fdinfo(m, file);
    }

    const VTABLE: bindings::file_operations = bindings::file_operations {
        owner: this_module::<crate::LocalModule>().as_ptr(),
        open: Some(Self::open),
        release: Some(Self::release),
        read_iter: if T::HAS_READ_ITER {
            Some(Self::read_iter)
        } else {
            None
        },
        write: if T::HAS_WRITE {
            Some(Self::write)
        } else {
            None
        },
        poll: Some(Self::poll),
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        // The ioctl argument is a pointer to a layout-stable struct.
        #[cfg(CONFIG_COMPAT)]
        compat_ioctl: if T::HAS_IOCTL {
            bindings::compat_ptr_ioctl
        } else {
            None
        },
        show_fdinfo: if T::HAS_SHOW_FDINFO {
            Some(Self::show_fdinfo)
        } else {
            None
        },
        llseek: Some(bindings::noop_llseek),
        ..pin_init::zeroed()
    };

    /// The file operations, for the misc device and for anonymous files.
    pub(crate) const fn table() -> &'static bindings::file_operations {
        &Self::VTABLE
    }
}

/// A misc device whose opens are [`PollFile`]s.
///
/// # Invariants
///
/// `inner` is registered with `misc_register()` from construction until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct MiscRegistration<T: PollFile> {
    #[pin]
    inner: Opaque<bindings::miscdevice>,
    _t: PhantomData<T>,
}

// SAFETY: `misc_deregister()` may run on any thread.
unsafe impl<T: PollFile> Send for MiscRegistration<T> {}
// SAFETY: no `&self` method mutates anything.
unsafe impl<T: PollFile> Sync for MiscRegistration<T> {}

impl<T: PollFile> MiscRegistration<T> {
    /// Registers `/dev/<name>` with a dynamic minor and the given mode.
    pub(crate) fn register(name: &'static CStr, mode: u16) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            inner <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                let mut misc: bindings::miscdevice = pin_init::zeroed();
                misc.minor = bindings::MISC_DYNAMIC_MINOR as c_int;
                misc.name = name.as_char_ptr();
                misc.fops = FileOps::<T>::table();
                misc.mode = mode;
                // SAFETY: `slot` is valid for writes while the closure runs.
                unsafe { slot.write(misc) };
                // SAFETY: `slot` holds a filled-in miscdevice and is pinned;
                // drop deregisters it before its memory goes away. `name` is static.
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
impl<T: PollFile> PinnedDrop for MiscRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `inner` is registered (type invariant), exactly once deregistered here.
        unsafe { bindings::misc_deregister(self.inner.get()) };
    }
}

/// Makes an anonymous file (`anon_inode:<name>`) whose private data is
/// `data`, with these file operations and eventfd's `FMODE_NOWAIT`, as
/// `eventfd2()` makes its files: `anon_inode_getfile_fmode()`, typed.
///
/// `flags` may hold `O_NONBLOCK`; the file is opened `O_RDWR`. On error,
/// `data` is dropped.
pub(crate) fn anon_inode_file<T: PollFile>(
    name: &'static CStr,
    data: Pin<KBox<T>>,
    flags: u32,
) -> Result<ARef<File>> {
    let private = data.into_foreign();
    let file_flags = bindings::O_RDWR | (flags & bindings::O_NONBLOCK);
    // SAFETY: `name` and the file operations are static; `private` is the
    // file's data from now on (freed by `release`). On success this takes a
    // module reference through `.owner`.
    let file = unsafe {
        anon_inode_getfile_fmode(
            name.as_char_ptr(),
            FileOps::<T>::table(),
            private,
            file_flags as c_int,
            FMODE_NOWAIT,
        )
    };
    match from_err_ptr(file).map(core::ptr::NonNull::new) {
        // SAFETY: `anon_inode_getfile_fmode()` returned a new file with one
        // reference, which the `ARef` now owns.
        Ok(Some(file)) => Ok(unsafe { ARef::<File>::from_raw(file.cast()) }),
        failed => {
            // SAFETY: no file was made, so `private` is still only ours.
            drop(unsafe { <Pin<KBox<T>> as ForeignOwnable>::from_foreign(private) });
            Err(failed.err().unwrap_or(ENOMEM))
        }
    }
}

/// [`anon_inode_file`] installed in a new fd; returns the fd. `flags` may
/// also hold `O_CLOEXEC`, for the fd.
pub(crate) fn install_anon_file<T: PollFile>(
    name: &'static CStr,
    data: Pin<KBox<T>>,
    flags: u32,
) -> Result<u32> {
    let reservation = FileDescriptorReservation::get_unused_fd_flags(flags & bindings::O_CLOEXEC)?;
    let file = anon_inode_file(name, data, flags)?;
    let fd = reservation.reserved_fd();
    reservation.fd_install(file);
    Ok(fd)
}

/// `FMODE_NOWAIT`: in C a `(__force fmode_t)` cast, which bindgen cannot
/// evaluate; `helpers.c` asserts at compile time that this is its value.
/// eventfd's files have it: RWF_NOWAIT, io_uring and aio may then ask a
/// read not to block instead of punting it to a worker thread.
const FMODE_NOWAIT: bindings::fmode_t = 1 << 27;

/// `IOCB_NOWAIT`: in C `(__force int) RWF_NOWAIT`, a cast bindgen cannot
/// evaluate. `RWF_NOWAIT` is uapi (8), and `helpers.c` asserts at build
/// time that `IOCB_NOWAIT` still equals this; read inline, the test costs
/// no call on a sleep or an io_uring first attempt.
const IOCB_NOWAIT: c_int = 8;

/// What a `read_iter` needs from its `kiocb` beyond the kernel crate's
/// `Kiocb` accessors.
pub(crate) trait KiocbExt {
    /// Whether the read must not block: the file is `O_NONBLOCK`, or the
    /// caller set `IOCB_NOWAIT` (`RWF_NOWAIT`, io_uring's first attempt,
    /// aio). Either way, `EAGAIN` instead of a sleep.
    fn nonblocking(&self) -> bool;
}

impl<T: PollFile> KiocbExt for PollKiocb<'_, T> {
    fn nonblocking(&self) -> bool {
        let iocb = self.as_raw();
        // SAFETY: the kiocb is valid while `self` lives (`Kiocb::from_raw`'s
        // contract), and so is its open file `ki_filp`. `ki_flags` is fixed
        // for the call; `f_flags` is read once, volatile, as C's
        // `READ_ONCE()`, since fcntl may change it meanwhile. (Not through
        // a `LocalFile`: another thread may be reading the same file, and
        // this file's reads run without `fdget_pos()`'s lock.)
        unsafe {
            (*iocb).ki_flags & IOCB_NOWAIT != 0
                || core::ptr::read_volatile(&raw const (*(*iocb).ki_filp).f_flags)
                    & bindings::O_NONBLOCK
                    != 0
        }
    }
}

/// What a read needs of its destination beyond the kernel crate's
/// `IovIterDest`: a store that may run under a spinlock, and a fault-in.
pub(crate) trait IovIterDestExt {
    /// Copies `value` (8 bytes, native endian) without sleeping, so it may
    /// run under a spinlock: page faults are disabled, so a destination
    /// page that is not present fails the copy. Returns true, the iterator
    /// advanced past the 8 bytes, or false, with the iterator and every
    /// byte of the destination as they were.
    fn put_u64_nofault(&mut self, value: u64) -> bool;

    /// Faults in the first `len` bytes of the destination for writing,
    /// without writing them (`fault_in_safe_writeable()`), so that a
    /// following [`IovIterDestExt::put_u64_nofault`] can succeed. `EFAULT`
    /// if some of it cannot be mapped writable.
    fn fault_in_writeable(&mut self, len: usize) -> Result;
}

impl IovIterDestExt for IovIterDest<'_> {
    fn put_u64_nofault(&mut self, value: u64) -> bool {
        // SAFETY: `as_raw` is a valid destination iterator for the call; the
        // helper never sleeps, and touches user memory only through the
        // no-fault user access primitives, which check every address.
        unsafe { pollcount_put_u64_nofault(value, self.as_raw()) }
    }

    fn fault_in_writeable(&mut self, len: usize) -> Result {
        // SAFETY: `as_raw` is a valid iterator for the call, which only
        // reads it.
        let missing = unsafe { bindings::fault_in_iov_iter_writeable(self.as_raw(), len) };
        if missing == 0 {
            Ok(())
        } else {
            Err(EFAULT)
        }
    }
}

/// The `u64` at `ptr` in userspace (native endian), as a `write` takes
/// it: one user load where `UserSliceReader::read` calls the general copy,
/// `_copy_from_user()`. `EFAULT` if it cannot be read.
pub(crate) fn get_user_u64(ptr: UserPtr) -> Result<u64> {
    let mut value = 0;
    // SAFETY: `value` is valid for writes; the helper reads `ptr` only
    // through the user access primitives, which check the address and
    // fail on any fault.
    if unsafe { pollcount_get_user_u64(ptr.as_const_ptr().cast(), &mut value) } == 0 {
        Ok(value)
    } else {
        Err(EFAULT)
    }
}

#[kernel::prelude::kunit_tests(pollcount_file_ops)]
mod tests {
    use super::*;
    use kernel::static_lock_class;

    /// A state with no events, for a file that implements no optional hook.
    struct Idle;

    impl PollState for Idle {
        fn poll_events(&self) -> u32 {
            0
        }
    }

    /// A pollable file with only the required items.
    #[pin_data]
    struct Minimal {
        #[pin]
        queue: WaitQueue<Idle>,
    }

    #[vtable]
    impl PollFile for Minimal {
        type State = Idle;

        fn open() -> Result<Pin<KBox<Self>>> {
            KBox::pin_init(
                pin_init!(Self {
                    queue <- WaitQueue::new(Idle, c"pollcount_test", static_lock_class!()),
                }),
                GFP_KERNEL,
            )
        }

        fn wait_queue(&self) -> &WaitQueue<Idle> {
            &self.queue
        }
    }

    #[test]
    fn absent_hooks_are_null_entries() {
        let ops = FileOps::<Minimal>::table();
        assert!(ops.read_iter.is_none());
        assert!(ops.write.is_none());
        assert!(ops.unlocked_ioctl.is_none());
        assert!(ops.show_fdinfo.is_none());
        // What every pollable file has.
        assert!(ops.open.is_some());
        assert!(ops.release.is_some());
        assert!(ops.poll.is_some());
    }

    #[test]
    fn pollcount_fills_every_hook_it_implements() {
        let ops = FileOps::<crate::Pollcount>::table();
        assert!(ops.read_iter.is_some());
        assert!(ops.write.is_some());
        assert!(ops.unlocked_ioctl.is_some());
        assert!(ops.show_fdinfo.is_some());
        assert!(ops.poll.is_some());
    }

    /// `kernel_read()` (9p's `trans=fd` reads a descriptor it is handed
    /// with it) takes the value through `read_iter` into a kernel buffer,
    /// as from an eventfd; `__kernel_read()` refuses a file with both a
    /// `read` and a `read_iter` hook.
    #[test]
    fn kernel_read_takes_the_value() -> Result {
        use crate::counter::{Counter, Mode};

        let counter = Counter::new(Mode::Counter { semaphore: false }, 5).map_err(|_| EINVAL)?;
        let data = crate::Pollcount::new(counter)?;
        let file = anon_inode_file(c"[pollcount]", data, bindings::O_NONBLOCK)?;
        let (mut first, mut second, mut pos) = (0u64, 0u64, 0);
        // SAFETY: `file` is a live file (the `ARef` holds a reference), open
        // for reading; each buffer is valid for 8 bytes of writes and `pos`
        // for one `loff_t`, for the call.
        let (took, empty) = unsafe {
            (
                bindings::kernel_read(file.as_ptr(), (&raw mut first).cast(), 8, &mut pos),
                bindings::kernel_read(file.as_ptr(), (&raw mut second).cast(), 8, &mut pos),
            )
        };
        // A kernel thread's last `fput()` is deferred to a work item; this
        // test's file is released now, so the counter is freed before the
        // test ends (the module counts live counters at unload).
        // SAFETY: the reference is the `ARef`'s, given up here; no lock is
        // held (release may sleep), and the file's release takes no lock a
        // kernel thread could hold.
        unsafe { bindings::__fput_sync(ARef::into_raw(file).as_ptr().cast()) };
        assert_eq!(took, 8);
        assert_eq!(first, 5);
        assert_eq!(empty, EAGAIN.to_errno() as isize);
        assert_eq!(second, 0);
        Ok(())
    }
}
