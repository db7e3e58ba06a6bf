"""One Wasmtime engine per process, and a disk cache of compiled programs.

Compiling a program with Cranelift takes tens of milliseconds; deserialising the
cached machine code takes a fraction of one. The cache key is the program's bytes
plus everything that changes the generated code (Wasmtime version and settings).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import importlib.metadata
import os
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import wasmtime
from wasmtime import _bindings as wt
from wasmtime._extern import wrap_extern

WASM_MAGIC = b"\0asm"
_WASMTIME_VERSION = importlib.metadata.version("wasmtime")
_ENGINE_SETTINGS = "epoch_interruption=1;memory_may_move=0;opt=speed"
_lock = threading.Lock()
_engine: wasmtime.Engine | None = None
_modules: dict[str, wasmtime.Module] = {}


class ProgramError(Exception):
    """The file given is not a program Lind can run; the message says why.

    `status` is what a shell would exit with: 127 when the file is missing, else 126.
    """

    def __init__(self, message: str, status: int = 126) -> None:
        super().__init__(message)
        self.status = status


def engine() -> wasmtime.Engine:
    global _engine
    with _lock:
        if _engine is None:
            config = wasmtime.Config()
            config.epoch_interruption = True
            config.memory_may_move = False
            config.cranelift_opt_level = "speed"
            _engine = wasmtime.Engine(config)
        return _engine


def forget_compiled() -> None:
    """Drop the in-process module cache (benchmarks of a cold start need it gone)."""
    _modules.clear()


def cache_dir() -> Path:
    base = os.environ.get("LIND_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lind")
    return Path(base) / "modules"


def _key(wasm: bytes) -> str:
    h = hashlib.sha256()
    h.update(_WASMTIME_VERSION.encode())
    h.update(_ENGINE_SETTINGS.encode())
    h.update(wasm)
    return h.hexdigest()


KNOWN_IMPORTS = {"lind", "wasi_snapshot_preview1"}


def load(path: str | os.PathLike[str]) -> wasmtime.Module:
    """The compiled module for a program file, from memory, disk cache, or Cranelift."""
    try:
        wasm = Path(path).read_bytes()
    except OSError as exc:
        raise ProgramError(f"{path}: {exc.strerror}", 127 if exc.errno == errno.ENOENT else 126) from None
    return load_bytes(wasm, str(path))


def load_bytes(wasm: bytes, path: str) -> wasmtime.Module:
    """Like `load`, for a program already read; `path` names it in messages."""
    if wasm[:4] != WASM_MAGIC:
        raise ProgramError(f"{path}: not a WebAssembly module")
    key = _key(wasm)
    module = _modules.get(key)
    if module is not None:
        return module
    cached = cache_dir() / f"{key}.cwasm"
    eng = engine()
    if cached.exists():
        try:
            module = wasmtime.Module.deserialize_file(eng, str(cached))
        except wasmtime.WasmtimeError:
            module = None  # a stale or truncated entry: compile again below
    if module is None:
        try:
            module = wasmtime.Module(eng, wasm)
        except wasmtime.WasmtimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid module"
            raise ProgramError(f"{path}: invalid WebAssembly module: {first}") from None
        _store(cached, module.serialize())
    _check_program(module, path)
    _modules[key] = module
    return module


@dataclass(frozen=True)
class Shape:
    """What a cage needs to know of a module's imports and exports, read once: asking
    Wasmtime for them costs ~100 us a time, and every fork instantiates the module."""

    imports: tuple[tuple[str, str, object], ...]   # (module, name, type)
    exports: dict[str, object]                     # name -> type


_shapes: weakref.WeakKeyDictionary[wasmtime.Module, Shape] = weakref.WeakKeyDictionary()


def shape(module: wasmtime.Module) -> Shape:
    found = _shapes.get(module)
    if found is None:
        found = _shapes[module] = Shape(
            tuple((i.module, i.name, i.type) for i in module.imports),
            {e.name: e.type for e in module.exports})
    return found


class Exports(Mapping):
    """An instance's exports, each wrapped on first use: wasmtime-py wraps them all up
    front, which costs more than the rest of instantiating a small program."""

    def __init__(self, store: wasmtime.Store, instance: wasmtime.Instance,
                 module: wasmtime.Module) -> None:
        self._store = store
        self._instance = instance
        self._names = shape(module).exports
        self._wrapped: dict[str, object] = {}

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

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _check_program(module: wasmtime.Module, path: str) -> None:
    known = shape(module)
    foreign = sorted({f"{mod}.{name}" for mod, name, _ in known.imports
                      if mod not in KNOWN_IMPORTS})
    if foreign:
        raise ProgramError(f"{path}: imports {', '.join(foreign[:5])} which Lind does not provide")
    if "_start" not in known.exports or "memory" not in known.exports:
        raise ProgramError(f"{path}: not a program (no _start or memory export)")


def _store(target: Path, data: bytes) -> None:
    """Write a cache entry atomically; a cache we cannot write is only slower."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except OSError:
        pass
