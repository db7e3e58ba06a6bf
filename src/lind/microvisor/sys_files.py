"""File system calls: paths resolve through the cage's FileSystem, fds through its FdTable.

Every handler has the 3i shape `(cage, a1..a6) -> int`; errors are raised as OSError
and turned into -errno by the trampoline.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import select
import signal
import stat as statmod
import struct
import termios
import threading
import time
from collections.abc import Callable

from lind.microvisor import abi, limits, lock_ranges, ptys, shared_pages, sys_locks, virtual
from lind.microvisor.abi import s32, u32
from lind.microvisor.fdtable import (
    MemFile,
    NonBlockingHostFile,
    OpenFile,
    own_description,
    ready_now,
)
from lind.microvisor.fs import join, libc, proc_path, wants_write


def read_path(cage, addr: int) -> str:
    """A path argument from cage memory; empty paths are ENOENT as on Linux."""
    if addr == 0:
        raise abi.error(errno.EFAULT)
    raw = cage.mem.cstring(addr, abi.PATH_MAX - 1)
    if not raw:
        raise abi.error(errno.ENOENT)
    return raw.decode("utf-8", "surrogateescape")


def at_path(cage, dirfd: int, path: str) -> str:
    """Absolute guest path of `path` taken relative to `dirfd` (the *at convention)."""
    if path.startswith("/") or s32(dirfd) == abi.AT_FDCWD:
        return join(cage.cwd, path)
    f = cage.fds.get(s32(dirfd))
    if not f.is_dir:
        raise abi.error(errno.ENOTDIR)
    return join(f.path, path)


def _need_directory(cage, guest_path: str) -> None:
    """ENOENT or ENOTDIR unless `guest_path` leads (through links) to a directory."""
    if not statmod.S_ISDIR(_stat_path(cage, guest_path, True).st_mode):
        raise abi.error(errno.ENOTDIR)


def path_and_slash(cage, addr: int, dirfd: int = abi.AT_FDCWD) -> tuple[str, bool]:
    """A path argument as an absolute normalised guest path, and whether it may only
    name a directory (it ends in `/`, `/.` or `/..`).

    Paths are folded lexically, so what the kernel finds on its walk is checked here:
    each directory a `..` steps out of must exist and be one (`f/..` is ENOTDIR,
    `missing/..` ENOENT)."""
    return fold_path(cage, read_path(cage, addr), dirfd)


def fold_path(cage, raw: str, dirfd: int = abi.AT_FDCWD) -> tuple[str, bool]:
    path = at_path(cage, dirfd, raw)
    for left in stepped_out_of(raw):
        _need_directory(cage, at_path(cage, dirfd, left))
    return path, raw.endswith(("/", "/.", "/.."))


def stepped_out_of(raw: str) -> list[str]:
    """The leading parts of a path that its `..`s step out of: each must be a directory
    (the kernel's walk finds that; folding the path lexically does not)."""
    if ".." not in raw:
        return []
    parts = raw.split("/")
    return ["/".join(parts[:i]) for i, part in enumerate(parts)
            if part == ".." and any(p not in ("", ".", "..") for p in parts[:i])]


def _new_name(cage, addr: int, dirfd: int = abi.AT_FDCWD) -> str:
    """The name a link or symlink is to get: "name/" cannot be one (EEXIST or ENOENT)."""
    path, dir_only = path_and_slash(cage, addr, dirfd)
    if dir_only:
        _stat_path(cage, path, False)      # ENOENT if there is nothing
        raise abi.error(errno.EEXIST)
    return path


def path_arg(cage, addr: int, dirfd: int = abi.AT_FDCWD) -> str:
    """A path argument (see path_and_slash); one that ends in `/` must be a directory."""
    path, dir_only = path_and_slash(cage, addr, dirfd)
    if dir_only:
        _need_directory(cage, path)
    return path


def lookup_arg(cage, addr: int, dirfd: int, follow: bool) -> tuple[str, bool]:
    """The path argument of a call that may leave a final symlink unfollowed (lstat,
    lchown, readlink, *at with AT_SYMLINK_NOFOLLOW), and whether it follows it: one
    ending in `/` names the directory a link leads to, as the kernel's walk goes through
    a final link then (`lstat("link/")` is the directory)."""
    path, dir_only = path_and_slash(cage, addr, dirfd)
    if dir_only:
        _need_directory(cage, path)
    return path, follow or dir_only


def _unlink_path(cage, addr: int, dirfd: int = abi.AT_FDCWD) -> str:
    """unlink's path: "name/" is never a file it removes -- EISDIR for a directory,
    ENOTDIR for anything else (a link to a directory too), ENOENT for nothing."""
    path, dir_only = path_and_slash(cage, addr, dirfd)
    if dir_only and _exists_apart(cage, path):     # "/dev/shm/..": what removing it says
        _need_directory(cage, path)
    elif dir_only:
        kind = _stat_path(cage, path, False).st_mode
        raise abi.error(errno.EISDIR if statmod.S_ISDIR(kind) else errno.ENOTDIR)
    return path


# ---------------------------------------------------------------- open/close

def _open(cage, guest_path: str, dir_only: bool, flags: int, mode: int, hops: int = 0) -> int:
    flags &= ~abi.O_LARGEFILE
    if dir_only:       # "name/": a directory, which open never creates
        if flags & abi.O_CREAT:
            raise abi.error(errno.EISDIR)
        flags |= abi.O_DIRECTORY
    if flags & abi.O_TMPFILE == abi.O_TMPFILE:
        raise abi.error(errno.EOPNOTSUPP)
    if (flags & (abi.O_ACCMODE | abi.O_TRUNC) and not flags & abi.O_PATH
            and virtual.names_running_program(cage, guest_path)):
        raise abi.error(errno.ETXTBSY)
    try:
        found = virtual.lookup(cage, guest_path, follow=not flags & abi.O_NOFOLLOW)
    except FileNotFoundError:
        if flags & abi.O_CREAT:
            raise abi.error(errno.EACCES) from None   # no new names in /dev or /proc/self
        raise
    if not isinstance(found, str):
        f = virtual.open_node(cage, found, flags)
        return cage.fds.install(f, cloexec=bool(flags & abi.O_CLOEXEC))
    guest_path = found
    if flags & abi.O_PATH:
        host = os.O_PATH | os.O_CLOEXEC | (os.O_NOFOLLOW if flags & abi.O_NOFOLLOW else 0)
        host |= os.O_DIRECTORY if flags & abi.O_DIRECTORY else 0
        fd = cage.fs.open(guest_path, host)
        return _install(cage, fd, flags, guest_path)
    host = abi.host_open_flags(flags)
    perm = abi.host_permissions(mode, False) & ~cage.umask
    created = False
    st_mode = None
    if flags & abi.O_CREAT:
        # Try exclusive creation first so we know whether to apply the cage's umask.
        try:
            fd, st_mode = cage.fs.open_file(guest_path, host | os.O_EXCL, perm, write=True)
            created = True
        except OSError as exc:
            # As on Linux, a read-only file system refuses only the creation: a name
            # that exists is EEXIST with O_EXCL, else opens as without O_CREAT.
            if exc.errno not in (errno.EEXIST, errno.EROFS):
                raise
            try:
                if flags & abi.O_EXCL:
                    if exc.errno == errno.EROFS:
                        os.close(cage.fs.open(guest_path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC))
                    raise abi.error(errno.EEXIST) from None
                write = bool(flags & abi.O_ACCMODE) or bool(flags & abi.O_TRUNC)
                fd, st_mode = _open_existing(cage, guest_path, host & ~os.O_CREAT, 0, write, flags)
                if statmod.S_ISDIR(st_mode):    # as Linux: O_CREAT of a directory, even to read
                    os.close(fd)
                    raise abi.error(errno.EISDIR)
            except FileNotFoundError:
                target = None if flags & abi.O_NOFOLLOW else _dangling_target(cage, guest_path)
                if target is None:
                    if exc.errno == errno.EROFS:
                        raise exc from None
                    raise
                # As Linux: O_CREAT through a dangling symlink makes the file it names,
                # found (and checked) as if the program had named it -- even when the
                # link itself lies on a read-only mount.
                if hops >= _MAXSYMLINKS:
                    raise abi.error(errno.ELOOP) from None
                return _open(cage, target, target.endswith("/"), flags, mode, hops + 1)
    else:
        fd, st_mode = _open_existing(cage, guest_path, host, perm, wants_write(flags), flags)
    if created:
        give_mode(fd, perm)
    return _install(cage, fd, flags, guest_path, st_mode)


_MAXSYMLINKS = 40


def _dangling_target(cage, guest_path: str) -> str | None:
    """The guest path a symlink at `guest_path` names (kept with a trailing `/`), or None
    if there is no symlink."""
    try:
        pfd, name = cage.fs.open_parent(guest_path, write=False)
    except OSError:
        return None
    try:
        text = os.fsdecode(os.readlink(name, dir_fd=pfd))
    except OSError:
        return None
    finally:
        os.close(pfd)
    target = join(guest_path.rsplit("/", 1)[0] or "/", text)
    return target + "/" if text.endswith("/") and target != "/" else target


def _open_existing(cage, guest_path: str, host: int, perm: int, write: bool,
                   flags: int) -> tuple[int, int]:
    """Host open of a name that may be a FIFO: always without blocking (O_NONBLOCK on a
    regular file or a directory changes nothing), then a FIFO's open waits as Linux's
    does, but interruptibly (_open_fifo). Returns the fd and the file's st_mode."""
    try:
        fd, st_mode = cage.fs.open_file(guest_path, host | os.O_NONBLOCK, perm, write=write)
    except OSError as exc:
        if exc.errno != errno.ENXIO or flags & abi.O_NONBLOCK:
            raise
        # A FIFO with no reader yet: the writer waits for one.
        handle = cage.fs.open(guest_path, os.O_PATH | os.O_CLOEXEC)
        try:
            return _open_fifo(cage, handle, host), statmod.S_IFIFO
        finally:
            os.close(handle)
    if st_mode is None:
        st_mode = os.fstat(fd).st_mode
    if write and statmod.S_ISREG(st_mode) and st_mode & (abi.S_ISUID | abi.S_ISGID):
        # What Linux does when a user without CAP_FSETID writes a set-ID file (the host
        # process, root, is exempt): the bits go before the cage can change the content.
        os.fchmod(fd, abi.host_permissions(st_mode, False))
    return _partner_awaited(cage, fd, host, flags, st_mode), st_mode


def _partner_awaited(cage, fd: int, host: int, flags: int, st_mode: int) -> int:
    """`fd` once open(2) may return: a FIFO opened without O_NONBLOCK waits for its
    partner (_fifo_blocking, which closes `fd` and returns the new one)."""
    if not flags & abi.O_NONBLOCK and statmod.S_ISFIFO(st_mode):
        return _fifo_blocking(cage, fd, host)
    return fd


def _fifo_blocking(cage, fd: int, host: int) -> int:
    """A FIFO opened without O_NONBLOCK (the host open never blocks, see _open): a
    reader waits for a writer, as on Linux (a writer's open found a reader, or it would
    have failed). Its host fd stays non-blocking (own_description): its reads and
    writes wait in the microvisor, as the cage's blocking asks."""
    if host & os.O_ACCMODE != os.O_RDONLY:
        return fd
    try:
        # Done too once our own reader `fd` is readable: a writer opened the FIFO (it
        # wrote, or came and went) while the helper's open was not yet waiting.
        new = _open_fifo(cage, fd, host, lambda: ready_now(fd, select.POLLIN))
    finally:
        os.close(fd)
    return new


_FIFO_RECHECK = 0.02    # seconds between looks at a waiting reader's own FIFO end


def _open_fifo(cage, handle: int, host: int, ready: Callable[[], bool] | None = None) -> int:
    """The blocking open of the FIFO `handle` names, made on a helper thread so that the
    cage's thread waits interruptibly: a signal or a kill ends the wait, and the helper is
    released by opening the other end without blocking. `ready` says the wait is over
    although the helper may not know it (a writer came before its open started)."""
    done = threading.Condition()
    result: list[int | OSError] = []
    flags = host & ~(os.O_NONBLOCK | os.O_CREAT | os.O_EXCL | os.O_TRUNC)

    def opener() -> None:
        try:
            out: int | OSError = os.open(proc_path(handle), flags)
        except OSError as exc:
            out = exc
        with done:
            result.append(out)
            done.notify_all()

    def release_helper() -> None:
        # Until the helper answers: its open may not have started when ours ends.
        other = os.O_RDONLY if flags & os.O_ACCMODE == os.O_WRONLY else os.O_WRONLY
        while not result:
            with contextlib.suppress(OSError):
                os.close(os.open(proc_path(handle), other | os.O_NONBLOCK | os.O_CLOEXEC))
            done.wait(_FIFO_RECHECK)

    helper = threading.Thread(target=opener, name="lind-fifo-open", daemon=True)
    with done:
        helper.start()
        try:
            while not result:
                if ready is not None and ready():
                    release_helper()
                    break
                cage.block_on(done, None if ready is None else _FIFO_RECHECK)
        except OSError:
            release_helper()
            if isinstance(result[0], int):
                os.close(result[0])
            raise
    if isinstance(result[0], OSError):
        raise result[0]
    return result[0]


def open_found(cage, host_fd: int, guest_path: str, flags: int, st_mode: int) -> int:
    """What open(2) does once the file is open (here, `host_fd`, opened without blocking
    by the trampoline at `guest_path`)."""
    host_fd = _partner_awaited(cage, host_fd, abi.host_open_flags(flags), flags, st_mode)
    return _install(cage, host_fd, flags, guest_path, st_mode)


def _install(cage, host_fd: int, flags: int, guest_path: str, st_mode: int | None = None) -> int:
    f = own_description(host_fd, flags & ~(abi.O_CLOEXEC | abi.O_CREAT | abi.O_EXCL | abi.O_TRUNC),
                        guest_path, st_mode=st_mode)
    return cage.fds.install(f, cloexec=bool(flags & abi.O_CLOEXEC))


def sys_open(cage, path, flags, mode, *_):
    return _open(cage, *path_and_slash(cage, path), u32(flags), u32(mode))


def sys_openat(cage, dirfd, path, flags, mode, *_):
    return _open(cage, *path_and_slash(cage, path, dirfd), u32(flags), u32(mode))


def sys_creat(cage, path, mode, *_):
    flags = abi.O_CREAT | abi.O_WRONLY | abi.O_TRUNC
    return _open(cage, *path_and_slash(cage, path), flags, u32(mode))


def sys_close(cage, fd, *_):
    cage.fds.close(s32(fd))
    return 0


def sys_pipe2(cage, fds, flags, *_):
    """A host pipe whose ends never block in the host: the trampoline reads and writes
    it, waiting interruptibly when the cage's end blocks, and the host kernel polls it."""
    flags = u32(flags)
    if flags & ~(abi.O_CLOEXEC | abi.O_NONBLOCK):
        raise abi.error(errno.EINVAL)
    cage.mem.view(fds, 8, writing=True)  # EFAULT before anything is created
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    status = flags & abi.O_NONBLOCK
    try:
        read_end = NonBlockingHostFile(read_fd, abi.O_RDONLY | status)
    except OSError:
        os.close(write_fd)
        raise
    read_end.read_blocking_too()
    try:
        write_end = NonBlockingHostFile(write_fd, abi.O_WRONLY | status)
    except OSError:
        read_end.release()
        raise
    cloexec = bool(flags & abi.O_CLOEXEC)
    try:
        rfd = cage.fds.install(read_end, cloexec)
    except OSError:
        write_end.release()
        raise
    try:
        wfd = cage.fds.install(write_end, cloexec)
    except OSError:
        cage.fds.close(rfd)
        raise
    cage.mem.write(fds, struct.pack("<ii", rfd, wfd))
    return 0


def sys_pipe(cage, fds, *_):
    return sys_pipe2(cage, fds, 0)


# ----------------------------------------------------------------- read/write

def _readable(f: OpenFile) -> None:
    """Raise the errno reading `f` gets, if any."""
    if f.flags & abi.O_ACCMODE not in (abi.O_RDONLY, abi.O_RDWR) or f.flags & abi.O_PATH:
        raise abi.error(errno.EBADF)      # (access mode 3 reads nothing, as on Linux)
    if f.is_dir:
        raise abi.error(errno.EISDIR)


def _file_size_room(cage, f: OpenFile, count: int, offset: int | None = None,
                    append: bool = False) -> int:
    """How much of a `count`-byte write at `offset` (None: at the file position) RLIMIT_FSIZE
    lets through. An O_APPEND file (even for pwrite, as Linux) and `append` (RWF_APPEND)
    write at the end, wherever `offset` points. As Linux: a regular file's write is cut
    short at the limit, and one that would start at or past it is EFBIG and raises
    SIGXFSZ; pipes, sockets and devices have no size. A memfd is charged for where the
    write ends (ENOSPC past the tree's memory budget)."""
    limit = cage.rlimit_fsize[0]
    if limit == limits.RLIM_INFINITY and not isinstance(f, MemFile) or not count:
        return count
    st = f.stat()
    if not statmod.S_ISREG(st.st_mode):
        return count
    if append or f.flags & abi.O_APPEND:
        offset = st.st_size
    elif offset is None:
        offset = f.position()
    if offset >= limit:
        cage.raise_signal(signal.SIGXFSZ)
        raise abi.error(errno.EFBIG)
    count = min(count, limit - offset)
    if isinstance(f, MemFile):
        f.sized(offset + count)
    return count


def new_size_allowed(cage, size: int) -> None:
    """truncate and fallocate past RLIMIT_FSIZE: EFBIG and SIGXFSZ, as Linux."""
    if size > cage.rlimit_fsize[0]:
        cage.raise_signal(signal.SIGXFSZ)
        raise abi.error(errno.EFBIG)


def _trimmed(views: list[memoryview], room: int) -> list[memoryview]:
    """The first `room` bytes of a vectored write."""
    out = []
    for view in views:
        if room <= 0:
            break
        out.append(view[:room])
        room -= len(view)
    return out


# The hot four: fd arguments arrive sign-extended, and FdTable.get rejects anything else.

def sys_read(cage, fd, buf, count, *_):
    f = cage.fds.get(fd)
    if not f.readable:
        _readable(f)
    return f.read(cage, buf, count)


def sys_write(cage, fd, buf, count, *_):
    f = cage.fds.get(fd)
    if not f.writable:
        raise abi.error(errno.EBADF)    # not open for writing (a directory never is)
    if cage.rlimit_fsize[0] != limits.RLIM_INFINITY or f.writes_checked:
        count = _file_size_room(cage, f, count)
    return f.write(cage, buf, count)


def _seekable(f: OpenFile) -> None:
    if not f.seekable():
        raise abi.error(errno.ESPIPE)


def sys_pread64(cage, fd, buf, count, offset, *_):
    f = cage.fds.get(fd)
    _seekable(f)   # before the access mode, as Linux: a pipe is ESPIPE, not EBADF
    if not f.readable:
        _readable(f)
    return f.pread(cage, buf, count, offset)


def sys_pwrite64(cage, fd, buf, count, offset, *_):
    f = cage.fds.get(fd)
    _seekable(f)
    if not f.writable:
        raise abi.error(errno.EBADF)    # not open for writing (a directory never is)
    if (cage.rlimit_fsize[0] != limits.RLIM_INFINITY or f.writes_checked) and offset >= 0:
        count = _file_size_room(cage, f, count, offset)
    return f.pwrite(cage, buf, count, offset)


def iovecs(cage, iov: int, iovcnt: int, writing: bool) -> list[memoryview]:
    """The buffers an iovec array names (`writing`: the call writes into them)."""
    iovcnt = s32(iovcnt)
    if not 0 <= iovcnt <= abi.IOV_MAX:
        raise abi.error(errno.EINVAL)
    raw = cage.mem.read(iov, iovcnt * abi.IOVEC.size)
    # Buffers live in the same memory as the array that names them.
    memory = getattr(iov, "memory", cage.mem)
    return [memory.view(base, length, writing)
            for base, length in abi.IOVEC.iter_unpack(raw)]


def sys_readv(cage, fd, iov, iovcnt, *_):
    f = cage.fds.get(s32(fd))
    if not f.readable:
        _readable(f)
    views = iovecs(cage, iov, iovcnt, writing=True)
    return f.readv(cage, views) if views else 0


def sys_writev(cage, fd, iov, iovcnt, *_):
    f = cage.fds.get(s32(fd))
    if not f.writable:
        raise abi.error(errno.EBADF)    # not open for writing (a directory never is)
    views = iovecs(cage, iov, iovcnt, writing=False)
    if cage.rlimit_fsize[0] != limits.RLIM_INFINITY or f.writes_checked:
        views = _trimmed(views, _file_size_room(cage, f, sum(map(len, views))))
    return f.writev(cage, views) if views else 0


def sys_lseek(cage, fd, offset, whence, *_):
    f = cage.fds.get(s32(fd))
    whence = s32(whence)
    _seekable(f)
    if f.is_dir:
        if whence != abi.SEEK_SET or offset < 0:
            raise abi.error(errno.EINVAL)
        f.dir_pos = offset
        if offset == 0:     # rewinddir: a new listing (an index before the one reached
            f.dir_listing = None                    # reads the host's again anyway)
        return offset
    if whence not in (abi.SEEK_SET, abi.SEEK_CUR, abi.SEEK_END, abi.SEEK_DATA, abi.SEEK_HOLE):
        raise abi.error(errno.EINVAL)
    return f.seek(offset, whence)


# ----------------------------------------------------------------------- stat

def _stat_path(cage, guest_path: str, follow: bool) -> os.stat_result:
    found = virtual.lookup(cage, guest_path, follow)
    if not isinstance(found, str):
        return found.stat()
    guest_path = found
    if follow:
        fd = cage.fs.open(guest_path, os.O_PATH | os.O_CLOEXEC)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)
    mount, rest = cage.fs.locate(guest_path)
    if rest == ".":
        return os.fstat(mount.fd)
    pfd, name = cage.fs.open_parent(guest_path, write=False)
    try:
        return os.stat(name, dir_fd=pfd, follow_symlinks=False)
    finally:
        os.close(pfd)


