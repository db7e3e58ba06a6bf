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
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from lind.threei import FAST_GRATE, NSYSCALLS, Memory, acting_as

REGISTER_HANDLER = 1001
COPY_DATA_BETWEEN_CAGES = 1002
COPY_HANDLER_TABLE_TO_CAGE = 1003
MAKE_THREEI_CALL = 1004    # Lind-private: a1 points to the 15 u64 of make_threei_call
HARSH_EXIT = 1005          # notification entry: called on a cage that died by trap or signal
PIN_FDS = 1006             # a grate holds a cage's fds as the files they are now (FdTable.pin)
UNPIN_FDS = 1007           # ... and lets go of its latest pin
DEREGISTER = 500           # as handler cage id: put the microvisor back (no cage has this id)
HOST_OWNER = -1            # owner of an entry the host installed (a Python grate)
GRATE_MEMORY_FLAG = 1 << 63
# -CAGE_ENDED from make_threei_call: the cage it acted for was ended during the call (a
# grate below killed it, or a fatal signal came): there is no result, and that cage never
# sees one (strace shows "= ?"). Outside Linux's errno range; in lind_syscall.h too.
CAGE_ENDED = 4095
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

    # An address computed from this one -- an offset into the same buffer (msgsnd's
    # text past its mtype), the argument cut to 32 bits (u32) -- is in the same memory.
    # As a plain int it was the calling cage's address: a handler that cut a C grate's
    # msgsnd buffer to 32 bits sent what the program kept at that address in its own
    # memory instead of the copy the grate had checked, and msgrcv wrote the message
    # into the program's memory past the grate that meant to filter it. Not from a
    # Python grate's snapshot, which holds only the bytes it looked at and cannot be
    # written: what lies past them, and what a call writes back (sendmmsg's msg_len),
    # are the calling cage's.
    def _moved(self, value: int) -> Any:
        if "snapshot" in self.__dict__:
            return int(value)
        return Address(value, self.memory, self.cage_id)

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, int):
            return NotImplemented
        return self._moved(int(self) + int(other))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, Address):
            return int(self) - int(other)    # a distance
        if not isinstance(other, int):
            return NotImplemented
        return self._moved(int(self) - int(other))

    def __and__(self, other: Any) -> Any:
        if not isinstance(other, int):
            return NotImplemented
        return self._moved(int(self) & int(other))

    __rand__ = __and__


def beside(arg: int, addr: int, length: int) -> int:
    """`addr` in the memory argument `arg` points into, when that memory holds these
    `length` bytes (a grate's copy of a header and of what it points to: netfilter's of
    a sendmsg's header and msg_name), else `addr` in the calling cage's own memory (a
    copy of the header alone, made by a grate that only looked at it)."""
    memory = getattr(arg, "memory", None)
    if memory is None:
        return int(addr)
    try:
        memory.read(addr, length)
    except (OSError, ValueError, OverflowError):
        return int(addr)
    found = Address(addr, memory, arg.cage_id)
    found.__dict__.update(arg.__dict__)     # a snapshot's keeper: see Address._moved
    return found


class Snapshot:
    """Bytes a grate inspected, standing in for the caller's memory in the layers below.

    A Python grate that read an argument (a path) forwards this copy instead of the
    caller's pointer, so another cage or thread cannot change it between the grate's
    check and the use below. It has a cage id of its own (above every pid) whose
    "memory" holds just those bytes at the argument's address, so a wasm grate below
    can copy from it like from any cage; it counts as a child of the calling cage.
    """

    _ids = itertools.count(1 << 40)

    def __init__(self, cage: Any, data: bytes, origin: int) -> None:
        self.id = next(self._ids)
        self.ppid = cage.id
        self.runtime = cage.runtime
        self.origin = origin
        self.mem = Memory.snapshot(data, origin)
        _snapshots[self.id] = self


_snapshots: weakref.WeakValueDictionary[int, Snapshot] = weakref.WeakValueDictionary()


