"""Timers: POSIX per-process timers (timer_create, timer_settime, timer_gettime,
timer_getoverrun, timer_delete), and ITIMER_REAL (setitimer, getitimer, alarm) below.

Each timer is a host timerfd, so the kernel keeps its arithmetic (relative and absolute
times, intervals, a realtime clock being set); one host thread waits on all of them and
turns each expiry into the timer's signal (SI_TIMER, with its id and value), to the
process or to one of its threads (SIGEV_THREAD_ID: what musl's SIGEV_THREAD uses, a
thread of its own waiting for the signal). While that signal is still pending, further
expiries are counted as overruns instead, as on Linux: a timer found expiring with its
signal pending is no longer watched (parked) until the signal is taken or dropped, its
expiries left to add up in the timerfd, so that a fast timer whose signal stays blocked
costs the host nothing (each expiry woke the host thread: one timer of 1 us kept a host
CPU busy outside the cage's CPU time). So is a timer whose signal the cage ignores,
until it stops ignoring it (Linux, too, re-arms such a timer only then), and one whose
thread (SIGEV_THREAD_ID) ended, for good (Linux's stops). Timers are not
inherited by fork and are deleted by exec and at the cage's end.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import struct
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from lind.microvisor import abi, limits
from lind.microvisor import sys_signals as signals
from lind.microvisor.abi import s32
from lind.microvisor.fs import checked, libc
from lind.microvisor.sys_events import get_host_timer, set_host_timer

SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
SI_TIMER = -2
TIMER_ABSTIME = 1
#: timers a cage may hold at once (EAGAIN past it): each is a host fd
MAX_TIMERS = 256
DELAYTIMER_MAX = 0x7FFFFFFF
# The clocks a timer may use (a timerfd's); Linux's CPU-time clocks are not offered.
_CLOCKS = {0: 0, 1: 1, 7: 7}        # CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME
_SIGEVENT = struct.Struct("<iiii")  # wasm32: sigev_value, signo, notify, notify_thread_id
_TFD_NONBLOCK_CLOEXEC = os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(eq=False)
class _Timer:
    cage: weakref.ref
    timer_id: int
    host_fd: int
    notify: int
    signo: int
    value: int
    thread: signals.ThreadSignals | None    # SIGEV_THREAD_ID's
    overrun: int = 0                        # timer_getoverrun's
    fd_share: object = None                 # its cage's tree's host fds (limits)
    parked: tuple[int, int] | None = None   # its key in _Timers._parked while parked

    def holder(self, cage) -> object:
        """Where its signal pends: its thread's signals, or the process's."""
        return self.thread if self.thread is not None else cage.signals


class _Timers:
    """Every cage's timers, and the host thread that sends their signals."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_cage: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._by_fd: dict[int, _Timer] = {}
        self._epoll: select.epoll | None = None
        # Timers not watched while their signal cannot be sent, by (id of where it
        # pends, signo).
        self._parked: dict[tuple[int, int], list[_Timer]] = {}

    def create(self, cage, clock: int, notify: int, signo: int, value: int,
               thread: signals.ThreadSignals | None) -> int:
        with self._lock:
            mine = self._by_cage.setdefault(cage, {})
            if len(mine) >= MAX_TIMERS:
                raise abi.error(errno.EAGAIN)
            share = getattr(cage, "fd_share", None)
            limits.host_fds.take(1, share=share)
            try:
                host_fd = checked(libc.timerfd_create(clock, _TFD_NONBLOCK_CLOEXEC))
            except OSError:
                limits.host_fds.give(1, share)
                raise
            timer_id = next(i for i in range(MAX_TIMERS + 1) if i not in mine)
            timer = _Timer(weakref.ref(cage), timer_id, host_fd, notify, signo,
                           timer_id if value is None else value, thread, fd_share=share)
            mine[timer_id] = timer
            if notify == SIGEV_NONE:        # nothing to send: the thread need not wake
                return timer_id
            self._by_fd[host_fd] = timer
            if self._epoll is None:
                self._epoll = select.epoll()
                threading.Thread(target=self._run, args=(self._epoll,), name="lind-timers",
                                 daemon=True).start()
            self._epoll.register(host_fd, select.EPOLLIN)
        return timer_id

    def act(self, cage, timer_id: int, action: Callable[[_Timer], int]) -> int:
        """`action` on the cage's timer `timer_id` (EINVAL: none) under the lock, so
        that its fd is not closed, and its number given to another file (another
        cage's timer), while the action uses it."""
        with self._lock:
            timer = self._by_cage.get(cage, {}).get(s32(timer_id))
            if timer is None:
                raise abi.error(errno.EINVAL)
            return action(timer)

    def delete(self, cage, timer_id: int) -> None:
        with self._lock:
            timer = self._by_cage.get(cage, {}).pop(s32(timer_id), None)
            if timer is None:
                raise abi.error(errno.EINVAL)
            self._close(timer)

    def delete_all(self, cage) -> None:
        with self._lock:
            for timer in self._by_cage.pop(cage, {}).values():
                self._close(timer)

    def _close(self, timer: _Timer) -> None:
        """With the lock held: the timer's fd goes (its expiries with it)."""
        watched = self._by_fd.pop(timer.host_fd, None) is not None and timer.parked is None
        if timer.parked is not None:
            self._parked[timer.parked].remove(timer)
            if not self._parked[timer.parked]:
                del self._parked[timer.parked]
            timer.parked = None
        if watched and self._epoll is not None:
            self._epoll.unregister(timer.host_fd)
        os.close(timer.host_fd)
        limits.host_fds.give(1, timer.fd_share)

    def park(self, cage, timer: _Timer, overruns: int) -> None:
        """`timer` expired while its signal could not be sent (pending, `overruns` more,
        or ignored): stop watching it until it can (signal_free), or now if it can
        already."""
        key = (id(timer.holder(cage)), timer.signo)
        with self._lock:
            timer.overrun = min(timer.overrun + overruns, DELAYTIMER_MAX)
            if timer.parked is not None or self._by_fd.get(timer.host_fd) is not timer:
                return              # parked already, or deleted
            self._epoll.unregister(timer.host_fd)
            timer.parked = key
            self._parked.setdefault(key, []).append(timer)
        if not _cannot_take(cage, timer.signo, timer.thread, timer):   # free already
            self.signal_free(timer.holder(cage), timer.signo)

    def signal_free(self, holder: object, sig: int) -> None:
        """`sig` may be sent to `holder` again (told with the signals' lock held, or
        not): the timers parked on it count what expired meanwhile as overruns and are
        watched again."""
        if not self._parked:
            return
        with self._lock:
            for timer in self._parked.pop((id(holder), sig), []):
                timer.parked = None
                try:
                    expiries = int.from_bytes(os.read(timer.host_fd, 8), "little")
                except BlockingIOError:
                    expiries = 0
                timer.overrun = min(timer.overrun + expiries, DELAYTIMER_MAX)
                self._epoll.register(timer.host_fd, select.EPOLLIN)

    def _run(self, epoll: select.epoll) -> None:
        while True:
            for host_fd, _ in epoll.poll():
                with self._lock:
                    timer = self._by_fd.get(host_fd)
                    if timer is None:
                        continue
                    try:
                        expiries = int.from_bytes(os.read(host_fd, 8), "little")
                    except BlockingIOError:      # disarmed or set again meanwhile
                        continue
                cage = timer.cage()
                if cage is not None:
                    try:
                        _expired(cage, timer, expiries)
                    except Exception as exc:    # one cage's must not stop every cage's timers
                        print(f"lind: internal error sending a timer's signal: {exc!r}",
                              file=sys.stderr)


