// SPDX-License-Identifier: GPL-2.0

//! The counter's rules, as plain data: no locking, no C types, no I/O.
//!
//! A [`Counter`] is what one pollcount file holds. The caller (the file
//! plumbing in `pollcount_main.rs`) keeps it under its wait queue's lock, calls
//! [`Counter::read`] and [`Counter::write`], and wakes the wait queue with the
//! poll events each successful call returns. Every rule of `fs/eventfd.c` and
//! of the mailbox lives here, so KUnit can check each transition directly.
//!
//! Two modes: **counter** (eventfd's: a write adds, a read takes the count,
//! or 1 as a semaphore; a read at 0 or a write past [`COUNT_MAX`] would
//! block) and **mailbox** (the epoll articles' demo, fixed: one slot, which
//! a write fills with a non-zero value and a read empties).

use crate::kernel_ext::poll::{PollFlag, PollFlags};

/// The largest count writes can reach: `0xfffffffffffffffe`, as in eventfd.
pub(crate) const COUNT_MAX: u64 = u64::MAX - 1;

/// A count no write can produce (only an initial count can be set to it):
/// poll reports `EPOLLERR` for it, as eventfd does.
pub(crate) const COUNT_OVERFLOW: u64 = u64::MAX;

/// A read would not block: `EPOLLIN | EPOLLRDNORM`.
pub(crate) fn readable() -> PollFlags {
    PollFlag::In | PollFlag::RdNorm
}

/// A write of 1 would not block: `EPOLLOUT | EPOLLWRNORM`.
pub(crate) fn writable() -> PollFlags {
    PollFlag::Out | PollFlag::WrNorm
}

/// How a counter behaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// eventfd's counter; `semaphore` is `EFD_SEMAPHORE`.
    Counter {
        /// Reads take 1 instead of the whole count.
        semaphore: bool,
    },
    /// One slot, full or empty.
    Mailbox,
}

/// Why an operation did not happen.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Refused {
    /// Not now: the caller blocks, or returns `EAGAIN`.
    WouldBlock,
    /// Never: the caller returns `EINVAL`.
    Invalid,
}

/// One pollcount counter.
#[derive(Debug)]
pub(crate) struct Counter {
    count: u64,
    mode: Mode,
}

impl Counter {
    /// A counter in `mode` holding `initial`.
    ///
    /// Any initial count is valid in counter mode ([`COUNT_OVERFLOW`] gives
    /// eventfd's `EPOLLERR` state). A mailbox can start empty (0) or full,
    /// but not with [`COUNT_OVERFLOW`], which no write could store either.
    pub(crate) fn new(mode: Mode, initial: u64) -> Result<Counter, Refused> {
        if mode == Mode::Mailbox && initial == COUNT_OVERFLOW {
            return Err(Refused::Invalid);
        }
        Ok(Counter {
            count: initial,
            mode,
        })
    }

    /// The current count (the slot's value in mailbox mode).
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The mode it was created with.
    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// The value [`Counter::read`] would return now, without taking it.
    pub(crate) fn next_read(&self) -> Option<u64> {
        match (self.count, self.mode) {
            (0, _) => None,
            (_, Mode::Counter { semaphore: true }) => Some(1),
            (count, _) => Some(count),
        }
    }

    /// Takes a value: the whole count, 1 in semaphore mode, or the slot.
    ///
    /// On success returns the value and the events that became true, which
    /// the caller wakes waiters with: room to write.
    pub(crate) fn read(&mut self) -> Result<(u64, PollFlags), Refused> {
        let value = self.next_read().ok_or(Refused::WouldBlock)?;
        self.count -= value;
        Ok((value, writable()))
    }

    /// Whether `value` can ever be written, whatever the state: the checks
    /// eventfd makes before it takes the lock.
    pub(crate) fn check_value(&self, value: u64) -> Result<(), Refused> {
        match (self.mode, value) {
            (_, COUNT_OVERFLOW) | (Mode::Mailbox, 0) => Err(Refused::Invalid),
            _ => Ok(()),
        }
    }

