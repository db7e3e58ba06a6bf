"""Lind beside native Linux, measured in one run on one machine; reported as ratios.

Each benchmark is a C program built twice (zig's clang -O2 natively, `lind cc -O2` for a cage)
that times its own inner loop and prints nanoseconds per operation, so process and
cage start-up stay out of the per-call figures. Start-up is timed from outside, against a
process (subprocess.run of the native build) and against an in-process baseline (the same
module in bare wasmtime). Every result file says how it was measured: mode, N, repetitions,
machine load, median and spread. Run through `lind bench`.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import ctypes
import datetime
import errno
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import workloads

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs"
BUILD = HERE / ".build"
RESULTS = HERE / "results"


SPREAD_GOAL = 10.0  # %: a row whose spread is wider is measured again (up to --retries times)

# How Lind serves a row's operation: the "Lind path" column.
TABLE = "3i C table, no kernel call"
TRAMPOLINE = "C trampoline → host kernel"
PYTHON_KERNEL = "Python handler → host kernel"
MICROVISOR = "Python microvisor"
WASM = "wasm code only"
UNWOUND = "C trampoline: Asyncify's unwind and rewind"
FORK = "C trampoline (unwind, rewind) + Python microvisor (the child)"
C_GRATE = "wasm grate(s), then 3i C table"
PY_GRATE = "Python grate(s), then 3i C table"
CLAMP = "a clamp's route (Python), then what it chose"
STARTUP = "cage start-up"
PROGRAM = "a whole program: its wasm code and system calls"
PORTABLE = "portable back end: a Python grate over a memory tree"
COOPERATIVE = "cooperative runtime (lind.portable.runtime) on wasmtime: Python table"

# What a row compares Lind with: the "baseline" named in the row.
NATIVE = "native"                          # the same C program built natively, its own loop
SUBPROCESS = "subprocess.run(native)"      # a new process running the native build
BARE_WASMTIME = "bare wasmtime in-process"  # the same module, no Lind (see _Bare)
LIND_RUN = "lind run"                        # the command without --isolate
PYTHON = "Python alone"                     # Python's own start-up, which lind run pays first


@dataclass(frozen=True)
class Bench:
    name: str
    program: str
    args: tuple[str, ...]
    target: float | None  # ratio to native the project aims for (or ns, for "startup")
    quick_n: int
    full_n: int
    path: str             # how Lind serves it (one of the constants above)
    kind: str = "loop"    # loop: the program times itself; startup, workload: timed from outside
    grates: tuple[str, ...] = ()  # "c:answer", "c:forward", "py:answer", "py:forward", top first
    baseline: str = NATIVE
    one_cpu: bool = False  # the whole measurement (both sides) pinned to one CPU: see _one_cpu
    cflags: tuple[str, ...] = ()   # more `lind cc` options for the cage build
    unit: str = ""        # what N counts, when it is not operations (workloads: their scale)
    backend: str = "host"  # lind.run's back end ("portable": its files in a lind.portable tree)

    @property
    def wakes_other(self) -> bool:
        """Two processes (or cages) wake each other over a pipe or futex: on a VM whose other
        vCPU is idle, each wake-up pays the hypervisor unless both sides share one CPU."""
        return self.program in ("proc_loop", "futex_loop", "net_loop") and self.args[0] in (
            "pingpong", "stream", "tcp", "unix")

    @property
    def no_kernel(self) -> bool:
        """Lind answers without a host system call while the native build enters the kernel."""
        return self.path in (TABLE, C_GRATE, PY_GRATE, CLAMP)

    def n(self, quick: bool) -> int:
        return self.quick_n if quick else self.full_n


def _io(name: str, args: tuple[str, ...], target: float | None, quick_n: int) -> Bench:
    return Bench(name, "fileio_loop", args, target, quick_n, quick_n * 10, TRAMPOLINE)


def _portable(name: str, program: str, args: tuple[str, ...], quick_n: int) -> Bench:
    return Bench(f"{name}, portable back end", program, args, None, quick_n, quick_n * 10,
                 PORTABLE, backend="portable")


def _cooperative(name: str, program: str, args: tuple[str, ...], quick_n: int,
                 cflags: tuple[str, ...] = ()) -> Bench:
    """The browser's runtime, measured here on wasmtime (its host calls are wasmtime-py's
    Python functions, ~50 us a call before the handler runs)."""
    return Bench(f"{name}, cooperative runtime", program, args, None, quick_n, quick_n * 5,
                 COOPERATIVE, backend="cooperative", cflags=cflags)


def _euid(name: str, target: float | None, quick_n: int, grates: tuple[str, ...]) -> Bench:
    path = (CLAMP if any(g.startswith("clamp") for g in grates)
            else PY_GRATE if any(g.startswith("py") for g in grates) else C_GRATE)
    return Bench(name, "syscall_loop", ("geteuid",), target, quick_n, quick_n * 10, path,
                 grates=grates)


def _workload(name: str, program: str, target: float | None, quick_n: int, full_n: int,
              unit: str) -> Bench:
    return Bench(name, program, (), target, quick_n, full_n, PROGRAM, "workload", unit=unit)


#: hello's temperature for a program no cache holds, run by a Lind already running (a
#: start-up server for `lind run`): what the first run of a new build costs
NEW_PROGRAM = "a new program"


def _hello(temperature: str, via: str, baseline: str, target: float | None, quick_n: int,
           full_n: int) -> Bench:
    command = {"api": "lind.run", "cli": "lind run", "isolate": "lind run --isolate",
               "cli-no-server": "LIND_NO_SERVER=1 lind run"}[via]
    name = f"hello, {temperature}, {command} vs {baseline}"
    return Bench(name, "hello", (temperature, via), target, quick_n, full_n, STARTUP, "startup",
                 baseline=baseline)


BENCHES = [
    Bench("geteuid", "syscall_loop", ("geteuid",), 1.5, 200_000, 2_000_000, TABLE),
    Bench("getpid", "syscall_loop", ("getpid",), 1.5, 200_000, 2_000_000, TABLE),
    Bench("close(-1)", "syscall_loop", ("close",), 1.0, 200_000, 2_000_000, TABLE),
    Bench("read 0 B (host file)", "syscall_loop", ("read0",), None, 50_000, 500_000, TRAMPOLINE),
    Bench("lseek SEEK_CUR (host file)", "syscall_loop", ("lseek",), None, 50_000, 500_000,
          TRAMPOLINE),
    Bench("fstat (host file)", "syscall_loop", ("fstat",), None, 50_000, 500_000, TRAMPOLINE),
    Bench("stat by name (host file)", "syscall_loop", ("stat",), None, 20_000, 200_000,
          TRAMPOLINE),
    Bench("stat by name from a directory fd (fstatat, host file)", "syscall_loop",
          ("statat",), None, 20_000, 200_000, TRAMPOLINE),
    Bench("access R_OK (host file)", "syscall_loop", ("access",), None, 20_000, 200_000,
          TRAMPOLINE),
    Bench("poll a pipe's two ends, 0 ms", "syscall_loop", ("poll",), None, 50_000, 500_000,
          TRAMPOLINE),
    Bench("list a directory of 50 files (opendir, readdir, closedir)", "syscall_loop",
          ("readdir",), None, 2_000, 20_000, PYTHON_KERNEL),
    Bench("rename a file there and back (2 calls)", "syscall_loop", ("rename",), None, 5_000,
          50_000, TRAMPOLINE),
    Bench("create, close and unlink a file", "syscall_loop", ("unlink",), None, 5_000, 50_000,
          TRAMPOLINE),
    Bench("clock_gettime(CLOCK_MONOTONIC)", "syscall_loop", ("clock",), None, 50_000, 500_000,
          TRAMPOLINE),
    # CPU time per sleep (what an idle program polling so costs), not the time slept
    Bench("nanosleep 1 ms: the CPU it costs", "syscall_loop", ("sleep1",), None, 200, 2_000,
          TRAMPOLINE),
    Bench("nanosleep 10 ms: the CPU it costs", "syscall_loop", ("sleep10",), None, 50, 500,
          TRAMPOLINE),
    Bench("open+close", "fileio_loop", ("open", "0"), 1.5, 5_000, 50_000, TRAMPOLINE),
    Bench("open for appending+close", "fileio_loop", ("open-append", "0"), 1.5, 5_000, 50_000,
          TRAMPOLINE),
    _io("read 1 B", ("read", "1"), None, 50_000),
    _io("read 4 KiB", ("read", "4096"), 1.5, 50_000),
    _io("read 64 KiB", ("read", "65536"), None, 10_000),
    _io("read 1 MiB", ("read", "1048576"), None, 500),
    _io("write 1 B", ("write", "1"), None, 50_000),
    _io("write 4 KiB", ("write", "4096"), None, 50_000),
    _io("write 64 KiB", ("write", "65536"), None, 10_000),
    _io("write 1 MiB", ("write", "1048576"), None, 500),
    _io("stdio: a 60 B line written (fwrite) and read back (fgets)", ("lines", "60"), None,
        50_000),
    _portable("open+close", "fileio_loop", ("open", "0"), 2_000),
    _portable("stat by name", "syscall_loop", ("stat",), 5_000),
    _portable("read 4 KiB", "fileio_loop", ("read", "4096"), 5_000),
    _portable("write 4 KiB", "fileio_loop", ("write", "4096"), 5_000),
    # issue 16's targets: fork+exit+wait within 2x native, fork+exec+wait 1.5x
    Bench("fork+exit+wait", "proc_loop", ("fork",), 2.0, 100, 1_000, FORK),
    Bench("fork+exec+wait", "proc_loop", ("forkexec",), 1.5, 50, 500, MICROVISOR),
    Bench("posix_spawn+wait", "spawn_loop", ("spawn",), 1.5, 50, 500, MICROVISOR),
    _portable("fork+exit+wait", "proc_loop", ("fork",), 100),
    _cooperative("getpid", "syscall_loop", ("getpid",), 2_000),
    _cooperative("read 4 KiB", "fileio_loop", ("read", "4096"), 1_000),
    _cooperative("fork+exit+wait", "proc_loop", ("fork",), 20),
    _cooperative("pipe stream 64 KiB", "proc_loop", ("stream", "65536"), 200),
    # each side waits for the other's byte: set aside and rewound (Asyncify) every time
    _cooperative("pipe round trip 1 B, --suspendable", "proc_loop", ("pingpong", "1"), 200,
                 cflags=("--suspendable",)),
    Bench("pipe round trip 1 B", "proc_loop", ("pingpong", "1"), 0.5, 2_000, 20_000, TRAMPOLINE),
    Bench("pipe round trip 4 KiB", "proc_loop", ("pingpong", "4096"), 0.5, 2_000, 20_000,
          TRAMPOLINE),
    Bench("pipe round trip 64 KiB", "proc_loop", ("pingpong", "65536"), 0.5, 500, 5_000,
          TRAMPOLINE),
    Bench("pipe stream 64 KiB", "proc_loop", ("stream", "65536"), None, 1_000, 10_000, TRAMPOLINE),
    Bench("futex round trip", "futex_loop", ("pingpong",), None, 2_000, 20_000, TRAMPOLINE),
    Bench("pipe round trip 1 B, 1 CPU", "proc_loop", ("pingpong", "1"), 0.5, 2_000, 20_000,
          TRAMPOLINE, one_cpu=True),
    Bench("pipe stream 64 KiB, 1 CPU", "proc_loop", ("stream", "65536"), None, 1_000, 10_000,
          TRAMPOLINE, one_cpu=True),
    Bench("futex round trip, 1 CPU", "futex_loop", ("pingpong",), 1.2, 2_000, 20_000, TRAMPOLINE,
          one_cpu=True),
    Bench("TCP round trip 1 B", "net_loop", ("tcp", "1"), 1.3, 2_000, 20_000, TRAMPOLINE),
    Bench("Unix socket round trip 1 B", "net_loop", ("unix", "1"), 1.3, 2_000, 20_000, TRAMPOLINE),
    Bench("TCP stream 64 KiB", "net_loop", ("stream", "65536"), 1.25, 1_000, 10_000, TRAMPOLINE),
    Bench("TCP round trip 1 B, 1 CPU", "net_loop", ("tcp", "1"), 1.3, 2_000, 20_000, TRAMPOLINE,
          one_cpu=True),
    Bench("TCP connect+accept+close", "net_loop", ("connect",), None, 300, 3_000, PYTHON_KERNEL),
    Bench("epoll server, 100 clients", "net_loop", ("epoll", "100"), None, 2_000, 20_000,
          PYTHON_KERNEL),
    Bench("thread create+join", "thread_loop", ("create",), None, 200, 2_000, MICROVISOR),
    Bench("mutex lock+unlock, uncontended", "thread_loop", ("mutex",), None, 200_000, 2_000_000,
          WASM),
    Bench("mutex, 2 threads contending", "thread_loop", ("contended",), None, 20_000, 200_000,
          TRAMPOLINE),
    Bench("condvar round trip, 2 threads", "thread_loop", ("condvar",), None, 2_000, 20_000,
          TRAMPOLINE),
    Bench("compute, 1 thread (per step)", "thread_loop", ("single",), None, 20_000_000,
          200_000_000, WASM),
    Bench("compute split over 2 threads (per step)", "thread_loop", ("split",), None, 20_000_000,
          200_000_000, WASM),
    Bench("fib(27)", "compute", ("fib",), 1.2, 50, 500, WASM),
    Bench("memcpy 1 MiB", "compute", ("memcpy",), None, 500, 5_000, WASM),
    # issue 16: compute in a program that forks, where only what can reach fork is
    # instrumented by Asyncify (qsort's comparator calls are not)
    Bench("qsort 4096 ints with a comparator, in a program that forks", "proc_loop", ("sort",),
          None, 200, 2_000, WASM),
    Bench("malloc/free", "compute", ("malloc",), None, 200_000, 2_000_000, WASM),
    Bench("malloc 256 MiB, use 1 MiB, free", "compute", ("arena",), None, 20, 200, MICROVISOR),
    # the guest libc's number conversions: strtod takes short decimals itself, scanf reads
    # in double arithmetic, printf still formats in long double (software in wasm32)
    Bench("strtod, short decimals", "compute", ("strtod",), None, 200_000, 2_000_000, WASM),
    Bench('sscanf "%lf %d"', "compute", ("scan",), None, 50_000, 500_000, WASM),
    Bench('snprintf "%.14g"', "compute", ("format",), None, 50_000, 500_000, WASM),
    # issue 16: setjmp/longjmp as WebAssembly exceptions (the default) and through Asyncify,
    # unwound and rewound by the trampoline (what a program that forks gets, and any
    # with --setjmp=asyncify)
    Bench("setjmp, no jump", "jump_loop", ("setjmp",), None, 200_000, 2_000_000, WASM),
    Bench("setjmp+longjmp", "jump_loop", ("longjmp",), None, 100_000, 1_000_000, WASM),
    Bench("setjmp, no jump, --setjmp=asyncify", "jump_loop", ("setjmp",), None, 100_000,
          1_000_000, UNWOUND, cflags=("--setjmp=asyncify",)),
    Bench("setjmp+longjmp, --setjmp=asyncify", "jump_loop", ("longjmp",), None, 50_000,
          500_000, UNWOUND, cflags=("--setjmp=asyncify",)),
    _euid("geteuid, 1 C grate answers", 2.0, 200_000, ("c:answer",)),
    _euid("geteuid, 1 Python grate answers", None, 50_000, ("py:answer",)),
    *[_euid(f"geteuid, {n} C grate{'s' * (n > 1)} forward", None, 50_000, ("c:forward",) * n)
      for n in (1, 2, 4)],
    *[_euid(f"geteuid, {n} Python grate{'s' * (n > 1)} forward", None, 50_000,
            ("py:forward",) * n) for n in (1, 2, 4)],
    # issue 18: a call a clamp does not match skips its grates for one hop more (none
    # when the call can never match: no route is put in the table)
    _euid("geteuid past a clamp of 1 C grate (a route, not matched)", None, 50_000,
          ("clamp:cage=0", "c:answer")),
    _euid("geteuid past a clamp of 1 C grate (cannot match: no route)", None, 50_000,
          ("clamp:calls=getpid", "c:answer")),
    _euid("geteuid through a clamp of 1 C grate (matched)", None, 50_000,
          ("clamp:calls=geteuid", "c:answer")),
    # issue 16: real programs, whole runs (benchmarks/workloads.py)
    _workload("Lua 5.4: a mixed script (recursion, n-body, strings, sort, closures, pcall, "
              "coroutines)", "lua", 1.5, 1, 3, "× the script"),
    _workload("sqlite3 shell: single-row INSERTs, indexes, join, window functions, VACUUM",
              "sqlite3", 1.5, 20_000, 100_000, " rows"),
    _workload("zstd level 9: compress, decompress and check generated text", "zstd", 1.3, 4, 16,
              " MiB"),
    _workload("shell-like pipeline: gen, square, sum: 3 processes by fork+exec, pipes",
              "pipeline", 2.0, 10, 50, " rounds"),
    _hello("warm", "api", SUBPROCESS, 2e6, 10, 50),
    _hello("warm", "api", BARE_WASMTIME, None, 10, 50),
    _hello("cold", "api", SUBPROCESS, None, 1, 3),
    _hello("cold", "api", BARE_WASMTIME, None, 1, 3),
    _hello("warm", "cli", SUBPROCESS, None, 2, 5),
    _hello("warm", "cli", PYTHON, 60e6, 2, 5),       # target: at most 60 ms added
    _hello("warm", "cli-no-server", PYTHON, None, 2, 5),
    _hello("cold", "cli", SUBPROCESS, None, 1, 2),
    _hello(NEW_PROGRAM, "api", SUBPROCESS, None, 1, 3),
    _hello(NEW_PROGRAM, "cli", SUBPROCESS, None, 1, 3),
    _hello("warm", "isolate", LIND_RUN, 20e6, 2, 10),  # target: at most 20 ms added
]


def _changed(src: Path) -> float:
    """When a program's source, the header every program includes, `lind cc`'s linking
    (what it does to a linked program) or the guest libc last changed."""
    return max(src.stat().st_mtime, (PROGRAMS / "loop.h").stat().st_mtime,
               workloads.toolchain_changed())


def build(program: str, cflags: tuple[str, ...] = ()) -> tuple[Path, Path]:
    src = PROGRAMS / f"{program}.c"
    native = BUILD / f"{program}.native"
    wasm = build_wasm(program, cflags)
    if not native.exists() or native.stat().st_mtime < _changed(src):
        # The same compiler as lind cc (zig's clang), so the ratio isolates the sandbox.
        subprocess.run([sys.executable, "-m", "ziglang", "cc", "-O2", "-pthread", "-o",
                        str(native), str(src), "-lm"], check=True)
    return native, wasm


def build_wasm(program: str, cflags: tuple[str, ...] = ()) -> Path:
    BUILD.mkdir(exist_ok=True)
    src = PROGRAMS / f"{program}.c"
    wasm = BUILD / f"{program}{''.join(cflags).replace('-', '_').replace('=', '_')}.wasm"
    if not wasm.exists() or wasm.stat().st_mtime < _changed(src):
        subprocess.run([sys.executable, "-m", "lind", "cc", "-O2", *cflags, str(src), "-o",
                        str(wasm)], check=True)
    return wasm


def _ns_per_op(output: bytes, what: str) -> float:
    try:
        return float(output.decode().split()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"lind bench: {what} printed no figure: {output!r}") from None


class _Exit(Exception):
    """Raised by the bare baseline's exit stub, to leave _start the way exit_group does."""


