"""Compiling a program in a child process, where its memory and CPU have limits.

What Cranelift needs to compile a module is not in proportion to the module's size: a
4 MB module of a million empty functions took 5.3 GiB and 18 s of CPU, so a cage that
wrote a few such files and exec'd them at once could take the host's memory from every
other tenant, and the Lind process with it. Each compile therefore runs in a process
of its own with `RLIMIT_DATA` at `compile_memory()` and `RLIMIT_CPU` at
`COMPILE_CPU_SECONDS`, at most `COMPILE_SLOTS` at a time; the caller gets the serialized
code, which `wasmtime.Module.deserialize` loads with the same settings
(`wasmtime_engine._config`). Real programs need far less: the SQLite shell (1.4 MB)
peaks at 87 MiB.

Those processes are forked by a compile server, one per Lind process, started with the
first compile: a Python that has imported Wasmtime and does nothing else, so a compile
costs a fork (~4 ms) where starting Python and importing Wasmtime cost ~55 ms. A
request is a Unix datagram carrying the module's memfd, the memfds for the code and the
complaints, and the caller's end of a socket pair; the server answers on that pair with
the wait status, and kills the compile when the caller closes its end (a stopped cage)
or when Lind's channel closes (Lind ended). A compile for a cage (an exec) is that
cage's work: its CPU time counts against the cage's RLIMIT_CPU (`CpuAccount`), and it
may use no more than the cage has left.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import math
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from lind.engine import EngineError

#: Memory one compile may use (its process's RLIMIT_DATA): $LIND_COMPILE_MEMORY in
#: bytes, else 1 GiB.
DEFAULT_COMPILE_MEMORY = 1 << 30
#: CPU seconds one compile may use, its threads together (RLIMIT_CPU).
COMPILE_CPU_SECONDS = 120
#: Compiles at once in this process: one a CPU; the others wait their turn.
COMPILE_SLOTS = max(os.cpu_count() or 1, 1)
#: ...of which the compiles for one group (a process tree's execs) may hold at most
#: half: a tree exec'ing costly programs from several children held every slot, and
#: every other tenant's new program waited for it (a lind.run past its timeout).
COMPILE_GROUP_SLOTS = max(COMPILE_SLOTS // 2, 1)

_INVALID = 3           # the worker's exit status: a module the engine refused,
_OUT_OF_MEMORY = 4     # or one it could not compile within RLIMIT_DATA (else it aborts)
_BOOT = ("import sys; sys.path[:0] = sys.argv[1:3]; "
         "from lind.engine.compiler import serve; serve(int(sys.argv[3]))")
_REQUEST = struct.Struct("<qq")        # RLIMIT_DATA, RLIMIT_CPU
_REQUEST_FDS = 4                       # reply socket, module, code, complaints
_ANSWER = struct.Struct("<qd")         # the compile's wait status, its CPU seconds

#: Waits until a host fd is readable: a cage's waits end early when it is stopped
#: (raising), a plain `poll` otherwise.
Wait = Callable[[int], None]


class CpuAccount(Protocol):
    """Who a compile is for, paying its CPU time (a cage, under RLIMIT_CPU)."""

    def cpu_left(self) -> float:
        """CPU seconds it may still use (math.inf: no limit)."""

    def add_cpu(self, seconds: float) -> None:
        """Count `seconds` of CPU as its own."""

    def compile_group(self) -> object:
        """Whose compiles these are (its process tree): a group holds at most
        COMPILE_GROUP_SLOTS of the slots at once."""


class CompileLimit(EngineError):
    """Compiling the module needed more memory or CPU than a compile may have."""


class CompilerUnavailable(EngineError):
    """The compiler's process could not be started (this Python cannot run itself)."""


def compile_memory() -> int:
    """$LIND_COMPILE_MEMORY (bytes, or with K, M or G), at least 64 MiB; else the default."""
    from lind.microvisor.limits import parse_size

    try:
        return max(parse_size(os.environ.get("LIND_COMPILE_MEMORY", "")), 64 << 20)
    except ValueError:
        return DEFAULT_COMPILE_MEMORY


