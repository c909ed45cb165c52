// SPDX-License-Identifier: GPL-2.0

//! The kernel crate's bindings, and those `scripts/kbuild/ext-bindgen`
//! generates from `bindings_helper.h` (`helpers.h` without `pollcount_`).

pub(crate) use kernel::bindings::*;

include!(env!("POLLCOUNT_KEXT_BINDINGS"));
