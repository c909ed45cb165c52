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
    pub(super) fn pollcount_put_user_u64_nofault(value: u64, to: *mut c_void) -> bool;
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

pub(super) use spin_lock_irq::{spin_lock_irq, spin_unlock_irq};

/// `spin_lock_irq()` and `spin_unlock_irq()` where they are calls of the
/// out-of-line `_raw_spin_lock_irq()` and `_raw_spin_unlock_irq()`: not
/// inlined by the architecture (`CONFIG_INLINE_SPIN_*`), and no rt_mutex
/// (`CONFIG_PREEMPT_RT`). Rust calls those itself, as C does: through the
/// helpers each lock and unlock would be two calls and two returns, and
/// under QEMU's TCG every return is a lookup of its target.
#[cfg(not(any(
    CONFIG_INLINE_SPIN_LOCK_IRQ,
    CONFIG_INLINE_SPIN_UNLOCK_IRQ,
    CONFIG_PREEMPT_RT,
    CONFIG_PROVE_LOCKING
)))]
mod spin_lock_irq {
    use kernel::bindings;

    /// `spin_lock_irq()`.
    ///
    /// # Safety
    ///
    /// `lock` is an initialised spinlock, and interrupts are enabled.
    #[inline(always)]
    pub(crate) unsafe fn spin_lock_irq(lock: *mut bindings::spinlock_t) {
        // SAFETY: without PREEMPT_RT a `spinlock_t` is a union whose member
        // `rlock`, the raw spinlock, is at offset 0 (bindgen keeps the
        // struct opaque), so the cast is C's `&lock->rlock`; the rest is
        // the caller's promise.
        unsafe { bindings::_raw_spin_lock_irq(lock.cast()) }
    }

    /// `spin_unlock_irq()`.
    ///
    /// # Safety
    ///
    /// `lock` is held by this thread, taken with [`spin_lock_irq`].
    #[inline(always)]
    pub(crate) unsafe fn spin_unlock_irq(lock: *mut bindings::spinlock_t) {
        // SAFETY: as in `spin_lock_irq`; the lock is held (caller).
        unsafe { bindings::_raw_spin_unlock_irq(lock.cast()) }
    }
}

/// Elsewhere, and with `CONFIG_PROVE_LOCKING` for their lockdep assertion
/// that interrupts are enabled, `helpers.c`'s wrappers.
#[cfg(any(
    CONFIG_INLINE_SPIN_LOCK_IRQ,
    CONFIG_INLINE_SPIN_UNLOCK_IRQ,
    CONFIG_PREEMPT_RT,
    CONFIG_PROVE_LOCKING
))]
mod spin_lock_irq {
    use kernel::bindings;

    extern "C" {
        fn pollcount_spin_lock_irq(lock: *mut bindings::spinlock_t);
        fn pollcount_spin_unlock_irq(lock: *mut bindings::spinlock_t);
    }

    /// `spin_lock_irq()`.
    ///
    /// # Safety
    ///
    /// `lock` is an initialised spinlock, and interrupts are enabled.
    #[inline(always)]
    pub(crate) unsafe fn spin_lock_irq(lock: *mut bindings::spinlock_t) {
        // SAFETY: the caller's promise.
        unsafe { pollcount_spin_lock_irq(lock) }
    }

    /// `spin_unlock_irq()`.
    ///
    /// # Safety
    ///
    /// `lock` is held by this thread, taken with [`spin_lock_irq`].
    #[inline(always)]
    pub(crate) unsafe fn spin_unlock_irq(lock: *mut bindings::spinlock_t) {
        // SAFETY: the caller's promise.
        unsafe { pollcount_spin_unlock_irq(lock) }
    }
}
