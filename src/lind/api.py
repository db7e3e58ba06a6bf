"""The Python API: `lind.run`, `lind.Popen` and `lind.create_subprocess_exec` mirror
`subprocess` and asyncio for programs in cages. `lind` itself loads this module (and
with it wasmtime and the microvisor) on first use of one of its names."""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import locale
import os
import selectors
import signal
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence

from lind.cage.cage import Cage
from lind.cage.loader import MissingProgram, ProgramError
from lind.cage.options import MountSpec, check_user
from lind.cage.program_file import read_program
from lind.cage.runtime import Runtime
from lind.engine import stacks
from lind.grates import Grate
from lind.grates.registry import stack_grates
from lind.isolation.apply import Launch, PolicyOverridden, launch
from lind.isolation.module import NotAModule, embedded_policy
from lind.isolation.policy import PolicyViolation
from lind.microvisor import sys_signals
from lind.microvisor.fs import PrivateDir, join
from lind.microvisor.limits import parse_size
from lind.microvisor.network import Network, parse_publish
from lind.portable import Tree
from lind.portable.backend import check_backend, enter, file_system, tree_for

__all__ = ["DEVNULL", "PIPE", "STDOUT", "Cage", "CompletedCage", "Grate", "MountSpec", "Network",
           "PolicyOverridden", "PolicyViolation", "Popen", "Process", "ProgramError", "Runtime",
           "create_subprocess_exec", "isolate", "run"]

PIPE, DEVNULL, STDOUT = subprocess.PIPE, subprocess.DEVNULL, subprocess.STDOUT
_KILL_GRACE = 2.0  # seconds a killed cage gets to leave a blocking host call
_SIGNAL_SLICE = 0.05   # seconds: how late a forwarded signal may reach the program at most
_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def default_runtime() -> Runtime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = Runtime()
        return _runtime


class CompletedCage(subprocess.CompletedProcess):
    """A finished cage: returncode (-N for signal N) plus why a trap ended it, if one did."""

    def __init__(self, args, returncode, stdout=None, stderr=None, trap: str | None = None):
        super().__init__(args, returncode, stdout, stderr)
        self.trap = trap


class _Pipe:
    """A host pipe: the cage gets one end, the run's pump (`_pump`) drains or feeds the
    other."""

    def __init__(self, feed: bytes | None = None) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.feed = memoryview(feed) if feed is not None else None
        self.chunks: list[bytes] = []
        if self.feed is not None:
            self._feed_what_fits()

    def _feed_what_fits(self) -> None:
        """Write what the pipe takes now, before the program starts, so its first look
        (poll, select, a read) finds its input, and its end when all of it fit; the pump
        feeds the rest."""
        os.set_blocking(self.write_fd, False)
        if self.feed:                         # a new pipe takes at least a page
            self.feed = self.feed[os.write(self.write_fd, self.feed):]
        if not self.feed:
            os.close(self.write_fd)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def _pump(pipes: list[_Pipe]) -> None:
    """Drain the output pipes and feed the input one to their ends, all on one thread
    (as subprocess.communicate does with a selector): a host thread for each stream
    cost more than running a small program."""
    with selectors.DefaultSelector() as ready:
        for p in pipes:
            if p.feed is None:
                ready.register(p.read_fd, selectors.EVENT_READ, p)
            elif p.feed:
                ready.register(p.write_fd, selectors.EVENT_WRITE, p)
        while ready.get_map():
            for key, _ in ready.select():
                p = key.data
                if p.feed is None:
                    chunk = os.read(key.fd, 65536)
                    if chunk:
                        p.chunks.append(chunk)
                        continue
                else:
                    try:
                        p.feed = p.feed[os.write(key.fd, p.feed):]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:      # the program stopped reading: allowed
                        p.feed = p.feed[:0]
                    if p.feed:
                        continue
                ready.unregister(key.fd)
                os.close(key.fd)


def _devnull(reading: bool) -> int:
    """The host's /dev/null for a DEVNULL stream (the cage borrows it: it cannot change it)."""
    return os.open(os.devnull, (os.O_RDONLY if reading else os.O_WRONLY) | os.O_CLOEXEC)


def _as_fd(spec, default: int) -> int | None:
    """The host fd a stream spec names; None (inherit) is the host's own `default`, or
    no fd at all when the host has that one closed: the cage then starts without it, as
    a native child inherits a closed stdio fd."""
    if spec is None:
        try:
            os.fstat(default)
        except OSError:
            return None
        return default
    if isinstance(spec, int):
        return spec
    return spec.fileno()


def named_programs(args: Sequence[str], cwd: str = "/") -> dict[str, str]:
    """Arguments that name host program files, by the guest path exec will see.

    `lind run grate.wasm prog.wasm` starts the grate, which execs its argv[1]: that
    path must run the host file the user named, whatever the cage's root holds.
    """
    from lind.cage.loader import WASM_MAGIC

    found = {}
    for arg in args:
        try:   # read_program never waits: an argument may name a FIFO or a pipe
            if read_program(arg, 4) != WASM_MAGIC:
                continue
        except (OSError, ValueError):
            continue
        found[join(cwd, arg)] = os.path.abspath(arg)
    return found