def sys_stat(cage, path, buf, *_):
    st = _stat_path(cage, path_arg(cage, path), True)
    cage.mem.write(buf, abi.pack_stat(st, cage.ids))
    return 0


def sys_lstat(cage, path, buf, *_):
    st = _stat_path(cage, *lookup_arg(cage, path, abi.AT_FDCWD, False))
    cage.mem.write(buf, abi.pack_stat(st, cage.ids))
    return 0


def sys_fstat(cage, fd, buf, *_):
    cage.mem.write(buf, abi.pack_stat(cage.fds.get(s32(fd)).stat(), cage.ids))
    return 0


def _stat_at(cage, dirfd: int, path: int, flags: int) -> os.stat_result:
    """What fstatat(dirfd, path, flags) finds (AT_EMPTY_PATH: the file dirfd is)."""
    raw = cage.mem.cstring(path, abi.PATH_MAX - 1) if path else b""
    if not raw and flags & abi.AT_EMPTY_PATH:
        dirfd = s32(dirfd)
        at_cwd = dirfd == abi.AT_FDCWD
        return _stat_path(cage, cage.cwd, True) if at_cwd else cage.fds.get(dirfd).stat()
    return _stat_path(cage, *lookup_arg(cage, path, dirfd, not flags & abi.AT_SYMLINK_NOFOLLOW))


