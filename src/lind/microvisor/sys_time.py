"""Clocks, sleeping, randomness and the system's name."""

from __future__ import annotations

import errno
import os
import struct
import time

from lind.microvisor import abi

_CLOCKS = {
    0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 2: time.CLOCK_PROCESS_CPUTIME_ID,
    3: time.CLOCK_THREAD_CPUTIME_ID, 4: time.CLOCK_MONOTONIC_RAW, 5: 5, 6: 6, 7: time.CLOCK_BOOTTIME,
}
_GRND_NONBLOCK, _GRND_RANDOM = 1, 2


def _clock(clk: int) -> int:
    try:
        return _CLOCKS[clk & 0xFFFFFFFF]
    except KeyError:
        raise OSError(errno.EINVAL, "Invalid clock") from None


def sys_clock_gettime(cage, clk, tp, *_):
    cage.mem.write(tp, abi.pack_timespec(time.clock_gettime_ns(_clock(clk))))
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


def _read_timespec(cage, addr: int) -> int:
    sec, nsec = abi.unpack_timespec(cage.mem.read(addr, abi.TIMESPEC_SIZE))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise OSError(errno.EINVAL, "Invalid argument")
    return sec * 10**9 + nsec


def _sleep(cage, ns: int, rem: int) -> int:
    """Sleep, waking early if a signal arrives for the cage (EINTR with time left)."""
    left = cage.sleep(ns)
    if left > 0:
        if rem:
            cage.mem.write(rem, abi.pack_timespec(left))
        raise OSError(errno.EINTR, "Interrupted system call")
    return 0


def sys_nanosleep(cage, req, rem, *_):
    return _sleep(cage, _read_timespec(cage, req), rem)


_TIMER_ABSTIME = 1


def sys_clock_nanosleep(cage, clk, flags, req, rem, *_):
    clock = _clock(clk)
    ns = _read_timespec(cage, req)
    if flags & _TIMER_ABSTIME:
        ns = max(0, ns - time.clock_gettime_ns(clock))
        rem = 0
    try:
        return _sleep(cage, ns, rem)
    except OSError as exc:
        return -exc.errno  # clock_nanosleep returns the error, it does not set errno


def sys_getrandom(cage, buf, count, flags, *_):
    if flags & ~(_GRND_NONBLOCK | _GRND_RANDOM):
        raise OSError(errno.EINVAL, "Invalid argument")
    count = min(count & 0xFFFFFFFF, 33554431)
    cage.mem.write(buf, os.urandom(count))
    return count


_UTS_FIELD = 65


def sys_uname(cage, buf, *_):
    u = os.uname()
    fields = [b"Linux", b"lind", u.release.encode(), u.version.encode(), b"x86_64",
              b"(none)"]
    cage.mem.write(buf, b"".join(f[:_UTS_FIELD - 1].ljust(_UTS_FIELD, b"\0") for f in fields))
    return 0