class _Bare:
    """The in-process start-up baseline: the same compiled module in bare wasmtime, run on
    this thread with stub imports (writev collects stdout, exit ends _start, anything else
    is ENOSYS) and none of Lind (no cage thread, fd table, 3i table or Linker per cage).
    The Linker is built once; a run is a new Store, an instantiation and _start."""

    def __init__(self) -> None:
        import wasmtime

        from lind.engine import wasmtime_engine

        self.engine = wasmtime_engine.engine()
        self.out = bytearray()
        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_func("lind", "syscall", wasmtime.FuncType([i32] + [i64] * 6, [i64]),
                                self._syscall, access_caller=True)
        sizes = wasmtime.FuncType([i32] * 2, [i32])
        for name in ("args_sizes_get", "environ_sizes_get"):   # no arguments, no environment
            self.linker.define_func("lind", name, sizes, self._zero_sizes, access_caller=True)
        for name in ("args_get", "environ_get"):
            self.linker.define_func("lind", name, sizes, lambda ptrs, buf: 0)
        self.linker.allow_shadowing = True     # each run defines its own memory
        self.memory = None

    def _bytes(self, start: int, end: int) -> ctypes.Array:
        """Guest bytes [start, end) of this run's (shared) memory."""
        if not 0 <= start <= end <= self.memory.data_len():
            raise _Exit
        base = ctypes.cast(self.memory.data_ptr(), ctypes.c_void_p).value
        return (ctypes.c_ubyte * (end - start)).from_address(base + start)

    def _syscall(self, caller, nr: int, a: int, b: int, c: int, *_: int) -> int:
        if nr in (60, 231):      # exit, exit_group
            raise _Exit
        if nr != 20:             # writev(fd, iov, count): all the output hello makes
            return -errno.ENOSYS
        total = 0
        for i in range(c):
            iov = bytes(self._bytes(b + 8 * i, b + 8 * i + 8))
            base, size = int.from_bytes(iov[:4], "little"), int.from_bytes(iov[4:], "little")
            self.out += bytes(self._bytes(base, base + size))
            total += size
        return total

    def _zero_sizes(self, caller, count: int, size: int) -> int:
        self._bytes(count, count + 4)[:] = bytes(4)
        self._bytes(size, size + 4)[:] = bytes(4)
        return 0

    def run(self, module) -> bytes:
        """Instantiate `module` and run its _start; its stdout."""
        import wasmtime

        from lind.cage import loader
        from lind.engine import wasmtime_engine

        self.out.clear()
        store = wasmtime.Store(self.engine)
        store.set_epoch_deadline(1 << 40)
        wanted = loader.imported_memory(module)
        self.memory = wasmtime_engine.SharedMemory(self.engine, wasmtime.MemoryType(
            wasmtime.Limits(wanted.limits.min, 65536), shared=True))
        self.linker.define(store, "lind", "memory", self.memory)
        instance = self.linker.instantiate(store, module)
        with contextlib.suppress(_Exit):
            instance.exports(store)["_start"](store)
        return bytes(self.out)