def sys_newfstatat(cage, dirfd, path, buf, flags, *_):
    abi.check_stat_flags(u32(flags))
    st = _stat_at(cage, dirfd, path, u32(flags))
    cage.mem.write(buf, abi.pack_stat(st, cage.ids))
    return 0


def sys_statx(cage, dirfd, path, flags, mask, buf, *_):
    """statx from the host's stat, owners mapped as for stat (abi.seen_owner); no
    birth time and no mount id (not in the mask)."""
    flags, mask = u32(flags), u32(mask)
    abi.check_statx_args(flags, mask)
    cage.mem.write(buf, abi.pack_statx(_stat_at(cage, dirfd, path, flags), cage.ids))
    return 0


def _access(cage, guest_path: str, mode: int, flags: int) -> int:
    if mode & ~7:
        raise abi.error(errno.EINVAL)
    found = virtual.lookup(cage, guest_path, not flags & abi.AT_SYMLINK_NOFOLLOW)
    if not isinstance(found, str):
        virtual.access(found, mode)
        return 0
    guest_path = found
    fd = cage.fs.open(guest_path, os.O_PATH | os.O_CLOEXEC |
                      (os.O_NOFOLLOW if flags & abi.AT_SYMLINK_NOFOLLOW else 0))
    try:
        if mode & os.W_OK and (cage.fs.guest_readonly(guest_path) or cage.fs.fd_readonly(fd)):
            raise abi.error(errno.EROFS)
        # effective ids whatever the flags: the thread's capabilities are the cage's
        # (threei's permission checks), its real ids are Lind's
        if mode and not os.access(proc_path(fd), mode, effective_ids=True):
            raise abi.error(errno.EACCES)
    finally:
        os.close(fd)
    return 0


def sys_access(cage, path, mode, *_):
    return _access(cage, path_arg(cage, path), u32(mode), 0)


def sys_faccessat(cage, dirfd, path, mode, *_):
    return _access(cage, path_arg(cage, path, dirfd), u32(mode), 0)


def sys_faccessat2(cage, dirfd, path, mode, flags, *_):
    flags = u32(flags)
    if flags & ~(abi.AT_EACCESS | abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH):
        raise abi.error(errno.EINVAL)
    guest, follow = lookup_arg(cage, path, dirfd, not flags & abi.AT_SYMLINK_NOFOLLOW)
    return _access(cage, guest, u32(mode), flags if not follow else flags & ~abi.AT_SYMLINK_NOFOLLOW)


# ------------------------------------------------------ extended attributes
# A cage's files have none, as on a file system without extended attributes: getting,
# setting or removing one is EOPNOTSUPP (copiers such as cp -a and rsync -X then go
# on without them), a list is empty; the file must be there, and a set or remove on a
# read-only place is EROFS first, as Linux checks.

def _xattr_call(follow: bool, changing: bool, listing: bool = False) -> Callable[..., int]:
    """The handler of one path form: the file must be there, a change on a read-only
    place is EROFS; then an empty list, or EOPNOTSUPP."""
    def handler(cage, path, *_):
        guest, following = lookup_arg(cage, path, abi.AT_FDCWD, follow)
        _stat_path(cage, guest, following)       # ENOENT, ENOTDIR, ELOOP, EACCES ...
        if changing and cage.fs.guest_readonly(guest):
            raise abi.error(errno.EROFS)
        if listing:
            return 0
        raise abi.error(errno.EOPNOTSUPP)
    return handler


sys_getxattr, sys_lgetxattr = _xattr_call(True, False), _xattr_call(False, False)
sys_setxattr, sys_lsetxattr = _xattr_call(True, True), _xattr_call(False, True)
sys_removexattr, sys_lremovexattr = _xattr_call(True, True), _xattr_call(False, True)
sys_listxattr = _xattr_call(True, False, listing=True)
sys_llistxattr = _xattr_call(False, False, listing=True)


def sys_fxattr_none(cage, fd, *_):
    """fgetxattr, fsetxattr, fremovexattr: the fd must be open (EBADF)."""
    cage.fds.get(s32(fd))
    raise abi.error(errno.EOPNOTSUPP)


def sys_flistxattr(cage, fd, *_):
    cage.fds.get(s32(fd))
    return 0


# ------------------------------------------------------ directories and names

def _exists_apart(cage, guest_path: str) -> bool:
    """Whether the name is a mount point, or virtual: there whatever the root holds."""
    if guest_path == "/" or cage.fs.is_mount_point(guest_path):
        return True
    try:
        return not isinstance(virtual.lookup(cage, guest_path, follow=False), str)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _parent_for_new_name(cage, guest_path: str) -> tuple[int, str]:
    """open_parent for a call that makes the name (mkdir, mknod, symlink, link): a name
    already there is EEXIST before a read-only mount's EROFS, as Linux says (mkdir -p
    goes on past the directories a read-only mount has)."""
    try:
        return cage.fs.open_parent(guest_path, write=True)
    except OSError as exc:
        if exc.errno != errno.EROFS:
            raise
        try:
            os.close(cage.fs.open(guest_path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC))
        except OSError:
            raise exc from None
        raise abi.error(errno.EEXIST) from None


def _mkdir(cage, guest_path: str, mode: int) -> int:
    if _exists_apart(cage, guest_path):
        raise abi.error(errno.EEXIST)     # mkdir -p /tmp/x goes on past /tmp
    pfd, name = _parent_for_new_name(cage, guest_path)
    try:
        perm = mode & 0o1777 & ~cage.umask   # as Linux: set-group-ID only from the parent
        os.mkdir(name, perm, dir_fd=pfd)
        # The host process's own umask may have taken bits the cage's did not.
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        try:
            give_mode(fd, perm | os.fstat(fd).st_mode & abi.S_ISGID)
        finally:
            os.close(fd)
    finally:
        os.close(pfd)
    return 0


def sys_mkdir(cage, path, mode, *_):
    return _mkdir(cage, path_and_slash(cage, path)[0], u32(mode))   # "new/" is fine


def sys_mkdirat(cage, dirfd, path, mode, *_):
    return _mkdir(cage, path_and_slash(cage, path, dirfd)[0], u32(mode))


def _remove(cage, guest_path: str, directory: bool) -> int:
    pfd, name = cage.fs.open_parent(guest_path, write=True)
    try:
        if directory:
            os.rmdir(name, dir_fd=pfd)
        else:
            os.unlink(name, dir_fd=pfd)
    finally:
        os.close(pfd)
    return 0


