"""The cooperative runtime's table: Linux x86_64 syscall number -> implementation,
on a memfs Tree, Python pipes and the language's clock (sockets register theirs from
lind.portable.sockets; signals' state is lind.portable.signals). A number missing here
is ENOSYS; what needs a host fails with its own errno (shared file mappings: ENODEV).

Implementations take the calling process (lind.portable.runtime.Process) and the
six raw arguments, and return the result or raise OSError.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

from lind.cage.program_file import PROGRAM_BYTES_MAX
from lind.microvisor import abi, lock_ranges
from lind.microvisor.abi import s32, u32
from lind.portable import signals
from lind.portable.descriptions import (
    DEVICES,
    Description,
    DeviceFile,
    FifoBoth,
    Pipe,
    PipeEnd,
    TreeFile,
)
from lind.portable.memfs import (
    F_SEAL_SEAL,
    Dir,
    Fifo,
    File,
    Found,
    Node,
    Socket,
    Symlink,
    names_a_directory,
    same_mount,
    writable,
)

MAX_FDS = 1024
MAX_IO = 1 << 24      # bytes one read or write moves at most (a short count, as Linux may)
_U32 = 0xFFFFFFFF
_IDS = (0, 0, 0, 0)                 # every cage is root of its own tree
_SYS_SETJMP, _SYS_LONGJMP, _SYS_SIGNAL_WORD, _SYS_NEXT_SIGNAL = 1020, 1021, 1022, 1023
_F_DUPFD, _F_GETFD, _F_SETFD, _F_GETFL, _F_SETFL = 0, 1, 2, 3, 4
_TIOCGWINSZ, _FIONREAD, _FIONBIO = 0x5413, 0x541B, 0x5421
_FIONCLEX, _FIOCLEX = 0x5450, 0x5451
_CLOCK_MONOTONIC_IDS = (1, 4, 7)     # MONOTONIC, MONOTONIC_RAW, BOOTTIME


class CageEnded(Exception):
    """Raised through a cage's wasm when it exits or execs: its call stack is over."""


class Suspend(Exception):  # noqa: N818 - not an error: the call goes on later
    """A suspendable cage's call must wait: args (ready, what, until, expired,
    restartable) as Runtime.wait_until's. Raised before the call changed anything; the runtime parks
    the cage and runs the call again when ready() says it can go on."""


class Call:
    """One system call as the runtime's grates (layers) see it."""

    def __init__(self, proc: Any, nr: int, args: tuple[int, ...]) -> None:
        self.proc = proc
        self.nr = nr
        self.args = args
        self._below: Sequence[Any] = ()

    @property
    def name(self) -> str:
        return NAMES.get(self.nr, f"syscall_{self.nr}")

    def string(self, i: int) -> bytes:
        return self.proc.string(self.args[i])

    def forward(self) -> int:
        """The call, handled by the layers below this one and then the table."""
        if self._below:
            layer, self._below = self._below[0], self._below[1:]
            return layer.handle(self)
        return self.run()

    def run(self) -> int:
        impl = TABLE.get(self.nr)
        if impl is None:
            return -abi.linux_errno(errno.ENOSYS)
        try:
            return impl(self.proc, *self.args)
        except OSError as exc:          # Linux's number, whatever the host's (Pyodide's)
            return -abi.linux_errno(exc.errno or errno.EIO)


def through(layers: Sequence[Any], call: Call) -> int:
    call._below = layers
    return call.forward()


# -- paths ---------------------------------------------------------------------------
def path_arg(proc, addr: int) -> bytes:
    """A path the cage gives: EFAULT for NULL, ENAMETOOLONG from PATH_MAX bytes on."""
    if not u32(addr):
        raise OSError(errno.EFAULT, "Bad address")
    return proc.string(addr, abi.PATH_MAX - 1)


def full_path(proc, dirfd: int, raw: bytes) -> str:
    """The path `raw` names from `dirfd`, as spelled (a trailing "/" or "/." kept: it
    says the name must be a directory)."""
    if not raw:
        raise OSError(errno.ENOENT, "No such file or directory")
    path = os.fsdecode(raw)
    if path.startswith("/"):
        return path
    return posixpath.join(_start_dir(proc, dirfd), path)


def _start_dir(proc, dirfd: int) -> str:
    if s32(dirfd) == abi.AT_FDCWD:
        return proc.cwd
    d = proc.description(dirfd)
    if not isinstance(d, TreeFile) or not isinstance(d.node, Dir):
        raise OSError(errno.ENOTDIR, "Not a directory")
    return proc.runtime.tree.path_of(d.node)


def _path(proc, dirfd: int, addr: int) -> str:
    return full_path(proc, dirfd, path_arg(proc, addr))


def _find(proc, dirfd: int, addr: int, follow: bool = True) -> Found:
    return proc.runtime.tree.find(_path(proc, dirfd, addr), follow=follow)


def _node(proc, dirfd: int, addr: int, follow: bool = True) -> Node:
    path = _path(proc, dirfd, addr)
    return proc.runtime.tree.node_at(path, follow=follow, slash=names_a_directory(path))


def _new_name(proc, dirfd: int, addr: int, slash_allowed: bool = False) -> Found:
    path = _path(proc, dirfd, addr)
    return proc.runtime.tree.new_name(path, slash=names_a_directory(path) and not slash_allowed)


def _empty_path(proc, addr: int, flags: int) -> bool:
    """Whether an *at call acts on its dirfd itself: AT_EMPTY_PATH with "" or NULL."""
    return bool(flags & abi.AT_EMPTY_PATH) and (not u32(addr) or proc.read(addr, 1) == b"\0")


def _at_target(proc, dirfd: int, addr: int, flags: int) -> Node | Description:
    """What a call taking (dirfd, path, flags) acts on: the dirfd's file (AT_EMPTY_PATH,
    the working directory for AT_FDCWD), else the node the path names."""
    if _empty_path(proc, addr, flags):
        if s32(dirfd) == abi.AT_FDCWD:
            return proc.runtime.tree.lookup(proc.cwd)
        d = proc.description(dirfd)
        return d.node if isinstance(d, TreeFile) else d
    return _node(proc, dirfd, addr, not flags & abi.AT_SYMLINK_NOFOLLOW)


def program_bytes(proc, path: str) -> bytes:
    """exec's program from the tree: EACCES without x or if not a file, ENOEXEC past
    PROGRAM_BYTES_MAX (as the other back ends: a program is read whole, and hashed)."""
    node = proc.runtime.tree.lookup(path)
    if isinstance(node, Dir) or not isinstance(node, File):
        raise OSError(errno.EACCES, "Permission denied")
    if not node.mode & 0o111:
        raise OSError(errno.EACCES, "Permission denied")
    if len(node.data) > PROGRAM_BYTES_MAX:
        raise OSError(errno.ENOEXEC, "Exec format error")
    return bytes(node.data)


# -- files ------------------------------------------------------------------------------
def sys_openat(proc, dirfd, addr, flags, mode, *_):
    tree, flags = proc.runtime.tree, u32(flags) & ~abi.O_LARGEFILE
    path = _path(proc, dirfd, addr)
    device = DEVICES.get(posixpath.normpath(path))
    if device is not None:
        return proc.install(DeviceFile(device, flags), bool(flags & abi.O_CLOEXEC))
    node = tree.open(path, flags, u32(mode), slash=names_a_directory(path), umask=proc.umask)
    if isinstance(node, Fifo) and not flags & abi.O_PATH:
        return proc.install(_open_fifo(proc, node, flags), bool(flags & abi.O_CLOEXEC))
    return proc.install(TreeFile(tree, node, flags), bool(flags & abi.O_CLOEXEC))


def _open_fifo(proc, node: Fifo, flags: int) -> Description:
    """Linux's rendezvous: a reader waits for a writer and a writer for a reader (each
    counted as it waits, so two waiting for each other both go on); O_RDWR opens at
    once, O_NONBLOCK for reading at once and for writing fails with ENXIO while
    nobody reads. The end made before a wait is kept for the call's next run (set
    aside, then run again) and let go if the wait ends any other way."""
    runtime = proc.runtime
    pipe = runtime.fifos.get(node)
    if pipe is None:
        pipe = runtime.fifos[node] = Pipe(runtime.pipe_budget)
    access = flags & abi.O_ACCMODE
    status = flags & (abi.O_NONBLOCK | abi.O_APPEND)
    if access == abi.O_RDWR:
        return FifoBoth(pipe, abi.O_RDWR | status)
    reading = access == abi.O_RDONLY
    if not reading and flags & abi.O_NONBLOCK and pipe.readers == 0:
        raise OSError(errno.ENXIO, "No such device or address")
    partner = 1 if reading else 0                  # the other side's count in pipe.opened
    waiting = runtime.fifo_openers.get(proc)
    if waiting is not None and waiting[0] is node:
        _, end, seen = waiting
    else:
        seen = pipe.opened[partner]                # partners that came before this open
        end = PipeEnd(pipe, reading, status)
    if flags & abi.O_NONBLOCK:
        return end
    runtime.fifo_openers[proc] = (node, end, seen)
    try:                     # a partner open now, or one that came (and maybe went) since
        runtime.wait_until(proc, lambda: (pipe.writers if reading else pipe.readers) > 0
                           or pipe.opened[partner] > seen, "the other end of a FIFO")
    except Suspend:
        raise                                      # the end waits with the call
    except BaseException:
        runtime.fifo_openers.pop(proc, None)
        end.release()
        raise
    runtime.fifo_openers.pop(proc, None)
    return end


