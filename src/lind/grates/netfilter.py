"""netfilter: allow or refuse connect, bind and sendto by address and port."""

from __future__ import annotations

import errno
import ipaddress
import struct
from dataclasses import dataclass

from lind.grates import Call, Grate, handles
from lind.microvisor import sys_net
from lind.threei import ops

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6 = 0, 1, 2, 10
_SOCKADDR_MAX = 128          # sizeof(struct sockaddr_storage)
_MSGHDR = struct.Struct("<II20x")      # wasm32 struct msghdr: msg_name, msg_namelen, ...
_MMSGHDR_SIZE = _MSGHDR.size + 4       # struct mmsghdr adds unsigned msg_len

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Endpoint:
    """A decoded socket address: an IP address and port, or just a family (AF_UNIX...)."""

    family: int
    address: Address | None = None
    port: int | None = None


def decode_sockaddr(raw: bytes, *, unspecified_is_inet: bool = False) -> Endpoint:
    """struct sockaddr_in / sockaddr_in6 (other families: the family alone).

    IPv4-mapped IPv6 addresses come out as IPv4. ValueError if `raw` is too short for
    its family, as the kernel's EINVAL. With `unspecified_is_inet`, an AF_UNSPEC address
    long enough for a sockaddr_in is one: Linux takes it so in an IPv4 socket's bind
    (0.0.0.0 and its port) and in a UDP send (its address and port).
    """
    if len(raw) < 2:
        raise ValueError("address shorter than its family")
    family = int.from_bytes(raw[:2], "little")
    if family == AF_UNSPEC and unspecified_is_inet and len(raw) >= 16:
        family = AF_INET
    if family == AF_INET:
        if len(raw) < 16:
            raise ValueError("short sockaddr_in")
        return Endpoint(family, ipaddress.IPv4Address(raw[4:8]), int.from_bytes(raw[2:4], "big"))
    if family == AF_INET6:
        if len(raw) < 24:
            raise ValueError("short sockaddr_in6")
        address = ipaddress.IPv6Address(raw[8:24])
        port = int.from_bytes(raw[2:4], "big")
        return Endpoint(family, address.ipv4_mapped or address, port)
    return Endpoint(family)


@dataclass(frozen=True)
class Rule:
    """allow or deny a network (None: any address of any family) and a port range."""

    allow: bool
    network: Network | None = None
    ports: tuple[int, int] | None = None

    @classmethod
    def parse(cls, allow: bool, text: str) -> Rule:
        """`*`, `ADDR[/LEN]`, `ADDR[/LEN]:PORTS`, `[V6ADDR[/LEN]]:PORTS`, `*:PORTS`;
        PORTS is `N`, `N-M` or `*`."""
        host, ports = text, "*"
        if text.startswith("["):
            host, sep, rest = text[1:].partition("]")
            if not sep or (rest and not rest.startswith(":")):
                raise ValueError(f"bad address {text!r}")
            ports = rest[1:] or "*"
        elif text.count(":") == 1:
            host, ports = text.split(":")
        network = None if host == "*" else _network(host)
        return cls(allow, network, _port_range(ports))

    def matches(self, end: Endpoint) -> bool:
        if self.network is not None and (end.address is None
                                         or end.address.version != self.network.version
                                         or end.address not in self.network):
            return False
        if self.ports is None:
            return True
        return end.port is not None and self.ports[0] <= end.port <= self.ports[1]


_LOOPBACK = {4: ipaddress.IPv4Address("127.0.0.1"), 6: ipaddress.IPv6Address("::1")}


def reached(end: Endpoint) -> list[Endpoint]:
    """Where a connect or send to `end` may go. The kernel sends one to the unspecified
    address to this host: :: to ::1, or to 127.0.0.1 from a socket bound to an
    IPv4-mapped address; 0.0.0.0 (plain or mapped) to the address the socket is bound
    to, or 127.0.0.1, which is where netfilter sends it (see `to_loopback`). So rules
    for loopback hold for it."""
    if end.address is None or not end.address.is_unspecified:
        return [end]
    if end.address.version == 4:
        return [Endpoint(end.family, _LOOPBACK[4], end.port)]
    return [Endpoint(end.family, _LOOPBACK[6], end.port), Endpoint(end.family, _LOOPBACK[4], end.port)]


