"""Binaryen's Asyncify pass, for fork/exec/longjmp in cages.

`run_asyncify(wasm, imports)` instruments a module so that the host can
unwind its stack into linear memory while inside one of `imports` and
rewind it later.  The result exports asyncify_start_unwind,
asyncify_stop_unwind, asyncify_start_rewind, asyncify_stop_rewind and
asyncify_get_state.  `lind cc` runs it on programs that import
lind.syscall_unwind (see LIND_UNWIND_IMPORTS and `instrument_for_lind`),
in the same Binaryen run exporting the module's mutable globals so that
the host can copy them (the shadow-stack pointer above all) from a parent
cage into its forked child.

Binaryen comes from the `icpp-binaryen` wheel (libbinaryen.so with cffi
bindings).  Its prepared bindings cover reading, optimising and writing a
module; the few other C-API functions this pass needs are declared here on
a second cffi handle to the same library.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Collection, Iterable, Iterator
from typing import Any

#: Binaryen's global pass options (optimize level, pass arguments) are
#: process-wide, so runs are serialised.
_lock = threading.Lock()

_EXTRA_CDEF = """
typedef uint32_t BinaryenFeatures;
typedef struct BinaryenModule *BinaryenModuleRef;
BinaryenFeatures BinaryenFeatureAll(void);
void BinaryenModuleSetFeatures(BinaryenModuleRef module, BinaryenFeatures features);
void BinaryenSetPassArgument(const char *name, const char *value);
void BinaryenClearPassArguments(void);
void BinaryenModuleRunPasses(BinaryenModuleRef module, const char **passes, uint32_t numPasses);
int BinaryenGetOptimizeLevel(void);
int BinaryenGetShrinkLevel(void);
typedef struct BinaryenGlobal *BinaryenGlobalRef;
typedef struct BinaryenExport *BinaryenExportRef;
uint32_t BinaryenGetNumGlobals(BinaryenModuleRef module);
BinaryenGlobalRef BinaryenGetGlobalByIndex(BinaryenModuleRef module, uint32_t index);
const char *BinaryenGlobalGetName(BinaryenGlobalRef global);
bool BinaryenGlobalIsMutable(BinaryenGlobalRef global);
BinaryenExportRef BinaryenAddGlobalExport(BinaryenModuleRef module, const char *internalName,
                                          const char *externalName);
