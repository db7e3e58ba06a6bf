"""File locks: fcntl record locks (POSIX and open-file-description), flock, and so lockf.

All cages live in one host process, so the kernel's own POSIX locks (owned by a
process) cannot tell two cages apart. The microvisor therefore keeps the lock table
itself, with Linux's semantics, keyed by the file: `(st_dev, st_ino)` of the host file
(a microvisor pipe: the pipe). The table alone decides between cages — who owns what,
F_GETLK's pid, F_SETLKW's wake-ups, EDEADLK — and is the only record for files with no
host side.

Host processes see cage locks, and cages see theirs, through a mirror: every lock a
cage holds on a host regular file or directory is also held on the host, as an OFD
lock (or a flock), on a host description that stands for exactly the cage's owner:

- a cage's POSIX locks on a file: a description the microvisor opens for (cage, file)
  by reopening the cage's fd through /proc/self/fd. OFD locks of one description merge
  and split like one process's POSIX locks, so the host holds the same ranges as the
  table; closing it drops them all, as the cage's close or exit does.
- a description's OFD locks and its flock: that OpenFile's own host fd, which dup and
  fork share and which closes with the last reference, as Linux's description does.

So a native process's F_GETLK names a cage's POSIX lock with pid -1 (an OFD lock's),
while a cage's names a native process's with its host pid. The Lind process itself
must take no POSIX lock on a file its cages use: closing one of the many host fds
the microvisor holds on it would drop such a lock (POSIX's close rule).

A request is granted when the table has no conflict and the host call on the mirror
succeeds (a refusal there can only be a host process's lock: cage mirrors agree with
the table). Waiting for a cage's lock sleeps until the table changes; waiting for a host
process's lock looks again every HOST_POLL seconds, since the host says nothing when it
goes. Both waits end early for a caught signal (EINTR, or a restart under SA_RESTART)
and for a kill. One file holds at most MAX_RANGES fcntl locks (then ENOLCK), so a cage
cannot make the table, or the time spent searching it, grow without bound; and the
ranges of all files count against the share of the tree that took them
(limits.lock_ranges, ENOLCK), the first tree to lock for an owner paying for all its
ranges until it holds none.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import threading
from collections.abc import Hashable
from dataclasses import dataclass

from lind import threei
from lind.microvisor import abi, limits
from lind.microvisor.abi import s32, u32
from lind.microvisor.fdtable import OpenFile
from lind.microvisor.fs import proc_path
from lind.microvisor.lock_ranges import (
    DEADLOCK_STEPS,
    F_OFD_GETLK,
    F_OFD_SETLK,
    F_OFD_SETLKW,
    F_RDLCK,
    F_UNLCK,
    F_WRLCK,
    FLOCK,
    LOCK_EX,
    LOCK_NB,
    LOCK_SH,
    LOCK_UN,
    OFFSET_MAX,
    FileLocks,
    Range,
    applied,
    conflict,
    reported,
    request,
)

HOST_POLL = 0.02
_HOST_FLOCK = struct.Struct("@hhqqi4x")      # the host's
_HOST_TYPE = {F_RDLCK: fcntl.F_RDLCK, F_WRLCK: fcntl.F_WRLCK, F_UNLCK: fcntl.F_UNLCK}
_GUEST_TYPE = {host: guest for guest, host in _HOST_TYPE.items()}
_HOST_FLOCK_OP = {LOCK_SH: fcntl.LOCK_SH, LOCK_EX: fcntl.LOCK_EX}


@dataclass(eq=False)
class _File(FileLocks):
    """The locks on one file (lock_ranges), and whether it is a host file the locks are
    mirrored onto."""

    host: bool = False


@dataclass(eq=False)
class _Mirror:
    """The host description holding one cage's POSIX locks on one file."""

    fd: int
    readable: bool
    writable: bool
    fd_share: object = None    # the cage's tree's host fds (limits)


_cond = threading.Condition(threading.Lock())    # guards everything below
_files: dict[Hashable, _File] = {}
_held: dict[object, dict[Hashable, _Mirror | None]] = {}   # cage -> files it POSIX-locks
_waiting: dict[object, tuple[Hashable, Range]] = {}      # cage -> its blocked request
_payers: dict[object, list] = {}   # owner -> [the tree its ranges count for, how many]


