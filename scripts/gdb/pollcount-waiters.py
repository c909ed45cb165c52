# SPDX-License-Identifier: GPL-2.0
"""pollcount-waiters: who waits on a pollcount file, read from its wait queue.

Loaded by `make gdb` (scripts/gdb/gdb) after pollcount-gdb.py and the
kernel's own gdb scripts (vmlinux-gdb.py), whose helpers it uses
(linux.lists, linux.tasks, linux.utils.container_of):

  pollcount-waiters [--dot FILE] [FILE-EXPR | PID FD]

FILE-EXPR is a `struct file *` expression (C syntax, e.g.
`(struct file *)0xff11000004a1b200`); PID FD is an fd of a process; with
neither, every open pollcount file is walked, found by going through every
task's fd table for files whose f_op is pollcount's file_operations (the
`fops` of the misc device named "pollcount": opens of /dev/pollcount and
the anonymous counters of POLLCOUNT_IOC_CREATE share it).

A file's private data is the module's `Pin<KBox<T>>` (file_ops.rs), so it
points at a `T`; `T` is read from the name of the file's poll hook
(`FileOps<T>::poll`) and its layout from the module's DWARF: the first
`bindings::wait_queue_head` inside it (in `WaitQueue<Counter>`'s `head`,
through `Opaque`, `UnsafeCell`, `MaybeUninit`, ...) is the queue. Each
entry on the queue is decoded by its wake function:

  ep_poll_callback          an epoll item: eppoll_entry -> epitem: its events,
                            whether it is ready (on rdllist or ovflist), its
                            fd; its eventpoll, the tasks asleep in epoll_wait
                            on it (ep->wq), and the epolls watching that
                            eventpoll's own file (ep->refs), one level up at
                            a time
  pollwake                  poll() or select(): poll_table_entry, its key,
                            and poll_wqueues->polling_task
  io_poll_wake              an io_uring poll (IORING_OP_POLL_ADD, or a read
                            waiting for readiness): the request's task
  aio_poll_wake             an aio IOCB_CMD_POLL: the process of its kioctx
  autoremove_wake_function  a task asleep in pollcount's own read or write
  (and the other wake functions whose `private` is the task)

`--dot FILE` also writes what was walked as a graphviz graph: counter ->
wait entries -> epitems -> eventpolls -> tasks.

The same walk is a Python API for scripts (the gdb check of `make check`,
`pollcount-waiters-check`, below): walk_all(), walk_file(), walk_pid_fd().
"""

import os
import re
import shutil
import struct
import subprocess
import tempfile
import traceback

import gdb

from linux import lists, tasks, utils

EP_UNACTIVE_PTR = (1 << 64) - 1
WQ_FLAG_EXCLUSIVE = 0x01
EP_MAX_NESTS = 4

# include/uapi/linux/eventpoll.h and include/uapi/asm-generic/poll.h
EVENT_BITS = [
    (0x001, "IN"), (0x002, "PRI"), (0x004, "OUT"), (0x008, "ERR"), (0x010, "HUP"),
    (0x020, "NVAL"), (0x040, "RDNORM"), (0x080, "RDBAND"), (0x100, "WRNORM"),
    (0x200, "WRBAND"), (0x400, "MSG"), (0x2000, "RDHUP"), (0x4000, "FREE"),
    (1 << 27, "URING_WAKE"), (1 << 28, "EXCLUSIVE"), (1 << 29, "WAKEUP"),
    (1 << 30, "ONESHOT"), (1 << 31, "ET"),
]
EPOLLIN, EPOLLERR, EPOLLHUP, EPOLLEXCLUSIVE = 0x001, 0x008, 0x010, 1 << 28
# epoll_ctl(ADD, MOD) adds these to every item's events (do_epoll_ctl).
EPOLL_ALWAYS = EPOLLERR | EPOLLHUP

# Wake functions whose wait entry's `private` is the sleeping task.
TASK_WAKE_FUNCTIONS = ("autoremove_wake_function", "default_wake_function",
                       "woken_wake_function", "var_wake_function",
                       "wake_bit_function", "ep_autoremove_wake_function")


def event_names(mask, prefix="EPOLL"):
    """EPOLLIN|EPOLLEXCLUSIVE for 0x10000001; unknown bits in hex."""
    names, rest = [], mask
    for bit, name in EVENT_BITS:
        if mask & bit:
            if prefix == "POLL" and name in ("EXCLUSIVE", "WAKEUP", "ONESHOT", "ET", "URING_WAKE"):
                continue
            names.append(prefix + name)
            rest &= ~bit
    if rest:
        names.append(f"0x{rest:x}")
    return "|".join(names) or "0"


