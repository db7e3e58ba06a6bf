"""One Wasmtime engine per process, and a disk cache of compiled programs.

Compiling a program with Cranelift takes tens of milliseconds; deserialising the
cached machine code takes a fraction of one. The cache key is the program's bytes
plus everything that changes the generated code (Wasmtime version and settings).

Both caches are bounded, least recently used first out, so a cage exec'ing endless
distinct programs cannot fill the host: in memory `MEMORY_CACHE_BYTES` of compiled
code (counted by serialized size), on disk `$LIND_CACHE_SIZE` bytes (default
`DISK_CACHE_BYTES`; a file's mtime is its last use).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import stat
import tempfile
import threading
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import wasmtime
from wasmtime import _bindings as wt
from wasmtime import _ffi
from wasmtime._extern import wrap_extern

from lind import threei  # (its fault handler goes in before Wasmtime's: _accel.c)
from lind.cage.program_file import read_program
from lind.engine import FUNCTION_TABLE, EngineError
from lind.engine.compiler import (
    CompileLimit,
    CompilerUnavailable,
    CpuAccount,
    Wait,
    compile_serialized,
)
from lind.engine.wasmtime_engine import engine
from lind.hostdirs import cache_root
from lind.toolchain.asyncify import (
    EXPORT_SECTION,
    IMPORT_SECTION,
    LIND_GLOBAL_PREFIX,
    MAX_SECTIONS,
    MEMORY_SECTION,
    NULL_PAGE_UNUSED,
    AsyncifyError,
    custom_section_names,
    entries,
    exported_constant,
    has_too_many_sections,
    instance_shape,
    lowest_data_address,
    resettable_globals,
)
from lind.toolchain.safepoints import SAFEPOINTS_INSERTED

WASM_MAGIC = b"\0asm"
# The engine that compiled a cached module: its shared library, by size and time (a stat,
# where importlib.metadata cost ~12 ms of every start); wasmtime also refuses to load
# code another version compiled, and such an entry is then compiled again.
_ENGINE_BUILD = "{0.st_size}:{0.st_mtime_ns}".format(os.stat(_ffi.filename))
_ENGINE_SETTINGS = "epoch_interruption=1;memory_may_move=0;opt=speed;exceptions=1;threads=1"
MEMORY_CACHE_BYTES = 256 << 20
# Imports or exports a program may have: lind cc's have about 20. Each costs ~1 KB of
# the host as Wasmtime lists it, and its compiled module keeps ~120 bytes, counted in no
# budget: 100,000 (what the validator allows) held ~100 MB of the host per module.
MAX_IMPORTS_OR_EXPORTS = 10_000
DISK_CACHE_BYTES = 1 << 30
# key -> (module, bytes it holds, its wasm); and the key of a wasm by a cheap fingerprint
_modules: OrderedDict[str, tuple[wasmtime.Module, int, bytes]] = OrderedDict()
_keys_by_fingerprint: dict[tuple[int, int], str] = {}
_modules_bytes = 0
_modules_lock = threading.Lock()


class ProgramError(OSError):
    """The file given is not a program Lind can run; the message says why.

    An OSError, as subprocess raises for a program it cannot start: ENOEXEC, or ENOENT
    for a file that is not there (MissingProgram, a FileNotFoundError too). `status` is
    what a shell would exit with: 127 when the file is missing, else 126.
    """

    def __init__(self, message: str, status: int = 126) -> None:
        super().__init__(errno.ENOENT if status == 127 else errno.ENOEXEC, message)
        self.status = status

    def __str__(self) -> str:
        return self.strerror


class TooLargeToCompile(ProgramError):
    """Compiling the program would pass a compile's memory or CPU limit: ENOMEM."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errno = errno.ENOMEM


