"""A cage's view of the file system: a root directory plus mounts, never more.

Guest paths are normalised lexically (`..` stops at `/`), the longest mount prefix
picks the host directory, and the rest is opened with openat2(RESOLVE_IN_ROOT), so
the kernel itself keeps symlinks (absolute, relative, or planted while we resolve)
inside that directory. Symlinks inside a mount resolve against the mount's root.

Read-only follows the file, not the path that names it: a change is refused when the
file (or, for a new name, its directory) lies under the host directory of a `:ro`
mount, whichever mount or alias the cage reached it through. It is decided on the
descriptor the kernel resolved, so a link swapped meanwhile cannot slip past.

Besides the user's mounts, a tree gets private host directories of its own, removed
when its file system closes: /dev/shm always (shm_open between its cages), and /tmp
when the root has none; and the host's /usr/share/zoneinfo, read-only, when the root
has none. What lind.microvisor.virtual provides (/dev, /proc/self) is
never changed through a path: EACCES, as for an ordinary user on Linux.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import stat as statmod
import tempfile
import threading
from dataclasses import dataclass

from lind import hostdirs, threei
from lind.microvisor import abi, limits

# Provided by lind.microvisor.virtual, below them only the private /dev/shm is a directory.
PROVIDED = ("/dev", "/proc/self")
_PRIVATE_SHM = "/dev/shm"
# The host's time zone database, public data, read-only where the root has none: TZ names
# (TZ=Europe/Paris) then work as on the host. /etc/localtime is not given (UTC by default).
ZONEINFO = "/usr/share/zoneinfo"
HOST_ZONEINFO = ZONEINFO       # (a test points it at a copy)
libc = ctypes.CDLL(None, use_errno=True)   # the host's C library, for calls os lacks
libc.syscall.restype = ctypes.c_long


def checked(result: int) -> int:
    """A libc call's result, or the OSError its errno names when it failed (< 0)."""
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


@dataclass(frozen=True)
class Mount:
    guest: str          # absolute, normalised guest path ("/" for the root)
    host: str
    readonly: bool
    fd: int             # O_PATH descriptor of the host directory
    nodev: bool = False  # on a host mount where device nodes do not open (ST_NODEV)


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


def read_only_open_error(mode: int) -> int:
    """What Linux answers an open for writing of an existing file of type `mode` on a
    read-only file system: the type is checked before the file system. 0 where the
    read-only flag does not apply: a FIFO, a socket or a device node opens for writing
    there too (only files, directories and links are the file system's)."""
    if statmod.S_ISDIR(mode):
        return errno.EISDIR
    if statmod.S_ISLNK(mode):      # only reached with O_NOFOLLOW
        return errno.ELOOP
    return errno.EROFS if statmod.S_ISREG(mode) else 0


def _remove_tree(path: str) -> None:
    """A directory with what a cage left in it: a plain rmdir when it is empty, as it
    mostly is (rmtree's walk cost a run ~40 us a dir). What cannot be removed stays, for
    a later sweep. A cage's host thread may do it: as Lind, whose user may open what
    the cage closed to itself, then with the cage's checks again (it may be in the
    middle of a call of a cage that is not root: a finalizer, a sweep)."""
    with threei.as_lind():
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass
        except OSError:
            try:
                hostdirs.empty_directory(path)
                os.rmdir(path)
            except OSError:
                pass


def _private_home() -> str | None:
    """This user's directory for the private directories of runs ($TMPDIR or /tmp,
    lind-private-UID); None when it is not one only this user can enter."""
    return hostdirs.private_to_user(os.path.join(os.environ.get("TMPDIR") or "/tmp",
                                        f"lind-private-{os.geteuid()}"))


_swept: set[str] = set()     # the homes this process has swept
_HOLD_ATTEMPTS = 20


