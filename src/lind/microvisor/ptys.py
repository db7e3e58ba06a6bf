"""Pseudo-terminals: /dev/ptmx and /dev/pts/N of a cage are host pseudo-terminals.

Opening /dev/ptmx opens the host's, so the terminal's line discipline (echo, canonical
lines, raw mode, window size) is the host kernel's. The cage sees /dev/pts/N only for
the terminals its tree made while their master is open: the host's other terminals
(its users' sessions) are never found, and the other side is opened from the master
(TIOCGPTPEER), never by the host's path, whose number another host process may be
given once the master is closed. Each host terminal is a host resource every user
shares (kernel.pty.max): a tree may hold `TREE_PTYS`, the process `PTYS`, ENOSPC past
them. No cage's terminal becomes the Lind process's controlling terminal (O_NOCTTY), and
TIOCSCTTY is answered without one (there is no job control).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat as statmod
import threading
from collections.abc import Callable

from lind.microvisor import abi, limits
from lind.microvisor.fdtable import NonBlockingHostFile, OpenFile
from lind.microvisor.fs import proc_path

TIOCGPTN, TIOCGPTPEER = 0x80045430, 0x5441
PTYS, TREE_PTYS = 64, 16
_counted = limits.Shared(limits.Counted(PTYS, errno.ENOSPC), TREE_PTYS)

# The open masters of the cages' terminals, by host terminal number: (tree, master) of
# each (one made by /dev/ptmx, and those cages received through SCM_RIGHTS).
_masters: dict[int, list[tuple[object, OpenFile]]] = {}
_lock = threading.Lock()
_PTMX, _SLAVE_MAJOR = os.makedev(5, 2), 136


class _Terminal(NonBlockingHostFile):
    """A side of a pseudo-terminal, open: its host fd never blocks in the host kernel
    (the cage holds both sides, so a write to a full terminal nobody reads would hold
    the host thread there, out of reach of kills); its reads wait interruptibly, as a
    pipe's. Served by the microvisor alone: the trampoline takes a non-blocking host
    fd for a socket or pipe, no terminal."""

    trampoline_io = False


def _terminal(host_fd: int, flags: int, path: str) -> OpenFile:
    return _Terminal(host_fd, flags & ~(abi.O_CREAT | abi.O_EXCL | abi.O_TRUNC | abi.O_CLOEXEC),
                     path)


def open_master(cage, flags: int) -> OpenFile:
    """/dev/ptmx opened: a new host pseudo-terminal, its slave /dev/pts/N for the tree."""
    tree = limits.tree_of(cage)
    _counted.take(tree)
    try:
        host_fd = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        _counted.give(tree)
        raise
    return _held_master(tree, host_fd, flags)


def _held_master(tree, host_fd: int, flags: int) -> OpenFile:
    """The master `host_fd`, counted for `tree` already, as a file of the tree's (the
    count given back, and the host fd closed, if it cannot be)."""
    try:
        number = int.from_bytes(fcntl.ioctl(host_fd, TIOCGPTN, bytes(4)), "little")
        master = _terminal(host_fd, flags, "/dev/ptmx")
    except BaseException:
        os.close(host_fd)
        _counted.give(tree)
        raise
    entry = (tree, master)
    with _lock:
        _masters.setdefault(number, []).append(entry)

    def gone() -> None:
        with _lock:     # (by identity: files compare by their fields)
            held = [e for e in _masters.get(number, []) if e is not entry]
            if held:
                _masters[number] = held
            else:
                _masters.pop(number, None)
        _counted.give(tree)

    master.when_last_closed(gone)
    return master


def held_in_flight(cage) -> Callable[[], None]:
    """A master sent (SCM_RIGHTS) is a terminal its tree still holds until a cage
    receives it (or it is dropped, or the tree ends): counted again for the sending
    tree meanwhile (ENOSPC), else a tree opening, sending and closing masters kept
    any number of host terminals in socket queues. What gives it back."""
    tree = limits.tree_of(cage)
    _counted.take(tree)
    return lambda: _counted.give(tree)


def adopt(cage, host_fd: int, flags: int) -> OpenFile | None:
    """A host fd received through SCM_RIGHTS, if it is a side of one of the cages'
    terminals, as a file of the receiving cage (its host fd closed if it cannot be):
    a master counts for the receiving tree as one it opened (ENOSPC past its share),
    whose /dev/pts/N it then sees; a slave is the other side of a master some cage
    holds. Both keep their host fd non-blocking and are served by the microvisor (as a
    plain file, a reopen through /proc/self/fd made an uncounted terminal of a master,
    and a blocking host fd of a slave). None: no such terminal."""
    st = os.fstat(host_fd)
    if not statmod.S_ISCHR(st.st_mode):
        return None
    if st.st_rdev == _PTMX:
        tree = limits.tree_of(cage)
        try:
            _counted.take(tree)
        except OSError:
            os.close(host_fd)
            raise
        return _held_master(tree, host_fd, flags)
    number = os.minor(st.st_rdev)
    with _lock:
        ours = os.major(st.st_rdev) == _SLAVE_MAJOR and number in _masters
    if not ours:
        return None
    try:
        same = os.stat(f"/dev/pts/{number}")
    except OSError:
        return None
    if (same.st_dev, same.st_ino) != (st.st_dev, st.st_ino):
        return None      # a host terminal of another devpts, with the same number
    return _terminal(host_fd, flags, f"/dev/pts/{number}")


def reopen(cage, f: OpenFile, flags: int, path: str) -> OpenFile:
    """A terminal the cage holds opened anew (/proc/self/fd/N, /dev/tty): a master (one
    of the cages' or any host /dev/ptmx: a received one whose sender has gone is not
    known as one) makes a new terminal, counted, as the host's /dev/ptmx would
    (uncounted, a loop of them emptied the host's table); another is the same terminal
    in a new description of Lind's, whose host fd never blocks (a blocking one held the
    host thread in a write to a terminal nobody reads, where no kill reaches it)."""
    if is_master(f) or is_ptmx(f.host_fd):
        return open_master(cage, flags)
    wanted = (abi.host_open_flags(flags) & (os.O_ACCMODE | os.O_APPEND)) | (
        os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    return _terminal(os.open(proc_path(f.host_fd), wanted), flags, path)


def is_ptmx(host_fd: int) -> bool:
    """Whether `host_fd` is a pseudo-terminal's master (the host's /dev/ptmx opened)."""
    st = os.fstat(host_fd)
    return statmod.S_ISCHR(st.st_mode) and st.st_rdev == _PTMX


def numbers(cage) -> list[int]:
    """The terminals of the cage's tree whose master is open: /dev/pts's entries."""
    tree = limits.tree_of(cage)
    with _lock:
        return sorted(n for n, held in _masters.items() if any(t == tree for t, _ in held))


def is_master(f: OpenFile) -> bool:
    """Whether `f` is the master of one of the cages' terminals (reopening it through
    /proc/self/fd opens the host's /dev/ptmx: a new terminal)."""
    with _lock:
        return any(master is f for held in _masters.values() for _, master in held)


