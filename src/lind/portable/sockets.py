"""Sockets between the cages of one run of the cooperative runtime, with no host
socket: stream, datagram and (Unix) sequenced-packet sockets named in the tree (a
socket node) or in the abstract namespace, socketpair, and TCP and UDP on the run's own
loopback (127.0.0.0/8 and ::1; 0.0.0.0 and :: mean it too). Each direction of a stream
connection is a Pipe, so the run's pipe budget bounds what they hold and a wait for
data or room is a pipe's wait. A datagram or packet socket keeps the messages sent to
it in an inbox, SO_RCVBUF's worth (one message more may pass it, so that whether a
sender waits never depends on what it sends): a Unix sender then waits, UDP's
datagram is dropped, as Linux's; a packet connection's ends are each other's inbox.

Descriptors pass over Unix sockets (SCM_RIGHTS), in flight with the bytes or the
message they were sent with. A run has no network beyond its loopback: any other
address is ENETUNREACH.
"""

from __future__ import annotations

import errno
import stat
import struct
from collections import deque

from lind.microvisor import abi
from lind.microvisor.abi import s32, u32
from lind.portable import syscalls
from lind.portable.descriptions import Description, Pipe, PipeBudget
from lind.portable.memfs import Socket, Stat, Tree, writable

AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET = 1, 2, 5
SOCK_NONBLOCK, SOCK_CLOEXEC = 0o4000, 0o2000000
IPPROTO_TCP, IPPROTO_UDP = 6, 17
SOL_SOCKET = 1
SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_PEERCRED = 3, 4, 7, 8, 17
SO_ACCEPTCONN, SO_PROTOCOL, SO_DOMAIN = 30, 38, 39
MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT, MSG_WAITALL, MSG_NOSIGNAL = 0x2, 0x20, 0x40, 0x100, 0x4000
MSG_WAITFORONE, MSG_CTRUNC, MSG_CMSG_CLOEXEC = 0x10000, 0x8, 0x40000000
SCM_RIGHTS, SCM_CREDENTIALS, SCM_MAX_FD = 1, 2, 253
_CMSG = struct.Struct("<Iii")               # a wasm32 struct cmsghdr: len, level, type
_CONTROL_MAX = 65536                        # control data one call may carry
UDP_MAX = 65507                             # the largest UDP payload over IPv4
DATAGRAM_COST = 64                          # what a queued datagram costs besides its bytes
POLLRDHUP = 0x2000
SOMAXCONN = 4096
EPHEMERAL_PORTS = range(32768, 61000)        # Linux's ip_local_port_range
SOCKADDR_MAX = 128
SUN_PATH_MAX = 108
BUFFER_SIZE = 212992                        # what SO_SNDBUF and SO_RCVBUF say by default
_MSGHDR = struct.Struct("<IIIIIIi")        # a wasm32 struct msghdr
# options kept and read back as set (an int, or SO_LINGER's pair, or a timeval)
_KEPT = {(SOL_SOCKET, n) for n in (2, 6, 9, 10, 13, 15, 16, 18, 19)} | {
    (IPPROTO_TCP, n) for n in (1, 4, 5, 6)}
_WIDE = {(SOL_SOCKET, 13): 8}              # SO_LINGER's pair
# SO_RCVTIMEO and SO_SNDTIMEO, as a 32-bit libc's two longs and as two 64-bit numbers
_TIMEOUTS = {20: (0, struct.Struct("<ii")), 21: (1, struct.Struct("<ii")),
             66: (0, struct.Struct("<qq")), 67: (1, struct.Struct("<qq"))}


def _inet_key(family: int, raw: bytes) -> tuple[int, int, bool]:
    """(family, port, loopback) of a sockaddr_in or sockaddr_in6."""
    if family == AF_INET:
        if len(raw) < 16:
            raise OSError(errno.EINVAL, "Invalid argument")
        port, host = struct.unpack_from(">H4s", raw, 2)
        return family, port, host[0] == 127 or host == bytes(4)
    if len(raw) < 24:
        raise OSError(errno.EINVAL, "Invalid argument")
    port = struct.unpack_from(">H", raw, 2)[0]
    host = raw[8:24]
    return family, port, host in (bytes(15) + b"\1", bytes(16))


def _inet_name(family: int, port: int) -> bytes:
    """The loopback address `port` as a sockaddr of `family`."""
    if family == AF_INET:
        return struct.pack("<H", AF_INET) + struct.pack(">H", port) + bytes([127, 0, 0, 1]) + bytes(8)
    return (struct.pack("<H", AF_INET6) + struct.pack(">HI", port, 0) + bytes(15) + b"\1"
            + bytes(4))


class Network:
    """The names a run's sockets are bound to: ("unix", node), ("abstract", name) or
    (family, port) -> the endpoint holding it."""

    def __init__(self, budget: PipeBudget) -> None:
        self.budget = budget
        self.bound: dict[tuple, Endpoint] = {}
        self._autobound = 0

    def claim(self, key: tuple, endpoint: Endpoint) -> None:
        if key in self.bound:
            raise OSError(errno.EADDRINUSE, "Address already in use")
        self.bound[key] = endpoint
        endpoint.key = key

    def free_port(self, family: int, kind: int) -> int:
        for port in EPHEMERAL_PORTS:
            if (family, port, kind) not in self.bound:
                return port
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    def autobind_name(self) -> bytes:
        """Linux's name for a Unix socket bound to nothing: five hex digits, abstract."""
        while True:
            self._autobound += 1
            name = b"\0" + f"{self._autobound:05x}".encode()
            if ("abstract", name) not in self.bound:
                return name

    def listener(self, key: tuple) -> Endpoint:
        found = self.bound.get(key)
        if found is None or found.backlog is None:
            raise OSError(errno.ECONNREFUSED, "Connection refused")
        return found


