# SPDX-License-Identifier: GPL-2.0
#
# pollcount: the developer's entry points. See README.md.
#
#   make run        provision, build kernel + module + programs, boot, run the demo
#   make check      everything `run` needs, then KUnit + selftests in the VM + lints
#   make shell      boot to a shell with the module loaded
#   make debug      the VM with QEMU's gdb stub; `make gdb` attaches gdb to it
#   make trace      epoll's path through pollcount, as ftrace call graphs
#   make tour       a guided tour of epoll on pollcount, step by step, from
#                   real runs in the VM (make tour-docs: Documentation/tour.md)
#   make bench      pollcount vs eventfd and a pipe on the bench kernel: ratios, CSV, chart,
#                   in guest instructions (exact), then in time (BENCH_CLOCK= for one)
#   make fuzz       the differential fuzzer against eventfd (DURATION=, SEED=)
#   make mutants    mutation testing: the suite must kill every mutant
#   make upstream-check  the patch series in patches/ (the wait queue and poll
#                   API pollcount builds on): checkpatch, apply to 7.3, build,
#                   rustfmt, clippy, pollcount on it, boot and test
#   make lint       rustfmt, clippy, unsafe rules, tests of the host tools
#   make KDIR=...   use your own Rust-enabled kernel build instead of ours
#   make ... ARCH=arm64  the same on arm64, in qemu-system-aarch64 (build/arm64/)
#
# The kernel's own build (Kbuild) reads ./Kbuild, not this file.

TOP        := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
OUT        := $(TOP)/build

# The target architecture, as the kernel spells it: x86_64 (the host's) or
# arm64, cross-built and booted in qemu-system-aarch64. Given on the command
# line, ARCH reaches every script and sub-make (make exports it).
ARCH ?= x86_64
ifneq ($(filter arm64 aarch64,$(ARCH)),)
POLLCOUNT_ARCH := arm64
KBUILD_ARCH    := arm64
# Each architecture has its own outputs: build/ for x86_64, build/arm64/.
AOUT           := $(OUT)/arm64
else ifneq ($(filter x86_64 x86 amd64,$(ARCH)),)
POLLCOUNT_ARCH := x86_64
KBUILD_ARCH    := x86
AOUT           := $(OUT)
else
$(error ARCH=$(ARCH): pollcount runs on x86_64 and arm64)
endif
# Which of our kernels (qemu/kernel-FLAVOUR.config): `check`, with lockdep,
# KASAN, kmemleak, UBSAN and fault injection, for everything but `bench`,
# which builds and boots the production-like `bench` kernel. Each flavour
# has its own module build: build/ for check, build/bench/ for bench.
FLAVOUR    ?= check
FOUT       := $(if $(filter check,$(FLAVOUR)),$(AOUT),$(AOUT)/$(FLAVOUR))
MODULE_OUT := $(FOUT)/module
CLIPPY_OUT := $(AOUT)/clippy
BIN        := $(AOUT)/bin
KO         := $(MODULE_OUT)/rust/pollcount.ko

# The toolchain for our managed kernel. Named by full path: rustup's rustc,
# usually first on PATH, cannot build the kernel.
LLVM_DIR  := /usr/lib/llvm-22/bin/
CACHE     ?= $(or $(POLLCOUNT_CACHE),$(HOME)/.cache/pollcount)
export POLLCOUNT_CACHE := $(CACHE)
export LIBCLANG_PATH   := /usr/lib/llvm-22/lib

ifeq ($(KDIR),)
# Managed mode: our kernel, built and cached by qemu/kernel.
KMAKE_ARGS := ARCH=$(KBUILD_ARCH) LLVM=$(LLVM_DIR) RUSTC=/usr/bin/rustc RUSTFMT=/usr/bin/rustfmt \
	      BINDGEN=$(CACHE)/tools/bin/bindgen
CLIPPY_DRIVER := /usr/bin/clippy-driver
RUSTFMT       := /usr/bin/rustfmt
else
# Your kernel: pass the same LLVM=/RUSTC= you built it with.
KMAKE_ARGS :=
CLIPPY_DRIVER ?= clippy-driver
RUSTFMT       ?= rustfmt
endif

# The kernel build directory, as resolved by the `kdir` step.
KDIR_NOW = $$(cat $(FOUT)/kdir)
KSRC_NOW = $$(cat $(FOUT)/ksrc)

