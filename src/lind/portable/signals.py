"""Signals between the cages of a run on the cooperative runtime. As on the threaded
runtime, handlers run in the cage's own code (guest src/lind/signals.c): the runtime
keeps each process's actions, mask and pending signals, raises the words the guest's
libc said it reads (signal_word) while a caught signal can be taken, and hands the
lowest one over on next_signal. A call waiting when a caught signal arrives ends with
EINTR, or -ERESTARTSYS (the guest runs the handler and makes the call again) under
SA_RESTART where Linux restarts it. Default actions end the process (a core dump's as
its signal), the ignored-by-default ones and the stop signals are dropped (no job
control here). A signal sent to a process that blocks it waits until unblocked."""

from __future__ import annotations

import contextlib
import errno
import struct
import time
from collections import deque

from lind.microvisor import abi

SIGKILL, SIGPIPE, SIGALRM, SIGCHLD, SIGSTOP = 9, 13, 14, 17, 19
SIGRTMIN = 32                             # the kernel's: realtime signals are queued
SIG_DFL, SIG_IGN = 0, 1
SA_RESTART, SA_NODEFER, SA_RESETHAND = 0x10000000, 0x40000000, 0x80000000
SA_ONSTACK, SS_AUTODISARM = 0x08000000, 1 << 31
STACK_POINTER = "lind_global_0"           # what `lind cc` exports the stack pointer as
ERESTARTSYS = 512                         # Linux's "restart me": the guest makes the call again
DEFAULT_ACTION = (SIG_DFL, 0, 0)          # handler, flags, mask
KSIGACTION = struct.Struct("<IIIQ")       # a wasm32 struct k_sigaction
SIGNAL_FRAME = struct.Struct("<iIIIQ")    # what next_signal writes before the siginfo
SIGINFO = struct.Struct("<iiiiIi")        # siginfo's head: signo, errno, code, pid, uid, status
SIGINFO_SIZE = 128
CLD_EXITED, CLD_KILLED = 1, 2
SI_USER, SI_KERNEL, SI_TKILL = 0, 0x80, -6   # siginfo's si_code: kill's, a timer's, tkill's
# no action by default: SIGCHLD, SIGCONT, SIGURG, SIGWINCH; and the stop signals
IGNORED_BY_DEFAULT = frozenset({SIGCHLD, 18, 23, 28, SIGSTOP, 20, 21, 22})
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
STUCK_TIMER_RECHECK = 0.01                # s: see fire_timers


def kept_by_exec(actions: dict[int, tuple[int, int, int]]) -> dict[int, tuple[int, int, int]]:
    """What exec (or a spawn) keeps of the actions: the ignored signals; handlers go."""
    return {sig: a for sig, a in actions.items() if a[0] == SIG_IGN}


def bit(sig: int) -> int:
    return 1 << (sig - 1)


def action(proc, sig: int) -> tuple[int, int, int]:
    return proc.actions.get(sig, DEFAULT_ACTION)


def ignored(proc, sig: int) -> bool:
    """Whether `sig` has no effect on `proc`: ignored, or by default nothing is done."""
    handler = action(proc, sig)[0]
    return handler == SIG_IGN or (handler == SIG_DFL and sig in IGNORED_BY_DEFAULT)


def siginfo(sig: int, code: int = 0, pid: int = 0, status: int = 0) -> bytes:
    return SIGINFO.pack(sig, 0, code, pid, 0, status).ljust(SIGINFO_SIZE, b"\0")


def post(proc, sig: int, sender: int = 0, code: int = 0, status: int = 0,
         info: bytes | None = None) -> None:
    """Send `sig` to `proc` (with `info` as its siginfo, if given): its default action
    now, or pending for its handler."""
    if proc.status is not None or sig == 0:
        return
    if sig == SIGKILL:
        proc.end(abi.signal_status(SIGKILL))
        return
    if ignored(proc, sig) and not proc.signal_mask & bit(sig):
        return                          # a blocked one waits: its action may change
    sent = proc.pending.setdefault(sig, deque())
    if sig < SIGRTMIN and sent:
        return                          # standard signals are not queued
    if sig >= SIGRTMIN and proc.runtime.queued_signals >= proc.resources.queued_signals:
        if code not in (SI_USER, SI_KERNEL):     # as Linux: sigqueue and tkill fail,
            if not sent:
                del proc.pending[sig]
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        settle(proc)                    # kill's is pending without its siginfo
        return
    sent.append(info or siginfo(sig, code, sender, status))
    if sig >= SIGRTMIN:
        proc.runtime.queued_signals += 1
    settle(proc)


def pop(proc, sig: int) -> bytes:
    """Take the first sending of the pending `sig`: its siginfo."""
    sent = proc.pending[sig]
    if sent:
        info = sent.popleft()
        if sig >= SIGRTMIN:
            proc.runtime.queued_signals -= 1
    else:
        info = siginfo(sig, SI_USER)    # kill's past the limit
    if not sent:
        del proc.pending[sig]
    return info