class Endpoint(Description):
    """A stream socket: bound to a name or not, listening (a backlog of connections
    made to it, not yet accepted) or connected (a Pipe each way)."""

    def __init__(self, network: Network, family: int, flags: int = 0,
                 kind: int = SOCK_STREAM) -> None:
        super().__init__(abi.O_RDWR | (flags & abi.O_NONBLOCK))
        self.network = network
        self.family = family
        self.kind = kind
        # a datagram socket's: data, sender, descriptions passed with it
        self.inbox: deque[tuple[bytes, bytes, list[Description]]] = deque()
        self.inbox_bytes = 0
        self.peer_key: tuple | None = None        # a connected datagram socket's peer
        self.timeouts = [0.0, 0.0]                # SO_RCVTIMEO, SO_SNDTIMEO (0: none)
        self.pid = 0          # who made it, or listens on it (SO_PEERCRED of its peer)
        self.peer_pid = 0     # its peer's (0: none)
        self.name = struct.pack("<H", family)     # its own sockaddr (unbound: the family)
        self.peer = b""                            # the peer's, once connected
        self.key: tuple | None = None
        self.incoming: Pipe | None = None
        self.outgoing: Pipe | None = None
        self.reading = self.writing = False       # its ends of incoming and outgoing
        self.backlog: deque[Endpoint] | None = None
        self.backlog_limit = 0
        self.options: dict[tuple[int, int], bytes] = {}
        self.reset = False       # TCP: a write found the peer gone (it answered RST)
        self.partner: Endpoint | None = None      # a connected SOCK_SEQPACKET's other end

    @property
    def connected(self) -> bool:
        return self.incoming is not None or self.partner is not None

    @property
    def datagrams(self) -> bool:
        return self.kind == SOCK_DGRAM

    @property
    def packets(self) -> bool:
        return self.kind == SOCK_SEQPACKET

    @property
    def messages(self) -> bool:
        """Whether what it receives keeps its boundaries (datagrams, packets)."""
        return self.kind != SOCK_STREAM

    def at_end(self) -> bool:
        """A packet connection no more can come from: shut, or the other end's shut."""
        return not self.reading or self.partner is None or not self.partner.writing

    @property
    def nonblocking(self) -> bool:
        return bool(self.flags & abi.O_NONBLOCK)

    def join(self, other: Endpoint) -> None:
        """Connect this endpoint and `other`: a pipe each way (packets: each other's
        inbox)."""
        if self.packets:
            self.partner, other.partner = other, self
            self.reading = self.writing = other.reading = other.writing = True
            return
        there, back = Pipe(self.network.budget), Pipe(self.network.budget)
        self.outgoing = other.incoming = there
        self.incoming = other.outgoing = back
        for end in (self, other):
            end.incoming.readers += 1
            end.outgoing.writers += 1
            end.reading = end.writing = True

    # -- data -----------------------------------------------------------------------
    def read(self, n: int) -> bytes | None:
        if self.messages:
            got = self.take_datagram(self.nonblocking, False)
            return None if got is None else got[0][:n]
        return self.receive(n, self.nonblocking)

    def take_datagram(self, nonblock: bool, peek: bool,
                      rights: list[Description] | None = None) -> tuple[bytes, bytes] | None:
        """The next datagram (all of it) and its sender's name, the descriptions that came
        with it added to `rights` (or let go); None: wait for one. A packet connection
        at its end gives b"" (and an unconnected one ENOTCONN)."""
        if self.packets and not self.connected:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        if not self.inbox:
            if self.packets and self.at_end():
                return b"", b""
            if nonblock:
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            return None
        if peek:
            return self.inbox[0][:2]
        data, sender, passed = self.inbox.popleft()
        self.inbox_bytes -= len(data) + DATAGRAM_COST
        self.network.budget.used -= len(data) + DATAGRAM_COST
        _hand_over(passed, rights)
        return data, sender

    def autobind(self) -> None:
        """An Internet socket sending or connecting unbound takes an ephemeral port."""
        if self.key is None and self.family != AF_UNIX:
            port = self.network.free_port(self.family, self.kind)
            self.network.claim((self.family, port, self.kind), self)
            self.name = _inet_name(self.family, port)

    def send_datagram(self, data: bytes, key: tuple, nonblock: bool,
                      rights: list[Description] = ()) -> int | None:
        """One datagram to whoever holds `key`; None: a Unix receiver is full, wait."""
        if len(data) > (BUFFER_SIZE - DATAGRAM_COST if self.family == AF_UNIX else UDP_MAX):
            raise OSError(errno.EMSGSIZE, "Message too long")
        self.autobind()
        target = self.network.bound.get(key)
        if target is None or not target.datagrams:
            if self.family == AF_UNIX:
                raise OSError(errno.ECONNREFUSED, "Connection refused")
            return len(data)                     # UDP: nobody there, the datagram is lost
        if target.deliver(data, self.name, list(rights)):
            return len(data)
        if self.family != AF_UNIX:
            _hand_over(list(rights), None)           # dropped, and what it carried
            return len(data)
        if nonblock:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        return None

    def room_at(self, key: tuple | None) -> bool:
        """Whether a datagram to `key` would not wait (UDP never does)."""
        target = self.network.bound.get(key) if key is not None else None
        return (self.family != AF_UNIX or target is None or not target.datagrams
                or target.has_room())

    def has_room(self) -> bool:
        """Whether its inbox takes one more message, of any size: the inbox may pass
        SO_RCVBUF (and the run's budget) by one message, so that whether a sender waits
        never depends on what it sends, as poll's POLLOUT cannot."""
        return self.inbox_bytes < BUFFER_SIZE and self.network.budget.room() > 0

    def deliver(self, data: bytes, sender: bytes, rights: list[Description]) -> bool:
        """Queue a datagram unless the socket (or the run) has no room for it."""
        cost = len(data) + DATAGRAM_COST
        if not self.has_room():
            return False
        self.inbox.append((data, sender, rights))
        self.inbox_bytes += cost
        self.network.budget.used += cost
        return True

    def receive(self, n: int, nonblock: bool, peek: bool = False,
                rights: list[Description] | None = None) -> bytes | None:
        """Up to `n` bytes of the stream, never past bytes that carry descriptions
        (SCM_RIGHTS) unless they are the first: those come with them, into `rights` (or
        let go, for a plain read)."""
        if not self.connected:
            raise OSError(errno.EINVAL if self.backlog is not None else errno.ENOTCONN,
                          "Transport endpoint is not connected")
        if not self.reading:
            return b""
        pipe = self.incoming
        at = pipe.taken
        if pipe.rights:                # a read stops where other descriptions come
            first = pipe.rights[0][0]
            if first > at:
                n = min(n, first - at)
            elif len(pipe.rights) > 1:
                n = min(n, pipe.rights[1][0] - at)
        data = pipe.take(n, nonblock, peek)
        if data and not peek and pipe.rights and pipe.rights[0][0] == at:
            _hand_over(pipe.rights.popleft()[1], rights)
        return data

    def write(self, data: bytes) -> int | None:
        if self.datagrams:
            if self.peer_key is None:
                raise OSError(errno.ENOTCONN if self.family == AF_UNIX else errno.EDESTADDRREQ,
                              "Transport endpoint is not connected")
            return self.send_datagram(data, self.peer_key, self.nonblocking)
        return self.send(data, self.nonblocking)

    def send_packet(self, data: bytes, nonblock: bool,
                    rights: list[Description] = ()) -> int | None:
        """One packet into the other end's inbox; EPIPE once either side is shut."""
        if not self.connected:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        if not self.writing or not self.partner.reading:
            raise OSError(errno.EPIPE, "Broken pipe")
        if len(data) > BUFFER_SIZE - DATAGRAM_COST:
            raise OSError(errno.EMSGSIZE, "Message too long")
        if self.partner.deliver(data, b"", list(rights)):
            return len(data)
        if nonblock:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        return None

    def send(self, data: bytes, nonblock: bool, rights: list[Description] = ()) -> int | None:
        if self.packets:
            return self.send_packet(data, nonblock, rights)
        if not self.connected:
            raise OSError(errno.EPIPE if self.family != AF_UNIX else errno.ENOTCONN,
                          "Transport endpoint is not connected")
        if not self.writing:
            raise OSError(errno.EPIPE, "Broken pipe")
        if self.outgoing.readers == 0 and self.family != AF_UNIX and not self.reset:
            self.reset = True            # TCP takes one write before the peer's RST
            return len(data)
        at = self.outgoing.given
        sent = self.outgoing.put(data, nonblock)
        if sent and rights:
            self.outgoing.rights.append((at, list(rights)))
        return sent

    def pending(self) -> int:
        """FIONREAD: bytes waiting to be read (a datagram socket: the next datagram's)."""
        if self.messages:
            return len(self.inbox[0][0]) if self.inbox else 0
        if self.backlog is not None:
            raise OSError(errno.EINVAL, "Invalid argument")
        return len(self.incoming.buffer) if self.incoming is not None else 0

    def ready(self, events: int) -> int:
        if self.datagrams:
            found = events & abi.POLLIN if self.inbox else 0
            return found | (events & abi.POLLOUT if self.room_at(self.peer_key) else 0)
        if self.backlog is not None:
            return events & abi.POLLIN if self.backlog else 0
        if not self.connected:
            return abi.POLLOUT & events | abi.POLLHUP
        if self.packets:
            ended, partner = self.at_end(), self.partner
            found = events & abi.POLLIN if self.inbox or ended else 0
            if not self.writing or not partner.reading or partner.has_room():
                found |= events & abi.POLLOUT
            return found | (abi.POLLHUP if ended and not partner.reading else 0)
        found = 0
        if not self.reading or self.incoming.can_take():
            found |= events & abi.POLLIN
            if not self.reading or self.incoming.writers == 0:
                found |= events & POLLRDHUP
        if not self.writing or self.outgoing.can_put():
            found |= events & abi.POLLOUT
        if (not self.reading or self.incoming.writers == 0) and (
                not self.writing or self.outgoing.readers == 0):
            found |= abi.POLLHUP
        return found

    def shutdown(self, how: int) -> None:
        if how not in (0, 1, 2):
            raise OSError(errno.EINVAL, "Invalid argument")
        if not self.connected:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        if how in (0, 2) and self.reading:
            self.reading = False
            if not self.packets:
                self.incoming.drop(reader=True)
        if how in (1, 2) and self.writing:
            self.writing = False
            if not self.packets:
                self.outgoing.drop(reader=False)

    # -- description ----------------------------------------------------------------
    def stat(self) -> Stat:
        return Stat(0x736F636B, id(self) & 0xFFFFFFFF, 1, stat.S_IFSOCK | 0o777, 0, 0, 0,
                    0, 0, 0)

    def closed(self) -> None:
        while self.inbox:
            self.take_datagram(True, False)
        if self.connected:
            self.shutdown(2)
        if self.backlog is not None:           # connections nobody accepted: reset
            while self.backlog:
                self.backlog.popleft().closed()
            self.backlog = None
        if self.key is not None and self.network.bound.get(self.key) is self:
            del self.network.bound[self.key]


