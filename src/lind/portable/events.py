"""Event files of the cooperative runtime: epoll, eventfd, timerfd and signalfd, as
descriptions of the run (no host file behind them), with the semantics of the
threaded runtime's (lind.microvisor.sys_epoll, sys_events), which are the kernel's.

Each is a Description with the readiness protocol every wait here uses (`ready`), so
poll, select, epoll and a blocking read wait for them alike; a timerfd tells the
runtime when it fires (Runtime.timer_files), so a cage waiting for one sleeps until
then. An epoll instance checks its interest list whenever a wait looks (nothing
notifies it): level-triggered items while they are ready; edge-triggered ones when
their readiness rises, or bytes came to (or left) a pipe or stream since the last
report, or a connection or datagram arrived -- the wakeups Linux reports them on. An
item is keyed by (fd, description) and leaves with its description's last reference,
as Linux's does.

A signalfd reads the signals of the process that made it (Linux: of the one reading
it; the same unless the fd passed to a child): a read has no caller here but the fd.
"""

from __future__ import annotations

import errno
import stat
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lind.microvisor import abi
from lind.microvisor.abi import s32, u32
from lind.portable import signals, syscalls
from lind.portable.descriptions import Description, DeviceFile, PipeEnd, TreeFile
from lind.portable.memfs import Stat
from lind.portable.sockets import Endpoint

EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET = 1 << 28, 1 << 29, 1 << 30, 1 << 31
_INPUT_BITS = 0x1 | 0x2 | 0x4 | 0x40 | 0x80 | 0x100 | 0x200   # EPOLLIN..EPOLLWRBAND
_EXCLUSIVE_OK = _INPUT_BITS | abi.POLLERR | abi.POLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
_CONTROL_BITS = EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET
_EVENT = struct.Struct("<I4xQ")          # wasm32 struct epoll_event: 16 bytes
_MAX_EVENTS = (1 << 31) // _EVENT.size   # Linux's EP_MAX_EVENTS, INT_MAX / 16
_MAX_NESTS = 4                            # epolls below an epoll, as Linux's EP_MAX_NESTS
_MAX_WATCHES = 1 << 16                    # items of one epoll (Linux: max_user_watches)
EFD_SEMAPHORE = 1
_COUNTER_MAX = (1 << 64) - 1
TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2
CLOCK_REALTIME, CLOCK_REALTIME_ALARM = 0, 8
_TIMER_CLOCKS = {0, 1, 7, 8, 9}           # REALTIME, MONOTONIC, BOOTTIME, and _ALARM (root)
_ITIMERSPEC = struct.Struct("<qqqq")      # interval, then value: two 64-bit timespecs
_ANON_INODE_DEVICE = 0xD               # where Linux's anonymous inodes live
_CREATE_FLAGS = abi.O_CLOEXEC | abi.O_NONBLOCK
_NS = 10**9
_KTIME_MAX = (1 << 63) - 1


def _anon_stat(ino: int) -> Stat:
    """fstat of an anonymous inode (an epoll, eventfd, timerfd, signalfd): mode 0600,
    no file type, as Linux says."""
    return Stat(_ANON_INODE_DEVICE, ino & 0xFFFFFFFF, 1, stat.S_IRUSR | stat.S_IWUSR, 0, 0, 0,
                0, 0, 0, st_blksize=4096)


def _flags(flags: int, extra: int = 0) -> int:
    flags = u32(flags)
    if flags & ~(_CREATE_FLAGS | extra):
        raise OSError(errno.EINVAL, "Invalid argument")
    return flags


def _needed(addr: int) -> int:
    """A pointer the call must have: NULL is EFAULT (address 0 of a linear memory is
    memory, so an access alone would not say so)."""
    if not u32(addr):
        raise OSError(errno.EFAULT, "Bad address")
    return addr


def _install(proc, description: Description, flags: int) -> int:
    return proc.install(description, bool(flags & abi.O_CLOEXEC))