bool BinaryenGetDebugInfo(void);
void BinaryenSetDebugInfo(bool on);
void BinaryenModuleOptimize(BinaryenModuleRef module);
typedef struct BinaryenFunction *BinaryenFunctionRef;
uint32_t BinaryenGetNumFunctions(BinaryenModuleRef module);
BinaryenFunctionRef BinaryenGetFunctionByIndex(BinaryenModuleRef module, uint32_t index);
const char *BinaryenFunctionGetName(BinaryenFunctionRef func);
const char *BinaryenFunctionImportGetModule(BinaryenFunctionRef import);
const char *BinaryenFunctionImportGetBase(BinaryenFunctionRef import);
"""


class AsyncifyError(RuntimeError):
    """Binaryen could not read or instrument the module."""


@functools.cache
def _binaryen() -> tuple[Any, Any, Any]:
    from cffi import FFI
    from icpp_binaryen import _lib
    from icpp_binaryen import ffi as base_ffi
    from icpp_binaryen import lib as base_lib

    extra_ffi = FFI()
    extra_ffi.cdef(_EXTRA_CDEF)
    extra = extra_ffi.dlopen(str(_lib._lib_path()))
    return base_ffi, base_lib, (extra_ffi, extra)


def _check_valid(wasm: bytes) -> None:
    """Binaryen exits the whole process on a module it cannot parse, so
    validate with Wasmtime first and raise instead."""
    import wasmtime

    try:
        wasmtime.Module.validate(wasmtime.Engine(), bytes(wasm))
    except wasmtime.WasmtimeError as exc:
        raise AsyncifyError(f"not a valid WebAssembly module: {exc}") from None


def run_asyncify(
    wasm: bytes,
    imports: Iterable[str],
    *,
    optimize_level: int = 1,
    shrink_level: int = 0,
    optimize: bool = False,
    export_globals: str | None = None,
    debug_info: bool = False,
    only: Collection[int] | None = None,
) -> bytes:
    """Return `wasm` instrumented by Asyncify.

    `imports` names the imports that may unwind the stack, as
    "module.name" (for example "lind.syscall_unwind").  Only functions that
    can reach one of them (or make an indirect call) are instrumented,
    which keeps the cost down.  `only` narrows that to the functions of those
    indices (callgraph.functions_reaching: what indirect calls really reach);
    if Binaryen's names for them cannot be passed safely, it is not used.

    `optimize_level`/`shrink_level` are Binaryen's (as wasm-opt -O<n>,
    -Os = 2/1, -Oz = 2/2); Asyncify itself optimises the code it adds when
    the level is above 0, and `optimize` then runs Binaryen's whole
    optimisation pipeline at that level as well.  With `export_globals`,
    every mutable global is also exported under `<prefix><index>`, its
    index among all the module's globals (imported ones first) as read;
    Asyncify's own globals come after them and are not exported.
    `debug_info` keeps the name section (and DWARF, unchanged).
    """
    _check_valid(wasm)
    ffi, lib, (xffi, xlib) = _binaryen()
    from icpp_binaryen._lib import libc

    import_list = ",".join(imports)
    with _lock:
        buf = ffi.new("char[]", bytes(wasm))
        mod = lib.BinaryenModuleRead(buf, len(wasm))
        if mod == ffi.NULL:
            raise AsyncifyError("Binaryen could not read the module")
        xmod = xffi.cast("BinaryenModuleRef", ffi.cast("uintptr_t", mod))
        old_opt, old_shrink = xlib.BinaryenGetOptimizeLevel(), xlib.BinaryenGetShrinkLevel()
        old_debug = xlib.BinaryenGetDebugInfo()
        try:
            # Without all features enabled Binaryen aborts on bulk memory and
            # other post-MVP instructions clang emits.
            xlib.BinaryenModuleSetFeatures(xmod, xlib.BinaryenFeatureAll())
            if export_globals is not None:
                _export_mutable_globals(xffi, xlib, xmod, export_globals)
            lib.BinaryenSetOptimizeLevel(optimize_level)
            lib.BinaryenSetShrinkLevel(shrink_level)
            xlib.BinaryenSetDebugInfo(bool(debug_info))
            xlib.BinaryenClearPassArguments()
            if import_list:
                xlib.BinaryenSetPassArgument(b"asyncify-imports", import_list.encode())
            only_names = _only_list(xffi, xlib, xmod, wasm, only) if only else None
            if only_names:
                xlib.BinaryenSetPassArgument(b"asyncify-onlylist", ",".join(only_names).encode())
            names = [xffi.new("char[]", b"asyncify")]
            passes = xffi.new("const char *[]", names)
            xlib.BinaryenModuleRunPasses(xmod, passes, 1)
            if optimize and (optimize_level > 0 or shrink_level > 0):
                xlib.BinaryenModuleOptimize(xmod)
            result = lib.BinaryenModuleAllocateAndWrite(mod, ffi.NULL)
            try:
                out = bytes(ffi.buffer(result.binary, result.binaryBytes))
            finally:
                libc.free(result.binary)
                if result.sourceMap != ffi.NULL:
                    libc.free(result.sourceMap)
        finally:
            xlib.BinaryenClearPassArguments()
            lib.BinaryenSetOptimizeLevel(old_opt)
            lib.BinaryenSetShrinkLevel(old_shrink)
            xlib.BinaryenSetDebugInfo(old_debug)
            lib.BinaryenModuleDispose(mod)
    return out


#: Names Binaryen's only-list takes as they are: not split at a comma, not unescaped,
#: not a wildcard pattern.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.$]+")


def _only_list(xffi: Any, xlib: Any, xmod: Any, wasm: bytes, only: Collection[int]) -> list[str] | None:
    """Binaryen's names of the functions of indices `only` (its functions are numbered
    as the binary numbers them: imports first, checked here), or None if any of them
    cannot be written into the list."""
    imported = function_imports(wasm)
    total = xlib.BinaryenGetNumFunctions(xmod)

    def text(pointer: Any) -> str:
        return "" if pointer == xffi.NULL else xffi.string(pointer).decode(errors="replace")

    def import_of(index: int) -> tuple[str, str]:    # ("", "") for a defined function
        func = xlib.BinaryenGetFunctionByIndex(xmod, index)
        return (text(xlib.BinaryenFunctionImportGetModule(func)),
                text(xlib.BinaryenFunctionImportGetBase(func)))

    if any(import_of(index) != (module, base) for index, (module, base, _) in enumerate(imported)):
        return None
    names = []
    for index in sorted(only):
        if not len(imported) <= index < total or import_of(index)[0]:
            return None
        name = text(xlib.BinaryenFunctionGetName(xlib.BinaryenGetFunctionByIndex(xmod, index)))
        if not _PLAIN_NAME.fullmatch(name):
            return None
        names.append(name)
    return names


def _export_mutable_globals(xffi: Any, xlib: Any, xmod: Any, prefix: str) -> None:
    names = []
    for index in range(xlib.BinaryenGetNumGlobals(xmod)):
        glob = xlib.BinaryenGetGlobalByIndex(xmod, index)
        if xlib.BinaryenGlobalIsMutable(glob):
            names.append((xffi.string(xlib.BinaryenGlobalGetName(glob)), index))
    for internal, index in names:
        xlib.BinaryenAddGlobalExport(xmod, internal, f"{prefix}{index}".encode())


# --------------------------------------------------------------------------
# what lind cc does with it

#: The import through which a lind cage makes the calls that may suspend it
#: (fork, setjmp, longjmp: see guest/README.md).  Only it is
#: instrumented; the ordinary lind.syscall never unwinds.
LIND_UNWIND_IMPORT = ("lind", "syscall_unwind")
LIND_UNWIND_IMPORTS = ("lind.syscall_unwind",)

#: `lind cc --suspendable`: every call may unwind, so that the cooperative runtime
#: (lind.portable.runtime, the browser's) can set a cage aside on any call that must
#: wait and resume it later; marked with the custom section SUSPENDABLE.
SUSPENDABLE_IMPORTS = ("lind.syscall_unwind", "lind.syscall")
SUSPENDABLE = "lind.suspendable"

#: Exported names of the module's mutable globals: lind_global_<index>.
LIND_GLOBAL_PREFIX = "lind_global_"

#: What Asyncify adds to a module's exports.
ASYNCIFY_EXPORTS = (
    "asyncify_start_unwind",
    "asyncify_stop_unwind",
    "asyncify_start_rewind",
    "asyncify_stop_rewind",
    "asyncify_get_state",
)


def needs_asyncify(wasm: bytes) -> bool:
    """Whether a linked cage program imports lind.syscall_unwind."""
    return LIND_UNWIND_IMPORT in module_imports(wasm)


#: the tag section: a linked program that throws or catches defines its tags
#: there (C++'s __cpp_exception)
_TAG_SECTION = 13


def uses_exception_handling(wasm: bytes) -> bool:
    """Whether a linked program uses WebAssembly exception handling, which
    Binaryen 116 cannot even read: its Asyncify must not be given one."""
    return any(section_id == _TAG_SECTION for section_id, _, _ in sections(wasm))


def unwind_imports(suspendable: bool) -> tuple[str, ...]:
    """The imports that may unwind a program `lind cc` builds (see instrument_for_lind)."""
    return SUSPENDABLE_IMPORTS if suspendable else LIND_UNWIND_IMPORTS


def instrument_for_lind(
    wasm: bytes, *, optimize_level: int = 0, shrink_level: int = 0, debug_info: bool = True,
    suspendable: bool = False, only: Collection[int] | None = None,
) -> bytes:
    """What `lind cc` does to a program that imports lind.syscall_unwind (or to every
    program, `suspendable`): Asyncify for that import only (for every call; with
    `only`, in those functions only), the mutable globals exported as
    lind_global_<index>, and Binaryen's optimiser at the given level."""
    wasm = run_asyncify(
        wasm,
        unwind_imports(suspendable),
        optimize_level=optimize_level,
        shrink_level=shrink_level,
        optimize=True,
        export_globals=LIND_GLOBAL_PREFIX,
        debug_info=debug_info,
        only=only,
    )
    return with_custom_section(wasm, SUSPENDABLE) if suspendable else wasm


