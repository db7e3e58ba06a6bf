"""A memfs tree as a cage's files: the imfs grate at a prefix, or the portable back
end's whole file system at `/`.

Every call that names a path under the prefix, or acts on a file opened there, is
answered here from the tree, without a host system call; anything else goes to the
layer below unchanged. An open file is a MemoryFile in the cage's fd table, so dup,
fcntl's descriptor flags, fork (which shares the offset, as Linux does), close and
poll are the microvisor's, and read, write, lseek, pread and pwrite reach the
MemoryFile's own methods through it.

Linux's rules are kept where a program can see them: permission bits are enforced
against the cage's effective user (an owner is the cage itself or nobody, as on the
host back end), O_CREAT/O_EXCL/O_TRUNC/O_APPEND/O_NOFOLLOW/O_DIRECTORY/O_PATH,
symbolic and hard links, rename over files and empty directories, sparse writes,
timestamps; and the tree's capacity (ENOSPC past it). Private mmap copies the file;
MAP_SHARED of a tree's file is ENODEV.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import time
from collections.abc import Callable

from lind.grates import Call, Grate, handles
from lind.grates.paths import (
    PATH_CALLS,
    PathArg,
    encode_path,
    guest_dir,
    open_flags_and_mode,
    removes_directory,
    resolve,
    start_dir,
    under,
)
from lind.microvisor import abi, sys_files, sys_memory, sys_net
from lind.microvisor.fdtable import OpenFile
from lind.microvisor.fs import join, normalize
from lind.portable.memfs import (
    SELF,
    Dir,
    Fifo,
    File,
    Found,
    Node,
    Socket,
    Stat,
    Symlink,
    Tree,
    names_a_directory,
    path_parts,
    same_mount,
    writable,
)

DEFAULT_CAPACITY = 1 << 30      # bytes an imfs tree holds unless told otherwise
MAX_IO = 1 << 24                # what one read made into host bytes first holds at most
_R, _W, _X = 4, 2, 1
_OPEN_ONLY = abi.O_CREAT | abi.O_EXCL | abi.O_TRUNC | abi.O_CLOEXEC | abi.O_NOCTTY
_PROVIDED_BELOW = ("/dev", "/proc")     # the microvisor's own files, kept at a "/" prefix
_PROC_FD = re.compile(r"/proc/(self|\d+)/fd/(\d+)")
_AF_UNIX, _SOCKADDR_UN = 1, 110      # sockaddr_un: family and 108 bytes of path


def _error(code: int) -> OSError:
    return abi.error(code)


class MemoryFile(OpenFile):
    """An open file of a tree: its offset, and I/O on the node's bytes."""

    trampoline_io = False

    def __init__(self, owner: MemoryFiles, node: Node, flags: int, path: str) -> None:
        super().__init__(-1, flags & ~_OPEN_ONLY, path, is_dir=isinstance(node, Dir),
                         host_backed=False)
        self.owner = owner
        self.node = node
        self.pos = 0
        node.opened += 1

    @property
    def _data_node(self) -> File:
        if not isinstance(self.node, File):
            raise _error(errno.EINVAL)
        return self.node

    @property
    def _data(self) -> bytearray:
        return self._data_node.data

    # -- reading --------------------------------------------------------------
    # A read copies the file's bytes once, straight into the cage's memory, and no more
    # than Linux moves in one call (the bytes taken first, twice, once held two more
    # copies of a 900 MB file in the host for a cage under --memory 256M).
    def _view(self, at: int, n: int) -> memoryview:
        return self.owner.tree.read_view(self._data_node, at, min(n, abi.MAX_RW_COUNT))

    @staticmethod
    def _place(cage, addr: int, chunk: memoryview) -> int:
        if chunk:
            cage.mem.view(addr, len(chunk), writing=True)[:] = chunk
        return len(chunk)

    def read(self, cage, addr: int, n: int) -> int:
        with self.owner.tree.lock, self._view(self.pos, n) as chunk:
            self.pos += self._place(cage, addr, chunk)
            return len(chunk)

    def pread(self, cage, addr: int, n: int, offset: int) -> int:
        if offset < 0:
            raise _error(errno.EINVAL)
        with self.owner.tree.lock, self._view(offset, n) as chunk:
            return self._place(cage, addr, chunk)

    def readv(self, cage, views: list[memoryview]) -> int:
        with self.owner.tree.lock, self._view(self.pos, sum(map(len, views))) as chunk:
            at = 0
            for view in views:
                with chunk[at:at + len(view)] as part:     # (released: the file may grow)
                    view[:len(part)] = part
                at += len(view)
            self.pos += len(chunk)
            return len(chunk)

    # -- writing --------------------------------------------------------------
    def _put(self, at: int | None, data: bytes | memoryview) -> int:
        """Write `data` at `at` (None: the offset, or the end under O_APPEND)."""
        node = self._data_node
        if self.flags & abi.O_APPEND:
            at = len(node.data)
        elif at is None:
            at = self.pos
        return self.owner.tree.write_bytes(node, at, data)

    def write(self, cage, addr: int, n: int) -> int:
        return self._write(cage.mem.view(addr, n))      # copied once, as far as it fits

    def writev(self, cage, views: list[memoryview]) -> int:
        return self.write_views(None, views)

    def write_views(self, at: int | None, views: list[memoryview]) -> int:
        """Write `views` one after another from `at` (None: the offset, which moves
        on) as one write under the tree's lock, each copied once, straight into the
        file: joined first, a 2 MiB buffer named 1,024 times by one writev held 2 GiB
        more of the host, whatever the tree's capacity (1,024 times 64 MiB: 64 GiB).
        The capacity cutting a piece short ends it there, a short count."""
        with self.owner.tree.lock:
            node = self._data_node
            here = self.pos if at is None else at
            start = end = len(node.data) if self.flags & abi.O_APPEND else here
            for view in views:
                if not view:
                    continue
                try:
                    done = self.owner.tree.write_bytes(node, end, view)
                except OSError:
                    if end > start:
                        break
                    raise
                short, end = done - end < len(view), done
                if short:
                    break
            if at is None:
                self.pos = end
            return end - start

    def _write(self, data: bytes | memoryview) -> int:
        with self.owner.tree.lock:
            start = len(self._data) if self.flags & abi.O_APPEND else self.pos
            self.pos = self._put(None, data)
            return self.pos - start

    def pwrite(self, cage, addr: int, n: int, offset: int) -> int:
        if offset < 0:
            raise _error(errno.EINVAL)
        return self.write_at(offset, cage.mem.view(addr, n))

    # -- the rest -----------------------------------------------------------------
    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int) -> int:
        with self.owner.tree.lock:
            size = self.node.size
            if whence in (abi.SEEK_DATA, abi.SEEK_HOLE):   # a file here has no holes
                if not 0 <= offset < size:
                    raise _error(errno.ENXIO)
                self.pos = offset if whence == abi.SEEK_DATA else size
                return self.pos
            if whence not in (abi.SEEK_SET, abi.SEEK_CUR, abi.SEEK_END):
                raise _error(errno.EINVAL)
            base = {abi.SEEK_SET: 0, abi.SEEK_CUR: self.pos, abi.SEEK_END: size}[whence]
            if base + offset < 0:
                raise _error(errno.EINVAL)
            self.pos = base + offset
        return self.pos

    def stat(self) -> Stat:
        return self.owner.tree.stat(self.node)

    def position(self) -> int:
        return self.pos

    def ioctl(self, cage, request: int, arg: int) -> int:
        """FIONREAD of a file: the bytes past the offset, as Linux answers for one."""
        if request != sys_files.FIONREAD or not isinstance(self.node, File):
            raise _error(errno.ENOTTY)
        with self.owner.tree.lock:
            left = max(0, self.node.size - self.pos)
        cage.mem.write(arg, min(left, 0x7FFFFFFF).to_bytes(4, "little"))
        return 0

    def read_at(self, offset: int, n: int) -> bytes:
        """Bytes for the microvisor to place (sendfile, preadv): at most MAX_IO."""
        with self.owner.tree.lock:
            return self.owner.tree.read_bytes(self._data_node, offset, min(n, MAX_IO))

    def write_at(self, offset: int, data: bytes | memoryview) -> int:
        with self.owner.tree.lock:
            start = len(self._data) if self.flags & abi.O_APPEND else offset
            return self._put(offset, data) - start

    def lock_key(self) -> tuple[object, bool]:
        return (self.owner.tree.device, self.node.ino), False     # no host side to mirror

    def release(self) -> None:
        super().release()
        if self.refs == 0:
            with self.owner.tree.lock:
                self.owner.tree.closed(self.node)