class MissingProgram(ProgramError, FileNotFoundError):
    """The program file is not there."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 127)


def copy_global(source: wasmtime.Global, source_context: int,
                target: wasmtime.Global, target_context: int) -> None:
    """Give `target` the value of `source` (numeric globals of one type, as fork copies
    them), in the stores whose contexts are at those addresses (context_address)."""
    threei.copy_global(source_context, ctypes.addressof(source._global),
                       target_context, ctypes.addressof(target._global))


def get_i32(glob: wasmtime.Global, context: int) -> int:
    """An i32 global's value (signed, as wasmtime-py gives it; its type checked at
    load), in the store whose context is at `context`."""
    return threei.global_i32(context, ctypes.addressof(glob._global))


def set_i32(glob: wasmtime.Global, context: int, value: int) -> None:
    """Set an i32 global (its type checked at load; the low 32 bits of `value`)."""
    threei.set_global_i32(context, ctypes.addressof(glob._global), value)


class Stopped(wasmtime.WasmtimeError):
    """The trampoline stopped the instance (a thread's exit(2), the cage's exit, a kill,
    exec): the WasmtimeError Wasmtime reports for it, made from the stop's message
    without reading Wasmtime's error object back (~10 µs here, more than the rest of a
    thread's exit)."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)    # no Wasmtime object behind it
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __del__(self) -> None:
        """Nothing to delete (Wasmtime's close would find that out by an AttributeError,
        at every thread's exit)."""


def call_i32s(func: wasmtime.Func, context: int, slot: threei.Slot, *args: int) -> None:
    """Call an export that takes i32s and returns nothing, its type checked at load
    (_EXPORTED_FUNCS), in the store whose context is at `context` (context_address),
    the instance's calls going to `slot`, without wasmtime-py's per-call conversions: a
    cage's imports are all raw host functions (the trampoline's, start-up's, WASI's),
    none a wasmtime-py Func whose Python exception wasmtime-py would have to raise
    instead of the trap."""
    failed = threei.call_export(context, ctypes.addressof(func._func), slot, *args)
    if failed is not None:
        _raise_failure(failed)


def enter_i32s(unwinder: threei.Unwinder, func: wasmtime.Func, slot: threei.Slot,
               *args: int) -> None:
    """call_i32s into the instance `unwinder` is bound to, where the trampoline runs
    setjmp, longjmp and fork by itself (Cage.unwind_then)."""
    failed = unwinder.enter(ctypes.addressof(func._func), slot, *args)
    if failed is not None:
        _raise_failure(failed)


def rewind(unwinder: threei.Unwinder, result: int) -> None:
    """Start rewinding the stack Python unwound in `unwinder`'s instance: the call that
    unwound it returns `result` (Unwinder.rewind)."""
    failed = unwinder.rewind(result)
    if failed is not None:
        _raise_failure(failed)


def _raise_failure(failed: tuple[int, int] | str) -> None:
    """What a call through the trampoline reported: a stop's message, or Wasmtime's
    (error, trap)."""
    if isinstance(failed, str):
        raise Stopped(failed)
    err, trap = failed
    if err:
        raise wasmtime.WasmtimeError._from_ptr(ctypes.cast(err, ctypes.POINTER(wt.wasmtime_error_t)))
    raise wasmtime.Trap._from_ptr(ctypes.cast(trap, ctypes.POINTER(wt.wasm_trap_t)))


def context_address(store: wasmtime.Store) -> int:
    """The store's wasmtime_context_t, as the trampoline and epoch callbacks see it."""
    return ctypes.cast(store._context(), ctypes.c_void_p).value or 0


def imported_memory(module: wasmtime.Module) -> wasmtime.MemoryType | None:
    """The type of `module`'s `lind.memory` import (None: it has a memory of its own)."""
    return _memory_import(shape(module).imports)


def _memory_import(imports: tuple[tuple[str, str, object], ...]) -> wasmtime.MemoryType | None:
    for mod, name, ty in imports:
        if (mod, name) == ("lind", "memory") and isinstance(ty, wasmtime.MemoryType):
            return ty
    return None


def forget_compiled() -> None:
    """Drop the in-process module cache (benchmarks of a cold start need it gone)."""
    global _modules_bytes
    with _modules_lock:
        _modules.clear()
        _keys_by_fingerprint.clear()
        _modules_bytes = 0


def _recall(key: str) -> wasmtime.Module | None:
    with _modules_lock:
        found = _modules.get(key)
        if found is None:
            return None
        _modules.move_to_end(key)
        return found[0]