def _hand_over(passed: list[Description], into: list[Description] | None) -> None:
    """Descriptions that came with a message: to the receiver's list, or let go."""
    if into is not None:
        into.extend(passed)
    else:
        for description in passed:
            description.release()


# -- addresses --------------------------------------------------------------------------
def _address(proc, addr: int, length: int) -> bytes:
    length = s32(length)
    if length < 2 or length > SOCKADDR_MAX:
        raise OSError(errno.EINVAL, "Invalid argument")
    return proc.read(addr, length)


def _family(raw: bytes) -> int:
    return struct.unpack_from("<H", raw)[0]


def _unix_name(proc, raw: bytes) -> tuple[str | None, bytes]:
    """(path in the tree, None for an abstract name) and the name as sockaddr_un holds it."""
    body = raw[2:2 + SUN_PATH_MAX]
    if body[:1] == b"\0":
        return None, body
    path = body.split(b"\0", 1)[0]
    if not path:
        raise OSError(errno.ENOENT, "No such file or directory")
    return syscalls.full_path(proc, abi.AT_FDCWD, path), path + b"\0"


def _write_address(proc, addr: int, length_at: int, name: bytes) -> None:
    """Copy `name` to a sockaddr buffer as accept and getsockname do: truncated to the
    room the caller gave, the full length written back."""
    if not addr:
        return
    (room,) = struct.unpack("<i", proc.read(length_at, 4))
    if room < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    proc.write(addr, name[:room])
    proc.write(length_at, struct.pack("<I", len(name)))


