"""Clocks, sleeping, randomness and the system's name (timers: sys_timers)."""

from __future__ import annotations

import errno
import os
import struct
import time

from lind import threei
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


# A negative clock id is a CPU clock of a process or thread, as clock_getcpuclockid and
# pthread_getcpuclockid make them (Linux's posix-cpu-timers encoding): ~pid << 3, then
# bit 2 for a thread's, and in the low two bits which time: PROF (user + system), VIRT
# (user), SCHED (run time); 3 is a clock fd's, which no cage has. pid 0 is the caller.
_CPUCLOCK_PERTHREAD, _CPUCLOCK_WHICH, _CPUCLOCK_VIRT, _CPUCLOCK_FD = 4, 3, 1, 3


def _cpu_clock_ns(cage, clk: int) -> int:
    """The CPU time, in ns, of the process or thread CPU clock `clk` (negative): the
    caller's own, a thread of its cage, or a process of its tree; EINVAL for another."""
    clk = abi.s32(clk)
    which, pid = clk & _CPUCLOCK_WHICH, ~(clk >> 3)
    if which == _CPUCLOCK_FD or pid < 0:
        raise OSError(errno.EINVAL, "Invalid clock")
    if clk & _CPUCLOCK_PERTHREAD:
        if pid in (0, cage.current_tid()):
            times = cage.thread_cpu_times()
            seconds = cage.thread_cpu_seconds()
        else:
            host = cage.thread if pid == cage.id else getattr(cage.threads.get(pid), "host", None)
            if host is None:
                raise OSError(errno.EINVAL, "Invalid clock")
            times, seconds = host.cpu_times(), host.cpu_seconds()
    else:
        if pid not in (0, cage.id):
            cage = next((c for c in cage.runtime.tree(cage) if c.id == pid), None)
            if cage is None:
                raise OSError(errno.EINVAL, "Invalid clock")
        times = cage.cpu_times()
        seconds = sum(times)
    return round((times[0] if which == _CPUCLOCK_VIRT else seconds) * 1e9)


def _now(cage, clock: int) -> int:
    """`clock` in ns as the cage sees it: its CPU clocks are its own, not the Lind
    process's (which counts every tenant's)."""
    if clock == time.CLOCK_PROCESS_CPUTIME_ID:
        return round(sum(cage.cpu_times()) * 1e9)
    if clock == time.CLOCK_THREAD_CPUTIME_ID:
        return round(cage.thread_cpu_seconds() * 1e9)
    return time.clock_gettime_ns(clock)


def sys_clock_gettime(cage, clk, tp, *_):
    if abi.s32(clk) < 0:
        cage.mem.write(tp, abi.pack_timespec(_cpu_clock_ns(cage, clk)))
        return 0
    cage.mem.write(tp, abi.pack_timespec(_now(cage, _clock(clk))))
    return 0


def sys_clock_getres(cage, clk, tp, *_):
    if abi.s32(clk) < 0:    # what the host says of its own clock of that kind
        _cpu_clock_ns(cage, clk)
        res = time.clock_getres((abi.s32(clk) & 7) | ~0 << 3)
    else:
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


def sys_clock_settime(cage, clk, tp, *_):
    """Only CLOCK_REALTIME can be set, and only with CAP_SYS_TIME, which no cage has:
    EPERM once the arguments are good (Linux checks them first)."""
    if abi.s32(clk) < 0:       # a CPU clock: EPERM once it is one
        _cpu_clock_ns(cage, clk)
        read_timespec(cage, tp)
        raise OSError(errno.EPERM, "Operation not permitted")
    _clock(clk)
    read_timespec(cage, tp)
    if clk & 0xFFFFFFFF != 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    raise OSError(errno.EPERM, "Operation not permitted")


