"""Linux's rules for fcntl record locks on one file, as plain data: which lock stands in
a request's way, what an owner holds once a request is applied (merged and split as
posix_lock_inode does), the bytes a struct flock names. The threaded microvisor
(sys_locks) and the cooperative runtime (lind.portable.locks) keep their tables with it;
an owner is whatever holds the locks (a cage or process, an open file description)."""

from __future__ import annotations

import bisect
import errno
import struct
from dataclasses import dataclass, field

from lind.microvisor import abi

F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
COMMANDS = frozenset({abi.F_GETLK, abi.F_SETLK, abi.F_SETLKW, F_OFD_GETLK, F_OFD_SETLK,
                      F_OFD_SETLKW})
LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN = 1, 2, 4, 8
OFFSET_MAX = 2**63 - 1
MAX_RANGES = 16384     # fcntl locks on one file, all owners: a cage cannot grow the table
DEADLOCK_STEPS = 10    # how far Linux follows a chain of waiting owners

FLOCK = struct.Struct("<hh4xqqi4x")          # the guest's struct flock (x86_64 layout)


@dataclass
class Range:
    """One fcntl lock: bytes start..end (inclusive) of a file, held by `owner`."""

    owner: object
    type: int
    start: int
    end: int


@dataclass(eq=False)
class FileLocks:
    """The locks on one file: each owner's fcntl locks (sorted, disjoint, so bisect finds
    the ones a range meets), their count, and each description's flock."""

    locks: dict[object, list[Range]] = field(default_factory=dict)
    count: int = 0
    flocks: dict[object, int] = field(default_factory=dict)

    def set(self, owner: object, ranges: list[Range]) -> None:
        self.count += len(ranges) - len(self.locks.get(owner, ()))
        if ranges:
            self.locks[owner] = ranges
        else:
            self.locks.pop(owner, None)

    def owned(self, owner: object) -> list[Range]:
        return self.locks.get(owner, [])


def _end(r: Range) -> int:
    return r.end


def _start(r: Range) -> int:
    return r.start


def conflict(file: FileLocks, owner: object, type_: int, start: int, end: int) -> Range | None:
    """The first lock of another owner that a lock of `type_` on start..end meets."""
    if type_ == F_UNLCK:
        return None
    for other, ranges in file.locks.items():
        if other is owner:
            continue
        i = bisect.bisect_left(ranges, start, key=_end)   # the first that ends at or after start
        while i < len(ranges) and ranges[i].start <= end:
            if F_WRLCK in (type_, ranges[i].type):
                return ranges[i]
            i += 1
    return None


def applied(file: FileLocks, owner: object, type_: int, start: int, end: int) -> list[Range]:
    """`owner`'s locks once its lock on start..end is set (or with F_UNLCK cleared): its
    ranges of the same type that touch it merge, the parts of others outside it stay
    (Linux's posix_lock_inode). ENOLCK past MAX_RANGES on the file."""
    mine = file.locks.get(owner, [])
    lo = bisect.bisect_left(mine, start - 1, key=_end)
    hi = bisect.bisect_right(mine, end + 1, key=_start)
    before, after = [], []
    for r in mine[lo:hi]:
        if r.type == type_:
            start, end = min(start, r.start), max(end, r.end)
            continue
        if r.start < start:
            before.append(Range(owner, r.type, r.start, min(r.end, start - 1)))
        if r.end > end:
            after.append(Range(owner, r.type, max(r.start, end + 1), r.end))
    new = [Range(owner, type_, start, end)] if type_ != F_UNLCK else []
    result = mine[:lo] + before + new + after + mine[hi:]
    if file.count + len(result) - len(mine) > max(MAX_RANGES, file.count):
        raise abi.error(errno.ENOLCK)
    return result


def span(whence: int, start: int, length: int, position: int, size: int) -> tuple[int, int]:
    """struct flock's l_whence/l_start/l_len as inclusive bytes (Linux's checks), for a
    description at `position` of a file of `size` bytes."""
    if whence == abi.SEEK_SET:
        base = 0
    elif whence == abi.SEEK_CUR:
        base = position
    elif whence == abi.SEEK_END:
        base = size
    else:
        raise abi.error(errno.EINVAL)
    if start > OFFSET_MAX - base:
        raise abi.error(errno.EOVERFLOW)
    start += base
    if start < 0:
        raise abi.error(errno.EINVAL)
    if length > 0:
        if length - 1 > OFFSET_MAX - start:
            raise abi.error(errno.EOVERFLOW)
        return start, start + length - 1
    if length < 0:
        end, start = start - 1, start + length
        if start < 0:
            raise abi.error(errno.EINVAL)
        return start, end
    return start, OFFSET_MAX


def reported(found: Range | None, raw: bytes, pid: int) -> bytes:
    """F_GETLK's answer: the struct flock `raw` as the lock `found` (held by `pid`) fills
    it, or with l_type F_UNLCK when none stands in the way."""
    if found is None:
        return struct.pack("<h", F_UNLCK) + raw[2:]
    length = 0 if found.end == OFFSET_MAX else found.end - found.start + 1
    return FLOCK.pack(found.type, abi.SEEK_SET, found.start, length, pid)


def request(raw: bytes, cmd: int, readable: bool, writable: bool, position: int,
            size: int) -> tuple[int, int, int]:
    """(type, start, end) of an fcntl lock command's struct flock `raw`, with Linux's
    refusals: EINVAL for a bad type or an OFD request naming a pid, EBADF for a lock the
    description's access mode does not allow."""
    type_, whence, l_start, l_len, pid = FLOCK.unpack(raw)
    getlk = cmd in (abi.F_GETLK, F_OFD_GETLK)
    if getlk and type_ not in (F_RDLCK, F_WRLCK):
        raise abi.error(errno.EINVAL)
    if type_ not in (F_RDLCK, F_WRLCK, F_UNLCK):
        raise abi.error(errno.EINVAL)
    start, end = span(whence, l_start, l_len, position, size)
    if not getlk and ((type_ == F_RDLCK and not readable) or (type_ == F_WRLCK and not writable)):
        raise abi.error(errno.EBADF)
    if cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW) and pid != 0:
        raise abi.error(errno.EINVAL)
    return type_, start, end