def _of_kind(proc, fd: int, kind: type) -> Any:
    """The description behind `fd` if it is a `kind` (EBADF: no fd; EINVAL: another kind)."""
    d = proc.description(fd)
    if not isinstance(d, kind):
        raise OSError(errno.EINVAL, "Invalid argument")
    return d


# -- eventfd ---------------------------------------------------------------------------------
class EventCounter(Description):
    """An eventfd: a 64-bit counter read and written 8 bytes at a time."""

    def __init__(self, value: int, flags: int) -> None:
        super().__init__(abi.O_RDWR | (flags & abi.O_NONBLOCK))
        self.value = value
        self.semaphore = bool(flags & EFD_SEMAPHORE)
        self.wakeups = 0            # writes that added to it (edge-triggered epoll)
        self.waiting_to_add = 0     # the largest value a writer waits to add (overflow)

    def read(self, n: int) -> bytes | None:
        if n < 8:
            raise OSError(errno.EINVAL, "Invalid argument")
        if self.value == 0:
            if self.flags & abi.O_NONBLOCK:
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            return None
        taken = 1 if self.semaphore else self.value
        self.value -= taken
        return struct.pack("<Q", taken)

    def write(self, data: bytes) -> int | None:
        if len(data) < 8:
            raise OSError(errno.EINVAL, "Invalid argument")
        (added,) = struct.unpack_from("<Q", data)
        if added == _COUNTER_MAX:
            raise OSError(errno.EINVAL, "Invalid argument")
        if self.value + added >= _COUNTER_MAX:     # it would pass 2**64 - 2: wait for a read
            if self.flags & abi.O_NONBLOCK:
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            self.waiting_to_add = max(self.waiting_to_add, added)
            return None
        self.value += added
        self.waiting_to_add = 0
        if added:
            self.wakeups += 1
        return 8

    def ready(self, events: int) -> int:
        """Linux's: readable while nonzero, writable while below 2**64 - 2 (here: while
        the value a writer waits to add fits, so that its wait ends only when it can)."""
        found = events & abi.POLLIN if self.value else 0
        if self.value + max(self.waiting_to_add, 1) < _COUNTER_MAX:
            found |= events & abi.POLLOUT
        return found

    def stat(self) -> Stat:
        return _anon_stat(id(self))

    def closed(self) -> None:
        """Nothing is held."""


def sys_eventfd2(proc, initval, flags, *_):
    flags = _flags(flags, EFD_SEMAPHORE)
    return _install(proc, EventCounter(u32(initval), flags), flags)


def sys_eventfd(proc, initval, *_):
    return sys_eventfd2(proc, initval, 0)


# -- timerfd ---------------------------------------------------------------------------------
def _clock_ns(clock: int) -> int:
    return time.time_ns() if clock in (CLOCK_REALTIME, CLOCK_REALTIME_ALARM) else time.monotonic_ns()


class TimerFile(Description):
    """A timerfd: expirations of a one-shot or periodic timer on a clock, counted as
    they come due (worked out when looked at, nothing runs meanwhile)."""

    def __init__(self, runtime: Any, clock: int, flags: int) -> None:
        super().__init__(abi.O_RDWR | (flags & abi.O_NONBLOCK))
        self.runtime = runtime
        self.clock = clock
        self.due: int | None = None      # next expiration, ns on the clock; None: disarmed
        self.interval = 0
        self.ticks = 0                   # expirations not yet read
        self.wakeups = 0                 # expirations ever (edge-triggered epoll)

    def _catch_up(self) -> None:
        if self.due is None:
            return
        now = _clock_ns(self.clock)
        if now < self.due:
            return
        passed = (now - self.due) // self.interval + 1 if self.interval else 1
        self.ticks += passed
        self.wakeups += passed
        self.due = self.due + passed * self.interval if self.interval else None
        if self.due is None:
            self.runtime.timer_files.discard(self)

    def due_monotonic(self) -> float | None:
        """When it fires next, on the monotonic clock (the runtime sleeps until then)."""
        if self.due is None:
            return None
        return time.monotonic() + (self.due - _clock_ns(self.clock)) / _NS

    def settime(self, value_ns: int, interval_ns: int, absolute: bool) -> tuple[int, int]:
        """Arm (value 0: disarm) it; what gettime said before."""
        previous = self.current()
        self.ticks = 0
        self.interval = interval_ns
        if value_ns == 0:
            self.due = None
            self.runtime.timer_files.discard(self)
        else:
            self.due = value_ns if absolute else _clock_ns(self.clock) + value_ns
            self.runtime.timer_files.add(self)
        return previous

    def current(self) -> tuple[int, int]:
        """gettime's (time left, interval), in ns."""
        self._catch_up()
        if self.due is None:
            return 0, self.interval
        return max(1, self.due - _clock_ns(self.clock)), self.interval

    def read(self, n: int) -> bytes | None:
        if n < 8:
            raise OSError(errno.EINVAL, "Invalid argument")
        self._catch_up()
        if not self.ticks:
            if self.flags & abi.O_NONBLOCK:
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            return None
        ticks, self.ticks = self.ticks, 0
        return struct.pack("<Q", min(ticks, _COUNTER_MAX))

    def ready(self, events: int) -> int:
        self._catch_up()
        return events & abi.POLLIN if self.ticks else 0

    def stat(self) -> Stat:
        return _anon_stat(id(self))

    def closed(self) -> None:
        self.runtime.timer_files.discard(self)


