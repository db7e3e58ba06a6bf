"""Signals: dispositions, masks, pending sets, and handing caught signals to the guest.

Generation and delivery are split as on Linux. A signal sent to a cage (kill, SIGCHLD,
SIGALRM) or to one of its threads (tkill, raise, SIGPIPE, a fault) is dropped if
ignored and not blocked, ends the cage if its default action does, and otherwise
becomes pending: for the process, or for that thread. Dispositions are the process's;
masks and thread-directed pending sets are each thread's. A pending signal that is
caught is for the thread it was sent to, or, sent to the process, for the first thread
that does not block it. It is delivered by that thread's libc, in guest code: the
microvisor sets the thread's guest word (registered with call 1022) and wakes the
thread's blocking call, if any; the libc, at the return of its current system call (or
from the epoch tick, in code that makes none), takes the signal (1023), runs the
handler and restores the mask (rt_sigprocmask). See guest/src/lind/signals.c.

A blocking call interrupted this way answers -ERESTARTSYS when the handler has
SA_RESTART and the call may be restarted (the guest re-issues it), -EINTR otherwise.

All signal state of all cages is guarded by one lock: senders run on other cages'
threads and on the timer thread. It is held briefly and never while blocking.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from lind import threei
from lind.microvisor import abi, limits, sys_time
from lind.microvisor.abi import s32, u32

NSIG = 65
SIGRTMIN = 32          # the kernel's: realtime signals are queued, standard ones are not
SIGKILL, SIGSEGV, SIGCHLD, SIGCONT, SIGSTOP = 9, 11, 17, 18, 19
SIG_DFL, SIG_IGN = 0, 1
SA_RESTART, SA_NODEFER, SA_RESETHAND = 0x10000000, 0x40000000, 0x80000000
SA_NOCLDWAIT = 2
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
_SHOWN = {False: struct.pack("<i", 0), True: struct.pack("<i", 1)}   # what a word says

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


class _Instance(NamedTuple):
    """One sending of a pending signal."""

    info: bytes
    source: object = None     # the POSIX timer that sent it (its own, as Linux preallocates)
    charged: bool = False     # counted in limits.queued_signals (a realtime signal's)


class ThreadSignals:
    """One thread's signals, as on Linux: its mask, the signals sent to it alone (tkill,
    raise, its own faults and SIGPIPE), its alternate stack, and where it is told."""

    def __init__(self, parent: ThreadSignals | None = None) -> None:
        # where the trampoline's rt_sigprocmask changes it too (see _accel.c)
        self.mask_cell = threei.MaskCell(parent.mask if parent else 0)
        self.pending = 0                  # bit sig-1: sent to this thread, not delivered
        self.queued: dict[int, deque[_Instance]] = {}   # each of those's instances
        self.assigned = 0                 # the process's pending signals it is to take
        self.mask_after_suspend: int | None = None   # sigsuspend's caller's mask
        # Guest address of the thread's pending flag (its libc's TLS word): a fork child
        # has the same memory layout, so it inherits it; exec and the end clear it.
        self.word = parent.word if parent else 0
        # what the word says now (None: not written); the child's memory is a copy
        self.shown: bool | None = parent.shown if parent else None
        self.ready = False                # a caught, unblocked signal awaits this thread
        self.waiting_for = 0              # sigtimedwait's set: these wake it too
        # Written when a signal is to interrupt this thread's wait on a host fd (another
        # thread than the first; the first uses its cage slot's wake fd): -1 if none.
        self.wake_fd = -1
        # sigaltstack: (base, size), or None when disabled; fork keeps it, exec drops it.
        self.altstack: tuple[int, int] | None = parent.altstack if parent else None
        self.altstack_autodisarm = parent.altstack_autodisarm if parent else False

    @property
    def mask(self) -> int:
        return self.mask_cell.value

    @mask.setter
    def mask(self, bits: int) -> None:
        self.mask_cell.value = bits


class SignalState:
    """A cage's signals: dispositions and the process's pending set, shared by its
    threads, and each thread's own (ThreadSignals, by thread id, first thread first).
    What fork copies: the actions, and the forking thread's mask and stack."""

    def __init__(self, first_tid: int, tree: object, parent: SignalState | None = None,
                 forking: ThreadSignals | None = None) -> None:
        self.actions: dict[int, Action] = dict(parent.actions) if parent else {}
        self.pending = 0                  # sent to the process (kill): any thread takes it
        self.queued: dict[int, deque[_Instance]] = {}
        # What its queued realtime signals are counted under (limits.queued_signals),
        # as Linux counts them for the user.
        self.tree = tree
        self.ended = False                # the cage has: what is sent now is lost
        # Guest address of the libc's process-wide flag: set while any thread has a
        # signal to take (what loop safepoints read).
        self.hint = parent.hint if parent else 0
        self.hint_shown: bool | None = parent.hint_shown if parent else None
        # The first thread's record stays for calls made for the cage from threads not
        # its own (a grate's) after the first thread has left with pthread_exit.
        self.first = ThreadSignals(forking)
        self.threads: dict[int, ThreadSignals] = {first_tid: self.first}   # live ones
        # blocked calls' conditions, each with how many of its threads wait on it (one
        # leaving must not take it from the others: a thread's waitpid then slept on
        # through its signals and its cage's kill)
        self.waiting_on: Counter[threading.Condition] = Counter()
        # Called (without the lock) when a signal becomes pending: the cage's signalfds.
        self.watchers: list[Callable[[], None]] = []
        # The wake eventfd of a thread that ended, still counted as the cage's host fd,
        # for its next thread (-1: none): making and closing one cost ~3 us of a
        # pthread_create and join. Closed when the cage ends.
        self.spare_wake_fd = -1

    def action(self, sig: int) -> Action:
        if sig in (SIGKILL, SIGSTOP):
            return _DEFAULT
        return self.actions.get(sig, _DEFAULT)

    def all_pending(self) -> int:
        """Everything pending for the process or any of its threads (signalfd's view)."""
        bits = self.pending
        for thread in self.threads.values():
            bits |= thread.pending
        return bits


