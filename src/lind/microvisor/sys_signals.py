"""Signals: dispositions, masks, pending sets, and handing caught signals to the guest.

Generation and delivery are split as on Linux. A signal sent to a cage (kill, tkill,
SIGPIPE, SIGCHLD, SIGALRM) is dropped if ignored and not blocked, ends the cage if its
default action does, and otherwise becomes pending. A pending signal that is caught
and not blocked is delivered by the guest's libc, in guest code: the microvisor sets
the guest word the libc registered (call 1022) and wakes the cage's blocking call, if
any; the libc, at the return of its current system call (or from the epoch tick, in
code that makes none), takes the signal (1023), runs the handler and restores the mask
(rt_sigprocmask). See guest/src/lind/signals.c.

A blocking call interrupted this way answers -ERESTARTSYS when the handler has
SA_RESTART and the call may be restarted (the guest re-issues it), -EINTR otherwise.

All signal state of all cages is guarded by one lock: senders run on other cages'
threads and on the timer thread. It is held briefly and never while blocking.
"""

from __future__ import annotations

import contextlib
import errno
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from lind.microvisor import sys_futex, sys_time
from lind.microvisor.abi import s32, u32

NSIG = 65
SIGKILL, SIGCHLD, SIGSTOP = 9, 17, 19
SIG_DFL, SIG_IGN = 0, 1
SA_SIGINFO, SA_RESTART, SA_NODEFER, SA_RESETHAND = 4, 0x10000000, 0x40000000, 0x80000000
SI_USER, SI_KERNEL, SI_TKILL = 0, 0x80, -6
SEGV_MAPERR = 1      # the code of a fault's siginfo (also FPE_INTDIV, ILL_ILLOPC, BUS_ADRALN)
CLD_EXITED, CLD_KILLED = 1, 2
ERESTARTSYS = 512   # Linux's internal "restart me": the guest libc re-issues the call
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
# Lind-private calls of the guest libc (guest/README.md).
SIGNAL_WORD, NEXT_SIGNAL = 1022, 1023

# Ignored by default: SIGCHLD, SIGCONT, SIGURG, SIGWINCH, and (no job control) the
# signals whose default action is to stop: SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU.
_IGNORED_BY_DEFAULT = {SIGCHLD, 18, 23, 28, SIGSTOP, 20, 21, 22}
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
# struct k_sigaction of a wasm32 guest: handler, flags, restorer, mask[2].
_KSIGACTION = struct.Struct("<IIIQ")
# What next_signal writes: signo, handler, flags, reserved, mask to restore; then siginfo.
_SIGNAL_FRAME = struct.Struct("<iIIIQ")
# siginfo_t's head (musl's 32-bit layout): signo, errno, code, pid, uid, status; 128 bytes.
_SIGINFO = struct.Struct("<iiiiIi")
SIGINFO_SIZE = 128

_lock = threading.Lock()


def _bit(sig: int) -> int:
    return 1 << (sig - 1)


def _lowest(bits: int) -> int:
    return (bits & -bits).bit_length()


@dataclass(frozen=True)
class Action:
    """One signal's disposition, as rt_sigaction stores it."""

    handler: int = SIG_DFL
    flags: int = 0
    mask: int = 0


_DEFAULT = Action()


class SignalState:
    """A cage's signals: what fork copies (actions, mask) and what it does not."""

    def __init__(self, parent: SignalState | None = None) -> None:
        self.actions: dict[int, Action] = dict(parent.actions) if parent else {}
        self.mask = parent.mask if parent else 0
        self.pending = 0                  # bit sig-1: generated, not yet delivered
        self.info: dict[int, bytes] = {}  # siginfo of each pending signal (not queued)
        self.mask_after_suspend: int | None = None   # sigsuspend's caller's mask
        # Guest address of the libc's pending flag: the child of a fork has the same
        # memory layout, so it inherits it; exec and the end of the cage clear it.
        self.word = parent.word if parent else 0
        self.ready = False                # a caught, unblocked signal awaits the guest
        self.waiting_on: set[threading.Condition] = set()   # blocked calls' conditions
        self.waiting_for = 0              # sigtimedwait's set: these wake it too
        # Called (without the lock) when a signal becomes pending: the cage's signalfds.
        self.watchers: list[Callable[[], None]] = []
        # sigaltstack: (base, size), or None when disabled; fork keeps it, exec drops it.
        self.altstack: tuple[int, int] | None = parent.altstack if parent else None
        self.altstack_autodisarm = parent.altstack_autodisarm if parent else False

    def action(self, sig: int) -> Action:
        if sig in (SIGKILL, SIGSTOP):
            return _DEFAULT
        return self.actions.get(sig, _DEFAULT)


