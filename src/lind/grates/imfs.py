"""imfs: an in-memory file system mounted at a path prefix."""

from __future__ import annotations

import errno
import itertools
import os
import stat
import threading
import time
import weakref
from dataclasses import dataclass, field

from lind.grates import Call, Grate, handles, paths
from lind.grates.paths import PATH_CALLS, guest_dir, resolve, under
from lind.microvisor import abi
from lind.microvisor.fdtable import OpenFile

_DEVICE = 0x696D6673          # st_dev of every imfs file ("imfs")
_DIR_SIZE = 4096


@dataclass(eq=False)
class _Node:
    ino: int
    mode: int                                  # file type and permission bits
    ctime_ns: int = field(default_factory=time.time_ns)


@dataclass(eq=False)
class _File(_Node):
    """A regular file: its bytes live in a host memfd, closed when the node is gone."""

    memfd: int = -1
    nlink: int = 0

    def __post_init__(self) -> None:
        self.memfd = os.memfd_create(f"imfs-{self.ino}", os.MFD_CLOEXEC)
        weakref.finalize(self, os.close, self.memfd)


@dataclass(eq=False)
class _Dir(_Node):
    parent: _Dir | None = field(default=None, repr=False)
    entries: dict[str, _Node] = field(default_factory=dict, repr=False)
    mtime_ns: int = field(default_factory=time.time_ns)

    def changed(self) -> None:
        self.mtime_ns = self.ctime_ns = time.time_ns()


@dataclass(frozen=True)
class _Stat:
    """The fields abi.pack_stat reads, for files that have no host stat of their own."""

    st_dev: int
    st_ino: int
    st_nlink: int
    st_mode: int
    st_uid: int
    st_gid: int
    st_rdev: int
    st_size: int
    st_blksize: int
    st_blocks: int
    st_atime_ns: int
    st_mtime_ns: int
    st_ctime_ns: int