def slave_stat(cage, number: int) -> os.stat_result:
    """/dev/pts/N of the cage's tree: the host's entry (its device and inode are what
    fstat of an open slave says, so ttyname finds it; the number is the tree's while
    its master is open)."""
    _master(cage, number)
    return os.stat(f"/dev/pts/{number}")


def open_slave(cage, number: int, flags: int) -> OpenFile:
    """/dev/pts/N opened: the other side of the tree's master N (ENOENT: none)."""
    return peer_of(_master(cage, number), flags)


def peer_of(master: OpenFile, flags: int) -> OpenFile:
    """TIOCGPTPEER: the slave of `master` opened with `flags` (EINVAL from the host
    for a file that is not a master)."""
    host_fd = _peer(master, abi.host_open_flags(flags))
    try:
        number = int.from_bytes(fcntl.ioctl(master.host_fd, TIOCGPTN, bytes(4)), "little")
    except OSError:
        os.close(host_fd)
        raise
    return _terminal(host_fd, flags, f"/dev/pts/{number}")


def _master(cage, number: int) -> OpenFile:
    tree = limits.tree_of(cage)
    with _lock:
        master = next((m for t, m in _masters.get(number, ()) if t == tree), None)
    if master is None:
        raise abi.error(errno.ENOENT)
    return master


def _peer(master: OpenFile, host_flags: int) -> int:
    """The host fd of `master`'s slave, opened through the master (the host fd of a
    master closed meanwhile names Lind's inert file, which refuses)."""
    wanted = (host_flags & (os.O_ACCMODE | os.O_APPEND)) | (
        os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    return fcntl.ioctl(master.host_fd, TIOCGPTPEER, wanted)
