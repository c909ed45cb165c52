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
VNG_VERSION=1.42
BINDGEN=$POLLCOUNT_CACHE/tools/bin/bindgen
export LIBCLANG_PATH=/usr/lib/llvm-22/lib

# The kernel: Debian's linux-source-7.3 from trixie-backports.
KERNEL_PKG=linux-source-7.3
KERNEL_SUITE=trixie-backports
KERNEL_MIRROR=${POLLCOUNT_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# A TCP port on localhost that nothing listens on (for a gdb stub).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'pollcount: error: %s\n' "$*" >&2; exit 1; }

# The target architecture: ARCH= (make's command line exports it), as the
# kernel spells it. Everything arch-specific the scripts need is here.
case ${ARCH:-x86_64} in
x86_64|x86|amd64)
	POLLCOUNT_ARCH=x86_64
	KBUILD_ARCH=x86
	QEMU_SYSTEM=qemu-system-x86_64
	KERNEL_IMAGE=arch/x86/boot/bzImage
	GUEST_CONSOLE=ttyS0
	GDB=gdb
	;;
arm64|aarch64)
	POLLCOUNT_ARCH=arm64
	KBUILD_ARCH=arm64
	QEMU_SYSTEM=qemu-system-aarch64
	KERNEL_IMAGE=arch/arm64/boot/Image
	GUEST_CONSOLE=ttyAMA0
	GDB=gdb-multiarch
	;;
*) die "ARCH=$ARCH: pollcount runs on x86_64 and arm64" ;;
esac
# The architecture's outputs in the working tree: build/ for x86_64,
# build/arm64/ for arm64 (as the Makefile's AOUT).
ARCH_OUT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build
[ "$POLLCOUNT_ARCH" = x86_64 ] || ARCH_OUT=$ARCH_OUT/$POLLCOUNT_ARCH
# Programs for the guest that Debian's host packages cannot give (busybox,
# liburing for arm64): unpacked from Debian's packages of that architecture.
ARCH_SYSROOT=$POLLCOUNT_CACHE/sysroot/$POLLCOUNT_ARCH

# Arguments every kernel make needs. ARCH as Kbuild's own default spells it
# on x86_64 (x86), so that an ARCH=x86_64 in the environment changes
# nothing; LLVM's clang and lld cross-compile without CROSS_COMPILE.
kmake_args() {
	echo "ARCH=$KBUILD_ARCH LLVM=$LLVM_DIR RUSTC=$KRUSTC BINDGEN=$BINDGEN RUSTFMT=$KRUSTFMT"
}