# What a terminal or a process manager sends to a command, passed on to the program as a
# shell passes them to its foreground job (Ctrl-C, Ctrl-\\, hang-up, kill, resize, ...).
FORWARDED_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM,
                     signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)


class _SignalForwarder:
    """While the program runs, the host signals above go to its process group (the cages
    of its tree in the first cage's group), whose dispositions decide what they do. Set
    up before the program starts: what comes before it exists waits for it."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.cage: Cage | None = None
        self.early: list[int] = []

    def start(self, cage: Cage) -> None:
        self.cage = cage
        for sig in self.early:
            self.forward(sig, None)

    def forward(self, sig: int, frame: object) -> None:
        if self.cage is None:
            self.early.append(sig)
            return
        info = sys_signals.siginfo(sig, sys_signals.SI_USER)   # from outside: pid 0
        for c in self.rt.tree(self.cage):
            if c.pgid == self.cage.pgid:
                c.signal_from_outside(sig, info)


def _wait_in_slices(cage: Cage, timeout: float | None) -> bool:
    """cage.wait, waking now and then: the kernel may give a signal sent to this process
    to any of its threads, and Python runs the handler only once the main thread runs
    again; a wait that never wakes could hold a forwarded signal back for good."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        if cage.wait(_SIGNAL_SLICE if left is None else min(left, _SIGNAL_SLICE)) is not None:
            return True


@contextlib.contextmanager
def _forwarding_signals(rt: Runtime) -> Iterator[_SignalForwarder | None]:
    if threading.current_thread() is not threading.main_thread():
        yield None       # Python runs signal handlers in the main thread only
        return
    forwarder = _SignalForwarder(rt)
    previous = {sig: signal.signal(sig, forwarder.forward) for sig in FORWARDED_SIGNALS}
    try:
        yield forwarder
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _text_mode(text: bool | None, encoding: str | None, errors: str | None,
               universal_newlines: bool | None) -> tuple[str, str] | None:
    """subprocess's text mode: (codec, errors), or None for bytes."""
    if not (text or universal_newlines or encoding or errors):
        return None
    return encoding or locale.getpreferredencoding(False), errors or "strict"


def _decode(data: bytes | None, mode: tuple[str, str]) -> str | None:
    """Output as text mode gives it: decoded, with newlines made \\n."""
    if data is None:
        return None
    return data.decode(*mode).replace("\r\n", "\n").replace("\r", "\n")


def _size(value: int | str | None) -> int | None:
    """`memory=` or `stack=` as `--memory` takes it too: "256M" (a str), or bytes."""
    return parse_size(value) if isinstance(value, str) else value


def _a_list(**given: object) -> None:
    """TypeError for a list argument given one item (`grates="strace"` was taken a
    character at a time: "unknown grate 's'")."""
    for name, value in given.items():
        if isinstance(value, (str, bytes, MountSpec, Grate)):
            raise TypeError(f"{name} is a list, not one item: {name}=[{value!r}]")


def _mount_specs(mounts: Sequence[MountSpec | str]) -> list[MountSpec]:
    """`mounts=` as MountSpecs: a list of "HOST:/GUEST[:ro]" strings or MountSpecs (a
    bare string was taken a character at a time: "bad mount 'd'")."""
    _a_list(mounts=mounts)
    specs = []
    for mount in mounts:
        if not isinstance(mount, (str, MountSpec)):
            raise TypeError(f"a mount is \"HOST:/GUEST[:ro]\" or a MountSpec, not {mount!r}")
        specs.append(mount if isinstance(mount, MountSpec) else MountSpec.parse(mount))
    return specs


def _program_args(args) -> list:
    """subprocess's `args`: a sequence, or the program alone."""
    if isinstance(args, (str, bytes, os.PathLike)):
        args = [args]
    if not args:
        raise ValueError("args must name a program")
    return list(args)


def _prepare(args: list, grates, *, root, mounts, net, memory, timeout, user, hostname,
             stack, override: bool, pass_fds: Sequence[int] = ()) -> tuple:
    """The grate stack and the options the run starts with: what was asked, within the
    policy the program carries (PolicyViolation past it without `override`; with it,
    each widening is a PolicyOverridden warning). Files grates write for the person
    running Lind get the fds after `pass_fds`."""
    for fd in pass_fds:
        if not isinstance(fd, int) or fd < 3:
            raise ValueError(f"pass_fds: {fd!r} is not a descriptor above stderr (2)")
        os.fstat(fd)            # EBADF here, as subprocess, not in the cage
    grate_stack = stack_grates([os.fspath(a) for a in args], grates, max([2, *pass_fds]) + 1)
    program = grate_stack.argv[0]
    try:
        policy = embedded_policy(program)
    except (OSError, NotAModule):
        policy = None           # not there, or not a module: the spawn says which
    mount_specs = _mount_specs(mounts)
    start = launch(policy, program, root=None if isinstance(root, Tree) else root,
                   mounts=mount_specs, net=net, memory=memory, timeout=timeout, user=user,
                   hostname=hostname, stack=stack, override=override)
    for what in start.widened:
        warnings.warn(PolicyOverridden(f"{program}: overriding its policy: {what}"), stacklevel=3)
    return grate_stack, start