def sys_mknodat(proc, dirfd, addr, mode, dev, *_):
    """A FIFO, a regular file or a socket's name; devices are EPERM (no devices here)."""
    mode = u32(mode)
    kind = {0: File, stat.S_IFREG: File, stat.S_IFIFO: Fifo, stat.S_IFSOCK: Socket}.get(
        stat.S_IFMT(mode))
    if kind is None:
        if stat.S_IFMT(mode) in (stat.S_IFCHR, stat.S_IFBLK):
            raise OSError(errno.EPERM, "Operation not permitted")
        raise OSError(errno.EINVAL, "Invalid argument")
    found = _new_name(proc, dirfd, addr)
    proc.runtime.tree.new(found.parent, found.name, kind, mode & 0o7777 & ~proc.umask)
    return 0


def sys_mknod(proc, addr, mode, dev, *_):
    return sys_mknodat(proc, abi.AT_FDCWD, addr, mode, dev)


def sys_open(proc, addr, flags, mode, *_):
    return sys_openat(proc, abi.AT_FDCWD, addr, flags, mode)


def sys_creat(proc, addr, mode, *_):
    return sys_openat(proc, abi.AT_FDCWD, addr, abi.O_CREAT | abi.O_WRONLY | abi.O_TRUNC, mode)


def sys_close(proc, fd, *_):
    proc.close(fd)
    return 0


def blocking(proc, d: Description, events: int, attempt: Callable[[], Any], what: str,
             timeout: float = 0.0) -> Any:
    """`attempt()` until it does not say it would block (None), waiting for `d` to be
    ready for `events` (poll's meaning: then the attempt does not block) in between;
    EAGAIN after `timeout` seconds if one is given (a socket's SO_RCVTIMEO), and then a
    handler's signal ends the wait for good (EINTR, as Linux's)."""
    until = time.monotonic() + timeout if timeout else None
    again = -abi.linux_errno(errno.EAGAIN)
    while True:
        outcome = attempt()
        if outcome is not None:
            return outcome
        if not proc.runtime.wait_until(proc, lambda: d.ready(events) != 0, what, until=until,
                                       expired=lambda: again, restartable=until is None):
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")


def _readable(d: Description) -> None:
    if not d.readable:
        raise OSError(errno.EBADF, "Bad file descriptor")


def _into(proc, buf: int, count: int) -> None:
    """EFAULT before anything is taken for a buffer in the null page (a read that
    failed to place its bytes would have lost them, and moved the offset)."""
    if proc.null_page(buf, count):
        raise OSError(errno.EFAULT, "Bad address")


def sys_read(proc, fd, buf, count, *_):
    d = proc.description(fd)
    _readable(d)
    _into(proc, buf, count & _U32)
    if isinstance(d, TreeFile) and isinstance(d.node, Dir):
        raise OSError(errno.EISDIR, "Is a directory")
    data = blocking(proc, d, abi.POLLIN, lambda: d.read(min(count & _U32, MAX_IO)), "input")
    proc.write(buf, data)
    return len(data)


def _write_all(proc, d: Description, data: bytes) -> int:
    if not d.writable:
        raise OSError(errno.EBADF, "Bad file descriptor")
    try:
        return blocking(proc, d, abi.POLLOUT, lambda: d.write(data), "room in a pipe")
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise broken_pipe(proc) from None
        raise


def broken_pipe(proc, signal: bool = True) -> OSError:
    """A write found no reader: SIGPIPE (unless the call said MSG_NOSIGNAL), whose
    default action ends the cage; ignored or caught, the write fails with EPIPE."""
    if signal:
        signals.post(proc, signals.SIGPIPE, proc.pid)
        if proc.status is not None:
            raise CageEnded()
    return OSError(errno.EPIPE, "Broken pipe")


def sys_write(proc, fd, buf, count, *_):
    d = proc.description(fd)
    return _write_all(proc, d, proc.read(buf, min(count & _U32, MAX_IO)))


def iovecs(proc, iov, count) -> list[tuple[int, int]]:
    count = s32(count)
    if count < 0 or count > abi.IOV_MAX:
        raise OSError(errno.EINVAL, "Invalid argument")
    raw = proc.read(iov, 8 * count)
    return [struct.unpack_from("<II", raw, 8 * i) for i in range(count)]


def _scatter(proc, vecs: list[tuple[int, int]], data: bytes) -> int:
    """`data` into the cage's buffers, in order; its length."""
    at = 0
    for base, n in vecs:
        if at >= len(data):
            break
        proc.write(base, data[at:at + n])
        at += n
    return len(data)


def _gathered(proc, vecs: list[tuple[int, int]]) -> bytes:
    """The buffers' bytes up to MAX_IO: 1024 vectors naming one large buffer must not
    become a thousand copies of it in host memory."""
    parts, room = [], MAX_IO
    for base, n in vecs:
        if room == 0:
            break
        parts.append(proc.read(base, min(n, room)))
        room -= len(parts[-1])
    return b"".join(parts)


def sys_readv(proc, fd, iov, count, *_):
    vecs = iovecs(proc, iov, count)
    d = proc.description(fd)
    _readable(d)
    for base, n in vecs:
        _into(proc, base, n)
    data = blocking(proc, d, abi.POLLIN,
                     lambda: d.read(min(sum(n for _, n in vecs), MAX_IO)), "input")
    return _scatter(proc, vecs, data)


def sys_writev(proc, fd, iov, count, *_):
    return _write_all(proc, proc.description(fd), _gathered(proc, iovecs(proc, iov, count)))


_RWF_APPEND, _RWF_KNOWN = 0x10, 0x1F      # RWF_HIPRI, DSYNC, SYNC, NOWAIT, APPEND


def _vectored(proc, fd, iov, count, offset: int, flags: int, write: bool) -> int:
    """preadv/pwritev and their *v2 forms: at `offset`, or (-1, *v2 only) as readv and
    writev; RWF_APPEND writes at the end. Nothing here waits, so the other flags hold."""
    if flags & ~_RWF_KNOWN:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")
    if offset == -1:
        return (sys_writev if write else sys_readv)(proc, fd, iov, count)
    if offset < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    vecs = iovecs(proc, iov, count)
    d = proc.description(fd)
    if write:
        if not d.writable:
            raise OSError(errno.EBADF, "Bad file descriptor")
        if flags & _RWF_APPEND and isinstance(d, TreeFile):
            offset = d.node.size
        return d.pwrite(_gathered(proc, vecs), offset)
    _readable(d)
    return _scatter(proc, vecs, d.pread(min(sum(n for _, n in vecs), MAX_IO), offset))


def sys_preadv(proc, fd, iov, count, lo, hi, *_):
    return _vectored(proc, fd, iov, count, abi.explicit_offset(lo, hi), 0, False)


def sys_pwritev(proc, fd, iov, count, lo, hi, *_):
    return _vectored(proc, fd, iov, count, abi.explicit_offset(lo, hi), 0, True)


def sys_preadv2(proc, fd, iov, count, lo, hi, flags):
    return _vectored(proc, fd, iov, count, abi.hilo(lo, hi), u32(flags), False)


def sys_pwritev2(proc, fd, iov, count, lo, hi, flags):
    return _vectored(proc, fd, iov, count, abi.hilo(lo, hi), u32(flags), True)


def _tree_file(proc, fd) -> TreeFile:
    d = proc.description(fd)
    if not isinstance(d, TreeFile):
        raise OSError(errno.ESPIPE, "Illegal seek")
    return d


def sys_pread64(proc, fd, buf, count, offset, *_):
    d = proc.description(fd)
    _readable(d)
    _into(proc, buf, count & _U32)
    if offset < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    data = d.pread(min(count & _U32, MAX_IO), offset)
    proc.write(buf, data)
    return len(data)


def sys_pwrite64(proc, fd, buf, count, offset, *_):
    d = proc.description(fd)
    if not d.writable:
        raise OSError(errno.EBADF, "Bad file descriptor")
    if offset < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    return d.pwrite(proc.read(buf, min(count & _U32, MAX_IO)), offset)


def _offset_arg(proc, addr: int) -> int:
    """A loff_t the cage points to (copy_file_range, sendfile): EINVAL below 0."""
    (offset,) = struct.unpack("<q", proc.read(addr, 8))
    if offset < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    return offset


def _file_of(d: Description) -> File:
    """The regular file of the tree a copy reads or writes (EISDIR, EINVAL otherwise)."""
    node = d.node if isinstance(d, TreeFile) else None
    if isinstance(node, Dir):
        raise OSError(errno.EISDIR, "Is a directory")
    if not isinstance(node, File):
        raise OSError(errno.EINVAL, "Invalid argument")
    return node


def _moved(proc, addr: int, d: TreeFile, at: int) -> None:
    """After a copy: the new offset into the cage's loff_t, or the file's own."""
    if u32(addr):
        proc.write(addr, struct.pack("<q", at))
    else:
        d.pos = at