def compile_serialized(wasm: bytes, wait: Wait | None = None,
                       account: CpuAccount | None = None) -> bytes:
    """`wasm` compiled by Wasmtime in a child process: its serialized code. EngineError
    when the engine refuses the module; CompileLimit when the compile ran out of
    memory or CPU (at most what `account` has left; what it used is added to it)."""
    wait = wait or _poll
    memory = compile_memory()
    cpu_seconds = COMPILE_CPU_SECONDS
    left = account.cpu_left() if account is not None else math.inf
    if left < cpu_seconds:
        cpu_seconds = max(math.ceil(left), 1)
    group = account.compile_group() if account is not None else None
    with (_slot(wait, group), _memfd("lind-wasm", wasm) as source, _memfd("lind-code") as code,
          _memfd("lind-errors") as errors):
        status, used = _compile_in_server(memory, cpu_seconds, (source, code, errors), wait)
        if account is not None:
            account.add_cpu(used)
        output = os.pread(code, os.fstat(code).st_size, 0)
        complaint = os.pread(errors, 4096, max(os.fstat(errors).st_size - 4096, 0))
    if status == 0:
        return output
    if status == _INVALID:
        raise EngineError(output.decode(errors="replace") or "invalid module")
    if status == -signal.SIGXCPU:
        raise CompileLimit(f"compiling it takes more than {cpu_seconds} s of CPU")
    if status < 0 or status == _OUT_OF_MEMORY:     # Rust aborts when an allocation fails
        raise CompileLimit(f"compiling it needs more than {memory >> 20} MiB of memory "
                           "(LIND_COMPILE_MEMORY gives more)")
    lines = complaint.decode(errors="replace").strip().splitlines()
    raise EngineError(f"the compiler failed: {lines[-1] if lines else f'status {status}'}")


def _compile_in_server(memory: int, cpu_seconds: int, fds: tuple[int, int, int],
                       wait: Wait) -> tuple[int, float]:
    """Have the compile server fork a compile over `fds` (module, code, complaints) and
    wait for it: its exit status as subprocess gives it (-N for signal N), and the CPU
    seconds it used. Stopping the wait (a cage's stop raises out of `wait`) ends the
    compile."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours:
        try:
            _send_request(_REQUEST.pack(memory, cpu_seconds), [theirs.fileno(), *fds])
        finally:
            theirs.close()
        wait(ours.fileno())      # on a stop, closing `ours` tells the server to kill it
        answer = ours.recv(_ANSWER.size)
    if len(answer) != _ANSWER.size:
        raise CompilerUnavailable("the compile server ended during the compile")
    status, used = _ANSWER.unpack(answer)
    return os.waitstatus_to_exitcode(status), used


class _Server:
    """The compile server this process started, and its end of the channel."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # A session of its own: the terminal's Ctrl-C and Ctrl-Z are Lind's, not its.
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT, *_package_dirs(), str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            ours.close()
            raise CompilerUnavailable(f"no compiler process: {sys.executable or 'Python'}: "
                                      f"{exc.strerror}") from None
        finally:
            theirs.close()
        self.channel = ours

    def send(self, request: bytes, fds: list[int]) -> None:
        self.channel.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                          array.array("i", fds))])

    def close(self) -> None:
        self.channel.close()          # the server ends once it reads the channel's end
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_server: _Server | None = None
_server_lock = threading.Lock()


def start_server() -> None:
    """Start this process's compile server now, if it has none: forks of this process
    (the start-up server's runs) then share it, and their first compile forks at once."""
    with _server_lock:
        _running_server()


@atexit.register
def stop_server() -> None:
    """End this process's compile server (the next compile starts another): at Lind's
    end (it would end on its own once the channel closes; this reaps it, where Python
    would warn that it still ran), and for a measure of a first compile. In a fork of
    the process that started it, this lets go of its copy of the channel (the wait
    finds no child of its own)."""
    global _server
    with _server_lock:
        if _server is not None:
            _server.close()
        _server = None


def _running_server() -> _Server:
    global _server
    if _server is None:
        _server = _Server()
    return _server


