"""The guest ABI: Linux x86_64 constants and the byte layouts the microvisor writes.

Cages are wasm32 programs built against Linux x86_64 numbers; the host may differ
(flag values on aarch64, for instance), so every constant that crosses the boundary
is translated here, never taken from `os` directly.
"""

from __future__ import annotations

import errno
import os
import struct
import sys
import time


def error(code: int) -> OSError:
    """The OSError a handler raises to fail its call with `code` (-code to the cage)."""
    return OSError(code, os.strerror(code))


_AT_NO_AUTOMOUNT, _AT_STATX_SYNC_TYPE, _STATX_RESERVED = 0x800, 0x6000, 0x80000000


def check_stat_flags(flags: int) -> None:
    """fstatat's EINVAL, before any path is looked at: a flag Linux's vfs_statx does not
    take (every back end's newfstatat and statx ask this first)."""
    if flags & ~(AT_SYMLINK_NOFOLLOW | _AT_NO_AUTOMOUNT | AT_EMPTY_PATH | _AT_STATX_SYNC_TYPE):
        raise error(errno.EINVAL)


def check_statx_args(flags: int, mask: int) -> None:
    """statx's EINVAL, before any path is looked at: an unknown flag, both sync types,
    the reserved mask bit (every back end's statx asks this first)."""
    check_stat_flags(flags)
    if flags & _AT_STATX_SYNC_TYPE == _AT_STATX_SYNC_TYPE or mask & _STATX_RESERVED:
        raise error(errno.EINVAL)


# Kernel-internal errno: "this call will be made again" (a grate sees it on fork's
# first pass, before the cage's stack is rewound and the call repeated).
ERESTARTNOINTR = 513

# Linux's errno numbers by name, 1 to 133 in order ("-": none), for hosts whose own
# numbers differ (Pyodide's are WASI's): what a cage is told is always Linux's.
_LINUX_ERRNO_TEXT = """
    EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES
    EFAULT ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY
    ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLOCK ENAMETOOLONG
    ENOLCK ENOSYS ENOTEMPTY ELOOP - ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG
    EUNATCH ENOCSI EL2HLT EBADE EBADR EXFULL ENOANO EBADRQC EBADSLT - EBFONT ENOSTR ENODATA
    ETIME ENOSR ENONET ENOPKG EREMOTE ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT
    EBADMSG EOVERFLOW ENOTUNIQ EBADFD EREMCHG ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC
    EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT
    EPROTONOSUPPORT ESOCKTNOSUPPORT ENOTSUP EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE
    EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET ECONNABORTED ECONNRESET ENOBUFS EISCONN
    ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY
    EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL EISNAM EREMOTEIO EDQUOT ENOMEDIUM
    EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED EOWNERDEAD
    ENOTRECOVERABLE ERFKILL -
"""
_LINUX_ERRNO_NAMES = _LINUX_ERRNO_TEXT.split()
LINUX_ERRNO = {name: number for number, name in enumerate(_LINUX_ERRNO_NAMES, 1) if name != "-"}
LINUX_ERRNO_NAME = {number: name for name, number in LINUX_ERRNO.items()} | {35: "EDEADLK"}
LINUX_ERRNO.update(EDEADLK=35, EWOULDBLOCK=11, EOPNOTSUPP=95)


def linux_errno(code: int) -> int:
    """The host's errno `code` as Linux numbers it (the same number on Linux)."""
    if sys.platform == "linux":
        return code
    return LINUX_ERRNO.get(errno.errorcode.get(code, ""), code)


# open(2) flags as the guest passes them (x86_64 / asm-generic values).
O_ACCMODE = 0o3
O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DSYNC = 0o10000
O_DIRECT = 0o40000
O_LARGEFILE = 0o100000
O_DIRECTORY = 0o200000
O_NOFOLLOW = 0o400000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
O_SYNC = 0o4010000
O_PATH = 0o10000000
O_TMPFILE = 0o20200000

_OPEN_FLAG_MAP = [
    (O_CREAT, os.O_CREAT), (O_EXCL, os.O_EXCL), (O_NOCTTY, os.O_NOCTTY), (O_TRUNC, os.O_TRUNC),
    (O_APPEND, os.O_APPEND), (O_NONBLOCK, os.O_NONBLOCK), (O_DSYNC, os.O_DSYNC),
    (O_DIRECTORY, os.O_DIRECTORY), (O_NOFOLLOW, os.O_NOFOLLOW), (O_SYNC, os.O_SYNC),
]