def _rmdir_path(cage, addr: int, dirfd: int = abi.AT_FDCWD) -> str:
    """rmdir's path: one ending in `.` is EINVAL, as Linux will not remove "." itself,
    and one ending in `..` ENOTEMPTY once the directory it leaves is found, as Linux
    answers (folded, it would name the parent, or "/": EBUSY)."""
    raw = read_path(cage, addr)
    if raw == "." or raw.endswith("/."):
        raise abi.error(errno.EINVAL)
    path, dir_only = fold_path(cage, raw, dirfd)
    if raw == ".." or raw.endswith("/.."):
        raise abi.error(errno.ENOTEMPTY)
    if dir_only:
        _need_directory(cage, path)
    return path


def sys_rmdir(cage, path, *_):
    return _remove(cage, _rmdir_path(cage, path), True)


def sys_unlink(cage, path, *_):
    return _remove(cage, _unlink_path(cage, path), False)


def sys_unlinkat(cage, dirfd, path, flags, *_):
    flags = u32(flags)
    if flags & ~abi.AT_REMOVEDIR:
        raise abi.error(errno.EINVAL)
    if flags & abi.AT_REMOVEDIR:
        return _remove(cage, _rmdir_path(cage, path, dirfd), True)
    return _remove(cage, _unlink_path(cage, path, dirfd), False)


def _rename(cage, old: str, new: str, flags: int) -> int:
    if old == "/" or new == "/" or cage.fs.is_mount_point(old) or cage.fs.is_mount_point(new):
        raise abi.error(errno.EBUSY)        # as Linux, before it compares the mounts
    if not cage.fs.same_mount(old, new):
        raise abi.error(errno.EXDEV)
    ofd, oname = cage.fs.open_parent(old, write=True)
    try:
        nfd, nname = cage.fs.open_parent(new, write=True)
        try:
            if not flags:
                os.rename(oname, nname, src_dir_fd=ofd, dst_dir_fd=nfd)
            elif libc.syscall(_HOST_RENAMEAT2, ofd, os.fsencode(oname), nfd, os.fsencode(nname),
                              flags) < 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        finally:
            os.close(nfd)
    finally:
        os.close(ofd)
    return 0


def sys_rename(cage, old, new, *_):
    return sys_renameat(cage, abi.AT_FDCWD, old, abi.AT_FDCWD, new)


def sys_renameat(cage, olddirfd, old, newdirfd, new, *_):
    return sys_renameat2(cage, olddirfd, old, newdirfd, new, 0)


# renameat2's flags the host does for us; RENAME_WHITEOUT needs privilege (EPERM).
_RENAME_NOREPLACE, _RENAME_EXCHANGE, _RENAME_WHITEOUT = 1, 2, 4
_HOST_RENAMEAT2 = 316


def sys_renameat2(cage, olddirfd, old, newdirfd, new, flags, *_):
    flags = u32(flags)
    if flags & ~(_RENAME_NOREPLACE | _RENAME_EXCHANGE | _RENAME_WHITEOUT) or (
            flags & _RENAME_EXCHANGE and flags & (_RENAME_NOREPLACE | _RENAME_WHITEOUT)):
        raise abi.error(errno.EINVAL)
    if flags & _RENAME_WHITEOUT:
        raise abi.error(errno.EPERM)
    (old, old_slash), (new, new_slash) = (path_and_slash(cage, old, olddirfd),
                                          path_and_slash(cage, new, newdirfd))
    if old_slash or new_slash:     # only a directory moves to or from "name/"
        _need_directory(cage, old)
    return _rename(cage, old, new, flags)


def _link(cage, old: str, new: str, follow: bool) -> int:
    if not cage.fs.same_mount(old, new):
        raise abi.error(errno.EXDEV)
    if follow:
        # Resolve the target inside the root first; link the resolved file.
        src = cage.fs.open(old, os.O_PATH | os.O_CLOEXEC)
        nfd, nname = _parent_for_new_name(cage, new)
        try:
            os.link(proc_path(src), nname, dst_dir_fd=nfd, follow_symlinks=True)
        finally:
            os.close(nfd)
            os.close(src)
        return 0
    nfd, nname = _parent_for_new_name(cage, new)     # (one mount: its EEXIST first)
    try:
        ofd, oname = cage.fs.open_parent(old, write=True)
        try:
            os.link(oname, nname, src_dir_fd=ofd, dst_dir_fd=nfd, follow_symlinks=False)
        finally:
            os.close(ofd)
    finally:
        os.close(nfd)
    return 0


def sys_link(cage, old, new, *_):
    return _link(cage, path_arg(cage, old), _new_name(cage, new),
                 False)


def sys_linkat(cage, olddirfd, old, newdirfd, new, flags, *_):
    if u32(flags) & ~(abi.AT_SYMLINK_FOLLOW | abi.AT_EMPTY_PATH):
        raise abi.error(errno.EINVAL)     # as Linux, before it looks at either path
    return _link(cage, path_arg(cage, old, olddirfd), _new_name(cage, new, newdirfd),
                 bool(u32(flags) & abi.AT_SYMLINK_FOLLOW))


def _symlink(cage, target: bytes, guest_path: str) -> int:
    pfd, name = _parent_for_new_name(cage, guest_path)
    try:
        os.symlink(target, name.encode("utf-8", "surrogateescape"), dir_fd=pfd)
    finally:
        os.close(pfd)
    return 0


def sys_symlink(cage, target, path, *_):
    raw = cage.mem.cstring(target, abi.PATH_MAX - 1)
    if not raw:
        raise abi.error(errno.ENOENT)
    return _symlink(cage, raw, _new_name(cage, path))


def sys_symlinkat(cage, target, dirfd, path, *_):
    raw = cage.mem.cstring(target, abi.PATH_MAX - 1)
    if not raw:
        raise abi.error(errno.ENOENT)
    return _symlink(cage, raw, _new_name(cage, path, dirfd))


def _readlink(cage, guest_path: str, buf: int, size: int) -> int:
    size = s32(size)
    if size <= 0:
        raise abi.error(errno.EINVAL)
    found = virtual.lookup(cage, guest_path, follow=False)
    if isinstance(found, virtual.Link):
        target = found.text.encode("utf-8", "surrogateescape")
    elif not isinstance(found, str) or found == "/" or cage.fs.is_mount_point(found):
        raise abi.error(errno.EINVAL)     # a directory (a mount's), not a link
    else:
        pfd, name = cage.fs.open_parent(found, write=False)
        try:
            target = os.readlink(name.encode("utf-8", "surrogateescape"), dir_fd=pfd)
        finally:
            os.close(pfd)
    data = target[:size]
    cage.mem.write(buf, data)
    return len(data)


def sys_readlink(cage, path, buf, size, *_):
    return sys_readlinkat(cage, abi.AT_FDCWD, path, buf, size)


def sys_readlinkat(cage, dirfd, path, buf, size, *_):
    guest, follows = lookup_arg(cage, path, dirfd, False)
    if follows:      # "link/" is the directory the link leads to, not a link
        raise abi.error(errno.EINVAL)
    return _readlink(cage, guest, buf, size)


# ------------------------------------------------------- attributes and size

def _chmod(cage, guest_path: str, mode: int, follow: bool = True) -> int:
    if not follow and statmod.S_ISLNK(_stat_path(cage, guest_path, False).st_mode):
        raise abi.error(errno.EOPNOTSUPP)  # as Linux: symlinks have no mode of their own
    _not_virtual(cage, guest_path, follow)
    fd = cage.fs.open(guest_path, os.O_PATH | os.O_CLOEXEC, write=True)
    try:
        _set_permissions(fd, mode)
    finally:
        os.close(fd)
    return 0


def _set_permissions(fd: int, mode: int) -> None:
    """chmod of the file host `fd` (O_PATH or open) is on, with what a cage may set."""
    directory = statmod.S_ISDIR(os.fstat(fd).st_mode)
    os.chmod(proc_path(fd), abi.host_permissions(mode, directory))


def sys_chmod(cage, path, mode, *_):
    return _chmod(cage, path_arg(cage, path), u32(mode))


def sys_fchmodat(cage, dirfd, path, mode, *_):
    return _chmod(cage, path_arg(cage, path, dirfd), u32(mode))


def sys_fchmodat2(cage, dirfd, path, mode, flags, *_):
    """fchmodat with flags (Linux 6.6): AT_SYMLINK_NOFOLLOW, which libc's fchmodat uses."""
    flags = u32(flags)
    if flags & ~abi.AT_SYMLINK_NOFOLLOW:
        raise abi.error(errno.EINVAL)
    guest, follow = lookup_arg(cage, path, dirfd, not flags & abi.AT_SYMLINK_NOFOLLOW)
    return _chmod(cage, guest, u32(mode), follow=follow)


def _not_virtual(cage, guest_path: str, follow: bool) -> None:
    """EPERM for a metadata change to what the microvisor provides (root's, on Linux)."""
    if not isinstance(virtual.lookup(cage, guest_path, follow), str):
        raise abi.error(errno.EPERM)


def _changeable(cage, f: OpenFile) -> None:
    """Raise unless the cage may change the metadata or size of the file `f` is open on:
    never a host file it did not open inside its view (inherited stdio)."""
    if f.borrowed:
        raise abi.error(errno.EPERM)
    if cage.fs.guest_readonly(f.path or "/") or (f.host_backed and cage.fs.fd_readonly(f.host_fd)):
        raise abi.error(errno.EROFS)


def sys_fchmod(cage, fd, mode, *_):
    f = cage.fds.get(s32(fd))
    _changeable(cage, f)
    _set_permissions(f.host_fd, u32(mode))
    return 0


# Ownership: a cage is an unprivileged user, so chown may only keep what is there.
def _chown(cage, st: os.stat_result, uid: int, gid: int) -> int:
    owner, group = abi.seen_owner(st, cage.ids)
    if s32(uid) not in (-1, owner) or s32(gid) not in (-1, group):
        raise abi.error(errno.EPERM)
    return 0


def sys_fchown(cage, fd, uid, gid, *_):
    f = cage.fds.get(s32(fd))
    _changeable(cage, f)
    return _chown(cage, f.stat(), uid, gid)


