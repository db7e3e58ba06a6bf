"""Pipes between cages, kept entirely in the microvisor: no host round trip.

One `Pipe` holds the bytes; each end is a `PipeEnd` open file. Readers block until
data or EOF (all writers gone); writers block for room, and get EPIPE (plus SIGPIPE
to the writing cage) once all readers are gone. Writes of up to PIPE_BUF bytes are
atomic. Every state change notifies `changed`, which poll/select wait on. A caught
signal interrupts a blocked read or write (EINTR, or a restart under SA_RESTART); a
write that had already moved some bytes answers their count.
"""

from __future__ import annotations

import errno
import itertools
import os
import stat
import threading
import time

from lind.microvisor import abi
from lind.microvisor.fdtable import OpenFile

PIPE_BUF = 4096
CAPACITY = 65536

# One condition for all pipes, so poll() can wait on any number of them at once.
changed = threading.Condition(threading.Lock())
_inodes = itertools.count(1)


class Pipe:
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.readers = 0
        self.writers = 0
        self.ino = next(_inodes)
        self.created_ns = time.time_ns()

    # All methods below are called with `changed` held.
    def readable_now(self) -> bool:
        return bool(self.buffer) or self.writers == 0

    def writable_now(self, n: int = 1) -> bool:
        return self.readers == 0 or CAPACITY - len(self.buffer) >= min(n, PIPE_BUF)


class PipeEnd(OpenFile):
    """One end of a pipe, shared like any open file description (dup, fork)."""

    def __init__(self, pipe: Pipe, flags: int) -> None:
        super().__init__(-1, flags, host_backed=False)
        self.pipe = pipe
        with changed:
            if self.readable:
                pipe.readers += 1
            else:
                pipe.writers += 1

    def release(self) -> None:
        self.refs -= 1
        if self.refs == 0:
            with changed:
                if self.readable:
                    self.pipe.readers -= 1
                else:
                    self.pipe.writers -= 1
                changed.notify_all()
            self.forget_locks()

    # Data moves straight between the cage's memory views and the pipe's buffer, at most
    # what the pipe holds at a time: iovecs that all name one big buffer cost the host
    # nothing more than the pipe's capacity.
    def read(self, cage, addr, n: int) -> int:
        if n == 0:
            return 0
        # mem.view checks the buffer (EFAULT) before blocking, as Linux does.
        return self._read_into(cage, [cage.mem.view(addr, n)])

    def write(self, cage, addr, n: int) -> int:
        if n == 0:
            return 0
        return self._write_from(cage, [cage.mem.view(addr, n)])

    def readv(self, cage, views: list[memoryview]) -> int:
        if not any(views):
            return 0   # Linux answers a read of nothing at once, data or not
        return self._read_into(cage, views)

    def writev(self, cage, views: list[memoryview]) -> int:
        return self._write_from(cage, views)

    def _read_into(self, cage, views: list[memoryview]) -> int:
        p = self.pipe
        with changed:
            while not p.buffer:
                if p.writers == 0:
                    return 0
                if self.flags & abi.O_NONBLOCK:
                    raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
                cage.block_on(changed)
            done = len(p.buffer)
            if len(views[0]) >= done:      # the usual case: all of it into the first buffer
                views[0][:done] = p.buffer
                p.buffer.clear()
            else:
                done = 0
                with memoryview(p.buffer) as data:
                    for v in views:
                        take = min(len(v), len(data) - done)
                        v[:take] = data[done:done + take]
                        done += take
                        if done == len(data):
                            break
                del p.buffer[:done]
            changed.notify_all()
        return done

    def _write_from(self, cage, views: list[memoryview]) -> int:
        n = len(views[0]) if len(views) == 1 else sum(map(len, views))
        if n == 0:
            return 0
        p = self.pipe
        done = 0
        at, offset = 0, 0     # the next byte to move: views[at][offset]
        with changed:
            while done < n:
                if p.readers == 0:
                    cage.raise_signal(13)  # SIGPIPE
                    if done:
                        return done
                    raise OSError(errno.EPIPE, "Broken pipe")
                room = CAPACITY - len(p.buffer)
                atomic = n - done <= PIPE_BUF
                if room == 0 or (atomic and room < n - done):
                    if self.flags & abi.O_NONBLOCK:
                        if done:
                            return done
                        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
                    try:
                        cage.block_on(changed)
                    except OSError:
                        if done:
                            return done
                        raise
                    continue
                take = min(room, n - done)
                done += take
                while take:
                    v = views[at]
                    part = min(take, len(v) - offset)
                    p.buffer += v[offset:offset + part]
                    take -= part
                    offset += part
                    if offset == len(v):
                        at, offset = at + 1, 0
                changed.notify_all()
        return done

    def stat(self) -> os.stat_result:
        p, ns = self.pipe, self.pipe.created_ns
        return os.stat_result((stat.S_IFIFO | 0o600, p.ino, 0, 1, os.getuid(), os.getgid(),
                               len(p.buffer), ns // 10**9, ns // 10**9, ns // 10**9,
                               ns / 1e9, ns / 1e9, ns / 1e9, ns, ns, ns, PIPE_BUF, 0, 0))

    def poll(self, events: int) -> int:
        """Ready events now (poll(2) bits), with `changed` held by the caller."""
        p, ready = self.pipe, 0
        if self.readable:
            if p.buffer:
                ready |= events & POLLIN
            if p.writers == 0:
                ready |= POLLHUP
        else:
            if p.readers == 0:
                ready |= POLLERR
            elif CAPACITY - len(p.buffer) >= PIPE_BUF:
                ready |= events & POLLOUT
        return ready


POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20


def make_pipe(flags: int) -> tuple[PipeEnd, PipeEnd]:
    status = flags & abi.O_NONBLOCK
    p = Pipe()
    return PipeEnd(p, abi.O_RDONLY | status), PipeEnd(p, abi.O_WRONLY | status)
