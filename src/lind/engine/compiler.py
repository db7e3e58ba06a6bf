"""Compiling a program in a child process, where its memory and CPU have limits.

What Cranelift needs to compile a module is not in proportion to the module's size: a
4 MB module of a million empty functions took 5.3 GiB and 18 s of CPU, so a cage that
wrote a few such files and exec'd them at once could take the host's memory from every
other tenant, and the Lind process with it. Each compile therefore runs in a fresh
Python of its own (~60 ms to start, paid only when no cache holds the program) with
`RLIMIT_DATA` at `compile_memory()` and `RLIMIT_CPU` at `COMPILE_CPU_SECONDS`, at most
`COMPILE_SLOTS` at a time; the caller gets the serialized code, which
`wasmtime.Module.deserialize` loads with the same settings (`wasmtime_engine._config`).
Real programs need far less: the SQLite shell (1.4 MB) peaks at 87 MiB.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

from lind.engine import EngineError

#: Memory one compile may use (its process's RLIMIT_DATA): $LIND_COMPILE_MEMORY in
#: bytes, else 1 GiB.
DEFAULT_COMPILE_MEMORY = 1 << 30
#: CPU seconds one compile may use, its threads together (RLIMIT_CPU).
COMPILE_CPU_SECONDS = 120
#: Compiles at once in this process: one a CPU; the others wait their turn.
COMPILE_SLOTS = max(os.cpu_count() or 1, 1)

_INVALID = 3           # the worker's exit status: a module the engine refused,
_OUT_OF_MEMORY = 4     # or one it could not compile within RLIMIT_DATA (else it aborts)
_BOOT = ("import sys; sys.path[:0] = sys.argv[1:3]; "
         "from lind.engine.compiler import work; work(int(sys.argv[3]), int(sys.argv[4]))")

#: Waits until a host fd is readable: a cage's waits end early when it is stopped
#: (raising), a plain `poll` otherwise.
Wait = Callable[[int], None]


class CompileLimit(EngineError):
    """Compiling the module needed more memory or CPU than a compile may have."""


class CompilerUnavailable(EngineError):
    """The compiler's process could not be started (this Python cannot run itself)."""


def compile_memory() -> int:
    try:
        return max(int(os.environ.get("LIND_COMPILE_MEMORY", "")), 64 << 20)
    except ValueError:
        return DEFAULT_COMPILE_MEMORY


def compile_serialized(wasm: bytes, wait: Wait | None = None) -> bytes:
    """`wasm` compiled by Wasmtime in a child process: its serialized code. EngineError
    when the engine refuses the module; CompileLimit when the compile ran out of
    memory or CPU."""
    wait = wait or _poll
    memory = compile_memory()
    with (_slot(wait), _memfd("lind-wasm", wasm) as source, _memfd("lind-code") as code,
          _memfd("lind-errors") as errors):
        try:
            worker = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT, *_package_dirs(), str(memory),
                 str(COMPILE_CPU_SECONDS)],
                stdin=source, stdout=code, stderr=errors, close_fds=True)
        except OSError as exc:
            raise CompilerUnavailable(f"no compiler process: {sys.executable or 'Python'}: "
                                      f"{exc.strerror}") from None
        ended = os.pidfd_open(worker.pid)
        try:
            wait(ended)
        except BaseException:
            worker.kill()
            raise
        finally:
            os.close(ended)
            worker.wait()
        output = os.pread(code, os.fstat(code).st_size, 0)
        complaint = os.pread(errors, 4096, max(os.fstat(errors).st_size - 4096, 0))
    status = worker.returncode
    if status == 0:
        return output
    if status == _INVALID:
        raise EngineError(output.decode(errors="replace") or "invalid module")
    if status == -signal.SIGXCPU:
        raise CompileLimit(f"compiling it takes more than {COMPILE_CPU_SECONDS} s of CPU")
    if status < 0 or status == _OUT_OF_MEMORY:     # Rust aborts when an allocation fails
        raise CompileLimit(f"compiling it needs more than {memory >> 20} MiB of memory "
                           "(LIND_COMPILE_MEMORY gives more)")
    lines = complaint.decode(errors="replace").strip().splitlines()
    raise EngineError(f"the compiler failed: {lines[-1] if lines else f'status {status}'}")


def _poll(fd: int) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.poll()


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


@contextlib.contextmanager
def _slot(wait: Wait) -> Iterator[None]:
    """One of COMPILE_SLOTS, as a byte of a pipe: waited for the way the compile is."""
    global _tokens
    with _tokens_lock:
        if _tokens is None:
            _tokens = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            os.write(_tokens[1], b"x" * COMPILE_SLOTS)
    taker, giver = _tokens
    while True:
        try:
            os.read(taker, 1)
            break
        except BlockingIOError:
            wait(taker)
    try:
        yield
    finally:
        os.write(giver, b"x")


def work(memory: int, cpu_seconds: int) -> None:
    """The worker: the module on stdin, its serialized code (or the engine's refusal,
    exit status _INVALID) on stdout. Out of memory it exits _OUT_OF_MEMORY or aborts
    (Rust's allocation failures); out of CPU the kernel ends it (SIGXCPU)."""
    import ctypes
    import resource

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG: Lind's end is ours
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
