"""A file tree in Python memory: the portable back end's files, and the imfs grate's.

Nothing here makes a host system call once the tree is built, so it runs where no
kernel file system is reachable (a browser, through Pyodide) as it does on Linux.
A tree can be filled from a host directory or a zip archive and written back to
either. Names are resolved here, component by component: a symbolic link's absolute
target starts again at this tree's root and `..` stops there, so no name, however it
is spelled or linked, leads out of the tree. The rules of Linux's file calls that hang
on the tree alone (open's flags, names spelled "name/", unlink, rmdir and renameat2,
chown in a tree of one user) are here too, so the threaded runtime's grate
(lind.portable.files) and the cooperative runtime's table (syscalls) give one answer.

A tree has a capacity: file bytes, link targets and a charge per name and per node
(what each holds of the host's memory) count against it, and what would pass it is
ENOSPC, so no cage can fill the host's memory through its files. Owners are the
cage's own ids. A file loaded from the host that belonged to the user Lind runs as is
owned by SELF, whoever looks (as the host back end shows such files); anything else
loaded is owned by nobody.
"""

from __future__ import annotations

import bisect
import errno
import importlib.util
import itertools
import os
import stat
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TypeVar

from lind import hostdirs
from lind.microvisor import abi

try:
    import lzma
except ImportError:        # a Python built without it (Pyodide may be)
    lzma = None  # type: ignore[assignment]

SELF = -1                   # the owner of a node is whoever looks at it
NAME_CHARGE = 512           # what a name costs against the capacity (its ~440 bytes in the
                            # host at 255 bytes: a directory's entry and its listing's)
NODE_CHARGE = 512           # what a node costs, besides its bytes (a file's ~370 in the host)
DIR_CHARGE = 1024           # ...a directory's (~680 and the stale cookies its listing keeps)
LISTING_SLACK = 8           # stale cookies a listing keeps besides as many as its live names
MAX_LINK_HOPS = 40          # as Linux: ELOOP past this many symbolic links in one lookup
DIR_SIZE = 4096
DIRENTS_MAX = 1 << 18       # bytes of records one getdents64 makes at most
BLOCK = 4096
RELATIME_NS = 24 * 3600 * 10**9   # atime moves on a read at most once a day (relatime)
_ZIP_UNIX = 3               # zip "created on" system code of Unix
_ZIP_UTF8 = 0x800           # zip flag: the entry's name is UTF-8


_R, _W, _X = 4, 2, 1
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2


def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def writable(node: Node) -> None:
    """EROFS for what a read-only mount brought in."""
    if node.readonly:
        raise _error(errno.EROFS)


def same_mount(node: Node, parent: Dir) -> None:
    """EXDEV for a hard link across a read-only mount's edge, as Linux's (a link never
    crosses a mount): a name elsewhere for one of its files changed its link count."""
    if node.readonly != parent.readonly:
        raise _error(errno.EXDEV)


# need(node, bits): EACCES unless the caller may read/write/search (R, W, X) `node`;
# None where every caller may (the cooperative runtime's cages are root of their tree)
Need = Callable[["Node", int], None] | None


@dataclass(eq=False)
class Node:
    ino: int
    mode: int                       # file type and permission bits
    uid: int
    gid: int
    nlink: int = 0
    atime_ns: int = field(default_factory=time.time_ns)
    mtime_ns: int = 0
    ctime_ns: int = 0
    opened: int = 0                 # open file descriptions of it (files.MemoryFile)
    held: int = 0                   # what it was charged as a node (Tree.add), given back once
    readonly: bool = False          # loaded from a read-only mount: changes are EROFS

    def __post_init__(self) -> None:
        self.mtime_ns = self.mtime_ns or self.atime_ns
        self.ctime_ns = self.ctime_ns or self.atime_ns

    def changed(self) -> None:
        """Its contents changed: mtime and ctime."""
        self.mtime_ns = self.ctime_ns = time.time_ns()

    def touched(self) -> None:
        """Its attributes changed: ctime."""
        self.ctime_ns = time.time_ns()

    @property
    def size(self) -> int:
        return 0


F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE = 1, 2, 4, 8, 16


@dataclass(eq=False)
class File(Node):
    data: bytearray = field(default_factory=bytearray, repr=False)
    seals: int | None = None        # a memfd's (F_ADD_SEALS); None: no memfd, no seals

    @property
    def size(self) -> int:
        return len(self.data)


class Listing:
    """The order getdents64 gives a directory's names in, and a cookie for each (its
    d_off): an open directory keeps only the cookie it reached, never a copy of the
    names (200,000 names opened 80 times once held 1.7 GB of the host). A name added
    later gets a larger cookie, so a reader part way through sees it; one removed is
    not seen; none is given twice unless it was removed and added again."""

    FIRST = 3                       # 1 and 2 are "." and ".."

    def __init__(self) -> None:
        self.cookies: dict[str, int] = {}      # name -> cookie, in cookie order
        self._keys: list[int] = []            # cookies ever given, ascending...
        self._names: list[str | None] = []    # ...and their names (None: removed)
        self._next = self.FIRST

    def added(self, name: str) -> None:
        self.cookies[name] = self._next
        self._keys.append(self._next)
        self._names.append(name)
        self._next += 1
        self._compact()

    def removed(self, name: str) -> bool:
        """Forget `name` (its stale cookie keeps no copy of it); whether the listing was
        compacted, which the directory's own dict may follow."""
        cookie = self.cookies.pop(name)
        at = bisect.bisect_left(self._keys, cookie)
        if at < len(self._keys) and self._keys[at] == cookie:
            self._names[at] = None
        return self._compact()

    def _compact(self) -> bool:
        """Drop the stale cookies once they outnumber the live ones by LISTING_SLACK
        (amortized O(1)), and the room a dict keeps for names removed: a cage that
        added and removed 64 names of 255 bytes in each of 5,000 directories once
        held 100 MB of the host, charged 1 MB (a dict never shrinks by itself)."""
        if len(self._keys) > 2 * len(self.cookies) + LISTING_SLACK:
            self.cookies = dict(self.cookies)
            self._keys, self._names = list(self.cookies.values()), list(self.cookies)
            return True
        return False

    def after(self, cookie: int) -> Iterator[tuple[int, str]]:
        """(cookie, name) of the names present now whose cookie is past `cookie`."""
        at = bisect.bisect_right(self._keys, cookie)
        keys, names = self._keys, self._names    # a compaction makes new lists, and dict
        while at < len(keys):
            key, name = keys[at], names[at]
            if name is not None and self.cookies.get(name) == key:
                yield key, name
            at += 1