# Status flags F_GETFL reports and F_SETFL may change.
SETFL_MASK = O_APPEND | O_NONBLOCK


def host_open_flags(guest: int) -> int:
    """Guest open flags -> host flags; O_CLOEXEC is always set on the host side."""
    host = guest & O_ACCMODE
    for g, h in _OPEN_FLAG_MAP:
        if guest & g == g:
            host |= h
    return host | os.O_CLOEXEC


AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_EACCESS = 0x200
AT_EMPTY_PATH = 0x1000

F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_DUPFD_CLOEXEC = 1030
F_ADD_SEALS, F_GET_SEALS = 1033, 1034
F_SEAL_WRITE, F_SEAL_FUTURE_WRITE = 0x8, 0x10
F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032
FD_CLOEXEC = 1

SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE = 0, 1, 2, 3, 4

POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20

PATH_MAX = 4096
IOV_MAX = 1024
MAX_RW_COUNT = 0x7FFFF000    # the most one read or write moves on Linux

# File type bits of st_mode, and getdents64 d_type values.
S_IFMT = 0o170000
DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12


def d_type(mode: int) -> int:
    return (mode & S_IFMT) >> 12


S_ISUID, S_ISGID = 0o4000, 0o2000


def host_permissions(mode: int, directory: bool) -> int:
    """The permission bits a cage may give a host file: never set-user-ID, and
    set-group-ID only on a directory (where it only hands its group to new entries).
    Lind may run as root: a set-ID program written by a cage would run as root for
    anyone on the host who can reach it."""
    return mode & (0o3777 if directory else 0o1777)


# struct stat as the x86_64 kernel lays it out (144 bytes).
_STAT = struct.Struct("<QQQIIIxxxxQqqqqqqqqq24x")
STAT_SIZE = _STAT.size


OVERFLOW_ID = 65534   # "nobody": how a user namespace shows an owner it does not map


def host_ids() -> tuple[int, int]:
    """The (euid, egid) Lind runs as; (0, 0) where the host has none (Pyodide)."""
    if not hasattr(os, "geteuid"):
        return 0, 0
    return os.geteuid(), os.getegid()


def seen_owner(st: os.stat_result, ids: tuple[int, int, int, int]) -> tuple[int, int]:
    """The (uid, gid) owning `st` as a cage whose ids are `ids` (uid, euid, gid, egid)
    sees them. As in a user namespace, the host user Lind runs as is the cage's own
    user and every other owner (root included) is nobody: host identities do not leak."""
    euid, egid = host_ids()
    return (ids[1] if st.st_uid == euid else OVERFLOW_ID,
            ids[3] if st.st_gid == egid else OVERFLOW_ID)


