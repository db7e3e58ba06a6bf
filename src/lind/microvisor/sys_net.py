"""Sockets: the host kernel's own, made in the network the cage's tree sees (network.py).

Every socket's host fd never blocks; whether the cage's description does is the
microvisor's (`SocketFile.flags`, mirrored in the trampoline's description table), so a
blocked accept, connect, send or recv waits in poll beside the cage's wake fd, and a
signal or a kill ends the wait as on Linux. read/write on a connected socket are the
trampoline's (IO_NONBLOCKING), without Python.

Addresses cross as the bytes the cage wrote: sockaddr_in, sockaddr_in6 and sockaddr_un
have the same layout on wasm32. Two things are translated: a Unix path names a file in
the cage's view (bound through an O_PATH fd of its directory, reached through one of the
socket file), and an abstract Unix name gets the Runtime's tag, which keeps it private.
Control messages are translated between wasm32's 12-byte cmsghdr and the host's 16;
SCM_RIGHTS passes host-backed files (sockets, pipes of the host, files) between cages.

A cage may do what an unprivileged process may: no raw or packet sockets, no option
that needs a capability, and in host mode no port below the host's unprivileged start.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import select
import signal
import socket
import stat
import struct
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from lind import threei
from lind.microvisor import abi, limits, network, ptys, virtual
from lind.microvisor.abi import s32, u32
from lind.microvisor.fdtable import (
    MemFile,
    NonBlockingHostFile,
    OpenFile,
    after,
    is_memfd,
    ready_now,
)
from lind.microvisor.fs import checked, libc
from lind.microvisor.sys_files import fold_path, iovecs, set_new_mode
from lind.microvisor.sys_poll import timespec_timeout
from lind.threei import ops

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 0, 1, 2, 10, 16
NETLINK_ROUTE = 0
# What a cage may ask of the routing netlink: the dumps getifaddrs and if_nameindex
# make (links, addresses, routes, neighbours), never a change.
_NETLINK_GETS = {18, 22, 26, 30}     # RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETNEIGH
_NLMSGHDR = struct.Struct("<IHHII")
SIOCATMARK, SIOCOUTQ = 0x8905, 0x5411
# SIOCGIFNAME, FLAGS, ADDR, DSTADDR, BRDADDR, NETMASK, MTU, HWADDR, INDEX: reading only.
_INTERFACE_QUERIES = {0x8910, 0x8913, 0x8915, 0x8917, 0x8919, 0x891B, 0x8921, 0x8927, 0x8933}
_IFREQ_GUEST, _IFREQ_HOST = 32, 40
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_PACKET = 1, 2, 3, 5, 10
SOCK_NONBLOCK, SOCK_CLOEXEC = abi.O_NONBLOCK, abi.O_CLOEXEC
SOL_SOCKET, IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6 = 1, 0, 6, 17, 41
IPPROTO_MPTCP, IPPROTO_UDPLITE, IPPROTO_ICMP, IPPROTO_ICMPV6 = 262, 136, 1, 58
SCM_RIGHTS, SCM_CREDENTIALS = 1, 2
MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT, MSG_WAITALL = 0x2, 0x20, 0x40, 0x100
MSG_NOSIGNAL, MSG_WAITFORONE, MSG_CMSG_CLOEXEC = 0x4000, 0x10000, 0x40000000
MSG_CTRUNC = 0x8
_SEND_FLAGS = 0x1 | 0x4 | 0x40 | 0x80 | 0x800 | 0x4000 | 0x8000 | 0x20000000   # OOB DONTROUTE
_RECV_FLAGS = 0x1 | 0x2 | 0x20 | 0x40 | 0x100 | 0x2000 | MSG_CMSG_CLOEXEC    # ... ERRQUEUE
SHUT_RDWR = 2
SOMAXCONN = 4096
_SOCKADDR_MAX = 128              # sizeof(struct sockaddr_storage)
_SOCKADDR_NL_SIZE = 12           # struct sockaddr_nl: family, pad, nl_pid, nl_groups
_SUN_PATH_MAX = 108
_OPTION_MAX = 1024               # the largest option value copied in or out
_CONTROL_MAX = 65536             # control data a call may carry (Linux: optmem_max, ~20 KiB)
_ROOM_FOR_DROPPED = 16 + 253 * 4   # one SCM_RIGHTS message of SCM_MAX_FD files (host cmsg)

# Options a cage may set (and read): those that need no capability on Linux.
# (Not SO_PEERGROUPS nor IP_PASSSEC: host group ids, the host's security labels.)
_SOCKET_OPTIONS = {2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 16, 17, 18, 19, 20, 21, 29, 30,
                   35, 37, 38, 39, 40, 42, 46, 47, 49, 57, 60, 63, 64, 65, 66, 67}
_TCP_OPTIONS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 23, 24, 25, 27, 28,
                30, 36}
_IP_OPTIONS = {1, 2, 4, 6, 7, 8, 10, 11, 12, 13, 14, 15, 20, 21, 24, 26, 32, 33, 34, 35, 36, 49}
_IPV6_OPTIONS = {16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 31, 49, 50, 51, 56, 58, 60, 62, 66,
                 67, 70, 72, 74, 78}
_OPTIONS = {SOL_SOCKET: _SOCKET_OPTIONS, IPPROTO_TCP: _TCP_OPTIONS, IPPROTO_IP: _IP_OPTIONS,
            IPPROTO_IPV6: _IPV6_OPTIONS, IPPROTO_UDP: {1, 100, 101, 102, 103, 104}}
SO_PRIORITY, SO_PEERCRED, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD = 12, 17, 20, 21
SO_RCVTIMEO, SO_SNDTIMEO = 66, 67
SO_SNDBUF, SO_RCVBUF = 7, 8
SO_LINGER = 13
_LINGER = struct.Struct("<ii")            # struct linger: l_onoff, l_linger (seconds)
_TIMEOUTS = {SO_RCVTIMEO_OLD: (0, struct.Struct("<ii")), SO_SNDTIMEO_OLD: (1, struct.Struct("<ii")),
             SO_RCVTIMEO: (0, struct.Struct("<qq")), SO_SNDTIMEO: (1, struct.Struct("<qq"))}

# IPv6 extension headers a sendmsg may carry only with CAP_NET_RAW: IPV6_2292HOPOPTS,
# IPV6_2292DSTOPTS, IPV6_HOPOPTS, IPV6_RTHDRDSTOPTS, IPV6_DSTOPTS.
_RAW_IPV6_OPTIONS = {3, 4, 54, 55, 59}

# IPv4 options (IP_OPTIONS, an IP_RETOPTS message) anyone may set: end, no-op, record
# route, timestamp, loose and strict source route, router alert. Any other (security
# labels, CIPSO, the stream id, one Linux does not know) needs CAP_NET_RAW: EINVAL.
IP_OPTIONS, IP_RETOPTS = 4, 7
_UNPRIVILEGED_IP_OPTIONS = {0, 1, 7, 68, 131, 137, 148}

_SOCKLEN = struct.Struct("<I")
_MSGHDR = struct.Struct("<IIIIIIi")       # wasm32 struct msghdr: 28 bytes
_MMSGHDR_SIZE = _MSGHDR.size + 4
_CMSG = struct.Struct("<Iii")             # wasm32 struct cmsghdr: 12 bytes, 4-aligned
_HOST_CMSG = struct.Struct("<Qii")        # the host's: 16 bytes, 8-aligned


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.c_void_p), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


for _name, _args in (("socket", [ctypes.c_int] * 3),
                     ("socketpair", [ctypes.c_int] * 3 + [ctypes.c_void_p]),
                     ("bind", [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]),
                     ("connect", [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]),
                     ("listen", [ctypes.c_int, ctypes.c_int]),
                     ("accept4", [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]),
                     ("getsockname", [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]),
                     ("getpeername", [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]),
                     ("shutdown", [ctypes.c_int, ctypes.c_int]),
                     ("setsockopt", [ctypes.c_int] * 3 + [ctypes.c_char_p, ctypes.c_uint32]),
                     ("getsockopt", [ctypes.c_int] * 3 + [ctypes.c_void_p, ctypes.c_void_p])):
    getattr(libc, _name).argtypes = _args
for _name in ("sendmsg", "recvmsg"):
    getattr(libc, _name).argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    getattr(libc, _name).restype = ctypes.c_ssize_t


# Live sockets by host inode: a socket received through SCM_RIGHTS is the description
# that was sent (one inode, one description), with its O_NONBLOCK and timeouts.
_by_inode: weakref.WeakValueDictionary[tuple[int, int], SocketFile] = weakref.WeakValueDictionary()


@dataclass(eq=False)
class SocketFile(NonBlockingHostFile):
    """A socket: a host socket that never blocks, and what the cage set of it that the
    host does not keep (O_NONBLOCK, SO_RCVTIMEO/SO_SNDTIMEO, the name it bound)."""

    family: int = AF_UNIX
    kind: int = SOCK_STREAM
    network: network.Network | None = field(default=None, repr=False)
    timeouts: list[float | None] = field(default_factory=lambda: [None, None])
    bound_name: bytes = b""        # the host name of its bound Unix path (network.unix_names)
    bound_dir: int = -1            # the O_PATH fd of that path's directory, held while bound
    # SO_PEERCRED as its peer will see it: (pid, uid, gid) of the cage that made the pair,
    # connected it, or listened on the socket it was accepted from.
    credentials: tuple[int, int, int] | None = None
    # SO_SNDBUF/SO_RCVBUF as the host had them before the cage first set each, and what
    # their growth past that is charged to the cage's tree (see _charge_buffers)
    buffer_bases: dict[int, int] = field(default_factory=dict)
    buffer_charge: tuple[limits.MemoryBudget, int] | None = None
    # SO_LINGER as the cage set it (l_onoff, l_linger), which the host socket never has
    # with a time: see _set_linger
    linger: tuple[int, int] | None = None
    # listening where a published port's connections come (network.Network.cage_listens)
    listens_on_loopback: bool = False

    def __post_init__(self, reserved: bool) -> None:
        super().__post_init__(reserved)
        if self.family == AF_UNIX:       # its peer may look for it (_peer_of)
            self.make_findable()
        elif self.family == AF_NETLINK:      # every message it sends is looked at (_send)
            self.trampoline_io = False
            self.writes_checked = True

    def make_findable(self) -> None:
        """Known by its host inode: to its peer's SO_PEERCRED, and to the cage that
        receives it through SCM_RIGHTS (where an Internet socket is made known)."""
        st = os.fstat(self.host_fd)
        _by_inode[(st.st_dev, st.st_ino)] = self

    def wait_mode(self) -> int:
        """A timeout is the handler's to keep (SO_RCVTIMEO, SO_SNDTIMEO)."""
        if not self.flags & abi.O_NONBLOCK and self.timeouts != [None, None]:
            return threei.DESC_PYTHON
        return super().wait_mode()

    def set_timeout(self, which: int, seconds: float | None) -> None:
        self.timeouts[which] = seconds
        self.publish_wait_mode()

    def release(self) -> None:
        last = self.refs == 1
        super().release()
        if last:
            if self.bound_name and self.network is not None:
                self.network.unix_names.pop(self.bound_name, None)
            if self.bound_dir >= 0:
                os.close(self.bound_dir)
                self.bound_dir = -1

    def wait(self, cage, events: int, deadline: float | None) -> None:
        """Until the socket has `events`: EAGAIN at the deadline; for a signal EINTR,
        or a restart under SA_RESTART unless a timeout was set (as Linux's sockets)."""
        left = None if deadline is None else deadline - time.monotonic()
        if (left is not None and left <= 0) or not cage.wait_host(
                self.host_fd, events, left, restartable=deadline is None):
            raise abi.error(errno.EAGAIN)

    def deadline(self, which: int) -> float | None:
        timeout = self.timeouts[which]
        return None if timeout is None else time.monotonic() + timeout

    def ioctl(self, cage, request: int, arg: int) -> int:
        """The queries of a socket and of the interfaces its network has (struct ifreq:
        32 bytes on wasm32, 40 on the host; these answers fit in the first 32)."""
        if request in (SIOCATMARK, SIOCOUTQ):
            out = fcntl.ioctl(self.host_fd, request, b"\0" * 4)
        elif request in _INTERFACE_QUERIES:
            ifreq = cage.mem.read(arg, _IFREQ_GUEST).ljust(_IFREQ_HOST, b"\0")
            out = self._ask_interfaces(cage, request, ifreq)[:_IFREQ_GUEST]
        else:
            raise abi.error(errno.ENOTTY)
        cage.mem.write(arg, out)
        return 0

    def _ask_interfaces(self, cage, request: int, ifreq: bytes) -> bytes:
        """An interface query answered by the cage's network, whatever socket it came
        through: a Unix socket is the Lind process's own, in the host's namespace, so
        through it a cage of a private network (or of none) read the host's interfaces."""
        mode = cage.network.mode
        if mode == network.HOST or self.family in (AF_INET, AF_INET6, AF_NETLINK):
            return fcntl.ioctl(self.host_fd, request, ifreq)
        if mode == network.NONE:
            raise abi.error(errno.ENODEV)      # no interface to tell of
        probe = cage.network.private_socket(AF_INET, SOCK_DGRAM, 0)
        try:
            return fcntl.ioctl(probe, request, ifreq)
        finally:
            os.close(probe)

    def nonblocking(self, flags: int = 0) -> bool:
        return bool(self.flags & abi.O_NONBLOCK or flags & MSG_DONTWAIT)

    # read, write, readv and writev the trampoline did not serve: recv and send.
    def read(self, cage, addr: int, n: int) -> int:
        return _recv(cage, self, [cage.mem.view(addr, n, writing=True)], 0)[0]

    def write(self, cage, addr: int, n: int) -> int:
        return _send(cage, self, [cage.mem.view(addr, n)], 0)

    def readv(self, cage, views: list[memoryview]) -> int:
        return _recv(cage, self, views, 0)[0]

    def writev(self, cage, views: list[memoryview]) -> int:
        return _send(cage, self, views, 0)


