# SPDX-License-Identifier: GPL-2.0
"""pollcount-eventpoll: an epoll set as the epoll articles draw it, read live.

Loaded by `make gdb` (scripts/gdb/gdb) after pollcount-waiters.py, whose
helpers it uses (Walker, task_info, event_names, ...):

  pollcount-eventpoll [--dot FILE] [EXPR | PID FD]

EXPR is a `struct eventpoll *` or `struct file *` expression (an epoll
file); PID FD an epoll fd of a process; with neither, every epoll set of
every process. For each set, 7.3's `struct eventpoll` (fs/eventpoll.c):

  rdllist    the ready list, in order: what the next epoll_wait() polls
  ovflist    the overflow chain, in use only while an epoll_wait() is
             copying events out (between ep_start_scan() and
             ep_done_scan(): ep->ovflist is then NULL or an epitem, and
             ep_poll_callback() chains items here instead of on rdllist)
  wq         the tasks asleep in epoll_wait() on the set
  rbr        every epitem of the red-black tree (shown in fd order):
             its fd and file, its events (EPOLLET, EPOLLONESHOT, ...; a
             fired ONESHOT item keeps only the private bits), its
             epoll_data, where it is linked (rdllist, ovflist, the batch
             a scanning epoll_wait() took, or off the ready list: being
             off it says nothing about whether the file has data), and the
             wait queues its eppoll_entries sit on (where
             ep_ptable_queue_proc() put them)

`--dot FILE` writes the set as a graphviz graph: the eventpoll, its
epitems, the rdllist and ovflist chains as edges in order, the sleepers.

Also the gdb check of `make check` (`pollcount-epoll-states-check`), which
draws the sets of samples/pollcount-epoll-states.c at each of its markers
and asserts what the articles claim (Documentation/epoll-claims.md).
"""

import os
import traceback

import gdb

from linux import lists, rbtree, tasks

EP_PRIVATE_BITS = (1 << 29) | (1 << 30) | (1 << 31) | (1 << 28)   # WAKEUP ONESHOT ET EXCLUSIVE


def epoll_fops():
    sym = gdb.lookup_static_symbol("eventpoll_fops")
    if sym is None:
        raise gdb.GdbError("no eventpoll_fops in the kernel's symbols")
    return ptr(sym.value().address)


def file_kind(walker, file):
    """What a watched file is, by its f_op."""
    f_op = ptr(file["f_op"])
    if f_op in walker.fops:
        return "pollcount"
    if f_op == epoll_fops():
        return "epoll"
    name = symbol_at(f_op)
    return name.replace("_fops", "").replace("_file_operations", "") or f"f_op 0x{f_op:x}"


def epitem_snapshot(walker, epi):
    """One epitem: what it watches and where it is linked. `linked`: its
    rdllink is on some list, ep->rdllist or, during a scan, the scanning
    epoll_wait()'s own batch; eventpoll_snapshot() tells which."""
    ovf_field = "ovflist_next" if has_field(epi.type.target(), "ovflist_next") else "next"
    rdllink = epi["rdllink"]
    file = epi["ffd"]["file"]
    queues = []
    pwq = epi["pwqlist"]
    while ptr(pwq):
        queues.append(ptr(pwq["whead"]))
        pwq = pwq["next"]
    kind = file_kind(walker, file)
    return {"addr": ptr(epi), "fd": int(epi["ffd"]["fd"]), "file": ptr(file), "kind": kind,
            "file_queue": ptr(walker.queue_of(file)[0]) if kind == "pollcount" else None,
            "events": int(epi["event"]["events"]), "data": int(epi["event"]["data"]),
            "linked": ptr(rdllink["next"]) != ptr(rdllink.address),
            "on_ovflist": ptr(epi[ovf_field]) != EP_UNACTIVE_PTR, "queues": queues}


