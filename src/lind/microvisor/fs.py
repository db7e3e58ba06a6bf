"""A cage's view of the file system: a root directory plus mounts, never more.

Guest paths are normalised lexically (`..` stops at `/`), the longest mount prefix
picks the host directory, and the rest is opened with openat2(RESOLVE_IN_ROOT), so
the kernel itself keeps symlinks (absolute, relative, or planted while we resolve)
inside that directory. Symlinks inside a mount resolve against the mount's root.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import threading
from dataclasses import dataclass

from lind.microvisor import abi

_SYS_OPENAT2 = 437
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_IN_ROOT = 0x10
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _openat2(dirfd: int, path: bytes, flags: int, mode: int = 0) -> int:
    # openat2 refuses a mode without O_CREAT, where open(2) would ignore it.
    mode = mode if flags & os.O_CREAT else 0
    how = struct.pack("<QQQ", flags, mode, _RESOLVE_IN_ROOT | _RESOLVE_NO_MAGICLINKS)
    while True:
        fd = _libc.syscall(_SYS_OPENAT2, dirfd, path, how, len(how))
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err not in (errno.EAGAIN, errno.EINTR):  # EAGAIN: a rename raced the walk
            raise OSError(err, os.strerror(err), path.decode(errors="replace"))


@dataclass(frozen=True)
class Mount:
    guest: str          # absolute, normalised guest path ("/" for the root)
    host: str
    readonly: bool
    fd: int             # O_PATH descriptor of the host directory


def normalize(path: str) -> str:
    """Absolute guest path with `.`, `..` and repeated slashes folded; `..` of `/` is `/`."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def join(base: str, path: str) -> str:
    return normalize(path if path.startswith("/") else base + "/" + path)


class FileSystem:
    """The mounts one cage (and its descendants) sees."""

    def __init__(self, root: str, mounts: list[tuple[str, str, bool]] = (),
                 programs: dict[str, str] | None = None,
                 grates_at_exec: dict[str, list] | None = None) -> None:
        self.mounts: list[Mount] = []
        # Programs named on the command line (a grate's target): guest path -> host
        # file, runnable by exec at that path whatever the root holds.
        self.programs = dict(programs or {})
        # Python grates to attach to the cage that first execs a named program.
        self.grates_at_exec = dict(grates_at_exec or {})
        self._users = 1
        self._lock = threading.Lock()
        self._add(root, "/", False)
        for host, guest, readonly in mounts:
            self._add(host, guest, readonly)
        # Longest guest prefix first, so lookup takes the innermost mount.
        self.mounts.sort(key=lambda m: len(m.guest), reverse=True)

    def _add(self, host: str, guest: str, readonly: bool) -> None:
        host = os.path.realpath(host)
        if not os.path.isdir(host):
            raise FileNotFoundError(errno.ENOENT, "not a directory", host)
        fd = os.open(host, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.mounts.append(Mount(normalize(guest), host, readonly, fd))

    def share(self) -> FileSystem:
        """The same view for one more cage (fork); each user calls close() once."""
        with self._lock:
            self._users += 1
        return self

    def close(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users:
                return
            mounts, self.mounts = self.mounts, []
        for m in mounts:
            os.close(m.fd)

    def locate(self, guest_path: str) -> tuple[Mount, str]:
        """The mount holding an absolute normalised guest path, and the path inside it."""
        for m in self.mounts:
            if m.guest == "/" or guest_path == m.guest or guest_path.startswith(m.guest + "/"):
                rest = guest_path[len(m.guest):].lstrip("/")
                return m, rest or "."
        raise AssertionError("the root mount matches every path")

    def is_mount_point(self, guest_path: str) -> bool:
        return any(m.guest == guest_path for m in self.mounts)

    def open(self, guest_path: str, host_flags: int, mode: int = 0, *, write: bool = False) -> int:
        """Host fd for a guest path; `write` says the call may modify the file system."""
        mount, rest = self.locate(guest_path)
        if write and mount.readonly:
            raise OSError(errno.EROFS, "Read-only file system")
        return _openat2(mount.fd, rest.encode(), host_flags, mode)

    def open_parent(self, guest_path: str, *, write: bool) -> tuple[int, str]:
        """O_PATH fd of the directory holding the last component, and that component."""
        if guest_path == "/" or self.is_mount_point(guest_path):
            raise OSError(errno.EBUSY, "Device or resource busy")
        parent, name = guest_path.rsplit("/", 1)
        fd = self.open(parent or "/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, write=write)
        return fd, name

    def same_mount(self, a: str, b: str) -> bool:
        return self.locate(a)[0] is self.locate(b)[0]

    def guest_readonly(self, guest_path: str) -> bool:
        return self.locate(guest_path)[0].readonly


def proc_path(fd: int) -> str:
    """A path naming an already-resolved host fd, for calls that only take paths."""
    return f"/proc/self/fd/{fd}"


def wants_write(guest_flags: int) -> bool:
    return bool(guest_flags & abi.O_ACCMODE) or bool(guest_flags & (abi.O_TRUNC | abi.O_CREAT))
