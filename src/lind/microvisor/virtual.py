"""Entries every cage sees whatever its root holds, made by the microvisor, never the host's.

- /dev: null, zero, full, random, urandom (devices served here, no host device behind
  them), tty (the terminal the cage's stdio already is, if any), ptmx and pts/N (host
  pseudo-terminals its tree made, see ptys), stdin/stdout/stderr/fd (links into
  /proc/self/fd) and shm (a mount of the tree's own directory, see FileSystem). Nothing
  else: a root's own /dev is never looked at, so device nodes planted there are never
  opened.
- /proc/self -> /proc/<pid>, and /proc/<pid> of the cage itself: fd/ (links that reopen
  the cage's files, never with more access than it holds them with), exe, cwd, status,
  maps, smaps, smaps_rollup, statm, cmdline, environ, stat, comm, oom_score_adj,
  task/<tid>/ (comm, stat, status) of each thread;
  and the system's meminfo, cpuinfo, stat, uptime, loadavg and version, as sysinfo and
  uname give them (unless the root or a mount holds /proc).
  Any other /proc path is the root's or a mount's.
- /etc: passwd, group, hosts, nsswitch.conf, resolv.conf made from the cage's identity
  and host name, unless the root or a mount holds a real file by that name.

`lookup` is the one entry point: handlers that take a path ask it first; it answers a
`Node` (virtual), or the guest path the cage's file system should resolve (rewritten
when a virtual link led there, as /proc/self/cwd does). A path never goes on past one
of the magic links (/proc/PID/cwd, exe, fd/N; so /dev/fd/N too): ELOOP, see `lookup`.
Generated text files are
read-only memfds, so the 3i fast path serves their reads as any host file's; devices
have no host fd and are never mirrored.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import stat as statmod
import struct
import threading
import time
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from lind.microvisor import abi, limits, network, ptys, sys_info, sys_time
from lind.microvisor.fdtable import MemFile, OpenFile, own_description
from lind.microvisor.fs import join, proc_path
from lind.microvisor.fs import libc as fs_libc

DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9),
           "tty": (5, 0), "ptmx": (5, 2)}
DEV_LINKS = {"stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2", "fd": "/proc/self/fd"}
ETC_FILES = abi.ETC_FILES
PROC_FILES = ("cmdline", "environ", "maps", "smaps", "smaps_rollup", "stat", "statm", "status")
SYSTEM_PROC_FILES = ("cpuinfo", "loadavg", "meminfo", "stat", "uptime", "version")
_MAXSYMLINKS = 40
_OPEN_ONLY = abi.O_CREAT | abi.O_EXCL | abi.O_TRUNC | abi.O_CLOEXEC   # not kept by the file
_CHUNK = 1 << 20
_ZEROS = bytes(_CHUNK)
_DEV_ID = os.makedev(0, 5)        # st_dev of what lives here: a file system of its own
_BOOT_NS = time.time_ns()
_FOREIGN = -1                     # an owner that is not the host user: the cage sees nobody


def _error(code: int) -> OSError:
    return abi.error(code)


def _ino(path: str) -> int:
    return zlib.crc32(path.encode("utf-8", "surrogateescape")) or 1


def _stat(mode: int, path: str, *, size: int = 0, rdev: int = 0, own: bool = False,
          nlink: int = 1, same_as: os.stat_result | None = None) -> os.stat_result:
    """A virtual entry's stat; `same_as` lends its device and inode (the file it is)."""
    uid, gid = (os.geteuid(), os.getegid()) if own else (_FOREIGN, _FOREIGN)
    ns = _BOOT_NS
    ino, dev = (same_as.st_ino, same_as.st_dev) if same_as else (_ino(path), _DEV_ID)
    return os.stat_result((mode, ino, dev, nlink, uid, gid, size,
                           ns // 10**9, ns // 10**9, ns // 10**9, ns / 1e9, ns / 1e9, ns / 1e9,
                           ns, ns, ns, 4096, (size + 511) // 512, rdev))


# ------------------------------------------------------------------------- nodes

@dataclass
class Dir:
    path: str
    entries: list[tuple[str, int]]          # (name, d_type)
    own: bool = False

    def stat(self) -> os.stat_result:
        return _stat(statmod.S_IFDIR | 0o555, self.path, nlink=2, own=self.own)


@dataclass
class Device:
    name: str

    @property
    def path(self) -> str:
        return f"/dev/{self.name}"

    def stat(self) -> os.stat_result:
        return _stat(statmod.S_IFCHR | 0o666, self.path, rdev=os.makedev(*DEVICES[self.name]))


@dataclass
class Text:
    path: str
    data: bytes
    mode: int
    own: bool = False

    def stat(self) -> os.stat_result:
        return _stat(statmod.S_IFREG | self.mode, self.path, size=len(self.data), own=self.own)


@dataclass
class Link:
    path: str
    text: str                       # what readlink says
    to: str | Node                  # where following it leads: a guest path, or a node
    magic: bool = False             # /proc/PID/cwd, exe, fd/N: no path goes on past it

    def stat(self) -> os.stat_result:
        return _stat(statmod.S_IFLNK | 0o777, self.path, size=len(self.text.encode()), own=True)


@dataclass
class Opened:
    """What /proc/self/fd/N leads to: the cage's open file N itself."""
    fd: int
    file: OpenFile = field(repr=False)

    def stat(self) -> os.stat_result:
        return self.file.stat()


@dataclass
class Terminal:
    """/dev/tty of a cage whose stdio is a terminal: that terminal (so ttyname works)."""
    file: OpenFile = field(repr=False)
    path: str = "/dev/tty"

    def stat(self) -> os.stat_result:
        """/dev/tty's mode and numbers, the terminal's identity (ttyname compares it)."""
        return _stat(statmod.S_IFCHR | 0o666, self.path, rdev=os.makedev(*DEVICES["tty"]),
                     same_as=self.file.stat())


@dataclass
class PtySlave:
    """/dev/pts/N: the other side of a pseudo-terminal the cage's tree made."""
    path: str
    number: int
    host: os.stat_result = field(repr=False)

    def stat(self) -> os.stat_result:
        return self.host


@dataclass
class Program:
    """What /proc/self/exe leads to when the program is a host file named to Lind."""
    host: str

    def stat(self) -> os.stat_result:
        return os.stat(self.host)


@dataclass
class Comm:
    """/proc/self/comm (the first thread's) or /proc/self/task/TID/comm: a thread's
    name, read and written (musl names and asks another thread's through it)."""
    path: str
    tid: int

    def stat(self) -> os.stat_result:
        return _stat(statmod.S_IFREG | 0o644, self.path, own=True)


@dataclass
class OomScoreAdj:
    """/proc/self/oom_score_adj: the cage's own, read and written (see OomScoreAdjFile)."""
    path: str

    def stat(self) -> os.stat_result:
        return _stat(statmod.S_IFREG | 0o644, self.path, own=True)


Node = Dir | Device | Terminal | PtySlave | Text | Link | Opened | Program | Comm | OomScoreAdj


# -------------------------------------------------------------------- resolution

def _under(path: str, top: str) -> str | None:
    """The rest of `path` below `top` ("" for `top` itself), or None if not below it."""
    if path == top:
        return ""
    if path.startswith(top + "/"):
        return path[len(top):]
    return None


def _in_fs(cage, path: str) -> bool:
    """Whether the cage's file system itself holds `path` (a link counts, dangling or not)."""
    try:
        os.close(cage.fs.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC))
    except OSError:
        return False
    return True


def _entry(cage, path: str) -> tuple[Node | None, str]:
    """The virtual entry that `path` or one of its leading parts names, and the rest of
    the path below it; (None, path) when the file system resolves it."""
    rest = _under(path, "/dev")
    if rest is not None:
        if rest == "":
            names = [(n, abi.DT_CHR) for n in DEVICES] + [(n, abi.DT_LNK) for n in DEV_LINKS]
            return Dir("/dev", sorted(names + [("pts", abi.DT_DIR), ("shm", abi.DT_DIR)])), ""
        name, _, below = rest[1:].partition("/")
        if name == "shm":
            return None, path
        if name == "pts":
            return _pts_entry(cage, below and "/" + below)
        if name == "tty" and (terminal := _terminal(cage)) is not None:
            return Terminal(terminal), below and "/" + below
        if name in DEVICES:
            return Device(name), below and "/" + below
        if name in DEV_LINKS:
            return Link(f"/dev/{name}", DEV_LINKS[name], DEV_LINKS[name]), below and "/" + below
        raise _error(errno.ENOENT)
    rest = _under(path, "/proc/self")
    if rest is not None:
        return Link("/proc/self", str(cage.id), f"/proc/{cage.id}"), rest
    rest = _under(path, f"/proc/{cage.id}")
    if rest is not None:
        return _proc_entry(cage, rest)
    if path == "/proc" and not _in_fs(cage, path):
        return Dir("/proc", [("self", abi.DT_LNK), (str(cage.id), abi.DT_DIR)]
                   + [(n, abi.DT_REG) for n in SYSTEM_PROC_FILES]), ""
    rest = _under(path, "/proc")
    if rest and rest[1:] in SYSTEM_PROC_FILES and not _in_fs(cage, "/proc"):
        return Text(path, _SYSTEM_MAKERS[rest[1:]](cage), 0o444), ""
    if path == "/etc" and not _in_fs(cage, path):
        return Dir("/etc", [(n, abi.DT_REG) for n in ETC_FILES]), ""
    rest = _under(path, "/etc")
    if rest and rest[1:] in ETC_FILES and not _in_fs(cage, path):
        return Text(path, _ETC_MAKERS[rest[1:]](cage), 0o644), ""
    return None, path


def _pts_entry(cage, rest: str) -> tuple[Node, str]:
    """/dev/pts and its entries: the tree's own pseudo-terminals."""
    if rest == "":
        return Dir("/dev/pts", [(str(n), abi.DT_CHR) for n in ptys.numbers(cage)]), ""
    number, _, below = rest[1:].partition("/")
    if not number.isdigit() or len(number) > 9:
        raise _error(errno.ENOENT)
    path = f"/dev/pts/{int(number)}"
    return (PtySlave(path, int(number), ptys.slave_stat(cage, int(number))),
            below and "/" + below)


def _proc_entry(cage, rest: str) -> tuple[Node, str]:
    base = f"/proc/{cage.id}"
    if rest == "":
        names = [("fd", abi.DT_DIR), ("task", abi.DT_DIR), ("exe", abi.DT_LNK),
                 ("cwd", abi.DT_LNK), ("comm", abi.DT_REG), ("oom_score_adj", abi.DT_REG)]
        return Dir(base, names + [(n, abi.DT_REG) for n in PROC_FILES], own=True), ""
    name, _, below = rest[1:].partition("/")
    below = below and "/" + below
    if name in PROC_FILES:
        mode = 0o400 if name == "environ" else 0o444    # as Linux: the owner's alone
        return Text(f"{base}/{name}", _PROC_MAKERS[name](cage), mode, own=True), below
    if name == "comm":
        return Comm(f"{base}/comm", cage.id), below
    if name == "oom_score_adj":
        return OomScoreAdj(f"{base}/oom_score_adj"), below
    if name == "task":
        return _task_entry(cage, below)
    if name == "cwd":
        return Link(f"{base}/cwd", cage.cwd, cage.cwd, magic=True), below
    if name == "exe":
        guest, host = cage.exe
        return Link(f"{base}/exe", guest, Program(host) if host else guest, magic=True), below
    if name != "fd":
        raise _error(errno.ENOENT)
    if below == "":
        return Dir(f"{base}/fd", [(str(n), abi.DT_LNK) for n in cage.fds.numbers()],
                   own=True), ""
    number, _, deeper = below[1:].partition("/")
    if not number.isdigit():
        raise _error(errno.ENOENT)
    try:
        f = cage.fds.get(int(number))
    except OSError:
        raise _error(errno.ENOENT) from None
    opened = Opened(int(number), f)
    # A directory reopens by its guest path, as a walk below it would go on there.
    to = f.path if f.is_dir and f.path else opened
    return Link(f"{base}/fd/{number}", describe(f), to, magic=True), deeper and "/" + deeper


_TASK_FILES = ("stat", "status")


def _task_entry(cage, rest: str) -> tuple[Node, str]:
    """/proc/self/task and what is below it: a directory per thread, with its name and
    what /proc/self/stat and status say of it."""
    base = f"/proc/{cage.id}/task"
    if rest == "":
        return Dir(base, [(str(t), abi.DT_DIR) for t in cage.thread_ids()], own=True), ""
    number, _, below = rest[1:].partition("/")
    if not number.isdigit() or int(number) not in cage.thread_ids():
        raise _error(errno.ENOENT)
    tid, below = int(number), below and "/" + below
    if below == "":
        return Dir(f"{base}/{tid}", [("comm", abi.DT_REG)]
                   + [(n, abi.DT_REG) for n in _TASK_FILES], own=True), ""
    name, _, deeper = below[1:].partition("/")
    deeper = deeper and "/" + deeper
    if name == "comm":
        return Comm(f"{base}/{tid}/comm", tid), deeper
    if name in _TASK_FILES:
        return Text(f"{base}/{tid}/{name}", _PROC_MAKERS[name](cage, tid), 0o444, own=True), deeper
    raise _error(errno.ENOENT)


_VIRTUAL_TOPS = ("/dev", "/proc", "/etc")


def under_virtual_top(path: str) -> bool:
    """Whether `path` lies where the microvisor may provide files of its own."""
    return any(_under(path, top) is not None for top in _VIRTUAL_TOPS)


def lookup(cage, path: str, follow: bool = True) -> Node | str:
    """What the normalised guest `path` names: a virtual node, or the guest path to
    resolve in the cage's file system. A virtual link as the last part is followed only
    if `follow`; ENOENT for a missing virtual name, ENOTDIR below a non-directory.

    A path that goes on past a magic link (/proc/self/cwd/f, /proc/self/fd/3/f,
    /dev/fd/3/f: a link that stands for a directory of the cage's by what it is, not by
    its name) is ELOOP, where Linux walks on from that directory. Grates that act on
    paths (readonly, aquarium, clamp, fsview, the C clamp ns) match a path as it is
    written, so such a name would reach a file under a directory they guard while they
    saw only /proc; refused here, it is refused under every grate at once. ELOOP is
    what Linux itself answers a walk through a magic link it may not follow (openat2's
    RESOLVE_NO_MAGICLINKS), and what a program already expects of a link it cannot go
    through. The link itself still works: readlink, stat, open (a directory opens by
    its own path, so an fd opened so and the cwd chdir gives are the real guest path).
    """
    if not path.startswith(_VIRTUAL_TOPS):
        return path           # the common case, answered before any other look
    for _ in range(_MAXSYMLINKS):
        node, rest = _entry(cage, path)
        if node is None:
            return path
        if isinstance(node, Link) and (follow or rest):
            if rest and node.magic and isinstance(node.to, str):
                raise _error(errno.ELOOP)
            if isinstance(node.to, str):
                path = join(node.to, "." + rest)
                continue
            node = node.to
        if rest:
            raise _error(errno.ENOTDIR)
        return node
    raise _error(errno.ELOOP)


def names_running_program(cage, path: str) -> bool:
    """Whether `path` is the cage's /proc/PID/exe (/proc/self/exe). Opened for writing it
    is ETXTBSY, as Linux keeps a running program from being written, however the program
    is named: where it lies in the cage's view, a grate that guards that directory saw
    only /proc."""
    if not path.startswith("/proc/"):
        return False
    try:
        found = lookup(cage, path, follow=False)
    except OSError:
        return False
    return isinstance(found, Link) and found.path == f"/proc/{cage.id}/exe"


def describe(f: OpenFile) -> str:
    """readlink of /proc/self/fd/N for the cage's file `f`, as Linux words it: its path
    (" (deleted)" once it has no name left), a pipe's or socket's inode, an event file's
    kind ("anon_inode:[eventfd]", "anon_inode:inotify") and a memfd's name as the host
    kernel gives them; a host file given to the cage says nothing of its host name."""
    if f.path:
        if f.host_backed and not f.borrowed and os.fstat(f.host_fd).st_nlink == 0:
            return f.path + " (deleted)"
        return f.path
    st = f.stat()
    if statmod.S_ISFIFO(st.st_mode):
        return f"pipe:[{st.st_ino}]"
    if statmod.S_ISSOCK(st.st_mode):
        return f"socket:[{st.st_ino}]"
    if statmod.S_ISCHR(st.st_mode) and os.isatty(f.host_fd):
        return "/dev/tty"
    if getattr(f, "link_name", None):       # a kind Lind makes of another host file
        return f.link_name
    if f.host_backed and not f.borrowed:     # made by the cage: eventfd, epoll, memfd...
        with contextlib.suppress(OSError):
            host = os.readlink(proc_path(f.host_fd))
            if host.startswith("anon_inode:") or (isinstance(f, MemFile)
                                                  and host.startswith("/memfd:")):
                return host
    return "anon_inode:[host-file]"   # a host file given to the cage: its name is the host's


def entries(cage, f: DirFile) -> list[tuple[bytes, int, int]]:
    """The listing of Lind's own directory `f` (host directories: HostListing)."""
    node, _ = _entry(cage, f.path)      # now: /proc/self/fd lists this very fd too
    node = node if isinstance(node, Dir) else f.node
    listing = [(name, _ino(f.path + "/" + name), dtype) for name, dtype in node.entries]
    st = f.stat()
    if st.st_nlink == 0:
        return []        # removed while open: Linux lists nothing, not even "." and ".."
    ino = st.st_ino
    return [(b".", ino, abi.DT_DIR), (b"..", _parent_ino(cage, f.path, ino), abi.DT_DIR)] + [
        (os.fsencode(name), i, t) for name, i, t in listing]


class FixedListing:
    """A listing made at once (Lind's own directories), by index."""

    def __init__(self, items: list[tuple[bytes, int, int]]) -> None:
        self.records = [abi.pack_dirent64(ino, 0, dtype, name)
                        for name, ino, dtype in items]
        self.lock = contextlib.nullcontext()

    def records_from(self, cage, f: OpenFile, index: int) -> list[bytes]:
        """The linux_dirent64 records of the entries from `index` on (each one's d_off
        the caller's to set), as many as are at hand: none past the last."""
        return self.records[index:]


_HOST_GETDENTS64 = 217
_HOST_DIRENT = struct.Struct("<QqHB")      # d_ino, d_off, d_reclen, d_type
_NAME_AT = _HOST_DIRENT.size
_SHORT_NAME_RECORD = 24                    # d_reclen of names of up to 4 bytes: "." and ".."
_LISTING_CHUNK = 32 << 10                  # bytes of records read from the host at once


class HostListing:
    """Where the listing of a host directory (an open file) got to: its entries by
    index (".", "..", then the host's in the host's order, then in /etc the generated
    files the root lacks), read from the host a chunk at a time as the cage asks for
    them. The host's records are the guest's (linux_dirent64 is the same on every
    architecture): they are passed on as the kernel wrote them into a zeroed buffer,
    but for d_off, which the caller sets. The whole listing is never kept: each open
    directory once held a copy of it in the host (a tenant opening a directory of
    20,000 names 250 times and reading a little of each held ~790 MiB under --memory
    256M). An index before the one reached reads the directory again from its start
    (rewinddir, seekdir back)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._index = 0            # of the first entry in _ahead
        self._ahead: list[bytes] = []   # records read from the host, not yet passed
        self._host_done = False
        self._etc_seen: set[bytes] = set()
        self._started = False      # the host's position is not this listing's yet

    def records_from(self, cage, f: OpenFile, index: int) -> list[bytes]:
        """Records from `index` on, as many as were read: none past the last (with
        lock)."""
        if index < self._index or not self._started:
            self._restart(f)
        while True:
            if index < self._index + len(self._ahead):
                return self._ahead[index - self._index:]
            self._index += len(self._ahead)
            self._ahead = []
            if not self._more(cage, f):
                return []

    def _restart(self, f: OpenFile) -> None:
        os.lseek(f.host_fd, 0, os.SEEK_SET)
        self._started = True
        self._index, self._ahead, self._host_done = 0, [], False
        self._etc_seen = set()

    def _more(self, cage, f: OpenFile) -> bool:
        """Read the next entries into _ahead; False at the end."""
        if self._index == 0:
            st = f.stat()
            if st.st_nlink == 0:
                return False   # removed while open: Linux lists nothing, not even "." and ".."
            self._ahead = [abi.pack_dirent64(st.st_ino, 0, abi.DT_DIR, b"."),
                           abi.pack_dirent64(_parent_ino(cage, f.path, st.st_ino), 0,
                                             abi.DT_DIR, b"..")]
            return True
        in_etc = f.path == "/etc"
        while not self._host_done and not self._ahead:
            buf = ctypes.create_string_buffer(_LISTING_CHUNK)
            n = fs_libc.syscall(_HOST_GETDENTS64, f.host_fd, buf, _LISTING_CHUNK)
            if n < 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
            if n == 0:
                self._host_done = True
                if in_etc:
                    self._ahead = [abi.pack_dirent64(_ino(join(f.path, n)), 0,
                                                     abi.DT_REG, n.encode())
                                   for n in ETC_FILES if n.encode() not in self._etc_seen]
                return bool(self._ahead)
            data, at = ctypes.string_at(buf, n), 0
            unpack, keep = _HOST_DIRENT.unpack_from, self._ahead.append
            while at < n:
                ino, _, reclen, dtype = unpack(data, at)
                record = data[at:at + reclen]
                at += reclen
                if reclen == _SHORT_NAME_RECORD and (record[_NAME_AT:_NAME_AT + 2] == b".\0" or
                                                    record[_NAME_AT:_NAME_AT + 3] == b"..\0"):
                    continue
                if dtype == abi.DT_UNKNOWN or not ino or in_etc:
                    name = record[_NAME_AT:].split(b"\0", 1)[0]
                    if dtype == abi.DT_UNKNOWN:
                        try:
                            dtype = abi.d_type(os.stat(name, dir_fd=f.host_fd,
                                                       follow_symlinks=False).st_mode)
                        except OSError:
                            continue           # gone meanwhile
                    if in_etc and name.decode(errors="replace") in ETC_FILES:
                        self._etc_seen.add(name)
                    record = abi.pack_dirent64(ino, 0, dtype, name)
                keep(record)
        return bool(self._ahead)


def _parent_ino(cage, path: str, own: int) -> int:
    """The inode `..` has in the guest's view: its parent directory's, the root's own at
    "/" (the host's parent of a root or mount point is not the cage's to see)."""
    parent = path.rsplit("/", 1)[0] or "/"
    if not path or path == "/":
        return own
    try:
        found = lookup(cage, parent)
        if not isinstance(found, str):
            return found.stat().st_ino
        fd = cage.fs.open(found, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return own          # the parent is gone: "." stands in for it
    try:
        return os.fstat(fd).st_ino
    finally:
        os.close(fd)


# ----------------------------------------------------------------------- opening

def _wants(flags: int) -> tuple[bool, bool]:
    access = flags & abi.O_ACCMODE
    return access != abi.O_WRONLY, access != abi.O_RDONLY or bool(flags & abi.O_TRUNC)


def open_node(cage, node: Node, flags: int) -> OpenFile:
    """A new open file description for a virtual node (open's flags as the guest gave them)."""
    _, write = _wants(flags)
    if flags & abi.O_CREAT and flags & abi.O_EXCL:
        raise _error(errno.EEXIST)
    if isinstance(node, Link):              # O_NOFOLLOW: no handles on virtual links
        raise _error(errno.ELOOP)
    if isinstance(node, Dir):
        if write and not flags & abi.O_PATH:
            raise _error(errno.EISDIR)
        return DirFile(node, flags)
    if flags & abi.O_DIRECTORY and not (isinstance(node, Opened) and node.file.is_dir):
        raise _error(errno.ENOTDIR)
    if isinstance(node, Terminal):
        return ptys.reopen(cage, node.file, flags, "/dev/tty")
    if isinstance(node, PtySlave):
        return ptys.open_slave(cage, node.number, flags)
    if isinstance(node, Device):
        if node.name == "tty":
            raise _error(errno.ENXIO)        # no terminal among the cage's stdio
        if node.name == "ptmx" and not flags & abi.O_PATH:
            return ptys.open_master(cage, flags)
        return DeviceFile(node.name, flags)
    if isinstance(node, Text):
        if write and not flags & abi.O_PATH:
            raise _error(errno.EACCES)
        return TextFile(node, flags, cage.memory_budget)
    if isinstance(node, Comm):
        return CommFile(cage, node, flags)
    if isinstance(node, OomScoreAdj):
        return OomScoreAdjFile(cage, node, flags)
    if isinstance(node, Program):
        if write and not flags & abi.O_PATH:
            raise _error(errno.ETXTBSY)
        host = os.O_PATH if flags & abi.O_PATH else os.O_RDONLY
        fd = os.open(node.host, host | os.O_CLOEXEC)
        return OpenFile(fd, flags & ~(abi.O_ACCMODE | _OPEN_ONLY), cage.exe[0], borrowed=True)
    return _reopen(cage, node.file, flags)


def access(node: Node, mode: int) -> None:
    """access(2) on a virtual node for the cage (R_OK 4, W_OK 2, X_OK 1): EACCES if not."""
    if isinstance(node, Opened):
        f = node.file
        if f.host_backed:
            if not os.access(proc_path(f.host_fd), mode, effective_ids=True):
                raise _error(errno.EACCES)
            return
        allowed = 6 if not f.is_dir else 5
    elif isinstance(node, Program):
        allowed = 5
    elif isinstance(node, Device | PtySlave):
        allowed = 6
    elif isinstance(node, Dir):
        allowed = 5
    elif isinstance(node, Text):
        allowed = 4
    else:
        allowed = 7
    if mode & ~allowed:
        raise _error(errno.EACCES)


def _reopen(cage, f: OpenFile, flags: int) -> OpenFile:
    """/proc/self/fd/N opened: a new description of the cage's file N, with no more
    access than the cage holds it with (a read-only stdio stays read-only)."""
    read, write = _wants(flags)
    if not flags & abi.O_PATH and ((read and not f.readable) or (write and not f.writable)):
        raise _error(errno.EACCES)
    if isinstance(f, DeviceFile):
        return DeviceFile(f.name, flags)
    if isinstance(f, TextFile):
        return TextFile(f.node, flags, f.budget)
    if not flags & abi.O_PATH and f.host_backed and f.host_fd >= 0 and os.isatty(f.host_fd):
        return ptys.reopen(cage, f, flags, f.path)  # a master's: a new terminal, counted
    # A borrowed file's size is the host's (no O_TRUNC) and its O_APPEND stays.
    append = f.flags & abi.O_APPEND if f.borrowed else 0
    if f.borrowed and flags & abi.O_TRUNC:
        raise _error(errno.EPERM)
    if flags & abi.O_PATH:
        host = os.O_PATH | os.O_CLOEXEC
    else:   # never blocking in the open: a pipe whose writers are gone would wait for ever
        host = abi.host_open_flags(flags | append) & ~(os.O_CREAT | os.O_EXCL) | (
            os.O_NOCTTY | os.O_NONBLOCK)
    fd = os.open(proc_path(f.host_fd), host)
    if not flags & abi.O_PATH:
        os.set_blocking(fd, not flags & abi.O_NONBLOCK)
    kept = flags | append
    if isinstance(f, MemFile):
        return f.reopened(fd, kept & ~_OPEN_ONLY)
    return own_description(fd, kept & ~_OPEN_ONLY, f.path, borrowed=f.borrowed)


def _terminal(cage) -> OpenFile | None:
    """The terminal the cage's stdin, stdout or stderr is (its controlling terminal, as
    a shell's child has it), if any: what /dev/tty opens anew."""
    for fd in (0, 1, 2):
        try:
            f = cage.fds.get(fd)
        except OSError:
            continue
        if (f.host_backed and not f.is_dir and os.isatty(f.host_fd)
                and not ptys.is_master(f) and not ptys.is_ptmx(f.host_fd)):
            return f        # (a master is no one's terminal: reopened, a new one)
    return None


class DirFile(OpenFile):
    """An open virtual directory: listed, stat'ed, fchdir'ed to; no host fd behind it."""

    def __init__(self, node: Dir, flags: int) -> None:
        super().__init__(-1, flags & ~_OPEN_ONLY, node.path, is_dir=True, host_backed=False,
                         borrowed=True)
        self.node = node

    def stat(self) -> os.stat_result:
        return self.node.stat()

    def seekable(self) -> bool:
        return True


class DeviceFile(OpenFile):
    """/dev/null, zero, full, random or urandom, open: served here, never a host device."""

    def __init__(self, name: str, flags: int) -> None:
        super().__init__(-1, flags & ~_OPEN_ONLY,
                         f"/dev/{name}", host_backed=False, borrowed=True)
        self.name = name
        self.maps_zeros = name == "zero"

    def _fill(self, view: memoryview) -> None:
        if self.name not in ("zero", "full"):
            sys_time.fill_random(view)
            return
        for at in range(0, len(view), _CHUNK):
            n = min(_CHUNK, len(view) - at)
            view[at:at + n] = _ZEROS[:n]

    def read(self, cage, addr: int, n: int) -> int:
        if self.name == "null" or n == 0:
            return 0
        self._fill(cage.mem.view(addr, n, writing=True))
        return n

    def readv(self, cage, views: list[memoryview]) -> int:
        if self.name == "null":
            return 0
        for v in views:
            self._fill(v)
        return sum(map(len, views))

    def write(self, cage, addr: int, n: int) -> int:
        if self.name == "full":
            raise _error(errno.ENOSPC)
        return n

    def writev(self, cage, views: list[memoryview]) -> int:
        return self.write(cage, 0, sum(map(len, views)))

    def stat(self) -> os.stat_result:
        return Device(self.name).stat()

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int) -> int:
        return 0

    def pread(self, cage, addr: int, n: int, offset: int) -> int:
        return self.read(cage, addr, n)

    def pwrite(self, cage, addr: int, n: int, offset: int) -> int:
        return self.write(cage, addr, n)


class TextFile(OpenFile):
    """A generated file, open: a sealed read-only memfd holding its bytes, so reads,
    lseek and mmap are the host's (and the 3i fast path serves them). Those bytes are
    host RAM for as long as it is open (/proc/self/environ may hold 2 MiB, opened a
    thousand times), so its tree's memory `budget` pays for them until then."""

    def __init__(self, node: Text, flags: int, budget: limits.MemoryBudget) -> None:
        size = len(node.data)
        budget.charge(size)          # ENOMEM past it
        try:
            memfd = os.memfd_create("lind-virtual", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
            try:
                os.write(memfd, node.data)
                fcntl.fcntl(memfd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK |
                            fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
                host = os.O_PATH if flags & abi.O_PATH else os.O_RDONLY
                fd = os.open(proc_path(memfd), host | os.O_CLOEXEC)
            finally:
                os.close(memfd)
            super().__init__(fd, flags & ~_OPEN_ONLY, node.path, borrowed=True)
        except BaseException:
            budget.release(size)
            raise
        self.node = node
        self.budget = budget
        self.when_last_closed(lambda: budget.release(size))

    def stat(self) -> os.stat_result:
        return self.node.stat()


class CommFile(OpenFile):
    """A thread's comm file, open: read, its name and a newline; written, its new name
    (up to 15 bytes). Only the cage's own threads take a name from it, as on Linux (a
    fork's child holding it gets EINVAL)."""

    def __init__(self, cage, node: Comm, flags: int) -> None:
        super().__init__(-1, flags & ~_OPEN_ONLY, node.path, host_backed=False, borrowed=True)
        self.node = node
        self.owner = weakref.ref(cage)
        self.offset = 0

    def _text(self) -> bytes:
        cage = self.owner()
        if cage is None:
            raise _error(errno.ESRCH)
        return comm(cage, self.node.tid).encode("utf-8", "surrogateescape") + b"\n"

    def pread(self, cage, addr: int, n: int, offset: int) -> int:
        if offset < 0:
            raise _error(errno.EINVAL)
        data = self._text()[offset:offset + n]
        cage.mem.write(addr, data)
        return len(data)

    def read(self, cage, addr: int, n: int) -> int:
        got = self.pread(cage, addr, n, self.offset)
        self.offset += got
        return got

    def readv(self, cage, views: list[memoryview]) -> int:
        data = self._text()[self.offset:self.offset + sum(map(len, views))]
        at = 0
        for v in views:
            part = data[at:at + len(v)]
            v[:len(part)] = part
            at += len(part)
        self.offset += at
        return at

    def _rename(self, cage, name: bytes) -> None:
        if cage is not self.owner():
            raise _error(errno.EINVAL)
        name = name[:TASK_COMM_LEN - 1].split(b"\0", 1)[0]
        cage.set_thread_comm(name.decode("utf-8", "surrogateescape"), self.node.tid)

    def pwrite(self, cage, addr: int, n: int, offset: int) -> int:
        if offset < 0:
            raise _error(errno.EINVAL)
        return self.write(cage, addr, n)

    def write(self, cage, addr: int, n: int) -> int:
        self._rename(cage, cage.mem.read(addr, min(n, TASK_COMM_LEN - 1)))
        return n

    def writev(self, cage, views: list[memoryview]) -> int:
        name = b""
        for v in views:               # only the first bytes: the rest is never copied
            name += bytes(v[:TASK_COMM_LEN - 1 - len(name)])
        self._rename(cage, name)
        return sum(map(len, views))

    def stat(self) -> os.stat_result:
        return self.node.stat()

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.offset}.get(whence)
        if base is None or base + offset < 0:
            raise _error(errno.EINVAL)
        self.offset = base + offset
        return self.offset


class OomScoreAdjFile(CommFile):
    """/proc/self/oom_score_adj, open: read, the cage's value and a newline; written, a
    new one, as Linux takes it (an integer in any base C reads, spaces around it;
    EINVAL past -1000..1000; EACCES below the least the cage may set without privilege,
    which a cage of euid 0 lowers by setting it). The value is the cage's alone, fork
    copies it and exec keeps it; the host's OOM killer never sees it (the cages are one
    host process)."""

    def _text(self) -> bytes:
        cage = self.owner()
        if cage is None:
            raise _error(errno.ESRCH)
        return b"%d\n" % cage.oom_score_adj[0]

    def _rename(self, cage, text: bytes) -> None:
        owner = self.owner()
        if owner is None:
            raise _error(errno.ESRCH)
        value = _kstrtoint(text.split(b"\0", 1)[0].strip())
        if not -1000 <= value <= 1000:
            raise _error(errno.EINVAL)
        least = owner.oom_score_adj[1]
        privileged = cage.ids[1] == 0
        if value < least and not privileged:
            raise _error(errno.EACCES)
        owner.oom_score_adj = (value, value if privileged else least)

    def write(self, cage, addr: int, n: int) -> int:
        n = min(n, _PROC_NUMBUF - 1)     # the rest is neither read nor counted
        self._rename(cage, cage.mem.read(addr, n))
        return n

    def writev(self, cage, views: list[memoryview]) -> int:
        text = b""
        for v in views:
            text += bytes(v[:_PROC_NUMBUF - 1 - len(text)])
        self._rename(cage, text)
        return len(text)


#: what Linux reads of a write to /proc/PID/oom_score_adj, its terminating zero included
_PROC_NUMBUF = 13


def _kstrtoint(text: bytes) -> int:
    """`text` as the kernel's kstrtoint(s, 0) reads it: a sign, then hexadecimal after
    0x, octal after 0, decimal otherwise, and nothing else (EINVAL); ERANGE past int."""
    sign, digits = (-1, text[1:]) if text[:1] == b"-" else (1, text.removeprefix(b"+"))
    base = 16 if digits[:2].lower() == b"0x" else 8 if digits[:1] == b"0" else 10
    digits = digits[2:] if base == 16 else digits
    allowed = b"0123456789abcdefABCDEF"[:base + (6 if base == 16 else 0)]
    if not digits or any(c not in allowed for c in digits):
        raise _error(errno.EINVAL)
    value = sign * int(digits, base)
    if not -2**31 <= value < 2**31:
        raise _error(errno.ERANGE)
    return value


# --------------------------------------------------------- generated file bodies

TASK_COMM_LEN = 16


def comm(cage, tid: int = 0) -> str:
    """Thread `tid`'s name (0: the calling thread's): what PR_SET_NAME or its comm file
    gave, else the program's file name (15 bytes at most)."""
    name = cage.thread_comm(tid)
    return name if name is not None else os.path.basename(cage.exe[0])[:TASK_COMM_LEN - 1] or "?"


def _shown_comm(cage, tid: int) -> str:
    """comm as /proc/self/status shows it: a newline or backslash escaped, as Linux does,
    so a name cannot add lines ("Uid: 0") to the file (stat shows it as it is)."""
    return comm(cage, tid).replace("\\", "\\\\").replace("\n", "\\n")


def _user(cage) -> tuple[str, str]:
    """The cage's user and group names, as its /etc/passwd and /etc/group give them."""
    uid, _, gid, _ = cage.ids
    return ("root" if uid == 0 else "user"), ("root" if gid == 0 else "user")


def _home(cage) -> str:
    for item in cage.env:
        if item.startswith(b"HOME="):
            return os.fsdecode(item[5:]) or "/"
    return "/"


def _passwd(cage) -> bytes:
    uid, _, gid, _ = cage.ids
    name, _ = _user(cage)
    lines = ["root:x:0:0:root:/root:/bin/sh"]
    if uid != 0:
        lines.append(f"{name}:x:{uid}:{gid}:{name}:{_home(cage)}:/bin/sh")
    if uid != abi.OVERFLOW_ID:
        lines.append(f"nobody:x:{abi.OVERFLOW_ID}:{abi.OVERFLOW_ID}:nobody:/nonexistent:/sbin/nologin")
    return ("\n".join(lines) + "\n").encode()


def _group(cage) -> bytes:
    _, _, gid, _ = cage.ids
    name, group = _user(cage)
    lines = ["root:x:0:"]
    if gid != 0:
        lines.append(f"{group}:x:{gid}:{name}")
    if gid != abi.OVERFLOW_ID:
        lines.append(f"nogroup:x:{abi.OVERFLOW_ID}:")
    return ("\n".join(lines) + "\n").encode()


def _hosts(cage) -> bytes:
    return (f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
            f"127.0.1.1\t{cage.hostname}\n").encode()


def _nsswitch(cage) -> bytes:
    return b"passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"


def _resolv(cage) -> bytes:
    """With the host's network the host's resolvers; a private network has none, and
    names resolve from /etc/hosts only: a query to its loopback (where a program of the
    tree may serve DNS) fails after 1 s, not the 5 s, twice, a resolver gets to answer."""
    if cage.network.mode == network.HOST:
        with contextlib.suppress(OSError), open("/etc/resolv.conf", "rb") as f:
            return f.read()
    return (b"# no resolver on this network: only /etc/hosts names resolve\n"
            b"nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")


# Port and protocol names (getaddrinfo's service names, getservbyname, getprotobyname):
# public tables, the host's when it has them, else the best known of them.
_SERVICES = b"""ftp-data\t20/tcp
ftp\t\t21/tcp
ssh\t\t22/tcp
telnet\t\t23/tcp
smtp\t\t25/tcp\t\tmail
domain\t\t53/tcp
domain\t\t53/udp
http\t\t80/tcp\t\twww
pop3\t\t110/tcp\t\tpop-3
ntp\t\t123/udp
imap2\t\t143/tcp\t\timap
https\t\t443/tcp
https\t\t443/udp
submission\t587/tcp
imaps\t\t993/tcp
pop3s\t\t995/tcp
mysql\t\t3306/tcp
postgresql\t5432/tcp
"""
_PROTOCOLS = b"""ip\t0\tIP
icmp\t1\tICMP
tcp\t6\tTCP
udp\t17\tUDP
ipv6\t41\tIPv6
ipv6-icmp\t58\tIPv6-ICMP
"""


def _host_table(name: str, fallback: bytes) -> Callable[[object], bytes]:
    def make(cage) -> bytes:
        try:
            with open(f"/etc/{name}", "rb") as f:
                return f.read(1 << 20)
        except OSError:
            return fallback
    return make


_ETC_MAKERS = {"passwd": _passwd, "group": _group, "hosts": _hosts,
               "nsswitch.conf": _nsswitch, "resolv.conf": _resolv,
               "services": _host_table("services", _SERVICES),
               "protocols": _host_table("protocols", _PROTOCOLS)}


def _memory_kib(cage) -> int:
    return cage.mem.size() // 1024 if cage.mem is not None else 0


def _status(cage, tid: int = 0) -> bytes:
    """/proc/self/status, or a thread's (/proc/self/task/TID/status)."""
    uid, euid, gid, egid = cage.ids
    suid, sgid = cage.saved_ids
    kib = _memory_kib(cage)
    tid = tid or cage.id
    return (f"Name:\t{_shown_comm(cage, tid)}\nUmask:\t{cage.umask:04o}\nState:\tR (running)\n"
            f"Tgid:\t{cage.id}\nNgid:\t0\nPid:\t{tid}\nPPid:\t{cage.ppid}\nTracerPid:\t0\n"
            f"Uid:\t{uid}\t{euid}\t{suid}\t{euid}\nGid:\t{gid}\t{egid}\t{sgid}\t{egid}\n"
            f"FDSize:\t{max(64, len(cage.fds.numbers()))}\n"
            f"Groups:\t{' '.join(map(str, cage.groups))}\n"
            f"VmPeak:\t{kib:8d} kB\nVmSize:\t{kib:8d} kB\nVmHWM:\t{kib:8d} kB\n"
            f"VmRSS:\t{kib:8d} kB\nThreads:\t{max(len(cage.thread_ids()), 1)}\n").encode()


def _maps(cage) -> bytes:
    size = cage.mem.size() if cage.mem is not None else 0
    return f"00000000-{size:08x} rw-p 00000000 00:00 0 \n".encode() if size else b""


#: what smaps says of a region, in Linux 6.1's order (the release uname gives), kB
_SMAPS_FIELDS = ("Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty",
                 "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced",
                 "Anonymous", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
                 "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked")
_ROLLUP_FIELDS = ("Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem",
                  *_SMAPS_FIELDS[6:])
#: the fields that are the region's whole size: all of it resident, private and
#: written, as /proc/self/stat and status count it (a fork's child holds a copy of all
#: of it, not pages shared until written)
_RESIDENT_FIELDS = {"Size", "Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Private_Dirty",
                    "Referenced", "Anonymous"}


def _kb_lines(fields: tuple[str, ...], kib: int) -> str:
    pages = {"KernelPageSize": 4, "MMUPageSize": 4}
    return "".join(f"{name + ':':<16}{pages.get(name, kib if name in _RESIDENT_FIELDS else 0):8d}"
                   " kB\n" for name in fields)


def _smaps(cage) -> bytes:
    """/proc/self/smaps: the one region of /proc/self/maps, with Linux's fields."""
    maps = _maps(cage)
    if not maps:
        return b""
    body = _kb_lines(_SMAPS_FIELDS, _memory_kib(cage))
    return maps + f"{body}THPeligible:    0\nVmFlags: rd wr mr mw me ac \n".encode()


def _smaps_rollup(cage) -> bytes:
    """/proc/self/smaps_rollup: smaps added up, under Linux's [rollup] line (its name
    where a 32-bit kernel pads it)."""
    size = cage.mem.size() if cage.mem is not None else 0
    head = f"00000000-{size:08x} ---p 00000000 00:00 0"
    return (f"{head:<48}[rollup]\n" + _kb_lines(_ROLLUP_FIELDS, _memory_kib(cage))).encode()


def _statm(cage) -> bytes:
    """/proc/self/statm, in pages: size, resident, shared, text, lib, data, dt."""
    pages = _memory_kib(cage) // 4
    return f"{pages} {pages} 0 0 0 {pages} 0\n".encode()


def _cmdline(cage) -> bytes:
    return b"".join(a + b"\0" for a in cage.argv)


def _environ(cage) -> bytes:
    """The environment the program started with (what setenv changes later is its own
    memory's, as on Linux)."""
    return b"".join(e + b"\0" for e in cage.env)


def _proc_stat(cage, tid: int = 0) -> bytes:
    """/proc/self/stat, or a thread's."""
    size = cage.mem.size() if cage.mem is not None else 0
    start = (time.time_ns() - _BOOT_NS) // 10**7
    tid = tid or cage.id
    threads = max(len(cage.thread_ids()), 1)
    fields = [tid, f"({comm(cage, tid)})", "R", cage.ppid, cage.pgid, cage.sid, 0, -1,
              0x400000,
              0, 0, 0, 0, 0, 0, 0, 0, 20 + cage.nice, cage.nice, threads, 0, start, size,
              size // 4096,
              (1 << 64) - 1,
              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    return (" ".join(map(str, fields)) + "\n").encode()


_PROC_MAKERS = {"status": _status, "maps": _maps, "cmdline": _cmdline, "environ": _environ,
                "stat": _proc_stat, "smaps": _smaps, "smaps_rollup": _smaps_rollup,
                "statm": _statm}


def _meminfo(cage) -> bytes:
    total, free = (n // 1024 for n in sys_info.memory(cage))
    lines = [("MemTotal", total), ("MemFree", free), ("MemAvailable", free), ("Buffers", 0),
             ("Cached", 0), ("SwapCached", 0), ("Active", total - free), ("Inactive", 0),
             ("SwapTotal", 0), ("SwapFree", 0), ("Shmem", 0)]
    return "".join(f"{name + ':':<16}{kib:8d} kB\n" for name, kib in lines).encode()


def _cpuinfo(cage) -> bytes:
    """One entry per CPU the cage may run on, numbered from 0, with nothing of the
    host's model (the cage runs WebAssembly, which has none of its flags)."""
    count = sys_info.cpu_count(cage)
    return "".join(f"processor\t: {i}\nvendor_id\t: lind\nmodel name\t: Lind virtual CPU\n"
                   f"physical id\t: 0\ncore id\t\t: {i}\ncpu cores\t: {count}\n"
                   f"flags\t\t:\n\n" for i in range(count)).encode()


def _system_stat(cage) -> bytes:
    """The CPU lines uv_cpu_info, top and the like read: for each CPU the cage may run on
    (numbered as in cpuinfo), its tree's own CPU time spread evenly and the rest of the
    uptime idle, in USER_HZ (100); nothing of other tenants' load."""
    count = sys_info.cpu_count(cage)
    tree = cage.runtime.tree(cage)
    user = sum(c.cpu_times()[0] + c.children_cpu[0] for c in tree)
    system = sum(c.cpu_times()[1] + c.children_cpu[1] for c in tree)
    up = sys_info.uptime()
    idle = max(up * count - user - system, 0.0)

    def line(name: str, share: float) -> str:
        ticks = [round(x * share * 100) for x in (user, system, idle)]
        return f"{name} {ticks[0]} 0 {ticks[1]} {ticks[2]} 0 0 0 0 0 0\n"

    # (the total's name is followed by two spaces, as Linux aligns it)
    lines = [line("cpu ", 1.0), *(line(f"cpu{i}", 1 / count) for i in range(count))]
    lines += ["intr 0\n", "ctxt 0\n", f"btime {int(time.time() - up)}\n",
              f"processes {len(tree)}\n", "procs_running 1\n", "procs_blocked 0\n",
              "softirq 0 0 0 0 0 0 0 0 0 0 0\n"]
    return "".join(lines).encode()


def _uptime(cage) -> bytes:
    up = sys_info.uptime()
    return f"{up:.2f} {up * sys_info.cpu_count(cage):.2f}\n".encode()


def _loadavg(cage) -> bytes:
    loads = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{loads} 1/{sys_info.processes(cage)} {cage.id}\n".encode()


def _version(cage) -> bytes:
    return (b"Linux version " + sys_time.UNAME_RELEASE + b" (lind@lind) (lind) "
            + sys_time.UNAME_VERSION + b"\n")


_SYSTEM_MAKERS = {"meminfo": _meminfo, "cpuinfo": _cpuinfo, "stat": _system_stat,
                  "uptime": _uptime, "loadavg": _loadavg, "version": _version}