# The `lind` command as a user runs it (the script installed beside this Python), not
# `python -m lind`, which costs runpy on top.
_SCRIPT = Path(sys.executable).with_name("lind")
LIND_COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "lind"]


def _startup(bench: Bench, native: Path, wasm: Path, n: int) -> tuple[float, float]:
    """One repetition: the median ns of n runs of hello, of the baseline and of Lind, taking
    turns at going first (the second of two runs back to back finds the machine warmer);
    medians, so that one run the machine slowed down does not move the row."""
    import wasmtime

    import lind
    from lind.cage import loader
    from lind.engine import compiler, wasmtime_engine

    temperature, via = bench.args
    bare = _Bare() if bench.baseline == BARE_WASMTIME else None
    wasm_bytes = wasm.read_bytes()

    def baseline() -> float:
        t = time.perf_counter()
        if bench.baseline == LIND_RUN:
            out = subprocess.run([*LIND_COMMAND, "run", "--root", str(BUILD),
                                  str(wasm)], capture_output=True, check=True).stdout
        elif bench.baseline == PYTHON:
            out = subprocess.run([sys.executable, "-c", "print('hello')"], capture_output=True,
                                 check=True).stdout
        elif bare is None:
            out = subprocess.run([str(native)], capture_output=True, check=True).stdout
        else:
            module = (loader.load(wasm) if temperature == "warm"
                      else wasmtime.Module(wasmtime_engine.engine(), wasm_bytes))
            out = bare.run(module)
        took = (time.perf_counter() - t) * 1e9
        _check_hello(out, f"{bench.name}: {bench.baseline}")
        return took

    def in_lind() -> float:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ)
            program = wasm
            if temperature == "cold" or via == "cli-no-server":   # nothing warm, not even
                env["LIND_NO_SERVER"] = "1"                          # a start-up server
            if temperature == "cold":
                env["LIND_CACHE"] = cache
                os.environ["LIND_CACHE"] = cache
                loader.forget_compiled()
                compiler.stop_server()            # the first compile starts it
            if temperature == NEW_PROGRAM:        # no cache holds it: Lind compiles it
                program = Path(cache) / wasm.name
                program.write_bytes(wasm_bytes + _custom_section(b"lind-bench", os.urandom(16)))
            try:
                t = time.perf_counter()
                if via == "api":
                    out = lind.run([program], capture_output=True, root=str(BUILD),
                                   check=True).stdout
                else:
                    isolate = ["--isolate"] if via == "isolate" else []
                    out = subprocess.run([*LIND_COMMAND, "run", *isolate, "--root",
                                          str(BUILD), str(program)], capture_output=True,
                                         check=True, env=env).stdout
                took = (time.perf_counter() - t) * 1e9
            finally:
                if temperature == "cold":
                    os.environ.pop("LIND_CACHE", None)
        _check_hello(out, f"{bench.name}: Lind")
        return took

    base_ns, lind_ns = [], []
    for i in range(n):
        if i % 2:
            lind_ns.append(in_lind())
            base_ns.append(baseline())
        else:
            base_ns.append(baseline())
            lind_ns.append(in_lind())
    return statistics.median(base_ns), statistics.median(lind_ns)


