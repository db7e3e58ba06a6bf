"""The 3i trampoline in pure Python, used when the C accelerator was not built.

It mirrors `_accel` exactly (Memory, Slot, the FAST_* codes, `entry_callback`), so
the rest of Lind cannot tell which one it runs on; it is only ~20x slower per call.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from wasmtime import _bindings as wt
from wasmtime import _ffi

from lind.engine import jump_points

NSYSCALLS = 1024
(FAST_NONE, FAST_GETPID, FAST_GETPPID, FAST_GETUID, FAST_GETEUID, FAST_GETGID, FAST_GETEGID,
 FAST_CLOSE, FAST_READ, FAST_WRITE, FAST_PREAD, FAST_PWRITE, FAST_LSEEK, FAST_GRATE,
 FAST_THREEI_CALL, FAST_SENDTO, FAST_RECVFROM, FAST_EPOLL_PWAIT, FAST_FUTEX, FAST_OPEN,
 FAST_OPENAT, FAST_FSTAT, FAST_NEWFSTATAT, FAST_SIGPROCMASK, FAST_READV, FAST_WRITEV,
 FAST_CLOCK_GETTIME, FAST_GETRANDOM, FAST_NANOSLEEP, FAST_CLOCK_NANOSLEEP, FAST_SETJMP,
 FAST_LONGJMP, FAST_FORK, FAST_IOCTL, FAST_POLL, FAST_ACCESS, FAST_FACCESSAT, FAST_READLINK,
 FAST_READLINKAT, FAST_PSELECT6, FAST_UNLINK, FAST_RMDIR, FAST_UNLINKAT, FAST_RENAME,
 FAST_RENAMEAT) = range(45)
# (FAST_SENDTO and those after it: always the handler's here)
IO_PLAIN, IO_PIPE, IO_NONBLOCKING, IO_TTY = range(4)   # how a mirrored fd's I/O may block
DESC_BLOCKING, DESC_NONBLOCKING, DESC_PYTHON = range(3)   # a description's waits
DESCRIPTIONS = 65536
_I32_KIND, _F64_KIND = _ffi.WASMTIME_I32.value, _ffi.WASMTIME_F64.value


BLOCKING_READS = 0       # waiting files are the handler's here: it polls


def set_read_twin(host_fd: int, fd: int) -> None:
    """Never used here (BLOCKING_READS)."""


def set_description(description: int, mode: int) -> None:
    """Waiting files are never served here (see Slot.mirror_fd): only the arguments matter."""
    if not 0 < description < DESCRIPTIONS or not DESC_BLOCKING <= mode <= DESC_PYTHON:
        raise ValueError("bad description id or mode")


_MAP_FIXED = 0x10
_MADV_DONTNEED = 4
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_IDENTITY = {FAST_GETPID, FAST_GETPPID, FAST_GETUID, FAST_GETEUID, FAST_GETGID, FAST_GETEGID}


# Wake words and futexes: as in _accel.c (its "wake words" and "futexes" say why).
WAKE_WORDS = 1 << 20
FUTEX_WOKEN, FUTEX_WAKE_FD_WRITTEN = 0, 1
_wake_words = mmap.mmap(-1, WAKE_WORDS * 4)
_WAKE_WORDS_AT = ctypes.addressof(ctypes.c_char.from_buffer(_wake_words))
_SYS_FUTEX, _SYS_FUTEX_WAITV = 202, 449
_FUTEX_REQUEUE, _FUTEX_CMP_REQUEUE, _FUTEX_WAIT_BITSET, _FUTEX_WAKE_BITSET = 3, 4, 9, 10
_FUTEX_PRIVATE, _FUTEX_CLOCK_REALTIME, _FUTEX2_SIZE_U32 = 128, 256, 2
_FUTEX_MATCH_ANY = 0xFFFFFFFF
_FUTEX_SLICE_NS = 10_000_000
_libc.syscall.restype = ctypes.c_long


class _Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_int64), ("nsec", ctypes.c_int64)]


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


# Permission checks: as in _accel.c (its "permission checks" says why).
_SYS_CAPGET, _SYS_CAPSET, _CAPABILITY_V3 = 125, 126, 0x20080522
_DAC_CAPS = 0b1110     # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
_CapabilityData = (ctypes.c_uint32 * 3) * 2    # (effective, permitted, inheritable) × 2


class _CapabilityHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


def _capabilities() -> tuple[_CapabilityHeader, Any] | None:
    header, data = _CapabilityHeader(_CAPABILITY_V3, 0), _CapabilityData()
    return (header, data) if _libc.syscall(_SYS_CAPGET, ctypes.byref(header), data) == 0 else None


def _set_mode_checks(checks: int) -> None:
    held = _capabilities()
    if held is not None:
        header, data = held
        effective, permitted = data[0][0], data[0][1]
        data[0][0] = effective & ~_DAC_CAPS if checks else effective | (permitted & _DAC_CAPS)
        _libc.syscall(_SYS_CAPSET, ctypes.byref(header), data)
    _this_thread.checks = checks


_dac_caps: bool | None = None      # None: not looked at; else: Lind may hold them


def act_as(euid: int) -> int:
    """This host thread acts for a cage of effective uid `euid` (see _accel.c); the
    checks it held before (-1 never set, 1 held, 0 not), for checks_back."""
    global _dac_caps
    before = getattr(_this_thread, "checks", -1)
    if _dac_caps is None:
        held = _capabilities()
        _dac_caps = held is not None and bool(held[1][0][1] & _DAC_CAPS)
    checks = int(euid != 0)
    if _dac_caps and before != checks:
        _set_mode_checks(checks)
    return before


def act_for_lind() -> int:
    """This host thread does Lind's own work (see _accel.c); the checks it held before."""
    before = getattr(_this_thread, "checks", -1)
    if _dac_caps:
        _set_mode_checks(0)
    return before


def checks_back(before: int) -> None:
    """The thread holds again what act_as or act_for_lind found (see _accel.c)."""
    want = max(before, 0)
    if _dac_caps and getattr(_this_thread, "checks", -1) != want:
        _set_mode_checks(want)


