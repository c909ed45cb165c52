/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kernel_ext's bindings hold beyond the kernel crate's: helpers.h's
 * functions, anon_inode_getfile_fmode(), and constants whose macros are
 * casts bindgen cannot evaluate, as RUST_CONST_HELPER_ entries the way
 * rust/bindings/bindings_helper.h spells them. scripts/kbuild/ext-bindgen
 * generates the bindings with the kernel's own bindgen command.
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