def snapshot(cage: Any, data: bytes, origin: int) -> Address:
    """`data` as `cage`'s memory at guest address `origin`, to pass to the layers below
    (the returned argument keeps the snapshot alive while it is in use)."""
    snap = Snapshot(cage, data, origin)
    addr = Address(origin, snap.mem, snap.id)
    addr.snapshot = snap
    return addr


def python_handle(handler: Callable[..., int]) -> int:
    """An integer naming a Python handler, to pass to register_handler."""
    handle = next(_next_handle)
    _handles[handle] = handler
    return handle


def _cage(runtime: Any, cage_id: int, snapshot: bool = False) -> Any:
    """Cage `cage_id` of `runtime`, or with `snapshot` (where only its memory is wanted)
    a snapshot made there (snapshot ids are the process's, and their parents' ids
    another Runtime's cages may have too). ESRCH for anything else: a snapshot has no
    table nor calls of its own."""
    cage_id &= _CAGE_ID_BITS
    cage = runtime.cages.get(cage_id)
    if cage is None:
        cage = _snapshots.get(cage_id) if snapshot else None
        if cage is None or cage.runtime is not runtime:
            raise OSError(errno.ESRCH, "No such cage")
    return cage


def _may_touch(runtime: Any, caller: Any, cage: Any) -> None:
    """A cage may act on itself and its descendants; the host (caller None) on any cage.
    And only on those it could ptrace on Linux (see _may_act_for)."""
    if caller is None or caller.id == cage.id:
        return
    if not _is_ancestor(runtime, caller.id, cage) or not _may_act_for(runtime, caller, cage):
        raise OSError(errno.EPERM, "Operation not permitted")


def _may_act_for(runtime: Any, caller: Any, cage: Any) -> bool:
    """As _accel.c's may_act_for: a root caller, or a cage whose real, effective and
    saved uids are all the caller's real uid, and gids its real gid, as Linux lets a
    process ptrace another. (A call made for a root cage has root's permission
    overrides: a cage that gave up root could otherwise read, as its root child, what
    the mode bits keep from it; as a child of another group, what is that group's.) A
    snapshot stands for the cage whose call's argument it holds."""
    while isinstance(cage, Snapshot):
        cage = runtime.cages.get(cage.ppid)
        if cage is None:
            return False
    uid, euid, gid = caller.ids[0], caller.ids[1], caller.ids[2]
    if euid == 0 or cage is caller:
        return True
    return (cage.ids[0] == uid and cage.ids[1] == uid and cage.saved_ids[0] == uid
            and cage.ids[2] == gid and cage.ids[3] == gid and cage.saved_ids[1] == gid)


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
    ending = target.slot.exiting       # already: its calls answer as they always did
    if table is target.slot and all(c == target.id for c in owners):
        # The cage's own call: its fast entries and its own memory serve it.
        return _unless_ended(target, ending, target.slot.call(nr, *[int(a) for a in args]))
    if handler is None:
        return -errno.ENOSYS
    wrapped = []
    for value, owner in zip(args, owners, strict=True):
        if owner == target.id:
            wrapped.append(value)
        else:
            cage = _cage(runtime, owner, snapshot=True)
            _may_touch(runtime, caller, cage)
            wrapped.append(Address(value, cage.mem, owner))
    try:
        with acting_as(target.ids[1]):      # the call is the target's: its checks
            return _unless_ended(target, ending, handler(target, *wrapped))
    except OSError as exc:
        return _unless_ended(target, ending, -(exc.errno or errno.EIO))


def _unless_ended(target: Any, ending_before: bool, result: int) -> int:
    """`result`, or -CAGE_ENDED if the target began to end during the call."""
    return -CAGE_ENDED if target.slot.exiting and not ending_before else result


