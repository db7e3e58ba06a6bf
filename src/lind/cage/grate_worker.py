"""Running a wasm grate's handlers on the threads of the cages that call them.

A Store may be used by one thread at a time, and the grate's own thread is in its
Store (usually parked in wait()). So a grate gets workers: more instances of its
module, each in a Store of its own with its own stack region, whose linear memories
map the same host pages as the grate's (a worker whose call grows that memory grows
its own view before going on, see the trampoline's sync_caller). A calling thread takes a free worker (the
trampoline makes another when all are busy, as when a handler waits in a forwarded
wait4), so handlers of one grate may run at the same time, as in the native Lind.
The pages are shared through a memfd: a grate's memory is moved onto one when the
grate is loaded (`share_memory`), before its code runs, and each worker maps it.
Memory growth needs no extra work: Wasmtime grows a memory with mprotect over its
reservation, which our mapping covers.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import sys
import weakref
from typing import Any

import wasmtime
from wasmtime import _bindings as wt

from lind import threei
from lind.microvisor.shared_pages import map_fixed

DISPATCHER = "pass_fptr_to_wt"
WORKER_STACK = 256 * 1024
_RESERVATION = 1 << 32          # the whole 32-bit address space of a linear memory
_PROT_NONE = 0

def _map_memory(memory: Any, fd: int) -> None:
    """Back a linear memory with `fd`: accessible up to its size, the rest PROT_NONE."""
    base, size = memory.address(), memory.size()
    map_fixed(base, size, mmap.MAP_SHARED, fd, 0)
    map_fixed(base + size, _RESERVATION - size, mmap.MAP_SHARED, fd, size, prot=_PROT_NONE)


def share_memory(memory: Any) -> int:
    """Move a linear memory's contents onto a new memfd mapped in its place; the fd."""
    fd = os.memfd_create("lind-grate", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, _RESERVATION)
        size = memory.size()
        view = memory.view(0, size)
        done = 0
        while done < size:
            done += os.pwrite(fd, view[done:], done)
        _map_memory(memory, fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def is_grate(module: wasmtime.Module) -> bool:
    from lind.cage import loader

    return DISPATCHER in loader.shape(module).exports


class GrateWorkers:
    """The workers of one grate cage, and its handlers by function pointer."""

    def __init__(self, grate: Any) -> None:
        from lind.cage import cage as cage_module

        if grate.memory_file is None:
            raise OSError(errno.EINVAL, "not a grate (no pass_fptr_to_wt export)")
        if cage_module.STACK_POINTER not in grate.exports:
            raise OSError(errno.EINVAL, "grate was not built by lind cc (no stack pointer export)")
        self._cage = grate
        # Our own descriptor of the grate's memfd, closed only with this object: a worker
        # may still be in the making when the grate ends and closes its own.
        self._memory_file = os.dup(grate.memory_file)
        weakref.finalize(self, os.close, self._memory_file)
        results = grate.exports[DISPATCHER].type(grate.store).results
        returns_i64 = bool(results) and results[0] == wasmtime.ValType.i64()
        self.grate = threei.Grate(returns_i64, grate.mem, self._make_worker)
        self.handlers: dict[int, Any] = {}
        grate.slot.set_has_workers(True)

    def _make_worker(self) -> tuple[int, bytes, Any, Any]:
        """One more instance of the grate's module over the grate's memory (called by
        the trampoline when every worker is busy)."""
        from lind.cage import cage as cage_module
        from lind.cage import loader

        grate = self._cage
        store = wasmtime.Store(loader.engine())
        cage_module.watch_epochs(store, grate)
        linker = wasmtime.Linker(store.engine)
        threei.define_syscall_import(linker, grate.slot)
        grate.define_startup_imports(linker)
        instance = linker.instantiate(store, grate.module)
        exports = loader.Exports(store, instance, grate.module)
        memory = exports["memory"]
        grow = (grate.mem.size() - memory.data_len(store)) // 65536
        if grow > 0:
            memory.grow(store, grow)
        context = ctypes.cast(store._context(), ctypes.c_void_p).value
        # The worker's Memory owns its store: the trampoline keeps it until the grate
        # has ended and no handler runs in it any more.
        worker_memory = threei.Memory(context, bytes(memoryview(memory._memory).cast("B")), store)
        _map_memory(worker_memory, self._memory_file)
        stack = grate.aspace.mmap(0, WORKER_STACK, mmap.PROT_READ | mmap.PROT_WRITE,
                                  mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, None)
        stack_pointer = exports[cage_module.STACK_POINTER]
        stack_top = stack + WORKER_STACK
        stack_pointer.set_value(store, stack_top)
        grate_id = grate.id

        def on_failure(error: int, trap: int) -> None:
            """A handler trapped: say so (unless it was stopped because its caller or the
            grate is ending), and put the worker's stack back for the next call."""
            if not (cage_module.thread_stopping() or grate.kill_requested or grate.finished
                    or grate.slot.exiting):
                print(f"lind: grate {grate_id}: handler failed: {_describe(error, trap)}",
                      file=sys.stderr)
            stack_pointer.set_value(store, stack_top)

        dispatcher = exports[DISPATCHER]
        return (context, bytes(memoryview(dispatcher._func).cast("B")), worker_memory,
                on_failure)

    def handler(self, fn_ptr: int) -> Any:
        """The table entry for one function of the grate (one object per function)."""
        h = self.handlers.get(fn_ptr)
        if h is None:
            h = self.handlers[fn_ptr] = threei.GrateHandler(self.grate, fn_ptr)
            _retired.append(h)
        return h

    def close(self) -> None:
        """The grate ended: its handlers answer ENOSYS from now on.

        A call still inside a worker uses the worker's Store and, through the grate's
        Slot, the grate's own Store and memory: then all of them are kept (this object
        lives as long as its handlers, i.e. for good), never freed under that call.
        """
        self._cage.slot.set_has_workers(False)
        self.grate.close()


# Handlers stay alive for the life of the process: the C trampoline reads table
# entries without the GIL, so an entry must never be freed under a running call.
_retired: list[Any] = []


def _describe(error: int, trap: int) -> str:
    from lind.cage.cage import trap_reason

    if trap:
        t = wasmtime.Trap._from_ptr(ctypes.cast(trap, ctypes.POINTER(wt.wasm_trap_t)))
        return trap_reason(t.message) or "trap"
    if error:
        e = wasmtime.WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(wt.wasmtime_error_t)))
        return trap_reason(str(e)) or "error"
    return "unknown failure"