def _socket_file(cage, fd: int) -> SocketFile:
    return cage.fds.get_as(s32(fd), SocketFile, errno.ENOTSOCK)


def inherited_socket(host_fd: int, *, reserved: bool = True) -> SocketFile:
    """A host socket a cage is given at start (stdin, pass_fds), whose description the
    host keeps too: it stays as blocking as the host made it (see NonBlockingHostFile),
    and read-write whatever the fd's role, as a socket is. (`reserved`: a tree's own
    stdio may take the host's reserve of fds; one a cage received may not.)"""
    family = _int_option(host_fd, SOL_SOCKET, socket.SO_DOMAIN)
    kind = _int_option(host_fd, SOL_SOCKET, socket.SO_TYPE)
    nonblocking = 0 if os.get_blocking(host_fd) else abi.O_NONBLOCK
    return SocketFile(host_fd, abi.O_RDWR | nonblocking, borrowed=True, shares_host_flags=True,
                      reserved=reserved, family=family, kind=kind)


def _new_socket_file(cage, host_fd: int, family: int, kind: int, guest_flags: int) -> SocketFile:
    return SocketFile(host_fd, abi.O_RDWR | (guest_flags & abi.O_NONBLOCK), family=family,
                      kind=kind, network=cage.network)


def _install(cage, f: SocketFile, guest_flags: int) -> int:
    return cage.fds.install(f, cloexec=bool(guest_flags & SOCK_CLOEXEC))


def _split_type(type_: int) -> tuple[int, int]:
    type_ = s32(type_)
    if type_ & ~(0xF | SOCK_NONBLOCK | SOCK_CLOEXEC):
        raise abi.error(errno.EINVAL)
    return type_ & 0xF, type_ & (SOCK_NONBLOCK | SOCK_CLOEXEC)


def _check_socket_kind(cage, domain: int, kind: int, protocol: int) -> None:
    """What an unprivileged process may make, in the cage's network mode."""
    if domain == AF_UNIX:
        return
    if domain not in (AF_INET, AF_INET6, AF_NETLINK):
        raise abi.error(errno.EAFNOSUPPORT)
    if cage.network.mode == network.NONE:
        raise abi.error(errno.EACCES)
    if domain == AF_NETLINK:
        if protocol != NETLINK_ROUTE:
            raise abi.error(errno.EPROTONOSUPPORT)
        if kind not in (SOCK_RAW, SOCK_DGRAM):
            raise abi.error(errno.ESOCKTNOSUPPORT)
        return
    if kind == SOCK_RAW or (kind, domain) == (SOCK_PACKET, AF_INET):
        # CAP_NET_RAW. (socket(AF_INET, SOCK_PACKET) is still an AF_PACKET socket, which
        # root, or the owner of the private network's namespace, gets: every frame of
        # the network read, any written.)
        raise abi.error(errno.EPERM)
    if kind == SOCK_DGRAM and protocol in (IPPROTO_ICMP, IPPROTO_ICMPV6):
        raise abi.error(errno.EACCES)          # ping sockets: outside ping_group_range
    allowed = {SOCK_STREAM: (0, IPPROTO_TCP, IPPROTO_MPTCP), SOCK_DGRAM: (0, IPPROTO_UDP, IPPROTO_UDPLITE)}
    if kind not in allowed:     # SCTP, DCCP...: the kernel's root would load their modules
        raise abi.error(errno.ESOCKTNOSUPPORT)
    if protocol not in allowed[kind]:
        raise abi.error(errno.EPROTONOSUPPORT)


# The owner a host-network socket is made with when Lind runs as root: a uid no account
# has. The kernel lets a socket join a SO_REUSEPORT group only of its owner's sockets, so
# a cage's sockets made as root's joined the groups of the host's root services (and got
# their datagrams and connections); made as this owner's, only each other's.
HOST_SOCKET_OWNER = 0x7FFFFFFE


def _host_socket(cage, domain: int, kind: int, protocol: int) -> int:
    if domain != AF_UNIX and cage.network.mode == network.PRIVATE:
        return cage.network.private_socket(domain, kind, protocol)
    kind |= socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
    if domain == AF_UNIX or os.geteuid() != 0:
        return checked(libc.socket(domain, kind, protocol))
    # The new socket's owner is the thread's file-system uid (per thread: not the other
    # threads' of the Lind process), root's again at once. Going back to root gives the
    # thread the permission overrides the cage may not have had: the trampoline is told,
    # and takes them out again for a cage that may not have them.
    libc.setfsuid(HOST_SOCKET_OWNER)
    try:
        return checked(libc.socket(domain, kind, protocol))
    finally:
        with threei.as_lind():
            libc.setfsuid(0)


def sys_socket(cage, domain, type_, protocol, *_):
    domain, protocol = s32(domain), s32(protocol)
    kind, flags = _split_type(type_)
    _check_socket_kind(cage, domain, kind, protocol)
    host = _host_socket(cage, domain, kind, protocol)
    return _install(cage, _new_socket_file(cage, host, domain, kind, flags), flags)