def _expired(cage, timer: _Timer, expiries: int) -> None:
    """`expiries` more expiries of `timer` (watched, so not parked: nothing else counts
    its overruns now): its signal, or overruns while it waits."""
    pending = signals.pending_sources(cage, timer.signo, timer.thread)
    if timer in pending:
        _timers.park(cage, timer, expiries)
        return
    timer.overrun = min(expiries - 1, DELAYTIMER_MAX)
    # a timer's si_timerid, si_overrun and si_value lie where a child's pid, uid, status do
    info = signals.siginfo(timer.signo, SI_TIMER, timer.timer_id, timer.overrun,
                           s32(timer.value))
    signals.send(cage, timer.signo, info, own_thread=False, to=timer.thread, source=timer)
    # a standard signal pending from elsewhere (a kill), ignored, or for a thread that
    # ended (as Linux, whose timer stops then): it was not sent
    if (pending and timer.signo < signals.SIGRTMIN or signals.ignores(cage, timer.signo)
            or not signals.lives(cage, timer.thread)):
        _timers.park(cage, timer, 0)


def _cannot_take(cage, sig: int, thread: signals.ThreadSignals | None,
                 timer: _Timer | None = None) -> bool:
    """Whether `sig` sent to `cage` (or its `thread`) by `timer` now would not be: still
    pending from before (a realtime signal: its own), ignored, or its thread ended (for
    good: nothing frees it)."""
    pending = signals.pending_sources(cage, sig, thread)
    held = (any(source is timer for source in pending) if sig >= signals.SIGRTMIN
            else bool(pending))
    return held or signals.ignores(cage, sig) or not signals.lives(cage, thread)