def caller(cage) -> ThreadSignals:
    """The signals of the calling thread of `cage` (the first thread's for a call made
    for the cage on a thread that is not its own)."""
    state = cage.signals
    return state.threads.get(cage.current_tid(), state.first)


def _ignored(sig: int, action: Action) -> bool:
    if action.handler == SIG_IGN:
        return True
    return action.handler == SIG_DFL and sig in _IGNORED_BY_DEFAULT


# Told, with the lock held, as (a SignalState or ThreadSignals, a signal), each time the
# signal may be sent there again: its pending instance went (taken or dropped), or it
# stopped being ignored. sys_timers then runs again a timer that was left (parked)
# while its signal could not be sent.
signal_free_watchers: list[Callable[[object, int], None]] = []


def _signal_free(holder, sig: int) -> None:
    for watcher in signal_free_watchers:
        watcher(holder, sig)


def _drop(state: SignalState, holder, sig: int) -> None:
    holder.pending &= ~_bit(sig)
    _release(state, holder.queued.pop(sig, ()))
    _signal_free(holder, sig)


def _release(state: SignalState, instances: Iterable[_Instance]) -> None:
    """With the lock held: `instances` are no longer queued."""
    if not instances:
        return
    charged = sum(instance.charged for instance in instances)
    if charged:
        limits.queued_signals.give(state.tree, charged)


def _enqueue(cage, holder, sig: int, info: bytes, source: object) -> None:
    """With the lock held: `sig` made pending for `holder` (the cage's signals or one of
    its threads'). A standard signal already pending stays one; a realtime one is queued,
    each sending with its siginfo, up to its tree's count and the cage's
    RLIMIT_SIGPENDING: past them sigqueue and tkill get EAGAIN, and kill (or the host)
    makes it pending without its siginfo, as Linux. A timer's own is not counted."""
    state = cage.signals
    bit = _bit(sig)
    if state.ended or sig < SIGRTMIN and holder.pending & bit:
        return          # sent to a process that is gone, or not queued
    charged = sig >= SIGRTMIN and source is None
    if charged:
        try:
            limits.queued_signals.take(state.tree, limit=cage.rlimit_sigpending[0])
        except OSError:
            if _SIGINFO.unpack_from(info)[2] not in (SI_USER, SI_KERNEL):
                raise
            holder.pending |= bit
            return
    holder.queued.setdefault(sig, deque()).append(_Instance(info, source, charged))
    holder.pending |= bit


def _settle(cage) -> int:
    """With the lock held: act on pending signals that are not blocked.

    Ignored ones are dropped; a caught one stays for the guest: one sent to a thread for
    that thread, one sent to the process for the first thread that does not block it
    (as Linux picks). Each thread's word says whether it has one to take, the process
    word whether any has. Returns the signal whose default action ends the cage, or 0.
    """
    state = cage.signals
    # Before any mask is read: a mask the trampoline changes from now on is settled
    # by that call itself (see "signal masks" in _accel.c).
    cage.slot.set_signals_quiet(False)
    threads = list(state.threads.values())
    for thread in threads:
        thread.mask_cell.held = None
    fatal = 0

    def judge(holder, sig: int) -> bool:
        """Whether `sig`, deliverable now, is for a handler (else dropped or fatal)."""
        nonlocal fatal
        action = state.action(sig)
        if _ignored(sig, action):
            _drop(state, holder, sig)
        elif action.handler == SIG_DFL:
            fatal = fatal or sig
        else:
            return True
        return False

    for thread in threads:
        thread.assigned = 0
        unblocked = thread.pending & ~thread.mask
        while unblocked:
            sig = _lowest(unblocked)
            unblocked &= ~_bit(sig)
            judge(thread, sig)
    shared = state.pending
    while shared:
        sig = _lowest(shared)
        shared &= ~_bit(sig)
        taker = next((t for t in threads if not t.mask & _bit(sig)), None)
        if taker is not None and judge(state, sig):
            taker.assigned |= _bit(sig)
    any_ready = False
    for thread in threads:
        thread.ready = bool(thread.pending & ~thread.mask or thread.assigned) and not fatal
        any_ready = any_ready or thread.ready
        if thread.word and thread.shown is not thread.ready:
            thread.shown = _show(cage, thread.word, thread.ready)
    if state.hint and state.hint_shown is not any_ready:
        state.hint_shown = _show(cage, state.hint, any_ready)
    if not fatal and not any_ready:     # a mask that still blocks these changes nothing
        _show_held(state, threads)
    cage.slot.set_signals_quiet(not fatal and _quiet(state))
    return fatal