def discard(proc, sig: int | None = None) -> None:
    """`sig` (None: every signal) is no longer pending for `proc`: what was queued
    of it is the run's to queue again."""
    for s in list(proc.pending) if sig is None else [sig]:
        sent = proc.pending.pop(s, ())
        if s >= SIGRTMIN:
            proc.runtime.queued_signals -= len(sent)


def settle(proc) -> None:
    """After a signal came or the mask changed: a pending signal no longer blocked takes
    its default action now; the guest's words say whether a handler is to run."""
    for sig in sorted(proc.pending):
        if proc.signal_mask & bit(sig):
            continue
        if ignored(proc, sig):
            discard(proc, sig)
        elif action(proc, sig)[0] == SIG_DFL:
            proc.end(abi.signal_status(sig))
            return
    show(proc)


def unmask(proc) -> None:
    """A call that waited under a mask of its own ended: the caller's mask is back."""
    if proc.mask_after_suspend is not None:
        proc.signal_mask, proc.mask_after_suspend = proc.mask_after_suspend, None
        settle(proc)


def on_altstack(proc) -> bool:
    """Whether the cage's stack pointer is inside its alternate signal stack now."""
    sp, _, size = proc.altstack
    if not size or proc.instance is None or not proc.instance.has(STACK_POINTER):
        return False
    return sp <= proc.instance.get_global(STACK_POINTER) < sp + size


def deliverable(proc) -> int:
    """The lowest caught signal pending and not blocked (0: none)."""
    for sig in sorted(proc.pending):
        if not proc.signal_mask & bit(sig):
            return sig
    return 0


def show(proc) -> None:
    """Write the guest's words: 1 while a handler is to run, 0 when none is."""
    value = struct.pack("<i", 1 if deliverable(proc) else 0)
    for word in set(proc.signal_words):
        if word:
            with contextlib.suppress(OSError):      # a word the cage unmapped: its loss
                proc.write(word, value)


def interruption(proc, restartable: bool = True) -> int:
    """What a waiting call of `proc` ends with now (as an errno), or 0: a caught signal
    arrived. ERESTARTSYS when its handler has SA_RESTART and the call may restart."""
    sig = deliverable(proc)
    if not sig:
        return 0
    return errno.EINTR if not restartable or not action(proc, sig)[1] & SA_RESTART else ERESTARTSYS


def take(proc) -> tuple[int, bytes] | None:
    """next_signal: the lowest deliverable signal, its mask applied, and the frame the
    guest's run_handlers reads (signo, handler, flags, the alternate stack's top or 0,
    the mask to put back, siginfo)."""
    sig = deliverable(proc)
    if not sig:
        show(proc)
        return None
    details = pop(proc, sig)
    handler, flags, mask = action(proc, sig)
    top = 0
    sp, stack_flags, size = proc.altstack
    if flags & SA_ONSTACK and size and not on_altstack(proc):
        top = sp + size
        if stack_flags & SS_AUTODISARM:
            proc.altstack = (0, 2, 0)
    restore = proc.signal_mask if proc.mask_after_suspend is None else proc.mask_after_suspend
    proc.mask_after_suspend = None
    proc.signal_mask |= mask | (0 if flags & SA_NODEFER else bit(sig))
    proc.signal_mask &= ~UNBLOCKABLE
    if flags & SA_RESETHAND:
        proc.actions[sig] = DEFAULT_ACTION
    show(proc)
    flags = abi.handler_flags(flags, proc.instance.table_arity(handler))
    return sig, SIGNAL_FRAME.pack(sig, handler, flags, top, restore) + details


def fire_timers(runtime) -> None:
    """SIGALRM to each process whose real-time interval timer (setitimer, alarm) ran out.
    While its SIGALRM cannot be taken (still pending, or ignored), a periodic timer looks
    again only every STUCK_TIMER_RECHECK s: one of 1 us with SIGALRM blocked woke the
    runtime's one thread for each expiry, a CPU's worth outside every cage's time."""
    if not runtime.timers:
        return
    now = time.monotonic()
    for proc, (due, interval) in list(runtime.timers.items()):
        if now < due:
            continue
        if interval and proc.status is None:
            stuck = SIGALRM in proc.pending or (ignored(proc, SIGALRM)
                                                and not proc.signal_mask & bit(SIGALRM))
            runtime.set_timer(proc, max(due + interval,
                                        now + (STUCK_TIMER_RECHECK if stuck else 0.0)),
                              interval)
        else:
            runtime.set_timer(proc, None)
        post(proc, SIGALRM, code=SI_KERNEL)     # merged with a pending one, as on Linux
