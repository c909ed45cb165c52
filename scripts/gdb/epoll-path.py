# SPDX-License-Identifier: GPL-2.0
"""Scripted gdb session: proves epoll's path through pollcount from backtraces.

Run by scripts/gdb/gdb-check inside `gdb -batch`, attached (by scripts/gdb/gdb) to a VM
halted at its first instruction whose init loads pollcount.ko and runs
`pollcount-epoll-path` (epoll_ctl ADD, write, epoll_wait). It records the
backtrace at every hit of four breakpoints, lets the VM run to its end, and
prints KTAP: one test per claim of the walkthrough in Documentation/gdb.md.

Frame names are 7.3's (fs/eventpoll.c): inline functions (ep_item_poll,
vfs_poll, poll_wait, ep_deliver_event, ...) appear as frames of their own,
because gdb reads the inlining from DWARF.
"""

import os

import gdb

KO = os.environ["POLLCOUNT_KO"]
SAMPLE_COMM = "pollcount-epoll"      # TASK_COMM_LEN cuts the name at 15 characters
EPOLLIN, EPOLLRDNORM = 0x001, 0x040

POLL_HOOK = "FileOps<pollcount_main::Pollcount>::poll"
WRITE_HOOK = "FileOps<pollcount_main::Pollcount>::write"
# The poll hook registers its queue through PollTable::register_queue,
# which calls the kernel's poll_wait() (through its Rust helper); the hook
# and the call are inlined, and gdb names each inlined frame.
QUEUE_POLL = "PollTable::register_queue"


class Recorder(gdb.Breakpoint):
    """Records the backtrace (outermost frame first) at each hit, and goes on."""

    def __init__(self, spec, read_key=False):
        super().__init__(spec)
        self.read_key = read_key
        self.hits = []

    def stop(self):
        try:
            self.record()
        except Exception as err:   # pylint: disable=broad-except
            self.hits.append({"frames": [], "comm": "?", "key": None, "error": str(err)})
        return False

    def record(self):
        frames = []
        frame = gdb.newest_frame()
        while frame is not None:
            frames.append(frame.name() or "??")
            frame = frame.older()
        # The current task's name, to ignore hits from other processes. In
        # module code gdb may not resolve the per-cpu `current_task`; then
        # the hit counts by its frames alone.
        try:
            comm = gdb.parse_and_eval("$lx_current().comm").string()
        except Exception:   # pylint: disable=broad-except
            comm = "?"
        key = None
        if self.read_key:
            key = self.wakeup_key()
        self.hits.append({"frames": list(reversed(frames)), "comm": comm, "key": key})

    @staticmethod
    def wakeup_key():
        """ep_poll_callback's `key`, or its caller's if optimised out here."""
        frame = gdb.newest_frame()
        while frame is not None:
            try:
                return int(frame.read_var("key").cast(gdb.lookup_type("unsigned long")))
            except (gdb.error, ValueError):
                frame = frame.older()
        return None


def from_syscall(frames):
    """The frames from the syscall entry on (the unwinder's guesses above it dropped)."""
    for i, frame in enumerate(frames):
        if frame == "do_syscall_64":
            return frames[i:]
    return frames


def contains_in_order(frames, wanted):
    """Whether each name of `wanted` is a substring of a frame, in call order."""
    i = 0
    for frame in frames:
        if i < len(wanted) and wanted[i] in frame:
            i += 1
    return i == len(wanted)


def sample_hits(bp):
    return [h for h in bp.hits if h["comm"] in (SAMPLE_COMM, "?")]


results = []
bp_of = {}


def check(name, bp, wanted, key=None):
    bp_of[name] = bp
    hits = sample_hits(bp)
    ok = [h for h in hits if contains_in_order(h["frames"], wanted)
          and (key is None or h["key"] == key)]
    results.append((name, bool(ok), wanted, hits, key))


def main():
    # Boot until the module loads, then load its symbols.
    load = gdb.Breakpoint("do_init_module", internal=True)
    gdb.execute("continue")
    load.delete()
    gdb.execute("lx-symbols " + os.path.dirname(KO))

    functions = find_functions()
    poll = Recorder("'" + functions[POLL_HOOK] + "'")
    Recorder("'" + functions[WRITE_HOOK] + "'")   # a stop in the write path, for the log
    queue = Recorder("ep_ptable_queue_proc")
    callback = Recorder("ep_poll_callback", read_key=True)
    # Run until the VM reboots and the stub goes away; a stop for any other
    # reason (none is expected) just continues, a bounded number of times.
    for _ in range(50):
        try:
            gdb.execute("continue")
        except gdb.error:
            break
        if not gdb.selected_inferior().threads():
            break

    check("epoll_ctl_add_reaches_the_poll_hook", poll,
          ["do_epoll_ctl", "ep_insert", "ep_item_poll", "vfs_poll", POLL_HOOK])
    check("poll_wait_reaches_ep_ptable_queue_proc", queue,
          ["do_epoll_ctl", "ep_insert", "ep_item_poll", "vfs_poll", QUEUE_POLL,
           "poll_wait", "ep_ptable_queue_proc"])
    check("write_wakes_ep_poll_callback_with_epollin", callback,
          ["vfs_write", WRITE_HOOK, "lock_until", "__wake_up_locked_key",
           "__wake_up_common", "ep_poll_callback"], key=EPOLLIN | EPOLLRDNORM)
    check("epoll_wait_polls_again_from_ep_send_events", poll,
          ["do_epoll_wait", "ep_poll", "ep_send_events", "ep_item_poll", "vfs_poll", POLL_HOOK])

    print("TAP version 13")
    print(f"1..{len(results)}")
    for n, (name, ok, wanted, hits, key) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {n} {name}")
        if not ok:
            print(f"# wanted, in call order: {' -> '.join(wanted)}"
                  + (f" with key 0x{key:x}" if key is not None else ""))
            print(f"# {len(hits)} hit(s) from {SAMPLE_COMM}, of {len(bp_of[name].hits)}")
            for h in bp_of[name].hits[:3]:
                if "error" in h:
                    print(f"#   error in the breakpoint: {h['error']}")
            for h in hits[:3]:
                print(f"#   key={h['key']}: " + " -> ".join(h["frames"][-12:]))
    for name, bp in (("poll hook", poll), ("ep_poll_callback", callback)):
        for h in sample_hits(bp)[:1]:
            print(f"# {name}: " + " -> ".join(from_syscall(h["frames"])))


def find_functions():
    """Mangled names of the module's hooks, from the module file."""
    demangled_of = {hook: f"<pollcount_main::kernel_ext::file_ops::{hook.replace('>::', '>>::')}"
                    for hook in (POLL_HOOK, WRITE_HOOK)}
    names = {}
    for mangled, demangled in module_functions():   # from pollcount-gdb.py
        for hook, want in demangled_of.items():
            if demangled == want:
                names[hook] = mangled
    missing = [h for h in demangled_of if h not in names]
    if missing:
        raise gdb.GdbError(f"no function for {missing} in {KO}")
    return names


main()
