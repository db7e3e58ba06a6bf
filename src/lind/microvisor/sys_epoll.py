"""epoll: the host kernel's own, over the host files behind the cage's fds.

Every file a cage may wait on is a host file (sockets, pipes, FIFOs, terminals,
eventfds, timerfds, inotify; a signalfd through its eventfd), so an epoll instance is a
host epoll fd, and level- and edge-triggered events, EPOLLONESHOT, EPOLLRDHUP and
EPOLLEXCLUSIVE are the kernel's. The cage's fd is registered by the host fd behind it,
with the cage's 64-bit data; events cross between wasm32's 16-byte struct epoll_event
and the host's packed 12 bytes. A wait is a poll of the epoll fd beside the cage's
wake fd (interruptible), then a non-blocking epoll_wait.

Limits: two fds of one open file (dup) are one registration (the second add is EEXIST;
Linux keys them apart); the microvisor's own files (/dev/zero, /proc/self/...) are
EPERM, as regular files are on Linux.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import struct
import time

from lind.microvisor import abi, sys_signals
from lind.microvisor.abi import s32, u32
from lind.microvisor.fdtable import NonBlockingHostFile
from lind.microvisor.fs import checked, libc
from lind.microvisor.sys_poll import timespec_timeout

EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EPOLLWAKEUP = 1 << 29                   # needs CAP_BLOCK_SUSPEND: dropped, as Linux does
_GUEST_EVENT = struct.Struct("<I4xQ")   # wasm32 struct epoll_event: 16 bytes
_HOST_EVENT = struct.Struct("=IQ")      # x86_64's, packed: 12 bytes
_MAX_EVENTS = (1 << 31) // _GUEST_EVENT.size

libc.epoll_create1.argtypes = [ctypes.c_int]
libc.epoll_ctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_char_p]
libc.epoll_wait.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]


class EpollFile(NonBlockingHostFile):
    """An epoll instance: a host epoll fd (reading it is EINVAL, as on Linux)."""


def sys_epoll_create1(cage, flags, *_):
    flags = u32(flags)
    if flags & ~abi.O_CLOEXEC:
        raise abi.error(errno.EINVAL)
    host = checked(libc.epoll_create1(os.O_CLOEXEC))
    return cage.fds.install(EpollFile(host, abi.O_RDWR), cloexec=bool(flags & abi.O_CLOEXEC))


def sys_epoll_create(cage, size, *_):
    if s32(size) <= 0:
        raise abi.error(errno.EINVAL)
    return sys_epoll_create1(cage, 0)


def sys_epoll_ctl(cage, epfd, op, fd, event, *_):
    ep = cage.fds.get_as(s32(epfd), EpollFile)
    target = cage.fds.get(s32(fd))
    op = s32(op)
    if op not in (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD):
        raise abi.error(errno.EINVAL)
    if target is ep:
        raise abi.error(errno.EINVAL)
    if not target.host_backed or target.host_fd < 0 or target.is_dir:
        raise abi.error(errno.EPERM)
    host_event = None
    if op != EPOLL_CTL_DEL:
        events, data = _GUEST_EVENT.unpack(cage.mem.read(event, _GUEST_EVENT.size))
        host_event = _HOST_EVENT.pack(events & ~EPOLLWAKEUP, data)
    checked(libc.epoll_ctl(ep.host_fd, op, target.host_fd, host_event))
    return 0


def _wait(cage, epfd: int, events: int, maxevents: int, timeout: float | None) -> int:
    ep = cage.fds.get_as(s32(epfd), EpollFile)
    maxevents = s32(maxevents)
    if not 0 < maxevents <= _MAX_EVENTS:
        raise abi.error(errno.EINVAL)
    cage.mem.view(events, maxevents * _GUEST_EVENT.size, writing=True)  # EFAULT before waiting
    buf = ctypes.create_string_buffer(maxevents * _HOST_EVENT.size)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        n = checked(libc.epoll_wait(ep.host_fd, buf, maxevents, 0))
        if n:
            break
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return 0
        cage.poll_host({ep.host_fd: select.POLLIN}, left, restartable=False)   # EINTR
    out = b"".join(_GUEST_EVENT.pack(*_HOST_EVENT.unpack_from(buf.raw, i * _HOST_EVENT.size))
                   for i in range(n))
    cage.mem.write(events, out)
    return n


def _timeout(ms: int) -> float | None:
    ms = s32(ms)
    return None if ms < 0 else ms / 1000


def sys_epoll_wait(cage, epfd, events, maxevents, timeout_ms, *_):
    return _wait(cage, epfd, events, maxevents, _timeout(timeout_ms))


def sys_epoll_pwait(cage, epfd, events, maxevents, timeout_ms, sigmask, sigsetsize):
    with sys_signals.mask_while_waiting(cage, sigmask, sigsetsize):
        return _wait(cage, epfd, events, maxevents, _timeout(timeout_ms))


def sys_epoll_pwait2(cage, epfd, events, maxevents, timeout, sigmask, sigsetsize):
    seconds = timespec_timeout(cage, timeout)
    with sys_signals.mask_while_waiting(cage, sigmask, sigsetsize):
        return _wait(cage, epfd, events, maxevents, seconds)