def _send_request(request: bytes, fds: list[int]) -> None:
    """Send a request to the compile server, starting it first (or again, if it ended)."""
    global _server
    with _server_lock:
        for attempt in (1, 2):
            try:
                _running_server().send(request, fds)
                return
            except OSError as exc:      # it ended (killed from outside): start another
                _server.close()
                _server = None
                if attempt == 2:
                    raise CompilerUnavailable(f"the compile server ended: {exc.strerror}") \
                        from None


def _poll(fd: int) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.poll()


_POLL_SLICE_MS = 3_600_000


def wait_until(deadline: float | None) -> Wait:
    """A Wait that gives up at `deadline` (time.monotonic()): TimeoutError then, which
    ends the compile (a caller with a timeout, as lind.run's, waits no longer)."""
    if deadline is None:
        return _poll

    def wait(fd: int) -> None:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the program was not compiled in time")
            # (in slices: poll takes at most 2**31 - 1 ms, and a policy's wall time
            # may be 1e9 s)
            if poller.poll(min(math.ceil(left * 1000), _POLL_SLICE_MS)):
                return
    return wait


def _package_dirs() -> tuple[str, str]:
    """Where this process found lind and wasmtime: the worker runs isolated from the
    environment (-I) and finds them there."""
    import wasmtime

    return (os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
            os.path.dirname(os.path.dirname(wasmtime.__file__)))


@contextlib.contextmanager
def _memfd(name: str, data: bytes = b"") -> Iterator[int]:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        _write_all(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
        yield fd
    finally:
        os.close(fd)


_tokens: tuple[int, int] | None = None      # read and write ends of the slots' pipe
_tokens_lock = threading.Lock()
# a group's own tokens (COMPILE_GROUP_SLOTS), while any of its compiles waits or runs:
# group -> [(read end, write end), compiles]
_group_tokens: dict[object, list] = {}


def _take(taker: int, wait: Wait) -> None:
    while True:
        try:
            os.read(taker, 1)
            return
        except BlockingIOError:
            wait(taker)


@contextlib.contextmanager
def _group_slot(wait: Wait, group: object) -> Iterator[None]:
    """One of the group's COMPILE_GROUP_SLOTS (nothing for no group)."""
    if group is None:
        yield
        return
    with _tokens_lock:
        entry = _group_tokens.get(group)
        if entry is None:
            pipe = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            os.write(pipe[1], b"x" * COMPILE_GROUP_SLOTS)
            entry = _group_tokens[group] = [pipe, 0]
        entry[1] += 1
    taker, giver = entry[0]
    try:
        _take(taker, wait)
        try:
            yield
        finally:
            os.write(giver, b"x")
    finally:
        with _tokens_lock:
            entry[1] -= 1
            if entry[1] == 0:
                del _group_tokens[group]
                os.close(taker)
                os.close(giver)


@contextlib.contextmanager
def _slot(wait: Wait, group: object = None) -> Iterator[None]:
    """One of COMPILE_SLOTS, as a byte of a pipe, and one of `group`'s own first:
    waited for the way the compile is."""
    global _tokens
    with _tokens_lock:
        if _tokens is None:
            _tokens = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            os.write(_tokens[1], b"x" * COMPILE_SLOTS)
    taker, giver = _tokens
    with _group_slot(wait, group):
        _take(taker, wait)
        try:
            yield
        finally:
            os.write(giver, b"x")


def serve(channel_fd: int) -> None:
    """The compile server: forks a compile (`work`) for each request on the channel,
    answers with its wait status, kills it when its caller's end closes; ends when
    Lind's end of the channel does. It is one thread, so each fork is a clean copy."""
    import wasmtime  # noqa: F401 - imported once here, not in every compile

    from lind.engine import wasmtime_engine  # noqa: F401

    channel = socket.socket(fileno=channel_fd)
    poller = select.poll()
    poller.register(channel, select.POLLIN)
    compiles: dict[int, tuple[int, socket.socket]] = {}      # pidfd -> (pid, reply)
    callers: dict[int, int] = {}                             # reply fd -> pidfd
    while True:
        for fd, _ in poller.poll():
            if fd == channel_fd:
                request, fds = _receive(channel)
                if request is None:                          # Lind has ended
                    for pidfd in compiles:
                        _kill(pidfd)
                    os._exit(0)
                if fds is None:
                    continue
                reply, pid = socket.socket(fileno=fds[0]), _fork_compile(request, fds)
                for f in fds[1:]:
                    os.close(f)
                if pid is None:
                    reply.close()
                    continue
                pidfd = os.pidfd_open(pid)
                compiles[pidfd] = (pid, reply)
                callers[reply.fileno()] = pidfd
                poller.register(pidfd, select.POLLIN)
                poller.register(reply, select.POLLIN)
            elif fd in compiles:                             # a compile ended
                pid, reply = compiles.pop(fd)
                _, status, usage = os.wait4(pid, 0)
                with contextlib.suppress(OSError):
                    reply.send(_ANSWER.pack(status, usage.ru_utime + usage.ru_stime))
                poller.unregister(fd)
                os.close(fd)
                if callers.pop(reply.fileno(), None) is not None:
                    poller.unregister(reply)
                reply.close()
            elif fd in callers:                              # its caller stopped waiting
                poller.unregister(fd)
                _kill(callers.pop(fd))


def _kill(pidfd: int) -> None:
    with contextlib.suppress(OSError):    # it has just ended: reaped next
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)