# ------------------------------------------------------------------ the table

def _file(key: Hashable, host: bool) -> _File:
    found = _files.get(key)
    if found is None:
        found = _files[key] = _File(host=host)
    return found


def _count(owner: object, more: int, tree: object = None) -> None:
    """`owner` holds `more` ranges more (fewer, if negative), counted for the tree that
    first locked for it (`tree`); ENOLCK past that tree's share."""
    entry = _payers.get(owner)
    if more > 0:
        payer = entry[0] if entry is not None else tree
        limits.lock_ranges.take(payer, more)
        if entry is None:
            entry = _payers[owner] = [payer, 0]
        entry[1] += more
    elif more < 0 and entry is not None:
        limits.lock_ranges.give(entry[0], -more)
        entry[1] += more
        if entry[1] <= 0:
            del _payers[owner]


def _set(file: _File, owner: object, ranges: list[Range]) -> None:
    """Set `owner`'s ranges in `file` to `ranges`, no more than it had (a description or
    a cage letting go of all): what it held fewer is given back to its tree."""
    _count(owner, len(ranges) - len(file.owned(owner)))
    file.set(owner, ranges)


def _tidy(key: Hashable) -> None:
    found = _files.get(key)
    if found is not None and not found.locks and not found.flocks:
        del _files[key]


def _deadlock(cage, holder: object) -> bool:
    """Would `cage` waiting on `holder` close a cycle of POSIX owners each waiting for
    the next (Linux follows such a chain a few steps)?"""
    for _ in range(DEADLOCK_STEPS):
        if holder is cage:
            return True
        waits = _waiting.get(holder)
        if waits is None:
            return False
        key, want = waits
        file = _files.get(key)
        blocker = file and conflict(file, holder, want.type, want.start, want.end)
        if blocker is None or isinstance(blocker.owner, OpenFile):
            return False
        holder = blocker.owner
    return False


# ------------------------------------------------------------------ the host mirror

def _host_len(start: int, end: int) -> int:
    return 0 if end == OFFSET_MAX else end - start + 1


def _host_setlk(fd: int, type_: int, start: int, end: int) -> bool:
    """Set an OFD lock on host description `fd`; False if a host process holds a
    conflicting one."""
    arg = _HOST_FLOCK.pack(_HOST_TYPE[type_], os.SEEK_SET, start, _host_len(start, end), 0)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, arg)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _host_getlk(fd: int, type_: int, start: int, end: int) -> tuple[int, int, int, int] | None:
    """The host lock (type, start, end, pid) that would block this one on `fd`, if any."""
    arg = _HOST_FLOCK.pack(_HOST_TYPE[type_], os.SEEK_SET, start, _host_len(start, end), 0)
    htype, _, hstart, hlen, hpid = _HOST_FLOCK.unpack(fcntl.fcntl(fd, fcntl.F_OFD_GETLK, arg))
    if htype == fcntl.F_UNLCK:
        return None
    return _GUEST_TYPE[htype], hstart, OFFSET_MAX if hlen == 0 else hstart + hlen - 1, hpid