def _ignored(sig: int, action: Action) -> bool:
    if action.handler == SIG_IGN:
        return True
    return action.handler == SIG_DFL and sig in _IGNORED_BY_DEFAULT


def _settle(cage) -> int:
    """With the lock held: act on pending signals that are not blocked.

    Ignored ones are dropped; a caught one stays for the guest (and the guest word says
    so). Returns the signal whose default action ends the cage, or 0.
    """
    state = cage.signals
    unblocked = state.pending & ~state.mask
    fatal = 0
    while unblocked:
        sig = _lowest(unblocked)
        unblocked &= ~_bit(sig)
        action = state.action(sig)
        if _ignored(sig, action):
            state.pending &= ~_bit(sig)
            state.info.pop(sig, None)
        elif action.handler == SIG_DFL and not fatal:
            fatal = sig
    state.ready = bool(state.pending & ~state.mask) and not fatal
    if state.word:
        cage.mem.write(state.word, struct.pack("<i", state.ready))
    return fatal


def _act(cage, fatal: int, waiting: tuple[threading.Condition, ...], *,
         own_thread: bool) -> None:
    """After _settle, without the lock: end the cage, or wake its blocked calls."""
    if fatal:
        if own_thread:
            cage.kill(fatal)
        else:
            cage.terminate(fatal)
    else:
        for cond in waiting:
            with cond:
                cond.notify_all()
        if cage.signals.ready:   # a futex or host-fd wait ends with EINTR, as on Linux
            sys_futex.interrupt(cage)
            cage.slot.wake()


@contextlib.contextmanager
def blocked_on(cage, cond: threading.Condition) -> Iterator[None]:
    """While a call of one of the cage's threads waits on `cond`: a signal wakes it."""
    with _lock:
        cage.signals.waiting_on.add(cond)
    try:
        yield
    finally:
        with _lock:
            cage.signals.waiting_on.discard(cond)


def wake_blocked(cage) -> None:
    """Wake every call of the cage that waits on a condition (the cage is stopping)."""
    with _lock:
        waiting = tuple(cage.signals.waiting_on)
    for cond in waiting:
        with cond:
            cond.notify_all()


def settle(cage) -> None:
    """On the cage's thread: re-examine pending signals after its mask or its
    dispositions changed."""
    with _lock:
        fatal = _settle(cage)
        waiting = tuple(cage.signals.waiting_on) if cage.signals.ready else ()
    _act(cage, fatal, waiting, own_thread=True)


def siginfo(sig: int, code: int, pid: int = 0, uid: int = 0, status: int = 0) -> bytes:
    return _SIGINFO.pack(sig, 0, code, pid, uid, status).ljust(SIGINFO_SIZE, b"\0")


def child_info(child) -> bytes:
    """SIGCHLD's siginfo for a child that ended: how, and its exit code or signal."""
    status = child.status or 0
    if status & 0x7F:
        return siginfo(SIGCHLD, CLD_KILLED, child.id, child.ids[0], status & 0x7F)
    return siginfo(SIGCHLD, CLD_EXITED, child.id, child.ids[0], (status >> 8) & 0xFF)


