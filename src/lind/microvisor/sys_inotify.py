"""inotify: file change notifications, from the host kernel's own inotify.

A watch goes on the file a guest path resolves to inside the cage's view -- resolved as
open resolves it, in the root and through the mounts -- and the kernel is handed a
/proc/self/fd path to a descriptor of that file, never a path the cage wrote. The events
are the kernel's: struct inotify_event has the same layout on wasm32, and its names are
relative to the watched directory, so they say nothing about what lies outside the view.
Instances and watches of all cages together are counted (limits.py), so that cages
cannot use up the host user's inotify limits, and those of each tree, so that one tree
cannot leave the others none.
"""

from __future__ import annotations

import ctypes
import errno
import os
from dataclasses import dataclass, field

from lind.microvisor import abi, limits, virtual
from lind.microvisor.abi import s32, u32
from lind.microvisor.fdtable import NonBlockingHostFile
from lind.microvisor.fs import checked, libc, proc_path
from lind.microvisor.sys_files import lookup_arg

IN_NONBLOCK, IN_CLOEXEC = abi.O_NONBLOCK, abi.O_CLOEXEC
IN_ALL_EVENTS = 0xFFF
IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK = 0x01000000, 0x02000000, 0x04000000
IN_MASK_CREATE, IN_MASK_ADD, IN_ONESHOT = 0x10000000, 0x20000000, 0x80000000
_WATCH_FLAGS = IN_ALL_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | \
    IN_MASK_CREATE | IN_MASK_ADD | IN_ONESHOT

libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]


@dataclass(eq=False)
class InotifyFile(NonBlockingHostFile):
    """An inotify instance: the host's, with the watches it holds counted, for the tree
    that made it (its host fd never blocks: a read waits interruptibly)."""

    watches: set[int] = field(default_factory=set)
    tree: object = None

    def release(self) -> None:
        last = self.refs == 1
        super().release()
        if last:
            limits.inotify_watches.give(self.tree, len(self.watches))
            limits.inotify_instances.give(self.tree)
            self.watches.clear()


def sys_inotify_init1(cage, flags, *_):
    flags = u32(flags)
    if flags & ~(IN_NONBLOCK | IN_CLOEXEC):
        raise abi.error(errno.EINVAL)
    tree = limits.tree_of(cage)
    limits.inotify_instances.take(tree)
    try:
        host = checked(libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK))
    except OSError:
        limits.inotify_instances.give(tree)
        raise
    try:
        f = InotifyFile(host, abi.O_RDONLY | (flags & IN_NONBLOCK), tree=tree)
    except OSError:      # the host-fd budget is spent (the fd is closed)
        limits.inotify_instances.give(tree)
        raise
    return cage.fds.install(f, cloexec=bool(flags & IN_CLOEXEC))


def sys_inotify_init(cage, *_):
    return sys_inotify_init1(cage, 0)


def sys_inotify_add_watch(cage, fd, path, mask, *_):
    f = cage.fds.get_as(s32(fd), InotifyFile)
    mask = u32(mask)
    if (mask & ~_WATCH_FLAGS or not mask & IN_ALL_EVENTS
            or mask & (IN_MASK_CREATE | IN_MASK_ADD) == IN_MASK_CREATE | IN_MASK_ADD):
        raise abi.error(errno.EINVAL)
    guest, follow = lookup_arg(cage, path, abi.AT_FDCWD, not mask & IN_DONT_FOLLOW)
    found = virtual.lookup(cage, guest, follow)
    if not isinstance(found, str):       # the microvisor's own files change on no host
        raise abi.error(errno.EACCES)
    if follow:       # the kernel follows the /proc magic link to the file itself
        handle = cage.fs.open(found, os.O_PATH | os.O_CLOEXEC)
        target, mask = proc_path(handle), mask & ~IN_DONT_FOLLOW
    else:            # the last name is taken as it is, in its directory
        handle, name = cage.fs.open_parent(found, write=False)
        target, mask = f"{proc_path(handle)}/{name}", mask | IN_DONT_FOLLOW
    try:
        wd = checked(libc.inotify_add_watch(f.host_fd, os.fsencode(target), mask))
    finally:
        os.close(handle)
    if wd not in f.watches:
        try:
            limits.inotify_watches.take(f.tree)
        except OSError:
            libc.inotify_rm_watch(f.host_fd, wd)
            raise
        f.watches.add(wd)
    return wd


def sys_inotify_rm_watch(cage, fd, wd, *_):
    f = cage.fds.get_as(s32(fd), InotifyFile)
    wd = s32(wd)
    try:
        checked(libc.inotify_rm_watch(f.host_fd, wd))
    finally:      # gone either way (an IN_ONESHOT or deleted file's watch the kernel ended)
        if wd in f.watches:
            f.watches.discard(wd)
            limits.inotify_watches.give(f.tree)
    return 0
