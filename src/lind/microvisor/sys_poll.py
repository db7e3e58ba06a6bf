"""poll, ppoll, select and pselect6 over the cage's fds: pipes, host files, terminals.

The host kernel polls the host files among them (pipes, sockets, FIFOs, terminals,
files) beside the cage's wake fd. The microvisor's own files (/dev/zero, /proc/self/...,
virtual directories) are as ready as they will ever be when the call starts. A caught signal ends the wait
with EINTR (never restarted, as on Linux); ppoll and pselect6 wait under the signal
mask they are given.
"""

from __future__ import annotations

import errno
import struct

from lind.microvisor import sys_signals
from lind.microvisor.abi import POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, s32, u32
from lind.microvisor.fdtable import OpenFile

_POLLFD = struct.Struct("<iHH")   # short events/revents, as bit sets
FD_SETSIZE = 1024


def wait_ready(cage, entries: list[tuple[int, int]], timeout: float | None) -> list[int]:
    """Revents for each (fd, events) once one is ready or `timeout` seconds passed
    (None: never). POLLERR and POLLHUP are reported unasked, POLLNVAL for a bad fd."""
    revents = [0] * len(entries)
    wanted: dict[int, int] = {}
    # (entry, file, events): holding the file keeps its host fd's number from naming
    # another file if a thread of the cage closes it during the wait (fdtable)
    waiting: list[tuple[int, OpenFile, int]] = []
    for i, (fd, events) in enumerate(entries):
        if fd < 0:
            continue
        try:
            f = cage.fds.get(fd)
        except OSError:
            revents[i] = POLLNVAL
            continue
        if f.host_backed and f.host_fd >= 0:
            wanted[f.host_fd] = wanted.get(f.host_fd, 0) | events
            waiting.append((i, f, events))
        else:
            revents[i] = f.poll(events | POLLERR | POLLHUP)
    if any(revents):
        timeout = 0
    ready = cage.poll_host(wanted, timeout, restartable=False)   # EINTR, as Linux
    for i, f, events in waiting:
        revents[i] = ready.get(f.host_fd, 0) & (events | POLLERR | POLLHUP | POLLNVAL)
    return revents


def _timeout_ms(ms: int) -> float | None:
    ms = s32(ms)
    return None if ms < 0 else ms / 1000


def _poll(cage, fds: int, nfds: int, timeout: float | None) -> int:
    nfds = u32(nfds)
    if nfds > cage.fds.limit:
        raise OSError(errno.EINVAL, "Invalid argument")
    raw = cage.mem.read(fds, nfds * _POLLFD.size)
    entries = [(fd, events) for fd, events, _ in _POLLFD.iter_unpack(raw)]
    revents = wait_ready(cage, entries, timeout)
    out = b"".join(_POLLFD.pack(fd, ev, rev & 0xFFFF)
                   for (fd, ev), rev in zip(entries, revents, strict=True))
    cage.mem.write(fds, out)
    return sum(1 for r in revents if r)


def sys_poll(cage, fds, nfds, timeout_ms, *_):
    return _poll(cage, fds, nfds, _timeout_ms(timeout_ms))


def timespec_timeout(cage, addr: int) -> float | None:
    """A struct timespec argument as seconds (None: a null pointer, no timeout)."""
    if not addr:
        return None
    sec, nsec = struct.unpack("<qq", cage.mem.read(addr, 16))
    if sec < 0 or not 0 <= nsec < 10**9:
        raise OSError(errno.EINVAL, "Invalid argument")
    return sec + nsec / 1e9


def sys_ppoll(cage, fds, nfds, tsp, sigmask, sigsetsize, *_):
    timeout = timespec_timeout(cage, tsp)
    with sys_signals.mask_while_waiting(cage, sigmask, sigsetsize):
        return _poll(cage, fds, nfds, timeout)


def _select(cage, n: int, sets: tuple[int, int, int], timeout: float | None) -> int:
    n = s32(n)
    if not 0 <= n <= FD_SETSIZE:
        raise OSError(errno.EINVAL, "Invalid argument")
    size = (n + 31) // 32 * 4
    bits = [int.from_bytes(cage.mem.read(a, size), "little") if a else 0 for a in sets]
    entries = []
    left = (bits[0] | bits[1] | bits[2]) & ((1 << n) - 1)    # the fds set, lowest first
    while left:
        fd = (left & -left).bit_length() - 1
        left &= left - 1
        entries.append((fd, (POLLIN if bits[0] >> fd & 1 else 0) |
                        (POLLOUT if bits[1] >> fd & 1 else 0) | (POLLPRI if bits[2] >> fd & 1 else 0)))
    revents = wait_ready(cage, entries, timeout)
    if any(r & POLLNVAL for r in revents):
        raise OSError(errno.EBADF, "Bad file descriptor")
    out = [0, 0, 0]
    for (fd, ev), rev in zip(entries, revents, strict=True):
        if ev & POLLIN and rev & (POLLIN | POLLHUP | POLLERR):
            out[0] |= 1 << fd
        if ev & POLLOUT and rev & (POLLOUT | POLLERR):
            out[1] |= 1 << fd
        if ev & POLLPRI and rev & POLLPRI:
            out[2] |= 1 << fd
    for addr, value in zip(sets, out, strict=True):
        if addr:
            cage.mem.write(addr, value.to_bytes(size, "little"))
    return sum(bin(v).count("1") for v in out)


def sys_select(cage, n, rfds, wfds, efds, tvp, *_):
    timeout = None
    if tvp:
        sec, usec = struct.unpack("<qq", cage.mem.read(tvp, 16))
        if sec < 0 or not 0 <= usec < 10**6:
            raise OSError(errno.EINVAL, "Invalid argument")
        timeout = sec + usec / 1e6
    return _select(cage, n, (rfds, wfds, efds), timeout)


def sys_pselect6(cage, n, rfds, wfds, efds, tsp, mask_arg, *_):
    timeout = timespec_timeout(cage, tsp)
    sigmask, sigsetsize = struct.unpack("<QQ", cage.mem.read(mask_arg, 16)) if mask_arg else (0, 0)
    with sys_signals.mask_while_waiting(cage, sigmask, sigsetsize):
        return _select(cage, n, (rfds, wfds, efds), timeout)