def send(cage, sig: int, info: bytes | None = None, *, own_thread: bool) -> None:
    """Generate `sig` for `cage`; `info` is its siginfo (default: sent by the kernel).

    `own_thread` says the caller runs on the cage's thread (inside one of its calls),
    so a fatal signal can end it at the return of that call.
    """
    if sig == 0:
        return
    with _lock:
        state = cage.signals
        bit = _bit(sig)
        if not state.mask & bit and _ignored(sig, state.action(sig)):
            return
        if not state.pending & bit:   # standard signals are not queued
            state.pending |= bit
            state.info[sig] = info or siginfo(sig, SI_KERNEL)
        fatal = _settle(cage)
        waiting = tuple(state.waiting_on) if state.ready or state.waiting_for & bit else ()
        watchers = list(state.watchers)
    _act(cage, fatal, waiting, own_thread=own_thread)
    for watcher in watchers:
        watcher()


def take(cage, wanted: int) -> tuple[int, bytes] | None:
    """Dequeue the lowest pending signal of the set `wanted` and its siginfo, without
    running its handler (signalfd reads); None if none is pending."""
    with _lock:
        state = cage.signals
        taken = state.pending & wanted
        if not taken:
            return None
        sig = _lowest(taken)
        state.pending &= ~_bit(sig)
        found = sig, state.info.pop(sig)
    settle(cage)
    return found


def unpack_siginfo(info: bytes) -> tuple[int, int, int, int, int, int]:
    """(signo, errno, code, pid, uid, status) of a siginfo this module packed."""
    return _SIGINFO.unpack_from(info)


def catches(cage, sig: int) -> bool:
    """Whether a fault raising `sig` would run a handler of the cage (not blocked, not
    ignored, not the default: those end it, see force)."""
    with _lock:
        state = cage.signals
        return (not state.mask & _bit(sig)
                and state.action(sig).handler not in (SIG_DFL, SIG_IGN))


def force(cage, sig: int, info: bytes, *, own_thread: bool) -> None:
    """A signal the cage's own fault raised (SIGSEGV at its null page). As the kernel's
    force_sig: blocked or ignored, it is unblocked and set to its default action, which
    ends the cage; a handler the cage installed runs."""
    with _lock:
        state = cage.signals
        action = state.action(sig)
        if state.mask & _bit(sig) or action.handler == SIG_IGN:
            state.actions[sig] = replace(action, handler=SIG_DFL)
            state.mask &= ~_bit(sig)
    send(cage, sig, info, own_thread=own_thread)


def interruption(cage, restartable: bool) -> int:
    """The errno a blocking call answers now, because a caught signal awaits the guest
    (0: none). Its handler is the first the guest will run: SA_RESTART decides, for a
    guest whose libc registered its word (only such a libc restarts calls)."""
    state = cage.signals
    if not state.ready:
        return 0
    with _lock:
        deliverable = state.pending & ~state.mask
        if not deliverable:
            return 0
        restarts = state.word and state.action(_lowest(deliverable)).flags & SA_RESTART
    return ERESTARTSYS if restartable and restarts else errno.EINTR


def forget_memory(cage) -> None:
    """The cage's memory is going (exec, end): stop writing the guest word into it."""
    with _lock:
        cage.signals.word = 0


def exec_reset(cage) -> None:
    """exec: caught signals go back to their default action (ignored stay ignored);
    mask and pending signals are kept, and the new program registers its own word."""
    with _lock:
        state = cage.signals
        state.actions = {sig: a for sig, a in state.actions.items() if a.handler == SIG_IGN}
        state.word = 0
        state.mask_after_suspend = None
        state.altstack = None
        state.altstack_autodisarm = False
    settle(cage)


# ------------------------------------------------------------------- system calls

def _signo(sig: int) -> int:
    sig = s32(sig)
    if not 1 <= sig < NSIG:
        raise OSError(errno.EINVAL, "Invalid argument")
    return sig


def _check_sigset_size(size: int) -> None:
    if size != 8:
        raise OSError(errno.EINVAL, "Invalid argument")


def _read_mask(cage, addr: int) -> int:
    (mask,) = struct.unpack("<Q", cage.mem.read(addr, 8))
    return mask & ~UNBLOCKABLE


