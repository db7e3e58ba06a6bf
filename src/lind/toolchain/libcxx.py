"""The C++ standard library for cages: LLVM's libc++, libc++abi and the
WebAssembly part of libunwind, built against the guest musl.

`ensure_libcxx(sysroot)` returns a directory with

    lib/libc++.a      the standard library (iostream, containers, locale,
                      fstream, filesystem, chrono, ...)
    lib/libc++abi.a   the C++ ABI: exceptions, RTTI, new/delete, guards
    lib/libunwind.a   Unwind-wasm.c: _Unwind_RaiseException over the wasm
                      exception-handling instructions
    manifest.json     what was built and how long it took

It is built on first use of C++ only (`lind c++`, or `lind cc` on a C++
source), from the sources that ship inside the `ziglang` package, and
cached under `$LIND_CACHE/libcxx-<key>`, where the key hashes the guest
sysroot's key and this file: libc++ sees exactly the libc headers C
programs see.  The flags follow zig's own libc++ build for wasm32-wasi
(src/libs/libcxx.zig), except that exceptions are on and filesystem is in.

Exceptions use WebAssembly's exception-handling proposal in its final
encoding (try_table/exnref; Wasmtime rejects the legacy try/catch one).
`ensure_libcxx(sysroot, exceptions=False)` is a second build without them
(zig's wasm32-wasi configuration: what would throw aborts, no libunwind),
for programs Binaryen's Asyncify must instrument, which cannot contain
exception-handling instructions.
Threads are the guest's pthreads: <thread>, <mutex>, <condition_variable>,
<future>, <shared_mutex>, <barrier>, atomic waits (futex), thread_local
destructors (libc++abi's own, on a pthread key: musl has no
__cxa_thread_atexit_impl) and thread-safe static initialisation.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import sysroot as _sysroot
from . import zig

#: Bump when the recipe changes in a way the hashed inputs do not show.
RECIPE_VERSION = 2

#: clang options for code that throws and catches with wasm exception handling
#: (zig's target cpu has the feature off; clang's driver would add the -mllvm
#: option itself, zig's does not).
EH_FLAGS = [
    "-mexception-handling",
    "-fwasm-exceptions",
    "-mllvm",
    "-wasm-enable-eh",
    "-mllvm",
    "-wasm-use-legacy-eh=false",
]

#: libc++'s configuration: what __config_site would hold (zig's libc++
#: headers take it as -D options instead).
CONFIG_DEFINES = [
    "-D_LIBCPP_ABI_VERSION=1",
    "-D_LIBCPP_ABI_NAMESPACE=__1",
    "-D_LIBCPP_HAS_THREADS=1",
    "-D_LIBCPP_HAS_THREAD_API_PTHREAD=1",
    "-D_LIBCPP_HAS_THREAD_API_EXTERNAL=0",
    "-D_LIBCPP_HAS_THREAD_API_WIN32=0",
    "-D_LIBCPP_HAS_MONOTONIC_CLOCK=1",
    "-D_LIBCPP_HAS_TERMINAL=1",
    "-D_LIBCPP_HAS_MUSL_LIBC=1",
    "-D_LIBCXXABI_DISABLE_VISIBILITY_ANNOTATIONS",
    "-D_LIBCPP_DISABLE_VISIBILITY_ANNOTATIONS",
    "-D_LIBCPP_HAS_VENDOR_AVAILABILITY_ANNOTATIONS=0",
    "-D_LIBCPP_HAS_FILESYSTEM=1",
    "-D_LIBCPP_HAS_RANDOM_DEVICE=1",
    "-D_LIBCPP_HAS_LOCALIZATION=1",
    "-D_LIBCPP_HAS_UNICODE=1",
    "-D_LIBCPP_HAS_WIDE_CHARACTERS=1",
    "-D_LIBCPP_HAS_NO_STD_MODULES",
    "-D_LIBCPP_PSTL_BACKEND_SERIAL",
    "-D_LIBCPP_HARDENING_MODE=_LIBCPP_HARDENING_MODE_NONE",
    "-D_LIBCPP_ASSERTION_SEMANTIC_DEFAULT=_LIBCPP_ASSERTION_SEMANTIC_IGNORE",
]

#: libc++ sources (under zig's lib/libcxx/src): zig's wasm32-wasi list plus
#: <filesystem> and what threads need; what needs a time-zone database is left out.
LIBCXX_SOURCES = [
    "algorithm.cpp", "any.cpp", "atomic.cpp", "barrier.cpp", "bind.cpp", "call_once.cpp",
    "charconv.cpp", "chrono.cpp", "condition_variable.cpp", "condition_variable_destructor.cpp",
    "error_category.cpp", "exception.cpp", "expected.cpp", "fstream.cpp", "functional.cpp",
    "future.cpp", "hash.cpp", "ios.cpp", "ios.instantiations.cpp", "iostream.cpp",
    "locale.cpp", "memory.cpp", "memory_resource.cpp", "mutex.cpp", "mutex_destructor.cpp",
    "new.cpp", "new_handler.cpp", "new_helpers.cpp", "optional.cpp", "ostream.cpp",
    "print.cpp", "random.cpp", "random_shuffle.cpp", "regex.cpp", "ryu/d2fixed.cpp",
    "ryu/d2s.cpp", "ryu/f2s.cpp", "shared_mutex.cpp", "stdexcept.cpp", "string.cpp",
    "strstream.cpp", "system_error.cpp", "thread.cpp", "typeinfo.cpp", "valarray.cpp",
    "variant.cpp", "vector.cpp", "verbose_abort.cpp",
    "filesystem/directory_entry.cpp", "filesystem/directory_iterator.cpp",
    "filesystem/filesystem_clock.cpp", "filesystem/filesystem_error.cpp",
    "filesystem/operations.cpp", "filesystem/path.cpp",
]

#: libc++abi sources: zig's list with real exceptions (cxa_exception,
#: cxa_personality) instead of cxa_noexception, and thread_local destructors.
LIBCXXABI_SOURCES = [
    "abort_message.cpp", "cxa_aux_runtime.cpp", "cxa_default_handlers.cpp", "cxa_demangle.cpp",
    "cxa_exception.cpp", "cxa_exception_storage.cpp", "cxa_guard.cpp", "cxa_handlers.cpp",
    "cxa_personality.cpp", "cxa_thread_atexit.cpp", "cxa_vector.cpp", "cxa_virtual.cpp",
    "fallback_malloc.cpp",
    "private_typeinfo.cpp", "stdlib_exception.cpp", "stdlib_new_delete.cpp",
    "stdlib_stdexcept.cpp", "stdlib_typeinfo.cpp",
]

#: a C++ program's start-up, where an exception nobody catches calls
#: std::terminate (the driver links with -u START_SYMBOL)
START = _sysroot.GUEST / "cxx" / "start.cpp"
START_SYMBOL = "__lind_cxx_start"

#: The tag C++ exceptions are thrown with.  LLVM's compiler-rt defines it
#: (builtins/wasm/__cpp_exception.S); zig's Zig compiler-rt does not, so the
#: libunwind archive carries it.
CPP_EXCEPTION_TAG = """\
.globl __cpp_exception
.tagtype __cpp_exception i32
__cpp_exception:
"""

#: what the build without exceptions compiles instead
NO_EXCEPTIONS_ABI = {"cxa_exception.cpp": "cxa_noexception.cpp"}

_COMMON = [
    "-O2", "-g0", "-w", "-fno-sanitize=all", "-fno-stack-protector",
    "-ffunction-sections", "-fdata-sections", "-matomics", "-mbulk-memory",
    *_sysroot.GUEST_DEFINES,
]


def include_flags(sysroot: Path) -> list[str]:
    """Header search path for C++: libc++'s and libc++abi's headers, then the
    C headers (libc++'s <stdlib.h> and friends #include_next them).  libc++'s
    directory is a -I one because zig puts clang's own headers (stddef.h)
    before every -isystem directory; each libc++ header declares itself a
    system header all the same."""
    lib = zig.zig_lib()
    return [
        "-nostdinc",
        "-nostdinc++",
        "-I", str(lib / "libcxx" / "include"),
        "-isystem", str(lib / "libcxxabi" / "include"),
        *_sysroot.guest_include_flags(sysroot)[1:],
    ]


def compile_flags(sysroot: Path, *, exceptions: bool = True) -> list[str]:
    """What every C++ translation unit of a cage program is compiled with."""
    return [*include_flags(sysroot), *CONFIG_DEFINES, *(EH_FLAGS if exceptions else [])]


def link_inputs(cxx: Path) -> list[str]:
    """The C++ archives, to go before the C library's (with the option that
    brings in the C++ start-up)."""
    archives = sorted((cxx / "lib").glob("*.a"), key=lambda p: _ARCHIVES.index(p.name))
    return ["-u", START_SYMBOL, *map(str, archives)]


_ARCHIVES = ["libc++.a", "libc++abi.a", "libunwind.a"]


@dataclass(frozen=True)
class _Unit:
    """One source file of the build and the archive its object goes in."""

    archive: str
    src: Path
    flags: list[str]


def _units(sysroot: Path, exceptions: bool, tag_source: Path) -> list[_Unit]:
    lib = zig.zig_lib()
    cxx_src, abi_src = lib / "libcxx" / "src", lib / "libcxxabi" / "src"
    eh = [] if exceptions else ["-fno-exceptions"]
    cxx_base = ["-x", "c++", "-std=c++23", *compile_flags(sysroot, exceptions=exceptions),
                *eh, *_COMMON, "-faligned-allocation", "-fvisibility-inlines-hidden",
                "-D_LIBCPP_BUILDING_LIBRARY", "-D_LIBCPP_HAS_NO_PRAGMA_SYSTEM_HEADER",
                "-DLIBC_NAMESPACE=__llvm_libc_common_utils",
                "-I", str(cxx_src), "-I", str(lib / "libcxx" / "libc")]
    units = [_Unit("libc++.a", cxx_src / name, [*cxx_base, "-DLIBCXX_BUILDING_LIBCXXABI"])
             for name in LIBCXX_SOURCES]
    abi_sources = LIBCXXABI_SOURCES if exceptions else [
        NO_EXCEPTIONS_ABI.get(name, name) for name in LIBCXXABI_SOURCES
        if name != "cxa_personality.cpp"]
    units += [_Unit("libc++abi.a", abi_src / name,
                    [*cxx_base, "-D_LIBCXXABI_BUILDING_LIBRARY"])
              for name in abi_sources]
    units.append(_Unit("libc++abi.a", START, cxx_base))
    if not exceptions:
        return units
    unwind = ["-x", "c", "-std=c11", *_sysroot.guest_include_flags(sysroot), *EH_FLAGS, *_COMMON,
              "-D_LIBUNWIND_HAS_NO_THREADS", "-D_LIBUNWIND_HIDE_SYMBOLS",
              "-I", str(lib / "libunwind" / "include")]
    units.append(_Unit("libunwind.a", lib / "libunwind" / "src" / "Unwind-wasm.c", unwind))
    units.append(_Unit("libunwind.a", tag_source, [*EH_FLAGS, "-x", "assembler"]))
    return units


def _compile(unit: _Unit, obj: Path) -> str | None:
    cmd = [str(zig.zig_exe()), "cc", "-target", _sysroot.TARGET, *unit.flags,
           "-c", str(unit.src), "-o", str(obj)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=zig.zig_env())
    return None if r.returncode == 0 else f"{unit.src}:\n{r.stderr}"


def build_libcxx(dest: Path, sysroot: Path, *, exceptions: bool = True,
                 jobs: int | None = None, progress: bool = True) -> dict:
    """Build the archives into `dest` (which must not exist)."""
    start = time.monotonic()
    objdir = dest / "obj"
    objdir.mkdir(parents=True)
    (dest / "lib").mkdir()
    tag_source = objdir / "__cpp_exception.S"
    tag_source.write_text(CPP_EXCEPTION_TAG)
    units = _units(sysroot, exceptions, tag_source)
    if progress:
        variant = "" if exceptions else " without exceptions"
        print(f"lind: building the C++ library{variant} (first use, {len(units)} files, "
              "about 20 s)", file=sys.stderr, flush=True)
    members: dict[str, list[str]] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        futs = []
        for unit in units:
            obj = f"{unit.archive.removesuffix('.a')}__{unit.src.stem}.o"
            members.setdefault(unit.archive, []).append(obj)
            futs.append(pool.submit(_compile, unit, objdir / obj))
        errors = [e for e in (f.result() for f in futs) if e]
    if errors:
        raise _sysroot.SysrootBuildError(
            f"{len(errors)} C++ library file(s) failed to build:\n" + "\n".join(errors[:5]))
    for archive, objs in members.items():
        r = subprocess.run([str(zig.zig_exe()), "ar", "rcs", str(dest / "lib" / archive), *objs],
                           cwd=objdir, capture_output=True, text=True, env=zig.zig_env())
        if r.returncode != 0:
            raise _sysroot.SysrootBuildError(f"archiving {archive} failed:\n{r.stderr}")
    shutil.rmtree(objdir)
    manifest = {
        "sysroot": sysroot.name,
        "exceptions": exceptions,
        "zig": zig.zig_version(),
        "files": len(units),
        "build_seconds": round(time.monotonic() - start, 1),
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def libcxx_path(sysroot: Path, *, exceptions: bool = True) -> Path:
    """Where the C++ library for `sysroot` is cached: keyed by the sysroot and
    this file, as the sysroot is keyed by its inputs."""
    h = hashlib.sha256()
    h.update(f"recipe {RECIPE_VERSION}\n{sysroot.name}\n".encode())
    h.update(Path(__file__).read_bytes())
    variant = "" if exceptions else "-noexcept"
    return zig.cache_root() / f"libcxx{variant}-{h.hexdigest()[:16]}"


def ensure_libcxx(sysroot: Path, *, exceptions: bool = True, progress: bool = True) -> Path:
    """Return the C++ library built for `sysroot`, building it first if needed."""
    return _sysroot.cached_build(
        libcxx_path(sysroot, exceptions=exceptions),
        lambda dest: build_libcxx(dest, sysroot, exceptions=exceptions, progress=progress))
