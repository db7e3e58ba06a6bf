"""Virtual file descriptors: each cage numbers its files itself.

An `OpenFile` is an open file description (offset, status flags) and may be shared
by several fds and cages (dup, fork); it owns its host fd from construction and counts
it against the process's host-fd budget (`limits.host_fds`).

Its last reference closes the file, but not the host fd's number: a thread of the cage
may be about to use that number (a handler waiting on it, a trampoline fast path that
took it from the mirror), and the next open anywhere in the Lind process -- another
tenant's -- would get it. So the number is parked on an inert file (an O_PATH to an
empty memfd: reads, writes, mmap and *at calls through it fail) and closed when the
OpenFile object is gone, by `threei.close_host_fd`, after the last fast path lets go.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import stat
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import InitVar, dataclass, field
from typing import Any, Protocol, TypeVar

from lind import threei
from lind.microvisor import abi, limits
from lind.microvisor.locking import locked
from lind.threei import ops


def _open_inert_file() -> int:
    """Above 2 even when the host has stdin, stdout or stderr closed: a cage then starts
    without that fd, rather than with this file (api._as_fd)."""
    memfd = os.memfd_create("lind-closed", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        fcntl.fcntl(memfd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_WRITE |
                    fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK)
        opened = os.open(f"/proc/self/fd/{memfd}", os.O_PATH | os.O_CLOEXEC)
    finally:
        os.close(memfd)
    try:
        return fcntl.fcntl(opened, fcntl.F_DUPFD_CLOEXEC, 3)
    finally:
        os.close(opened)


# Made at import, so that parking a number never fails for want of a new fd.
_INERT_FILE = _open_inert_file()
_MEMFD_DEVICE = os.fstat(_INERT_FILE).st_dev    # every memfd's (the kernel's shm mount)


def is_memfd(st: os.stat_result) -> bool:
    """Whether a file is host RAM of a memfd's kind (MemFile)."""
    return stat.S_ISREG(st.st_mode) and st.st_dev == _MEMFD_DEVICE


def inert_file() -> int:
    """The file released host fd numbers are parked on (see the module docstring)."""
    return _INERT_FILE