def sys_copy_file_range(proc, fd_in, off_in, fd_out, off_out, length, flags):
    src_d, dst_d = proc.description(fd_in), proc.description(fd_out)
    if u32(flags):
        raise OSError(errno.EINVAL, "Invalid argument")
    if not src_d.readable or not dst_d.writable or dst_d.flags & abi.O_APPEND:
        raise OSError(errno.EBADF, "Bad file descriptor")
    src_file, dst_file = _file_of(src_d), _file_of(dst_d)
    src = _offset_arg(proc, off_in) if u32(off_in) else src_d.pos
    dst = _offset_arg(proc, off_out) if u32(off_out) else dst_d.pos
    length = min(length & _U32, MAX_IO)
    if src_file is dst_file and src < dst + length and dst < src + length:
        raise OSError(errno.EINVAL, "Invalid argument")      # overlapping ranges of one file
    data = src_d.pread(length, src)
    done = dst_d.pwrite(data, dst) if data else 0
    _moved(proc, off_in, src_d, src + done)
    _moved(proc, off_out, dst_d, dst + done)
    return done


def sys_sendfile(proc, out_fd, in_fd, offset, count, *_):
    out_d, in_d = proc.description(out_fd), proc.description(in_fd)
    if not in_d.readable or not out_d.writable:
        raise OSError(errno.EBADF, "Bad file descriptor")
    if out_d.flags & abi.O_APPEND:
        raise OSError(errno.EINVAL, "Invalid argument")
    _file_of(in_d)
    start = _offset_arg(proc, offset) if u32(offset) else in_d.pos
    data = in_d.pread(min(count & _U32, MAX_IO), start)
    done = _write_all(proc, out_d, data) if data else 0
    _moved(proc, offset, in_d, start + done)
    return done


def sys_lseek(proc, fd, offset, whence, *_):
    return proc.description(fd).seek(offset, s32(whence))


def _pack(proc, st) -> bytes:
    return abi.pack_stat(st, _IDS)


def _stat_at(proc, dirfd: int, addr: int, flags: int):
    """stat of a path, or of dirfd itself for an empty path with AT_EMPTY_PATH."""
    target = _at_target(proc, dirfd, addr, flags)
    return target.stat() if isinstance(target, Description) else proc.runtime.tree.stat(target)


def sys_fstat(proc, fd, buf, *_):
    proc.write(buf, _pack(proc, proc.description(fd).stat()))
    return 0


def sys_newfstatat(proc, dirfd, addr, buf, flags, *_):
    abi.check_stat_flags(u32(flags))
    proc.write(buf, _pack(proc, _stat_at(proc, dirfd, addr, u32(flags))))
    return 0


def sys_stat(proc, addr, buf, *_):
    return sys_newfstatat(proc, abi.AT_FDCWD, addr, buf, 0)


def sys_lstat(proc, addr, buf, *_):
    return sys_newfstatat(proc, abi.AT_FDCWD, addr, buf, abi.AT_SYMLINK_NOFOLLOW)


def sys_statx(proc, dirfd, addr, flags, mask, buf, *_):
    abi.check_statx_args(u32(flags), u32(mask))
    proc.write(buf, abi.pack_statx(_stat_at(proc, dirfd, addr, u32(flags)), _IDS))
    return 0


def sys_faccessat(proc, dirfd, addr, mode, flags=0, *_):
    mode, flags = u32(mode), u32(flags)
    if mode & ~7 or flags & ~(abi.AT_EACCESS | abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH):
        raise OSError(errno.EINVAL, "Invalid argument")
    node = _node(proc, dirfd, addr, not flags & abi.AT_SYMLINK_NOFOLLOW)
    if mode & 1 and not isinstance(node, Dir) and not node.mode & 0o111:
        raise OSError(errno.EACCES, "Permission denied")
    if mode & 2 and node.readonly:
        raise OSError(errno.EROFS, "Read-only file system")
    return 0


def sys_access(proc, addr, mode, *_):
    return sys_faccessat(proc, abi.AT_FDCWD, addr, mode, 0)


def sys_getdents64(proc, fd, buf, count, *_):
    d = proc.description(fd)
    if not isinstance(d, TreeFile):
        raise OSError(errno.ENOTDIR, "Not a directory")
    data = d.dirents(count & _U32)
    proc.write(buf, data)
    return len(data)


def sys_mkdirat(proc, dirfd, addr, mode, *_):
    found = _new_name(proc, dirfd, addr, slash_allowed=True)
    proc.runtime.tree.new(found.parent, found.name, Dir, u32(mode) & ~proc.umask & 0o7777)
    return 0


def sys_mkdir(proc, addr, mode, *_):
    return sys_mkdirat(proc, abi.AT_FDCWD, addr, mode)


def sys_unlinkat(proc, dirfd, addr, flags, *_):
    if u32(flags) & ~abi.AT_REMOVEDIR:
        raise OSError(errno.EINVAL, "Invalid argument")
    path = _path(proc, dirfd, addr)
    proc.runtime.tree.unlink(path, path, directory=bool(u32(flags) & abi.AT_REMOVEDIR))
    return 0


def sys_unlink(proc, addr, *_):
    return sys_unlinkat(proc, abi.AT_FDCWD, addr, 0)


def sys_rmdir(proc, addr, *_):
    return sys_unlinkat(proc, abi.AT_FDCWD, addr, abi.AT_REMOVEDIR)


def sys_renameat2(proc, olddir, old, newdir, new, flags, *_):
    old, new = _path(proc, olddir, old), _path(proc, newdir, new)
    proc.runtime.tree.rename_path(old, new, u32(flags),
                                  slash=names_a_directory(old) or names_a_directory(new))
    return 0


def sys_renameat(proc, olddir, old, newdir, new, *_):
    return sys_renameat2(proc, olddir, old, newdir, new, 0)


def sys_rename(proc, old, new, *_):
    return sys_renameat(proc, abi.AT_FDCWD, old, abi.AT_FDCWD, new)


def sys_linkat(proc, olddir, old, newdir, new, flags, *_):
    if u32(flags) & ~(abi.AT_SYMLINK_FOLLOW | abi.AT_EMPTY_PATH):
        raise OSError(errno.EINVAL, "Invalid argument")
    follow = u32(flags) & abi.AT_SYMLINK_FOLLOW
    node = _at_target(proc, olddir, old, u32(flags) & abi.AT_EMPTY_PATH
                      | (0 if follow else abi.AT_SYMLINK_NOFOLLOW))
    if not isinstance(node, Node):
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    if isinstance(node, Dir):
        raise OSError(errno.EPERM, "Operation not permitted")
    found = _new_name(proc, newdir, new)
    if node.nlink == 0:
        raise OSError(errno.ENOENT, "No such file or directory")
    same_mount(node, found.parent)
    proc.runtime.tree.add(found.parent, found.name, node)
    node.touched()
    return 0


def sys_link(proc, old, new, *_):
    return sys_linkat(proc, abi.AT_FDCWD, old, abi.AT_FDCWD, new, 0)


def sys_symlinkat(proc, target, dirfd, addr, *_):
    to = path_arg(proc, target)
    if not to:
        raise OSError(errno.ENOENT, "No such file or directory")
    found = _new_name(proc, dirfd, addr)
    proc.runtime.tree.new(found.parent, found.name, Symlink, 0o777, target=os.fsdecode(to))
    return 0


def sys_symlink(proc, target, addr, *_):
    return sys_symlinkat(proc, target, abi.AT_FDCWD, addr)


def sys_readlinkat(proc, dirfd, addr, buf, size, *_):
    if s32(size) <= 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    node = _node(proc, dirfd, addr, follow=False)
    if not isinstance(node, Symlink):
        raise OSError(errno.EINVAL, "Invalid argument")
    data = os.fsencode(node.target)[:s32(size)]
    proc.write(buf, data)
    return len(data)


def sys_readlink(proc, addr, buf, size, *_):
    return sys_readlinkat(proc, abi.AT_FDCWD, addr, buf, size)


def _fd_node(proc, fd: int) -> Node | None:
    """The tree's node an fd is open on (None for a pipe, a socket, a device...: their
    attributes are not kept, and changing them succeeds as on Linux's pseudo files)."""
    d = proc.description(fd)
    return d.node if isinstance(d, TreeFile) else None


def _chmod(node: Node | None, mode: int) -> int:
    if node is not None:
        writable(node)
        node.mode = stat.S_IFMT(node.mode) | (u32(mode) & 0o7777)
        node.touched()
    return 0


def sys_fchmodat(proc, dirfd, addr, mode, flags=0, *_):
    if u32(flags) & ~abi.AT_SYMLINK_NOFOLLOW:
        raise OSError(errno.EINVAL, "Invalid argument")
    node = _node(proc, dirfd, addr, not u32(flags) & abi.AT_SYMLINK_NOFOLLOW)
    if isinstance(node, Symlink):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")   # as Linux
    return _chmod(node, mode)


def sys_chmod(proc, addr, mode, *_):
    return sys_fchmodat(proc, abi.AT_FDCWD, addr, mode)