def _show(cage, word: int, ready: bool) -> bool | None:
    """Write `ready` into a guest word; what it shows now, or None if it could not be
    written: the cage made its page read-only or inaccessible (mprotect) since it named
    the word. Then its handlers wait, as it asked, and the sender of the signal (another
    cage, a timer, the program embedding Lind) is told nothing of it: a kill succeeded."""
    try:
        cage.mem.write(word, _SHOWN[ready])
    except OSError:
        return None
    return ready


def _show_held(state: SignalState, threads: list[ThreadSignals]) -> None:
    """With the lock held, nothing to take anywhere: tell each of `threads` (see "signal
    masks" in _accel.c) the signals pending for it, all of which it blocks."""
    for thread in threads:
        thread.mask_cell.held = state.pending | thread.pending


def _held_back(cage, state: SignalState, bit: int, to: ThreadSignals | None) -> bool:
    """With the lock held, `bit` just made pending: True if every thread that could take
    it blocks it, when nothing _settle decides changes (it ran after every earlier
    change) but what the trampoline is told. As _settle, the slot and the threads'
    cells stop saying the thread has nothing to take before any mask is read."""
    cage.slot.set_signals_quiet(False)
    threads = list(state.threads.values()) if to is None else [to]
    for thread in threads:
        thread.mask_cell.held = None
    if not threads or any(not thread.mask & bit for thread in threads):
        return False
    if not any(thread.ready for thread in state.threads.values()):
        _show_held(state, threads)
    return True


def _act(cage, fatal: int, waiting: tuple[threading.Condition, ...], *,
         own_thread: bool) -> None:
    """After _settle, without the lock: end the cage, or wake the blocked calls of the
    threads that have a signal to take (a futex or host-fd wait ends with EINTR, as on
    Linux; a thread's waits on conditions re-check their own thread)."""
    if fatal:
        if own_thread:
            cage.kill(fatal)
        else:
            cage.terminate(fatal)
        return
    for cond in waiting:
        with cond:
            cond.notify_all()
    with _lock:
        ready = [(tid, thread) for tid, thread in cage.signals.threads.items() if thread.ready]
        for _, thread in ready:
            if thread.wake_fd >= 0:     # closed only under the lock: still this thread's
                threei.signal_wake_fd(thread.wake_fd)
    if any(thread.wake_fd < 0 for _, thread in ready):
        cage.slot.wake()


@contextlib.contextmanager
def blocked_on(cage, cond: threading.Condition) -> Iterator[None]:
    """While a call of one of the cage's threads waits on `cond`: a signal wakes it."""
    with _lock:
        cage.signals.waiting_on[cond] += 1
    try:
        yield
    finally:
        with _lock:
            waiting = cage.signals.waiting_on
            waiting[cond] -= 1
            if waiting[cond] <= 0:
                del waiting[cond]


def wake_blocked(cage) -> None:
    """Wake every blocked call of the cage (it is stopping): conditions, and the threads'
    own wake fds, left readable."""
    with _lock:
        waiting = tuple(cage.signals.waiting_on)
        for thread in cage.signals.threads.values():
            if thread.wake_fd >= 0:
                threei.signal_wake_fd(thread.wake_fd)
    for cond in waiting:
        with cond:
            cond.notify_all()


def settle(cage) -> None:
    """On one of the cage's threads: re-examine pending signals after a mask or the
    dispositions changed."""
    with _lock:
        settled = _settle_unless_quiet(cage)
    if settled is not None:
        _act(cage, *settled, own_thread=True)


threei.set_signal_settler(settle)   # for a mask the trampoline changed as a signal came


def _settle_unless_quiet(cage) -> tuple[int, tuple[threading.Condition, ...]] | None:
    """With the lock held: _settle and what _act needs, or None when nothing is pending
    and every word already says so (nothing for _settle or _act to change)."""
    if _quiet(cage.signals):
        cage.slot.set_signals_quiet(True)
        return None
    return _settle(cage), _waiting_for_signals(cage.signals, 0)


def _quiet(state: SignalState) -> bool:
    """With the lock held: nothing is pending and every word already says so, which
    _settle would leave as it is (a program's sigprocmask around each fork finds this
    nearly always)."""
    if state.hint and state.hint_shown is not False:
        return False
    if not _none_pending(state):
        return False
    for t in state.threads.values():  # noqa: SIM110 - all() of a generator costs more
        if t.word and t.shown is not False:
            return False
    return True


def _waiting_for_signals(state: SignalState, bit: int) -> tuple[threading.Condition, ...]:
    """With the lock held: the conditions to notify, if a thread has a signal to take
    or waits in sigtimedwait for `bit`."""
    if any(t.ready or t.waiting_for & bit for t in state.threads.values()):
        return tuple(state.waiting_on)
    return ()


def add_thread(cage, tid: int, creator: ThreadSignals) -> ThreadSignals:
    """A new thread of the cage (clone): the mask of `creator`, the creating thread's
    signals (caller(cage), which the caller may have at hand), no alternate stack
    (as Linux gives a thread), and a wake eventfd of its own, counted among the host fds
    cages hold (ENFILE past them): the one an ended thread left, if any."""
    thread = ThreadSignals()
    share = getattr(cage, "fd_share", None)
    with _lock:
        state = cage.signals
        thread.mask = creator.mask
        if state.spare_wake_fd >= 0:
            thread.wake_fd, state.spare_wake_fd = state.spare_wake_fd, -1
            threei.drain_wake_fd(thread.wake_fd)   # what was written for its last thread
            state.threads[tid] = thread
            return thread
    limits.host_fds.take(share=share)
    try:
        thread.wake_fd = threei.new_wake_fd()
    except OSError:
        limits.host_fds.give(share=share)
        raise
    with _lock:
        state.threads[tid] = thread
    return thread