def _custom_section(name: bytes, payload: bytes) -> bytes:
    """A WebAssembly custom section (id 0): appended to a module, it makes another
    program for every cache without changing what it does (sizes under 128 bytes)."""
    body = bytes([len(name)]) + name + payload
    return bytes([0, len(body)]) + body


def _check_hello(out: bytes, what: str) -> None:
    if out != b"hello\n":
        raise SystemExit(f"lind bench: {what} printed {out!r}, not hello")


def _grate_stack(bench: Bench) -> list:
    """The grates (lind.run's `grates`, top first) that `bench.grates` names: "c:MODE"
    and "py:MODE" grates, and "clamp:COND", which clamps the ones after it."""
    from lind.grates import Call, Grate, handles

    class Euid(Grate):
        def __init__(self, forward: bool) -> None:
            self.forwarding = forward

        @handles("geteuid")
        def geteuid(self, call: Call) -> int:
            return call.forward() if self.forwarding else 0

    stack: list = []
    for i, spec in enumerate(bench.grates):
        lang, mode = spec.split(":")
        if lang == "clamp":
            return [*stack, spec, _grate_stack(replace(bench, grates=bench.grates[i + 1:]))]
        stack.append(f"{build_wasm('grate_euid')}:{mode}" if lang == "c"
                     else Euid(mode == "forward"))
    return stack


