# SPDX-License-Identifier: GPL-2.0
# Shared settings for the scripts in qemu/. Sourced, not executed.

# Where every build output lives: outside the repository, overridable.
POLLCOUNT_CACHE=${POLLCOUNT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pollcount}

# The one toolchain the kernel is built with. rustup's rustc is usually
# first on PATH and has no rust-src, so every tool is named by full path.
LLVM_DIR=/usr/lib/llvm-22/bin/
KRUSTC=/usr/bin/rustc
KRUSTFMT=/usr/bin/rustfmt
KCLIPPY=/usr/bin/clippy-driver
BINDGEN_VERSION=0.73.2
BINDGEN=$POLLCOUNT_CACHE/tools/bin/bindgen
export LIBCLANG_PATH=/usr/lib/llvm-22/lib

# The kernel: Debian's linux-source-7.3 from trixie-backports.
KERNEL_PKG=linux-source-7.3
KERNEL_SUITE=trixie-backports
KERNEL_MIRROR=${POLLCOUNT_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# Arguments every kernel make needs.
kmake_args() {
	echo "LLVM=$LLVM_DIR RUSTC=$KRUSTC BINDGEN=$BINDGEN RUSTFMT=$KRUSTFMT"
}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'pollcount: error: %s\n' "$*" >&2; exit 1; }