_timers = _Timers()
signals.signal_free_watchers.append(_timers.signal_free)


def delete_all(cage) -> None:
    """exec, or the cage's end: its timers go."""
    _timers.delete_all(cage)


def sys_timer_create(cage, clock, sevp, timer_out, *_):
    clock = _CLOCKS.get(s32(clock))
    if clock is None:
        raise abi.error(errno.EINVAL)
    cage.mem.view(timer_out, 4, writing=True)          # EFAULT before a timer is made
    notify, signo, value, thread = SIGEV_SIGNAL, signal.SIGALRM, None, None
    if sevp:
        value, signo, notify, tid = _SIGEVENT.unpack(cage.mem.read(sevp, _SIGEVENT.size))
        if notify == SIGEV_THREAD_ID:
            thread = cage.signals.threads.get(tid)
            if thread is None:
                raise abi.error(errno.EINVAL)       # no thread of the caller's process
        elif notify not in (SIGEV_SIGNAL, SIGEV_NONE):
            raise abi.error(errno.EINVAL)           # SIGEV_THREAD is the C library's
        if notify != SIGEV_NONE and not 0 < signo < signals.NSIG:
            raise abi.error(errno.EINVAL)
    timer_id = _timers.create(cage, clock, notify, signo, value, thread)
    cage.mem.write(timer_out, struct.pack("<i", timer_id))
    return 0


def sys_timer_settime(cage, timer_id, flags, new, old, *_):
    flags = s32(flags) & TIMER_ABSTIME      # Linux ignores the other bits
    return _timers.act(cage, timer_id, lambda t: set_host_timer(cage, t.host_fd, flags, new, old))


def sys_timer_gettime(cage, timer_id, out, *_):
    return _timers.act(cage, timer_id, lambda t: get_host_timer(cage, t.host_fd, out))


def sys_timer_getoverrun(cage, timer_id, *_):
    return _timers.act(cage, timer_id, lambda t: t.overrun)


def sys_timer_delete(cage, timer_id, *_):
    _timers.delete(cage, timer_id)
    return 0


# ------------------------------------------------------- ITIMER_REAL and alarm

ITIMER_REAL = 0
SIGALRM = signal.SIGALRM
_TIMEVAL = struct.Struct("<qq")
_US = 1000