def _receive(channel: socket.socket) -> tuple[bytes | None, list[int] | None]:
    """A request and its fds; (None, None) at the channel's end; (request, None) for
    one that is not whole (its fds closed)."""
    request, ancillary, _, _ = channel.recvmsg(_REQUEST.size,
                                               socket.CMSG_SPACE(_REQUEST_FDS * 4))
    if not request and not ancillary:
        return None, None
    fds = [fd for level, kind, data in ancillary
           if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS
           for fd in array.array("i", data[:len(data) - len(data) % 4])]
    if len(request) != _REQUEST.size or len(fds) != _REQUEST_FDS:
        for fd in fds:
            os.close(fd)
        return request, None
    return request, fds


def _fork_compile(request: bytes, fds: list[int]) -> int | None:
    """Fork a compile of the module in fds[1] into fds[2] (complaints: fds[3]); its pid,
    or None if no process could be made (the caller then sees the server's answer
    missing)."""
    memory, cpu_seconds = _REQUEST.unpack(request)
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid:
        return pid
    try:
        for target, fd in enumerate(fds[1:]):
            os.dup2(fd, target)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        work(memory, cpu_seconds)
    except BaseException:      # noqa: BLE001 - told to the caller through the complaints
        import traceback

        traceback.print_exc()
    os._exit(70)                          # EX_SOFTWARE: work() returned or raised


def work(memory: int, cpu_seconds: int) -> None:
    """A compile, forked by the server: the module on stdin, its serialized code (or the
    engine's refusal, exit status _INVALID) on stdout. Out of memory it exits
    _OUT_OF_MEMORY or aborts (Rust's allocation failures); out of CPU the kernel ends
    it (SIGXCPU)."""
    import ctypes
    import resource

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG: the server's end
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    import wasmtime

    from lind.engine.wasmtime_engine import engine

    compiler = engine()
    hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
    if hard != resource.RLIM_INFINITY:
        memory = min(memory, hard)          # what Lind itself was given is the most
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    try:
        wasm = os.pread(0, os.fstat(0).st_size, 0)
        try:
            wasmtime.Module.validate(compiler, wasm)
        except wasmtime.WasmtimeError as exc:
            first = str(exc).strip().splitlines()
            _write_all(1, (first[0] if first else "invalid module").encode())
            os._exit(_INVALID)
        try:
            code = wasmtime.Module(compiler, wasm).serialize()
        except wasmtime.WasmtimeError:
            os._exit(_OUT_OF_MEMORY)      # it was valid: what failed was an allocation
        _write_all(1, code)
    except MemoryError:
        os._exit(_OUT_OF_MEMORY)
    os._exit(0)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