def _endpoint(proc, fd: int) -> Endpoint:
    d = proc.description(fd)
    if not isinstance(d, Endpoint):
        raise OSError(errno.ENOTSOCK, "Socket operation on non-socket")
    return d


def _network(proc) -> Network:
    return proc.runtime.network


def _split_type(kind: int, protocol: int, family: int) -> tuple[int, int]:
    """(SOCK_* type, SOCK_NONBLOCK|SOCK_CLOEXEC flags) of socket()'s type argument."""
    kind = u32(kind)
    flags = kind & (SOCK_NONBLOCK | SOCK_CLOEXEC)
    base = kind & ~flags
    if family not in (AF_UNIX, AF_INET, AF_INET6):
        raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
    if base not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, 3):
        raise OSError(errno.EINVAL, "Invalid argument")
    if base not in (SOCK_STREAM, SOCK_DGRAM) and not (base == SOCK_SEQPACKET
                                                      and family == AF_UNIX):
        raise OSError(errno.ESOCKTNOSUPPORT, "no such sockets on this runtime")
    native = 0 if family == AF_UNIX else IPPROTO_TCP if base == SOCK_STREAM else IPPROTO_UDP
    if s32(protocol) not in (0, native):
        raise OSError(errno.EPROTONOSUPPORT, "Protocol not supported")
    return base, flags


def _install(proc, endpoint: Endpoint, flags: int) -> int:
    endpoint.pid = endpoint.pid or proc.pid
    return proc.install(endpoint, bool(flags & SOCK_CLOEXEC))


# -- calls ------------------------------------------------------------------------------
def sys_socket(proc, family, kind, protocol, *_):
    family = s32(family)
    base, flags = _split_type(kind, protocol, family)
    return _install(proc, Endpoint(_network(proc), family,
                                   abi.O_NONBLOCK if flags & SOCK_NONBLOCK else 0, base), flags)


def sys_socketpair(proc, family, kind, protocol, sv, *_):
    family = s32(family)
    if family != AF_UNIX:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")
    base, flags = _split_type(kind, protocol, family)
    nonblock = abi.O_NONBLOCK if flags & SOCK_NONBLOCK else 0
    network = _network(proc)
    one, two = Endpoint(network, family, nonblock, base), Endpoint(network, family, nonblock, base)
    if base == SOCK_DGRAM:              # each other's peer, by an abstract name of its own
        for end in (one, two):
            name = network.autobind_name()
            network.claim(("abstract", name), end)
            end.name = struct.pack("<H", AF_UNIX) + name
        one.peer_key, two.peer_key = two.key, one.key
        one.peer, two.peer = two.name, one.name
    else:
        one.join(two)
    one.peer_pid = two.peer_pid = proc.pid
    first = _install(proc, one, flags)
    try:
        second = _install(proc, two, flags)
    except OSError:
        proc.close(first)
        raise
    try:
        proc.write(sv, struct.pack("<ii", first, second))
    except OSError:
        proc.close(first)
        proc.close(second)
        raise
    return 0