def remove_thread(cage, tid: int) -> None:
    """A thread ended (or never started): signals sent to it alone go with it; the
    process's are for another thread now. Its wake fd stays for the next thread
    (SignalState.spare_wake_fd) while the cage runs."""
    with _lock:
        state = cage.signals
        thread = state.threads.pop(tid, None)
        if thread is None:
            return
        thread.word = 0
        _forget_pending(state, thread)
        fd, thread.wake_fd = thread.wake_fd, -1
        if fd >= 0 and state.spare_wake_fd < 0 and not state.ended:
            state.spare_wake_fd = fd
        elif fd >= 0:
            _close_wake_fd(cage, fd)
        settled = _settle_unless_quiet(cage)
    if settled is not None:
        _act(cage, *settled, own_thread=False)


def _close_wake_fd(cage, fd: int) -> None:
    """With the lock held (a signal sent meanwhile must not write a closed fd's number)."""
    os.close(fd)
    limits.host_fds.give(share=getattr(cage, "fd_share", None))


def siginfo(sig: int, code: int, pid: int = 0, uid: int = 0, status: int = 0) -> bytes:
    """A siginfo; `pid` is also where a fault's address goes (si_addr, unsigned)."""
    return _SIGINFO.pack(sig, 0, code, s32(pid), uid, status).ljust(SIGINFO_SIZE, b"\0")


def ignores(cage, sig: int) -> bool:
    """Whether `cage` ignores `sig` (SIG_IGN, or ignored by default): discarded if sent."""
    with _lock:
        return _ignored(sig, cage.signals.action(sig))


def leaves_no_zombies(cage) -> bool:
    """Whether `cage`'s children are reaped as they end, never waited for: its SIGCHLD
    is set to SIG_IGN (not merely ignored by default) or has SA_NOCLDWAIT, as Linux."""
    with _lock:
        action = cage.signals.action(SIGCHLD)
        return action.handler == SIG_IGN or bool(action.flags & SA_NOCLDWAIT)


def lives(cage, thread: ThreadSignals | None) -> bool:
    """Whether `thread` is still one of the cage's threads (None: the process, which
    is); what is sent to one that ended is lost."""
    if thread is None:
        return True
    with _lock:
        return thread in cage.signals.threads.values()


def pending_sources(cage, sig: int, to: ThreadSignals | None = None) -> list[object]:
    """What sent each instance of `sig` pending for the process (or for its thread
    `to`): the timer given to `send` as `source`, or None; empty if none is pending."""
    with _lock:
        holder = cage.signals if to is None else to
        if not holder.pending & _bit(sig):
            return []
        return [instance.source for instance in holder.queued.get(sig, ())] or [None]


def child_info(child) -> bytes:
    """SIGCHLD's siginfo for a child that ended: how, and its exit code or signal."""
    status = child.status or 0
    if status & 0x7F:
        return siginfo(SIGCHLD, CLD_KILLED, child.id, child.ids[0], status & 0x7F)
    return siginfo(SIGCHLD, CLD_EXITED, child.id, child.ids[0], (status >> 8) & 0xFF)


def send(cage, sig: int, info: bytes | None = None, *, own_thread: bool,
         to: ThreadSignals | None = None, source: object = None) -> None:
    """Generate `sig` for `cage`, or for its thread `to` (tkill, raise, a fault); `info`
    is its siginfo (default: sent by the kernel); `source`, the timer that sends it.

    `own_thread` says the caller runs on a thread of the cage (inside one of its calls),
    so a fatal signal can end it at the return of that call.
    """
    if sig == 0:
        return
    with _lock:
        state = cage.signals
        bit = _bit(sig)
        if to is not None and to not in state.threads.values():
            return                    # the thread has ended: so has what was sent to it
        if to is not None:
            blocked = bool(to.mask & bit)
        else:
            blocked = bool(state.threads) and all(t.mask & bit for t in state.threads.values())
        if not blocked and _ignored(sig, state.action(sig)):
            return
        _enqueue(cage, state if to is None else to, sig, info or siginfo(sig, SI_KERNEL),
                 source)
        held = _held_back(cage, state, bit, to)    # (a child's SIGCHLD during a fork)
        fatal = 0 if held else _settle(cage)
        waiting = _waiting_for_signals(state, bit)
        watchers = list(state.watchers)
    if not held or waiting:
        _act(cage, fatal, waiting, own_thread=own_thread)
    for watcher in watchers:
        watcher()


def _dequeue(state: SignalState, thread: ThreadSignals, bits: int) -> tuple[int, bytes] | None:
    """With the lock held: take the lowest signal of `bits` pending for `thread` (first
    those sent to it alone, as Linux) or for the process."""
    for holder in (thread, state):
        taken = holder.pending & bits
        if taken:
            sig = _lowest(taken)
            queue = holder.queued.get(sig)
            if queue:
                instance = queue.popleft()
                _release(state, (instance,))
                info = instance.info
            else:            # its siginfo was not kept (kill past RLIMIT_SIGPENDING)
                info = siginfo(sig, SI_USER)
            if not queue:
                holder.pending &= ~_bit(sig)
                holder.queued.pop(sig, None)
            _signal_free(holder, sig)
            return sig, info
    return None