class CLanguage:
    """Parse and print as C for the duration: in a Rust frame (the module's
    hooks), gdb would read `(struct file *)0x...` as Rust."""

    def __enter__(self):
        self.saved = gdb.parameter("language")
        if self.saved != "c":
            gdb.execute("set language c", to_string=True)
        return self

    def __exit__(self, *exc):
        if self.saved != "c":
            gdb.execute(f"set language {self.saved}", to_string=True)
        return False


def ctype(name):
    return gdb.lookup_type(name)


def ptr(value):
    return int(value.cast(utils.get_ulong_type()))


def has_field(gdb_type, name):
    return any(f.name == name for f in gdb_type.strip_typedefs().fields())


def symbol_at(addr):
    """The function at addr: `ep_poll_callback`, or a module's Rust name."""
    if not addr:
        return "NULL"
    # The debug info's name (a Rust one without the crate hashes of the
    # ELF symbol): the outermost function around addr, not an inlined one.
    try:
        block, name = gdb.block_for_pc(addr), None
        while block is not None:
            if block.function is not None:
                name = block.function.name
            block = block.superblock
        if name:
            return name
    except RuntimeError:
        pass
    try:
        out = gdb.execute(f"info symbol 0x{addr:x}", to_string=True).strip()
    except gdb.error:
        return f"0x{addr:x}"
    if out.startswith("No symbol"):
        return f"0x{addr:x}"
    name = out.split(" in section ")[0]
    return re.sub(r"\[[0-9a-f]{16}\]", "", re.sub(r" \+ \d+$", "", name))


def task_info(task):
    if not task or ptr(task) == 0:
        return None
    task = task.cast(ctype("struct task_struct").pointer())
    return {"addr": ptr(task), "pid": int(task["pid"]), "tgid": int(task["tgid"]),
            "comm": task["comm"].string()}


def task_label(t):
    if t is None:
        return "task ?"
    tgid = "" if t["tgid"] == t["pid"] else f" of process {t['tgid']}"
    return f"pid {t['pid']} {t['comm']}{tgid}"