def sys_bind(proc, fd, addr, length, *_):
    endpoint = _endpoint(proc, fd)
    raw = _address(proc, addr, length)
    if _family(raw) != endpoint.family:
        raise OSError(errno.EAFNOSUPPORT if endpoint.family != AF_UNIX else errno.EINVAL,
                      "Address family not supported by protocol")
    if endpoint.key is not None:
        raise OSError(errno.EINVAL, "Invalid argument")
    network = _network(proc)
    if endpoint.family == AF_UNIX:
        if len(raw) == 2:                              # autobind
            name = network.autobind_name()
            network.claim(("abstract", name), endpoint)
        else:
            path, name = _unix_name(proc, raw)
            if path is None:
                network.claim(("abstract", name), endpoint)
            else:
                _bind_path(proc, endpoint, path)
        endpoint.name = raw[:2] + name
        return 0
    family, port, loopback = _inet_key(endpoint.family, raw)
    if not loopback:
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
    port = port or network.free_port(family, endpoint.kind)
    network.claim((family, port, endpoint.kind), endpoint)
    endpoint.name = _with_port(raw, port)
    return 0


def _with_port(raw: bytes, port: int) -> bytes:
    size = 16 if _family(raw) == AF_INET else 28
    raw = raw[:size].ljust(size, b"\0")
    return raw[:2] + struct.pack(">H", port) + raw[4:]


def _bind_path(proc, endpoint: Endpoint, path: str) -> None:
    tree: Tree = proc.runtime.tree
    found = tree.find(path, follow=False)
    if found.node is not None:
        raise OSError(errno.EADDRINUSE, "Address already in use")
    if not found.name:
        raise OSError(errno.EINVAL, "Invalid argument")
    writable(found.parent)       # (a read-only mount's directory took the name)
    node = tree.new(found.parent, found.name, Socket, 0o777 & ~proc.umask)
    _network(proc).claim(("unix", node), endpoint)


def sys_listen(proc, fd, backlog, *_):
    endpoint = _endpoint(proc, fd)
    if endpoint.datagrams:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")
    if endpoint.connected:
        raise OSError(errno.EINVAL, "Invalid argument")
    if endpoint.key is None:
        if endpoint.family == AF_UNIX:
            raise OSError(errno.EINVAL, "Invalid argument")
        endpoint.autobind()
    backlog = s32(backlog)
    endpoint.backlog_limit = SOMAXCONN if backlog < 0 else max(1, min(backlog, SOMAXCONN))
    endpoint.pid = proc.pid
    if endpoint.backlog is None:
        endpoint.backlog = deque()
    return 0


def _name_key(proc, endpoint: Endpoint, raw: bytes) -> tuple[tuple, bytes | None]:
    """The key the name `raw` is bound under, and the name a peer there shows (None: a
    Unix socket's, as it was bound; loopback's address, not 0.0.0.0)."""
    if _family(raw) != endpoint.family:
        raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
    if endpoint.family == AF_UNIX:
        path, name = _unix_name(proc, raw)
        if path is None:
            return ("abstract", name), None
        node = proc.runtime.tree.lookup(path)
        if not isinstance(node, Socket):
            raise OSError(errno.ECONNREFUSED, "Connection refused")
        return ("unix", node), None
    family, port, loopback = _inet_key(endpoint.family, raw)
    if not loopback:
        raise OSError(errno.ENETUNREACH, "Network is unreachable (a run has only its loopback)")
    return (family, port, endpoint.kind), _inet_name(family, port)


def _target(proc, endpoint: Endpoint, raw: bytes) -> tuple[Endpoint, bytes]:
    """The listening endpoint a connect to `raw` reaches, and its name as the peer's."""
    key, shown = _name_key(proc, endpoint, raw)
    listener = _network(proc).listener(key)
    return listener, shown if shown is not None else listener.name


def sys_connect(proc, fd, addr, length, *_):
    endpoint = _endpoint(proc, fd)
    if endpoint.connected:
        raise OSError(errno.EISCONN, "Transport endpoint is already connected")
    if endpoint.backlog is not None:
        raise OSError(errno.EINVAL, "Invalid argument")
    raw = _address(proc, addr, length)
    if endpoint.datagrams:              # only where its datagrams go, and whose it takes
        key, shown = _name_key(proc, endpoint, raw)
        target = _network(proc).bound.get(key)
        if endpoint.family == AF_UNIX and (target is None or not target.datagrams):
            raise OSError(errno.ECONNREFUSED, "Connection refused")
        endpoint.autobind()
        endpoint.peer_key, endpoint.peer = key, shown if shown is not None else target.name
        return 0
    listener, peer = _target(proc, endpoint, raw)
    if listener.kind != endpoint.kind:
        raise OSError(errno.EPROTOTYPE, "Protocol wrong type for socket")
    if len(listener.backlog) >= listener.backlog_limit:
        if endpoint.nonblocking:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        proc.runtime.wait_until(
            proc, lambda: listener.backlog is None
            or len(listener.backlog) < listener.backlog_limit, "a connection to be accepted")
        if listener.backlog is None:
            raise OSError(errno.ECONNREFUSED, "Connection refused")
    network = _network(proc)
    endpoint.autobind()                                        # the client's own port
    accepted = Endpoint(network, endpoint.family, kind=endpoint.kind)
    accepted.pid, endpoint.peer_pid, accepted.peer_pid = listener.pid, listener.pid, proc.pid
    endpoint.join(accepted)
    endpoint.peer, accepted.name, accepted.peer = peer, peer, endpoint.name
    listener.backlog.append(accepted)
    return 0