def sys_socketpair(cage, domain, type_, protocol, sv, *_):
    domain, protocol = s32(domain), s32(protocol)
    kind, flags = _split_type(type_)
    if domain != AF_UNIX:
        raise abi.error(errno.EOPNOTSUPP if domain in (AF_INET, AF_INET6) else errno.EAFNOSUPPORT)
    cage.mem.write(sv, bytes(8))          # EFAULT before anything is made
    pair = (ctypes.c_int * 2)()
    checked(libc.socketpair(domain, kind | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK, protocol, pair))
    files = [_new_socket_file(cage, pair[0], domain, kind, flags)]
    try:
        files.append(_new_socket_file(cage, pair[1], domain, kind, flags))
    except OSError:
        files[0].release()
        raise
    files[0].credentials = files[1].credentials = _credentials(cage)
    first = _install(cage, files[0], flags)
    try:
        second = _install(cage, files[1], flags)
    except OSError:
        cage.fds.close(first)
        raise
    cage.mem.write(sv, struct.pack("<ii", first, second))
    return 0


# -- addresses ----------------------------------------------------------------------

def _read_address(cage, addr: int, addrlen: int) -> bytes:
    length = s32(addrlen)
    if not 0 <= length <= _SOCKADDR_MAX:
        raise abi.error(errno.EINVAL)
    return cage.mem.read(addr, length) if length else b""


def _family_of(raw: bytes) -> int:
    return struct.unpack_from("<H", raw)[0] if len(raw) >= 2 else AF_UNSPEC


def _unix_path(raw: bytes) -> str:
    name = raw[2:].split(b"\0", 1)[0]
    return name.decode("utf-8", "surrogateescape")


def _host_address(cage, f: SocketFile, raw: bytes, *, binding: bool,
                  final: list[str] | None = None) -> tuple[bytes, int]:
    """The address to give the kernel for the one the cage wrote, and an fd it names
    (to close after the call, or for a bound socket to keep); -1 if none. A name to
    bind that is too long to follow /proc/self/fd/N/ in a sun_path (past ~90 bytes,
    where Linux takes 108) is bound under a short name of Lind's beside it, to be
    linked to its own (_bind): its name goes into `final`."""
    family = _family_of(raw)
    if (family == AF_NETLINK == f.family and not binding and len(raw) >= _SOCKADDR_NL_SIZE
            and any(raw[4:_SOCKADDR_NL_SIZE])):
        # nl_pid, nl_groups: to another socket, or a group, not the kernel. Linux lets
        # only CAP_NET_ADMIN (root's, Lind's) send so on routing netlink.
        raise abi.error(errno.EPERM)
    # (Linux binds an IPv4 socket to 0.0.0.0 and the port for an AF_UNSPEC address.)
    inet = family in (AF_INET, AF_INET6) or (family, f.family) == (AF_UNSPEC, AF_INET)
    if inet and binding and cage.network.mode == network.HOST and len(raw) >= 4:
        port = int.from_bytes(raw[2:4], "big")
        if 0 < port < limits.host_setting("net/ipv4/ip_unprivileged_port_start", 1024):
            raise abi.error(errno.EACCES)
    if family != AF_UNIX or f.family != AF_UNIX or len(raw) < 2:
        return raw, -1
    if len(raw) > 2 + _SUN_PATH_MAX:     # past struct sockaddr_un (sockaddr_storage's 128)
        raise abi.error(errno.EINVAL)
    if len(raw) == 2:       # bind's autobind: a name of the kernel's form, with the tag
        return (raw + b"\0" + cage.network.tag + os.urandom(3).hex()[:5].encode(), -1) \
            if binding else (raw, -1)
    if raw[2] == 0:                        # abstract: private to the Runtime
        host = raw[:3] + cage.network.tag + raw[3:]
        if len(host) > 2 + _SUN_PATH_MAX:
            raise abi.error(errno.EINVAL)
        return host, -1
    path, dir_only = fold_path(cage, _unix_path(raw))
    if binding:
        found = virtual.lookup(cage, path, follow=False)
        if not isinstance(found, str) or dir_only:
            raise abi.error(errno.EADDRINUSE)
        handle, name = cage.fs.open_parent(found, write=True)
        host_path = f"/proc/self/fd/{handle}/{name}"
        if final is not None and len(os.fsencode(host_path)) >= _SUN_PATH_MAX:
            try:
                os.lstat(name, dir_fd=handle)
            except FileNotFoundError:
                final.append(name)
                host_path = f"/proc/self/fd/{handle}/{_SHORT_PREFIX}{os.urandom(6).hex()}"
            except OSError:
                os.close(handle)
                raise
            else:
                os.close(handle)
                raise abi.error(errno.EADDRINUSE)
    else:
        found = virtual.lookup(cage, path, follow=True)
        if not isinstance(found, str):
            raise abi.error(errno.ECONNREFUSED)
        handle = cage.fs.open(found, os.O_PATH | os.O_CLOEXEC)
        host_path = f"/proc/self/fd/{handle}"
    encoded = os.fsencode(host_path)
    if len(encoded) >= _SUN_PATH_MAX:
        os.close(handle)
        raise abi.error(errno.ENAMETOOLONG)
    return raw[:2] + encoded + b"\0", handle


def _guest_address(f: SocketFile, raw: bytes) -> bytes:
    """The kernel's address as the cage should see it (Unix names translated back)."""
    if _family_of(raw) != AF_UNIX or len(raw) <= 2 or f.network is None:
        return raw
    tag = f.network.tag
    if raw[2] == 0:
        return raw[:3] + raw[3 + len(tag):] if raw[3:3 + len(tag)] == tag else raw
    name = raw[2:].split(b"\0", 1)[0]
    guest = f.network.unix_names.get(name)
    return raw[:2] + guest + b"\0" if guest is not None else raw


def _write_address(cage, addr: int, addrlen_ptr: int, raw: bytes, *, optional: bool = True) -> None:
    """Copy an address out as the kernel does: at most *addrlen bytes, then the full
    length in *addrlen. For accept and recvfrom a null address asks for nothing."""
    if not addr and optional:
        return
    given = s32(_SOCKLEN.unpack(cage.mem.read(addrlen_ptr, 4))[0])
    if given < 0:
        raise abi.error(errno.EINVAL)
    if raw:
        cage.mem.write(addr, raw[:given])
    cage.mem.write(addrlen_ptr, _SOCKLEN.pack(len(raw)))


def _name_call(fn, f: SocketFile) -> bytes:
    buf = ctypes.create_string_buffer(_SOCKADDR_MAX)
    length = ctypes.c_uint32(_SOCKADDR_MAX)
    checked(fn(f.host_fd, buf, ctypes.byref(length)))
    return _guest_address(f, buf.raw[:min(length.value, _SOCKADDR_MAX)])


def sys_getsockname(cage, fd, addr, addrlen, *_):
    f = _socket_file(cage, fd)
    _write_address(cage, addr, addrlen, _name_call(libc.getsockname, f), optional=False)
    return 0


def sys_getpeername(cage, fd, addr, addrlen, *_):
    f = _socket_file(cage, fd)
    _write_address(cage, addr, addrlen, _name_call(libc.getpeername, f), optional=False)
    return 0


# -- bind, listen, connect, accept -----------------------------------------------------

# Autobind names are drawn at random from the kernel's 2**20: one taken already is
# drawn again (Linux tries every name before it says ENOSPC).
_AUTOBIND_TRIES = 64


_SHORT_PREFIX = ".lind-bind-"


def sys_bind(cage, fd, addr, addrlen, *_):
    f = _socket_file(cage, fd)
    _bind(cage, f, _read_address(cage, addr, addrlen))
    return 0


def _bind(cage, f: SocketFile, raw: bytes) -> None:
    autobind = f.family == AF_UNIX and len(raw) == 2 and _family_of(raw) == AF_UNIX
    final: list[str] = []
    for tries_left in range(_AUTOBIND_TRIES if autobind else 1, 0, -1):
        host, handle = _host_address(cage, f, raw, binding=True, final=final)
        try:
            checked(libc.bind(f.host_fd, host, len(host)))
            break
        except OSError as exc:
            if handle >= 0:
                os.close(handle)
            if exc.errno != errno.EADDRINUSE or tries_left == 1:
                raise
    if handle >= 0 and final:       # bound under a short name: the file takes its own
        short = os.fsdecode(host[2:].rstrip(b"\0").rsplit(b"/", 1)[1])
        try:
            os.link(short, final[0], src_dir_fd=handle, dst_dir_fd=handle,
                    follow_symlinks=False)
        except OSError as exc:       # made meanwhile: the socket stays bound, unnamed
            os.close(handle)
            raise abi.error(errno.EADDRINUSE if exc.errno == errno.EEXIST else
                            exc.errno or errno.EIO) from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(short, dir_fd=handle)
    if handle >= 0:     # a Unix path: the file is new; keep its directory while bound
        name = host[2:].rstrip(b"\0")         # the kernel's name for it
        f.bound_dir, f.bound_name = handle, name
        made = final[0] if final else os.fsdecode(name.rsplit(b"/", 1)[1])
        with contextlib.suppress(OSError):    # swapped for a link already: not followed
            set_new_mode(handle, made, 0o777 & ~cage.umask)
        f.network.unix_names[name] = raw[2:].split(b"\0", 1)[0]


def _autobind_for_credentials(cage, f: SocketFile) -> None:
    """Before a connect or a send to an address: an unbound Unix socket with SO_PASSCRED
    is bound to an autobind name by the kernel, which would be one without the
    network's tag -- that no cage could answer or connect to. Bound here first, with it."""
    if f.family != AF_UNIX or not _int_option(f.host_fd, SOL_SOCKET, socket.SO_PASSCRED):
        return
    buf = ctypes.create_string_buffer(_SOCKADDR_MAX)
    length = ctypes.c_uint32(_SOCKADDR_MAX)
    if libc.getsockname(f.host_fd, buf, ctypes.byref(length)) == 0 and length.value <= 2:
        with contextlib.suppress(OSError):      # another thread bound it meanwhile
            _bind(cage, f, struct.pack("<H", AF_UNIX))


