"""File system calls: paths resolve through the cage's FileSystem, fds through its FdTable.

Every handler has the 3i shape `(cage, a1..a6) -> int`; errors are raised as OSError
and turned into -errno by the trampoline.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat as statmod
import struct
import termios
import time

from lind.microvisor import abi, sys_locks, virtual
from lind.microvisor.abi import s32, u32
from lind.microvisor.fdtable import OpenFile
from lind.microvisor.fs import join, proc_path, wants_write
from lind.microvisor.pipe import PipeEnd, make_pipe


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
    return _fold(cage, read_path(cage, addr), dirfd)


def _fold(cage, raw: str, dirfd: int) -> tuple[str, bool]:
    path = at_path(cage, dirfd, raw)
    if ".." in raw:
        parts = raw.split("/")
        for i, part in enumerate(parts):
            if part == ".." and any(p not in ("", ".", "..") for p in parts[:i]):
                _need_directory(cage, at_path(cage, dirfd, "/".join(parts[:i])))
    return path, raw.endswith(("/", "/.", "/.."))


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


# ---------------------------------------------------------------- open/close

def _open(cage, guest_path: str, dir_only: bool, flags: int, mode: int) -> int:
    flags &= ~abi.O_LARGEFILE
    if dir_only:       # "name/": a directory, which open never creates
        if flags & abi.O_CREAT:
            raise abi.error(errno.EISDIR)
        flags |= abi.O_DIRECTORY
    if flags & abi.O_TMPFILE == abi.O_TMPFILE:
        raise abi.error(errno.EOPNOTSUPP)
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
    perm = mode & 0o7777 & ~cage.umask
    created = False
    if flags & abi.O_CREAT:
        # Try exclusive creation first so we know whether to apply the cage's umask.
        try:
            fd = cage.fs.open(guest_path, host | os.O_EXCL, perm, write=True)
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
                fd = cage.fs.open(guest_path, host & ~os.O_CREAT, write=write)
            except FileNotFoundError:
                if exc.errno == errno.EROFS:
                    raise exc from None
                raise
    else:
        fd = cage.fs.open(guest_path, host, perm, write=wants_write(flags))
    if created:
        os.fchmod(fd, perm)
    return _install(cage, fd, flags, guest_path)


def _install(cage, host_fd: int, flags: int, guest_path: str) -> int:
    is_dir = statmod.S_ISDIR(os.fstat(host_fd).st_mode)
    f = OpenFile(host_fd, flags & ~(abi.O_CLOEXEC | abi.O_CREAT | abi.O_EXCL | abi.O_TRUNC),
                 guest_path, is_dir)
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
    flags = u32(flags)
    if flags & ~(abi.O_CLOEXEC | abi.O_NONBLOCK):
        raise abi.error(errno.EINVAL)
    cage.mem.view(fds, 8)  # EFAULT before anything is created
    read_end, write_end = make_pipe(flags)
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
    if f.flags & abi.O_ACCMODE == abi.O_WRONLY or f.flags & abi.O_PATH:
        raise abi.error(errno.EBADF)
    if f.is_dir:
        raise abi.error(errno.EISDIR)


def _writable(f: OpenFile) -> None:
    if f.flags & abi.O_ACCMODE == abi.O_RDONLY or f.flags & abi.O_PATH:
        raise abi.error(errno.EBADF)
    if f.is_dir:
        raise abi.error(errno.EISDIR)


# The hot four: fd arguments arrive sign-extended, and FdTable.get rejects anything else.

def sys_read(cage, fd, buf, count, *_):
    f = cage.fds.get(fd)
    if not f.readable:
        _readable(f)
    return f.read(cage, buf, count)


def sys_write(cage, fd, buf, count, *_):
    f = cage.fds.get(fd)
    if not f.writable:
        _writable(f)
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
        _writable(f)
    return f.pwrite(cage, buf, count, offset)


def _iovecs(cage, iov: int, iovcnt: int) -> list[memoryview]:
    iovcnt = s32(iovcnt)
    if not 0 <= iovcnt <= abi.IOV_MAX:
        raise abi.error(errno.EINVAL)
    raw = cage.mem.read(iov, iovcnt * abi.IOVEC.size)
    # Buffers live in the same memory as the array that names them.
    memory = getattr(iov, "memory", cage.mem)
    return [memory.view(base, length) for base, length in abi.IOVEC.iter_unpack(raw)]


def sys_readv(cage, fd, iov, iovcnt, *_):
    f = cage.fds.get(s32(fd))
    if not f.readable:
        _readable(f)
    views = _iovecs(cage, iov, iovcnt)
    return f.readv(cage, views) if views else 0


def sys_writev(cage, fd, iov, iovcnt, *_):
    f = cage.fds.get(s32(fd))
    if not f.writable:
        _writable(f)
    views = _iovecs(cage, iov, iovcnt)
    return f.writev(cage, views) if views else 0


def sys_lseek(cage, fd, offset, whence, *_):
    f = cage.fds.get(s32(fd))
    whence = s32(whence)
    _seekable(f)
    if f.is_dir:
        if whence != abi.SEEK_SET or offset < 0:
            raise abi.error(errno.EINVAL)
        f.dir_pos = offset
        if offset == 0:
            f.dir_entries = None
        return offset
    if whence not in (abi.SEEK_SET, abi.SEEK_CUR, abi.SEEK_END):
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
    st = _stat_path(cage, path_arg(cage, path), False)
    cage.mem.write(buf, abi.pack_stat(st, cage.ids))
    return 0


def sys_fstat(cage, fd, buf, *_):
    cage.mem.write(buf, abi.pack_stat(cage.fds.get(s32(fd)).stat(), cage.ids))
    return 0


def sys_newfstatat(cage, dirfd, path, buf, flags, *_):
    flags = u32(flags)
    raw = cage.mem.cstring(path, abi.PATH_MAX - 1) if path else b""
    if not raw and flags & abi.AT_EMPTY_PATH:
        dirfd = s32(dirfd)
        at_cwd = dirfd == abi.AT_FDCWD
        st = _stat_path(cage, cage.cwd, True) if at_cwd else cage.fds.get(dirfd).stat()
    else:
        guest = path_arg(cage, path, dirfd)
        st = _stat_path(cage, guest, not flags & abi.AT_SYMLINK_NOFOLLOW)
    cage.mem.write(buf, abi.pack_stat(st, cage.ids))
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
        if mode and not os.access(proc_path(fd), mode, effective_ids=bool(flags & abi.AT_EACCESS)):
            raise abi.error(errno.EACCES)
    finally:
        os.close(fd)
    return 0


def sys_access(cage, path, mode, *_):
    return _access(cage, path_arg(cage, path), u32(mode), 0)


def sys_faccessat(cage, dirfd, path, mode, *_):
    return _access(cage, path_arg(cage, path, dirfd), u32(mode), 0)


def sys_faccessat2(cage, dirfd, path, mode, flags, *_):
    return _access(cage, path_arg(cage, path, dirfd), u32(mode), u32(flags))


# ------------------------------------------------------ directories and names

def _exists_apart(cage, guest_path: str) -> bool:
    """Whether the name is a mount point, or virtual: there whatever the root holds."""
    if guest_path == "/" or cage.fs.is_mount_point(guest_path):
        return True
    try:
        return not isinstance(virtual.lookup(cage, guest_path, follow=False), str)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _mkdir(cage, guest_path: str, mode: int) -> int:
    if _exists_apart(cage, guest_path):
        raise abi.error(errno.EEXIST)     # mkdir -p /tmp/x goes on past /tmp
    pfd, name = cage.fs.open_parent(guest_path, write=True)
    try:
        perm = mode & 0o7777 & ~cage.umask
        os.mkdir(name, perm, dir_fd=pfd)
        # The host process's own umask may have taken bits the cage's did not.
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        try:
            os.fchmod(fd, perm)
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
    """rmdir's path: one ending in `.` is EINVAL, as Linux will not remove "." itself."""
    raw = read_path(cage, addr)
    if raw == "." or raw.endswith("/."):
        raise abi.error(errno.EINVAL)
    path, dir_only = _fold(cage, raw, dirfd)
    if dir_only:
        _need_directory(cage, path)
    return path


