"""The process that owns one Runtime's private network and makes sockets in it.

Run by network.py as `python -I -S netns_helper.py FD LIND_PID`, never imported: it enters a
new network namespace (with a user namespace of its own when it may not administer the
one it is in: Lind is not root, or runs isolated; unshare() allows that
only to a single-threaded process), brings its loopback up, and then
answers each request on the socket FD -- (family, type, protocol, count) -- with an errno
and, on success, up to `count` new sockets passed back with SCM_RIGHTS (Lind keeps a
stock, so most socket() calls need no round trip here). A socket stays in the namespace
it was made in, so Lind itself does everything else with it.

Its first message is the errno of setting the namespace up (0: ready). It ends when
Lind closes its end, and with the Lind process, which it watches through a pidfd: not
PR_SET_PDEATHSIG, which fires when the *thread* that started it ends (a cage's host
thread, which parks and ends while the tree goes on using its network).
"""

import contextlib
import ctypes
import fcntl
import os
import select
import socket
import struct
import sys

CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
CAP_SYS_ADMIN = 21
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
REQUEST, ANSWER = struct.Struct("<iiii"), struct.Struct("<i")
MAX_BATCH = 16

libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _may_administer() -> bool:
    """CAP_SYS_ADMIN in effect (root, unless `lind run --isolate` dropped it)."""
    with open("/proc/self/status") as f:
        effective = next(line for line in f if line.startswith("CapEff:")).split()[1]
    return bool(int(effective, 16) >> CAP_SYS_ADMIN & 1)


def enter_namespace() -> None:
    uid, gid = os.getuid(), os.getgid()
    own_user = not _may_administer()
    _check(libc.unshare(CLONE_NEWNET | (CLONE_NEWUSER if own_user else 0)))
    if own_user:    # root inside maps to the user Lind runs as
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
        # Lind binds in here without privileges of its own in this user namespace.
        with contextlib.suppress(OSError):
            _write("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sh14x", b"lo", 0)
        flags = struct.unpack("16sh14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", flags | IFF_UP))


def serve(channel: socket.socket, lind: int | None) -> None:
    """Answer requests until Lind closes its end, or the process `lind` (a pidfd) ends."""
    poll = select.poll()
    poll.register(channel, select.POLLIN)
    if lind is not None:
        poll.register(lind, select.POLLIN)
    while True:
        if any(fd == lind for fd, _ in poll.poll()):
            return
        request = channel.recv(REQUEST.size)
        if len(request) != REQUEST.size:
            return
        family, kind, protocol, count = REQUEST.unpack(request)
        fds: list[int] = []
        err = 0
        while len(fds) < min(max(count, 1), MAX_BATCH):
            fd = libc.socket(family, kind | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK, protocol)
            if fd < 0:
                err = ctypes.get_errno()
                break
            fds.append(fd)
        try:
            if not fds:
                channel.send(ANSWER.pack(err))
            else:     # what could be made; a later request hears the error
                channel.sendmsg([ANSWER.pack(0)], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                                    struct.pack(f"{len(fds)}i", *fds))])
        finally:
            for fd in fds:
                os.close(fd)


def main() -> None:
    channel = socket.socket(fileno=int(sys.argv[1]))
    try:
        lind: int | None = os.pidfd_open(int(sys.argv[2]))
    except OSError:     # Lind ended already (ESRCH); or no pidfds: its end's EOF alone
        lind = None
    if os.getppid() != int(sys.argv[2]):    # Lind ended (the pidfd may name another)
        return
    try:
        enter_namespace()
    except OSError as exc:
        channel.send(ANSWER.pack(exc.errno or 1))
        return
    channel.send(ANSWER.pack(0))
    serve(channel, lind)


if __name__ == "__main__":
    main()