def take(cage, wanted: int) -> tuple[int, bytes] | None:
    """Dequeue the lowest pending signal of the set `wanted` and its siginfo, without
    running its handler (signalfd reads); None if none is pending."""
    with _lock:
        found = _dequeue(cage.signals, caller(cage), wanted)
    if found is not None:
        settle(cage)
    return found


def unpack_siginfo(info: bytes) -> tuple[int, int, int, int, int, int]:
    """(signo, errno, code, pid, uid, status) of a siginfo this module packed."""
    return _SIGINFO.unpack_from(info)


def catches(cage, sig: int) -> bool:
    """Whether a fault raising `sig` in the calling thread would run a handler of the
    cage (not blocked, not ignored, not the default: those end it, see force)."""
    with _lock:
        return (not caller(cage).mask & _bit(sig)
                and cage.signals.action(sig).handler not in (SIG_DFL, SIG_IGN))


def force(cage, sig: int, info: bytes, *, own_thread: bool) -> None:
    """A signal the calling thread's own fault raised (SIGSEGV at its null page). As the
    kernel's force_sig: blocked or ignored, it is unblocked and set to its default
    action, which ends the cage; a handler the cage installed runs, in this thread."""
    with _lock:
        state = cage.signals
        thread = caller(cage)
        action = state.action(sig)
        if thread.mask & _bit(sig) or action.handler == SIG_IGN:
            state.actions[sig] = replace(action, handler=SIG_DFL)
            thread.mask &= ~_bit(sig)
    send(cage, sig, info, own_thread=own_thread, to=thread)


def interruption(cage, restartable: bool, always: bool = False) -> int:
    """The errno a blocking call of the calling thread answers now, because a caught
    signal awaits that thread (0: none). Its handler is the first the guest will run:
    SA_RESTART decides, for a guest whose libc registered its word (only such a libc
    restarts calls); a call that is `always` made again (Linux's ERESTARTNOINTR:
    FUTEX_LOCK_PI) is made again after any handler."""
    thread = caller(cage)
    if not thread.ready:
        return 0
    with _lock:
        deliverable = (thread.pending & ~thread.mask) | thread.assigned
        if not deliverable:
            return 0
        action = cage.signals.action(_lowest(deliverable))
        restarts = thread.word and (always or action.flags & SA_RESTART)
    return ERESTARTSYS if restartable and restarts else errno.EINTR


def forget_memory(cage) -> None:
    """The cage's memory is going (exec, end): stop writing the guest words into it."""
    with _lock:
        cage.signals.hint = 0
        for thread in cage.signals.threads.values():
            thread.word = 0


def _forget_pending(state: SignalState, holder) -> None:
    """With the lock held: nothing is pending for `holder` any more (its thread or
    process is gone)."""
    for queue in holder.queued.values():
        _release(state, queue)
    holder.queued.clear()
    holder.pending = 0


def forget_all_pending(cage) -> None:
    """The cage has ended: its pending signals go, and so will any sent to it now."""
    with _lock:
        state = cage.signals
        state.ended = True
        for holder in (state, *state.threads.values()):
            _forget_pending(state, holder)
        if state.spare_wake_fd >= 0:
            _close_wake_fd(cage, state.spare_wake_fd)
            state.spare_wake_fd = -1


def exec_reset(cage, mask: int) -> None:
    """exec: caught signals go back to their default action (ignored stay ignored); the
    one thread left keeps the mask of the thread that called execve (`mask`), and
    pending signals; the new program registers its own words."""
    with _lock:
        state = cage.signals
        state.actions = {sig: a for sig, a in state.actions.items() if a.handler == SIG_IGN}
        state.hint = 0
        first = state.first
        for thread in state.threads.values():
            if thread is not first:
                _forget_pending(state, thread)
        state.threads = {cage.id: first}
        first.mask = mask
        first.word = 0
        first.mask_after_suspend = None
        first.altstack = None
        first.altstack_autodisarm = False
    settle(cage)


def inherit(cage, ignored: Sequence[int], blocked: Sequence[int]) -> None:
    """A new cage's first program as execve leaves a program started by a process with
    these dispositions: `ignored` signals stay ignored (nohup's SIGHUP, a shell's
    background job's SIGINT and SIGQUIT) and `blocked` ones blocked, until the program
    changes them. SIGKILL and SIGSTOP are never either."""
    usable = [s for s in range(1, NSIG) if s not in (SIGKILL, SIGSTOP)]
    with _lock:
        state = cage.signals
        for sig in ignored:
            if sig in usable:
                state.actions[sig] = Action(SIG_IGN)
        state.first.mask = sum(_bit(sig) for sig in set(blocked) if sig in usable)


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
            if _ignored(sig, new):      # POSIX: discarded, blocked or not
                bit = _bit(sig)
                for holder in (state, *state.threads.values()):
                    if holder.pending & bit or sig in holder.queued:
                        _drop(state, holder, sig)
            elif _ignored(sig, old):
                for holder in (state, *state.threads.values()):
                    _signal_free(holder, sig)
    if oact:
        cage.mem.write(oact, _KSIGACTION.pack(old.handler, old.flags, 0, old.mask))
    settle(cage)
    return 0


