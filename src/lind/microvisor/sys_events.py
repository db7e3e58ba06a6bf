"""Events as files: eventfd and timerfd from the host kernel, signalfd from Lind's signals.

eventfd and timerfd are the host's own, made non-blocking (NonBlockingHostFile): the
trampoline reads and writes them, and a blocked read waits interruptibly. A signalfd
reads the signals pending for the cage that made it (Lind's, not the host's), as
struct signalfd_siginfo; a host eventfd behind it is readable while one of its
signals is pending, so that poll, select and epoll see it like any other file.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import struct
import weakref
from dataclasses import dataclass, field

from lind.microvisor import abi
from lind.microvisor import sys_signals as signals
from lind.microvisor.abi import s32, u32
from lind.microvisor.fdtable import NonBlockingHostFile
from lind.microvisor.fs import checked, libc

EFD_SEMAPHORE = 1
TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2
_CREATE_FLAGS = abi.O_CLOEXEC | abi.O_NONBLOCK
# Clocks a timerfd may use: the _ALARM ones need CAP_WAKE_ALARM.
_TIMER_CLOCKS = {0, 1, 7}
_ITIMERSPEC = 32                        # two 64-bit timespecs, on wasm32 as on the host

libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p]
libc.timerfd_gettime.argtypes = [ctypes.c_int, ctypes.c_void_p]


def _create_flags(flags: int, extra: int = 0) -> int:
    flags = u32(flags)
    if flags & ~(_CREATE_FLAGS | extra):
        raise abi.error(errno.EINVAL)
    return flags


def _install(cage, f, flags: int) -> int:
    return cage.fds.install(f, cloexec=bool(flags & abi.O_CLOEXEC))


# -------------------------------------------------------------------- eventfd

def sys_eventfd2(cage, initval, flags, *_):
    flags = _create_flags(flags, EFD_SEMAPHORE)
    host = os.eventfd(u32(initval), os.EFD_CLOEXEC | os.EFD_NONBLOCK |
                      (os.EFD_SEMAPHORE if flags & EFD_SEMAPHORE else 0))
    return _install(cage, NonBlockingHostFile(host, abi.O_RDWR | (flags & abi.O_NONBLOCK)), flags)


def sys_eventfd(cage, initval, *_):
    return sys_eventfd2(cage, initval, 0)


# -------------------------------------------------------------------- timerfd

def sys_timerfd_create(cage, clockid, flags, *_):
    flags = _create_flags(flags)
    clockid = s32(clockid)
    if clockid not in _TIMER_CLOCKS:
        raise abi.error(errno.EPERM if clockid in (8, 9) else errno.EINVAL)
    host = checked(libc.timerfd_create(clockid, os.O_CLOEXEC | os.O_NONBLOCK))
    return _install(cage, TimerFile(host, abi.O_RDWR | (flags & abi.O_NONBLOCK)), flags)


@dataclass(eq=False)
class TimerFile(NonBlockingHostFile):
    """A host timerfd."""


def sys_timerfd_settime(cage, fd, flags, new, old, *_):
    f = cage.fds.get_as(s32(fd), TimerFile)
    flags = s32(flags)
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        raise abi.error(errno.EINVAL)
    return set_host_timer(cage, f.host_fd, flags, new, old)


def sys_timerfd_gettime(cage, fd, out, *_):
    return get_host_timer(cage, cage.fds.get_as(s32(fd), TimerFile).host_fd, out)


def set_host_timer(cage, host_fd: int, flags: int, new: int, old: int) -> int:
    """Arm or disarm host timerfd `host_fd` with the cage's itimerspec at `new`; the
    previous setting goes to `old` (if not NULL). Also what a POSIX timer is (sys_timers)."""
    value = cage.mem.read(new, _ITIMERSPEC)
    if old:
        cage.mem.view(old, _ITIMERSPEC, writing=True)   # EFAULT before the timer changes
    previous = ctypes.create_string_buffer(_ITIMERSPEC)
    checked(libc.timerfd_settime(host_fd, flags, value, previous))
    if old:
        cage.mem.write(old, previous.raw)
    return 0


def get_host_timer(cage, host_fd: int, out: int) -> int:
    now = ctypes.create_string_buffer(_ITIMERSPEC)
    checked(libc.timerfd_gettime(host_fd, now))
    cage.mem.write(out, now.raw)
    return 0


# -------------------------------------------------------------------- signalfd

@dataclass(eq=False)
class SignalFile(NonBlockingHostFile):
    """A signalfd: `mask` of the signals of `cage` it reads. Its host fd is an eventfd
    that is readable while one of them is pending; reads are the handler's."""

    link_name = "anon_inode:[signalfd]"   # /proc/self/fd/N: not its eventfd's

    mask: int = 0
    owner: weakref.ref | None = field(default=None, repr=False)
    trampoline_io = False

    def refresh(self) -> None:
        """Make the eventfd say whether a signal of the mask is pending."""
        cage = self.owner() if self.owner is not None else None
        if cage is None or self.host_fd < 0:
            return
        with contextlib.suppress(OSError):
            if cage.signals.all_pending() & self.mask:
                os.eventfd_write(self.host_fd, 1)
            else:
                with contextlib.suppress(BlockingIOError):
                    os.eventfd_read(self.host_fd)

    def read(self, cage, addr: int, n: int) -> int:
        if n < abi.SIGNALFD_SIGINFO.size:
            raise abi.error(errno.EINVAL)
        cage.mem.view(addr, abi.SIGNALFD_SIGINFO.size, writing=True)
        out = b""
        while len(out) + abi.SIGNALFD_SIGINFO.size <= n:
            taken = signals.take(cage, self.mask)
            if taken is None:
                break
            out += abi.signalfd_siginfo(taken[1])
        if not out and self.flags & abi.O_NONBLOCK:
            self.refresh()
            raise abi.error(errno.EAGAIN)
        if not out:     # the reader's signals, not its eventfd's (its maker's: a fork's
            # parent's pending ones made a child's read spin, and no signal ended it)
            out = abi.signalfd_siginfo(signals.take_waiting(cage, self.mask)[1])
        self.refresh()
        cage.mem.write(addr, out)
        return len(out)

    def readv(self, cage, views: list[memoryview]) -> int:
        raise abi.error(errno.EINVAL)

    def write(self, cage, addr: int, n: int) -> int:
        raise abi.error(errno.EINVAL)

    writev = readv

    def release(self) -> None:
        last = self.refs == 1
        cage = self.owner() if self.owner is not None else None
        super().release()
        if last and cage is not None:
            with contextlib.suppress(ValueError):
                cage.signals.watchers.remove(self.refresh)