# Signals Python ignores for itself, which subprocess gives its children back at their
# default (restore_signals): what ignored them before Python did cannot be told.
_PYTHONS_OWN_IGNORED = (signal.SIGPIPE, signal.SIGXFSZ)
# The others, as numbers: valid_signals() makes a new set of enums at each call (~90 us,
# half of what asking about every signal cost each run)
_OTHER_SIGNALS = tuple(sorted(int(sig) for sig in signal.valid_signals()
                              if sig not in _PYTHONS_OWN_IGNORED))


def _signals_to_inherit() -> tuple[list[int], list[int]]:
    """The signals this process ignores and this thread blocks, which a program it
    started with fork and exec (subprocess) would start with ignored and blocked: so
    does the first cage. Asked before the run sets its own handlers."""
    ignored = []
    for sig in _OTHER_SIGNALS:
        try:
            if signal.getsignal(sig) is signal.SIG_IGN:
                ignored.append(sig)
        except ValueError:
            continue
    return ignored, [int(sig) for sig in signal.pthread_sigmask(signal.SIG_BLOCK, [])]


def _spawn(rt: Runtime, grate_stack, start: Launch, env, cwd: str, fds: tuple[int | None, ...],
           net: str | Network, pass_fds: Sequence[int] = (),
           tree: Tree | None = None,
           deadline: float | None = None,
           inherited: tuple[list[int], list[int]] | None = None) -> tuple[Cage, contextlib.ExitStack]:
    """Start the first cage of a run; the ExitStack removes the private directories it
    got (its root without `root`, the policy's tmp) when closed. With a `tree` (the
    portable back end) the files are the tree's, filled from the root and mounts, and
    the microvisor's root is an empty private directory. Its program's compile waits
    until `deadline` at most (TimeoutError). `inherited`: the ignored and blocked
    signals it starts with (this process's, asked now, without it)."""
    ignored, blocked = inherited if inherited is not None else _signals_to_inherit()
    program, *rest = grate_stack.argv
    identity = check_user(start.user)
    cleanup = contextlib.ExitStack()
    try:
        def private(purpose: str) -> str:
            made = PrivateDir(purpose)
            cleanup.callback(made.remove)
            return made.path

        base: list[Grate] = []
        if tree is not None:
            base = file_system(tree, start.root, start.mounts, start.tmp)
            root, mounts = private("root"), []
            enter(tree, cwd, root)
        else:
            root = start.root if start.root is not None else private("root")
            mounts = [*start.mounts, *(MountSpec(private("tmp"), path) for path in start.tmp)]
        passed = {fd: fd for fd in pass_fds}
        passed |= {fd: cleanup.enter_context(_host_output(path))
                   for fd, path in grate_stack.outputs.items()}
        cage = rt.spawn(program, rest, root=root, mounts=mounts, env=env, cwd=cwd,
                        stdin=fds[0], stdout=fds[1], stderr=fds[2],
                        programs=named_programs(rest, cwd),
                        grates=[*start.grates, *grate_stack.root, *base],
                        grates_at_exec={join(cwd, p): g for p, g in grate_stack.at_exec.items()},
                        memory=start.memory, user=identity, hostname=start.hostname, net=net,
                        open_files=start.open_files, processes=start.processes,
                        cpu_time=start.cpu_time, file_size=start.file_size,
                        stack=start.stack, pass_fds=passed, deadline=deadline,
                        ignored_signals=ignored, blocked_signals=blocked)
    except BaseException:
        cleanup.close()
        raise
    return cage, cleanup