def _chown_path(cage, guest_path: str, uid: int, gid: int, follow: bool) -> int:
    _not_virtual(cage, guest_path, follow)
    if follow:
        fd = cage.fs.open(guest_path, os.O_PATH | os.O_CLOEXEC, write=True)
        try:
            return _chown(cage, os.fstat(fd), uid, gid)
        finally:
            os.close(fd)
    pfd, name = cage.fs.open_parent(guest_path, write=True)
    try:
        return _chown(cage, os.stat(name, dir_fd=pfd, follow_symlinks=False), uid, gid)
    finally:
        os.close(pfd)


def sys_chown(cage, path, uid, gid, *_):
    return _chown_path(cage, path_arg(cage, path), uid, gid, True)


def sys_lchown(cage, path, uid, gid, *_):
    guest, follow = lookup_arg(cage, path, abi.AT_FDCWD, False)
    return _chown_path(cage, guest, uid, gid, follow)


def sys_fchownat(cage, dirfd, path, uid, gid, flags, *_):
    flags = u32(flags)
    if flags & ~(abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH):
        raise abi.error(errno.EINVAL)
    if flags & abi.AT_EMPTY_PATH and not (path and cage.mem.cstring(path, abi.PATH_MAX - 1)):
        return sys_fchown(cage, dirfd, uid, gid)
    guest, follow = lookup_arg(cage, path, dirfd, not flags & abi.AT_SYMLINK_NOFOLLOW)
    return _chown_path(cage, guest, uid, gid, follow)


def new_times(cage, times: int, st: os.stat_result) -> tuple[int, int]:
    """utimensat's two timespecs as (atime, mtime) in ns; NULL or UTIME_NOW is now."""
    raw = cage.mem.read(times, 2 * abi.TIMESPEC_SIZE) if times else None
    return abi.utimens_times(raw, st.st_atime_ns, st.st_mtime_ns)


def sys_utimensat(cage, dirfd, path, times, flags, *_):
    flags = u32(flags)
    if flags & ~(abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH):
        raise abi.error(errno.EINVAL)
    if not path:   # futimens: the file dirfd is open on
        f = cage.fds.get(s32(dirfd))
        _changeable(cage, f)
        os.utime(proc_path(f.host_fd), ns=new_times(cage, times, f.stat()))
        return 0
    guest, follow = lookup_arg(cage, path, dirfd, not flags & abi.AT_SYMLINK_NOFOLLOW)
    if not follow:
        pfd, name = cage.fs.open_parent(guest, write=True)
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
            os.utime(name, dir_fd=pfd, follow_symlinks=False, ns=new_times(cage, times, st))
        finally:
            os.close(pfd)
        return 0
    fd = cage.fs.open(guest, os.O_PATH | os.O_CLOEXEC, write=True)
    try:
        os.utime(proc_path(fd), ns=new_times(cage, times, os.fstat(fd)))
    finally:
        os.close(fd)
    return 0


# fallocate's modes the host kernel is asked for (FALLOC_FL_NO_HIDE_STALE, 4, and bits
# Linux does not know are EOPNOTSUPP, as Linux says for them).
_FALLOC_KEEP_SIZE, _FALLOC_PUNCH_HOLE, _FALLOC_COLLAPSE_RANGE = 0x1, 0x2, 0x8
_FALLOC_ZERO_RANGE, _FALLOC_INSERT_RANGE, _FALLOC_UNSHARE_RANGE = 0x10, 0x20, 0x40
_FALLOC_MODES = (_FALLOC_KEEP_SIZE | _FALLOC_PUNCH_HOLE | _FALLOC_COLLAPSE_RANGE
                 | _FALLOC_ZERO_RANGE | _FALLOC_INSERT_RANGE | _FALLOC_UNSHARE_RANGE)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]


def sys_fallocate(cage, fd, mode, offset, length, *_):
    """Mode 0 as posix_fallocate; the others (keeping the size, punching holes, zeroing,
    collapsing and inserting ranges) are the host kernel's on the cage's file, which
    answers for what its file system cannot do. What would make the file larger is
    checked against RLIMIT_FSIZE, and for a memfd, whatever it may allocate (past its
    size too, with FALLOC_FL_KEEP_SIZE) charged to the tree's memory first."""
    f = cage.fds.get(s32(fd))
    mode = u32(mode)
    if not f.writable:
        raise abi.error(errno.EBADF)
    if not f.host_backed:
        raise abi.error(errno.ESPIPE)
    _changeable(cage, f)
    if offset < 0 or length <= 0:
        raise abi.error(errno.EINVAL)
    if mode & ~_FALLOC_MODES:
        raise abi.error(errno.EOPNOTSUPP)
    if mode & _FALLOC_INSERT_RANGE:
        grows_to = os.fstat(f.host_fd).st_size + length
    elif mode & (_FALLOC_PUNCH_HOLE | _FALLOC_COLLAPSE_RANGE | _FALLOC_UNSHARE_RANGE):
        grows_to = 0
    else:
        grows_to = offset + length
    if grows_to and not mode & _FALLOC_KEEP_SIZE:
        new_size_allowed(cage, grows_to)
    if isinstance(f, MemFile) and grows_to:
        f.sized(grows_to)
    if not mode:
        os.posix_fallocate(f.host_fd, offset, length)
    elif libc.fallocate(f.host_fd, mode, offset, length) != 0:
        err = ctypes.get_errno()
        raise abi.error(err)
    return 0


def sys_truncate(cage, path, length, *_):
    """As Linux: EISDIR for a directory, EINVAL for anything else not a regular file
    (a FIFO is not opened: that could wait for a partner)."""
    if length < 0:
        raise abi.error(errno.EINVAL)
    found = cage.fs.open(path_arg(cage, path), os.O_PATH | os.O_CLOEXEC, write=True)
    try:
        kind = os.fstat(found).st_mode
        if statmod.S_ISDIR(kind):
            raise abi.error(errno.EISDIR)
        if not statmod.S_ISREG(kind):
            raise abi.error(errno.EINVAL)
        new_size_allowed(cage, length)
        fd = os.open(proc_path(found), os.O_WRONLY | os.O_CLOEXEC)
    finally:
        os.close(found)
    try:
        os.ftruncate(fd, length)
    finally:
        os.close(fd)
    return 0


def sys_ftruncate(cage, fd, length, *_):
    f = cage.fds.get(s32(fd))
    if f.flags & abi.O_PATH:
        raise abi.error(errno.EBADF)
    if not f.host_backed or length < 0 or f.flags & abi.O_ACCMODE == abi.O_RDONLY:
        raise abi.error(errno.EINVAL)     # Linux: EINVAL, not EBADF, for a read-only fd
    _changeable(cage, f)
    if length > cage.rlimit_fsize[0] and statmod.S_ISREG(f.stat().st_mode):
        new_size_allowed(cage, length)
    if isinstance(f, MemFile):
        f.sized(length, truncating=True)
    os.ftruncate(f.host_fd, length)
    return 0


def sys_fsync(cage, fd, *_):
    f = cage.fds.get(s32(fd))
    if not f.host_backed:
        raise abi.error(errno.EINVAL)
    os.fsync(f.host_fd)
    return 0


def sys_fdatasync(cage, fd, *_):
    f = cage.fds.get(s32(fd))
    if not f.host_backed:
        raise abi.error(errno.EINVAL)
    os.fdatasync(f.host_fd)
    return 0


# ----------------------------------------------------------- directory reads

#: bytes of records one getdents64 makes at most (a short count, as a read's)
DIRENTS_MAX = 1 << 18


def sys_getdents64(cage, fd, buf, count, *_):
    f = cage.fds.get(s32(fd))
    if not f.is_dir:
        raise abi.error(errno.ENOTDIR)
    count = u32(count)
    room = min(count, DIRENTS_MAX)
    out = bytearray()
    if f.dir_listing is None:   # Lind's own directories (/proc, /dev) have few entries;
        # the host's are read as the cage goes
        f.dir_listing = (virtual.FixedListing(virtual.entries(cage, f))
                         if isinstance(f, virtual.DirFile) else virtual.HostListing())
    listing, set_offset = f.dir_listing, abi.DIRENT_OFFSET.pack_into
    with listing.lock:
        index, full = f.dir_pos, False
        while not full and (records := listing.records_from(cage, f, index)):
            for record in records:
                at = len(out)
                if at + len(record) > room:
                    if not out:
                        raise abi.error(errno.EINVAL)
                    full = True
                    break
                out += record
                index += 1
                set_offset(out, at + 8, index)
        f.dir_pos = index
    cage.mem.write(buf, out)
    return len(out)


# ------------------------------------------------------- working directory

def sys_getcwd(cage, buf, size, *_):
    data = cage.cwd.encode("utf-8", "surrogateescape") + b"\0"
    if u32(size) < len(data):
        raise abi.error(errno.ERANGE)
    cage.mem.write(buf, data)
    return len(data)