def _reopen(cage, f: OpenFile, old: _Mirror | None) -> _Mirror:
    """A new host description of `f`'s file with the access `f` has and `old` had:
    never more than the cage was given (Lind runs as root: a read-write open of a file
    the cage may only read, on a read-only mount say, made the host's exec of it
    ETXTBSY and told inotify watchers it had been written). Made as Lind: the cage holds
    that access through its fds whatever the file's mode says by now (a file made 0444 by
    an open for writing, or opened before a setuid), which the checks of a cage's host
    thread would look at (threei)."""
    readable = f.readable or (old is not None and old.readable)
    writable = f.writable or (old is not None and old.writable)
    access = os.O_RDWR if readable and writable else os.O_WRONLY if writable else os.O_RDONLY
    share = getattr(cage, "fd_share", None)
    limits.host_fds.take(share=share)
    try:
        with threei.as_lind():
            fd = os.open(proc_path(f.host_fd), access | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        limits.host_fds.give(share=share)
        raise
    return _Mirror(fd, readable, writable, share)


def _close_mirror(mirror: _Mirror | None) -> None:
    if mirror is not None:
        os.close(mirror.fd)
        limits.host_fds.give(share=mirror.fd_share)


def _posix_mirror(cage, key: Hashable, f: OpenFile, write: bool | None) -> _Mirror:
    """The host description holding `cage`'s POSIX locks on the file, opened through `f`
    on first use. `write` is the access a lock needs (None: any, for F_GETLK); when the
    description lacks it (it has the access of the fds it was opened through), it is
    reopened with both and its locks move over: read locks are taken beside the old ones
    before it closes; write locks cannot be held twice, so a host process could slip in
    between (rare: write locks through a write-only fd, then a read lock through
    another fd of the file)."""
    mirror = _held.get(cage, {}).get(key)
    if mirror is not None and (write is None or (mirror.writable if write else mirror.readable)):
        return mirror
    new = _reopen(cage, f, mirror)
    files = _held_by(cage)
    if mirror is not None:
        if not mirror.readable:
            _close_mirror(mirror)
        for r in _files[key].owned(cage):
            _host_setlk(new.fd, r.type, r.start, r.end)
        if mirror.readable:
            _close_mirror(mirror)
    files[key] = new
    return new


def _drop_posix(cage, key: Hashable) -> None:
    """`cage` holds no POSIX lock on the file any more: close its mirror."""
    files = _held.get(cage)
    if files is not None and key in files:
        _close_mirror(files.pop(key))
        if not files:
            del _held[cage]


def _watch(f: OpenFile, key: Hashable) -> None:
    """Drop the description's OFD locks and flock when its last reference goes."""
    if not f.locks_watched:
        f.locks_watched = True
        f.when_last_closed(lambda: _description_gone(f, key))


def _description_gone(f: OpenFile, key: Hashable) -> None:
    with _cond:
        file = _files.get(key)
        if file is not None:
            _set(file, f, [])
            file.flocks.pop(f, None)
            _tidy(key)
            _cond.notify_all()


def _held_by(cage) -> dict:
    """The cage's entry in _held, made at its first POSIX lock: from then on the
    trampoline leaves every close of the cage to the microvisor (fd_closed)."""
    if cage not in _held:
        cage.slot.note_posix_locks()
    return _held.setdefault(cage, {})


def fd_closed(cage, f: OpenFile) -> None:
    """A cage closes an fd (close, dup2 over it, exec, exit): as on Linux, all its POSIX
    locks on that file go, whichever fd took them (not for an O_PATH fd)."""
    if cage not in _held or f.flags & abi.O_PATH:
        return
    key, _ = f.lock_key()
    with _cond:
        if key not in _held.get(cage, ()):
            return
        file = _files[key]
        _set(file, cage, [])
        _drop_posix(cage, key)
        _tidy(key)
        _cond.notify_all()


# ------------------------------------------------------------------ fcntl

def _seen_pid(cage, owner: object) -> int:
    """l_pid of a cage lock: its cage's pid, 0 for a cage of another runtime (outside
    this one's pid space, as Linux reports a pid from another namespace), -1 for OFD."""
    if isinstance(owner, OpenFile):
        return -1
    return owner.id if owner.runtime is cage.runtime else 0


def _getlk(cage, f: OpenFile, owner: object, key: Hashable, host: bool, raw: bytes,
           type_: int, start: int, end: int) -> bytes:
    with _cond:
        file = _file(key, host)
        try:
            found = conflict(file, owner, type_, start, end)
            if found is not None:
                seen = found.type, found.start, found.end, _seen_pid(cage, found.owner)
            elif not host:
                seen = None
            elif owner is cage:
                mirror = _posix_mirror(cage, key, f, None)
                try:
                    seen = _host_getlk(mirror.fd, type_, start, end)
                finally:
                    if not file.owned(cage):
                        _drop_posix(cage, key)
            else:
                seen = _host_getlk(f.host_fd, type_, start, end)
        finally:
            _tidy(key)
    if seen is None:
        return reported(None, raw, 0)
    t, s, e, pid = seen
    return reported(Range(None, t, s, e), raw, pid)


def _setlk(cage, f: OpenFile, owner: object, key: Hashable, host: bool, type_: int,
           start: int, end: int, wait: bool) -> int:
    posix = owner is cage
    with _cond:
        try:
            while True:
                file = _file(key, host)
                if type_ == F_UNLCK and not file.owned(owner):
                    return 0
                blocker = conflict(file, owner, type_, start, end)
                if blocker is None:
                    ranges = applied(file, owner, type_, start, end)
                    more = len(ranges) - len(file.owned(owner))
                    _count(owner, more, limits.tree_of(cage))            # ENOLCK
                    if host:
                        need = None if type_ == F_UNLCK else type_ == F_WRLCK
                        try:
                            fd = _posix_mirror(cage, key, f, need).fd if posix else f.host_fd
                            granted = _host_setlk(fd, type_, start, end)
                        except OSError:
                            _count(owner, -more)
                            raise
                        if not granted:
                            _count(owner, -more)
                            blocker = "host"
                if blocker is None:
                    file.set(owner, ranges)
                    if not posix:
                        _watch(f, key)
                    elif not file.owned(cage):
                        _drop_posix(cage, key)
                    elif not host:
                        _held_by(cage)[key] = None
                    _cond.notify_all()
                    return 0
                if posix and host and not file.owned(cage):
                    _drop_posix(cage, key)
                if not wait:
                    raise abi.error(errno.EAGAIN)
                if posix and isinstance(blocker, Range) and _deadlock(cage, blocker.owner):
                    raise abi.error(errno.EDEADLK)
                if posix:
                    _waiting[cage] = (key, Range(cage, type_, start, end))
                try:
                    cage.block_on(_cond, HOST_POLL if blocker == "host" else None)
                finally:
                    _waiting.pop(cage, None)
        finally:
            _tidy(key)


def fcntl_lock(cage, f: OpenFile, cmd: int, arg: int) -> int:
    """fcntl's F_GETLK/F_SETLK/F_SETLKW and their F_OFD_ forms on the open file `f`."""
    if f.flags & abi.O_PATH:
        raise abi.error(errno.EBADF)
    raw = cage.mem.read(u32(arg), FLOCK.size)
    access = f.flags & abi.O_ACCMODE
    whence = struct.unpack_from("<h", raw, 2)[0]
    position = f.position() if whence == abi.SEEK_CUR else 0
    size = f.stat().st_size if whence == abi.SEEK_END else 0
    type_, start, end = request(raw, cmd, access != abi.O_WRONLY, access != abi.O_RDONLY,
                                position, size)
    ofd = cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
    getlk = cmd in (abi.F_GETLK, F_OFD_GETLK)
    key, host = f.lock_key()
    owner = f if ofd else cage
    if getlk:
        cage.mem.write(u32(arg), _getlk(cage, f, owner, key, host, raw, type_, start, end))
        return 0
    return _setlk(cage, f, owner, key, host, type_, start, end,
                  cmd in (abi.F_SETLKW, F_OFD_SETLKW))


# ------------------------------------------------------------------ flock

def _host_flock(f: OpenFile, type_: int) -> bool:
    try:
        fcntl.flock(f.host_fd, _HOST_FLOCK_OP[type_] | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def sys_flock(cage, fd, operation, *_):
    """flock(2): one lock per open file description, shared or exclusive, on the whole
    file. Changing its kind is not atomic (Linux drops the old one first)."""
    f = cage.fds.get(s32(fd))
    op = u32(operation)
    kind = op & ~LOCK_NB
    if f.flags & abi.O_PATH:
        raise abi.error(errno.EBADF)
    if kind not in (LOCK_SH, LOCK_EX, LOCK_UN):
        raise abi.error(errno.EINVAL)
    key, host = f.lock_key()
    with _cond:
        try:
            file = _file(key, host)
            old = file.flocks.pop(f, None)
            if old == kind:
                file.flocks[f] = old
                return 0
            if old is not None:
                if host:
                    fcntl.flock(f.host_fd, fcntl.LOCK_UN)
                _cond.notify_all()
            while kind != LOCK_UN:
                file = _file(key, host)
                blocker = next((g for g, t in file.flocks.items() if LOCK_EX in (t, kind)), None)
                if blocker is None and host and not _host_flock(f, kind):
                    blocker = "host"
                if blocker is None:
                    file.flocks[f] = kind
                    _watch(f, key)
                    return 0
                if op & LOCK_NB:
                    raise abi.error(errno.EWOULDBLOCK)
                cage.block_on(_cond, HOST_POLL if blocker == "host" else None)
            return 0
        finally:
            _tidy(key)