def show_bound_name(cage, fd: int, name: bytes) -> None:
    """The Unix socket `fd` was bound (a grate gave the host a name standing for one
    of its own): getsockname, getpeername, accept and recvfrom show `name` instead."""
    f = _socket_file(cage, fd)
    if f.bound_name:
        f.network.unix_names[f.bound_name] = name


# listen's third argument, which Linux does not read: a grate that rules what may be
# bound (netfilter) asks that an unbound socket of these families not be bound by it.
LISTEN_BOUND_ONLY_INET, LISTEN_BOUND_ONLY_INET6 = 1, 2


def sys_listen(cage, fd, backlog, bound_only=0, *_):
    """listen; on a socket not bound yet the kernel binds it first, to the unspecified
    address and a free port, which `bound_only` (LISTEN_BOUND_ONLY_*) refuses (EACCES):
    checked on the socket itself, whatever another thread does to the fd."""
    f = _socket_file(cage, fd)
    refused = {AF_INET: LISTEN_BOUND_ONLY_INET, AF_INET6: LISTEN_BOUND_ONLY_INET6}.get(f.family, 0)
    if u32(bound_only) & refused and _unbound(f):
        raise abi.error(errno.EACCES)
    checked(libc.listen(f.host_fd, min(max(s32(backlog), 0), SOMAXCONN)))
    f.credentials = _credentials(cage)
    if f.family == AF_UNIX:
        _listening.add(f)
    elif not f.listens_on_loopback and f.network is not None and f.network.mode == network.PRIVATE:
        port = _ipv4_loopback_port(f)
        if port:    # its network's host ports published to it listen until its last close
            f.listens_on_loopback = True
            f.when_last_closed(f.network.cage_listens(port))
    return 0


def _ipv4_loopback_port(f: SocketFile) -> int:
    """The port of a socket that 127.0.0.1 reaches (bound to it or to the unspecified
    address, or an IPv6 socket bound to :: that takes IPv4 too), else 0: where a
    published port's connections go (network.Network._forward)."""
    raw = _host_name(f)
    port = int.from_bytes(raw[2:4], "big")
    if f.family == AF_INET:
        return port if raw[4:8] in (bytes(4), bytes((127, 0, 0, 1))) else 0
    if _int_option(f.host_fd, socket.IPPROTO_IPV6, socket.IPV6_V6ONLY):
        return 0
    return port if raw[8:24] in (bytes(16), bytes(10) + b"\xff\xff" + bytes((127, 0, 0, 1))) else 0


def _unbound(f: SocketFile) -> bool:
    """An Internet socket with no port yet (a bind or a connect gives it one; another
    thread's bind racing this look is a bind the caller's rules saw)."""
    return _host_name(f)[2:4] == b"\0\0"


def _host_name(f: SocketFile) -> bytes:
    """The host socket's own address, as the kernel gives it (a sockaddr)."""
    buf = ctypes.create_string_buffer(_SOCKADDR_MAX)
    length = ctypes.c_uint32(_SOCKADDR_MAX)
    checked(libc.getsockname(f.host_fd, buf, ctypes.byref(length)))
    return buf.raw[:min(length.value, _SOCKADDR_MAX)]


