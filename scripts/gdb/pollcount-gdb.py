# SPDX-License-Identifier: GPL-2.0
"""gdb helpers for pollcount, loaded by `make gdb` (scripts/gdb/gdb).

Rust symbols are mangled (v0: `_RNvMNtNtCs..._14pollcount_main10kernel_ext...`);
gdb shows them demangled, but typing generic names such as
`<pollcount_main::kernel_ext::file_ops::FileOps<pollcount_main::Pollcount>>::poll`
is tedious. These commands find a function of the module by a fragment of
its demangled name, from the module file's symbol table, so they work
before the module is loaded (the breakpoint stays pending until
`lx-symbols` loads the module's symbols):

  pollcount-symbols DIR            lx-symbols DIR now, or, if the kernel is
                                   not up yet (attached at the reset vector),
                                   as soon as a module loads
  pollcount-functions [FRAGMENT]   list the module's functions, demangled
  pollcount-break FRAGMENT         break on the one function matching it
                                   (e.g. `pollcount-break FileOps<pollcount_main::Pollcount>>::poll`,
                                   or just `pollcount-break >::poll`)

The module file is $POLLCOUNT_KO (scripts/gdb/gdb sets it). Who waits on
a pollcount file: `pollcount-waiters`, in pollcount-waiters.py.
"""

import os
import subprocess

import gdb

LLVM = "/usr/lib/llvm-22/bin/"


def module_functions():
    """(mangled, demangled) for every function in the module file."""
    ko = os.environ.get("POLLCOUNT_KO", "")
    if not os.path.exists(ko):
        raise gdb.GdbError(f"no module file at POLLCOUNT_KO={ko!r}")
    nm = subprocess.run([LLVM + "llvm-nm", "--defined-only", ko],
                        capture_output=True, text=True, check=True).stdout
    names = [f[2] for f in (l.split() for l in nm.splitlines())
             if len(f) == 3 and f[1] in "tT"]
    demangled = subprocess.run([LLVM + "llvm-cxxfilt"] + names,
                               capture_output=True, text=True, check=True).stdout.splitlines()
    return list(zip(names, demangled))


def find(fragment):
    hits = [(m, d) for m, d in module_functions() if fragment in d]
    exact = [(m, d) for m, d in hits if d.endswith(fragment)]
    return exact if len(exact) == 1 else hits


class PollcountFunctions(gdb.Command):
    """List pollcount.ko's functions: pollcount-functions [FRAGMENT]."""

    def __init__(self):
        super().__init__("pollcount-functions", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        for mangled, demangled in module_functions():
            if arg.strip() in demangled:
                gdb.write(f"{demangled}\n    {mangled}\n")


class PollcountBreak(gdb.Command):
    """Break on the pollcount.ko function whose demangled name contains FRAGMENT."""

    def __init__(self):
        super().__init__("pollcount-break", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        fragment = arg.strip()
        hits = find(fragment)
        if len(hits) != 1:
            listing = "\n".join(f"  {d}" for _, d in hits[:20]) or "  (none)"
            raise gdb.GdbError(f"{len(hits)} functions match {fragment!r}:\n{listing}")
        mangled, demangled = hits[0]
        gdb.write(f"breakpoint on {demangled}\n")
        gdb.execute(f"break '{mangled}'")


class LoadSymbolsOnModuleLoad(gdb.Breakpoint):
    """One-shot: runs lx-symbols when do_init_module is first reached."""

    def __init__(self, directory):
        super().__init__("do_init_module", internal=True)
        self.directory = directory

    def stop(self):
        # lx-symbols installs its own do_init_module breakpoint for later loads.
        gdb.execute(f"lx-symbols {self.directory}")
        gdb.post_event(self.delete)
        return False


class PollcountSymbols(gdb.Command):
    """Load module symbols with lx-symbols DIR, now or at the first module load."""

    def __init__(self):
        super().__init__("pollcount-symbols", gdb.COMMAND_FILES)

    def invoke(self, arg, from_tty):
        try:
            running = int(gdb.parse_and_eval("system_state")) != 0
        except gdb.error:
            running = False
        if running:
            gdb.execute(f"lx-symbols {arg}")
        else:
            gdb.write("kernel not booted yet: pollcount's symbols load with the module\n")
            LoadSymbolsOnModuleLoad(arg)


def _make_module_loading_robust():
    """lx-symbols reloads symbols at each module load from a breakpoint on
    do_init_module that reads its argument `mod`; in this kernel (clang,
    -O2) `mod` is optimised out there, so the breakpoint raised, stopping
    the VM for nothing. Fall back to rescanning the module list, which
    already holds the module being loaded."""
    try:
        import linux.symbols as lx_symbols   # pylint: disable=import-outside-toplevel
    except ImportError:
        return
    original = lx_symbols.LoadModuleBreakpoint.stop

    def stop(self):
        try:
            return original(self)
        except gdb.error:
            self.gdb_command.module_files_updated = False
            gdb.execute("set pagination off")
            self.gdb_command.load_all_symbols()
            return False

    lx_symbols.LoadModuleBreakpoint.stop = stop


def _make_lx_current_robust():
    """$lx_current() (linux.cpus.get_current_task) parses `&current_task`
    and `__per_cpu_offset[N]` in the selected frame's language and scope:
    in a frame of the module (Rust) that fails, or finds the module's own
    declaration of `current_task`, so scripts reading the current task
    there got an error or another task. Look both up as the kernel's
    global symbols instead (x86; other architectures keep the original)."""
    try:
        from linux import cpus, utils   # pylint: disable=import-outside-toplevel
    except ImportError:
        return
    original = cpus.get_current_task

    def get_current_task(cpu):
        var = gdb.lookup_global_symbol("current_task")
        offsets = gdb.lookup_global_symbol("__per_cpu_offset")
        if var is None or offsets is None or not utils.is_target_arch("x86"):
            return original(cpu)
        if cpu == -1:
            cpu = cpus.get_current_cpu()
        ulong = gdb.lookup_type("unsigned long")
        addr = (int(var.value().address.cast(ulong)) + int(offsets.value()[cpu].cast(ulong))) % (1 << 64)
        return gdb.Value(addr).cast(var.type.pointer()).dereference().dereference()

    cpus.get_current_task = get_current_task


_make_module_loading_robust()
_make_lx_current_robust()
PollcountFunctions()
PollcountBreak()
PollcountSymbols()