class _FutexWaitv(ctypes.Structure):
    _fields_ = [("val", ctypes.c_uint64), ("uaddr", ctypes.c_uint64),
                ("flags", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


def _wake_word(fd: int) -> int:
    if not 0 <= fd < WAKE_WORDS:
        raise ValueError("not a wake fd")
    return int.from_bytes(_wake_words[4 * fd:4 * fd + 4], "little")


def _set_wake_word(fd: int, value: int) -> None:
    _wake_words[4 * fd:4 * fd + 4] = value.to_bytes(4, "little")


def new_wake_fd() -> int:
    """A new wake eventfd, its word clear (EMFILE past the words)."""
    fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
    if fd >= WAKE_WORDS:
        os.close(fd)
        raise OSError(errno.EMFILE, "Too many open files")
    _set_wake_word(fd, 0)
    return fd


def signal_wake_fd(fd: int) -> None:
    _wake_word(fd)
    with contextlib.suppress(BlockingIOError):
        os.eventfd_write(fd, 1)
    _set_wake_word(fd, 1)
    _libc.syscall(_SYS_FUTEX, ctypes.c_void_p(_WAKE_WORDS_AT + 4 * fd),
                  1 | _FUTEX_PRIVATE, 0x7FFFFFFF, None, None, 0)


_EPOCH_CALLBACK_SET = wt._wasmtime_store_epoch_deadline_callback
_STORE_T, _EPOCH_CALLBACK_T, _, _FINALIZER_T = _EPOCH_CALLBACK_SET.argtypes
_CONTEXT_T = wt._wasmtime_context_set_epoch_deadline.argtypes[0]


def watch_epochs(store: int, context: int, slot: Slot, python_callback: int, key: int) -> None:
    """Every tick is the Python callback's here (no finalizer: `key` is a number)."""
    _EPOCH_CALLBACK_SET(ctypes.cast(store, _STORE_T), _EPOCH_CALLBACK_T(python_callback),
                        ctypes.c_void_p(key), _FINALIZER_T())
    rearm_epoch(context)


def rearm_epoch(context: int) -> None:
    """The store's next tick interrupts it (its deadline one tick away)."""
    wt._wasmtime_context_set_epoch_deadline(ctypes.cast(context, _CONTEXT_T), 1)


def take_sleep_deadline(slot: Slot, req: int) -> int:
    """Sleeps are the handler's alone here: none was begun."""
    return 0


def drain_wake_fd(fd: int) -> None:
    _wake_word(fd)
    _set_wake_word(fd, 0)
    with contextlib.suppress(BlockingIOError):
        os.eventfd_read(fd)


def _futex_block(word: int, expected: int, shared: bool, bitset: int, deadline: int,
                 clock: int, wake: int) -> int:
    """_accel.c's futex_block: FUTEX_WOKEN, FUTEX_WAKE_FD_WRITTEN or -errno."""
    private = 0 if shared else _FUTEX_PRIVATE
    if bitset == _FUTEX_MATCH_ANY:
        waiters = (_FutexWaitv * 2)(
            _FutexWaitv(expected, word, _FUTEX2_SIZE_U32 | private, 0),
            _FutexWaitv(0, _WAKE_WORDS_AT + 4 * wake, _FUTEX2_SIZE_U32 | _FUTEX_PRIVATE, 0))
        until = None if deadline < 0 else ctypes.byref(_Timespec(*divmod(deadline, 10**9)))
        while True:
            r = _libc.syscall(_SYS_FUTEX_WAITV, waiters, 2, 0, until, clock)
            if r in (0, 1):
                return FUTEX_WOKEN if r == 0 else FUTEX_WAKE_FD_WRITTEN
            err = ctypes.get_errno()
            if err == errno.EINTR:
                continue
            if err == errno.EAGAIN:
                return FUTEX_WAKE_FD_WRITTEN if _wake_word(wake) else -errno.EAGAIN
            if err != errno.ENOSYS:
                return -err
            break
    op = (_FUTEX_WAIT_BITSET | private
          | (_FUTEX_CLOCK_REALTIME if clock == time.CLOCK_REALTIME else 0))
    while True:
        if _wake_word(wake):
            return FUTEX_WAKE_FD_WRITTEN
        until = time.clock_gettime_ns(clock) + _FUTEX_SLICE_NS
        last = 0 <= deadline <= until
        if last:
            until = deadline
        r = _libc.syscall(_SYS_FUTEX, ctypes.c_void_p(word), op, ctypes.c_uint32(expected),
                          ctypes.byref(_Timespec(*divmod(until, 10**9))), None,
                          ctypes.c_uint32(bitset))
        if r == 0:
            return FUTEX_WOKEN
        err = ctypes.get_errno()
        if err == errno.EINTR or (err == errno.ETIMEDOUT and not last):
            continue
        return -err


_SYS_OPENAT2, _RESOLVE_NO_MAGICLINKS, _RESOLVE_IN_ROOT = 437, 0x02, 0x10


def open_in_root(dirfd: int, path: bytes, flags: int, mode: int = 0) -> int:
    """openat2 with RESOLVE_IN_ROOT and RESOLVE_NO_MAGICLINKS (see _accel.c)."""
    how = _OpenHow(flags, mode if flags & os.O_CREAT else 0,
                   _RESOLVE_IN_ROOT | _RESOLVE_NO_MAGICLINKS)
    if b"\0" in path:
        raise ValueError("embedded null byte")
    while True:
        fd = _libc.syscall(_SYS_OPENAT2, dirfd, path, ctypes.byref(how), ctypes.sizeof(how))
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err not in (errno.EAGAIN, errno.EINTR):  # EAGAIN: a rename raced the walk
            raise OSError(err, os.strerror(err), os.fsdecode(path))


def file_mode(fd: int) -> int:
    return os.fstat(fd).st_mode


# The process's budget of host fds for cages' files (limits.host_fds; see _accel.c).
_host_fds_budget = {"held": 0, "limit": 1 << 62}
_host_fds_budget_lock = threading.Lock()


def protection_limits() -> tuple[int, int, int, int]:
    """No page protection without the C trampoline (Memory.protect says False)."""
    return (0, 0, 0, 0)


class RangeShare:
    """A process tree's mprotect ranges: none without the C trampoline."""

    ranges = 0


def note_fault_order() -> bool:
    """No fault handler of Lind's to put in order without the C trampoline."""
    return False


def keep_fault_order() -> bool:
    """Without the C trampoline nothing can be put before a fault handler installed
    after Wasmtime's (README: install such handlers before importing lind)."""
    return False


def host_fds_take(n: int, reserved: bool) -> None:
    with _host_fds_budget_lock:
        if not reserved and _host_fds_budget["held"] + n > _host_fds_budget["limit"]:
            raise OSError(errno.ENFILE, os.strerror(errno.ENFILE))
        _host_fds_budget["held"] += n


def host_fds_give(n: int) -> None:
    with _host_fds_budget_lock:
        _host_fds_budget["held"] -= n


def host_fds_set_limit(limit: int) -> None:
    _host_fds_budget["limit"] = limit


def host_fds_held() -> int:
    return _host_fds_budget["held"]


class FdShare:
    """One process tree's part of the host-fd budget (see _accel.c); its takes count in
    the process's budget too."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, n: int, reserved: bool) -> None:
        with _host_fds_budget_lock:
            if not reserved and (self.held + n > self.limit or
                                 _host_fds_budget["held"] + n > _host_fds_budget["limit"]):
                raise OSError(errno.ENFILE, os.strerror(errno.ENFILE))
            _host_fds_budget["held"] += n
            self.held += n

    def give(self, n: int) -> None:
        with _host_fds_budget_lock:
            _host_fds_budget["held"] -= n
            self.held -= n


class Mounts:
    """A file system's mounts for the opens the C trampoline serves; this one serves none."""

    def __init__(self, mounts: list[tuple[bytes, int, bool]]) -> None:
        self.mounts = mounts


# Host fds Slot._fast_io is using, and those to close when it lets go (see _accel.c).
_host_fd_users: dict[int, int] = {}
_host_fds_closing: set[int] = set()
_host_fds_lock = threading.Lock()


def close_host_fd(fd: int) -> None:
    """Close host `fd` now, or when the last fast path using it lets go."""
    with _host_fds_lock:
        if _host_fd_users.get(fd):
            _host_fds_closing.add(fd)
            return
    os.close(fd)


@contextlib.contextmanager
def _host_fd_held(fd: int):
    with _host_fds_lock:
        if fd in _host_fds_closing:
            yield False
            return
        _host_fd_users[fd] = _host_fd_users.get(fd, 0) + 1
    try:
        yield True
    finally:
        with _host_fds_lock:
            _host_fd_users[fd] -= 1
            last = not _host_fd_users[fd]
            if last:
                del _host_fd_users[fd]
            closing = last and fd in _host_fds_closing
            if closing:
                _host_fds_closing.discard(fd)
        if closing:
            os.close(fd)


def _efault() -> OSError:
    return OSError(errno.EFAULT, "Bad address")


class _Pin:
    """Held by a view of a Memory: counts as a pin until the view is gone."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        memory._pins += 1

    def __del__(self) -> None:
        self.memory._unpin()


class Memory:
    """Bounds-checked view of a cage's linear memory (see _accel.c for the lifetime rules:
    `owner` keeps the pages mapped; views pin; release() detaches)."""

    _discarding = False     # released with discard: the pages go with the owner

    def __init__(self, context: int, raw: bytes, owner: Any) -> None:
        self._ctx = ctypes.cast(context, ctypes.POINTER(wt.wasmtime_context_t))
        self._mem = wt.wasmtime_memory_t.from_buffer_copy(raw)
        self._shared = None
        self._owner = owner
        self._lo = 0
        self._pins = 0
        self._detached = False
        self._readonly = False
        self._refresh()

    @classmethod
    def shared(cls, address: int, owner: Any) -> Memory:
        """A wasmtime_sharedmemory_t (at `address`), kept alive by `owner`."""
        if not address:
            raise ValueError("no shared memory")
        self = cls.__new__(cls)
        self._ctx = None
        self._shared = ctypes.cast(address, ctypes.POINTER(wt.wasmtime_sharedmemory_t))
        self._owner = owner
        self._lo, self._pins, self._detached, self._readonly = 0, 0, False, False
        self._refresh()
        return self

    @classmethod
    def snapshot(cls, data: bytes, origin: int) -> Memory:
        """Read-only host bytes standing for guest addresses [origin, origin+len)."""
        self = cls.__new__(cls)
        self._ctx = self._shared = None
        self._owner = ctypes.create_string_buffer(bytes(data), len(data) or 1)
        self._base = ctypes.addressof(self._owner) - origin
        self._lo, self._size = origin, origin + len(data)
        self._pins, self._detached, self._readonly = 0, False, True
        return self

    def _refresh(self) -> None:
        if self._owner is None:
            return
        if self._shared is not None:
            self._size = wt.wasmtime_sharedmemory_data_size(self._shared)
            base = wt.wasmtime_sharedmemory_data(self._shared)
        elif self._ctx is not None:
            self._size = wt.wasmtime_memory_data_size(self._ctx, ctypes.byref(self._mem))
            base = wt.wasmtime_memory_data(self._ctx, ctypes.byref(self._mem))
        else:
            return
        self._base = ctypes.cast(base, ctypes.c_void_p).value or 0

    def _unpin(self) -> None:
        self._pins -= 1
        if self._pins == 0 and self._detached:
            self._let_go()

    def _let_go(self) -> None:
        """Detached and pinned no more: the pages go first if released with discard."""
        if self._discarding and self._owner is not None and not self._readonly:
            self._refresh()
            end = self._size // mmap.PAGESIZE * mmap.PAGESIZE
            if end:
                _libc.madvise(ctypes.c_void_p(self._base), ctypes.c_size_t(end), _MADV_DONTNEED)
        self._owner = None

    def _resolve(self, addr: int) -> Memory:
        """An Address names another cage's memory; a plain int names this one."""
        return self if type(addr) is int else addr.memory

    def _check(self, addr: int, length: int, writing: bool = False) -> None:
        if self._detached:
            raise OSError(errno.ESRCH, "No such process")
        if (addr < self._lo and length) or length < 0 or addr + length > self._size:
            self._refresh()   # an empty range may start anywhere up to the end, as in C
            if (addr < self._lo and length) or length < 0 or addr + length > self._size:
                raise _efault()
        if writing and self._readonly:
            raise _efault()

    def read(self, addr: int, length: int) -> bytes:
        self = self._resolve(addr)
        addr = int(addr) & 0xFFFFFFFFFFFFFFFF
        self._check(addr, length)
        return ctypes.string_at(self._base + addr, length)

    def write(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        self = self._resolve(addr)
        addr = int(addr) & 0xFFFFFFFFFFFFFFFF
        data = bytes(data)
        self._check(addr, len(data), writing=True)
        ctypes.memmove(self._base + addr, data, len(data))

    def compare_exchange_u32(self, addr: int, expected: int, new: int) -> int:
        """Python has no atomic compare-and-swap a cage's wasm threads would see as one:
        priority-inheritance futexes are ENOSYS without the C trampoline."""
        raise OSError(errno.ENOSYS, "Function not implemented")

    def view(self, addr: int, length: int, writing: bool = False) -> memoryview:
        self = self._resolve(addr)
        addr = int(addr) & 0xFFFFFFFFFFFFFFFF
        self._check(addr, length, writing)
        array = (ctypes.c_char * length).from_address(self._base + addr)
        array._pin = _Pin(self)
        view = memoryview(array).cast("B")
        return view.toreadonly() if self._readonly else view

    def cstring(self, addr: int, limit: int) -> bytes:
        self = self._resolve(addr)
        addr = int(addr) & 0xFFFFFFFFFFFFFFFF
        self._check(addr, 1)    # its first byte at least (the NUL): from _lo on
        scan = min(self._size - addr, limit + 1)
        chunk = ctypes.string_at(self._base + addr, scan)
        end = chunk.find(b"\0")
        if end < 0:
            raise OSError(errno.ENAMETOOLONG if scan == limit + 1 else errno.EFAULT, "bad string")
        return chunk[:end]

    def read_fd(self, fd: int, addr: int, length: int) -> int:
        return os.readv(fd, [self.view(addr, length, writing=True)])

    def write_fd(self, fd: int, addr: int, length: int) -> int:
        return os.write(fd, self.view(addr, length))

    def pread_fd(self, fd: int, addr: int, length: int, offset: int) -> int:
        if offset < 0:   # pread(2) refuses it; preadv, as glibc makes it, reads at the position
            raise OSError(errno.EINVAL, "Invalid argument")
        return os.preadv(fd, [self.view(addr, length, writing=True)], offset)

    def pwrite_fd(self, fd: int, addr: int, length: int, offset: int) -> int:
        return os.pwrite(fd, self.view(addr, length), offset)

    def zero(self, addr: int, length: int) -> None:
        """Reads as zeros, untouched pages left untouched: here by giving every whole
        page back (the C trampoline clears resident ones in place instead)."""
        self.discard(addr, length)

    def discard(self, addr: int, length: int, unmapping: bool = False) -> None:
        """Reads as zeros, its whole pages given back to the host (munmap)."""
        self._check(addr, length, writing=True)
        start = self._base + addr
        lo = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
        hi = (start + length) // mmap.PAGESIZE * mmap.PAGESIZE
        if lo >= hi:
            ctypes.memset(start, 0, length)
            return
        ctypes.memset(start, 0, lo - start)
        ctypes.memset(hi, 0, start + length - hi)
        if _libc.madvise(ctypes.c_void_p(lo), ctypes.c_size_t(hi - lo), _MADV_DONTNEED):
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def copy_from(self, src: Memory, src_addr: int, dest_addr: int, length: int,
                  checked: bool = False) -> None:
        """`checked` changes nothing here: no page is protected (see protect)."""
        src._check(src_addr, length)
        self._check(dest_addr, length, writing=True)
        ctypes.memmove(self._base + dest_addr, src._base + src_addr, length)

    def map(self, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> None:
        self._check(addr, length, writing=True)
        if self._readonly or not length or addr % mmap.PAGESIZE or length % mmap.PAGESIZE:
            raise OSError(errno.EINVAL, "Invalid argument")
        got = _libc.mmap(self._base + addr, length, prot, flags | _MAP_FIXED, fd, offset)
        if got != self._base + addr:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def size(self) -> int:
        self._check(self._lo, 0)
        self._refresh()
        return self._size

    def address(self) -> int:
        self._check(self._lo, 0)
        return self._base

    def release(self, discard: bool = False) -> None:
        self._detached = True
        self._discarding = discard
        if self._pins == 0:
            self._let_go()

    def recycle(self) -> bool:
        """release(); only the C trampoline hands a memory on to another cage."""
        self.release()
        return False

    @property
    def lowest(self) -> int:
        return self._lo

    def guard_null_page(self) -> bool:
        """Only the C trampoline guards page 0: without its fault handler a bulk memory
        instruction at a null pointer would fault in host code and end the process."""
        return False

    def null_page_touched(self) -> int:
        return 0

    def protect(self, addr: int, length: int, prot: int) -> bool:
        """Only the C trampoline protects pages (its fault handler keeps host code that
        touches one from ending the process): here mprotect changes nothing."""
        self._check(self._lo, 0)
        return False

    def protections(self) -> list[tuple[int, int, int]]:
        return []

    def unprotect(self, addr: int, length: int, check: bool = False) -> None:
        pass

    def clear_protections(self) -> None:
        pass

    def inherit_protections(self, parent: Memory) -> None:
        pass

    def count_ranges_in(self, share: RangeShare) -> None:
        pass


class Slot:
    """A cage's 3i table and the state the fast entries read."""

    def __init__(self, cage: Any, domain: int = 0) -> None:
        """`domain` keys the C trampoline's registry; here make_threei_call is Python's,
        which finds cages in their own Runtime."""
        self.cage = cage
        self.table: list[tuple[Callable[..., int] | None, int]] = [(None, FAST_NONE)] * NSYSCALLS
        self.owners = [0] * NSYSCALLS
        self.ids = [0] * 8
        self.saved_uid = 0
        self.saved_gid = 0
        self.fd_limit = 1024
        self.exiting = False
        self.trap_message = ""
        self.memory: Memory | None = None
        self.memory_charged = 0       # what the cage's memory is charged (set_memory_charged)
        self.fds: dict[int, tuple[int, bool, bool]] = {}
        self._wake_fd = -1
        self._wake_users = 0
        self._wake_closed = False
        self._wake_lock = threading.Lock()
        self.futex_waiters = 0        # threads in a futex wait now
        # argv and the environment for the start-up imports: (count, NUL-ended strings)
        self.startup_strings: tuple[tuple[int, bytes], tuple[int, bytes]] = ((0, b""), (0, b""))

    def set_memory(self, memory: Memory | None) -> None:
        self.memory = memory

    def set_startup_strings(self, argc: int, argv: bytes, envc: int, env: bytes) -> None:
        self.startup_strings = ((argc, argv), (envc, env))

    def forget_cage(self) -> None:
        self.cage = None

    def mirror_fd(self, fd: int, host_fd: int, readable: bool, writable: bool,
                  kind: int = IO_PLAIN, description: int = 0, owned: bool = True,
                  dir_path: bytes | None = None) -> None:
        """Only files whose I/O never waits are served here; pipes, sockets and
        terminals go to the handler, which waits interruptibly (and every path call,
        so a directory's path is not needed)."""
        if not IO_PLAIN <= kind <= IO_TTY or not 0 <= description < DESCRIPTIONS:
            raise ValueError("unknown I/O kind or description")
        if host_fd < 0 or kind != IO_PLAIN:
            self.fds.pop(fd, None)
        else:
            self.fds[fd] = (host_fd, readable, writable)

    def copy_fds(self, parent: Slot) -> None:
        self.fds = dict(parent.fds)

    def acquire_wake(self) -> int:
        """The wake eventfd for one wait (see _accel); release_wake() after it."""
        if getattr(_this_thread, "wake", None) is self:
            return _this_thread.wake_fd
        with self._wake_lock:
            if self._wake_closed:       # a late call for a cage that has ended
                raise OSError(errno.ESRCH, "No such process")
            if self._wake_fd < 0:
                self._wake_fd = new_wake_fd()
            self._wake_users += 1
            return self._wake_fd

    def release_wake(self) -> None:
        if getattr(_this_thread, "wake", None) is self:
            return
        with self._wake_lock:
            self._wake_users -= 1
            self._close_unused_wake()

    def wake(self) -> None:
        with self._wake_lock:
            if self._wake_fd >= 0:
                signal_wake_fd(self._wake_fd)

    def close_wake(self) -> None:
        with self._wake_lock:
            self._wake_closed = True
            self._close_unused_wake()

    def _close_unused_wake(self) -> None:
        if self._wake_closed and self._wake_users == 0 and self._wake_fd >= 0:
            os.close(self._wake_fd)
            self._wake_fd = -1

    def __del__(self) -> None:
        if self._wake_fd >= 0:
            os.close(self._wake_fd)

    def futex_wait(self, memory: Memory, addr: int, expected: int, shared: bool, bitset: int,
                   deadline: int, realtime: bool, wake: int) -> int:
        """See _accel.c: FUTEX_WOKEN or FUTEX_WAKE_FD_WRITTEN; OSError otherwise."""
        _wake_word(wake)
        memory = memory._resolve(addr)
        addr = int(addr) & 0xFFFFFFFFFFFFFFFF
        if addr % 4 or not bitset:
            raise OSError(errno.EINVAL, "Invalid argument")
        memory._check(addr, 4)
        pin = _Pin(memory)
        with self._wake_lock:
            self.futex_waiters += 1
        try:
            r = _futex_block(memory._base + addr, expected & 0xFFFFFFFF, shared, bitset, deadline,
                             time.CLOCK_REALTIME if realtime else time.CLOCK_MONOTONIC, wake)
        finally:
            with self._wake_lock:
                self.futex_waiters -= 1
            del pin
        if r < 0:
            raise OSError(-r, os.strerror(-r))
        return r

    def futex_wake(self, memory: Memory, addr: int, count: int, shared: bool, bitset: int) -> int:
        memory = memory._resolve(addr)
        addr = int(addr) & 0xFFFFFFFFFFFFFFFF
        if addr % 4 or not bitset:
            raise OSError(errno.EINVAL, "Invalid argument")
        memory._check(addr, 4)
        r = _libc.syscall(_SYS_FUTEX, ctypes.c_void_p(memory._base + addr),
                          _FUTEX_WAKE_BITSET | (0 if shared else _FUTEX_PRIVATE),
                          ctypes.c_int(count), None, None, ctypes.c_uint32(bitset))
        if r < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return r

    def futex_requeue(self, memory: Memory, addr: int, target: int, nr_wake: int,
                      nr_requeue: int, compare: bool, expected: int, shared: bool) -> int:
        words = []
        for where in (addr, target):
            mem = memory._resolve(where)
            where = int(where) & 0xFFFFFFFFFFFFFFFF
            if where % 4:
                raise OSError(errno.EINVAL, "Invalid argument")
            mem._check(where, 4)
            words.append(ctypes.c_void_p(mem._base + where))
        op = (_FUTEX_CMP_REQUEUE if compare else _FUTEX_REQUEUE) | (0 if shared else _FUTEX_PRIVATE)
        r = _libc.syscall(_SYS_FUTEX, words[0], op, ctypes.c_int(nr_wake),
                          ctypes.c_void_p(nr_requeue & 0xFFFFFFFF), words[1],
                          ctypes.c_uint32(expected))
        if r < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return r

    def set_shared_ranges(self, ranges: list[tuple[int, int]]) -> None:
        """Nothing to keep: futexes are always the handler's here (_accel's fast path
        keys them by these)."""

    def _fast_io(self, op: int, a: list[int]) -> int | None:
        """Mirrored host fds are served here; None sends the call to the handler."""
        mirrored = self.fds.get(a[0])
        if mirrored is None or self.memory is None:
            return None
        host_fd, readable, writable = mirrored
        with _host_fd_held(host_fd) as held:
            return self._fast_io_on(host_fd, readable, writable, op, a) if held else None

    def _fast_io_on(self, host_fd: int, readable: bool, writable: bool, op: int,
                    a: list[int]) -> int | None:
        try:
            if op == FAST_LSEEK:
                return os.lseek(host_fd, a[1], a[2]) if 0 <= a[2] <= 2 else None
            if not (writable if op in (FAST_WRITE, FAST_PWRITE) else readable):
                return None
            if op in (FAST_PREAD, FAST_PWRITE) and a[3] < 0:
                return -errno.EINVAL
            mem = self.memory
            if op == FAST_READ:
                return mem.read_fd(host_fd, a[1], a[2])
            if op == FAST_WRITE:
                return mem.write_fd(host_fd, a[1], a[2])
            if op == FAST_PREAD:
                return mem.pread_fd(host_fd, a[1], a[2], a[3])
            return mem.pwrite_fd(host_fd, a[1], a[2], a[3])
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                return None     # the handler says EPIPE and raises SIGPIPE in the cage
            return -(exc.errno or errno.EIO)

    def set(self, nr: int, handler: Callable[..., int] | None, fast: int, owner: int = 0) -> None:
        if not 0 <= nr < NSYSCALLS:
            raise ValueError("syscall number out of range")
        self.table[nr] = (handler, fast)
        self.owners[nr] = owner

    def owner(self, nr: int) -> int:
        if not 0 <= nr < NSYSCALLS:
            raise ValueError("syscall number out of range")
        return self.owners[nr]

    def get(self, nr: int) -> tuple[Callable[..., int] | None, int]:
        if not 0 <= nr < NSYSCALLS:
            raise ValueError("syscall number out of range")
        return self.table[nr]

    def set_ids(self, pid: int, ppid: int, uid: int, euid: int, gid: int, egid: int,
                suid: int = -1, sgid: int = -1) -> None:
        self.ids[FAST_GETPID:FAST_GETEGID + 1] = [pid, ppid, uid, euid, gid, egid]
        self.saved_uid = euid if suid < 0 else suid
        self.saved_gid = egid if sgid < 0 else sgid

    def set_fd_limit(self, limit: int) -> None:
        self.fd_limit = limit

    # Opens are all the microvisor's here: this trampoline opens no file (Cage gives its
    # FdTable no `opened_by`), so what the C one is told of is not needed.
    def set_files(self, mounts: Mounts | None) -> None:
        pass

    def set_cwd(self, path: bytes) -> None:
        pass

    def set_file_size_limited(self, limited: bool) -> None:
        pass

    # Masks change only in the handler here: what the C fast path reads is not needed.
    def set_signals_quiet(self, quiet: bool) -> None:
        pass

    def set_memory_charged(self, size: int) -> None:
        self.memory_charged = size

    def set_umask(self, mask: int) -> None:
        pass

    def set_open_limit(self, limit: int) -> None:
        pass

    def set_fd_share(self, share: FdShare) -> None:
        pass                   # (this trampoline opens no files itself)

    def note_posix_locks(self) -> None:
        pass

    def stop(self, message: str) -> None:
        self.exiting = True
        self.trap_message = message

    def copy_table(self, other: Slot) -> None:
        self.table = list(other.table)
        self.owners = list(other.owners)

    def resume(self) -> None:
        self.exiting = False
        self.trap_message = ""

    def call(self, nr: int, *args: int) -> int:
        if getattr(_this_thread, "serving", None) is not None:
            return self._call(nr, *args)
        # from a thread that runs no cage thread (the embedding program's): it keeps
        # what it held (see _accel.c's Slot_call)
        before = getattr(_this_thread, "checks", -1)
        try:
            return self._call(nr, *args)
        finally:
            checks_back(before)

    def _call(self, nr: int, *args: int) -> int:
        a = (list(args) + [0] * 6)[:6]
        if not 0 <= nr < NSYSCALLS:
            return -errno.ENOSYS
        memory = self.memory
        if (memory is not None and memory._size > self.memory_charged
                and self.cage is not None and self.cage.charge_grown_memory()):
            return -errno.EINTR     # killed for it (see _accel.c's dispatch): never made
        handler, fast = self.table[nr]
        if fast in _IDENTITY:
            return self.ids[fast]
        act_as(self.ids[FAST_GETEUID])
        if fast == FAST_CLOSE and not 0 <= a[0] < self.fd_limit:
            return -errno.EBADF
        if FAST_READ <= fast <= FAST_LSEEK:
            done = self._fast_io(fast, a)
            if done is not None:
                return done
        if handler is None:
            return -errno.ENOSYS
        if self.cage is None:        # ended (forget_cage): a grate acting for it late
            return -errno.ESRCH
        try:
            return handler(self.cage, *a)
        except OSError as exc:
            return -(exc.errno or errno.EIO)
        except Exception as exc:  # noqa: BLE001 - a handler bug stops the cage, not the host
            self.stop(str(exc))
            self.cage.internal_error(exc)
            return -errno.EIO
        finally:
            act_as(self.ids[FAST_GETEUID])   # a grate's handler may have acted for another


# A Store entered afresh may recurse max_wasm_stack below that point, whatever other
# Stores use above it: a call into a grate's worker must find _room_needed bytes of host
# stack free (_accel.c's room_for_wasm says why), else it fails with ELOOP.
_room_needed = 0
_stack_of_thread = threading.local()


def set_room_for_wasm(size: int) -> None:
    global _room_needed
    _room_needed = size


class _StackAttr(ctypes.Structure):
    _fields_ = [("opaque", ctypes.c_char * 128)]      # pthread_attr_t, with room to spare


# getcontext(2) fills a ucontext_t; where the stack pointer lies in it (0: unknown here)
_SP_IN_UCONTEXT = 160 if os.uname().machine == "x86_64" else 0     # gregs[REG_RSP]


def _stack_pointer() -> int:
    """About where this thread's host stack is now (0: not known)."""
    if not _SP_IN_UCONTEXT:
        return 0
    context = ctypes.create_string_buffer(4096)
    if _libc.getcontext(context) != 0:
        return 0
    return ctypes.c_uint64.from_buffer(context, _SP_IN_UCONTEXT).value


def room_for_wasm() -> bool:
    if not _room_needed:
        return True
    low = getattr(_stack_of_thread, "low", None)
    if low is None:
        attr, addr, size = _StackAttr(), ctypes.c_void_p(), ctypes.c_size_t()
        low = 0
        if _libc.pthread_getattr_np(ctypes.c_ulong(threading.get_ident()), ctypes.byref(attr)) == 0:
            if _libc.pthread_attr_getstack(ctypes.byref(attr), ctypes.byref(addr),
                                           ctypes.byref(size)) == 0:
                low = addr.value or 0
            _libc.pthread_attr_destroy(ctypes.byref(attr))
        _stack_of_thread.low = low
    here = _stack_pointer()
    return not low or not here or (here > low and
                                   here - low >= _room_needed)


class _Worker:
    def __init__(self, made: tuple[int, bytes, Memory, Callable[[int, int], None]]) -> None:
        context, func_raw, self.memory, self.on_failure = made
        self.ctx = ctypes.cast(context, ctypes.POINTER(wt.wasmtime_context_t))
        self.func = wt.wasmtime_func_t.from_buffer_copy(func_raw)
        self.owner: int | None = None
        self.depth = 0


_NO_STACK_LEFT = object()    # Grate._take: no host stack for a Store entered afresh
_NOT_MADE = object()         # Grate._take: no worker could be made now (EAGAIN)


class Grate:
    """A wasm grate's workers; a thread takes a free one, or the one it holds."""

    def __init__(self, returns_i64: bool, grate_memory: Memory,
                 make_worker: Callable[[], tuple[int, bytes, Memory, Any]]) -> None:
        self._returns_i64 = returns_i64
        self._grate_memory = grate_memory
        grate_memory._pins += 1   # handlers use the grate's memory until it is idle
        self._make_worker = make_worker
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._dead = False

    def _take(self) -> Any:
        me = threading.get_ident()
        with self._lock:
            if self._dead:
                return None
            for w in self._workers:
                if w.depth and w.owner == me:
                    w.depth += 1
                    return w
            if not room_for_wasm():     # a Store entered afresh: see room_for_wasm
                return _NO_STACK_LEFT
            for w in self._workers:
                if not w.depth:
                    w.owner, w.depth = me, 1
                    return w
        try:
            w = _Worker(self._make_worker())
        except OSError:     # the grate ended meanwhile, or the host cannot make one now
            return None if self._dead else _NOT_MADE
        w.owner, w.depth = me, 1
        with self._lock:
            self._workers.append(w)
        return w

    def call(self, fn_ptr: int, cage_id: int, args: list[int], cages: list[int]) -> int:
        w = self._take()
        if w is None:
            return -errno.ENOSYS
        if w is _NO_STACK_LEFT:
            return -errno.ELOOP
        if w is _NOT_MADE:      # this call alone (the C trampoline's take_worker)
            return -errno.EAGAIN
        try:
            vals = (wt.wasmtime_val_raw_t * 14)()
            vals[0].i64, vals[1].i64 = _s64(fn_ptr), _s64(cage_id)
            for i in range(6):
                vals[2 + 2 * i].i64 = _s64(args[i])
                vals[3 + 2 * i].i64 = _s64(cages[i])
            trap = ctypes.POINTER(wt.wasm_trap_t)()
            err = wt.wasmtime_func_call_unchecked(w.ctx, ctypes.byref(w.func), vals, 14,
                                                  ctypes.byref(trap))
            if err or trap:
                w.on_failure(ctypes.cast(err, ctypes.c_void_p).value or 0,
                             ctypes.cast(trap, ctypes.c_void_p).value or 0)
                return -errno.EIO
            return vals[0].i64 if self._returns_i64 else vals[0].i32
        finally:
            with self._lock:
                w.depth -= 1
                self._release_if_idle()

    def _release_if_idle(self) -> None:
        """A dead grate with no handler running drops its workers (and their stores)."""
        if self._dead and self._grate_memory is not None and not any(w.depth for w in self._workers):
            self._workers.clear()
            self._grate_memory._unpin()
            self._grate_memory = self._make_worker = None

    def close(self) -> None:
        with self._lock:
            self._dead = True
            self._release_if_idle()


class GrateHandler:
    """A function pointer inside a Grate, callable as a handler (cage, a1..a6)."""

    def __init__(self, grate: Grate, fn_ptr: int) -> None:
        self.grate = grate
        self.fn_ptr = fn_ptr

    def __call__(self, cage: Any, *args: int) -> int:
        a = (list(args) + [0] * 6)[:6]
        cages = [getattr(x, "cage_id", cage.id) for x in a]
        return self.grate.call(self.fn_ptr, cage.id, [int(x) for x in a], cages)


def _s64(value: int) -> int:
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >> 63 else value


_slots: dict[int, Slot] = {}
_this_thread = threading.local()   # .stopped: see stop_this_thread; .wake, .wake_fd


def use_thread_wake(slot: Slot, fd: int) -> None:
    """This host thread's waits through `slot` use eventfd `fd`, its own (-1: the slot's)."""
    _this_thread.wake = slot if fd >= 0 else None
    _this_thread.wake_fd = fd


def thread_done() -> None:
    """This host thread's cage thread ended (see _accel.c); it keeps its checks."""
    checks = getattr(_this_thread, "checks", -1)
    _this_thread.__dict__.clear()
    _this_thread.checks = checks


def refuse_calls_here(slot: Slot | None) -> None:
    """Until called with None, this host thread's calls through `slot` are ENOSYS: an
    instance of the cage's module being made runs its start function first."""
    _this_thread.instantiating = slot


def calls_refused_here(slot: Slot) -> bool:
    return getattr(_this_thread, "instantiating", None) is slot


def stop_this_thread(slot: Slot) -> None:
    """The call this host thread makes through `slot` ends its wasm instance."""
    _this_thread.stopped = slot


@wt.wasmtime_func_unchecked_callback_t
def _entry(env: int, caller: Any, vals: Any, nvals: int) -> int:
    try:
        slot = _slots.get(env)
        if slot is None:   # a grate worker's call after its grate ended and was forgotten
            vals[0].i64 = -errno.ESRCH
            return 0
        if calls_refused_here(slot):
            vals[0].i64 = -errno.ENOSYS
            return 0
        raw = [vals[i].i64 for i in range(1, 7)]
        vals[0].i64 = slot.call(vals[0].i32, *raw)
        if getattr(_this_thread, "stopped", None) is slot:
            _this_thread.stopped = None
            msg = b"thread exit"
        elif not slot.exiting:
            return 0
        else:
            msg = slot.trap_message.encode()
    except BaseException as exc:  # noqa: BLE001 - nothing may escape a C callback
        msg = f"lind trampoline: {exc!r}".encode()
    trap = wt.wasmtime_trap_new(ctypes.create_string_buffer(msg), len(msg))
    return ctypes.cast(trap, ctypes.c_void_p).value or 0


@wt.wasmtime_func_unchecked_callback_t
def _startup_entry(env: int, caller: Any, vals: Any, nvals: int) -> int:
    """crt1's start-up imports (_accel.c's startup_strings): argv [0, 1] and the
    environment [2, 3], by the two low bits of `env`, a SlotRef's address."""
    try:
        slot = _slots.get(env & ~3)
        first, second = vals[0].i32 & 0xFFFFFFFF, vals[1].i32 & 0xFFFFFFFF
        vals[0].i32 = (_startup_strings(slot, env & 3, first, second) if slot is not None
                       else -errno.ESRCH)
    except BaseException:  # noqa: BLE001 - nothing may escape a C callback
        vals[0].i32 = -errno.EIO
    return 0


def _startup_strings(slot: Slot, index: int, first: int, second: int) -> int:
    if calls_refused_here(slot):
        return -errno.ENOSYS
    if slot.memory is None or slot.cage is None:
        return -errno.ESRCH
    count, strings = slot.startup_strings[index >> 1]
    try:
        if index % 2 == 0:
            slot.memory.write(first, count.to_bytes(4, "little"))
            slot.memory.write(second, len(strings).to_bytes(4, "little"))
            return 0
        slot.memory.write(second, strings)
        offsets, at = [], second
        for item in strings.split(b"\0")[:count]:
            offsets.append(at)
            at += len(item) + 1
        slot.memory.write(first, b"".join(o.to_bytes(4, "little") for o in offsets))
    except OSError as exc:
        return -(exc.errno or errno.EIO)
    return 0


class SlotRef:
    """The Slot an instance's calls go to (see _accel.c): its address, the env wasmtime
    hands back to the entry, is a key into `_slots`."""

    def __init__(self, slot: Slot) -> None:
        self.address = id(self)
        self.slot = slot

    @property
    def slot(self) -> Slot | None:
        return _slots.get(self.address)

    @slot.setter
    def slot(self, slot: Slot) -> None:
        _slots[self.address] = slot

    def __del__(self) -> None:
        _slots.pop(self.address, None)


class MaskCell:
    """A thread's blocked-signal mask (see _accel.c: there the trampoline changes it)."""

    def __init__(self, value: int = 0) -> None:
        self.value = value
        self.held: int | None = None    # pending while none can be taken (None: unknown)


def call_export(context: int, func: int, slot: Slot, *args: int) -> tuple[int, int] | None:
    """_accel.c's call_export: None, or the (error, trap) addresses of a failed call
    (the stop's message alone is the C trampoline's)."""
    vals = (wt.wasmtime_val_raw_t * max(len(args), 1))()
    for i, value in enumerate(args):
        vals[i].i32 = value       # ctypes keeps the low 32 bits
    trap = ctypes.POINTER(wt.wasm_trap_t)()
    err = wt.wasmtime_func_call_unchecked(
        ctypes.cast(context, ctypes.POINTER(wt.wasmtime_context_t)),
        ctypes.byref(wt.wasmtime_func_t.from_address(func)), vals, len(vals), ctypes.byref(trap))
    if not err and not trap:
        return None
    return (ctypes.cast(err, ctypes.c_void_p).value or 0,
            ctypes.cast(trap, ctypes.c_void_p).value or 0)


def _context(context: int):
    return ctypes.cast(context, ctypes.POINTER(wt.wasmtime_context_t))


def _set_global(context: int, glob: int, value: wt.wasmtime_val_t) -> None:
    err = wt.wasmtime_global_set(_context(context), wt.wasmtime_global_t.from_address(glob),
                                 ctypes.byref(value))
    if err:
        wt.wasmtime_error_delete(err)
        raise ValueError("the global cannot be set")


def global_i32(context: int, glob: int) -> int:
    """_accel.c's global_i32: an i32 global's value, by the addresses of its store's
    context and its wasmtime_global_t."""
    value = wt.wasmtime_val_t()
    wt.wasmtime_global_get(_context(context), wt.wasmtime_global_t.from_address(glob),
                           ctypes.byref(value))
    if value.kind != _I32_KIND:
        raise TypeError("not an i32 global")
    return value.of.i32


def set_global_i32(context: int, glob: int, value: int) -> None:
    raw = wt.wasmtime_val_t()
    raw.kind = _I32_KIND
    raw.of.i32 = value        # ctypes keeps the low 32 bits, as wasm's i32 does
    _set_global(context, glob, raw)


def copy_global(source_context: int, source: int, target_context: int, target: int) -> None:
    """A numeric global's value into another of its type (Wasmtime checks the type)."""
    value = wt.wasmtime_val_t()
    wt.wasmtime_global_get(_context(source_context), wt.wasmtime_global_t.from_address(source),
                           ctypes.byref(value))
    if value.kind > _F64_KIND:
        raise TypeError("not a numeric global")
    _set_global(target_context, target, value)


class JumpPoints(jump_points.JumpPoints):
    """_accel.c's JumpPoints: a new one (a cage's first program, a spawn) starts its
    tree's budget of `tree_most_bytes`; a fork's copy shares its parent's."""

    def __init__(self, first_token: int, most: int, most_bytes: int,
                 tree_most_bytes: int) -> None:
        super().__init__(first_token, most, most_bytes, jump_points.FrameBudget(tree_most_bytes))


class Unwinder:
    """An instance's unwinds (see _accel.c); here setjmp, longjmp and fork are always
    the handlers', so it keeps the state they share, and begins their rewinds."""

    def __init__(self) -> None:
        self.buffer = 0
        self.rewinding = False
        self._context = 0
        self._start_rewind = 0
        self._result: int | None = None

    @property
    def busy(self) -> bool:
        return self.rewinding

    @property
    def bound(self) -> bool:
        return bool(self._context)

    def bind(self, context: int, start_unwind: int, stop_unwind: int, start_rewind: int,
             stop_rewind: int, stack_pointer: int, points: JumpPoints, buffer_size: int) -> None:
        self._context, self._start_rewind = context, start_rewind

    def reset(self) -> None:
        self.buffer, self.rewinding, self._context, self._result = 0, False, 0, None

    def rewind(self, result: int) -> tuple[int, int] | None:
        """Start the rewind; the handler the rewound call reaches takes `result`."""
        self.rewinding, self._result = True, result
        failed = call_export(self._context, self._start_rewind, None, self.buffer)
        if failed is not None:
            self.rewinding, self._result = False, None
        return failed

    def enter(self, func: int, slot: Slot, *args: int) -> tuple[int, int] | None:
        return call_export(self._context, func, slot, *args)

    def take_rewind_result(self) -> int | None:
        result, self._result = self._result, None
        return result


def use_thread_signals(slot: Slot, cell: MaskCell) -> None:
    """This host thread runs a thread of `slot`'s cage (every rt_sigprocmask is the
    handler's here: only the permission checks ask)."""
    _this_thread.serving = slot


def set_signal_settler(settle: Callable[[Any], None]) -> None:
    """Nothing to note: no mask changes outside the handler here."""


def handler_in_use(handler: GrateHandler) -> bool:
    """Always False: here every call holds its handler as a Python reference."""
    return False


def forget(slot: Slot) -> None:
    for address in [address for address, held in _slots.items() if held is slot]:
        _slots.pop(address, None)


ENTRY = _entry
STARTUP_ENTRY = _startup_entry
