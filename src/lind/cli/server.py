"""The start-up server: a resident process that has imported Python's and Lind's modules
and wasmtime once, and forks a child for each `lind run` a client (launch.py) sends it.
The child takes the client's stdio, working directory, environment, umask and signal
state and runs the command line exactly as `lind` would; the server reports its wait
status back, kills it if the client dies (as a run dies with its `lind` process), and
the client passes on the signals it gets.

A server serves one user and one process identity (launch.identity: credentials,
capabilities, seccomp, cgroup, namespaces, root, limits, Lind's code...), checks each
client's uid and reads the client's identity itself (the socket name is no secret),
listens on an abstract socket name no cage can reach (launch.address),
keeps its log in a directory private to the user, and exits after
LIND_SERVER_IDLE seconds (default 900) without a run, or after SIGTERM or `lind server
stop` once its runs have ended. It never creates a wasmtime engine or a thread, so a
fork copies nothing that runs. While it has no run, a spare child forked ahead waits for
the next one, having made in its own memory what every run makes first (the engine,
`lind run`'s parser, a file system: _warm_up), so the run starts without that or the
fork: ~4 ms less of a run of hello, a sixth. The runs share the server's compile server
(lind.engine.compiler), so a program no cache holds is compiled by a fork, not by a
Python started for it: ~55 ms less of its first run.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pkgutil
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

import lind
from lind.cli import launch
from lind.engine import compiler
from lind.engine.compiler import CompilerUnavailable

IDLE_SECONDS = 900.0
REQUEST_LIMIT = 16 << 20            # arguments and environment together
REQUEST_TIMEOUT = 10.0              # for a client's whole request to arrive
PENDING_AT_MOST = 16                # connections whose request is still coming
_HEAD_SIZE = len(launch.PROTOCOL) + 9
SPARES_LOST_AT_MOST = 3             # spares dead in a row before the server stops making them
_NOT_PRELOADED = {"lind.__main__", "lind.cli.server", "lind.microvisor.netns_helper"}


@dataclass
class _Run:
    conn: socket.socket
    pid: int
    pidfd: int


@dataclass
class _Pending:
    """A connection whose request is still coming: read as it comes, in the loop, so a
    client that sends it slowly holds up no other (it has until `deadline`)."""
    conn: socket.socket
    runs_allowed: bool
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    fds: list[int] = field(default_factory=list)
    head_bad: bool = False     # fds came in a truncated message


@dataclass
class _Spare:
    pid: int
    pidfd: int
    channel: socket.socket      # the run's request and fds come through it, then `go`


def main() -> None:
    """`python -c SERVER_CODE FOLDER KEY`, as launch.start_server runs it. Binding the
    identity's socket name comes first: only one process can hold it, so a server
    starting beside a running one stops before importing anything."""
    folder, key = sys.argv[1:3]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(launch.address(folder, key))
    except OSError:
        return                          # a server has it (or is starting)
    log = launch.create_private(os.path.join(folder, f"{key}.log"))
    if log is not None:
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    why = _unusable(key)
    if why is not None:
        _note_failure(folder, key, why)
        return
    listener.listen(128)
    with contextlib.suppress(CompilerUnavailable):     # else each run starts its own
        compiler.start_server()
    try:
        _Server(listener, _idle_seconds()).serve()
    finally:                            # a log with nothing in it is not kept
        path = os.path.join(folder, f"{key}.log")
        with contextlib.suppress(OSError):
            ours, there = os.fstat(2), os.lstat(path)
            if ours.st_size == 0 and (ours.st_dev, ours.st_ino) == (there.st_dev, there.st_ino):
                os.unlink(path)


def _note_failure(folder: str, key: str, why: str) -> None:
    """KEY.failed says why: the clients stop starting servers for KEY."""
    print(f"lind server: {why}", file=sys.stderr)
    failed = launch.create_private(os.path.join(folder, f"{key}.failed"))
    if failed is not None:
        os.write(failed, why.encode() + b"\n")
        os.close(failed)


def _unusable(key: str) -> str | None:
    """Why this process cannot serve KEY's runs, after importing what runs need."""
    try:
        for name in _lind_modules():
            importlib.import_module(name)
    except Exception:
        return "importing Lind failed:\n" + traceback.format_exc()
    if threading.active_count() != 1:
        return "a thread was running after the imports: forking would copy it half-done"
    if launch.identity() != key:
        return "this process's identity is not the one it was started for"
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return "no pidfd_open on this host (Linux 5.3 or later)"
    ours, theirs = socket.socketpair()
    with ours, theirs:
        try:
            os.close(ours.getsockopt(socket.SOL_SOCKET, launch.SO_PEERPIDFD))
        except OSError:
            return "no SO_PEERPIDFD on this host (Linux 6.5 or later): clients cannot be told apart"
    return None