def _sweep(home: str) -> None:
    """Remove what runs killed before their end (SIGKILL, the OOM killer) left in `home`:
    each directory no process holds. Once per process and home."""
    if home in _swept:
        return
    _swept.add(home)
    try:
        names = os.listdir(home)
    except OSError:
        return
    for name in names:
        path = os.path.join(home, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # fails while its run lives
        except OSError:
            os.close(fd)
            continue
        try:
            _remove_tree(path)
        finally:
            os.close(fd)


class PrivateDir:
    """A host directory Lind makes for one run (a cage's root or /tmp, a tree's
    /dev/shm), removed with what the cages left in it by `remove()`. A process that
    is killed cannot remove it, so it is held, by an flock on an fd of it, until then:
    the next run of this user (any Lind process) removes those no process holds."""

    def __init__(self, purpose: str) -> None:
        self._fd: int | None = None
        home = _private_home()
        if home is None:         # not ours alone: made beside, never swept
            self.path = tempfile.mkdtemp(prefix=f"lind-{purpose}-")
            return
        _sweep(home)
        # Another process's sweep may take a new directory before it is held (between
        # mkdtemp and flock): then make another.
        for _ in range(_HOLD_ATTEMPTS):
            self.path = tempfile.mkdtemp(prefix=f"{purpose}-", dir=home)
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.path.samestat(os.stat(self.path), os.fstat(fd)):
                    break
            except OSError:
                pass
            os.close(fd)
        else:
            raise OSError(errno.EAGAIN, f"{home}: could not hold a new directory")
        self._fd = fd
        limits.host_fds.take(reserved=True)

    def remove(self) -> None:
        _remove_tree(self.path)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            limits.host_fds.give()


class FileSystem:
    """The mounts one cage (and its descendants) sees."""

    def __init__(self, root: str, mounts: list[tuple[str, str, bool]] = (),
                 programs: dict[str, str] | None = None,
                 grates_at_exec: dict[str, list[list]] | None = None) -> None:
        self.mounts: list[Mount] = []
        # Programs named on the command line (a grate's target): guest path -> host
        # file, runnable by exec at that path whatever the root holds.
        self.programs = dict(programs or {})
        # Python grates to attach to the cages that exec a named program, a group per
        # exec in the order they happen (a grate named twice in a stack).
        self.grates_at_exec = {path: list(groups) for path, groups in (grates_at_exec or {}).items()}
        self._users = 1
        self._lock = threading.Lock()
        self._private: list[PrivateDir] = []     # host directories made for this tree
        self._trampoline_mounts: threei.Mounts | None = None
        mounts = list(mounts)
        if not any(normalize(guest) == "/" for _, guest, _ in mounts):   # a mount at / is the root
            mounts.insert(0, (root, "/", False))
        for host, guest, readonly in mounts:
            if any(m.guest == normalize(guest) for m in self.mounts):
                self.close()
                raise ValueError(f"two mounts at {normalize(guest)}")
            self._add(host, guest, readonly)
        self._refuse_writable_cache()
        if not self.is_mount_point(_PRIVATE_SHM):
            self._add_private(_PRIVATE_SHM)
        if not self.is_mount_point("/tmp") and not self._in_root("/tmp"):
            self._add_private("/tmp")
        if (os.path.isdir(HOST_ZONEINFO) and not self.is_mount_point(ZONEINFO)
                and not self._in_root(ZONEINFO)):
            self._add(HOST_ZONEINFO, ZONEINFO, True)
        # Longest guest prefix first, so lookup takes the innermost mount.
        self.mounts.sort(key=lambda m: len(m.guest), reverse=True)
        self._readonly_hosts = [m.host.rstrip("/") for m in self.mounts if m.readonly]
        # Writable mounts whose host directory holds or lies in a read-only one's: what
        # is changed through them may be a read-only file (fd_readonly decides). Through
        # any other, it never is: links resolve inside the mount.
        self._near_readonly = {m.guest for m in self.mounts if not m.readonly and any(
            _within(m.host, ro) or _within(ro, m.host) for ro in self._readonly_hosts)}

    def _in_root(self, guest: str) -> bool:
        """Whether the root or a mount has something at `guest` (missing: False)."""
        try:
            os.close(self.open(guest, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC))
        except FileNotFoundError:
            return False
        except OSError:
            pass          # something is there
        return True

    def _refuse_writable_cache(self) -> None:
        """ValueError if a writable mount holds Lind's cache: a cage could plant compiled
        code there (a .cwasm Lind loads as the native code of a program it runs, a grate
        any later run would stack), run by Lind outside every cage."""
        cache = hostdirs.cache_root()
        holding = hostdirs.directories_holding(cache)
        for m in self.mounts:
            if not m.readonly and hostdirs.identity(m.fd) in holding:
                self.close()
                where = "the root" if m.guest == "/" else f"the mount at {m.guest}"
                raise ValueError(
                    f"{where} ({m.host}) holds Lind's cache of compiled code ({cache}), which "
                    "a cage must not write: mount it read-only, or set LIND_CACHE to a "
                    "directory outside it")

    def _add(self, host: str, guest: str, readonly: bool) -> None:
        host = os.path.realpath(host)
        if not os.path.isdir(host):
            self.close()
            raise FileNotFoundError(errno.ENOENT, "not a directory", host)
        fd = os.open(host, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        limits.host_fds.take(reserved=True)   # counted, so cages hogging fds leave the reserve
        nodev = bool(os.fstatvfs(fd).f_flag & os.ST_NODEV)
        self.mounts.append(Mount(normalize(guest), host, readonly, fd, nodev))

    def _add_private(self, guest: str) -> None:
        """Mount a new host directory of this tree's own at `guest` (gone at close())."""
        made = PrivateDir(guest.strip("/").replace("/", "-"))
        self._private.append(made)
        self._add(made.path, guest, False)

    def trampoline_mounts(self) -> threei.Mounts:
        """The mounts as the trampoline's opens find them (_accel.c, "file opens"). It
        opens for writing under a mount that is neither read-only nor near one (where
        open_file checks nothing either); elsewhere open_file decides."""
        with self._lock:
            if self._trampoline_mounts is None:
                self._trampoline_mounts = threei.Mounts([
                    (m.guest.encode("utf-8", "surrogateescape"), m.fd,
                     not m.readonly and m.guest not in self._near_readonly)
                    for m in self.mounts])
            return self._trampoline_mounts

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
            private, self._private = self._private, []
            self._trampoline_mounts = None     # its own dirfds: closed with its last slot's
        for m in mounts:
            os.close(m.fd)
        limits.host_fds.give(len(mounts))
        for made in private:
            made.remove()

    def locate(self, guest_path: str) -> tuple[Mount, str]:
        """The mount holding an absolute normalised guest path, and the path inside it."""
        for m in self.mounts:
            if m.guest == "/" or guest_path == m.guest or guest_path.startswith(m.guest + "/"):
                rest = guest_path[len(m.guest):].lstrip("/")
                return m, rest or "."
        raise OSError(errno.ESRCH, "the cage has ended")   # closed: no mounts left

    def guest_path_of(self, host_path: str) -> str | None:
        """Where the host file `host_path` (real, absolute) lies in this view; None if
        it lies under no mount (then no cage of the tree can change any part of its
        path). A named program inside the view is read through it: the cage could have
        replaced the file, or a directory above it, with a link to any host file."""
        for m in sorted(self.mounts, key=lambda m: len(m.host), reverse=True):
            if os.path.commonpath([m.host, host_path]) == m.host:
                return normalize(os.path.join(m.guest, os.path.relpath(host_path, m.host)))
        return None

    def grates_at_exec_of(self, guest_path: str) -> list:
        """The Python grates to attach to the cage exec'ing `guest_path` now (each group
        once: the next exec of that program gets the next group, or none)."""
        with self._lock:
            groups = self.grates_at_exec.get(guest_path)
            if not groups:
                return []
            waiting = groups.pop(0)
            if not groups:
                del self.grates_at_exec[guest_path]
            return waiting

    def is_mount_point(self, guest_path: str) -> bool:
        return any(m.guest == guest_path for m in self.mounts)

    def open(self, guest_path: str, host_flags: int, mode: int = 0, *, write: bool = False) -> int:
        """Host fd for a guest path; `write` says the call may modify the file system
        (then EROFS if the file, or the directory a new one would go in, is read-only).
        The host fd is O_NONBLOCK (but with O_PATH): a FIFO's open does not wait (a
        writer with no reader: ENXIO); open(2) waits for its partner itself,
        interruptibly."""
        return self.open_file(guest_path, host_flags, mode, write=write)[0]

    def open_file(self, guest_path: str, host_flags: int, mode: int = 0, *,
                  write: bool = False) -> tuple[int, int | None]:
        """As open, with the file's st_mode when the checks already read it (None if
        not): open(2)'s callers need the file type, and a stat call is not free.
        O_CREAT only ever makes a new file (it implies O_EXCL: a name that is there is
        EEXIST), so whether a file was made is known; open(2) opens an existing name
        again without it (sys_files)."""
        if host_flags & os.O_CREAT:
            host_flags |= os.O_EXCL
        mount, rest = self.locate(guest_path)
        if write:
            refuse_provided(guest_path)
            if mount.readonly:
                if host_flags & os.O_CREAT:       # as Linux: the walk to the new name first
                    parent = rest.rsplit("/", 1)[0] if "/" in rest else "."
                    os.close(threei.open_in_root(mount.fd, os.fsencode(parent),
                                                 os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
                else:                             # as Linux: a name that is not there is
                    look = os.O_PATH | os.O_CLOEXEC | (host_flags & (os.O_NOFOLLOW | os.O_DIRECTORY))
                    found = threei.open_in_root(mount.fd, os.fsencode(rest), look)   # ENOENT first
                    try:   # and an open for I/O checks the file's type next
                        st_mode = os.fstat(found).st_mode
                    finally:
                        os.close(found)
                    if not host_flags & os.O_PATH:
                        err = read_only_open_error(st_mode)
                        if not err:     # a FIFO, socket or device: opened as for reading
                            return self.open_file(guest_path, host_flags)
                        raise OSError(err, os.strerror(err))
                raise OSError(errno.EROFS, "Read-only file system")
        rest = os.fsencode(rest)   # guest paths are decoded with surrogateescape
        if not host_flags & os.O_PATH:
            # Never wait in the host kernel, where Lind could not end the wait: a FIFO's
            # open would wait for its partner (on a file or a directory it changes nothing).
            host_flags |= os.O_NONBLOCK
        check_ro = write and mount.guest in self._near_readonly
        if host_flags & os.O_PATH:
            fd = threei.open_in_root(mount.fd, rest, host_flags, mode)
            return (self._refuse_readonly(fd) if check_ro else fd), None
        if not check_ro:    # the common case: the kernel opens (or makes) it in one call
            fd = threei.open_in_root(mount.fd, rest, host_flags | os.O_NOCTTY, mode)
            return (fd, None) if mount.nodev else _refuse_device(fd)
        # Find the file without touching it, check it, then open that very file: a device
        # node (in a root, or under a mount) is never used, the cage's devices are
        # lind.microvisor.virtual's.
        path_flags = os.O_PATH | os.O_CLOEXEC | (host_flags & (os.O_NOFOLLOW | os.O_DIRECTORY))
        try:
            found = threei.open_in_root(mount.fd, rest, path_flags)
        except FileNotFoundError:
            if not host_flags & os.O_CREAT:
                raise
            return self._create(guest_path, host_flags, mode), None
        try:
            st_mode = os.fstat(found).st_mode
            if host_flags & os.O_CREAT:
                raise OSError(errno.EEXIST, "File exists")
            if check_ro and self.fd_readonly(found) and (err := read_only_open_error(st_mode)):
                raise OSError(err, os.strerror(err))
            if host_flags & os.O_NOFOLLOW and statmod.S_ISLNK(st_mode):
                raise OSError(errno.ELOOP, "Too many levels of symbolic links")
            if statmod.S_ISCHR(st_mode) or statmod.S_ISBLK(st_mode):
                raise OSError(errno.EACCES, "Permission denied")   # as on a nodev mount
            return os.open(proc_path(found), host_flags & ~(os.O_EXCL | os.O_NOFOLLOW)), st_mode
        finally:
            os.close(found)

    def _create(self, guest_path: str, host_flags: int, mode: int) -> int:
        """A new file at a name that was not there, made in its directory (found, and
        checked as writable, without following a link at the name): O_EXCL, so a name
        that appears meanwhile is EEXIST."""
        pfd, name = self.open_parent(guest_path, write=True)
        try:
            return os.open(name, host_flags, mode, dir_fd=pfd)
        finally:
            os.close(pfd)

    def _refuse_readonly(self, fd: int) -> int:
        """`fd`, unless the file it resolved to lies under a read-only mount's directory."""
        if self.fd_readonly(fd):
            os.close(fd)
            raise OSError(errno.EROFS, "Read-only file system")
        return fd

    def fd_readonly(self, fd: int) -> bool:
        """Whether host `fd` is a file under the host directory of a `:ro` mount."""
        if not self._readonly_hosts:
            return False
        real = os.readlink(proc_path(fd))
        return any(_within(real, ro) for ro in self._readonly_hosts)

    def open_parent(self, guest_path: str, *, write: bool) -> tuple[int, str]:
        """O_PATH fd of the directory holding the last component, and that component."""
        if guest_path == "/" or self.is_mount_point(guest_path):
            raise OSError(errno.EBUSY, "Device or resource busy")
        if write:
            refuse_provided(guest_path)
        parent, name = guest_path.rsplit("/", 1)
        fd = self.open(parent or "/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, write=write)
        return fd, name

    def same_mount(self, a: str, b: str) -> bool:
        return self.locate(a)[0] is self.locate(b)[0]

    def guest_readonly(self, guest_path: str) -> bool:
        """Whether the mount a guest path falls in is `:ro` (the early, cheap check)."""
        return self.locate(guest_path)[0].readonly


def refuse_provided(guest_path: str) -> None:
    """EACCES for a change to a name the microvisor provides (/dev but its shm, /proc/self)."""
    if (guest_path + "/").startswith(_PRIVATE_SHM + "/"):
        return
    if any(guest_path == top or guest_path.startswith(top + "/") for top in PROVIDED):
        raise OSError(errno.EACCES, "Permission denied")


def _refuse_device(fd: int) -> tuple[int, int]:
    """`fd` and its st_mode, unless it is a device node (found in a root or mount):
    EACCES, as on a nodev mount. It was opened (O_NOCTTY) and is closed at once, without
    any I/O; a root holding device nodes is best given from a nodev mount, where none is
    ever opened."""
    st_mode = threei.file_mode(fd)
    if statmod.S_IFMT(st_mode) in (statmod.S_IFCHR, statmod.S_IFBLK):
        os.close(fd)
        raise OSError(errno.EACCES, "Permission denied")
    return fd, st_mode


def proc_path(fd: int) -> str:
    """A path naming an already-resolved host fd, for calls that only take paths."""
    return f"/proc/self/fd/{fd}"


def _within(path: str, top: str) -> bool:
    """Whether host path `path` is `top` or lies under it (both absolute and resolved)."""
    top = top.rstrip("/")
    return path == top or path.startswith(top + "/")


def wants_write(guest_flags: int) -> bool:
    return bool(guest_flags & abi.O_ACCMODE) or bool(guest_flags & (abi.O_TRUNC | abi.O_CREAT))