def sys_rt_sigprocmask(cage, how, new, old, sigsetsize, *_):
    """The calling thread's mask."""
    _check_sigset_size(sigsetsize)
    how = s32(how)
    mask = _read_mask(cage, new) if new else None
    if mask is not None and how not in (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK):
        raise OSError(errno.EINVAL, "Invalid argument")
    with _lock:
        thread = caller(cage)
        previous = thread.mask
        if mask is not None:
            thread.mask = {SIG_BLOCK: previous | mask, SIG_UNBLOCK: previous & ~mask,
                           SIG_SETMASK: mask}[how]
    if old:
        cage.mem.write(old, struct.pack("<Q", previous))
    if mask is not None:
        settle(cage)
    return 0


def sys_rt_sigpending(cage, out, sigsetsize, *_):
    """The blocked signals pending for the calling thread or its process."""
    if sigsetsize > 8:
        raise OSError(errno.EINVAL, "Invalid argument")
    with _lock:
        thread = caller(cage)
        pending = (thread.pending | cage.signals.pending) & thread.mask
    cage.mem.write(out, pending.to_bytes(8, "little")[:sigsetsize])
    return 0


def sys_pause(cage, *_):
    """Answers -EINTR once a handler is to run (a fatal signal ends the cage instead)."""
    cage.wait_for_signal()


def _wait_under(cage, mask_addr: int, sigsetsize: int) -> ThreadSignals:
    """Put the mask at `mask_addr` in place for a wait of the calling thread; its own
    comes back after the handler that ends it (next_signal), or when the wait ends
    otherwise. Returns the thread."""
    _check_sigset_size(sigsetsize)
    temporary = _read_mask(cage, mask_addr)
    with _lock:
        thread = caller(cage)
        thread.mask_after_suspend = thread.mask
        thread.mask = temporary
    settle(cage)
    return thread


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
    thread = _wait_under(cage, mask_addr, sigsetsize)
    interrupted = False
    try:
        yield
    except OSError as exc:
        interrupted = exc.errno == errno.EINTR
        raise
    finally:
        if not interrupted:
            with _lock:
                if thread.mask_after_suspend is not None:
                    thread.mask = thread.mask_after_suspend
                    thread.mask_after_suspend = None
            settle(cage)


def sys_signal_word(cage, addr, hint, *_):
    """The guest libc says where the calling thread's pending flag is (0: nowhere), and
    the process's (0: the same word; a libc of one thread)."""
    addr, hint = u32(addr), u32(hint)
    for word in (addr, hint):
        if word:
            cage.mem.view(word, 4, writing=True)
    with _lock:
        state = cage.signals
        thread = caller(cage)
        thread.word = addr
        thread.shown = None
        if addr:
            state.hint = hint or addr
            state.hint_shown = None
        if _none_pending(state):
            # What _settle would do then, without its rounds: every thread starts so.
            _show_none(cage, state)
            return 0
    settle(cage)
    return 0


def _none_pending(state: SignalState) -> bool:
    """With the lock held: no signal is pending, assigned or ready anywhere (what the
    words show aside)."""
    if state.pending:
        return False
    for t in state.threads.values():  # noqa: SIM110 - all() of a generator costs more
        if t.pending or t.assigned or t.ready:
            return False
    return True


def _show_none(cage, state: SignalState) -> None:
    """With the lock held and _none_pending: make every word say "none", and the slot
    say the cage is quiet."""
    for t in state.threads.values():
        if t.word and t.shown is not False:
            t.shown = _show(cage, t.word, False)
    if state.hint and state.hint_shown is not False:
        state.hint_shown = _show(cage, state.hint, False)
    cage.slot.set_signals_quiet(True)


def note_quiet(cage) -> None:
    """From an epoch tick that found nothing to run: if nothing is pending, the slot says
    so (the trampoline answers the ticks after it without Python)."""
    with _lock:
        if _quiet(cage.signals):
            cage.slot.set_signals_quiet(True)


def _on_own_thread(cage) -> bool:
    """Whether the calling host thread runs one of the cage's threads (not a grate's
    handler worker, which shares its memory but must not run its signal handlers)."""
    return cage.calling_thread() is not None or cage.thread.is_current()


def sys_next_signal(cage, frame, *_):
    """Hand the calling thread the lowest caught, unblocked signal pending for it (sent
    to it alone first) or for the process, masks applied."""
    if not _on_own_thread(cage):
        return 0
    cage.mem.view(frame, _SIGNAL_FRAME.size + SIGINFO_SIZE, writing=True)
    with _lock:
        state = cage.signals
        thread = caller(cage)
        found = _dequeue(state, thread, ~thread.mask & ((1 << (NSIG - 1)) - 1))
        if found is None:
            _settle(cage)
            return 0
        sig, info = found
        cage.tick_waited = False     # taken by the thread itself: the tick's wait is over
        action = state.action(sig)
        restore = thread.mask if thread.mask_after_suspend is None else thread.mask_after_suspend
        thread.mask_after_suspend = None
        thread.mask |= action.mask | (0 if action.flags & SA_NODEFER else _bit(sig))
        thread.mask &= ~UNBLOCKABLE
        if action.flags & SA_RESETHAND:
            state.actions[sig] = replace(action, handler=SIG_DFL)
        _settle(cage)
    shape = cage.function_type(action.handler)
    flags = abi.handler_flags(action.flags, shape[0] if shape is not None else None)
    # SA_ONSTACK: where the guest moves its shadow stack for the handler (0: it stays).
    stack = thread.altstack
    top = 0
    if flags & SA_ONSTACK and stack is not None and not on_altstack(cage, cage.stack_pointer()):
        top = stack[0] + stack[1]
        if top > cage.mem.size():      # sigaltstack took it, as Linux's takes any range
            _frame_fault(cage, sig, restore)
            return 0
    try:
        cage.mem.write(frame, _SIGNAL_FRAME.pack(sig, action.handler, flags, top, restore) + info)
    except OSError:     # another thread's mprotect took the frame's page since the check
        _frame_fault(cage, sig, restore)
        return 0
    return sig


