"""The seam's wasmtime engine, and the process's one `wasmtime.Engine` that every
runtime of Lind compiles with (the threaded runtime through its C API, the cooperative
runtime through `ENGINE`, the `Engine` of lind.engine)."""

from __future__ import annotations

import ctypes
import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any

import wasmtime
from wasmtime import _bindings as wt
from wasmtime import _ffi

from lind.engine import (
    FUNCTION_TABLE,
    GC_HEAP_LIMIT,
    MAX_TABLE_ELEMENTS,
    MAX_TABLES,
    WASM_PAGE,
    EngineError,
    HostFunction,
    Import,
    stacks,
)

_lock = threading.Lock()
_engine: wasmtime.Engine | None = None


def engine() -> wasmtime.Engine:
    """The threaded runtime's engine, one per process (its epoch is the cages' tick)."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = wasmtime.Engine(_config())
        return _engine


def _config() -> wasmtime.Config:
    config = wasmtime.Config()
    config.epoch_interruption = True
    config.memory_may_move = False
    config.cranelift_opt_level = "speed"
    # as deep as native recursion; Lind's threads have the host stack for it.
    # Wasmtime refuses a limit past its async stack size (async calls, which
    # Lind never makes, would run there), which wasmtime-py does not expose.
    _set_async_stack_size(config, stacks.WASM_CALL_STACK)
    config.max_wasm_stack = stacks.WASM_CALL_STACK
    # C++ programs throw with WebAssembly exception handling (try_table/exnref,
    # the encoding Wasmtime reads; on by default in Wasmtime 50, said here so
    # that a Wasmtime with another default cannot turn `lind c++` programs away)
    config.wasm_exceptions = True
    # no GC objects: they would be host memory outside the cage's budget
    config.wasm_gc = False
    # programs `lind cc` links import one shared memory: every thread of a cage
    # is an instance of its own over it
    config.wasm_threads = True
    config.shared_memory = True
    return config


def _set_async_stack_size(config: wasmtime.Config, size: int) -> None:
    setter = _ffi.dll.wasmtime_config_async_stack_size_set
    setter.restype = None
    setter.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    setter(ctypes.cast(config.ptr(), ctypes.c_void_p), size)


@functools.lru_cache(maxsize=64)
def _shared_memory_type(minimum: int, maximum: int) -> wasmtime.MemoryType:
    """One MemoryType per size: Wasmtime only reads it when it makes a memory."""
    return wasmtime.MemoryType(wasmtime.Limits(minimum, maximum), shared=True)


class SharedMemory(wasmtime.SharedMemory):
    """A cage's memory as `lind cc` programs import it (`lind.memory`, shared).

    wasmtime-py 50 passes a pointer to its pointer where the C API wants the pointer
    itself when it defines one in a Linker or asks its size; both are right here."""

    @classmethod
    def of_pages(cls, engine: wasmtime.Engine, minimum: int, maximum: int) -> SharedMemory:
        """A new shared memory of `minimum` pages that may grow to `maximum`."""
        return cls(engine, _shared_memory_type(minimum, maximum))

    def define_in(self, linker: wasmtime.Linker, store: wasmtime.Store) -> None:
        """Define this memory as lind.memory in `linker`, without wasmtime-py's
        per-call type dispatch (every fork, exec and new thread does this)."""
        extern = self._as_extern()
        err = wt.wasmtime_linker_define(linker.ptr(), store._context(), b"lind", 4,
                                        b"memory", 6, ctypes.byref(extern))
        if err:
            raise wasmtime.WasmtimeError._from_ptr(err)

    def _as_extern(self) -> wt.wasmtime_extern_t:
        return wt.wasmtime_extern_t(_ffi.WASMTIME_EXTERN_SHAREDMEMORY,
                                    wt.wasmtime_extern_union(sharedmemory=self.ptr()))

    def size(self) -> int:
        return wt.wasmtime_sharedmemory_size(self.ptr())

    def address(self) -> int:
        """The wasmtime_sharedmemory_t, for threei.Memory.shared (kept: each fork into
        a kept instance asks it again)."""
        address = getattr(self, "_lind_address", None)
        if address is None:
            address = self._lind_address = ctypes.cast(self.ptr(), ctypes.c_void_p).value or 0
        return address


class WasmtimeMemory:
    """A shared memory of this engine, as the seam reads and writes it."""

    def __init__(self, shared: SharedMemory) -> None:
        self.shared = shared

    def size(self) -> int:
        return self.shared.size() * WASM_PAGE

    def grow(self, pages: int) -> None:
        try:
            self.shared.grow(pages)
        except wasmtime.WasmtimeError as exc:
            raise EngineError(str(exc)) from None

    def _check(self, addr: int, length: int) -> int:
        if addr < 0 or length < 0 or addr + length > self.size():
            raise IndexError(f"{length} bytes at {addr:#x} are outside the memory")
        return ctypes.addressof(self.shared.data_ptr().contents) + addr

    def read(self, addr: int, length: int) -> bytes:
        return ctypes.string_at(self._check(addr, length), length)

    def write(self, addr: int, data: bytes) -> None:
        ctypes.memmove(self._check(addr, len(data)), data, len(data))

    def copy_from(self, source: WasmtimeMemory) -> None:
        length = source.size()
        ctypes.memmove(self._check(0, length), source._check(0, length), length)


class WasmtimeInstance:
    def __init__(self, store: wasmtime.Store, instance: wasmtime.Instance) -> None:
        self.store = store
        self.exports = instance.exports(store)

    def has(self, name: str) -> bool:
        return name in self.exports

    def call(self, name: str, *args: int) -> int | None:
        """On a thread with room for the wasm stack Wasmtime allows (lind.engine.stacks):
        the caller's own may have less, and running out of it would crash the host."""
        func = self.exports[name]
        return stacks.call_with_room(lambda: func(self.store, *args))

    def get_global(self, name: str) -> int:
        return self.exports[name].value(self.store)

    def set_global(self, name: str, value: int) -> None:
        self.exports[name].set_value(self.store, value)

    def table_arity(self, index: int) -> int | None:
        table = self.exports.get(FUNCTION_TABLE)
        if not isinstance(table, wasmtime.Table) or not 0 <= index < table.size(self.store):
            return None
        func = table.get(self.store, index)
        return len(func.type(self.store).params) if isinstance(func, wasmtime.Func) else None


