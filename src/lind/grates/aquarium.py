"""aquarium: let a program change a copy-on-write view of a directory, and report it."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
import threading
import weakref

from lind import threei
from lind.grates import Call, Grate, handles, paths
from lind.grates.paths import PATH_CALLS, guest_dir, open_flags_and_mode, resolve, touched, under
from lind.microvisor import abi
from lind.microvisor.fdtable import OpenFile
from lind.microvisor.fs import PrivateDir, join, normalize
from lind.microvisor.virtual import FixedListing

_NOT_THERE = (errno.ENOENT, errno.ENOTDIR)
_MAX_LINKS = 40          # symbolic links followed in one path before ELOOP, as in Linux
_RENAME_NOREPLACE = 1

# Calls that follow a symbolic link in the last component of their first path.
_FOLLOWING = frozenset({"creat", "stat", "access", "faccessat", "execve", "chmod", "fchmodat",
                        "truncate", "chdir"})


def _follows(call: Call) -> bool:
    """Whether `call` follows a symbolic link in the last component of its first path."""
    if call.name in ("open", "openat"):
        flags = abi.u32(call.args[1 if call.name == "open" else 2])
        exclusive = flags & abi.O_CREAT and flags & abi.O_EXCL
        return not (flags & abi.O_NOFOLLOW or exclusive)
    if call.name in ("newfstatat", "faccessat2", "fchmodat2"):
        return not abi.u32(call.args[3]) & abi.AT_SYMLINK_NOFOLLOW
    if call.name == "linkat":
        return bool(abi.u32(call.args[4]) & abi.AT_SYMLINK_FOLLOW)
    return call.name in _FOLLOWING


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


class Aquarium(Grate):
    """Let a program change a copy-on-write view of a directory; report what it did.

    `--grate aquarium:/data[,report=HOSTFILE]`. Under the guest directory /data the
    program sees its own changes and the real files are never written: the first
    change to a file (opening it for writing or with O_TRUNC, truncate, chmod, rename)
    copies it into a private overlay (a host temporary directory, removed with the
    grate), new files and directories are made there, and deletions are recorded as
    whiteouts that hide the real entry. Reads, stat and directory listings (getdents64)
    merge the overlay over the real directory. Files the grate serves from the overlay
    are host-backed files in the cage's fd table, so read/write/lseek/fork need nothing
    more from it.

    `report()` lists what the program tried to change, in order, one line each:
    `created P`, `modified P`, `deleted P`, `renamed A -> B`, `denied CALL P` (changes
    the view does not model: owners, times, extended attributes, device nodes, a Unix
    socket bound to a path, a real directory's mode). With `report=HOSTFILE` the list
    is rewritten after every change.

    Symbolic links already inside the directory are followed through the view (a link
    to a file the program changed leads to its changed copy). Limits: rename or link
    across the directory's edge is EXDEV; symbolic links cannot be created anywhere in
    the cage tree (EPERM), since one planted outside could lead a later write into the
    directory; a program the cage wrote there does not run (EACCES). The real
    directory is read through the cage's own file-system view (its root and mounts),
    so this grate belongs next to the microvisor. For the strongest guarantee, give
    the directory as its own mount (`--mount HOST:/data`): links elsewhere in the root
    then cannot reach into it.
    """

    name = "aquarium"

    def __init__(self, directory: str, report_file: str | None = None) -> None:
        self.directory = guest_dir(directory)
        self.report_file = report_file
        overlay = PrivateDir("aquarium")
        self.overlay = overlay.path
        weakref.finalize(self, overlay.remove)
        self.whiteouts: set[str] = set()     # real entries (and what lies below) now hidden
        self.linked: set[str] = set()        # copied only to be linked: not changed yet
        self.changes: list[str] = []
        self._lock = threading.RLock()

    @classmethod
    def from_args(cls, text: str) -> Aquarium:
        directory, report_file = None, None
        for item in filter(None, text.split(",")):
            if item.startswith("report="):
                report_file = item.removeprefix("report=")
            elif directory is None:
                directory = item
            else:
                raise ValueError(f"aquarium: unexpected argument {item!r}")
        if directory is None:
            raise ValueError("aquarium needs a directory: --grate aquarium:/DIR[,report=FILE]")
        return cls(directory, report_file)

    # -- the report ---------------------------------------------------------------
    def report(self) -> str:
        """What the program tried to change, one line per change, in order."""
        with self._lock:
            return "".join(line + "\n" for line in self.changes)

    def _record(self, line: str) -> None:
        if line in self.changes:
            return
        self.changes.append(line)
        if self.report_file is not None:
            self._write_report()

    def attach(self, cage) -> None:
        """Refuse a report the cage could reach (it could plant a link there), then
        write the first, empty report."""
        if self.report_file is not None:
            where = os.path.realpath(os.path.dirname(os.path.abspath(self.report_file)))
            for mount in cage.fs.mounts:
                if where == mount.host or where.startswith(mount.host.rstrip("/") + "/"):
                    raise ValueError(f"aquarium: report {self.report_file} is inside what the "
                                     f"cage sees ({mount.host}); put it outside")
            try:
                self._write_report()
            except OSError as exc:
                raise ValueError(f"aquarium: cannot write report {self.report_file}: "
                                 f"{exc.strerror}") from None
        super().attach(cage)

    def _write_report(self) -> None:
        """Replace the report file at once, so a reader never sees half of it: a new file
        of a random name (O_EXCL, never through a link) renamed over the report. Written
        as Lind, whose operator chose the file: on the host thread of a cage that is
        not root the permission checks are the cage's (threei), and the report of a
        directory Lind's user may write only by its overrides (another user's) failed,
        and with it the cage's call, while the change stayed out of the report."""
        directory, name = os.path.split(os.path.abspath(self.report_file))
        with threei.as_lind():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(self.report())
                os.replace(tmp, self.report_file)
            except BaseException:
                os.unlink(tmp)
                raise

    # -- the merged view ----------------------------------------------------------
    def _mine(self, call: Call, index: int = 0) -> str | None:
        """The path argument `index` names in the view, the symbolic links on its way
        followed (and the last one when the call follows it); None when outside."""
        path = resolve(call, PATH_CALLS[call.name][index])
        if path is None or not under(path, self.directory):
            return None
        with self._lock:
            path = self._through_links(call.cage, path, index == 0 and _follows(call))
        return path if under(path, self.directory) else None

    def _through_links(self, cage, path: str, follow: bool) -> str:
        """`path` with the real symbolic links the view shows on its way replaced by
        their targets, as the kernel would, but seeing the program's changes."""
        for _ in range(_MAX_LINKS + 1):
            names = path[len(self.directory):].strip("/").split("/") if path != self.directory else []
            here = self.directory
            for i, name in enumerate(names):
                there, last = join(here, name), i == len(names) - 1
                found = None if last and not follow else self._lookup(cage, there)
                if found is None or found[0] or not stat.S_ISLNK(found[1].st_mode):
                    here = there
                    continue
                target = self._real_link(cage, there)
                path = normalize(join(join(here, target), "/".join(names[i + 1:])))
                break
            else:
                return path
            if not under(path, self.directory):
                return path
        raise abi.error(errno.ELOOP)

    def _open_file(self, call: Call) -> tuple[OpenFile | None, str | None]:
        """The file the call's fd (its first argument) names, and its path in the view
        (None when it lies outside or was not opened by path)."""
        try:
            f = call.file(abi.s32(call.args[0]))
        except OSError:
            return None, None
        if not f.path or not under(f.path, self.directory):
            return f, None
        with self._lock:
            path = self._through_links(call.cage, f.path, True)
        return f, path if under(path, self.directory) else None

    @staticmethod
    def _real_link(cage, path: str) -> str:
        fd = cage.fs.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            return os.readlink("", dir_fd=fd)
        finally:
            os.close(fd)

    def _ov(self, path: str) -> str:
        """Host path of `path`'s overlay copy."""
        return os.path.join(self.overlay, path[len(self.directory):].lstrip("/"))

    def _hidden(self, path: str) -> bool:
        while True:
            if path in self.whiteouts:
                return True
            if path == self.directory:
                return False
            path = _parent(path)

    @staticmethod
    def _real_stat(cage, path: str) -> os.stat_result | None:
        try:
            fd = cage.fs.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno in _NOT_THERE:
                return None
            raise
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def _real(self, cage, path: str) -> os.stat_result | None:
        """The real entry at `path`, unless the program deleted it."""
        return None if self._hidden(path) else self._real_stat(cage, path)

    def _lookup(self, cage, path: str) -> tuple[bool, os.stat_result] | None:
        """(in the overlay, its stat) of what the program sees at `path`, or None.

        A directory in both is the real one (the overlay copy just holds changes)."""
        try:
            mine = os.lstat(self._ov(path))
        except OSError:
            mine = None
        if mine is not None and not stat.S_ISDIR(mine.st_mode):
            return True, mine
        real = self._real(cage, path)
        if real is not None:
            return False, real
        return (True, mine) if mine is not None else None

    def _listing(self, cage, path: str) -> dict[str, tuple[int, int]]:
        """name -> (inode, d_type) of the merged directory at `path`."""
        entries: dict[str, tuple[int, int]] = {}
        if self._real(cage, path) is not None:
            fd = cage.fs.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                with os.scandir(fd) as it:
                    for e in it:
                        if not self._hidden(join(path, e.name)):
                            entries[e.name] = (e.inode(), abi.d_type(e.stat(follow_symlinks=False).st_mode))
            finally:
                os.close(fd)
        if os.path.isdir(self._ov(path)):
            with os.scandir(self._ov(path)) as it:
                for e in it:
                    mode = e.stat(follow_symlinks=False).st_mode
                    known = entries.get(e.name)
                    if not (known and known[1] == abi.DT_DIR and stat.S_ISDIR(mode)):
                        entries[e.name] = (e.inode(), abi.d_type(mode))
        return entries

    def _need_dir(self, cage, path: str) -> None:
        """ENOENT or ENOTDIR unless `path`'s parent is a directory in the view."""
        if path == self.directory:
            return
        found = self._lookup(cage, _parent(path))
        if found is None:
            raise self._missing(cage, _parent(path))
        if not stat.S_ISDIR(found[1].st_mode):
            raise abi.error(errno.ENOTDIR)

    def _missing(self, cage, path: str) -> OSError:
        """The error for a path the view does not show: ENOTDIR below a file, else ENOENT."""
        with self._lock:
            self._need_dir(cage, path)
        return abi.error(errno.ENOENT)

    def _make_parents(self, path: str) -> None:
        os.makedirs(os.path.dirname(self._ov(path)), exist_ok=True)

    @staticmethod
    def _leads_to_a_file(cage, path: str) -> bool:
        """Whether the real `path` is a regular file, or a symbolic link to one."""
        fd = cage.fs.open(path, os.O_PATH | os.O_CLOEXEC)
        try:
            return stat.S_ISREG(os.fstat(fd).st_mode)
        finally:
            os.close(fd)

    def _copy_file(self, cage, path: str, dest: str) -> bool:
        """Copy the real file at `path` (for a symbolic link, the file it leads to) to host
        path `dest`; False, copying nothing, if that is not a regular file."""
        src = cage.fs.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            st = os.fstat(src)
            if not stat.S_ISREG(st.st_mode):
                return False
            dst = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                          0o600)
            try:
                while os.sendfile(dst, src, None, 1 << 20):
                    pass
                os.fchmod(dst, abi.host_permissions(st.st_mode, False))
            finally:
                os.close(dst)
        finally:
            os.close(src)
        return True

    def _copy_up(self, cage, path: str, found: tuple[bool, os.stat_result]) -> None:
        """Make sure the file at `path` has its overlay copy; a real one counts as modified."""
        if path in self.linked:
            self.linked.discard(path)
            self._record(f"modified {path}")
        if found[0]:
            return
        self._make_parents(path)
        if not self._copy_file(cage, path, self._ov(path)):
            raise abi.error(errno.EPERM)
        self._record(f"modified {path}")

    def _move_tree(self, cage, old: str, new: str) -> None:
        """Move the directory the program sees at `old` to `new`'s overlay place: its
        overlay part by rename (so files open in it follow), its real part by copying."""
        mode = self._lookup(cage, old)[1].st_mode
        if os.path.isdir(self._ov(old)):
            os.rename(self._ov(old), self._ov(new))
        else:
            os.mkdir(self._ov(new), 0o700)
        self._fill_from_real(cage, old, self._ov(new))
        os.chmod(self._ov(new), abi.host_permissions(mode, True))

    def _fill_from_real(self, cage, path: str, dest: str) -> None:
        """Copy into host directory `dest` the real entries under `path` that the view
        still shows and `dest` does not already hold. A symbolic link becomes a copy of
        the regular file it leads to, or is left out (the overlay holds no links)."""
        if self._real(cage, path) is None:
            return
        fd = cage.fs.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            with os.scandir(fd) as it:
                entries = [(e.name, e.stat(follow_symlinks=False).st_mode) for e in it]
        finally:
            os.close(fd)
        for name, mode in entries:
            child, target = join(path, name), os.path.join(dest, name)
            if self._hidden(child):
                continue
            if stat.S_ISDIR(mode):
                if not os.path.lexists(target):
                    os.mkdir(target, 0o700)
                elif not os.path.isdir(target):
                    continue
                self._fill_from_real(cage, child, target)
                os.chmod(target, abi.host_permissions(mode, True))
            elif not os.path.lexists(target):
                self._copy_file(cage, child, target)

    def _drop(self, cage, path: str, found: tuple[bool, os.stat_result]) -> None:
        """Remove what the program sees at `path`: the overlay entry, and a whiteout for
        the real one."""
        real = self._real(cage, path)
        ov = self._ov(path)
        if os.path.lexists(ov):
            if stat.S_ISDIR(os.lstat(ov).st_mode):
                shutil.rmtree(ov)
            else:
                os.unlink(ov)
        if real is not None:
            self.whiteouts.add(path)
        self.linked.discard(path)

    def _serve(self, call: Call, path: str, flags: int, directory: bool) -> int:
        """Open `path`'s overlay copy and give the cage a host-backed fd for it."""
        host = abi.host_open_flags(flags) & ~(os.O_CREAT | os.O_EXCL) | os.O_NOFOLLOW
        if flags & abi.O_PATH:
            host = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
        host_fd = os.open(self._ov(path), host)
        f = OpenFile(host_fd, flags & ~(abi.O_CLOEXEC | abi.O_CREAT | abi.O_EXCL | abi.O_TRUNC),
                     path, directory)
        return call.cage.fds.install(f, cloexec=bool(flags & abi.O_CLOEXEC))

    # -- opening ------------------------------------------------------------------
    @handles("open", "openat", "creat")
    def open_file(self, call: Call) -> int:
        path = self._mine(call)
        if path is None:
            return call.forward()
        flags, mode = open_flags_and_mode(call)
        cage = call.cage
        with self._lock:
            found = self._lookup(cage, path)
            if found is not None and flags & abi.O_CREAT and flags & abi.O_EXCL:
                raise abi.error(errno.EEXIST)
            writes = bool(flags & abi.O_ACCMODE or flags & abi.O_TRUNC)
            if found is None:
                if not flags & abi.O_CREAT:
                    raise self._missing(cage, path)
                self._need_dir(cage, path)
                self._make_parents(path)
                fd = os.open(self._ov(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0o600)
                os.fchmod(fd, abi.host_permissions(abi.u32(mode), False) & ~cage.umask)
                os.close(fd)
                self._record(f"created {path}")
                return self._serve(call, path, flags, False)
            directory = stat.S_ISDIR(found[1].st_mode)
            if directory and (writes or flags & abi.O_CREAT):
                raise abi.error(errno.EISDIR)
            if stat.S_ISLNK(found[1].st_mode) and not flags & abi.O_PATH:
                raise abi.error(errno.ELOOP)           # O_NOFOLLOW met a real link
            if writes:
                self._copy_up(cage, path, found)
            elif not found[0]:
                return call.forward()
            return self._serve(call, path, flags, directory)

    # -- looking ------------------------------------------------------------------
    @handles("stat", "lstat", "newfstatat")
    def stat_path(self, call: Call) -> int:
        path = self._mine(call)
        if path is None:
            return call.forward()
        with self._lock:
            found = self._lookup(call.cage, path)
        if found is None:
            raise self._missing(call.cage, path)
        if not found[0]:
            return call.forward()
        call.write(2 if call.name == "newfstatat" else 1, abi.pack_stat(found[1], call.cage.ids))
        return 0

    @handles("access", "faccessat", "faccessat2", "readlink", "readlinkat", "execve")
    def look(self, call: Call) -> int:
        """Calls that only look: the real file's answer, unless the program changed it."""
        path = self._mine(call)
        if path is None or (call.name == "execve" and path in call.cage.fs.programs):
            return call.forward()     # (a program named on the command line runs as it is)
        with self._lock:
            found = self._lookup(call.cage, path)
        if found is None:
            raise self._missing(call.cage, path)
        if not found[0]:
            return call.forward()
        if call.name.startswith("readlink"):
            raise abi.error(errno.EINVAL)          # the overlay holds no symbolic links
        if call.name == "execve":
            raise abi.error(errno.EACCES)          # what the program wrote does not run
        return 0

    @handles("getdents64")
    def getdents64(self, call: Call) -> int:
        """Fill the merged listing of a directory in the view; the microvisor pages it out."""
        f, path = self._open_file(call)
        if f is not None and f.is_dir and f.dir_listing is None and path is not None:
            with self._lock:
                listing = self._listing(call.cage, path)
            entries = [(b".", f.stat().st_ino, abi.DT_DIR), (b"..", 0, abi.DT_DIR)]
            entries += [(name.encode("utf-8", "surrogateescape"), ino, dtype)
                        for name, (ino, dtype) in listing.items()]
            f.dir_listing = FixedListing(entries)
        return call.forward()

    # -- changing -----------------------------------------------------------------
    @handles("mkdir", "mkdirat")
    def mkdir(self, call: Call) -> int:
        path = self._mine(call)
        if path is None:
            return call.forward()
        mode = abi.u32(call.args[1 if call.name == "mkdir" else 2])
        with self._lock:
            if self._lookup(call.cage, path) is not None:
                raise abi.error(errno.EEXIST)
            self._need_dir(call.cage, path)
            self._make_parents(path)
            os.mkdir(self._ov(path), 0o700)
            os.chmod(self._ov(path), mode & 0o1777 & ~call.cage.umask)
            self._record(f"created {path}")
        return 0

    @handles("unlink", "unlinkat", "rmdir")
    def remove(self, call: Call) -> int:
        path = self._mine(call)
        if path is None:
            return call.forward()
        directory = paths.removes_directory(call)
        with self._lock:
            found = self._lookup(call.cage, path)
            if found is None:
                raise self._missing(call.cage, path)
            is_dir = stat.S_ISDIR(found[1].st_mode)
            if directory and not is_dir:
                raise abi.error(errno.ENOTDIR)
            if not directory and is_dir:
                raise abi.error(errno.EISDIR)
            if path == self.directory:
                raise abi.error(errno.EBUSY)
            if is_dir and self._listing(call.cage, path):
                raise abi.error(errno.ENOTEMPTY)
            self._drop(call.cage, path, found)
            self._record(f"deleted {path}")
        return 0

    @handles("rename", "renameat", "renameat2")
    def rename(self, call: Call) -> int:
        flags = abi.u32(call.args[4]) if call.name == "renameat2" else 0
        if flags & ~_RENAME_NOREPLACE:
            raise abi.error(errno.EINVAL)       # RENAME_EXCHANGE/WHITEOUT: not modelled
        old, new = (self._mine(call, i) for i in (0, 1))
        if old is None and new is None:
            return call.forward()
        if old is None or new is None:
            raise abi.error(errno.EXDEV)
        cage = call.cage
        with self._lock:
            found = self._lookup(cage, old)
            if found is None:
                raise self._missing(cage, old)
            if old == new:
                return 0
            if self.directory in (old, new):
                raise abi.error(errno.EBUSY)
            self._need_dir(cage, new)
            target = self._lookup(cage, new)
            if target is not None and flags & _RENAME_NOREPLACE:
                raise abi.error(errno.EEXIST)
            moving_dir = stat.S_ISDIR(found[1].st_mode)
            if moving_dir:
                if under(new, old):
                    raise abi.error(errno.EINVAL)
                if target is not None and not stat.S_ISDIR(target[1].st_mode):
                    raise abi.error(errno.ENOTDIR)
                if target is not None and self._listing(cage, new):
                    raise abi.error(errno.ENOTEMPTY)
            elif target is not None and stat.S_ISDIR(target[1].st_mode):
                raise abi.error(errno.EISDIR)
            elif not found[0] and not self._leads_to_a_file(cage, old):
                raise abi.error(errno.EPERM)            # the overlay could not hold it
            if target is not None:
                self._drop(cage, new, target)
            self._make_parents(new)
            if moving_dir:
                self._move_tree(cage, old, new)
                self.whiteouts.add(new)      # its copy is complete: hide any real entry
            elif found[0]:
                os.rename(self._ov(old), self._ov(new))
                if old in self.linked:
                    self.linked.add(new)
            else:
                self._copy_file(cage, old, self._ov(new))
            self._drop(cage, old, found)
            self._record(f"renamed {old} -> {new}")
        return 0

    @handles("truncate")
    def truncate(self, call: Call) -> int:
        path = self._mine(call)
        if path is None:
            return call.forward()
        if call.args[1] < 0:
            raise abi.error(errno.EINVAL)
        with self._lock:
            found = self._lookup(call.cage, path)
            if found is None:
                raise self._missing(call.cage, path)
            if stat.S_ISDIR(found[1].st_mode):
                raise abi.error(errno.EISDIR)
            self._copy_up(call.cage, path, found)
            os.truncate(self._ov(path), call.args[1])
        return 0

    @handles("chmod", "fchmodat", "fchmodat2", "fchmod")
    def chmod(self, call: Call) -> int:
        if call.name == "fchmod":
            path = self._open_file(call)[1]
            if path is None:
                return call.forward()
            mode = call.args[1]
        else:
            path = self._mine(call)
            if path is None:
                return call.forward()
            if call.name == "fchmodat2" and abi.u32(call.args[3]) & ~abi.AT_SYMLINK_NOFOLLOW:
                raise abi.error(errno.EINVAL)
            mode = call.args[1 if call.name == "chmod" else 2]
        with self._lock:
            found = self._lookup(call.cage, path)
            if found is None:
                raise self._missing(call.cage, path)
            if stat.S_ISDIR(found[1].st_mode) and not found[0]:
                self._record(f"denied {call.name} {path}")
                raise abi.error(errno.EPERM)
            self._copy_up(call.cage, path, found)
            os.chmod(self._ov(path), abi.host_permissions(abi.u32(mode), stat.S_ISDIR(found[1].st_mode)),
                     follow_symlinks=False)
        return 0

    @handles("link", "linkat")
    def link(self, call: Call) -> int:
        """A second name for a file in the view: both names lead to one overlay copy."""
        if call.name == "linkat" and abi.u32(call.args[4]) & ~(abi.AT_SYMLINK_FOLLOW | abi.AT_EMPTY_PATH):
            raise abi.error(errno.EINVAL)
        old, new = (self._mine(call, i) for i in (0, 1))
        if old is None and new is None:
            return call.forward()
        if old is None or new is None:
            raise abi.error(errno.EXDEV)
        cage = call.cage
        with self._lock:
            found = self._lookup(cage, old)
            if found is None:
                raise self._missing(cage, old)
            if stat.S_ISDIR(found[1].st_mode):
                raise abi.error(errno.EPERM)
            if self._lookup(cage, new) is not None:
                raise abi.error(errno.EEXIST)
            self._need_dir(cage, new)
            if not found[0]:
                if not stat.S_ISREG(found[1].st_mode):
                    raise abi.error(errno.EPERM)        # the overlay holds regular files only
                self._make_parents(old)
                self._copy_file(cage, old, self._ov(old))
                self.linked.add(old)
            self._make_parents(new)
            os.link(self._ov(old), self._ov(new))
            self._record(f"created {new}")
        return 0

    @handles("symlink", "symlinkat")
    def symlink(self, call: Call) -> int:
        path = self._mine(call)
        if path is not None:
            with self._lock:
                self._record(f"denied {call.name} {path}")
        return -errno.EPERM

    @handles("mknod", "mknodat", "chown", "lchown", "fchownat", "fchown", "utime", "utimes",
             "futimesat", "utimensat", "setxattr", "lsetxattr", "removexattr", "lremovexattr",
             "fsetxattr", "fremovexattr", "bind")
    def deny(self, call: Call) -> int:
        """Changes the view does not model: refused inside the directory, passed outside.
        (bind: a Unix socket's path; an abstract name or another family is no file.)"""
        inside = [p for p in touched(call) if under(p, self.directory)]
        if not inside:
            return call.forward()
        with self._lock:
            self._record(f"denied {call.name} {inside[0]}")
        return -errno.EPERM

    # -- the working directory ------------------------------------------------------
    @handles("chdir", "fchdir")
    def chdir(self, call: Call) -> int:
        if call.name == "fchdir":
            f, path = self._open_file(call)
            path = path if f is not None and f.is_dir else None
        else:
            path = self._mine(call)
        if path is None:
            return call.forward()
        with self._lock:
            found = self._lookup(call.cage, path)
        if found is None:
            raise self._missing(call.cage, path)
        if not stat.S_ISDIR(found[1].st_mode):
            raise abi.error(errno.ENOTDIR)
        if not found[0]:
            return call.forward()
        call.cage.cwd = path
        return 0