# -- who may change a table entry -----------------------------------------------
#
# Each entry records its owner: 0 for the microvisor's, the grate's cage id for a
# route into a wasm grate, HOST_OWNER for what the host attached (Python grates).
# The layers of an entry are the grates a call passes on its way to the microvisor:
# the owner, then whatever the owner's own table does with the same call (a grate
# forwards through its own table). A cage may change an entry only in a way that
# keeps every layer, unless it is that layer's grate or an ancestor of it (a grate
# outside it): so a grate can stack another layer over one below it, while the
# program it interposes on (and that program's children) can neither remove a
# grate nor route around it. Nor may it route a call into a loop (grates that pass
# it round to each other, never down: ELOOP), or through more than MAX_LAYERS
# grates. The host may change anything.
#
# The check reads other cages' tables, so it and the write it allows are one step:
# every change of an entry, and every copy of a table, holds its runtime's
# `table_lock` (3i reaches only the cages of one Runtime, so one lock per Runtime).
# Two changes racing each other would otherwise each be checked against the table the
# other was about to change: a cage's entry and its child's, each sent to the other,
# pass both checks while the grate below drops out of both chains.

Layer = int | tuple[int, int]   # a grate's cage id, or (HOST_OWNER, id of the entry)

MAX_NESTING = 64    # make_threei_call within make_threei_call on one thread
# Grates one call may pass on its way down: each forwards it with a make_threei_call
# inside the one above, so a longer chain could not take a call to its bottom anyway.
MAX_LAYERS = MAX_NESTING

# How a chain of layers ends (_chain):
DOWN = "down"           # at the microvisor or a Python grate
ANSWERED = "answered"   # at a grate whose own table routes the call to itself
ENDED = "ended"         # at a grate that ended (its route answers ENOSYS)
LOOP = "loop"           # back at a grate it passed: the call never goes down
DEEP = "deep"           # past MAX_LAYERS grates (the walk stops there)


def _chain(runtime: Any, cage: Any, nr: int,
           entry: tuple[int, Any] | None = None) -> tuple[list[Layer], str]:
    """The layers of `cage`'s entry for `nr` (or of `entry`, (owner, handler), put
    there), top first, and how the chain ends. Call with the runtime's table_lock."""
    found: list[Layer] = []
    passed: set[int] = set()
    owner, handler = entry if entry is not None else (cage.slot.owner(nr), cage.slot.get(nr)[0])
    while owner != 0:
        if owner == HOST_OWNER:
            found.append((HOST_OWNER, id(handler)))
            return found, DOWN
        if owner in passed:         # routed to itself: that grate answers; else a loop
            return found, ANSWERED if owner == found[-1] else LOOP
        if len(found) >= MAX_LAYERS:
            return found, DEEP
        found.append(owner)
        passed.add(owner)
        grate = runtime.cages.get(owner)
        if grate is None:           # an ended grate answers ENOSYS: nothing below
            return found, ENDED
        if grate is cage and entry is not None:
            owner, handler = entry  # the entry being put there, not the one it replaces
        else:
            owner, handler = grate.slot.owner(nr), grate.slot.get(nr)[0]
    return found, DOWN


def _may_remove(runtime: Any, caller: Any, layer: Layer) -> bool:
    """Whether cage `caller` may take `layer` off an entry (the host never asks)."""
    if isinstance(layer, tuple):    # only the host removes what the host attached
        return False
    grate = runtime.cages.get(layer)
    return grate is not None and (grate is caller or _is_ancestor(runtime, caller.id, grate))


def _check_replace(runtime: Any, caller: Any, target: Any, nr: int,
                   new: tuple[int, Any]) -> None:
    """EPERM unless `caller` may replace `target`'s entry for `nr` with `new`; ELOOP if
    `new` would send the call round in a loop, or the chain is too long to check.
    Call with the runtime's table_lock, and write before letting go of it."""
    if caller is None:
        return
    old, old_end = _chain(runtime, target, nr)
    kept, end = _chain(runtime, target, nr, new)
    if DEEP in (old_end, end):
        raise OSError(errno.ELOOP, f"Too many levels of grates (at most {MAX_LAYERS})")
    kept_set = set(kept)
    for layer in old:
        if layer not in kept_set and not _may_remove(runtime, caller, layer):
            raise OSError(errno.EPERM, "Operation not permitted: a grate owns this entry")
    if end == LOOP:
        raise OSError(errno.ELOOP, "Too many levels of grates: the route makes a loop")


