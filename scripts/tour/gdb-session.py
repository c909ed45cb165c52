# SPDX-License-Identifier: GPL-2.0
"""gdb sessions as a person would type them, run by the tour (scripts/tour/tour).

Run inside `gdb -batch` (scripts/gdb/gdb) attached to a VM halted at its
first instruction whose guest runs the session's sample
($POLLCOUNT_SESSION: "epoll-path" runs pollcount-epoll-path, "waiters"
pollcount-waiters). Each command runs in turn; the transcript, "(gdb)
COMMAND" and what gdb printed, goes to $POLLCOUNT_SESSION_OUT, which
Documentation/gdb.md and tour.md show. Then the breakpoints go and the VM
runs to its end.
"""

import os

import gdb


def sample_pid():
    """The stopped task's process, for commands that name it (C, for the
    kernel's $lx_current(), whatever frame we stopped in)."""
    gdb.execute("set language c")
    try:
        return int(gdb.parse_and_eval("$lx_current().tgid"))
    finally:
        gdb.execute("set language auto")


# `frame` after each `continue`: gdb prints where it stopped outside what
# a script can capture, so the transcript asks for it. A command may be a
# function of nothing, for one that names what only the run knows.
SESSIONS = {
    # A write's wakeup, from pollcount's write hook to ep_poll_callback.
    "epoll-path": [
        "pollcount-functions Pollcount>>::write",
        "pollcount-break Pollcount>>::write",
        "break ep_poll_callback",
        "continue",
        "frame",
        "bt 4",
        "continue",
        "frame",
        "bt",
        "lx-ps",
    ],
    # The waiters sample: its create ioctl, then its marker, where every
    # waiter sleeps on the counter (fd 4).
    "waiters": [
        "pollcount-break FileOps<pollcount_main::Pollcount>>::ioctl",
        "continue",
        "frame",
        "continue",
        "frame",
        "pollcount-waiters",
        lambda: f"pollcount-waiters --dot /tmp/waiters.dot {sample_pid()} 4",
        lambda: f"pollcount-eventpoll {sample_pid()} 5",
    ],
}
# Lines of gdb's own noise, not the session's (gdb reads the kernel's DWARF
# index once and says so).
NOISE = ("warning: Section .debug_names",)


def run(command):
    try:
        out = gdb.execute(command, to_string=True)
    except gdb.error as err:
        out = f"{err}\n"
    return [line for line in out.splitlines() if not line.startswith(NOISE)]


def main():
    lines = []
    for command in SESSIONS[os.environ.get("POLLCOUNT_SESSION", "epoll-path")]:
        if callable(command):
            command = command()
        lines.append(f"(gdb) {command}")
        got = run(command)
        if command == "lx-ps":
            # The process list: its header and the sample's line.
            got = got[:1] + [line for line in got if "pollcount" in line]
        lines += got
    with open(os.environ["POLLCOUNT_SESSION_OUT"], "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    gdb.execute("delete")
    gdb.execute("continue")


main()