@dataclass(eq=False)
class OpenFile:
    """An open file description. A `borrowed` one is a host file the cage did not open
    inside its view (inherited stdio): its I/O is the cage's, but its mode, owner, times
    and size are the host's and may not be changed; `shares_host_flags` says the host
    holds the same description, so status flags (O_NONBLOCK) stay in the cage."""

    host_fd: int
    flags: int                     # guest open flags (access mode + status flags)
    path: str = ""                 # guest path it was opened by, for fchdir and *at calls
    is_dir: bool = False
    host_backed: bool = True       # host_fd does the I/O (not a pipe kept by the microvisor)
    borrowed: bool = False
    shares_host_flags: bool = False
    refs: int = 1
    readable: bool = field(init=False)
    writable: bool = field(init=False)
    dir_pos: int = 0
    # where a directory's listing got to (virtual.HostListing, FixedListing)
    dir_listing: Any = field(default=None, repr=False)
    # What runs with the last reference (when_last_closed): dropping the OFD locks and
    # flock the description held (sys_locks, once locks_watched), giving back what its
    # socket buffers grew by (sys_net).
    on_last_close: Callable[[], None] | None = field(default=None, repr=False)
    locks_watched: bool = field(default=False, init=False, repr=False)
    reserved: InitVar[bool] = False  # the host's own file (a new tree's stdio): may use the reserve
    _io_kind: int | None = field(default=None, init=False, repr=False)
    maps_zeros = False             # mmap gives anonymous memory (/dev/zero)
    description = 0                # its id in the trampoline's table (NonBlockingHostFile)
    trampoline_io = True           # the trampoline may read and write its host fd itself
    # what is written to it must pass the microvisor's check (a routing-netlink socket:
    # queries only), so never the host kernel's straight from another file (splice)
    writes_checked = False
    _parked = False                # released: host_fd names the inert file until __del__
    _fd_share = None               # the tree its host fd counts for (limits.caller_fd_share)

    def __post_init__(self, reserved: bool) -> None:
        access, path_only = self.flags & abi.O_ACCMODE, self.flags & abi.O_PATH
        # access mode 3 (O_RDWR | O_WRONLY) is neither, as Linux's: the file opens only
        self.readable = access in (abi.O_RDONLY, abi.O_RDWR) and not path_only and not self.is_dir
        self.writable = access in (abi.O_WRONLY, abi.O_RDWR) and not path_only and not self.is_dir
        if self.host_fd >= 0:
            self._fd_share = limits.caller_fd_share()    # the tree it counts for
            try:
                limits.host_fds.take(reserved=reserved, share=self._fd_share)
            except OSError:
                os.close(self.host_fd)
                raise

    def set_status_flags(self, new: int) -> None:
        """F_SETFL: the description's O_APPEND and O_NONBLOCK (`new`), on the host
        description too when it is the cage's alone."""
        if self.host_backed and self.shares_host_flags:
            # The host holds this description too: its O_APPEND is the host's to set,
            # and O_NONBLOCK (which a regular file ignores) is recorded for the cage only.
            if (new ^ self.flags) & abi.O_APPEND:
                raise abi.error(errno.EPERM)
        elif self.host_backed:
            host = fcntl.fcntl(self.host_fd, fcntl.F_GETFL) & ~(os.O_APPEND | os.O_NONBLOCK)
            host |= (os.O_APPEND if new & abi.O_APPEND else 0) | (
                os.O_NONBLOCK if new & abi.O_NONBLOCK else 0)
            fcntl.fcntl(self.host_fd, fcntl.F_SETFL, host)
        self.flags = (self.flags & ~abi.SETFL_MASK) | new

    def ioctl(self, cage, request: int, arg: int) -> int:
        """A request sys_ioctl does not answer for every file (a socket's own)."""
        raise abi.error(errno.ENOTTY)

    def hold(self) -> OpenFile:
        self.refs += 1
        return self

    def release(self) -> None:
        self.refs -= 1
        if self.refs == 0:
            if self.host_fd >= 0:
                os.dup2(inert_file(), self.host_fd, inheritable=False)   # closes the file
                self._parked = True
            self.forget_locks()     # a file with no host side keeps its locks here only

    def __del__(self) -> None:
        if self._parked:
            self._parked = False
            threei.close_host_fd(self.host_fd)
            limits.host_fds.give(share=self._fd_share)

    def when_last_closed(self, action: Callable[[], None]) -> None:
        """Run `action` when the description's last reference goes, after those given
        before it."""
        first = self.on_last_close
        self.on_last_close = action if first is None else lambda: (first(), action())

    def forget_locks(self) -> None:
        """The description is gone: so are its locks."""
        if self.on_last_close is not None:
            self.on_last_close()
            self.on_last_close = None

    @property
    def io_kind(self) -> int:
        """How a read or write may block (threei.IO_*): pipes and sockets are tried
        without blocking and waited for interruptibly; a terminal, or a pipe or socket
        whose O_NONBLOCK is the host's rather than the cage's, is polled before it is
        read; anything else never waits."""
        if self._io_kind is None:
            mode = 0 if self.is_dir or self.host_fd < 0 else os.fstat(self.host_fd).st_mode
            if stat.S_ISFIFO(mode) and not self.shares_host_flags:
                self._io_kind = threei.IO_PIPE
            elif stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or (
                    stat.S_ISCHR(mode) and os.isatty(self.host_fd)):
                self._io_kind = threei.IO_TTY
            else:
                self._io_kind = threei.IO_PLAIN
        return self._io_kind

    # I/O the 3i fast path did not serve (it serves host files itself when it can).
    def read(self, cage, addr: int, n: int) -> int:
        if self.io_kind == threei.IO_PLAIN:
            return cage.mem.read_fd(self.host_fd, addr, n)
        return self.waiting_io(cage, [cage.mem.view(addr, n, writing=True)], writing=False)

    # Pipes and sockets, which alone can say EPIPE, are never IO_PLAIN: waiting_io raises
    # SIGPIPE for them, as on Linux (Lind itself ignores it: the host write says EPIPE).
    def write(self, cage, addr: int, n: int) -> int:
        if self.io_kind != threei.IO_PLAIN:
            return self.waiting_io(cage, [cage.mem.view(addr, n)], writing=True)
        return cage.mem.write_fd(self.host_fd, addr, n)

    def readv(self, cage, views: list[memoryview]) -> int:
        if self.io_kind != threei.IO_PLAIN:
            return self.waiting_io(cage, views, writing=False)
        return os.readv(self.host_fd, views)

    def writev(self, cage, views: list[memoryview]) -> int:
        if self.io_kind != threei.IO_PLAIN:
            return self.waiting_io(cage, views, writing=True)
        return os.writev(self.host_fd, views)

    def waiting_io(self, cage, views: list[memoryview], *, writing: bool) -> int:
        """A read or write on a pipe, socket or terminal as the kernel's would be with the
        cage's O_NONBLOCK (a blocking write writes everything), waiting interruptibly:
        a signal after part of it was done returns the part, as on Linux."""
        total, done = sum(len(v) for v in views), 0
        while True:
            try:      # (a host EINTR is retried by os itself, PEP 475)
                n = _io_now(self.io_kind, self.host_fd, views, writing)
            except BlockingIOError:
                if self.flags & abi.O_NONBLOCK:
                    if done:
                        return done
                    raise
                try:
                    cage.wait_host(self.host_fd, select.POLLOUT if writing else select.POLLIN)
                except OSError:
                    if done:
                        return done
                    raise
                continue
            except BrokenPipeError:
                if done:
                    return done
                cage.raise_signal(signal.SIGPIPE)
                raise
            done += n
            if not writing or n == 0 or done == total:
                return done
            views = after(views, n)

    def stat(self) -> os.stat_result:
        return os.fstat(self.host_fd)

    def seekable(self) -> bool:
        """Whether lseek, pread and pwrite apply (ESPIPE otherwise): not to pipes."""
        return self.host_backed and (self.is_dir or not stat.S_ISFIFO(os.fstat(self.host_fd).st_mode))

    def seek(self, offset: int, whence: int) -> int:
        return os.lseek(self.host_fd, offset, whence)

    def pread(self, cage, addr: int, n: int, offset: int) -> int:
        return cage.mem.pread_fd(self.host_fd, addr, n, offset)

    def pwrite(self, cage, addr: int, n: int, offset: int) -> int:
        return cage.mem.pwrite_fd(self.host_fd, addr, n, offset)

    def read_at(self, offset: int, n: int) -> bytes:
        """Up to `n` bytes at `offset`, for the microvisor's own copies (sendfile,
        copy_file_range, preadv at an offset); the offset stays."""
        return os.pread(self.host_fd, n, offset)

    def write_at(self, offset: int, data: bytes | memoryview) -> int:
        """Write `data` at `offset` (the end under O_APPEND, as Linux's pwrite)."""
        return os.pwrite(self.host_fd, data, offset)

    def write_views(self, offset: int, views: list[memoryview]) -> int:
        """pwritev's: the buffers written at `offset` (a file kept in Python writes
        them one by one, never joined)."""
        return self.write_at(offset, b"".join(views))

    def position(self) -> int:
        """The offset SEEK_CUR counts from: 0 where there is none (a pipe, a socket,
        a file of the microvisor's own)."""
        if not self.host_backed:
            return 0
        try:
            return os.lseek(self.host_fd, 0, os.SEEK_CUR)
        except OSError as exc:
            if exc.errno != errno.ESPIPE:
                raise
            return 0

    def lock_key(self) -> tuple[object, bool]:
        """What its file's locks are kept under (sys_locks), and whether they are
        mirrored on the host: the host file's (st_dev, st_ino), mirrored for regular
        files and directories."""
        st = os.fstat(self.host_fd)
        return (st.st_dev, st.st_ino), stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)

    def poll(self, events: int) -> int:
        """Ready poll(2) events of a file without a host fd to poll (the microvisor's
        own: /dev/null, a virtual directory): always ready, as those are on Linux."""
        return events & (select.POLLIN | select.POLLOUT)


