"""The network a cage sees (`--net`, `net=`): a private loopback by default, the host's,
or none; published ports; Unix-domain names private to a network. The socket calls
themselves are compared with Linux in tests/programs/conformance/net_*.c."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

import lind


@contextlib.contextmanager
def host_server(greeting: bytes):
    """A TCP server on the host's 127.0.0.1 that greets whoever connects; its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    conn.sendall(greeting)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()


def probe(builds, *args, **kw) -> str:
    result = lind.run([builds.wasm("net/probe"), *map(str, args)], capture_output=True,
                      timeout=60, **kw)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


@pytest.mark.parametrize(("net", "expected"), [
    ("private", "connect {port}: errno 111\n"),                 # another loopback: refused
    ("host", "connect {port}: ok 0\ngot hello from the host\n"),
    ("none", "connect {port}: errno 9\n"),                      # socket() itself: EACCES
])
def test_only_the_host_network_reaches_the_hosts_loopback(builds, net, expected):
    with host_server(b"hello from the host") as port:
        assert probe(builds, "connect", port, net=net) == expected.format(port=port)


@pytest.mark.parametrize(("net", "expected"), [
    ("private", "socket inet: ok 0\nsocket inet6: ok 0\nsocket udp: ok 0\nsocket unix: ok 0\n"),
    ("host", "socket inet: ok 0\nsocket inet6: ok 0\nsocket udp: ok 0\nsocket unix: ok 0\n"),
    ("none", "socket inet: errno 13\nsocket inet6: errno 13\nsocket udp: errno 13\n"
             "socket unix: ok 0\n"),
])
def test_no_network_refuses_internet_sockets_only(builds, net, expected):
    assert probe(builds, "socket", "inet", "socket", "inet6", "socket", "udp", "socket", "unix",
                 net=net) == expected


def test_the_private_network_outlives_the_thread_that_made_it(builds, monkeypatch):
    """A child made the tree's first socket, so the network's helper was started from its
    host thread; that thread ended (parked, then let go) and with it the helper (its
    PR_SET_PDEATHSIG follows the thread that started it, not the process): every later
    socket of the tree failed with EPIPE (libuv's test suite lost its network halfway).
    The helper watches the Lind process now."""
    from lind.engine import stacks
    monkeypatch.setattr(stacks, "PARK_SECONDS", 0.05)   # parked host threads end soon
    result = lind.run([builds.wasm("net/first_socket_child"), "500"], capture_output=True,
                      timeout=60)
    assert (result.returncode, result.stdout.decode()) == (0, (
        "child socket ok\nudp socket ok\nbind ok\nsend to itself ok\nreceive ok\n"
        "got hi\n")), result.stderr


def test_a_private_network_asks_its_loopback_once_for_a_name(builds):
    """No resolver serves a private network, so a name not in /etc/hosts is asked of its
    loopback (where a program of the tree may serve DNS) once, not twice: musl's default
    of two attempts five seconds apart made every such lookup (libuv's tests resolve
    "example.invalid") take 5-10 s to fail."""
    result = lind.run([builds.wasm("net/dns_attempts")], capture_output=True, timeout=60)
    assert (result.returncode, result.stdout.decode()) == (
        0, "resolved: no\nlocalhost: yes\nqueries: 1\n"), result.stderr


def test_cages_get_what_an_unprivileged_process_gets(builds):
    """Lind may run as root: its cages still make no raw or ping sockets, and on the
    host's network bind no port below the unprivileged start (on their own loopback,
    any port: nobody else is there)."""
    expected = "socket raw: errno 1\nsocket ping: errno 13\nbind 80: {}\n"
    assert probe(builds, "socket", "raw", "socket", "ping", "bind", 80, net="host") == \
        expected.format("errno 13")
    assert probe(builds, "socket", "raw", "socket", "ping", "bind", 80) == \
        expected.format("ok 0")


def test_an_af_unspec_bind_on_the_host_s_network_takes_no_privileged_port():
    """Linux binds an IPv4 socket given an AF_UNSPEC address (0.0.0.0) to its port, and
    Lind may be root: with the host's network a cage bound port 80 so. Checked on the
    address the kernel would be given (no cage runs with the host's network here)."""
    from types import SimpleNamespace

    from lind.microvisor import sys_net

    cage = SimpleNamespace(network=SimpleNamespace(mode="host"))
    inet = SimpleNamespace(family=socket.AF_INET)
    unspec_80 = struct.pack("<H", 0) + struct.pack(">H", 80) + bytes(12)
    with pytest.raises(OSError) as refused:
        sys_net._host_address(cage, inet, unspec_80, binding=True)
    assert refused.value.errno == errno.EACCES
    free = unspec_80[:2] + struct.pack(">H", 40000) + unspec_80[4:]
    assert sys_net._host_address(cage, inet, free, binding=True) == (free, -1)