def _chdir(cage, guest_path: str) -> int:
    found = virtual.lookup(cage, guest_path)
    if not isinstance(found, str):
        if not isinstance(found, virtual.Dir):
            raise abi.error(errno.ENOTDIR)
        cage.cwd = found.path
        return 0
    guest_path = found
    fd = cage.fs.open(guest_path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if not os.access(proc_path(fd), os.X_OK, effective_ids=True):
            raise abi.error(errno.EACCES)
    finally:
        os.close(fd)
    cage.cwd = guest_path
    return 0


def sys_chdir(cage, path, *_):
    return _chdir(cage, path_arg(cage, path))


def sys_fchdir(cage, fd, *_):
    f = cage.fds.get(s32(fd))
    if not f.is_dir:
        raise abi.error(errno.ENOTDIR)
    return _chdir(cage, f.path)


def sys_umask(cage, mask, *_):
    old, cage.umask = cage.umask, u32(mask) & 0o777
    return old


# --------------------------------------------------------------- fd control

def sys_dup(cage, fd, *_):
    return cage.fds.install(cage.fds.get(s32(fd)).hold())


def _dup3(cage, old: int, new: int, cloexec: bool) -> int:
    f = cage.fds.get(old)
    cage.fds.place(new, f.hold(), cloexec)
    return new


def sys_dup2(cage, old, new, *_):
    old, new = s32(old), s32(new)
    if old == new:
        cage.fds.get(old)
        return new
    return _dup3(cage, old, new, False)


def sys_dup3(cage, old, new, flags, *_):
    old, new, flags = s32(old), s32(new), u32(flags)
    if old == new or flags & ~abi.O_CLOEXEC:
        raise abi.error(errno.EINVAL)
    return _dup3(cage, old, new, bool(flags & abi.O_CLOEXEC))


def sys_fcntl(cage, fd, cmd, arg, *_):
    fd, cmd = s32(fd), s32(cmd)
    f = cage.fds.get(fd)
    if cmd in (abi.F_DUPFD, abi.F_DUPFD_CLOEXEC):
        lowest = s32(arg)
        if lowest < 0:
            raise abi.error(errno.EINVAL)
        # At or above RLIMIT_NOFILE: install says EINVAL, under the table's lock.
        return cage.fds.install(f.hold(), cloexec=cmd == abi.F_DUPFD_CLOEXEC, lowest=lowest)
    if cmd in lock_ranges.COMMANDS:
        return sys_locks.fcntl_lock(cage, f, cmd, arg)
    if cmd == abi.F_GETFD:
        return abi.FD_CLOEXEC if cage.fds.cloexec(fd) else 0
    if cmd == abi.F_SETFD:
        cage.fds.set_cloexec(fd, bool(u32(arg) & abi.FD_CLOEXEC))
        return 0
    if cmd == abi.F_GETFL:
        return f.flags
    if cmd == abi.F_SETFL:
        f.set_status_flags(u32(arg) & abi.SETFL_MASK)
        return 0
    if cmd in (abi.F_ADD_SEALS, abi.F_GET_SEALS) and f.host_backed and not f.borrowed:
        # The host keeps a memfd's seals (EINVAL for any other file, EPERM without
        # MFD_ALLOW_SEALING); the microvisor's own memfds are sealed against more.
        # A write seal while a cage maps the file writably shared is EBUSY, as Linux
        # says for F_SEAL_WRITE: those writes reach the file through Lind, which the
        # seal would refuse (F_SEAL_FUTURE_WRITE too, where Linux lets the mappings be).
        if (cmd == abi.F_ADD_SEALS and u32(arg) & (abi.F_SEAL_WRITE | abi.F_SEAL_FUTURE_WRITE)
                and shared_pages.writably_mapped(f.host_fd)):
            raise abi.error(errno.EBUSY)
        return fcntl.fcntl(f.host_fd, cmd, u32(arg))
    if cmd in (abi.F_GETPIPE_SZ, abi.F_SETPIPE_SZ):
        return _pipe_size(cage, f, cmd, u32(arg))
    raise abi.error(errno.EINVAL)


def _is_pipe(f: OpenFile) -> bool:
    return f.host_backed and statmod.S_ISFIFO(f.stat().st_mode)


def _pipe_size(cage, f: OpenFile, cmd: int, size: int) -> int:
    """A pipe's capacity, and setting it within what an unprivileged Linux user may
    (pipe-max-size: Lind's host may be root, a cage is not), on pipes the cage made: one
    it was given is the outside's too. A tree is one user: the capacity of all its pipes
    may grow to limits.PIPE_TREE_BYTES (Linux's pipe-user-pages-soft), EPERM past it
    (a pipe's buffer is the host kernel's memory, outside every budget: a cage's
    thousands of pipes enlarged to 1 MiB each took gigabytes of it). EBADF for anything
    but a pipe, as on Linux."""
    if not _is_pipe(f):
        raise abi.error(errno.EBADF)
    now = fcntl.fcntl(f.host_fd, abi.F_GETPIPE_SZ)
    if cmd == abi.F_GETPIPE_SZ:
        return now
    if f.borrowed:
        raise abi.error(errno.EPERM)
    if size > limits.host_setting("fs/pipe-max-size", 1 << 20):
        raise abi.error(errno.EPERM)
    if size > now and _tree_pipe_bytes(cage) - now + size > limits.PIPE_TREE_BYTES:
        raise abi.error(errno.EPERM)
    return fcntl.fcntl(f.host_fd, cmd, size)


def _tree_pipe_bytes(cage) -> int:
    """The capacity of the pipes the cages of `cage`'s tree hold open, each pipe once."""
    found: dict[tuple[int, int], int] = {}
    for member in cage.runtime.tree(cage):
        for fd in member.fds.numbers():
            with contextlib.suppress(OSError):
                f = member.fds.get(fd)
                st = f.stat() if f.host_backed else None
                if st is not None and statmod.S_ISFIFO(st.st_mode):
                    found[st.st_dev, st.st_ino] = fcntl.fcntl(f.host_fd, abi.F_GETPIPE_SZ)
    return sum(found.values())


_TCGETS, _TIOCGWINSZ, _FIONREAD, _FIONBIO = 0x5401, 0x5413, 0x541B, 0x5421
_FIONCLEX, _FIOCLEX = 0x5450, 0x5451
FIONREAD = _FIONREAD
_TCSETS, _TCSETSW, _TCSETSF, _TCFLSH, _TIOCSWINSZ = 0x5402, 0x5403, 0x5404, 0x540B, 0x5414
_TIOCGPGRP = 0x540F
_TIOCSCTTY, _TIOCNOTTY = 0x540E, 0x5422
_TIOCSPTLCK, _TIOCGPTLCK = 0x40045431, 0x80045439
# Terminal requests a cage may make of a terminal it was given (raw mode for editors and
# pagers) or made (a pseudo-terminal's number and lock): request -> (host request, bytes
# read from the cage, bytes written back to it).
_TERMINAL_IOCTLS = {_TCGETS: (termios.TCGETS, 0, 36), _TIOCGWINSZ: (termios.TIOCGWINSZ, 0, 8),
                    _TCSETS: (termios.TCSETS, 36, 0), _TCSETSW: (termios.TCSETSW, 36, 0),
                    _TCSETSF: (termios.TCSETSF, 36, 0), _TIOCSWINSZ: (termios.TIOCSWINSZ, 8, 0),
                    ptys.TIOCGPTN: (ptys.TIOCGPTN, 0, 4), _TIOCSPTLCK: (_TIOCSPTLCK, 4, 0),
                    _TIOCGPTLCK: (_TIOCGPTLCK, 0, 4)}


def sys_ioctl(cage, fd, request, arg, *_):
    """FIONBIO, FIOCLEX and FIONCLEX on any fd, FIONREAD, and the terminal requests
    interactive programs make of a terminal the cage was given as stdio, done on the
    host fd (lind run restores the terminal)."""
    f = cage.fds.get(s32(fd))
    request = u32(request)
    if request == _FIONBIO:    # any file: O_NONBLOCK, as fcntl(F_SETFL) sets it
        on = struct.unpack("<i", cage.mem.read(arg, 4))[0]
        f.set_status_flags(f.flags & abi.SETFL_MASK & ~abi.O_NONBLOCK | (abi.O_NONBLOCK if on else 0))
        return 0
    if request in (_FIOCLEX, _FIONCLEX):   # any file: FD_CLOEXEC, as fcntl(F_SETFD) sets it
        cage.fds.set_cloexec(s32(fd), request == _FIOCLEX)
        return 0
    if not f.host_backed:
        return f.ioctl(cage, request, arg)     # (ENOTTY, but for a tree's file's FIONREAD)
    if request == _FIONREAD:
        out = fcntl.ioctl(f.host_fd, termios.FIONREAD, b"\0" * 4)
        cage.mem.write(arg, out)
        return 0
    if not os.isatty(f.host_fd):
        return f.ioctl(cage, request, arg)
    if request == _TCFLSH:
        if arg not in (termios.TCIFLUSH, termios.TCOFLUSH, termios.TCIOFLUSH):
            raise abi.error(errno.EINVAL)
        termios.tcflush(f.host_fd, arg)
        return 0
    if request == _TIOCGPGRP:      # the terminal's foreground group: the cage's own
        cage.mem.write(arg, struct.pack("<i", cage.pgid))
        return 0
    if request in (_TIOCSCTTY, _TIOCNOTTY):   # no job control: no controlling terminal
        return 0
    if request == ptys.TIOCGPTPEER:     # a master's other side, as a new fd
        if not ptys.is_master(f):       # (not of a terminal the host gave)
            raise abi.error(errno.ENOTTY)
        peer = ptys.peer_of(f, arg)
        return cage.fds.install(peer, cloexec=bool(arg & abi.O_CLOEXEC))
    if request not in _TERMINAL_IOCTLS:
        raise abi.error(errno.EINVAL)
    host_request, size_in, size_out = _TERMINAL_IOCTLS[request]
    out = fcntl.ioctl(f.host_fd, host_request, cage.mem.read(arg, size_in) if size_in else
                      b"\0" * size_out)
    if size_out:
        cage.mem.write(arg, out)
    return 0


# ------------------------------------------------- old time calls, via utimensat

def times_arg(cage, addr: int, usec: bool) -> tuple[int, int] | None:
    """utime's utimbuf (seconds) or utimes' timeval pair, as ns (None: now)."""
    return abi.old_times(cage.mem.read(addr, abi.OLD_TIMES_SIZE), usec) if addr else None


def _set_times(cage, guest: str, ns: tuple[int, int] | None) -> int:
    fd = cage.fs.open(guest, os.O_PATH | os.O_CLOEXEC, write=True)
    try:
        os.utime(proc_path(fd), ns=ns or (time.time_ns(),) * 2)
    finally:
        os.close(fd)
    return 0


def sys_utime(cage, path, times, *_):
    guest = path_arg(cage, path)
    return _set_times(cage, guest, times_arg(cage, times, False))


def sys_utimes(cage, path, times, *_):
    return sys_futimesat(cage, abi.AT_FDCWD, path, times)


def sys_futimesat(cage, dirfd, path, times, *_):
    guest = path_arg(cage, path, dirfd)
    return _set_times(cage, guest, times_arg(cage, times, True))


# ----------------------------------------------------------------- statfs

_ST_RDONLY = 0x1


def _host_fs_type(fd: int) -> int:
    """f_type of the host's fstatfs(2) (the file system's magic), which statvfs lacks."""
    buf = ctypes.create_string_buffer(256)
    if libc.fstatfs(fd, buf) != 0:
        raise abi.error(ctypes.get_errno())
    return struct.unpack_from("<q", buf)[0] & 0xFFFFFFFF


def _pack_statfs(fd: int, readonly: bool) -> bytes:
    v = os.fstatvfs(fd)
    flags = abi.ST_VALID | (v.f_flag & ~abi.ST_VALID) | (_ST_RDONLY if readonly else 0)
    return abi.STATFS.pack(_host_fs_type(fd), v.f_bsize, v.f_blocks, v.f_bfree, v.f_bavail,
                           v.f_files, v.f_ffree, 0, 0, v.f_namemax, v.f_frsize, flags)


def sys_statfs(cage, path, buf, *_):
    guest = path_arg(cage, path)
    found = virtual.lookup(cage, guest)
    if not isinstance(found, str):
        data = abi.virtual_statfs(guest)
    else:
        fd = cage.fs.open(found, os.O_PATH | os.O_CLOEXEC)
        try:
            data = _pack_statfs(fd, cage.fs.guest_readonly(found) or cage.fs.fd_readonly(fd))
        finally:
            os.close(fd)
    cage.mem.write(buf, data)
    return 0


def sys_fstatfs(cage, fd, buf, *_):
    f = cage.fds.get(s32(fd))
    if not f.host_backed:
        data = abi.virtual_statfs(f.path)
    else:
        readonly = f.borrowed or cage.fs.guest_readonly(f.path or "/")
        data = _pack_statfs(f.host_fd, readonly)
    cage.mem.write(buf, data)
    return 0


# -------------------------------------------------- copying between files

_CHUNK = 1 << 16


def _write_all(cage, f: OpenFile, data: bytes) -> int:
    """Write `data` to `f` as write(2) would (a pipe may take part of it)."""
    view = memoryview(data)
    done = 0
    while done < len(data):
        try:
            n = f.writev(cage, [view[done:]])
        except OSError:
            if done:        # what was written stays written: a short write, as Linux's
                break
            raise
        if n <= 0:
            break
        done += n
    return done


def _read_offset(cage, addr: int) -> int:
    (off,) = struct.unpack("<q", cage.mem.read(addr, 8))
    if off < 0:
        raise abi.error(errno.EINVAL)
    return off


def sys_sendfile(cage, out_fd, in_fd, offset, count, *_):
    out_f, in_f = cage.fds.get(s32(out_fd)), cage.fds.get(s32(in_fd))
    if not in_f.readable or not out_f.writable:
        raise abi.error(errno.EBADF)
    if not statmod.S_ISREG(in_f.stat().st_mode):
        raise abi.error(errno.EINVAL)        # the source must be a file one can map
    if out_f.flags & abi.O_APPEND:
        raise abi.error(errno.EINVAL)
    pos = _read_offset(cage, offset) if offset else None
    count = min(count & 0xFFFFFFFF, abi.MAX_RW_COUNT)
    start = pos if pos is not None else in_f.position()
    done = 0
    while done < count:
        data = in_f.read_at(start + done, min(_CHUNK, count - done))
        if not data:
            break
        try:   # chunk by chunk, as Linux: the one after a cut at RLIMIT_FSIZE raises SIGXFSZ
            data = data[:_file_size_room(cage, out_f, len(data))]
            n = _write_all(cage, out_f, data)
        except OSError:
            if done:
                break
            raise
        done += n
        if n < len(data):
            break
    if pos is None:
        in_f.seek(start + done, abi.SEEK_SET)
    else:
        cage.mem.write(offset, struct.pack("<q", pos + done))
    return done


# ------------------------------------------------------ splice, tee, vmsplice

SPLICE_F_NONBLOCK = 2
_SPLICE_FLAGS = 0xF                 # MOVE, NONBLOCK, MORE, GIFT: the rest is EINVAL
libc.splice.restype = libc.tee.restype = ctypes.c_ssize_t
libc.splice.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                        ctypes.c_size_t, ctypes.c_uint)
libc.tee.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_uint)


