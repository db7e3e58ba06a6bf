"""Open file descriptions of the cooperative runtime: files of a memfs tree, pipes
between cages, and the run's console. None of them asks the host for anything.

A read or write that would block returns None: the runtime then runs other cages
until it would not (lind.portable.runtime).
"""

from __future__ import annotations

import errno
import os
import stat
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable

from lind.microvisor import abi
from lind.portable.memfs import BLOCK, Dir, File, Node, Stat, Tree

PIPE_BUF = 4096
PIPE_DEFAULT_SIZE, PIPE_MAX_SIZE = 16 * PIPE_BUF, 1 << 20      # Linux's, for a user
PIPE_BYTES = 256 << 20    # what all of a run's pipes may hold together before a writer waits


class PipeBudget:
    """Bytes held in a run's pipes. Far more than Linux's 64 KiB a pipe: on one thread a
    writer that must wait can only hand over to cages that have not started or are
    ready (lind.portable.runtime), so writers should rarely wait; the bound keeps a cage
    from holding the host's memory in pipes."""

    def __init__(self, limit: int = PIPE_BYTES) -> None:
        self.limit = limit
        self.used = 0

    def room(self) -> int:
        return self.limit - self.used


def _error(code: int) -> OSError:
    return OSError(code, errno.errorcode.get(code, str(code)))


class Description(ABC):
    """What dup and fork share: the offset and status flags, counted references."""

    def __init__(self, flags: int) -> None:
        self.flags = flags & ~(abi.O_CREAT | abi.O_EXCL | abi.O_TRUNC | abi.O_CLOEXEC)
        self.refs = 1

    @property
    def readable(self) -> bool:
        return self.flags & abi.O_ACCMODE in (0, 2) and not self.flags & abi.O_PATH

    @property
    def writable(self) -> bool:
        return self.flags & abi.O_ACCMODE in (1, 2) and not self.flags & abi.O_PATH

    def read(self, n: int) -> bytes | None:
        raise _error(errno.EINVAL)

    def write(self, data: bytes) -> int | None:
        raise _error(errno.EINVAL)

    def seek(self, offset: int, whence: int) -> int:
        raise _error(errno.ESPIPE)

    def pread(self, n: int, offset: int) -> bytes:
        raise _error(errno.ESPIPE)

    def pwrite(self, data: bytes, offset: int) -> int:
        raise _error(errno.ESPIPE)

    @abstractmethod
    def stat(self) -> Stat:
        """What fstat says of it."""

    def pending(self) -> int:
        """FIONREAD: the bytes waiting to be read (ENOTTY: not a stream that has any)."""
        raise _error(errno.ENOTTY)

    def inherited_by(self, proc) -> Description:
        """What a fork's or spawn's child `proc` holds of it: itself, one more reference."""
        self.refs += 1
        return self

    def lock_key(self) -> object:
        """What file locks taken through it are on (lind.portable.locks)."""
        return self

    def ready(self, events: int) -> int:
        """The poll events of `events` that would not block now."""
        return events & (abi.POLLIN | abi.POLLOUT)

    def release(self) -> None:
        self.refs -= 1
        if self.refs == 0:
            self.closed()

    @abstractmethod
    def closed(self) -> None:
        """The last reference went."""


class TreeFile(Description):
    def __init__(self, tree: Tree, node: Node, flags: int) -> None:
        super().__init__(flags)
        self.tree = tree
        self.node = node
        self.pos = 0          # a directory's: the d_off (memfs.Listing cookie) it got to
        node.opened += 1

    def lock_key(self) -> object:
        return self.node

    def pending(self) -> int:
        """FIONREAD of a file: the bytes past the offset, as Linux answers for one."""
        if not isinstance(self.node, File):
            raise _error(errno.ENOTTY)
        return min(max(0, self.node.size - self.pos), 0x7FFFFFFF)

    def _file(self) -> File:
        if isinstance(self.node, Dir):
            raise _error(errno.EISDIR)
        if not isinstance(self.node, File):
            raise _error(errno.EINVAL)
        return self.node

    def read(self, n: int) -> bytes:
        data = self.tree.read_bytes(self._file(), self.pos, n)
        self.pos += len(data)
        return data

    def pread(self, n: int, offset: int) -> bytes:
        return self.tree.read_bytes(self._file(), offset, n)

    def write(self, data: bytes) -> int:
        node = self._file()
        start = len(node.data) if self.flags & abi.O_APPEND else self.pos
        self.pos = self.tree.write_bytes(node, start, data)
        return self.pos - start

    def pwrite(self, data: bytes, offset: int) -> int:
        node = self._file()
        start = len(node.data) if self.flags & abi.O_APPEND else offset
        return self.tree.write_bytes(node, start, data) - start

    def seek(self, offset: int, whence: int) -> int:
        if whence not in (abi.SEEK_SET, abi.SEEK_CUR, abi.SEEK_END):
            raise _error(errno.EINVAL)
        base = {abi.SEEK_SET: 0, abi.SEEK_CUR: self.pos, abi.SEEK_END: self.node.size}[whence]
        if base + offset < 0:
            raise _error(errno.EINVAL)
        self.pos = base + offset
        return self.pos

    def stat(self) -> Stat:
        return self.tree.stat(self.node)

    def dirents(self, room: int) -> bytes:
        """getdents64 from the offset (the cookie of the last name given), paged from
        the directory itself: "." and ".." first, then its names."""
        if not isinstance(self.node, Dir):
            raise _error(errno.ENOTDIR)
        records, self.pos = self.node.dirents(self.pos, room)
        return b"".join(records)

    def closed(self) -> None:
        self.tree.closed(self.node)