def sys_rmdir(cage, path, *_):
    return _remove(cage, _rmdir_path(cage, path), True)


def sys_unlink(cage, path, *_):
    return _remove(cage, path_arg(cage, path), False)


def sys_unlinkat(cage, dirfd, path, flags, *_):
    flags = u32(flags)
    if flags & ~abi.AT_REMOVEDIR:
        raise abi.error(errno.EINVAL)
    if flags & abi.AT_REMOVEDIR:
        return _remove(cage, _rmdir_path(cage, path, dirfd), True)
    return _remove(cage, path_arg(cage, path, dirfd), False)


def _rename(cage, old: str, new: str) -> int:
    if old == "/" or new == "/" or cage.fs.is_mount_point(old) or cage.fs.is_mount_point(new):
        raise abi.error(errno.EBUSY)        # as Linux, before it compares the mounts
    if not cage.fs.same_mount(old, new):
        raise abi.error(errno.EXDEV)
    ofd, oname = cage.fs.open_parent(old, write=True)
    try:
        nfd, nname = cage.fs.open_parent(new, write=True)
        try:
            os.rename(oname, nname, src_dir_fd=ofd, dst_dir_fd=nfd)
        finally:
            os.close(nfd)
    finally:
        os.close(ofd)
    return 0


def sys_rename(cage, old, new, *_):
    return sys_renameat(cage, abi.AT_FDCWD, old, abi.AT_FDCWD, new)


