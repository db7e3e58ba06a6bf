"""Lind: run untrusted programs in WebAssembly cages, every system call through 3i.

`lind.run` feels like `subprocess.run`, `lind.Popen` like `subprocess.Popen`, and
`lind.create_subprocess_exec` like asyncio's; `lind.Runtime` starts many cages at once;
`lind.isolate` puts a Python program inside the host layers. The names load on first
use (from `lind.api`): `import lind` alone costs no wasmtime, so the command line can
check its options, and `lind run --isolate` fork into its namespaces, first.
"""

from __future__ import annotations

TYPE_CHECKING = False     # typing.TYPE_CHECKING by name: `typing` costs every `lind` 5 ms

__version__ = "0.1.0"   # pyproject.toml reads it from here

__all__ = ["DEVNULL", "PIPE", "STDOUT", "Cage", "CompletedCage", "Grate", "MountSpec", "Network",
           "PolicyOverridden", "PolicyViolation", "Popen", "Process", "ProgramError", "Runtime",
           "create_subprocess_exec", "isolate", "run"]

if TYPE_CHECKING:
    from lind.api import (
        DEVNULL,
        PIPE,
        STDOUT,
        Cage,
        CompletedCage,
        Grate,
        MountSpec,
        Network,
        PolicyOverridden,
        PolicyViolation,
        Popen,
        Process,
        ProgramError,
        Runtime,
        create_subprocess_exec,
        isolate,
        run,
    )


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module 'lind' has no attribute {name!r}")
    from lind import api

    value = getattr(api, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