def sys_signalfd4(cage, fd, mask, sizemask, flags, *_):
    flags = _create_flags(flags)
    if u32(sizemask) != 8:
        raise abi.error(errno.EINVAL)
    wanted = struct.unpack("<Q", cage.mem.read(mask, 8))[0] & ~signals.UNBLOCKABLE
    fd = s32(fd)
    if fd != -1:              # a new mask for an existing signalfd
        f = cage.fds.get_as(fd, SignalFile)
        f.mask = wanted
        f.refresh()
        return fd
    return _install(cage, _signalfd(cage, wanted, flags), flags)


def _signalfd(cage, mask: int, flags: int) -> SignalFile:
    host = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
    f = SignalFile(host, abi.O_RDWR | (flags & abi.O_NONBLOCK), mask=mask,
                   owner=weakref.ref(cage))
    cage.signals.watchers.append(f.refresh)
    f.refresh()
    return f


def own_signalfds(cage) -> None:
    """A fork's (or spawn's) child: each signalfd it inherited becomes one of its own,
    of the same mask and O_NONBLOCK. A shared one's eventfd says whether its maker has
    a signal of its mask pending, so the child's poll or epoll found it ready with
    nothing to read (Linux answers the poller's). What either then sets on its own (its
    O_NONBLOCK, a new mask) is its alone."""
    for fd, f in cage.fds.files_of(SignalFile):
        if fd < cage.fds.limit:
            cage.fds.place(fd, _signalfd(cage, f.mask, f.flags), cage.fds.cloexec(fd))


def sys_signalfd(cage, fd, mask, sizemask, *_):
    return sys_signalfd4(cage, fd, mask, sizemask, 0)