def sys_settimeofday(cage, tv, tz, *_):
    """As clock_settime (EPERM), but with nothing to set it is a no-op."""
    if tv:
        sec, usec = struct.unpack("<qq", cage.mem.read(tv, 16))
        if sec < 0 or not 0 <= usec < 10**6:
            raise OSError(errno.EINVAL, "Invalid argument")
    if tz:
        cage.mem.read(tz, 8)
    if tv or tz:
        raise OSError(errno.EPERM, "Operation not permitted")
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


_CPU_SLEEP_MIN_STEP = 10**6   # the shortest wait between two looks at the CPU clock (1 ms)


def _own_cpu_clock(cage, clk: int) -> int:
    """The clock id to use for a clock: a negative one naming the caller's own process
    (pid 0 or its own) or thread CPU clock is that of CLOCK_PROCESS_CPUTIME_ID or
    CLOCK_THREAD_CPUTIME_ID; another CPU clock EINVAL."""
    signed = abi.s32(clk)
    if signed >= 0:
        return _clock(clk)
    _cpu_clock_ns(cage, clk)     # EINVAL unless a clock there is
    pid = ~(signed >> 3)
    if signed & _CPUCLOCK_PERTHREAD and pid in (0, cage.current_tid()):
        return time.CLOCK_THREAD_CPUTIME_ID
    if not signed & _CPUCLOCK_PERTHREAD and pid in (0, cage.id):
        return time.CLOCK_PROCESS_CPUTIME_ID
    raise OSError(errno.EINVAL, "Invalid clock")


def sys_clock_nanosleep(cage, clk, flags, req, rem, *_):
    try:
        clock = _own_cpu_clock(cage, clk)
    except OSError as exc:
        return -exc.errno
    if clock == time.CLOCK_THREAD_CPUTIME_ID:   # a sleeping thread's own never moves
        return -errno.EINVAL
    ns = read_timespec(cage, req)
    try:
        if clock == time.CLOCK_PROCESS_CPUTIME_ID:
            return _cpu_sleep(cage, ns if flags & _TIMER_ABSTIME else _now(cage, clock) + ns,
                              0 if flags & _TIMER_ABSTIME else rem)
        if flags & _TIMER_ABSTIME:
            ns = max(0, ns - time.clock_gettime_ns(clock))
            rem = 0
        return _sleep(cage, ns, req, rem)
    except OSError as exc:
        return -exc.errno  # clock_nanosleep returns the error, it does not set errno


def _cpu_sleep(cage, target: int, rem: int) -> int:
    """Until the cage's CPU time (its other threads run on) reaches `target` ns; a caught
    signal ends it with EINTR and the CPU time left. CPU time grows at most as fast as
    the CPUs the cage may use, so each wait is what is left shared among them: a few
    looks a sleep (each sums every thread's time), not one every few ms."""
    cpus = len(os.sched_getaffinity(0))
    while (left := target - _now(cage, time.CLOCK_PROCESS_CPUTIME_ID)) > 0:
        wait = max(left // cpus, min(left, _CPU_SLEEP_MIN_STEP))
        if cage.sleep_until(time.monotonic_ns() + wait) > 0:
            if rem:
                cage.mem.write(rem, abi.pack_timespec(left))
            raise OSError(errno.EINTR, "Interrupted system call")
    return 0


def sys_getrandom(cage, buf, count, flags, *_):
    """At most Linux's MAX_RW_COUNT a call (what x86_64 Linux gives); the buffer is
    checked before any bytes are made."""
    if flags & ~(_GRND_NONBLOCK | _GRND_RANDOM):
        raise OSError(errno.EINVAL, "Invalid argument")
    count = min(count & 0xFFFFFFFF, abi.MAX_RW_COUNT)
    fill_random(cage.mem.view(buf, count, writing=True))
    return count


RANDOM_CHUNK = 1 << 20


def fill_random(view: memoryview) -> None:
    """Random bytes into cage memory a piece at a time: the host holds one piece, never
    a copy of the whole (2 GiB a call, each thread of each cage at once)."""
    for at in range(0, len(view), RANDOM_CHUNK):
        n = min(RANDOM_CHUNK, len(view) - at)
        view[at:at + n] = os.urandom(n)


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
