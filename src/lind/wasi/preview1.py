"""`wasi_snapshot_preview1` for cages, as Linux-numbered system calls through 3i.

A program built for plain WASI (wasi-libc, Rust's std, ...) imports these functions.
Each one is translated into the Linux x86_64 system calls that do the same thing and
made through the cage's 3i table (`cage.slot.call`), so grates and the microvisor see
one uniform interface whatever libc the program was built with. Nothing here touches
the host directly; Wasmtime's own WASI is never used for cages.

Where WASI's layouts differ from Linux's (filestat vs struct stat, dirent vs
linux_dirent64, (ptr, len) paths vs NUL-terminated ones), the Linux-side data lives in
a scratch page: one 64 KiB page the cage's memory is grown by at start-up, which the
program's allocator never owns (it only uses pages its own memory.grow returned).
Calls in one cage are single-threaded, so one scratch page per cage is enough.

fd 3 is the preopened directory "/" (the cage's root), opened through 3i at start-up.
"""

from __future__ import annotations

import ctypes
import errno as E
import itertools
import stat as statmod
import struct
import weakref
from collections.abc import Callable

import wasmtime
from wasmtime import _bindings as wt

from lind import threei
from lind.cage import loader
from lind.cage.loader import ProgramError
from lind.microvisor import abi

MODULE = "wasi_snapshot_preview1"
PAGE = 65536

# ------------------------------------------------------ Linux x86_64 system calls
NR_READ, NR_WRITE, NR_CLOSE, NR_LSEEK, NR_IOCTL = 0, 1, 3, 8, 16
NR_PREAD64, NR_PWRITE64, NR_READV, NR_WRITEV, NR_POLL = 17, 18, 19, 20, 7
NR_SCHED_YIELD, NR_DUP2, NR_NANOSLEEP, NR_SENDTO, NR_RECVFROM, NR_SHUTDOWN = 24, 33, 35, 44, 45, 48
NR_KILL, NR_FCNTL, NR_FSYNC, NR_FDATASYNC, NR_FTRUNCATE = 62, 72, 74, 75, 77
NR_GETDENTS64, NR_FADVISE64, NR_CLOCK_GETTIME, NR_CLOCK_GETRES = 217, 221, 228, 229
NR_EXIT_GROUP, NR_OPENAT, NR_MKDIRAT, NR_NEWFSTATAT, NR_UNLINKAT = 231, 257, 258, 262, 263
NR_RENAMEAT, NR_LINKAT, NR_SYMLINKAT, NR_READLINKAT = 264, 265, 266, 267
NR_UTIMENSAT, NR_FALLOCATE, NR_ACCEPT4, NR_GETRANDOM = 280, 285, 288, 318

# Linux constants not in abi.py.
_TCGETS, _FIONREAD = 0x5401, 0x541B
_UTIME_NOW, _UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
_POLLIN, _POLLOUT, _POLLERR, _POLLHUP, _POLLNVAL = 0x1, 0x4, 0x8, 0x10, 0x20
_MSG_PEEK, _MSG_WAITALL, _SOCK_NONBLOCK = 0x2, 0x100, 0o4000
_S_IFIFO, _S_IFCHR, _S_IFDIR, _S_IFBLK, _S_IFREG, _S_IFLNK, _S_IFSOCK = (
    0o010000, 0o020000, 0o040000, 0o060000, 0o100000, 0o120000, 0o140000)

# ---------------------------------------------------------------- WASI values
# errno (u16). Only the ones this file names itself; the rest come from _ERRNO.
W_SUCCESS, W_BADF, W_FAULT, W_INVAL, W_IO, W_NAMETOOLONG = 0, 8, 21, 28, 29, 37
W_ISDIR, W_NOSYS, W_NOTSOCK, W_PERM = 31, 52, 57, 63

# Linux errno -> WASI errno: one table (the two numberings differ throughout).
_ERRNO = {
    1: 63,    # EPERM -> perm
    2: 44,    # ENOENT -> noent
    3: 71,    # ESRCH -> srch
    4: 27,    # EINTR -> intr
    5: 29,    # EIO -> io
    6: 60,    # ENXIO -> nxio
    7: 1,     # E2BIG -> 2big
    8: 45,    # ENOEXEC -> noexec
    9: 8,     # EBADF -> badf
    10: 12,   # ECHILD -> child
    11: 6,    # EAGAIN -> again
    12: 48,   # ENOMEM -> nomem
    13: 2,    # EACCES -> acces
    14: 21,   # EFAULT -> fault
    16: 10,   # EBUSY -> busy
    17: 20,   # EEXIST -> exist
    18: 75,   # EXDEV -> xdev
    19: 43,   # ENODEV -> nodev
    20: 54,   # ENOTDIR -> notdir
    21: 31,   # EISDIR -> isdir
    22: 28,   # EINVAL -> inval
    23: 41,   # ENFILE -> nfile
    24: 33,   # EMFILE -> mfile
    25: 59,   # ENOTTY -> notty
    26: 74,   # ETXTBSY -> txtbsy
    27: 22,   # EFBIG -> fbig
    28: 51,   # ENOSPC -> nospc
    29: 70,   # ESPIPE -> spipe
    30: 69,   # EROFS -> rofs
    31: 34,   # EMLINK -> mlink
    32: 64,   # EPIPE -> pipe
    33: 18,   # EDOM -> dom
    34: 68,   # ERANGE -> range
    35: 16,   # EDEADLK -> deadlk
    36: 37,   # ENAMETOOLONG -> nametoolong
    37: 46,   # ENOLCK -> nolck
    38: 52,   # ENOSYS -> nosys
    39: 55,   # ENOTEMPTY -> notempty
    40: 32,   # ELOOP -> loop
    42: 49,   # ENOMSG -> nomsg
    43: 24,   # EIDRM -> idrm
    67: 47,   # ENOLINK -> nolink
    71: 65,   # EPROTO -> proto
    72: 36,   # EMULTIHOP -> multihop
    74: 9,    # EBADMSG -> badmsg
    75: 61,   # EOVERFLOW -> overflow
    84: 25,   # EILSEQ -> ilseq
    88: 57,   # ENOTSOCK -> notsock
    89: 17,   # EDESTADDRREQ -> destaddrreq
    90: 35,   # EMSGSIZE -> msgsize
    91: 67,   # EPROTOTYPE -> prototype
    92: 50,   # ENOPROTOOPT -> noprotoopt
    93: 66,   # EPROTONOSUPPORT -> protonosupport
    94: 58,   # ESOCKTNOSUPPORT -> notsup
    95: 58,   # EOPNOTSUPP -> notsup
    96: 5,    # EPFNOSUPPORT -> afnosupport
    97: 5,    # EAFNOSUPPORT -> afnosupport
    98: 3,    # EADDRINUSE -> addrinuse
    99: 4,    # EADDRNOTAVAIL -> addrnotavail
    100: 38,  # ENETDOWN -> netdown
    101: 40,  # ENETUNREACH -> netunreach
    102: 39,  # ENETRESET -> netreset
    103: 13,  # ECONNABORTED -> connaborted
    104: 15,  # ECONNRESET -> connreset
    105: 42,  # ENOBUFS -> nobufs
    106: 30,  # EISCONN -> isconn
    107: 53,  # ENOTCONN -> notconn
    110: 73,  # ETIMEDOUT -> timedout
    111: 14,  # ECONNREFUSED -> connrefused
    112: 23,  # EHOSTDOWN -> hostunreach
    113: 23,  # EHOSTUNREACH -> hostunreach
    114: 7,   # EALREADY -> already
    115: 26,  # EINPROGRESS -> inprogress
    116: 72,  # ESTALE -> stale
    122: 19,  # EDQUOT -> dquot
    125: 11,  # ECANCELED -> canceled
    130: 62,  # EOWNERDEAD -> ownerdead
    131: 56,  # ENOTRECOVERABLE -> notrecoverable
}