def to_loopback(raw: bytes, end: Endpoint) -> bytes:
    """`raw`, the sockaddr `end` was decoded from, with an unspecified IPv4 address
    (0.0.0.0, ::ffff:0.0.0.0) made 127.0.0.1: the kernel would send to the socket's
    bound address instead, which a rule for loopback does not cover (a socket bound to
    127.0.0.2 reached 127.0.0.2's denied port through 0.0.0.0)."""
    if end.address is None or end.address != ipaddress.IPv4Address(0):
        return raw
    if end.family == AF_INET6:          # ::ffff:0.0.0.0
        return raw[:20] + _LOOPBACK[4].packed + raw[24:]
    return raw[:4] + _LOOPBACK[4].packed + raw[8:]


def _network(text: str) -> Network:
    """ADDR[/LEN]. An IPv4-mapped IPv6 network is its IPv4 network: mapped addresses are
    decoded as IPv4, so as IPv6 the rule could never match. (A network address in
    ::ffff:0:0/96 has a prefix of at least 96: a shorter one clears a bit of the ffff.)"""
    network = ipaddress.ip_network(text, strict=False)
    mapped = network.network_address.ipv4_mapped if network.version == 6 else None
    if mapped is None:
        return network
    return ipaddress.IPv4Network((mapped, network.prefixlen - 96))


def _port_range(text: str) -> tuple[int, int] | None:
    if text == "*":
        return None
    low, _, high = text.partition("-")
    first, last = int(low), int(high or low)
    if not 0 <= first <= last <= 65535:
        raise ValueError(f"bad port range {text!r}")
    return first, last