def _check_route_up(target: Any, grate: Any, handler: Any) -> None:
    """EPERM unless `handler`, of `grate` (an ancestor of the caller), is already in one
    of `target`'s entries as that grate put it there. Call with the runtime's table_lock.

    A handler value is only a number the grate's dispatcher reads, tied neither to a
    call number nor to the layers the call passed on its way. A program under a filter
    sent getpid, which no filter watches, into strace's handler for openat (or into a
    clamp's value that takes openat past its grates): the outer grate made the openat
    for it through its own table, below the filter between them (a readonly or seccomp
    grate, a clamped one: its files were written all the same). A route to a handler
    the program's table holds already is only another number for a call it could make.
    Not asked of a fork of the grate that still runs its program (the usual grate's
    child, routing its calls into its parent before it execs the program to serve):
    that is the grate's own code, which acts for its descendants through its table.
    """
    slot = target.slot
    if not any(slot.owner(nr) == grate.id and slot.get(nr)[0] is handler
               for nr in range(NSYSCALLS)):
        raise OSError(errno.EPERM, "Operation not permitted: not a handler that grate gave "
                      "this cage")


def register_handler(runtime: Any, caller: Any, target_id: int, nr: int, grate_id: int,
                     handle: int) -> int:
    """Install (or with grate_id == DEREGISTER, remove) a handler in a cage's table.

    Only the cage itself, one of its ancestors, or the host (caller None) may change a
    table; a cage may route calls only to code of itself, an ancestor or a descendant
    (which it controls already: it may write its memory and act for it; a clamping
    grate routes calls into the grates it started so), never into an unrelated cage;
    into an ancestor's code only with a handler that ancestor gave the target's table
    (_check_route_up); and it may not remove a grate's layer, nor route a call into a
    loop (see _check_replace).
    """
    from lind.microvisor import table as microvisor

    target = _cage(runtime, target_id)
    _may_touch(runtime, caller, target)
    if not 0 <= nr < NSYSCALLS:
        raise OSError(errno.EINVAL, "Invalid argument")
    if grate_id == DEREGISTER:
        default = microvisor.SYSCALLS.get(nr)
        with runtime.table_lock:
            _check_replace(runtime, caller, target, nr, (0, None))
            target.slot.set(nr, default.impl if default else None, default.fast if default else 0)
        return 0
    if caller is None and grate_id == 0:
        handler = _handles.get(handle)
        if handler is None:
            raise OSError(errno.EINVAL, "Unknown handler")
        with runtime.table_lock:
            target.slot.set(nr, handler, 0, HOST_OWNER)
        return 0
    grate = runtime.cages.get(grate_id & _CAGE_ID_BITS)     # a cage, never a snapshot
    if grate is None:
        raise OSError(errno.ESRCH, "No such cage")
    if caller is not None and caller.id != grate.id and not _is_ancestor(
            runtime, grate.id, caller) and not _is_ancestor(runtime, caller.id, grate):
        raise OSError(errno.EPERM, "Operation not permitted")
    handler = grate.grate_workers().handler(handle)
    with runtime.table_lock:
        if caller is not None and caller.id != grate.id and not _is_ancestor(
                runtime, caller.id, grate) and caller.program_origin != grate.program_origin:
            _check_route_up(target, grate, handler)    # into an ancestor's code
        _check_replace(runtime, caller, target, nr, (grate.id, handler))
        target.slot.set(nr, handler, FAST_GRATE, grate.id)
    return 0


