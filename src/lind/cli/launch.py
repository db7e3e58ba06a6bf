"""The `lind` executable. `lind run` is handed to a start-up server when one is running
for this user and this exact process identity: it has Python, wasmtime and the
microvisor imported already, and forks a child per run that takes this process's
stdio, working directory, environment, umask and signal state, so a short run starts in
tens of milliseconds instead of the ~150 ms of importing them (see server.py). When no
server answers, this process starts one in the background and runs the program
itself, as it always could; LIND_NO_SERVER=1 always runs in this process.

This module runs before anything else on every `lind` command, so it imports only
what Python has loaded at start (os, sys) and C modules: no `socket`, `signal` or
`re`, each of which costs 10-15 ms to import on these machines.
"""

from __future__ import annotations

import _signal
import _socket
import os
import sys
from _blake2 import blake2b

from lind.hostdirs import private_to_user

TYPE_CHECKING = False               # typing by name, not imported (5 ms)
if TYPE_CHECKING:
    from typing import NoReturn

PROTOCOL = b"lind-server-1"
SO_PEERPIDFD = 77                   # Linux 6.5: a pidfd of the process at the other end
RUN, STATUS, STOP = b"R", b"?", b"Q"   # what a client asks: the last two for `lind server`
STARTED, ENDED = b"P", b"S"          # the server's messages: a pid, a wait status, and
COUNT = b"N"                        # for STATUS and STOP after its pid, the runs it took
MESSAGE_SIZE = 5                    # one byte of kind, then a little-endian int32
FORWARDED = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH",
             "SIGCONT")   # what lind passes to its program, and SIGCONT for a stopped run
SERVER_CODE = "import sys; sys.path.pop(0); from lind.cli.server import main; main()"
_ENV_AT_START = ("LIND_", "PYTHON", "LANG", "LC_")   # environment a server is started with,
_ENV_PER_RUN = ("LIND_CACHE", "LIND_CACHE_SIZE", "LIND_DEBUG", "LIND_DEBUG_TRAPS",  # but for
                "LIND_NO_SERVER")                  # these, which Lind reads only when it runs
_PROC_STATUS = (b"Uid:", b"Gid:", b"Groups:", b"CapInh:", b"CapPrm:", b"CapEff:", b"CapBnd:",
                b"CapAmb:", b"NoNewPrivs:", b"Seccomp:", b"Seccomp_filters:",
                b"Cpus_allowed_list:", b"Mems_allowed_list:")


def console() -> NoReturn:
    """`lind ...`: `lind run` through a server where one answers, anything else here."""
    argv = sys.argv[1:]
    if argv[:1] == ["server"]:
        sys.exit(server_command(argv[1:]))
    if argv[:1] == ["run"] and not os.environ.get("LIND_NO_SERVER"):
        status = run_through_server(argv)
        if status is not None:
            _exit_as(status)
    from lind.cli.main import console as in_this_process

    in_this_process()