def sys_renameat(cage, olddirfd, old, newdirfd, new, *_):
    (old, old_slash), (new, new_slash) = (path_and_slash(cage, old, olddirfd),
                                          path_and_slash(cage, new, newdirfd))
    if old_slash or new_slash:     # only a directory moves to or from "name/"
        _need_directory(cage, old)
    return _rename(cage, old, new)


def sys_renameat2(cage, olddirfd, old, newdirfd, new, flags, *_):
    if u32(flags):
        raise abi.error(errno.EINVAL)
    return sys_renameat(cage, olddirfd, old, newdirfd, new)


def _link(cage, old: str, new: str, follow: bool) -> int:
    if not cage.fs.same_mount(old, new):
        raise abi.error(errno.EXDEV)
    if follow:
        # Resolve the target inside the root first; link the resolved file.
        src = cage.fs.open(old, os.O_PATH | os.O_CLOEXEC)
        nfd, nname = cage.fs.open_parent(new, write=True)
        try:
            os.link(proc_path(src), nname, dst_dir_fd=nfd, follow_symlinks=True)
        finally:
            os.close(nfd)
            os.close(src)
        return 0
    ofd, oname = cage.fs.open_parent(old, write=True)
    try:
        nfd, nname = cage.fs.open_parent(new, write=True)
        try:
            os.link(oname, nname, src_dir_fd=ofd, dst_dir_fd=nfd, follow_symlinks=False)
        finally:
            os.close(nfd)
    finally:
        os.close(ofd)
    return 0


def sys_link(cage, old, new, *_):
    return _link(cage, path_arg(cage, old), _new_name(cage, new),
                 False)


def sys_linkat(cage, olddirfd, old, newdirfd, new, flags, *_):
    return _link(cage, path_arg(cage, old, olddirfd), _new_name(cage, new, newdirfd),
                 bool(u32(flags) & abi.AT_SYMLINK_FOLLOW))


def _symlink(cage, target: bytes, guest_path: str) -> int:
    pfd, name = cage.fs.open_parent(guest_path, write=True)
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
    elif not isinstance(found, str):
        raise abi.error(errno.EINVAL)
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
    return _readlink(cage, path_arg(cage, path), buf, size)


def sys_readlinkat(cage, dirfd, path, buf, size, *_):
    return _readlink(cage, path_arg(cage, path, dirfd), buf, size)


# ------------------------------------------------------- attributes and size

def _chmod(cage, guest_path: str, mode: int, follow: bool = True) -> int:
    if not follow and statmod.S_ISLNK(_stat_path(cage, guest_path, False).st_mode):
        raise abi.error(errno.EOPNOTSUPP)  # as Linux: symlinks have no mode of their own
    _not_virtual(cage, guest_path, follow)
    fd = cage.fs.open(guest_path, os.O_PATH | os.O_CLOEXEC, write=True)
    try:
        os.chmod(proc_path(fd), mode & 0o7777)
    finally:
        os.close(fd)
    return 0


def sys_chmod(cage, path, mode, *_):
    return _chmod(cage, path_arg(cage, path), u32(mode))


def sys_fchmodat(cage, dirfd, path, mode, *_):
    return _chmod(cage, path_arg(cage, path, dirfd), u32(mode))