def sys_rt_sigaction(cage, sig, act, oact, sigsetsize, *_):
    sig = _signo(sig)
    _check_sigset_size(sigsetsize)
    new = None
    if act:
        if sig in (SIGKILL, SIGSTOP):
            raise OSError(errno.EINVAL, "Invalid argument")
        handler, flags, _, mask = _KSIGACTION.unpack(cage.mem.read(act, _KSIGACTION.size))
        new = Action(handler, flags, mask & ~UNBLOCKABLE)
    with _lock:
        state = cage.signals
        old = state.action(sig)
        if new is not None:
            state.actions[sig] = new
            if _ignored(sig, new):   # POSIX: discarded, blocked or not
                state.pending &= ~_bit(sig)
                state.info.pop(sig, None)
    if oact:
        cage.mem.write(oact, _KSIGACTION.pack(old.handler, old.flags, 0, old.mask))
    settle(cage)
    return 0


def sys_rt_sigprocmask(cage, how, new, old, sigsetsize, *_):
    """The calling thread's mask. A cage's signals are delivered to its first thread, so
    that thread's mask is the one that decides; another thread's is its own record (as
    musl's pthread_create and thread exit block signals around them, in that thread)."""
    _check_sigset_size(sigsetsize)
    how = s32(how)
    mask = _read_mask(cage, new) if new else None
    if mask is not None and how not in (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK):
        raise OSError(errno.EINVAL, "Invalid argument")
    thread = cage.calling_thread()
    with _lock:
        holder = cage.signals if thread is None else thread
        previous = holder.mask
        if mask is not None:
            holder.mask = {SIG_BLOCK: previous | mask, SIG_UNBLOCK: previous & ~mask,
                           SIG_SETMASK: mask}[how]
    if old:
        cage.mem.write(old, struct.pack("<Q", previous))
    if thread is None:
        settle(cage)
    return 0


def sys_rt_sigpending(cage, out, sigsetsize, *_):
    if sigsetsize > 8:
        raise OSError(errno.EINVAL, "Invalid argument")
    with _lock:
        pending = cage.signals.pending & cage.signals.mask
    cage.mem.write(out, pending.to_bytes(8, "little")[:sigsetsize])
    return 0


def sys_pause(cage, *_):
    """Answers -EINTR once a handler is to run (a fatal signal ends the cage instead)."""
    cage.wait_for_signal()


def _wait_under(cage, mask_addr: int, sigsetsize: int) -> bool:
    """Put the mask at `mask_addr` in place for a wait; the caller's comes back after the
    handler that ends it (next_signal), or when the wait ends otherwise. Only the first
    thread's mask decides delivery: another thread's wait leaves it alone (False)."""
    _check_sigset_size(sigsetsize)
    temporary = _read_mask(cage, mask_addr)
    if cage.calling_thread() is not None:
        return False
    with _lock:
        state = cage.signals
        state.mask_after_suspend = state.mask
        state.mask = temporary
    settle(cage)
    return True


def sys_rt_sigsuspend(cage, mask, sigsetsize, *_):
    """pause with `mask`; the handler then returns to the caller's own mask."""
    _wait_under(cage, mask, sigsetsize)
    cage.wait_for_signal()


@contextlib.contextmanager
def mask_while_waiting(cage, mask_addr: int, sigsetsize: int) -> Iterator[None]:
    """ppoll/pselect6 with a mask: wait under it, as sigsuspend does. The caller's mask
    comes back at the end, or after the handler when the wait was interrupted."""
    if not mask_addr:
        yield
        return
    applied = _wait_under(cage, mask_addr, sigsetsize)
    state = cage.signals
    interrupted = False
    try:
        yield
    except OSError as exc:
        interrupted = exc.errno == errno.EINTR
        raise
    finally:
        if applied and not interrupted:
            with _lock:
                if state.mask_after_suspend is not None:
                    state.mask = state.mask_after_suspend
                    state.mask_after_suspend = None
            settle(cage)


def sys_signal_word(cage, addr, *_):
    """The guest libc says where its pending flag is (0: nowhere)."""
    if addr:
        cage.mem.view(addr, 4)
    with _lock:
        cage.signals.word = addr
    settle(cage)
    return 0


