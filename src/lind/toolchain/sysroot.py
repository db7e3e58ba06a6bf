"""The guest sysroot: musl ported to the "wasm32-lind" architecture.

`ensure_sysroot()` returns a directory with

    include/              headers a cage program compiles against
    lib/crt1.o            the program entry point (_start)
    lib/libc.a            musl's C sources + the lind guest layer (guest/src)
    lib/libzigc.a         zig's Zig-written libc pieces (string.h, ctype.h, ...)
    lib/libcompiler_rt.a  compiler builtins (128-bit long double, ...) and
                          the math functions zig keeps there
    manifest.json         what was built, from what, and how long it took

It is built on first use from sources that ship inside the `ziglang`
package plus `guest/` in this package, and cached under
`$LIND_CACHE/sysroot-<key>` (default `~/.cache/lind`), where the key hashes
the guest sources, this file and the zig version.  A build happens in a
temporary directory renamed into place when complete, under a file lock, so
concurrent first uses build once.

How the architecture is assembled (see guest/README.md for the ABI):

* Headers start from zig's generated musl headers for riscv32 (ILP32,
  little endian, 64-bit time_t, 128-bit long double, like wasm32), with
  `_Addr`/`_Reg` changed from int to long (clang's wasm32 size_t is
  unsigned long), the lind overrides in guest/arch/wasm32/bits on top, and
  bits/syscall.h taken from x86_64: Linux x86_64 system-call numbers are the
  Lind contract.
* C sources are all of `musl/src/*/*.c` (no per-architecture
  subdirectories: those are assembly or tuned for real CPUs), where a file
  of the same relative path under guest/src replaces musl's, plus the
  guest-only files under guest/src; guest/exclude.txt lists what is left out
  and why.
* zig's copy of musl lacks what zig implements in Zig for its own targets
  (string.h, ctype.h, wchar.h, much of stdlib.h and math.h, malloc).  Those
  Zig sources are built for wasm32 through guest/zigc/c.zig (libzigc.a);
  malloc, the system-call wrappers and strto* are C in guest/src.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import zig

GUEST = Path(__file__).resolve().parent / "guest"
ARCH_DIR = GUEST / "arch" / "wasm32"
OVERLAY_INCLUDE = GUEST / "include"

#: clang target for guest C code.  The Linux OS gives hosted-C semantics and
#: predefines __linux__/__unix__ (a cage looks like Linux to the program);
#: zig provides no libc for it, so nothing of zig's own libc is used.
TARGET = "wasm32-linux-musl"
#: compiler-rt is built freestanding (it needs no OS).
RT_TARGET = "wasm32-freestanding"
#: zig's generated musl headers we start from (closest ABI to wasm32).
BASE_ARCH = "riscv32"
#: whose system-call numbers the guest uses.
SYSCALL_ARCH = "x86_64"

#: Bump to force a rebuild when the build recipe changes in a way the
#: hashed inputs do not show.
RECIPE_VERSION = 2

#: Defines every guest translation unit sees (user programs and libc).
GUEST_DEFINES = ["-D__lind__=1"]

#: Guest code is built for threads: atomics are real wasm atomics (threads of a cage,
#: and cages sharing MAP_SHARED pages, run in parallel) and `_Thread_local` is real
#: per-thread storage; bulk memory makes memcpy/memset single instructions.
THREAD_CFLAGS = ["-matomics", "-mbulk-memory"]
#: The same for the parts of libc zig builds from Zig sources.
ZIG_CPU = "-mcpu=generic+atomics+bulk_memory"

MUSL_CFLAGS = [
    "-std=c99",
    *THREAD_CFLAGS,
    "-ffreestanding",
    "-D_XOPEN_SOURCE=700",
    "-O2",
    "-g0",
    "-fno-sanitize=all",
    "-fno-stack-protector",
    "-ffunction-sections",
    "-fdata-sections",
    "-frounding-math",
    "-w",
    "-Werror=implicit-function-declaration",
    "-Werror=implicit-int",
    "-Werror=int-conversion",
    "-Werror=incompatible-pointer-types",
]


#: Defines for single musl files: pthread_create and pthread_join map and unmap thread
#: stacks through the guest's stack cache (guest/src/thread/__lind_stack_cache.c); the
#: public names of musl's mutex lock and unlock are guest/src/thread/__lind_mutex.c's,
#: which calls musl's but for a private normal mutex in a program never threaded;
#: pthread_create is guest/src/thread/__lind_thread_start_types.c's, which calls musl's
#: __pthread_create with a start routine of the type it names. musl's number scanner and
#: vfprintf are built twice: as __lind_*_quad for long double, and with long double the
#: size of double for float and double (guest/src/{internal,stdio}/__lind_*.c), since
#: wasm32's 128-bit long double is software arithmetic. vsnprintf and vsscanf keep
#: musl's as what the guest's common cases (__lind_printf_simple.c, __lind_vsscanf.c)
#: leave to it.
_STACK_CACHE = ["-D__mmap=__lind_stack_map", "-D__mprotect=__lind_stack_protect",
                "-D__munmap=__lind_stack_unmap"]
FILE_DEFINES = {
    "src/thread/pthread_create.c": [*_STACK_CACHE, "-Dpthread_create=__lind_musl_pthread_create"],
    "src/thread/pthread_join.c": _STACK_CACHE,
    "src/thread/pthread_mutex_lock.c": ["-Dpthread_mutex_lock=__lind_musl_mutex_lock"],
    "src/thread/pthread_mutex_unlock.c": ["-Dpthread_mutex_unlock=__lind_musl_mutex_unlock"],
    "src/internal/floatscan.c": ["-D__floatscan=__lind_floatscan_quad"],
    "src/internal/__lind_floatscan_double.c": ["-Xclang", "-mlong-double-64"],
    "src/stdio/vfprintf.c": ["-Dvfprintf=__lind_vfprintf_quad"],
    "src/stdio/vsnprintf.c": ["-Dvsnprintf=__lind_musl_vsnprintf", "-Dvfprintf=__lind_vfprintf_musl"],
    "src/stdio/__lind_vfprintf_double.c": ["-Xclang", "-mlong-double-64"],
    "src/stdio/vsscanf.c": ["-Dvfscanf=__lind_vsscanf_file"],
}


class SysrootBuildError(RuntimeError):
    """Building the guest libc failed (a bug in Lind, not in the user's code)."""


# --------------------------------------------------------------------------
# inputs


def _guest_files() -> list[Path]:
    """Files that determine the built libc (the header overlay and the
    documentation do not)."""
    files = []
    for p in sorted(GUEST.rglob("*")):
        if (
            p.is_file()
            and OVERLAY_INCLUDE not in p.parents
            and "__pycache__" not in p.parts
            and p.suffix != ".md"
        ):
            files.append(p)
    return files


def sysroot_key() -> str:
    h = hashlib.sha256()
    h.update(f"recipe {RECIPE_VERSION}\n".encode())
    h.update(f"zig {zig.zig_version()}\n".encode())
    h.update(Path(__file__).read_bytes())
    for p in _guest_files():
        h.update(str(p.relative_to(GUEST)).encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _excluded() -> dict[str, str]:
    """guest/exclude.txt: `src/dir/file.c   reason` per line, # comments."""
    out = {}
    for line in (GUEST / "exclude.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        out[name] = reason.strip()
    return out


def libc_sources() -> dict[str, Path]:
    """Relative name (src/stdio/printf.c) -> file to compile."""
    sources: dict[str, Path] = {}
    src = zig.musl_dir() / "src"
    for d in sorted(src.iterdir()):
        if d.is_dir() and d.name != "include":
            for f in sorted(d.glob("*.c")):
                sources[f"src/{d.name}/{f.name}"] = f
    for f in sorted((GUEST / "src").rglob("*.c")):
        sources["src/" + f.relative_to(GUEST / "src").as_posix()] = f
    for name in _excluded():
        sources.pop(name, None)
    return sources


# --------------------------------------------------------------------------
# headers


def install_headers(include: Path) -> None:
    inc = zig.libc_include_dir()
    # The kernel's UAPI headers (<linux/...>, and the generic <asm/...>: no arch's
    # <asm/unistd.h>, whose numbers are not the cage's), then musl's over them.
    shutil.copytree(inc / "any-linux-any", include)
    shutil.copytree(inc / "generic-musl", include, dirs_exist_ok=True)
    shutil.copytree(inc / f"{BASE_ARCH}-linux-musl", include, dirs_exist_ok=True)
    shutil.copytree(ARCH_DIR / "bits", include / "bits", dirs_exist_ok=True)

    alltypes = (inc / f"{BASE_ARCH}-linux-musl" / "bits" / "alltypes.h").read_text()
    for old, new in (
        ("#define _Addr int\n", "#define _Addr long\n"),
        ("#define _Reg int\n", "#define _Reg long\n"),
    ):
        if old not in alltypes:
            raise SysrootBuildError(f"unexpected {BASE_ARCH} alltypes.h: no {old.strip()!r}")
        alltypes = alltypes.replace(old, new)
    (include / "bits" / "alltypes.h").write_text(
        f"/* wasm32-lind: generated from zig's {BASE_ARCH}-linux-musl bits/alltypes.h,\n"
        " * with pointer-sized types spelled long as clang's wasm32 target does. */\n" + alltypes
    )
    stdarg = (include / "stdarg.h").read_text()
    va_arg = "#define va_arg(v,l)     __builtin_va_arg(v,l)\n"
    if va_arg not in stdarg:
        raise SysrootBuildError("unexpected musl stdarg.h: no va_arg definition")
    (include / "stdarg.h").write_text(stdarg.replace(va_arg, (
        "/* wasm32-lind: a call that passes no variadic arguments passes a null va_list\n"
        " * (clang's wasm32 ABI). Reading an argument then gives 0 -- where other targets\n"
        " * give garbage -- instead of faulting on the null page: fcntl(fd, F_GETFL),\n"
        " * ioctl, syscall() and prctl read arguments their callers need not pass. */\n"
        "#define va_arg(v,l)     ((v) ? __builtin_va_arg(v,l) : (l){0})\n")))
    syscalls = (inc / f"{SYSCALL_ARCH}-linux-musl" / "bits" / "syscall.h").read_text()
    (include / "bits" / "syscall.h").write_text(
        f"/* wasm32-lind: generated from zig's {SYSCALL_ARCH}-linux-musl bits/syscall.h:\n"
        " * Lind system calls use the Linux x86_64 numbers. */\n" + syscalls
    )


# --------------------------------------------------------------------------
# flags shared with the driver


def guest_include_flags(sysroot: Path) -> list[str]:
    """Header search path for cage programs: the lind overlay first, then the
    musl sysroot, then clang's builtin headers (stdatomic.h, intrinsics)."""
    return [
        "-nostdinc",
        "-isystem",
        str(OVERLAY_INCLUDE),
        "-isystem",
        str(sysroot / "include"),
        "-idirafter",
        str(zig.clang_builtin_include()),
    ]


def link_inputs(sysroot: Path) -> tuple[list[str], list[str]]:
    """(objects that go before the user's, archives that go after)."""
    lib = sysroot / "lib"
    return (
        [str(lib / "crt1.o")],
        [str(lib / "libc.a"), str(lib / "libzigc.a"), str(lib / "libcompiler_rt.a")],
    )


# --------------------------------------------------------------------------
# building


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self.last_pct = -1

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        msg = f"lind: building guest libc (first use, ~1 min) {self.done}/{self.total}"
        if self.tty:
            end = "\n" if self.done == self.total else ""
            print("\r" + msg, end=end, file=sys.stderr, flush=True)
        else:
            pct = self.done * 10 // self.total
            if pct != self.last_pct:
                self.last_pct = pct
                print(msg, file=sys.stderr, flush=True)


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=zig.zig_env())


def _compile_libc_file(name: str, src: Path, obj: Path, include: Path) -> str | None:
    musl = zig.musl_dir()
    # A guest file that stands in for musl's src/X/Y.c sees musl's src/X
    # for #include "..." as the original would (fdop.h, stdio_impl.h...).
    local = ["-iquote", str(musl / Path(name).parent)] if GUEST in src.parents else []
    cmd = [
        str(zig.zig_exe()),
        "cc",
        "-target",
        TARGET,
        "-nostdinc",
        *MUSL_CFLAGS,
        *GUEST_DEFINES,
        *FILE_DEFINES.get(name, ()),
        *local,
        "-I",
        str(ARCH_DIR),
        "-I",
        str(musl / "src" / "include"),
        "-I",
        str(musl / "src" / "internal"),
        "-I",
        str(include),
        "-idirafter",
        str(musl / "arch" / "generic"),
        "-c",
        str(src),
        "-o",
        str(obj),
    ]
    r = _run(cmd)
    if r.returncode != 0:
        return f"{src}:\n{r.stderr}"
    return None


def _build_zigc(work: Path, out: Path) -> str | None:
    """zig's Zig-written libc pieces, rooted at guest/zigc/c.zig."""
    root = work / "zigc"
    root.mkdir()
    shutil.copy(GUEST / "zigc" / "c.zig", root / "c.zig")
    try:
        os.symlink(zig.zig_lib() / "c", root / "c", target_is_directory=True)
    except OSError:
        shutil.copytree(zig.zig_lib() / "c", root / "c")
    cmd = [
        str(zig.zig_exe()),
        "build-lib",
        "c.zig",
        "-target",
        "wasm32-wasi-musl",
        "-lc",
        ZIG_CPU,
        "-OReleaseFast",
        "-fstrip",
        "--name",
        "zigc",
        f"-femit-bin={out}",
    ]
    r = _run(cmd, cwd=root)
    return None if r.returncode == 0 else f"zigc:\n{r.stderr}"


def _build_compiler_rt(out: Path) -> str | None:
    cmd = [
        str(zig.zig_exe()),
        "build-lib",
        str(zig.zig_lib() / "compiler_rt.zig"),
        "-target",
        RT_TARGET,
        ZIG_CPU,
        "-OReleaseFast",
        "-fstrip",
        "--name",
        "compiler_rt",
        f"-femit-bin={out}",
    ]
    r = _run(cmd)
    return None if r.returncode == 0 else f"compiler_rt:\n{r.stderr}"


def _compile_crt(include: Path, out: Path) -> str | None:
    cmd = [
        str(zig.zig_exe()),
        "cc",
        "-target",
        TARGET,
        "-nostdinc",
        "-isystem",
        str(include),
        *GUEST_DEFINES,
        *THREAD_CFLAGS,
        "-O2",
        "-g0",
        "-fno-sanitize=all",
        "-c",
        str(GUEST / "crt" / "crt1.c"),
        "-o",
        str(out),
    ]
    r = _run(cmd)
    return None if r.returncode == 0 else f"crt1.c:\n{r.stderr}"


def build_sysroot(
    dest: Path, *, progress: bool = True, jobs: int | None = None, key: str | None = None
) -> dict:
    """Build a complete sysroot into `dest` (which must not exist)."""
    start = time.monotonic()
    dest.mkdir(parents=True)
    include = dest / "include"
    lib = dest / "lib"
    lib.mkdir()
    install_headers(include)

    sources = libc_sources()
    objdir = dest / "obj"
    objdir.mkdir()
    objects: list[str] = []
    errors: list[str] = []
    bar = _Progress(len(sources) + 3, progress)
    jobs = jobs or os.cpu_count() or 1
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = [
            pool.submit(_build_zigc, dest, lib / "libzigc.a"),
            pool.submit(_build_compiler_rt, lib / "libcompiler_rt.a"),
            pool.submit(_compile_crt, include, lib / "crt1.o"),
        ]
        for name, src in sources.items():
            obj = name.removeprefix("src/").removesuffix(".c").replace("/", "__") + ".o"
            objects.append(obj)
            futs.append(pool.submit(_compile_libc_file, name, src, objdir / obj, include))
        for fut in concurrent.futures.as_completed(futs):
            err = fut.result()
            if err:
                errors.append(err)
            bar.step()
    if errors:
        shown = "\n".join(errors[:5])
        raise SysrootBuildError(f"{len(errors)} guest libc part(s) failed to build:\n{shown}")

    r = _run([str(zig.zig_exe()), "ar", "rcs", str(lib / "libc.a"), *sorted(objects)], cwd=objdir)
    if r.returncode != 0:
        raise SysrootBuildError(f"archiving libc.a failed:\n{r.stderr}")
    shutil.rmtree(objdir)
    shutil.rmtree(dest / "zigc", ignore_errors=True)

    manifest = {
        "key": key or dest.name,
        "zig": zig.zig_version(),
        "target": "wasm32-lind",
        "libc_files": len(sources),
        "build_seconds": round(time.monotonic() - start, 1),
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - non-POSIX host
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def sysroot_path() -> Path:
    return zig.cache_root() / f"sysroot-{sysroot_key()}"


def cached_build(final: Path, build: Callable[[Path], object]) -> Path:
    """Return `final`, first running `build(dest)` to make it if it has no
    manifest.json: under a file lock, so concurrent first uses build once, into
    a temporary directory renamed into place when complete."""
    if (final / "manifest.json").is_file():
        return final
    with _file_lock(final.with_name(final.name + ".lock")):
        if (final / "manifest.json").is_file():
            return final
        # Holding the lock, any temporary build of this key is a leftover
        # of a process that was killed mid-build.
        for stale in final.parent.glob(f".tmp-{final.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
        try:
            build(tmp / "root")
            if final.exists():  # a broken leftover without a manifest
                shutil.rmtree(final)
            os.rename(tmp / "root", final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def ensure_sysroot(*, progress: bool = True) -> Path:
    """Return the guest sysroot, building it first if needed."""
    final = sysroot_path()
    return cached_build(
        final, lambda dest: build_sysroot(dest, progress=progress, key=final.name))