class InMemoryFS(Grate):
    """A file system in memory at a path prefix: `imfs`, `imfs:/scratch,preload=DIR`.

    Arguments, comma-separated: the guest directory it appears at (default /mem),
    and `preload=HOSTDIR` to copy a host directory's files and subdirectories in at
    start (symbolic links and special files are skipped). Everything outside the
    prefix goes to the layer below unchanged; the whole process tree shares one
    file system, which lasts as long as the grate object.

    The names (directories, files, hard links) live in the grate; each file's bytes
    live in a host memfd, and an open file is a host-backed file in the cage's fd
    table, so read, write, lseek, pread/pwrite, dup, fcntl, mmap, and fork (which
    shares the offset, as Linux does) are served by the microvisor. The grate serves
    open/openat/creat (O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY), stat, lstat,
    fstat, newfstatat, access, mkdir, rmdir, unlink, rename, link, chmod, fchmod,
    truncate, chdir, fchdir, readlink (EINVAL: there are no symbolic links; symlink is
    EPERM) and getdents64. Crossing the prefix with rename or link is EXDEV.
    Permission bits are kept and shown, not enforced; there is no size limit beyond
    host memory; programs cannot be executed from it.
    """

    name = "imfs"

    def __init__(self, prefix: str = "/mem", preload: str | None = None) -> None:
        self.prefix = guest_dir(prefix)
        self._inodes = itertools.count(2)
        self._lock = threading.RLock()
        self.root = _Dir(next(self._inodes), stat.S_IFDIR | 0o755)
        self.root.parent = self.root
        self._dir_placeholder = os.memfd_create("imfs-dir", os.MFD_CLOEXEC)
        weakref.finalize(self, os.close, self._dir_placeholder)
        self._files: weakref.WeakKeyDictionary[OpenFile, _Node] = weakref.WeakKeyDictionary()
        if preload is not None:
            if not os.path.isdir(preload):
                raise ValueError(f"imfs: preload={preload}: not a directory")
            self._preload(preload, self.root)

    @classmethod
    def from_args(cls, text: str) -> InMemoryFS:
        prefix, preload = "/mem", None
        for item in filter(None, text.split(",")):
            if item.startswith("preload="):
                preload = item.removeprefix("preload=")
            elif item.startswith("/"):
                prefix = item
            else:
                raise ValueError(f"imfs: unknown argument {item!r} (a /PREFIX or preload=DIR)")
        return cls(prefix, preload)

    def _preload(self, host_dir: str, into: _Dir) -> None:
        with os.scandir(host_dir) as it:
            for entry in it:
                perm = entry.stat(follow_symlinks=False).st_mode & 0o7777
                if entry.is_dir(follow_symlinks=False):
                    child = self._new_dir(into, entry.name, perm)
                    self._preload(entry.path, child)
                elif entry.is_file(follow_symlinks=False):
                    node = self._new_file(into, entry.name, perm)
                    with open(entry.path, "rb") as src, open(node.memfd, "wb", closefd=False) as dst:
                        while chunk := src.read(1 << 20):
                            dst.write(chunk)

    # -- the name space -------------------------------------------------------
    def _new_file(self, parent: _Dir, name: str, perm: int) -> _File:
        node = _File(next(self._inodes), stat.S_IFREG | perm)
        self._link(parent, name, node)
        return node

    def _new_dir(self, parent: _Dir, name: str, perm: int) -> _Dir:
        node = _Dir(next(self._inodes), stat.S_IFDIR | perm, parent=parent)
        self._link(parent, name, node)
        return node

    @staticmethod
    def _link(parent: _Dir, name: str, node: _Node) -> None:
        parent.entries[name] = node
        if isinstance(node, _File):
            node.nlink += 1
        parent.changed()

    @staticmethod
    def _unlink(parent: _Dir, name: str) -> None:
        node = parent.entries.pop(name)
        if isinstance(node, _File):
            node.nlink -= 1
        parent.changed()

    def _walk(self, path: str) -> tuple[_Dir, str | None]:
        """The directory holding `path` and its last name (None for the prefix itself)."""
        parts = [p for p in path[len(self.prefix):].split("/") if p]
        here = self.root
        for part in parts[:-1]:
            child = here.entries.get(part)
            if child is None:
                raise abi.error(errno.ENOENT)
            if not isinstance(child, _Dir):
                raise abi.error(errno.ENOTDIR)
            here = child
        return here, (parts[-1] if parts else None)

    def _lookup(self, path: str) -> _Node:
        parent, name = self._walk(path)
        if name is None:
            return self.root
        node = parent.entries.get(name)
        if node is None:
            raise abi.error(errno.ENOENT)
        return node

    def _stat(self, node: _Node) -> _Stat:
        if isinstance(node, _File):
            host = os.fstat(node.memfd)
            return _Stat(_DEVICE, node.ino, node.nlink, node.mode, host.st_uid, host.st_gid, 0,
                         host.st_size, host.st_blksize, host.st_blocks, host.st_atime_ns,
                         host.st_mtime_ns, host.st_ctime_ns)
        assert isinstance(node, _Dir)
        subdirs = sum(isinstance(c, _Dir) for c in node.entries.values())
        return _Stat(_DEVICE, node.ino, 2 + subdirs, node.mode, os.getuid(), os.getgid(), 0,
                     _DIR_SIZE, _DIR_SIZE, _DIR_SIZE // 512, node.mtime_ns, node.mtime_ns,
                     node.ctime_ns)

    # -- which calls are ours -------------------------------------------------
    def _path(self, call: Call, index: int = 0) -> str | None:
        """Argument `index`'s path if it lies in this file system."""
        path = resolve(call, PATH_CALLS[call.name][index])
        return path if path is not None and under(path, self.prefix) else None

    def _ours(self, call: Call, fd: int) -> tuple[OpenFile, _Node] | None:
        try:
            f = call.cage.fds.get(abi.s32(fd))
        except OSError:
            return None
        node = self._files.get(f)
        return None if node is None else (f, node)

    def _both(self, call: Call) -> tuple[str, str] | None:
        """rename and link: both paths when both are ours; EXDEV when only one is."""
        old, new = (resolve(call, arg) for arg in PATH_CALLS[call.name])
        inside = [p is not None and under(p, self.prefix) for p in (old, new)]
        if inside == [True, True]:
            return old, new
        if any(inside):
            raise abi.error(errno.EXDEV)
        return None

    # -- opening ----------------------------------------------------------------
    @handles("open", "openat", "creat")
    def open_file(self, call: Call) -> int:
        path = self._path(call)
        if path is None:
            return call.forward()
        if call.name == "creat":
            flags, mode = abi.O_CREAT | abi.O_WRONLY | abi.O_TRUNC, call.args[1]
        else:
            at = 1 if call.name == "open" else 2
            flags, mode = call.args[at], call.args[at + 1]
        return self._open(call, path, abi.u32(flags) & ~abi.O_LARGEFILE, abi.u32(mode))

    def _open(self, call: Call, path: str, flags: int, mode: int) -> int:
        if flags & abi.O_TMPFILE == abi.O_TMPFILE:
            raise abi.error(errno.EOPNOTSUPP)
        access = flags & abi.O_ACCMODE
        with self._lock:
            parent, name = self._walk(path)
            node = self.root if name is None else parent.entries.get(name)
            if node is None:
                if not flags & abi.O_CREAT:
                    raise abi.error(errno.ENOENT)
                node = self._new_file(parent, name, mode & 0o7777 & ~call.cage.umask)
            elif flags & abi.O_CREAT and flags & abi.O_EXCL:
                raise abi.error(errno.EEXIST)
            if isinstance(node, _Dir):
                if access != abi.O_RDONLY or flags & abi.O_CREAT:
                    raise abi.error(errno.EISDIR)
                host_fd = os.dup(self._dir_placeholder)
            else:
                if flags & abi.O_DIRECTORY:
                    raise abi.error(errno.ENOTDIR)
                if flags & abi.O_TRUNC:
                    os.ftruncate(node.memfd, 0)
                host_flags = (os.O_RDONLY if flags & abi.O_PATH else access) | os.O_CLOEXEC
                host_flags |= os.O_APPEND if flags & abi.O_APPEND else 0
                host_fd = os.open(f"/proc/self/fd/{node.memfd}", host_flags)
            f = OpenFile(host_fd, flags & ~(abi.O_CLOEXEC | abi.O_CREAT | abi.O_EXCL | abi.O_TRUNC),
                         path, isinstance(node, _Dir))
            self._files[f] = node
        return call.cage.fds.install(f, cloexec=bool(flags & abi.O_CLOEXEC))

    # -- attributes -------------------------------------------------------------
    @handles("stat", "lstat", "newfstatat")
    def stat_path(self, call: Call) -> int:
        buf = 2 if call.name == "newfstatat" else 1
        path = self._path(call)
        if path is None:
            empty = call.name == "newfstatat" and abi.u32(call.args[3]) & abi.AT_EMPTY_PATH
            ours = self._ours(call, call.args[0]) if empty else None
            if ours is None:
                return call.forward()
            node = ours[1]
        else:
            with self._lock:
                node = self._lookup(path)
        call.write(buf, abi.pack_stat(self._stat(node), call.cage.ids))
        return 0

    @handles("fstat")
    def fstat(self, call: Call) -> int:
        ours = self._ours(call, call.args[0])
        if ours is None:
            return call.forward()
        call.write(1, abi.pack_stat(self._stat(ours[1]), call.cage.ids))
        return 0

    @handles("access", "faccessat", "faccessat2")
    def access(self, call: Call) -> int:
        path = self._path(call)
        if path is None:
            return call.forward()
        if abi.u32(call.args[1 if call.name == "access" else 2]) & ~7:
            raise abi.error(errno.EINVAL)
        with self._lock:
            self._lookup(path)
        return 0

    @handles("chmod", "fchmodat", "fchmod")
    def chmod(self, call: Call) -> int:
        if call.name == "fchmod":
            ours = self._ours(call, call.args[0])
            if ours is None:
                return call.forward()
            node, mode = ours[1], call.args[1]
        else:
            path = self._path(call)
            if path is None:
                return call.forward()
            with self._lock:
                node = self._lookup(path)
            mode = call.args[1 if call.name == "chmod" else 2]
        node.mode = stat.S_IFMT(node.mode) | (abi.u32(mode) & 0o7777)
        node.ctime_ns = time.time_ns()
        return 0

    @handles("truncate")
    def truncate(self, call: Call) -> int:
        path = self._path(call)
        if path is None:
            return call.forward()
        if call.args[1] < 0:
            raise abi.error(errno.EINVAL)
        with self._lock:
            node = self._lookup(path)
        if isinstance(node, _Dir):
            raise abi.error(errno.EISDIR)
        os.ftruncate(node.memfd, call.args[1])
        return 0

    @handles("readlink", "readlinkat")
    def readlink(self, call: Call) -> int:
        path = self._path(call)
        if path is None:
            return call.forward()
        with self._lock:
            self._lookup(path)
        raise abi.error(errno.EINVAL)

    @handles("symlink", "symlinkat")
    def symlink(self, call: Call) -> int:
        return call.forward() if self._path(call) is None else -errno.EPERM

    # -- names ------------------------------------------------------------------
    @handles("mkdir", "mkdirat")
    def mkdir(self, call: Call) -> int:
        path = self._path(call)
        if path is None:
            return call.forward()
        mode = abi.u32(call.args[1 if call.name == "mkdir" else 2])
        with self._lock:
            parent, name = self._walk(path)
            if name is None or name in parent.entries:
                raise abi.error(errno.EEXIST)
            self._new_dir(parent, name, mode & 0o7777 & ~call.cage.umask)
        return 0

    @handles("unlink", "unlinkat", "rmdir")
    def remove(self, call: Call) -> int:
        path = self._path(call)
        if path is None:
            return call.forward()
        directory = paths.removes_directory(call)
        with self._lock:
            parent, name = self._walk(path)
            if name is None:
                raise abi.error(errno.EBUSY)
            node = parent.entries.get(name)
            if node is None:
                raise abi.error(errno.ENOENT)
            if directory and not isinstance(node, _Dir):
                raise abi.error(errno.ENOTDIR)
            if not directory and isinstance(node, _Dir):
                raise abi.error(errno.EISDIR)
            if isinstance(node, _Dir) and node.entries:
                raise abi.error(errno.ENOTEMPTY)
            self._unlink(parent, name)
        return 0

    @handles("rename", "renameat", "renameat2")
    def rename(self, call: Call) -> int:
        if call.name == "renameat2" and abi.u32(call.args[4]):
            raise abi.error(errno.EINVAL)
        both = self._both(call)
        if both is None:
            return call.forward()
        old, new = both
        with self._lock:
            old_parent, old_name = self._walk(old)
            new_parent, new_name = self._walk(new)
            if old_name is None or new_name is None:
                raise abi.error(errno.EBUSY)
            node = old_parent.entries.get(old_name)
            if node is None:
                raise abi.error(errno.ENOENT)
            target = new_parent.entries.get(new_name)
            if target is node:
                return 0
            if isinstance(node, _Dir):
                if under(new, old):
                    raise abi.error(errno.EINVAL)
                if target is not None and not isinstance(target, _Dir):
                    raise abi.error(errno.ENOTDIR)
                if isinstance(target, _Dir) and target.entries:
                    raise abi.error(errno.ENOTEMPTY)
            elif isinstance(target, _Dir):
                raise abi.error(errno.EISDIR)
            if target is not None:
                self._unlink(new_parent, new_name)
            self._unlink(old_parent, old_name)
            self._link(new_parent, new_name, node)
            if isinstance(node, _Dir):
                node.parent = new_parent
        return 0

    @handles("link", "linkat")
    def link(self, call: Call) -> int:
        both = self._both(call)
        if both is None:
            return call.forward()
        old, new = both
        with self._lock:
            node = self._lookup(old)
            if isinstance(node, _Dir):
                raise abi.error(errno.EPERM)
            parent, name = self._walk(new)
            if name is None or name in parent.entries:
                raise abi.error(errno.EEXIST)
            self._link(parent, name, node)
        return 0

    # -- directories ------------------------------------------------------------
    @handles("chdir")
    def chdir(self, call: Call) -> int:
        path = self._path(call)
        if path is None:
            return call.forward()
        with self._lock:
            node = self._lookup(path)
        if not isinstance(node, _Dir):
            raise abi.error(errno.ENOTDIR)
        call.cage.cwd = path
        return 0

    @handles("fchdir")
    def fchdir(self, call: Call) -> int:
        ours = self._ours(call, call.args[0])
        if ours is None:
            return call.forward()
        f, node = ours
        if not isinstance(node, _Dir):
            raise abi.error(errno.ENOTDIR)
        call.cage.cwd = f.path
        return 0

    @handles("getdents64")
    def getdents64(self, call: Call) -> int:
        """Fill the listing of one of our directories; the microvisor pages it out."""
        ours = self._ours(call, call.args[0])
        if ours is not None and isinstance(ours[1], _Dir) and ours[0].dir_entries is None:
            f, node = ours
            with self._lock:
                listing = [(b".", node.ino, abi.DT_DIR), (b"..", node.parent.ino, abi.DT_DIR)]
                listing += [(name.encode("utf-8", "surrogateescape"), child.ino,
                             abi.d_type(child.mode)) for name, child in node.entries.items()]
            f.dir_entries = listing
        return call.forward()