def server_dir() -> str | None:
    """This user's directory for the servers' logs and failure notes, made private if
    new; None when it is not a directory only this user can enter (another user could
    read a log, or stop servers from starting)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"
    return private_to_user(os.path.join(base, f"lind-servers-{os.geteuid()}"))


def identity(process: bytes | None = None) -> str:
    """A digest of everything a process inherits that decides what it may do and which
    Lind it runs: a server serves only runs whose identity is the one it was started
    with (its credentials, capabilities, seccomp filters, cgroup, namespaces, root,
    limits, CPUs, priority, security label: process_identity, which the server checks
    of each client itself; and Python, Lind's code, the environment read at import).
    What a run may set for itself (stdio, directory, environment, umask, signals) is
    sent with each run instead."""
    digest = blake2b(digest_size=16)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest.update(f"{PROTOCOL!r}\0{sys.executable}\0{sys.version}\0{package}\0".encode())
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".so")):
                st = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}:{st.st_mtime_ns}:{st.st_size}\0".encode())
    for key in sorted(os.environ):
        if key.startswith(_ENV_AT_START) and key not in _ENV_PER_RUN:
            digest.update(f"{key}={os.environ[key]}\0".encode())
    digest.update(process_identity() if process is None else process)
    return digest.hexdigest()


def process_identity(pid: int = 0) -> bytes:
    """What the kernel lets process `pid` (0: this one) do, as /proc shows it. The key in
    a server's socket name is the client's word only: anyone who reads /proc/net/unix
    can name it, so the server compares this of each client with its own (a process
    under a seccomp filter, in a chroot or another mount namespace, without
    capabilities, is another identity). OSError: not readable (the process is gone, or
    not dumpable)."""
    proc = f"/proc/{pid or 'self'}"
    with open(f"{proc}/status", "rb") as f:
        parts = [b"".join(line for line in f if line.startswith(_PROC_STATUS))]
    for name in ("cgroup", "limits", "oom_score_adj", "attr/current"):
        try:
            with open(f"{proc}/{name}", "rb") as f:
                parts.append(f.read())
        except OSError:
            if pid and not os.path.isdir(proc):
                raise
            parts.append(b"-")
    for ns in sorted(os.listdir(f"{proc}/ns")):
        parts.append(os.readlink(f"{proc}/ns/{ns}").encode())
    root = os.stat(f"{proc}/root")
    parts.append(f"{root.st_dev}:{root.st_ino}:{os.getpriority(os.PRIO_PROCESS, pid)}".encode())
    return b"\0".join(parts)


def peer_identity(sock: _socket.socket) -> bytes | None:
    """process_identity of the process at the other end of `sock`, read through a pidfd
    of it (SO_PEERPIDFD) and taken only if that process was alive throughout, so that
    its pid was not reused meanwhile; None if that cannot be told."""
    try:
        pidfd = sock.getsockopt(_socket.SOL_SOCKET, SO_PEERPIDFD)
    except OSError:
        return None
    try:
        with open(f"/proc/self/fdinfo/{pidfd}", "rb") as f:
            pid = next((int(line.split()[1]) for line in f if line.startswith(b"Pid:")), 0)
        if pid <= 0:                    # gone, or in a pid namespace out of sight
            return None
        seen = process_identity(pid)
        _signal.pidfd_send_signal(pidfd, 0)
        return seen
    except (OSError, ValueError, IndexError):
        return None
    finally:
        os.close(pidfd)


def address(folder: str, key: str) -> bytes:
    """The socket of KEY's server for FOLDER's runs: an abstract name, out of every
    cage's reach (Lind gives each Runtime's abstract names a prefix of its own, and a
    cage reaches host sockets only by path); SO_PEERCRED tells each end the other runs
    as this user. The folder's digest in it keeps the servers of two XDG_RUNTIME_DIRs
    (two test sessions, say) apart."""
    place = blake2b(folder.encode(), digest_size=6).hexdigest()
    return f"\0lind-server-{os.geteuid()}-{place}-{key}".encode()


def connect(folder: str, key: str, to_run: bytes | None = None) -> _socket.socket | None:
    """A connection to KEY's server, if one of this user's answers (`to_run`: this
    process's process_identity, which the server's must be to be handed a run)."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.connect(address(folder, key))
        if _is_ours(sock, to_run):
            return sock
    except OSError:
        pass
    sock.close()
    return None


def run_through_server(argv: list[str]) -> int | None:
    """The wait status of `lind ARGV` run by this identity's server, or None when no
    server took it (one is then started for the next run)."""
    stdio = _open_stdio()
    folder = server_dir()
    if folder is None:
        return None
    own = process_identity()
    key = identity(own)
    sock = connect(folder, key, to_run=own)
    if sock is None:
        start_server(folder, key)
        return None
    try:
        return _run(sock, argv, stdio)
    finally:
        sock.close()


def _is_ours(sock: _socket.socket, to_run: bytes | None) -> bool:
    """The process at the other end runs as this user, and to be handed a run with this
    process's identity too: a process allowed less that took the name first (binding it
    is open to anyone in the network namespace) would get the run's stdio, directory
    and environment."""
    creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    if int.from_bytes(creds[4:8], "little") != os.geteuid():
        return False
    return to_run is None or peer_identity(sock) == to_run