class NetFilter(Grate):
    """Allow or refuse connect, bind and sendto by address and port (EACCES).

    `--grate netfilter:allow=127.0.0.1:8080,deny=*` — comma-separated rules, each
    `allow=WHERE` or `deny=WHERE`, tried in order, the first that matches decides;
    an address no rule matches is allowed. WHERE is `*` (anything, any family),
    `ADDR[/LEN]` (every port), `ADDR[/LEN]:PORTS`, `[IPV6[/LEN]]:PORTS` or `*:PORTS`,
    with PORTS `N`, `N-M` or `*`. An IPv4 rule also matches IPv4-mapped IPv6, and an
    IPv4-mapped rule (`[::ffff:10.0.0.0/104]`) is the IPv4 one (`10.0.0.0/8`).

    Filtered: connect and bind (their sockaddr), sendto with an address, sendmsg
    and sendmmsg (each message's msg_name), and listen on a socket not bound yet (the
    kernel binds it to 0.0.0.0 or :: and a free port: checked as a bind to port 0 of
    that address). struct sockaddr_in and sockaddr_in6 are
    decoded from the caller's memory (in a bind or a send, an AF_UNSPEC one as
    sockaddr_in, as Linux takes it there); a sockaddr too short for its family is
    EINVAL, as the kernel would say; other families (AF_UNIX) match `*` rules only. A
    refused call fails with EACCES; a connect or send to the unspecified address, which
    the kernel sends to this host, is checked as one to loopback (:: as ::1 and
    127.0.0.1) and an IPv4 one (0.0.0.0, ::ffff:0.0.0.0) made one to 127.0.0.1 (the
    kernel would send it to the socket's bound address). An allowed call goes to the
    layer below with the copy of the addresses that was checked: for sendmsg/sendmmsg
    the headers and the names together, each msg_name pointing into that copy (the
    microvisor reads msg_name from the memory its header is in).
    """

    name = "netfilter"

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = list(rules)

    @classmethod
    def from_args(cls, text: str) -> NetFilter:
        rules = []
        for item in filter(None, text.split(",")):
            verdict, sep, where = item.partition("=")
            if not sep or verdict not in ("allow", "deny"):
                raise ValueError(f"netfilter: {item!r} is not allow=WHERE or deny=WHERE")
            try:
                rules.append(Rule.parse(verdict == "allow", where))
            except ValueError as exc:
                raise ValueError(f"netfilter: bad rule {item!r}: {exc}") from None
        return cls(rules)

    def allows(self, end: Endpoint) -> bool:
        return next((r.allow for r in self.rules if r.matches(end)), True)

    def _checked(self, raw: bytes, kind: str) -> bytes | int:
        """The sockaddr `raw` as the layer below is to get it, or -errno: for a "connect",
        a "send" (where each goes) or a "bind" (the address it names)."""
        if not 0 <= len(raw) <= _SOCKADDR_MAX:
            return -errno.EINVAL
        try:
            # AF_UNSPEC in a connect disconnects: no address is reached.
            end = decode_sockaddr(raw, unspecified_is_inet=kind != "connect")
        except ValueError:
            return -errno.EINVAL
        if kind == "bind":
            return raw if self.allows(end) else -errno.EACCES
        if not all(map(self.allows, reached(end))):
            return -errno.EACCES
        return to_loopback(raw, end)

    def _address(self, call: Call, i: int, length: int, kind: str) -> int:
        """Check the sockaddr of argument `i`: 0 to pass it on as read (call.read keeps
        that copy for the layer below), the argument to pass instead, or -errno."""
        if not 0 <= length <= _SOCKADDR_MAX:
            return -errno.EINVAL
        raw = call.read(i, length)
        checked = self._checked(raw, kind)
        if isinstance(checked, int):
            return checked
        return 0 if checked == raw else call.put(checked)

    @handles("listen")
    def listen(self, call: Call) -> int:
        """A listen on a socket not bound yet binds it to the unspecified address and a
        free port first: refused (EACCES) where the rules refuse that bind (0.0.0.0:0,
        [::]:0), by the microvisor, which looks at the socket itself."""
        bound_only = sum(flag for flag, address in (
            (sys_net.LISTEN_BOUND_ONLY_INET, ipaddress.IPv4Address(0)),
            (sys_net.LISTEN_BOUND_ONLY_INET6, ipaddress.IPv6Address(0)))
            if not self.allows(Endpoint(AF_INET if address.version == 4 else AF_INET6, address, 0)))
        return call.forward(call.args[0], call.args[1], bound_only) if bound_only else call.forward()

    @handles("connect", "bind")
    def connect_or_bind(self, call: Call) -> int:
        return self._forward_checked(call, 1, call.args[2], call.name)

    @handles("sendto")
    def sendto(self, call: Call) -> int:
        if not call.args[4]:
            return call.forward()
        return self._forward_checked(call, 4, call.args[5], "send")

    def _forward_checked(self, call: Call, i: int, length: int, kind: str) -> int:
        verdict = self._address(call, i, length, kind)
        if verdict < 0:
            return verdict
        if verdict:      # (an Address: the checked address, made loopback)
            args = list(call.args[:i + 1])
            args[i] = verdict
            return call.forward(*args)
        return call.forward()

    @handles("sendmsg")
    def sendmsg(self, call: Call) -> int:
        return self._forward_messages(call, 1)

    @handles("sendmmsg")
    def sendmmsg(self, call: Call) -> int:
        count = min(call.args[2] & 0xFFFFFFFF, 1024)   # UIO_MAXIOV, as the kernel caps it
        return self._forward_messages(call, count, _MMSGHDR_SIZE)

    def _forward_messages(self, call: Call, count: int, stride: int = _MSGHDR.size) -> int:
        """sendmsg/sendmmsg: each header and the msg_name it points to are read once,
        checked, and passed down as one copy (headers first, then the names, each
        header's msg_name pointing at its own), which the microvisor reads msg_name from:
        the cage cannot change either between the check and the send (another thread
        did, and reached what the rules refuse)."""
        vector = call.args[1]
        if not count:
            return call.forward()
        # (a copy a grate above made of them, if it holds them, else the cage's memory)
        memory = call.cage.mem
        headers = bytearray(memory.read(ops.beside(vector, vector, count * stride),
                                        count * stride))
        names = bytearray()
        for at in range(0, len(headers), stride):
            name, namelen = _MSGHDR.unpack_from(headers, at)
            if not name or not namelen:     # (no address, to Linux as to the microvisor)
                continue
            if not 0 <= namelen <= _SOCKADDR_MAX:
                return -errno.EINVAL
            checked = self._checked(memory.read(ops.beside(vector, name, namelen), namelen),
                                    "send")
            if isinstance(checked, int):
                return checked
            put_at = int(vector) + len(headers) + len(names)
            if put_at + len(checked) > 0xFFFFFFFF:      # (a header at the 4 GiB end)
                return -errno.EFAULT
            struct.pack_into("<II", headers, at, put_at, len(checked))
            names += checked
        return call.forward(call.args[0], ops.snapshot(call.cage, bytes(headers + names),
                                                       int(vector)))