@dataclass(eq=False)
class Dir(Node):
    parent: Dir | None = field(default=None, repr=False)    # None: the root (its own parent)
    entries: dict[str, Node] = field(default_factory=dict, repr=False)
    listing: Listing = field(default_factory=Listing, repr=False)

    def dirents(self, cookie: int, room: int) -> tuple[list[bytes], int]:
        """getdents64's records after `cookie` (0: from the start), "." and ".." first,
        as many as fit in `room` bytes (at most DIRENTS_MAX: a short count, as a read's);
        and the cookie the last one had (EINVAL if not one fits). A directory
        removed while open lists nothing, not even "." and ".."."""
        records: list[bytes] = []
        room = min(room, DIRENTS_MAX)
        if self.nlink == 0:
            return records, cookie
        parent = self.parent if self.parent is not None else self
        dots = [(1, ".", self), (2, "..", parent)]
        rest = ((key, name, self.entries[name]) for key, name in self.listing.after(cookie))
        for key, name, node in itertools.chain((d for d in dots if d[0] > cookie), rest):
            record = abi.pack_dirent64(node.ino, key, abi.d_type(node.mode),
                                       name.encode("utf-8", "surrogateescape"))
            if len(record) > room:
                if not records:
                    raise _error(errno.EINVAL)      # not even one fits
                break
            records.append(record)
            room -= len(record)
            cookie = key
        return records, cookie

    @property
    def size(self) -> int:
        return DIR_SIZE


@dataclass(eq=False)
class Symlink(Node):
    target: str = ""

    @property
    def size(self) -> int:
        return len(self.target.encode("utf-8", "surrogateescape"))


@dataclass(eq=False)
class Fifo(Node):
    """A named pipe: its name and attributes here; what flows through it, the back
    end's pipes (files.MemoryFiles)."""


@dataclass(eq=False)
class Socket(Node):
    """The name a Unix socket was bound to (files.MemoryFiles: the socket is the
    back end's); never saved, as tar leaves sockets out."""


@dataclass(frozen=True)
class Stat:
    """What stat(2) says of a node, in the os.stat_result names abi's packers read."""

    st_dev: int
    st_ino: int
    st_nlink: int
    st_mode: int
    st_uid: int
    st_gid: int
    st_size: int
    st_atime_ns: int
    st_mtime_ns: int
    st_ctime_ns: int
    st_rdev: int = 0
    st_blksize: int = BLOCK

    @property
    def st_blocks(self) -> int:
        return (self.st_size + 511) // 512 if stat.S_ISREG(self.st_mode) else self.st_size // 512


@dataclass(frozen=True)
class Found:
    """Where a path ends: its directory, its last name ("" for the root), the node
    that name holds (None when there is none yet), and whether a link on the way
    ended in "/" (what it names must be a directory)."""

    parent: Dir
    name: str
    node: Node | None
    slash: bool = False


N = TypeVar("N", bound=Node)
_FILE_TYPE = {File: stat.S_IFREG, Dir: stat.S_IFDIR, Fifo: stat.S_IFIFO, Socket: stat.S_IFSOCK,
              Symlink: stat.S_IFLNK}


def path_parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def names_a_directory(path: str) -> bool:
    """Whether a path may only name a directory: it ends in "/", "/." or "/.." (or is
    "." or ".."), as the kernel's walk requires."""
    return path.endswith(("/", "/.", "/..")) or path in (".", "..")