def _moved(cage, ends: tuple[OpenFile, OpenFile], flags: int,
           move: Callable[[int], int]) -> int:
    """A splice or tee made by the host kernel between the two files' host fds (so
    nothing is read into Lind and lost if the write fails), never blocking there
    (`move` gets the flags): an empty or full pipe, or a socket with nothing to read,
    is waited for beside the cage's signals, unless the call or the file says not to."""
    src, dst = ends
    while True:
        n = move(flags | SPLICE_F_NONBLOCK)
        if n >= 0:
            return n
        err = ctypes.get_errno()
        if err == errno.EINTR:
            continue
        if err != errno.EAGAIN:
            raise abi.error(err)
        waiting = ((src, select.POLLIN) if not ready_now(src.host_fd, select.POLLIN)
                   else (dst, select.POLLOUT))
        if flags & SPLICE_F_NONBLOCK or waiting[0].flags & abi.O_NONBLOCK:
            raise abi.error(errno.EAGAIN)
        cage.wait_host(waiting[0].host_fd, waiting[1])


def sys_splice(cage, fd_in, off_in, fd_out, off_out, length, flags, *_):
    """Between a pipe and another file, by the host kernel: confinement is the files'
    own (the cage holds them already), RLIMIT_FSIZE cuts a write to a file short."""
    in_f, out_f = cage.fds.get(s32(fd_in)), cage.fds.get(s32(fd_out))
    flags = u32(flags)
    if flags & ~_SPLICE_FLAGS:
        raise abi.error(errno.EINVAL)
    if not in_f.readable or not out_f.writable:
        raise abi.error(errno.EBADF)
    if (not in_f.host_backed or not out_f.host_backed or in_f.is_dir or out_f.is_dir
            or out_f.writes_checked):
        raise abi.error(errno.EINVAL)
    in_pipe, out_pipe = _is_pipe(in_f), _is_pipe(out_f)
    if not in_pipe and not out_pipe:
        raise abi.error(errno.EINVAL)
    if in_pipe and off_in or out_pipe and off_out:
        raise abi.error(errno.ESPIPE)
    offsets = [ctypes.c_longlong(_read_offset(cage, at)) if at else None
               for at in (off_in, off_out)]
    length = min(length, abi.MAX_RW_COUNT)
    if not out_pipe:
        at = offsets[1].value if offsets[1] is not None else None
        length = _file_size_room(cage, out_f, length, at)
    if not length:
        return 0
    pointers = [ctypes.byref(o) if o is not None else None for o in offsets]
    done = _moved(cage, (in_f, out_f), flags, lambda f: libc.splice(
        in_f.host_fd, pointers[0], out_f.host_fd, pointers[1], length, f))
    for at, value in zip((off_in, off_out), offsets, strict=True):
        if at:
            cage.mem.write(at, struct.pack("<q", value.value))
    return done


def sys_tee(cage, fd_in, fd_out, length, flags, *_):
    """What one pipe holds, copied into another without taking it out."""
    in_f, out_f = cage.fds.get(s32(fd_in)), cage.fds.get(s32(fd_out))
    flags = u32(flags)
    if flags & ~_SPLICE_FLAGS or not _is_pipe(in_f) or not _is_pipe(out_f):
        raise abi.error(errno.EINVAL)
    if not in_f.readable or not out_f.writable:
        raise abi.error(errno.EBADF)
    length = min(length, abi.MAX_RW_COUNT)
    if not length:
        return 0
    return _moved(cage, (in_f, out_f), flags,
                  lambda f: libc.tee(in_f.host_fd, out_f.host_fd, length, f))


def sys_vmsplice(cage, fd, iov, count, flags, *_):
    """The cage's buffers into a pipe it may write, or out of one it may read: what
    writev or readv of them does (SPLICE_F_GIFT only says they may be taken)."""
    f = cage.fds.get(s32(fd))
    if u32(flags) & ~_SPLICE_FLAGS:
        raise abi.error(errno.EINVAL)
    if not _is_pipe(f):
        raise abi.error(errno.EBADF)
    if f.writable:
        return sys_writev(cage, fd, iov, count)
    return sys_readv(cage, fd, iov, count)


def _regular(f: OpenFile) -> None:
    if f.is_dir:
        raise abi.error(errno.EISDIR)
    if not statmod.S_ISREG(f.stat().st_mode):
        raise abi.error(errno.EINVAL)