    /// Adds `value` (counter) or stores it (mailbox).
    ///
    /// On success returns the events that became true: something to read.
    /// Like eventfd, a counter wakes readers on every write, even of 0, so
    /// edge-triggered epoll reports each write.
    pub(crate) fn write(&mut self, value: u64) -> Result<PollFlags, Refused> {
        self.check_value(value)?;
        match self.mode {
            // eventfd's test, `ULLONG_MAX - count > value`, as a checked
            // sum: rustc cannot see that the test rules out an overflow of
            // `count + value`, and would keep a panic in every write.
            Mode::Counter { .. } => match self.count.checked_add(value) {
                Some(sum) if sum < COUNT_OVERFLOW => self.count = sum,
                _ => return Err(Refused::WouldBlock),
            },
            Mode::Mailbox if self.count == 0 => self.count = value,
            Mode::Mailbox => return Err(Refused::WouldBlock),
        }
        Ok(readable())
    }
}

impl Mode {
    /// What `poll` reports for a counter of this mode at `count`: readable when a read would
    /// not block, writable when a write of 1 would not, `EPOLLERR` at [`COUNT_OVERFLOW`]. A
    /// function of the count alone, so `poll` can report it from a count read without the lock.
    pub(crate) fn events(self, count: u64) -> PollFlags {
        let mut events = PollFlags::empty();
        if count != 0 {
            events |= readable();
        }
        let can_write = match self {
            Mode::Counter { .. } => count < COUNT_MAX,
            Mode::Mailbox => count == 0,
        };
        if can_write {
            events |= writable();
        }
        if count == COUNT_OVERFLOW {
            events |= PollFlag::Err;
        }
        events
    }
}

#[kernel::prelude::kunit_tests(pollcount_counter)]
mod tests {
    use super::*;

    const COUNTER: Mode = Mode::Counter { semaphore: false };
    const SEMAPHORE: Mode = Mode::Counter { semaphore: true };

    /// A counter in any state, built directly (`Counter::new` is tested on its own).
    fn counter(mode: Mode, count: u64) -> Counter {
        Counter { count, mode }
    }

    impl Counter {
        /// What `poll` reports for this counter now.
        fn events(&self) -> PollFlags {
            self.mode.events(self.count)
        }
    }

    #[test]
    fn counter_read_takes_all_and_resets() {
        let mut c = counter(COUNTER, 0);
        assert_eq!(c.read(), Err(Refused::WouldBlock));
        assert_eq!(c.write(3), Ok(readable()));
        assert_eq!(c.write(4), Ok(readable()));
        assert_eq!(c.count(), 7);
        assert_eq!(c.read(), Ok((7, writable())));
        assert_eq!(c.count(), 0);
        assert_eq!(c.read(), Err(Refused::WouldBlock));
    }

    #[test]
    fn counter_write_zero_succeeds_and_wakes() {
        let mut c = counter(COUNTER, 0);
        assert_eq!(c.write(0), Ok(readable()));
        assert_eq!(c.count(), 0);
        assert_eq!(c.next_read(), None);
    }

    #[test]
    fn counter_write_max_is_invalid() {
        let mut c = counter(COUNTER, 5);
        assert_eq!(c.write(u64::MAX), Err(Refused::Invalid));
        assert_eq!(c.count(), 5);
    }

    #[test]
    fn counter_overflow_edge() {
        let mut c = counter(COUNTER, 0);
        assert_eq!(c.write(COUNT_MAX), Ok(readable()));
        assert_eq!(c.count(), 0xffff_ffff_ffff_fffe);
        assert_eq!(c.write(1), Err(Refused::WouldBlock));
        assert_eq!(c.write(0), Ok(readable()));
        assert_eq!(c.events(), readable());

        let mut c = counter(COUNTER, COUNT_MAX - 1);
        assert_eq!(c.write(2), Err(Refused::WouldBlock));
        assert_eq!(c.write(1), Ok(readable()));
        assert_eq!(c.count(), COUNT_MAX);
        assert_eq!(c.read(), Ok((COUNT_MAX, writable())));
        assert_eq!(c.write(COUNT_MAX), Ok(readable()));
    }

    #[test]
    fn counter_overflow_state_reports_err_and_blocks_writes() {
        let mut c = counter(COUNTER, COUNT_OVERFLOW);
        assert_eq!(c.events(), readable() | PollFlag::Err);
        assert_eq!(c.write(0), Err(Refused::WouldBlock));
        assert_eq!(c.read(), Ok((COUNT_OVERFLOW, writable())));
        assert_eq!(c.events(), writable());
    }