def _serving(builds, args: list, **kw) -> lind.Popen:
    server = lind.Popen([builds.wasm("net/probe"), *map(str, args)], stdout=lind.PIPE,
                        stderr=lind.PIPE, **kw)
    assert server.stdout.readline() == b"listening\n", server.stderr.read()
    return server


def test_a_published_port_reaches_the_cage_server(builds):
    with socket.socket() as probe_port:       # a free host port to publish
        probe_port.bind(("127.0.0.1", 0))
        host_port = probe_port.getsockname()[1]
    server = _serving(builds, ["serve", 8080], publish=[f"{host_port}:8080"])
    with socket.create_connection(("127.0.0.1", host_port), timeout=30) as c:
        c.sendall(b"through the published port")
        assert c.recv(100) == b"through the published port"
    assert server.wait(60) == 0
    assert server.stdout.read() == b"served 26\n"
    with pytest.raises(OSError):          # the port is closed with the run
        socket.create_connection(("127.0.0.1", host_port), timeout=5)


def test_a_published_port_refuses_while_nothing_in_the_cage_listens(builds):
    """A published port answers as a native server's port would: refused before the cage
    listens and after it closed its listener, served again once it listens again. It was
    listening from the start, and a connection then was accepted and closed at once:
    Redis's test of SHUTDOWN NOSAVE read an I/O error where it expected "connection
    refused"."""
    with socket.socket() as probe_port:
        probe_port.bind(("127.0.0.1", 0))
        host_port = probe_port.getsockname()[1]
    server = lind.Popen([builds.wasm("net/probe"), "wait", "0", "serve", "8080", "wait", "1",
                         "serve", "8080", "wait", "2"], stdin=lind.PIPE, stdout=lind.PIPE,
                        stderr=lind.PIPE, publish=[f"{host_port}:8080"])
    try:
        for _ in range(2):
            assert server.stdout.readline() == b"waiting\n"
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", host_port), timeout=30).close()
            server.stdin.write(b"go\n")
            server.stdin.flush()
            assert server.stdout.readline() == b"listening\n"
            with socket.create_connection(("127.0.0.1", host_port), timeout=30) as c:
                c.sendall(b"again")
                assert c.recv(100) == b"again"
            assert server.stdout.readline() == b"served 5\n"
        assert server.stdout.readline() == b"waiting\n"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", host_port), timeout=30).close()
        server.stdin.write(b"go\n")
        server.stdin.flush()
        assert server.wait(60) == 0
    finally:
        server.kill()
        server.wait()


def _taken_by_a_host_program(host_port: int) -> bool:
    """Whether another host program can bind 127.0.0.1:`host_port` and listen there
    (with SO_REUSEADDR, as most servers set it)."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            other.bind(("127.0.0.1", host_port))
            other.listen()
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE
            return False
        return True


@pytest.mark.parametrize("chosen", ["given", "any free"])
def test_no_host_program_takes_a_published_port_while_the_cage_does_not_listen(builds, chosen):
    """A published port stays Lind's while no cage socket listens on it: before the cage
    listens, and after it closed its listener. Its host socket was bound with
    SO_REUSEADDR and not listening then, which let any host user's program bind the
    port with SO_REUSEADDR too and listen there first: host clients of the published
    port reached that program, and the cage's next listen left the port to it. (A port
    published as 0, any free one, the same from its first bind.)"""
    shared = lind.Network()
    if chosen == "given":
        with socket.socket() as probe_port:
            probe_port.bind(("127.0.0.1", 0))
            host_port = probe_port.getsockname()[1]
        where = {"publish": [f"{host_port}:8080"]}
    else:
        host_port = shared.publish(0, 8080)
        where = {"net": shared}
    server = lind.Popen([builds.wasm("net/probe"), "wait", "0", "serve", "8080", "wait", "1",
                         "serve", "8080"], stdin=lind.PIPE, stdout=lind.PIPE,
                        stderr=lind.PIPE, **where)
    try:
        for _ in range(2):
            assert server.stdout.readline() == b"waiting\n"
            assert not _taken_by_a_host_program(host_port)
            server.stdin.write(b"go\n")
            server.stdin.flush()
            assert server.stdout.readline() == b"listening\n"
            assert not _taken_by_a_host_program(host_port)
            with socket.create_connection(("127.0.0.1", host_port), timeout=30) as c:
                c.sendall(b"lind")
                assert c.recv(100) == b"lind"
            assert server.stdout.readline() == b"served 4\n"
        assert server.wait(60) == 0
    finally:
        server.kill()
        server.wait()
        shared.close()


@pytest.mark.parametrize("isolate", [[], ["--isolate"]], ids=["plain", "isolated"])
def test_publish_through_the_cli(builds, isolate):
    """Also with Lind isolated: it keeps the host's network to listen on the port."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        host_port = free.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "lind", "run", *isolate, "--publish",
                             f"{host_port}:7000", builds.wasm("net/probe"), "serve", "7000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"listening\n"
    with socket.create_connection(("127.0.0.1", host_port), timeout=30) as c:
        c.sendall(b"cli")
        assert c.recv(10) == b"cli"
    assert proc.wait(60) == 0
    bad = subprocess.run([sys.executable, "-m", "lind", "run", "--net", "host", "--publish",
                          "1:2", builds.wasm("net/probe")], capture_output=True, text=True)
    assert bad.returncode == 2 and "--publish needs --net private" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "lind", "run", "--publish", "99999:1",
                          builds.wasm("net/probe")], capture_output=True, text=True)
    assert bad.returncode == 2 and "ports are 1 to 65535" in bad.stderr


