"""The 3i operations, themselves entries in every cage's table (numbers as Lind's).

A grate reaches them through its own table, so another grate can interpose on them.
Handlers named in register_handler are integers: a function index inside a wasm grate,
or a handle from `python_handle()` for a grate written in Python.
"""

from __future__ import annotations

import errno
import itertools
import sys
from collections.abc import Callable, Sequence
from typing import Any

REGISTER_HANDLER = 1001
COPY_DATA_BETWEEN_CAGES = 1002
COPY_HANDLER_TABLE_TO_CAGE = 1003
HARSH_EXIT = 1005          # notification entry: called on a cage that died by trap or signal
DEREGISTER = 500           # as handler cage id: put the microvisor back for that call
GRATE_MEMORY_FLAG = 1 << 63
COPY_RAW, COPY_STRING = 0, 1

_handles: dict[int, Callable[..., int]] = {}
_next_handle = itertools.count(1)


class Address(int):
    """An argument value that points into another cage's memory.

    Memory methods of the cage a call acts on follow `memory` instead of their own,
    so a grate can forward a buffer in the calling cage without copying it.
    """

    memory: Any

    def __new__(cls, value: int, memory: Any) -> Address:
        obj = super().__new__(cls, value)
        obj.memory = memory
        return obj


def python_handle(handler: Callable[..., int]) -> int:
    """An integer naming a Python handler, to pass to register_handler."""
    handle = next(_next_handle)
    _handles[handle] = handler
    return handle


def _cage(runtime: Any, cage_id: int) -> Any:
    cage = runtime.cages.get(cage_id & ~GRATE_MEMORY_FLAG)
    if cage is None:
        raise OSError(errno.ESRCH, "No such cage")
    return cage


def _may_touch(runtime: Any, caller: Any, cage: Any) -> None:
    """A cage may act on itself and its descendants; the host (caller None) on any cage."""
    if caller is not None and caller.id != cage.id and not _is_ancestor(runtime, caller.id, cage):
        raise OSError(errno.EPERM, "Operation not permitted")


def _is_ancestor(runtime: Any, ancestor: int, cage: Any) -> bool:
    seen = set()
    while cage is not None and cage.id not in seen:
        seen.add(cage.id)
        if cage.ppid == ancestor:
            return True
        cage = runtime.cages.get(cage.ppid)
    return False


def make_call(runtime: Any, target_id: int, nr: int, args: Sequence[int],
              arg_cages: Sequence[int]) -> int:
    """Call `nr` on behalf of `target_id` through its table; each argument names its cage."""
    target = _cage(runtime, target_id)
    handler, fast = target.slot.get(nr)
    foreign = [(c & ~GRATE_MEMORY_FLAG) != target.id for c in arg_cages]
    if handler is None or not any(foreign):
        # The fast path and the cage's own memory serve it, as for a call from the cage.
        return target.slot.call(nr, *[int(a) for a in args])
    wrapped = [Address(a, _cage(runtime, c).mem) if f else a
               for a, c, f in zip(args, arg_cages, foreign, strict=True)]
    try:
        return handler(target, *wrapped)
    except OSError as exc:
        return -(exc.errno or errno.EIO)


def register_handler(runtime: Any, caller: Any, target_id: int, nr: int, grate_id: int,
                     handle: int) -> int:
    """Install (or with grate_id == DEREGISTER, remove) a handler in a cage's table.

    Only the cage itself, one of its ancestors, or the host (caller None) may change it.
    """
    from lind.microvisor import table as microvisor

    target = _cage(runtime, target_id)
    _may_touch(runtime, caller, target)
    if grate_id == DEREGISTER:
        default = microvisor.SYSCALLS.get(nr)
        target.slot.set(nr, default.impl if default else None, default.fast if default else 0)
        return 0
    handler = _handles.get(handle)
    if handler is None:
        raise OSError(errno.EINVAL, "Unknown handler")
    target.slot.set(nr, handler, 0)
    return 0


def copy_data_between_cages(runtime: Any, caller: Any, src_addr: int, src_cage: int,
                            dest_addr: int, dest_cage: int, length: int, copy_type: int) -> int:
    """Copy bytes (or a NUL-terminated string of at most `length`) across two memories.

    The caller must be each cage or an ancestor of it. Returns the bytes copied.
    """
    src_c, dest_c = _cage(runtime, src_cage), _cage(runtime, dest_cage)
    _may_touch(runtime, caller, src_c)
    _may_touch(runtime, caller, dest_c)
    src, dest = src_c.mem, dest_c.mem
    if copy_type == COPY_STRING:
        data = src.cstring(src_addr, max(length - 1, 0)) + b"\0"
    elif copy_type == COPY_RAW:
        data = src.read(src_addr, length)
    else:
        raise OSError(errno.EINVAL, "Invalid copy type")
    dest.write(dest_addr, data)
    return len(data)


def copy_handler_table_to_cage(runtime: Any, caller: Any, src_id: int, target_id: int) -> int:
    src, target = _cage(runtime, src_id), _cage(runtime, target_id)
    _may_touch(runtime, caller, target)
    target.slot.copy_table(src.slot)
    return 0


def notify_harsh_exit(cage: Any, signo: int) -> None:
    """Tell whoever registered for HARSH_EXIT on `cage` that it died of `signo`."""
    handler, _ = cage.slot.get(HARSH_EXIT)
    if handler is not None:
        try:
            handler(cage, cage.id, signo, 0, 0, 0, 0)
        except Exception as exc:  # noqa: BLE001 - a grate's failure must not stop the teardown
            print(f"lind: harsh-exit handler of cage {cage.id} failed: {exc!r}", file=sys.stderr)


# -- the table entries: (cage, a1..a6) like every other call -------------------

def sys_register_handler(cage, target, nr, grate_id, handle, *_):
    return register_handler(cage.runtime, cage, target, nr, grate_id, handle)


def sys_copy_data_between_cages(cage, src_addr, src_cage, dest_addr, dest_cage, length, copy_type):
    return copy_data_between_cages(cage.runtime, cage, src_addr, src_cage, dest_addr, dest_cage,
                                   length, copy_type)


def sys_copy_handler_table_to_cage(cage, src, target, *_):
    return copy_handler_table_to_cage(cage.runtime, cage, src, target)