def _fingerprint(wasm: bytes) -> tuple[int, int]:
    """Its size and a CRC of every 61st byte: what finds a program loaded before without
    hashing all of it (its bytes are then compared, so a match cannot be forged)."""
    return len(wasm), zlib.crc32(wasm[::61])


def _key_of_known(wasm: bytes) -> str | None:
    """The cache key of a program the in-process cache holds with exactly these bytes
    (an exec or spawn of the same program: ~2 us where hashing it costs ~55 us per
    100 KB)."""
    with _modules_lock:
        key = _keys_by_fingerprint.get(_fingerprint(wasm))
        found = _modules.get(key) if key is not None else None
    return key if found is not None and found[2] == wasm else None


def _remember(key: str, module: wasmtime.Module, size: int, wasm: bytes) -> None:
    """Keep `module` in memory, dropping the least recently used past the cap."""
    global _modules_bytes
    with _modules_lock:
        if key in _modules:
            return
        _modules[key] = (module, size + len(wasm), bytes(wasm))
        _keys_by_fingerprint[_fingerprint(wasm)] = key
        _modules_bytes += size + len(wasm)
        while _modules_bytes > MEMORY_CACHE_BYTES and len(_modules) > 1:
            dropped_key, (_, dropped, dropped_wasm) = _modules.popitem(last=False)
            _modules_bytes -= dropped
            fingerprint = _fingerprint(dropped_wasm)
            if _keys_by_fingerprint.get(fingerprint) == dropped_key:
                del _keys_by_fingerprint[fingerprint]


def disk_cache_limit() -> int:
    """Bytes the disk cache may hold: $LIND_CACHE_SIZE (bytes, or with K, M or G as
    --memory takes it: `2G` was ignored for the default), else DISK_CACHE_BYTES."""
    from lind.microvisor.limits import parse_size

    text = os.environ.get("LIND_CACHE_SIZE", "").strip()
    if text == "0":
        return 0
    try:
        return parse_size(text)
    except ValueError:
        return DISK_CACHE_BYTES


def cache_dir() -> Path:
    return Path(cache_root()) / "modules"


def _key(wasm: bytes) -> str:
    h = hashlib.sha256()
    h.update(_ENGINE_BUILD.encode())
    h.update(_ENGINE_SETTINGS.encode())
    h.update(wasm)
    return h.hexdigest()


KNOWN_IMPORTS = {"lind", "wasi_snapshot_preview1"}