def is_suspendable(wasm: bytes) -> bool:
    """Whether `lind cc --suspendable` built the program (every call may unwind)."""
    return SUSPENDABLE in custom_section_names(wasm)


def leb128(data: bytes, pos: int, signed: bool = False) -> tuple[int, int]:
    """The LEB128 number at `pos` of a WebAssembly binary, and where it ends."""
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise AsyncifyError("truncated WebAssembly module")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (result - (1 << shift) if signed and byte & 0x40 else result), pos


#: Custom section `lind cc` adds to a program it linked: the program keeps nothing in
#: its first page, so the runtime may make that page a null-pointer guard.
NULL_PAGE_UNUSED = "lind.null-page-unused"
NULL_PAGE_SIZE = 4096   # what the runtime guards: data below it means page 0 is in use


def sections(wasm: bytes) -> Iterator[tuple[int, int, int]]:
    """(id, start, end) of each section's contents, in order, without decoding them."""
    data = bytes(wasm)
    if data[:8] != b"\0asm\x01\0\0\0":
        raise AsyncifyError("not a WebAssembly module")
    pos = 8
    while pos < len(data):
        section = data[pos]
        size, pos = leb128(data, pos + 1)
        if pos + size > len(data):
            raise AsyncifyError("truncated WebAssembly module")
        yield section, pos, pos + size
        pos += size