class Pipe:
    """The bytes between a pipe's ends (or one direction of a socket), and how many of
    each end are open."""

    def __init__(self, budget: PipeBudget) -> None:
        self.budget = budget
        self.buffer = bytearray()
        self.readers = 0
        self.writers = 0
        self.opened = [0, 0]      # ends ever made for reading, for writing (a FIFO's rendezvous)
        self.ino = time.monotonic_ns() & 0xFFFFFFFF
        self.taken = self.given = 0               # bytes ever read from it, ever written
        # What F_GETPIPE_SZ says and F_SETPIPE_SZ sets, as Linux's: the size programs
        # plan their writes by (what the pipes may hold is the run's PipeBudget).
        self.capacity = PIPE_DEFAULT_SIZE
        # a socket's SCM_RIGHTS: descriptions in flight, from the byte they came with on
        self.rights: deque[tuple[int, list[Description]]] = deque()

    def take(self, n: int, nonblock: bool, peek: bool = False) -> bytes | None:
        """Up to `n` bytes; b"" at the end (no writer left); None when a reader must
        wait (EAGAIN if it will not)."""
        if not self.buffer:
            if self.writers == 0 or n == 0:
                return b""
            if nonblock:
                raise _error(errno.EAGAIN)
            return None
        data = bytes(self.buffer[:n])
        if not peek:
            del self.buffer[:n]
            self.budget.used -= len(data)
            self.taken += len(data)
        return data

    def put(self, data: bytes, nonblock: bool) -> int | None:
        """All of `data` or none of it while the pipe has room (EPIPE without readers:
        the runtime raises SIGPIPE); None when the writer must wait."""
        if self.readers == 0:
            raise _error(errno.EPIPE)
        room = self.budget.room()
        if room <= 0 or (len(data) <= PIPE_BUF and room < len(data)):
            if nonblock:
                raise _error(errno.EAGAIN)
            return None
        taken = data[:room]
        self.buffer += taken
        self.budget.used += len(taken)
        self.given += len(taken)
        return len(taken)

    def resize(self, size: int) -> int:
        """F_SETPIPE_SZ: a power of two of pages, at least `size`; EPERM past what a user
        may ask, EBUSY below what the pipe holds."""
        pages = max(1, -(-size // PIPE_BUF))
        size = PIPE_BUF << (pages - 1).bit_length()
        if size > PIPE_MAX_SIZE:
            raise _error(errno.EPERM)
        if len(self.buffer) > size:
            raise _error(errno.EBUSY)
        self.capacity = size
        return size

    def can_take(self) -> bool:
        return bool(self.buffer) or self.writers == 0

    def can_put(self) -> bool:
        """As Linux: POLLOUT once a write of PIPE_BUF fits (or would fail at once)."""
        return self.readers == 0 or self.budget.room() >= PIPE_BUF

    def drop(self, reader: bool) -> None:
        """One reading (or writing) end went; with the last end, what nobody will read."""
        if reader:
            self.readers -= 1
        else:
            self.writers -= 1
        if self.readers == 0 and self.writers == 0:
            self.budget.used -= len(self.buffer)
            self.buffer.clear()
            while self.rights:
                for passed in self.rights.popleft()[1]:
                    passed.release()


class PipeEnd(Description):
    def __init__(self, pipe: Pipe, reading: bool, flags: int = 0) -> None:
        super().__init__((0 if reading else 1) | flags)
        self.pipe = pipe
        self.reading = reading
        if reading:
            pipe.readers += 1
        else:
            pipe.writers += 1
        pipe.opened[not reading] += 1

    def read(self, n: int) -> bytes | None:
        if not self.reading:
            raise _error(errno.EBADF)
        return self.pipe.take(n, bool(self.flags & abi.O_NONBLOCK))

    def write(self, data: bytes) -> int | None:
        if self.reading:
            raise _error(errno.EBADF)
        return self.pipe.put(data, bool(self.flags & abi.O_NONBLOCK))

    def stat(self) -> Stat:
        now = time.time_ns()
        return Stat(0x70697065, self.pipe.ino, 1, stat.S_IFIFO | 0o600, 0, 0,
                    len(self.pipe.buffer), now, now, now, st_blksize=BLOCK)

    def pending(self) -> int:
        return len(self.pipe.buffer)

    def lock_key(self) -> object:
        return self.pipe

    def ready(self, events: int) -> int:
        pipe, found = self.pipe, 0
        if self.reading:
            if pipe.buffer:
                found |= events & abi.POLLIN
            if pipe.writers == 0:
                found |= abi.POLLHUP
        else:
            if pipe.readers == 0:
                found |= abi.POLLERR       # and POLLOUT if it fits, as Linux (write: EPIPE)
            if pipe.can_put():
                found |= events & abi.POLLOUT
        return found

    def closed(self) -> None:
        self.pipe.drop(self.reading)


class FifoBoth(PipeEnd):
    """A FIFO opened O_RDWR: a reader and a writer of its pipe at once."""

    def __init__(self, pipe: Pipe, flags: int) -> None:
        super().__init__(pipe, True, flags)
        pipe.writers += 1
        pipe.opened[1] += 1

    def read(self, n: int) -> bytes | None:
        return self.pipe.take(n, bool(self.flags & abi.O_NONBLOCK))

    def write(self, data: bytes) -> int | None:
        return self.pipe.put(data, bool(self.flags & abi.O_NONBLOCK))

    def ready(self, events: int) -> int:
        found = events & abi.POLLIN if self.pipe.buffer else 0
        return found | (events & abi.POLLOUT if self.pipe.can_put() else 0)

    def closed(self) -> None:
        self.pipe.drop(reader=True)
        self.pipe.drop(reader=False)


class Console(Description):
    """The run's standard input (bytes given up front, then end of file) or an
    output the runtime's caller receives (`sink`). Standard input may also be read
    as the cage asks (`stdin` a function of the most bytes wanted; b"" at its end),
    the whole run waiting meanwhile."""

    def __init__(self, *, stdin: bytes | Callable[[int], bytes] | None = None,
                 sink: Callable[[bytes], None] | None = None) -> None:
        super().__init__(0 if stdin is not None else 1)
        self.source = stdin if callable(stdin) else None
        self.pending = bytearray(stdin if isinstance(stdin, bytes | bytearray) else b"")
        self.sink = sink

    def read(self, n: int) -> bytes:
        if self.sink is not None:
            raise _error(errno.EBADF)
        if not self.pending and self.source is not None and n > 0:
            return self.source(n)
        data = bytes(self.pending[:n])
        del self.pending[:n]
        return data

    def write(self, data: bytes) -> int:
        if self.sink is None:
            raise _error(errno.EBADF)
        try:
            self.sink(data)
        except BrokenPipeError:            # the reader of the run's output went away
            raise _error(errno.EPIPE) from None
        return len(data)

    def closed(self) -> None:
        """The run's console stays the runtime's caller's."""

    def stat(self) -> Stat:
        now = time.time_ns()
        return Stat(0x636F6E73, 1, 1, stat.S_IFCHR | 0o620, 0, 0, 0, now, now, now,
                    st_rdev=0x8800)


# the devices of /dev a cage may open, by path: their name, major and minor numbers
DEVICES = {f"/dev/{name}": (name, major, minor) for name, major, minor in (
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9))}


class DeviceFile(Description):
    """/dev/null, zero, full, random or urandom, open: Linux's answers with no device
    behind them (the microvisor serves the same ones, lind.microvisor.virtual)."""

    def __init__(self, device: tuple[str, int, int], flags: int) -> None:
        super().__init__(flags)
        self.name, self.major, self.minor = device

    def read(self, n: int) -> bytes:
        if self.name == "null":
            return b""
        return bytes(n) if self.name in ("zero", "full") else os.urandom(n)

    def write(self, data: bytes) -> int:
        if self.name == "full":
            raise _error(errno.ENOSPC)
        return len(data)

    def pread(self, n: int, offset: int) -> bytes:
        return self.read(n)

    def pwrite(self, data: bytes, offset: int) -> int:
        return self.write(data)

    def seek(self, offset: int, whence: int) -> int:
        return 0

    def stat(self) -> Stat:
        now = time.time_ns()
        return Stat(0x64657600, self.major << 8 | self.minor, 1, stat.S_IFCHR | 0o666, 0, 0, 0,
                    now, now, now, st_rdev=os.makedev(self.major, self.minor))

    def closed(self) -> None:
        """Nothing is held."""