def _loop(bench: Bench, native: Path, wasm: Path, n: int) -> tuple[float, float]:
    """One repetition: ns per operation as the native build and the cage time themselves."""
    import lind

    out = subprocess.run([str(native), *bench.args, str(n)], capture_output=True, check=True,
                         cwd=BUILD)
    base = _ns_per_op(out.stdout, f"{bench.name} native")
    if bench.backend == "cooperative":
        return base, _cooperative_loop(bench, wasm, n)
    res = lind.run([str(wasm), *bench.args, str(n)], capture_output=True,
                   root=str(BUILD) if bench.backend == "host" else None,
                   grates=_grate_stack(bench), backend=bench.backend)
    if res.returncode:
        raise SystemExit(f"lind bench: {bench.name} failed in a cage: {res.stderr.decode()}")
    return base, _ns_per_op(res.stdout, f"{bench.name} in a cage")


def _cooperative_loop(bench: Bench, wasm: Path, n: int) -> float:
    """The loop on the cooperative runtime, in a tree filled from BUILD (the files the
    native run used)."""
    from lind.portable import Tree
    from lind.portable.runtime import Runtime

    tree = Tree()
    tree.load(BUILD)
    out, err = bytearray(), bytearray()
    status = Runtime(tree=tree, stdout=out.extend, stderr=err.extend).run(
        wasm.read_bytes(), [wasm.name, *bench.args, str(n)])
    if status:
        raise SystemExit(f"lind bench: {bench.name} failed in a cage: {err.decode()}")
    return _ns_per_op(bytes(out), f"{bench.name} in a cage")