@contextlib.contextmanager
def _host_output(path: str) -> Iterator[int]:
    """A file a grate writes for the person running Lind (strace's -o): opened on the
    host, truncated, as the tool itself would; the cage gets its own copy of the fd."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC,
                     0o644)
    except OSError as exc:
        raise OSError(exc.errno, f"{path}: {exc.strerror}") from None
    try:
        yield fd
    finally:
        os.close(fd)


def _own_network(net: str | Network, publish: Sequence[tuple[int, int] | str]) -> Network | None:
    """The network a run makes for its tree (and closes when the tree has ended); None
    when it was given one (`net` a Network), which its owner closes."""
    if isinstance(net, Network):
        if publish:
            raise ValueError("publish ports on the Network that was passed (Network.publish)")
        return None
    return Network(net, [parse_publish(p) if isinstance(p, str) else p for p in publish])


class Popen:
    """A program running in a cage, with `subprocess.Popen`'s interface: `pid` (the
    cage's id), `stdin`/`stdout`/`stderr` as files for PIPE streams, `poll`, `wait`,
    `communicate`, `send_signal`, `terminate` (SIGTERM, which the program may handle),
    `kill`, `returncode`, and use as a context manager. The options are `lind.run`'s
    (but `save`: on the portable back end, pass a lind.portable.Tree as `root` and save
    it when the program has ended; and not the cooperative runtime, which runs its cages
    on the thread that calls lind.run).
    When the program ends, whatever it left running in its tree is killed."""

    def __init__(self, args: Sequence[str | os.PathLike[str]] | str | os.PathLike[str], *,
                 stdin=None, stdout=None, stderr=None, text: bool | None = None,
                 encoding: str | None = None, errors: str | None = None,
                 universal_newlines: bool | None = None,
                 root: str | os.PathLike[str] | None = None,
                 mounts: Sequence[MountSpec | str] = (), env: Mapping[str, str] | None = None,
                 cwd: str = "/", runtime: Runtime | None = None,
                 grates: Sequence[Grate | str] = (), memory: int | str | None = None,
                 user: tuple[int, int] | str | None = None,
                 hostname: str | None = None, net: str | Network | None = None,
                 publish: Sequence[tuple[int, int] | str] = (),
                 override_policy: bool = False, pass_fds: Sequence[int] = (),
                 backend: str = "host", stack: int | str | None = None) -> None:
        if check_backend(backend) == "cooperative":
            raise ValueError("backend='cooperative' is lind.run's: its cages run on the "
                             "thread that calls it, until they end")
        self.args = _program_args(args)
        memory, stack = _size(memory), _size(stack)
        _a_list(mounts=mounts, grates=grates, publish=publish)
        tree = tree_for(backend, root)
        self.returncode: int | None = None
        self.trap: str | None = None
        self.stdin = self.stdout = self.stderr = None
        self._mode = _text_mode(text, encoding, errors, universal_newlines)
        self._runtime = runtime or default_runtime()
        self._output: dict[str, list[bytes]] = {}
        self._readers: list[threading.Thread] = []
        cage_ends: list[int] = []       # closed here once the cage has its copies
        mine: list = []                 # our ends, closed if the start fails

        def stream(spec, name: str, default: int) -> int | None:
            if spec is PIPE:
                r, w = os.pipe()
                theirs, ours = (r, w) if name == "stdin" else (w, r)
                cage_ends.append(theirs)
                f = self._wrap(ours, "wb" if name == "stdin" else "rb")
                mine.append(f)
                setattr(self, name, f)
                return theirs
            if spec == DEVNULL:
                cage_ends.append(_devnull(name == "stdin"))
                return cage_ends[-1]
            return _as_fd(spec, default)

        try:
            in_fd = stream(stdin, "stdin", 0)
            out_fd = stream(stdout, "stdout", 1)
            err_fd = out_fd if stderr == STDOUT else stream(stderr, "stderr", 2)
            grate_stack, start = _prepare(self.args, grates, root=root, mounts=mounts, net=net,
                                    memory=memory, timeout=None, user=user, hostname=hostname,
                                    stack=stack, override=override_policy, pass_fds=pass_fds)
            self._network = _own_network(start.net, publish)
            self._cage, self._cleanup = _spawn(self._runtime, grate_stack, start, env, cwd,
                                               (in_fd, out_fd, err_fd), self._network or start.net,
                                               pass_fds, tree)
        except BaseException:
            for f in mine:
                f.close()
            if getattr(self, "_network", None) is not None:
                self._network.close()
            raise
        finally:
            for fd in cage_ends:
                os.close(fd)
        self.pid = self._cage.id
        self._time_limit = None
        if start.timeout is not None:     # the policy's wall_time: then the tree is killed
            self._time_limit = threading.Timer(start.timeout, self._runtime.terminate_tree,
                                               [self._cage])
            self._time_limit.daemon = True
            self._time_limit.start()

    def _wrap(self, fd: int, mode: str):
        raw = open(fd, mode)     # noqa: SIM115 - the Popen owns it until close
        if self._mode is None:
            return raw
        return io.TextIOWrapper(raw, encoding=self._mode[0], errors=self._mode[1],
                                write_through=True)

    def __repr__(self) -> str:
        return f"<lind.Popen: returncode: {self.returncode} args: {self.args!r}>"

    def _ended(self) -> int:
        """Once the first cage has ended: its tree gone, the private root removed."""
        if self.returncode is None:
            self._runtime.wait_tree(self._cage, _KILL_GRACE)
            self.trap = self._cage.trap_message
            self.returncode = self._cage.returncode
            if self._time_limit is not None:
                self._time_limit.cancel()
            self._cleanup.close()
            if self._network is not None:
                self._network.close()
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is None and self._cage.wait(0) is None:
            return None
        return self._ended()

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None and self._cage.wait(timeout) is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self._ended()

    def communicate(self, input: bytes | str | None = None,
                    timeout: float | None = None) -> tuple:
        """Send `input`, read stdout and stderr to their ends, wait; on `timeout`,
        TimeoutExpired with what was read so far (call again to go on)."""
        if not self._readers:
            for name in ("stdout", "stderr"):
                f = getattr(self, name)
                if f is not None:
                    self._output[name] = []
                    self._readers.append(threading.Thread(
                        target=self._read_all, args=(f, self._output[name]), daemon=True))
            if self.stdin is not None:
                self._readers.append(threading.Thread(target=self._feed, args=(input,),
                                                      daemon=True))
            for t in self._readers:
                t.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._readers:
            t.join(None if deadline is None else max(deadline - time.monotonic(), 0))
            if t.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout, self._joined("stdout"),
                                                self._joined("stderr"))
        self.wait(None if deadline is None else max(deadline - time.monotonic(), 0))
        return self._result("stdout"), self._result("stderr")

    def _feed(self, data: bytes | str | None) -> None:
        try:
            if data:
                self.stdin.write(data)
        except BrokenPipeError:
            pass               # the program stopped reading, as subprocess allows
        finally:
            with contextlib.suppress(BrokenPipeError):
                self.stdin.close()

    @staticmethod
    def _read_all(f, into: list) -> None:
        raw = f.buffer if isinstance(f, io.TextIOWrapper) else f
        while chunk := raw.read1(65536):
            into.append(chunk)
        f.close()

    def _joined(self, name: str) -> bytes | None:
        return b"".join(self._output[name]) if name in self._output else None

    def _result(self, name: str):
        data = self._joined(name)
        return _decode(data, self._mode) if self._mode is not None else data

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            self._cage.signal_from_outside(sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.poll() is None:
            self._cage.terminate(signal.SIGKILL)

    def __enter__(self) -> Popen:
        return self

    def __exit__(self, *_: object) -> None:
        for f in (self.stdout, self.stderr):
            if f is not None:
                f.close()
        if self.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.stdin.close()
        self.wait()


class Process:
    """A program running in a cage, as `asyncio.subprocess.Process`: `pid`, `returncode`,
    `stdin` (a StreamWriter), `stdout`/`stderr` (StreamReaders) for PIPE streams, and the
    coroutines `wait()` and `communicate(input)`; `send_signal`, `terminate`, `kill`.
    Waiting holds no thread: the cage's end wakes the event loop."""

    def __init__(self, popen: Popen, stdin, stdout, stderr) -> None:
        import asyncio  # here: a plain `lind run` need not pay for importing it

        self._popen = popen
        self.pid = popen.pid
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        loop = asyncio.get_running_loop()
        self._ended = loop.create_future()
        popen._cage.on_done(lambda: loop.call_soon_threadsafe(self._end))

    def _end(self) -> None:
        if not self._ended.done():
            self._ended.set_result(None)

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    def __repr__(self) -> str:
        return f"<lind.Process {self.pid}>"

    async def wait(self) -> int:
        import asyncio

        await self._ended
        if self._popen.returncode is None:     # the rest of its tree goes within a tick
            await asyncio.get_running_loop().run_in_executor(None, self._popen.wait)
        return self._popen.returncode

    async def communicate(self, input: bytes | None = None) -> tuple[bytes | None, bytes | None]:
        import asyncio

        async def feed() -> None:
            if self.stdin is None:
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if input:
                    self.stdin.write(input)
                    await self.stdin.drain()
            self.stdin.close()

        async def read(stream) -> bytes | None:
            return None if stream is None else await stream.read()

        _, out, err = await asyncio.gather(feed(), read(self.stdout), read(self.stderr))
        await self.wait()
        return out, err

    def send_signal(self, sig: int) -> None:
        self._popen.send_signal(sig)

    def terminate(self) -> None:
        self._popen.terminate()

    def kill(self) -> None:
        self._popen.kill()