class Walker:
    """One walk: the fd tables read once, every object visited once."""

    def __init__(self):
        self.fops = pollcount_fops()
        self.owners = None     # file address -> [(task info of the leader, fd)]
        self.mm_leader = None  # mm address -> leader task info
        self.entry_ptr = ctype("struct wait_queue_entry").pointer()

    # --- the fd tables -------------------------------------------------
    def index(self):
        if self.owners is not None:
            return self.owners
        self.owners, self.mm_leader = {}, {}
        inferior = gdb.selected_inferior()
        seen_files = set()
        for task in tasks.task_lists():
            leader = task["group_leader"]
            mm = ptr(task["mm"])
            if mm and mm not in self.mm_leader:
                self.mm_leader[mm] = task_info(leader)
            files = task["files"]
            if ptr(files) == 0 or ptr(files) in seen_files:
                continue
            seen_files.add(ptr(files))
            fdt = files["fdt"]
            n = int(fdt["max_fds"])
            raw = inferior.read_memory(ptr(fdt["fd"]), 8 * n)
            who = task_info(leader)
            for fd, addr in enumerate(struct.unpack(f"<{n}Q", raw)):
                if addr:
                    self.owners.setdefault(addr, []).append((who, fd))
        return self.owners

    def fds_of(self, file_addr):
        return [{"pid": who["tgid"], "comm": who["comm"], "fd": fd}
                for who, fd in self.index().get(file_addr, [])]

    # --- pollcount files -----------------------------------------------
    def is_pollcount(self, file):
        return ptr(file["f_op"]) in self.fops

    def pollcount_files(self):
        files = []
        for addr in self.index():
            file = gdb.Value(addr).cast(ctype("struct file").pointer())
            if self.is_pollcount(file):
                files.append(file)
        return sorted(files, key=lambda f: [(o["pid"], o["fd"]) for o in self.fds_of(ptr(f))])

    def queue_of(self, file):
        """The wait queue inside the file's private data, found by the
        module's DWARF; returns (struct wait_queue_head *, private data)."""
        poll = ptr(file["f_op"]["poll"])
        hook = symbol_at(poll)
        match = re.search(r"FileOps<(.+)>::poll", hook)
        if not match:
            raise gdb.GdbError(f"the poll hook {hook} is not FileOps<T>::poll")
        block = gdb.block_for_pc(poll)
        # By the hook's block: gdb finds the module's Rust types in the
        # compilation unit of a function that uses them.
        data_type = gdb.lookup_type(match.group(1), block)
        offset = find_wait_queue_head(data_type)
        if offset is None:
            raise gdb.GdbError(f"no wait_queue_head in {data_type}")
        private = ptr(file["private_data"])
        data = gdb.Value(private).cast(data_type.pointer()).dereference()
        head = gdb.Value(private + offset).cast(ctype("struct wait_queue_head").pointer())
        return head, data

    def walk_file(self, file):
        file = file.cast(ctype("struct file").pointer())
        if not self.is_pollcount(file):
            raise gdb.GdbError(f"file 0x{ptr(file):x} is not a pollcount file "
                               f"(f_op {symbol_at(ptr(file['f_op']))})")
        head, data = self.queue_of(file)
        anon_mnt = gdb.lookup_static_symbol("anon_inode_mnt")
        report = {"file": ptr(file), "name": file["f_path"]["dentry"]["d_name"]["name"].string(),
                  "anon": anon_mnt is not None
                  and ptr(file["f_path"]["mnt"]) == ptr(anon_mnt.value()),
                  "fds": self.fds_of(ptr(file)), "queue": ptr(head),
                  "waiters": [self.waiter(e) for e in self.entries(head)]}
        report.update(rust_fields(data))
        return report

    def entries(self, head):
        return list(lists.list_for_each_entry(head["head"], self.entry_ptr, "entry"))

    # --- wait entries ----------------------------------------------------
    def waiter(self, entry, depth=0):
        func = symbol_at(ptr(entry["func"]))
        w = {"entry": ptr(entry), "func": func, "kind": "unknown", "task": None, "events": None,
             "exclusive": bool(int(entry["flags"]) & WQ_FLAG_EXCLUSIVE)}
        private = entry["private"]
        if func == "ep_poll_callback":
            pwq = utils.container_of(entry, ctype("struct eppoll_entry").pointer(), "wait")
            w["kind"] = "epoll"
            w["epitem"] = self.epitem(pwq["base"], depth)
            w["events"] = w["epitem"]["events"]
        elif func == "pollwake":
            pte = utils.container_of(entry, ctype("struct poll_table_entry").pointer(), "wait")
            pwq = private.cast(ctype("struct poll_wqueues").pointer())
            w.update(kind="poll", events=int(pte["key"]), task=task_info(pwq["polling_task"]))
        elif func == "io_poll_wake":
            poll = utils.container_of(entry, ctype("struct io_poll").pointer(), "wait")
            req = gdb.Value(ptr(private) & ~1).cast(ctype("struct io_kiocb").pointer())
            tctx = req["tctx"]
            w.update(kind="io_uring", events=int(poll["events"]),
                     task=task_info(tctx["task"]) if ptr(tctx) else None,
                     user_data=int(req["cqe"]["user_data"]))
        elif func == "aio_poll_wake":
            piocb = utils.container_of(entry, ctype("struct poll_iocb").pointer(), "wait")
            iocb = utils.container_of(piocb, ctype("struct aio_kiocb").pointer(), "poll")
            w.update(kind="aio", events=int(piocb["events"]),
                     task=self.aio_process(iocb["ki_ctx"]), user_data=int(iocb["ki_res"]["data"]))
        elif func in TASK_WAKE_FUNCTIONS:
            w.update(kind="epoll_wait" if func == "ep_autoremove_wake_function" else "blocked",
                     task=task_info(private))
        else:
            w["private"] = ptr(private)
        return w

    def aio_process(self, ctx):
        """The process whose mm holds this kioctx (mm->ioctx_table)."""
        self.index()
        for mm, leader in self.mm_leader.items():
            mm = gdb.Value(mm).cast(ctype("struct mm_struct").pointer())
            try:
                table = mm["ioctx_table"]
            except gdb.error:
                return None
            if ptr(table) == 0:
                continue
            for i in range(int(table["nr"])):
                if ptr(table["table"][i]) == ptr(ctx):
                    return leader
        return None

    # --- epoll -----------------------------------------------------------
    def epitem(self, epi, depth):
        ovf_field = "ovflist_next" if has_field(epi.type.target(), "ovflist_next") else "next"
        rdllink = epi["rdllink"]
        item = {"addr": ptr(epi), "events": int(epi["event"]["events"]),
                "on_rdllist": ptr(rdllink["next"]) != ptr(rdllink.address),
                "on_ovflist": ptr(epi[ovf_field]) != EP_UNACTIVE_PTR,
                "fd": int(epi["ffd"]["fd"]), "file": ptr(epi["ffd"]["file"])}
        item["ready"] = item["on_rdllist"] or item["on_ovflist"]
        item["ep"] = self.eventpoll(epi["ep"], depth)
        return item

    def eventpoll(self, ep, depth):
        file = ep["file"]
        info = {"addr": ptr(ep), "file": ptr(file), "fds": self.fds_of(ptr(file)),
                "sleepers": [], "watchers": [], "pollers": []}
        for entry in self.entries(ep["wq"]):
            w = self.waiter(entry)
            info["sleepers"].append(w["task"])
        if depth >= EP_MAX_NESTS:
            return info
        # The epolls watching this one: the epitems on ep->refs, which is
        # what an epoll file's f_ep points to (5.11 on; before, the file's
        # f_ep_links list).
        epi_ptr = ctype("struct epitem").pointer()
        for epi in lists.hlist_for_each_entry(ep["refs"], epi_ptr, "fllink"):
            info["watchers"].append(self.epitem(epi, depth + 1))
        # Others polling the epoll fd itself (poll, select, io_uring): on
        # its poll_wait queue; epoll items there are the watchers above.
        for entry in self.entries(ep["poll_wait"]):
            if symbol_at(ptr(entry["func"])) != "ep_poll_callback":
                info["pollers"].append(self.waiter(entry, depth + 1))
        return info