def sys_fchmod(proc, fd, mode, *_):
    return _chmod(_fd_node(proc, fd), mode)


def _chown(proc, node: Node | None, uid: int, gid: int) -> int:
    if node is not None:
        proc.runtime.tree.keep_owner(node, uid, gid, _IDS)
    return 0


def sys_fchownat(proc, dirfd, addr, uid, gid, flags, *_):
    if u32(flags) & ~(abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH):
        raise OSError(errno.EINVAL, "Invalid argument")
    target = _at_target(proc, dirfd, addr, u32(flags))
    return _chown(proc, target if isinstance(target, Node) else None, uid, gid)


def sys_chown(proc, addr, uid, gid, *_):
    return sys_fchownat(proc, abi.AT_FDCWD, addr, uid, gid, 0)


def sys_lchown(proc, addr, uid, gid, *_):
    return sys_fchownat(proc, abi.AT_FDCWD, addr, uid, gid, abi.AT_SYMLINK_NOFOLLOW)


def sys_fchown(proc, fd, uid, gid, *_):
    return _chown(proc, _fd_node(proc, fd), uid, gid)


def _set_times(node: Node | None, times: tuple[int, int] | None) -> int:
    """Times given, or now (None); the tree's owner is the cage, root of it."""
    if node is not None:
        writable(node)
        node.atime_ns, node.mtime_ns = times or (time.time_ns(),) * 2
        node.touched()
    return 0


def sys_utimensat(proc, dirfd, addr, times, flags, *_):
    """utimensat, and futimens: a NULL path with a dirfd names the fd's own file."""
    raw = proc.read(times, 2 * abi.TIMESPEC_SIZE) if u32(times) else None
    flags = u32(flags)
    if flags & ~(abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH):
        raise OSError(errno.EINVAL, "Invalid argument")
    if not u32(addr) and s32(dirfd) != abi.AT_FDCWD:
        node = _fd_node(proc, dirfd)
    else:
        target = _at_target(proc, dirfd, addr, flags)
        node = target if isinstance(target, Node) else None
    if node is None:
        abi.utimens_times(raw, 0, 0)            # the times are checked all the same
        return 0
    return _set_times(node, abi.utimens_times(raw, node.atime_ns, node.mtime_ns))


def sys_futimesat(proc, dirfd, addr, times, *_):
    """utimes and futimesat: microseconds (NULL: now)."""
    given = abi.old_times(proc.read(times, abi.OLD_TIMES_SIZE), True) if u32(times) else None
    return _set_times(_node(proc, dirfd, addr), given)


def sys_utimes(proc, addr, times, *_):
    return sys_futimesat(proc, abi.AT_FDCWD, addr, times)