async def create_subprocess_exec(program: str | os.PathLike[str], *args: str,
                                 stdin=None, stdout=None, stderr=None, limit: int = 2 ** 16,
                                 **options) -> Process:
    """Start a program in a cage, as `asyncio.create_subprocess_exec` starts a process;
    `options` are `lind.Popen`'s (root, mounts, env, cwd, grates, memory, user, ...)."""
    import asyncio

    loop = asyncio.get_running_loop()
    popen = Popen([program, *args], stdin=stdin, stdout=stdout, stderr=stderr, **options)
    writer = reader_out = reader_err = None
    if popen.stdin is not None:
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.streams.FlowControlMixin(loop=loop), popen.stdin)
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
    readers = []
    for f in (popen.stdout, popen.stderr):
        if f is None:
            readers.append(None)
            continue
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        await loop.connect_read_pipe(lambda r=reader: asyncio.StreamReaderProtocol(r, loop=loop), f)
        readers.append(reader)
    reader_out, reader_err = readers
    return Process(popen, writer, reader_out, reader_err)


def isolate(policy: str | os.PathLike[str] | None = None, *, best_effort: bool = False) -> None:
    """Call first thing in a Python program: it starts again inside `lind isolate` (new
    namespaces, a minimal file system keeping this Python, Lind and the script's
    directory read-only, and the policy file's rules: mounts, network, system calls,
    limits), and this call returns only there. Without `policy`: no network, every
    system call. A layer the kernel refuses ends the program (exit 125) unless
    `best_effort`."""
    from lind.isolation.host import isolate_python

    isolate_python(policy, best_effort=best_effort)


