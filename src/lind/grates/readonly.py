"""readonly: a read-only view of the file system, or of some directories of it."""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence
from typing import Any

from lind.grates import Call, Grate, handles, number
from lind.grates.paths import PATH_CALLS, encode_path, guest_dir, resolve, touched, under
from lind.microvisor import abi
from lind.microvisor.fs import read_only_open_error, wants_write

_FLAGS_ARG = {"open": 1, "openat": 2}
# Calls that make a name (the last path they take): one already there is EEXIST, and
# one in a directory that is not ENOENT, before EROFS, as on a read-only mount.
_MAKES_NAME = ("mkdir", "mkdirat", "mknod", "mknodat", "link", "linkat", "symlink",
               "symlinkat")
_AT_FDCWD, _F_OK = -100, 0


class ReadOnly(Grate):
    """Refuse every change to the file system with EROFS, like a read-only mount (a call
    making a name that is there: EEXIST first, as Linux answers).

    `--grate readonly` covers the whole tree; `readonly:/data:/etc` only those
    directories and what lies below them (paths separated by `:`). Refused: opening
    for writing or with O_TRUNC, creating (open/creat with O_CREAT of a missing file,
    mkdir, mknod, link, symlink, bind of a Unix socket's path), removing and renaming
    (unlink, rmdir, rename), and changing attributes (chmod, chown, truncate, utimes,
    extended attributes), by path or by fd. Reading, listing, running programs and
    connecting to a socket pass.

    A path is matched as the program names it (after the working directory, `.` and
    `..`), so with prefixes a symbolic link from outside them into them is not seen
    through; for a boundary that follows links use `--mount HOST:GUEST:ro`.
    """

    name = "readonly"

    def __init__(self, prefixes: Sequence[str] = ("/",)) -> None:
        self.prefixes = [guest_dir(p) for p in prefixes]
        # what serves faccessat2 beside what is below each of its name-making calls
        self._access_beside: dict[Callable[..., int], Callable[..., int]] = {}

    @classmethod
    def from_args(cls, text: str) -> ReadOnly:
        return cls([p for p in text.split(":") if p] or ["/"])

    def protected(self, path: str) -> bool:
        return any(under(path, prefix) for prefix in self.prefixes)

    def attach(self, cage: Any) -> None:
        # the look at a new name goes to the layers the call itself would reach
        access, _ = cage.slot.get(number("faccessat2"))
        for name in _MAKES_NAME:
            below, _ = cage.slot.get(number(name))
            if below is not None and access is not None:
                self._access_beside[below] = access
        super().attach(cage)

    @handles("creat")
    def create(self, call: Call) -> int:
        path = resolve(call, PATH_CALLS["creat"][0])
        return -errno.EROFS if path is not None and self.protected(path) else call.forward()

    @handles("open", "openat")
    def open_file(self, call: Call) -> int:
        path = resolve(call, PATH_CALLS[call.name][0])
        flags_at = _FLAGS_ARG[call.name]
        flags = abi.u32(call.args[flags_at])
        if path is None or not self.protected(path) or not wants_write(flags):
            return call.forward()
        args = list(call.args)
        if flags & abi.O_CREAT and flags & abi.O_EXCL:
            # As on Linux: EEXIST for any name that exists, whatever the access mode.
            args[flags_at] = abi.O_PATH | abi.O_NOFOLLOW | abi.O_CLOEXEC
        elif flags & abi.O_ACCMODE or flags & abi.O_TRUNC:
            # As Linux: the name is looked up first (ENOENT, ENOTDIR), a directory is
            # EISDIR and a link not to be followed ELOOP; only a regular file is EROFS,
            # and a FIFO, socket or device opens. O_CREAT of a missing name is EROFS
            # where its directory exists.
            args[flags_at] = abi.O_PATH | abi.O_CLOEXEC | (flags & (abi.O_NOFOLLOW | abi.O_DIRECTORY))
            fd = call.forward(*args)
            if fd == -errno.ENOENT and flags & abi.O_CREAT:
                return self._create_refused(call, path, flags_at)
            if fd < 0:
                return fd
            try:
                mode = call.cage.fds.get(fd).stat().st_mode
            finally:
                call.cage.fds.close(fd)
            err = read_only_open_error(mode)
            return -err if err else call.forward()    # a FIFO, socket or device opens
        else:   # O_CREAT for reading: an existing file opens, a missing one cannot be made.
            args[flags_at] = flags & ~abi.O_CREAT
        fd = call.forward(*args)
        if fd == -errno.ENOENT:
            return -errno.EROFS
        if fd >= 0 and flags & abi.O_EXCL:
            call.cage.fds.close(fd)
            return -errno.EEXIST
        return fd

    @staticmethod
    def _create_refused(call: Call, path: str, flags_at: int) -> int:
        """EROFS for a new name, once its directory is found (else why it is not)."""
        args = list(call.args)
        args[PATH_CALLS[call.name][0].path] = call.put(encode_path(path.rsplit("/", 1)[0] or "/"))
        args[flags_at] = abi.O_PATH | abi.O_DIRECTORY | abi.O_CLOEXEC
        fd = call.forward(*args)
        if fd < 0:
            return fd
        call.cage.fds.close(fd)
        return -errno.EROFS

    @handles("unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2",
             "mkdir", "mkdirat", "mknod", "mknodat", "link", "linkat", "symlink", "symlinkat",
             "chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "truncate",
             "utime", "utimes", "futimesat", "utimensat",
             "setxattr", "lsetxattr", "removexattr", "lremovexattr",
             "fchmod", "fchown", "ftruncate", "fallocate", "fsetxattr", "fremovexattr",
             "bind")
    def change(self, call: Call) -> int:
        if any(self.protected(path) for path in touched(call)):
            return self._new_name_refused(call) if call.name in _MAKES_NAME else -errno.EROFS
        return call.forward()

    def _new_name_refused(self, call: Call) -> int:
        """EEXIST for a name that is there (mkdir -p goes on past it), why its directory
        cannot hold it (ENOENT, ENOTDIR), else EROFS: what a read-only mount answers."""
        name = resolve(call, PATH_CALLS[call.name][-1])
        access = self._access_beside.get(call.below)
        if name is None or access is None:
            return -errno.EROFS
        def look(path: str, flags: int) -> int:
            try:
                return access(call.cage, _AT_FDCWD, call.put(encode_path(path)), _F_OK, flags,
                              0, 0)
            except OSError as exc:          # (as Call.forward: the microvisor raises)
                return -(exc.errno or errno.EIO)
        if look(name, abi.AT_SYMLINK_NOFOLLOW) == 0:
            return -errno.EEXIST
        found = look(name.rsplit("/", 1)[0] or "/", 0)
        return found if found < 0 else -errno.EROFS