IMPORT_SECTION, MEMORY_SECTION, EXPORT_SECTION = 2, 5, 7
#: Sections a module Lind runs may have: a program has about twenty (a dozen kinds, and
#: custom ones: names, debug information, Lind's own). Custom sections may repeat
#: without end, and Wasmtime accepts 3 bytes each: 85 million in a file Lind reads,
#: every one of them walked in Python by each reader of the module.
MAX_SECTIONS = 1000


def has_too_many_sections(wasm: bytes, most: int = MAX_SECTIONS) -> bool:
    """Whether `wasm` has more than `most` sections: a walk of at most that many (a
    module cut short ends the count; its compile refuses it)."""
    try:
        for count, _ in enumerate(sections(wasm), 1):
            if count > most:
                return True
    except AsyncifyError:
        pass
    return False


def entries(wasm: bytes, section_id: int) -> int:
    """How many entries a vector section has (0 if the module has no such section):
    for MEMORY_SECTION, the memories the module defines itself, not imported ones."""
    for section, start, _ in sections(wasm):
        if section == section_id:
            return leb128(wasm, start)[0]
    return 0


def custom_section_names(wasm: bytes) -> set[str]:
    names = set()
    for section, start, _ in sections(wasm):
        if section == 0:
            length, pos = leb128(wasm, start)
            names.add(bytes(wasm[pos : pos + length]).decode("utf-8", "replace"))
    return names


def lowest_data_address(wasm: bytes) -> int | None:
    """The lowest address a data segment of memory 0 is put at (None: none, or one
    whose address is not a constant). Active segments say where; passive ones (a
    shared memory's) are put there by the start function's memory.init instructions."""
    data = bytes(wasm)
    lowest = None
    passive = set()
    for section, pos, _ in sections(data):
        if section != 11:
            continue
        count, pos = leb128(data, pos)
        for index in range(count):
            flags, pos = leb128(data, pos)
            if flags == 1:             # passive: no address here
                passive.add(index)
                length, pos = leb128(data, pos)
                pos += length
                continue
            if flags == 2:
                memory, pos = leb128(data, pos)
                if memory != 0:
                    return None
            if data[pos] != 0x41:      # i32.const
                return None
            offset, pos = leb128(data, pos + 1, signed=True)
            if data[pos] != 0x0B:
                return None
            length, pos = leb128(data, pos + 1)
            pos += length
            lowest = offset & 0xFFFFFFFF if lowest is None else min(lowest, offset & 0xFFFFFFFF)
    if passive:
        placed = _start_function_inits(data)
        if placed is None or not passive <= placed.keys():
            return None
        for index in passive:
            lowest = placed[index] if lowest is None else min(lowest, placed[index])
    return lowest