def wasi_errno(linux_errno: int) -> int:
    """The WASI errno for a Linux one; anything without a WASI twin is `io`."""
    return _ERRNO.get(linux_errno, W_IO)


# WASI signal -> Linux signal (WASI has no SIGSTKFLT, so from SIGCHLD on they shift by one).
_SIGNALS = {w: w for w in range(1, 16)} | {w: w + 1 for w in range(16, 31)}

# rights (u64)
R_FD_DATASYNC, R_FD_READ, R_FD_SEEK, R_FD_FDSTAT_SET_FLAGS = 1 << 0, 1 << 1, 1 << 2, 1 << 3
R_FD_SYNC, R_FD_TELL, R_FD_WRITE, R_FD_ADVISE, R_FD_ALLOCATE = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
R_FD_READDIR = 1 << 14
R_FD_FILESTAT_GET, R_FD_FILESTAT_SET_SIZE, R_FD_FILESTAT_SET_TIMES = 1 << 21, 1 << 22, 1 << 23
R_POLL_FD_READWRITE, R_SOCK_SHUTDOWN, R_SOCK_ACCEPT = 1 << 27, 1 << 28, 1 << 29
R_ALL = (1 << 30) - 1
READ_RIGHTS = R_FD_READ | R_FD_READDIR
WRITE_RIGHTS = R_FD_WRITE | R_FD_DATASYNC | R_FD_ALLOCATE | R_FD_FILESTAT_SET_SIZE
# What an open file may do besides reading and writing.
FILE_RIGHTS = (R_FD_SEEK | R_FD_TELL | R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_ADVISE
               | R_FD_FILESTAT_GET | R_FD_FILESTAT_SET_TIMES | R_POLL_FD_READWRITE)
# A directory: everything but data access; it hands every right on to what it opens.
DIR_RIGHTS = R_ALL & ~(R_FD_READ | R_FD_WRITE | R_FD_SEEK | R_FD_TELL | R_FD_ALLOCATE
                       | R_FD_DATASYNC | R_FD_FILESTAT_SET_SIZE | R_SOCK_SHUTDOWN | R_SOCK_ACCEPT)

# filetype (u8)
FT_UNKNOWN, FT_BLOCK, FT_CHAR, FT_DIR, FT_REG, FT_DGRAM, FT_STREAM, FT_LINK = range(8)
_FILETYPE_OF_MODE = {_S_IFBLK: FT_BLOCK, _S_IFCHR: FT_CHAR, _S_IFDIR: FT_DIR, _S_IFREG: FT_REG,
                     _S_IFLNK: FT_LINK, _S_IFSOCK: FT_STREAM, _S_IFIFO: FT_UNKNOWN}
_FILETYPE_OF_DTYPE = {abi.DT_BLK: FT_BLOCK, abi.DT_CHR: FT_CHAR, abi.DT_DIR: FT_DIR,
                      abi.DT_REG: FT_REG, abi.DT_LNK: FT_LINK, abi.DT_SOCK: FT_STREAM}

# fdflags (u16), oflags (u16), lookupflags (u32), fstflags (u16), subclockflags (u16)
FDFL_APPEND, FDFL_DSYNC, FDFL_NONBLOCK, FDFL_RSYNC, FDFL_SYNC = 1, 2, 4, 8, 16
O_CREAT_W, O_DIRECTORY_W, O_EXCL_W, O_TRUNC_W = 1, 2, 4, 8
LOOKUP_SYMLINK_FOLLOW = 1
FST_ATIM, FST_ATIM_NOW, FST_MTIM, FST_MTIM_NOW = 1, 2, 4, 8
SUBCLOCK_ABSTIME = 1
EV_CLOCK, EV_FD_READ, EV_FD_WRITE = 0, 1, 2
EV_FD_HANGUP = 1
RIFLAGS_PEEK, RIFLAGS_WAITALL = 1, 2
SDFLAGS_RD, SDFLAGS_WR = 1, 2

# ------------------------------------------------------------------- layouts
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_TIMESPEC = struct.Struct("<qq")
# struct stat as the x86_64 kernel lays it out (see abi.pack_stat), 144 bytes.
_STAT = struct.Struct("<QQQIIIxxxxQqqqqqqqqq24x")
_DIRENT64_HEAD = struct.Struct("<QqHB")                  # d_ino, d_off, d_reclen, d_type
_FILESTAT = struct.Struct("<QQB7xQQQQQ")                  # 64 bytes
_FDSTAT = struct.Struct("<BxHxxxxQQ")                     # 24 bytes
_DIRENT = struct.Struct("<QQIB3x")                        # 24 bytes, then the name
_PRESTAT = struct.Struct("<BxxxI")                        # 8 bytes
_SUBSCRIPTION = struct.Struct("<QB7x32s")                 # 48 bytes
_SUB_CLOCK = struct.Struct("<I4xQQH6x")                   # in the 32-byte union
_EVENT = struct.Struct("<QHB5xQH6x")                      # 32 bytes
_POLLFD = struct.Struct("<ihh")

# The scratch page.
S_EMPTY = 0          # "" for AT_EMPTY_PATH
S_ROOT = 8           # "/"
S_TIMESPEC = 16      # one struct timespec
S_TIMES = 32         # struct timespec[2] for utimensat
S_STAT = 64          # struct stat (144 bytes)
S_IOCTL = 256        # ioctl results (up to 64 bytes)
S_PATH_A = 512       # a NUL-terminated path (PATH_MAX)
S_PATH_B = S_PATH_A + abi.PATH_MAX + 64
S_POLL = 9216        # struct pollfd[] (up to 1024)
S_POLL_MAX = 1024
S_DENTS = 32768      # getdents64 buffer
S_DENTS_SIZE = PAGE - S_DENTS


class WasiError(Exception):
    """Return this WASI errno from the current import."""

    def __init__(self, errno: int) -> None:
        super().__init__(errno)
        self.errno = errno