# The guest's C programs, static. On x86_64 the host's gcc. On arm64
# clang-22 (the kernel's compiler) with Debian's cross libc, as the
# kselftests build with LLVM= (Debian's cross gcc conflicts with the
# gcc-multilib the i386 tests need); liburing and busybox come from
# Debian's arm64 packages, unpacked by qemu/provision into ARCH_SYSROOT.
ifeq ($(POLLCOUNT_ARCH),arm64)
ARCH_SYSROOT := $(CACHE)/sysroot/arm64
CC_USER      ?= $(LLVM_DIR)clang --target=aarch64-linux-gnu -fuse-ld=lld
URING_FLAGS  := -I$(ARCH_SYSROOT)/usr/include -L$(ARCH_SYSROOT)/usr/lib/aarch64-linux-gnu
SELFTEST_ARGS := LLVM=$(LLVM_DIR) URING_FLAGS="$(URING_FLAGS)"
else
CC_USER      ?= gcc
URING_FLAGS  :=
SELFTEST_ARGS :=
endif
USER_CFLAGS := -O2 -g -static -Wall -Wextra -Werror -pthread -I$(TOP)/include/uapi

SAMPLES   := $(patsubst samples/%.c,$(BIN)/%,$(wildcard samples/*.c))
RUST_SRCS := $(wildcard rust/*.rs rust/*/*.rs)

VM_TIMEOUT ?= 900
RUN_ARGS   ?=

.PHONY: all provision kernel kdir module userspace samples selftests preload run shell vng check \
	lint rustfmt clippy unsafe tools rust-analyzer clean distclean help debug gdb trace tour tour-docs bench bench-vm fuzz mutants \
	upstream-check

all: module userspace

help:
	@sed -n '3,22p' $(TOP)/Makefile | sed 's/^# \{0,1\}//'

provision:
	@$(TOP)/qemu/provision

# Resolve the kernel to build against into build/kdir (and its source tree
# into build/ksrc): ours, provisioned and built when missing or stale, or
# the user's KDIR, checked for Rust support.
kdir:
	@mkdir -p $(FOUT)
ifeq ($(KDIR),)
	@$(TOP)/qemu/provision
	@$(TOP)/qemu/kernel $(FLAVOUR) >$(FOUT)/kdir.new && mv $(FOUT)/kdir.new $(FOUT)/kdir
else
	@$(TOP)/qemu/check-kdir "$(KDIR)" >$(FOUT)/kdir.new && mv $(FOUT)/kdir.new $(FOUT)/kdir
endif
	@d=$$(cat $(FOUT)/kdir); if [ -e "$$d/source" ]; then readlink -f "$$d/source"; else echo "$$d"; fi >$(FOUT)/ksrc

kernel: kdir

module: kdir
	@mkdir -p $(MODULE_OUT)
	@$(MAKE) -s -C $(KDIR_NOW) M=$(TOP) MO=$(MODULE_OUT) $(KMAKE_ARGS) modules
	@echo "  module: $(KO)"

userspace: samples selftests preload

samples: $(SAMPLES)

# libpollcount-eventfd.so: eventfd() made into pollcount counters for any
# dynamically linked program (LD_PRELOAD), and its test, dynamic too; both
# run in the virtme-ng VM on the host's userspace (make vng, make check).
PRELOAD_LIB  := $(AOUT)/lib/libpollcount-eventfd.so
PRELOAD_TEST := $(AOUT)/lib/pollcount_preload_test
PRELOAD_CFLAGS := -O2 -g -Wall -Wextra -Werror
preload: kdir
	@$(MAKE) -s $(PRELOAD_LIB) $(PRELOAD_TEST) PRELOAD_KSRC=$(KSRC_NOW)

$(PRELOAD_LIB): preload/pollcount-eventfd.c include/uapi/pollcount.h
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC_USER) $(PRELOAD_CFLAGS) -fPIC -shared -Wl,-soname,libpollcount-eventfd.so -o $@ $< -ldl

$(PRELOAD_TEST): preload/pollcount_preload_test.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC_USER) -O2 -g -Wall -Werror -I$(PRELOAD_KSRC)/tools/testing/selftests -o $@ $< -ldl

# The benchmark reads through io_uring (liburing, from the provisioning).
$(BIN)/pollcount-bench: SAMPLE_LIBS = $(URING_FLAGS) -luring

