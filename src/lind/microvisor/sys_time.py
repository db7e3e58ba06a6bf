"""Clocks, sleeping, interval timers, randomness and the system's name."""

from __future__ import annotations

import errno
import os
import struct
import threading
import time

from lind import threei
from lind.microvisor import abi

_CLOCKS = {
    0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 2: time.CLOCK_PROCESS_CPUTIME_ID,
    3: time.CLOCK_THREAD_CPUTIME_ID, 4: time.CLOCK_MONOTONIC_RAW, 5: 5, 6: 6, 7: time.CLOCK_BOOTTIME,
}
_GRND_NONBLOCK, _GRND_RANDOM = 1, 2
_MAX_RW_COUNT = 0x7FFFF000   # the most one read or write moves on Linux


def _clock(clk: int) -> int:
    try:
        return _CLOCKS[clk & 0xFFFFFFFF]
    except KeyError:
        raise OSError(errno.EINVAL, "Invalid clock") from None


def sys_clock_gettime(cage, clk, tp, *_):
    clock = _clock(clk)
    if clock == time.CLOCK_PROCESS_CPUTIME_ID:     # the cage's, not the Lind process's
        now = round(sum(cage.cpu_times()) * 1e9)   # (which counts every tenant's)
    elif clock == time.CLOCK_THREAD_CPUTIME_ID:
        now = round(cage.thread_cpu_seconds() * 1e9)
    else:
        now = time.clock_gettime_ns(clock)
    cage.mem.write(tp, abi.pack_timespec(now))
    return 0


def sys_clock_getres(cage, clk, tp, *_):
    res = time.clock_getres(_clock(clk))
    if tp:
        cage.mem.write(tp, abi.pack_timespec(round(res * 1e9)))
    return 0


def sys_gettimeofday(cage, tv, tz, *_):
    if tv:
        now = time.time_ns()
        cage.mem.write(tv, struct.pack("<qq", now // 10**9, now % 10**9 // 1000))
    if tz:
        cage.mem.write(tz, b"\0" * 8)
    return 0


def sys_time(cage, tloc, *_):
    now = time.time_ns() // 10**9
    if tloc:
        cage.mem.write(tloc, struct.pack("<q", now))
    return now


def read_timespec(cage, addr: int) -> int:
    """A struct timespec argument in ns; EINVAL unless it is a valid one, as Linux."""
    sec, nsec = abi.unpack_timespec(cage.mem.read(addr, abi.TIMESPEC_SIZE))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise OSError(errno.EINVAL, "Invalid argument")
    return sec * 10**9 + nsec


def _sleep(cage, ns: int, req: int, rem: int) -> int:
    """Sleep; a caught signal cuts it short: EINTR with the time left (never restarted).
    A sleep the trampoline began and was woken from ends where it would have."""
    deadline = threei.take_sleep_deadline(cage.slot, req) or time.monotonic_ns() + ns
    left = cage.sleep_until(deadline)
    if left > 0:
        if rem:
            cage.mem.write(rem, abi.pack_timespec(left))
        raise OSError(errno.EINTR, "Interrupted system call")
    return 0


def sys_nanosleep(cage, req, rem, *_):
    return _sleep(cage, read_timespec(cage, req), req, rem)


_TIMER_ABSTIME = 1


def sys_clock_nanosleep(cage, clk, flags, req, rem, *_):
    clock = _clock(clk)
    ns = read_timespec(cage, req)
    if flags & _TIMER_ABSTIME:
        ns = max(0, ns - time.clock_gettime_ns(clock))
        rem = 0
    try:
        return _sleep(cage, ns, req, rem)
    except OSError as exc:
        return -exc.errno  # clock_nanosleep returns the error, it does not set errno


# ------------------------------------------------------- ITIMER_REAL and alarm

ITIMER_REAL = 0
SIGALRM = 14
_TIMEVAL = struct.Struct("<qq")
_US = 1000


class _RealTimers:
    """Every cage's ITIMER_REAL, run by one host thread that sends SIGALRM.

    Like Linux: kept across exec, not inherited by fork, gone with the cage. A periodic
    timer that fell behind skips the expiries it missed instead of firing them all.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._timers: dict[object, tuple[int, int]] = {}   # cage -> (deadline, interval) ns
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
                due = [cage for cage, (deadline, _) in self._timers.items() if deadline <= now]
                for cage in due:
                    deadline, interval = self._timers.pop(cage)
                    if interval:
                        missed = (now - deadline) // interval + 1
                        self._timers[cage] = (deadline + missed * interval, interval)
                if not due:
                    nearest = min((d for d, _ in self._timers.values()), default=None)
                    self._changed.wait(None if nearest is None else
                                       min((nearest - now) / 1e9, threading.TIMEOUT_MAX))
            for cage in due:
                cage.signal_from_outside(SIGALRM)


_real_timers = _RealTimers()


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


def sys_getrandom(cage, buf, count, flags, *_):
    """At most Linux's MAX_RW_COUNT a call (what x86_64 Linux gives); the buffer is
    checked before any bytes are made."""
    if flags & ~(_GRND_NONBLOCK | _GRND_RANDOM):
        raise OSError(errno.EINVAL, "Invalid argument")
    count = min(count & 0xFFFFFFFF, _MAX_RW_COUNT)
    cage.mem.view(buf, count, writing=True)
    cage.mem.write(buf, os.urandom(count))
    return count


_UTS_FIELD = 65


# What uname says: a fixed kernel, not the host's build string (which would tell a
# cage the host's kernel and when it was built); the node name is the cage's own.
UNAME_RELEASE = b"6.1.0-lind"
UNAME_VERSION = b"#1 SMP lind"


def sys_uname(cage, buf, *_):
    fields = [b"Linux", cage.hostname.encode(), UNAME_RELEASE, UNAME_VERSION, b"x86_64",
              b"(none)"]
    cage.mem.write(buf, b"".join(f[:_UTS_FIELD - 1].ljust(_UTS_FIELD, b"\0") for f in fields))
    return 0