def find_wait_queue_head(gdb_type, offset=0, depth=0):
    """Byte offset of the first `wait_queue_head` in a Rust type, by DWARF."""
    t = gdb_type.strip_typedefs()
    if t.name and t.name.split("::")[-1] == "wait_queue_head":
        return offset
    if t.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION) or depth > 12:
        return None
    for f in t.fields():
        if f.artificial or not hasattr(f, "bitpos") or f.type.sizeof == 0:
            continue
        found = find_wait_queue_head(f.type, offset + f.bitpos // 8, depth + 1)
        if found is not None:
            return found
    return None


def find_field(value, name, depth=0):
    """The first field called `name` anywhere inside a Rust value."""
    t = value.type.strip_typedefs()
    if t.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION) or depth > 8:
        return None
    for f in t.fields():
        if f.name == name:
            return value[f]
    for f in t.fields():
        if f.name and f.type.sizeof:
            found = find_field(value[f], name, depth + 1)
            if found is not None:
                return found
    return None


def rust_fields(data):
    """What the walk shows of the private data itself: id, count."""
    out = {}
    for name in ("id", "count"):
        value = find_field(data, name)
        if value is not None:
            try:
                out[name] = int(value)
            except gdb.error:
                pass
    return out


def pollcount_fops():
    """pollcount's file_operations: the fops of the misc device "pollcount"."""
    sym = gdb.lookup_static_symbol("misc_list") or gdb.lookup_global_symbol("misc_list")
    if sym is None:
        raise gdb.GdbError("no misc_list in the kernel's symbols")
    fops = set()
    for misc in lists.list_for_each_entry(sym.value(), ctype("struct miscdevice").pointer(), "list"):
        if misc["name"].string() == "pollcount":
            fops.add(ptr(misc["fops"]))
    if not fops:
        raise gdb.GdbError("pollcount is not loaded (no misc device \"pollcount\")")
    return fops


# --- the API --------------------------------------------------------------

def walk_all():
    with CLanguage():
        w = Walker()
        return [w.walk_file(f) for f in w.pollcount_files()]


def walk_file(file):
    with CLanguage():
        if isinstance(file, str):
            file = gdb.parse_and_eval(file)
        return [Walker().walk_file(file)]


def walk_pid_fd(pid, fd):
    with CLanguage():
        task = tasks.get_task_by_pid(pid)
        if task is None:
            raise gdb.GdbError(f"no task with pid {pid}")
        fdt = task["files"]["fdt"]
        if fd < 0 or fd >= int(fdt["max_fds"]) or ptr(fdt["fd"][fd]) == 0:
            raise gdb.GdbError(f"pid {pid} has no fd {fd}")
        return [Walker().walk_file(fdt["fd"][fd])]