def _lind_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(lind.__path__, "lind.")
            if m.name not in _NOT_PRELOADED]


def _idle_seconds() -> float:
    try:
        return max(float(os.environ["LIND_SERVER_IDLE"]), 0.0)
    except (KeyError, ValueError):
        return IDLE_SECONDS


class _Server:
    def __init__(self, listener: socket.socket, idle: float) -> None:
        self.listener: socket.socket | None = listener
        self.idle = idle
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, self._accept)
        self.runs: dict[int, _Run] = {}          # by pid
        self.spare: _Spare | None = None
        self.spares_lost = 0        # in a row, each dead before it got a run
        self.served = 0
        self.identity = launch.process_identity()     # what each client's must be
        self.pending: dict[socket.socket, _Pending] = {}
        self.wake_read, self.wake_write = socket.socketpair()
        self.wake_write.setblocking(False)
        signal.set_wakeup_fd(self.wake_write.fileno())
        signal.signal(signal.SIGTERM, lambda *_: None)   # wakes the loop through the fd
        signal.signal(signal.SIGINT, signal.SIG_IGN)     # it has no terminal of its own
        self.selector.register(self.wake_read, selectors.EVENT_READ, self._stop)

    def serve(self) -> None:
        """Until idle, or stopped and with no run left."""
        try:
            while self.listener is not None or self.runs:
                if (self.spare is None and self.listener is not None and not self.runs
                        and self.spares_lost < SPARES_LOST_AT_MOST):
                    try:
                        self._fork_spare()
                    except OSError:     # runs are forked as they come instead
                        traceback.print_exc()
                wait = None if self.runs or self.pending else self.idle
                if self.pending:
                    soonest = min(p.deadline for p in self.pending.values())
                    wait = max(soonest - time.monotonic(), 0.0)
                events = self.selector.select(wait)
                if not events and not self.runs and not self.pending:
                    return
                for key, _ in events:
                    try:
                        key.data(key.fileobj)
                    except Exception:       # one client's trouble; the others go on
                        traceback.print_exc()
                self._drop_late_requests()
        finally:
            self._drop_spare()

    def _stop(self, wake: socket.socket) -> None:
        wake.recv(64)
        self._stop_taking_runs()

    def _stop_taking_runs(self) -> None:
        if self.listener is not None:
            self.selector.unregister(self.listener)
            self.listener.close()
            self.listener = None
        self._drop_spare()

    def _fork_spare(self) -> None:
        """A child for the next run, which makes what every run makes first meanwhile."""
        ours, theirs = socket.socketpair()
        held = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            pid = os.fork()
            if pid == 0:
                ours.close()
                self._be_spare(theirs)
        except BaseException:
            ours.close()
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            theirs.close()
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            ours.close()
            raise
        self.spare = _Spare(pid, pidfd, ours)
        self.selector.register(pidfd, selectors.EVENT_READ, lambda _: self._spare_died())

    def _spare_died(self) -> None:
        """Killed (the OOM killer), or it could not start: another is made, unless
        SPARES_LOST_AT_MOST died in a row; then runs are forked as they come, and one
        more spare is tried after each run (see _ended)."""
        self.spares_lost += 1
        self._drop_spare()

    def _drop_spare(self) -> None:
        """The spare goes (the server stops taking runs, or it died): killed and reaped."""
        spare, self.spare = self.spare, None
        if spare is None:
            return
        self.selector.unregister(spare.pidfd)
        spare.channel.close()
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(spare.pidfd, signal.SIGKILL)
        os.waitpid(spare.pid, 0)
        os.close(spare.pidfd)

    def _be_spare(self, channel: socket.socket) -> None:
        """In the spare: warm up, then wait for a run (its request and fds, then `go`)
        and be it; out when the server lets go of it. Never returns."""
        try:
            self._drop_server_state(keep=None)
            try:
                _warm_up()
            except Exception:           # only time lost: the run makes it again
                traceback.print_exc()
            head, fds, flags, _ = socket.recv_fds(channel, 8, 8)
            if not head:
                os._exit(0)             # the server dropped it
            head += launch.read_exactly(channel, 8 - len(head))
            if flags & socket.MSG_CTRUNC or not fds:
                raise EOFError("a hand-off without its fds")
            data = launch.read_exactly(channel, int.from_bytes(head[4:], "little"))
            conn = socket.socket(fileno=fds[0])
            self._become_run(conn, fds[1:], int.from_bytes(head[:4], "little"), data,
                             channel.detach())
        except BaseException:
            traceback.print_exc()
        os._exit(70)

    def _accept(self, listener: socket.socket) -> None:
        conn, _ = listener.accept()
        uid = int.from_bytes(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)[4:8],
                             "little")
        if uid != os.geteuid() or len(self.pending) >= PENDING_AT_MOST:
            conn.close()
            return
        # Only a process allowed what the server is may have it run something; any of
        # the user's may ask its status or stop it.
        pending = _Pending(conn, launch.peer_identity(conn) == self.identity,
                           time.monotonic() + REQUEST_TIMEOUT)
        conn.setblocking(False)
        self.pending[conn] = pending
        self.selector.register(conn, selectors.EVENT_READ, lambda _: self._request_data(pending))

    def _drop_request(self, pending: _Pending) -> None:
        self.selector.unregister(pending.conn)
        del self.pending[pending.conn]
        pending.conn.close()
        for fd in pending.fds:
            os.close(fd)

    def _drop_late_requests(self) -> None:
        now = time.monotonic()
        for pending in [p for p in self.pending.values() if p.deadline <= now]:
            self._drop_request(pending)

    def _request_data(self, pending: _Pending) -> None:
        """More of a request: taken once whole (None from _parse: not a request)."""
        try:
            chunk, fds, flags, _ = socket.recv_fds(pending.conn, 1 << 16, 4)
        except BlockingIOError:
            return
        except OSError:
            chunk, fds, flags = b"", [], 0
        pending.fds += fds
        pending.head_bad |= bool(flags & socket.MSG_CTRUNC) or (bool(fds) and len(pending.data) > 0)
        pending.data += chunk
        request = self._parse(pending)
        if chunk and request is False:
            return                      # more to come
        if not chunk or request is None or request is False:
            self._drop_request(pending)     # closed early (a look), or not a request
            return
        self.selector.unregister(pending.conn)
        del self.pending[pending.conn]
        pending.conn.setblocking(True)
        self._take_request(pending.conn, *request)

    @staticmethod
    def _parse(p: _Pending) -> tuple[bytes, list[int], int, bytes] | None | bool:
        """The request, once whole; False while more is to come; None: not a request (not
        this protocol, malformed, a run it may not ask, its fds not with its head)."""
        if len(p.data) < _HEAD_SIZE:
            return False
        head = bytes(p.data[:_HEAD_SIZE])
        kind, mask = head[-9:-8], int.from_bytes(head[-4:], "little")
        size = int.from_bytes(head[-8:-4], "little")
        if not head.startswith(launch.PROTOCOL) or p.head_bad:
            return None
        if kind != launch.RUN:
            if p.fds or size or kind not in (launch.STATUS, launch.STOP):
                return None
        elif (not p.runs_allowed or size > REQUEST_LIMIT or mask > 7
                or len(p.fds) != bin(mask).count("1") + 1):
            return None
        if len(p.data) < _HEAD_SIZE + size:
            return False
        if len(p.data) > _HEAD_SIZE + size:
            return None                 # more than it said
        return kind, p.fds, mask, bytes(p.data[_HEAD_SIZE:])

    def _take_request(self, conn: socket.socket, kind: bytes, fds: list[int], mask: int,
                      data: bytes) -> None:
        if kind != launch.RUN:          # `lind server status` or `stop`: its pid
            if kind == launch.STOP:
                self._stop_taking_runs()
            with contextlib.suppress(OSError):
                conn.sendall(launch.STARTED + os.getpid().to_bytes(4, "little", signed=True)
                             + launch.COUNT + self.served.to_bytes(4, "little", signed=True))
            conn.close()
            return
        # The child waits for `go` before it does anything: until the client has the
        # pid, a failure here leaves it to run the program itself, which must then be
        # the only run of it. It starts with every signal blocked, so that one the
        # client passes on at once waits for the run's own dispositions (not the
        # server's, which would stop the server).
        try:
            try:
                pid, pidfd, go = (self._hand_to_spare(conn, fds, mask, data)
                                  or self._fork_run(conn, fds, mask, data))
            finally:
                for fd in fds:
                    os.close(fd)
            try:
                conn.sendall(launch.STARTED + pid.to_bytes(4, "little", signed=True))
                os.write(go, b"g")
            except OSError:
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                os.waitpid(pid, 0)
                os.close(pidfd)
                raise
            finally:
                os.close(go)
        except OSError:
            conn.close()                # the client runs it itself
            raise
        run = _Run(conn, pid, pidfd)
        self.runs[pid] = run
        self.served += 1
        self.selector.register(conn, selectors.EVENT_READ, lambda _: self._client_left(run))
        self.selector.register(run.pidfd, selectors.EVENT_READ, lambda _: self._ended(run))

    def _hand_to_spare(self, conn: socket.socket, fds: list[int], mask: int,
                       data: bytes) -> tuple[int, int, int] | None:
        """The run handed to the spare: (its pid, pidfd, the fd `go` is written to);
        None without a spare, or if it died."""
        spare = self.spare
        if spare is None:
            return None
        try:
            socket.send_fds(spare.channel, [mask.to_bytes(4, "little")
                                            + len(data).to_bytes(4, "little")],
                            [conn.fileno(), *fds])
            spare.channel.sendall(data)
        except OSError:
            self._drop_spare()
            return None
        self.spare = None
        self.spares_lost = 0
        self.selector.unregister(spare.pidfd)
        return spare.pid, spare.pidfd, spare.channel.detach()

    def _fork_run(self, conn: socket.socket, fds: list[int], mask: int,
                  data: bytes) -> tuple[int, int, int]:
        """A new child for the run: (its pid, pidfd, the fd `go` is written to)."""
        go_read, go_write = os.pipe()
        try:
            held = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
            try:
                pid = os.fork()
                if pid == 0:
                    os.close(go_write)
                    self._drop_server_state(keep=conn)
                    self._become_run(conn, fds, mask, data, go_read)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        except BaseException:
            os.close(go_write)
            raise
        finally:
            os.close(go_read)
        try:
            return pid, os.pidfd_open(pid), go_write
        except OSError:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(go_write)
            raise

    def _client_left(self, run: _Run) -> None:
        """The client closed its end (it was killed, most likely): the run goes with it,
        as a run goes with its lind process."""
        self.selector.unregister(run.conn)
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(run.pidfd, signal.SIGKILL)

    def _ended(self, run: _Run) -> None:
        _, status = os.waitpid(run.pid, 0)
        self.spares_lost = min(self.spares_lost, SPARES_LOST_AT_MOST - 1)
        self.selector.unregister(run.pidfd)
        os.close(run.pidfd)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(run.conn)
        with contextlib.suppress(OSError):
            run.conn.sendall(launch.ENDED + status.to_bytes(4, "little", signed=True))
        run.conn.close()
        del self.runs[run.pid]

    def _become_run(self, conn: socket.socket, fds: list[int], mask: int, data: bytes,
                    go: int) -> None:
        """In the forked child (the server's state dropped): once the server says go,
        take the client's process state, then be `lind`. Never returns into the
        server's loop. `conn` is held until the run ends: a client whose server dies
        learns it only once the run is over."""
        status = 70
        try:
            if os.read(go, 1) != b"g":
                os._exit(status)        # the server gave up on this run: nothing ran
            os.close(go)
            umask, blocked, ignored, argv, env = launch.decode_request(data)
            stdio = [fd for fd in (0, 1, 2) if mask & 1 << fd]
            for target, fd in zip(stdio, fds, strict=False):
                os.dup2(fd, target)
            for fd in (0, 1, 2):
                if fd not in stdio:
                    os.close(fd)
            os.fchdir(fds[-1])
            for fd in fds:
                os.close(fd)
            os.umask(umask)
            _take_signals(ignored, blocked)
            os.environ.clear()
            os.environb.update(env)
            _reset_for_run(stdio)
            sys.argv = ["lind", *argv]
            from lind.cli.main import console

            console()
        except SystemExit as exc:       # argparse's exits, or threads left to finish
            status = _exit_status(exc.code)
            for thread in threading.enumerate():
                if thread is not threading.main_thread() and not thread.daemon:
                    thread.join()
            atexit._run_exitfuncs()
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError, ValueError):
                        stream.flush()
            os._exit(status)

    def _drop_server_state(self, keep: socket.socket | None) -> None:
        signal.set_wakeup_fd(-1)
        self.selector.close()
        spare = [self.spare.channel] if self.spare is not None else []
        for sock in (self.listener, self.wake_read, self.wake_write, *spare,
                     *(r.conn for r in self.runs.values()), *self.pending):
            if sock is not None and sock is not keep:
                sock.close()
        for fd in (*(r.pidfd for r in self.runs.values()),
                   *([self.spare.pidfd] if self.spare is not None else []),
                   *(fd for p in self.pending.values() for fd in p.fds)):
            os.close(fd)
        self.runs.clear()
        self.pending.clear()
        self.spare = None