def test_runs_have_networks_of_their_own_unless_they_share_one(builds):
    server = _serving(builds, ["serve", 9000])
    try:
        assert probe(builds, "connect", 9000) == "connect 9000: errno 111\n"
    finally:
        server.kill()
        server.wait(60)
    shared = lind.Network()
    try:
        server = _serving(builds, ["serve", 9000], net=shared)
        assert probe(builds, "connect", 9000, net=shared) == "connect 9000: ok 0\ngot hi\n"
        assert server.wait(60) == 0
    finally:
        shared.close()


def test_abstract_unix_names_are_private_to_a_network(builds):
    with socket.socket(socket.AF_UNIX) as host_side:
        host_side.bind(b"\0lind-test-host-name")
        host_side.listen()
        assert probe(builds, "abstract-connect", "lind-test-host-name") == \
            "abstract-connect lind-test-host-name: errno 111\n"
    server = _serving(builds, ["abstract-serve", "meeting-point"])
    try:
        assert probe(builds, "abstract-connect", "meeting-point") == \
            "abstract-connect meeting-point: errno 111\n"
    finally:
        server.kill()
        server.wait(60)
    shared = lind.Network("none")
    server = _serving(builds, ["abstract-serve", "meeting-point"], net=shared)
    assert probe(builds, "abstract-connect", "meeting-point", net=shared) == \
        "abstract-connect meeting-point: ok 0\ngot hello from the cage\n"
    assert server.wait(60) == 0


def test_bad_network_options_are_value_errors(builds):
    with pytest.raises(ValueError, match="bad network mode 'bridge'"):
        lind.run([builds.wasm("net/probe")], net="bridge")
    with pytest.raises(ValueError, match="published from the private network only"):
        lind.run([builds.wasm("net/probe")], net="host", publish=["8000:80"])


def test_interfaces_are_those_of_the_cages_network(builds, tmp_path):
    """getifaddrs: the private network has a loopback only; with the host's network the
    program lists what the same program lists natively; without a network, nothing."""
    private = probe_program(builds, "net/ifaddrs")
    assert private.stdout == b"lo 17 -\nlo 2 127.0.0.1\nlo 10 ::1\nindex 1 lo\n"
    native = subprocess.run([builds.native("net/ifaddrs")], capture_output=True, timeout=60)
    assert probe_program(builds, "net/ifaddrs", net="host").stdout == native.stdout
    none = probe_program(builds, "net/ifaddrs", net="none")
    assert none.returncode == 1 and b"getifaddrs" in none.stderr


def test_a_cage_cannot_change_the_network(builds):
    """Lind may run as root: a routing-netlink request that would set an interface down
    is refused (EPERM) on the host's network and on the private one."""
    for net in ("host", "private"):
        assert probe(builds, "netlink-down", "lo", net=net) == "netlink-down lo: errno 1\n"
    assert socket.if_nameindex()            # the host's interfaces are all still there