def sys_copy_file_range(cage, fd_in, off_in, fd_out, off_out, length, flags, *_):
    in_f, out_f = cage.fds.get(s32(fd_in)), cage.fds.get(s32(fd_out))
    if u32(flags):
        raise abi.error(errno.EINVAL)
    if not in_f.readable and not in_f.is_dir or not out_f.writable and not out_f.is_dir:
        raise abi.error(errno.EBADF)
    _regular(in_f)
    _regular(out_f)
    if out_f.flags & abi.O_APPEND:
        raise abi.error(errno.EBADF)
    src = _read_offset(cage, off_in) if off_in else in_f.position()
    dst = _read_offset(cage, off_out) if off_out else out_f.position()
    length = _file_size_room(cage, out_f, min(length, abi.MAX_RW_COUNT), dst)
    a, b = in_f.stat(), out_f.stat()
    same = (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    if same and src < dst + length and dst < src + length:
        raise abi.error(errno.EINVAL)       # overlapping ranges of one file
    done = 0
    while done < length:
        data = in_f.read_at(src + done, min(_CHUNK, length - done))
        if not data:
            break
        done += out_f.write_at(dst + done, data)
    for addr, f, at in ((off_in, in_f, src), (off_out, out_f, dst)):
        if addr:
            cage.mem.write(addr, struct.pack("<q", at + done))
        else:
            f.seek(at + done, abi.SEEK_SET)
    return done


# ----------------------------------------------------- flushing and advice

def _syncfs_host(fd: int) -> None:
    if libc.syncfs(fd) != 0:
        raise abi.error(ctypes.get_errno())


def sys_sync(cage, *_):
    """Only the file systems the cage sees: its mounts, not the whole host."""
    for mount in cage.fs.mounts:
        with contextlib.suppress(OSError):
            _syncfs_host(mount.fd)
    return 0


def sys_syncfs(cage, fd, *_):
    f = cage.fds.get(s32(fd))
    if f.host_backed:
        _syncfs_host(f.host_fd)
    return 0


def _not_pipe(f: OpenFile) -> None:
    if _is_pipe(f):
        raise abi.error(errno.ESPIPE)


_SYNC_FILE_RANGE_FLAGS = 7


def sys_sync_file_range(cage, fd, offset, nbytes, flags, *_):
    if u32(flags) & ~_SYNC_FILE_RANGE_FLAGS or offset < 0 or nbytes < 0:
        raise abi.error(errno.EINVAL)
    f = cage.fds.get(s32(fd))
    kind = statmod.S_IFMT(f.stat().st_mode)
    if kind not in (statmod.S_IFREG, statmod.S_IFDIR, statmod.S_IFLNK, statmod.S_IFBLK):
        raise abi.error(errno.ESPIPE)      # as Linux: pipes, sockets and devices have no range
    if f.host_backed and u32(flags):
        os.fdatasync(f.host_fd)
    return 0


_POSIX_FADV_MAX = 5


def sys_fadvise64(cage, fd, offset, length, advice, *_):
    f = cage.fds.get(s32(fd))
    _not_pipe(f)
    if not 0 <= s32(advice) <= _POSIX_FADV_MAX or length < 0:
        raise abi.error(errno.EINVAL)
    return 0


def sys_readahead(cage, fd, offset, count, *_):
    f = cage.fds.get(s32(fd))
    if not f.readable and not f.is_dir:
        raise abi.error(errno.EBADF)
    if not f.host_backed or not statmod.S_ISREG(f.stat().st_mode):
        raise abi.error(errno.EINVAL)     # a negative offset is not (Linux reads nothing)
    return 0


# ------------------------------------------------ vectored I/O at an offset

_RWF_HIPRI, _RWF_DSYNC, _RWF_SYNC, _RWF_NOWAIT, _RWF_APPEND = 1, 2, 4, 8, 0x10
_RWF_KNOWN = _RWF_HIPRI | _RWF_DSYNC | _RWF_SYNC | _RWF_NOWAIT | _RWF_APPEND
_RWF_HOST = {_RWF_HIPRI: os.RWF_HIPRI, _RWF_DSYNC: os.RWF_DSYNC, _RWF_SYNC: os.RWF_SYNC,
             _RWF_NOWAIT: os.RWF_NOWAIT, _RWF_APPEND: os.RWF_APPEND}


def _vectored(cage, fd: int, iov: int, iovcnt: int, offset: int, flags: int, write: bool) -> int:
    f = cage.fds.get(s32(fd))
    if flags & ~_RWF_KNOWN:
        raise abi.error(errno.EOPNOTSUPP)
    regular = offset == -1 and bool(flags) and f.host_backed and statmod.S_ISREG(f.stat().st_mode)
    # At the file position, RWF_NOWAIT (a single try) and a regular file's RWF_APPEND
    # are the kernel's, at its own position (below); the rest is readv/writev's way.
    kernel_at_position = offset == -1 and f.host_backed and bool(
        flags & _RWF_NOWAIT or regular and flags & _RWF_APPEND)
    if offset == -1 and not kernel_at_position:
        if flags & _RWF_NOWAIT:         # a file the microvisor makes never waits in a kernel
            raise abi.error(errno.EOPNOTSUPP)
        n = sys_writev(cage, fd, iov, iovcnt) if write else sys_readv(cage, fd, iov, iovcnt)
        if write and regular and flags & (_RWF_DSYNC | _RWF_SYNC):
            os.fsync(f.host_fd)        # a pipe's or socket's has nothing to sync
        return n
    if offset < -1:
        raise abi.error(errno.EINVAL)
    if offset != -1:
        _seekable(f)
    if write and not f.writable:
        raise abi.error(errno.EBADF)    # not open for writing (a directory never is)
    if not write and not f.readable:
        _readable(f)
    views = iovecs(cage, iov, iovcnt, writing=not write)
    if write and views:
        at = None if offset == -1 else offset
        room = _file_size_room(cage, f, sum(map(len, views)), at, bool(flags & _RWF_APPEND))
        views = _trimmed(views, room)
    if not views:
        return 0
    if not f.host_backed:          # a file kept in Python (lind.portable): its own reads
        if write:
            at = f.stat().st_size if flags & _RWF_APPEND else offset
            return f.write_views(at, views)
        data, done = f.read_at(offset, sum(map(len, views))), 0
        for view in views:
            part = data[done:done + len(view)]
            view[:len(part)] = part
            done += len(part)
        return done
    host_flags = 0
    for bit, host in _RWF_HOST.items():
        if flags & bit:
            host_flags |= host
    if write:
        return os.pwritev(f.host_fd, views, offset, host_flags)
    return os.preadv(f.host_fd, views, offset, host_flags)


def sys_preadv(cage, fd, iov, iovcnt, lo, hi, *_):
    return _vectored(cage, fd, iov, iovcnt, abi.explicit_offset(lo, hi), 0, False)


def sys_pwritev(cage, fd, iov, iovcnt, lo, hi, *_):
    return _vectored(cage, fd, iov, iovcnt, abi.explicit_offset(lo, hi), 0, True)


def sys_preadv2(cage, fd, iov, iovcnt, lo, hi, flags):
    return _vectored(cage, fd, iov, iovcnt, abi.hilo(lo, hi), u32(flags), False)


def sys_pwritev2(cage, fd, iov, iovcnt, lo, hi, flags):
    return _vectored(cage, fd, iov, iovcnt, abi.hilo(lo, hi), u32(flags), True)


# ---------------------------------------------------------------- fd ranges

_CLOSE_RANGE_UNSHARE, _CLOSE_RANGE_CLOEXEC = 2, 4


def sys_close_range(cage, first, last, flags, *_):
    first, last, flags = u32(first), u32(last), u32(flags)
    if flags & ~(_CLOSE_RANGE_UNSHARE | _CLOSE_RANGE_CLOEXEC) or first > last:
        raise abi.error(errno.EINVAL)
    for fd in cage.fds.numbers():
        if first <= fd <= last:
            if flags & _CLOSE_RANGE_CLOEXEC:
                cage.fds.set_cloexec(fd, True)
            else:
                cage.fds.close(fd)
    return 0


# ------------------------------------------------------------- new nodes

_S_IFREG, _S_IFIFO, _S_IFCHR, _S_IFBLK, _S_IFSOCK = 0o100000, 0o010000, 0o020000, 0o060000, 0o140000


def set_new_mode(pfd: int, name: str, perm: int) -> None:
    """give_mode for the file just made as `name` in directory `pfd`, without following
    the name if it was swapped for a link meanwhile."""
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
    try:
        give_mode(fd, perm)
    finally:
        os.close(fd)


def give_mode(fd: int, perm: int) -> None:
    """Give the file host `fd` (open or O_PATH) was just made as the mode the cage's umask
    leaves, unless it has it: the host process's own umask may have taken bits the
    cage's did not, and a chmod nobody needed shows inotify watchers an IN_ATTRIB that a
    native create does not make (libuv's fs_event_watch_dir counted it and never ended)."""
    if statmod.S_IMODE(os.fstat(fd).st_mode) != perm:
        os.chmod(proc_path(fd), perm)


def _mknod(cage, guest_path: str, mode: int) -> int:
    kind = mode & abi.S_IFMT
    if kind in (_S_IFCHR, _S_IFBLK, statmod.S_IFDIR):
        raise abi.error(errno.EPERM)        # devices need CAP_MKNOD; directories mkdir
    if kind not in (0, _S_IFREG, _S_IFIFO, _S_IFSOCK):
        raise abi.error(errno.EINVAL)
    if _exists_apart(cage, guest_path):
        raise abi.error(errno.EEXIST)
    perm = abi.host_permissions(mode, False) & ~cage.umask
    pfd, name = _parent_for_new_name(cage, guest_path)
    try:
        if kind == _S_IFIFO:
            os.mkfifo(name, perm, dir_fd=pfd)
        elif kind == _S_IFSOCK:
            os.mknod(name, statmod.S_IFSOCK | perm, dir_fd=pfd)
        else:
            os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                             | os.O_CLOEXEC, perm, dir_fd=pfd))
        set_new_mode(pfd, name, perm)
    finally:
        os.close(pfd)
    return 0


def sys_mknod(cage, path, mode, dev, *_):
    return _mknod(cage, _new_name(cage, path), u32(mode))


def sys_mknodat(cage, dirfd, path, mode, dev, *_):
    return _mknod(cage, _new_name(cage, path, dirfd), u32(mode))


# ------------------------------------------------------------------- memfd

_MFD_CLOEXEC, _MFD_ALLOW_SEALING = 1, 2
_MFD_NAME_MAX = 249


def sys_memfd_create(cage, name, flags, *_):
    """A host memfd the cage owns, counted against the host-fd budget like any file and
    its size against the tree's memory (MemFile)."""
    flags = u32(flags)
    if flags & ~(_MFD_CLOEXEC | _MFD_ALLOW_SEALING):
        raise abi.error(errno.EINVAL)
    try:
        raw = cage.mem.cstring(name, _MFD_NAME_MAX)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        raise abi.error(errno.EINVAL) from None
    host = os.memfd_create(raw.decode("utf-8", "surrogateescape"),
                           os.MFD_CLOEXEC | (os.MFD_ALLOW_SEALING if flags & _MFD_ALLOW_SEALING else 0))
    f = MemFile.held_by(cage.memory_budget, host, abi.O_RDWR)
    return cage.fds.install(f, cloexec=bool(flags & _MFD_CLOEXEC))