def sys_fchmodat2(cage, dirfd, path, mode, flags, *_):
    """fchmodat with flags (Linux 6.6): AT_SYMLINK_NOFOLLOW, which libc's fchmodat uses."""
    flags = u32(flags)
    if flags & ~abi.AT_SYMLINK_NOFOLLOW:
        raise abi.error(errno.EINVAL)
    return _chmod(cage, path_arg(cage, path, dirfd), u32(mode),
                  follow=not flags & abi.AT_SYMLINK_NOFOLLOW)


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
    os.chmod(proc_path(f.host_fd), u32(mode) & 0o7777)
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
    return _chown_path(cage, path_arg(cage, path), uid, gid, False)


def sys_fchownat(cage, dirfd, path, uid, gid, flags, *_):
    flags = u32(flags)
    if flags & ~(abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH):
        raise abi.error(errno.EINVAL)
    if flags & abi.AT_EMPTY_PATH and not (path and cage.mem.cstring(path, abi.PATH_MAX - 1)):
        return sys_fchown(cage, dirfd, uid, gid)
    return _chown_path(cage, path_arg(cage, path, dirfd), uid, gid,
                       not flags & abi.AT_SYMLINK_NOFOLLOW)


_UTIME_NOW, _UTIME_OMIT = 0x3FFFFFFF, 0x3FFFFFFE


def _new_times(cage, times: int, st: os.stat_result) -> tuple[int, int]:
    """utimensat's two timespecs as (atime, mtime) in ns; NULL or UTIME_NOW is now."""
    now = time.time_ns()
    if not times:
        return now, now
    raw = cage.mem.read(times, 2 * abi.TIMESPEC_SIZE)
    out = []
    for i, current in ((0, st.st_atime_ns), (1, st.st_mtime_ns)):
        sec, nsec = abi.unpack_timespec(raw[i * abi.TIMESPEC_SIZE:(i + 1) * abi.TIMESPEC_SIZE])
        if nsec == _UTIME_NOW:
            out.append(now)
        elif nsec == _UTIME_OMIT:
            out.append(current)
        elif 0 <= nsec < 10**9:
            out.append(sec * 10**9 + nsec)
        else:
            raise abi.error(errno.EINVAL)
    return out[0], out[1]


def sys_utimensat(cage, dirfd, path, times, flags, *_):
    flags = u32(flags)
    if flags & ~(abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH):
        raise abi.error(errno.EINVAL)
    if not path:   # futimens: the file dirfd is open on
        f = cage.fds.get(s32(dirfd))
        _changeable(cage, f)
        os.utime(proc_path(f.host_fd), ns=_new_times(cage, times, f.stat()))
        return 0
    guest = path_arg(cage, path, dirfd)
    if flags & abi.AT_SYMLINK_NOFOLLOW:
        pfd, name = cage.fs.open_parent(guest, write=True)
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
            os.utime(name, dir_fd=pfd, follow_symlinks=False, ns=_new_times(cage, times, st))
        finally:
            os.close(pfd)
        return 0
    fd = cage.fs.open(guest, os.O_PATH | os.O_CLOEXEC, write=True)
    try:
        os.utime(proc_path(fd), ns=_new_times(cage, times, os.fstat(fd)))
    finally:
        os.close(fd)
    return 0


def sys_fallocate(cage, fd, mode, offset, length, *_):
    f = cage.fds.get(s32(fd))
    if not f.writable:
        raise abi.error(errno.EBADF)
    if not f.host_backed:
        raise abi.error(errno.ESPIPE)
    _changeable(cage, f)
    if offset < 0 or length <= 0:
        raise abi.error(errno.EINVAL)
    if s32(mode):
        raise abi.error(errno.EOPNOTSUPP)
    os.posix_fallocate(f.host_fd, offset, length)
    return 0


def sys_truncate(cage, path, length, *_):
    if length < 0:
        raise abi.error(errno.EINVAL)
    fd = cage.fs.open(path_arg(cage, path), os.O_WRONLY | os.O_CLOEXEC, write=True)
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