def sys_accept4(proc, fd, addr, length_at, flags, *_):
    flags = u32(flags)
    if flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC):
        raise OSError(errno.EINVAL, "Invalid argument")
    listener = _endpoint(proc, fd)
    if listener.datagrams:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")
    if listener.backlog is None:
        raise OSError(errno.EINVAL, "Invalid argument")
    if not listener.backlog:
        if listener.nonblocking:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        syscalls.blocking(proc, listener, abi.POLLIN,
                          lambda: listener.backlog[0] if listener.backlog else None,
                          "a connection", listener.timeouts[0])
    accepted = listener.backlog[0]
    accepted.refs += 1       # EMFILE drops the reference install was given: it stays queued
    fd = _install(proc, accepted, flags)
    listener.backlog.popleft()
    accepted.refs -= 1
    if flags & SOCK_NONBLOCK:
        accepted.flags |= abi.O_NONBLOCK
    _write_address(proc, addr, length_at, accepted.peer)
    return fd


def sys_accept(proc, fd, addr, length_at, *_):
    return sys_accept4(proc, fd, addr, length_at, 0)


def sys_shutdown(proc, fd, how, *_):
    _endpoint(proc, fd).shutdown(s32(how))
    return 0


def sys_getsockname(proc, fd, addr, length_at, *_):
    _write_address(proc, addr, length_at, _endpoint(proc, fd).name)
    return 0


def sys_getpeername(proc, fd, addr, length_at, *_):
    endpoint = _endpoint(proc, fd)
    if not endpoint.connected:
        raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
    _write_address(proc, addr, length_at, endpoint.peer)
    return 0


def _send(proc, endpoint: Endpoint, data: bytes, flags: int, to: bytes = b"",
          rights: list[Description] = ()) -> int:
    """A write, send, sendto or sendmsg (with the descriptions `rights`): to the name
    `to` (a datagram socket's), or the peer; SIGPIPE unless MSG_NOSIGNAL; EAGAIN after
    SO_SNDTIMEO."""
    nonblock = endpoint.nonblocking or bool(flags & MSG_DONTWAIT)
    try:
        if endpoint.datagrams:
            key = _name_key(proc, endpoint, to)[0] if to else endpoint.peer_key
            if key is None:
                raise OSError(errno.ENOTCONN if endpoint.family == AF_UNIX
                              else errno.EDESTADDRREQ, "Destination address required")
            sent = endpoint.send_datagram(data, key, nonblock, rights)
            while sent is None:
                proc.runtime.wait_until(proc, lambda: endpoint.room_at(key), "room in a socket")
                sent = endpoint.send_datagram(data, key, nonblock, rights)
            return sent
        if to and endpoint.connected:
            raise OSError(errno.EISCONN, "Transport endpoint is already connected")
        return syscalls.blocking(proc, endpoint, abi.POLLOUT,
                                 lambda: endpoint.send(data, nonblock, rights),
                                 "room in a socket", endpoint.timeouts[1])
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise syscalls.broken_pipe(proc, signal=not flags & MSG_NOSIGNAL) from None
        raise


def _receive(proc, endpoint: Endpoint, n: int, flags: int,
             rights: list[Description] | None = None) -> tuple[bytes, int, bytes]:
    """A read, recv, recvfrom or recvmsg: (the bytes, the length the call answers, the
    sender's name). A datagram comes whole or cut to `n` (the call answers its full
    length under MSG_TRUNC); a stream waits for all `n` under MSG_WAITALL."""
    nonblock = endpoint.nonblocking or bool(flags & MSG_DONTWAIT)
    peek = bool(flags & MSG_PEEK)
    timeout = endpoint.timeouts[0]
    if endpoint.messages:
        data, sender = syscalls.blocking(
            proc, endpoint, abi.POLLIN, lambda: endpoint.take_datagram(nonblock, peek, rights),
            "a datagram", timeout)
        return data, len(data) if flags & MSG_TRUNC else min(n, len(data)), sender
    if flags & MSG_WAITALL and not nonblock and not peek and endpoint.incoming is not None:
        incoming = endpoint.incoming          # all n at once: nothing taken before a wait
        proc.runtime.wait_until(
            proc, lambda: not endpoint.reading or len(incoming.buffer) >= n
            or incoming.writers == 0, "input")
    data = syscalls.blocking(proc, endpoint, abi.POLLIN,
                             lambda: endpoint.receive(n, nonblock, peek, rights), "input",
                             timeout)
    return data, len(data), b""


def sys_sendto(proc, fd, buf, length, flags, addr, addr_length):
    endpoint = _endpoint(proc, fd)
    to = _address(proc, addr, addr_length) if addr else b""
    data = proc.read(buf, min(u32(length), syscalls.MAX_IO))
    return _send(proc, endpoint, data, u32(flags), to)


