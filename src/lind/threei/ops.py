"""The 3i operations, themselves entries in every cage's table (numbers as Lind's).

A grate reaches them through its own table, so another grate can interpose on them.
Handlers named in register_handler are integers: a function pointer inside a wasm
grate (run by its worker, see cage/grate_worker.py), or, for the host only, a handle
from `python_handle()`.
"""

from __future__ import annotations

import errno
import itertools
import struct
import sys
from collections.abc import Callable, Sequence
from typing import Any

from lind.threei import FAST_GRATE, NSYSCALLS

REGISTER_HANDLER = 1001
COPY_DATA_BETWEEN_CAGES = 1002
COPY_HANDLER_TABLE_TO_CAGE = 1003
MAKE_THREEI_CALL = 1004    # Lind-private: a1 points to the 15 u64 of make_threei_call
HARSH_EXIT = 1005          # notification entry: called on a cage that died by trap or signal
DEREGISTER = 500           # as handler cage id: put the microvisor back for that call
GRATE_MEMORY_FLAG = 1 << 63
_CAGE_ID_BITS = GRATE_MEMORY_FLAG - 1   # a cage id without the flag (also for signed values)
COPY_RAW, COPY_STRING = 0, 1

_handles: dict[int, Callable[..., int]] = {}
_next_handle = itertools.count(1)


class Address(int):
    """An argument value that points into another cage's memory.

    Memory methods of the cage a call acts on follow `memory` instead of their own,
    so a grate can forward a buffer in the calling cage without copying it.
    """

    memory: Any
    cage_id: int

    def __new__(cls, value: int, memory: Any, cage_id: int) -> Address:
        obj = super().__new__(cls, value)
        obj.memory = memory
        obj.cage_id = cage_id
        return obj


def python_handle(handler: Callable[..., int]) -> int:
    """An integer naming a Python handler, to pass to register_handler."""
    handle = next(_next_handle)
    _handles[handle] = handler
    return handle


def _cage(runtime: Any, cage_id: int) -> Any:
    cage = runtime.cages.get(cage_id & _CAGE_ID_BITS)
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


def make_call(runtime: Any, caller: Any, target_id: int, nr: int, args: Sequence[int],
              arg_cages: Sequence[int]) -> int:
    """Call `nr` on behalf of `target_id` through the caller's table (the host's: the
    target's own); each argument names the cage its memory belongs to.

    The caller may act for itself and its descendants only, and name only their memory.
    """
    target = _cage(runtime, target_id)
    _may_touch(runtime, caller, target)
    table = (caller or target).slot
    if not 0 <= nr < NSYSCALLS:
        return -errno.ENOSYS
    handler, _ = table.get(nr)
    owners = [c & _CAGE_ID_BITS for c in arg_cages]
    if table is target.slot and all(c == target.id for c in owners):
        # The cage's own call: its fast entries and its own memory serve it.
        return target.slot.call(nr, *[int(a) for a in args])
    if handler is None:
        return -errno.ENOSYS
    wrapped = []
    for value, owner in zip(args, owners, strict=True):
        if owner == target.id:
            wrapped.append(value)
        else:
            cage = _cage(runtime, owner)
            _may_touch(runtime, caller, cage)
            wrapped.append(Address(value, cage.mem, owner))
    try:
        return handler(target, *wrapped)
    except OSError as exc:
        return -(exc.errno or errno.EIO)


def register_handler(runtime: Any, caller: Any, target_id: int, nr: int, grate_id: int,
                     handle: int) -> int:
    """Install (or with grate_id == DEREGISTER, remove) a handler in a cage's table.

    Only the cage itself, one of its ancestors, or the host (caller None) may change a
    table; and a cage may route calls only to code of itself or an ancestor, never into
    an unrelated cage.
    """
    from lind.microvisor import table as microvisor

    target = _cage(runtime, target_id)
    _may_touch(runtime, caller, target)
    if not 0 <= nr < NSYSCALLS:
        raise OSError(errno.EINVAL, "Invalid argument")
    if grate_id == DEREGISTER:
        default = microvisor.SYSCALLS.get(nr)
        target.slot.set(nr, default.impl if default else None, default.fast if default else 0)
        return 0
    if caller is None and grate_id == 0:
        handler = _handles.get(handle)
        if handler is None:
            raise OSError(errno.EINVAL, "Unknown handler")
        target.slot.set(nr, handler, 0)
        return 0
    grate = _cage(runtime, grate_id)
    if caller is not None:
        _may_touch(runtime, grate, caller)
    target.slot.set(nr, grate.grate_workers().handler(handle), FAST_GRATE)
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
    """Give `target_id` the whole table of `src_id`; the caller must be allowed to touch
    both (else copying an unrelated cage's table would route calls into its grates)."""
    src, target = _cage(runtime, src_id), _cage(runtime, target_id)
    _may_touch(runtime, caller, src)
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


def sys_make_threei_call(cage, block, *_):
    """make_threei_call from a grate: callnumber, self, target, then 6 (arg, cage) pairs."""
    nr, _self, target, *pairs = struct.unpack("<15Q", cage.mem.read(block, 15 * 8))
    return make_call(cage.runtime, cage, target, nr, pairs[0::2], pairs[1::2])