def _io_now(kind: int, fd: int, views: list[memoryview], writing: bool) -> int:
    """One read or write of `fd` that never blocks in the kernel (BlockingIOError)."""
    if kind == threei.IO_PIPE:
        try:
            if writing:
                return os.pwritev(fd, views, -1, os.RWF_NOWAIT)
            return os.preadv(fd, views, -1, os.RWF_NOWAIT)
        except OSError as exc:
            if exc.errno != errno.EOPNOTSUPP:   # a kernel without RWF_NOWAIT for pipes
                raise
        kind = threei.IO_TTY
    if kind == threei.IO_TTY and not ready_now(fd, select.POLLOUT if writing else select.POLLIN):
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
    return os.writev(fd, views) if writing else os.readv(fd, views)


def ready_now(fd: int, events: int) -> bool:
    """Whether host `fd` has one of poll(2) `events` now (a blocking fd: before a call
    that would otherwise wait in the kernel, out of reach of the cage's signals)."""
    p = select.poll()
    p.register(fd, events)
    return bool(p.poll(0))


def after(views: list[memoryview], n: int) -> list[memoryview]:
    """The buffers left once the first `n` bytes of `views` were transferred."""
    rest = []
    for v in views:
        if n >= len(v):
            n -= len(v)
        else:
            rest.append(v[n:])
            n = 0
    return rest


