"""Where the zig toolchain (from the `ziglang` PyPI package) lives.

Lind uses zig only as a packaged clang/lld/ar plus three source trees that
ship inside the package: musl's C sources (`lib/libc/musl`), musl's
generated per-architecture headers (`lib/libc/include`) and zig's own
Zig-written libc pieces and compiler-rt (`lib/c`, `lib/compiler_rt.zig`).
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from lind import hostdirs


class ZigNotFound(RuntimeError):
    """The `ziglang` package is not installed."""


@functools.cache
def zig_dir() -> Path:
    try:
        import ziglang
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise ZigNotFound("the 'ziglang' package is required (pip install ziglang)") from exc
    return Path(ziglang.__file__).resolve().parent


def zig_exe() -> Path:
    return zig_dir() / ("zig.exe" if os.name == "nt" else "zig")


def zig_lib() -> Path:
    return zig_dir() / "lib"


def musl_dir() -> Path:
    return zig_lib() / "libc" / "musl"


def libc_include_dir() -> Path:
    return zig_lib() / "libc" / "include"


def clang_builtin_include() -> Path:
    """clang's own headers (stdatomic.h, wasm_simd128.h, ...)."""
    return zig_lib() / "include"


@functools.cache
def zig_version() -> str:
    out = subprocess.run(
        [str(zig_exe()), "version"], capture_output=True, text=True, check=True, env=zig_env()
    )
    return out.stdout.strip()


def cache_root() -> Path:
    """Lind's cache (lind.hostdirs): what the toolchain builds is kept there."""
    return Path(hostdirs.cache_root())


def zig_env() -> dict[str, str]:
    """Environment for zig subprocesses: zig's own cache goes under Lind's
    cache unless the user chose one, so a read-only $HOME is no obstacle."""
    env = dict(os.environ)
    if "ZIG_GLOBAL_CACHE_DIR" not in env:
        env["ZIG_GLOBAL_CACHE_DIR"] = str(cache_root() / "zig-cache")
    if "ZIG_LOCAL_CACHE_DIR" not in env:
        env["ZIG_LOCAL_CACHE_DIR"] = env["ZIG_GLOBAL_CACHE_DIR"]
    return env
