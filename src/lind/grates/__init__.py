"""Grates written in Python: a class whose methods handle a cage's system calls.

    from lind.grates import Call, Grate, handles

    class NoUnlink(Grate):
        @handles("unlink", "unlinkat")
        def refuse(self, call: Call) -> int:
            return -errno.EPERM

        @handles("openat")
        def log_open(self, call: Call) -> int:
            print("open", call.string(1))
            return call.forward()           # to the layer below, unchanged

A grate is attached to a cage (`lind.run(..., grates=[NoUnlink()])`, or
`lind run --grate NAME`): each handled call's entry in the cage's 3i table then
points at the grate, and the entry it replaced becomes the layer `forward` reaches.
Tables are inherited on fork and survive exec, so the whole process tree below the
cage is covered. A handler returns the call's result: >= 0, or -errno (raising
OSError does the same). Any other exception fails the call with EIO and is reported.

What a handler reads of an argument (`call.string`, `call.read`) is what the layers
below see when it forwards that argument: a host-side copy, never the caller's memory
read again, so another cage or thread of the caller cannot change a checked path
between the check and its use.
"""

from __future__ import annotations

import errno
import functools
import re
import sys
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any

from lind.threei import FAST_NONE, ops
from lind.threei.ops import HOST_OWNER

_PUT_ORIGIN = 0xFFFF0000   # the address a value placed with Call.put appears at below
_AT_FDCWD = -100 & 0xFFFFFFFF


@functools.cache
def syscall_numbers() -> dict[str, int]:
    """Linux x86_64 system-call names -> numbers (musl's table, as the guest uses)."""
    from lind.toolchain import zig
    from lind.toolchain.sysroot import SYSCALL_ARCH

    header = zig.libc_include_dir() / f"{SYSCALL_ARCH}-linux-musl" / "bits" / "syscall.h"
    table = {m[1]: int(m[2]) for m in re.finditer(r"#define __NR_(\w+)\s+(\d+)", header.read_text())}
    from lind.microvisor import abi
    from lind.threei import ops

    table.update(spawn=abi.SPAWN)   # posix_spawn's child (Linux: a clone)
    table.update(register_handler=ops.REGISTER_HANDLER, make_threei_call=ops.MAKE_THREEI_CALL,
                 copy_data_between_cages=ops.COPY_DATA_BETWEEN_CAGES,
                 copy_handler_table_to_cage=ops.COPY_HANDLER_TABLE_TO_CAGE,
                 harsh_exit=ops.HARSH_EXIT, pin_fds=ops.PIN_FDS, unpin_fds=ops.UNPIN_FDS)
    return table


@functools.cache
def syscall_names() -> dict[int, str]:
    return {nr: name for name, nr in syscall_numbers().items()}


def number(call: str | int) -> int:
    """A call's number from its name ("openat") or number; ValueError if unknown."""
    if isinstance(call, int):
        return call
    try:
        return syscall_numbers()[call]
    except KeyError:
        raise ValueError(f"unknown system call {call!r}") from None


def handles(*calls: str | int) -> Callable[[Callable], Callable]:
    """Mark a Grate method as the handler of these calls (names or numbers)."""
    def mark(method: Callable) -> Callable:
        method._lind_calls = tuple(number(c) for c in calls)
        return method
    return mark


_NOTHING: Any = MappingProxyType({})    # an empty mapping no one can write to