class Tree:
    """One file tree; every cage of a run that sees it shares it, under its lock."""

    _devices = itertools.count(0x6C696E00)    # st_dev of each tree: "lin" and a number

    def __init__(self, capacity: int | None = None) -> None:
        """`capacity` in bytes; None: unbounded until set (the portable back end sets
        it once the tree is filled)."""
        self.lock = threading.RLock()
        self.device = next(self._devices)
        self.capacity = capacity
        self.used = 0
        self._inodes = itertools.count(2)
        self.root = Dir(next(self._inodes), stat.S_IFDIR | 0o755, SELF, SELF, nlink=2)
        self.read_only_tops: list[Dir] = []     # the directories read-only mounts filled

    # -- what it holds ------------------------------------------------------------
    def charge(self, n: int) -> None:
        """Take `n` bytes of the capacity (give them back when negative): ENOSPC when
        they are not there."""
        if n > 0 and self.capacity is not None and self.used + n > self.capacity:
            raise _error(errno.ENOSPC)
        self.used += n

    def room(self) -> int:
        """Bytes still free (all a bytearray could hold, unbounded)."""
        return (1 << 62) if self.capacity is None else max(0, self.capacity - self.used)

    def resize(self, node: File, size: int) -> None:
        """Truncate or extend a file with zeros, charged; EPERM past a memfd's seals."""
        seals = node.seals or 0
        if seals & F_SEAL_SHRINK and size < len(node.data) or \
                seals & F_SEAL_GROW and size > len(node.data):
            raise _error(errno.EPERM)
        self.charge(size - len(node.data))
        if size < len(node.data):
            del node.data[size:]
        else:
            _grow(node.data, size - len(node.data))
        node.changed()

    def read_view(self, node: File, at: int, n: int) -> memoryview:
        """A view of up to `n` bytes of `node` from `at`, to copy from once (release it
        before the file may change size: `with tree.read_view(...) as view`); its atime
        kept as Linux's default (relatime) keeps it."""
        now = time.time_ns()
        if node.atime_ns <= node.mtime_ns or now - node.atime_ns > RELATIME_NS:
            node.atime_ns = now
        return memoryview(node.data)[at:at + max(0, n)]

    def read_bytes(self, node: File, at: int, n: int) -> bytes:
        """Up to `n` bytes of `node` from `at`, copied once (see read_view)."""
        with self.read_view(node, at, n) as view:
            return bytes(view)

    def write_bytes(self, node: File, at: int, data: bytes | memoryview) -> int:
        """Write `data` into `node` at `at`, as much as the capacity allows (ENOSPC
        when none of it fits); where the write ended."""
        file = node.data
        grows = max(0, at + len(data) - len(file))
        seals = node.seals or 0
        if seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) or seals & F_SEAL_GROW and grows:
            raise _error(errno.EPERM)
        room = self.room()
        if grows > room:
            fits = max(0, room - max(0, at - len(file)))
            if fits == 0 and data:
                raise _error(errno.ENOSPC)
            data = data[:fits]
            grows = max(0, at + len(data) - len(file))
        self.charge(grows)
        if at > len(file):
            _grow(file, at - len(file))
        file[at:at + len(data)] = data
        if data:
            node.changed()
        return at + len(data)

    def closed(self, node: Node) -> None:
        """An open file description of `node` went away (files.MemoryFile)."""
        node.opened -= 1
        self._maybe_gone(node)

    def _maybe_gone(self, node: Node) -> None:
        """A node with no name and no open file is gone: its bytes back, and what it
        was charged as a node."""
        if node.nlink == 0 and node.opened == 0:
            if isinstance(node, (File, Symlink)):
                self.charge(-node.size)
                if isinstance(node, File):
                    node.data = bytearray()
            self.charge(-node.held)
            node.held = 0

    # -- looking up -------------------------------------------------------------
    def _parent(self, d: Dir) -> Dir:
        return d.parent if d.parent is not None else self.root

    def find(self, path: str, *, follow: bool = True, can_search=None,
             start: Dir | None = None) -> Found:
        """Resolve `path` (from the tree's root, or a relative one from `start`) to where
        it ends. Links in the middle are always followed, the last one only with
        `follow`; `can_search(dir)` says whether a directory may be passed through
        (EACCES otherwise)."""
        todo = path_parts(path)[::-1]        # names still to walk, the next one last
        here, hops, slash = self.root, 0, False
        if start is not None and not path.startswith("/"):
            here = start
        if not todo:
            return Found(self.root, "", self.root)
        while True:
            name = todo.pop()
            if can_search is not None and not can_search(here):
                raise _error(errno.EACCES)
            if name == "..":
                here = self._parent(here)
                if not todo:
                    return Found(self._parent(here), _name_in(self._parent(here), here), here,
                                 slash)
                continue
            if len(name.encode("utf-8", "surrogateescape")) > 255:
                raise _error(errno.ENAMETOOLONG)
            node = here.entries.get(name)
            if isinstance(node, Symlink) and (todo or follow or slash):
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise _error(errno.ELOOP)
                if not todo:           # the last name: "dir/" as a target wants a directory
                    slash = slash or names_a_directory(node.target)
                todo.extend(path_parts(node.target)[::-1])
                if node.target.startswith("/"):
                    here = self.root
                if not todo:            # a link to "/" (or to "." of the root)
                    return Found(self._parent(here), _name_in(self._parent(here), here), here,
                                 slash)
                continue
            if not todo:
                return Found(here, name, node, slash)
            if node is None:
                raise _error(errno.ENOENT)
            if not isinstance(node, Dir):
                raise _error(errno.ENOTDIR)
            here = node

    def lookup(self, path: str, *, follow: bool = True, can_search=None) -> Node:
        found = self.find(path, follow=follow, can_search=can_search)
        if found.node is None:
            raise _error(errno.ENOENT)
        return found.node

    def node_at(self, path: str, *, follow: bool = True, slash: bool = False,
                can_search=None, start: Dir | None = None) -> Node:
        """The node at `path` (a relative one from `start`); with `slash` (it was spelled
        "name/") it must be a directory, a final link followed to it, as the kernel's
        walk requires."""
        found = self.find(path, follow=follow or slash, can_search=can_search, start=start)
        if found.node is None:
            raise _error(errno.ENOENT)
        if (slash or found.slash) and not isinstance(found.node, Dir):
            raise _error(errno.ENOTDIR)
        return found.node

    def new_name(self, path: str, *, slash: bool = False, can_search=None,
                 need: Need = None) -> Found:
        """Where a new name goes (mkdir, symlink, link, mknod): EEXIST if it is taken,
        ENOENT if spelled "name/" (`slash`; mkdir's caller passes False), EROFS in a
        read-only mount's directory, EACCES if `need` says it may not be written."""
        found = self.find(path, follow=False, can_search=can_search)
        if found.node is not None or not found.name:
            raise _error(errno.EEXIST)
        if slash:
            raise _error(errno.ENOENT)
        writable(found.parent)
        if need is not None:
            need(found.parent, _W | _X)
        return found

    def open(self, path: str, flags: int, mode: int, *, slash: bool = False, umask: int = 0,
             can_search=None, need: Need = None) -> Node:
        """The node open(2) with `flags` reaches at `path` (spelled "name/": `slash`),
        made by O_CREAT (`mode` less `umask`) or emptied by O_TRUNC, with Linux's
        errors in Linux's order. A FIFO is returned unopened: its ends are the back
        end's."""
        if flags & abi.O_TMPFILE == abi.O_TMPFILE:
            raise _error(errno.EOPNOTSUPP)
        if flags & abi.O_CREAT and flags & abi.O_DIRECTORY:
            raise _error(errno.EINVAL)       # as Linux since 6.4
        access = flags & abi.O_ACCMODE
        want = (_R if access != abi.O_WRONLY else 0) | (_W if access != abi.O_RDONLY else 0)
        exclusive = flags & abi.O_CREAT and flags & abi.O_EXCL
        follow = slash or not (flags & abi.O_NOFOLLOW or exclusive)
        found = self.find(path, follow=follow, can_search=can_search)
        node, slash = found.node, slash or found.slash
        if slash and flags & abi.O_CREAT:
            raise _error(errno.EISDIR)      # "name/" is never a file to create
        if node is None:
            if not flags & abi.O_CREAT:
                raise _error(errno.ENOENT)
            writable(found.parent)
            if need is not None:
                need(found.parent, _W | _X)
            return self.new(found.parent, found.name, File, mode & ~umask)
        if exclusive:
            raise _error(errno.EEXIST)
        if isinstance(node, Symlink) and not flags & abi.O_PATH:
            raise _error(errno.ELOOP)       # O_NOFOLLOW on a link
        if isinstance(node, Dir):
            if access != abi.O_RDONLY and not flags & abi.O_PATH or flags & abi.O_CREAT:
                raise _error(errno.EISDIR)
        elif flags & abi.O_DIRECTORY or slash:
            raise _error(errno.ENOTDIR)
        if isinstance(node, Socket) and not flags & abi.O_PATH:
            raise _error(errno.ENXIO)       # a socket's name is connected to, not opened
        if not flags & abi.O_PATH:
            truncates = flags & abi.O_TRUNC and isinstance(node, File)
            if want & _W or truncates:
                writable(node)
            if need is not None:
                need(node, want | (_W if flags & abi.O_TRUNC else 0))
            if truncates:
                self.resize(node, 0)
        return node

    def unlink(self, path: str, spelled: str, *, directory: bool, can_search=None,
               may_remove: Callable[[Dir, Node], None] | None = None) -> None:
        """unlink(2), or rmdir(2) with `directory`, of `path` as the cage `spelled` it:
        "d/" names only a directory (a link followed to it by rmdir), "d/." is EINVAL,
        "d/.." ENOTEMPTY. `may_remove(parent, node)` checks the caller's right."""
        if names_a_directory(spelled):
            there = self.find(path, follow=directory, can_search=can_search)
            if there.node is None:
                raise _error(errno.ENOENT)
            if not isinstance(there.node, Dir):
                raise _error(errno.ENOTDIR)
            if not directory:
                raise _error(errno.EISDIR if isinstance(self.find(
                    path, follow=False, can_search=can_search).node, Dir) else errno.ENOTDIR)
            last = spelled.rstrip("/").rsplit("/", 1)[-1]
            if last == ".":
                raise _error(errno.EINVAL)
            if last == "..":
                raise _error(errno.ENOTEMPTY)
        found = self.find(path, follow=False, can_search=can_search)
        node = found.node
        if node is None:
            raise _error(errno.ENOENT)
        if not found.name or node is self.root:
            raise _error(errno.EBUSY)
        if directory and not isinstance(node, Dir):
            raise _error(errno.ENOTDIR)
        if not directory and isinstance(node, Dir):
            raise _error(errno.EISDIR)
        if isinstance(node, Dir) and node.entries:
            raise _error(errno.ENOTEMPTY)
        writable(found.parent)
        self.not_a_mount_point(node)
        if may_remove is not None:
            may_remove(found.parent, node)
        self.remove(found.parent, found.name)

    def rename_path(self, old: str, new: str, flags: int = 0, *, slash: bool = False,
                    can_search=None, need: Need = None,
                    may_remove: Callable[[Dir, Node], None] | None = None) -> None:
        """renameat2(2) of `old` to `new` with `flags` (RENAME_NOREPLACE or
        RENAME_EXCHANGE); `slash`: either was spelled "name/" (a directory's only).
        `may_remove(parent, node)` checks the caller's right to take each name away
        (the sticky bit: the source's, and the target's it replaces); a directory moved
        to another parent must be writable itself (its ".." changes), as Linux's."""
        if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) or flags == (
                RENAME_NOREPLACE | RENAME_EXCHANGE):
            raise _error(errno.EINVAL)
        src = self.find(old, follow=False, can_search=can_search)
        dst = self.find(new, follow=False, can_search=can_search)
        if src.node is None:
            raise _error(errno.ENOENT)
        if slash and not isinstance(src.node, Dir):
            raise _error(errno.ENOTDIR)
        if not src.name or not dst.name:
            raise _error(errno.EBUSY)
        if flags & RENAME_NOREPLACE and dst.node is not None:
            raise _error(errno.EEXIST)
        if flags & RENAME_EXCHANGE and dst.node is None:
            raise _error(errno.ENOENT)
        for parent in (src.parent, dst.parent):
            writable(parent)
            if need is not None:
                need(parent, _W | _X)
        if src.node is dst.node:
            return
        self.not_a_mount_point(src.node)
        self.not_a_mount_point(dst.node)
        moved = [(src.parent, src.node)] + ([(dst.parent, dst.node)] if dst.node else [])
        if may_remove is not None:
            for parent, node in moved:
                may_remove(parent, node)
        if need is not None and src.parent is not dst.parent:
            for _, node in moved if flags & RENAME_EXCHANGE else moved[:1]:
                if isinstance(node, Dir):
                    need(node, _W)
        if flags & RENAME_EXCHANGE:
            self.exchange(src, dst)
        else:
            self.rename(src, dst)

    def path_of(self, d: Dir) -> str:
        """The path of a directory from the root ("/" for the root; "" once removed)."""
        names = []
        while d is not self.root:
            parent = self._parent(d)
            name = _name_in(parent, d)
            if not name:
                return ""
            names.append(name)
            d = parent
        return "/" + "/".join(reversed(names))

    # -- changing ---------------------------------------------------------------
    def _new_ino(self) -> int:
        return next(self._inodes)

    def memfd(self, sealable: bool) -> File:
        """memfd_create's file: named nowhere (gone with its last open file), 0777 as on
        Linux, sealed against seals unless `sealable`."""
        return File(self._new_ino(), stat.S_IFREG | 0o777, SELF, SELF,
                    seals=0 if sealable else F_SEAL_SEAL)

    def _attach(self, parent: Dir, name: str, node: Node) -> None:
        if len(name.encode("utf-8", "surrogateescape")) > 255:
            raise _error(errno.ENAMETOOLONG)
        if parent.nlink == 0:
            raise _error(errno.ENOENT)          # the directory was removed
        parent.entries[name] = node
        parent.listing.added(name)
        if isinstance(node, Dir):
            node.parent = parent
            parent.nlink += 1                    # its ".."
        parent.changed()

    def _detach(self, parent: Dir, name: str) -> Node:
        node = parent.entries.pop(name)
        if parent.listing.removed(name):
            parent.entries = dict(parent.entries)     # the room of names removed, back
        if isinstance(node, Dir):
            parent.nlink -= 1
        parent.changed()
        return node

    def add(self, parent: Dir, name: str, node: Node) -> Node:
        """Enter `node` under a new `name` in `parent`: a new node (charged with its
        bytes), or one more link to a file."""
        new = node.nlink == 0
        held = (DIR_CHARGE if isinstance(node, Dir) else NODE_CHARGE) if new and not node.held \
            else 0
        cost = NAME_CHARGE + held + (node.size if new and not isinstance(node, Dir) else 0)
        self.charge(cost)
        try:
            self._attach(parent, name, node)
        except OSError:
            self.charge(-cost)
            raise
        node.held += held
        node.nlink = 2 if isinstance(node, Dir) else node.nlink + 1
        return node

    def remove(self, parent: Dir, name: str) -> Node:
        """Take a name away (unlink, rmdir): an emptied directory is gone for good, a
        file once no open file holds it either (as Linux keeps an unlinked open file)."""
        node = self._detach(parent, name)
        node.nlink = 0 if isinstance(node, Dir) else node.nlink - 1
        node.touched()
        self.charge(-NAME_CHARGE)
        self._maybe_gone(node)
        return node

    def new(self, parent: Dir, name: str, kind: type[N], mode: int,
            owner: tuple[int, int] = (SELF, SELF), **fields) -> N:
        """A new node of `kind` (File, Dir, Fifo, Socket, Symlink) under `name`, with
        permission bits `mode` (a link's are 0777) and `fields` (data=, target=)."""
        perm = 0o777 if kind is Symlink else mode & 0o7777
        node = kind(self._new_ino(), _FILE_TYPE[kind] | perm, *owner, **fields)
        self.add(parent, name, node)
        return node

    def make_dirs(self, path: str, mode: int = 0o755) -> Dir:
        """The directory at `path`, made with its missing parents (`mode`) as needed;
        anything else in the way is replaced."""
        here = self.root
        for name in path_parts(path):
            child = here.entries.get(name)
            if not isinstance(child, Dir):
                if child is not None:
                    self.remove(here, name)
                child = self.new(here, name, Dir, mode)
            here = child
        return here

    def rename(self, old: Found, new: Found) -> None:
        """rename(2) of old.name to new.name, both found (old.node present)."""
        node, target = old.node, new.node
        if target is node:
            return
        if isinstance(node, Dir):
            if self._inside(new.parent, node):     # a directory cannot move into itself
                raise _error(errno.EINVAL)
            if target is not None and not isinstance(target, Dir):
                raise _error(errno.ENOTDIR)
            if isinstance(target, Dir) and target.entries:
                raise _error(errno.ENOTEMPTY)
        elif isinstance(target, Dir):
            raise _error(errno.EISDIR)
        if target is not None:
            self.remove(new.parent, new.name)
        self._detach(old.parent, old.name)
        self._attach(new.parent, new.name, node)
        node.touched()

    def exchange(self, a: Found, b: Found) -> None:
        """renameat2(RENAME_EXCHANGE): the two names swap what they hold."""
        if a.node is b.node:
            return
        for one, other in ((a, b), (b, a)):     # neither directory may go inside itself
            if isinstance(one.node, Dir) and self._inside(other.parent, one.node):
                raise _error(errno.EINVAL)
        first, second = self._detach(a.parent, a.name), self._detach(b.parent, b.name)
        self._attach(a.parent, a.name, second)
        self._attach(b.parent, b.name, first)
        first.touched()
        second.touched()

    def not_a_mount_point(self, node: Node | None) -> None:
        """EBUSY for a read-only mount's top, or a directory that holds one, as the host
        back end answers (its mounts stay at their paths): renamed away, removed or
        replaced, the mount's path would name what the cage put there instead."""
        if isinstance(node, Dir) and any(self._inside(top, node) for top in self.read_only_tops
                                         if top is not self.root):
            raise _error(errno.EBUSY)

    def _inside(self, d: Dir, top: Dir) -> bool:
        """Whether directory `d` is `top` or lies below it."""
        while True:
            if d is top:
                return True
            if d is self.root:
                return False
            d = self._parent(d)

    def keep_owner(self, node: Node, uid: int, gid: int, ids: tuple[int, int, int, int]) -> None:
        """chown(2) in a tree of one user, the caller's (whose ids are `ids`): an owner
        may only be kept (-1, or the one the caller sees there), else EPERM."""
        writable(node)
        owner, group = abi.seen_owner(self.stat(node), ids)
        if abi.s32(uid) not in (-1, owner) or abi.s32(gid) not in (-1, group):
            raise _error(errno.EPERM)
        node.touched()

    def stat(self, node: Node) -> Stat:
        """`node`'s attributes with owners as the host back end gives them: SELF as
        the host user Lind runs as, which abi.pack_stat shows as the cage's own ids."""
        euid, egid = abi.host_ids()
        return Stat(self.device, node.ino, node.nlink, node.mode,
                    euid if node.uid == SELF else node.uid,
                    egid if node.gid == SELF else node.gid,
                    node.size, node.atime_ns, node.mtime_ns, node.ctime_ns)

    def walk(self, top: Dir | None = None) -> Iterator[tuple[str, Node]]:
        """Every (path from `top`, node) below `top` (the root), each directory before
        what it holds."""
        stack: list[tuple[str, Dir]] = [("", top or self.root)]
        while stack:
            prefix, d = stack.pop()
            for name, node in sorted(d.entries.items()):
                path = f"{prefix}/{name}"
                yield path, node
                if isinstance(node, Dir):
                    stack.append((path, node))

    # -- from and to the host ---------------------------------------------------
    def load(self, source: str | os.PathLike[str] | BinaryIO, into: str = "/", *,
             readonly: bool = False) -> Tree:
        """Copy a host directory or a zip archive (named, or an open binary file such as
        io.BytesIO: the page's kept files) into directory `into` (made if missing; what
        is there stays unless replaced), `readonly` for a read-only mount. Files the
        host user Lind runs as owns become SELF's; device nodes and sockets are left
        out."""
        if not hasattr(source, "read"):
            source = os.fspath(source)
        with self.lock:
            is_dir = isinstance(source, str) and os.path.isdir(source)
            if not is_dir and not zipfile.is_zipfile(source):
                raise ValueError(f"{_named(source)}: neither a directory nor a zip archive")
            here = self.make_dirs(into)
            try:
                if is_dir:
                    self._load_directory(source, here)
                else:
                    self._load_zip(source, here)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                raise ValueError(f"{_named(source)}: more than the tree's capacity of "
                                 f"{self.capacity} bytes") from None
            if readonly:
                here.readonly = True
                if here not in self.read_only_tops:     # (a tree filled again, run after run)
                    self.read_only_tops.append(here)
                for _, node in self.walk(here):
                    node.readonly = True
        return self

    def _owner(self, st: os.stat_result) -> tuple[int, int]:
        euid, egid = abi.host_ids()
        return (SELF if st.st_uid == euid else abi.OVERFLOW_ID,
                SELF if st.st_gid == egid else abi.OVERFLOW_ID)

    def _load_directory(self, host_dir: str, into: Dir) -> None:
        """Copy host directory `host_dir` into `into`, each entry opened in its directory
        without following a link, and without recursion: a cage of an earlier run on the
        host back end may have nested the directory ~2,000 deep. A file of several
        names there is one file of as many names here (each name copied its bytes: a
        5 MB file of 100 hard links filled 500 MB of the host)."""
        linked: dict[tuple[int, int], File] = {}      # (st_dev, st_ino) -> its node
        top = os.open(host_dir, hostdirs.DIRECTORY_FLAGS)
        # the directories being read, outermost first: (fd, node, entries left to copy)
        levels: list[tuple[int, Dir, list[tuple[str, os.stat_result]]]] = [(top, into, [])]
        try:
            levels[0] = (top, into, _entries(top))
            while levels:
                fd, here, entries = levels[-1]
                if not entries:
                    os.close(fd)
                    levels.pop()
                    continue
                name, st = entries.pop()
                perm, owner = st.st_mode & 0o7777, self._owner(st)
                old = here.entries.get(name)
                if stat.S_ISDIR(st.st_mode):
                    child = old if isinstance(old, Dir) else None
                    if child is None:
                        if old is not None:
                            self.remove(here, name)
                        child = self.new(here, name, Dir, perm, owner)
                    child_fd = os.open(name, hostdirs.DIRECTORY_FLAGS, dir_fd=fd)
                    levels.append((child_fd, child, _entries(child_fd)))
                    continue
                same = linked.get((st.st_dev, st.st_ino)) if st.st_nlink > 1 else None
                if same is not None and same.nlink > 0:
                    if old is not None:
                        self.remove(here, name)
                    self.add(here, name, same)
                    continue
                if stat.S_ISREG(st.st_mode):
                    node: Node = File(self._new_ino(), stat.S_IFREG | perm, *owner,
                                      data=_read_regular(fd, name))
                    if st.st_nlink > 1:
                        linked[st.st_dev, st.st_ino] = node
                elif stat.S_ISLNK(st.st_mode):
                    node = Symlink(self._new_ino(), stat.S_IFLNK | 0o777, *owner,
                                   target=os.readlink(name, dir_fd=fd))
                elif stat.S_ISFIFO(st.st_mode):
                    node = Fifo(self._new_ino(), stat.S_IFIFO | perm, *owner)
                else:
                    continue
                if old is not None:
                    self.remove(here, name)
                node.mtime_ns = st.st_mtime_ns
                self.add(here, name, node)
        finally:
            for fd, _, _ in levels:
                os.close(fd)

    def _load_zip(self, source: str | BinaryIO, into: Dir) -> None:
        """What the archive's entries say they hold is checked before any is read, and
        what loading them takes (their bytes, names, directories) as it goes: past the
        tree's capacity it is ENOSPC, and a tree without one takes at most ZIP_RATIO
        times the archive's size (or ZIP_ROOM) from it. A zip bomb's 2 MB of zeros once
        filled 4 GB of the host, and 2.5 MB of entries named a/a/.../a 32,000 deep made
        640,000 directories (730 MB). An archive Python's zipfile cannot read (a bad
        checksum, an encrypted entry, a compression it lacks) is ValueError."""
        bounded = self.capacity is not None
        if not bounded:
            if isinstance(source, str):
                size = os.path.getsize(source)
            else:
                at = source.tell()
                size = source.seek(0, os.SEEK_END)
                source.seek(at)
            self.capacity = self.used + max(ZIP_ROOM, ZIP_RATIO * size)
        try:
            with zipfile.ZipFile(source) as archive:
                if sum(info.file_size for info in archive.infolist()) > self.room():
                    raise _error(errno.ENOSPC)
                self._load_entries(archive, into)
        except _ZIP_ERRORS as exc:
            raise ValueError(f"{_named(source)}: not a zip archive Lind can read "
                             f"({type(exc).__name__}: {exc})") from None
        except OSError as exc:
            if bounded or exc.errno != errno.ENOSPC:
                raise
            raise ValueError(f"{_named(source)}: it would take more than {ZIP_RATIO} times "
                             "its own size of the host's memory (a zip bomb?); load it "
                             "into a Tree with a capacity, or unzip it and give the "
                             "directory") from None
        finally:
            if not bounded:
                self.capacity = None

    def _load_entries(self, archive: zipfile.ZipFile, into: Dir) -> None:
        for info in archive.infolist():
            unix_mode = info.external_attr >> 16 if info.create_system == _ZIP_UNIX else 0
            is_dir = info.is_dir() or stat.S_ISDIR(unix_mode)
            name = info.filename
            if info.create_system == _ZIP_UNIX and not info.flag_bits & _ZIP_UTF8:
                # a Unix name's bytes as they are (zipfile read them as cp437), as
                # unzip takes them: one a cage made that is not UTF-8 comes back
                name = name.encode("cp437").decode("utf-8", "surrogateescape")
            parts = path_parts(name)
            if not parts or ".." in parts:
                continue                     # no name leaves the tree
            here = self.make_dirs(self.path_of(into) + "/" + "/".join(parts[:-1]))
            name, old = parts[-1], here.entries.get(parts[-1])
            if is_dir:
                if not isinstance(old, Dir):
                    if old is not None:
                        self.remove(here, name)
                    self.new(here, name, Dir, unix_mode & 0o7777 or 0o755)
                continue
            if old is not None:
                if isinstance(old, Dir):
                    continue
                self.remove(here, name)
            data = _read_member(archive, info, self.room())
            if stat.S_ISLNK(unix_mode):
                if len(data) >= abi.PATH_MAX:       # as symlink(2) takes: ENAMETOOLONG
                    raise _error(errno.ENAMETOOLONG)
                self.new(here, name, Symlink, 0o777,
                         target=data.decode("utf-8", "surrogateescape"))
            elif stat.S_ISFIFO(unix_mode):
                self.new(here, name, Fifo, unix_mode)
            else:
                self.new(here, name, File, unix_mode & 0o7777 or 0o644, data=data)

    def save(self, target: str | os.PathLike[str] | BinaryIO) -> None:
        """Write the tree to a host directory (created if missing; what the tree holds
        replaces what is there; no file there gets set-user-ID or set-group-ID bits) or,
        for a name ending in .zip or an open binary file, to a new zip archive."""
        if not hasattr(target, "write"):
            target = os.fspath(target)
        with self.lock:
            if not isinstance(target, str) or target.endswith(".zip") and not os.path.isdir(target):
                self._save_zip(target)
            else:
                self._save_directory(target)

    def _save_directory(self, target: str) -> None:
        """Each file's bytes are written once: a later name of the same node is a hard
        link to the first (a 20 MB file of 50 names was 1 GB on the host)."""
        os.makedirs(target, exist_ok=True)
        written: dict[int, str] = {}        # ino of a file with more names -> its first
        for path, node in self.walk():
            if isinstance(node, Socket):
                continue
            host = os.path.join(target, path.lstrip("/"))
            host_is_dir = os.path.isdir(host) and not os.path.islink(host)
            if host_is_dir and not isinstance(node, Dir):
                hostdirs.empty_directory(host)   # without recursion: a cage's may be deep
                os.rmdir(host)
            elif os.path.lexists(host) and not host_is_dir:
                os.unlink(host)
            if isinstance(node, Dir):
                os.makedirs(host, exist_ok=True)
                os.chmod(host, 0o700)   # so its contents can be written
            elif isinstance(node, Symlink):
                os.symlink(node.target, host)
            elif isinstance(node, Fifo):
                os.mkfifo(host, abi.host_permissions(node.mode, False))
            elif isinstance(node, File) and node.ino in written:
                os.link(written[node.ino], host, follow_symlinks=False)
            elif isinstance(node, File):
                if node.nlink > 1:
                    written[node.ino] = host
                fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with open(fd, "wb") as f:
                    f.write(node.data)
                os.chmod(host, abi.host_permissions(node.mode, False))
        for path, node in self.walk():     # directories' own modes, once filled
            if isinstance(node, Dir):
                os.chmod(os.path.join(target, path.lstrip("/")), abi.host_permissions(node.mode, True))

    def _save_zip(self, target: str | BinaryIO) -> None:
        """A named archive is written beside its name and renamed over it when whole: a
        save that fails leaves the last one as it was."""
        if not isinstance(target, str):
            self._write_zip(target)
            return
        fd, partial = tempfile.mkstemp(prefix=".lind-save-", dir=os.path.dirname(target) or ".")
        try:
            with open(fd, "wb") as out:
                self._write_zip(out)
            try:
                os.chmod(partial, stat.S_IMODE(os.stat(target).st_mode))
            except FileNotFoundError:
                os.chmod(partial, 0o644)
            os.replace(partial, target)
        except BaseException:
            os.unlink(partial)
            raise

    def _write_zip(self, out: BinaryIO) -> None:
        """A zip has no hard links: each name of a file holds its bytes again, so what
        an archive may hold is bounded by the tree's capacity (EFBIG past it: 50 names
        of a 20 MB file made 1 GB on the host; a directory save links them)."""
        room = max(self.capacity or 0, self.used)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, node in self.walk():
                if isinstance(node, File):
                    room -= node.size
                    if room < 0:
                        raise OSError(errno.EFBIG, "File too large: the names of the tree's "
                                      "hard-linked files would hold more than its capacity "
                                      f"({max(self.capacity or 0, self.used)} bytes) in a "
                                      "zip; save it to a directory")
                if isinstance(node, Socket):
                    continue
                name = path.lstrip("/") + ("/" if isinstance(node, Dir) else "")
                if len(name.encode("utf-8", "surrogateescape")) > abi.PATH_MAX:
                    # as a save to a directory: the archive keeps every name, and a tree
                    # nested n deep has n names n long (gigabytes, where a host has none)
                    raise OSError(errno.ENAMETOOLONG, f"File name too long: {path[:64]}... "
                                  f"is past PATH_MAX ({abi.PATH_MAX} bytes)")
                info = _UnixNameInfo(name, _zip_time(node.mtime_ns))
                info.create_system = _ZIP_UNIX
                info.external_attr = (node.mode & 0xFFFF) << 16
                if isinstance(node, Dir):
                    archive.writestr(info, b"")
                elif isinstance(node, Symlink):
                    archive.writestr(info, node.target.encode("utf-8", "surrogateescape"))
                elif isinstance(node, Fifo):
                    archive.writestr(info, b"")
                elif isinstance(node, File):
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, bytes(node.data))