def eventpoll_snapshot(walker, ep):
    """One struct eventpoll, read while the VM is stopped."""
    epi_ptr = ctype("struct epitem").pointer()
    # The tree is ordered by file address and fd; shown by fd, as a reader
    # thinks of them.
    items = sorted((epitem_snapshot(walker, epi)
                    for epi in rbtree.rb_inorder_for_each_entry(ep["rbr"]["rb_root"], epi_ptr, "rbn")),
                   key=lambda i: i["fd"])
    by_addr = {i["addr"]: i for i in items}
    rdllist = [ptr(epi) for epi in lists.list_for_each_entry(ep["rdllist"], epi_ptr, "rdllink")]
    ovf_field = "ovflist_next" if has_field(epi_ptr.target(), "ovflist_next") else "next"
    head = ptr(ep["ovflist"])
    scanning = head != EP_UNACTIVE_PTR
    ovflist = []
    while scanning and head and head != EP_UNACTIVE_PTR and len(ovflist) <= len(items):
        ovflist.append(head)
        head = ptr(gdb.Value(head).cast(epi_ptr)[ovf_field])
    on_list = set(rdllist)
    for i in items:
        i["on_rdllist"] = i["addr"] in on_list
        # Linked, but not on ep->rdllist: in a scanning epoll_wait()'s batch.
        i["in_scan_batch"] = i["linked"] and not i["on_rdllist"]
    sleepers = [walker.waiter(e)["task"] for e in walker.entries(ep["wq"])]
    return {"addr": ptr(ep), "file": ptr(ep["file"]), "fds": walker.fds_of(ptr(ep["file"])),
            "items": items, "scanning": scanning,
            "rdllist": [by_addr.get(a, {"addr": a, "fd": None}) for a in rdllist],
            "ovflist": [by_addr.get(a, {"addr": a, "fd": None}) for a in ovflist],
            "sleepers": sleepers}


def epoll_files(walker, pid=None):
    """Every open epoll file (of PID's process), ordered by owner and fd."""
    fops = epoll_fops()
    files = []
    for addr, owners in walker.index().items():
        if pid is not None and not any(who["tgid"] == pid for who, _ in owners):
            continue
        file = gdb.Value(addr).cast(ctype("struct file").pointer())
        if ptr(file["f_op"]) == fops:
            files.append(file)
    return sorted(files, key=lambda f: [(o["pid"], o["fd"]) for o in walker.fds_of(ptr(f))])


def ep_of_file(file):
    if ptr(file["f_op"]) != epoll_fops():
        raise gdb.GdbError(f"file 0x{ptr(file):x} is not an epoll file "
                           f"(f_op {symbol_at(ptr(file['f_op']))})")
    return file["private_data"].cast(ctype("struct eventpoll").pointer())


# --- the API --------------------------------------------------------------

def snapshot_all(pid=None):
    with CLanguage():
        w = Walker()
        return [eventpoll_snapshot(w, ep_of_file(f)) for f in epoll_files(w, pid)]


def snapshot_expr(expr):
    with CLanguage():
        value = gdb.parse_and_eval(expr)
        target = value.type.strip_typedefs().target().strip_typedefs()
        if target.tag == "file":
            value = ep_of_file(value)
        elif target.tag != "eventpoll":
            raise gdb.GdbError(f"{expr} is neither a struct file * nor a struct eventpoll *")
        return [eventpoll_snapshot(Walker(), value)]


def snapshot_pid_fd(pid, fd):
    with CLanguage():
        task = tasks.get_task_by_pid(pid)
        if task is None:
            raise gdb.GdbError(f"no task with pid {pid}")
        fdt = task["files"]["fdt"]
        if fd < 0 or fd >= int(fdt["max_fds"]) or ptr(fdt["fd"][fd]) == 0:
            raise gdb.GdbError(f"pid {pid} has no fd {fd}")
        return [eventpoll_snapshot(Walker(), ep_of_file(fdt["fd"][fd]))]


# --- text and graphviz ----------------------------------------------------------

def item_label(i):
    return f"fd {i['fd']}" if i.get("fd") is not None else f"epitem 0x{i['addr']:x}"