class WasmtimeEngine:
    """An engine of its own (the same settings as `engine()`), so that its epoch, which
    `interrupt` advances, stops this engine's instances and no others."""

    name = "wasmtime"

    def __init__(self) -> None:
        self.engine = wasmtime.Engine(_config())
        self._code_sizes: weakref.WeakKeyDictionary[wasmtime.Module, int] = (
            weakref.WeakKeyDictionary())

    def compile(self, wasm: bytes) -> wasmtime.Module:
        """In a process of its own (`lind.engine.compiler`): CompileLimit past its limits."""
        from lind.engine.compiler import compile_serialized

        code = compile_serialized(wasm)
        module = wasmtime.Module.deserialize(self.engine, code)
        self._code_sizes[module] = len(code)
        return module

    def code_size(self, module: wasmtime.Module) -> int:
        return self._code_sizes.get(module, 0)

    def imports(self, module: wasmtime.Module) -> list[Import]:
        found = []
        for item in module.imports:
            kind = type(item.type).__name__.removesuffix("Type").lower()
            if isinstance(item.type, wasmtime.MemoryType):
                limits = (item.type.limits.min, item.type.limits.max)
                found.append(Import(item.module, item.name, "memory", limits, item.type.is_shared))
            else:
                found.append(Import(item.module, item.name or "", kind))
        return found

    def exports(self, module: wasmtime.Module) -> list[str]:
        return [item.name for item in module.exports]

    def new_memory(self, minimum: int, maximum: int | None, shared: bool) -> WasmtimeMemory:
        if not shared or maximum is None:
            raise EngineError("this runtime gives programs a shared memory with a maximum")
        try:
            return WasmtimeMemory(SharedMemory.of_pages(self.engine, minimum, maximum))
        except wasmtime.WasmtimeError as exc:
            raise EngineError(str(exc)) from None

    def instantiate(self, module: wasmtime.Module, functions: dict[tuple[str, str], HostFunction],
                    memory: Any) -> WasmtimeInstance:
        store = wasmtime.Store(self.engine)
        store.set_epoch_deadline(1)      # interrupt() passes it
        # tables bounded; no memory of its own (a program imports lind.memory); the GC heap
        store.set_limits(memory_size=GC_HEAP_LIMIT, table_elements=MAX_TABLE_ELEMENTS,
                         tables=MAX_TABLES, memories=0)
        externs: list[Any] = []
        for item in module.imports:
            if isinstance(item.type, wasmtime.MemoryType):
                if memory is None:
                    raise EngineError(f"{item.module}.{item.name}: no memory to import")
                externs.append(memory.shared)
            elif isinstance(item.type, wasmtime.FuncType):
                function = functions.get((item.module, item.name or ""))
                if function is None:
                    function = _missing(f"{item.module}.{item.name}")
                externs.append(wasmtime.Func(store, item.type, function))
            else:
                raise EngineError(f"{item.module}.{item.name}: only functions and a memory "
                                  "can be imported")
        try:
            return WasmtimeInstance(store, wasmtime.Instance(store, module, externs))
        except wasmtime.WasmtimeError as exc:
            raise EngineError(str(exc).splitlines()[0]) from None
        except wasmtime.Trap as exc:
            raise EngineError(f"start function trapped: {str(exc).splitlines()[0]}") from None

    def interrupt(self) -> bool:
        """Every instance of this engine made so far stops at its next check (a loop or
        a function entry): the cooperative runtime ends a whole run this way."""
        self.engine.increment_epoch()
        return True

    def hosting(self, body: Callable[[], Any]) -> Any:
        """On one thread with a wasm-sized host stack (lind.engine.stacks), so that
        each call does not start one."""
        return stacks.call_with_room(body)


def _missing(name: str) -> HostFunction:
    def trap(*_args: int) -> int:
        raise EngineError(f"{name} is not provided by this runtime")

    return trap


new = WasmtimeEngine