ZIP_ROOM = 1 << 30      # what a zip may hold in a tree without a capacity, at least...
ZIP_RATIO = 100         # ...or this many times its own size (deflate makes ~1000 of zeros)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error,
               *((lzma.LZMAError,) if lzma is not None else ()))
_ZIP_ENCRYPTED = 0x1        # zip flag: the entry is encrypted
# the compressions this Python's zipfile reads (a module it needs may be missing, as
# bz2 and lzma may be in a browser's Python)
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED} | {
    method for method, module in ((zipfile.ZIP_BZIP2, "bz2"), (zipfile.ZIP_LZMA, "lzma"))
    if importlib.util.find_spec(module) is not None}


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, room: int) -> bytearray:
    """An entry's bytes, read in pieces (no second copy of them), never more than it
    said it holds (zipfile stops there) nor `room` (ENOSPC)."""
    if info.file_size > room:
        raise _error(errno.ENOSPC)
    if info.flag_bits & _ZIP_ENCRYPTED:      # (zipfile's RuntimeError, asking a password)
        raise zipfile.BadZipFile(f"{info.filename}: an encrypted entry")
    if info.compress_type not in _ZIP_METHODS:   # (zipfile would raise, not read it)
        raise zipfile.BadZipFile(f"{info.filename}: compression method {info.compress_type}, "
                                 "which this Python cannot read")
    data = bytearray()
    with archive.open(info) as member:
        while chunk := member.read(1 << 20):
            data += chunk
    return data