def sys_next_signal(cage, frame, *_):
    """Hand the lowest caught, unblocked pending signal to the guest, masks applied.

    Only the cage's own thread gets one: a grate's handler workers share its memory and
    see its pending word, but a signal handler must not run inside another cage's call.
    """
    if threading.current_thread() is not cage.thread:
        return 0
    cage.mem.view(frame, _SIGNAL_FRAME.size + SIGINFO_SIZE)
    with _lock:
        state = cage.signals
        deliverable = state.pending & ~state.mask
        if not deliverable:
            _settle(cage)
            return 0
        sig = _lowest(deliverable)
        state.pending &= ~_bit(sig)
        info = state.info.pop(sig)
        action = state.action(sig)
        restore = state.mask if state.mask_after_suspend is None else state.mask_after_suspend
        state.mask_after_suspend = None
        state.mask |= action.mask | (0 if action.flags & SA_NODEFER else _bit(sig))
        state.mask &= ~UNBLOCKABLE
        if action.flags & SA_RESETHAND:
            state.actions[sig] = replace(action, handler=SIG_DFL)
        _settle(cage)
    flags = action.flags
    arity = cage.function_arity(action.handler)
    if arity in (1, 3):      # Linux passes three arguments whatever the handler's C type;
        flags = flags | SA_SIGINFO if arity == 3 else flags & ~SA_SIGINFO   # wasm must match it
    # SA_ONSTACK: where the guest moves its shadow stack for the handler (0: it stays).
    stack = state.altstack
    top = 0
    if flags & SA_ONSTACK and stack is not None and not on_altstack(cage, cage.stack_pointer()):
        top = stack[0] + stack[1]
    cage.mem.write(frame, _SIGNAL_FRAME.pack(sig, action.handler, flags, top, restore) + info)
    return sig


def _targets(cage, pid: int) -> list:
    """The cages kill(pid) reaches, all within the caller's own process tree."""
    tree = cage.runtime.tree(cage)
    if pid > 0:
        return [c for c in tree if c.id == pid]
    if pid == 0:
        return [c for c in tree if c.pgid == cage.pgid]
    if pid == -1:
        return [c for c in tree if c.id not in (cage.id, cage.init_id)]
    return [c for c in tree if c.pgid == -pid]


def _kill(cage, pid: int, sig: int, code: int) -> int:
    if not 0 <= sig < NSIG:
        raise OSError(errno.EINVAL, "Invalid argument")
    targets = _targets(cage, pid)
    if not targets:
        raise OSError(errno.ESRCH, "No such process")
    info = siginfo(sig, code, cage.id, cage.ids[0])
    for target in targets:
        send(target, sig, info, own_thread=target is cage)
    return 0


def sys_kill(cage, pid, sig, *_):
    return _kill(cage, s32(pid), s32(sig), SI_USER)


def sys_tkill(cage, tid, sig, *_):
    """To one of the cage's threads: the signal is the cage's (its threads share one
    pending set and mask for now)."""
    if s32(tid) != cage.id and s32(tid) not in cage.threads:
        raise OSError(errno.ESRCH, "No such process")
    return _kill(cage, cage.id, s32(sig), SI_TKILL)


def sys_tgkill(cage, tgid, tid, sig, *_):
    if s32(tgid) != cage.id:
        raise OSError(errno.ESRCH, "No such process")
    return sys_tkill(cage, tid, sig)


def own_siginfo(cage, sig: int) -> bytes:
    """siginfo of a signal a cage's own call caused (SIGPIPE): as if it sent it itself."""
    return siginfo(sig, SI_USER, cage.id, cage.ids[0])



# -------------------------------------------------- waiting for signals, queueing

