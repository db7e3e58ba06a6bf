"""Threads: clone(CLONE_THREAD), exit of one thread, thread ids.

A cage is a Linux process; its threads share its memory, fd table, signal handlers and
3i table, and each has an id from the same space as cage ids (counted against the
runtime's limit on cages, EAGAIN past it). The cage runtime (cage/thread.py) runs each
as an instance of the program over the cage's shared memory.
"""

from __future__ import annotations

import contextlib
import errno
import struct
from typing import NamedTuple

from lind.microvisor.abi import s32, u32

CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_VFORK, CLONE_THREAD, CLONE_SYSVSEM, CLONE_SETTLS = 0x4000, 0x10000, 0x40000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID = 0x100000, 0x200000
CLONE_DETACHED, CLONE_CHILD_SETTID = 0x400000, 0x1000000

# What a thread shares with its cage anyway (CLONE_DETACHED is ignored, as by Linux).
_SHARED = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
_THREAD_FLAGS = (_SHARED | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID
                 | CLONE_CHILD_SETTID | CLONE_DETACHED)
_START = struct.Struct("<II")   # what the guest's __clone leaves at the new stack's top
_TID = struct.Struct("<i")


class ThreadStart(NamedTuple):
    """What clone(CLONE_THREAD) asked for, read once from the caller's arguments (a
    tuple: a frozen dataclass cost more to make than the rest of clone's checks)."""

    func: int         # table index of the function to run, and its argument
    arg: int
    tls: int          # the thread pointer (musl's struct pthread)
    stack: int        # the stack pointer to start with
    clear_tid: int    # CLONE_CHILD_CLEARTID's word (0: none)


def sys_clone_thread(cage, flags: int, stack: int, ptid: int, ctid: int, tls: int) -> int:
    """clone(flags, stack, parent_tid, child_tid, tls) with CLONE_THREAD. The new thread
    starts in the guest's thread start with `stack` as its stack pointer; the function
    and argument it runs are the two words there. A thread must share what Linux requires
    it to (memory and signal handlers); flags Lind does not give a thread are EINVAL."""
    flags = u32(flags)
    if flags & ~_THREAD_FLAGS or flags & _SHARED != _SHARED:
        raise OSError(errno.EINVAL, "Invalid argument")
    stack, ptid, ctid = u32(stack), u32(ptid), u32(ctid)
    if not stack or stack % 16:
        raise OSError(errno.EINVAL, "Invalid argument")
    mem = cage.mem
    func, arg = _START.unpack(mem.read(stack, _START.size))
    start = ThreadStart(func=func, arg=arg, tls=u32(tls) if flags & CLONE_SETTLS else 0,
                        stack=stack, clear_tid=ctid if flags & CLONE_CHILD_CLEARTID else 0)
    set_ptid, set_ctid = flags & CLONE_PARENT_SETTID, flags & CLONE_CHILD_SETTID
    if set_ptid:
        mem.view(ptid, 4, writing=True)   # EFAULT before a thread exists
    if set_ctid:
        mem.view(ctid, 4, writing=True)
    thread = cage.new_thread(start)
    if set_ptid or set_ctid:
        tid = _TID.pack(thread.tid)
        # Checked above; if another thread unmapped it since, the thread starts anyway,
        # as on Linux (a registered thread that never ran would hold the cage's end
        # forever).
        for wanted, addr in ((set_ptid, ptid), (set_ctid, ctid)):
            if wanted:
                with contextlib.suppress(OSError):
                    mem.write(addr, tid)
    thread.start()
    return thread.tid


def sys_function_type(cage, index, *_):
    """The wasm type of the function at table index `index`, (parameters << 8) |
    results: x86-64 lets a program call a function through a pointer of another type
    (a start routine returning nothing), wasm traps, so the guest libc asks first."""
    shape = cage.function_type(u32(index))
    if shape is None:
        raise OSError(errno.EINVAL, "not a function")
    params, results = shape
    return min(params, 0xFF) << 8 | min(results, 0xFF)


def sys_exit(cage, status, *_):
    """exit(2): the calling thread ends (the cage with it, if it was the last)."""
    cage.exit_thread(s32(status) & 0xFF)
    return 0


def sys_gettid(cage, *_):
    return cage.current_tid()


_ROBUST_LIST_HEAD_SIZES = (12, 24)    # a wasm32 guest's, and x86_64's


def sys_set_robust_list(cage, head, length, *_):
    """Where the calling thread's robust-mutex list is (musl walks it itself when a
    thread exits; a cage's end ends every thread of it)."""
    if u32(length) not in _ROBUST_LIST_HEAD_SIZES:
        raise OSError(errno.EINVAL, "Invalid argument")
    cage.set_robust_list((u32(head), u32(length)))
    return 0


def sys_get_robust_list(cage, tid, head_ptr, length_ptr, *_):
    """The robust list of thread `tid` of the cage (0: the caller); ESRCH for others."""
    head, length = cage.robust_list_of(s32(tid) or cage.current_tid())
    cage.mem.write(u32(head_ptr), struct.pack("<I", head))
    cage.mem.write(u32(length_ptr), struct.pack("<I", length))
    return 0


def sys_set_tid_address(cage, addr, *_):
    """The calling thread's CLONE_CHILD_CLEARTID word (PR_GET_TID_ADDRESS reports it)."""
    cage.set_clear_tid_address(u32(addr))
    return cage.current_tid()