def sys_connect(cage, fd, addr, addrlen, *_):
    f = _socket_file(cage, fd)
    raw = _read_address(cage, addr, addrlen)
    _autobind_for_credentials(cage, f)
    host, handle = _host_address(cage, f, raw, binding=False)
    deadline = f.deadline(1)
    f.credentials = _credentials(cage)
    pause = _RETRY
    try:
        while True:
            if libc.connect(f.host_fd, host, len(host)) == 0:
                return 0
            err = ctypes.get_errno()
            if err == errno.EINTR:
                continue
            # EALREADY: made again after a handler (SA_RESTART), it goes on waiting.
            if err not in (errno.EINPROGRESS, errno.EALREADY, errno.EAGAIN) or f.nonblocking():
                raise abi.error(err)
            if err == errno.EAGAIN:     # a Unix listener's backlog is full: try again
                _pause(cage, deadline, pause)
                pause = min(2 * pause, _RETRY_MOST)
                continue
            f.wait(cage, select.POLLOUT, deadline)     # the handshake of a TCP connect
            err = _int_option(f.host_fd, SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise abi.error(err)
            # The kernel marks the socket connected at the next connect, which says 0
            # once: made here, so that the program's next one is EISCONN, as on Linux.
            libc.connect(f.host_fd, host, len(host))
            return 0
    finally:
        if handle >= 0:
            os.close(handle)


# A connect to a full Unix backlog tries again after 5 ms, then twice as long each time
# up to 50 ms: every try takes Python's lock, and a tree's hundreds of threads trying
# every 5 ms took more than a CPU (200 threads: 13 CPU-seconds in 10 s) from the
# Runtime's other tenants.
_RETRY, _RETRY_MOST = 0.005, 0.05


def _pause(cage, deadline: float | None, seconds: float) -> None:
    """A short interruptible pause (a full Unix backlog has no event to wait for)."""
    left = seconds if deadline is None else min(seconds, deadline - time.monotonic())
    if left <= 0:
        raise abi.error(errno.EAGAIN)
    cage.poll_host({}, left)


def _int_option(host_fd: int, level: int, name: int) -> int:
    value, length = ctypes.c_int(0), ctypes.c_uint32(4)
    checked(libc.getsockopt(host_fd, level, name, ctypes.byref(value), ctypes.byref(length)))
    return value.value


def sys_accept4(cage, fd, addr, addrlen, flags, *_):
    flags = s32(flags)
    if flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC):
        raise abi.error(errno.EINVAL)
    f = _socket_file(cage, fd)
    buf = ctypes.create_string_buffer(_SOCKADDR_MAX)
    length = ctypes.c_uint32(_SOCKADDR_MAX)
    deadline = f.deadline(0)
    while True:
        if f.shares_host_flags and not ready_now(f.host_fd, select.POLLIN):
            # The host's listener blocks: accept only once a connection waits.
            if f.nonblocking():
                raise abi.error(errno.EAGAIN)
            f.wait(cage, select.POLLIN, deadline)
            continue
        length.value = _SOCKADDR_MAX
        new = libc.accept4(f.host_fd, buf, ctypes.byref(length),
                           socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
        if new >= 0:
            break
        err = ctypes.get_errno()
        if err == errno.EINTR:
            continue
        if err != errno.EAGAIN or f.nonblocking():
            raise abi.error(err)
        f.wait(cage, select.POLLIN, deadline)
    peer = _guest_address(f, buf.raw[:min(length.value, _SOCKADDR_MAX)])
    accepted = _new_socket_file(cage, new, f.family, f.kind, flags)
    accepted.credentials = f.credentials
    guest_fd = _install(cage, accepted, flags)
    try:
        _write_address(cage, addr, addrlen, peer)
    except OSError:
        cage.fds.close(guest_fd)
        raise
    return guest_fd


def sys_accept(cage, fd, addr, addrlen, *_):
    return sys_accept4(cage, fd, addr, addrlen, 0)


def sys_shutdown(cage, fd, how, *_):
    f = _socket_file(cage, fd)
    how = s32(how)
    if not 0 <= how <= SHUT_RDWR:
        raise abi.error(errno.EINVAL)
    checked(libc.shutdown(f.host_fd, how))
    return 0


# -- sending and receiving -------------------------------------------------------------

def _pointers(views: list[memoryview]) -> tuple[ctypes.Array, list]:
    """A host iovec array over cage memory; the second value keeps the buffers pinned."""
    keep = [None if not len(v) else ctypes.c_char.from_buffer(v) if not v.readonly
            else ctypes.create_string_buffer(v.tobytes(), len(v))    # sendfile's bytes
            for v in views]
    iov = (_IoVec * max(len(views), 1))()
    for i, (v, c) in enumerate(zip(views, keep, strict=True)):
        iov[i].base = ctypes.addressof(c) if c is not None else None
        iov[i].len = len(v)
    return iov, keep


def _send_once(f: SocketFile, views: list[memoryview], flags: int, address: bytes,
               control: bytes) -> int:
    iov, _keep = _pointers(views)
    name = ctypes.create_string_buffer(address, len(address)) if address else None
    ctrl = ctypes.create_string_buffer(control, len(control)) if control else None
    hdr = _MsgHdr(ctypes.cast(name, ctypes.c_void_p), len(address),
                  ctypes.cast(iov, ctypes.c_void_p), len(views),
                  ctypes.cast(ctrl, ctypes.c_void_p), len(control), 0)
    return checked(libc.sendmsg(f.host_fd, ctypes.byref(hdr), flags))


def _send(cage, f: SocketFile, views: list[memoryview], flags: int, address: bytes = b"",
          control: bytes = b"") -> int:
    """sendmsg as the kernel's with the cage's blocking: a stream socket sends all of
    it unless non-blocking or interrupted (then the part sent, as Linux)."""
    if flags & ~_SEND_FLAGS:
        raise abi.error(errno.EOPNOTSUPP)
    if f.family == AF_NETLINK:
        # Read here to be checked, so no more than the socket takes (Linux: EMSGSIZE past
        # its send buffer): not a host copy of whatever the cage points at.
        if sum(map(len, views)) > _int_option(f.host_fd, SOL_SOCKET, socket.SO_SNDBUF) - 32:
            raise abi.error(errno.EMSGSIZE)
        views = [memoryview(bytearray(_netlink_request(b"".join(bytes(v) for v in views))))]
    host_flags = flags | MSG_DONTWAIT | MSG_NOSIGNAL
    total, done, deadline = sum(len(v) for v in views), 0, f.deadline(1)
    while True:
        try:
            n = _send_once(f, views, host_flags, address, control)
        except BlockingIOError:
            if f.nonblocking(flags) and done:
                return done
            if f.nonblocking(flags):
                raise
            try:
                f.wait(cage, select.POLLOUT, deadline)
            except OSError:
                if done:
                    return done
                raise
            continue
        except InterruptedError:
            continue
        except BrokenPipeError:
            if done:
                return done
            if not flags & MSG_NOSIGNAL:
                cage.raise_signal(signal.SIGPIPE)
            raise
        done += n
        control = b""
        if done >= total or f.kind != SOCK_STREAM:
            return done
        views = after(views, n)


def _netlink_request(data: bytes) -> bytes:
    """The bytes of a routing-netlink send, once each message in it is known to be a
    query (EPERM for anything that would change the network)."""
    at = 0
    while at + _NLMSGHDR.size <= len(data):
        length, kind, _, _, _ = _NLMSGHDR.unpack_from(data, at)
        if length < _NLMSGHDR.size or kind not in _NETLINK_GETS:
            raise abi.error(errno.EPERM)
        at += (length + 3) & ~3
    return data


def _recv_once(f: SocketFile, views: list[memoryview], flags: int,
               control_size: int) -> tuple[int, bytes, bytes, int]:
    iov, _keep = _pointers(views)
    name = ctypes.create_string_buffer(_SOCKADDR_MAX)
    ctrl = ctypes.create_string_buffer(control_size) if control_size else None
    hdr = _MsgHdr(ctypes.cast(name, ctypes.c_void_p), _SOCKADDR_MAX,
                  ctypes.cast(iov, ctypes.c_void_p), len(views),
                  ctypes.cast(ctrl, ctypes.c_void_p), control_size, 0)
    n = checked(libc.recvmsg(f.host_fd, ctypes.byref(hdr), flags))
    control = ctrl.raw[:hdr.controllen] if ctrl is not None else b""
    return n, name.raw[:min(hdr.namelen, _SOCKADDR_MAX)], control, hdr.flags


def _recv(cage, f: SocketFile, views: list[memoryview], flags: int,
          control_size: int = 0) -> tuple[int, bytes, bytes, int]:
    """recvmsg as the kernel's with the cage's blocking (MSG_WAITALL waits for all of a
    stream's bytes unless interrupted). Returns (bytes, address, host control, flags)."""
    if flags & ~_RECV_FLAGS:
        raise abi.error(errno.EOPNOTSUPP)
    nonblocking = f.nonblocking(flags)
    wait_all = bool(flags & MSG_WAITALL) and f.kind == SOCK_STREAM and not flags & MSG_PEEK
    host_flags = (flags & ~MSG_WAITALL) | MSG_DONTWAIT | MSG_CMSG_CLOEXEC
    total, done, deadline = sum(len(v) for v in views), 0, f.deadline(0)
    address, control, out_flags = b"", b"", 0
    while True:
        try:
            n, got_address, got_control, out_flags = _recv_once(f, views, host_flags, control_size)
        except BlockingIOError:
            if nonblocking:
                raise
            try:
                f.wait(cage, select.POLLIN, deadline)
            except OSError:
                if done:
                    return done, address, control, out_flags
                raise
            continue
        except InterruptedError:
            continue
        if not done:
            address, control = got_address, got_control
            control_size = 0
        done += n
        if not wait_all or n == 0 or done >= total or nonblocking:
            return done, address, control, out_flags
        views = after(views, n)


def sys_sendto(cage, fd, buf, length, flags, addr, addrlen):
    f = _socket_file(cage, fd)
    address = b""
    if addr:
        raw = _read_address(cage, addr, addrlen)
        _autobind_for_credentials(cage, f)
        address, handle = _host_address(cage, f, raw, binding=False)
        if handle >= 0:
            try:
                return _send(cage, f, [cage.mem.view(buf, u32(length))], s32(flags), address)
            finally:
                os.close(handle)
    return _send(cage, f, [cage.mem.view(buf, u32(length))], s32(flags), address)


# What a TCP recv with MSG_TRUNC takes off the stream at most per call (it copies
# nothing): read into a host buffer held while the call waits, so small (each of a
# tree's hundreds of threads may wait in one)
_DISCARD_MAX = 64 << 10


def sys_recvfrom(cage, fd, buf, length, flags, addr, addrlen):
    f = _socket_file(cage, fd)
    if s32(flags) & MSG_TRUNC and f.kind == SOCK_STREAM and f.family in (AF_INET, AF_INET6):
        # TCP discards the bytes: the buffer is not used, and may be NULL
        view = memoryview(bytearray(min(u32(length), _DISCARD_MAX)))
    else:
        view = cage.mem.view(buf, u32(length), writing=True)
    n, address, _, _ = _recv(cage, f, [view], s32(flags))
    if addr:
        _write_address(cage, addr, addrlen, _guest_address(f, address))
    return n


# -- control messages ---------------------------------------------------------------

def _align(n: int, to: int) -> int:
    return (n + to - 1) & ~(to - 1)


def _host_control(cage, raw: bytes, passed: list[_Carried]) -> bytes:
    """The cage's control messages in the host's layout; SCM_RIGHTS fds made host fds
    (what each costs while in flight is added to `passed`)."""
    out, at = [], 0
    while at + _CMSG.size <= len(raw):
        length, level, kind = _CMSG.unpack_from(raw, at)
        if length < _CMSG.size or at + length > len(raw):
            raise abi.error(errno.EINVAL)
        data = raw[at + _CMSG.size:at + length]
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            if _carried.over(limits.tree_of(cage), cage.fds.limit):
                # Linux's check for a user that is not root (Lind may be): what the tree
                # has in flight would otherwise be bounded by nothing, sockets carrying
                # sockets carrying files, none of them in any cage's fd table.
                raise abi.error(errno.ETOOMANYREFS)
            fds = struct.unpack(f"<{len(data) // 4}i", data[:len(data) // 4 * 4])
            data = struct.pack(f"{len(fds)}i", *(_passable(cage, fd, passed) for fd in fds))
        elif level == SOL_SOCKET and kind == SCM_CREDENTIALS:
            _check_sent_credentials(cage, data)
            at += _align(length, 4)            # the host's would name host ids: not sent
            continue
        elif level == SOL_SOCKET:
            raise abi.error(errno.EINVAL)
        elif level == IPPROTO_IPV6 and kind in _RAW_IPV6_OPTIONS:
            raise abi.error(errno.EPERM)       # CAP_NET_RAW, which root's sendmsg has
        elif level == IPPROTO_IP and kind == IP_RETOPTS:
            _check_ip_options(data)
        head = _HOST_CMSG.pack(_HOST_CMSG.size + len(data), level, kind)
        out.append((head + data).ljust(_align(len(head) + len(data), 8), b"\0"))
        at += _align(length, 4)
    return b"".join(out)


def _check_sent_credentials(cage, data: bytes) -> None:
    """SCM_CREDENTIALS a cage sends: Linux's check (its own pid, one of its own user and
    group ids, or root's), which a peer with SO_PASSCRED is told as the sender's (see
    _guest_control); EPERM for others', EINVAL for a short message or an id of -1."""
    if len(data) < 12:
        raise abi.error(errno.EINVAL)
    pid, uid, gid = struct.unpack_from("<iII", data)
    if 0xFFFFFFFF in (uid, gid):
        raise abi.error(errno.EINVAL)
    (real_uid, euid, real_gid, egid), (saved_uid, saved_gid) = cage.ids, cage.saved_ids
    root = euid == 0
    if not ((pid == cage.id or root) and (uid in (real_uid, euid, saved_uid) or root)
            and (gid in (real_gid, egid, saved_gid) or root)):
        raise abi.error(errno.EPERM)


def _passable(cage, fd: int, passed: list[_Carried]) -> int:
    """The host fd to pass for the cage's `fd`, counted and charged while in flight
    (`passed`: _carried). A file whose host fd never blocks keeps the cage's O_NONBLOCK
    in the microvisor only: it travels beside the fd (_sent)."""
    f = cage.fds.get(fd)
    if not f.host_backed or f.host_fd < 0:
        raise abi.error(errno.EBADF)     # the microvisor's own files have no host fd
    key = _file_key(f.host_fd)
    passed.append(_carried.sent(cage, key, f))
    if isinstance(f, SocketFile):
        f.make_findable()
    if isinstance(f, NonBlockingHostFile):
        _in_flight.sent(limits.tree_of(cage), key, f.flags & abi.O_NONBLOCK)
    return f.host_fd


def _charge_in_flight(cage, f: OpenFile) -> Callable[[], None]:
    """Charge the host RAM a file in a socket's queue may hold, which its sender's tree
    keeps paying for (ENOMEM past its budget): a memfd stays charged as while the tree
    held it, a pipe's buffer is charged; what gives it back."""
    if isinstance(f, MemFile):
        return f.held_in_flight()
    if ptys.is_master(f):            # a host terminal, counted (ENOSPC)
        return ptys.held_in_flight(cage)
    if stat.S_ISFIFO(f.stat().st_mode):
        size, budget = fcntl.fcntl(f.host_fd, abi.F_GETPIPE_SZ), cage.memory_budget
        budget.charge(size)
        return lambda: budget.release(size)
    return lambda: None


@dataclass(eq=False)
class _Carried:
    """One file a tree sent (SCM_RIGHTS) that no cage received yet, with the view of
    files it was sent from and the path it was opened as there."""

    tree: limits.TreeKey
    key: _FileKey
    give_back: Callable[[], None]
    view: object = None
    path: str = ""
    shares_host_flags: bool = False       # its description is the host's too (stdio)
    # the Unix socket whose queue it is in ((device, inode); None: not known)
    receiver: tuple[int, int] | None = None


class _CarriedFiles:
    """Files in flight stay in a socket's queue, with what they hold of the host, after
    their sender closed them: memfds and pipe buffers no tree paid for. What they hold
    is charged to the sending tree's memory until one of them comes out of a queue
    through the microvisor (received, or dropped for want of room), or the tree ends
    (one read with read(2), which drops its files in the kernel, stays charged until
    then). Their number is the tree's limit too: past its sender's RLIMIT_NOFILE, a
    message carries no more (ETOOMANYREFS, as Linux tells a user who is not root); a
    socket in flight holds its queue, and may carry sockets in turn."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[_FileKey, list[_Carried]] = {}
        self._by_tree: dict[limits.TreeKey, list[_Carried]] = {}

    def sent(self, cage, key: _FileKey, f: OpenFile) -> _Carried:
        tree = limits.tree_of(cage)
        with self._lock:
            carried = _Carried(tree, key, _charge_in_flight(cage, f), cage.fs, f.path,  # ENOMEM
                               f.shares_host_flags)
            self._by_tree.setdefault(tree, []).append(carried)
            self._by_key.setdefault(key, []).append(carried)
        return carried

    def over(self, tree: limits.TreeKey, limit: int) -> bool:
        """Whether `tree` has more than `limit` files in flight (a file sent twice counts
        twice, as on Linux), once those the kernel dropped are let go: every one in
        the queue of a socket that is gone, or of a cage's socket whose queue holds no
        file (read with read(2), which drops them)."""
        with self._lock:
            mine = list(self._by_tree.get(tree, ()))
        if len(mine) <= limit:
            return False
        dropped = {at for at in {c.receiver for c in mine if c.receiver} if _holds_no_file(at)}
        with self._lock:
            for carried in mine:
                if carried.receiver in dropped:
                    self._let_go(carried)
            return len(self._by_tree.get(tree, ())) > limit

    def received(self, key: _FileKey) -> _Carried | None:
        """One file of `key` came out of a queue (received, or dropped unread): how it
        was sent, if its tree has not ended since."""
        with self._lock:
            waiting = self._by_key.get(key)
            if not waiting:
                return None
            carried = waiting[0]
            self._let_go(carried)
            return carried

    def cancel(self, passed: list[_Carried]) -> None:
        """What a send that failed had counted."""
        with self._lock:
            for carried in passed:
                self._let_go(carried)

    def tree_ended(self, tree: limits.TreeKey) -> None:
        with self._lock:
            for carried in list(self._by_tree.get(tree, ())):
                self._let_go(carried)

    def _let_go(self, carried: _Carried) -> None:
        for table, at in ((self._by_key, carried.key), (self._by_tree, carried.tree)):
            entries = table.get(at)
            if entries is None or carried not in entries:
                return
            entries.remove(carried)
            if not entries:
                del table[at]
        carried.give_back()


_carried = _CarriedFiles()


_FileKey = tuple[int, int, int]       # (device, inode, access mode)


class _InFlight:
    """The cage's O_NONBLOCK of non-blocking files sent (SCM_RIGHTS) and not received
    yet. Each sending tree keeps at most `most` (its oldest forgotten first), and its
    entries go when it ends: a tree sending without end cannot push another's out (the
    receiver would get the file as its host fd is: non-blocking)."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._lock = threading.Lock()
        self._flags: dict[_FileKey, tuple[int, limits.TreeKey]] = {}       # -> (O_NONBLOCK, tree)
        self._by_tree: dict[limits.TreeKey, dict[_FileKey, None]] = {}     # oldest first

    def sent(self, tree: limits.TreeKey, key: _FileKey, nonblocking: int) -> None:
        with self._lock:
            self._forget(key)
            self._flags[key] = (nonblocking, tree)
            mine = self._by_tree.setdefault(tree, {})
            mine[key] = None
            while len(mine) > self.most:
                self._forget(next(iter(mine)))

    def received(self, key: _FileKey) -> int | None:
        with self._lock:
            found = self._forget(key)
        return None if found is None else found[0]

    def tree_ended(self, tree: limits.TreeKey) -> None:
        with self._lock:
            for key in self._by_tree.pop(tree, {}):
                del self._flags[key]

    def _forget(self, key: _FileKey) -> tuple[int, limits.TreeKey] | None:
        found = self._flags.pop(key, None)
        if found is not None:
            mine = self._by_tree[found[1]]
            del mine[key]
            if not mine:
                del self._by_tree[found[1]]
        return found


_in_flight = _InFlight(4096)


def tree_ended(tree: limits.TreeKey) -> None:
    """A process tree has ended: what it sent and nobody received is forgotten."""
    _in_flight.tree_ended(tree)
    _carried.tree_ended(tree)


def _file_key(host_fd: int) -> tuple[int, int, int]:
    st = os.fstat(host_fd)
    return st.st_dev, st.st_ino, fcntl.fcntl(host_fd, fcntl.F_GETFL) & os.O_ACCMODE


def _guest_control(cage, f: SocketFile, raw: bytes, room: int, cloexec: bool
                   ) -> tuple[bytes, bool]:
    """Host control messages for the cage: SCM_RIGHTS fds installed in its table, and
    SCM_CREDENTIALS (SO_PASSCRED) its peer's as the cage knows them, where the kernel's
    name the Lind process (its host pid, uid 0). What does not fit in `room` bytes, or
    in its fd table (or the host's fd budget), is dropped, its host fds closed:
    MSG_CTRUNC then, as Linux does."""
    out, at, truncated, table_full = b"", 0, False, False
    while at + _HOST_CMSG.size <= len(raw):
        length, level, kind = _HOST_CMSG.unpack_from(raw, at)
        data = raw[at + _HOST_CMSG.size:at + length]
        at += _align(length, 8)
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            hosts = list(struct.unpack(f"{len(data) // 4}i", data))
            fit = 0 if table_full else max(0, (room - len(out) - _CMSG.size) // 4)
            guest = []
            for i, host in enumerate(hosts):
                if i >= fit:
                    _carried.received(_file_key(host))
                    os.close(host)
                    continue
                try:
                    guest.append(_adopt(cage, host, cloexec))    # closes `host` if not
                except OSError:
                    table_full, fit = True, i
            truncated |= fit < len(hosts)
            if not guest:
                continue
            data = struct.pack(f"<{len(guest)}i", *guest)
        else:
            if level == SOL_SOCKET and kind == SCM_CREDENTIALS:
                data = _peer_credentials(cage, f)
            if len(out) + _CMSG.size + len(data) > room:
                truncated = True
                continue
        out += (_CMSG.pack(_CMSG.size + len(data), level, kind) + data).ljust(
            _align(_CMSG.size + len(data), 4), b"\0")
    return out[:room], truncated


def _adopt(cage, host_fd: int, cloexec: bool) -> int:
    """A host fd received from another cage, in this cage's table: a socket still open
    is the same description it was for the sender (the same SocketFile); a socket or a
    pipe whose sender let go of it gets the O_NONBLOCK it was sent with. Another file
    keeps the path it was opened as when it comes from the same view of files (grates
    judge an fd by it; *at calls start from it); from another view it has none, and
    its metadata and size are the host's, as an inherited file's (`borrowed`): else a
    file opened for reading under a path a grate keeps read-only, passed to the cage
    itself, came back with no path and took fchmod and futimens."""
    st = os.fstat(host_fd)
    key = _file_key(host_fd)
    carried = _carried.received(key)          # out of the queue, whatever comes of it here
    known = _by_inode.get((st.st_dev, st.st_ino)) if stat.S_ISSOCK(st.st_mode) else None
    if known is not None and known.refs > 0:    # (a released one may linger until collected)
        os.close(host_fd)
        return cage.fds.install(known.hold(), cloexec=cloexec)
    flags = _guest_open_flags(host_fd)
    nonblocking = _in_flight.received(key)
    shared = carried is not None and carried.shares_host_flags
    if stat.S_ISSOCK(st.st_mode) and (shared or os.get_blocking(host_fd)):
        # A description the host holds too (a cage's sockets never block in the host):
        # as the stdin socket it was, its blocking stays the host's.
        f: OpenFile = inherited_socket(host_fd, reserved=False)
    elif stat.S_ISSOCK(st.st_mode):
        family = _int_option(host_fd, SOL_SOCKET, socket.SO_DOMAIN)
        kind = _int_option(host_fd, SOL_SOCKET, socket.SO_TYPE)
        f = _new_socket_file(cage, host_fd, family, kind, nonblocking or 0)
    elif not shared and (terminal := ptys.adopt(
            cage, host_fd, flags & ~abi.O_NONBLOCK | (nonblocking or 0))) is not None:
        f = terminal            # (one the host holds too keeps its description's blocking)
    elif nonblocking is not None:
        f = NonBlockingHostFile(host_fd, flags & ~abi.O_NONBLOCK | nonblocking)
        if stat.S_ISFIFO(st.st_mode):
            f.read_blocking_too()
    elif is_memfd(st):                   # host RAM: this tree pays for it now
        f = MemFile.held_by(cage.memory_budget, host_fd, flags)
    else:
        known_path = carried is not None and carried.view is cage.fs and bool(carried.path)
        f = OpenFile(host_fd, flags, carried.path if known_path else "",
                     is_dir=stat.S_ISDIR(st.st_mode), borrowed=not known_path,
                     shares_host_flags=shared)
    return cage.fds.install(f, cloexec=cloexec)


def _guest_open_flags(host_fd: int) -> int:
    host = fcntl.fcntl(host_fd, fcntl.F_GETFL)
    access = {os.O_RDONLY: abi.O_RDONLY, os.O_WRONLY: abi.O_WRONLY}.get(host & os.O_ACCMODE, abi.O_RDWR)
    return (access | (abi.O_APPEND if host & os.O_APPEND else 0)
            | (abi.O_NONBLOCK if host & os.O_NONBLOCK else 0)
            | (abi.O_PATH if host & os.O_PATH else 0))     # neither readable nor writable


def _read_msghdr(cage, msg: int, writing: bool) -> tuple[int, int, list[memoryview], int, int,
                                                         int]:
    name, namelen, iov, iovlen, control, controllen, _ = _MSGHDR.unpack(cage.mem.read(msg, _MSGHDR.size))
    if iovlen > abi.IOV_MAX:            # a message too long, as Linux says (readv: EINVAL)
        raise abi.error(errno.EMSGSIZE)
    return name, namelen, iovecs(cage, iov, iovlen, writing), control, controllen, iov


def _sendmsg(cage, f: SocketFile, msg: int, flags: int) -> int:
    name, namelen, views, control, controllen, _ = _read_msghdr(cage, msg, writing=False)
    host_control = b""
    if controllen:
        if s32(controllen) < 0:
            raise abi.error(errno.EINVAL)
        if controllen > _CONTROL_MAX:
            raise abi.error(errno.ENOBUFS)
    passed: list[_Carried] = []
    try:
        if controllen:
            host_control = _host_control(cage, cage.mem.read(control, controllen), passed)
        if not name:
            _note_receiver(f, passed)
            return _send(cage, f, views, flags, b"", host_control)
        # msg_name as a grate that checked it passed it down: beside its copy of the header
        raw = _read_address(cage, ops.beside(msg, name, s32(namelen)), namelen)
        _autobind_for_credentials(cage, f)
        address, handle = _host_address(cage, f, raw, binding=False)
        try:
            return _send(cage, f, views, flags, address, host_control)
        finally:
            if handle >= 0:
                os.close(handle)
    except BaseException:
        _carried.cancel(passed)        # nothing was sent
        raise


def _note_receiver(f: SocketFile, passed: list[_Carried]) -> None:
    """Files sent on connected Unix socket `f` are in its peer's queue: noted, so that
    they stop counting once the kernel drops them there (_CarriedFiles.over)."""
    if not passed or f.family != AF_UNIX:
        return
    st = os.fstat(f.host_fd)
    raw = _unix_diag(st.st_ino, _UDIAG_SHOW_PEER).get(_UNIX_DIAG_PEER, b"")
    peer = struct.unpack_from("=I", raw)[0] if len(raw) >= 4 else 0
    if peer:        # (0: a connection not accepted yet, whose socket has no inode)
        for carried in passed:
            carried.receiver = (st.st_dev, peer)


def _holds_no_file(socket_at: tuple[int, int]) -> bool:
    """Whether the Unix socket (device, inode) has no file in its queue: it is gone (its
    queue went with it), or it is a cage's whose host fd says none (the kernel's
    scm_fds; the length of its queue does not tell: a message read as out-of-band data
    stays there, empty, with its files)."""
    kind, answer = _unix_diag_answer(socket_at[1], 0)
    if kind == _NLMSG_ERROR:
        return struct.unpack_from("=i", answer, _NLMSGHDR.size)[0] == -errno.ENOENT
    held = _by_inode.get(socket_at)
    if held is None or held.refs <= 0:
        return False
    try:
        with open(f"/proc/self/fdinfo/{held.host_fd}", "rb") as info:
            counts = [line.split()[1] for line in info if line.startswith(b"scm_fds:")]
    except (OSError, IndexError):
        return False
    return counts == [b"0"] and os.fstat(held.host_fd).st_ino == socket_at[1]


def _recvmsg(cage, f: SocketFile, msg: int, flags: int) -> int:
    name, namelen, views, control, controllen, _ = _read_msghdr(cage, msg, writing=True)
    room = min(u32(controllen), _CONTROL_MAX) if control else 0
    # Files sent to a call with no room for them are received here and dropped (what
    # they held in flight goes back: _carried), not dropped by the kernel unseen.
    host_room = room * 2 + 64 if room else _ROOM_FOR_DROPPED if f.family == AF_UNIX else 0
    n, address, host_control, out_flags = _recv(cage, f, views, flags, host_room)
    guest_control, truncated = _guest_control(cage, f, host_control, room,
                                              bool(flags & MSG_CMSG_CLOEXEC))
    if truncated:
        out_flags |= MSG_CTRUNC
    address = _guest_address(f, address)
    if name:    # msg_namelen, msg_controllen and msg_flags are the kernel's answer
        given = s32(namelen)
        if given < 0:
            raise abi.error(errno.EINVAL)
        cage.mem.write(name, address[:given])
        cage.mem.write(msg + 4, _SOCKLEN.pack(len(address)))
    if guest_control:
        cage.mem.write(control, guest_control)
    cage.mem.write(msg + 20, struct.pack("<Ii", len(guest_control), out_flags & ~MSG_CMSG_CLOEXEC))
    return n


def sys_sendmsg(cage, fd, msg, flags, *_):
    return _sendmsg(cage, _socket_file(cage, fd), msg, s32(flags))


def sys_recvmsg(cage, fd, msg, flags, *_):
    return _recvmsg(cage, _socket_file(cage, fd), msg, s32(flags))


_MMSG_MAX = 1024    # UIO_MAXIOV: vlen is capped there


def _each_message(cage, fd: int, msgvec: int, vlen: int, flags: int, one, *,
                  wait_for_one: bool = False, deadline: float | None = None) -> int:
    """sendmmsg/recvmmsg: `one` on each mmsghdr, its msg_len set; stops at the first
    error (reported if nothing was done yet), at the deadline, and -- `wait_for_one`
    -- waits only for the first."""
    f = _socket_file(cage, fd)
    done = 0
    for i in range(min(u32(vlen), _MMSG_MAX)):
        at = msgvec + i * _MMSGHDR_SIZE
        at = ops.beside(msgvec, at, _MSGHDR.size)      # (in a grate's copy of it)
        try:
            n = one(cage, f, at, flags)
        except OSError:
            if done:
                return done
            raise
        cage.mem.write(at + _MSGHDR.size, _SOCKLEN.pack(n))
        done += 1
        if wait_for_one:
            flags |= MSG_DONTWAIT
        if deadline is not None and time.monotonic() >= deadline:
            break
    return done


def sys_sendmmsg(cage, fd, msgvec, vlen, flags, *_):
    return _each_message(cage, fd, msgvec, vlen, s32(flags), _sendmsg)


def sys_recvmmsg(cage, fd, msgvec, vlen, flags, timeout, *_):
    seconds = timespec_timeout(cage, timeout)
    flags = s32(flags)
    return _each_message(cage, fd, msgvec, vlen, flags & ~MSG_WAITFORONE, _recvmsg,
                         wait_for_one=bool(flags & MSG_WAITFORONE),
                         deadline=None if seconds is None else time.monotonic() + seconds)


# -- options ----------------------------------------------------------------------------

def _option_allowed(level: int, name: int) -> bool:
    return name in _OPTIONS.get(level, ())


def sys_setsockopt(cage, fd, level, name, value, length, *_):
    f = _socket_file(cage, fd)
    level, name, length = s32(level), s32(name), s32(length)
    if length < 0:
        raise abi.error(errno.EINVAL)
    if level == SOL_SOCKET and name in _TIMEOUTS:
        which, layout = _TIMEOUTS[name]
        if length < layout.size:
            raise abi.error(errno.EINVAL)
        sec, usec = layout.unpack(cage.mem.read(value, layout.size))
        if not 0 <= usec < 10**6:
            raise abi.error(errno.EDOM)
        f.set_timeout(which, None if sec < 0 or (sec, usec) == (0, 0) else sec + usec / 1e6)
        return 0
    if not _option_allowed(level, name):
        raise abi.error(errno.ENOPROTOOPT)
    if level == SOL_SOCKET and name == SO_LINGER:
        if length < _LINGER.size:
            raise abi.error(errno.EINVAL)
        _set_linger(f, *_LINGER.unpack(cage.mem.read(value, _LINGER.size)))
        return 0
    data = cage.mem.read(value, min(length, _OPTION_MAX))
    _unprivileged_setting(f, level, name, data)
    buffer = level == SOL_SOCKET and name in (SO_SNDBUF, SO_RCVBUF)
    before = _int_option(f.host_fd, SOL_SOCKET, name) if buffer else 0
    checked(libc.setsockopt(f.host_fd, level, name, data, len(data)))
    if buffer:
        _charge_buffers(cage, f, name, before)
    return 0


def _set_linger(f: SocketFile, on: int, seconds: int) -> None:
    """SO_LINGER: a lingering close waits in the host's kernel, on the thread that
    closes, until the queue drains or the time passes, and only a signal to that thread
    ends it -- a cage's host thread that no kill reaches, for as long as the cage asks.
    So the host socket gets the linger's one other effect only (on with no time: close
    resets the connection), and a close with a time ends as one without; the cage reads
    back what it set. (Linux keeps the time of a linger turned off.)"""
    checked(libc.setsockopt(f.host_fd, SOL_SOCKET, SO_LINGER,
                            _LINGER.pack(1 if on and not seconds else 0, 0), _LINGER.size))
    kept = seconds if on else f.linger[1] if f.linger else 0
    f.linger = (1 if on else 0, kept)


_TCP_CONGESTION, _SO_BUSY_POLL = 13, 46
_ALLOWED_CONGESTION = "/proc/sys/net/ipv4/tcp_allowed_congestion_control"


def _check_ip_options(data: bytes) -> None:
    """EINVAL for IPv4 options a process without CAP_NET_RAW may not send, walked as
    Linux's ip_options_compile walks them (what is malformed is the kernel's to say)."""
    at = 0
    while at < len(data):
        kind = data[at]
        if kind == 0:                  # IPOPT_END: the rest is padding
            return
        if kind == 1:                  # IPOPT_NOOP: one byte
            at += 1
            continue
        if at + 1 >= len(data) or not 2 <= data[at + 1] <= len(data) - at:
            return
        if kind not in _UNPRIVILEGED_IP_OPTIONS:
            raise abi.error(errno.EINVAL)
        at += data[at + 1]


def _unprivileged_setting(f: SocketFile, level: int, name: int, data: bytes) -> None:
    """EPERM for what Linux lets only CAP_NET_ADMIN set (Lind may run as root; a cage is
    an unprivileged process): a priority past 6, a congestion control the host does not
    allow unprivileged users (it may load a module), a longer busy poll than the socket
    has; EINVAL for IPv4 options that need CAP_NET_RAW."""
    if level == SOL_SOCKET and name == SO_PRIORITY and len(data) >= 4:
        if not 0 <= struct.unpack_from("<i", data)[0] <= 6:
            raise abi.error(errno.EPERM)
    elif level == SOL_SOCKET and name == _SO_BUSY_POLL and len(data) >= 4:
        wanted = struct.unpack_from("<i", data)[0]
        if wanted > _int_option(f.host_fd, SOL_SOCKET, _SO_BUSY_POLL):
            raise abi.error(errno.EPERM)
    elif level == IPPROTO_IP and name == IP_OPTIONS:
        _check_ip_options(data)
    elif level == IPPROTO_TCP and name == _TCP_CONGESTION:
        algorithm = data.split(b"\0", 1)[0]
        try:
            with open(_ALLOWED_CONGESTION, "rb") as allowed:
                permitted = allowed.read().split()
        except OSError:
            permitted = []
        if algorithm not in permitted:
            raise abi.error(errno.EPERM)


def _charge_buffers(cage, f: SocketFile, name: int, before: int) -> None:
    """After SO_SNDBUF/SO_RCVBUF (`before`: the size it had): a socket's buffers are the
    host kernel's memory, and the host lets each grow to twice wmem_max (8 MiB here)
    from 208 KiB: a cage's 2,000 socket pairs could hold 16 GB of it. What they grew
    past what the host first gave the socket counts in the tree's memory while the
    socket is open; when the budget has not that much, the size stays what it was
    (Linux, too, gives silently less than it is asked)."""
    with _buffers_lock:      # (a cage's threads may set one socket's at once)
        f.buffer_bases.setdefault(name, before)
        grown = sum(max(0, _int_option(f.host_fd, SOL_SOCKET, which) - base)
                    for which, base in f.buffer_bases.items())
        budget, held = f.buffer_charge or (cage.memory_budget, 0)
        try:
            if grown > held:
                budget.charge(grown - held)
            else:
                budget.release(held - grown)
        except OSError:          # the kernel keeps twice what it is asked
            checked(libc.setsockopt(f.host_fd, SOL_SOCKET, name,
                                    struct.pack("<i", before // 2), 4))
            return
        if f.buffer_charge is None:
            f.when_last_closed(lambda: _release_buffers(f))
        f.buffer_charge = (budget, grown)


_buffers_lock = threading.Lock()


def _release_buffers(f: SocketFile) -> None:
    with _buffers_lock:
        if f.buffer_charge is not None:
            budget, held = f.buffer_charge
            f.buffer_charge = None
            budget.release(held)


def sys_getsockopt(cage, fd, level, name, value, length_ptr, *_):
    f = _socket_file(cage, fd)
    level, name = s32(level), s32(name)
    given = s32(_SOCKLEN.unpack(cage.mem.read(length_ptr, 4))[0])
    if given < 0:
        raise abi.error(errno.EINVAL)
    if level == SOL_SOCKET and name in _TIMEOUTS:
        which, layout = _TIMEOUTS[name]
        seconds = f.timeouts[which] or 0.0
        out = layout.pack(int(seconds), round((seconds - int(seconds)) * 1e6))
    elif level == SOL_SOCKET and name == SO_PEERCRED:
        out = _peer_credentials(cage, f)
    elif level == SOL_SOCKET and name == SO_LINGER and f.linger is not None:
        out = _LINGER.pack(*f.linger)
    elif not _option_allowed(level, name):
        raise abi.error(errno.ENOPROTOOPT)
    else:
        buf = ctypes.create_string_buffer(max(min(given, _OPTION_MAX), 4))
        length = ctypes.c_uint32(min(given, _OPTION_MAX))
        checked(libc.getsockopt(f.host_fd, level, name, buf, ctypes.byref(length)))
        out = buf.raw[:length.value]
    cage.mem.write(value, out[:given])
    cage.mem.write(length_ptr, _SOCKLEN.pack(min(len(out), given)))
    return 0


def _credentials(cage) -> tuple[int, int, int]:
    return cage.id, cage.ids[1], cage.ids[3]


def _peer_credentials(cage, f: SocketFile) -> bytes:
    """struct ucred of the peer: the credentials its socket holds, found through the
    kernel's name for the peer (sock_diag): a connection not accepted yet has the
    listener's; pid 0 and ids -1 when there is no peer."""
    peer = _peer_of(f) if f.family == AF_UNIX else None
    pid, uid, gid = peer.credentials if peer and peer.credentials else (0, -1, -1)
    return struct.pack("<iii", pid, uid, gid)


_SOCK_DIAG_BY_FAMILY, _NETLINK_SOCK_DIAG = 20, 4
_UDIAG_SHOW_PEER, _UDIAG_SHOW_ICONS, _UNIX_DIAG_PEER, _UNIX_DIAG_ICONS = 4, 8, 2, 3
_NLMSG_ERROR = 2
_UNIX_DIAG_REQ = struct.Struct("=BBHIIIII")
_UNIX_DIAG_MSG = struct.Struct("=BBBBIII")
_RTATTR = struct.Struct("=HH")
# Sockets a cage listened on: where a connection not yet accepted is waiting.
_listening: weakref.WeakSet[SocketFile] = weakref.WeakSet()


def _unix_diag_answer(ino: int, show: int) -> tuple[int, bytes]:
    """sock_diag's answer about Unix socket `ino`: its message type (_NLMSG_ERROR
    for a socket that is not there) and the whole message; (0, b"") if none came."""
    request = _UNIX_DIAG_REQ.pack(AF_UNIX, 0, 0, 0xFFFFFFFF, ino, show, 0xFFFFFFFF, 0xFFFFFFFF)
    header = _NLMSGHDR.pack(_NLMSGHDR.size + len(request), _SOCK_DIAG_BY_FAMILY, 1, 1, 0)
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC,
                           _NETLINK_SOCK_DIAG) as diag:
            diag.send(header + request)
            answer = diag.recv(65536)
    except OSError:
        return 0, b""
    if len(answer) < _NLMSGHDR.size + 4:
        return 0, b""
    return _NLMSGHDR.unpack_from(answer)[1], answer


def _unix_diag(ino: int, show: int) -> dict[int, bytes]:
    """The attributes sock_diag gives for Unix socket `ino` ({} if it says nothing)."""
    kind, answer = _unix_diag_answer(ino, show)
    if kind != _SOCK_DIAG_BY_FAMILY or len(answer) < _NLMSGHDR.size + _UNIX_DIAG_MSG.size:
        return {}
    length = _NLMSGHDR.unpack_from(answer)[0]
    attrs, at, end = {}, _NLMSGHDR.size + _UNIX_DIAG_MSG.size, min(length, len(answer))
    while at + _RTATTR.size <= end:
        size, attr = _RTATTR.unpack_from(answer, at)
        if size < _RTATTR.size:
            break
        attrs[attr] = answer[at + _RTATTR.size:at + size]
        at += (size + 3) & ~3
    return attrs


def _peer_of(f: SocketFile) -> SocketFile | None:
    """The SocketFile at the other end of a connected Unix socket, if it is a cage's, or
    the one listening where the connection waits to be accepted."""
    st = os.fstat(f.host_fd)
    # The connection may be accepted between the two looks (then its peer has an
    # inode, registered once accept returns): look again, a few times.
    for _ in range(3):
        raw = _unix_diag(st.st_ino, _UDIAG_SHOW_PEER).get(_UNIX_DIAG_PEER, b"")
        if len(raw) < 4:
            return None
        found = _by_inode.get((st.st_dev, struct.unpack_from("=I", raw)[0]))
        if found is not None:
            return found
        # Not accepted yet (its peer has no inode): the listener whose queue names us.
        for listener in list(_listening):
            waiting = _unix_diag(os.fstat(listener.host_fd).st_ino, _UDIAG_SHOW_ICONS)
            icons = waiting.get(_UNIX_DIAG_ICONS, b"")
            if st.st_ino in struct.unpack(f"={len(icons) // 4}I", icons[:len(icons) // 4 * 4]):
                return listener
        time.sleep(0.001)
    return None


