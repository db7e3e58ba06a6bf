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


# What one instance may hold of the host's memory besides its linear memory, in a
# cage of either runtime. A table is 8 bytes an element: a table.grow of 100 million
# (a cage under --memory 64M) took 830 MB of the host; a lind cc program has one table,
# of its address-taken functions (thousands).
MAX_TABLE_ELEMENTS = 1 << 20
MAX_TABLES = 2
# Exception objects (a C++ throw) live on Wasmtime's GC heap, which a Store's memory
# limit bounds too: unbounded, a thread keeping exceptions took 800 MB of the host. A
# C++ exception is a few dozen bytes there, and collected once caught (100,000 throws
# of 4 KiB ones fit in this).
GC_HEAP_LIMIT = 1 << 20


# What an instance may hold of its own uncounted, as Lind's own share of it (its Store,
# Linker and Python objects) is: a lind cc program's is ~1 KiB, and charging it cost
# every fork and thread ~3 us.
INSTANCE_ALLOWANCE = 64 << 10


def instance_bytes(function_imports: int, globals_defined: int,
                   tables: tuple[int | None, ...]) -> int:
    """Host memory an instance holds of its own outside linear memory, past
    INSTANCE_ALLOWANCE, counted in its cage's budget (figures from
    lind.toolchain.asyncify.instance_shape): Wasmtime keeps ~160 bytes an imported
    function, 16 a global and 8 a table element, at the most each table may grow to
    (`tables`: their declared maxima). A module of a million globals held 12 MiB an
    instance, one importing a function 99,000 times 14 MiB, and every thread and fork
    of a cage is an instance."""
    held = 160 * function_imports + 16 * globals_defined + 8 * sum(
        MAX_TABLE_ELEMENTS if most is None else min(most, MAX_TABLE_ELEMENTS) for most in tables)
    return max(0, held - INSTANCE_ALLOWANCE)


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