def render_eventpoll_text(sets):
    out = []
    if not sets:
        out.append("no epoll set")
    for s in sets:
        out.append(f"eventpoll 0x{s['addr']:x}: {fds_label(s['fds'])}")
        out.append("  rdllist: " + (" -> ".join(item_label(i) for i in s["rdllist"]) or "empty"))
        if s["scanning"]:
            out.append("  ovflist: " + (" -> ".join(item_label(i) for i in s["ovflist"])
                                        or "empty (an epoll_wait() is copying events out)"))
        else:
            out.append("  ovflist: not in use (EP_UNACTIVE_PTR: no epoll_wait() is copying out)")
        for t in s["sleepers"]:
            out.append(f"  asleep in epoll_wait: {task_label(t)}")
        out.append(f"  {len(s['items'])} epitem(s):")
        for i in s["items"]:
            where = "on rdllist" if i["on_rdllist"] else "on ovflist" if i["on_ovflist"] \
                else "in the scan's batch" if i.get("in_scan_batch") else "off the ready list"
            disarmed = ", disarmed (ONESHOT fired)" if not i["events"] & ~EP_PRIVATE_BITS else ""
            out.append(f"    epitem 0x{i['addr']:x}: fd {i['fd']} ({i['kind']}), events "
                       f"{event_names(i['events'])}{disarmed}, data 0x{i['data']:016x}, {where}, "
                       f"on {len(i['queues'])} wait queue(s)")
    return "\n".join(out) + "\n"