class Call:
    """One intercepted call: who made it, its number and arguments, and the way down."""

    __slots__ = ("cage", "nr", "args", "_below", "_seen", "_resolved", "_files")

    def __init__(self, cage: Any, nr: int, args: tuple[int, ...],
                 below: Callable[..., int] | None) -> None:
        self.cage = cage
        self.nr = nr
        self.args = args
        self._below = below
        # Each made when first written (most calls never read an argument):
        self._seen: dict[int, bytes] = _NOTHING     # arg -> the bytes read at it
        # an arg read relative to the cwd or a dirfd -> (what goes down in its place, as
        # bytes, and the args to change with it: its dirfd's, its length's)
        self._resolved: dict[int, tuple[bytes, int | None, int | None]] = _NOTHING
        self._files: dict[int, Any] = _NOTHING      # fd -> the OpenFile looked at

    @property
    def name(self) -> str:
        return syscall_names().get(self.nr, str(self.nr))

    @property
    def below(self) -> Callable[..., int] | None:
        """What serves this call below the grate (None: nothing)."""
        return self._below

    @property
    def tid(self) -> int:
        """The id of the calling thread (the cage's id for its first thread): the handler
        runs on that thread."""
        return self.cage.current_tid()

    def _keep(self, i: int, data: bytes) -> None:
        """Remember what was read of argument `i`; forward() passes a copy of it down."""
        if self._seen is _NOTHING:
            self._seen = {}
        self._seen[i] = data

    def read(self, i: int, length: int) -> bytes:
        """`length` bytes at the address in argument `i` (in whichever cage it points to)."""
        seen = self._seen.get(i)
        if seen is not None and len(seen) >= length:
            return seen[:length]
        data = self.cage.mem.read(self.args[i], length)
        self._keep(i, data)
        return data

    def string(self, i: int, limit: int = 4096) -> bytes:
        """The NUL-terminated string argument `i` points to (a path, usually)."""
        seen = self._seen.get(i)
        if seen is not None and (end := seen.find(b"\0")) >= 0:
            return seen[:end]
        raw = self.cage.mem.cstring(self.args[i], limit)
        self._keep(i, raw + b"\0")
        return raw

    def write(self, i: int, data: bytes) -> None:
        """Store `data` at the address in argument `i` (a result buffer)."""
        self.cage.mem.write(self.args[i], data)

    def resolved(self, i: int, dirfd: int | None, path: str) -> None:
        """Argument `i`, a relative path, was read as the absolute `path` (against the
        working directory, or the directory of the fd in argument `dirfd`): forward()
        passes that path down (and AT_FDCWD), so that another thread's chdir or dup2
        between this handler's look and the call below cannot make the call name
        another file (a clamp on /data was passed so, under a race)."""
        self._resolve(i, (path.encode("utf-8", "surrogateescape") + b"\0", dirfd, None))

    def resolved_address(self, i: int, length: int, address: bytes) -> None:
        """Argument `i`, a socket address of the length in argument `length` naming a
        file relative to the working directory, was read as `address` (the name made
        absolute): forward() passes that down, as `resolved` does a path."""
        self._resolve(i, (address, None, length))

    def _resolve(self, i: int, replacement: tuple[bytes, int | None, int | None]) -> None:
        if self._resolved is _NOTHING:
            self._resolved = {}
        self._resolved[i] = replacement

    def file(self, fd: int) -> Any:
        """The caller's open file at `fd` (OSError EBADF if none), the one the layers
        below act on when this call goes down (`FdTable.call_pinned`): so another thread's
        dup2 or close between this handler's look and the call below cannot make the
        call act on a file the handler did not see (readonly:/data, judging fchmod by
        its fd's path, passed /tmp/f1 while the microvisor changed /data/f1). If that
        was the file's last fd, the call below finds it closed, as on Linux."""
        f = self._files.get(fd)
        if f is None:
            if self._files is _NOTHING:
                self._files = {}
            f = self._files[fd] = self.cage.fds.get(fd)
        return f

    def put(self, data: bytes) -> int:
        """An argument to pass down in place of one given: the layers below read `data`
        at it (a rewritten path). Host-side, so the caller cannot change it."""
        return ops.snapshot(self.cage, data, _PUT_ORIGIN)

    def forward(self, *args: int) -> int:
        """Pass the call to the layer below, with `args` in place of the first ones given.

        An argument this handler read goes down as the copy it read, when it is passed
        on unchanged (left out of `args`, or given with its original value)."""
        if self._below is None:
            return -errno.ENOSYS
        if not (args or self._seen or self._resolved or self._files):
            try:                            # the common case: as it came
                return self._below(self.cage, *self.args)
            except OSError as exc:
                return -(exc.errno or errno.EIO)
        full = list(args) + list(self.args[len(args):])
        if self._seen or self._resolved:     # (most calls read nothing: forward as given)
            unchanged = [a == b for a, b in zip(full, self.args, strict=False)]
            for i, (data, dirfd, length) in self._resolved.items():
                if unchanged[i] and all(unchanged[j] for j in (dirfd, length) if j is not None):
                    full[i] = self.put(data)
                    unchanged[i] = False         # (its copy as read is not needed)
                    if dirfd is not None:
                        full[dirfd] = _AT_FDCWD
                    if length is not None:
                        full[length] = len(data)
            for i, data in self._seen.items():
                # made only now (most handlers never forward); an argument that is a
                # copy already (a grate's above) cannot change, and goes down whole
                if unchanged[i] and getattr(self.args[i], "snapshot", None) is None:
                    full[i] = ops.snapshot(self.cage, data, int(self.args[i]))
        try:
            if self._files:
                return self.cage.fds.call_pinned(self._files, self._below, self.cage, *full)
            return self._below(self.cage, *full)
        except OSError as exc:
            return -(exc.errno or errno.EIO)


class Grate:
    """Subclass and mark methods with @handles; `name` is how the CLI finds it."""

    name = ""

    def handlers(self) -> dict[int, Callable[[Call], int]]:
        found: dict[int, Callable[[Call], int]] = {}
        for attr in dir(type(self)):
            method = getattr(type(self), attr)
            for nr in getattr(method, "_lind_calls", ()):
                found[nr] = getattr(self, attr)
        return found

    def attach(self, cage: Any) -> None:
        """Put this grate in front of whatever now serves `cage`'s calls it handles."""
        for nr, method in self.handlers().items():
            below, _ = cage.slot.get(nr)
            cage.slot.set(nr, _entry(self, method, nr, below), FAST_NONE, HOST_OWNER)


def _entry(grate: Grate, method: Callable[[Call], int], nr: int,
           below: Callable[..., int] | None) -> Callable[..., int]:
    def entry(cage: Any, *args: int) -> int:
        call = Call(cage, nr, args, below)
        try:
            return method(call)
        except OSError as exc:
            return -(exc.errno or errno.EIO)
        except Exception as exc:  # noqa: BLE001 - a grate's bug fails the call, not the cage
            print(f"lind: grate {grate.name or type(grate).__name__} failed in "
                  f"{call.name}: {exc!r}", file=sys.stderr)
            return -errno.EIO
    return entry


class CageWithTable:
    """A cage as a grate attaching to it sees it, with `slot` standing in for its table
    (a clamp's or a tee's view): everything else is the cage's."""

    def __init__(self, cage: Any, slot: Any) -> None:
        self._cage = cage
        self.slot = slot

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cage, name)


def attach_all(grates: Iterable[Grate], cage: Any) -> None:
    """Attach grates so the first sees the cage's calls first (attached last), as one
    change of its table (cages already running may be changing theirs, see ops.py)."""
    with cage.runtime.table_lock:
        for grate in reversed(list(grates)):
            grate.attach(cage)