class _RealTimers:
    """Every cage's ITIMER_REAL, run by one host thread that sends SIGALRM.

    Like Linux: kept across exec, not inherited by fork, gone with the cage. A periodic
    timer that fell behind skips the expiries it missed instead of firing them all, and
    skips those that come while SIGALRM is still pending or ignored (parked): a timer of
    1 us whose signal the cage blocked kept this thread busy, outside the cage's CPU time.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._timers: dict[object, tuple[int, int]] = {}   # cage -> (deadline, interval) ns
        self._parked: set[object] = set()      # cages whose SIGALRM cannot be sent now
        self._thread: threading.Thread | None = None

    def get(self, cage) -> tuple[int, int]:
        """(ns until the next expiry, interval ns); (0, 0) when disarmed."""
        with self._changed:
            return self._setting(cage)

    def _setting(self, cage) -> tuple[int, int]:
        deadline, interval = self._timers.get(cage, (0, 0))
        if not deadline:
            return 0, 0
        return max(deadline - time.monotonic_ns(), 1), interval

    def set(self, cage, value: int, interval: int) -> tuple[int, int]:
        """Arm (value > 0) or disarm; returns the previous setting as get() does."""
        with self._changed:
            old = self._setting(cage)
            self._parked.discard(cage)
            if value:
                self._timers[cage] = (time.monotonic_ns() + value, interval)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="lind-itimer",
                                                    daemon=True)
                    self._thread.start()
            elif self._timers.pop(cage, None) is None:
                return old      # it had none: nothing changes for the timer thread
            self._changed.notify()
        return old

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic_ns()
                due = [cage for cage, (deadline, _) in self._timers.items()
                       if deadline <= now and cage not in self._parked]
                # each due cage's setting once this expiry is counted: its periodic
                # timer's next beat, or None (a one-shot timer is over)
                next_beat: dict[object, tuple[int, int] | None] = {}
                for cage in due:
                    deadline, interval = self._timers.pop(cage)
                    next_beat[cage] = None
                    if interval:
                        missed = (now - deadline) // interval + 1
                        self._timers[cage] = next_beat[cage] = (
                            deadline + missed * interval, interval)
                if not due:
                    nearest = min((d for c, (d, _) in self._timers.items()
                                   if c not in self._parked), default=None)
                    self._changed.wait(None if nearest is None else
                                       min((nearest - now) / 1e9, threading.TIMEOUT_MAX))
            for cage in due:
                try:
                    if _cannot_take(cage, SIGALRM, None):
                        self._park(cage, next_beat[cage])
                    else:
                        cage.signal_from_outside(SIGALRM)
                except Exception as exc:    # one cage's must not stop every cage's alarms
                    print(f"lind: internal error sending SIGALRM: {exc!r}", file=sys.stderr)

    def _park(self, cage, beat: tuple[int, int] | None) -> None:
        """SIGALRM is pending for `cage` (not taken since the last expiry), or ignored:
        this expiry is lost in it, as on Linux, and so are a periodic timer's next ones
        until the signal may be sent again (signal_free). `beat` is the setting _run
        left: a timer the cage set again since (setitimer, alarm) is a new one, whose
        expiries are still to come, and is not parked; nor is a one-shot timer (None),
        over with this expiry (parking a one-shot timer armed again meanwhile left a
        parked timer of no interval, which signal_free divided by)."""
        with self._changed:
            if beat is None or self._timers.get(cage) is not beat:
                return              # a one-shot timer, or disarmed or set again meanwhile
            self._parked.add(cage)
        if not _cannot_take(cage, SIGALRM, None):     # free before it was parked
            self.signal_free(cage.signals, SIGALRM)

    def signal_free(self, holder: object, sig: int) -> None:
        """`sig` may be sent to `holder` again (told with the signals' lock held, or not)."""
        if sig != SIGALRM or not self._parked:
            return
        with self._changed:
            now = time.monotonic_ns()
            for cage in [c for c in self._parked if c.signals is holder]:
                self._parked.discard(cage)
                deadline, interval = self._timers[cage]
                if deadline <= now:     # its next expiry, on the period's beat
                    deadline += ((now - deadline) // interval + 1) * interval
                    self._timers[cage] = (deadline, interval)
                self._changed.notify()


_real_timers = _RealTimers()
signals.signal_free_watchers.append(_real_timers.signal_free)


def cancel_real_timer(cage) -> None:
    """The cage ended: no more SIGALRM for it."""
    _real_timers.set(cage, 0, 0)


def _read_timeval(cage, addr: int) -> int:
    sec, usec = _TIMEVAL.unpack(cage.mem.read(addr, _TIMEVAL.size))
    if sec < 0 or not 0 <= usec < 10**6:
        raise OSError(errno.EINVAL, "Invalid argument")
    return sec * 10**9 + usec * _US


def _pack_timeval(ns: int) -> bytes:
    us = (ns + _US - 1) // _US          # round up: a pending expiry never shows as 0
    return _TIMEVAL.pack(us // 10**6, us % 10**6)


def _check_which(which: int) -> None:
    if which & 0xFFFFFFFF != ITIMER_REAL:
        raise OSError(errno.EINVAL, "only ITIMER_REAL is supported")


def sys_getitimer(cage, which, out, *_):
    _check_which(which)
    value, interval = _real_timers.get(cage)
    cage.mem.write(out, _pack_timeval(interval) + _pack_timeval(value))
    return 0


def sys_setitimer(cage, which, new, old, *_):
    _check_which(which)
    interval = _read_timeval(cage, new) if new else 0
    value = _read_timeval(cage, new + _TIMEVAL.size) if new else 0
    old_value, old_interval = _real_timers.set(cage, value, interval)
    if old:
        cage.mem.write(old, _pack_timeval(old_interval) + _pack_timeval(old_value))
    return 0


def sys_alarm(cage, seconds, *_):
    """The seconds the previous alarm had left, rounded to the nearest (as Linux)."""
    old_value, _ = _real_timers.set(cage, (seconds & 0xFFFFFFFF) * 10**9, 0)
    return (old_value + 500_000_000) // 10**9 or (1 if old_value else 0)