#: The longest start function _start_function_inits reads: wasm-ld's takes ~140 bytes
#: (a few instructions per segment); Wasmtime allows 7.6 MB, which took ~4 s of Python.
_INIT_FUNCTION_MOST = 64 << 10


def _start_function_inits(data: bytes) -> dict[int, int] | None:
    """segment -> the constant address the start function's `memory.init` puts it at,
    as wasm-ld's __wasm_init_memory does: `i32.const dest, i32.const 0, i32.const n,
    memory.init seg 0` (for the TLS block, `i32.const dest, global.set g` after the
    destination: the main thread's __tls_base). None without a start function."""
    start = imported = None
    bodies: list[tuple[int, int]] = []
    for section, pos, _ in sections(data):
        if section == 2:               # imports: functions come before defined ones
            imported = sum(1 for entry in import_entries(data) if entry[2] == 0)
        elif section == 8:
            start, _ = leb128(data, pos)
        elif section == 10:
            count, pos = leb128(data, pos)
            for _ in range(count):
                size, pos = leb128(data, pos)
                bodies.append((pos, pos + size))
                pos += size
    if start is None or not 0 <= start - (imported or 0) < len(bodies):
        return None
    first, end = bodies[start - (imported or 0)]
    if end - first > _INIT_FUNCTION_MOST:    # not wasm-ld's: each of its bytes is looked at
        return None
    placed: dict[int, int] = {}
    for at in range(first, end):
        try:
            found = _i32_const(data, at)
            if found is None:
                continue
            dest, pos = found
            tls_base = _i32_const(data, pos)
            if tls_base is not None and data[tls_base[1]] == 0x24:   # global.set g
                _, pos = leb128(data, tls_base[1] + 1)
            for _operand in range(2):    # source offset, length
                found = _i32_const(data, pos)
                if found is None:
                    break
                _, pos = found
            if found is None or data[pos:pos + 2] != b"\xfc\x08":
                continue
            segment, _ = leb128(data, pos + 2)
        except (AsyncifyError, IndexError):
            continue
        placed[segment] = min(dest & 0xFFFFFFFF, placed.get(segment, 1 << 32))
    return placed


def _i32_const(data: bytes, pos: int) -> tuple[int, int] | None:
    """The value of an `i32.const` at `pos` and where it ends (None: something else)."""
    if data[pos] != 0x41:
        return None
    return leb128(data, pos + 1, signed=True)


def with_custom_section(wasm: bytes, name: str, payload: bytes = b"") -> bytes:
    """`wasm` with a custom section appended (valid anywhere; other runtimes skip it)."""
    encoded = name.encode()
    body = encode_leb128(len(encoded)) + encoded + payload
    return bytes(wasm) + b"\0" + encode_leb128(len(body)) + body