#: the grates `run` offers on the cooperative runtime (lind.portable.layers)
COOPERATIVE_GRATES = ("strace", "aquarium")


def _save(tree: Tree, save: str | os.PathLike[str]) -> None:
    """`tree.save(save)`, an OSError saying where it could not save (the bare
    strerror, all `lind run --save` printed, named no file)."""
    try:
        tree.save(save)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot save the files to {os.fspath(save)}: "
                                 f"{exc.strerror or exc}") from None


def _run_cooperative(args: list, tree: Tree, *, root, mounts, env, cwd: str,
                     input: bytes | None, streams: tuple, timeout: float | None,
                     memory: int | None, grates, save) -> CompletedCage:
    """`run` on the cooperative runtime (lind.portable.runtime, on wasmtime here): the
    tree filled from `root` and `mounts`, the streams as subprocess's; a program that
    carries an isolation policy is refused, since this runtime does not apply one."""
    from lind.cage.loader import WASM_MAGIC
    from lind.portable.layers import ChangeReport, Strace
    from lind.portable.memfs import Dir
    from lind.portable.runtime import Runtime as CooperativeRuntime

    program = os.fspath(args[0])
    try:
        wasm = read_program(program)
    except FileNotFoundError:
        raise MissingProgram(f"{program}: No such file or directory") from None
    except OSError as exc:                    # a directory, no permission: as the host's
        raise ProgramError(f"{program}: {exc.strerror}") from None
    if wasm[:4] != WASM_MAGIC:
        raise ProgramError(f"{program}: not a WebAssembly module")
    try:
        if embedded_policy(program) is not None:
            raise ValueError(f"{program} carries an isolation policy, which the cooperative "
                             "runtime does not apply: run it with backend 'host' or 'portable'")
    except NotAModule:
        pass                                  # the runtime says what it is (ENOEXEC)
    if root is not None and not isinstance(root, Tree):
        tree.load(root)
    for spec in _mount_specs(mounts):
        tree.load(spec.host, spec.guest, readonly=spec.readonly)
    with tree.lock:
        found = tree.find(cwd).node
    if not isinstance(found, Dir):
        code = errno.ENOENT if found is None else errno.ENOTDIR
        raise OSError(code, f"working directory {cwd}: {os.strerror(code)}")
    stdin, stdout, stderr = streams
    captured: dict[str, bytearray] = {}

    def sink(spec, default: int, name: str):
        if spec is PIPE:
            return captured.setdefault(name, bytearray()).extend
        if spec == DEVNULL:
            return lambda data: None
        fd = _as_fd(spec, default)

        def write(data: bytes) -> None:
            view = memoryview(data)
            while view and fd is not None:
                view = view[os.write(fd, view):]
        return write

    out = sink(stdout, 1, "stdout")
    err = out if stderr == STDOUT else sink(stderr, 2, "stderr")
    if input is not None or stdin == DEVNULL:
        source = input or b""
    else:
        fd = _as_fd(stdin, 0)
        source = (lambda n: os.read(fd, n)) if fd is not None else b""
    report = ChangeReport() if "aquarium" in grates else None
    runtime = CooperativeRuntime(
        tree=tree, stdin=source, stdout=out, stderr=err, timeout=timeout,
        layers=[Strace(err) if g == "strace" else report for g in grates],
        **({"memory_limit": memory} if memory is not None else {}))
    try:
        status = runtime.run(wasm, [program, *map(os.fspath, args[1:])],
                             [f"{k}={v}" for k, v in (env or {}).items()], cwd)
    except OSError as exc:
        if exc.errno == errno.ENOEXEC:
            raise ProgramError(f"{program}: {exc.strerror}") from None
        if exc.errno == errno.ENOMEM:         # its first memory is past `memory`
            raise ProgramError(f"{program}: its memory does not fit the memory limit"
                               + (f" ({memory} bytes)" if memory else "")) from None
        raise
    except KeyboardInterrupt:                 # Ctrl-C: the run ends, as by SIGINT
        runtime.engine.interrupt()
        status = -signal.SIGINT
    if report is not None:
        err(report.report().encode())
    if save is not None:
        _save(tree, save)
    result = [bytes(captured[n]) if n in captured else None for n in ("stdout", "stderr")]
    if runtime.timed_out:
        raise subprocess.TimeoutExpired(list(args), timeout, *result)
    return CompletedCage(list(args), status, *result)