def pack_stat(st: os.stat_result, ids: tuple[int, int, int, int]) -> bytes:
    """`st` as the cage whose ids are `ids` sees it (owners mapped by seen_owner)."""
    uid, gid = seen_owner(st, ids)
    return _STAT.pack(
        st.st_dev, st.st_ino, st.st_nlink, st.st_mode, uid, gid, st.st_rdev,
        st.st_size, st.st_blksize, st.st_blocks,
        int(st.st_atime_ns // 10**9), int(st.st_atime_ns % 10**9),
        int(st.st_mtime_ns // 10**9), int(st.st_mtime_ns % 10**9),
        int(st.st_ctime_ns // 10**9), int(st.st_ctime_ns % 10**9),
    )


_STATX_BASIC_STATS = 0x7FF       # all but the birth time, which the host's stat lacks
# struct statx: mask, blksize, attributes, nlink, uid, gid, mode, ino, size, blocks,
# attributes_mask, four timestamps (atime, btime, ctime, mtime), rdev and dev numbers.
_STATX = struct.Struct("<IIQIIIH2xQQQQ" + "qIi" * 4 + "IIII112x")


def pack_statx(st: os.stat_result, ids: tuple[int, int, int, int]) -> bytes:
    """struct statx of `st`, owners as the cage whose ids are `ids` sees them."""
    uid, gid = seen_owner(st, ids)

    def ts(ns: int) -> tuple[int, int, int]:
        return ns // 10**9, ns % 10**9, 0

    return _STATX.pack(
        _STATX_BASIC_STATS, st.st_blksize, 0, st.st_nlink, uid, gid, st.st_mode & 0xFFFF,
        st.st_ino, st.st_size, st.st_blocks, 0, *ts(st.st_atime_ns), 0, 0, 0,
        *ts(st.st_ctime_ns), *ts(st.st_mtime_ns), os.major(st.st_rdev), os.minor(st.st_rdev),
        os.major(st.st_dev), os.minor(st.st_dev))


_TIMESPEC = struct.Struct("<qq")
TIMESPEC_SIZE = _TIMESPEC.size


def pack_timespec(ns: int) -> bytes:
    return _TIMESPEC.pack(ns // 10**9, ns % 10**9)


def unpack_timespec(raw: bytes) -> tuple[int, int]:
    return _TIMESPEC.unpack(raw)


def hilo(lo: int, hi: int) -> int:
    """preadv's offset, split in two longs by a 32-bit libc (x86_64's passes it whole in
    `lo` and its top half again in `hi`: the same value either way)."""
    return (lo & 0xFFFFFFFF) | (s32(hi) << 32)


def explicit_offset(lo: int, hi: int) -> int:
    """preadv/pwritev's offset: -1 means "the file position" only to their *v2 forms."""
    offset = hilo(lo, hi)
    if offset < 0:
        raise error(errno.EINVAL)
    return offset


UTIME_NOW, UTIME_OMIT = 0x3FFFFFFF, 0x3FFFFFFE
OLD_TIMES_SIZE = 32          # utimes' two timevals (utime's utimbuf is the first half)


def utimens_times(raw: bytes | None, atime_ns: int, mtime_ns: int) -> tuple[int, int]:
    """utimensat's two timespecs (`raw`; None: now) as (atime, mtime) in ns, given a
    file's current ones for UTIME_OMIT; UTIME_NOW is now, other nsec past 10^9 EINVAL."""
    now = time.time_ns()
    if raw is None:
        return now, now
    out = []
    for i, current in ((0, atime_ns), (1, mtime_ns)):
        sec, nsec = unpack_timespec(raw[i * TIMESPEC_SIZE:(i + 1) * TIMESPEC_SIZE])
        if nsec == UTIME_NOW:
            out.append(now)
        elif nsec == UTIME_OMIT:
            out.append(current)
        elif 0 <= nsec < 10**9:
            out.append(sec * 10**9 + nsec)
        else:
            raise error(errno.EINVAL)
    return out[0], out[1]


def old_times(raw: bytes, usec: bool) -> tuple[int, int]:
    """utime's utimbuf (seconds: `raw`'s first 16 bytes) or utimes' timeval pair
    (`usec`, each below 10^6 or EINVAL), as (atime, mtime) in ns."""
    if not usec:
        atime, mtime = struct.unpack_from("<qq", raw)
        return atime * 10**9, mtime * 10**9
    out = []
    for sec, us in struct.iter_unpack("<qq", raw[:OLD_TIMES_SIZE]):
        if not 0 <= us < 10**6:
            raise error(errno.EINVAL)
        out.append(sec * 10**9 + us * 1000)
    return out[0], out[1]


# struct statfs of the wasm32 guest (32-bit longs, 64-bit block counts): 88 bytes.
STATFS = struct.Struct("<IIQQQQQiiIII16x4x")
ST_VALID = 0x20
PROC_MAGIC, TMPFS_MAGIC = 0x9FA0, 0x01021994


# The /etc files the microvisor makes for every cage whose root holds none of that name
# (microvisor/virtual.py); the portable back end passes them down when its tree has none.
ETC_FILES = ("group", "hosts", "nsswitch.conf", "passwd", "protocols", "resolv.conf", "services")


def virtual_statfs(path: str) -> bytes:
    """statfs(2) of the files Lind serves itself: procfs under /proc, else a tmpfs
    (/dev)."""
    magic = PROC_MAGIC if path == "/proc" or path.startswith("/proc/") else TMPFS_MAGIC
    return STATFS.pack(magic, 4096, 0, 0, 0, 0, 0, 0, 0, 255, 4096, ST_VALID)


def tmpfs_statfs(size: int, free: int) -> bytes:
    """statfs(2) of a file system in memory of `size` bytes, `free` of them unused."""
    return STATFS.pack(TMPFS_MAGIC, 4096, size // 4096, free // 4096, free // 4096,
                       0, 0, 0, 0, 255, 4096, ST_VALID)


_DIRENT_HEAD = struct.Struct("<QqHB")
#: a linux_dirent64's d_off, 8 bytes in: where the next record is (its index, here)
DIRENT_OFFSET = struct.Struct("<q")


def pack_dirent64(ino: int, offset: int, dtype: int, name: bytes) -> bytes:
    """One linux_dirent64 record, padded to 8 bytes (inode 0 given as 1: programs
    take a d_ino of 0 for an empty slot)."""
    reclen = (_DIRENT_HEAD.size + len(name) + 1 + 7) & ~7
    head = _DIRENT_HEAD.pack(ino or 1, offset, reclen, dtype)
    return head + name + b"\0" * (reclen - _DIRENT_HEAD.size - len(name))


# struct iovec of a wasm32 guest: two 32-bit words.
IOVEC = struct.Struct("<II")

# Wait status encodings, as in <sys/wait.h>.


def exit_status(code: int) -> int:
    return (code & 0xFF) << 8


def signal_status(signo: int) -> int:
    return signo & 0x7F


# mmap's flags.
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_FIXED_NOREPLACE = 0x100000
MAP_TYPE, MAP_SHARED_VALIDATE = 0x0F, 0x03
MAP_GROWSDOWN, MAP_SYNC = 0x100, 0x80000
# The flags x86_64 Linux knows (its LEGACY_MAP_MASK, with MAP_32BIT 0x40 and MAP_ABOVE4G
# 0x80, which a 4 GiB cage meets by itself): MAP_SHARED_VALIDATE refuses any other bit,
# MAP_FIXED_NOREPLACE included.
KNOWN_MAP_FLAGS = (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | 0x40 | 0x80
                   | MAP_GROWSDOWN | 0x800 | 0x1000 | 0x4000000 | 0x2000 | 0x4000 | 0x8000
                   | 0x10000 | 0x20000 | 0x40000)

PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39


def no_new_privs(option: int, args: tuple[int, int, int, int], now: bool) -> tuple[bool, int]:
    """prctl's no_new_privs (`option` one of the two above, `args` arg2..arg5): the flag
    after the call and the call's result; EINVAL for arguments Linux refuses (set: arg2
    1 and the rest 0; get: all 0). Once set it stays set."""
    if option == PR_SET_NO_NEW_PRIVS:
        if args != (1, 0, 0, 0):
            raise error(errno.EINVAL)
        return True, 0
    if any(args):
        raise error(errno.EINVAL)
    return now, int(now)


SA_SIGINFO = 4
SIGCHLD, SI_KERNEL = 17, 0x80
# The head of a siginfo as Lind packs it (wasm32): signo, errno, code, pid, uid, and the
# child's status or a queued signal's value.
SIGINFO_HEAD = struct.Struct("<iiiiIi")
SIGNALFD_SIGINFO = struct.Struct("<IiiIIiIIIIiiQQQQH46x")   # struct signalfd_siginfo


def signalfd_siginfo(info: bytes) -> bytes:
    """A pending signal's siginfo as a signalfd reads it, its fields by the layout Linux
    gives its code: a child's status, a queued signal's value (sigqueue, tkill)."""
    signo, err, code, pid, uid, word = SIGINFO_HEAD.unpack_from(info)
    status = value = 0
    if signo == SIGCHLD and 0 < code < SI_KERNEL:
        status = word
    elif code < 0:
        value = word
    return SIGNALFD_SIGINFO.pack(signo, err, code, u32(pid), uid, 0, 0, 0, 0, 0, status, value,
                                 u32(value), 0, 0, 0, 0)


def handler_flags(flags: int, arity: int | None) -> int:
    """A signal action's flags as the guest must call its handler: Linux passes three
    arguments whatever the handler's C type, but a wasm call must match the function's
    own (`arity`: its parameter count, None if unknown)."""
    if arity == 3:
        return flags | SA_SIGINFO
    if arity == 1:
        return flags & ~SA_SIGINFO
    return flags


def s32(v: int) -> int:
    """A C int argument passed in a 64-bit slot."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def u32(v: int) -> int:
    return v & 0xFFFFFFFF


# Lind-private calls of the guest libc that grates may filter like Linux's: posix_spawn's
# child, started afresh (guest src/process/posix_spawn.c), and what it fetches to start.
SPAWN, SPAWN_PLAN = 1018, 1019
# Lind-private: the (parameters << 8 | results) of a function-table entry, which guest C
# cannot ask wasm for (guest src/thread/__lind_thread_start_types.c: start routines cast).
FUNCTION_TYPE = 1017
