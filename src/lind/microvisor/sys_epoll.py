"""epoll: the host kernel's own, over the host files behind the cage's fds.

Every file a cage may wait on is a host file (sockets, pipes, FIFOs, terminals,
eventfds, timerfds, inotify; a signalfd through its eventfd), so an epoll instance is a
host epoll fd, and level- and edge-triggered events, EPOLLONESHOT, EPOLLRDHUP and
EPOLLEXCLUSIVE are the kernel's. The cage's fd is registered by the host fd behind it,
with the cage's 64-bit data; events cross between wasm32's 16-byte struct epoll_event
and the host's packed 12 bytes. A wait is a poll of the epoll fd beside the cage's
wake fd (interruptible), then a non-blocking epoll_wait.

Registrations are counted against the host user's max_user_watches (limits.py): a
file's registration lasts until it is deleted or the file's last fd closes, so closed
ones are let go when the count would refuse an add. A wait takes at most
_EVENTS_AT_ONCE events however large `maxevents` is (the others are there next time).

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
import threading
import time
import weakref
from dataclasses import dataclass, field

from lind.microvisor import abi, limits, sys_signals
from lind.microvisor.abi import s32, u32
from lind.microvisor.fdtable import NonBlockingHostFile, OpenFile
from lind.microvisor.fs import checked, libc
from lind.microvisor.sys_poll import timespec_timeout

EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EPOLLWAKEUP = 1 << 29                   # needs CAP_BLOCK_SUSPEND: dropped, as Linux does
_GUEST_EVENT = struct.Struct("<I4xQ")   # wasm32 struct epoll_event: 16 bytes
_HOST_EVENT = struct.Struct("=IQ")      # x86_64's, packed: 12 bytes
_MAX_EVENTS = (1 << 31) // _GUEST_EVENT.size
_EVENTS_AT_ONCE = 1024    # what one wait hands over, at most (the host buffer's size)

libc.epoll_create1.argtypes = [ctypes.c_int]
libc.epoll_ctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_char_p]
libc.epoll_wait.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]


@dataclass(eq=False)
class EpollFile(NonBlockingHostFile):
    """An epoll instance: a host epoll fd (reading it is EINVAL, as on Linux), with the
    files registered in it counted for the tree that made it."""

    watched: dict[OpenFile, None] = field(default_factory=dict)
    tree: object = None

    def release(self) -> None:
        last = self.refs == 1
        super().release()
        if last:
            with _lock:
                limits.epoll_watches.give(self.tree, len(self.watched))
                self.watched.clear()
                mine = _tree_epolls.get(self.tree)
                if mine is not None:
                    mine.discard(self)
                    if not mine:
                        del _tree_epolls[self.tree]     # (an ended tree leaves nothing)

    def forget_closed(self) -> None:
        """Let go of the files closed since they were added (the kernel dropped them)."""
        gone = [f for f in self.watched if f.refs == 0]
        for f in gone:
            del self.watched[f]
        limits.epoll_watches.give(self.tree, len(gone))


_lock = threading.Lock()     # the counts of registrations, and of which epolls a tree has
_tree_epolls: dict[object, weakref.WeakSet[EpollFile]] = {}


def sys_epoll_create1(cage, flags, *_):
    flags = u32(flags)
    if flags & ~abi.O_CLOEXEC:
        raise abi.error(errno.EINVAL)
    host = checked(libc.epoll_create1(os.O_CLOEXEC))
    ep = EpollFile(host, abi.O_RDWR, tree=limits.tree_of(cage))
    with _lock:
        _tree_epolls.setdefault(ep.tree, weakref.WeakSet()).add(ep)
    return cage.fds.install(ep, cloexec=bool(flags & abi.O_CLOEXEC))


def _count_watch(ep: EpollFile, target: OpenFile) -> None:
    """Count `target`'s registration in `ep` (ENOSPC past the tree's share, once the
    registrations of files closed meanwhile are let go)."""
    with _lock:
        try:
            limits.epoll_watches.take(ep.tree)
        except OSError:
            for other in list(_tree_epolls.get(ep.tree, ())):
                other.forget_closed()
            limits.epoll_watches.take(ep.tree)
        ep.watched[target] = None


def _uncount_watch(ep: EpollFile, target: OpenFile) -> None:
    with _lock:
        if target in ep.watched:
            del ep.watched[target]
            limits.epoll_watches.give(ep.tree)


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
    if op == EPOLL_CTL_ADD:
        if target in ep.watched:
            raise abi.error(errno.EEXIST)
        _count_watch(ep, target)
        try:
            checked(libc.epoll_ctl(ep.host_fd, op, target.host_fd, host_event))
        except OSError:
            _uncount_watch(ep, target)
            raise
        return 0
    checked(libc.epoll_ctl(ep.host_fd, op, target.host_fd, host_event))
    if op == EPOLL_CTL_DEL:
        _uncount_watch(ep, target)
    return 0


def _wait(cage, epfd: int, events: int, maxevents: int, timeout: float | None) -> int:
    ep = cage.fds.get_as(s32(epfd), EpollFile)
    maxevents = s32(maxevents)
    if not 0 < maxevents <= _MAX_EVENTS:
        raise abi.error(errno.EINVAL)
    cage.mem.view(events, maxevents * _GUEST_EVENT.size, writing=True)  # EFAULT before waiting
    maxevents = min(maxevents, _EVENTS_AT_ONCE)
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
    got = buf.raw[:n * _HOST_EVENT.size]
    out = b"".join(_GUEST_EVENT.pack(*event) for event in _HOST_EVENT.iter_unpack(got))
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