def _run(sock: _socket.socket, argv: list[str], stdio: int) -> int | None:
    """Send the run, pass on signals while it lasts, and return its wait status; None if
    the server went away before it started the program (nothing was run)."""
    child: list[int] = []           # the pid, once the server says it
    pending: list[int] = []         # signals that came before it

    def send(sig: int) -> None:
        try:                        # noqa: SIM105 - contextlib costs this module's budget
            os.kill(child[0], sig)
        except OSError:             # it has just ended: its status is on the way
            pass

    def forward(sig: int, _frame: object) -> None:
        if child:
            send(sig)
        else:
            pending.append(sig)

    def stop(sig: int, _frame: object) -> None:      # Ctrl-Z stops the run, then this
        if child:
            send(_signal.SIGSTOP)
        _signal.signal(sig, _signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        _signal.signal(sig, stop)                    # resumed (fg or bg): the run goes on
        if child:
            send(_signal.SIGCONT)

    handlers = {getattr(_signal, name): forward for name in FORWARDED}
    handlers[_signal.SIGTSTP] = stop
    previous = {sig: _signal.getsignal(sig) for sig in handlers}
    for sig, handler in handlers.items():
        # One this process ignores is passed on all the same: the program starts with
        # it ignored (encode_request says so) and may catch it, as a program exec'd
        # with it ignored may. Only a Ctrl-Z ignored here stays ignored.
        if handler is forward or previous[sig] is not _signal.SIG_IGN:
            _signal.signal(sig, handler)
    try:
        request = encode_request(argv, previous)
        fds = _fds_to_pass(stdio)
    except OSError:
        fds = None
    try:
        if fds is None:
            raise OSError("nothing to send")
        header = RUN + len(request).to_bytes(4, "little") + stdio.to_bytes(4, "little")
        sock.sendmsg([PROTOCOL + header], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                            b"".join(fd.to_bytes(4, "little") for fd in fds))])
        sock.sendall(request)
        kind, pid = read_message(sock)
        if kind != STARTED:
            raise OSError("not started")
    except OSError:                 # nothing ran: this process runs it, as it would have
        for sig, handler in previous.items():
            _signal.signal(sig, handler)
        return None
    finally:
        if fds is not None:
            os.close(fds[-1])       # the working directory's fd, opened to be passed
    child.append(pid)
    for sig in pending:
        send(sig)
    try:
        kind, status = read_message(sock)
    except OSError:
        kind = b""
    if kind != ENDED:
        os.write(2, b"lind: the start-up server ended before the program did; its status "
                    b"is unknown (LIND_NO_SERVER=1 runs without one)\n")
        return 125 << 8
    return status


def encode_request(argv: list[str], replaced: dict | None = None) -> bytes:
    """What a run brings besides its fds: arguments, environment, umask, blocked and
    ignored signals, as NUL-separated fields. `replaced`: the dispositions the signals
    the client now passes on had before it set its handlers."""
    umask = os.umask(0o22)
    os.umask(umask)
    blocked = _signal.pthread_sigmask(_signal.SIG_BLOCK, [])
    replaced = replaced or {}
    ignored = [sig for sig in range(1, _signal.NSIG)
               if sig not in (_signal.SIGKILL, _signal.SIGSTOP)
               and replaced.get(sig, _safe_getsignal(sig)) is _signal.SIG_IGN]
    fields = [str(umask).encode(), ",".join(str(int(s)) for s in blocked).encode(),
              ",".join(str(s) for s in ignored).encode(), str(len(argv)).encode(),
              *(os.fsencode(a) for a in argv), *(k + b"=" + v for k, v in os.environb.items())]
    if any(b"\0" in f for f in fields):
        raise OSError("a NUL in an argument or the environment")
    return b"\0".join(fields)


def decode_request(data: bytes) -> tuple[int, list[int], list[int], list[str], dict[bytes, bytes]]:
    """encode_request's fields back: umask, blocked, ignored, argv, environment."""
    fields = data.split(b"\0")
    umask, blocked, ignored, argc = fields[:4]
    count = int(argc)
    argv = [os.fsdecode(a) for a in fields[4:4 + count]]
    env = dict(item.partition(b"=")[::2] for item in fields[4 + count:] if item)
    return (int(umask), [int(s) for s in blocked.split(b",") if s],
            [int(s) for s in ignored.split(b",") if s], argv, env)


def _safe_getsignal(sig: int) -> object:
    try:
        return _signal.getsignal(sig)
    except ValueError:              # a real-time signal number Python does not track
        return None