class _UnixNameInfo(zipfile.ZipInfo):
    """An entry whose name may be any bytes, as a Unix name may: one that is not UTF-8
    is kept as its bytes, without the UTF-8 flag, where zipfile refused it (a cage's
    file named b"caf\\xe9" was UnicodeEncodeError, and nothing of the run was saved)."""

    __slots__ = ()

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        try:
            return super()._encodeFilenameFlags()
        except UnicodeEncodeError:
            return (self.filename.encode("utf-8", "surrogateescape"),
                    self.flag_bits & ~_ZIP_UTF8)


def _grow(data: bytearray, n: int) -> None:
    """Append `n` zero bytes, a MiB at a time: no transient copy of the whole hole
    (bytes(n) first held as much again of the host)."""
    zeros = bytes(min(n, 1 << 20))
    while n > 0:
        data += zeros[:n] if n < len(zeros) else zeros
        n -= len(zeros)


def _entries(fd: int) -> list[tuple[str, os.stat_result]]:
    """The names in directory `fd`, with what each is (links not followed)."""
    with os.scandir(fd) as it:
        return [(e.name, e.stat(follow_symlinks=False)) for e in it]


def _read_regular(dir_fd: int, name: str) -> bytearray:
    """The bytes of regular file `name` in `dir_fd`, opened without following a link (one
    swapped in since it was listed is ELOOP, anything but a regular file EINVAL)."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, f"{name}: no longer a regular file")
        return bytearray(f.read())


def _zip_time(ns: int) -> tuple[int, int, int, int, int, int]:
    """A modification time as a zip entry holds it: local time, in whole (even) seconds,
    from 1980 to 2107 (a cage may set any time: one outside is the nearest end)."""
    when = time.localtime(min(max(ns // 10**9, _ZIP_FIRST), _ZIP_LAST))[:6]
    return min(max(when, (1980, 1, 1, 0, 0, 0)), (2107, 12, 31, 23, 59, 58))


_ZIP_FIRST, _ZIP_LAST = 315532800, 4354819198     # 1980-01-01, 2107-12-31 (UTC)


def _named(source: str | BinaryIO) -> str:
    """How a message names where a tree comes from."""
    return source if isinstance(source, str) else "the archive"


def _name_in(parent: Dir, node: Node) -> str:
    """The name `node` has in `parent` ("" for the root, or when it has none there)."""
    for name, child in parent.entries.items():
        if child is node:
            return name
    return ""