def render_eventpoll_dot(sets, title=None):
    lines = ["digraph eventpoll {", "  rankdir=LR;", "  node [fontname=monospace, fontsize=10];",
             "  edge [fontname=monospace, fontsize=9];"]
    if title:
        lines += [f'  label="{title}";', "  labelloc=t;"]
    for s in sets:
        ep = f"ep_{s['addr']:x}"
        state = "scanning: ovflist in use" if s["scanning"] else "ovflist unused"
        lines.append(f'  {ep} [shape=box3d, label="eventpoll 0x{s["addr"]:x}\\n'
                     f'{fds_label(s["fds"])}\\n{state}"];')
        for i in s["items"]:
            key = f"epi_{i['addr']:x}"
            disarmed = "\\n(ONESHOT fired)" if not i["events"] & ~EP_PRIVATE_BITS else ""
            color = "gold" if i["on_rdllist"] else "orange" if i["on_ovflist"] \
                else "lightblue" if i.get("in_scan_batch") else "white"
            lines.append(f'  {key} [shape=note, style=filled, fillcolor={color}, label="epitem fd '
                         f'{i["fd"]} ({i["kind"]})\\n{event_names(i["events"])}{disarmed}\\n'
                         f'data 0x{i["data"]:x}"];')
            lines.append(f'  {ep} -> {key} [style=dotted, arrowhead=none, color=gray, label="rbr"];')
        prev = ep
        for n, i in enumerate(s["rdllist"], 1):
            lines.append(f'  {prev} -> epi_{i["addr"]:x} [color=goldenrod, penwidth=2, '
                         f'label="rdllist {n}"];')
            prev = f"epi_{i['addr']:x}"
        prev = ep
        for n, i in enumerate(s["ovflist"], 1):
            lines.append(f'  {prev} -> epi_{i["addr"]:x} [color=darkorange, style=dashed, '
                         f'penwidth=2, label="ovflist {n}"];')
            prev = f"epi_{i['addr']:x}"
        for t in s["sleepers"]:
            tkey = f"task_{ep}_{t['pid'] if t else 'x'}"
            label = f"pid {t['pid']}\\n{t['comm']}" if t else "task ?"
            lines.append(f'  {tkey} [shape=ellipse, label="{label}"];')
            lines.append(f'  {ep} -> {tkey} [label="wq: epoll_wait"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_dot(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class PollcountEventpoll(gdb.Command):
    """An epoll set, live: pollcount-eventpoll [--dot FILE] [EXPR | PID FD].

EXPR: a `struct eventpoll *` or epoll `struct file *` expression; PID FD: a
process's epoll fd; neither: every epoll set. Prints rdllist and ovflist in
order, the sleepers on ep->wq and every epitem (fd, events, epoll_data,
where it is linked). --dot FILE also writes them as a graphviz graph."""

    def __init__(self):
        super().__init__("pollcount-eventpoll", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        words = gdb.string_to_argv(arg)
        dot = None
        if len(words) >= 2 and words[0] == "--dot":
            dot, words = words[1], words[2:]
        if not words:
            sets = snapshot_all()
        elif len(words) == 2 and all(w.isdigit() for w in words):
            sets = snapshot_pid_fd(int(words[0]), int(words[1]))
        else:
            sets = snapshot_expr(" ".join(words))
        gdb.write(render_eventpoll_text(sets))
        if dot:
            write_dot(dot, render_eventpoll_dot(sets))
            gdb.write(f"graphviz: {dot}\n")


PollcountEventpoll()


# --- the check of make check --------------------------------------------------------
#
# samples/pollcount-epoll-states.c stops at markers (an unknown ioctl on a
# pollcount counter, ENOTTY); at each, the breakpoint below snapshots every
# epoll set of the sample; `report` judges them against the articles' claims.

STATES_COMM = "pcs-main"
PCS_MARK = (0xBB << 8) | 0x7E          # _IO(POLLCOUNT_IOC_MAGIC, 0x7e)
DATA = {"lt": 0x1111000000000001, "et": 0x2222000000000002, "oneshot": 0x3333000000000003,
        "late": 0x4444000000000004, "excl": 0x5555000000000005}
NAMES = {v: k for k, v in DATA.items()}
EPOLLIN, EPOLLET, EPOLLONESHOT = 0x001, 1 << 31, 1 << 30
STEPS = {1: "added", 2: "written", 3: "delivered", 4: "again", 5: "drained",
         6: "scanning", 7: "scanned", 8: "exclusive"}
states = {"hits": 0, "snapshots": {}, "errors": []}


def ioctl_args():
    """(cmd, arg) of the ioctl hook at its first instruction."""
    frame = gdb.newest_frame()
    try:
        return int(frame.read_var("cmd")), int(frame.read_var("arg"))
    except (gdb.error, ValueError):
        arch = frame.architecture().name()
        regs = ("x1", "x2") if "aarch64" in arch else ("rsi", "rdx")
        return tuple(int(frame.read_register(r)) & 0xffffffffffffffff for r in regs)


class StatesMarker(gdb.Breakpoint):
    def stop(self):
        states["hits"] += 1
        try:
            cmd, step = ioctl_args()
            if cmd & 0xffff != PCS_MARK:
                return False
            with CLanguage():
                me = task_info(current_task())
            if me["comm"] != STATES_COMM:
                return False
            sets = snapshot_all(me["tgid"])
            states["snapshots"][int(step)] = {"sets": sets, "text": render_eventpoll_text(sets)}
        except Exception:   # pylint: disable=broad-except
            states["errors"].append(traceback.format_exc())
        return False


def named(items):
    return [NAMES.get(i.get("data"), item_label(i)) for i in items]


MAIN_ITEMS = ("lt", "et", "oneshot", "late")


def main_set(sets):
    """The set with the four items (step 8 adds two with one each)."""
    four = [s for s in sets if len(s["items"]) == len(MAIN_ITEMS)]
    return four[0] if len(four) == 1 else None


def judge_states(snaps):
    """[(name, ok, diagnostics)] for the KTAP: one test per claim."""
    results = []

    def test(name, ok, *why):
        results.append((name, bool(ok), [w for w in why if w]))

    def at(step):
        snap = snaps.get(step)
        return (main_set(snap["sets"]) if snap else None), (snap["text"] if snap else "not reached")

    def items(s):
        return {NAMES.get(i["data"], hex(i["data"])): i for i in s["items"]} if s else {}

    s, text = at(1)
    it = items(s)
    test("epoll_ctl_add_makes_an_epitem_per_fd_on_its_file_queue",
         s and len(s["items"]) == len(MAIN_ITEMS) and not s["rdllist"] and not s["scanning"]
         and all(i["kind"] == "pollcount" and i["queues"] == [i["file_queue"]] for i in s["items"]),
         *text.splitlines())
    test("epoll_data_is_kept_untouched",
         s and sorted(i["data"] for i in s["items"]) == sorted(DATA[n] for n in MAIN_ITEMS)
         and it.get("et", {}).get("events", 0) & EPOLLET
         and it.get("oneshot", {}).get("events", 0) & EPOLLONESHOT,
         *text.splitlines())
    s, text = at(2)
    test("a_write_puts_items_on_rdllist_in_order",
         s and named(s["rdllist"]) == ["lt", "et", "oneshot"] and not s["scanning"],
         *text.splitlines())
    s, text = at(3)
    it = items(s)
    test("level_triggered_item_is_requeued_after_delivery",
         s and named(s["rdllist"]) == ["lt"] and it.get("lt", {}).get("on_rdllist"), *text.splitlines())
    test("edge_triggered_item_is_not_requeued",
         s and not it.get("et", {}).get("on_rdllist") and not it.get("et", {}).get("on_ovflist"), *text.splitlines())
    test("oneshot_item_is_disarmed_after_delivery",
         s and it.get("oneshot", {}).get("events", EPOLLIN) & ~EP_PRIVATE_BITS == 0
         and it.get("oneshot", {}).get("events", 0) & EPOLLONESHOT and not it.get("oneshot", {}).get("on_rdllist"),
         *text.splitlines())
    s, text = at(4)
    test("lt_stays_on_rdllist_through_a_second_wait",
         s and named(s["rdllist"]) == ["lt"], *text.splitlines())
    s, text = at(5)
    test("an_item_polled_empty_leaves_rdllist", s and not s["rdllist"], *text.splitlines())
    s, text = at(6)
    it = items(s)
    test("a_write_during_the_copy_out_lands_on_ovflist",
         s and s["scanning"] and named(s["ovflist"]) == ["late"] and it.get("late", {}).get("on_ovflist")
         and not it.get("late", {}).get("on_rdllist"), *text.splitlines())
    test("during_the_scan_lt_is_requeued_and_et_is_out",
         s and named(s["rdllist"]) == ["lt"] and not it.get("et", {}).get("on_rdllist"), *text.splitlines())
    s, text = at(7)
    test("ep_done_scan_moves_ovflist_to_rdllist",
         s and not s["scanning"] and named(s["rdllist"]) == ["late", "lt"]
         and not items(s).get("late", {}).get("on_ovflist"), *text.splitlines())
    snap = snaps.get(8)
    excl = [x for x in (snap["sets"] if snap else []) if [i["data"] for i in x["items"]] == [DATA["excl"]]]
    ready = [x for x in excl if x["items"][0]["on_rdllist"]]
    waiting = [x for x in excl if not x["items"][0]["on_rdllist"]]
    test("epollexclusive_wakes_one",
         len(excl) == 2 and len(ready) == 1 and len(waiting) == 1 and not ready[0]["sleepers"]
         and [t and t["comm"] for t in waiting[0]["sleepers"]] in (["pcs-excl1"], ["pcs-excl2"]),
         *(snap["text"] if snap else "not reached").splitlines())
    return results


def report_states(path):
    snaps = states["snapshots"]
    if not snaps:
        lines = ["TAP version 13", "1..1", "not ok 1 stopped_at_the_markers",
                 f"# the ioctl hook was hit {states['hits']} time(s), never at a marker of {STATES_COMM}"]
    else:
        lines = ktap_lines(judge_states(snaps))         # pollcount-waiters.py
    for e in states["errors"]:
        lines += [f"# {line}" for line in e.splitlines()]
    write_report(path, lines, "pollcount-epoll-states-check")
    # The drawings, one per step, beside the report: epoll-states-N-NAME.{dot,svg,txt}.
    base = os.path.dirname(path)
    for step, snap in sorted(snaps.items()):
        name = os.path.join(base, f"epoll-states-{step}-{STEPS.get(step, 'step')}")
        title = f"step {step}: {STEPS.get(step, '?')}"
        write_dot(name + ".dot", render_eventpoll_dot(snap["sets"], title))
        with open(name + ".txt", "w", encoding="utf-8") as out:
            out.write(snap["text"])
        render_svg(name + ".dot")


MarkerCheck("pollcount-epoll-states-check", StatesMarker, report_states)   # pollcount-waiters.py