def run(args: Sequence[str | os.PathLike[str]] | str | os.PathLike[str], *,
        root: str | os.PathLike[str] | None = None,
        mounts: Sequence[MountSpec | str] = (), env: Mapping[str, str] | None = None,
        cwd: str = "/", input: bytes | str | None = None, capture_output: bool = False,
        stdin=None, stdout=None, stderr=None, timeout: float | None = None,
        check: bool = False, text: bool | None = None, encoding: str | None = None,
        errors: str | None = None, universal_newlines: bool | None = None,
        runtime: Runtime | None = None,
        grates: Sequence[Grate | str] = (), memory: int | str | None = None,
        user: tuple[int, int] | str | None = None,
        hostname: str | None = None, net: str | Network | None = None,
        publish: Sequence[tuple[int, int] | str] = (),
        forward_signals: bool = False, override_policy: bool = False,
        pass_fds: Sequence[int] = (), backend: str = "host",
        save: str | os.PathLike[str] | None = None, stack: int | str | None = None) -> CompletedCage:
    """Run a program in a cage and wait for it, like `subprocess.run`.

    `args[0]` is the host path of the .wasm program (`args` may be that path alone).
    The streams, `input`, `capture_output`, `check`, `timeout` and the text mode
    (`text`, `encoding`, `errors`, `universal_newlines`) mean what they mean to
    `subprocess.run`, DEVNULL and STDOUT included. A program that is missing raises
    FileNotFoundError, one Lind cannot run OSError(ENOEXEC). `root` becomes the cage's `/`;
    without it the cage gets a new empty directory that is removed afterwards.
    `grates` (Grate objects, or "NAME[:ARGS]" of grates shipped with Lind) stand
    between the program and the microvisor; the first sees the program's calls first.
    `memory` bounds the linear memories of the program and all its children together
    (bytes, or "256M" as --memory takes it): growth past it fails with ENOMEM. `stack`
    is RLIMIT_STACK's soft limit (bytes or "8M"; Linux's 8 MiB without it): the
    program's stack, at most the region `lind cc` linked it with (`-Wl,-z,stack-size=N`).
    `user` is the (uid, gid) or "UID[:GID]" the cage runs as, `hostname` its node name.
    `net` is the network the program and its children see: "private" (a loopback of
    their own), "host" (the host's, as an unprivileged process), "none", or a Network
    several runs share (with their System V IPC objects: a run's are its own otherwise);
    `publish` forwards host ports to ports of the private loopback
    ((HOSTPORT, CAGEPORT) pairs or "HOSTPORT:CAGEPORT", as `docker run -p`).
    `backend` is "host" (the microvisor's files are the host's, under `root`) or
    "portable": the files are Lind's own, in memory (lind.portable), filled from `root`
    (a directory, a .zip archive, or a lind.portable.Tree to share or inspect) and
    `mounts`; no host file changes, and `save` (a directory, or a name ending in .zip)
    receives the files as the run left them. "cooperative" runs the program on the
    browser's runtime (lind.portable.runtime) over such a tree: root, mounts, env, cwd,
    the streams, timeout, memory, save and the grates "strace" and "aquarium" mean the
    same there; the options it cannot honour are ValueError.
    `pass_fds` are host descriptors (above 2) the program gets at the same numbers, as
    subprocess's; it inherits no other. When the program ends (or is killed at
    `timeout`), whatever it left running in its tree is killed too: nothing of the run
    outlives the call.
    With `forward_signals` (called from the main thread), SIGINT, SIGTERM, SIGHUP,
    SIGQUIT, SIGUSR1/2 and SIGWINCH this process gets while the program runs go to the
    program instead, as `lind run` does (its handlers run; by default SIGINT ends it).
    """
    started = time.monotonic()
    args = _program_args(args)
    memory, stack = _size(memory), _size(stack)
    _a_list(mounts=mounts, grates=grates, publish=publish)
    tree = tree_for(backend, root)
    if save is not None and tree is None:
        raise ValueError("save= keeps the files of backend='portable'; the host back end "
                         "writes to its root as it goes")
    if backend == "cooperative":
        asked = [name for name, given in (
            ("runtime", runtime), ("user", user), ("hostname", hostname), ("net", net),
            ("publish", publish), ("pass_fds", pass_fds), ("stack", stack),
            ("override_policy", override_policy)) if given]
        asked += [f"grate {g}" for g in grates if g not in COOPERATIVE_GRATES]
        if asked:
            raise ValueError(f"{', '.join(asked)}: not on the cooperative runtime (it offers "
                             f"root, mounts, env, cwd, the streams, timeout, memory, save "
                             f"and the grates {' and '.join(COOPERATIVE_GRATES)})")
    mode = _text_mode(text, encoding, errors, universal_newlines)
    if isinstance(input, str):
        if mode is None:
            raise TypeError("input is a str, but the streams are bytes (text=False)")
        input = input.encode(*mode)
    if capture_output:
        if stdout is not None or stderr is not None:
            raise ValueError("stdout and stderr may not be used with capture_output")
        stdout = stderr = PIPE
    if input is not None and stdin is not None:
        raise ValueError("stdin and input may not both be used")
    if backend == "cooperative":
        result = _run_cooperative(args, tree, root=root, mounts=mounts, env=env, cwd=cwd,
                                  input=input, streams=(stdin, stdout, stderr),
                                  timeout=timeout, memory=memory, grates=grates, save=save)
        if mode is not None:
            result.stdout, result.stderr = _decode(result.stdout, mode), _decode(
                result.stderr, mode)
        if check and result.returncode:
            raise subprocess.CalledProcessError(result.returncode, list(args), result.stdout,
                                                result.stderr)
        return result
    pipes: list[_Pipe] = []
    ends: list[int] = []

    def out(spec, default: int) -> tuple[int, _Pipe | None]:
        if spec is PIPE:
            p = _Pipe()
            pipes.append(p)
            ends.append(p.write_fd)
            return p.write_fd, p
        if spec == DEVNULL:
            ends.append(_devnull(False))
            return ends[-1], None
        return _as_fd(spec, default), None

    feeder = None
    if input is not None:
        feeder = _Pipe(feed=input)
        pipes.append(feeder)
        ends.append(feeder.read_fd)
        in_fd = feeder.read_fd
    elif stdin == DEVNULL:
        ends.append(_devnull(True))
        in_fd = ends[-1]
    else:
        in_fd = _as_fd(stdin, 0)
    out_fd, out_pipe = out(stdout, 1)
    err_fd, err_pipe = (out_fd, None) if stderr == STDOUT else out(stderr, 2)
    cleanup = contextlib.ExitStack()
    pump = stacks.PooledThread(functools.partial(_pump, pipes), "lind-pump")
    if pipes:
        pump.start()
    own_network = cage = None
    try:
        rt = runtime or default_runtime()
        grate_stack, start = _prepare(args, grates, root=root, mounts=mounts, net=net, memory=memory,
                                timeout=timeout, user=user, hostname=hostname, stack=stack,
                                override=override_policy, pass_fds=pass_fds)
        timeout = start.timeout
        # the timeout counts from here, the program's compile included: its turn may
        # come after other tenants' compiles
        deadline = None if timeout is None else started + timeout
        own_network = _own_network(start.net, publish)
        inherited = _signals_to_inherit()    # before the forwarding handlers replace them
        with _forwarding_signals(rt) if forward_signals else contextlib.nullcontext() as fwd:
            try:
                cage, cleanup = _spawn(rt, grate_stack, start, env, cwd,
                                       (in_fd, out_fd, err_fd), own_network or start.net,
                                       pass_fds, tree, deadline, inherited)
            except TimeoutError:
                raise subprocess.TimeoutExpired(args, timeout) from None
            if fwd is not None:
                fwd.start(cage)
            for fd in ends:
                os.close(fd)
            ends.clear()
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            finished = (_wait_in_slices(cage, left) if fwd is not None
                        else cage.wait(left) is not None)
        if not finished:
            rt.terminate_tree(cage)
            cage.wait(_KILL_GRACE)
            rt.wait_tree(cage, _KILL_GRACE)
            if pipes:
                pump.join(_KILL_GRACE)
            raise subprocess.TimeoutExpired(args, timeout, out_pipe.data if out_pipe else None,
                                            err_pipe.data if err_pipe else None)
        rt.wait_tree(cage, _KILL_GRACE)   # the first cage's end killed what was left
        if pipes:
            pump.join()
        if save is not None:
            _save(tree, save)
    except BaseException:
        if cage is not None:      # interrupted waiting (Ctrl-C): nothing of the run runs on
            rt.terminate_tree(cage)
        raise
    finally:
        for fd in ends:  # only left open when spawn failed: ends our threads too
            os.close(fd)
        cleanup.close()
        if own_network is not None:
            own_network.close()
    streams = [p.data if p else None for p in (out_pipe, err_pipe)]
    if mode is not None:
        streams = [_decode(data, mode) for data in streams]
    result = CompletedCage(list(args), cage.returncode, *streams, cage.trap_message)
    if check and result.returncode:
        raise subprocess.CalledProcessError(result.returncode, list(args), result.stdout,
                                            result.stderr)
    return result
