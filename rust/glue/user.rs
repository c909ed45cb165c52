// SPDX-License-Identifier: GPL-2.0

//! Copies to userspace that are allowed while a spinlock is held.
//!
//! `UserSliceWriter::write` may fault pages in, so it may sleep: never under
//! a spinlock. `copy_to_user_nofault()` disables page faults instead and
//! fails where it would have had to fault, which lets a read deliver its
//! value and take it from the counter in one critical section, and fall
//! back to the sleeping path only when the buffer's page is not present.

use kernel::{bindings, prelude::*, uaccess::UserPtr};

/// Writes `value` to the user address `dst` without sleeping. Fails with
/// `EFAULT` for a bad address and also for a good one whose page is not
/// present; the caller then retries with a copy that may fault.
pub(crate) fn write_u64_nofault(dst: UserPtr, value: u64) -> Result {
    // SAFETY: `copy_to_user_nofault()` checks `dst` with `access_ok()` and
    // copies with page faults disabled, so any user address is fine and the
    // call never sleeps; the source is the 8 bytes of `value`, on our stack.
    let ret = unsafe {
        bindings::copy_to_user_nofault(
            dst.as_mut_ptr(),
            core::ptr::from_ref(&value).cast(),
            core::mem::size_of::<u64>(),
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(EFAULT)
    }
}