def sys_utime(proc, addr, times, *_):
    given = abi.old_times(proc.read(times, abi.OLD_TIMES_SIZE // 2), False) if u32(times) else None
    return _set_times(_node(proc, abi.AT_FDCWD, addr), given)


def sys_ftruncate(proc, fd, length, *_):
    d = proc.description(fd)
    if d.flags & abi.O_PATH:
        raise OSError(errno.EBADF, "Bad file descriptor")
    if not isinstance(d, TreeFile) or not d.writable or not isinstance(d.node, File) \
            or length < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    proc.runtime.tree.resize(d.node, length)
    return 0


def sys_truncate(proc, addr, length, *_):
    node = _node(proc, abi.AT_FDCWD, addr)
    if isinstance(node, Dir):
        raise OSError(errno.EISDIR, "Is a directory")
    writable(node)
    if length < 0 or not isinstance(node, File):
        raise OSError(errno.EINVAL, "Invalid argument")
    proc.runtime.tree.resize(node, length)
    return 0


_MFD_CLOEXEC, _MFD_ALLOW_SEALING, _MFD_NAME_MAX = 1, 2, 249


def sys_memfd_create(proc, name, flags, *_):
    """A file of the tree named nowhere (its name is only what /proc would show)."""
    flags = u32(flags)
    if flags & ~(_MFD_CLOEXEC | _MFD_ALLOW_SEALING):
        raise OSError(errno.EINVAL, "Invalid argument")
    try:
        proc.string(name, _MFD_NAME_MAX)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        raise OSError(errno.EINVAL, "Invalid argument") from None
    node = proc.runtime.tree.memfd(bool(flags & _MFD_ALLOW_SEALING))
    return proc.install(TreeFile(proc.runtime.tree, node, abi.O_RDWR), bool(flags & _MFD_CLOEXEC))


def _seals(proc, d: Description, cmd: int, arg: int) -> int:
    """F_GET_SEALS, F_ADD_SEALS of a memfd: seals are only ever added, none once
    F_SEAL_SEAL is; a write seal needs no writable mapping (this runtime has none)."""
    if not isinstance(d, TreeFile) or not isinstance(d.node, File) or d.node.seals is None:
        raise OSError(errno.EINVAL, "Invalid argument")
    if cmd == abi.F_GET_SEALS:
        return d.node.seals
    if u32(arg) & ~0x1F:
        raise OSError(errno.EINVAL, "Invalid argument")
    if not d.writable:
        raise OSError(errno.EPERM, "Operation not permitted")
    if d.node.seals & F_SEAL_SEAL:
        raise OSError(errno.EPERM, "Operation not permitted")
    d.node.seals |= u32(arg)
    return 0


def sys_fallocate(proc, fd, mode, offset, length, *_):
    d = proc.description(fd)
    if not d.writable:
        raise OSError(errno.EBADF, "Bad file descriptor")
    if offset < 0 or length <= 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    if s32(mode):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")
    if not isinstance(d, TreeFile) or not isinstance(d.node, File):
        raise OSError(errno.ENODEV, "No such device")
    if offset + length > d.node.size:
        proc.runtime.tree.resize(d.node, offset + length)
    return 0


# Extended attributes: a tree keeps none, as a file system without them (EOPNOTSUPP,
# and an empty list, as the other back ends); the path or fd is looked at first.
def sys_listxattr(proc, addr, *_):
    _node(proc, abi.AT_FDCWD, addr)
    return 0


def sys_llistxattr(proc, addr, *_):
    _node(proc, abi.AT_FDCWD, addr, follow=False)
    return 0


def sys_flistxattr(proc, fd, *_):
    proc.description(fd)
    return 0


def sys_xattr(proc, addr, *_):
    _node(proc, abi.AT_FDCWD, addr)
    raise OSError(errno.EOPNOTSUPP, "Operation not supported")


def sys_lxattr(proc, addr, *_):
    _node(proc, abi.AT_FDCWD, addr, follow=False)
    raise OSError(errno.EOPNOTSUPP, "Operation not supported")


def sys_fxattr(proc, fd, *_):
    proc.description(fd)
    raise OSError(errno.EOPNOTSUPP, "Operation not supported")


def _tree_statfs(proc) -> bytes:
    tree = proc.runtime.tree
    return abi.tmpfs_statfs(tree.used + tree.room(), tree.room())


def sys_statfs(proc, addr, buf, *_):
    """The tree is a tmpfs of its capacity; /proc and /dev as the microvisor's."""
    path = posixpath.normpath(_path(proc, abi.AT_FDCWD, addr))
    if any(path == top or path.startswith(top + "/") for top in ("/proc", "/dev")):
        data = abi.virtual_statfs(path)
    else:
        _node(proc, abi.AT_FDCWD, addr)
        data = _tree_statfs(proc)
    proc.write(buf, data)
    return 0


def sys_fstatfs(proc, fd, buf, *_):
    d = proc.description(fd)
    proc.write(buf, _tree_statfs(proc) if isinstance(d, TreeFile) else abi.virtual_statfs("/dev"))
    return 0


def sys_getcwd(proc, buf, size, *_):
    data = os.fsencode(proc.cwd) + b"\0"
    if len(data) > (size & _U32):
        raise OSError(errno.ERANGE, "Numerical result out of range")
    proc.write(buf, data)
    return len(data)


def sys_chdir(proc, addr, *_):
    node = _node(proc, abi.AT_FDCWD, addr)
    if not isinstance(node, Dir):
        raise OSError(errno.ENOTDIR, "Not a directory")
    proc.cwd = proc.runtime.tree.path_of(node)
    return 0


def sys_fchdir(proc, fd, *_):
    d = proc.description(fd)
    if not isinstance(d, TreeFile) or not isinstance(d.node, Dir):
        raise OSError(errno.ENOTDIR, "Not a directory")
    proc.cwd = proc.runtime.tree.path_of(d.node)
    return 0


def sys_umask(proc, mask, *_):
    old, proc.umask = proc.umask, u32(mask) & 0o777
    return old


def sys_ioctl(proc, fd, request, arg, *_):
    d = proc.description(fd)
    request = u32(request)
    if request == _FIONREAD:
        proc.write(arg, struct.pack("<i", d.pending()))
        return 0
    if request == _FIONBIO:
        (on,) = struct.unpack("<i", proc.read(arg, 4))
        d.flags = d.flags | abi.O_NONBLOCK if on else d.flags & ~abi.O_NONBLOCK
        return 0
    if request in (_FIOCLEX, _FIONCLEX):     # any fd: FD_CLOEXEC, as F_SETFD sets it
        proc.fds[s32(fd)] = (d, request == _FIOCLEX)
        return 0
    raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")


def sys_fcntl(proc, fd, cmd, arg, *_):
    d = proc.description(fd)
    fd, cmd = s32(fd), s32(cmd)
    if cmd in (_F_DUPFD, abi.F_DUPFD_CLOEXEC):
        d.refs += 1
        return proc.install(d, cmd == abi.F_DUPFD_CLOEXEC, s32(arg))
    if cmd == _F_GETFD:
        return abi.FD_CLOEXEC if proc.fds[fd][1] else 0
    if cmd == _F_SETFD:
        proc.fds[fd] = (d, bool(arg & abi.FD_CLOEXEC))
        return 0
    if cmd == _F_GETFL:
        return d.flags
    if cmd == _F_SETFL:
        d.flags = (d.flags & ~abi.SETFL_MASK) | (u32(arg) & abi.SETFL_MASK)
        return 0
    if cmd in lock_ranges.COMMANDS:
        return proc.runtime.locks.fcntl(proc, d, cmd, arg)
    if cmd in (abi.F_ADD_SEALS, abi.F_GET_SEALS):
        return _seals(proc, d, cmd, arg)
    if cmd in (abi.F_GETPIPE_SZ, abi.F_SETPIPE_SZ):
        if not isinstance(d, PipeEnd):
            raise OSError(errno.EBADF, "Bad file descriptor")   # as Linux: not a pipe
        return d.pipe.capacity if cmd == abi.F_GETPIPE_SZ else d.pipe.resize(u32(arg))
    raise OSError(errno.EINVAL, "Invalid argument")


def sys_flock(proc, fd, operation, *_):
    return proc.runtime.locks.flock(proc, proc.description(fd), u32(operation))


def sys_dup(proc, fd, *_):
    d = proc.description(fd)
    d.refs += 1
    return proc.install(d)


def sys_dup3(proc, old, new, flags, *_):
    if u32(flags) & ~abi.O_CLOEXEC:
        raise OSError(errno.EINVAL, "Invalid argument")
    d = proc.description(old)
    new = s32(new)
    if new < 0 or new >= MAX_FDS:
        raise OSError(errno.EBADF, "Bad file descriptor")
    if s32(old) == new:
        raise OSError(errno.EINVAL, "Invalid argument")
    d.refs += 1
    if new in proc.fds:
        proc.close(new)
    proc.fds[new] = (d, bool(u32(flags) & abi.O_CLOEXEC))
    return new


_CLOSE_RANGE_UNSHARE, _CLOSE_RANGE_CLOEXEC = 2, 4


def sys_close_range(proc, first, last, flags, *_):
    """Close (or with CLOSE_RANGE_CLOEXEC mark) the open fds from `first` to `last`;
    the table is never shared here, so CLOSE_RANGE_UNSHARE has nothing to do."""
    first, last, flags = u32(first), u32(last), u32(flags)
    if flags & ~(_CLOSE_RANGE_UNSHARE | _CLOSE_RANGE_CLOEXEC) or first > last:
        raise OSError(errno.EINVAL, "Invalid argument")
    for fd in sorted(fd for fd in proc.fds if first <= fd <= last):
        if flags & _CLOSE_RANGE_CLOEXEC:
            proc.fds[fd] = (proc.fds[fd][0], True)
        else:
            proc.close(fd)
    return 0


def sys_dup2(proc, old, new, *_):
    proc.description(old)
    if s32(old) == s32(new):
        return s32(new)
    return sys_dup3(proc, old, new, 0)


def sys_pipe2(proc, fds, flags, *_):
    flags = u32(flags)
    if flags & ~(abi.O_CLOEXEC | abi.O_NONBLOCK | abi.O_DIRECT):
        raise OSError(errno.EINVAL, "Invalid argument")
    pipe, extra = Pipe(proc.runtime.pipe_budget), flags & abi.O_NONBLOCK
    cloexec = bool(flags & abi.O_CLOEXEC)
    r = proc.install(PipeEnd(pipe, True, extra), cloexec)
    try:
        w = proc.install(PipeEnd(pipe, False, extra), cloexec)
    except OSError:
        proc.close(r)
        raise
    proc.write(fds, struct.pack("<ii", r, w))
    return 0


def sys_pipe(proc, fds, *_):
    return sys_pipe2(proc, fds, 0)


def _waiting_with_mask(proc, mask_addr: int, wait: Callable[[], int]) -> int:
    """`wait()` under the signal mask at `mask_addr` (sigsuspend's, ppoll's, pselect's:
    0 for none). The caller's mask is kept in mask_after_suspend meanwhile (a call set
    aside keeps waiting under the new one); a handler the new mask lets in runs under
    it, and the caller's comes back when the handler returns (signals.take), or when
    the call ends any other way (here, or Process.wake's result)."""
    if not mask_addr:
        return wait()
    (mask,) = struct.unpack("<Q", proc.read(mask_addr, 8))
    if proc.mask_after_suspend is None:          # not this call's next run
        proc.mask_after_suspend = proc.signal_mask
    proc.signal_mask = mask & ~signals.UNBLOCKABLE
    try:
        _changed_mask(proc)
        result = wait()
    except Suspend:
        raise
    except OSError as exc:
        if exc.errno != errno.EINTR or not signals.deliverable(proc):
            signals.unmask(proc)
        raise
    except BaseException:
        signals.unmask(proc)
        raise
    signals.unmask(proc)
    return result


def _until(proc, addr: int, microseconds: bool = False) -> float | None:
    """The monotonic time a timespec (or timeval) at `addr` waits until; None: forever."""
    if not addr:
        return None
    sec, frac = struct.unpack("<qq", proc.read(addr, 16))
    if sec < 0 or not 0 <= frac < (10**6 if microseconds else 10**9):
        raise OSError(errno.EINVAL, "Invalid argument")
    return time.monotonic() + sec + frac / (1e6 if microseconds else 1e9)


def sys_ppoll(proc, fds, nfds, timeout, mask, *_):
    return _waiting_with_mask(proc, mask, lambda: _poll(proc, fds, nfds, timeout))


def _poll(proc, fds, nfds, timeout) -> int:
    nfds = u32(nfds)
    if nfds > MAX_FDS:
        raise OSError(errno.EINVAL, "Invalid argument")
    raw = proc.read(fds, 8 * nfds)
    entries = [struct.unpack_from("<ihh", raw, 8 * i) for i in range(nfds)]
    limit = _until(proc, timeout)

    def answer() -> list[int]:
        out = []
        for fd, events, _ in entries:
            if fd < 0:
                out.append(0)
            elif fd not in proc.fds:
                out.append(abi.POLLNVAL)
            else:
                out.append(proc.fds[fd][0].ready(events | abi.POLLERR | abi.POLLHUP))
        return out

    def report(revents: list[int]) -> int:
        proc.write(fds, b"".join(struct.pack("<ihh", fd, ev, r)
                                 for (fd, ev, _), r in zip(entries, revents, strict=True)))
        return sum(1 for r in revents if r)

    if limit is None or time.monotonic() < limit:
        proc.runtime.wait_until(proc, lambda: any(answer()), "a poll", until=limit,
                                expired=lambda: report([0] * len(entries)), restartable=False)
    return report(answer())


def sys_poll(proc, fds, nfds, timeout_ms, *_):
    timeout_ms = s32(timeout_ms)
    if timeout_ms < 0:
        return _poll(proc, fds, nfds, 0)
    scratch = proc.heap.mmap(16)
    try:
        proc.write(scratch, abi.pack_timespec(timeout_ms * 10**6))
        return _poll(proc, fds, nfds, scratch)
    finally:
        proc.heap.munmap(scratch, 16)


_SELECTED = (abi.POLLIN | abi.POLLHUP | abi.POLLERR, abi.POLLOUT | abi.POLLERR, abi.POLLPRI)


def _select(proc, nfds, sets: tuple[int, int, int], limit: float | None) -> int:
    """select's three fd_sets (read, write, except) at `sets`, answered in place."""
    nfds = s32(nfds)
    if nfds < 0 or nfds > MAX_FDS:
        raise OSError(errno.EINVAL, "Invalid argument")
    size = (nfds + 63) // 64 * 8
    wanted = [int.from_bytes(proc.read(a, size), "little") if a and size else 0 for a in sets]
    fds = [fd for fd in range(nfds) if any(w >> fd & 1 for w in wanted)]
    if any(fd not in proc.fds for fd in fds):
        raise OSError(errno.EBADF, "Bad file descriptor")

    def answer() -> list[int]:
        found = [0, 0, 0]
        for fd in fds:
            ready = proc.fds[fd][0].ready(abi.POLLIN | abi.POLLOUT | abi.POLLPRI)
            for i, events in enumerate(_SELECTED):
                if wanted[i] >> fd & 1 and ready & events:
                    found[i] |= 1 << fd
        return found

    def report(found: list[int]) -> int:
        for addr, bits in zip(sets, found, strict=True):
            if addr and size:
                proc.write(addr, bits.to_bytes(size, "little"))
        return sum(bin(bits).count("1") for bits in found)

    if limit is None or time.monotonic() < limit:
        proc.runtime.wait_until(proc, lambda: any(answer()), "a select", until=limit,
                                expired=lambda: report([0, 0, 0]), restartable=False)
    return report(answer())


def sys_select(proc, nfds, readfds, writefds, exceptfds, timeout, *_):
    return _select(proc, nfds, (readfds, writefds, exceptfds), _until(proc, timeout, True))


def sys_pselect6(proc, nfds, readfds, writefds, exceptfds, timeout, mask_arg):
    """The sixth argument points to {sigset pointer, its size}."""
    mask_addr = 0
    if mask_arg:
        mask_addr, size = struct.unpack("<QQ", proc.read(mask_arg, 16))   # two syscall args
        if mask_addr:
            _sigset_size(size)
    limit = _until(proc, timeout)
    return _waiting_with_mask(
        proc, mask_addr, lambda: _select(proc, nfds, (readfds, writefds, exceptfds), limit))


def sys_fsync(proc, fd, *_):
    """Nothing lies below memory to write back to; what is no file has nothing to sync."""
    d = proc.description(fd)
    if d.flags & abi.O_PATH:
        raise OSError(errno.EBADF, "Bad file descriptor")
    if not isinstance(d, TreeFile):
        raise OSError(errno.EINVAL, "Invalid argument")
    return 0


# -- memory ------------------------------------------------------------------------------
def sys_brk(proc, addr, *_):
    return proc.heap.set_brk(addr & _U32)


def sys_mmap(proc, addr, length, prot, flags, fd, offset):
    """Private memory, and private copies of tree files; Linux's checks in Linux's order,
    then what needs memory shared with the host: ENODEV (a file's MAP_SHARED) and
    ENOMEM (MAP_FIXED: this heap places every mapping itself)."""
    flags = u32(flags)
    kind = flags & abi.MAP_TYPE
    if kind not in (abi.MAP_SHARED, abi.MAP_PRIVATE, abi.MAP_SHARED_VALIDATE) or offset % 4096:
        raise OSError(errno.EINVAL, "Invalid argument")
    anonymous = flags & abi.MAP_ANONYMOUS
    if anonymous and kind == abi.MAP_SHARED_VALIDATE:
        raise OSError(errno.EINVAL, "Invalid argument")
    d = None if anonymous else proc.description(fd)          # EBADF first
    if kind == abi.MAP_SHARED_VALIDATE and flags & ~abi.KNOWN_MAP_FLAGS:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")
    if d is not None and flags & abi.MAP_GROWSDOWN:           # only anonymous memory grows down
        raise OSError(errno.EINVAL, "Invalid argument")
    if d is not None and flags & abi.MAP_SYNC:                # needs a DAX file
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")
    if d is not None and not (isinstance(d, TreeFile) and isinstance(d.node, File)):
        raise OSError(errno.ENODEV, "No such device")           # a pipe, a socket, a directory
    if d is not None and not d.readable:
        raise OSError(errno.EACCES, "Permission denied")
    if kind != abi.MAP_PRIVATE and d is not None:
        raise OSError(errno.ENODEV, "shared file mappings need the host back end")
    if flags & (abi.MAP_FIXED | abi.MAP_FIXED_NOREPLACE):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")
    start = proc.heap.mmap(length & _U32)
    if d is not None:
        proc.write(start, d.pread(length & _U32, offset))
    return start


def sys_munmap(proc, addr, length, *_):
    proc.heap.munmap(addr & _U32, length & _U32)
    return 0


def sys_mremap(proc, old, old_len, new_len, flags, *_):
    old, old_len, new_len = old & _U32, old_len & _U32, new_len & _U32
    if not u32(flags) & 1:           # MREMAP_MAYMOVE: growing in place is not offered
        raise OSError(errno.ENOMEM, "Cannot allocate memory")
    new = proc.heap.mmap(new_len)
    proc.write(new, proc.read(old, min(old_len, new_len)))
    proc.heap.munmap(old, old_len)
    return new


def sys_nothing(proc, *_):
    """Accepted and done, as far as one thread with no signals from outside can tell
    (mprotect, madvise, sigaction, sigprocmask, set_robust_list...)."""
    return 0


def _sigset_size(size: int) -> None:
    if u32(size) != 8:
        raise OSError(errno.EINVAL, "Invalid argument")


def sys_rt_sigaction(proc, sig, act, oact, size, *_):
    sig = s32(sig)
    _sigset_size(size)
    if not 1 <= sig <= 64:
        raise OSError(errno.EINVAL, "Invalid argument")
    old = signals.action(proc, sig)
    if act:
        if sig in (signals.SIGKILL, signals.SIGSTOP):
            raise OSError(errno.EINVAL, "Invalid argument")
        handler, flags, _, mask = signals.KSIGACTION.unpack(
            proc.read(act, signals.KSIGACTION.size))
        proc.actions[sig] = (handler, flags, mask & ~signals.UNBLOCKABLE)
        if signals.ignored(proc, sig):
            signals.discard(proc, sig)       # POSIX: discarded, blocked or not
        signals.settle(proc)
    if oact:
        proc.write(oact, signals.KSIGACTION.pack(old[0], old[1], 0, old[2]))
    return 0


def _changed_mask(proc) -> None:
    signals.settle(proc)
    if proc.status is not None:           # a pending signal's default action ended it
        raise CageEnded()


def sys_rt_sigprocmask(proc, how, new, old, size, *_):
    _sigset_size(size)
    if new and s32(how) not in (0, 1, 2):
        raise OSError(errno.EINVAL, "Invalid argument")
    if old:
        proc.write(old, struct.pack("<Q", proc.signal_mask))
    if new:
        (mask,) = struct.unpack("<Q", proc.read(new, 8))
        mask &= ~signals.UNBLOCKABLE
        how = s32(how)
        if how == 0:
            proc.signal_mask |= mask
        elif how == 1:
            proc.signal_mask &= ~mask
        elif how == 2:
            proc.signal_mask = mask
        else:
            raise OSError(errno.EINVAL, "Invalid argument")
        _changed_mask(proc)
    return 0


def sys_rt_sigpending(proc, out, size, *_):
    """The signals sent and held back by the mask."""
    if u32(size) > 8:
        raise OSError(errno.EINVAL, "Invalid argument")
    held = sum(signals.bit(s) for s in proc.pending) & proc.signal_mask
    proc.write(out, held.to_bytes(8, "little")[:u32(size)])
    return 0


def sys_rt_sigsuspend(proc, mask_addr, *_):
    """Wait with the mask `mask_addr` until a handler is to run: EINTR, the handler
    runs with that mask, and the old one comes back when it returns."""
    def wait() -> int:
        proc.runtime.wait_until(proc, lambda: False, "a signal", restartable=False)
        return 0                    # not reached: only a signal (EINTR) ends the wait

    return _waiting_with_mask(proc, mask_addr, wait)


_STACK_T = struct.Struct("<III")            # a wasm32 stack_t: ss_sp, ss_flags, ss_size
_SS_ONSTACK, _SS_DISABLE, _SS_AUTODISARM = 1, 2, 1 << 31
_MINSIGSTKSZ = 2048


def sys_sigaltstack(proc, new, old, *_):
    """The alternate stack handlers with SA_ONSTACK run on (signals.take)."""
    sp, flags, size = proc.altstack
    if old:
        shown = _SS_ONSTACK if signals.on_altstack(proc) else flags
        proc.write(old, _STACK_T.pack(sp, shown, size))
    if new:
        if signals.on_altstack(proc):
            raise OSError(errno.EPERM, "Operation not permitted")
        sp, flags, size = _STACK_T.unpack(proc.read(new, _STACK_T.size))
        mode = flags & ~_SS_AUTODISARM
        if mode not in (0, _SS_ONSTACK, _SS_DISABLE):
            raise OSError(errno.EINVAL, "Invalid argument")
        if mode == _SS_DISABLE:
            proc.altstack = (0, _SS_DISABLE, 0)
        else:
            if size < _MINSIGSTKSZ:
                raise OSError(errno.ENOMEM, "Cannot allocate memory")
            proc.altstack = (sp, flags & _SS_AUTODISARM, size)
    return 0


def sys_pause(proc, *_):
    proc.runtime.wait_until(proc, lambda: False, "a signal", restartable=False)
    return 0


def sys_signal_word(proc, mine, anyone, *_):
    """Where the guest's libc reads whether a handler is to run (signals.c): one thread,
    so the thread's word and the process's alike."""
    proc.signal_words = (u32(mine), u32(anyone) or u32(mine))
    signals.show(proc)
    return 0


def sys_next_signal(proc, frame, *_):
    taken = signals.take(proc)
    if taken is None:
        return 0
    sig, data = taken
    proc.write(frame, data)
    return sig


_ITIMERVAL = struct.Struct("<qqqq")      # wasm32 struct itimerval: interval, then value


def _timer_left(proc) -> bytes:
    due, interval = proc.runtime.timers.get(proc, (0.0, 0.0))
    left = max(0.0, due - time.monotonic()) if due else 0.0
    if due and left == 0.0:
        left = 1e-6                       # due, not yet fired: not "disarmed"
    return _ITIMERVAL.pack(int(interval), int(interval % 1 * 1e6), int(left),
                           int(left % 1 * 1e6))


def sys_setitimer(proc, which, new, old, *_):
    """ITIMER_REAL: SIGALRM when it runs out, then every interval (alarm uses it)."""
    if s32(which) != 0:
        raise OSError(errno.EINVAL, "only ITIMER_REAL on the cooperative runtime")
    if new:
        i_sec, i_usec, v_sec, v_usec = _ITIMERVAL.unpack(proc.read(new, _ITIMERVAL.size))
        if min(i_sec, i_usec, v_sec, v_usec) < 0 or max(i_usec, v_usec) >= 10**6:
            raise OSError(errno.EINVAL, "Invalid argument")
    if old:
        proc.write(old, _timer_left(proc))
    if new:
        due = time.monotonic() + v_sec + v_usec / 1e6 if v_sec or v_usec else None
        proc.runtime.set_timer(proc, due, i_sec + i_usec / 1e6)
    return 0


def sys_getitimer(proc, which, current, *_):
    if s32(which) != 0:
        raise OSError(errno.EINVAL, "only ITIMER_REAL on the cooperative runtime")
    proc.write(current, _timer_left(proc))
    return 0


def sys_alarm(proc, seconds, *_):
    due, _ = proc.runtime.timers.get(proc, (0.0, 0.0))
    left = round(max(0.0, due - time.monotonic())) if due else 0
    proc.runtime.set_timer(proc, time.monotonic() + u32(seconds) if u32(seconds) else None)
    return left


# -- processes ---------------------------------------------------------------------------
def sys_fork(proc, *_):
    rewound = proc.rewound()
    if rewound is not None:
        return rewound
    return proc.runtime.fork(proc)


def sys_setjmp(proc, env, *_):
    rewound = proc.rewound()
    if rewound is not None:
        return rewound

    def keep() -> None:
        proc.save_jump_point(env)
        proc.resume_with(0)

    return proc.unwind_then(keep)


def sys_longjmp(proc, env, value, *_):
    def jump() -> None:
        if not proc.restore_jump_point(env):
            proc.runtime.stderr(b"lind: longjmp to a jmp_buf no setjmp filled\n")
            proc.end(abi.signal_status(11))
            return
        proc.resume_with(s32(value) or 1)

    return proc.unwind_then(jump)


def sys_spawn(proc, plan, size, *_):
    size = u32(size)
    if size > 4 << 20:
        raise OSError(errno.E2BIG, "Argument list too long")
    return proc.runtime.spawn(proc, proc.read(plan, size))


def sys_spawn_plan(proc, buf, size, *_):
    plan = proc.spawn_plan
    if plan is None:
        raise OSError(errno.ENOENT, "not a spawned child")
    if u32(size) < len(plan):
        return len(plan)
    proc.write(buf, plan)
    proc.spawn_plan = None
    return len(plan)


def sys_execve(proc, path, argv, envp, *_):
    target = full_path(proc, abi.AT_FDCWD, proc.string(path))
    args, env = proc.strings(argv), proc.strings(envp) if envp else []
    proc.runtime.execve(proc, target, args, env)
    return 0


def sys_exit(proc, code, *_):
    proc.end(abi.exit_status(code & 0xFF))
    raise CageEnded()


def sys_kill(proc, pid, sig, *_, code: int = 0, info: bytes | None = None):
    pid, sig = s32(pid), s32(sig)
    if not 0 <= sig <= 64:
        raise OSError(errno.EINVAL, "Invalid argument")
    live = [p for p in proc.runtime.processes.values() if p.status is None]
    if pid == -1:                         # everyone it may signal: the run's other cages
        targets = [p for p in live if p is not proc]
    elif pid <= 0:                        # a process group: the caller's, or -pid
        group = proc.pgid if pid == 0 else -pid
        targets = [p for p in live if p.pgid == group]
    else:
        targets = [p for p in live if p.pid == pid]
    if not targets:
        raise OSError(errno.ESRCH, "No such process")
    for target in targets:
        signals.post(target, sig, proc.pid, code, info=info)
    if proc.status is not None:
        raise CageEnded()
    return 0


def sys_tkill(proc, tid, sig, *_):
    """tkill and tgkill: one thread a process here, its id the pid."""
    return sys_kill(proc, tid, sig, code=signals.SI_TKILL)


def sys_rt_sigqueueinfo(proc, pid, sig, uinfo, *_):
    """sigqueue: the sender's siginfo as given (a code below 0 unless to itself)."""
    if not 0 <= s32(sig) <= 64:
        raise OSError(errno.EINVAL, "Invalid argument")
    if s32(pid) <= 0:                     # one process, never a group
        raise OSError(errno.ESRCH, "No such process")
    raw = proc.read(uinfo, signals.SIGINFO_SIZE)
    (code,) = struct.unpack_from("<i", raw, 8)
    if code >= 0 and s32(pid) != proc.pid:
        raise OSError(errno.EPERM, "Operation not permitted")
    return sys_kill(proc, pid, sig, code=code, info=struct.pack("<i", s32(sig)) + raw[4:])


def sys_rt_sigtimedwait(proc, set_addr, info_addr, timeout, size, *_):
    """Take a signal of the set that is pending (blocked, so not handled), waiting for
    one until the timeout (EAGAIN); a handler's signal meanwhile is EINTR."""
    _sigset_size(size)
    (wanted,) = struct.unpack("<Q", proc.read(set_addr, 8))
    wanted &= ~signals.UNBLOCKABLE
    limit = _until(proc, timeout)

    def ready() -> int:
        return next((s for s in sorted(proc.pending) if wanted & signals.bit(s)), 0)

    if not ready():
        if limit is not None and time.monotonic() >= limit:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        proc.runtime.wait_until(proc, lambda: bool(ready()), "a signal", until=limit,
                                expired=lambda: -abi.linux_errno(errno.EAGAIN),
                                restartable=False)
        if not ready():
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
    sig = ready()
    siginfo = signals.pop(proc, sig)
    signals.show(proc)
    if info_addr:
        proc.write(info_addr, siginfo)
    return sig


def sys_tgkill(proc, tgid, tid, sig, *_):
    if s32(tgid) != s32(tid):
        raise OSError(errno.ESRCH, "No such process")
    return sys_kill(proc, tid, sig, code=signals.SI_TKILL)


def sys_getpid(proc, *_):
    return proc.pid


def _process(proc, pid: int):
    pid = s32(pid)
    found = proc if pid == 0 else proc.runtime.processes.get(pid)
    if found is None or found.reaped or pid < 0:
        raise OSError(errno.ESRCH, "No such process")
    return found


def sys_setpgid(proc, pid, pgid, *_):
    """Into a group of its session (or a new one named after it): the caller or a child
    of its own that has not exec'd... as Linux, less the exec rule."""
    target = _process(proc, pid)
    pgid = s32(pgid) or target.pid
    if pgid < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    if target is not proc and target.parent is not proc:
        raise OSError(errno.ESRCH, "No such process")
    if target.sid == target.pid or target.sid != proc.sid:
        raise OSError(errno.EPERM, "Operation not permitted")
    if pgid != target.pid and not any(p.pgid == pgid and p.sid == proc.sid and p.status is None
                                      for p in proc.runtime.processes.values()):
        raise OSError(errno.EPERM, "Operation not permitted")
    target.pgid = pgid
    return 0


def sys_getpgid(proc, pid, *_):
    return _process(proc, pid).pgid


def sys_getpgrp(proc, *_):
    return proc.pgid


def sys_setsid(proc, *_):
    if proc.pgid == proc.pid:
        raise OSError(errno.EPERM, "Operation not permitted")
    proc.sid = proc.pgid = proc.pid
    return proc.pid


def sys_getsid(proc, pid, *_):
    return _process(proc, pid).sid


def sys_getppid(proc, *_):
    return proc.parent.pid if proc.parent is not None else 0


def sys_set_tid_address(proc, *_):
    return proc.pid


def sys_uname(proc, buf, *_):
    fields = [b"Linux", b"lind", b"6.6.0-lind", b"#1 Lind portable", b"wasm32", b"(none)"]
    proc.write(buf, b"".join(f.ljust(65, b"\0") for f in fields))
    return 0


def sys_getrandom(proc, buf, count, *_):
    count = min(count & _U32, 1 << 20)
    proc.write(buf, os.urandom(count))
    return count


def sys_sched_yield(proc, *_):
    if proc.runtime.runnable:
        proc.runtime.step(proc.runtime.runnable.popleft())
    return 0


def sys_futex(proc, addr, op, value, timeout, *_):
    """One thread per cage and no memory shared between cages: nothing can change the
    word while its cage waits, so a wait ends at its timeout (ETIMEDOUT), with a caught
    signal (EINTR), or, with neither to come, as a deadlock (EDEADLK). A wake has
    nobody to wake."""
    command = u32(op) & 0x7F
    if command not in (0, 9):          # FUTEX_WAIT, FUTEX_WAIT_BITSET
        return 0

    def unchanged() -> bool:
        return struct.unpack("<I", proc.read(addr, 4))[0] == u32(value)

    if not unchanged():
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
    limit = _until(proc, timeout)
    if limit is not None and command == 9:          # an absolute time on the op's clock
        clock = 0 if u32(op) & 256 else 1           # FUTEX_CLOCK_REALTIME, else MONOTONIC
        limit -= time.monotonic() + _now_ns(proc, clock) / 1e9 - time.monotonic()
    timed_out = -abi.linux_errno(errno.ETIMEDOUT)
    if not proc.runtime.wait_until(proc, lambda: not unchanged(), "a futex", until=limit,
                                   expired=lambda: timed_out):
        raise OSError(errno.ETIMEDOUT, "Connection timed out")
    return 0


def sys_clone(proc, *_):
    raise OSError(errno.ENOSYS, "threads need the threaded runtime")


# -- time ------------------------------------------------------------------------------------
def _now_ns(proc, clock: int) -> int:
    if clock in _CLOCK_MONOTONIC_IDS:
        return time.monotonic_ns()
    if clock in (2, 3):                   # CPU time of the process, of the thread (clock())
        return proc.runtime.cpu_time(proc)
    if clock in (0, 5, 6, 8, 9, 11):
        return time.time_ns()
    raise OSError(errno.EINVAL, "Invalid argument")


def sys_clock_gettime(proc, clock, ts, *_):
    proc.write(ts, abi.pack_timespec(_now_ns(proc, s32(clock))))
    return 0


def sys_clock_getres(proc, clock, ts, *_):
    _now_ns(proc, s32(clock))
    if ts:
        proc.write(ts, abi.pack_timespec(1000))
    return 0


def sys_gettimeofday(proc, tv, tz, *_):
    now = time.time_ns()
    if tv:
        proc.write(tv, struct.pack("<qq", now // 10**9, now % 10**9 // 1000))
    return 0


def _sleep(proc, ns: int) -> int:
    """Sleep `ns`, letting the other cages run meanwhile."""
    proc.runtime.wait_until(proc, lambda: False, "a sleep to end",
                            until=time.monotonic() + ns / 1e9, expired=lambda: 0,
                            restartable=False)
    return 0


def sys_nanosleep(proc, req, rem, *_):
    sec, nsec = abi.unpack_timespec(proc.read(req, 16))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise OSError(errno.EINVAL, "Invalid argument")
    return _sleep(proc, sec * 10**9 + nsec)


def sys_clock_nanosleep(proc, clock, flags, req, rem, *_):
    sec, nsec = abi.unpack_timespec(proc.read(req, 16))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise OSError(errno.EINVAL, "Invalid argument")
    ns = sec * 10**9 + nsec
    if u32(flags) & 1:                   # TIMER_ABSTIME
        ns = max(0, ns - _now_ns(proc, s32(clock)))
    return _sleep(proc, ns)


NAMES: dict[int, str] = {}
TABLE: dict[int, Callable[..., int]] = {}


def register(entries: dict[str, tuple[int, Callable[..., int]]]) -> None:
    for name, (nr, impl) in entries.items():
        NAMES[nr] = name
        TABLE[nr] = impl


register({
    "read": (0, sys_read), "write": (1, sys_write), "open": (2, sys_open),
    "close": (3, sys_close), "stat": (4, sys_stat), "fstat": (5, sys_fstat),
    "lstat": (6, sys_lstat), "poll": (7, sys_poll), "lseek": (8, sys_lseek),
    "mmap": (9, sys_mmap), "mprotect": (10, sys_nothing), "munmap": (11, sys_munmap),
    "brk": (12, sys_brk), "rt_sigaction": (13, sys_rt_sigaction),
    "rt_sigprocmask": (14, sys_rt_sigprocmask), "ioctl": (16, sys_ioctl),
    "pread64": (17, sys_pread64), "pwrite64": (18, sys_pwrite64), "readv": (19, sys_readv),
    "writev": (20, sys_writev), "access": (21, sys_access), "pipe": (22, sys_pipe),
    "sched_yield": (24, sys_sched_yield), "mremap": (25, sys_mremap),
    "madvise": (28, sys_nothing), "dup": (32, sys_dup), "dup2": (33, sys_dup2),
    "nanosleep": (35, sys_nanosleep), "getpid": (39, sys_getpid),
    "clone": (56, sys_clone), "fork": (57, sys_fork), "execve": (59, sys_execve),
    "exit": (60, sys_exit), "kill": (62, sys_kill),
    "uname": (63, sys_uname), "fcntl": (72, sys_fcntl), "flock": (73, sys_flock), "fsync": (74, sys_fsync),
    "fdatasync": (75, sys_fsync), "truncate": (76, sys_truncate),
    "ftruncate": (77, sys_ftruncate), "getcwd": (79, sys_getcwd), "chdir": (80, sys_chdir),
    "fchdir": (81, sys_fchdir), "rename": (82, sys_rename), "mkdir": (83, sys_mkdir),
    "rmdir": (84, sys_rmdir), "creat": (85, sys_creat), "unlink": (87, sys_unlink),
    "link": (86, sys_link), "symlink": (88, sys_symlink), "readlink": (89, sys_readlink),
    "chmod": (90, sys_chmod),
    "fchmod": (91, sys_fchmod), "umask": (95, sys_umask),
    "gettimeofday": (96, sys_gettimeofday),
    "setpgid": (109, sys_setpgid), "getppid": (110, sys_getppid),
    "getpgrp": (111, sys_getpgrp), "setsid": (112, sys_setsid), "getpgid": (121, sys_getpgid),
    "getsid": (124, sys_getsid), "sigaltstack": (131, sys_sigaltstack),
    "gettid": (186, sys_getpid), "futex": (202, sys_futex),
    "getdents64": (217, sys_getdents64), "set_tid_address": (218, sys_set_tid_address),
    "clock_gettime": (228, sys_clock_gettime), "clock_getres": (229, sys_clock_getres),
    "clock_nanosleep": (230, sys_clock_nanosleep), "exit_group": (231, sys_exit),
    "openat": (257, sys_openat), "mkdirat": (258, sys_mkdirat),
    "newfstatat": (262, sys_newfstatat), "unlinkat": (263, sys_unlinkat),
    "renameat": (264, sys_renameat), "linkat": (265, sys_linkat),
    "symlinkat": (266, sys_symlinkat),
    "readlinkat": (267, sys_readlinkat), "fchmodat": (268, sys_fchmodat),
    "faccessat": (269, sys_faccessat), "ppoll": (271, sys_ppoll),
    "set_robust_list": (273, sys_nothing), "dup3": (292, sys_dup3),
    "pipe2": (293, sys_pipe2),
    "getrandom": (318, sys_getrandom), "statx": (332, sys_statx),
    "faccessat2": (439, sys_faccessat), "fchmodat2": (452, sys_fchmodat),
    "renameat2": (316, sys_renameat2), "chown": (92, sys_chown), "fchown": (93, sys_fchown),
    "lchown": (94, sys_lchown), "fchownat": (260, sys_fchownat), "utime": (132, sys_utime),
    "utimes": (235, sys_utimes), "futimesat": (261, sys_futimesat),
    "utimensat": (280, sys_utimensat), "fallocate": (285, sys_fallocate),
    "memfd_create": (319, sys_memfd_create),
    "statfs": (137, sys_statfs), "fstatfs": (138, sys_fstatfs),
    "preadv": (295, sys_preadv), "pwritev": (296, sys_pwritev), "preadv2": (327, sys_preadv2),
    "pwritev2": (328, sys_pwritev2), "close_range": (436, sys_close_range),
    "copy_file_range": (326, sys_copy_file_range), "sendfile": (40, sys_sendfile),
    "setjmp": (_SYS_SETJMP, sys_setjmp), "longjmp": (_SYS_LONGJMP, sys_longjmp),
    "signal_word": (_SYS_SIGNAL_WORD, sys_signal_word),
    "next_signal": (_SYS_NEXT_SIGNAL, sys_next_signal), "pause": (34, sys_pause),
    "getitimer": (36, sys_getitimer), "alarm": (37, sys_alarm),
    "setitimer": (38, sys_setitimer), "rt_sigsuspend": (130, sys_rt_sigsuspend),
    "rt_sigpending": (127, sys_rt_sigpending), "mknod": (133, sys_mknod),
    "mknodat": (259, sys_mknodat), "rt_sigtimedwait": (128, sys_rt_sigtimedwait),
    "rt_sigqueueinfo": (129, sys_rt_sigqueueinfo), "select": (23, sys_select),
    "pselect6": (270, sys_pselect6),
    "tkill": (200, sys_tkill), "tgkill": (234, sys_tgkill),
    "spawn": (abi.SPAWN, sys_spawn), "spawn_plan": (abi.SPAWN_PLAN, sys_spawn_plan),
    "setxattr": (188, sys_xattr), "lsetxattr": (189, sys_lxattr), "fsetxattr": (190, sys_fxattr),
    "getxattr": (191, sys_xattr), "lgetxattr": (192, sys_lxattr), "fgetxattr": (193, sys_fxattr),
    "listxattr": (194, sys_listxattr), "llistxattr": (195, sys_llistxattr),
    "flistxattr": (196, sys_flistxattr), "removexattr": (197, sys_xattr),
    "lremovexattr": (198, sys_lxattr), "fremovexattr": (199, sys_fxattr),
})