def sys_recvfrom(proc, fd, buf, length, flags, addr, length_at):
    endpoint = _endpoint(proc, fd)
    room = min(u32(length), syscalls.MAX_IO)
    data, answer, sender = _receive(proc, endpoint, room, u32(flags))
    proc.write(buf, data[:room])
    if addr:                                # a stream socket says no sender
        _write_address(proc, addr, length_at, sender)
    return answer


def _passed(proc, endpoint: Endpoint, control: int, length: int) -> list[Description]:
    """The descriptions a sendmsg's SCM_RIGHTS names, each one reference more (in flight
    until received); EBADF for an fd not open, EINVAL for a malformed header or more
    than SCM_MAX_FD; credentials are Linux's own (accepted, not sent)."""
    raw = proc.read(control, min(u32(length), _CONTROL_MAX))
    fds: list[int] = []
    at = 0
    while at + _CMSG.size <= len(raw):
        size, level, kind = _CMSG.unpack_from(raw, at)
        if size < _CMSG.size or at + size > len(raw):
            raise OSError(errno.EINVAL, "Invalid argument")
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            count = (size - _CMSG.size) // 4
            fds += struct.unpack_from(f"<{count}i", raw, at + _CMSG.size)
        elif not (level == SOL_SOCKET and kind == SCM_CREDENTIALS):
            raise OSError(errno.EINVAL, "Invalid argument")
        at += (size + 3) & ~3
    if fds and endpoint.family != AF_UNIX:
        raise OSError(errno.EOPNOTSUPP, "descriptors pass only over Unix sockets")
    if len(fds) > SCM_MAX_FD:
        raise OSError(errno.EINVAL, "Invalid argument")
    passed = [proc.description(fd) for fd in fds]
    for description in passed:
        description.refs += 1
    return passed


def _send_message(proc, endpoint: Endpoint, msg: int, flags: int) -> int:
    name, name_length, iov, iovlen, control, control_length, _ = _MSGHDR.unpack(
        proc.read(msg, _MSGHDR.size))
    to = _address(proc, name, name_length) if name else b""
    parts, room = [], syscalls.MAX_IO
    for base, n in syscalls.iovecs(proc, iov, iovlen):
        parts.append(proc.read(base, min(n, room)))
        room -= len(parts[-1])
    rights = _passed(proc, endpoint, control, control_length) if control_length else []
    try:
        return _send(proc, endpoint, b"".join(parts), flags, to, rights)
    except BaseException:              # not sent (or set aside, to be sent again)
        _hand_over(rights, None)
        raise