def probe_program(builds, name: str, **kw) -> subprocess.CompletedProcess:
    return lind.run([builds.wasm(name)], capture_output=True, timeout=60, **kw)


def test_names_resolve_from_the_cages_hosts_file(builds):
    out = probe_program(builds, "net/names", hostname="box").stdout.decode()
    assert out == ("hostname box\ngethostbyname 127.0.0.1\n")
    result = lind.run([builds.wasm("net/names"), "localhost", "box", "nowhere.invalid"],
                      capture_output=True, timeout=60, hostname="box")
    assert result.stdout.decode().splitlines()[:4] == [
        "localhost -> ::1", "localhost -> 127.0.0.1", "box -> 127.0.1.1",
        "nowhere.invalid: Try again"]


def test_netfilter_in_front_of_real_sockets(builds):
    """Allowed connections go through to a real server of the same network; denied
    ones get netfilter's EACCES without reaching it."""
    shared = lind.Network()
    try:
        server = _serving(builds, ["serve", 9100], net=shared)
        rules = "allow=127.0.0.1:9100,deny=*"
        out = probe(builds, "connect", 9101, "connect", 9100, net=shared,
                    grates=[f"netfilter:{rules}"])
        assert out == "connect 9101: errno 13\nconnect 9100: ok 0\ngot hi\n"
        assert server.wait(60) == 0
    finally:
        shared.close()


def test_the_private_network_needs_no_privileges():
    """Lind run by an ordinary user: the helper makes the namespace through a user
    namespace of its own, so even port 80 binds there, and the host cannot reach it.
    (As root, the check runs as nobody with the system's Python.)"""
    from lind.microvisor import network

    with tempfile.TemporaryDirectory() as where:     # one that nobody may enter
        work = Path(where)
        work.chmod(0o755)
        _check_helper_unprivileged(work, network)


def _check_helper_unprivileged(work: Path, network) -> None:
    for source in (Path(network.__file__).with_name("netns_helper.py"),
                   Path(__file__).with_name("net_helper_check.py")):
        shutil.copy(source, work / source.name)
    command = [sys.executable, str(work / "net_helper_check.py"), str(work / "netns_helper.py")]
    if os.geteuid() == 0:
        setpriv, python = shutil.which("setpriv"), shutil.which("python3", path="/usr/bin:/bin")
        assert setpriv and python, "as root this check needs setpriv and a system python3"
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", python,
                   *command[1:]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=work)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["ready 0", "bound 80 as uid " + (
        "65534" if os.geteuid() == 0 else str(os.getuid())), "talked x",
        "the host gets errno 111", "helper exit 0"]


def test_private_network_refused_by_the_kernel_fails_clearly(builds, tmp_path, monkeypatch):
    """Where namespaces are refused, Internet sockets are EACCES with a message saying
    why -- never a silent fall back to the host's network."""
    from lind.microvisor import network

    refuser = tmp_path / "refuse.py"
    refuser.write_text("import socket, struct, sys\n"
                       "socket.socket(fileno=int(sys.argv[1])).send(struct.pack('<i', 1))\n")
    monkeypatch.setattr(network, "_HELPER", refuser)
    result = lind.run([builds.wasm("net/probe"), "socket", "inet", "socket", "unix"],
                      capture_output=True, timeout=60)
    assert result.stdout == b"socket inet: errno 13\nsocket unix: ok 0\n"


def test_private_sockets_made_ahead_are_few_fresh_and_closed_with_the_network():
    """The helper makes sockets in batches (network.private_socket): each handed out is
    a new socket of the kind asked for; no more than 16 wait made ahead, of all kinds
    together; and those still waiting are closed with the network."""
    from lind.microvisor import network

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    net = network.Network()
    before = open_fds()
    kinds = [(socket.AF_INET, socket.SOCK_STREAM, 0), (socket.AF_INET, socket.SOCK_DGRAM, 0),
             (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP)]
    made = []
    try:
        for i in range(60):
            family, kind, protocol = kinds[i % 3 if i < 30 else 0]
            fd = net.private_socket(family, kind, protocol)
            made.append(fd)
            with socket.socket(fileno=os.dup(fd)) as s:
                assert (s.family, s.type) == (family, kind)
                assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            assert not os.get_blocking(fd) and not os.get_inheritable(fd)
            waiting = open_fds() - before - len(made) - 1    # less the helper's channel
            assert 0 <= waiting <= 16, waiting
        assert len(set(made)) == 60
    finally:
        for fd in made:
            os.close(fd)
        net.close()
    assert open_fds() == before