def sys_rt_sigtimedwait(cage, which, info, timeout, sigsetsize, *_):
    """Take a pending signal of the set without running its handler; wait for one up to
    `timeout` (EAGAIN), or until another caught signal is to be handled (EINTR). While it
    waits the set is blocked, so that a signal of it stays pending for the taking."""
    _check_sigset_size(sigsetsize)
    wanted = _read_mask(cage, which)
    deadline = time.monotonic_ns() + sys_time.read_timespec(cage, timeout) if timeout else None
    if info:
        cage.mem.view(info, SIGINFO_SIZE)
    state = cage.signals
    with _lock:
        saved = state.mask
        state.mask |= wanted
        state.waiting_for = wanted
    nap = threading.Condition()
    try:
        with nap:
            while True:
                with _lock:
                    taken = state.pending & wanted
                    if taken:
                        sig = _lowest(taken)
                        state.pending &= ~_bit(sig)
                        data = state.info.pop(sig)
                        break
                left = None if deadline is None else deadline - time.monotonic_ns()
                if left is not None and left <= 0:
                    raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
                cage.block_on(nap, None if left is None else left / 1e9, restartable=False)
    finally:
        with _lock:
            state.mask = saved
            state.waiting_for = 0
        settle(cage)
    if info:
        cage.mem.write(info, data)
    return sig


def _queue(cage, target, sig: int, info_addr: int) -> int:
    raw = bytearray(cage.mem.read(info_addr, SIGINFO_SIZE))
    (code,) = struct.unpack_from("<i", raw, 8)
    # As Linux: only codes a process may forge (negative, not tkill's) to another one.
    if (code >= 0 or code == SI_TKILL) and target is not cage:
        raise OSError(errno.EPERM, "Operation not permitted")
    struct.pack_into("<i", raw, 0, sig)
    send(target, sig, bytes(raw), own_thread=target is cage)
    return 0


def sys_rt_sigqueueinfo(cage, pid, sig, info, *_):
    sig = s32(sig)
    if not 0 <= sig < NSIG:
        raise OSError(errno.EINVAL, "Invalid argument")
    targets = _targets(cage, s32(pid)) if s32(pid) > 0 else []
    if not targets:
        raise OSError(errno.ESRCH, "No such process")
    return _queue(cage, targets[0], sig, info)


def sys_rt_tgsigqueueinfo(cage, tgid, tid, sig, info, *_):
    if s32(tgid) != s32(tid):        # a cage is one thread: its tid is its pid
        raise OSError(errno.ESRCH, "No such process")
    return sys_rt_sigqueueinfo(cage, tgid, sig, info)


# ------------------------------------------------------- alternate signal stack

SS_ONSTACK, SS_DISABLE, SS_AUTODISARM = 1, 2, 1 << 31
MINSIGSTKSZ = 2048
SA_ONSTACK = 0x08000000
_STACK_T = struct.Struct("<III")      # a wasm32 guest's stack_t: sp, flags, size


def on_altstack(cage, sp: int) -> bool:
    stack = cage.signals.altstack
    return stack is not None and stack[0] < sp <= stack[0] + stack[1]


def sys_sigaltstack(cage, ss, old, sp, *_):
    """The alternate stack handlers with SA_ONSTACK run on (the guest libc moves its
    shadow stack there, see guest/src/lind/signals.c). The guest libc passes its stack
    pointer as a third argument (0 from a raw call: then the exported one, if any)."""
    state = cage.signals
    on_stack = on_altstack(cage, u32(sp) or cage.stack_pointer())
    new = None
    if ss:
        sp, flags, size = _STACK_T.unpack(cage.mem.read(ss, _STACK_T.size))
        mode = flags & ~SS_AUTODISARM
        if mode not in (0, SS_ONSTACK, SS_DISABLE):
            raise OSError(errno.EINVAL, "Invalid argument")
        if on_stack:
            raise OSError(errno.EPERM, "Operation not permitted")
        if mode == SS_DISABLE:
            new = (None, False)
        else:
            if size < MINSIGSTKSZ:
                raise OSError(errno.ENOMEM, "Cannot allocate memory")
            new = ((sp, size), bool(flags & SS_AUTODISARM))
    if old:
        stack = state.altstack
        if stack is None:
            report = _STACK_T.pack(0, SS_DISABLE, 0)
        else:
            flags = (SS_ONSTACK if on_stack else 0) | (
                SS_AUTODISARM if state.altstack_autodisarm else 0)
            report = _STACK_T.pack(stack[0], flags, stack[1])
        cage.mem.write(old, report)
    if new is not None:
        state.altstack, state.altstack_autodisarm = new
    return 0
