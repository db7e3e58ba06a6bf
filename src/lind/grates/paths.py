"""Which arguments of which calls name files, for the grates that act on paths.

A path is resolved the way the microvisor resolves it: lexically (`.`, `..` and
repeated slashes folded), against the cage's working directory or, for an *at call,
against the directory its dirfd was opened as. Symbolic links are not followed here;
the layer that opens the file does that.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass

from lind.grates import Call
from lind.microvisor import abi
from lind.microvisor.fs import join, normalize


@dataclass(frozen=True)
class PathArg:
    """A path argument: its index, and the index of the dirfd it is relative to (*at)."""

    path: int
    dirfd: int | None = None


_P0, _P1, _AT01 = PathArg(0), PathArg(1), PathArg(1, 0)

# Every call in Linux x86_64 that takes a file name, by name -> its path arguments.
PATH_CALLS: dict[str, tuple[PathArg, ...]] = {
    "open": (_P0,), "creat": (_P0,), "openat": (_AT01,),
    "stat": (_P0,), "lstat": (_P0,), "newfstatat": (_AT01,), "statx": (_AT01,),
    "access": (_P0,), "faccessat": (_AT01,), "faccessat2": (_AT01,),
    "readlink": (_P0,), "readlinkat": (_AT01,),
    "unlink": (_P0,), "unlinkat": (_AT01,), "rmdir": (_P0,),
    "mkdir": (_P0,), "mkdirat": (_AT01,), "mknod": (_P0,), "mknodat": (_AT01,),
    "rename": (_P0, _P1), "renameat": (_AT01, PathArg(3, 2)), "renameat2": (_AT01, PathArg(3, 2)),
    "link": (_P0, _P1), "linkat": (_AT01, PathArg(3, 2)),
    "symlink": (_P1,), "symlinkat": (PathArg(2, 1),),
    "chmod": (_P0,), "fchmodat": (_AT01,), "fchmodat2": (_AT01,),
    "chown": (_P0,), "lchown": (_P0,), "fchownat": (_AT01,),
    "truncate": (_P0,), "utime": (_P0,), "utimes": (_P0,), "futimesat": (_AT01,),
    "utimensat": (_AT01,),
    "chdir": (_P0,), "chroot": (_P0,), "execve": (_P0,), "execveat": (_AT01,),
    "statfs": (_P0,),
    "setxattr": (_P0,), "lsetxattr": (_P0,), "getxattr": (_P0,), "lgetxattr": (_P0,),
    "listxattr": (_P0,), "llistxattr": (_P0,), "removexattr": (_P0,), "lremovexattr": (_P0,),
}

# Calls that act on an open file, by name -> the index of their fd argument.
FD_CALLS: dict[str, int] = {
    name: 0 for name in (
        "read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
        "lseek", "fstat", "fstatfs", "fsync", "fdatasync", "ftruncate", "fallocate",
        "fchmod", "fchown", "fchdir", "getdents64", "ioctl", "fcntl", "flock", "close",
        "dup", "dup2", "dup3", "fsetxattr", "fgetxattr", "flistxattr", "fremovexattr",
    )
} | {"mmap": 4}


def open_flags_and_mode(call: Call) -> tuple[int, int]:
    """The open flags (O_LARGEFILE left out) and mode of an open, openat or creat call;
    creat's are O_CREAT|O_WRONLY|O_TRUNC."""
    if call.name == "creat":
        return abi.O_CREAT | abi.O_WRONLY | abi.O_TRUNC, abi.u32(call.args[1])
    at = 1 if call.name == "open" else 2
    return abi.u32(call.args[at]) & ~abi.O_LARGEFILE, abi.u32(call.args[at + 1])


def encode_path(path: str) -> bytes:
    """A guest path as the C string a call takes (`call.put` it to pass it down)."""
    return path.encode("utf-8", "surrogateescape") + b"\0"


def under(path: str, prefix: str) -> bool:
    """Whether `path` is `prefix` or inside it (both absolute and normalised)."""
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def guest_dir(text: str) -> str:
    """An absolute guest directory given in a grate's arguments, normalised."""
    if not text.startswith("/"):
        raise ValueError(f"{text!r} is not an absolute path")
    return normalize(text)


def fd_path(call: Call, fd: int) -> str | None:
    """The guest path file descriptor `fd` of the calling cage was opened as, if any."""
    try:
        return call.cage.fds.get(abi.s32(fd)).path or None
    except OSError:
        return None


def _as_is(path: str) -> str:
    return path


def resolve(call: Call, arg: PathArg, view: Callable[[str], str] = _as_is) -> str | None:
    """The absolute guest path argument `arg` names, or None when it names no path
    (NULL or empty: the call then acts on its dirfd) or its dirfd is not a directory.

    `view` translates the directory a relative path starts from (the working
    directory or the dirfd's path) before joining, for grates that rename the tree.
    """
    if not call.args[arg.path]:
        return None
    raw = call.string(arg.path, abi.PATH_MAX - 1).decode("utf-8", "surrogateescape")
    if not raw:
        return None
    if raw.startswith("/"):
        return normalize(raw)
    start = start_dir(call, arg, view)
    return None if start is None else join(start, raw)


def start_dir(call: Call, arg: PathArg, view: Callable[[str], str] = _as_is) -> str | None:
    """The directory a relative path argument starts from: the working directory, or
    for an *at call the one its dirfd was opened as (None if that is no directory)."""
    if arg.dirfd is None or abi.s32(call.args[arg.dirfd]) == abi.AT_FDCWD:
        return view(call.cage.cwd)
    try:
        f = call.cage.fds.get(abi.s32(call.args[arg.dirfd]))
    except OSError:
        return None
    return view(f.path) if f.is_dir else None


def _names_path(call: Call, arg: PathArg) -> bool:
    return bool(call.args[arg.path]) and bool(call.string(arg.path, abi.PATH_MAX - 1))


def touched(call: Call) -> list[str]:
    """Every file a call names: its resolved path arguments, or the path its fd was
    opened as (an *at call with an empty path acts on its dirfd)."""
    found = []
    for arg in PATH_CALLS.get(call.name, ()):
        path = resolve(call, arg)
        if path is None and arg.dirfd is not None and not _names_path(call, arg):
            path = fd_path(call, call.args[arg.dirfd])
        if path is not None:
            found.append(path)
    if call.name in FD_CALLS:
        path = fd_path(call, call.args[FD_CALLS[call.name]])
        if path is not None:
            found.append(path)
    return found


def removes_directory(call: Call) -> bool:
    """Whether an unlink, unlinkat or rmdir call is for a directory (AT_REMOVEDIR)."""
    if call.name != "unlinkat":
        return call.name == "rmdir"
    flags = abi.u32(call.args[2])
    if flags & ~abi.AT_REMOVEDIR:
        raise abi.error(errno.EINVAL)
    return bool(flags & abi.AT_REMOVEDIR)