    #[test]
    fn semaphore_reads_one_at_a_time() {
        let mut c = counter(SEMAPHORE, 3);
        assert_eq!(c.read(), Ok((1, writable())));
        assert_eq!(c.read(), Ok((1, writable())));
        assert_eq!(c.count(), 1);
        assert_eq!(c.read(), Ok((1, writable())));
        assert_eq!(c.read(), Err(Refused::WouldBlock));
        assert_eq!(c.write(2), Ok(readable()));
        assert_eq!(c.count(), 2);
    }

    #[test]
    fn mailbox_holds_one_value() {
        let mut c = counter(Mode::Mailbox, 0);
        assert_eq!(c.read(), Err(Refused::WouldBlock));
        assert_eq!(c.write(42), Ok(readable()));
        assert_eq!(c.write(7), Err(Refused::WouldBlock));
        assert_eq!(c.count(), 42);
        assert_eq!(c.read(), Ok((42, writable())));
        assert_eq!(c.read(), Err(Refused::WouldBlock));
        assert_eq!(c.write(7), Ok(readable()));
    }

    #[test]
    fn mailbox_refuses_zero_and_max() {
        let mut c = counter(Mode::Mailbox, 0);
        assert_eq!(c.write(0), Err(Refused::Invalid));
        assert_eq!(c.write(u64::MAX), Err(Refused::Invalid));
        assert_eq!(c.count(), 0);
        // Invalid even when full: validity does not depend on the state.
        assert_eq!(c.write(1), Ok(readable()));
        assert_eq!(c.write(0), Err(Refused::Invalid));
        assert_eq!(c.write(COUNT_MAX), Err(Refused::WouldBlock));
        assert_eq!(
            Counter::new(Mode::Mailbox, u64::MAX).map(|c| c.count()),
            Err(Refused::Invalid)
        );
        assert_eq!(Counter::new(Mode::Mailbox, 5).map(|c| c.count()), Ok(5));
        assert_eq!(
            Counter::new(COUNTER, u64::MAX).map(|c| c.count()),
            Ok(u64::MAX)
        );
    }

    #[test]
    fn events_in_each_state() {
        assert_eq!(counter(COUNTER, 0).events(), writable());
        assert_eq!(counter(COUNTER, 1).events(), readable() | writable());
        assert_eq!(
            counter(COUNTER, COUNT_MAX - 1).events(),
            readable() | writable()
        );
        assert_eq!(counter(COUNTER, COUNT_MAX).events(), readable());
        assert_eq!(counter(Mode::Mailbox, 0).events(), writable());
        assert_eq!(counter(Mode::Mailbox, 9).events(), readable());
        assert_eq!(counter(Mode::Mailbox, COUNT_MAX).events(), readable());
        // What a poll caller tests for: readable and writable are disjoint.
        assert!(counter(COUNTER, 1).events().contains(PollFlag::In));
        assert!(!counter(Mode::Mailbox, 9).events().contains(PollFlag::Out));
        assert!(!counter(Mode::Mailbox, 0).events().contains(PollFlag::In));
    }

    #[test]
    fn next_read_is_what_read_returns() {
        for (mode, count) in [
            (COUNTER, 0),
            (COUNTER, 7),
            (SEMAPHORE, 7),
            (Mode::Mailbox, 0),
            (Mode::Mailbox, 9),
            (COUNTER, COUNT_OVERFLOW),
        ] {
            let mut c = counter(mode, count);
            let peeked = c.next_read();
            assert_eq!(c.count(), count);
            assert_eq!(peeked, c.read().ok().map(|(value, _)| value));
        }
    }

    #[test]
    fn check_value_is_what_write_refuses_for_good() {
        // Any state: the refusals that waiting cannot cure.
        for (mode, count) in [(COUNTER, 0), (COUNTER, COUNT_MAX), (Mode::Mailbox, 9)] {
            let c = counter(mode, count);
            assert_eq!(c.check_value(u64::MAX), Err(Refused::Invalid));
            assert_eq!(c.check_value(COUNT_MAX), Ok(()));
        }
        assert_eq!(
            counter(Mode::Mailbox, 0).check_value(0),
            Err(Refused::Invalid)
        );
        assert_eq!(counter(COUNTER, 0).check_value(0), Ok(()));
        // A semaphore keeps its mode through reads and writes.
        let mut c = counter(SEMAPHORE, 2);
        assert_eq!(c.write(1), Ok(readable()));
        assert_eq!(c.read(), Ok((1, writable())));
        assert_eq!(c.mode(), SEMAPHORE);
        assert_eq!(c.count(), 2);
    }
}