def _received(proc, rights: list[Description], control: int, room: int,
              flags: int) -> tuple[int, int]:
    """Install the descriptions that came (close-on-exec under MSG_CMSG_CLOEXEC) and
    write their SCM_RIGHTS header into the control buffer: (its length, MSG_CTRUNC
    when some did not fit and were let go)."""
    if not rights:
        return 0, 0
    fit = max(0, (room - _CMSG.size) // 4)
    kept, lost = rights[:fit], rights[fit:]
    _hand_over(lost, None)
    fds = []
    for description in kept:
        try:
            fds.append(proc.install(description, bool(flags & MSG_CMSG_CLOEXEC)))
        except OSError:              # EMFILE: install let it go; the rest go too
            lost.append(description)
    if not fds:
        return 0, MSG_CTRUNC
    size = _CMSG.size + 4 * len(fds)
    proc.write(control, _CMSG.pack(size, SOL_SOCKET, SCM_RIGHTS) + struct.pack(
        f"<{len(fds)}i", *fds))
    return (size + 3) & ~3, MSG_CTRUNC if lost else 0


def _receive_message(proc, endpoint: Endpoint, msg: int, flags: int) -> int:
    name, name_room, iov, iovlen, control, control_room, _ = _MSGHDR.unpack(
        proc.read(msg, _MSGHDR.size))
    vecs = syscalls.iovecs(proc, iov, iovlen)
    room = min(sum(n for _, n in vecs), syscalls.MAX_IO)
    rights: list[Description] = []
    data, answer, sender = _receive(proc, endpoint, room, flags, rights)
    control_length, truncated = _received(proc, rights, control, u32(control_room), flags)
    at = 0
    for base, n in vecs:
        proc.write(base, data[at:min(at + n, room)])
        at += n
    if name and sender:
        proc.write(name, sender[:name_room])
    header = bytearray(proc.read(msg, _MSGHDR.size))
    struct.pack_into("<I", header, 4, len(sender) if name else 0)   # msg_namelen
    struct.pack_into("<I", header, 20, control_length)       # msg_controllen
    struct.pack_into("<i", header, 24, (MSG_TRUNC if len(data) > room else 0) | truncated)
    proc.write(msg, bytes(header))
    return answer


def sys_sendmsg(proc, fd, msg, flags, *_):
    return _send_message(proc, _endpoint(proc, fd), msg, u32(flags))


def sys_recvmsg(proc, fd, msg, flags, *_):
    return _receive_message(proc, _endpoint(proc, fd), msg, u32(flags))


_MMSGHDR = _MSGHDR.size + 4          # a struct mmsghdr: the msghdr, then msg_len


def _each_message(proc, vec: int, count: int, flags: int, one) -> int:
    """sendmmsg and recvmmsg: `one(header, flags)` for each struct mmsghdr in turn, its
    msg_len written back; the count done, or the first one's error (a later one's
    error, or a wait, ends the call with what was done). Past the first message,
    MSG_WAITFORONE waits no more."""
    done = 0
    for i in range(min(u32(count), 1024)):
        at = u32(vec) + i * _MMSGHDR
        try:
            n = one(at, flags)
        except (OSError, syscalls.Suspend):
            if done:
                break
            raise
        proc.write(at + _MSGHDR.size, struct.pack("<I", n))
        done += 1
        if flags & MSG_WAITFORONE:
            flags |= MSG_DONTWAIT
    return done


def sys_sendmmsg(proc, fd, vec, count, flags, *_):
    endpoint = _endpoint(proc, fd)
    return _each_message(proc, vec, count, u32(flags) & ~MSG_WAITFORONE,
                         lambda at, f: _send_message(proc, endpoint, at, f))


def sys_recvmmsg(proc, fd, vec, count, flags, timeout, *_):
    endpoint = _endpoint(proc, fd)
    return _each_message(proc, vec, count, u32(flags),
                         lambda at, f: _receive_message(proc, endpoint, at, f))


def _option_default(endpoint: Endpoint, level: int, name: int) -> bytes | None:
    if level == SOL_SOCKET:
        protocol = 0 if endpoint.family == AF_UNIX else (
            IPPROTO_UDP if endpoint.datagrams else IPPROTO_TCP)
        values = {SO_TYPE: endpoint.kind, SO_ERROR: 0, SO_DOMAIN: endpoint.family,
                  SO_ACCEPTCONN: int(endpoint.backlog is not None), SO_PROTOCOL: protocol,
                  SO_SNDBUF: BUFFER_SIZE, SO_RCVBUF: BUFFER_SIZE}
        if name in values:
            return struct.pack("<i", values[name])
        if name == SO_PEERCRED:           # pid, uid, gid: the run's root; none: 0, -1, -1
            peer = endpoint.peer_pid
            return struct.pack("<iii", peer, 0 if peer else -1, 0 if peer else -1)
    if (level, name) in _KEPT:
        return bytes(_WIDE.get((level, name), 4))
    return None


def _check_option(endpoint: Endpoint, level: int, name: int) -> None:
    if level == IPPROTO_TCP and endpoint.family == AF_UNIX:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")
    if level not in (SOL_SOCKET, IPPROTO_TCP, 0, 41):
        raise OSError(errno.ENOPROTOOPT, "Protocol not available")


def sys_setsockopt(proc, fd, level, name, value, length, *_):
    endpoint = _endpoint(proc, fd)
    level, name, length = s32(level), s32(name), s32(length)
    _check_option(endpoint, level, name)
    if level == SOL_SOCKET and name in _TIMEOUTS:
        which, layout = _TIMEOUTS[name]
        if length < layout.size:
            raise OSError(errno.EINVAL, "Invalid argument")
        sec, usec = layout.unpack(proc.read(value, layout.size))
        if sec < 0 or not 0 <= usec < 10**6:
            raise OSError(errno.EDOM, "Numerical argument out of domain")
        endpoint.timeouts[which] = sec + usec / 1e6
        return 0
    if (level, name) in ((SOL_SOCKET, SO_SNDBUF), (SOL_SOCKET, SO_RCVBUF)) or (
            level, name) in _KEPT:
        size = _WIDE.get((level, name), 4)
        if length < size:
            raise OSError(errno.EINVAL, "Invalid argument")
        endpoint.options[(level, name)] = proc.read(value, size)
        return 0
    raise OSError(errno.ENOPROTOOPT, "Protocol not available")


def sys_getsockopt(proc, fd, level, name, value, length_at, *_):
    endpoint = _endpoint(proc, fd)
    level, name = s32(level), s32(name)
    _check_option(endpoint, level, name)
    current = endpoint.options.get((level, name)) or _option_default(endpoint, level, name)
    if level == SOL_SOCKET and name in _TIMEOUTS:
        which, layout = _TIMEOUTS[name]
        seconds = endpoint.timeouts[which]
        current = layout.pack(int(seconds), round(seconds % 1 * 1e6))
    if current is None:
        raise OSError(errno.ENOPROTOOPT, "Protocol not available")
    if (level, name) in ((SOL_SOCKET, SO_SNDBUF), (SOL_SOCKET, SO_RCVBUF)) and \
            (level, name) in endpoint.options:                 # Linux doubles what was set
        current = struct.pack("<i", 2 * struct.unpack("<i", current)[0])
    (room,) = struct.unpack("<i", proc.read(length_at, 4))
    if room < 0:
        raise OSError(errno.EINVAL, "Invalid argument")
    proc.write(value, current[:room])
    proc.write(length_at, struct.pack("<I", min(room, len(current))))
    return 0


syscalls.register({
    "socket": (41, sys_socket), "connect": (42, sys_connect), "accept": (43, sys_accept),
    "sendto": (44, sys_sendto), "recvfrom": (45, sys_recvfrom), "sendmsg": (46, sys_sendmsg),
    "recvmsg": (47, sys_recvmsg), "shutdown": (48, sys_shutdown), "bind": (49, sys_bind),
    "listen": (50, sys_listen), "getsockname": (51, sys_getsockname),
    "getpeername": (52, sys_getpeername), "socketpair": (53, sys_socketpair),
    "setsockopt": (54, sys_setsockopt), "getsockopt": (55, sys_getsockopt),
    "accept4": (288, sys_accept4), "recvmmsg": (299, sys_recvmmsg),
    "sendmmsg": (307, sys_sendmmsg),
})