def _workload_run(bench: Bench, native: Path, wasm: Path, n: int) -> tuple[float, float]:
    """One repetition of a whole program, natively and in a cage, in turns going first."""
    global _workload_turn
    _workload_turn += 1
    return workloads.run_once(bench.program, native, wasm, n, lind_first=_workload_turn % 2 == 0)


_workload_turn = 0


def spread(values: list[float]) -> float:
    """The largest distance of a sample from the median, in % of the median."""
    med = statistics.median(values)
    return max(abs(v - med) for v in values) / med * 100 if med else 0.0


@dataclass(frozen=True)
class Row:
    bench: Bench
    base: list[float]   # ns per operation (or per run), one sample per repetition
    lind: list[float]
    attempts: int       # how many times the row was measured to get this spread

    @property
    def spread(self) -> float:
        return max(spread(self.base), spread(self.lind))

    @property
    def ratio(self) -> float:
        return statistics.median(self.lind) / statistics.median(self.base)


@contextlib.contextmanager
def _one_cpu(enabled: bool) -> Iterator[None]:
    """Pin every thread of this process, hence the native children and cage threads it starts,
    to one CPU for the duration; then give each thread its mask back."""
    if not enabled:
        yield
        return
    mask = os.sched_getaffinity(0)
    cpu = {min(mask)}

    def pin(cpus: set[int]) -> None:
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(ProcessLookupError):   # a thread that just ended
                os.sched_setaffinity(int(tid), cpus)

    pin(cpu)
    try:
        yield
    finally:
        pin(mask)


def measure(bench: Bench, reps: int, retries: int, quick: bool) -> Row:
    """Measure a row; while its spread is over SPREAD_GOAL, measure it again from scratch,
    up to `retries` more times, and keep the attempt with the smallest spread."""
    import lind

    if bench.kind == "workload":
        native, wasm = workloads.build(bench.program, BUILD / "workloads")
    else:
        native, wasm = build(bench.program, bench.cflags)
    n = bench.n(quick)
    if bench.kind == "startup":
        # Lind's bytecode compiled, as pip leaves an installed package: an editable
        # install under PYTHONDONTWRITEBYTECODE (set on these machines) would otherwise
        # compile every module again in each `lind run` timed.
        compileall.compile_dir(Path(lind.__file__).parent, quiet=1)
    if bench.kind == "startup" and bench.args[0] == "warm":  # one run to fill the caches,
        lind.run([wasm], capture_output=True, root=str(BUILD))   # and the start-up server up
        subprocess.run([sys.executable, "-m", "lind", "server", "start"], check=True)
    one = {"startup": _startup, "workload": _workload_run}.get(bench.kind, _loop)
    best: Row | None = None
    for attempt in range(1, retries + 2):
        with _one_cpu(bench.one_cpu):
            samples = [one(bench, native, wasm, n) for _ in range(reps)]
        row = Row(bench, [b for b, _ in samples], [x for _, x in samples], attempt)
        if best is None or row.spread < best.spread:
            best = row
        if row.spread <= SPREAD_GOAL:
            break
    return Row(best.bench, best.base, best.lind, attempt)


def _fmt(values: list[float]) -> str:
    med = statistics.median(values)
    if med >= 1e6:
        text = f"{med / 1e6:,.2f} ms"
    elif med >= 1e4:
        text = f"{med / 1e3:,.1f} µs"
    else:
        text = f"{med:,.1f} ns"
    return f"{text} ±{spread(values):.0f}%"


def _target(row: Row) -> tuple[str, str]:
    """The target as text, and whether this run meets it."""
    bench = row.bench
    if bench.target is None:
        return "", ""
    if bench.kind == "startup" and bench.baseline in (LIND_RUN, PYTHON):   # what is added
        # Each repetition times both commands back to back: the median of those pairs'
        # differences, not of the columns, so that a slow moment of the machine cancels.
        added = statistics.median(x - b for b, x in zip(row.base, row.lind, strict=True))
        return f"≤ +{bench.target / 1e6:g} ms", "yes" if added <= bench.target else "no"
    if bench.kind == "startup":
        met = statistics.median(row.lind) <= bench.target
        return f"≤ {bench.target / 1e6:g} ms", "yes" if met else "no"
    return f"≤ {bench.target}×", "yes" if row.ratio <= bench.target else "no"


