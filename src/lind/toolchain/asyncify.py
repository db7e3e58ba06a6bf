"""Binaryen's Asyncify pass, for fork/exec/longjmp in cages.

`run_asyncify(wasm, imports)` instruments a module so that the host can
unwind its stack into linear memory while inside one of `imports` and
rewind it later.  The result exports asyncify_start_unwind,
asyncify_stop_unwind, asyncify_start_rewind, asyncify_stop_rewind and
asyncify_get_state.

Binaryen comes from the `icpp-binaryen` wheel (libbinaryen.so with cffi
bindings).  Its prepared bindings cover reading, optimising and writing a
module; the few other C-API functions this pass needs are declared here on
a second cffi handle to the same library.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
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
    wasm: bytes, imports: Iterable[str], *, optimize_level: int = 1, shrink_level: int = 0
) -> bytes:
    """Return `wasm` instrumented by Asyncify.

    `imports` names the imports that may unwind the stack, as
    "module.name" (for example "lind.syscall").  Only functions that can
    reach one of them are instrumented, which keeps the cost down.
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
        try:
            # Without all features enabled Binaryen aborts on bulk memory and
            # other post-MVP instructions clang emits.
            xlib.BinaryenModuleSetFeatures(xmod, xlib.BinaryenFeatureAll())
            lib.BinaryenSetOptimizeLevel(optimize_level)
            lib.BinaryenSetShrinkLevel(shrink_level)
            xlib.BinaryenClearPassArguments()
            if import_list:
                xlib.BinaryenSetPassArgument(b"asyncify-imports", import_list.encode())
            names = [xffi.new("char[]", b"asyncify")]
            passes = xffi.new("const char *[]", names)
            xlib.BinaryenModuleRunPasses(xmod, passes, 1)
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
            lib.BinaryenModuleDispose(mod)
    return out


#: The imports of a lind cage that can suspend it (fork, exec, ... all go
#: through the one system-call import).
LIND_UNWIND_IMPORTS = ("lind.syscall",)
