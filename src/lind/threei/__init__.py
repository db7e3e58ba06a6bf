"""3i: the per-cage system-call table, and the trampoline every cage call enters.

A cage's `lind.syscall` import is bound to the C entry in `_accel` (or its ctypes
twin in `fallback` when no compiler was available at install time). Each cage has
a `Slot`: its table from syscall number to handler. The microvisor fills the table
at cage creation; grates replace entries. Nothing reaches the microvisor except
through a Slot.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from typing import Any

import wasmtime
from wasmtime import _bindings as wt

from lind.engine import stacks, wasmtime_engine


def _load_impl():
    """The C trampoline unless it was not built or LIND_TRAMPOLINE=ctypes asks otherwise."""
    if os.environ.get("LIND_TRAMPOLINE") != "ctypes":
        try:
            from lind.threei import _accel

            return _accel, True
        except ImportError:  # no compiler at install time
            pass
    from lind.threei import fallback

    return fallback, False


_impl, ACCELERATED = _load_impl()

Memory = _impl.Memory
Slot = _impl.Slot
SlotRef = _impl.SlotRef   # the Slot an instance's calls go to (its imports' env)
MaskCell = _impl.MaskCell  # a thread's blocked signals, which the trampoline may change
JumpPoints = _impl.JumpPoints   # a cage's setjmp jump points, by the token in a jmp_buf
Unwinder = _impl.Unwinder  # an instance's Asyncify state; setjmp/longjmp/fork run in C by it
Grate = _impl.Grate
Mounts = _impl.Mounts     # a file system's mounts, for the opens the trampoline makes
RangeShare = _impl.RangeShare   # a process tree's count of mprotect ranges (Memory.count_ranges_in)
GrateHandler = _impl.GrateHandler
NSYSCALLS: int = _impl.NSYSCALLS
FAST_NONE: int = _impl.FAST_NONE
FAST_GETPID: int = _impl.FAST_GETPID
FAST_GETPPID: int = _impl.FAST_GETPPID
FAST_GETUID: int = _impl.FAST_GETUID
FAST_GETEUID: int = _impl.FAST_GETEUID
FAST_GETGID: int = _impl.FAST_GETGID
FAST_GETEGID: int = _impl.FAST_GETEGID
FAST_CLOSE: int = _impl.FAST_CLOSE
FAST_READ: int = _impl.FAST_READ
FAST_WRITE: int = _impl.FAST_WRITE
FAST_PREAD: int = _impl.FAST_PREAD
FAST_PWRITE: int = _impl.FAST_PWRITE
FAST_LSEEK: int = _impl.FAST_LSEEK
FAST_GRATE: int = _impl.FAST_GRATE
FAST_THREEI_CALL: int = _impl.FAST_THREEI_CALL
FAST_SENDTO: int = _impl.FAST_SENDTO
FAST_RECVFROM: int = _impl.FAST_RECVFROM
FAST_EPOLL_PWAIT: int = _impl.FAST_EPOLL_PWAIT
FAST_FUTEX: int = _impl.FAST_FUTEX
FAST_OPEN: int = _impl.FAST_OPEN
FAST_OPENAT: int = _impl.FAST_OPENAT
FAST_FSTAT: int = _impl.FAST_FSTAT
FAST_NEWFSTATAT: int = _impl.FAST_NEWFSTATAT
FAST_SIGPROCMASK: int = _impl.FAST_SIGPROCMASK
FAST_READV: int = _impl.FAST_READV
FAST_WRITEV: int = _impl.FAST_WRITEV
FAST_CLOCK_GETTIME: int = _impl.FAST_CLOCK_GETTIME
FAST_GETRANDOM: int = _impl.FAST_GETRANDOM
FAST_NANOSLEEP: int = _impl.FAST_NANOSLEEP
FAST_CLOCK_NANOSLEEP: int = _impl.FAST_CLOCK_NANOSLEEP
FAST_SETJMP: int = _impl.FAST_SETJMP
FAST_LONGJMP: int = _impl.FAST_LONGJMP
FAST_FORK: int = _impl.FAST_FORK
FAST_IOCTL: int = _impl.FAST_IOCTL
FAST_POLL: int = _impl.FAST_POLL
FAST_ACCESS: int = _impl.FAST_ACCESS
FAST_FACCESSAT: int = _impl.FAST_FACCESSAT
FAST_READLINK: int = _impl.FAST_READLINK
FAST_READLINKAT: int = _impl.FAST_READLINKAT
FAST_PSELECT6: int = _impl.FAST_PSELECT6
FAST_UNLINK: int = _impl.FAST_UNLINK
FAST_RMDIR: int = _impl.FAST_RMDIR
FAST_UNLINKAT: int = _impl.FAST_UNLINKAT
FAST_RENAME: int = _impl.FAST_RENAME
FAST_RENAMEAT: int = _impl.FAST_RENAMEAT
FUTEX_WOKEN: int = _impl.FUTEX_WOKEN                      # Slot.futex_wait's outcomes
FUTEX_WAKE_FD_WRITTEN: int = _impl.FUTEX_WAKE_FD_WRITTEN  # (drain the fd, then decide)
IO_PLAIN: int = _impl.IO_PLAIN      # how a mirrored fd's read or write may block
IO_PIPE: int = _impl.IO_PIPE
IO_NONBLOCKING: int = _impl.IO_NONBLOCKING
IO_TTY: int = _impl.IO_TTY
DESC_BLOCKING: int = _impl.DESC_BLOCKING        # a description's reads and writes
DESC_NONBLOCKING: int = _impl.DESC_NONBLOCKING  # wait in the trampoline, fail EAGAIN, or
DESC_PYTHON: int = _impl.DESC_PYTHON            # go to the handler (a timeout to keep)
DESCRIPTIONS: int = _impl.DESCRIPTIONS
set_description = _impl.set_description
BLOCKING_READS: int = _impl.BLOCKING_READS     # a pipe's waiting reads are one blocking call
set_read_twin = _impl.set_read_twin            # (of its twin, set here) the trampoline cuts short
refuse_calls_here = _impl.refuse_calls_here   # a start function runs: calls are ENOSYS
call_export = _impl.call_export   # a wasm export of i32 arguments, called without the GIL
calls_refused_here = _impl.calls_refused_here
stop_this_thread = _impl.stop_this_thread   # a thread's exit(2): its call ends its instance
use_thread_wake = _impl.use_thread_wake     # a thread's own wake eventfd for its waits
use_thread_signals = _impl.use_thread_signals   # the mask of the cage thread it runs
set_signal_settler = _impl.set_signal_settler   # what settles signals after a mask change
thread_done = _impl.thread_done             # its cage thread ended: its host thread is free
room_for_wasm = _impl.room_for_wasm     # a Store entered afresh here finds its stack
act_as = _impl.act_as                       # act for a cage of this euid: its permission checks
act_for_lind = _impl.act_for_lind           # Lind's own work: its user's permission overrides
checks_back = _impl.checks_back             # what act_as / act_for_lind found, again
watch_epochs = _impl.watch_epochs           # a store's epoch callback: quiet ticks stay in C
rearm_epoch = _impl.rearm_epoch             # its next tick interrupts it again
new_wake_fd = _impl.new_wake_fd             # a wake eventfd, with the word futex waits watch
signal_wake_fd = _impl.signal_wake_fd       # end the waits polling or watching it
drain_wake_fd = _impl.drain_wake_fd         # quiet again (before looking at what woke)
take_sleep_deadline = _impl.take_sleep_deadline   # where a sleep the trampoline began ends
open_in_root = _impl.open_in_root           # openat2(RESOLVE_IN_ROOT): every open of a cage
file_mode = _impl.file_mode                 # fstat(fd).st_mode
close_host_fd = _impl.close_host_fd         # a cage's host fd, once no fast path uses it
host_fds_take = _impl.host_fds_take         # the process's budget of host fds for
host_fds_give = _impl.host_fds_give         # cages' files (limits.host_fds), shared
host_fds_set_limit = _impl.host_fds_set_limit   # with the opens the trampoline makes
host_fds_held = _impl.host_fds_held
FdShare = _impl.FdShare   # one process tree's part of that budget
handler_in_use = _impl.handler_in_use       # a thread holds this GrateHandler in a call
global_i32 = _impl.global_i32               # numeric globals by address (a store's
set_global_i32 = _impl.set_global_i32       # context and a wasmtime_global_t), as fork
copy_global = _impl.copy_global             # copies them and a thread's start sets them


@contextlib.contextmanager
def as_lind():
    """Lind's own work done on a cage's host thread in the middle of the cage's call (a
    report the operator asked a grate for): with the overrides of Lind's user, then the
    permission checks the thread held before, for the rest of the call."""
    before = act_for_lind()
    try:
        yield
    finally:
        checks_back(before)


@contextlib.contextmanager
def acting_as(euid: int):
    """A call made for a cage of effective uid `euid` (make_threei_call's): its
    permission checks, then what the thread held before (a thread of the embedding
    program keeps what it held)."""
    before = act_as(euid)
    try:
        yield
    finally:
        checks_back(before)


_SYSCALL_TYPE = wasmtime.FuncType(
    [wasmtime.ValType.i32()] + [wasmtime.ValType.i64()] * 6, [wasmtime.ValType.i64()]
)
_STARTUP_TYPE = wasmtime.FuncType([wasmtime.ValType.i32()] * 2, [wasmtime.ValType.i32()])
#: lind.* imports through which crt1 reads argv and the environment (by their index)
_STARTUP_IMPORTS = (b"args_sizes_get", b"args_get", b"environ_sizes_get", b"environ_get")
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()
_warned = False

if ACCELERATED:
    _impl.init(
        ctypes.cast(wt._wasmtime_memory_data_size, ctypes.c_void_p).value,
        ctypes.cast(wt._wasmtime_memory_data, ctypes.c_void_p).value,
        ctypes.cast(wt._wasmtime_sharedmemory_data_size, ctypes.c_void_p).value,
        ctypes.cast(wt._wasmtime_sharedmemory_data, ctypes.c_void_p).value,
        ctypes.cast(wt._wasmtime_trap_new, ctypes.c_void_p).value,
        ctypes.cast(wt._wasmtime_func_call_unchecked, ctypes.c_void_p).value,
        ctypes.cast(wt._wasmtime_error_delete, ctypes.c_void_p).value,
        ctypes.cast(wt._wasm_trap_delete, ctypes.c_void_p).value,
        ctypes.cast(wt._wasmtime_global_get, ctypes.c_void_p).value,
        ctypes.cast(wt._wasmtime_global_set, ctypes.c_void_p).value,
        ctypes.cast(wt._wasmtime_store_epoch_deadline_callback, ctypes.c_void_p).value,
        ctypes.cast(wt._wasmtime_context_set_epoch_deadline, ctypes.c_void_p).value,
        ctypes.sizeof(wt.wasmtime_val_t),
        ctypes.sizeof(wt.wasmtime_global_t),
    )
    _ENTRY = ctypes.cast(_impl.entry_address(), wt.wasmtime_func_unchecked_callback_t)
    _STARTUP_ENTRY = ctypes.cast(_impl.startup_entry_address(),
                                 wt.wasmtime_func_unchecked_callback_t)
else:
    _ENTRY = _impl.ENTRY
    _STARTUP_ENTRY = _impl.STARTUP_ENTRY

# What a call into a grate's worker (a Store entered afresh) must find free on the host
# stack: Wasmtime lets each Store recurse WASM_CALL_STACK below where the thread entered it.
_impl.set_room_for_wasm(stacks.ROOM_FOR_WASM)
if ACCELERATED:     # a fork's child is woken once the forking thread lets Python's lock go
    stacks.set_wakes(_impl.Wake, _impl.hand_over_after_fork)

# Lind's engine now, so that Wasmtime's fault handlers go on top of the trampoline's
# (installed when _accel was imported): the order keep_fault_order then keeps.
wasmtime_engine.engine()
_impl.note_fault_order()
keep_fault_order = _impl.keep_fault_order   # before handlers installed since (each start, tick)


def _say_fallback_once() -> None:
    global _warned
    if not _warned and os.environ.get("LIND_TRAMPOLINE") != "ctypes":
        _warned = True
        print("lind: C trampoline not available, using the slower ctypes path", file=sys.stderr)


def define_syscall_import(linker: wasmtime.Linker, slot: Any) -> Any:
    """Bind `lind.syscall`, `lind.syscall_unwind` and crt1's start-up imports in
    `linker` to the trampoline for `slot`, through the SlotRef returned, which must live
    as long as the instance (and may later name another slot: an instance taken over by
    another cage).

    The first two differ only for the compiler: Asyncify instruments callers of the
    second (fork, setjmp), so those calls may unwind the cage's stack. The start-up
    imports give argv and the environment (Slot.set_startup_strings) to the program's
    _start; each is told which it is by the two low bits of its env word.
    """
    if not ACCELERATED:
        _say_fallback_once()
    ref = SlotRef(slot)
    module = b"lind"
    imports = [(name, _SYSCALL_TYPE, _ENTRY, ref.address)
               for name in (b"syscall", b"syscall_unwind")]
    imports += [(name, _STARTUP_TYPE, _STARTUP_ENTRY, ref.address | index)
                for index, name in enumerate(_STARTUP_IMPORTS)]
    for name, kind, entry, env in imports:
        err = wt.wasmtime_linker_define_func_unchecked(
            linker.ptr(), module, len(module), name, len(name), kind.ptr(), entry,
            ctypes.c_void_p(env), _NO_FINALIZER)
        if err:
            raise wasmtime.WasmtimeError._from_ptr(err)
    return ref


def release(slot: Any) -> None:
    """Forget a slot once its cage is gone."""
    _impl.forget(slot)