def sys_getdents64(cage, fd, buf, count, *_):
    f = cage.fds.get(s32(fd))
    if not f.is_dir:
        raise abi.error(errno.ENOTDIR)
    if f.dir_entries is None:
        f.dir_entries = virtual.entries(cage, f)
    out = bytearray()
    count = u32(count)
    while f.dir_pos < len(f.dir_entries):
        name, ino, dtype = f.dir_entries[f.dir_pos]
        rec = abi.pack_dirent64(ino or 1, f.dir_pos + 1, dtype, name)
        if len(out) + len(rec) > count:
            if not out:
                raise abi.error(errno.EINVAL)
            break
        out += rec
        f.dir_pos += 1
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
        if not os.access(proc_path(fd), os.X_OK):
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
        if lowest < 0 or lowest >= cage.fds.limit:
            raise abi.error(errno.EINVAL)
        return cage.fds.install(f.hold(), cloexec=cmd == abi.F_DUPFD_CLOEXEC, lowest=lowest)
    if cmd in sys_locks.COMMANDS:
        return sys_locks.fcntl_lock(cage, f, cmd, arg)
    if cmd == abi.F_GETFD:
        return abi.FD_CLOEXEC if cage.fds.cloexec(fd) else 0
    if cmd == abi.F_SETFD:
        cage.fds.set_cloexec(fd, bool(u32(arg) & abi.FD_CLOEXEC))
        return 0
    if cmd == abi.F_GETFL:
        return f.flags
    if cmd == abi.F_SETFL:
        new = u32(arg) & abi.SETFL_MASK
        if not f.host_backed:
            f.flags = (f.flags & ~abi.SETFL_MASK) | new
            return 0
        if f.shares_host_flags:
            # The host holds this description too: its O_APPEND is the host's to set,
            # and O_NONBLOCK (which a regular file ignores) is recorded for the cage only.
            if (new ^ f.flags) & abi.O_APPEND:
                raise abi.error(errno.EPERM)
            f.flags = (f.flags & ~abi.SETFL_MASK) | new
            return 0
        host = fcntl.fcntl(f.host_fd, fcntl.F_GETFL) & ~(os.O_APPEND | os.O_NONBLOCK)
        host |= (os.O_APPEND if new & abi.O_APPEND else 0) | (
            os.O_NONBLOCK if new & abi.O_NONBLOCK else 0)
        fcntl.fcntl(f.host_fd, fcntl.F_SETFL, host)
        f.flags = (f.flags & ~abi.SETFL_MASK) | new
        return 0
    raise abi.error(errno.EINVAL)


_TCGETS, _TIOCGWINSZ, _FIONREAD = 0x5401, 0x5413, 0x541B
_TCSETS, _TCSETSW, _TCSETSF, _TCFLSH, _TIOCSWINSZ = 0x5402, 0x5403, 0x5404, 0x540B, 0x5414
_TIOCGPGRP = 0x540F
# Terminal requests a cage may make of a terminal it was given (raw mode for editors and
# pagers): request -> (host request, bytes read from the cage, bytes written back to it).
_TERMINAL_IOCTLS = {_TCGETS: (termios.TCGETS, 0, 36), _TIOCGWINSZ: (termios.TIOCGWINSZ, 0, 8),
                    _TCSETS: (termios.TCSETS, 36, 0), _TCSETSW: (termios.TCSETSW, 36, 0),
                    _TCSETSF: (termios.TCSETSF, 36, 0), _TIOCSWINSZ: (termios.TIOCSWINSZ, 8, 0)}


def sys_ioctl(cage, fd, request, arg, *_):
    """FIONREAD, and the terminal requests interactive programs make of a terminal the
    cage was given as stdio, done on the host fd (lind run restores the terminal)."""
    f = cage.fds.get(s32(fd))
    request = u32(request)
    if not f.host_backed:
        if request != _FIONREAD or not isinstance(f, PipeEnd):
            raise abi.error(errno.ENOTTY)
        cage.mem.write(arg, len(f.pipe.buffer).to_bytes(4, "little"))
        return 0
    if request == _FIONREAD:
        out = fcntl.ioctl(f.host_fd, termios.FIONREAD, b"\0" * 4)
        cage.mem.write(arg, out)
        return 0
    if not os.isatty(f.host_fd):
        raise abi.error(errno.ENOTTY)
    if request == _TCFLSH:
        if arg not in (termios.TCIFLUSH, termios.TCOFLUSH, termios.TCIOFLUSH):
            raise abi.error(errno.EINVAL)
        termios.tcflush(f.host_fd, arg)
        return 0
    if request == _TIOCGPGRP:      # the terminal's foreground group: the cage's own
        cage.mem.write(arg, struct.pack("<i", cage.pgid))
        return 0
    if request not in _TERMINAL_IOCTLS:
        raise abi.error(errno.EINVAL)
    host_request, size_in, size_out = _TERMINAL_IOCTLS[request]
    out = fcntl.ioctl(f.host_fd, host_request, cage.mem.read(arg, size_in) if size_in else
                      b"\0" * size_out)
    if size_out:
        cage.mem.write(arg, out)
    return 0