def sys_timerfd_create(proc, clockid, flags, *_):
    clockid = s32(clockid)
    if clockid not in _TIMER_CLOCKS:
        raise OSError(errno.EINVAL, "Invalid argument")
    flags = _flags(flags)
    return _install(proc, TimerFile(proc.runtime, clockid, flags), flags)


def _itimerspec_ns(raw: bytes) -> tuple[int, int]:
    """(interval, value) of a struct itimerspec in ns; EINVAL unless both are valid."""
    fields = _ITIMERSPEC.unpack(raw)
    for sec, nsec in (fields[:2], fields[2:]):
        if sec < 0 or not 0 <= nsec < _NS:
            raise OSError(errno.EINVAL, "Invalid argument")
    return (min(fields[0] * _NS + fields[1], _KTIME_MAX),      # saturated, as Linux's ktime
            min(fields[2] * _NS + fields[3], _KTIME_MAX))


def _pack_itimerspec(value_ns: int, interval_ns: int) -> bytes:
    return _ITIMERSPEC.pack(interval_ns // _NS, interval_ns % _NS, value_ns // _NS, value_ns % _NS)


def sys_timerfd_settime(proc, fd, flags, new, old, *_):
    """As Linux: the new value is checked before the fd, the old one written after the
    timer changed (EFAULT then, with the timer set)."""
    flags = s32(flags)
    interval, value = _itimerspec_ns(proc.read(_needed(new), _ITIMERSPEC.size))
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        raise OSError(errno.EINVAL, "Invalid argument")
    timer = _of_kind(proc, fd, TimerFile)
    left, every = timer.settime(value, interval, bool(flags & TFD_TIMER_ABSTIME))
    if u32(old):
        proc.write(old, _pack_itimerspec(left, every))
    return 0


def sys_timerfd_gettime(proc, fd, out, *_):
    timer = _of_kind(proc, fd, TimerFile)
    proc.write(_needed(out), _pack_itimerspec(*timer.current()))
    return 0


# -- signalfd --------------------------------------------------------------------------------
class SignalFile(Description):
    """A signalfd: reads (takes) the signals of `mask` pending for `owner`."""

    def __init__(self, owner: Any, mask: int, flags: int) -> None:
        super().__init__(abi.O_RDWR | (flags & abi.O_NONBLOCK))
        self.owner = owner
        self.mask = mask

    def _waiting(self) -> list[int]:
        return sorted(s for s in self.owner.pending if self.mask & signals.bit(s))

    def read(self, n: int) -> bytes | None:
        if n < abi.SIGNALFD_SIGINFO.size:
            raise OSError(errno.EINVAL, "Invalid argument")
        taken = self._waiting()[:n // abi.SIGNALFD_SIGINFO.size]
        if not taken:
            if self.flags & abi.O_NONBLOCK:
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            return None
        out = b"".join(abi.signalfd_siginfo(signals.pop(self.owner, s)) for s in taken)
        signals.show(self.owner)
        return out

    def write(self, data: bytes) -> int | None:
        raise OSError(errno.EINVAL, "Invalid argument")

    def inherited_by(self, proc) -> Description:
        """A child's reads and polls are of its own signals, as on Linux (which reads
        the reader's): its own signalfd of the same mask, not this one, which read and
        took its parent's."""
        return SignalFile(proc, self.mask, self.flags)

    def ready(self, events: int) -> int:
        return events & abi.POLLIN if self._waiting() else 0

    def stat(self) -> Stat:
        return _anon_stat(id(self))

    def closed(self) -> None:
        """Nothing is held: the signals stay the process's."""


def sys_signalfd4(proc, fd, mask, sizemask, flags, *_):
    flags = _flags(flags)
    if u32(sizemask) != 8:
        raise OSError(errno.EINVAL, "Invalid argument")
    (wanted,) = struct.unpack("<Q", proc.read(_needed(mask), 8))
    wanted &= ~signals.UNBLOCKABLE
    if s32(fd) != -1:                         # a new mask for a signalfd it has
        _of_kind(proc, fd, SignalFile).mask = wanted
        return s32(fd)
    return _install(proc, SignalFile(proc, wanted, flags), flags)


def sys_signalfd(proc, fd, mask, sizemask, *_):
    return sys_signalfd4(proc, fd, mask, sizemask, 0)


# -- epoll -----------------------------------------------------------------------------------
def _wakeups(d: Description) -> tuple[tuple[int, ...], tuple[object, ...]]:
    """What changes with each wakeup Linux gives an edge-triggered watcher of `d` beyond
    a rise of its readiness: counts (bytes that came for a reader, left for a writer,
    expirations, writes) and the newest arrivals (a connection, a datagram) -- held, so
    that no new one can be taken for them."""
    if isinstance(d, PipeEnd):
        pipe = d.pipe
        return (pipe.given if d.readable else 0, pipe.taken if d.writable else 0), ()
    if isinstance(d, Endpoint):
        counts = (d.incoming.given if d.incoming is not None else 0,
                  d.outgoing.taken if d.outgoing is not None else 0)
        return counts, (d.backlog[-1] if d.backlog else None, d.inbox[-1] if d.inbox else None)
    return (getattr(d, "wakeups", 0),), ()


@dataclass(eq=False)
class Interest:
    """One item of an epoll's interest list."""
    events: int                     # what was asked, with EPOLLERR and EPOLLHUP
    data: int
    armed: bool = True              # EPOLLONESHOT's: until the next EPOLL_CTL_MOD
    seen_mask: int = 0              # edge-triggered: readiness when last looked at...
    seen: tuple[tuple[int, ...], tuple[object, ...]] | None = field(default=None, repr=False)


class Epoll(Description):
    """An epoll instance: its interest list, keyed by (fd, description)."""

    def __init__(self) -> None:
        super().__init__(abi.O_RDWR)
        self.interest: dict[tuple[int, Description], Interest] = {}

    def _forget_closed(self) -> None:
        """Items whose description has gone (its last fd closed), as Linux drops them."""
        for key in [k for k in self.interest if k[1].refs <= 0]:
            del self.interest[key]

    def _due(self, d: Description, item: Interest, report: bool, looked: dict[int, bool]) -> int:
        """The events `item` reports now (0: none); with `report`, they are reported.
        `looked` holds what the epolls inside already said in this look."""
        if not item.armed:
            return 0
        if isinstance(d, Epoll):
            found = abi.POLLIN & item.events if d.has_events(looked) else 0
        else:
            found = d.ready(item.events & ~_CONTROL_BITS) & item.events
        if not item.events & EPOLLET:
            return found
        now = _wakeups(d)
        if not found:
            item.seen_mask = 0                   # a drop loses no event: note it at once
            return 0
        rose = found & ~item.seen_mask or item.seen is None or now[0] != item.seen[0] or \
            any(a is not b for a, b in zip(now[1], item.seen[1], strict=True))
        if rose and report:
            item.seen_mask, item.seen = found, now
        return found if rose else 0

    def has_events(self, looked: dict[int, bool] | None = None) -> bool:
        """Whether a wait would report something now. Each epoll of a nest is looked at
        once (`looked`), so that a nest of many epolls sharing inner ones costs what its
        items do, not the paths through it."""
        looked = {} if looked is None else looked
        if id(self) not in looked:
            looked[id(self)] = False
            self._forget_closed()
            looked[id(self)] = any(self._due(d, item, False, looked)
                                   for (_, d), item in self.interest.items())
        return looked[id(self)]

    def collect(self, most: int) -> list[tuple[int, int]]:
        """Up to `most` (events, data) to report now; level-triggered items reported go
        to the end of the list, so that a later wait finds the others first."""
        self._forget_closed()
        out: list[tuple[int, int]] = []
        looked: dict[int, bool] = {}
        for key, item in list(self.interest.items()):
            if len(out) == most:
                break
            found = self._due(key[1], item, True, looked)
            if not found:
                continue
            out.append((found, item.data))
            if item.events & EPOLLONESHOT:
                item.armed = False
            elif not item.events & EPOLLET:
                del self.interest[key]
                self.interest[key] = item
        return out

    def ready(self, events: int) -> int:
        return events & abi.POLLIN if self.has_events() else 0

    def full(self) -> bool:
        """Linux bounds the watches a user has (max_user_watches): ENOSPC past them."""
        self._forget_closed()
        return len(self.interest) >= _MAX_WATCHES

    def nested(self) -> list[Epoll]:
        return [d for _, d in self.interest if isinstance(d, Epoll) and d.refs > 0]

    def stat(self) -> Stat:
        return _anon_stat(id(self))

    def closed(self) -> None:
        self.interest.clear()


def sys_epoll_create1(proc, flags, *_):
    flags = u32(flags)
    if flags & ~abi.O_CLOEXEC:
        raise OSError(errno.EINVAL, "Invalid argument")
    return _install(proc, Epoll(), flags)


def sys_epoll_create(proc, size, *_):
    if s32(size) <= 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    return sys_epoll_create1(proc, 0)


def _pollable(d: Description) -> bool:
    """Whether Linux's file behind `d` can be polled: regular files and directories,
    /dev/null, /dev/zero and /dev/full cannot (EPERM)."""
    if isinstance(d, TreeFile):
        return False
    return not isinstance(d, DeviceFile) or d.name in ("random", "urandom")


def _depth(ep: Epoll, known: dict[int, int]) -> int:
    """How many epolls deep the nest from `ep` goes (1: none inside it); each epoll
    of it is measured once (`known`)."""
    if id(ep) not in known:
        known[id(ep)] = 1 + max((_depth(inner, known) for inner in ep.nested()), default=0)
    return known[id(ep)]


def _inside(ep: Epoll, target: Epoll, seen: set[int]) -> bool:
    """Whether `ep` is `target` or inside it (adding `target` to `ep` closes a loop)."""
    if target is ep:
        return True
    seen.add(id(target))
    return any(_inside(ep, inner, seen) for inner in target.nested() if id(inner) not in seen)


def sys_epoll_ctl(proc, epfd, op, fd, event, *_):
    """Linux's order of checks: the event, both fds, pollable, not itself and an epoll,
    EPOLLEXCLUSIVE's rules, then the op."""
    op = s32(op)
    events = data = 0
    if op != EPOLL_CTL_DEL:
        events, data = _EVENT.unpack(proc.read(_needed(event), _EVENT.size))
    ep, target = proc.description(epfd), proc.description(fd)
    if not _pollable(target):
        raise OSError(errno.EPERM, "Operation not permitted")
    if target is ep or not isinstance(ep, Epoll):
        raise OSError(errno.EINVAL, "Invalid argument")
    if op != EPOLL_CTL_DEL and events & EPOLLEXCLUSIVE and (
            op == EPOLL_CTL_MOD or isinstance(target, Epoll) or events & ~_EXCLUSIVE_OK):
        raise OSError(errno.EINVAL, "Invalid argument")
    ep._forget_closed()
    key = (s32(fd), target)
    item = ep.interest.get(key)
    events |= abi.POLLERR | abi.POLLHUP
    if op == EPOLL_CTL_ADD:
        if item is not None:
            raise OSError(errno.EEXIST, "File exists")
        if isinstance(target, Epoll) and (
                _inside(ep, target, set()) or _depth(target, {}) > _MAX_NESTS):
            raise OSError(errno.ELOOP, "Too many levels of symbolic links")
        if ep.full():
            raise OSError(errno.ENOSPC, "No space left on device")
        ep.interest[key] = Interest(events, data)
    elif op in (EPOLL_CTL_DEL, EPOLL_CTL_MOD):
        if item is None:
            raise OSError(errno.ENOENT, "No such file or directory")
        if op == EPOLL_CTL_DEL:
            del ep.interest[key]
        elif item.events & EPOLLEXCLUSIVE:
            raise OSError(errno.EINVAL, "Invalid argument")
        else:
            ep.interest[key] = Interest(events, data)
    else:
        raise OSError(errno.EINVAL, "Invalid argument")
    return 0


def _epoll_wait(proc, epfd, events, maxevents, until: float | None) -> int:
    """Wait until the epoll has events or the monotonic time `until` (None: forever);
    a caught signal ends it with EINTR, never restarted (as Linux's)."""
    most = s32(maxevents)
    if not 0 < most <= _MAX_EVENTS:
        raise OSError(errno.EINVAL, "Invalid argument")
    proc.read(_needed(events), 1)                   # the whole buffer inside the memory:
    proc.read(u32(events) + most * _EVENT.size - 1, 1)   # EFAULT before any wait
    ep = _of_kind(proc, epfd, Epoll)
    if until is None or time.monotonic() < until:
        proc.runtime.wait_until(proc, ep.has_events, "an epoll_wait", until=until,
                                expired=lambda: 0, restartable=False)
    found = ep.collect(most)
    if found:
        proc.write(events, b"".join(_EVENT.pack(e, data) for e, data in found))
    return len(found)


def _after_ms(ms: int) -> float | None:
    ms = s32(ms)
    return None if ms < 0 else time.monotonic() + ms / 1000


def sys_epoll_wait(proc, epfd, events, maxevents, timeout_ms, *_):
    return _epoll_wait(proc, epfd, events, maxevents, _after_ms(timeout_ms))


def _with_mask(proc, mask: int, size: int, wait: Callable[[], int]) -> int:
    """epoll_pwait's mask: the caller's comes back however the wait ends (ppoll's way)."""
    if u32(mask):
        syscalls._sigset_size(size)
    return syscalls._waiting_with_mask(proc, u32(mask), wait)


def sys_epoll_pwait(proc, epfd, events, maxevents, timeout_ms, mask, size):
    until = _after_ms(timeout_ms)
    return _with_mask(proc, mask, size, lambda: _epoll_wait(proc, epfd, events, maxevents, until))


def sys_epoll_pwait2(proc, epfd, events, maxevents, timeout, mask, size):
    until = syscalls._until(proc, timeout)
    return _with_mask(proc, mask, size, lambda: _epoll_wait(proc, epfd, events, maxevents, until))


syscalls.register({
    "epoll_create": (213, sys_epoll_create), "epoll_create1": (291, sys_epoll_create1),
    "epoll_ctl": (233, sys_epoll_ctl), "epoll_wait": (232, sys_epoll_wait),
    "epoll_pwait": (281, sys_epoll_pwait), "epoll_pwait2": (441, sys_epoll_pwait2),
    "eventfd": (284, sys_eventfd), "eventfd2": (290, sys_eventfd2),
    "timerfd_create": (283, sys_timerfd_create), "timerfd_settime": (286, sys_timerfd_settime),
    "timerfd_gettime": (287, sys_timerfd_gettime),
    "signalfd": (282, sys_signalfd), "signalfd4": (289, sys_signalfd4),
})
