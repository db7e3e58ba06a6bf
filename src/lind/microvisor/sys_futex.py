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
FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_LOCK_PI2 = 6, 7, 8, 13
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK = 0x80000000, 0x40000000, 0x3FFFFFFF
_MATCH_ANY = 0xFFFFFFFF
_PI_COMMANDS = (FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_LOCK_PI2)


def _shared(cage, addr: int, private: bool) -> bool:
    return not private and cage.aspace.shared_at(addr) is not None


def _deadline(cage, addr: int, clock: int, relative: bool) -> int:
    """The timespec at `addr` as an absolute time in ns on `clock`, -1 for none."""
    if not addr:
        return -1
    ns = sys_time.read_timespec(cage, addr) + (time.clock_gettime_ns(clock) if relative else 0)
    return ns if ns < 1 << 62 else -1      # centuries: forever


def _wait(cage, addr: int, expected: int, shared: bool, bitset: int, deadline: int,
          realtime: bool, restartable: bool) -> int:
    wake = cage.slot.acquire_wake()
    try:
        while True:
            if cage.stopping:
                raise OSError(errno.EINTR, "Interrupted system call")
            outcome = cage.slot.futex_wait(cage.mem, addr, expected, shared, bitset, deadline,
                                           realtime, wake)
            if outcome == threei.FUTEX_WOKEN:
                return 0
            cage.after_wake(wake, restartable)   # EINTR (or a restart) for a signal to take
    finally:
        cage.slot.release_wake()


# -- priority-inheritance futexes: the word holds the owner's thread id
#
# What musl's PTHREAD_PRIO_INHERIT mutexes use. The host kernel's PI futexes cannot
# serve them (the word holds the cage's thread ids, which name no host thread, and the
# kernel would boost whichever host thread had that number), so the protocol is kept
# here on the ordinary futex: the owner word, the waiters bit, EDEADLK, EPERM, ESRCH
# and a dead owner's FUTEX_OWNER_DIED as Linux has them. No priorities are boosted
# (cages have none to inherit), and an unlock wakes every waiter to take it again
# rather than handing it to one (no waiter is left asleep on a free word when the one
# woken gives up: a timeout, EINTR).

def _pi(cage, command: int, addr: int, shared: bool, timeout: int, realtime: bool) -> int:
    me = cage.current_tid()
    if command == FUTEX_UNLOCK_PI:
        return _pi_unlock(cage, addr, me, shared)
    if command == FUTEX_TRYLOCK_PI:
        if _pi_take(cage, addr, me, waiters=False, shared=shared):
            return 0
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
    # FUTEX_LOCK_PI's timeout is CLOCK_REALTIME; LOCK_PI2's CLOCK_MONOTONIC unless asked
    realtime = realtime or command == FUTEX_LOCK_PI
    clock = time.CLOCK_REALTIME if realtime else time.CLOCK_MONOTONIC
    deadline = _deadline(cage, timeout, clock, relative=False)
    waited = False
    wake = cage.slot.acquire_wake()
    try:
        while True:
            if _pi_take(cage, addr, me, waiters=waited, shared=shared):
                return 0
            seen = _pi_word(cage, addr)
            if not seen & FUTEX_TID_MASK:
                # freed since the look (an owner's unlock in user space, which wakes
                # nobody): take it again rather than sleep on a word with no owner
                continue
            if not seen & FUTEX_WAITERS:   # the owner's unlock must come to the kernel
                if cage.mem.compare_exchange_u32(addr, seen, seen | FUTEX_WAITERS) != seen:
                    continue
                seen |= FUTEX_WAITERS
            waited = True
            try:
                outcome = cage.slot.futex_wait(cage.mem, addr, seen, shared, _MATCH_ANY,
                                               deadline, realtime, wake)
            except OSError as exc:
                if exc.errno != errno.EAGAIN:      # EAGAIN: it changed meanwhile
                    raise
                continue
            if outcome != threei.FUTEX_WOKEN:
                # a handler to run: Linux makes FUTEX_LOCK_PI again after it, SA_RESTART
                # or not (ERESTARTNOINTR; the deadline is absolute), never EINTR
                cage.after_wake(wake, restartable=True, always=True)
    finally:
        cage.slot.release_wake()


def _unless_stopping(cage) -> None:
    if cage.stopping:
        raise OSError(errno.EINTR, "Interrupted system call")


def _pi_word(cage, addr: int) -> int:
    return int.from_bytes(cage.mem.read(addr, 4), "little")


def _pi_take(cage, addr: int, me: int, waiters: bool, shared: bool) -> bool:
    """Make the calling thread the owner if the word has none (or a dead one); EDEADLK
    if it is already, ESRCH if the owner is no thread of this cage (a private word)."""
    while True:     # again while another thread changes the word under the swap
        _unless_stopping(cage)
        seen = _pi_word(cage, addr)
        owner = seen & FUTEX_TID_MASK
        if owner == me:
            raise OSError(errno.EDEADLK, "Resource deadlock avoided")
        if owner and not shared and owner not in cage.thread_ids():
            if not seen & FUTEX_OWNER_DIED:
                raise OSError(errno.ESRCH, "No such process")
            owner = 0        # robust: the owner died and said so; taken over below
        if owner:
            return False
        kept = seen & (FUTEX_WAITERS | FUTEX_OWNER_DIED)
        new = me | kept | (FUTEX_WAITERS if waiters else 0)
        if cage.mem.compare_exchange_u32(addr, seen, new) == seen:
            return True


def _pi_unlock(cage, addr: int, me: int, shared: bool) -> int:
    """EPERM unless the caller owns it; free the word and wake the waiters to take it."""
    while True:
        _unless_stopping(cage)
        seen = _pi_word(cage, addr)
        if seen & FUTEX_TID_MASK != me:
            raise OSError(errno.EPERM, "Operation not permitted")
        if cage.mem.compare_exchange_u32(addr, seen, 0) == seen:
            break
    if seen & FUTEX_WAITERS:
        cage.slot.futex_wake(cage.mem, addr, 0x7FFFFFFF, shared, _MATCH_ANY)
    return 0


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
    if realtime and command not in (FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI2):
        raise OSError(errno.ENOSYS, "Function not implemented")
    if command not in (FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE,
                       FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET, *_PI_COMMANDS):
        raise OSError(errno.ENOSYS, "Function not implemented")
    private = bool(op & FUTEX_PRIVATE_FLAG)
    if command in _PI_COMMANDS:
        return _pi(cage, command, addr, _shared(cage, addr, private), u32(timeout), realtime)
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
    # A wait without a timeout is made again after an SA_RESTART handler (Linux's
    # ERESTARTSYS); one with a timeout answers EINTR (ERESTART_RESTARTBLOCK).
    return _wait(cage, addr, u32(val), shared, bitset, deadline, realtime,
                 restartable=not u32(timeout))