class _Stop(Exception):
    """The cage is ending (exit, a fatal signal, a kill): trap out of the program."""


class _TrapOut(Exception):
    """Leave the program with a trap carrying this message."""


def _u32(v: int) -> int:
    return v & 0xFFFFFFFF


def _u64(v: int) -> int:
    return v & 0xFFFFFFFFFFFFFFFF


def _fd(v: int) -> int:
    """A WASI fd (u32) as the non-negative int the Linux calls take."""
    v &= 0xFFFFFFFF
    if v > 0x7FFFFFFF:   # would turn into a negative fd such as AT_FDCWD
        raise WasiError(W_BADF)
    return v


def _filetype(mode: int) -> int:
    return _FILETYPE_OF_MODE.get(mode & abi.S_IFMT, FT_UNKNOWN)


def _check_beneath(path: bytes) -> None:
    """WASI resolves paths beneath the directory fd: no absolute paths, no climbing out.

    Lexical only (as Wasmtime, `perm`); symlinks are resolved by the microvisor, inside
    the cage's root.
    """
    if path.startswith(b"/"):
        raise WasiError(W_PERM)
    depth = 0
    for part in path.split(b"/"):
        if part == b"..":
            depth -= 1
            if depth < 0:
                raise WasiError(W_PERM)
        elif part not in (b"", b"."):
            depth += 1


# ------------------------------------------------------------------ signatures
# name -> (params, results); "i" is i32, "I" is i64.
SIGNATURES: dict[str, tuple[str, str]] = {
    "args_get": ("ii", "i"),
    "args_sizes_get": ("ii", "i"),
    "environ_get": ("ii", "i"),
    "environ_sizes_get": ("ii", "i"),
    "clock_res_get": ("ii", "i"),
    "clock_time_get": ("iIi", "i"),
    "fd_advise": ("iIIi", "i"),
    "fd_allocate": ("iII", "i"),
    "fd_close": ("i", "i"),
    "fd_datasync": ("i", "i"),
    "fd_fdstat_get": ("ii", "i"),
    "fd_fdstat_set_flags": ("ii", "i"),
    "fd_fdstat_set_rights": ("iII", "i"),
    "fd_filestat_get": ("ii", "i"),
    "fd_filestat_set_size": ("iI", "i"),
    "fd_filestat_set_times": ("iIIi", "i"),
    "fd_pread": ("iiiIi", "i"),
    "fd_prestat_get": ("ii", "i"),
    "fd_prestat_dir_name": ("iii", "i"),
    "fd_pwrite": ("iiiIi", "i"),
    "fd_read": ("iiii", "i"),
    "fd_readdir": ("iiiIi", "i"),
    "fd_renumber": ("ii", "i"),
    "fd_seek": ("iIii", "i"),
    "fd_sync": ("i", "i"),
    "fd_tell": ("ii", "i"),
    "fd_write": ("iiii", "i"),
    "path_create_directory": ("iii", "i"),
    "path_filestat_get": ("iiiii", "i"),
    "path_filestat_set_times": ("iiiiIIi", "i"),
    "path_link": ("iiiiiii", "i"),
    "path_open": ("iiiiiIIii", "i"),
    "path_readlink": ("iiiiii", "i"),
    "path_remove_directory": ("iii", "i"),
    "path_rename": ("iiiiii", "i"),
    "path_symlink": ("iiiii", "i"),
    "path_unlink_file": ("iii", "i"),
    "poll_oneoff": ("iiii", "i"),
    "proc_exit": ("i", ""),
    "proc_raise": ("i", "i"),
    "sched_yield": ("", "i"),
    "random_get": ("ii", "i"),
    "sock_accept": ("iii", "i"),
    "sock_recv": ("iiiiii", "i"),
    "sock_send": ("iiiii", "i"),
    "sock_shutdown": ("ii", "i"),
}

_VALTYPES = {"i": wasmtime.ValType.i32(), "I": wasmtime.ValType.i64()}


def _functype(params: str, results: str) -> wasmtime.FuncType:
    return wasmtime.FuncType([_VALTYPES[c] for c in params], [_VALTYPES[c] for c in results])


def _shape(ty: wasmtime.FuncType) -> tuple[str, str]:
    code = {"i32": "i", "i64": "I"}

    def enc(types) -> str:
        return "".join(code.get(str(t), "?") for t in types)

    return enc(ty.params), enc(ty.results)


_FUNCTYPES = {name: _functype(*sig) for name, sig in SIGNATURES.items()}


def _type_text(ty: object) -> str:
    """An import's type as text (wasmtime's types do not compare by value)."""
    if isinstance(ty, wasmtime.FuncType):
        return f"func {[str(t) for t in ty.params]} -> {[str(t) for t in ty.results]}"
    return repr(ty)