$(BIN)/%: samples/%.c include/uapi/pollcount.h $(wildcard samples/*.h)
	@mkdir -p $(BIN)
	@echo "  CC      $@"
	@$(CC_USER) $(USER_CFLAGS) -o $@ $< $(SAMPLE_LIBS) -lpthread

selftests: kdir
	@mkdir -p $(AOUT)/selftests/bin
	@$(MAKE) -s -C selftests KSRC=$(KSRC_NOW) OUTPUT=$(AOUT)/selftests/bin $(SELFTEST_ARGS)

# --- the VM ----------------------------------------------------------------
GUEST_FILES = $(addprefix --add ,$(SAMPLES)) --add $(AOUT)/selftests/bin:/selftests \
	--add $(TOP)/scripts/verdict/guest-check:/bin/pollcount-check \
	--add $(TOP)/scripts/trace/guest-trace:/bin/pollcount-trace

run: all
	@$(TOP)/qemu/run --kernel $(KDIR_NOW) --module $(KO) --timeout $(VM_TIMEOUT) \
		$(GUEST_FILES) $(RUN_ARGS) -- pollcount-demo

shell: all
	@$(TOP)/qemu/run --kernel $(KDIR_NOW) --module $(KO) --shell $(GUEST_FILES) $(RUN_ARGS)

# `make vng`: the check kernel under virtme-ng with the host's own userspace
# (qemu/vng): a shell, or VNG_CMD; the preload library is in build/lib/.
# VNG_GDB=1: QEMU's gdb stub on GDB_PORT, for `make gdb`.
VNG_CMD ?=
VNG_GDB ?= 0
vng: all
	@GDB_PORT=$(GDB_PORT) $(TOP)/qemu/vng --kernel $(KDIR_NOW) --module $(KO) --timeout $(VM_TIMEOUT) \
		$(if $(filter 1,$(VNG_GDB)),--gdb) $(if $(VNG_CMD),-- $(VNG_CMD),--shell)

# `make check`: build, lint, boot, run KUnit (at module load) and every
# selftest in the VM, then judge the KTAP and the console on the host.
# The build is timed as the first stage (scripts/verdict/check prints every stage's time).
check:
	@t0=$$(date +%s); $(MAKE) -s all || exit 1; \
	$(TOP)/scripts/verdict/check --build-seconds $$(( $$(date +%s) - t0 )) \
		--kernel $(KDIR_NOW) --ksrc $(KSRC_NOW) --module $(KO) \
		--make "$(MAKE) -s" --lints "$(LINTS)" --timeout $(VM_TIMEOUT) $(CHECK_ARGS) \
		-- $(GUEST_FILES) $(RUN_ARGS)

# `make bench`: pollcount side by side with eventfd and a pipe, on the bench
# kernel (BENCH_KERNEL=check: on the check kernel), BENCH_ROUNDS rounds;
# prints each column's ratio to eventfd and writes bench.csv and bench.svg
# (samples/pollcount-bench.c, scripts/bench/chart). Two clocks, in this
# order: instructions, the judge (qemu/run --icount: the VM's clock counts
# guest instructions, so each figure is exact and repeats from run to run;
# in build/bench/instructions/), then time (in build/bench/), which means
# something only under KVM: under TCG it is the emulator's. BENCH_CLOCK=
# instructions or time runs one of them.
BENCH_KERNEL     ?= bench
BENCH_CLOCK      ?= both
BENCH_ROUNDS     ?= 7
BENCH_ITERATIONS ?= 40000
BENCH_CHANNELS   ?= 10000
ifeq ($(BENCH_CLOCK),instructions)
BENCH_OUT        := $(AOUT)/bench/instructions
BENCH_VM_ARGS    := --icount
BENCH_ARGS       := -i
else ifeq ($(BENCH_CLOCK),time)
BENCH_OUT        := $(AOUT)/bench
else ifneq ($(BENCH_CLOCK),both)
$(error BENCH_CLOCK=$(BENCH_CLOCK): both, instructions or time)
endif
bench:
ifeq ($(BENCH_CLOCK),both)
	@$(MAKE) -s $(if $(KDIR),,FLAVOUR=$(BENCH_KERNEL)) BENCH_CLOCK=instructions bench-vm
	@$(MAKE) -s $(if $(KDIR),,FLAVOUR=$(BENCH_KERNEL)) BENCH_CLOCK=time bench-vm
else
	@$(MAKE) -s $(if $(KDIR),,FLAVOUR=$(BENCH_KERNEL)) bench-vm
endif

bench-vm: all
	@[ -n "$(BENCH_OUT)" ] || { echo "bench-vm: BENCH_CLOCK=instructions or time (make bench runs both)" >&2; exit 2; }
	@mkdir -p $(BENCH_OUT)
	@echo "  bench: kernel $(KDIR_NOW) ($(if $(KDIR),yours,$(FLAVOUR) flavour)), $(BENCH_ROUNDS) rounds of $(BENCH_ITERATIONS), clock: $(BENCH_CLOCK)"
	@$(TOP)/qemu/run --kernel $(KDIR_NOW) --module $(KO) $(GUEST_FILES) --timeout $(VM_TIMEOUT) \
		--log $(BENCH_OUT)/console.log --results $(BENCH_OUT)/results.log \
		--accel-file $(BENCH_OUT)/accel $(BENCH_VM_ARGS) $(RUN_ARGS) -- \
		pollcount-bench -r $(BENCH_ROUNDS) -n $(BENCH_ITERATIONS) -m $(BENCH_CHANNELS) $(BENCH_ARGS) -o /dev/ttyS1 | \
		tr -d '\r' | sed -n '/^pollcount-bench:/,/^scale [0-9]*\/1 idle/p' | tee $(BENCH_OUT)/table.txt
	@case "$(BENCH_CLOCK):$$(cat $(BENCH_OUT)/accel)" in \
	instructions:*) echo "  bench: guest instructions (TCG -icount): exact and repeatable; this is the table to judge by" ;; \
	*:kvm) echo "  bench: time under KVM, on this machine's CPU" ;; \
	*) echo "  bench: time under TCG, QEMU's emulation: it says nothing about a real CPU; judge by the instruction table" ;; \
	esac
	@{ echo '# SPDX-License-Identifier: GPL-2.0'; tr -d '\r' <$(BENCH_OUT)/results.log; } >$(BENCH_OUT)/bench.csv
	@$(TOP)/scripts/bench/chart $(BENCH_OUT)/bench.csv $(BENCH_OUT)/bench.svg \
		"$$(head -1 $(BENCH_OUT)/table.txt | sed 's/^pollcount-bench: //; s/ #.*,/,/')$$([ "$(BENCH_CLOCK)" = time ] && echo ", $$(cat $(BENCH_OUT)/accel | tr a-z A-Z)")"
	@echo "  bench: $(BENCH_OUT)/bench.csv, $(BENCH_OUT)/bench.svg"

# `make fuzz`: the differential fuzzer (selftests/pollcount_fuzz_test.c)
# alone, for DURATION seconds, from SEED (default: from the clock). make
# check runs it for 60 s.
DURATION ?= 600
SEED      ?=
fuzz: all
	@$(TOP)/qemu/run --kernel $(KDIR_NOW) --module $(KO) $(GUEST_FILES) \
		--timeout $$(( $(DURATION) + 600 )) --log $(AOUT)/fuzz.log $(RUN_ARGS) -- \
		env POLLCOUNT_FUZZ_SECONDS=$(DURATION) POLLCOUNT_FUZZ_OPS=1000000000000 \
		POLLCOUNT_FUZZ_SEED=$(SEED) /selftests/pollcount_fuzz_test | sed -n '/^TAP version/,/^# Totals/p'

# `make mutants`: every mutation of mutants/list must be killed by the
# suite (MUTANTS="NAME ..." for some). Hours, not part of CI; the last
# score is in Documentation/testing.md.
MUTANTS ?=
mutants: kdir
	@$(TOP)/mutants/run $(MUTANTS)

# `make upstream-check`: the series in patches/ (PollFlags, WaitQueue and
# PollTable::register_queue in kernel::sync::poll, MiscDevice::poll),
# proven against the 7.3 tree: checkpatch --strict, applied to a copy of
# the source, the kernel and the Rust misc device sample built in-tree (the
# `upstream` flavour, cached like the others), rustfmt and clippy on the
# touched files, pollcount built on the series' API, and a boot that runs
# the series' KUnit tests, pollcount's suites and the sample's poll test.
# See patches/upstream-check and Documentation/upstream.md.
UPSTREAM_TEST := $(AOUT)/upstream/rust_misc_device_poll_test
upstream-check: provision
	@$(MAKE) -s $(UPSTREAM_TEST) selftests
	@$(TOP)/patches/upstream-check --test $(UPSTREAM_TEST) --selftests $(AOUT)/selftests/bin \
		--kmake "$(KMAKE_ARGS)" --timeout $(VM_TIMEOUT)

# The sample's poll test: kselftest_harness.h from the 7.3 source, liburing.
$(UPSTREAM_TEST): patches/rust_misc_device_poll_test.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC_USER) $(USER_CFLAGS) -I$(CACHE)/src/linux/tools/testing/selftests -o $@ $< \
		$(URING_FLAGS) -luring -lpthread

# --- watching the kernel: gdb and ftrace --------------------------------------
# `make debug`: the VM with QEMU's gdb stub, halted until gdb continues it
# (GDB_WAIT=0: not halted), a shell inside (or DEBUG_CMD=...).
# `make gdb`, in another terminal: gdb attached, kernel gdb scripts and
# pollcount's symbols loaded. See Documentation/gdb.md.
GDB_WAIT  ?= 1
GDB_PORT  ?= 1234
DEBUG_CMD ?=
GDB_ARGS  ?=

debug: all
	@$(TOP)/qemu/run --kernel $(KDIR_NOW) --module $(KO) $(GUEST_FILES) \
		$(if $(filter 1,$(GDB_WAIT)),--gdb-wait,--gdb) --gdb-port $(GDB_PORT) $(RUN_ARGS) \
		$(if $(DEBUG_CMD),--timeout $(VM_TIMEOUT) -- $(DEBUG_CMD),--shell)

gdb: kdir
	@$(TOP)/scripts/gdb/gdb --kernel $(KDIR_NOW) --module $(KO) --port $(GDB_PORT) -- $(GDB_ARGS)

# `make tour`: the demo, epoll's path in gdb, the epoll set's states drawn
# at each step, the ftrace call graphs and a counter's waiters, from four
# VMs booted for it (scripts/tour/tour); it pauses between steps when run
# from a terminal. `make tour-docs` writes the same as Documentation/tour.md
# and rewrites the other docs' transcripts, only from a run that passed.
TOUR_ARGS = --kernel $(KDIR_NOW) --module $(KO) --bin $(BIN) --out $(AOUT)/tour
tour: all
	@$(TOP)/scripts/tour/tour $(TOUR_ARGS)

tour-docs: all
	@$(TOP)/scripts/tour/tour $(TOUR_ARGS) --no-pause --markdown $(TOP)/Documentation/tour.md

# `make trace`: one epoll_ctl(ADD), write and epoll_wait under the
# function_graph tracer, level- and edge-triggered and with a thread already
# asleep in epoll_wait(), rendered as call graphs.
trace: all
	@command -v dot >/dev/null || { echo "make trace: graphviz's dot is missing, so the call graphs" \
		"cannot be drawn: run make provision (it installs graphviz)" >&2; exit 1; }
	@mkdir -p $(AOUT)/trace
	@echo "  tracing pollcount-epoll-path in the VM (log: $(AOUT)/trace/console.log)"
	@$(TOP)/qemu/run --kernel $(KDIR_NOW) --module $(KO) $(GUEST_FILES) --timeout $(VM_TIMEOUT) \
		--log $(AOUT)/trace/console.log --results $(AOUT)/trace/results.log $(RUN_ARGS) \
		-- pollcount-trace >/dev/null
	@$(TOP)/scripts/trace/epoll-trace --ktap --diagrams $(AOUT)/trace $(AOUT)/trace/console.log

# --- lints -------------------------------------------------------------------
# Each is a target of its own; `make check` runs and counts them one by one.
LINTS := rustfmt clippy unsafe tools
lint: $(LINTS)

# The host tools that judge `make check` have tests of their own.
tools:
	@out=$$(python3 $(TOP)/scripts/verdict/test-tools 2>&1); rc=$$?; \
		if [ $$rc = 0 ]; then echo "  tools: $$(echo "$$out" | tail -1)"; \
		else echo "$$out"; exit 1; fi

# `unsafe` only in rust/kernel_ext/, each with its SAFETY comment or Safety section.
unsafe:
	@$(TOP)/scripts/lint/unsafe

rustfmt: kdir
	@$(RUSTFMT) --check --edition 2021 --config-path $(KSRC_NOW)/.rustfmt.toml $(RUST_SRCS) \
		&& echo "  rustfmt: clean"

# Clippy builds into its own output tree, so it never forces a rebuild of
# the real module (and vice versa). -Dwarnings (Kbuild) makes any lint fatal.
clippy: kdir
	@mkdir -p $(CLIPPY_OUT)
	@$(MAKE) -s -C $(KDIR_NOW) M=$(TOP) MO=$(CLIPPY_OUT) $(KMAKE_ARGS) \
		CLIPPY=1 CLIPPY_DRIVER=$(CLIPPY_DRIVER) modules && echo "  clippy: clean"

rust-analyzer: kdir
	@$(MAKE) -s -C $(KDIR_NOW) M=$(TOP) $(KMAKE_ARGS) rust-analyzer
	@echo "  wrote $(TOP)/rust-project.json"

clean:
	rm -rf $(OUT) rust-project.json

# Also forget the cached kernel builds (not the downloaded source or tools).
distclean: clean
	rm -rf $(CACHE)/build
