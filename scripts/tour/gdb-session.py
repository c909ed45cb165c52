# SPDX-License-Identifier: GPL-2.0
"""A gdb session as a person would type it, run by the tour (scripts/tour/tour).

Run inside `gdb -batch` (scripts/gdb/gdb) attached to a VM halted at its
first instruction whose guest runs `pollcount-epoll-path`. Each command of
SESSION runs in turn; the transcript, "(gdb) COMMAND" and what gdb printed,
goes to $POLLCOUNT_SESSION_OUT, which Documentation/gdb.md and tour.md show.
Then the breakpoints go and the VM runs to its end.
"""

import os

import gdb

# `frame` after each `continue`: gdb prints where it stopped outside what
# a script can capture, so the transcript asks for it.
SESSION = [
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
]
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
    for command in SESSION:
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
