/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kernel_ext's bindings beyond the kernel crate's (scripts/kbuild/ext-bindgen):
 * helpers.h, anon_inode_getfile_fmode(), and constants whose macros are casts
 * bindgen cannot evaluate, spelled as in rust/bindings/bindings_helper.h.
 */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include "helpers.h"

const fmode_t RUST_CONST_HELPER_FMODE_NOWAIT = FMODE_NOWAIT;
const fmode_t RUST_CONST_HELPER_FMODE_PREAD = FMODE_PREAD;
const fmode_t RUST_CONST_HELPER_FMODE_PWRITE = FMODE_PWRITE;
const int RUST_CONST_HELPER_IOCB_NOWAIT = IOCB_NOWAIT;

/* For poll.rs's PollFlags. */
const __poll_t RUST_CONST_HELPER_EPOLLIN = EPOLLIN;
const __poll_t RUST_CONST_HELPER_EPOLLOUT = EPOLLOUT;
const __poll_t RUST_CONST_HELPER_EPOLLERR = EPOLLERR;
const __poll_t RUST_CONST_HELPER_EPOLLRDNORM = EPOLLRDNORM;
const __poll_t RUST_CONST_HELPER_EPOLLWRNORM = EPOLLWRNORM;