def _spread_cell(row: Row) -> str:
    tries = f"{row.attempts} attempt{'s' * (row.attempts > 1)}"
    if row.spread <= SPREAD_GOAL:
        return f"yes ({tries})"
    return f"**no**: ±{row.spread:.1f}% ({tries})"


def _load(avg: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in avg)


def _commit() -> str:
    res = subprocess.run(["git", "-C", str(HERE), "describe", "--always", "--dirty"],
                         capture_output=True, text=True, check=False)
    return res.stdout.strip() or "unknown"


@dataclass(frozen=True)
class RunInfo:
    """How a run was made, recorded at the top of its result file."""
    quick: bool
    reps: int
    retries: int
    trampoline: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    seconds: float
    started: datetime.datetime


def report(rows: list[Row], info: RunInfo, memory: dict[str, float] | None) -> str:
    cores = os.cpu_count() or 1
    busy = max(info.load_before[0], info.load_after[0]) > cores / 2
    lines = [
        f"# Lind benchmarks — {info.started:%Y-%m-%d %H:%M} UTC, "
        f"{'quick' if info.quick else 'full'} mode",
        "",
        f"Machine: {platform.machine()}, {cores} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}; 3i trampoline: {info.trampoline}; "
        f"commit {_commit()}.",
        f"Mode: {'quick (`lind bench --quick`)' if info.quick else 'full (`lind bench`)'}: "
        f"{info.reps} repetitions per attempt; a row whose spread is over ±{SPREAD_GOAL:g}% is "
        f"measured again from scratch, up to {info.retries} more time{'s' * (info.retries != 1)}, "
        f"and the attempt with the smallest spread is shown. Wall time {info.seconds / 60:.1f} min.",
        f"Load average (1 / 5 / 15 min): {_load(info.load_before)} before, "
        f"{_load(info.load_after)} after"
        + (f" — **busy**: other work shared the {cores} cores, so spreads are wider and "
           "figures less certain than on a quiet machine." if busy else " — quiet."),
        "",
        "Each cell is the median over the repetitions of one attempt, ± the largest distance "
        "of a repetition from that median. N is the operations each repetition times (inside "
        "the program for loops; runs of hello for start-up). ratio = Lind / baseline, same "
        "run; the baseline is the native build of the same program unless the row names "
        "another.",
        "",
        "| benchmark | Lind path | baseline | Lind | ratio | N × reps | spread ≤ "
        f"±{SPREAD_GOAL:g}% | target | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        bench = row.bench
        target, met = _target(row)
        name = bench.name + (" †" if bench.no_kernel else "") + (
            " ‡" if bench.wakes_other and not bench.one_cpu else "")
        n = bench.n(info.quick)
        unit = f" run{'s' * (n > 1)}" if bench.kind == "startup" else bench.unit
        lines.append(f"| {name} | {bench.path} | {_fmt(row.base)} | {_fmt(row.lind)} | "
                     f"{row.ratio:.2f}× | {n:,}{unit} × {len(row.base)} | "
                     f"{_spread_cell(row)} | {target} | {met} |")
    if any(row.bench.no_kernel for row in rows):
        lines += [
            "",
            "† Lind answers this call without any host system call (from the 3i C table, "
            "or in a grate that ends there), while the native build enters the kernel: the "
            "ratio compares a table lookup with a system call, not like with like. The cost "
            "of a call that does reach the host kernel through the C trampoline is in the "
            "rows `read 0 B (host file)` and `lseek SEEK_CUR (host file)`.",
        ]
    if any(row.bench.wakes_other and not row.bench.one_cpu for row in rows):
        lines += [
            "",
            "‡ Two processes (native) or two cages (Lind) wake each other through a pipe or a "
            "futex. On a virtual machine, waking a vCPU that has gone idle costs the hypervisor "
            "tens of microseconds, so on a quiet machine these rows mostly time those wake-ups, "
            "on both sides, and the ratio says little (on the 2-vCPU development machine a "
            "native 1-byte pipe round trip took 42 µs with the other vCPU idle, 4.2 µs with it "
            "busy or with both sides on one CPU). The `, 1 CPU` rows pin both sides (every "
            "thread of the benchmark, so its native children and its cage threads) to one CPU, "
            "which takes the wake-up out.",
        ]
    if any(row.bench.kind == "startup" for row in rows):
        lines += [
            "",
            f"Start-up baselines: `{SUBPROCESS}` creates a process for the native build of "
            "hello (fork, exec, the program's own start-up); `lind.run` creates no process, so it is also "
            f"compared with `{BARE_WASMTIME}`: the same compiled module (cold: compiled "
            "afresh) instantiated in a new wasmtime Store on the calling thread with stub "
            "imports, without any of Lind (cage thread, fd table, 3i table, Linker per cage). "
            "`lind run` (the command) pays Python's own start-up on top. `lind run --isolate` "
            f"is compared with `{LIND_RUN}` itself: the difference is what the host layers cost; "
            f"`lind run` also with `{PYTHON}` (`python -c \"print('hello')\"`): the difference "
            "is Lind's own start-up. Lind's bytecode is compiled first, as an installed package has it.",
        ]
    if memory:
        lines += [
            "",
            "| memory | figure |",
            "|---|---|",
            f"| host memory per idle cage (RSS growth, {memory['sample']:.0f} cages) | "
            f"{memory['per_cage_kib']:,.0f} KiB |",
            f"| cages held at once by one process | {memory['held']:.0f}"
            f"{' (stopped at the cap)' if memory['capped'] else ' (then: ' + memory['error'] + ')'} |",
        ]
    return "\n".join(lines) + "\n"


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def measure_memory(quick: bool) -> dict[str, float]:
    """RSS per idle cage, and how many idle cages one process holds (up to a cap)."""
    import lind

    _, wasm = build("idle")
    cap = 300 if quick else 3000
    rt = lind.Runtime(max_cages=cap + 1)
    gates: list[int] = []
    cages = []
    error = ""
    sample = 50
    before = _rss_kib()
    per_cage = 0.0
    sink = os.open(os.devnull, os.O_WRONLY)
    try:
        while len(cages) < cap:
            r, w = os.pipe()
            try:
                cages.append(rt.spawn(wasm, root=str(BUILD), stdin=r, stdout=sink))
            except Exception as exc:  # noqa: BLE001 - the limit we are looking for
                error = str(exc) or type(exc).__name__
                os.close(r)
                os.close(w)
                break
            os.close(r)
            gates.append(w)
            if len(cages) == sample:
                time.sleep(0.2)
                per_cage = (_rss_kib() - before) / sample
    finally:
        held = len(cages)
        os.close(sink)
        for w in gates:
            os.close(w)
        for c in cages:
            c.wait(30)
    return {"per_cage_kib": per_cage, "sample": sample, "held": held,
            "capped": float(held >= cap), "error": error}


def chart(rows: list[Row], info: RunInfo, out: Path) -> None:
    """Ratios to the baseline as horizontal bars (log scale), targets as marks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.bench.name + (" †" if r.bench.no_kernel else "") for r in rows]
    ratios = [r.ratio for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.6))
    colors = ["#3b7dd8" if r <= 1 else "#d8843b" for r in ratios]
    bars = ax.barh(names, ratios, color=colors)
    for bar, row in zip(bars, rows, strict=True):
        if row.spread > SPREAD_GOAL:   # not reached: hatched
            bar.set_hatch("//")
    for i, r in enumerate(rows):
        if r.bench.target is not None and r.bench.kind != "startup":
            ax.plot([r.bench.target] * 2, [i - 0.4, i + 0.4], color="black", linewidth=2)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("time in a Lind cage / baseline (log scale; black marks: targets;\n"
                  f"hatched: spread over ±{SPREAD_GOAL:g}%; †: Lind makes no kernel call)")
    ax.set_title("Lind vs native Linux, same machine, same run\n"
                 f"({'quick' if info.quick else 'full'} mode, {info.started:%Y-%m-%d}, 1-min load "
                 f"{info.load_before[0]:.1f} before, {info.load_after[0]:.1f} after)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


@contextlib.contextmanager
def _private_servers() -> Iterator[None]:
    """`lind run`'s start-up servers for the start-up rows, in an XDG_RUNTIME_DIR of the
    bench's own: they neither use nor leave servers of the person running it."""
    saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "LIND_NO_SERVER")}
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_RUNTIME_DIR"] = folder
        os.environ.pop("LIND_NO_SERVER", None)
        try:
            yield
        finally:
            subprocess.run([sys.executable, "-m", "lind", "server", "stop"], check=True)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lind bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer iterations and retries: about 1.5 min once built (CI smoke test)")
    parser.add_argument("--reps", type=int, default=None,
                        help="repetitions per attempt (default: 5 quick, 7 full)")
    parser.add_argument("--retries", type=int, default=None,
                        help=f"new attempts for a row whose spread is over ±{SPREAD_GOAL:g}%% "
                        "(default: 1 quick, 3 full)")
    parser.add_argument("--backend", choices=("host", "portable", "cooperative"),
                        help="only the rows of this back end (each row says its own: host "
                        "files, the portable back end's tree, the cooperative runtime)")
    parser.add_argument("--fallback", action="store_true",
                        help="use the ctypes trampoline instead of the C one")
    parser.add_argument("--out", type=Path, default=None,
                        help="Markdown file to write, the chart beside it as .png (default: "
                        "a new benchmarks/results/run-TIME.md, which git ignores; the "
                        "committed latest.md changes only when named here)")
    opts = parser.parse_args(argv)
    if opts.fallback:
        os.environ["LIND_TRAMPOLINE"] = "ctypes"
    chosen = [b for b in BENCHES if (not opts.names or b.name in opts.names)
              and opts.backend in (None, b.backend)]
    unknown = set(opts.names) - {b.name for b in BENCHES} - {"memory"}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; "
                     f"known: {', '.join(b.name for b in BENCHES)}, memory")
    if (opts.reps is not None and opts.reps < 1) or (opts.retries is not None and opts.retries < 0):
        parser.error("--reps must be at least 1 and --retries at least 0")
    from lind import threei

    reps = opts.reps or (5 if opts.quick else 7)
    retries = opts.retries if opts.retries is not None else (1 if opts.quick else 3)
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    t0 = time.monotonic()
    rows = []
    with _private_servers():
        for bench in chosen:
            print(f"lind bench: {bench.name} ...", file=sys.stderr)
            rows.append(measure(bench, reps, retries, opts.quick))
    memory = None
    if (not opts.names and not opts.backend) or "memory" in opts.names:
        print("lind bench: memory ...", file=sys.stderr)
        memory = measure_memory(opts.quick)
    info = RunInfo(opts.quick, reps, retries, "C" if threei.ACCELERATED else "ctypes fallback",
                   load_before, os.getloadavg(), time.monotonic() - t0, started)
    text = report(rows, info, memory)
    print(text)
    out = opts.out or RESULTS / f"run-{started:%Y%m%d-%H%M%S}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    png = out.with_suffix(".png")
    if rows:
        chart(rows, info, png)
    print(f"lind bench: wrote {out}" + (f" and {png}" if rows else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
