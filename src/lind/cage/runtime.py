"""The runtime: starts cages from program files and hands out cage ids."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lind.cage import loader
from lind.cage.cage import Cage
from lind.microvisor import abi
from lind.microvisor.fdtable import OpenFile
from lind.microvisor.fs import FileSystem, normalize

KNOWN_IMPORTS = {"lind"}


@dataclass(frozen=True)
class MountSpec:
    """A host directory shown inside the cage at `guest`."""

    host: str
    guest: str
    readonly: bool = False

    @classmethod
    def parse(cls, text: str) -> MountSpec:
        """HOST:GUEST[:ro|:rw], as given on the command line."""
        parts = text.split(":")
        readonly = False
        if len(parts) == 3 and parts[2] in ("ro", "rw"):
            readonly = parts.pop() == "ro"
        if len(parts) != 2 or not parts[0] or not parts[1].startswith("/"):
            raise ValueError(f"bad mount {text!r}: expected HOST:/GUEST[:ro]")
        return cls(parts[0], parts[1], readonly)


def _stdio_file(host_fd: int, flags: int) -> OpenFile:
    """A cage-owned copy of a host fd, so the cage closing it leaves the host's alone."""
    return OpenFile(os.dup(host_fd), flags)


class Runtime:
    """Many cages in this process. Thread-safe; each cage runs on its own thread."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.cages: dict[int, Cage] = {}   # live cages by id

    def spawn(self, program: str | os.PathLike[str], args: Sequence[str] = (), *,
              root: str, mounts: Sequence[MountSpec] = (), env: Mapping[str, str] | None = None,
              cwd: str = "/", stdin: int = 0, stdout: int = 1, stderr: int = 2,
              argv0: str | None = None) -> Cage:
        """Start `program` in a new cage; stdin/stdout/stderr are host fds to copy in."""
        module = loader.load(program)
        foreign = sorted({f"{i.module}.{i.name}" for i in module.imports
                          if i.module not in KNOWN_IMPORTS})
        if foreign:
            raise loader.ProgramError(
                f"{program}: imports {', '.join(foreign[:5])} which Lind does not provide")
        exports = {e.name for e in module.exports}
        if "_start" not in exports or "memory" not in exports:
            raise loader.ProgramError(f"{program}: not a program (no _start or memory export)")
        fs = FileSystem(root, [(m.host, m.guest, m.readonly) for m in mounts])
        try:
            guest_cwd = normalize(cwd)
            argv = [os.fsencode(argv0 or os.path.basename(os.fspath(program)))]
            argv += [os.fsencode(a) for a in args]
            envb = [os.fsencode(f"{k}={v}") for k, v in (env or {}).items()]
            stdio = [_stdio_file(stdin, abi.O_RDONLY), _stdio_file(stdout, abi.O_WRONLY),
                     _stdio_file(stderr, abi.O_WRONLY)]
            with self._lock:
                cage_id = next(self._ids)
            cage = Cage(runtime=self, cage_id=cage_id, parent_id=0, module=module, argv=argv, env=envb, fs=fs,
                        cwd=guest_cwd, stdio=stdio,
                        ids=(os.getuid(), os.geteuid(), os.getgid(), os.getegid()))
        except BaseException:
            fs.close()
            raise
        with self._lock:
            self.cages[cage_id] = cage
        cage.start()
        return cage

    def forget(self, cage: Cage) -> None:
        """Called by a cage that has ended: it is no longer reachable through 3i."""
        with self._lock:
            self.cages.pop(cage.id, None)

    def wait_all(self, timeout: float | None = None) -> dict[int, int | None]:
        return {cid: cage.wait(timeout) for cid, cage in list(self.cages.items())}