def _frame_fault(cage, sig: int, restore: int) -> None:
    """`sig`'s handler cannot run: its alternate stack ends outside the cage's memory, or
    its frame's page was protected after the check (the signal was taken already: it
    vanished, its mask left applied). As Linux's force_sigsegv when a signal frame
    cannot be set up: the mask as it was, SIGSEGV forced (at its default action if its
    own handler was the one that failed)."""
    with _lock:
        caller(cage).mask = restore
        if sig == SIGSEGV:
            state = cage.signals
            state.actions[sig] = replace(state.action(sig), handler=SIG_DFL)
    force(cage, SIGSEGV, siginfo(SIGSEGV, SI_KERNEL), own_thread=True)


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


def _zombie_in_tree(cage, pid: int) -> bool:
    return any(getattr(c.children.get(pid), "finished", False)
               for c in cage.runtime.tree(cage))


def _may_signal(cage, target, sig: int) -> bool:
    """Linux's check_kill_permission, with the cages' own ids: a privileged sender (an
    effective uid of 0) or one whose real or effective uid is the target's real or saved
    one; SIGCONT within the session."""
    if target is cage or cage.ids[1] == 0:
        return True
    if sig == SIGCONT and target.sid == cage.sid:
        return True
    return not {cage.ids[0], cage.ids[1]}.isdisjoint((target.ids[0], target.saved_ids[0]))


def _permitted(cage, target, sig: int) -> None:
    if not _may_signal(cage, target, sig):
        raise OSError(errno.EPERM, "Operation not permitted")


def _kill(cage, pid: int, sig: int, code: int) -> int:
    if not 0 <= sig < NSIG:
        raise OSError(errno.EINVAL, "Invalid argument")
    targets = _targets(cage, pid)
    if not targets:
        if pid > 0 and _zombie_in_tree(cage, pid):
            return 0     # a child not yet waited for still exists: the signal is lost
        raise OSError(errno.ESRCH, "No such process")
    # a group or kill(-1) reaches those it may signal: EPERM only if none
    targets = [target for target in targets if _may_signal(cage, target, sig)]
    if not targets:
        raise OSError(errno.EPERM, "Operation not permitted")
    info = siginfo(sig, code, cage.id, cage.ids[0])
    for target in targets:
        send(target, sig, info, own_thread=target is cage)
    return 0


def sys_kill(cage, pid, sig, *_):
    return _kill(cage, s32(pid), s32(sig), SI_USER)


def _thread(cage, tid: int) -> ThreadSignals:
    """One of the cage's live threads (ESRCH: none by that id)."""
    with _lock:
        thread = cage.signals.threads.get(s32(tid))
    if thread is None:
        raise OSError(errno.ESRCH, "No such process")
    return thread


def _task(cage, tid: int) -> tuple[object, ThreadSignals]:
    """(its cage, its signals) of the live thread `tid` names within the caller's tree:
    a thread of the caller or of another of its processes, as Linux's tkill finds any
    task by its id (ESRCH: none)."""
    for owner in (cage, *cage.runtime.tree(cage)):
        with _lock:
            thread = owner.signals.threads.get(tid)
        if thread is not None:
            return owner, thread
    raise OSError(errno.ESRCH, "No such process")


# The thread ids a wasm grate's handler workers give themselves in its libc
# (guest/src/env/__init_tls.c): never a thread's, and not what their calls act as.
WORKER_TIDS = 0x30000000


def sys_tkill(cage, tid, sig, *_):
    """To one thread: one of the cage's (its own, or another: pthread_kill), or of
    another process of its tree, as Linux's tkill names any task."""
    sig = s32(sig)
    tid = _own_tid(cage, tid)
    if tid <= 0 or not 0 <= sig < NSIG:
        raise OSError(errno.EINVAL, "Invalid argument")
    target, thread = _task(cage, tid)
    _permitted(cage, target, sig)
    send(target, sig, siginfo(sig, SI_TKILL, cage.id, cage.ids[0]),
         own_thread=target is cage, to=thread)
    return 0


def _own_tid(cage, tid: int) -> int:
    """`tid` as a thread id; from a grate's handler, a worker's own id (raise, abort)
    names the thread its calls are made as."""
    tid = s32(tid)
    if tid >= WORKER_TIDS and not _on_own_thread(cage):
        return cage.current_tid()
    return tid