_free_descriptions = list(range(threei.DESCRIPTIONS - 1, 0, -1))
_descriptions_lock = threading.Lock()


@dataclass(eq=False)
class NonBlockingHostFile(OpenFile):
    """A file whose host fd never blocks (sockets, eventfds, inotify): whether the
    cage's description does is the microvisor's, here and in the trampoline's
    description table (`description`, `wait_mode`), so a blocked read waits in poll
    beside the cage's wake fd. One whose description the host shares (a socket given
    as stdin) keeps the host's blocking: its transfers are each made non-blocking
    (MSG_DONTWAIT), here rather than in the trampoline."""

    _read_twin: int = field(default=-1, init=False, repr=False)

    def __post_init__(self, reserved: bool) -> None:
        super().__post_init__(reserved)
        if self.shares_host_flags:
            self.trampoline_io = False
        else:
            os.set_blocking(self.host_fd, False)
        self._io_kind = threei.IO_NONBLOCKING
        with _descriptions_lock:
            self.description = _free_descriptions.pop() if _free_descriptions else 0
        self.publish_wait_mode()

    def wait_mode(self) -> int:
        return threei.DESC_NONBLOCKING if self.flags & abi.O_NONBLOCK else threei.DESC_BLOCKING

    def publish_wait_mode(self) -> None:
        # Under the lock that frees the id: a thread that got this file before another
        # closed it (fcntl's F_SETFL) publishes while the id is still its own, or not at
        # all -- never into the id once another tenant's new file took it.
        with _descriptions_lock:
            if self.description:
                threei.set_description(self.description, self.wait_mode())

    def set_status_flags(self, new: int) -> None:
        self.flags = (self.flags & ~abi.SETFL_MASK) | new   # the host fd stays non-blocking
        self.publish_wait_mode()

    def read_blocking_too(self) -> None:
        """Give the trampoline a blocking twin of this pipe's read side (its host fd
        opened again through /proc): a read that must wait is then one blocking call,
        which the trampoline cuts short for a signal or a kill, rather than a poll beside
        the wake fd and then the read (threei "blocking reads"). Paid for as a host fd;
        without one to spare, or without /proc, reads wait as before."""
        if not (threei.BLOCKING_READS and self.description and self.readable
                and self.trampoline_io):
            return
        try:
            limits.host_fds.take(share=self._fd_share)
        except OSError:
            return
        try:
            # O_NONBLOCK: a FIFO's open for reading would wait for a writer
            twin = os.open(f"/proc/self/fd/{self.host_fd}",
                           os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            limits.host_fds.give(share=self._fd_share)
            return
        os.set_blocking(twin, True)
        self._read_twin = twin
        threei.set_read_twin(self.host_fd, twin)

    def release(self) -> None:
        last = self.refs == 1
        super().release()
        if last and self._read_twin >= 0:
            threei.set_read_twin(self.host_fd, -1)      # before the number can be reused
            threei.close_host_fd(self._read_twin)     # once no read uses it
            limits.host_fds.give(share=self._fd_share)
            self._read_twin = -1
        if last and self.description:
            with _descriptions_lock:
                _free_descriptions.append(self.description)
                self.description = 0            # with the id: see publish_wait_mode


@dataclass(eq=False)
class MemFile(OpenFile):
    """A memfd: its pages are host RAM, outside any cage's memory, so the tree that holds
    one is charged for its size (every tree holding it for all of it; ENOSPC past the
    budget, as a full tmpfs says) until its last description there closes. Its growth
    is the microvisor's to see: the trampoline serves none of its I/O, and splice does
    not write to it."""

    budget_key: tuple[int, int, int] = (0, 0, 0)   # _memfd_charges' key
    trampoline_io = False
    writes_checked = True

    @classmethod
    def held_by(cls, budget: limits.MemoryBudget, host_fd: int, flags: int,
                path: str = "") -> MemFile:
        """The description of memfd `host_fd` in a tree with memory budget `budget`,
        which pays for its present size (ENOSPC if it cannot). Failing, it closes
        `host_fd`, as a description that cannot be made does (OpenFile)."""
        st = os.fstat(host_fd)
        key = (id(budget), st.st_dev, st.st_ino)   # the entry keeps `budget`: id stays
        with _memfd_lock:
            held = _memfd_charges.get(key)
            if held is None:
                held = _memfd_charges[key] = _MemfdCharge(limits.MemoryCharge(budget))
            try:
                _grow(held.charge, st.st_size)
            except OSError:
                if not held.holders:
                    del _memfd_charges[key]
                os.close(host_fd)
                raise
            held.holders += 1
        try:
            f = cls(host_fd, flags, path, budget_key=key)
        except OSError:
            _let_go(key)
            raise
        f._io_kind = threei.IO_PLAIN
        f.when_last_closed(lambda: _let_go(key))
        return f

    def held_in_flight(self) -> Callable[[], None]:
        """Its tree keeps paying for it while it is in a socket's queue (SCM_RIGHTS),
        even once every description of it there is closed: what to call when it comes
        out of the queue."""
        with _memfd_lock:
            _memfd_charges[self.budget_key].holders += 1
        return lambda: _let_go(self.budget_key)

    def reopened(self, host_fd: int, flags: int) -> MemFile:
        """A new description of the same memfd (/proc/self/fd/N opened), paid for once."""
        return MemFile.held_by(_memfd_charges[self.budget_key].charge.budget, host_fd, flags,
                               self.path)

    def sized(self, size: int, *, truncating: bool = False) -> None:
        """The file is about to reach `size` bytes (a write's end, fallocate), or to be
        cut to it (ftruncate): charged first, ENOSPC if the budget cannot take it."""
        with _memfd_lock:
            charge = _memfd_charges[self.budget_key].charge
            if truncating or size > charge.bytes:
                _grow(charge, size)


@dataclass
class _MemfdCharge:
    charge: limits.MemoryCharge
    holders: int = 0


# (id(budget), st_dev, st_ino) -> what that budget pays for that memfd, while one of its
# cages holds it
_memfd_charges: dict[tuple[int, int, int], _MemfdCharge] = {}
_memfd_lock = threading.Lock()


def _grow(charge: limits.MemoryCharge, size: int) -> None:
    try:
        charge.set(size)
    except OSError as exc:
        if exc.errno != errno.ENOMEM:
            raise
        raise OSError(errno.ENOSPC, "No space left on device") from None


def _let_go(key: tuple[int, int, int]) -> None:
    with _memfd_lock:
        held = _memfd_charges[key]
        held.holders -= 1
        if not held.holders:
            held.charge.clear()
            del _memfd_charges[key]


def own_description(host_fd: int, flags: int, path: str = "", *, st_mode: int | None = None,
                    borrowed: bool = False, reserved: bool = False) -> OpenFile:
    """The open file for a host description the cage alone holds (one it opened by name,
    or one Lind reopened for it). A pipe's or FIFO's host fd is made non-blocking, as
    pipe2's are: a FIFO opened by name refuses RWF_NOWAIT, and a blocking host write
    larger than the room left would wait in the kernel, out of reach of the cage's
    signals and of its end."""
    mode = os.fstat(host_fd).st_mode if st_mode is None else st_mode
    kind = NonBlockingHostFile if stat.S_ISFIFO(mode) and not flags & abi.O_PATH else OpenFile
    f = kind(host_fd, flags, path, stat.S_ISDIR(mode), borrowed=borrowed, reserved=reserved)
    if isinstance(f, NonBlockingHostFile):
        f.read_blocking_too()
    elif stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        f._io_kind = threei.IO_PLAIN     # known now: io_kind would fstat it again
    return f


_F = TypeVar("_F", bound=OpenFile)


def ebadf() -> OSError:
    return OSError(errno.EBADF, "Bad file descriptor")


def _adopted(found: tuple[int, int, int, int, int, bytes],
             share: threei.FdShare | None = None) -> tuple[int, OpenFile, bool]:
    """The OpenFile of a file the trampoline opened (Slot.adopt_fd's tuple): its host
    fd was counted when it was opened, in `share` (the slot's)."""
    fd, host_fd, flags, cloexec, is_dir, path = found
    f = own_description(host_fd, flags, path.decode("utf-8", "surrogateescape"),
                        st_mode=stat.S_IFDIR if is_dir else stat.S_IFREG, reserved=True)
    limits.host_fds.give(share=share)
    return fd, f, bool(cloexec)


class OpensElsewhere(Protocol):
    """Who else hands out a table's fd numbers: the cage's threei.Slot."""

    def claim_fd(self, fd: int) -> bool: ...
    def adopt_fd(self, fd: int) -> tuple[int, int, int, int, int, bytes] | None: ...
    def adopt_all(self, final: bool) -> list[tuple[int, int, int, int, int, bytes]]: ...


class _NoOpensElsewhere:
    """For a table whose numbers only Python hands out."""

    def claim_fd(self, fd: int) -> bool:
        return True

    def adopt_fd(self, fd: int) -> None:
        return None

    def adopt_all(self, final: bool) -> list:
        return []


def _not_told(*_: object) -> None:
    """A hook of an FdTable nobody listens to."""


_pinned_here = threading.local()


def _tables_pinned_here() -> weakref.WeakSet[FdTable]:
    tables = getattr(_pinned_here, "tables", None)
    if tables is None:
        tables = _pinned_here.tables = weakref.WeakSet()
    return tables


def forget_thread_pins() -> None:
    """This host thread's cage thread has ended: pins a grate made on it and did not let
    go of (ended between pin and unpin) go too, before the thread serves another."""
    tables = getattr(_pinned_here, "tables", None)
    if tables:
        me = threading.get_ident()
        for table in list(tables):
            table._forget_pins(me)
        tables.clear()
    _pinned_here.depth = 0


class FdTable:
    """fd -> (OpenFile, close-on-exec), with the cage's RLIMIT_NOFILE.

    `limit` (soft) bounds new fd numbers, `hard` bounds what `set_limits` may raise it
    to. `mirror(fd, file_or_None)` hears of every change, so the 3i fast path can serve
    plain host-file I/O without entering Python; `on_close(file)` hears of every fd
    closed (the cage's POSIX locks on that file go).

    The trampoline opens files too (`opened_by`, the cage's Slot: see "file opens" in
    _accel.c): it takes free numbers itself, so this table claims each number it hands
    out from the slot, and adopts a file opened there -- makes its OpenFile -- the
    first time it meets its number.
    """

    def __init__(self, limit: int = limits.NOFILE_SOFT, hard: int = limits.NOFILE_HARD,
                 mirror: Callable[[int, OpenFile | None], None] | None = None,
                 on_close: Callable[[OpenFile], None] | None = None,
                 opened_by: OpensElsewhere | None = None) -> None:
        self.limit = limit
        self.hard = hard
        self._files: list[OpenFile | None] = []
        self.closed = False            # close_all ran: the cage has ended
        self._cloexec: list[bool] = []
        self._mirror = mirror or _not_told
        self._on_close = on_close or _not_told
        self._opened_by = opened_by or _NoOpensElsewhere()
        self.lock = threading.RLock()   # a cage's threads open and close fds at once
        # host thread -> {fd: the file a grate checked at that fd}, while its call is below
        self._pins: dict[int, dict[int, OpenFile | None]] = {}
        # per thread, the fds each `pin` added to _pins, the latest last (unpin's)
        self._pinned_over: dict[int, list[list[int]]] = {}
        # the share of host fds the files opened_by opened count in (its cage's tree's)
        self.fd_share: threei.FdShare | None = None

    def forget_hooks(self) -> None:
        """Its cage has ended: nobody is told of its fds any more (the hooks were the
        cage's methods, which kept it alive until Python's collector found the cycle)."""
        self._mirror = self._on_close = _not_told

    def get_as(self, fd: int, kind: type[_F], err: int = errno.EINVAL) -> _F:
        """The file at `fd` when it is a `kind` (an epoll, a socket...); `err` otherwise."""
        f = self.get(fd)
        if not isinstance(f, kind):
            raise abi.error(err)
        return f

    def get(self, fd: int) -> OpenFile:
        """The file at `fd`; for a call a grate passed down, the file the grate checked
        there (`call_pinned`), or EBADF if its last fd was closed since (its host fd
        then names the inert file every released number is parked on)."""
        if self._pins:
            pinned = self._pins.get(threading.get_ident())
            if pinned is not None and fd in pinned:
                f = pinned[fd]
                if f is None or f.refs <= 0:
                    raise ebadf()
                return f
        return self._at(fd)

    def _at(self, fd: int) -> OpenFile:
        if 0 <= fd < len(self._files):
            f = self._files[fd]
            if f is not None:
                return f
        if fd >= 0:
            with self.lock:
                if fd < len(self._files) and self._files[fd] is not None:
                    return self._files[fd]
                f = self._adopt(fd)
                if f is not None:
                    return f
        raise ebadf()

    def call_pinned(self, files: dict[int, OpenFile], call: Callable[..., int],
                    *args: object) -> int:
        """call(*args), during which, on this thread, these fds are the files a grate
        checked (and an enclosing grate's checks stand): another thread's dup2 or close
        in between cannot make the call below act on a file the grate did not see, as
        if the call had run before it."""
        me = threading.get_ident()
        outer = self._pins.get(me)
        self._pins[me] = {**files, **outer} if outer else dict(files)  # (pin adds to it)
        try:
            return call(*args)
        finally:
            if outer is None:
                self._pins.pop(me, None)
            else:
                self._pins[me] = outer

    def pin(self, fds: Iterable[int]) -> None:
        """Until `unpin`, on this thread, these fds are the files they are now (one not
        open stays closed; an enclosing pin stands): a wasm grate's pin (ops.PIN_FDS),
        call_pinned for a grate that judges, reads and forwards as three calls. `fds` as a
        call passed them (C ints in 64-bit slots)."""
        files: dict[int, OpenFile | None] = {}
        for fd in map(abi.s32, fds):
            if fd >= 0:
                try:
                    files[fd] = self._at(fd)
                except OSError:
                    files[fd] = None
        me = threading.get_ident()
        # As deep as grates nest, on this thread and over every table it pins together:
        # a thread's pins of each of a tree's cages (a cage may pin its descendants')
        # were 64 for each, and 30 threads pinning 30 children took 260 MB of the host.
        depth = getattr(_pinned_here, "depth", 0)
        if depth >= ops.MAX_NESTING:
            raise abi.error(errno.ENOMEM)
        pinned = self._pins.get(me)
        if pinned is None:
            pinned = self._pins[me] = {}
        # Only what this pin adds is kept for unpin (an enclosing pin stands): one dict
        # of this thread's pins, not a copy of it a level (which grew as the square).
        added = [fd for fd in files if fd not in pinned]
        for fd in added:
            pinned[fd] = files[fd]
        self._pinned_over.setdefault(me, []).append(added)
        _pinned_here.depth = depth + 1
        _tables_pinned_here().add(self)

    def unpin(self) -> None:
        """Let go of this thread's latest `pin` (EINVAL if it has none)."""
        me = threading.get_ident()
        over = self._pinned_over.get(me)
        if not over:
            raise abi.error(errno.EINVAL)
        added = over.pop()
        _pinned_here.depth = max(getattr(_pinned_here, "depth", 1) - 1, 0)
        pinned = self._pins.get(me)
        if pinned is not None:
            for fd in added:
                pinned.pop(fd, None)
        if not over:
            del self._pinned_over[me]
            if not pinned:
                self._pins.pop(me, None)

    def _forget_pins(self, thread: int) -> None:
        self._pinned_over.pop(thread, None)
        self._pins.pop(thread, None)

    def _put(self, fd: int, f: OpenFile, cloexec: bool) -> None:
        self._grow(fd)
        self._files[fd], self._cloexec[fd] = f, cloexec

    def _adopt(self, fd: int) -> OpenFile | None:
        """The file the trampoline opened at `fd`, now in this table (lock held)."""
        found = self._opened_by.adopt_fd(fd)
        if found is None:
            return None
        _, f, cloexec = _adopted(found, self.fd_share)
        self._put(fd, f, cloexec)
        return f

    def _adopt_all(self, final: bool = False) -> None:
        for found in self._opened_by.adopt_all(final):
            fd, f, cloexec = _adopted(found, self.fd_share)
            self._put(fd, f, cloexec)

    def _refuse_if_closed(self, f: OpenFile) -> None:
        """A table emptied at the end of its cage takes nothing more (a call a grate still
        makes for the ended cage would leave the host file open for ever)."""
        if self.closed:
            f.release()
            raise OSError(errno.ESRCH, "No such process")

    @locked
    def install(self, f: OpenFile, cloexec: bool = False, lowest: int = 0) -> int:
        """Put `f` at the lowest free fd >= lowest; takes over the caller's reference."""
        self._refuse_if_closed(f)
        for fd in range(lowest, self.limit):
            if fd < len(self._files) and self._files[fd] is not None:
                continue
            if not self._opened_by.claim_fd(fd):
                self._adopt(fd)     # opened by the trampoline (or being opened): taken
                continue
            self._put(fd, f, cloexec)
            self._mirror(fd, f)
            return fd
        f.release()
        raise OSError(errno.EINVAL if lowest >= self.limit else errno.EMFILE,
                      "Too many open files")

    def set_limits(self, soft: int, hard: int) -> None:
        """setrlimit(RLIMIT_NOFILE): open fds above a lowered limit stay open, as on Linux."""
        limits.check_new_limit(soft, hard, self.hard)
        self.limit, self.hard = soft, hard

    def ceiling(self) -> int:
        """No fd at or above this is open, nor can be until the limits change."""
        return max(self.hard, len(self._files))

    def _grow(self, fd: int) -> None:
        extra = fd + 1 - len(self._files)
        if extra > 0:
            self._files += [None] * extra
            self._cloexec += [False] * extra

    @locked
    def place(self, fd: int, f: OpenFile, cloexec: bool) -> None:
        """Put `f` at exactly `fd`, closing what was there (dup2 semantics)."""
        self._refuse_if_closed(f)
        if not 0 <= fd < self.limit:
            f.release()
            raise ebadf()
        if not self._opened_by.claim_fd(fd) and self._adopt(fd) is None:
            f.release()     # the trampoline is opening a file at that number: as Linux
            raise OSError(errno.EBUSY, "Device or resource busy")
        self._grow(fd)
        old = self._files[fd]
        self._files[fd], self._cloexec[fd] = f, cloexec
        self._mirror(fd, f)
        if old is not None:
            self._on_close(old)
            old.release()

    @locked
    def close(self, fd: int) -> None:
        self._drop(fd, self._at(fd))        # the number's file, pinned or not

    def _drop(self, fd: int, f: OpenFile) -> None:
        """Number `fd` of `f` closed (the lock held)."""
        self._files[fd] = None
        self._mirror(fd, None)
        self._on_close(f)
        f.release()

    @locked
    def numbers(self) -> list[int]:
        """The open fd numbers, lowest first (/proc/self/fd)."""
        self._adopt_all()
        return [fd for fd, f in enumerate(self._files) if f is not None]

    @locked
    def files_of(self, kind: type[_F]) -> list[tuple[int, _F]]:
        """(fd, file) of each open fd whose file is a `kind`, lowest first."""
        self._adopt_all()
        return [(fd, f) for fd, f in enumerate(self._files) if isinstance(f, kind)]

    def cloexec(self, fd: int) -> bool:
        self.get(fd)
        return self._cloexec[fd]

    def set_cloexec(self, fd: int, value: bool) -> None:
        self.get(fd)
        self._cloexec[fd] = value

    @locked
    def copy(self, mirror: Callable[[int, OpenFile | None], None] | None = None,
             on_close: Callable[[OpenFile], None] | None = None,
             opened_by: OpensElsewhere | None = None, *,
             copy_mirror: Callable[[], None] | None = None) -> FdTable:
        """The table a forked child starts with: same open files, shared. `copy_mirror`,
        if given, gives the child this table's mirror at once (under this table's lock),
        instead of telling `mirror` of each file."""
        self._adopt_all()
        child = FdTable(self.limit, self.hard, mirror, on_close, opened_by)
        child.fd_share = self.fd_share
        child._files = [f.hold() if f else None for f in self._files]
        child._cloexec = list(self._cloexec)
        if copy_mirror is not None:
            copy_mirror()
            return child
        for fd, f in enumerate(child._files):
            if f is not None:
                child._mirror(fd, f)
        return child

    @locked
    def close_on_exec(self) -> None:
        self._adopt_all()
        for fd, f in enumerate(self._files):
            if f is not None and self._cloexec[fd]:
                self.close(fd)

    @locked
    def close_all(self) -> None:
        self._adopt_all(final=True)
        self.closed = True
        for fd, f in enumerate(self._files):
            if f is not None:       # as close(fd), the lock held already
                self._drop(fd, f)