# --- text ---------------------------------------------------------------------

def fds_label(fds):
    if not fds:
        return "no fd"
    return ", ".join(f"fd {o['fd']} of pid {o['pid']} ({o['comm']})" for o in fds)


def file_label(r):
    return f"anon_inode:{r['name']}" if r["anon"] else f"{r['name']} (misc device)"


def render_text(reports):
    out = []
    if not reports:
        out.append("no open pollcount file")
    for r in reports:
        extra = "".join(f", {k} {r[k]}" for k in ("id", "count") if k in r)
        out.append(f"pollcount file 0x{r['file']:x} ({file_label(r)}{extra}): {fds_label(r['fds'])}")
        out.append(f"  wait queue 0x{r['queue']:x}: {len(r['waiters'])} waiter(s)")
        for i, w in enumerate(r["waiters"], 1):
            render_waiter(out, w, f"  [{i}] ", "      ")
    return "\n".join(out) + "\n"


def render_waiter(out, w, first, indent):
    excl = ", exclusive" if w["exclusive"] else ""
    if w["kind"] == "epoll":
        render_epitem(out, w["epitem"], first + f"epoll item ({w['func']}{excl}): ", indent)
        return
    what = {"poll": "poll/select", "io_uring": "io_uring poll", "aio": "aio poll",
            "blocked": "asleep on the queue", "epoll_wait": "asleep in epoll_wait"}.get(w["kind"], w["kind"])
    events = "" if w["events"] is None else " events " + event_names(
        w["events"], "POLL" if w["kind"] == "poll" else "EPOLL")
    data = f" user_data 0x{w['user_data']:x}" if "user_data" in w else ""
    private = f" private 0x{w['private']:x}" if "private" in w else ""
    out.append(f"{first}{what} ({w['func']}{excl}):{events}{data}{private} {task_label(w['task'])}")


def render_epitem(out, item, first, indent, level=0):
    where = "ready (on rdllist)" if item["on_rdllist"] else \
        "ready (on ovflist)" if item["on_ovflist"] else "not ready"
    out.append(f"{first}events {event_names(item['events'])}, fd {item['fd']}, {where}")
    ep = item["ep"]
    out.append(f"{indent}in eventpoll 0x{ep['addr']:x}: {fds_label(ep['fds'])}")
    for t in ep["sleepers"]:
        out.append(f"{indent}  asleep in epoll_wait: {task_label(t)}")
    for p in ep["pollers"]:
        render_waiter(out, p, f"{indent}  polled by: ", indent + "    ")
    for watcher in ep["watchers"]:
        render_epitem(out, watcher, f"{indent}  watched by an epoll item: ", indent + "    ",
                      level + 1)


# --- graphviz -----------------------------------------------------------------