# ------------------------------------------------------------ the imports
class Preview1:
    """The WASI imports of one cage. Each method is one import, with WASI's arguments."""

    def __init__(self, cage) -> None:
        # Weakly: the cage owns this (through its linker and _instances), not the reverse.
        self.cage = weakref.proxy(cage)
        self.scratch = 0                    # address of the scratch page, set by setup()
        self.keys: list[int] = []           # this cage's entries in _ENTRIES
        self.preopens: dict[int, bytes] = {}

    # -- plumbing --------------------------------------------------------
    @property
    def mem(self):
        return self.cage.mem

    def call(self, nr: int, *args: int) -> int:
        """A system call through the cage's 3i table; -errno becomes WasiError."""
        slot = self.cage.slot
        r = slot.call(nr, *args)
        if slot.exiting:
            raise _Stop
        if r < 0:
            raise WasiError(wasi_errno(-r))
        return r

    def try_call(self, nr: int, *args: int) -> int:
        """Like call, but hands back -errno (Linux numbering) instead of raising."""
        slot = self.cage.slot
        r = slot.call(nr, *args)
        if slot.exiting:
            raise _Stop
        return r

    def bind(self, fn: Callable[..., int | None]) -> Callable[..., int | None]:
        """The import as the entry calls it: errors become WASI errnos; a stopping cage,
        or a bug here (which stops this cage only), raises _TrapOut."""
        cage = self.cage

        def entry(*args: int) -> int | None:
            if threei.calls_refused_here(cage.slot):   # a start function: no cage yet
                return wasi_errno(E.ENOSYS)
            try:
                result = fn(*args)
            except WasiError as err:
                result = err.errno
            except _Stop:
                raise _TrapOut("cage stopped") from None
            except OSError as err:        # guest memory out of bounds, mostly
                result = wasi_errno(err.errno or E.EIO)
            except Exception as exc:
                cage.slot.stop(f"internal error in {fn.__name__}: {exc}")
                cage.internal_error(exc)
                raise _TrapOut(f"internal error in {fn.__name__}") from None
            if cage.slot.exiting:
                raise _TrapOut("cage stopped")
            return result

        entry.__name__ = fn.__name__
        return entry

    def put32(self, addr: int, value: int) -> None:
        self.mem.write(_u32(addr), _U32.pack(value & 0xFFFFFFFF))

    def put64(self, addr: int, value: int) -> None:
        self.mem.write(_u32(addr), _U64.pack(_u64(value)))

    def path(self, ptr: int, length: int, where: int, *, beneath: bool = True) -> int:
        """Copy a WASI (ptr, len) path into the scratch page, NUL-terminated; its address."""
        length = _u32(length)
        if length >= abi.PATH_MAX:
            raise WasiError(W_NAMETOOLONG)
        raw = self.mem.read(_u32(ptr), length)
        if b"\0" in raw:
            raise WasiError(W_INVAL)
        if beneath:
            _check_beneath(raw)
        addr = self.scratch + where
        self.mem.write(addr, raw + b"\0")
        return addr

    def stat_fd(self, fd: int) -> tuple:
        self.call(NR_NEWFSTATAT, fd, self.scratch + S_EMPTY, self.scratch + S_STAT,
                  abi.AT_EMPTY_PATH)
        return _STAT.unpack(self.mem.read(self.scratch + S_STAT, _STAT.size))

    def write_filestat(self, out: int) -> None:
        (dev, ino, nlink, mode, _uid, _gid, _rdev, size, _blksize, _blocks,
         a_s, a_ns, m_s, m_ns, c_s, c_ns) = _STAT.unpack(
            self.mem.read(self.scratch + S_STAT, _STAT.size))
        self.mem.write(_u32(out), _FILESTAT.pack(
            dev, ino, _filetype(mode), nlink, _u64(size), _u64(a_s * 10**9 + a_ns),
            _u64(m_s * 10**9 + m_ns), _u64(c_s * 10**9 + c_ns)))

    def iovecs(self, iovs: int, count: int) -> list[tuple[int, int]]:
        count = _u32(count)
        if count > abi.IOV_MAX:
            raise WasiError(W_INVAL)
        return list(abi.IOVEC.iter_unpack(self.mem.read(_u32(iovs), count * abi.IOVEC.size)))

    def strings(self, items: list[bytes], ptrs: int, buf: int) -> int:
        at, offsets = _u32(buf), []
        for s in items:
            offsets.append(at)
            at += len(s) + 1
        self.mem.write(_u32(buf), b"".join(s + b"\0" for s in items))
        self.mem.write(_u32(ptrs), b"".join(_U32.pack(o & 0xFFFFFFFF) for o in offsets))
        return W_SUCCESS

    def sizes(self, items: list[bytes], count_ptr: int, size_ptr: int) -> int:
        self.put32(count_ptr, len(items))
        self.put32(size_ptr, sum(len(s) + 1 for s in items))
        return W_SUCCESS

    # -- arguments and environment -------------------------------------------
    def args_sizes_get(self, count_ptr, size_ptr):
        return self.sizes(self.cage.argv, count_ptr, size_ptr)

    def args_get(self, ptrs, buf):
        return self.strings(self.cage.argv, ptrs, buf)

    def environ_sizes_get(self, count_ptr, size_ptr):
        return self.sizes(self.cage.env, count_ptr, size_ptr)

    def environ_get(self, ptrs, buf):
        return self.strings(self.cage.env, ptrs, buf)

    # -- clocks, randomness, scheduling, process ---------------------------------
    def _clock_ns(self, nr: int, clock: int) -> int:
        clock = _u32(clock)
        if clock > 3:    # realtime, monotonic, process and thread CPU time: same ids as Linux
            raise WasiError(W_INVAL)
        self.call(nr, clock, self.scratch + S_TIMESPEC)
        sec, nsec = _TIMESPEC.unpack(self.mem.read(self.scratch + S_TIMESPEC, _TIMESPEC.size))
        return sec * 10**9 + nsec

    def clock_res_get(self, clock, out):
        self.put64(out, self._clock_ns(NR_CLOCK_GETRES, clock))
        return W_SUCCESS

    def clock_time_get(self, clock, _precision, out):
        self.put64(out, self._clock_ns(NR_CLOCK_GETTIME, clock))
        return W_SUCCESS

    def random_get(self, buf, length):
        buf, length = _u32(buf), _u32(length)
        done = 0
        while done < length:
            done += self.call(NR_GETRANDOM, buf + done, length - done, 0)
        return W_SUCCESS

    def sched_yield(self):
        self.call(NR_SCHED_YIELD)
        return W_SUCCESS

    def proc_exit(self, code):
        code = _u32(code)
        self.cage.slot.call(NR_EXIT_GROUP, code)
        if self.cage.status is None:    # a grate swallowed exit_group: proc_exit still ends
            self.cage.exit(code & 0xFF)
        raise _Stop

    def proc_raise(self, sig):
        linux = _SIGNALS.get(_u32(sig) & 0xFF)
        if linux is None:
            raise WasiError(W_INVAL)
        self.call(NR_KILL, self.cage.id, linux)
        return W_SUCCESS

    def poll_oneoff(self, subs, events, nsubs, nevents_out):
        nsubs = _u32(nsubs)
        if nsubs == 0:
            raise WasiError(W_INVAL)
        raw = self.mem.read(_u32(subs), nsubs * _SUBSCRIPTION.size)
        self.mem.view(_u32(events), nsubs * _EVENT.size)   # fail before waiting, not after
        out: list[bytes] = []
        clocks: list[tuple[int, int]] = []           # (userdata, ns from now)
        fds: list[tuple[int, int, int]] = []         # (userdata, kind, fd)
        for userdata, tag, body in _SUBSCRIPTION.iter_unpack(raw):
            if tag == EV_CLOCK:
                clock, timeout, _precision, flags = _SUB_CLOCK.unpack(body)
                try:
                    if flags & SUBCLOCK_ABSTIME:
                        timeout = max(0, timeout - self._clock_ns(NR_CLOCK_GETTIME, clock))
                    else:
                        self._clock_ns(NR_CLOCK_GETRES, clock)     # is it a clock at all?
                except WasiError as err:
                    out.append(_EVENT.pack(userdata, err.errno, EV_CLOCK, 0, 0))
                    continue
                clocks.append((userdata, timeout))
            elif tag in (EV_FD_READ, EV_FD_WRITE):
                fds.append((userdata, tag, _U32.unpack_from(body)[0]))
            else:
                raise WasiError(W_INVAL)
        if not out:
            out = self._poll(clocks, fds)
        self.mem.write(_u32(events), b"".join(out))
        self.put32(nevents_out, len(out))
        return W_SUCCESS

    def _poll(self, clocks: list[tuple[int, int]], fds: list[tuple[int, int, int]]) -> list[bytes]:
        """Wait for the first subscription to fire; the events of all that did."""
        wait = min((ns for _, ns in clocks), default=None)
        if not fds:
            if wait:
                self.mem.write(self.scratch + S_TIMESPEC,
                               _TIMESPEC.pack(wait // 10**9, wait % 10**9))
                self.call(NR_NANOSLEEP, self.scratch + S_TIMESPEC, 0)
            return [_EVENT.pack(u, W_SUCCESS, EV_CLOCK, 0, 0) for u, ns in clocks if ns <= wait]
        started = self._clock_ns(NR_CLOCK_GETTIME, 1) if clocks else 0
        ready = self._poll_fds(fds, wait)
        if ready is None:     # no poll behind this cage's table: every fd counts as ready
            ready = [(u, kind, W_SUCCESS, 0, 0) for u, kind, _ in fds]
        out = [_EVENT.pack(u, err, kind, nbytes, flags) for u, kind, err, nbytes, flags in ready]
        if clocks:
            elapsed = self._clock_ns(NR_CLOCK_GETTIME, 1) - started
            if not ready:     # poll timed out: the earliest clock has fired
                elapsed = max(elapsed, wait)
            out += [_EVENT.pack(u, W_SUCCESS, EV_CLOCK, 0, 0) for u, ns in clocks if ns <= elapsed]
        return out

    def _poll_fds(self, fds: list[tuple[int, int, int]], wait: int | None):
        """poll(2) through 3i; None when the table has no poll."""
        if len(fds) > S_POLL_MAX:
            raise WasiError(W_INVAL)
        table = b"".join(_POLLFD.pack(fd if fd <= 0x7FFFFFFF else -1,
                                      _POLLIN if kind == EV_FD_READ else _POLLOUT, 0)
                         for _, kind, fd in fds)
        self.mem.write(self.scratch + S_POLL, table)
        timeout_ms = -1 if wait is None else min((wait + 999_999) // 1_000_000, 0x7FFFFFFF)
        r = self.try_call(NR_POLL, self.scratch + S_POLL, len(fds), timeout_ms)
        if r == -E.ENOSYS:
            return None
        if r < 0:
            raise WasiError(wasi_errno(-r))
        results = []
        polled = self.mem.read(self.scratch + S_POLL, len(table))
        for (userdata, kind, _), (fd, _ev, revents) in zip(fds, _POLLFD.iter_unpack(polled),
                                                            strict=True):
            if not revents:
                continue
            if revents & _POLLNVAL:
                results.append((userdata, kind, W_BADF, 0, 0))
                continue
            nbytes = 0
            if kind == EV_FD_READ and revents & _POLLIN:
                r = self.try_call(NR_IOCTL, fd, _FIONREAD, self.scratch + S_IOCTL)
                if r == 0:
                    nbytes = _U32.unpack(self.mem.read(self.scratch + S_IOCTL, 4))[0]
            flags = EV_FD_HANGUP if revents & _POLLHUP else 0
            results.append((userdata, kind, W_SUCCESS, nbytes, flags))
        return results

    # -- file descriptors ----------------------------------------------------
    def fd_close(self, fd):
        fd = _fd(fd)
        self.call(NR_CLOSE, fd)
        self.preopens.pop(fd, None)
        return W_SUCCESS

    def fd_renumber(self, fd, to):
        fd, to = _fd(fd), _fd(to)
        self.call(NR_FCNTL, to, abi.F_GETFD)    # unlike dup2, `to` must be open: EBADF
        if fd == to:
            return W_SUCCESS
        self.call(NR_DUP2, fd, to)
        self.call(NR_CLOSE, fd)
        name = self.preopens.pop(fd, None)
        self.preopens.pop(to, None)
        if name is not None:
            self.preopens[to] = name
        return W_SUCCESS

    def fd_sync(self, fd):
        self.call(NR_FSYNC, _fd(fd))
        return W_SUCCESS

    def fd_datasync(self, fd):
        self.call(NR_FDATASYNC, _fd(fd))
        return W_SUCCESS

    def fd_advise(self, fd, offset, length, advice):
        fd, advice = _fd(fd), _u32(advice)
        if advice > 5:
            raise WasiError(W_INVAL)
        # WASI: normal, sequential, random, willneed, dontneed, noreuse; Linux swaps 1 and 2.
        linux = {1: 2, 2: 1}.get(advice, advice)
        if self.try_call(NR_FADVISE64, fd, offset, length, linux) == -E.ENOSYS:
            self.call(NR_FCNTL, fd, abi.F_GETFL)   # only a hint: fine if the fd exists
        elif offset < 0 or length < 0:
            raise WasiError(W_INVAL)
        return W_SUCCESS

    def fd_allocate(self, fd, offset, length):
        fd = _fd(fd)
        if offset < 0 or length <= 0 or offset + length >= 1 << 63:
            raise WasiError(W_INVAL)
        r = self.try_call(NR_FALLOCATE, fd, 0, offset, length)
        if r != -E.ENOSYS:
            if r < 0:
                raise WasiError(wasi_errno(-r))
            return W_SUCCESS
        # No fallocate behind this table: make sure the file is at least that long.
        st = self.stat_fd(fd)
        mode, size = st[3], st[7]
        if mode & abi.S_IFMT == _S_IFDIR:
            raise WasiError(wasi_errno(E.EISDIR))
        if mode & abi.S_IFMT != _S_IFREG:
            raise WasiError(wasi_errno(E.ENODEV))
        if size < offset + length:
            self.call(NR_FTRUNCATE, fd, offset + length)
        return W_SUCCESS

    def fd_fdstat_get(self, fd, out):
        fd = _fd(fd)
        self.mem.view(_u32(out), _FDSTAT.size)
        flags = self.call(NR_FCNTL, fd, abi.F_GETFL)
        mode = self.stat_fd(fd)[3]
        ftype = _filetype(mode)
        fdflags = 0
        if flags & abi.O_APPEND:
            fdflags |= FDFL_APPEND
        if flags & abi.O_NONBLOCK:
            fdflags |= FDFL_NONBLOCK
        if flags & abi.O_SYNC == abi.O_SYNC:
            fdflags |= FDFL_SYNC
        elif flags & abi.O_DSYNC:
            fdflags |= FDFL_DSYNC
        if ftype == FT_DIR:
            base, inheriting = DIR_RIGHTS, R_ALL
        else:
            access = flags & abi.O_ACCMODE
            base = FILE_RIGHTS
            if access in (abi.O_RDONLY, abi.O_RDWR):
                base |= R_FD_READ
            if access in (abi.O_WRONLY, abi.O_RDWR):
                base |= WRITE_RIGHTS
            unseekable = ftype in (FT_UNKNOWN, FT_STREAM, FT_DGRAM)
            # wasi-libc's isatty(): a character device without seek/tell rights is a tty.
            if ftype == FT_CHAR and self.try_call(NR_IOCTL, fd, _TCGETS,
                                                  self.scratch + S_IOCTL) == 0:
                unseekable = True
            if unseekable:
                base &= ~(R_FD_SEEK | R_FD_TELL)
            if ftype == FT_STREAM:
                base |= R_SOCK_SHUTDOWN | R_SOCK_ACCEPT
            inheriting = 0
        self.mem.write(_u32(out), _FDSTAT.pack(ftype, fdflags, base, inheriting))
        return W_SUCCESS

    def fd_fdstat_set_flags(self, fd, fdflags):
        fd, fdflags = _fd(fd), _u32(fdflags) & 0xFFFF
        if fdflags & (FDFL_DSYNC | FDFL_RSYNC | FDFL_SYNC):
            raise WasiError(W_INVAL)    # Linux's F_SETFL cannot change these either
        flags = self.call(NR_FCNTL, fd, abi.F_GETFL) & ~(abi.O_APPEND | abi.O_NONBLOCK)
        if fdflags & FDFL_APPEND:
            flags |= abi.O_APPEND
        if fdflags & FDFL_NONBLOCK:
            flags |= abi.O_NONBLOCK
        self.call(NR_FCNTL, fd, abi.F_SETFL, flags)
        return W_SUCCESS

    def fd_fdstat_set_rights(self, fd, _base, _inheriting):
        # Rights are not a Lind concept (the 3i table and grates are); accept the request.
        self.call(NR_FCNTL, _fd(fd), abi.F_GETFL)
        return W_SUCCESS

    def fd_filestat_get(self, fd, out):
        self.mem.view(_u32(out), _FILESTAT.size)
        self.stat_fd(_fd(fd))
        self.write_filestat(out)
        return W_SUCCESS

    def fd_filestat_set_size(self, fd, size):
        self.call(NR_FTRUNCATE, _fd(fd), size)
        return W_SUCCESS

    def _times(self, atim: int, mtim: int, fst: int) -> int:
        fst = _u32(fst) & 0xFFFF
        if fst & ~0xF or (fst & FST_ATIM and fst & FST_ATIM_NOW) or (
                fst & FST_MTIM and fst & FST_MTIM_NOW):
            raise WasiError(W_INVAL)

        def ts(t: int, given: int, now: int) -> bytes:
            if fst & now:
                return _TIMESPEC.pack(0, _UTIME_NOW)
            if fst & given:
                t = _u64(t)
                return _TIMESPEC.pack(t // 10**9, t % 10**9)
            return _TIMESPEC.pack(0, _UTIME_OMIT)

        addr = self.scratch + S_TIMES
        self.mem.write(addr, ts(atim, FST_ATIM, FST_ATIM_NOW) + ts(mtim, FST_MTIM, FST_MTIM_NOW))
        return addr

    def fd_filestat_set_times(self, fd, atim, mtim, fst):
        fd = _fd(fd)
        self.call(NR_UTIMENSAT, fd, 0, self._times(atim, mtim, fst), 0)
        return W_SUCCESS

    def fd_prestat_get(self, fd, out):
        name = self.preopens.get(_fd(fd))
        if name is None:
            raise WasiError(W_BADF)
        self.mem.write(_u32(out), _PRESTAT.pack(0, len(name)))
        return W_SUCCESS

    def fd_prestat_dir_name(self, fd, buf, length):
        name = self.preopens.get(_fd(fd))
        if name is None:
            raise WasiError(W_BADF)
        if _u32(length) < len(name):
            raise WasiError(W_NAMETOOLONG)
        self.mem.write(_u32(buf), name)
        return W_SUCCESS

    def fd_read(self, fd, iovs, count, out):
        fd = _fd(fd)
        self.mem.view(_u32(out), 4)
        try:
            if _u32(count) == 1:
                base, length = abi.IOVEC.unpack(self.mem.read(_u32(iovs), abi.IOVEC.size))
                n = self.call(NR_READ, fd, base, length)
            else:
                n = self.call(NR_READV, fd, _u32(iovs), _u32(count))
        except WasiError as err:
            raise WasiError(W_BADF if err.errno == W_ISDIR else err.errno) from None
        self.put32(out, n)
        return W_SUCCESS

    def _not_a_directory(self, fd: int, err: WasiError) -> WasiError:
        """A directory fd has no position in WASI (no seek or tell rights): EBADF."""
        return WasiError(W_BADF) if _filetype(self.stat_fd(fd)[3]) == FT_DIR else err

    def fd_write(self, fd, iovs, count, out):
        fd = _fd(fd)
        self.mem.view(_u32(out), 4)
        if _u32(count) == 1:
            base, length = abi.IOVEC.unpack(self.mem.read(_u32(iovs), abi.IOVEC.size))
            n = self.call(NR_WRITE, fd, base, length)
        else:
            n = self.call(NR_WRITEV, fd, _u32(iovs), _u32(count))
        self.put32(out, n)
        return W_SUCCESS

    def _positioned(self, nr: int, fd, iovs, count, offset, out) -> int:
        """preadv/pwritev as pread64/pwrite64 per buffer (stopping at a short transfer)."""
        fd = _fd(fd)
        self.mem.view(_u32(out), 4)
        vecs = [(b, n) for b, n in self.iovecs(iovs, count) if n] or [(0, 0)]
        total = 0
        for base, length in vecs:
            try:
                n = self.call(nr, fd, base, length, offset + total)
            except WasiError:
                if total:
                    break
                raise
            total += n
            if n < length:
                break
        self.put32(out, total)
        return W_SUCCESS

    def fd_pread(self, fd, iovs, count, offset, out):
        return self._positioned(NR_PREAD64, fd, iovs, count, offset, out)

    def fd_pwrite(self, fd, iovs, count, offset, out):
        return self._positioned(NR_PWRITE64, fd, iovs, count, offset, out)

    def fd_seek(self, fd, offset, whence, out):
        fd, whence = _fd(fd), _u32(whence)
        if whence > 2:     # WASI's set/cur/end are Linux's SEEK_SET/CUR/END
            raise WasiError(W_INVAL)
        self.mem.view(_u32(out), 8)
        try:
            self.put64(out, self.call(NR_LSEEK, fd, offset, whence))
        except WasiError as err:
            raise self._not_a_directory(fd, err) from None
        return W_SUCCESS

    def fd_tell(self, fd, out):
        return self.fd_seek(fd, 0, abi.SEEK_CUR, out)

    def fd_readdir(self, fd, buf, buf_len, cookie, out):
        """WASI dirents from getdents64; a cookie is a d_off, so seeking to it resumes there."""
        fd, buf, buf_len = _fd(fd), _u32(buf), _u32(buf_len)
        self.mem.view(buf, buf_len)
        self.mem.view(_u32(out), 4)
        if cookie < 0:
            raise WasiError(W_INVAL)
        self.call(NR_LSEEK, fd, cookie, abi.SEEK_SET)
        data = bytearray()
        dents = self.scratch + S_DENTS
        while len(data) < buf_len:
            n = self.call(NR_GETDENTS64, fd, dents, S_DENTS_SIZE)
            if n == 0:
                break
            raw = self.mem.read(dents, n)
            at = 0
            while at < n and len(data) < buf_len:
                # the records are whoever answered getdents64's (a grate's): one that
                # is cut short or has no NUL in it is `io`, not a Python error here
                if at + _DIRENT64_HEAD.size > n:
                    raise WasiError(W_IO)
                ino, off, reclen, dtype = _DIRENT64_HEAD.unpack_from(raw, at)
                name_at = at + _DIRENT64_HEAD.size
                end = raw.find(b"\0", name_at, at + reclen)
                if end < 0 or at + reclen > n:
                    raise WasiError(W_IO)
                name = raw[name_at:end]
                data += _DIRENT.pack(_u64(off), ino, len(name),
                                     _FILETYPE_OF_DTYPE.get(dtype, FT_UNKNOWN))
                data += name
                at += reclen
        # A buffer that fills up ends with a cut-off entry: the program retries with a bigger one.
        self.mem.write(buf, bytes(data[:buf_len]))
        self.put32(out, min(len(data), buf_len))
        return W_SUCCESS

    # -- paths ---------------------------------------------------------------
    def path_open(self, dirfd, lookupflags, path, path_len, oflags, base, _inheriting,
                  fdflags, out):
        dirfd, oflags, fdflags, base = _fd(dirfd), _u32(oflags), _u32(fdflags), _u64(base)
        self.mem.view(_u32(out), 4)
        if oflags & O_DIRECTORY_W:
            if base & WRITE_RIGHTS:     # as other runtimes: a directory is never written
                raise WasiError(W_ISDIR)
            flags = abi.O_RDONLY | abi.O_DIRECTORY
        else:
            read, write = base & READ_RIGHTS, base & WRITE_RIGHTS
            flags = abi.O_RDWR if read and write else abi.O_WRONLY if write else abi.O_RDONLY
        if oflags & O_CREAT_W:
            flags |= abi.O_CREAT
        if oflags & O_EXCL_W:
            flags |= abi.O_EXCL
        if oflags & O_TRUNC_W:
            flags |= abi.O_TRUNC
        if fdflags & FDFL_APPEND:
            flags |= abi.O_APPEND
        if fdflags & FDFL_NONBLOCK:
            flags |= abi.O_NONBLOCK
        if fdflags & (FDFL_SYNC | FDFL_RSYNC):
            flags |= abi.O_SYNC
        elif fdflags & FDFL_DSYNC:
            flags |= abi.O_DSYNC
        if not _u32(lookupflags) & LOOKUP_SYMLINK_FOLLOW:
            flags |= abi.O_NOFOLLOW
        p = self.path(path, path_len, S_PATH_A)
        self.put32(out, self.call(NR_OPENAT, dirfd, p, flags, 0o666))
        return W_SUCCESS

    def path_create_directory(self, fd, path, path_len):
        self.call(NR_MKDIRAT, _fd(fd), self.path(path, path_len, S_PATH_A), 0o777)
        return W_SUCCESS

    def path_filestat_get(self, fd, lookupflags, path, path_len, out):
        fd = _fd(fd)
        self.mem.view(_u32(out), _FILESTAT.size)
        follow = _u32(lookupflags) & LOOKUP_SYMLINK_FOLLOW
        self.call(NR_NEWFSTATAT, fd, self.path(path, path_len, S_PATH_A), self.scratch + S_STAT,
                  0 if follow else abi.AT_SYMLINK_NOFOLLOW)
        self.write_filestat(out)
        return W_SUCCESS

    def path_filestat_set_times(self, fd, lookupflags, path, path_len, atim, mtim, fst):
        fd = _fd(fd)
        follow = _u32(lookupflags) & LOOKUP_SYMLINK_FOLLOW
        self.call(NR_UTIMENSAT, fd, self.path(path, path_len, S_PATH_A),
                  self._times(atim, mtim, fst), 0 if follow else abi.AT_SYMLINK_NOFOLLOW)
        return W_SUCCESS

    def path_link(self, old_fd, lookupflags, old, old_len, new_fd, new, new_len):
        follow = _u32(lookupflags) & LOOKUP_SYMLINK_FOLLOW
        self.call(NR_LINKAT, _fd(old_fd), self.path(old, old_len, S_PATH_A), _fd(new_fd),
                  self.path(new, new_len, S_PATH_B), abi.AT_SYMLINK_FOLLOW if follow else 0)
        return W_SUCCESS

    def path_readlink(self, fd, path, path_len, buf, buf_len, out):
        fd, buf, buf_len = _fd(fd), _u32(buf), _u32(buf_len)
        self.mem.view(_u32(out), 4)
        p = self.path(path, path_len, S_PATH_A)
        if buf_len:
            n = self.call(NR_READLINKAT, fd, p, buf, buf_len)
        else:   # Linux refuses a zero size; WASI just returns nothing
            self.call(NR_READLINKAT, fd, p, self.scratch + S_DENTS, 1)
            n = 0
        self.put32(out, n)
        return W_SUCCESS

    def path_remove_directory(self, fd, path, path_len):
        self.call(NR_UNLINKAT, _fd(fd), self.path(path, path_len, S_PATH_A), abi.AT_REMOVEDIR)
        return W_SUCCESS

    def path_rename(self, fd, old, old_len, new_fd, new, new_len):
        self.call(NR_RENAMEAT, _fd(fd), self.path(old, old_len, S_PATH_A), _fd(new_fd),
                  self.path(new, new_len, S_PATH_B))
        return W_SUCCESS

    def path_symlink(self, target, target_len, fd, path, path_len):
        # The target is only stored, never resolved here: any relative text will do. An
        # absolute one is EPERM, as in other WASI runtimes (it names no preopen).
        t = self.path(target, target_len, S_PATH_A, beneath=False)
        if self.mem.read(t, 1) == b"/":
            raise WasiError(W_PERM)
        self.call(NR_SYMLINKAT, t, _fd(fd), self.path(path, path_len, S_PATH_B))
        return W_SUCCESS

    def path_unlink_file(self, fd, path, path_len):
        self.call(NR_UNLINKAT, _fd(fd), self.path(path, path_len, S_PATH_A), 0)
        return W_SUCCESS

    # -- sockets: the Linux calls, so a network grate sees them (ENOSYS -> nosys) ----
    def sock_accept(self, fd, fdflags, out):
        fd = _fd(fd)
        self.mem.view(_u32(out), 4)
        flags = _SOCK_NONBLOCK if _u32(fdflags) & FDFL_NONBLOCK else 0
        self.put32(out, self.call(NR_ACCEPT4, fd, 0, 0, flags))
        return W_SUCCESS

    def _first_buffer(self, iovs, count) -> tuple[int, int]:
        """Datagram-safe enough for streams: a short transfer into the first non-empty buffer."""
        vecs = [(b, n) for b, n in self.iovecs(iovs, count) if n]
        return vecs[0] if vecs else (0, 0)

    def sock_recv(self, fd, iovs, count, riflags, out_len, out_flags):
        fd, riflags = _fd(fd), _u32(riflags)
        self.mem.view(_u32(out_len), 4)
        self.mem.view(_u32(out_flags), 2)
        if riflags & ~(RIFLAGS_PEEK | RIFLAGS_WAITALL):
            raise WasiError(W_INVAL)
        flags = (_MSG_PEEK if riflags & RIFLAGS_PEEK else 0) | (
            _MSG_WAITALL if riflags & RIFLAGS_WAITALL else 0)
        base, length = self._first_buffer(iovs, count)
        n = self.call(NR_RECVFROM, fd, base, length, flags, 0, 0)
        self.put32(out_len, n)
        self.mem.write(_u32(out_flags), b"\0\0")
        return W_SUCCESS

    def sock_send(self, fd, iovs, count, _siflags, out_len):
        fd = _fd(fd)
        self.mem.view(_u32(out_len), 4)
        base, length = self._first_buffer(iovs, count)
        self.put32(out_len, self.call(NR_SENDTO, fd, base, length, 0, 0, 0))
        return W_SUCCESS

    def sock_shutdown(self, fd, how):
        how = _u32(how)
        linux = {SDFLAGS_RD: 0, SDFLAGS_WR: 1, SDFLAGS_RD | SDFLAGS_WR: 2}.get(how)
        if linux is None:
            raise WasiError(W_INVAL)
        if not statmod.S_ISSOCK(self.stat_fd(_fd(fd))[3]):   # EBADF if not open
            raise WasiError(W_NOTSOCK)
        self.call(NR_SHUTDOWN, _fd(fd), linux)
        return W_SUCCESS


_instances: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# Imports are raw ("unchecked") host functions, as the 3i entry is: the callback gets the
# arguments in place and hands back a trap pointer itself. That is ~10x cheaper than
# wasmtime-py's Func path, and a trap never passes through wasmtime-py's process-wide
# "last exception", which another cage's thread could pick up.
_ENTRIES: dict[int, tuple[Callable[..., int | None], str, bool]] = {}
_keys = itertools.count(1)


@wt.wasmtime_func_unchecked_callback_t
def _entry(env, _caller, vals, _nvals) -> int:
    try:
        fn, params, has_result = _ENTRIES[env]
        args = [vals[i].i32 if c == "i" else vals[i].i64 for i, c in enumerate(params)]
        result = fn(*args)
        if has_result:
            vals[0].i32 = result
        return 0
    except BaseException as exc:  # noqa: BLE001 - nothing may escape a C callback
        msg = (str(exc) if isinstance(exc, _TrapOut) else f"lind wasi: {exc!r}").encode()
        trap = wt.wasmtime_trap_new(ctypes.create_string_buffer(msg), len(msg))
        return ctypes.cast(trap, ctypes.c_void_p).value or 0


# No finalizer from Wasmtime: it could call into a ctypes callback already torn down at
# interpreter exit. A cage's entries go when the cage does (or when exec replaces them).
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()


def _release(keys: list[int]) -> None:
    for key in keys:
        _ENTRIES.pop(key, None)
    keys.clear()


def _define(linker: wasmtime.Linker, name: str, ty: wasmtime.FuncType, params: str,
            has_result: bool, fn: Callable[..., int | None], keys: list[int]) -> None:
    key = next(_keys)
    _ENTRIES[key] = (fn, params, has_result)
    keys.append(key)
    module, field = MODULE.encode(), name.encode()
    err = wt.wasmtime_linker_define_func_unchecked(
        linker.ptr(), module, len(module), field, len(field), ty.ptr(), _entry,
        ctypes.c_void_p(key), _NO_FINALIZER)
    if err:
        _ENTRIES.pop(key, None)
        raise wasmtime.WasmtimeError._from_ptr(err)


def _nosys(*_args: int) -> int:
    return W_NOSYS


def define(linker: wasmtime.Linker, cage, module: wasmtime.Module) -> bool:
    """Define the WASI functions `module` imports in `linker`; False if it imports none.

    An import this file does not know is defined to return `nosys` when its type allows,
    so programs linked against a newer witx still start.
    """
    known = loader.shape(module)
    wanted: dict[str, object] = {}
    for mod, name, ty in known.imports:
        if mod != MODULE:
            continue
        first = wanted.setdefault(name, ty)     # a name imported twice is defined once
        if first is not ty and _type_text(first) != _type_text(ty):
            raise ProgramError(f"imports {MODULE}.{name} twice, with different types")
    if not wanted:
        return False
    memory = known.exported_memory
    if memory is not None:
        limits = memory.limits
        if limits.max is not None and limits.max <= limits.min:
            raise ProgramError("its memory cannot grow, so WASI has no room for its "
                               "scratch page")
    old = _instances.get(cage)
    if old is not None:          # exec: the previous program's imports are dead
        _release(old.keys)
    wasi = Preview1(cage)
    _instances[cage] = wasi
    weakref.finalize(cage, _release, wasi.keys)
    for name, ty in wanted.items():
        if not isinstance(ty, wasmtime.FuncType):
            raise ProgramError(f"imports {MODULE}.{name}, which is not a function")
        params, results = _shape(ty)
        expected = SIGNATURES.get(name)
        if expected is None:
            if results != "i" or "?" in params:
                raise ProgramError(f"imports {MODULE}.{name}, which Lind does not provide")
            _define(linker, name, ty, params, True, _nosys, wasi.keys)
        elif (params, results) != expected:
            raise ProgramError(f"imports {MODULE}.{name} with the wrong type")
        else:
            _define(linker, name, _FUNCTYPES[name], params, bool(results),
                    wasi.bind(getattr(wasi, name)), wasi.keys)
    return True


def setup(cage) -> None:
    """After instantiation: reserve the scratch page and open the preopen "/" as fd 3."""
    wasi = _instances.get(cage)
    if wasi is None:
        return
    memory = cage.instance.exports(cage.store)["memory"]
    try:
        pages = memory.grow(cage.store, 1)
    except wasmtime.WasmtimeError as err:
        raise ProgramError("cannot reserve WASI's scratch page: the memory cannot grow") from err
    wasi.scratch = pages * PAGE
    cage.mem.write(wasi.scratch + S_ROOT, b"/\0")
    fd = cage.slot.call(NR_OPENAT, abi.AT_FDCWD, wasi.scratch + S_ROOT,
                        abi.O_RDONLY | abi.O_DIRECTORY | abi.O_CLOEXEC, 0)
    if fd < 0:
        raise ProgramError(f"cannot open the cage's root for WASI: errno {-fd}")
    if fd != 3:
        moved = cage.slot.call(NR_DUP2, fd, 3)
        cage.slot.call(NR_CLOSE, fd)
        if moved < 0:
            raise ProgramError(f"cannot place the WASI preopen at fd 3: errno {-moved}")
    wasi.preopens[3] = b"/"