def _open_stdio() -> int:
    """Which of fds 0-2 this process was started with (bit i for fd i): asked before it
    opens anything, which would take the number of a closed one."""
    mask = 0
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            continue
        mask |= 1 << fd
    return mask


def _fds_to_pass(stdio: int) -> list[int]:
    """The stdio fds in the mask, then this working directory, opened as an fd so the
    run finds it even if it was renamed."""
    fds = [fd for fd in (0, 1, 2) if stdio & 1 << fd]
    return [*fds, os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)]


def read_exactly(sock: _socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("the other end closed")
        data += chunk
    return data


def read_message(sock: _socket.socket) -> tuple[bytes, int]:
    """One of the server's messages: (kind, value); EOF is an OSError here."""
    try:
        data = read_exactly(sock, MESSAGE_SIZE)
    except EOFError as exc:
        raise OSError(str(exc)) from None
    return data[:1], int.from_bytes(data[1:], "little", signed=True)


def start_server(folder: str, key: str) -> None:
    """A server for this identity, started in the background (detached, its own
    session, none of this process's fds) for the runs after this one. It exits at once
    if another has the identity's socket name; none is started again for an identity
    whose server could not start (its reason is in KEY.failed)."""
    try:
        if os.lstat(os.path.join(folder, f"{key}.failed")).st_mode & 0o170000 == 0o100000:
            return
    except OSError:
        pass
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.chdir("/")
                null = os.open("/dev/null", os.O_RDWR)
                for fd in (0, 1, 2):        # its log, once it has the name (server.main)
                    os.dup2(null, fd)
                os.closerange(3, 1 << 20)
                os.execv(sys.executable, [sys.executable, "-c", SERVER_CODE, folder, key])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def create_private(path: str) -> int | None:
    """A new file of this user's at PATH, opened for writing, or None. Whatever was at
    PATH is unlinked first, never opened: in a directory a cage may reach (through a
    mount of /tmp) it may be a link to a file nobody meant Lind to write."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                       | os.O_CLOEXEC, 0o600)
    except OSError:
        return None


def server_command(argv: list[str]) -> int:
    """`lind server start`: start this identity's server and wait until it answers;
    `lind server stop`: every server of this user stops taking runs and ends with its
    last; `lind server status`: their pids, identities and how many runs each took."""
    folder = server_dir()
    if argv not in (["start"], ["stop"], ["status"]) or folder is None:
        os.write(2, b"usage: lind server start|stop|status\n" if folder is not None else
                 b"lind server: no private directory for servers (TMPDIR or XDG_RUNTIME_DIR)\n")
        return 2
    if argv == ["start"]:
        return _start_and_wait(folder, identity())
    answered = 0
    for key in running_keys(folder):
        sock = connect(folder, key)
        if sock is None:
            continue
        try:
            sock.sendall(PROTOCOL + (STOP if argv == ["stop"] else STATUS) + bytes(8))
            _, pid = read_message(sock)
            _, runs = read_message(sock)
        except OSError:
            continue
        finally:
            sock.close()
        answered += 1
        if argv == ["status"]:
            print(f"{pid} {key} {runs} runs")
    if argv == ["status"] and not answered:
        print("no server running")
    return 0


def running_keys(folder: str) -> list[str]:
    """The identities of this user's servers for FOLDER listening in this network
    namespace, from the kernel's list of Unix sockets (their abstract names)."""
    prefix = address(folder, "")[1:].decode()
    keys = set()
    with open("/proc/net/unix") as f:
        for line in f:
            name = line.split()[-1]
            if name.startswith("@" + prefix):
                keys.add(name[1 + len(prefix):])
    return sorted(keys)


def _start_and_wait(folder: str, key: str) -> int:
    import time

    started = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sock = connect(folder, key)
        if sock is not None:
            sock.close()
            return 0
        if not started:
            start_server(folder, key)
            started = True
        time.sleep(0.05)
    print(f"lind server: no server answered in 60 s (see {os.path.join(folder, key)}.log)",
          file=sys.stderr)
    return 1


def _exit_as(status: int) -> NoReturn:
    """Leave as the program's run left: its exit status, or its signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (_signal.SIGKILL, _signal.SIGSTOP):   # those have no handler to reset
            _signal.signal(sig, _signal.SIG_DFL)
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status))
