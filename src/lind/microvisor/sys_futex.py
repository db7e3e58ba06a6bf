"""futex(2) between cages: wait for a 32-bit word to change, wake those waiting on it.

Waiters are keyed as Linux keys them. A word in a MAP_SHARED region is keyed by the
pages behind it and its offset in them, so cages that map the same pages, at any
address, meet on it (process-shared semaphores and mutexes of libc). Any other word,
and every call with FUTEX_PRIVATE_FLAG, is keyed by (cage, address), as Linux keys a
private futex by (mm, address); by the Cage object, not its id, which is unique only
within its Runtime. One lock orders a waiter's check of the word against wakers, so a
wake that follows a change of the word cannot be missed.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Hashable

from lind.microvisor import abi
from lind.microvisor.abi import s32, u32

FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 0, 1, 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
_MATCH_ANY = 0xFFFFFFFF


class _Waiter:
    """One cage thread blocked in FUTEX_WAIT; `gate` opens when it is woken or interrupted."""

    __slots__ = ("cage", "tid", "key", "bitset", "gate", "outcome")

    def __init__(self, cage, key: Hashable, bitset: int) -> None:
        self.cage = cage
        self.tid = cage.current_tid()
        self.key = key
        self.bitset = bitset
        self.gate = threading.Lock()
        self.gate.acquire()
        self.outcome: int | None = None   # 0: woken; EINTR: interrupted

    def open(self, outcome: int) -> None:
        """With `_lock` held: take it off the queues and let it run."""
        self.outcome = outcome
        queue = _queues[self.key]
        queue.remove(self)
        if not queue:
            del _queues[self.key]
        waiters = _waiting[self.cage]
        waiters.remove(self)
        if not waiters:
            del _waiting[self.cage]
        self.gate.release()


_lock = threading.Lock()
_queues: dict[Hashable, list[_Waiter]] = {}   # key -> waiters, oldest first
_waiting: dict[object, list[_Waiter]] = {}    # cage -> its threads' waiters


def _key(cage, addr: int, private: bool) -> Hashable:
    if not private:
        share = cage.aspace.shared_at(addr)
        if share is not None:
            return share
    return (cage, addr)


def _timeout(cage, addr: int, clock: int | None) -> float | None:
    """Seconds to wait for a timespec at `addr` (0: forever): relative, or absolute on `clock`."""
    if not addr:
        return None
    sec, nsec = abi.unpack_timespec(cage.mem.read(addr, abi.TIMESPEC_SIZE))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise OSError(errno.EINVAL, "Invalid argument")
    ns = sec * 10**9 + nsec
    if clock is not None:
        ns -= time.clock_gettime_ns(clock)
    return max(ns, 0) / 1e9


def _wait(cage, addr: int, expected: int, key: Hashable, bitset: int,
          timeout: float | None) -> int:
    with _lock:
        if int.from_bytes(cage.mem.read(addr, 4), "little") != expected:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        waiter = _Waiter(cage, key, bitset)
        _queues.setdefault(key, []).append(waiter)
        _waiting.setdefault(cage, []).append(waiter)
    if cage.kill_requested:   # registered first: a kill from now on opens the gate
        interrupt(cage)
    if timeout is None:
        waiter.gate.acquire()
    else:
        waiter.gate.acquire(timeout=min(timeout, threading.TIMEOUT_MAX))   # years: "forever"
    with _lock:
        if waiter.outcome is None:
            waiter.open(errno.ETIMEDOUT)
    if waiter.outcome:
        raise OSError(waiter.outcome, "futex wait ended")
    return 0


def _wake(key: Hashable, count: int, bitset: int) -> int:
    """Wake up to `count` waiters on `key` whose bitset meets `bitset` (at least one, as
    Linux does for a count of 0)."""
    woken = 0
    with _lock:
        for waiter in list(_queues.get(key, ())):
            if waiter.bitset & bitset:
                waiter.open(0)
                woken += 1
                if woken >= count:
                    break
    return woken


def interrupt(cage, tid: int | None = None) -> None:
    """End the futex waits of `cage`'s thread `tid` with EINTR (a signal for it), or of
    all its threads (it is ending)."""
    with _lock:
        for waiter in list(_waiting.get(cage, ())):
            if tid is None or waiter.tid == tid:
                waiter.open(errno.EINTR)


def wake_word(cage, addr: int) -> None:
    """Wake one waiter on `cage`'s word at `addr`, as the kernel does for a thread's
    CLONE_CHILD_CLEARTID word when the thread ends."""
    _wake(_key(cage, addr, False), 1, _MATCH_ANY)


def sys_futex(cage, uaddr, op, val, timeout, uaddr2, val3):
    op = u32(op)
    command = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    addr = u32(uaddr)
    if addr % 4:
        raise OSError(errno.EINVAL, "Invalid argument")
    if op & FUTEX_CLOCK_REALTIME and command not in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        raise OSError(errno.ENOSYS, "Function not implemented")
    key = _key(cage, addr, bool(op & FUTEX_PRIVATE_FLAG))
    if command == FUTEX_WAIT:
        return _wait(cage, addr, u32(val), key, _MATCH_ANY, _timeout(cage, u32(timeout), None))
    if command == FUTEX_WAKE:
        return _wake(key, s32(val), _MATCH_ANY)
    if command in (FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET):
        bitset = u32(val3)
        if not bitset:
            raise OSError(errno.EINVAL, "Invalid argument")
        if command == FUTEX_WAKE_BITSET:
            return _wake(key, s32(val), bitset)
        clock = time.CLOCK_REALTIME if op & FUTEX_CLOCK_REALTIME else time.CLOCK_MONOTONIC
        return _wait(cage, addr, u32(val), key, bitset, _timeout(cage, u32(timeout), clock))
    raise OSError(errno.ENOSYS, "Function not implemented")
