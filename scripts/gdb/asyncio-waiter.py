# SPDX-License-Identifier: GPL-2.0
"""A real event loop waiting on a counter: Python's asyncio.

Run in the virtme-ng VM with libpollcount-eventfd.so preloaded (by
scripts/gdb/event-loop-check, for `make check`, or by hand under
`make vng`), os.eventfd() is a pollcount counter. asyncio's default loop on
Linux is selectors.EpollSelector, so add_reader() puts an epoll item on the
counter's wait queue, and the loop sleeps in epoll_wait() until the counter
is written: what `pollcount-waiters PID FD` walks from gdb.

Usage: python3 asyncio-waiter.py READY GO
  writes "PID FD" to READY once the loop is about to wait, and has a thread
  write 7 to the counter once GO exists; prints what the loop then read.
"""

import asyncio
import os
import sys
import threading
import time


def main():
    ready, go = sys.argv[1], sys.argv[2]
    fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
    print(f"asyncio-waiter: fd {fd} is {os.readlink(f'/proc/self/fd/{fd}')}", flush=True)
    loop = asyncio.new_event_loop()
    woke = loop.create_future()

    def readable():
        if not woke.done():
            woke.set_result(os.eventfd_read(fd))

    def writer():
        deadline = time.monotonic() + 600
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.2)
        os.eventfd_write(fd, 7)

    loop.add_reader(fd, readable)
    threading.Thread(target=writer, daemon=True).start()
    # The loop is about to sleep in epoll_wait(): say where to look.
    loop.call_soon(lambda: open(ready, "w").write(f"{os.getpid()} {fd}\n"))
    value = loop.run_until_complete(asyncio.wait_for(woke, 660))
    print(f"asyncio-waiter: the loop woke and read {value}", flush=True)
    return 0 if value == 7 else 1


sys.exit(main())
