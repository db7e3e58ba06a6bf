"""Virtual file descriptors: each cage numbers its files itself.

An `OpenFile` is an open file description (offset, status flags) and may be shared
by several fds and cages (dup, fork); its host fd is closed with the last reference.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field

DEFAULT_FD_LIMIT = 1024


@dataclass(eq=False)
class OpenFile:
    host_fd: int
    flags: int                     # guest open flags (access mode + status flags)
    path: str = ""                 # guest path it was opened by, for fchdir and *at calls
    is_dir: bool = False
    refs: int = 1
    dir_entries: list[tuple[bytes, int, int]] | None = field(default=None, repr=False)
    dir_pos: int = 0

    def hold(self) -> OpenFile:
        self.refs += 1
        return self

    def release(self) -> None:
        self.refs -= 1
        if self.refs == 0:
            os.close(self.host_fd)


def ebadf() -> OSError:
    return OSError(errno.EBADF, "Bad file descriptor")


class FdTable:
    """fd -> (OpenFile, close-on-exec)."""

    def __init__(self, limit: int = DEFAULT_FD_LIMIT) -> None:
        self.limit = limit
        self._files: list[OpenFile | None] = []
        self._cloexec: list[bool] = []

    def get(self, fd: int) -> OpenFile:
        if 0 <= fd < len(self._files):
            f = self._files[fd]
            if f is not None:
                return f
        raise ebadf()

    def install(self, f: OpenFile, cloexec: bool = False, lowest: int = 0) -> int:
        """Put `f` at the lowest free fd >= lowest; takes over the caller's reference."""
        for fd in range(lowest, len(self._files)):
            if self._files[fd] is None:
                self._files[fd], self._cloexec[fd] = f, cloexec
                return fd
        fd = max(lowest, len(self._files))
        if fd >= self.limit:
            f.release()
            raise OSError(errno.EMFILE if lowest == 0 else errno.EINVAL, "Too many open files")
        self._grow(fd)
        self._files[fd], self._cloexec[fd] = f, cloexec
        return fd

    def _grow(self, fd: int) -> None:
        extra = fd + 1 - len(self._files)
        if extra > 0:
            self._files += [None] * extra
            self._cloexec += [False] * extra

    def place(self, fd: int, f: OpenFile, cloexec: bool) -> None:
        """Put `f` at exactly `fd`, closing what was there (dup2 semantics)."""
        if not 0 <= fd < self.limit:
            f.release()
            raise ebadf()
        self._grow(fd)
        old = self._files[fd]
        self._files[fd], self._cloexec[fd] = f, cloexec
        if old is not None:
            old.release()

    def close(self, fd: int) -> None:
        f = self.get(fd)
        self._files[fd] = None
        f.release()

    def cloexec(self, fd: int) -> bool:
        self.get(fd)
        return self._cloexec[fd]

    def set_cloexec(self, fd: int, value: bool) -> None:
        self.get(fd)
        self._cloexec[fd] = value

    def copy(self) -> FdTable:
        """The table a forked child starts with: same open files, shared."""
        child = FdTable(self.limit)
        child._files = [f.hold() if f else None for f in self._files]
        child._cloexec = list(self._cloexec)
        return child

    def close_on_exec(self) -> None:
        for fd, f in enumerate(self._files):
            if f is not None and self._cloexec[fd]:
                self.close(fd)

    def close_all(self) -> None:
        for fd, f in enumerate(self._files):
            if f is not None:
                self.close(fd)
