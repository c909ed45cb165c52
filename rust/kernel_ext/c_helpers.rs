// SPDX-License-Identifier: GPL-2.0

//! The C helpers of `helpers.c` (inline functions and macros that bindgen
//! cannot reach), declared for the rest of `kernel_ext`. Each is documented
//! where it is defined; the types are those of `helpers.h`. One kernel
//! function the kernel crate's bindings leave out is declared here too.

use kernel::{
    bindings,
    ffi::{c_char, c_int, c_void},
};

// `struct file` embeds an empty struct, so rustc cannot prove it FFI-safe;
// that is harmless for pointers, and the kernel crate's own bindings allow
// the same lint.
#[allow(improper_ctypes)]
extern "C" {
    pub(super) fn pollcount_get_user_u64(from: *const c_void, value: *mut u64) -> c_int;
    pub(super) fn pollcount_put_u64_nofault(value: u64, iter: *mut bindings::iov_iter) -> bool;
    /// `spin_lock_irq()`, an inline function or a macro, whichever the
    /// configuration makes it (UP, `PREEMPT_RT`, lockdep).
    ///
    /// # Safety
    ///
    /// `lock` is an initialised spinlock that this thread does not hold,
    /// and the caller runs in process context with interrupts enabled.
    pub(super) fn pollcount_spin_lock_irq(lock: *mut bindings::spinlock_t);
    /// `spin_unlock_irq()`, as [`pollcount_spin_lock_irq`].
    ///
    /// # Safety
    ///
    /// `lock` is held by this thread, taken with [`pollcount_spin_lock_irq`].
    pub(super) fn pollcount_spin_unlock_irq(lock: *mut bindings::spinlock_t);
    pub(super) fn pollcount_file_mode_like_eventfd(file: *mut bindings::file);
    /// `anon_inode_getfile_fmode()` of `<linux/anon_inodes.h>`, which the
    /// kernel crate's bindings leave out. Nothing can compare this
    /// declaration with C's; `helpers.c` asserts that C's prototype is
    /// still the one written here, so a change there fails the build.
    pub(super) fn anon_inode_getfile_fmode(
        name: *const c_char,
        fops: *const bindings::file_operations,
        private: *mut c_void,
        flags: c_int,
        f_mode: bindings::fmode_t,
    ) -> *mut bindings::file;
}
