"""Running a wasm grate's handlers on the threads of the cages that call them.

A Store may be used by one thread at a time, and the grate's own thread is in its
Store (usually parked in wait()). So a grate gets workers: more instances of its
module, each in a Store of its own with its own stack region, over the grate's own
memory (the shared memory every `lind cc` program imports, so growth by any of them
is seen by all). A calling thread takes a free worker (the trampoline makes another
when all are busy, as when a handler waits in a forwarded wait4), so handlers of one
grate may run at the same time, as in the native Lind.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import sys
import weakref
from typing import Any

import wasmtime
from wasmtime import _bindings as wt

from lind import threei
from lind.cage.loader import STACK_POINTER

DISPATCHER = "pass_fptr_to_wt"
WORKER_START = "__lind_worker_start"
# The memories of grates whose workers may still run a handler (a worker holds its
# grate's memory after the grate ended), with their runtimes: where a handler can be
# parked (waiters.py).
GRATE_MEMORIES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
WORKER_STACK = 256 * 1024


class GrateWorkers:
    """The workers of one grate cage, and its handlers by function pointer."""

    def __init__(self, grate: Any) -> None:
        if DISPATCHER not in grate.exports:
            raise OSError(errno.EINVAL, "not a grate (no pass_fptr_to_wt export)")
        if STACK_POINTER not in grate.exports or grate.shared_memory is None:
            raise OSError(errno.EINVAL, "grate was not built by lind cc (no stack pointer "
                          "export or no shared memory)")
        self._cage = grate
        # Workers hold the grate's memory themselves: one may still be in the making
        # when the grate ends (or execs) and lets go of it.
        self._memory = grate.shared_memory
        GRATE_MEMORIES[self._memory] = grate.runtime
        results = grate.exports[DISPATCHER].type(grate.store).results
        returns_i64 = bool(results) and results[0] == wasmtime.ValType.i64()
        self.grate = threei.Grate(returns_i64, grate.mem, self._make_worker)
        self.handlers: dict[int, Any] = {}

    def _make_worker(self) -> tuple[int, bytes, Any, Any]:
        """One more instance of the grate's module over the grate's memory (called by
        the trampoline when every worker is busy)."""
        from lind.cage import cage as cage_module
        from lind.cage import loader

        grate = self._cage
        store, exports = grate.instance_over_memory()
        context = loader.context_address(store)
        # The worker's Memory owns its store (and the memory): the trampoline keeps it
        # until the grate has ended and no handler runs in it any more.
        worker_memory = threei.Memory.shared(self._memory.address(), (store, self._memory))
        stack = grate.aspace.mmap(0, WORKER_STACK, mmap.PROT_READ | mmap.PROT_WRITE,
                                  mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, None)
        stack_pointer = exports[STACK_POINTER]
        stack_top = stack + WORKER_STACK
        loader.set_i32(stack_pointer, context, stack_top)
        if WORKER_START in exports:   # its own thread descriptor and TLS block
            exports[WORKER_START](store)
        grate_id = grate.id

        def on_failure(error: int, trap: int) -> None:
            """A handler trapped: say so (unless it was stopped because its caller or the
            grate is ending), and put the worker's stack back for the next call."""
            if not (cage_module.thread_stopping() or grate.kill_requested or grate.finished
                    or grate.slot.exiting):
                print(f"lind: grate {grate_id}: handler failed: {_describe(error, trap)}",
                      file=sys.stderr)
            loader.set_i32(stack_pointer, context, stack_top)

        dispatcher = exports[DISPATCHER]
        return (context, bytes(memoryview(dispatcher._func).cast("B")), worker_memory,
                on_failure)

    def handler(self, fn_ptr: int) -> Any:
        """The table entry for one function of the grate (one object per function while
        a table holds it)."""
        h = self.handlers.get(fn_ptr)
        if h is None:
            h = self.handlers[fn_ptr] = threei.GrateHandler(self.grate, fn_ptr)
            _made(h, self)
        return h

    def close(self) -> None:
        """The grate ended: its handlers answer ENOSYS from now on.

        A call still inside a worker uses the worker's Store and, through the grate's
        Slot, the grate's own Store and memory: then all of them are kept (the handler
        it runs holds them), never freed under that call.
        """
        self.grate.close()


# Every handler made, with the workers that made it. The C trampoline takes handlers
# out of table entries without the GIL, so one is freed here, not when its last entry
# goes: at a sweep, once no table holds it and no thread holds it in a call
# (threei.handler_in_use). Before, every handler was kept for good, and a cage
# registering handler after handler took the host's memory (~110 bytes each, 400,000
# in 3.5 s), as did every grate cage that came and went (~8 KiB each).
_handlers: list[tuple[Any, weakref.ReferenceType]] = []
_SWEEP_EVERY = 4096
_made_since_sweep = 0


def _made(handler: Any, workers: GrateWorkers) -> None:
    global _made_since_sweep
    _handlers.append((handler, weakref.ref(workers)))
    _made_since_sweep += 1
    if _made_since_sweep >= _SWEEP_EVERY:
        _made_since_sweep = 0
        sweep_handlers()


def sweep_handlers() -> None:
    """Free the handlers no table and no running call holds (the GIL is held: no table
    changes meanwhile)."""
    kept = []
    for handler, workers_ref in _handlers:
        workers = workers_ref()
        listed = workers is not None and workers.handlers.get(handler.fn_ptr) is handler
        # held by: this list, the loop's variable, getrefcount's argument, the workers
        if sys.getrefcount(handler) - 3 - listed > 0 or threei.handler_in_use(handler):
            kept.append((handler, workers_ref))
        elif listed:
            del workers.handlers[handler.fn_ptr]
    _handlers[:] = kept


def _describe(error: int, trap: int) -> str:
    from lind.cage.cage import trap_reason

    if trap:
        t = wasmtime.Trap._from_ptr(ctypes.cast(trap, ctypes.POINTER(wt.wasm_trap_t)))
        return trap_reason(t.message) or "trap"
    if error:
        e = wasmtime.WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(wt.wasmtime_error_t)))
        return trap_reason(str(e)) or "error"
    return "unknown failure"