def sys_tgkill(cage, tgid, tid, sig, *_):
    """tkill of the thread `tid` only if it belongs to the process `tgid`."""
    tgid, tid, sig = s32(tgid), s32(tid), s32(sig)
    if tgid <= 0 or tid <= 0 or not 0 <= sig < NSIG:
        raise OSError(errno.EINVAL, "Invalid argument")
    info = siginfo(sig, SI_TKILL, cage.id, cage.ids[0])
    if tgid == cage.id:
        send(cage, sig, info, own_thread=True, to=_thread(cage, _own_tid(cage, tid)))
        return 0
    target, thread = _task(cage, tid)
    if target.id != tgid:
        raise OSError(errno.ESRCH, "No such process")
    _permitted(cage, target, sig)
    send(target, sig, info, own_thread=False, to=thread)
    return 0


def own_siginfo(cage, sig: int) -> bytes:
    """siginfo of a signal a cage's own call caused (SIGPIPE): as if it sent it itself."""
    return siginfo(sig, SI_USER, cage.id, cage.ids[0])


# -------------------------------------------------- waiting for signals, queueing

def sys_rt_sigtimedwait(cage, which, info, timeout, sigsetsize, *_):
    """Take a pending signal of the set (the calling thread's or the process's) without
    running its handler; wait for one up to `timeout` (EAGAIN), or until another caught
    signal is to be handled (EINTR). While it waits the set is blocked, so that a signal
    of it stays pending for the taking."""
    _check_sigset_size(sigsetsize)
    wanted = _read_mask(cage, which)
    deadline = time.monotonic_ns() + sys_time.read_timespec(cage, timeout) if timeout else None
    if info:
        cage.mem.view(info, SIGINFO_SIZE, writing=True)
    with _lock:
        thread = caller(cage)
        saved = thread.mask
        thread.mask |= wanted
    try:
        sig, data = take_waiting(cage, wanted, deadline, restartable=False)
    finally:
        with _lock:
            thread.mask = saved
        settle(cage)
    if info:
        cage.mem.write(info, data)
    return sig


def take_waiting(cage, wanted: int, deadline: int | None = None, *,
                 restartable: bool = True) -> tuple[int, bytes]:
    """Dequeue a signal of the set `wanted` pending for the calling thread or its
    process, waiting for one until `deadline` (time.monotonic_ns: EAGAIN) if none is:
    sigtimedwait's, and a signalfd's blocking read (of the reader's own signals, as on
    Linux). A caught signal for a handler ends the wait: EINTR, or a restart under
    SA_RESTART if `restartable`."""
    state = cage.signals
    with _lock:
        thread = caller(cage)
        thread.waiting_for = wanted
    nap = threading.Condition()
    try:
        with nap:
            while True:
                with _lock:
                    found = _dequeue(state, thread, wanted)
                if found is not None:
                    return found
                left = None if deadline is None else deadline - time.monotonic_ns()
                if left is not None and left <= 0:
                    raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
                cage.block_on(nap, None if left is None else left / 1e9,
                              restartable=restartable)
    finally:
        with _lock:
            thread.waiting_for = 0


def _queue(cage, target, sig: int, info_addr: int, to: ThreadSignals | None = None) -> int:
    raw = bytearray(cage.mem.read(info_addr, SIGINFO_SIZE))
    (code,) = struct.unpack_from("<i", raw, 8)
    # As Linux: only codes a process may forge (negative, not tkill's) to another one.
    if (code >= 0 or code == SI_TKILL) and target is not cage:
        raise OSError(errno.EPERM, "Operation not permitted")
    _permitted(cage, target, sig)
    struct.pack_into("<i", raw, 0, sig)
    send(target, sig, bytes(raw), own_thread=target is cage, to=to)
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
    """To one thread of a process of the caller's tree (its own included)."""
    tgid, tid, sig = s32(tgid), s32(tid), s32(sig)
    if tgid <= 0 or tid <= 0 or not 0 <= sig < NSIG:
        raise OSError(errno.EINVAL, "Invalid argument")
    if tgid == cage.id:
        return _queue(cage, cage, sig, info, to=_thread(cage, tid))
    target, thread = _task(cage, tid)
    if target.id != tgid:
        raise OSError(errno.ESRCH, "No such process")
    return _queue(cage, target, sig, info, to=thread)


# ------------------------------------------------------- alternate signal stack

SS_ONSTACK, SS_DISABLE, SS_AUTODISARM = 1, 2, 1 << 31
MINSIGSTKSZ = 2048
SA_ONSTACK = 0x08000000
_STACK_T = struct.Struct("<III")      # a wasm32 guest's stack_t: sp, flags, size


def on_altstack(cage, sp: int) -> bool:
    stack = caller(cage).altstack
    return stack is not None and stack[0] < sp <= stack[0] + stack[1]


def sys_sigaltstack(cage, ss, old, sp, *_):
    """The calling thread's alternate stack, which its handlers with SA_ONSTACK run on
    (the guest libc moves its shadow stack there, see guest/src/lind/signals.c). The
    guest libc passes its stack pointer as a third argument (0 from a raw call: then
    the exported one, if any)."""
    thread = caller(cage)
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
        stack = thread.altstack
        if stack is None:
            report = _STACK_T.pack(0, SS_DISABLE, 0)
        else:
            flags = (SS_ONSTACK if on_stack else 0) | (
                SS_AUTODISARM if thread.altstack_autodisarm else 0)
            report = _STACK_T.pack(stack[0], flags, stack[1])
        cage.mem.write(old, report)
    if new is not None:
        thread.altstack, thread.altstack_autodisarm = new
    return 0