def encode_leb128(value: int, signed: bool = False) -> bytes:
    """`value` as (s)LEB128, the inverse of leb128."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        done = (value in (0, -1) and bool(byte & 0x40) == (value == -1)) if signed else not value
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


def import_entries(wasm: bytes) -> list[tuple[str, str, int, tuple[int, int | None, bool] | None]]:
    """(module, name, kind, memory limits) of every import, read from the import section
    alone (no compilation, so it is cheap on a large module). Kind 0: function, 1: table,
    2: memory (limits: minimum and maximum pages, shared), 3: global, 4: tag."""
    return [entry[:4] for entry in _imports(wasm)]


def function_imports(wasm: bytes) -> list[tuple[str, str, int]]:
    """(module, name, type index) of every imported function, in index order."""
    return [(module, name, index) for module, name, kind, _, index in _imports(wasm) if kind == 0]


def _imports(wasm: bytes) -> list[tuple[str, str, int, tuple[int, int | None, bool] | None, int]]:
    """import_entries, with a function's or tag's type index (-1 for other kinds)."""
    data = bytes(wasm)
    for section, pos, _ in sections(data):
        if section == 2:
            out = []
            count, pos = leb128(data, pos)
            for _ in range(count):
                names = []
                for _ in range(2):
                    n, pos = leb128(data, pos)
                    names.append(data[pos : pos + n].decode("utf-8", "replace"))
                    pos += n
                kind = data[pos]
                pos += 1
                limits = None
                type_index = -1
                if kind == 0:  # function: type index
                    type_index, pos = leb128(data, pos)
                elif kind == 1:  # table: reftype, limits
                    pos = _limits(data, pos + 1)[1]
                elif kind == 2:  # memory: limits
                    limits, pos = _limits(data, pos)
                elif kind == 3:  # global: valtype, mutability
                    pos += 2
                elif kind == 4:  # tag: attribute, type index
                    type_index, pos = leb128(data, pos + 1)
                else:
                    raise AsyncifyError(f"unknown import kind {kind}")
                out.append((names[0], names[1], kind, limits, type_index))
            return out
    return []


def module_imports(wasm: bytes) -> list[tuple[str, str]]:
    """(module, name) of every import."""
    return [(module, name) for module, name, _, _ in import_entries(wasm)]


def memory_import(wasm: bytes) -> tuple[str, str, int, int | None, bool] | None:
    """The module's imported memory, if it has one: (module, name, minimum pages,
    maximum or None, shared). For engines whose API does not say (JavaScript's)."""
    for module, name, kind, limits in import_entries(wasm):
        if kind == 2 and limits is not None:
            return module, name, *limits
    return None


def module_exports(wasm: bytes) -> dict[str, tuple[int, int]]:
    """name -> (kind, index) of every export (kind 0: function, 3: global)."""
    found = {}
    for section, at, _ in sections(wasm):
        if section == 7:
            count, p = leb128(wasm, at)
            for _ in range(count):
                length, p = leb128(wasm, p)
                name = bytes(wasm[p:p + length]).decode(errors="replace")
                kind = wasm[p + length]
                index, p = leb128(wasm, p + length + 1)
                found[name] = (kind, index)
    return found


def _global_entries(wasm: bytes) -> Iterator[tuple[int, int, bool, int]]:
    """(index, value type, mutable, where its constant expression starts) of each global
    the module defines, numbered after the imported ones, as instructions and exports
    number them. Raises IndexError or AsyncifyError on a malformed binary."""
    imported = sum(1 for _, _, kind, _ in import_entries(wasm) if kind == 3)
    globals_at = next((at for section, at, _ in sections(wasm) if section == 6), None)
    if globals_at is None:
        return
    count, p = leb128(wasm, globals_at)
    for i in range(count):
        valtype, mutable, p = wasm[p], bool(wasm[p + 1]), p + 2
        yield imported + i, valtype, mutable, p
        p = _past_constant_expression(wasm, p)


def _past_constant_expression(wasm: bytes, p: int) -> int:
    """Where the constant expression (a global's or a table's initialiser) at `p` ends."""
    while wasm[p] != 0x0B:
        op = wasm[p]
        p += 1
        if op in (0x41, 0x42, 0x23, 0xD2):   # i32/i64.const, global.get, ref.func
            _, p = leb128(wasm, p, signed=True)
        elif op == 0x44:
            p += 8
        elif op == 0x43:
            p += 4
        elif op == 0xD0:
            p += 1
        elif op not in (0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E):   # extended-const
            raise AsyncifyError(f"unknown instruction {op:#x} in an initialiser")
    return p + 1


def instance_shape(wasm: bytes) -> tuple[int, int, tuple[int | None, ...]]:
    """What each instance of the module holds of its own besides linear memory: how
    many functions it imports, how many globals it defines, and the maximum of each
    table it defines (None: none declared). Raises IndexError or AsyncifyError on a
    malformed binary."""
    data = bytes(wasm)
    imported = len(function_imports(data))
    globals_defined, tables = 0, []
    for section, start, _ in sections(data):
        if section == 6:
            globals_defined = leb128(data, start)[0]
        elif section == 4:
            count, p = leb128(data, start)
            for _ in range(count):
                initialised = data[p] == 0x40        # 0x40 0x00, then the type and value
                p += 2 if initialised else 0
                kind, p = data[p], p + 1
                if kind in (0x63, 0x64):             # (ref null? heap type)
                    _, p = leb128(data, p, signed=True)
                (_, most, _), p = _limits(data, p)
                tables.append(most)
                if initialised:
                    p = _past_constant_expression(data, p)
    return imported, globals_defined, tuple(tables)


def exported_constant(wasm: bytes, name: str) -> int | None:
    """The i32.const an exported global is initialised with, read from the binary (the
    value is needed before the module runs; None if it is not a plain constant)."""
    try:
        kind, index = module_exports(wasm).get(name, (None, None))
        if kind != 3:
            return None
        for i, valtype, _, p in _global_entries(wasm):
            if i == index:
                if valtype != 0x7F or wasm[p] != 0x41:
                    return None
                value, p = leb128(wasm, p + 1, signed=True)
                return value if wasm[p] == 0x0B else None
    except (AsyncifyError, IndexError):   # a binary too short or malformed to read
        return None
    return None


#: `lind cc` exports each mutable global nothing else exports as lind_reset_<index>,
#: so that the runtime can put an instance's globals back as a new one has them
#: (a kept instance that runs a program afresh: cage/instance_pool.py).
LIND_RESET_PREFIX = "lind_reset_"

_I32 = 0x7F


def resettable_globals(wasm: bytes) -> tuple[str, ...] | None:
    """An export naming each mutable global the module has, when every one is a
    defined i32 that some export names (what a fresh start must put back); else None."""
    try:
        if any(kind == 3 for _, _, kind, _ in import_entries(wasm)):
            return None
        named = {index: name for name, (kind, index) in module_exports(wasm).items()
                 if kind == 3}
        names = []
        for index, valtype, mutable, _ in _global_entries(wasm):
            if mutable:
                if valtype != _I32 or index not in named:
                    return None
                names.append(named[index])
    except (AsyncifyError, IndexError):
        return None
    return tuple(names)


def with_mutable_globals_exported(wasm: bytes) -> bytes:
    """`wasm` with each mutable global no export names exported as lind_reset_<index>
    (its export section rewritten, or one added where the section order puts it)."""
    data = bytes(wasm)
    named = {index for kind, index in module_exports(data).values() if kind == 3}
    extra = [index for index, _, mutable, _ in _global_entries(data)
             if mutable and index not in named]
    if not extra:
        return data
    entries = b"".join(encode_leb128(len(name)) + name + b"\x03" + encode_leb128(index)
                       for index in extra
                       for name in [f"{LIND_RESET_PREFIX}{index}".encode()])

    def export_section(count: int, body: bytes) -> bytes:
        payload = encode_leb128(count + len(extra)) + body + entries
        return b"\x07" + encode_leb128(len(payload)) + payload

    out = bytearray(data[:8])
    pos, written = 8, False
    for section, start, end in sections(data):
        if section == 7:
            count, body = leb128(data, start)
            out += export_section(count, data[body:end])
            written = True
        else:
            if not written and section in _AFTER_EXPORTS:
                out += export_section(0, b"")
                written = True
            out += data[pos:end]
        pos = end
    if not written:
        out += export_section(0, b"")
    return bytes(out)


_AFTER_EXPORTS = (8, 9, 12, 10, 11)   # start, element, data count, code, data


def _limits(data: bytes, pos: int) -> tuple[tuple[int, int | None, bool], int]:
    """A table's or memory's limits at `pos`: ((minimum, maximum or None, shared), end)."""
    flags = data[pos]
    least, pos = leb128(data, pos + 1)
    most = None
    if flags & 1:
        most, pos = leb128(data, pos)
    return (least, most, bool(flags & 2)), pos


def custom_section(wasm: bytes, name: str) -> bytes | None:
    """The payload of the first custom section called `name`, or None."""
    for section, start, end in sections(wasm):
        if section == 0:
            length, pos = leb128(wasm, start)
            if bytes(wasm[pos : pos + length]) == name.encode():
                return bytes(wasm[pos + length : end])
    return None


def without_custom_section(wasm: bytes, name: str) -> bytes:
    """`wasm` without its custom sections called `name`."""
    data = bytes(wasm)
    out = bytearray(data[:8])
    pos = 8
    for section, start, end in sections(data):
        length, at = leb128(data, start) if section == 0 else (0, start)
        if not (section == 0 and data[at : at + length] == name.encode()):
            out += data[pos:end]
        pos = end
    return bytes(out)
