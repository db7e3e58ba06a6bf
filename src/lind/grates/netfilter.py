"""netfilter: allow or refuse connect, bind and sendto by address and port."""

from __future__ import annotations

import errno
import ipaddress
import struct
from collections.abc import Callable
from dataclasses import dataclass

from lind.grates import Call, Grate, handles

AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
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


def decode_sockaddr(raw: bytes) -> Endpoint:
    """struct sockaddr_in / sockaddr_in6 (other families: the family alone).

    IPv4-mapped IPv6 addresses come out as IPv4. ValueError if `raw` is too short for
    its family, as the kernel's EINVAL.
    """
    if len(raw) < 2:
        raise ValueError("address shorter than its family")
    family = int.from_bytes(raw[:2], "little")
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


def reached(end: Endpoint) -> Endpoint:
    """Where a connect or send to `end` goes: the kernel sends one to the unspecified
    address (0.0.0.0, ::) to this host's loopback (or to the address the socket was
    bound to, which the rules checked at its bind), so rules for loopback hold for it."""
    if end.address is not None and end.address.is_unspecified:
        return Endpoint(end.family, _LOOPBACK[end.address.version], end.port)
    return end


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
    and sendmmsg (each message's msg_name). struct sockaddr_in and sockaddr_in6 are
    decoded from the caller's memory; a sockaddr too short for its family is EINVAL,
    as the kernel would say; other families (AF_UNIX) match `*` rules only. A refused
    call fails with EACCES; a connect or send to the unspecified address (0.0.0.0, ::),
    which the kernel sends to this host, is checked as one to loopback (127.0.0.1, ::1);
    an allowed one goes to the layer below unchanged (connect,
    bind and sendto pass down the copy of the address that was checked; the msg_name
    of sendmsg/sendmmsg sits inside the caller's header and is read again below).
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

    def _verdict(self, read: Callable[[int], bytes], length: int, *,
                 destination: bool = True) -> int:
        """0 to let the call pass, or -errno for the sockaddr `read(length)` gives: where
        a connect or send goes (`destination`), or the address a bind names."""
        if not 0 <= length <= _SOCKADDR_MAX:
            return -errno.EINVAL
        try:
            end = decode_sockaddr(read(length))
        except ValueError:
            return -errno.EINVAL
        if destination:
            end = reached(end)
        return 0 if self.allows(end) else -errno.EACCES

    @handles("connect", "bind")
    def connect_or_bind(self, call: Call) -> int:
        # call.read keeps what was checked: the layer below gets that copy.
        return self._verdict(lambda n: call.read(1, n), call.args[2],
                             destination=call.name == "connect") or call.forward()

    @handles("sendto")
    def sendto(self, call: Call) -> int:
        if not call.args[4]:
            return call.forward()
        return self._verdict(lambda n: call.read(4, n), call.args[5]) or call.forward()

    @handles("sendmsg")
    def sendmsg(self, call: Call) -> int:
        return self._check_messages(call, call.args[1], 1, _MSGHDR.size) or call.forward()

    @handles("sendmmsg")
    def sendmmsg(self, call: Call) -> int:
        count = min(call.args[2] & 0xFFFFFFFF, 1024)   # UIO_MAXIOV, as the kernel caps it
        return self._check_messages(call, call.args[1], count, _MMSGHDR_SIZE) or call.forward()

    def _check_messages(self, call: Call, vector: int, count: int, stride: int) -> int:
        # msg_name points into the same memory as the header that holds it.
        memory = getattr(vector, "memory", call.cage.mem)
        for i in range(count):
            name, namelen = _MSGHDR.unpack(memory.read(vector + i * stride, _MSGHDR.size))
            if name:
                verdict = self._verdict(lambda n, name=name: memory.read(name, n), namelen)
                if verdict:
                    return verdict
        return 0
