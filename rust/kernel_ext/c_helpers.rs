// SPDX-License-Identifier: GPL-2.0

//! The C helpers of `helpers.c` (inline functions and macros that bindgen
//! cannot reach), declared for the rest of `kernel_ext`. Each is documented
//! where it is defined; the types are those of `helpers.h`.

use kernel::{
    bindings,
    ffi::{c_char, c_int, c_void},
};

// `struct file` embeds an empty struct, so rustc cannot prove it FFI-safe;
// that is harmless for pointers, and the kernel crate's own bindings allow
// the same lint.
#[allow(improper_ctypes)]
extern "C" {
    pub(super) fn pollcount_spin_lock_irq(lock: *mut bindings::spinlock_t);
    pub(super) fn pollcount_spin_unlock_irq(lock: *mut bindings::spinlock_t);
    pub(super) fn pollcount_copy_to_iter_nofault(
        from: *const c_void,
        bytes: usize,
        iter: *mut bindings::iov_iter,
    ) -> bool;
    pub(super) fn pollcount_kiocb_nowait(iocb: *const bindings::kiocb) -> bool;
    pub(super) fn pollcount_file_mode_like_eventfd(file: *mut bindings::file);
    pub(super) fn pollcount_anon_inode_getfile(
        name: *const c_char,
        fops: *const bindings::file_operations,
        private: *mut c_void,
        flags: c_int,
    ) -> *mut bindings::file;
}
