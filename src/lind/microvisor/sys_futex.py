"""futex(2) between cages: wait for a 32-bit word to change, wake those waiting on it.

A cage's futex is the host kernel's futex on the word's host address (the trampoline
answers WAIT and WAKE from the cage's own thread itself; this handler serves the rest:
calls a grate passed on, words whose key its fast path cannot say, waits a signal
interrupted). Keys are Linux's: a word in a MAP_SHARED region is a shared futex, keyed
by the kernel by the pages behind it, so cages that map them, at any address, meet on
it (process-shared semaphores and mutexes of libc). Any other word, and every call with
FUTEX_PRIVATE_FLAG, is a private futex keyed by host address, which no other cage's
memory has. A wait also watches the wake eventfd of its thread, so a signal to take or
a kill ends it as it ends a poll.
"""

from __future__ import annotations

import errno
import time

from lind import threei
from lind.microvisor import sys_time
from lind.microvisor.abi import s32, u32

FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 3, 4
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
_MATCH_ANY = 0xFFFFFFFF


def _shared(cage, addr: int, private: bool) -> bool:
    return not private and cage.aspace.shared_at(addr) is not None


def _deadline(cage, addr: int, clock: int, relative: bool) -> int:
    """The timespec at `addr` as an absolute time in ns on `clock`, -1 for none."""
    if not addr:
        return -1
    ns = sys_time.read_timespec(cage, addr) + (time.clock_gettime_ns(clock) if relative else 0)
    return ns if ns < 1 << 62 else -1      # centuries: forever


def _wait(cage, addr: int, expected: int, shared: bool, bitset: int, deadline: int,
          realtime: bool) -> int:
    wake = cage.slot.acquire_wake()
    try:
        while True:
            if cage.stopping:
                raise OSError(errno.EINTR, "Interrupted system call")
            outcome = cage.slot.futex_wait(cage.mem, addr, expected, shared, bitset, deadline,
                                           realtime, wake)
            if outcome == threei.FUTEX_WOKEN:
                return 0
            cage.after_wake(wake, restartable=False)   # EINTR for a signal to take
    finally:
        cage.slot.release_wake()


def wake_word(cage, addr: int) -> None:
    """Wake one waiter on `cage`'s word at `addr`, as the kernel does for a thread's
    CLONE_CHILD_CLEARTID word when the thread ends."""
    cage.slot.futex_wake(cage.mem, addr, 1, _shared(cage, addr, False), _MATCH_ANY)


def sys_futex(cage, uaddr, op, val, timeout, uaddr2, val3):
    op = u32(op)
    command = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    addr = u32(uaddr)
    if addr % 4:
        raise OSError(errno.EINVAL, "Invalid argument")
    realtime = bool(op & FUTEX_CLOCK_REALTIME)
    if realtime and command not in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        raise OSError(errno.ENOSYS, "Function not implemented")
    if command not in (FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE,
                       FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET):
        raise OSError(errno.ENOSYS, "Function not implemented")
    private = bool(op & FUTEX_PRIVATE_FLAG)
    if command in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        target = u32(uaddr2)
        if target % 4:
            raise OSError(errno.EINVAL, "Invalid argument")
        shared = _shared(cage, addr, private) or _shared(cage, target, private)  # one kind, as Linux
        return cage.slot.futex_requeue(cage.mem, addr, target, s32(val), u32(timeout),
                                       command == FUTEX_CMP_REQUEUE, u32(val3), shared)
    bitset = _MATCH_ANY
    if command in (FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET):
        bitset = u32(val3)
        if not bitset:
            raise OSError(errno.EINVAL, "Invalid argument")
    shared = _shared(cage, addr, private)
    if command in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        return cage.slot.futex_wake(cage.mem, addr, s32(val), shared, bitset)
    clock = time.CLOCK_REALTIME if realtime else time.CLOCK_MONOTONIC
    deadline = _deadline(cage, u32(timeout), clock, relative=command == FUTEX_WAIT)
    return _wait(cage, addr, u32(val), shared, bitset, deadline, realtime)
