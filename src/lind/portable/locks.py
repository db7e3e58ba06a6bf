"""File locks between the cages of a run on the cooperative runtime: fcntl record locks
(a process's, and F_OFD_ ones of an open file description), flock, and so lockf --
Linux's rules (lind.microvisor.lock_ranges), in one table per run keyed by what the
description is open on (a file's node, a pipe). A process's record locks go when it
closes any fd of that file or ends, not to a forked child; a description's OFD locks and
flock go with its last reference. F_SETLKW and a blocking flock wait as any call does
(set aside, with --suspendable); a wait that closes a cycle of processes each waiting
for the next is EDEADLK at once, as Linux's."""

from __future__ import annotations

import errno
from typing import Any

from lind.microvisor import abi
from lind.microvisor.lock_ranges import (
    DEADLOCK_STEPS,
    F_OFD_GETLK,
    F_OFD_SETLK,
    F_OFD_SETLKW,
    FLOCK,
    LOCK_EX,
    LOCK_NB,
    LOCK_SH,
    LOCK_UN,
    FileLocks,
    Range,
    applied,
    conflict,
    reported,
    request,
)
from lind.portable.descriptions import Description, TreeFile


class Locks:
    """A run's lock table."""

    def __init__(self) -> None:
        self.files: dict[Any, FileLocks] = {}
        self.waiting: dict[Any, tuple[Any, Range]] = {}    # process -> its blocked request

    def _file(self, key: Any) -> FileLocks:
        found = self.files.get(key)
        if found is None:
            found = self.files[key] = FileLocks()
        return found

    def _tidy(self, key: Any) -> None:
        found = self.files.get(key)
        if found is not None and not found.locks and not found.flocks:
            del self.files[key]

    def fcntl(self, proc, d: Description, cmd: int, addr: int) -> int:
        """F_GETLK, F_SETLK, F_SETLKW and their F_OFD_ forms on description `d`."""
        if d.flags & abi.O_PATH:
            raise OSError(errno.EBADF, "Bad file descriptor")
        raw = proc.read(addr, FLOCK.size)
        position = d.pos if isinstance(d, TreeFile) else 0
        type_, start, end = request(raw, cmd, d.readable, d.writable, position,
                                    d.stat().st_size)
        ofd = cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
        owner = d if ofd else proc
        key = d.lock_key()
        if cmd in (abi.F_GETLK, F_OFD_GETLK):
            found = conflict(self._file(key), owner, type_, start, end)
            self._tidy(key)
            pid = -1 if found is None or isinstance(found.owner, Description) else found.owner.pid
            proc.write(addr, reported(found, raw, pid))
            return 0
        wait = cmd in (abi.F_SETLKW, F_OFD_SETLKW)
        blocker = conflict(self._file(key), owner, type_, start, end)
        if blocker is not None:
            self._tidy(key)
            if not wait:
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            if not ofd and self._cycle(proc, blocker.owner):
                raise OSError(errno.EDEADLK, "Resource deadlock avoided")
            if not ofd:
                self.waiting[proc] = (key, Range(proc, type_, start, end))
            try:
                proc.runtime.wait_until(
                    proc, lambda: conflict(self._file(key), owner, type_, start, end) is None,
                    "a file lock")
            finally:
                self.waiting.pop(proc, None)
                self._tidy(key)
        file = self._file(key)
        file.set(owner, applied(file, owner, type_, start, end))
        self._tidy(key)
        return 0

    def _cycle(self, proc, holder: Any) -> bool:
        """Would `proc` waiting on `holder` close a cycle of processes each waiting for
        the next (Linux follows such a chain a few steps)?"""
        for _ in range(DEADLOCK_STEPS):
            if holder is proc:
                return True
            waits = self.waiting.get(holder)
            if waits is None:
                return False
            key, want = waits
            blocker = conflict(self._file(key), holder, want.type, want.start, want.end)
            self._tidy(key)
            if blocker is None or isinstance(blocker.owner, Description):
                return False
            holder = blocker.owner
        return False

    def flock(self, proc, d: Description, operation: int) -> int:
        """flock(2): one lock per open file description on the whole file; changing its
        kind is not atomic (Linux drops the old one first)."""
        kind = operation & ~LOCK_NB
        if d.flags & abi.O_PATH:
            raise OSError(errno.EBADF, "Bad file descriptor")
        if kind not in (LOCK_SH, LOCK_EX, LOCK_UN):
            raise OSError(errno.EINVAL, "Invalid argument")
        key = d.lock_key()
        file = self._file(key)
        old = file.flocks.get(d)
        if old == kind:
            return 0

        def free() -> bool:
            held = self._file(key).flocks
            return not any(LOCK_EX in (t, kind) for g, t in held.items() if g is not d)

        if kind != LOCK_UN and not free():
            if operation & LOCK_NB:
                file.flocks.pop(d, None)
                self._tidy(key)
                raise OSError(errno.EWOULDBLOCK, "Resource temporarily unavailable")
            file.flocks.pop(d, None)          # the old lock goes before the wait
            try:
                proc.runtime.wait_until(proc, free, "a file lock")
            finally:
                self._tidy(key)
        file = self._file(key)
        file.flocks.pop(d, None)
        if kind != LOCK_UN:
            file.flocks[d] = kind
        self._tidy(key)
        return 0

    def fd_closed(self, proc, d: Description) -> None:
        """A process closed an fd: all its record locks on that file go (not for O_PATH)."""
        key = d.lock_key()
        if d.flags & abi.O_PATH or key not in self.files:
            return
        self.files[key].set(proc, [])
        self._tidy(key)

    def description_gone(self, d: Description) -> None:
        """The last reference to `d` went: its OFD locks and its flock with it."""
        key = d.lock_key()
        if key not in self.files:
            return
        self.files[key].set(d, [])
        self.files[key].flocks.pop(d, None)
        self._tidy(key)

    def process_ended(self, proc) -> None:
        self.waiting.pop(proc, None)
        for key in list(self.files):
            self.files[key].set(proc, [])
            self._tidy(key)
