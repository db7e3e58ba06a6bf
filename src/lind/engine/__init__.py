"""The engine seam: what a cage runtime needs of a WebAssembly engine, and no more.

A runtime compiles a program, makes the memory its cages import, instantiates the
program with host functions for its imports, reads and writes that memory, calls
exports and asks for a running cage to be stopped. Two engines answer it:

- `lind.engine.wasmtime_engine` -- wasmtime-py, on any host Python.
- `lind.engine.js_engine` -- the JavaScript host's own `WebAssembly` (a web browser
  or Node.js) through Pyodide's `js` module: Lind inside a page.

The threaded runtime (`lind.cage`) stays on wasmtime's C API, where its C trampoline
answers calls in ~0.2 us; the cooperative runtime (`lind.portable.runtime`), which
needs no host threads and no host system calls, runs on either engine through this
seam alone. Nothing here imports an engine: `new_engine` loads the one asked for.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

WASM_PAGE = 65536
FUNCTION_TABLE = "__indirect_function_table"   # what wasm-ld exports the function table as


class EngineError(Exception):
    """The engine refused a module, an instantiation or a memory (the message says why)."""


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    kind: str                                  # "func", "memory", "global" or "table"
    limits: tuple[int, int | None] | None = None   # a memory's (minimum, maximum) pages
    shared: bool = False


class Memory(Protocol):
    """A linear memory, addressed in bytes. Reads and writes outside it raise IndexError."""

    def size(self) -> int: ...

    def grow(self, pages: int) -> None:
        """Add `pages` pages; EngineError when the engine refuses (past the maximum)."""

    def read(self, addr: int, length: int) -> bytes: ...

    def write(self, addr: int, data: bytes) -> None: ...

    def copy_from(self, source: Memory) -> None:
        """All of `source` (a memory of the same engine, no larger) to the start of
        this one, without passing through Python bytes (fork copies whole memories)."""


class Instance(Protocol):
    def has(self, name: str) -> bool: ...

    def call(self, name: str, *args: int) -> int | None:
        """Call export `name`; an exception a host function raised comes out unchanged."""

    def get_global(self, name: str) -> int: ...

    def set_global(self, name: str, value: int) -> None: ...

    def table_arity(self, index: int) -> int | None:
        """How many parameters entry `index` of the function table takes (None: no such
        entry, or no table): a signal handler's C type may not say."""


HostFunction = Callable[..., int]


class Engine(Protocol):
    name: str

    def compile(self, wasm: bytes) -> Any:
        """A compiled module; EngineError when `wasm` is not a valid module."""

    def code_size(self, module: Any) -> int:
        """Bytes of host memory the compiled module holds (as near as the engine says)."""

    def imports(self, module: Any) -> list[Import]: ...

    def exports(self, module: Any) -> list[str]: ...

    def new_memory(self, minimum: int, maximum: int | None, shared: bool) -> Memory: ...

    def instantiate(self, module: Any, functions: dict[tuple[str, str], HostFunction],
                    memory: Memory | None) -> Instance:
        """`module` with `functions` for its function imports (integer arguments and
        result) and `memory` for its memory import. A function import left out traps
        when called."""

    def interrupt(self) -> bool:
        """Stop this engine's running instances where they are, if the engine can
        (True); otherwise the runtime stops them at their next call into the host."""

    def hosting(self, body: Callable[[], Any]) -> Any:
        """`body()`, where its calls into instances have the host stack they need: a
        runtime runs its whole schedule this way, rather than paying for that room at
        every call."""


ENGINES = {"wasmtime": "lind.engine.wasmtime_engine", "js": "lind.engine.js_engine"}


def new_engine(name: str | None = None) -> Engine:
    """A new engine called `name` (one of ENGINES); by default the JavaScript host's
    inside Pyodide, wasmtime everywhere else."""
    if name is None:
        name = "js" if sys.platform == "emscripten" else "wasmtime"
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r} (one of: {', '.join(ENGINES)})")
    return importlib.import_module(ENGINES[name]).new()