def load(path: str | os.PathLike[str], wait: Wait | None = None,
         account: CpuAccount | None = None) -> wasmtime.Module:
    """The compiled module for a program file, from memory, disk cache, or Cranelift (in
    a process of its own, `lind.engine.compiler`; `wait` waits for it, `account` pays
    its CPU time)."""
    try:
        wasm = read_program(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise MissingProgram(f"{path}: {exc.strerror}") from None
        raise ProgramError(f"{path}: {exc.strerror}") from None
    return load_bytes(wasm, str(path), wait, account)


def load_bytes(wasm: bytes, path: str, wait: Wait | None = None,
               account: CpuAccount | None = None) -> wasmtime.Module:
    """Like `load`, for a program already read; `path` names it in messages."""
    if wasm[:4] != WASM_MAGIC:
        raise ProgramError(f"{path}: not a WebAssembly module")
    key = _key_of_known(wasm) or _key(wasm)
    module = _recall(key)
    if module is not None:
        return module
    # before anything walks its sections (the compile, then a dozen readers here, none of
    # which a stop or a timeout interrupts): 2 million empty custom sections in 6 MB took
    # ~6 s of the host's CPU to load, a file of 256 MiB minutes
    if has_too_many_sections(wasm):
        raise ProgramError(f"{path}: has more than {MAX_SECTIONS:,} sections (a program "
                           "has a few dozen)")
    cached = cache_dir() / f"{key}.cwasm"
    eng = engine()
    module, size = _deserialize_own(eng, cached)
    if module is not None:
        with contextlib.suppress(OSError):    # a read-only cache (lind run --isolate)
            os.utime(cached)   # its last use, for the LRU
    if module is None:
        try:
            code = compile_serialized(wasm, wait, account)
        except CompileLimit as exc:
            raise TooLargeToCompile(f"{path}: {exc}") from None
        except CompilerUnavailable as exc:
            raise ProgramError(f"{path}: not compiled: {exc}") from None
        except EngineError as exc:
            raise ProgramError(f"{path}: invalid WebAssembly module: {exc}") from None
        module = wasmtime.Module.deserialize(eng, code)
        size = len(code)
        _store(cached, code)
    _check_size(wasm, path)          # (valid by now: its sections are few enough to walk)
    _check_program(module, wasm, path)
    _code_sizes[module] = size
    try:
        _instance_shapes[module] = instance_shape(wasm)
    except (IndexError, AsyncifyError):
        raise ProgramError(f"{path}: its imports, globals or tables could not be read") from None
    _layouts[module] = _layout(wasm)
    resettable = resettable_globals(wasm)
    if resettable is not None:
        _reset_globals[module] = resettable
    names = custom_section_names(wasm)
    if NULL_PAGE_UNUSED in names:
        _null_page_unused.add(module)
    if SAFEPOINTS_INSERTED in names:
        _with_safepoints.add(module)
    _remember(key, module, size, wasm)
    return module


_null_page_unused: weakref.WeakSet[wasmtime.Module] = weakref.WeakSet()
_layouts: weakref.WeakKeyDictionary[wasmtime.Module, tuple[int | None, int | None]] = (
    weakref.WeakKeyDictionary())


def _layout(wasm: bytes) -> tuple[int | None, int | None]:
    """`__heap_base` (checked by _check_program), and the top of the stack region when
    the stack comes first in memory, below all data (how `lind cc` links): the stack
    pointer's initial value. None for either when the binary does not say."""
    top = exported_constant(wasm, STACK_POINTER)
    lowest = lowest_data_address(wasm)
    stack_first = top is not None and lowest is not None and 0 < top <= lowest
    return exported_constant(wasm, HEAP_BASE), top if stack_first else None


_code_sizes: weakref.WeakKeyDictionary[wasmtime.Module, int] = weakref.WeakKeyDictionary()


def code_size(module: wasmtime.Module) -> int:
    """Bytes of machine code a program loaded here holds (its serialized size)."""
    return _code_sizes.get(module, 0)


_instance_shapes: weakref.WeakKeyDictionary[
    wasmtime.Module, tuple[int, int, tuple[int | None, ...]]] = weakref.WeakKeyDictionary()


def instance_state(module: wasmtime.Module) -> tuple[int, int, tuple[int | None, ...]]:
    """What an instance of `module` holds of its own: see asyncify.instance_shape. A
    module Lind did not load (its own helpers') holds next to nothing."""
    return _instance_shapes.get(module, (0, 0, ()))


def layout(module: wasmtime.Module) -> tuple[int | None, int | None]:
    """`module`'s (heap base, top of a stack-first stack region), read from its binary
    when it was loaded: the same for every instance, and cheaper than asking one."""
    return _layouts.get(module, (None, None))


_reset_globals: weakref.WeakKeyDictionary[wasmtime.Module, tuple[str, ...]] = (
    weakref.WeakKeyDictionary())


def reset_globals(module: wasmtime.Module) -> tuple[str, ...] | None:
    """An export of each of `module`'s mutable globals (all i32s), which is what must be
    put back for a kept instance to start the program afresh; None when some is not
    exported (a program `lind cc` did not link, or an older build)."""
    return _reset_globals.get(module)


_with_safepoints: weakref.WeakSet[wasmtime.Module] = weakref.WeakSet()


def has_safepoints(module: wasmtime.Module) -> bool:
    """Whether `lind cc` put signal safepoints in the loops of `module` (a program that
    can fork or setjmp): the epoch tick then gives them a tick to run a handler first."""
    return module in _with_safepoints


def null_page_unused(module: wasmtime.Module) -> bool:
    """Whether `module` says it keeps nothing in page 0 (linked by `lind cc`): its cages
    get that page as a null-pointer guard. A module that says so falsely only faults
    on its own accesses there."""
    return module in _null_page_unused


@dataclass(frozen=True)
class Shape:
    """What a cage needs to know of a module's imports and exports, read once: asking
    Wasmtime for them costs ~100 us a time, and every fork instantiates the module."""

    imports: tuple[tuple[str, str, object], ...]   # (module, name, type)
    # Names only: a type object of wasmtime-py costs ~1 KB, and a module may export
    # 100,000 things (~110 MB kept for each such module while it is cached).
    exports: frozenset[str]
    exported_memory: wasmtime.MemoryType | None    # the type of its export "memory"
    copied_globals: tuple[str, ...]                # the lind_global_<n> fork copies
    # the lind.memory import's (minimum, maximum or None) pages; None: its own memory
    shared_memory: tuple[int, int | None] | None
    initial_pages: int                             # what its memory starts with


_shapes: weakref.WeakKeyDictionary[wasmtime.Module, Shape] = weakref.WeakKeyDictionary()


def shape(module: wasmtime.Module) -> Shape:
    found = _shapes.get(module)
    if found is None:
        imports = tuple((i.module, i.name, i.type) for i in module.imports)
        exports = frozenset(e.name for e in module.exports)
        own = export_types(module, {"memory"}).get("memory")
        own = own if isinstance(own, wasmtime.MemoryType) else None
        shared = _memory_import(imports)
        memory = shared if shared is not None else own
        limits = memory.limits if isinstance(memory, wasmtime.MemoryType) else None
        found = _shapes[module] = Shape(
            imports, exports, own,
            tuple(name for name in exports if name.startswith(LIND_GLOBAL_PREFIX)),
            (limits.min, limits.max) if shared is not None else None,
            limits.min if limits is not None else 0)
    return found


def export_types(module: wasmtime.Module, names: set[str] | frozenset[str],
                 prefix: str | None = None) -> dict[str, object]:
    """The types of the exports named in `names` or starting with `prefix`, looked up
    now and not kept (see Shape)."""
    return {e.name: e.type for e in module.exports
            if e.name in names or (prefix is not None and e.name.startswith(prefix))}


class Exports(Mapping):
    """An instance's exports, each wrapped on first use: wasmtime-py wraps them all up
    front, which costs more than the rest of instantiating a small program."""

    def __init__(self, store: wasmtime.Store, instance: wasmtime.Instance,
                 module: wasmtime.Module) -> None:
        self._store = store
        self._instance = instance
        self._names = shape(module).exports
        self._wrapped: dict[str, object] = {}
        self._unwind_addresses: tuple[int, ...] | None = None

    def __getitem__(self, name: str) -> object:
        found = self._wrapped.get(name)
        if found is None:
            if name not in self._names:
                raise KeyError(name)
            raw = name.encode()
            item = wt.wasmtime_extern_t()
            if not wt.wasmtime_instance_export_get(self._store._context(),
                                                   ctypes.byref(self._instance._instance),
                                                   raw, len(raw), ctypes.byref(item)):
                raise KeyError(name)
            found = self._wrapped[name] = wrap_extern(item)
        return found

    def unwind_addresses(self) -> tuple[int, ...]:
        """Where Asyncify's four exports (wasmtime_func_t) and the shadow-stack pointer
        (wasmtime_global_t) are, as Unwinder.bind takes them: the same for as long as
        the instance lives, which a fork's child in a kept instance binds again."""
        if self._unwind_addresses is None:
            self._unwind_addresses = (
                *(ctypes.addressof(self[name]._func) for name in ASYNCIFY_EXPORTS[:4]),
                ctypes.addressof(self[ASYNCIFY_STACK_POINTER]._global))
        return self._unwind_addresses

    def __contains__(self, name: object) -> bool:
        """Without wrapping the export (Mapping's would)."""
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


# What a program may import from Lind, and the exports Lind calls, with the only types
# Lind accepts: everything a module says about itself is checked before it runs, since
# the trampoline calls some of these exports without Wasmtime's type checks.
_I32, _I64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
_SYSCALL_TYPE = ([_I32] + [_I64] * 6, [_I64])
LIND_IMPORTS: dict[str, tuple[list, list]] = {
    "syscall": _SYSCALL_TYPE, "syscall_unwind": _SYSCALL_TYPE,
    "args_sizes_get": ([_I32] * 2, [_I32]), "args_get": ([_I32] * 2, [_I32]),
    "environ_sizes_get": ([_I32] * 2, [_I32]), "environ_get": ([_I32] * 2, [_I32]),
}
_EXPORTED_FUNCS: dict[str, tuple[list, ...]] = {
    "_start": (([], []),), "__lind_spawn_start": (([], []),),
    "asyncify_start_unwind": (([_I32], []),), "asyncify_start_rewind": (([_I32], []),),
    "asyncify_stop_unwind": (([], []),), "asyncify_stop_rewind": (([], []),),
    "asyncify_get_state": (([], [_I32]),),
    "__lind_deliver_signals": (([], []),),
    "__lind_thread_start": (([_I32] * 3, []),), "__lind_worker_start": (([], [_I32]),),
    "pass_fptr_to_wt": (([_I64] * 14, [_I32]), ([_I64] * 14, [_I64])),
}
ASYNCIFY_EXPORTS = ("asyncify_start_unwind", "asyncify_stop_unwind", "asyncify_start_rewind",
                    "asyncify_stop_rewind", "asyncify_get_state")
# The shadow-stack pointer as lind cc exports it from an Asyncify-instrumented program
# (setjmp and longjmp save and restore it; see toolchain/guest/README.md).
ASYNCIFY_STACK_POINTER = "lind_global_0"
STACK_POINTER = "__stack_pointer"   # the same, as wasm-ld exports it: threads and grate workers set it
HEAP_BASE = "__heap_base"
WASM_PAGE = 65536


def _check_size(wasm: bytes, path: str) -> None:
    """Refuse a module with more imports or exports than a program has, before any of
    them is looked at (after the compiler has found it valid: a file of 200 MiB of
    zeros after the magic number walked as sections took a minute of CPU)."""
    try:
        counts = {what: entries(wasm, section) for what, section in
                  (("imports", IMPORT_SECTION), ("exports", EXPORT_SECTION))}
    except AsyncifyError:
        return
    for what, n in counts.items():
        if n > MAX_IMPORTS_OR_EXPORTS:
            raise ProgramError(f"{path}: has {n:,} {what} (a program Lind runs has at most "
                               f"{MAX_IMPORTS_OR_EXPORTS:,})")


def _check_program(module: wasmtime.Module, wasm: bytes, path: str) -> None:
    known = shape(module)
    foreign = sorted({f"{mod}.{name}" for mod, name, _ in known.imports
                      if mod not in KNOWN_IMPORTS})
    if foreign:
        raise ProgramError(f"{path}: imports {', '.join(foreign[:5])} which Lind does not provide")
    for mod, name, ty in known.imports:
        if (mod, name) == ("lind", "memory"):
            if not isinstance(ty, wasmtime.MemoryType) or ty.is_64 or not ty.is_shared:
                raise ProgramError(f"{path}: imports lind.memory, which is not a 32-bit "
                                   "shared memory")
            continue
        if not isinstance(ty, wasmtime.FuncType):
            raise ProgramError(f"{path}: imports {mod}.{name}, which is not a function")
        if mod == "lind" and (name not in LIND_IMPORTS or not _func_is(ty, LIND_IMPORTS[name])):
            raise ProgramError(f"{path}: imports lind.{name}, which Lind does not provide "
                               "with that type")
    if known.shared_memory is not None and any(mod == "wasi_snapshot_preview1"
                                               for mod, _, _ in known.imports):
        # WASI's imports grow a scratch page in the program's own (exported) memory and
        # use it one call at a time: lind.memory is shared, by threads and grate workers
        raise ProgramError(f"{path}: imports wasi_snapshot_preview1 and lind.memory (a WASI "
                           "program has a memory of its own)")
    exports = export_types(module, {"memory", *_EXPORTED_FUNCS, FUNCTION_TABLE, STACK_POINTER,
                                    HEAP_BASE}, LIND_GLOBAL_PREFIX)
    memory = imported_memory(module)
    if "_start" not in known.exports or (memory is None and "memory" not in exports):
        raise ProgramError(f"{path}: not a program (no _start, or no memory)")
    if memory is None:
        memory = exports["memory"]
        if not isinstance(memory, wasmtime.MemoryType) or memory.is_64 or memory.is_shared:
            raise ProgramError(f"{path}: its memory export is not a 32-bit unshared memory")
    # Every memory is host memory: one beside the cage's own would be outside its budget
    # (twenty of 56 MiB each took 1.2 GB of the host under --memory 64M).
    memories = entries(wasm, MEMORY_SECTION) + (known.shared_memory is not None)
    if memories > 1:
        raise ProgramError(f"{path}: has {memories} linear memories (a cage has one)")
    for name, shapes in _EXPORTED_FUNCS.items():
        if name in exports and not any(_func_is(exports[name], want) for want in shapes):
            raise ProgramError(f"{path}: its export {name} does not have the type Lind calls")
    unwinding = [name for name in ASYNCIFY_EXPORTS if name in known.exports]
    if unwinding:     # fork and setjmp use them all, and the stack pointer
        missing = [name for name in (*ASYNCIFY_EXPORTS, ASYNCIFY_STACK_POINTER)
                   if name not in known.exports]
        if missing:
            raise ProgramError(f"{path}: exports {unwinding[0]} but not {', '.join(missing)}, "
                               "which unwinding needs")
    table = exports.get(FUNCTION_TABLE)
    if table is not None and not (isinstance(table, wasmtime.TableType)
                                  and table.element == wasmtime.ValType.funcref()):
        raise ProgramError(f"{path}: its export {FUNCTION_TABLE} is not a table of functions")
    for name, ty in exports.items():
        if (name.startswith(LIND_GLOBAL_PREFIX) or name == STACK_POINTER) and not (
                isinstance(ty, wasmtime.GlobalType) and ty.content == _I32 and ty.mutable):
            raise ProgramError(f"{path}: its export {name} is not a mutable i32 global")
    if HEAP_BASE in exports:
        ty = exports[HEAP_BASE]
        is_i32 = isinstance(ty, wasmtime.GlobalType) and ty.content == _I32
        start = exported_constant(wasm, HEAP_BASE) if is_i32 else None
        if start is None or not 0 <= start <= memory.limits.min * WASM_PAGE:
            raise ProgramError(f"{path}: its {HEAP_BASE} is not an address inside its memory")


def _func_is(ty: object, want: tuple[list, list]) -> bool:
    return (isinstance(ty, wasmtime.FuncType) and list(ty.params) == want[0]
            and list(ty.results) == want[1])


def _deserialize_own(eng: wasmtime.Engine, cached: Path) -> tuple[wasmtime.Module | None, int]:
    """The compiled module kept at `cached` and its size; (None, 0) when it is absent,
    stale, truncated, or not a file of this user's that only this user can write (native
    code another user put there would run as this one)."""
    try:
        fd = os.open(cached, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None, 0
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None, 0
        # the file just checked, not whatever the name leads to by now
        return wasmtime.Module.deserialize_file(eng, f"/proc/self/fd/{fd}"), st.st_size
    except wasmtime.WasmtimeError:
        return None, 0
    finally:
        os.close(fd)


def _store(target: Path, data: bytes) -> None:
    """Write a cache entry atomically; a cache we cannot write is only slower."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
        _trim_disk_cache(target)
    except OSError:
        pass


def cache_entries() -> list[tuple[int, int, str]]:
    """(last use in ns, size, path) of each compiled module in the disk cache."""
    entries = []
    try:
        scan = list(os.scandir(cache_dir()))
    except OSError:
        return []
    for entry in scan:
        if entry.name.endswith(".cwasm"):
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            entries.append((st.st_mtime_ns, st.st_size, entry.path))
    return entries


def clear_cache() -> int:
    """Delete every compiled module of the disk cache (and this process's); bytes freed."""
    forget_compiled()
    freed = 0
    for _, size, path in cache_entries():
        with contextlib.suppress(OSError):
            os.unlink(path)
            freed += size
    return freed


def _trim_disk_cache(keep: Path) -> None:
    """Delete the least recently used entries until the cache fits its limit (`keep`,
    just written, goes last)."""
    entries = [e for e in cache_entries() if e[2] != str(keep)]
    total = sum(size for _, size, _ in entries) + keep.stat().st_size
    entries.sort()
    limit = disk_cache_limit()
    for _, size, path in entries:
        if total <= limit:
            break
        try:
            os.unlink(path)
            total -= size
        except OSError:
            pass