class MemoryFiles(Grate):
    """A memfs tree at a path prefix: `imfs`, `imfs:/scratch,preload=DIR,size=BYTES`.

    Arguments, comma-separated: the guest directory it appears at (default /mem),
    `preload=SOURCE` to copy a host directory or .zip archive in at start, and
    `size=BYTES` (suffixes K, M, G) for its capacity (default 1G). The whole process
    tree shares one memfs tree, which lasts as long as the grate object.

    Below the prefix everything lives in Lind's memory: files, directories, symbolic
    and hard links, modes (enforced), times (FIFOs too, on the portable back end); no
    host file is touched, and no link or `..` leads out of the tree. Writes past the capacity are ENOSPC; a
    private mmap copies a file, MAP_SHARED of one is ENODEV.
    """

    name = "imfs"

    def __init__(self, prefix: str = "/mem", preload: str | None = None, *,
                 tree: Tree | None = None, capacity: int = DEFAULT_CAPACITY,
                 host_fifos: bool = False) -> None:
        """`capacity` is a new tree's (a `tree` given keeps its own). `host_fifos`: a
        FIFO's data goes through a host FIFO made for it in the microvisor's root, which
        must then be the run's own empty directory (the portable back end's); without
        it mkfifo is EPERM."""
        self.prefix = guest_dir(prefix)
        self.host_fifos = host_fifos
        self.tree = tree if tree is not None else Tree(capacity)
        if preload is not None:
            self.tree.load(preload)

    @classmethod
    def from_args(cls, text: str) -> MemoryFiles:
        prefix, preload, capacity = "/mem", None, DEFAULT_CAPACITY
        for item in filter(None, text.split(",")):
            if item.startswith("preload="):
                preload = item.removeprefix("preload=")
            elif item.startswith("size="):
                capacity = parse_size(item.removeprefix("size="))
            elif item.startswith("/"):
                prefix = item
            else:
                raise ValueError(f"imfs: unknown argument {item!r} "
                                 "(a /PREFIX, preload=DIR_OR_ZIP or size=BYTES)")
        return cls(prefix, preload, capacity=capacity)

    # -- which calls are ours -------------------------------------------------
    def _guest(self, call: Call, index: int = 0) -> str | None:
        """Path argument `index` (of PATH_CALLS) if it lies in this tree."""
        arg = PATH_CALLS[call.name][index]
        path = resolve(call, arg)
        if path is not None and path.startswith("/proc/"):
            path = self._opened_as(call, path)
        if path is None or not self._holds(path):
            return None
        raw = call.string(arg.path, abi.PATH_MAX - 1).decode("utf-8", "surrogateescape")
        self._check_steps_out(call, arg, raw)
        return path

    def _opened_as(self, call: Call, path: str) -> str:
        """/proc/self/fd/N of one of our open files names the path it was opened as
        (musl reaches an O_PATH file through it: fchmodat's AT_SYMLINK_NOFOLLOW)."""
        match = _PROC_FD.fullmatch(path)
        if match is None or match[1] not in ("self", str(call.cage.id)):
            return path
        f = self._ours(call, int(match[2]))
        return f.path if f is not None else path

    def _holds(self, guest: str) -> bool:
        if not under(guest, self.prefix):
            return False
        if self.prefix != "/":
            return True
        return not (any(under(guest, top) for top in _PROVIDED_BELOW)
                    or self._etc_file_below(guest))

    def _etc_file_below(self, guest: str) -> bool:
        """/etc/passwd, group, hosts... when the tree holds none of that name: the
        microvisor's, made for the cage as on the host back end (without them getpwuid,
        getaddrinfo("localhost") and a $HOME lookup failed in a tree with no /etc)."""
        directory, _, name = guest.rpartition("/")
        if directory != "/etc" or name not in abi.ETC_FILES:
            return False
        with self.tree.lock:
            try:
                return self.tree.find(guest, follow=False).node is None
            except OSError:          # no /etc (or not a directory) in the tree
                return True

    def _check_steps_out(self, call: Call, arg: PathArg, raw: str) -> None:
        """Paths are folded lexically, so what the kernel's walk would find is checked
        here: each directory a `..` steps out of must be one (`f/..` is ENOTDIR,
        `missing/..` ENOENT), as the microvisor checks its own (sys_files.fold_path).
        One walk from the start directory, each name looked up once: a prefix resolved
        from the root for each `..` cost depth times dots (a cwd 50,000 deep and 800
        `..` made one stat take ~68 s)."""
        if ".." not in raw:
            return
        start = "/" if raw.startswith("/") else start_dir(call, arg) or "/"
        mine = path_parts(self.prefix)
        # the path walked so far, lexically: its names, and for each length of it the
        # node there (None: outside this tree; an OSError: what looking it up raised)
        names: list[str] = []
        nodes: list[Node | OSError | None] = [self.tree.root if not mine else None]
        searchable = self._searchable(call.cage)

        def enter(name: str) -> None:
            names.append(name)
            parent = nodes[-1]
            if parent is None:                 # outside: inside once it reaches the prefix
                nodes.append(self.tree.root if names == mine else None)
            elif self.prefix == "/" and len(names) == 1 and f"/{name}" in _PROVIDED_BELOW:
                nodes.append(None)
            elif isinstance(parent, OSError):
                nodes.append(parent)
            elif not isinstance(parent, Dir):
                nodes.append(_error(errno.ENOTDIR))
            else:
                try:
                    nodes.append(self.tree.node_at(name, can_search=searchable, start=parent))
                except OSError as exc:
                    nodes.append(exc)

        with self.tree.lock:
            for name in path_parts(start):
                enter(name)
            named = False                 # a `..` before any name steps out of nothing
            for name in path_parts(raw):
                if name != "..":
                    enter(name)
                    named = True
                    continue
                here = nodes[-1] if named else None
                if isinstance(here, OSError):
                    raise here
                if here is not None and not isinstance(here, Dir):
                    raise _error(errno.ENOTDIR)
                if names:
                    names.pop()
                    nodes.pop()

    def _inside(self, guest: str) -> str:
        return "/" + guest[len(self.prefix):].lstrip("/") if self.prefix != "/" else guest

    def _ours(self, call: Call, fd: int) -> MemoryFile | None:
        try:
            f = call.cage.fds.get(abi.s32(fd))
        except OSError:
            return None
        return f if isinstance(f, MemoryFile) and f.owner is self else None

    def _searchable(self, cage) -> Callable[[Dir], bool]:
        return lambda d: self.may(cage, d, _X)

    def _find(self, call: Call, guest: str, follow: bool = True) -> Found:
        return self.tree.find(self._inside(guest), follow=follow,
                              can_search=self._searchable(call.cage))

    def _node(self, call: Call, guest: str, follow: bool = True, slash: bool = False) -> Node:
        """The node at `guest`; with `slash` (the path ended in "/") it must be a
        directory, a final link followed to it."""
        return self.tree.node_at(self._inside(guest), follow=follow, slash=slash,
                                 can_search=self._searchable(call.cage))

    @staticmethod
    def _slash(call: Call, index: int) -> bool:
        """Whether the path argument at `index` may only name a directory ("d/", "d/.")."""
        return names_a_directory(call.string(index, abi.PATH_MAX - 1).decode(
            "utf-8", "surrogateescape"))

    def _path_index(self, call: Call, index: int = 0) -> int:
        return PATH_CALLS[call.name][index].path

    # -- permissions ------------------------------------------------------------
    @staticmethod
    def may(cage, node: Node, want: int) -> bool:
        """Whether the cage's effective user may read/write/search `node` (`want` of
        R, W, X). Root may do anything but run a file no one may run."""
        euid = cage.ids[1]
        if euid == 0:
            return not want & _X or isinstance(node, Dir) or bool(node.mode & 0o111)
        if node.uid == SELF:
            bits = node.mode >> 6
        elif node.gid == SELF:
            bits = node.mode >> 3
        else:
            bits = node.mode
        return bits & want == want

    def _need(self, cage, node: Node, want: int) -> None:
        if not self.may(cage, node, want):
            raise _error(errno.EACCES)

    def _changeable(self, cage, node: Node) -> None:
        """chmod, utimes to a time given, chown: the owner's (or root's) only."""
        writable(node)
        if cage.ids[1] != 0 and node.uid != SELF:
            raise _error(errno.EPERM)

    # -- opening ----------------------------------------------------------------
    @handles("open", "openat", "creat")
    def open_file(self, call: Call) -> int:
        guest = self._guest(call)
        if guest is None:
            return call.forward()
        flags, mode = open_flags_and_mode(call)
        return self.open(call, guest, flags, mode, self._slash(call, self._path_index(call)))

    def open(self, call: Call, guest: str, flags: int, mode: int, slash: bool = False) -> int:
        cage = call.cage
        with self.tree.lock:
            node = self.tree.open(self._inside(guest), flags, mode, slash=slash,
                                  umask=cage.umask, can_search=self._searchable(cage),
                                  need=lambda n, want: self._need(cage, n, want))
            if isinstance(node, Fifo) and not flags & abi.O_PATH:
                fifo, f = node, None
            else:
                fifo, f = None, MemoryFile(self, node, flags, guest)
        if fifo is not None:      # it waits for the other end: not with the tree locked
            return self._open_fifo(call, fifo, flags)
        return cage.fds.install(f, cloexec=bool(flags & abi.O_CLOEXEC))

    def _host_name(self, node: Node) -> str:
        """The name, in the microvisor's (private) root, of the host FIFO or Unix socket
        that carries what a tree's FIFO or socket name stands for."""
        kind = "fifo" if isinstance(node, Fifo) else "sock"
        return f"/.lind-{kind}-{self.tree.device:x}-{node.ino}"

    def _open_fifo(self, call: Call, node: Fifo, flags: int) -> int:
        """Open the host FIFO standing for `node` through the layer below, which waits
        for the other end as Linux's open does (O_NONBLOCK, ENXIO, signals)."""
        if not self.host_fifos:
            raise _error(errno.ENXIO)
        name = self._host_name(node)
        mount, _ = call.cage.fs.locate("/")
        with contextlib.suppress(FileExistsError):
            os.mkfifo(os.path.join(mount.host, name.lstrip("/")), 0o600)
        path = call.put(encode_path(name))
        flags &= ~(abi.O_CREAT | abi.O_EXCL | abi.O_TRUNC | abi.O_NOFOLLOW)
        if call.name == "openat":
            return call.forward(abi.AT_FDCWD, path, flags, 0)
        return call.forward(path, flags, 0) if call.name == "open" else call.forward(path, 0)

    # -- attributes -------------------------------------------------------------
    def _stat_target(self, call: Call, at: int, flags_arg: int | None) -> Node | None:
        """The node a stat-like call names, or None when it is not ours."""
        flags = abi.u32(call.args[flags_arg]) if flags_arg is not None else 0
        guest = self._guest(call)
        if guest is None:
            empty = flags & abi.AT_EMPTY_PATH and not self._names_path(call, 1)
            f = self._ours(call, call.args[0]) if empty else None
            return f.node if f is not None else None
        follow = call.name != "lstat" and not flags & abi.AT_SYMLINK_NOFOLLOW
        with self.tree.lock:
            return self._node(call, guest, follow, self._slash(call, at))

    @staticmethod
    def _names_path(call: Call, index: int) -> bool:
        return bool(call.args[index]) and bool(call.string(index, abi.PATH_MAX - 1))

    @handles("stat", "lstat", "newfstatat")
    def stat_path(self, call: Call) -> int:
        at = 1 if call.name == "newfstatat" else 0
        if at:
            abi.check_stat_flags(abi.u32(call.args[3]))
        node = self._stat_target(call, at, 3 if call.name == "newfstatat" else None)
        if node is None:
            return call.forward()
        call.write(at + 1, abi.pack_stat(self.tree.stat(node), call.cage.ids))
        return 0

    @handles("statx")
    def statx(self, call: Call) -> int:
        abi.check_statx_args(abi.u32(call.args[2]), abi.u32(call.args[3]))
        node = self._stat_target(call, 1, 2)
        if node is None:
            return call.forward()
        call.write(4, abi.pack_statx(self.tree.stat(node), call.cage.ids))
        return 0

    @handles("fstat")
    def fstat(self, call: Call) -> int:
        f = self._ours(call, call.args[0])
        if f is None:
            return call.forward()
        call.write(1, abi.pack_stat(self.tree.stat(f.node), call.cage.ids))
        return 0

    @handles("access", "faccessat", "faccessat2")
    def access(self, call: Call) -> int:
        guest = self._guest(call)
        if guest is None:
            return call.forward()
        mode = abi.u32(call.args[1 if call.name == "access" else 2])
        flags = abi.u32(call.args[3]) if call.name == "faccessat2" else 0
        if mode & ~7 or flags & ~(abi.AT_EACCESS | abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH):
            raise _error(errno.EINVAL)
        with self.tree.lock:
            node = self._node(call, guest, not flags & abi.AT_SYMLINK_NOFOLLOW,
                              self._slash(call, 0 if call.name == "access" else 1))
            self._need(call.cage, node, mode)
        return 0

    def _target_of(self, call: Call, *, follow: bool) -> Node | None:
        guest = self._guest(call)
        if guest is None:
            return None
        with self.tree.lock:
            return self._node(call, guest, follow, self._slash(call, self._path_index(call)))

    @handles("chmod", "fchmodat", "fchmodat2", "fchmod")
    def chmod(self, call: Call) -> int:
        if call.name == "fchmod":
            f = self._ours(call, call.args[0])
            node, mode = (f.node if f is not None else None), call.args[1]
        else:
            flags = abi.u32(call.args[3]) if call.name == "fchmodat2" else 0
            if flags & ~abi.AT_SYMLINK_NOFOLLOW:
                raise _error(errno.EINVAL)
            node = self._target_of(call, follow=not flags)
            mode = call.args[1 if call.name == "chmod" else 2]
        if node is None:
            return call.forward()
        if isinstance(node, Symlink):
            raise _error(errno.EOPNOTSUPP)      # as Linux: a link's mode cannot change
        self._changeable(call.cage, node)
        node.mode = stat.S_IFMT(node.mode) | (abi.u32(mode) & 0o7777)
        node.touched()
        return 0

    @handles("chown", "lchown", "fchownat", "fchown")
    def chown(self, call: Call) -> int:
        """As on the host back end, a cage is one unprivileged user: an owner may only
        be kept (-1 or the one there)."""
        if call.name == "fchown":
            f = self._ours(call, call.args[0])
            node, ids = (f.node if f is not None else None), call.args[1:3]
        else:
            nofollow = call.name == "lchown" or (
                call.name == "fchownat" and abi.u32(call.args[4]) & abi.AT_SYMLINK_NOFOLLOW)
            node = self._target_of(call, follow=not nofollow)
            ids = call.args[1:3] if call.name != "fchownat" else call.args[2:4]
        if node is None:
            return call.forward()
        self.tree.keep_owner(node, ids[0], ids[1], call.cage.ids)
        return 0

    @handles("utimensat")
    def utimes(self, call: Call) -> int:
        flags = abi.u32(call.args[3])
        if not call.args[1]:                       # futimens
            f = self._ours(call, call.args[0])
            if f is None:
                return call.forward()
            node = f.node
        else:
            node = self._target_of(call, follow=not flags & abi.AT_SYMLINK_NOFOLLOW)
            if node is None:
                return call.forward()
        if flags & ~(abi.AT_SYMLINK_NOFOLLOW | abi.AT_EMPTY_PATH):
            raise _error(errno.EINVAL)
        times = (sys_files.new_times(call.cage, call.args[2], self.tree.stat(node))
                 if call.args[2] else None)
        self._set_times(call.cage, node, times)
        return 0

    @handles("utime", "utimes", "futimesat")
    def old_utimes(self, call: Call) -> int:
        """utime (seconds) and utimes/futimesat (microseconds); NULL is now."""
        node = self._target_of(call, follow=True)
        if node is None:
            return call.forward()
        addr = call.args[1] if call.name != "futimesat" else call.args[2]
        times = sys_files.times_arg(call.cage, addr, usec=call.name != "utime")
        self._set_times(call.cage, node, times)
        return 0

    def _set_times(self, cage, node: Node, times: tuple[int, int] | None) -> None:
        """Given times are the owner's to set; now, anyone's who may write."""
        if times is not None:
            self._changeable(cage, node)
        else:
            writable(node)
            if cage.ids[1] != 0 and node.uid != SELF:
                self._need(cage, node, _W)
            now = time.time_ns()
            times = (now, now)
        node.atime_ns, node.mtime_ns = times
        node.touched()

    @handles("truncate", "ftruncate")
    def truncate(self, call: Call) -> int:
        length = call.args[1]
        if call.name == "ftruncate":
            f = self._ours(call, call.args[0])
            if f is None:
                return call.forward()
            if f.flags & abi.O_PATH:
                raise _error(errno.EBADF)
            if not f.writable or length < 0:
                raise _error(errno.EINVAL)
            node = f.node
        else:
            node = self._target_of(call, follow=True)
            if node is None:
                return call.forward()
            if isinstance(node, Dir):
                raise _error(errno.EISDIR)
            writable(node)
            self._need(call.cage, node, _W)
            if length < 0:
                raise _error(errno.EINVAL)
        if not isinstance(node, File):
            raise _error(errno.EINVAL)
        if length > len(node.data):
            sys_files.new_size_allowed(call.cage, length)
        with self.tree.lock:
            self.tree.resize(node, length)
        return 0

    @handles("fsync", "fdatasync", "syncfs")
    def sync(self, call: Call) -> int:
        """Nothing lies below memory to write back to."""
        return 0 if self._ours(call, call.args[0]) is not None else call.forward()

    @handles("fallocate")
    def fallocate(self, call: Call) -> int:
        f = self._ours(call, call.args[0])
        if f is None:
            return call.forward()
        mode, offset, length = abi.s32(call.args[1]), call.args[2], call.args[3]
        if not f.writable:
            raise _error(errno.EBADF)
        if offset < 0 or length <= 0:
            raise _error(errno.EINVAL)
        if mode:
            raise _error(errno.EOPNOTSUPP)
        if not isinstance(f.node, File):
            raise _error(errno.ENODEV)
        sys_files.new_size_allowed(call.cage, offset + length)
        with self.tree.lock:
            if offset + length > len(f.node.data):
                self.tree.resize(f.node, offset + length)
        return 0

    @handles("statfs", "fstatfs")
    def statfs(self, call: Call) -> int:
        if call.name == "fstatfs":
            ours = self._ours(call, call.args[0]) is not None
        else:
            ours = self._target_of(call, follow=True) is not None
        if not ours:
            return call.forward()
        room = self.tree.room()
        call.write(1, abi.tmpfs_statfs(self.tree.used + room, room))
        return 0

    @handles("mmap")
    def mmap(self, call: Call) -> int:
        """Private mappings get a copy of the file; shared ones would need the pages
        to be the file's, which memory in Python cannot be."""
        addr, length, prot, flags, fd, offset = call.args
        flags = abi.u32(flags)
        if flags & sys_memory.MAP_ANONYMOUS:
            return call.forward()
        f = self._ours(call, fd)
        if f is None:
            return call.forward()
        if offset % sys_memory.PAGE:
            raise _error(errno.EINVAL)
        if flags & sys_memory.MAP_TYPE != sys_memory.MAP_PRIVATE or not isinstance(f.node, File):
            raise _error(errno.ENODEV)
        if not f.readable:
            raise _error(errno.EACCES)
        node = f.node

        def contents(start: int, n: int) -> None:
            with self.tree.lock, self.tree.read_view(node, offset, n) as part:
                MemoryFile._place(call.cage, start, part)

        return call.cage.aspace.mmap(abi.u32(addr), length, prot, flags, fill=contents)

    @handles("setxattr", "lsetxattr", "getxattr", "lgetxattr", "listxattr", "llistxattr",
             "removexattr", "lremovexattr", "fsetxattr", "fgetxattr", "flistxattr",
             "fremovexattr")
    def xattr(self, call: Call) -> int:
        """Extended attributes: a tree keeps none, as a file system without them (the
        list of them is empty, as the README says of every back end)."""
        if call.name.startswith("f"):
            ours = self._ours(call, call.args[0]) is not None
        else:
            nofollow = call.name in ("lsetxattr", "lgetxattr", "llistxattr", "lremovexattr")
            ours = self._target_of(call, follow=not nofollow) is not None
        if not ours:
            return call.forward()
        return 0 if call.name.endswith("listxattr") else -errno.EOPNOTSUPP

    # -- Unix socket names --------------------------------------------------------
    def _socket_name(self, call: Call, at: int) -> str | None:
        """The tree path the Unix socket address in argument `at` (its length next)
        names, if it is one of ours (not an abstract name, not another family)."""
        if not call.args[at] or not self.host_fifos:
            return None
        length = abi.s32(call.args[at + 1])
        if not 2 < length <= _SOCKADDR_UN:
            return None
        raw = call.read(at, length)
        if int.from_bytes(raw[:2], "little") != _AF_UNIX or raw[2] == 0:
            return None
        name = raw[2:].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        guest = normalize(name) if name.startswith("/") else join(call.cage.cwd, name)
        return guest if self._holds(guest) else None

    def _host_address(self, call: Call, node: Node) -> tuple[int, int]:
        """A sockaddr_un for the host socket standing for `node`, and its length."""
        raw = _AF_UNIX.to_bytes(2, "little") + encode_path(self._host_name(node))
        return call.put(raw), len(raw)

    @handles("bind")
    def bind(self, call: Call) -> int:
        """bind to a name in the tree: the name is the tree's (a socket node, EADDRINUSE
        if taken), the socket the back end's, bound to a host name standing for it."""
        guest = self._socket_name(call, 1)
        if guest is None:
            return call.forward()
        with self.tree.lock:
            found = self._find(call, guest, follow=False)
            if found.node is not None or not found.name:
                raise _error(errno.EADDRINUSE)
            writable(found.parent)
            self._need(call.cage, found.parent, _W | _X)
            node = self.tree.new(found.parent, found.name, Socket, 0o777 & ~call.cage.umask)
        result = call.forward(call.args[0], *self._host_address(call, node))
        if result < 0:
            with self.tree.lock:
                if found.parent.entries.get(found.name) is node:
                    self.tree.remove(found.parent, found.name)
            return result
        given = call.read(1, abi.s32(call.args[2]))[2:].split(b"\0", 1)[0]
        sys_net.show_bound_name(call.cage, abi.s32(call.args[0]), given)
        return result

    @handles("connect", "sendto")
    def connect(self, call: Call) -> int:
        """connect (or a datagram's sendto) to a name in the tree: ENOENT if there is
        none, ECONNREFUSED if it is no socket, else the host name standing for it."""
        at = 1 if call.name == "connect" else 4
        guest = self._socket_name(call, at)
        if guest is None:
            return call.forward()
        with self.tree.lock:
            node = self._node(call, guest)
        if not isinstance(node, Socket):
            raise _error(errno.ECONNREFUSED)
        self._need(call.cage, node, _W)
        addr, length = self._host_address(call, node)
        if call.name == "connect":
            return call.forward(call.args[0], addr, length)
        return call.forward(*call.args[:4], addr, length)

    # -- links ------------------------------------------------------------------
    @handles("readlink", "readlinkat")
    def readlink(self, call: Call) -> int:
        buf, size = (call.args[1], call.args[2]) if call.name == "readlink" else call.args[2:4]
        link = resolve(call, PATH_CALLS[call.name][0])
        match = _PROC_FD.fullmatch(link) if link is not None else None
        if match is not None and match[1] in ("self", str(call.cage.id)):
            f = self._ours(call, int(match[2]))
            if f is not None:      # /proc/self/fd/N of a file here: the path, as Linux
                if abi.s32(size) <= 0:
                    raise _error(errno.EINVAL)
                text = f.path + (" (deleted)" if f.node.nlink == 0 else "")
                data = text.encode("utf-8", "surrogateescape")[:abi.u32(size)]
                call.cage.mem.write(buf, data)
                return len(data)
        guest = self._guest(call)
        if guest is None:
            return call.forward()
        if abi.s32(size) <= 0:
            raise _error(errno.EINVAL)
        with self.tree.lock:
            node = self._node(call, guest, False, self._slash(call, self._path_index(call)))
        if not isinstance(node, Symlink):
            raise _error(errno.EINVAL)
        data = node.target.encode("utf-8", "surrogateescape")[:abi.u32(size)]
        call.cage.mem.write(buf, data)
        return len(data)

    @handles("symlink", "symlinkat")
    def symlink(self, call: Call) -> int:
        guest = self._guest(call, 0)
        if guest is None:
            return call.forward()
        target = call.string(0, abi.PATH_MAX - 1)
        if not target:
            raise _error(errno.ENOENT)
        with self.tree.lock:
            found = self._make_room(call, guest)
            self.tree.new(found.parent, found.name, Symlink, 0o777,
                          target=target.decode("utf-8", "surrogateescape"))
        return 0

    def _make_room(self, call: Call, guest: str, index: int = 0) -> Found:
        """Where a new name (path argument `index`) goes (memfs.Tree.new_name); only
        mkdir may name it "name/"."""
        slash = call.name not in ("mkdir", "mkdirat") and self._slash(
            call, self._path_index(call, index))
        cage = call.cage
        return self.tree.new_name(self._inside(guest), slash=slash,
                                  can_search=self._searchable(cage),
                                  need=lambda n, want: self._need(cage, n, want))

    @handles("link", "linkat")
    def link(self, call: Call) -> int:
        if call.name == "linkat" and abi.u32(call.args[4]) & ~(abi.AT_SYMLINK_FOLLOW
                                                               | abi.AT_EMPTY_PATH):
            raise _error(errno.EINVAL)    # as Linux, before it looks at either path
        both = self._both(call)
        if both is None:
            return call.forward()
        old, new = both
        follow = call.name == "linkat" and abi.u32(call.args[4]) & abi.AT_SYMLINK_FOLLOW
        with self.tree.lock:
            node = self._node(call, old, bool(follow), self._slash(call, self._path_index(call)))
            if isinstance(node, Dir):
                raise _error(errno.EPERM)
            found = self._make_room(call, new, 1)
            same_mount(node, found.parent)
            self.tree.add(found.parent, found.name, node)
            node.touched()
        return 0

    def _both(self, call: Call) -> tuple[str, str] | None:
        """rename and link: both paths when both are ours; EXDEV when only one is."""
        old, new = self._guest(call, 0), self._guest(call, 1)
        if old is not None and new is not None:
            return old, new
        crossing = old is not None or new is not None
        if crossing and None not in (resolve(call, a) for a in PATH_CALLS[call.name]):
            raise _error(errno.EXDEV)
        return None

    # -- names ------------------------------------------------------------------
    @handles("mkdir", "mkdirat")
    def mkdir(self, call: Call) -> int:
        guest = self._guest(call)
        if guest is None:
            return call.forward()
        mode = abi.u32(call.args[1 if call.name == "mkdir" else 2])
        with self.tree.lock:
            found = self._make_room(call, guest)
            self.tree.new(found.parent, found.name, Dir, mode & ~call.cage.umask)
        return 0

    @handles("mknod", "mknodat")
    def mknod(self, call: Call) -> int:
        """Regular files, and FIFOs where host_fifos carries them; no devices (EPERM)."""
        guest = self._guest(call)
        if guest is None:
            return call.forward()
        mode = abi.u32(call.args[1 if call.name == "mknod" else 2])
        kind = stat.S_IFMT(mode)
        if kind not in (0, stat.S_IFREG, stat.S_IFIFO) or kind == stat.S_IFIFO and not self.host_fifos:
            raise _error(errno.EPERM)
        with self.tree.lock:
            found = self._make_room(call, guest)
            self.tree.new(found.parent, found.name, Fifo if kind == stat.S_IFIFO else File,
                          mode & ~call.cage.umask)
        return 0

    @handles("unlink", "unlinkat", "rmdir")
    def remove(self, call: Call) -> int:
        guest = self._guest(call)
        if guest is None:
            return call.forward()
        directory = removes_directory(call)
        spelled = call.string(self._path_index(call), abi.PATH_MAX - 1).decode(
            "utf-8", "surrogateescape")
        cage = call.cage

        def may_remove(parent: Dir, node: Node) -> None:
            self._need(cage, parent, _W | _X)
            self._sticky(cage, parent, node)

        with self.tree.lock:
            victim = self._named(guest)
            self.tree.unlink(self._inside(guest), spelled, directory=directory,
                             can_search=self._searchable(cage), may_remove=may_remove)
        self._forget_host_name(call, victim)
        return 0

    def _named(self, guest: str) -> Node | None:
        """What `guest` names itself (a link not followed), or None."""
        try:
            return self.tree.find(self._inside(guest), follow=False).node
        except OSError:
            return None

    def _forget_host_name(self, call: Call, node: Node | None) -> None:
        """A FIFO or socket whose last name went: the host FIFO or socket name that stood
        for it goes too (what is open of it stays open). They stayed: a cage that made,
        opened and removed a FIFO 20,000 times left 20,000 host FIFOs in the run's
        private root, as many inodes of the host's file system."""
        if not self.host_fifos or not isinstance(node, (Fifo, Socket)) or node.nlink:
            return
        mount, _ = call.cage.fs.locate("/")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(mount.host, self._host_name(node).lstrip("/")))

    @staticmethod
    def _sticky(cage, parent: Dir, node: Node) -> None:
        if parent.mode & stat.S_ISVTX and cage.ids[1] != 0 and SELF not in (node.uid, parent.uid):
            raise _error(errno.EPERM)

    @handles("rename", "renameat", "renameat2")
    def rename(self, call: Call) -> int:
        both = self._both(call)
        if both is None:
            return call.forward()
        flags = abi.u32(call.args[4]) if call.name == "renameat2" else 0
        old, new = both
        slash = self._slash(call, self._path_index(call, 0)) or self._slash(
            call, self._path_index(call, 1))
        cage = call.cage
        with self.tree.lock:
            replaced = self._named(new)
            self.tree.rename_path(self._inside(old), self._inside(new), flags, slash=slash,
                                  can_search=self._searchable(cage),
                                  need=lambda n, want: self._need(cage, n, want),
                                  may_remove=lambda d, n: self._sticky(cage, d, n))
        self._forget_host_name(call, replaced)
        return 0

    # -- directories ------------------------------------------------------------
    @handles("chdir", "fchdir")
    def chdir(self, call: Call) -> int:
        if call.name == "fchdir":
            f = self._ours(call, call.args[0])
            if f is None:
                return call.forward()
            node, guest = f.node, f.path
        else:
            guest = self._guest(call)
            if guest is None:
                return call.forward()
            with self.tree.lock:
                node = self._node(call, guest)
        if not isinstance(node, Dir):
            raise _error(errno.ENOTDIR)
        self._need(call.cage, node, _X)
        call.cage.cwd = guest
        return 0

    @handles("getdents64")
    def getdents64(self, call: Call) -> int:
        """A listing of one of our directories, paged from the directory itself: the
        fd keeps only where it got to (its dir_pos, which lseek sets to a d_off)."""
        f = self._ours(call, call.args[0])
        if f is None or not isinstance(f.node, Dir):
            return call.forward()
        if f.dir_pos == 0:
            self._need(call.cage, f.node, _R)
        with self.tree.lock:
            records, f.dir_pos = f.node.dirents(f.dir_pos, abi.u32(call.args[2]))
        data = b"".join(records)
        call.cage.mem.write(call.args[1], data)
        return len(data)

    # -- programs ---------------------------------------------------------------
    @handles("execve")
    def execve(self, call: Call) -> int:
        """Run a program stored in the tree (a `#!` script's interpreter may be too)."""
        guest = self._guest(call)
        if guest is None:
            return call.forward()
        from lind.microvisor import sys_process

        return sys_process.exec_from(call.cage, guest, call.args[1], call.args[2],
                                     read=self.program_bytes,
                                     spelled=call.string(0, abi.PATH_MAX - 1))

    def program_bytes(self, cage, guest: str) -> bytes | None:
        """The bytes of the program file at `guest` if it lies in this tree (None if
        not): EACCES unless it is a regular file the cage may run; none past
        PROGRAM_BYTES_MAX (exec is ENOEXEC, as for a host file)."""
        from lind.cage.program_file import PROGRAM_BYTES_MAX

        if not self._holds(guest):
            return None
        with self.tree.lock:
            node = self.tree.lookup(self._inside(guest),
                                    can_search=lambda d: self.may(cage, d, _X))
            if not isinstance(node, File) or not self.may(cage, node, _X):
                raise _error(errno.EACCES)
            return bytes(node.data) if len(node.data) <= PROGRAM_BYTES_MAX else b""


def parse_size(text: str) -> int:
    """BYTES with an optional K, M or G suffix (powers of 1024)."""
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit():
        raise ValueError(f"size={text}: not a number of bytes (K, M, G suffixes allowed)")
    return int(digits) * scale