def render_dot(reports):
    nodes, edges = {}, []

    def node(key, label, shape):
        nodes.setdefault(key, (label.replace('"', "'"), shape))
        return key

    def task_node(t):
        if t is None:
            return node("task_unknown", "task ?", "ellipse")
        return node(f"task_{t['pid']}", f"pid {t['pid']}\\n{t['comm']}", "ellipse")

    def ep_node(ep):
        key = f"ep_{ep['addr']:x}"
        if key in nodes:
            return key
        node(key, f"eventpoll\\n0x{ep['addr']:x}\\n{fds_label(ep['fds'])}", "box3d")
        for t in ep["sleepers"]:
            edges.append((key, task_node(t), "epoll_wait"))
        for p in ep["pollers"]:
            edges.append((key, waiter_node(p), "poll_wait"))
        for watcher in ep["watchers"]:
            edges.append((key, epi_node(watcher), "watched by"))
        return key

    def epi_node(item):
        key = node(f"epi_{item['addr']:x}",
                   f"epitem\\n{event_names(item['events'])}\\nfd {item['fd']}, "
                   f"{'ready' if item['ready'] else 'not ready'}", "note")
        edges.append((key, ep_node(item["ep"]), "ep"))
        return key

    def waiter_node(w):
        key = node(f"wait_{w['entry']:x}", f"wait entry\\n{w['func']}"
                   + ("\\nexclusive" if w["exclusive"] else ""), "box")
        if w["kind"] == "epoll":
            edges.append((key, epi_node(w["epitem"]), "base"))
        elif w["task"] is not None or w["kind"] != "unknown":
            edges.append((key, task_node(w["task"]), w["kind"]))
        return key

    for r in reports:
        key = node(f"file_{r['file']:x}", f"{file_label(r)}\\nfile 0x{r['file']:x}\\n"
                   f"{fds_label(r['fds'])}", "doubleoctagon")
        for w in r["waiters"]:
            edges.append((key, waiter_node(w), "wait queue"))
    lines = ["digraph pollcount_waiters {", "  rankdir=LR;", "  node [fontname=monospace];"]
    for key, (label, shape) in nodes.items():
        lines.append(f'  {key} [label="{label}", shape={shape}];')
    for a, b, label in edges:
        lines.append(f'  {a} -> {b} [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


class PollcountWaiters(gdb.Command):
    """Who waits on a pollcount file: pollcount-waiters [--dot FILE] [FILE-EXPR | PID FD].

FILE-EXPR: a `struct file *` expression; PID FD: a process's fd; neither:
every open pollcount file. Decodes each wait queue entry by its wake
function (epoll items with their eventpolls, sleepers and nested epolls;
poll/select; io_uring; aio; tasks blocked in read or write).
--dot FILE also writes the walk as a graphviz graph."""

    def __init__(self):
        super().__init__("pollcount-waiters", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        words = gdb.string_to_argv(arg)
        dot = None
        if "--dot" in words:
            i = words.index("--dot")
            if i + 1 >= len(words):
                raise gdb.GdbError("--dot needs a file name")
            dot = words[i + 1]
            del words[i:i + 2]
        if not words:
            reports = walk_all()
        elif len(words) == 2 and all(re.fullmatch(r"\d+", x) for x in words):
            reports = walk_pid_fd(int(words[0]), int(words[1]))
        else:
            reports = walk_file(" ".join(words))
        gdb.write(render_text(reports))
        if dot:
            with open(dot, "w", encoding="utf-8") as out:
                out.write(render_dot(reports))
            gdb.write(f"wrote {dot}\n")


PollcountWaiters()


# --- the check of `make check` (scripts/gdb/gdb-check) -------------------------------
#
# samples/pollcount-waiters.c sets up its waiters, then, as pcw-main, makes
# an unknown ioctl on the counter. `pollcount-waiters-check arm` breaks on
# pollcount's ioctl hook (pending until the module's symbols load); at the
# marker the breakpoint walks everything (and goes on: the VM keeps running,
# another script's `continue` loop drives it); `pollcount-waiters-check
# report FILE` writes the KTAP of what the walk found.

MARK_COMM = "pcw-main"
IOCTL_HOOK = "FileOps<pollcount_main::Pollcount>>::ioctl"
check_state = {"hits": 0, "walked": None, "error": None, "seen": []}


class MarkerBreakpoint(gdb.Breakpoint):
    def stop(self):
        check_state["hits"] += 1
        if check_state["walked"] is not None:
            return False
        try:
            with CLanguage():
                current = task_info(current_task())
            check_state["seen"].append(f"{current['comm']} (pid {current['pid']})")
            if current["comm"] != MARK_COMM:
                return False
            check_state["walked"] = collect(current)
        except Exception:   # pylint: disable=broad-except
            check_state["error"] = traceback.format_exc()
        return False


def current_task():
    """The task on the CPU that stopped: linux.cpus.get_current_task, made
    to work in the module's frames by pollcount-gdb.py."""
    from linux import cpus  # pylint: disable=import-outside-toplevel
    return cpus.get_current_task(-1).address


def collect(current):
    """Everything the report judges, taken while the VM is stopped."""
    got = {"current": current, "all": walk_all()}
    got["text"] = render_text(got["all"])
    mine = [r for r in got["all"] if any(o["pid"] == current["tgid"] for o in r["fds"])]
    got["mine"] = mine
    counters = [r for r in mine if r["waiters"]]
    if len(counters) == 1:
        c = counters[0]
        fd = [o["fd"] for o in c["fds"] if o["pid"] == current["tgid"]][0]
        got["by_pid_fd"] = gdb.execute(f"pollcount-waiters {current['tgid']} {fd}", to_string=True)
        got["by_expr"] = gdb.execute(f"pollcount-waiters (struct file *)0x{c['file']:x}",
                                     to_string=True)
        got["one_text"] = render_text([c])
        dot = os.path.join(tempfile.mkdtemp(prefix="pollcount-waiters."), "waiters.dot")
        gdb.execute(f"pollcount-waiters --dot {dot} {current['tgid']} {fd}", to_string=True)
        with open(dot, encoding="utf-8") as f:
            got["dot"] = f.read()
        if shutil.which("dot"):
            run = subprocess.run(["dot", "-Tsvg", dot], capture_output=True, text=True, check=False)
            got["dot_ok"] = run.returncode == 0
            got["dot_error"] = run.stderr
    return got


def judge(got):
    """[(name, ok, diagnostics)] for the KTAP."""
    results = []

    def test(name, ok, *why):
        results.append((name, bool(ok), [w for w in why if w]))

    me = got["current"]
    mine = got["mine"]
    names = sorted(file_label(r) for r in mine)
    test("finds_both_kinds_of_pollcount_file",
         names == ["anon_inode:[pollcount]", "pollcount (misc device)"],
         f"the sample's pollcount files: {names}")
    counters = [r for r in mine if r["anon"]]
    dev = [r for r in mine if not r["anon"]]
    counter = counters[0] if len(counters) == 1 else {"waiters": [], "fds": []}
    counter_fd = [o["fd"] for o in counter["fds"] if o["pid"] == me["tgid"]]
    kinds = sorted(w["kind"] for w in counter["waiters"])
    test("exactly_the_expected_waiters",
         kinds == ["blocked", "epoll", "epoll", "poll"] and len(dev) == 1 and not dev[0]["waiters"],
         f"the counter's waiters: {kinds}",
         f"/dev/pollcount's: {[w['kind'] for w in dev[0]['waiters']] if dev else 'no file'}")

    def mine_task(t, comm):
        return t is not None and t["comm"] == comm and t["tgid"] == me["tgid"]

    def epoll_fd(ep):
        return [o["fd"] for o in ep["fds"] if o["pid"] == me["tgid"]]

    def epoll_waiter(comm):
        for w in counter["waiters"]:
            if w["kind"] == "epoll" and [t and t["comm"] for t in w["epitem"]["ep"]["sleepers"]] == [comm]:
                return w
        return None

    def describe(w):
        return render_text([dict(counter, waiters=[w])]).splitlines()[2:] if w else ["not found"]

    lt = epoll_waiter("pcw-ep-lt")
    test("level_triggered_epoll_item",
         lt and lt["events"] == EPOLLIN | EPOLL_ALWAYS and not lt["exclusive"] and not lt["epitem"]["ready"]
         and [lt["epitem"]["fd"]] == counter_fd and epoll_fd(lt["epitem"]["ep"])
         and all(mine_task(t, "pcw-ep-lt") for t in lt["epitem"]["ep"]["sleepers"]),
         *describe(lt))
    excl = epoll_waiter("pcw-ep-excl")
    test("exclusive_epoll_item",
         excl and excl["events"] == EPOLLIN | EPOLL_ALWAYS | EPOLLEXCLUSIVE and excl["exclusive"]
         and not excl["epitem"]["ready"] and [excl["epitem"]["fd"]] == counter_fd
         and not excl["epitem"]["ep"]["watchers"]
         and all(mine_task(t, "pcw-ep-excl") for t in excl["epitem"]["ep"]["sleepers"]),
         *describe(excl))
    watchers = lt["epitem"]["ep"]["watchers"] if lt else []
    nest = watchers[0] if len(watchers) == 1 else None
    test("nested_epoll_one_level_up",
         nest and nest["events"] == EPOLLIN | EPOLL_ALWAYS and not nest["ready"]
         and [nest["fd"]] == epoll_fd(lt["epitem"]["ep"])
         and [t and t["comm"] for t in nest["ep"]["sleepers"]] == ["pcw-ep-nest"]
         and all(mine_task(t, "pcw-ep-nest") for t in nest["ep"]["sleepers"])
         and not nest["ep"]["watchers"],
         f"{len(watchers)} epoll(s) watch the level-triggered set", *describe(lt))
    polls = [w for w in counter["waiters"] if w["kind"] == "poll"]
    test("poll_caller",
         len(polls) == 1 and polls[0]["func"] == "pollwake"
         and polls[0]["events"] == EPOLLIN | EPOLLERR | EPOLLHUP
         and mine_task(polls[0]["task"], "pcw-poll"),
         *(describe(polls[0]) if polls else ["no poll waiter"]))
    blocked = [w for w in counter["waiters"] if w["kind"] == "blocked"]
    test("reader_blocked_in_read",
         len(blocked) == 1 and blocked[0]["func"] == "autoremove_wake_function"
         and mine_task(blocked[0]["task"], "pcw-read"),
         *(describe(blocked[0]) if blocked else ["no blocked task"]))
    test("pid_fd_and_file_expression_agree",
         got.get("one_text") and got.get("by_pid_fd") == got["one_text"]
         and got.get("by_expr") == got["one_text"],
         *(f"PID FD: {line}" for line in (got.get("by_pid_fd") or "missing").splitlines()[:3]),
         *(f"FILE-EXPR: {line}" for line in (got.get("by_expr") or "missing").splitlines()[:3]))
    dot = got.get("dot", "")
    counts = {kind: len(re.findall(rf"^  {kind}_\w+ \[", dot, re.M))
              for kind in ("file", "wait", "epi", "ep", "task")}
    test("dot_graph",
         counts == {"file": 1, "wait": 4, "epi": 3, "ep": 3, "task": 5}
         and dot.count(" -> ") == 4 + 2 + 3 + 3 + 1 + 2 and got.get("dot_ok", True),
         f"nodes {counts}, edges {dot.count(' -> ')}", got.get("dot_error", ""))
    return results


def report(path):
    got, error = check_state["walked"], check_state["error"]
    if got is None:
        lines = ["TAP version 13", "1..1", "not ok 1 stopped_at_the_marker",
                 f"# the ioctl hook was hit {check_state['hits']} time(s), never by {MARK_COMM}: "
                 f"by {', '.join(check_state['seen']) or 'no task read'}"]
        lines += [f"# {line}" for line in (error or "").splitlines()]
    else:
        lines = ktap_lines(judge(got)) + [f"# {line}" for line in got["text"].splitlines()]
    write_report(path, lines, "pollcount-waiters-check")
    # The walk's picture beside the report (Documentation/gdb.md shows one).
    if got is not None and got.get("dot"):
        base = os.path.splitext(path)[0]
        with open(base + ".dot", "w", encoding="utf-8") as out:
            out.write(got["dot"])
        render_svg(base + ".dot")


# --- what the samples' gdb checks share -------------------------------------
#
# A sample stops at a marker (an unknown ioctl on a pollcount file, ENOTTY);
# `NAME arm` breaks on pollcount's ioctl hook with a Breakpoint class whose
# stop() snapshots what it needs and goes on; `NAME report FILE` judges the
# snapshots and writes KTAP (pollcount-eventpoll.py's check is the other).

def ktap_lines(results):
    """KTAP for [(name, ok, diagnostics)]: the diagnostics under a failure."""
    lines = ["TAP version 13", f"1..{len(results)}"]
    for n, (name, ok, why) in enumerate(results, 1):
        lines.append(f"{'ok' if ok else 'not ok'} {n} {name}")
        if not ok:
            lines += [f"# {w}" for w in why]
    return lines


def write_report(path, lines, check):
    """The KTAP to PATH; on gdb's output only a count (gdb's own output is
    the epoll-path suite's KTAP)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    failed = sum(line.startswith("not ok") for line in lines)
    gdb.write(f"# {check}: {failed} failed, KTAP in {path}\n")


def render_svg(dot_path):
    """DOT_PATH drawn beside it as .svg, when graphviz is there."""
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg", dot_path, "-o", os.path.splitext(dot_path)[0] + ".svg"],
                       check=False)


class MarkerCheck(gdb.Command):
    """The gdb check of make check: NAME arm | report FILE."""

    def __init__(self, name, marker, report_to):
        super().__init__(name, gdb.COMMAND_USER)
        self.name, self.marker, self.report_to = name, marker, report_to

    def invoke(self, arg, from_tty):
        words = gdb.string_to_argv(arg)
        if words == ["arm"]:
            hits = [m for m, d in module_functions() if d.endswith(IOCTL_HOOK)]  # pollcount-gdb.py
            if len(hits) != 1:
                raise gdb.GdbError(f"{len(hits)} functions match {IOCTL_HOOK}")
            self.marker("'" + hits[0] + "'", internal=True)
        elif len(words) == 2 and words[0] == "report":
            self.report_to(words[1])
        else:
            raise gdb.GdbError(f"usage: {self.name} arm | report FILE")


MarkerCheck("pollcount-waiters-check", MarkerBreakpoint, report)