def _exit_status(code: object) -> int:
    """What Python's own exit makes of sys.exit(CODE)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _warm_up() -> None:
    """What every run makes first and a new process makes slowly: the engine, the parser
    of `lind run` with what parsing needs, a file system with its private directories.
    Nothing here starts a thread or compiles (a compile starts Wasmtime's worker
    threads), so `lind run --isolate` still forks a process that runs nothing else."""
    from lind.cli import main as cli
    from lind.engine import wasmtime_engine
    from lind.microvisor.fs import FileSystem, PrivateDir

    wasmtime_engine.engine()
    cli.run_parser().parse_args(["--mount", "/:/host:ro", "--env", "K=V", "--timeout", "1",
                                 "program.wasm", "argument"])
    root = PrivateDir("warm-up")
    try:
        FileSystem(root.path).close()
    finally:
        root.remove()


def _take_signals(ignored: list[int], blocked: list[int]) -> None:
    """The client's dispositions as a Python process started as it was would have them:
    ignored where it had them ignored, SIGINT as KeyboardInterrupt, the rest default."""
    native = _caught_outside_python()
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP) or sig in native:
            continue
        if sig in ignored:
            handler = signal.SIG_IGN
        elif sig == signal.SIGINT:
            handler = signal.default_int_handler
        else:
            handler = signal.SIG_DFL
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _caught_outside_python() -> set[int]:
    """Signals with a handler Python did not set: the trap handlers the spare's engine
    made (SIGSEGV, SIGILL, SIGFPE), which a new process gets too once it makes its
    engine, and which must stay for a wasm trap to be a cage's fault."""
    with open("/proc/self/status", "rb") as f:
        caught = next(int(line.split()[1], 16) for line in f if line.startswith(b"SigCgt:"))
    return {sig for sig in signal.valid_signals()
            if caught >> (sig - 1) & 1 and signal.getsignal(sig) in (signal.SIG_DFL, signal.SIG_IGN)}


def _reset_for_run(stdio: list[int]) -> None:
    """What Python works out from the environment or the streams at start, worked out
    again for this run's."""
    import tempfile

    tempfile.tempdir = None             # TMPDIR is read again
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        stream = getattr(sys, name)
        if fd not in stdio:
            setattr(sys, name, None)    # as Python starts without it
        elif fd == 1 and stream is not None:
            stream.reconfigure(line_buffering=os.isatty(1))
