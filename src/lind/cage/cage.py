"""A cage: one program instance with its own memory, fd table, cwd and 3i table."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any

import wasmtime
from wasmtime import _bindings as wt

from lind import threei
from lind.cage import loader
from lind.microvisor import abi
from lind.microvisor import table as microvisor
from lind.microvisor.fdtable import FdTable, OpenFile
from lind.microvisor.fs import FileSystem
from lind.microvisor.sys_memory import AddressSpace
from lind.threei import ops

DEFAULT_STACK = 1 << 20

_TRAP_SIGNALS = {
    wasmtime.TrapCode.STACK_OVERFLOW: signal.SIGSEGV,
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: signal.SIGSEGV,
    wasmtime.TrapCode.HEAP_MISALIGNED: signal.SIGBUS,
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: signal.SIGSEGV,
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: signal.SIGSEGV,
    wasmtime.TrapCode.BAD_SIGNATURE: signal.SIGSEGV,
    wasmtime.TrapCode.INTEGER_OVERFLOW: signal.SIGFPE,
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: signal.SIGFPE,
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: signal.SIGFPE,
    wasmtime.TrapCode.UNREACHABLE: signal.SIGILL,
    wasmtime.TrapCode.INTERRUPT: signal.SIGKILL,
}

# Epoch ticks: every running cage checks in once a tick, so a kill lands within one.
_TICK_SECONDS = 0.01
_ticker_lock = threading.Lock()
_running = 0
_ticker_wake = threading.Condition(_ticker_lock)
_cages_by_key: dict[int, Cage] = {}


def _ticker() -> None:
    eng = loader.engine()
    while True:
        with _ticker_lock:
            while _running == 0:
                _ticker_wake.wait()
        threading.Event().wait(_TICK_SECONDS)
        eng.increment_epoch()


_EPOCH_CB_T = wt._wasmtime_store_epoch_deadline_callback.argtypes[1]


@_EPOCH_CB_T
def _on_epoch(context, key, delta, kind) -> int:
    cage = _cages_by_key.get(key or 0)  # context is unused: the key names the cage
    delta[0] = 1
    kind[0] = 0  # continue
    if cage is not None and cage.kill_requested:
        msg = b"killed"
        err = wt.wasmtime_error_new(ctypes.create_string_buffer(msg))
        return ctypes.cast(err, ctypes.c_void_p).value or 0
    return 0


_NO_FINALIZER = wt._wasmtime_store_epoch_deadline_callback.argtypes[3]()
threading.Thread(target=_ticker, name="lind-epoch", daemon=True).start()


def _strings(items: Sequence[bytes]) -> tuple[int, bytes]:
    return len(items), b"".join(s + b"\0" for s in items)


class Cage:
    """Create with the program's module; `start()` runs it on a thread of its own."""

    def __init__(self, *, runtime: Any, cage_id: int, parent_id: int, module: wasmtime.Module,
                 argv: Sequence[bytes], env: Sequence[bytes], fs: FileSystem, cwd: str,
                 stdio: Sequence[OpenFile], ids: tuple[int, int, int, int]) -> None:
        self.runtime = runtime
        self.id = cage_id
        self.ppid = parent_id
        self.argv = list(argv)
        self.env = list(env)
        self.fs = fs
        self.cwd = cwd
        self.umask = 0o022
        self.stack_size = DEFAULT_STACK
        self.slot = threei.Slot(self)
        self.fds = FdTable(mirror=self._mirror_fd)
        for f in stdio:
            self.fds.install(f)
        self.sigactions: dict[int, bytes] = {}
        self.sigmask = 0
        self.pending_signals = 0
        self.status: int | None = None       # wait(2) encoding once the cage has ended
        self.trap_message: str | None = None
        self.kill_requested = False
        self._wakeup = threading.Event()
        self._done = threading.Event()
        microvisor.install(self.slot)
        uid, euid, gid, egid = ids
        self.slot.set_ids(cage_id, parent_id, uid, euid, gid, egid)
        self.slot.set_fd_limit(self.fds.limit)

        eng = loader.engine()
        self.store = wasmtime.Store(eng)
        key = id(self)
        _cages_by_key[key] = self
        wt.wasmtime_store_epoch_deadline_callback(
            self.store.ptr(), _on_epoch, ctypes.c_void_p(key), _NO_FINALIZER)
        self.store.set_epoch_deadline(1)
        linker = wasmtime.Linker(eng)
        threei.define_syscall_import(linker, self.slot)
        self._define_startup_imports(linker)
        self.instance = linker.instantiate(self.store, module)
        exports = self.instance.exports(self.store)
        memory = exports["memory"]
        context = ctypes.cast(self.store._context(), ctypes.c_void_p).value
        self.mem = threei.Memory(context, bytes(memoryview(memory._memory).cast("B")))
        self.slot.set_memory(self.mem)
        heap_base = exports["__heap_base"].value(self.store) if "__heap_base" in exports else None
        if heap_base is None:
            heap_base = self.mem.size()
        self.aspace = AddressSpace(heap_base, lambda pages: memory.grow(self.store, pages),
                                   self.mem)
        self._entry = exports["_start"]
        self.thread = threading.Thread(target=self._main, name=f"cage-{cage_id}", daemon=True)

    def _mirror_fd(self, fd: int, f: OpenFile | None) -> None:
        """Let the trampoline serve plain host-file I/O on `fd` itself."""
        if f is None or f.is_dir or not f.host_backed:
            self.slot.mirror_fd(fd, -1, False, False)
        else:
            self.slot.mirror_fd(fd, f.host_fd, f.readable, f.writable)

    # -- start-up imports: argv and environment, asked for once by _start -----
    def _define_startup_imports(self, linker: wasmtime.Linker) -> None:
        i32 = wasmtime.ValType.i32()
        ty = wasmtime.FuncType([i32, i32], [i32])

        def sizes(items: list[bytes]):
            def fn(count_ptr: int, size_ptr: int) -> int:
                count, blob = _strings(items)
                self.mem.write(count_ptr, count.to_bytes(4, "little"))
                self.mem.write(size_ptr, len(blob).to_bytes(4, "little"))
                return 0
            return fn

        def fill(items: list[bytes]):
            def fn(ptrs: int, buf: int) -> int:
                _, blob = _strings(items)
                self.mem.write(buf, blob)
                offsets, at = [], buf
                for s in items:
                    offsets.append(at)
                    at += len(s) + 1
                self.mem.write(ptrs, b"".join(o.to_bytes(4, "little") for o in offsets))
                return 0
            return fn

        for name, fn in (("args_sizes_get", sizes(self.argv)), ("args_get", fill(self.argv)),
                         ("environ_sizes_get", sizes(self.env)),
                         ("environ_get", fill(self.env))):
            linker.define_func("lind", name, ty, _errno_guard(fn))

    # -- life cycle ---------------------------------------------------------
    def start(self) -> None:
        global _running
        with _ticker_lock:
            _running += 1
            _ticker_wake.notify()
        self.thread.start()

    def _main(self) -> None:
        global _running
        try:
            self._entry(self.store)
            if self.status is None:
                self.status = abi.exit_status(0)
        except wasmtime.Trap as trap:
            if os.environ.get("LIND_DEBUG_TRAPS"):
                print(trap.message, file=sys.stderr)
            if self.status is None:
                sig = _TRAP_SIGNALS.get(trap.trap_code, signal.SIGILL)
                if self.kill_requested:
                    sig = self._kill_signal
                self.trap_message = _trap_reason(trap.message)
                self.status = abi.signal_status(sig)
        except wasmtime.WasmtimeError as err:
            if self.status is None:
                if self.kill_requested:
                    self.status = abi.signal_status(self._kill_signal)
                else:
                    self.trap_message = _trap_reason(str(err))
                    self.status = abi.signal_status(signal.SIGSEGV)
        finally:
            self._finish()
            with _ticker_lock:
                _running -= 1

    def _finish(self) -> None:
        if self.status is not None and self.status & 0x7F:
            ops.notify_harsh_exit(self, self.status & 0x7F)
        self.fds.close_all()
        self.fs.close()
        _cages_by_key.pop(id(self), None)
        threei.release(self.slot)
        self.runtime.forget(self)
        # The instance and its memory go with the store; nothing may touch them after this.
        self.slot.set_memory(None)
        self.mem = self.aspace = self.instance = self._entry = None
        self.store = None
        self._done.set()

    def wait(self, timeout: float | None = None) -> int | None:
        """The wait(2) status once the cage has ended, or None if `timeout` ran out."""
        if not self._done.wait(timeout):
            return None
        return self.status

    @property
    def returncode(self) -> int | None:
        """subprocess's convention: the exit code, or -N when killed by signal N."""
        if self.status is None:
            return None
        return -(self.status & 0x7F) if self.status & 0x7F else (self.status >> 8) & 0xFF

    # -- called from system-call handlers on the cage's own thread --------------
    def exit(self, code: int) -> None:
        self.status = abi.exit_status(code)
        self.slot.stop("exit")

    def kill(self, sig: int) -> None:
        self.status = abi.signal_status(sig)
        self.slot.stop(f"killed by signal {sig}")

    def sleep(self, ns: int) -> int:
        """Sleep up to `ns`; returns the nanoseconds left if woken by a kill."""
        if self._wakeup.wait(ns / 1e9):
            return max(ns, 1)
        return 0

    def internal_error(self, exc: BaseException) -> None:
        """A handler raised something other than OSError: a Lind bug. Stop the cage only."""
        print(f"lind: internal error in cage {self.id}, stopping it:", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
        self.status = abi.signal_status(signal.SIGSYS)

    # -- called from other threads -----------------------------------------
    _kill_signal = signal.SIGKILL

    def terminate(self, sig: int = signal.SIGKILL) -> None:
        """Stop the cage from outside: at its next epoch tick or system call."""
        self._kill_signal = sig
        self.kill_requested = True
        self.slot.stop(f"killed by signal {sig}")
        self._wakeup.set()


def _trap_reason(message: str) -> str | None:
    """The line of a Wasmtime trap report that says what happened (not the backtrace)."""
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    for ln in lines:
        if "wasm trap:" in ln:
            return ln.split("wasm trap:", 1)[1].strip()
    return lines[-1] if lines else None


def _errno_guard(fn):
    def guarded(*args: int) -> int:
        try:
            return fn(*args)
        except OSError as exc:
            return -(exc.errno or 5)
    return guarded