def copy_data_between_cages(runtime: Any, caller: Any, src_addr: int, src_cage: int,
                            dest_addr: int, dest_cage: int, length: int, copy_type: int) -> int:
    """Copy bytes (or a NUL-terminated string of at most `length`) across two memories.

    The caller must be each cage or an ancestor of it. Returns the bytes copied; EFAULT
    where a source page mprotect made PROT_NONE or a destination page it made PROT_NONE
    or PROT_READ meets the copy, as Linux's process_vm_readv/writev answer.
    """
    src_c, dest_c = _cage(runtime, src_cage, snapshot=True), _cage(runtime, dest_cage, snapshot=True)
    _may_touch(runtime, caller, src_c)
    _may_touch(runtime, caller, dest_c)
    src, dest = src_c.mem, dest_c.mem
    # Memory to memory, through no host buffer: read into one first, a copy cost the
    # host its length (200 MiB copied from 8 threads of a 300 MiB tree held 1.2 GB).
    if copy_type == COPY_STRING:
        if length < 1:   # no room even for the NUL
            raise OSError(errno.ENAMETOOLONG, "File name too long")
        end = _string_end(src, src_addr, length)
        dest.copy_from(src, src_addr, dest_addr, end, checked=True)
        dest.write(dest_addr + end, b"\0")    # (whatever another thread wrote meanwhile)
        return end + 1
    if copy_type != COPY_RAW:
        raise OSError(errno.EINVAL, "Invalid copy type")
    dest.copy_from(src, src_addr, dest_addr, length, checked=True)
    return length


_STRING_PIECE = 1 << 16     # what copy_data_between_cages looks at, at a time, for a NUL


def _string_end(mem: Any, addr: int, length: int) -> int:
    """Where the string at `addr` ends (its NUL) within `length` bytes, read a piece at a
    time; ENAMETOOLONG past them, EFAULT past the memory."""
    at = 0
    while True:
        limit = min(length - 1 - at, _STRING_PIECE - 1)
        try:
            return at + len(mem.cstring(addr + at, limit))
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG or at + limit == length - 1:
                raise
        at += limit + 1


def copy_handler_table_to_cage(runtime: Any, caller: Any, src_id: int, target_id: int) -> int:
    """Give `target_id` the whole table of `src_id`; the caller must be allowed to touch
    both (else copying an unrelated cage's table would route calls into its grates), and
    to replace each of the target's entries (no grate's layer may be lost)."""
    src, target = _cage(runtime, src_id), _cage(runtime, target_id)
    _may_touch(runtime, caller, src)
    _may_touch(runtime, caller, target)
    with runtime.table_lock:
        for nr in range(NSYSCALLS):
            _check_replace(runtime, caller, target, nr,
                           (src.slot.owner(nr), src.slot.get(nr)[0]))
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


def sys_pin_fds(cage, target_id, count, fd1, fd2, fd3, *_):
    """pin_fds from a grate: until it unpins, on this thread, up to 3 fds of a cage it
    may act for are the files they are now. (A wasm grate judging a call by an fd reads
    /proc/self/fd/N and then passes the call down by number: a dup2 in between made the
    call act on a file it had not judged.)"""
    target = _cage(cage.runtime, target_id)
    _may_touch(cage.runtime, cage, target)
    if not 1 <= count <= 3:
        raise OSError(errno.EINVAL, "pin_fds takes 1 to 3 fds")
    target.fds.pin((fd1, fd2, fd3)[:count])
    return 0


def sys_unpin_fds(cage, target_id, *_):
    target = _cage(cage.runtime, target_id)
    _may_touch(cage.runtime, cage, target)
    target.fds.unpin()
    return 0


_nesting = threading.local()


def sys_make_threei_call(cage, block, *_):
    """make_threei_call from a grate: callnumber, self, target, then 6 (arg, cage) pairs.

    A call may make calls (a grate forwarding to one below), but not without end: a
    make_threei_call naming itself would otherwise recurse until the host's stack ran out.
    """
    nr, _self, target, *pairs = struct.unpack("<15q", cage.mem.read(block, 15 * 8))
    depth = getattr(_nesting, "depth", 0)
    if depth >= MAX_NESTING:
        raise OSError(errno.ELOOP, "make_threei_call nested too deeply")
    _nesting.depth = depth + 1
    try:
        return make_call(cage.runtime, cage, target, nr, pairs[0::2], pairs[1::2])
    finally:
        _nesting.depth = depth
