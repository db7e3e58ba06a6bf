"""The network the cages of one Runtime share, and which one a process tree sees.

A tree's mode is chosen when it is started (`lind run --net`, `Runtime.spawn(net=)`):

- `private` (the default): Internet sockets are made in a network namespace of the
  Runtime's own, owned by a helper process (netns_helper.py) started at the first such
  socket. Only its loopback exists there, so the Runtime's cages reach each other on
  127.0.0.1 and ::1 and nothing else; `publish` opens a cage's port on the host.
  The host port is bound from `publish` on, and listens only while a cage socket of
  the network listens on the cage port (`cage_listens`), so a connection to it is
  refused whenever a native server's would be (before the server listens, after it
  closed its listener or ended), rather than accepted and then closed.
- `host`: the host's network as the Lind process sees it, as an unprivileged process
  would use it (no port below the host's unprivileged start, see sys_net).
- `none`: no Internet sockets (EACCES).

Unix-domain sockets work in every mode: path names are files in the cage's view, and
abstract names are private to the Runtime (each is prefixed with the Runtime's tag).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import socket
import struct
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

PRIVATE, HOST, NONE = "private", "host", "none"
MODES = (PRIVATE, HOST, NONE)
_HELPER = Path(__file__).with_name("netns_helper.py")
_REQUEST, _ANSWER = struct.Struct("<iiii"), struct.Struct("<i")
_STOCK_MAX = 16           # sockets made ahead, of all kinds together (netns_helper.MAX_BATCH)
_CONNECT_TIMEOUT = 10.0   # a published port's connection to the cage


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"bad network mode {mode!r}: one of {', '.join(MODES)}")
    return mode


def parse_publish(spec: str) -> tuple[int, int]:
    """"HOSTPORT:CAGEPORT" (as `docker run -p`) -> (host port, cage port)."""
    host, sep, cage = spec.partition(":")
    try:
        ports = int(host), int(cage if sep else host)
    except ValueError:
        raise ValueError(f"bad port mapping {spec!r}: HOSTPORT:CAGEPORT") from None
    if not all(0 < p < 65536 for p in ports):
        raise ValueError(f"bad port mapping {spec!r}: ports are 1 to 65535")
    return ports


class Network:
    """The network of one process tree (or of several given the same one): its mode,
    its private namespace (made when first needed), its abstract Unix-socket tag, and
    the host ports it publishes. `close` ends the helper and the published ports (a
    network that publishes none ends its helper when it is dropped, too)."""

    def __init__(self, mode: str = PRIVATE, publish: Sequence[tuple[int, int]] = ()) -> None:
        self.mode = check_mode(mode)
        if publish and mode != PRIVATE:
            raise ValueError("ports are published from the private network only")
        self.tag = b"lind-" + os.urandom(4).hex().encode() + b"/"
        # Names the kernel knows path-bound sockets by -> the guest's names for them.
        self.unix_names: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self._helper: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None
        self._refused: OSError | None = None
        self._published: list[_Published] = []
        # Cage ports a cage socket of this network listens on, and on how many.
        self._cage_listeners: dict[int, int] = {}
        # Private sockets the helper made ahead, by (family, type, protocol), and the
        # batch each kind asks for next (doubling while a program keeps making them).
        self._stock: dict[tuple[int, int, int], list[int]] = {}
        self._batch: dict[tuple[int, int, int], int] = {}
        weakref.finalize(self, _close_stock, self._stock)
        for host_port, cage_port in publish:
            self.publish(host_port, cage_port)

    def private_socket(self, family: int, kind: int, protocol: int) -> int:
        """A new host socket in the private namespace (close-on-exec, non-blocking). The
        helper makes them in batches that double while a program keeps making sockets of
        one kind, so a server's or client's loop pays its round trip once in 16; a fresh
        socket made a little ahead is the same as one made now."""
        key = (family, kind, protocol)
        with self._lock:
            stock = self._stock.setdefault(key, [])
            if not stock:
                others = sum(len(fds) for fds in self._stock.values())
                batch = self._batch.get(key, 1)
                self._batch[key] = min(2 * batch, _STOCK_MAX)
                stock.extend(self._ask_helper(key, max(min(batch, _STOCK_MAX - others), 1)))
            return stock.pop()

    def _ask_helper(self, key: tuple[int, int, int], count: int) -> list[int]:
        channel = self._channel or self._start_helper()
        channel.send(_REQUEST.pack(*key, count))
        answer, ancillary, _, _ = channel.recvmsg(
            _ANSWER.size, socket.CMSG_SPACE(count * 4), socket.MSG_CMSG_CLOEXEC)
        fds = [fd for level, kind, data in ancillary
               if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS
               for fd in struct.unpack(f"{len(data) // 4}i", data[:len(data) // 4 * 4])]
        if len(answer) != _ANSWER.size:
            _close_fds(fds)
            raise OSError(errno.EIO, "the private network's helper ended")
        err = _ANSWER.unpack(answer)[0]
        if err or not fds:
            _close_fds(fds)
            raise OSError(err or errno.EIO, os.strerror(err or errno.EIO))
        return fds

    def _start_helper(self) -> socket.socket:
        if self._refused is not None:
            raise self._refused
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._helper = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_HELPER), str(theirs.fileno()), str(os.getpid())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            theirs.close()
        ready = ours.recv(_ANSWER.size)
        err = _ANSWER.unpack(ready)[0] if len(ready) == _ANSWER.size else errno.EIO
        if err:
            ours.close()
            self._helper.wait()
            self._refused = OSError(errno.EACCES, "the private network is not available here "
                                        f"({os.strerror(err)} making a network namespace); "
                                        "use --net host or --net none")
            print(f"lind: {self._refused.strerror}", file=sys.stderr)
            raise self._refused
        self._channel = ours
        return ours

    def publish(self, host_port: int, cage_port: int, address: str = "127.0.0.1") -> int:
        """Forward connections to `address`:`host_port` on the host to `cage_port` on the
        private loopback, as `docker run -p`; the port bound (host_port 0: any free). It
        listens while a cage listens on `cage_port` (see the module doc)."""
        published = _Published(self, address, cage_port, _bound(address, host_port))
        with self._lock:
            self._published.append(published)
            if self._cage_listeners.get(cage_port):
                published.listen()
        return published.host_port

    def cage_listens(self, cage_port: int) -> Callable[[], None]:
        """A cage socket of this network listens on `cage_port` of its loopback: its
        published host ports listen too. Returns what to call once that socket is
        closed (its host ports stop listening when no other cage socket listens)."""
        with self._lock:
            self._cage_listeners[cage_port] = self._cage_listeners.get(cage_port, 0) + 1
            if self._cage_listeners[cage_port] == 1:
                for published in self._published:
                    if published.cage_port == cage_port:
                        published.listen()
        return functools.partial(self._cage_stopped_listening, cage_port)

    def _cage_stopped_listening(self, cage_port: int) -> None:
        with self._lock:
            left = self._cage_listeners.get(cage_port, 1) - 1
            if left > 0:
                self._cage_listeners[cage_port] = left
                return
            self._cage_listeners.pop(cage_port, None)
            for published in self._published:
                if published.cage_port == cage_port:
                    published.stop_listening()

    def _forward(self, outside: socket.socket, cage_port: int) -> None:
        try:
            inside = socket.socket(fileno=self.private_socket(socket.AF_INET, socket.SOCK_STREAM, 0))
            inside.settimeout(_CONNECT_TIMEOUT)
            inside.connect(("127.0.0.1", cage_port))
            inside.settimeout(None)
        except OSError:
            outside.close()
            return
        back = threading.Thread(target=_pump, args=(inside, outside), name="lind-forward",
                                daemon=True)
        back.start()
        _pump(outside, inside)
        back.join()
        outside.close()
        inside.close()

    def close(self) -> None:
        with self._lock:
            published, self._published = self._published, []
        for one in published:
            one.close()
        with self._lock:
            _close_stock(self._stock)
            if self._channel is not None:
                self._channel.close()
                self._channel = None
            if self._helper is not None:
                self._helper.wait()
                self._helper = None


def _close_fds(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def _close_stock(stock: dict[tuple[int, int, int], list[int]]) -> None:
    for fds in stock.values():
        _close_fds(fds)
        fds.clear()


class _Published:
    """A published port: the host socket bound to it, listening only between `listen`
    and `stop_listening`, with one thread accepting on it while it does.

    The socket keeps the port all along, so no other host program can take it while
    the cage does not listen: `stop_listening` ends the listening with shutdown (the
    socket goes back to bound, its port kept: bound to it by number, see _bound), and
    SO_REUSEADDR is off once it is bound. (A socket bound with it and not listening
    lets another one with it bind the same port and listen there first: with a fresh
    socket bound at each close, any host user could take the published port while the
    cage's listener was closed, and host clients then reached that user's program.)"""

    def __init__(self, network: Network, address: str, cage_port: int,
                 bound: socket.socket) -> None:
        self.network, self.address, self.cage_port = network, address, cage_port
        self.host_port = bound.getsockname()[1]
        self.sock: socket.socket | None = bound
        self.listening = False
        self._changed = threading.Condition()
        self._accepting: threading.Thread | None = None

    def listen(self) -> None:
        with self._changed:
            if self.sock is None or self.listening:
                return
            self.sock.listen()
            self.listening = True
            self._changed.notify_all()
            if self._accepting is None:
                self._accepting = threading.Thread(target=self._accept_forever,
                                                   name=f"lind-publish-{self.host_port}",
                                                   daemon=True)
                self._accepting.start()

    def stop_listening(self) -> None:
        with self._changed:
            if self.sock is None or not self.listening:
                return
            self.listening = False
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)   # bound again; wakes its accept()

    def close(self) -> None:
        with self._changed:
            sock, self.sock, self.listening = self.sock, None, False
            self._changed.notify_all()
        if sock is not None:
            _close_all([sock])

    def _accept_forever(self) -> None:
        """The one thread accepting on the port: it waits while the port does not
        listen (a cage closing and making listeners in a loop makes no thread)."""
        while True:
            with self._changed:
                while self.sock is not None and not self.listening:
                    self._changed.wait()
                sock = self.sock
            if sock is None:
                return
            try:
                outside, _ = sock.accept()
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.EBADF):   # not stopped: EMFILE...
                    with self._changed:
                        self._changed.wait(_ACCEPT_RETRY)
                continue
            threading.Thread(target=self.network._forward, args=(outside, self.cage_port),
                             name="lind-forward", daemon=True).start()


_ACCEPT_RETRY = 0.1     # seconds before accepting again after a failure (out of fds)


def _bound(address: str, port: int) -> socket.socket:
    """A TCP socket bound to `address`:`port` (0: any free), not listening, that no
    socket of another user may bind the port beside (see _Published).

    It is bound with SO_REUSEADDR (connections of an earlier run's listener left in
    TIME_WAIT do not hold the port, as socket.create_server has it) and by number (a
    free port is first found by a socket bound to port 0, of the same SO_REUSEPORT
    group, given up once this one holds it: a port bound as 0 is let go when its
    listening stops). One listen and its stop
    then leave the port's record saying its sockets may not share it, and SO_REUSEADDR
    goes off. SO_REUSEPORT, which lets only sockets of Lind's own user share a port,
    passes its connections' TIME_WAIT at the next listen: they have it too."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    finder = None
    sock = socket.socket(family)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if port == 0:     # held by `finder` alone until `sock` holds it so (its group)
            finder = socket.socket(family)
            finder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            finder.bind((address, 0))
            port = finder.getsockname()[1]
        sock.bind((address, port))
        sock.listen()
        sock.shutdown(socket.SHUT_RDWR)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    except BaseException:
        sock.close()
        raise
    finally:
        if finder is not None:
            finder.close()
    return sock


def _close_all(listeners: list[socket.socket]) -> None:
    for listener in listeners:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)   # wakes its accept()
        listener.close()
    listeners.clear()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy one direction of a forwarded connection until its end, then pass the end on."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
