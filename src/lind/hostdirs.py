"""Directories Lind keeps on the host for one user: the start-up servers' (launch.py),
the home of the runs' private directories (microvisor.fs) and the cache of compiled
modules, grates and toolchains; and the removal of a directory tree a cage filled.
Imports nothing of Lind and nothing Python has not loaded at start, for the `lind`
command's launcher (and for the portable back end, in a browser too)."""

from __future__ import annotations

import errno
import os
import stat


def private_to_user(path: str) -> str | None:
    """`path`, made (0700) if new; None when it is not a directory only this user can
    enter (another user could read what is in it, or plant or remove entries)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return None
    return path


class UnsafeCache(PermissionError):
    """Lind's cache is a directory another user could write: what it holds (the native
    code of programs, grates, the guest libc) would run as this user."""


def cache_root() -> str:
    """Lind's cache: $LIND_CACHE, else $XDG_CACHE_HOME/lind, else ~/.cache/lind; made
    0700 if new, and checked to be this user's alone (UnsafeCache otherwise)."""
    path = os.path.abspath(os.environ.get("LIND_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lind"))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.mkdir(path, 0o700)
            st = os.stat(path)
        except OSError:
            return path       # none can be made: nothing is cached, nothing loaded from it
    if _cache_checked.get(path) != (st.st_dev, st.st_ino, st.st_uid, st.st_mode):
        _check_cache(path, st)
        st = os.stat(path)
        _cache_checked[path] = (st.st_dev, st.st_ino, st.st_uid, st.st_mode)
    return path


_cache_checked: dict[str, tuple[int, int, int, int]] = {}


def _check_cache(path: str, st: os.stat_result) -> None:
    """As ssh and git judge a user's own files: the cache is a directory of this user
    that no other can write, and every directory above it (and every link on the way)
    belongs to this user or root, so no other user can swap it for one of theirs. Closed
    to others if it was open to reading only (a subdirectory a umask of 002 made group-
    writable would be reachable otherwise)."""
    me = os.geteuid()
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeCache(errno.ENOTDIR, f"{path}: Lind's cache is not a directory")
    if st.st_uid != me:
        raise UnsafeCache(errno.EPERM, f"{path}: Lind's cache belongs to uid {st.st_uid}, not to this "
                          f"user ({me}), who would run the code it holds: set LIND_CACHE to "
                          "a directory of your own")
    if st.st_mode & 0o022:
        raise UnsafeCache(errno.EPERM, f"{path}: Lind's cache can be written by other users (mode "
                          f"{stat.S_IMODE(st.st_mode):04o}), who could have put code there "
                          "that Lind would run: remove it, or set LIND_CACHE to a directory "
                          "only you can write")
    for name in _names_on_the_way(path):
        owner = os.lstat(name).st_uid
        if owner not in (me, 0):
            raise UnsafeCache(errno.EPERM, f"{path}: {name}, on the way to Lind's cache, "
                              f"belongs to uid {owner}, who could replace the cache: set "
                              "LIND_CACHE to a directory of your own")
    if st.st_mode & 0o077:
        os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)


def _names_on_the_way(path: str) -> list[str]:
    """`path` and the names above it and above its real path (links among them too)."""
    found = []
    for start in dict.fromkeys((path, os.path.realpath(path))):
        at = start
        while True:
            found.append(at)
            parent = os.path.dirname(at)
            if parent == at:
                break
            at = parent
    return found


def directories_holding(path: str) -> frozenset[tuple[int, int]]:
    """(st_dev, st_ino) of every directory that holds `path` or is it, of those that
    exist: above its own names (a link among them could be replaced) and above the real
    path they lead to. A directory is the same whatever bind mount or link names it, so
    a host directory whose identity is here can reach `path` through its entries. Kept
    while `path` stays the directory it was (a walk costs ~45 us; a look, ~2)."""
    try:
        st = os.stat(path)
        now = (st.st_dev, st.st_ino)
    except OSError:
        now = None
    kept = _holding.get(path)
    if kept is not None and now is not None and kept[0] == now:
        return kept[1]
    held = set()
    for start in {os.path.abspath(path), os.path.realpath(path)}:
        at = start
        while True:
            try:
                st = os.stat(at)
            except OSError:
                pass
            else:
                if stat.S_ISDIR(st.st_mode):
                    held.add((st.st_dev, st.st_ino))
            parent = os.path.dirname(at)
            if parent == at:
                break
            at = parent
    found = frozenset(held)
    _holding[path] = (now, found)
    return found


_holding: dict[str, tuple[tuple[int, int] | None, frozenset[tuple[int, int]]]] = {}


DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def empty_directory(path: str) -> None:
    """Remove everything under `path`, following no link, without recursion and with one
    directory open at a time: a cage may nest directories as deep as the disk allows
    (shutil.rmtree's recursion raised RecursionError past ~1,000 levels, so the run's
    end failed and every later sweep of the directory did too). Going back up is by
    "..", checked to be the directory that was left (ESTALE otherwise)."""
    fd = os.open(path, DIRECTORY_FLAGS)
    try:
        # per level entered: its name, (st_dev, st_ino), and its subdirectories to remove
        levels = [("", identity(fd), _remove_files(fd))]
        while True:
            name, _, pending = levels[-1]
            if pending:
                child = os.open(pending[-1], DIRECTORY_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                levels.append((pending.pop(), identity(fd), _remove_files(fd)))
                continue
            levels.pop()
            if not levels:
                return
            parent = os.open("..", DIRECTORY_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            if identity(fd) != levels[-1][1]:
                raise OSError(errno.ESTALE, "a directory moved while it was being removed")
            os.rmdir(name, dir_fd=fd)
    finally:
        os.close(fd)


def identity(fd: int) -> tuple[int, int]:
    """(st_dev, st_ino) of what `fd` is open on."""
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _remove_files(fd: int) -> list[str]:
    """Unlink what directory `fd` holds but directories; their names. Scanned until a
    pass removes nothing (removing while reading may hide an entry from that read)."""
    while True:
        directories, removed = [], 0
        with os.scandir(fd) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    directories.append(entry.name)
                else:
                    os.unlink(entry.name, dir_fd=fd)
                    removed += 1
        if not removed:
            return directories
