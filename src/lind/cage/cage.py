"""A cage: one program instance with its own memory, fd table, cwd and 3i table."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import itertools
import math
import mmap
import os
import re
import select
import signal
import struct
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import wasmtime
from wasmtime import _bindings as wt

from lind import threei
from lind.cage import grate_worker, instance_pool, loader, waiters
from lind.cage.instance_pool import PooledInstance
from lind.cage.thread import (
    SPAWN_START,
    START,
    THREAD_START,
    CageThread,
    Instance,
    PerThread,
    ThreadKit,
    instance_of,
    serving,
)
from lind.engine import (
    GC_HEAP_LIMIT,
    MAX_TABLE_ELEMENTS,
    MAX_TABLES,
    instance_bytes,
    stacks,
    wasmtime_engine,
)
from lind.microvisor import (
    abi,
    limits,
    sys_events,
    sys_files,
    sys_futex,
    sys_ipc,
    sys_locks,
    sys_timers,
)
from lind.microvisor import sys_signals as signals
from lind.microvisor import table as microvisor
from lind.microvisor.fdtable import FdTable, OpenFile, forget_thread_pins
from lind.microvisor.fs import FileSystem
from lind.microvisor.network import Network
from lind.microvisor.sys_memory import (
    DONT_FORK,
    MAX_MEMORY,
    WASM_PAGE,
    WIPE_ON_FORK,
    AddressSpace,
)
from lind.microvisor.sys_threads import ThreadStart
from lind.threei import ops
from lind.toolchain.asyncify import NULL_PAGE_SIZE
from lind.toolchain.safepoints import SAFEPOINT

TRAP_SIGNALS = {
    wasmtime.TrapCode.STACK_OVERFLOW: signal.SIGSEGV,
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: signal.SIGSEGV,
    wasmtime.TrapCode.HEAP_MISALIGNED: signal.SIGBUS,
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: signal.SIGSEGV,
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: signal.SIGSEGV,
    wasmtime.TrapCode.BAD_SIGNATURE: signal.SIGSEGV,
    wasmtime.TrapCode.INTEGER_OVERFLOW: signal.SIGFPE,
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: signal.SIGFPE,
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: signal.SIGFPE,
    wasmtime.TrapCode.UNREACHABLE: signal.SIGILL,
    wasmtime.TrapCode.INTERRUPT: signal.SIGKILL,
}
#: a longjmp out of a handler the host called (not the program's own frames): only
#: Asyncify's setjmp can resume the code below a host frame
_LONGJMP_FROM_HOST = ("longjmp out of {} is supported only in a program built with "
                      "`lind cc --setjmp=asyncify`")

# Epoch ticks: every running cage checks in once a tick, so a kill lands within one.
_TICK_SECONDS = 0.01


def _own_oom_score_adj() -> int:
    """The Lind process's oom_score_adj, which its first cages start with as a child
    process would (0 where the host has none)."""
    try:
        with open("/proc/self/oom_score_adj", "rb") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


_HOST_OOM_SCORE_ADJ = _own_oom_score_adj()


def _wasi_imports(module: wasmtime.Module):
    """lind.wasi.preview1 if `module` imports WASI (imported then: most programs are
    built by lind cc and never need it)."""
    if not any(mod.startswith("wasi") for mod, _, _ in loader.shape(module).imports):
        return None
    from lind.wasi import preview1

    return preview1


_ticker_lock = threading.Lock()
_running = 0
_ticker_wake = threading.Condition(_ticker_lock)
_ticker_stopped = False
_ticker_stop = threading.Event()    # set with _ticker_stopped: ends a tick's wait at once
_cages_by_key: dict[int, Cage] = {}


def _ticker() -> None:
    eng = wasmtime_engine.engine()
    ticks = 0
    while True:
        with _ticker_lock:
            while _running == 0 and not _ticker_stopped:
                _ticker_wake.wait()
            if _ticker_stopped:
                return
        if _ticker_stop.wait(_TICK_SECONDS):
            return
        eng.increment_epoch()
        threei.keep_fault_order()   # a fault handler installed while cages run goes after
        ticks += 1
        _wake_overdue_starts()
        if ticks % _CPU_CHECK_TICKS == 0:
            try:
                _enforce_cpu_limits()
                _charge_grown_memories()
            except Exception as exc:    # a bug there must not stop the ticks every kill needs
                print(f"lind: internal error checking CPU time or memory: {exc!r}",
                      file=sys.stderr)


_CPU_CHECK_TICKS = 20          # RLIMIT_CPU (and memory grown unseen) looked at every 0.2 s
# A wasm start function runs inside instantiation, for the first program on the thread
# that spawns the cage (a caller of lind.run), before any kill or timeout can name the
# cage: an endless one held that thread for good. Past this it is the program's fault.
START_FUNCTION_SECONDS = 10.0
# store context -> [when its start function must end, the shared memory it may be
# parked in (memory.atomic.wait, out of the epoch's reach: the ticker wakes it there),
# when to wake it (again)]; the ticker updates an entry in place, never puts one back
_starting: dict[int, list] = {}
_WAKE_AGAIN = 1.0    # seconds between sweeps of an overdue start function's memory
_START_TOO_LONG = "start function ran too long"   # the stop's message, read back in _instantiate


def _wake_overdue_starts() -> None:
    """A start function past its deadline that no tick stopped is parked in
    memory.atomic.wait: wake its memory (on a thread of its own, each _WAKE_AGAIN), and
    the next tick it reaches stops it."""
    if not _starting:        # (every tick: nothing to do, mostly)
        return
    now = time.monotonic()
    for starting in list(_starting.values()):
        _, memory, wake_at = starting
        if memory is not None and now > wake_at:
            starting[2] = now + _WAKE_AGAIN
            threading.Thread(target=waiters.wake_all, args=(memory,), daemon=True,
                             name="lind-wake-start").start()


def _count_running(change: int) -> None:
    """One more (or one fewer) cage or instantiation that needs the epoch to tick."""
    global _running
    with _ticker_lock:
        _running += change
        if _running == change > 0:     # it waits only while nothing runs
            _ticker_wake.notify()
            if _ticker_thread.ident is None:
                _ticker_thread.start()


def _charge_grown_memories() -> None:
    """Memory a program grew by itself (wasm memory.grow) is charged at its next epoch
    tick; one that grew it and then waits in a system call reaches none: charged here,
    killed past its budget (Cage.charge_grown_memory)."""
    for cage in list(_cages_by_key.values()):
        if not cage.stopping:
            try:
                cage.charge_grown_memory()
            except Exception as exc:  # noqa: BLE001 - a bug here leaves the other cages checked
                cage.internal_error(exc)


def _enforce_cpu_limits() -> None:
    """RLIMIT_CPU as Linux applies it: SIGXCPU at the soft limit and each second after,
    SIGKILL at the hard one (CPU time of all the cage's threads)."""
    for cage in list(_cages_by_key.values()):
        soft, hard = cage.rlimit_cpu
        if soft == limits.RLIM_INFINITY and hard == limits.RLIM_INFINITY or cage.stopping:
            continue
        used = sum(cage.cpu_times())
        if used >= hard:
            cage.terminate(signal.SIGKILL)
        elif used >= cage.next_xcpu:
            cage.next_xcpu = int(used) + 1
            signals.send(cage, signal.SIGXCPU, own_thread=False)


_EPOCH_CB_T = wt._wasmtime_store_epoch_deadline_callback.argtypes[1]


def _stop_error(message: bytes) -> int:
    """A wasmtime_error_t that makes the wasm code interrupted by an epoch tick stop."""
    err = wt.wasmtime_error_new(ctypes.create_string_buffer(message))
    return ctypes.cast(err, ctypes.c_void_p).value or 0


def serve(cage: Cage | None, thread: CageThread | None = None) -> None:
    """This host thread runs `cage`'s program: its main thread, or `thread` (None: no
    cage's any more, a pooled host thread between two cage threads)."""
    serving.cage = cage
    serving.thread = thread


# A grate's handler running for a cage that was just killed (strace printing the call
# the kill cut short) may finish for this long before the tick stops it too; its
# blocking calls end at once either way (EINTR).
HANDLER_GRACE = 0.5


def _caller_fd_share() -> threei.FdShare | None:
    """The host-fd share of the tree of the cage this thread serves (limits)."""
    caller = getattr(serving, "cage", None)
    return getattr(caller, "fd_share", None)


limits.caller_fd_share = _caller_fd_share


def thread_stopping() -> bool:
    """Whether the cage this thread runs for is being stopped (killed, exiting)."""
    caller = getattr(serving, "cage", None)
    return caller is not None and (caller.kill_requested or caller.slot.exiting)


@_EPOCH_CB_T
def _on_epoch(context, key, delta, kind) -> int:
    cage = _cages_by_key.get(key or 0)
    delta[0] = 1
    kind[0] = 0  # continue
    if cage is None:           # the store's cage ended: only a grate's worker is left
        return _stop_error(b"grate ended")
    address = ctypes.cast(context, ctypes.c_void_p).value or 0
    own = address == cage.context_address
    if own and cage.mem is not None and (touched := cage.mem.null_page_touched()):
        cage.null_page_fault(touched)
        if cage.status is not None:
            return _stop_error(b"null pointer dereference")
    caller = getattr(serving, "cage", None)
    if cage.kill_requested or (caller is not None and caller.kill_requested and (
            own or time.monotonic() - caller.kill_requested_at > HANDLER_GRACE)):
        return _stop_error(b"killed")
    starting = _starting.get(address)
    if starting is not None:      # a start function: this instance is nobody's yet
        return _stop_error(_START_TOO_LONG.encode()) if time.monotonic() > starting[0] else 0
    if own and cage.slot.exiting and cage.current_tid() != cage.id:
        return _stop_error(b"cage ending")    # another thread of a cage that exits or execs
    if cage.out_of_memory(context):
        return _stop_error(b"out of memory")
    if own:
        if signals.caller(cage).ready:
            return cage.run_handlers_from_tick()
        cage.tick_waited = False
        signals.note_quiet(cage)    # then the next ticks stay in the trampoline
    return 0


_ON_EPOCH = ctypes.cast(_on_epoch, ctypes.c_void_p).value


def watch_epochs(store: wasmtime.Store, cage: Cage) -> None:
    """Let wasm running in `store` be stopped when `cage` is killed (at the next tick):
    the trampoline answers the ticks with nothing to do, _on_epoch the others."""
    _watch_epochs_at(_store_address(store), loader.context_address(store), cage)


def _store_address(store: wasmtime.Store) -> int:
    """The store's wasmtime_store_t (a ctypes cast, ~1.7 us: kept on the store, which a
    kept instance's next cages use again)."""
    address = getattr(store, "lind_address", None)
    if address is None:
        address = store.lind_address = ctypes.cast(store.ptr(), ctypes.c_void_p).value or 0
    return address


def _watch_epochs_at(store_address: int, context: int, cage: Cage) -> None:
    """watch_epochs for the store whose wasmtime_store_t and context are at these."""
    key = id(cage)
    _cages_by_key[key] = cage
    threei.watch_epochs(store_address, context, cage.slot, _ON_EPOCH, key)


# Started with the first cage, not at import: until then Lind runs no thread of its own
# (so `lind run --isolate` can still create namespaces, which a threaded process cannot).
_ticker_thread = threading.Thread(target=_ticker, name="lind-epoch", daemon=True)
_SHUTDOWN_GRACE = 2.0    # seconds cages get to stop when the interpreter exits


def _shutdown() -> None:
    """At interpreter exit, before anything is freed: stop every cage (and so every grate
    worker, which runs on a cage's thread), then the ticker. A cage that cannot be stopped
    (blocked in a host read) keeps its instance for good: its thread may still use it."""
    global _ticker_stopped
    live = [c for c in list(_cages_by_key.values()) if c.thread.is_alive()]
    for cage in sorted(live, key=lambda c: c.id, reverse=True):
        cage.terminate()      # the youngest first, as Runtime.terminate_tree does
    deadline = time.monotonic() + _SHUTDOWN_GRACE
    for cage in live:
        cage.thread.join(max(deadline - time.monotonic(), 0))
    stuck = [c for c in live if c.thread.is_alive()]
    for cage in stuck:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(cage))
    if stuck:
        return   # the ticker stays: stuck threads may come back into wasm
    with _ticker_lock:
        _ticker_stopped = True
        _ticker_stop.set()
        _ticker_wake.notify_all()
    if _ticker_thread.ident is not None:
        _ticker_thread.join(_SHUTDOWN_GRACE)


atexit.register(_shutdown)


# Made on first use, once (Cage.children_changed, Cage._nap).
_lazy_lock = threading.Lock()


def _strings(items: Sequence[bytes]) -> tuple[int, bytes]:
    return len(items), b"".join(s + b"\0" for s in items)


ASYNCIFY_BUFFER = 256 * 1024   # unwound wasm frames of one cage (fork, setjmp)
T = TypeVar("T")
DELIVER_SIGNALS = "__lind_deliver_signals"   # the guest libc's handler runner
# Handlers the ticks start inside handlers they started, on one thread: deeper ones wait
# for the outer to return. Each level is host stack and Python frames; a module whose
# runner never takes its signal would otherwise nest one a tick until the host's
# recursion limit broke the tick itself, and with it every kill and timeout.
MAX_TICK_HANDLER_DEPTH = 8
_tick_handlers = threading.local()
# A number for each start or exec of a program (Cage.program_origin): never one of an
# earlier program, as a cage id would be again after that cage's exec.
_program_starts = itertools.count(1)
ASYNCIFY = loader.ASYNCIFY_EXPORTS[0]         # the program can fork and longjmp


class Cage:
    """A program instance plus its process state; `start()` runs it on its own thread.

    The process state (fds, cwd, signal dispositions, 3i table) outlives the wasm
    instance: exec replaces the instance, fork copies both into a new cage.
    """

    # The calling thread's instance and its unwind state (thread.Instance).
    store = PerThread()
    instance = PerThread()
    exports = PerThread()
    context_address = PerThread()
    _asyncify_buffer = PerThread()
    _rewind_result = PerThread()
    _rewinding = PerThread()
    _after_unwind = PerThread()
    _unwind_replaces_stack = PerThread()
    tick_waited = PerThread()

    def __init__(self, *, runtime: Any, cage_id: int, parent: Cage | None, argv: Sequence[bytes],
                 env: Sequence[bytes], fs: FileSystem, cwd: str, ids: tuple[int, int, int, int],
                 hostname: str, fds: FdTable | None = None,
                 budget: limits.MemoryBudget | None = None,
                 network: Network | None = None, processes: limits.Counted | None = None,
                 rlimit_cpu: tuple[int, int] = (limits.RLIM_INFINITY, limits.RLIM_INFINITY),
                 rlimit_fsize: tuple[int, int] = (limits.RLIM_INFINITY, limits.RLIM_INFINITY),
                 rlimit_stack: tuple[int, int] = (limits.STACK, limits.RLIM_INFINITY)) -> None:
        self.runtime = runtime
        self.id = cage_id
        self.ppid = parent.id if parent else 0
        # a child of it ended, or came to it (orphans go to init): what waitpid waits on,
        # made by the first wait (children_changed; most processes never wait)
        self._children_changed: threading.Condition | None = None
        # The first cage's group and session lie outside its tree, as for the first
        # process of a Linux PID namespace (0 seen from inside): it may call setsid().
        self.pgid = parent.pgid if parent else 0
        self.sid = parent.sid if parent else 0
        # /proc/self/exe: the program's guest path, and its host file if named to Lind.
        self.exe: tuple[str, str | None] = parent.exe if parent else ("/", None)
        self.fs = fs
        self._cwd = cwd
        self._umask = parent.umask if parent else 0o022
        # RLIMIT_STACK (soft, hard); the soft limit sizes a program's stack when it starts
        self.rlimit_stack = parent.rlimit_stack if parent else rlimit_stack
        # (where the program's stack starts, the top of the region it was linked with)
        self.stack_top: tuple[int, int] | None = None
        # Its process tree's memory budget (a root cage's is given, a child shares its
        # parent's), what this cage holds of it, and its RLIMIT_AS (soft, hard).
        self.memory_budget = parent.memory_budget if parent else budget
        self.memory_charge = limits.MemoryCharge(self.memory_budget)
        self._code_held: wasmtime.Module | None = None     # its program's, in the budget
        self._strings_charge = limits.MemoryCharge(self.memory_budget)   # argv and env
        cap = min(MAX_MEMORY, self.memory_budget.ceiling())
        self.rlimit_as = parent.rlimit_as if parent else (cap, cap)
        self.rlimit_nproc = parent.rlimit_nproc if parent else (limits.NPROC, limits.NPROC)
        # The processes its tree may have at once (a policy's `processes`: EAGAIN past
        # it); `counted` once this cage holds one of them. RLIMIT_CPU: (soft, hard) s.
        self.process_count = parent.process_count if parent else processes
        self.counted = False
        self.rlimit_cpu = parent.rlimit_cpu if parent else rlimit_cpu
        self.next_xcpu = self.rlimit_cpu[0]     # SIGXCPU again each further second
        # RLIMIT_FSIZE (soft, hard) bytes; while the soft one is finite, every write
        # goes through the microvisor, which checks it (see _mirror_fd).
        self.rlimit_fsize = parent.rlimit_fsize if parent else rlimit_fsize
        self.rlimit_sigpending = (parent.rlimit_sigpending if parent
                                  else (limits.SIGPENDING, limits.SIGPENDING))
        self.robust_list = (0, 0)   # its first thread's; not kept across fork or exec
        self.ids = ids                          # (uid, euid, gid, egid) the cage sees
        # The rest of its identity: saved set-user and set-group ids, supplementary groups.
        self.saved_ids: tuple[int, int] = parent.saved_ids if parent else (ids[1], ids[3])
        self.groups: tuple[int, ...] = parent.groups if parent else ()
        # Per-process settings fork copies (prctl, setpriority, sched_setaffinity)...
        self.nice = parent.nice if parent else 0
        # /proc/self/oom_score_adj and the least value it may be lowered to without
        # privilege (Linux's oom_score_adj_min): the first cage's are the Lind process's
        self.oom_score_adj: tuple[int, int] = (parent.oom_score_adj if parent
                                               else (_HOST_OOM_SCORE_ADJ,) * 2)
        # the first thread's CPUs (None: all) and name (PR_SET_NAME; None: the
        # program's): a fork's child has those of the thread that forked
        forking = parent._calling_thread_state() if parent else None
        self.affinity: frozenset[int] | None = forking.affinity if forking else None
        self.comm: str | None = forking.comm if forking else None
        self.dumpable = parent.dumpable if parent else 1
        self.no_new_privs = parent.no_new_privs if parent else False
        self.tid_address = parent.tid_address if parent else 0
        # ... and those it does not: the signal to get when the parent ends, and whether
        # it has exec'd (then its parent's setpgid of it is EACCES).
        self.pdeathsig = 0
        self.did_exec = False
        # the start or exec that began the program it runs: a fork runs its parent's
        # until it execs (3i lets a fork of a grate route into it freely)
        self.program_origin: int = (parent.program_origin if parent
                                    else next(_program_starts))
        # CPU seconds (user, system) of reaped children, and its own once it has ended.
        self.children_cpu = (0.0, 0.0)
        self.cpu_at_end: tuple[float, float] | None = None
        self.hostname = hostname                # uname's node name
        self.network = parent.network if parent else network or Network()   # its tree's
        self.slot = threei.Slot(self, runtime.key)
        # its tree's part of the host fds (limits.HostFds.tree_limit), which the files
        # its calls open count in, those the trampoline opens included
        self.fd_share = parent.fd_share if parent is not None else limits.host_fds.new_share()
        self.slot.set_fd_share(self.fd_share)
        # and of the mprotect ranges of the process (its memories count in it: load)
        self.range_share = parent.range_share if parent is not None else threei.RangeShare()
        self.memory_charge.on_change = self.slot.set_memory_charged    # its epoch ticks look
        opened_by = self.slot if threei.ACCELERATED else None   # the C trampoline opens too
        # a fork's child: the parent's files, mirrored as they are there (the same
        # files and RLIMIT_FSIZE: what _mirror_fd would make of each)
        copy_mirror = ((lambda: self.slot.copy_fds(parent.slot))
                       if parent is not None and fds is parent.fds else None)
        self.fds = (fds.copy(self._mirror_fd, self._fd_closed, opened_by,
                             copy_mirror=copy_mirror) if fds
                    else FdTable(mirror=self._mirror_fd, on_close=self._fd_closed,
                                 opened_by=opened_by))
        self.fds.fd_share = self.fd_share
        self.init_id = parent.init_id if parent else cage_id   # root of its process tree
        self.signals = signals.SignalState(
            cage_id, limits.tree_of(self), parent.signals if parent else None,
            signals.caller(parent) if parent else None)   # fork copies the calling thread's
        if parent is not None:      # nothing pending, and its words are the parent's copy:
            signals.note_quiet(self)    # its mask changes need not settle anything
        self.children: dict[int, Cage] = {}   # live and ended-but-unreaped children
        self.finished = False                 # set by the runtime once the program ended
        self.status: int | None = None       # wait(2) encoding once the cage has ended
        self.trap_message: str | None = None
        self.kill_requested = False
        self.kill_requested_at = 0.0
        self._nap_made: threading.Condition | None = None   # see _nap
        self._done = stacks.Latch()     # set once the program has ended
        self._on_done: list[Callable[[], None]] = []
        if parent is None:
            microvisor.install(self.slot)
        else:  # handler tables are inherited on fork (as the parent's are between changes)
            with runtime.table_lock:
                self.slot.copy_table(parent.slot)
        self._set_ids()
        self.fd_limits_changed()
        self.slot.set_cwd(cwd.encode("utf-8", "surrogateescape"))
        self.slot.set_file_size_limited(self.rlimit_fsize[0] != limits.RLIM_INFINITY)
        self.slot.set_umask(self._umask)
        self.slot.set_files(fs.trampoline_mounts())
        self._set_command_line(argv, env, parent)
        self._main_instance = Instance()     # its first thread's (others: CageThread)
        self.mem: threei.Memory | None = None
        self.aspace: AddressSpace | None = None
        self.shared_memory: wasmtime_engine.SharedMemory | None = None   # what `lind cc` programs import
        self._grate_workers: grate_worker.GrateWorkers | None = None
        # What decides whether its instance may serve a later fork (_kept_instance).
        self._uses_wasi = self._had_threads = self._served_as_grate = False
        self._memory_max_pages = 0
        # execve's (module, argv, env, the calling thread's signal mask) until the first
        # thread runs it
        self._exec: tuple[wasmtime.Module, list[bytes], list[bytes], int,
                          frozenset[int] | None] | None = None
        # setjmp's saved frames and stack pointers, by the token written in the jmp_buf
        # (the trampoline's and the handlers' alike; unguessable, as pointers would be); a
        # child's are its parent's, which a fork keeps and a spawn clears as exec does
        self.jump_points = (parent.jump_points.copy() if parent is not None else
                            threei.JumpPoints(int.from_bytes(os.urandom(4), "little") << 32 | 1,
                                              limits.JUMP_POINTS, limits.JUMP_POINT_BYTES,
                                              limits.JUMP_POINT_TREE_BYTES))
        self.spawn_plan: bytes | None = None    # a posix_spawn child's, until it takes it
        self.thread = stacks.PooledThread(self._main, f"cage-{cage_id}")
        # Its other threads (clone(CLONE_THREAD)), by thread id, and how many of all its
        # threads, the first included, have not ended: the last one's exit is the cage's.
        self.threads: dict[int, CageThread] = {}
        self._threads_changed = threading.Condition()
        self._threads_alive = 1
        self._ended_threads_cpu = (0.0, 0.0)    # (user, system) s of its threads that ended
        self._main_exited = False     # the first thread ended by exit(2), others run on
        # Instances (with their Stores) that threads ended by exit(2) left, for the next
        # threads of the same program: making and deleting one costs more than the rest
        # of a pthread_create and join together.
        self._idle_thread_instances: list[ThreadKit] = []

    @property
    def children_changed(self) -> threading.Condition:
        """What waitpid waits on (with the runtime's lock held): a child of this cage
        ended or came to it. Made by the first wait: a Condition costs ~2 us, and a
        fork's child seldom waits for children of its own."""
        made = self._children_changed
        if made is not None:        # (no lock shared by every cage once it is made)
            return made
        with _lazy_lock:
            if self._children_changed is None:
                self._children_changed = threading.Condition(self.runtime.lock)
            return self._children_changed

    def notify_children_changed(self) -> None:
        """Wake whoever waits for this cage's children (with the runtime's lock held, as
        every wait is made: one that has not made the condition yet waits on nothing)."""
        if self._children_changed is not None:
            self._children_changed.notify_all()

    @property
    def _nap(self) -> threading.Condition:
        """What sleep, pause and sigsuspend wait on; made by the first of them."""
        made = self._nap_made
        if made is not None:
            return made
        with _lazy_lock:
            if self._nap_made is None:
                self._nap_made = threading.Condition()
            return self._nap_made

    def _set_command_line(self, argv: Sequence[bytes], env: Sequence[bytes],
                          parent: Cage | None = None, *, exec_: bool = False) -> None:
        """The program's argv and environment, and what its start-up imports give crt1
        (the trampoline's to answer); a child given its parent's shares its strings."""
        same = parent is not None and argv is parent.argv and env is parent.env
        # kept twice in the host, outside linear memory (up to ARG_MAX each at an exec):
        # a thousand cages exec'ing 2 MiB of them held 4 GiB, so what an exec gives
        # counts in the budget (a fork's child shares its parent's; the first program's
        # are the person's)
        self._strings_charge.set(strings_bytes(argv, env) if exec_ else 0)    # ENOMEM
        self.argv, self.env = list(argv), list(env)
        self._startup_strings = (parent._startup_strings if same else
                                 (*_strings(self.argv), *_strings(self.env)))
        self.slot.set_startup_strings(*self._startup_strings)

    def _set_ids(self) -> None:
        uid, euid, gid, egid = self.ids
        self.slot.set_ids(self.id, self.ppid, uid, euid, gid, egid, *self.saved_ids)

    def set_identity(self, ids: tuple[int, int, int, int], saved: tuple[int, int]) -> None:
        """setuid and friends: the new (uid, euid, gid, egid) and saved (suid, sgid), kept
        here and in the Slot the trampoline answers getuid() from."""
        self.ids, self.saved_ids = ids, saved
        self._set_ids()

    def cpu_left(self) -> float:
        """CPU seconds before its hard RLIMIT_CPU (a compile for it may use no more)."""
        hard = self.rlimit_cpu[1]
        return math.inf if hard == limits.RLIM_INFINITY else max(hard - sum(self.cpu_times()), 0)

    def add_cpu(self, seconds: float) -> None:
        """CPU its exec's compile used in the compiler's process: the cage's own."""
        with self._threads_changed:
            user, system = self._ended_threads_cpu
            self._ended_threads_cpu = (user + seconds, system)

    def compile_group(self) -> object:
        """Its exec's compiles share their slots with its tree's (compiler.CpuAccount)."""
        return limits.tree_of(self)

    def cpu_times(self) -> tuple[float, float]:
        """(user, system) CPU seconds all the cage's threads have used, ended ones
        included, as getrusage(RUSAGE_SELF) says: each counted from its start, not from
        its pooled host thread's (which ran other cages before)."""
        if self.cpu_at_end is not None:
            return self.cpu_at_end
        with self._threads_changed:     # a thread's time moves to _ended_threads_cpu
            user, system = self._ended_threads_cpu
            for host in (self.thread, *(t.host for t in self.threads.values() if t.host)):
                more_user, more_system = host.cpu_times()
                user, system = user + more_user, system + more_system
        return user, system

    def _calling_host_thread(self) -> stacks.PooledThread:
        thread = self.calling_thread()
        return thread.host if thread is not None and thread.host else self.thread

    def thread_cpu_times(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the calling thread, as getrusage(RUSAGE_THREAD)."""
        return self._calling_host_thread().cpu_times()

    def thread_cpu_seconds(self) -> float:
        """CPU seconds of the calling thread, by its clock (CLOCK_THREAD_CPUTIME_ID)."""
        return self._calling_host_thread().cpu_seconds()

    def set_parent(self, ppid: int) -> None:
        self.ppid = ppid
        self._set_ids()

    # -- the wasm instance ----------------------------------------------------
    def load(self, module: wasmtime.Module, reused: PooledInstance | None = None, *,
             fresh: bool = False, forking: bool = False) -> None:
        """Instantiate `module` as this cage's program (at start and on exec), or take
        an ended cage's instance of it (`reused`, see instance_pool): made as a new one
        starts when `fresh` (exec, spawn), else cleared by the fork that copies into it.
        `forking`: the fork gives it its address space and stack (Cage.forked)."""
        self._end_grate()   # before the old instance goes: its workers may still use it
        threei.keep_fault_order()   # Wasmtime's and Lind's fault handlers before any newcomer
        eng = wasmtime_engine.engine()
        cap = min(MAX_MEMORY, self.memory_budget.ceiling())
        if reused is None or fresh:     # (a fork's child is charged its memory below)
            self.memory_charge.clear()
            self.memory_charge.set(self.initial_memory(module))   # ENOMEM: budget spent
        if module is not self._code_held:
            self.memory_budget.hold(module, loader.code_size(module))     # ENOMEM too
            self._release_code()
            self._code_held = module
        self.module = module
        self._idle_thread_instances.clear()     # instances of the program exec replaced
        self._had_threads = self._served_as_grate = False   # of this memory
        if reused is not None:
            self._adopt(reused)
            if fresh:
                instance_pool.make_fresh(instance_pool.fresh_state(module), self.mem,
                                         self.store, self.exports)
            uses_wasi = False
        else:
            # even raw memory.grow stops there; over the cage's shared memory, only the GC heap
            shared = loader.shape(module).shared_memory
            own_memory = shared is None
            self.store = _cage_store(eng, memory_size=cap if own_memory else GC_HEAP_LIMIT,
                                     memories=int(own_memory), budget=self.memory_budget,
                                     module=module)
            watch_epochs(self.store, self)
            linker = self._linker_for(self.store)
            wasi = _wasi_imports(module)
            uses_wasi = wasi is not None and self._named(lambda: wasi.define(linker, self, module))
            context = loader.context_address(self.store)
            self.context_address = context
            if shared is not None:
                # a shared memory has no store to limit it: its own maximum is the cap (or
                # the module's, which may not be exceeded: a shared import declares one)
                least, most = shared[0], self._max_pages(module)
                self.shared_memory = wasmtime_engine.SharedMemory.of_pages(eng, least, most)
                self._memory_max_pages = most
                self.shared_memory.define_in(linker, self.store)
                self.mem = threei.Memory.shared(self.shared_memory.address(), self.shared_memory)
            self.instance = self._instantiate(linker, self.store, module)
            self.exports = loader.Exports(self.store, self.instance, module)
            if shared is not None and not uses_wasi:
                instance_pool.note_fresh_state(module, self.mem, self.store, self.exports)
            if shared is None:
                self.shared_memory = None
                memory = self.exports["memory"]
                self.mem = threei.Memory(context, bytes(memoryview(memory._memory).cast("B")),
                                         self.store)
        self._uses_wasi = uses_wasi
        self.slot.set_memory(self.mem)
        self.mem.count_ranges_in(self.range_share)
        if loader.null_page_unused(module) and mmap.PAGESIZE <= NULL_PAGE_SIZE:
            self.mem.guard_null_page()   # False without the C trampoline: then no guard
        if uses_wasi:
            self._named(lambda: wasi.setup(self))  # scratch page, preopen fd 3
        self.memory_charge.set(self.mem.size())
        self._main_instance.thread_start = None
        self._main_instance.entry = START
        self._main_instance.unwinder.reset()    # a new instance: bound again when it unwinds
        if forking:
            return
        heap_base, linked_stack_top = loader.layout(module)
        self._limit_stack(linked_stack_top)
        try:
            self.aspace = AddressSpace(heap_base if heap_base is not None else self.mem.size(),
                                       self.grow_memory, self.mem, min(self.rlimit_as[0], cap),
                                       self.memory_budget)
        except ValueError as exc:   # the loader checks this too; never trust a module
            raise loader.ProgramError(f"{self.argv[0].decode(errors='replace')}: {exc}") from None
        self.aspace.watch_shared(self.slot.set_shared_ranges)

    def _adopt(self, reused: PooledInstance) -> None:
        """Take an ended cage's instance as this cage's (the fork clears its memory:
        _scrub_reused): its system calls, start-up imports and epoch callback are
        pointed at this cage."""
        self.store = reused.store
        self.store.lind_slot_ref.slot = self.slot
        _watch_epochs_at(reused.store_address, reused.context, self)
        self.context_address = reused.context
        self.shared_memory = reused.shared_memory
        self._memory_max_pages = reused.max_pages
        self.mem = threei.Memory.shared(self.shared_memory.address(), self.shared_memory)
        self.instance = reused.instance
        self.exports = reused.exports

    def _max_pages(self, module: wasmtime.Module) -> int:
        """How far `module`'s shared memory may grow in this cage: the budget's ceiling,
        or less if the module declares a maximum (a shared memory must, and keeps it)."""
        cap = min(MAX_MEMORY, self.memory_budget.ceiling())
        declared = loader.shape(module).shared_memory[1]
        return min(cap // WASM_PAGE, declared or cap // WASM_PAGE)

    def _kept_for_fresh_start(self, module: wasmtime.Module,
                              freed: int = 0) -> PooledInstance | None:
        """An instance of `module` an ended cage of this tree left, of about the size a new
        one starts with, for an exec or a spawned child to start the program afresh in:
        no larger than the budget holds beside `freed` bytes the caller gives back (a
        new instance would fit where the kept one might not)."""
        shape = loader.shape(module)
        if shape.shared_memory is None or instance_pool.fresh_state(module) is None:
            return None
        least = shape.shared_memory[0]
        affordable = (self.memory_budget.available() + freed) // WASM_PAGE
        most = min(least + instance_pool.FRESH_START_SLACK_PAGES, affordable)
        return self.runtime.instances.take(self.init_id, module, self._max_pages(module),
                                           range(least, most + 1))

    def _kept_instance(self) -> PooledInstance | None:
        """This program's instance, if a later fork, exec or spawn in the tree may take it
        once the program is gone: nothing but the cage's first thread can have run over
        its memory (it never had another thread, nor grate workers), no WASI, forkable
        or one that can be made fresh again."""
        first = self._main_instance
        if (self.shared_memory is None or self._uses_wasi or self._had_threads
                or self._served_as_grate or first.store is None
                or (ASYNCIFY not in first.exports
                    and instance_pool.fresh_state(self.module) is None)):
            return None
        return PooledInstance(self.module, first.store, first.instance, first.exports,
                              self.shared_memory, self._memory_max_pages,
                              self.mem.size() // WASM_PAGE, _store_address(first.store),
                              first.context_address)

    def _retire(self, kept: PooledInstance | None, mem: threei.Memory, served_as_grate: bool
                ) -> None:
        """A program is gone (exit, exec): its memory `mem` is released, or kept with its
        instance `kept` for the next fork in the tree if no host operation holds it (the
        fork clears it: _scrub_reused). A released memory's RAM goes now, not when the
        parent waits for the cage (a killed process holds none), unless the program
        `served_as_grate`: its handlers may still be finishing there (0.5 s at most)."""
        if kept is not None and mem.recycle():
            self.runtime.instances.put(self.init_id, kept)
            return
        mem.release(discard=not served_as_grate)

    def _linker_for(self, store: wasmtime.Store) -> wasmtime.Linker:
        """A Linker with this cage's imports for an instance in `store`: its system calls
        and start-up imports, through a SlotRef the store keeps (which _adopt may point
        at another cage)."""
        linker = wasmtime.Linker(store.engine)
        store.lind_slot_ref = threei.define_syscall_import(linker, self.slot)
        return linker

    def _named(self, step: Callable[[], T]) -> T:
        """`step` of loading the program, its refusals naming the program as the
        loader's and the start function's do (WASI's know no name)."""
        try:
            return step()
        except loader.ProgramError as exc:
            raise loader.ProgramError(f"{self.argv[0].decode(errors='replace')}: {exc}") from None

    def _limit_stack(self, linked: int | None) -> None:
        """Start the stack RLIMIT_STACK below `linked`, the top of its region (stack-first
        layout: it grows down towards address 0, where running out traps as a SIGSEGV),
        as Linux sizes a new program's stack from the limit at exec. The region is what
        `lind cc` linked (8 MiB); a larger limit gives that much. A program whose stack
        does not come first (None) keeps the stack it was linked with."""
        self.stack_top = None
        if linked is None:
            return
        top = min(linked, max(self.rlimit_stack[0], limits.MIN_STACK)) & ~15
        if top < linked:
            loader.set_i32(self.exports[loader.STACK_POINTER], self.context_address, top)
        self.stack_top = (top, linked)

    def initial_memory(self, module: wasmtime.Module) -> int:
        """Bytes `module`'s memory starts with; ENOMEM if this cage may never hold that."""
        size = loader.shape(module).initial_pages * WASM_PAGE
        if size > min(MAX_MEMORY, self.rlimit_as[0], self.memory_budget.ceiling()):
            raise OSError(errno.ENOMEM, "Cannot allocate memory")
        return size

    def grow_memory(self, pages: int) -> None:
        """Grow the linear memory (brk, mmap, fork), charged first to the budgets."""
        self.memory_charge.set(self.mem.size() + pages * WASM_PAGE)
        try:
            if self.shared_memory is not None:
                self.shared_memory.grow(pages)
            else:
                self.exports["memory"].grow(self.store, pages)
        except BaseException:
            self.memory_charge.set(self.mem.size())
            raise

    def out_of_memory(self, context: int | None) -> bool:
        """From the epoch tick in `context`: charge memory the program grew by itself (wasm
        memory.grow); past the budget, kill the cage as the OOM killer would. True if so."""
        if ctypes.cast(context, ctypes.c_void_p).value != self.context_address:
            return False   # a grate worker's store: its memory is the grate's, checked there
        return self.charge_grown_memory()

    def charge_grown_memory(self) -> bool:
        """Charge what the memory grew by beyond its charge (the program's own
        memory.grow); past the budget, kill the cage as the OOM killer would. True if so.
        From its epoch tick, or the ticker's round (a cage waiting in a call)."""
        # Under the charge's lock: the end of the cage gives its charge back (under it too)
        # only after it is stopping, so an ended cage is never charged again.
        with self.memory_charge.lock:
            mem = self.mem
            if mem is None or self.stopping:
                return False
            try:
                size = mem.size()
            except OSError:        # it ended meanwhile: its memory is gone
                return False
            if size <= self.memory_charge.bytes:
                return False
            try:
                self.memory_charge.set(size)
                return False
            except OSError:
                pass
        self.trap_message = (f"out of memory: killed cage {self.id}, its memory "
                             f"({size >> 20} MiB) passed its process tree's limit")
        self.terminate(signal.SIGKILL)
        return True

    def grate_workers(self) -> grate_worker.GrateWorkers:
        """What runs this grate's handlers for other cages (made on first use)."""
        if self._grate_workers is None and self.aspace is not None:
            self.aspace.stop_protecting()   # its workers' memories would not see them
        with self.runtime.lock:
            if self._grate_workers is None:
                self._grate_workers = grate_worker.GrateWorkers(self)
                self._served_as_grate = True    # workers ran over its memory
            return self._grate_workers

    def _end_grate(self) -> None:
        """The program that registered handlers is gone (exit or exec): they answer ENOSYS."""
        if self._grate_workers is not None:
            self._grate_workers.close()
            self._grate_workers = None

    @property
    def can_unwind(self) -> bool:
        instance = self.running_instance()
        return instance.store is not None and ASYNCIFY in instance.exports

    @property
    def cwd(self) -> str:
        return self._cwd

    @cwd.setter
    def cwd(self, path: str) -> None:
        """The trampoline opens relative paths too: it is told."""
        self._cwd = path
        self.slot.set_cwd(path.encode("utf-8", "surrogateescape"))

    @property
    def umask(self) -> int:
        return self._umask

    @umask.setter
    def umask(self, mask: int) -> None:
        """The trampoline creates files too: it is told."""
        self._umask = mask
        self.slot.set_umask(mask)

    def fd_limits_changed(self) -> None:
        """RLIMIT_NOFILE changed (or is set first): the trampoline closes and opens too."""
        self.slot.set_fd_limit(self.fds.ceiling())
        self.slot.set_open_limit(self.fds.limit)

    def open_found(self, host_fd: int, path: bytes, flags: int, st_mode: int) -> int:
        """The rest of an open the trampoline made of a FIFO or socket (see _accel.c)."""
        return sys_files.open_found(self, host_fd, path.decode("utf-8", "surrogateescape"),
                                    flags, st_mode)

    def _mirror_fd(self, fd: int, f: OpenFile | None) -> None:
        """Let the trampoline serve plain host-file I/O on `fd` itself (reads only while
        a file-size limit is set: the trampoline does not know it)."""
        if f is None:
            self.slot.mirror_fd(fd, -1, False, False, threei.IO_PLAIN, 0, False)  # closed
        elif f.is_dir and f.host_backed:    # *at calls from it resolve in C too
            self.slot.mirror_fd(fd, -1, False, False, threei.IO_PLAIN, 0, True,
                                f.path.encode("utf-8", "surrogateescape"))
        elif f.is_dir or not f.host_backed or not f.trampoline_io:
            self.slot.mirror_fd(fd, -1, False, False)
        else:
            writable = f.writable and self.rlimit_fsize[0] == limits.RLIM_INFINITY
            self.slot.mirror_fd(fd, f.host_fd, f.readable, writable, f.io_kind, f.description)

    def set_file_size_limit(self, soft: int, hard: int) -> None:
        """setrlimit(RLIMIT_FSIZE): the trampoline serves writes again only without one."""
        # Under the table's lock: a fd another thread closes between the look at its
        # file and the mirror would stay mirrored to the file's host fd, which the host
        # gives to the next open in the process once the file is gone.
        with self.fds.lock:
            self.rlimit_fsize = (soft, hard)
            self.slot.set_file_size_limited(soft != limits.RLIM_INFINITY)
            for fd in self.fds.numbers():
                self._mirror_fd(fd, self.fds.get(fd))

    def _fd_closed(self, f: OpenFile) -> None:
        """Closing any fd of a file drops this cage's POSIX locks on it."""
        sys_locks.fd_closed(self, f)

    # -- unwinding the wasm stack (Asyncify) for fork and setjmp --------------
    def _asyncify(self, name: str, *args: int) -> None:
        """Call one of Asyncify's exports without wasmtime-py's per-call type checks,
        which cost more than the rest of a fork."""
        instance = self.running_instance()
        loader.call_i32s(instance.exports[name], instance.context_address, self.slot, *args)

    def _asyncify_in_call(self, name: str, *args: int) -> None:
        """`_asyncify` from a system-call handler: a kill that stopped the export midway
        (at an epoch tick) is EINTR for the call, and the cage ends when it returns."""
        try:
            self._asyncify(name, *args)
        except (wasmtime.WasmtimeError, wasmtime.Trap):
            if self.kill_requested or self.status is not None:
                raise OSError(errno.EINTR, "Interrupted system call") from None
            raise

    def unwind_then(self, action: Callable[[], None], *, replaces_stack: bool = False) -> None:
        """From a handler: unwind the stack out of wasm, then run `action` on this thread.

        `replaces_stack` (longjmp) says `action` puts a whole saved stack in place, so
        it may also be taken out of a signal handler that interrupted code between two
        instructions, whose frames are then dropped.
        """
        if not self.can_unwind:
            raise OSError(errno.ENOSYS, "program was not built with unwinding (lind cc)")
        self._refuse_in_handler()
        instance = self.running_instance()
        if not instance._asyncify_buffer:
            instance._asyncify_buffer = self.aspace.mmap(0, ASYNCIFY_BUFFER, 3, 0x22, None)
        data = instance._asyncify_buffer
        self._let_trampoline_jump(instance)
        self.mem.write(data, struct.pack("<II", data + 8, data + ASYNCIFY_BUFFER))
        instance._after_unwind = action
        instance._unwind_replaces_stack = replaces_stack
        self._asyncify_in_call(ASYNCIFY, data)

    def _let_trampoline_jump(self, instance: Instance) -> None:
        """Bind `instance`, one of this cage's, to its Unwinder, so that the trampoline
        runs its next setjmp, longjmp and fork without Python (see _accel.c)."""
        if instance.unwinder.bound or loader.ASYNCIFY_STACK_POINTER not in instance.exports:
            return
        instance.unwinder.bind(instance.context_address, *instance.exports.unwind_addresses(),
                               self.jump_points, ASYNCIFY_BUFFER)

    def _on_own_thread(self) -> bool:
        """Whether the calling host thread runs this cage's program (one of its threads),
        not a grate's handler running on its caller's thread and calling as the grate:
        the running_instance() such a call sees is the grate's first thread's, which is
        its own thread's to touch."""
        return getattr(serving, "cage", None) is self

    def _refuse_in_handler(self) -> None:
        """ENOSYS for fork, exec and setjmp made by a grate's handler: it runs in a worker
        instance on its caller's thread, while the instance they would unwind or
        replace runs (or waits) on the grate's own."""
        if not self._on_own_thread():
            raise OSError(errno.ENOSYS, "a grate's handler cannot fork, exec or setjmp")

    def resume_with(self, result: int) -> None:
        """After an unwind: rewind the stack so the interrupted call returns `result`."""
        self._rewind_result = result

    def rewound(self) -> int | None:
        """In a handler: the result to return if this call is the end of a rewind. Only
        a call made on a thread of this cage's own can be: a grate's handler runs on its
        caller's thread and makes its calls as the grate, and would otherwise take (and
        stop, from the wrong thread, in a Store another thread is running) the rewind
        the grate's own thread is in the middle of."""
        if not self._on_own_thread():
            return None
        instance = self.running_instance()
        if not instance._rewinding:
            return None
        instance._rewinding = False
        self._asyncify_in_call("asyncify_stop_rewind")
        result, instance._rewind_result = instance._rewind_result, None
        # one the trampoline began ends here when a grate took setjmp but not longjmp
        made_in_c = instance.unwinder.take_rewind_result()
        return made_in_c if made_in_c is not None else result

    def save_jump_point(self, env: int) -> None:
        """After an unwind from setjmp(env): keep the unwound frames and the stack pointer
        under a new token written into the jmp_buf, so that a copy of its bytes jumps
        to the same place (as a jmp_buf's contents do on Linux)."""
        data = self._asyncify_buffer
        current, _ = struct.unpack("<II", self.mem.read(data, 8))
        if not data + 8 <= current <= data + ASYNCIFY_BUFFER:
            raise loader.Stopped("setjmp: the program overwrote its unwound frames")
        frames = self.mem.read(data + 8, current - data - 8)
        stack_pointer = loader.get_i32(self.exports[loader.ASYNCIFY_STACK_POINTER], self.context_address)
        try:
            token = self.jump_points.save(frames, stack_pointer & 0xFFFFFFFF, env)
        except MemoryError:
            raise loader.Stopped("setjmp: the host is out of memory for its frames") from None
        self.mem.write(env, struct.pack("<Q", token))

    def jump_token(self, env: int) -> int | None:
        """The token in jmp_buf `env` if it names a jump point of this cage."""
        (token,) = struct.unpack("<Q", self.mem.read(env, 8))
        return token if token in self.jump_points else None

    def restore_jump_point(self, token: int) -> None:
        """After an unwind from longjmp: make the next rewind land in the setjmp call
        that made `token`."""
        point = self.jump_points.take(token)
        if point is None:
            raise loader.Stopped("longjmp: its jump point was forgotten meanwhile")
        frames, stack_pointer = point
        data = self._asyncify_buffer
        self.mem.write(data + 8, frames)
        self.mem.write(data, struct.pack("<I", data + 8 + len(frames)))
        loader.set_i32(self.exports[loader.ASYNCIFY_STACK_POINTER], self.context_address,
                       stack_pointer)

    # -- fork and exec ---------------------------------------------------------
    def _new_child(self, child_id: int, reused: PooledInstance | None = None, *,
                   fresh: bool = False, forking: bool = False) -> Cage:
        """A child cage of this one, with this program instantiated afresh (or in
        `reused`, an ended cage's instance of it, made fresh if `fresh`): what fork and
        posix_spawn start from (`forking`: see load)."""
        # Memory the program grew by itself is charged now, so the child's copy counts
        # against what is really left (ENOMEM if nothing is).
        self.memory_charge.set(max(self.memory_charge.bytes, self.mem.size()))
        if self.process_count is not None:
            self.process_count.take()          # EAGAIN past the tree's processes
        try:
            child = Cage(runtime=self.runtime, cage_id=child_id, parent=self, argv=self.argv,
                         env=self.env, fs=self.fs.share(), cwd=self.cwd, ids=self.ids,
                         fds=self.fds, hostname=self.hostname)
        except BaseException:
            if self.process_count is not None:
                self.process_count.give()
            raise
        child.counted = self.process_count is not None
        try:
            # Its signalfds its own (each a new host fd, EMFILE past the tree's share):
            # here, where a failure lets go of the table it copied (in Cage(), each file
            # the parent held stayed open in the host for good, a pty's count with it).
            sys_events.own_signalfds(child)
            child.load(self.module, reused, fresh=fresh, forking=forking)
        except loader.ProgramError as exc:   # its start function failed this time
            child.release_unstarted()
            raise OSError(errno.EAGAIN, str(exc)) from None
        except BaseException:
            child.release_unstarted()
            raise
        return child

    def fork_unwound(self) -> int:
        """fork, once the calling thread's stack is out (by sys_fork, or by the trampoline
        itself: see "setjmp and longjmp" in _accel.c): the child's id, or -errno, which
        that thread's fork returns once rewound."""
        try:
            return self.runtime.fork(self).id
        except OSError as exc:
            return -(exc.errno or errno.EAGAIN)

    def spawned(self, child_id: int, plan: bytes) -> Cage:
        """posix_spawn's child: this program started afresh at its spawn entry, which
        asks for `plan` (what to do before it execs). Nothing is copied or unwound."""
        self._refuse_in_handler()
        if SPAWN_START not in self.exports:
            raise OSError(errno.ENOSYS, "the program has no spawn entry")
        child = self._new_child(child_id, self._kept_for_fresh_start(self.module), fresh=True)
        # a fresh start of this program: none of its handlers may run there (the
        # calling thread's mask, all blocked by posix_spawn, until the plan sets one)
        signals.exec_reset(child, signals.caller(self).mask)
        child._main_instance.entry = SPAWN_START
        child.spawn_plan = plan
        child.jump_points.clear()
        return child

    def forked(self, child_id: int) -> Cage:
        """A copy of this cage (just unwound) that resumes with fork() returning 0."""
        reused = (self.runtime.instances.take(self.init_id, self.module, self._memory_max_pages,
                                              range(self.mem.size() // WASM_PAGE + 1))
                  if self.shared_memory is not None else None)
        child = self._new_child(child_id, reused, forking=True)
        try:
            grow = (self.mem.size() - child.mem.size()) // WASM_PAGE
            if grow > 0:
                try:
                    child.grow_memory(grow)
                except wasmtime.WasmtimeError:
                    raise OSError(errno.ENOMEM, "Cannot allocate memory") from None
            mine, theirs = self.running_instance(), child._main_instance
            ranges = self._live_ranges(mine)
            if reused is not None:
                child._scrub_reused(ranges)
            for start, end in ranges:
                child.mem.copy_from(self.mem, start, start, end - start)
            for name in loader.shape(self.module).copied_globals:
                loader.copy_global(mine.exports[name], mine.context_address,
                                   theirs.exports[name], theirs.context_address)
            child.aspace = self.aspace.copy(child.grow_memory, child.mem)
            child.mem.inherit_protections(self.mem)     # after the shared regions' maps
            child.aspace.watch_shared(child.slot.set_shared_ranges)
            # the calling thread is the child's only one, resumed where it was entered
            theirs.thread_start = mine.thread_start
            child.stack_top = self.stack_top    # where this program's stack started
            theirs._asyncify_buffer = mine._asyncify_buffer
            child._let_trampoline_jump(theirs)     # its rewind, jumps and forks: in C
        except BaseException:
            child.release_unstarted()
            raise
        theirs._rewind_result = 0
        return child

    def _scrub_reused(self, keep: list[tuple[int, int]]) -> None:
        """A fork's child in a reused instance: zero what the cage that ended in it left,
        but for the ranges `keep` that the parent's copy is about to write."""
        self.mem.scrub(keep)

    def _live_ranges(self, instance: Instance) -> list[tuple[int, int]]:
        """What fork must copy: the used part of the stack (it grows down from the top of
        its region, stack-first layout), data, heap and private mappings; not the unused
        stack, nor shared mappings (the child maps the same pages), nor regions madvise
        said to wipe or leave out at a fork (the child's read zeros), nor the part of the
        Asyncify buffer past the frames just unwound (most of its 256 KiB: the child's
        rewind reads only those, and every unwind writes before it reads). `instance`:
        the calling thread's, just unwound."""
        size = self.mem.size()
        exports = instance.exports
        sp = (loader.get_i32(exports[loader.ASYNCIFY_STACK_POINTER], instance.context_address)
              if loader.ASYNCIFY_STACK_POINTER in exports else 0)
        at = max(sp if 0 < sp <= self.aspace.heap_base else 0, self.mem.lowest)
        skipped = self.aspace.shared_ranges() if self.aspace.shared else []
        skipped += self.aspace.regions_with(WIPE_ON_FORK | DONT_FORK)   # madvise's
        if self.stack_top is not None and self.stack_top[0] < self.stack_top[1]:
            skipped.append(self.stack_top)        # below RLIMIT_STACK: never the stack's
        data = instance._asyncify_buffer
        if data:
            (used_end,) = struct.unpack("<I", self.mem.read(data, 4))   # the cage's to write:
            if data + 8 <= used_end < data + ASYNCIFY_BUFFER:            # only if it is inside
                skipped.append((used_end, data + ASYNCIFY_BUFFER))
        ranges = []
        for start, end in sorted(skipped):
            if start > at:
                ranges.append((at, start))
            at = max(at, end)
        if at < size:
            ranges.append((at, size))
        return ranges

    def release_unstarted(self) -> None:
        """Undo a cage that never ran (a fork that failed half-way)."""
        self._end_grate()
        if self.aspace is not None:
            self.aspace.release_shared()
        self.fds.close_all()
        self.fs.close()
        self.memory_charge.clear()
        self._strings_charge.clear()
        self._release_code()
        self.uncount()
        _cages_by_key.pop(id(self), None)
        threei.release(self.slot)

    def _release_code(self) -> None:
        """Its program's machine code no longer counts in its budget for it."""
        if self._code_held is not None:
            self.memory_budget.unhold(self._code_held)
            self._code_held = None

    def uncount(self) -> None:
        """This cage no longer holds one of its tree's processes."""
        if self.counted:
            self.counted = False
            self.process_count.give()

    def exec_program(self, module: wasmtime.Module, argv: list[bytes], env: list[bytes]) -> None:
        """From the execve handler: stop this instance; the run loop starts `module`.

        ENOMEM (and the program goes on) if the new memory would not fit the budget
        even with this program's memory given back."""
        self._refuse_in_handler()
        code = 0 if self.memory_budget.holds(module) else loader.code_size(module)
        if (self.initial_memory(module) + code + strings_bytes(argv, env)
                > self.memory_budget.available() + self.memory_charge.bytes
                + self._strings_charge.bytes):
            raise OSError(errno.ENOMEM, "Cannot allocate memory")
        # the calling thread's mask and CPUs stay with the program, whichever thread it is
        self._exec = (module, argv, env, signals.caller(self).mask, self.thread_affinity())
        self.did_exec = True
        self.program_origin = next(_program_starts)
        self.slot.stop("exec")
        if self.threads:    # the first thread runs the new program: wake it if it waits
            self._interrupt_waits()

    def _do_exec(self) -> None:
        self._end_threads()
        self.robust_list = (0, 0)
        module, argv, env, mask, self.affinity = self._exec
        self._exec = None
        self.jump_points.clear()
        self.comm = None
        self.fds.close_on_exec()
        sys_timers.delete_all(self)     # POSIX timers do not survive exec; ITIMER_REAL does
        self.slot.resume()
        self.aspace.release_shared()
        signals.exec_reset(self, mask)
        kept, old_memory, served_as_grate = self._kept_instance(), self.mem, self._served_as_grate
        try:
            self._set_command_line(argv, env, exec_=True)
            self.load(module, self._kept_for_fresh_start(module, self.memory_charge.bytes),
                      fresh=True)
        except loader.ProgramError as exc:   # past the point of no return: as Linux, SIGKILL
            if self.kill_requested:
                # A signal that ends the cage came while the new program started (its
                # start function stopped): the cage ends by that signal, as on Linux
                # (libuv's parent sends SIGTERM as soon as the exec closed its pipe).
                self.status = abi.signal_status(self._kill_signal)
            else:
                self.trap_message = f"killed cage {self.id} at exec: {exc}"
                self.status = abi.signal_status(signal.SIGKILL)
            raise wasmtime.WasmtimeError("exec failed") from None
        except OSError:   # others took the memory since execve looked: the OOM killer's call
            self.trap_message = f"out of memory: killed cage {self.id} at exec"
            self.status = abi.signal_status(signal.SIGKILL)
            raise wasmtime.WasmtimeError("out of memory") from None
        self._retire(kept, old_memory, served_as_grate)

    # -- life cycle ---------------------------------------------------------
    def start(self, *, forked: bool = False) -> None:
        """Run the program on a host thread of its own; a fork's child (`forked`) may be
        woken there once the forking thread has let Python's lock go (stacks.set_wakes)."""
        _count_running(+1)
        try:
            self.thread.start(hand_over=forked)
        except BaseException:
            _count_running(-1)
            raise

    def running_instance(self) -> Instance:
        """The calling host thread's instance of this cage's program: a CageThread's, or
        the first thread's (also for threads serving other cages, grate workers...)."""
        return instance_of(self)

    def _thread_exited(self) -> bool:
        """Whether the calling thread ended by its own exit(2)."""
        thread = self.calling_thread()
        return thread.exited if thread is not None else self._main_exited

    def run_instance(self) -> None:
        """Run the calling thread's program; come back into it after each unwind, and
        (on the first thread) after exec."""
        first = self.current_tid() == self.id
        while True:
            instance = self.running_instance()
            if instance._rewind_result is not None:
                if instance.unwinder.bound:      # the rewound call's result is the trampoline's
                    result, instance._rewind_result = instance._rewind_result, None
                    loader.rewind(instance.unwinder, result)
                else:
                    instance._rewinding = True
                    self._asyncify("asyncify_start_rewind", instance._asyncify_buffer)
            try:
                instance.enter(self.slot)
            except (wasmtime.Trap, wasmtime.WasmtimeError) as stop:
                # A stop requested by a host call surfaces as WasmtimeError, a trap as Trap;
                # a longjmp out of a handler run from an epoch tick stops the code below it.
                if self.kill_requested or self.status is not None:
                    raise
                if self._thread_exited():    # exit(2) of this thread; others go on
                    if first and self._first_thread_runs_exec():
                        self._do_exec()
                        continue
                    return
                if self._after_unwind is not None:
                    self._finish_unwind()
                    continue
                if self._exec is None or not first:
                    if isinstance(stop, wasmtime.Trap) and self._run_fault_handler(stop):
                        continue
                    raise
                self._do_exec()
                continue
            if self._after_unwind is not None:
                self._finish_unwind()
                continue
            return

    def _first_thread_runs_exec(self) -> bool:
        """After the first thread's exit(2): wait until the other threads have ended.
        If one of them called execve, the first thread comes back to run the new
        program (True), as on Linux the thread that execs takes the process's id."""
        with self._threads_changed:
            while self.threads:
                self._threads_changed.wait()
            if self._exec is None or self.kill_requested or self.status is not None:
                return False
            self._main_exited = False
            self._threads_alive = 1
        return True

    def _run_fault_handler(self, trap: wasmtime.Trap) -> bool:
        """A trap is a fault (SIGSEGV, SIGFPE, SIGILL, SIGBUS): run the program's handler
        for it, as Linux does. True when the handler took a longjmp out (_run then resumes
        at the setjmp). The trap has unwound the code that faulted, so a handler that
        returns cannot go back to it: the cage ends with the signal (where Linux would run
        the faulting instruction again). The handler may also exit, or end the cage."""
        sig = TRAP_SIGNALS.get(trap.trap_code) if trap.trap_code is not None else None
        deliver = self.exports.get(DELIVER_SIGNALS) if self.exports else None
        if (sig in (None, signal.SIGKILL) or deliver is None or self.running_instance().unwinding()
                or not signals.catches(self, sig)):
            return False
        fault = _FAULT_ADDRESS.search(trap.message)
        address = int(fault.group(1), 16) if fault and sig == signal.SIGSEGV else 0
        signals.force(self, sig, signals.siginfo(sig, signals.SEGV_MAPERR, address),
                      own_thread=True)
        watch_epochs(self.store, self)
        try:
            deliver(self.store)    # a trap or stop inside the handler ends the cage from here
        except wasmtime.Trap:
            if not took_uncaught_exception(self.store):
                raise
            self.trap_message = _LONGJMP_FROM_HOST.format("the handler of a fault")
            if self.calling_thread() is None:
                self.status = abi.signal_status(sig)   # the fault stands, and ends the cage
            else:
                self.terminate(sig)                    # as a fault in a thread does
            return False
        if self._after_unwind is None or not self._unwind_replaces_stack:
            return False       # returned (or forked: not supported here): the trap stands
        self._finish_unwind()
        return True

    def _finish_unwind(self) -> None:
        self._asyncify("asyncify_stop_unwind")
        action, self._after_unwind = self._after_unwind, None
        action()

    def run_handlers_from_tick(self) -> int:
        """From the epoch tick: run signal handlers in code that makes no system calls.

        The guest's __lind_deliver_signals is called re-entrantly, in the middle of the
        interrupted code, like a handler on Linux. Returns 0 to let that code go on, or
        an error that stops it: the handler ended the cage, exec'd, was killed or took a
        longjmp (then _run resumes at the setjmp). Not while the stack is being unwound
        or rewound, and not for a program without that export (WASI, older builds).
        """
        if self.running_instance().unwinding():
            return 0
        deliver = self.exports.get(DELIVER_SIGNALS) if self.exports else None
        if deliver is None:
            return 0
        if not self.tick_waited and SAFEPOINT in self.exports and (
                ASYNCIFY in self.exports or loader.has_safepoints(self.module)):
            self.tick_waited = True
            return 0
        self.tick_waited = False
        depth = getattr(_tick_handlers, "depth", 0)
        if depth >= MAX_TICK_HANDLER_DEPTH:
            return 0
        # Wasmtime takes the callback out of the store while it runs: put it back, so
        # the handler itself can be killed, and give it a tick before it is called.
        watch_epochs(self.store, self)
        _tick_handlers.depth = depth + 1
        try:
            deliver(self.store)
        except wasmtime.Trap as trap:
            if took_uncaught_exception(self.store) and self.status is None:
                self.trap_message = _LONGJMP_FROM_HOST.format(
                    "a signal handler that interrupted code making no system calls")
                self.status = abi.signal_status(signal.SIGSYS)
            elif self.status is None and trap.trap_code is not None:   # not a host's stop
                self.trap_message = trap_reason(trap.message, memory=self.mem)
                self.status = abi.signal_status(TRAP_SIGNALS.get(trap.trap_code, signal.SIGILL))
            return _stop_error(b"trap in a signal handler")
        except wasmtime.WasmtimeError:
            return _stop_error(b"stopped in a signal handler")
        finally:
            _tick_handlers.depth = depth
        if self._after_unwind is None:
            return 0
        if not self._unwind_replaces_stack:
            self.trap_message = ("fork or setjmp in a signal handler that interrupted code "
                                 "making no system calls is not supported")
            self.status = abi.signal_status(signal.SIGSYS)
        return _stop_error(b"longjmp out of a signal handler")

    def _main(self) -> None:
        serve(self)
        threei.use_thread_signals(self.slot, self.signals.first.mask_cell)
        try:
            self.run_instance()
            if self.status is None and not self._main_exited:
                self.status = abi.exit_status(0)
        except wasmtime.Trap as trap:
            if os.environ.get("LIND_DEBUG_TRAPS"):
                print(trap.message, file=sys.stderr)
            if took_uncaught_exception(self.store) and self.status is None:
                self.trap_message = "longjmp to a jmp_buf whose setjmp's function has returned"
                self.status = abi.signal_status(signal.SIGSEGV)
            if self.status is None:
                sig = TRAP_SIGNALS.get(trap.trap_code, signal.SIGILL)
                if self.kill_requested:
                    sig = self._kill_signal
                self.trap_message = trap_reason(trap.message, self._main_stack_pointer(),
                                                memory=self.mem)
                self.status = abi.signal_status(sig)
        except wasmtime.WasmtimeError as err:
            if self.status is None:
                if self.kill_requested:
                    self.status = abi.signal_status(self._kill_signal)
                else:
                    self.trap_message = trap_reason(str(err))
                    self.status = abi.signal_status(signal.SIGSEGV)
        except Exception as exc:  # noqa: BLE001 - a Lind bug ends this cage, not the host
            self.internal_error(exc)
        finally:
            self._finish()
            _count_running(-1)
            threei.thread_done()    # the host thread goes back to the pool
            forget_thread_pins()
            serve(None)

    def _finish(self) -> None:
        """The program has ended: release what it held and tell who waits for it. Each
        step runs even when one before it raised (a Lind bug): a waiter left hanging,
        or a tree's fds and memory kept, would take its host down with it. (Attributes
        an early failure may have left unset are read inside their step.)"""
        for step in (self._end_threads, self._settle_status, self._stop_timers_and_tree,
                     self._end_grate, lambda: sys_ipc.cage_ended(self),
                     lambda: self.aspace.release_shared(), self.fds.close_all, self.fs.close,
                     self.memory_charge.clear, self._strings_charge.clear, self._release_code,
                     self.uncount, self._forget,
                     self._release_slot_and_memory, lambda: self.runtime.cage_ended(self),
                     self._forget_links):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - reported; the next steps still run
                self.internal_error(exc)
        with self.runtime.lock:
            self._done.set()
            callbacks, self._on_done = self._on_done, []
        for callback in callbacks:
            callback()

    def _settle_status(self) -> None:
        if self.status is None:
            self.status = abi.signal_status(self._kill_signal)
        self.cpu_at_end = self.cpu_times()

    def _stop_timers_and_tree(self) -> None:
        sys_timers.cancel_real_timer(self)
        sys_timers.delete_all(self)
        signals.forget_memory(self)
        signals.forget_all_pending(self)
        if self.status & 0x7F:
            # The program is over: the kill that ended it must not also stop the grate
            # handler told of it on this thread (see _on_epoch), as it stops the calls
            # the program was making.
            serving.cage = None
            ops.notify_harsh_exit(self, self.status & 0x7F)
        if self.id == self.init_id:
            # Its tree dies with it (runtime.cage_ended): killed before its grate stops
            # serving them, so a call it still serves ends with its caller, not back in it.
            for other in reversed(self.runtime.tree(self)):
                if other is not self:
                    other.terminate()

    def _forget(self) -> None:
        _cages_by_key.pop(id(self), None)

    def _release_slot_and_memory(self) -> None:
        threei.release(self.slot)
        self.slot.close_wake()
        # Calls still made for this cage from other threads (a grate acting for it) get
        # ESRCH from its memory; the pages go once no host operation uses them any more.
        self.slot.set_memory(None)
        self._retire(self._kept_instance() if not self.status & 0x7F else None, self.mem,
                     self._served_as_grate)
        self._main_instance = Instance()
        with self._threads_changed:
            self._idle_thread_instances.clear()

    def _forget_links(self) -> None:
        """Ended: nothing but its status is asked of it any more. What it holds stops
        pointing back at it (its slot, its fd table's and address space's hooks), so it
        goes when its parent (or the caller of lind.run) lets go instead of waiting for
        Python's cycle collector, whose passes over ended cages cost a tenth of a fork."""
        self.slot.forget_cage()
        self.fds.forget_hooks()
        if self.aspace is not None:
            self.aspace.forget_hooks()

    def on_done(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from the cage's thread, or now) once the program has ended:
        how an event loop learns it without a thread waiting."""
        with self.runtime.lock:
            if not self._done.is_set():
                self._on_done.append(callback)
                return
        callback()

    def wait(self, timeout: float | None = None) -> int | None:
        """The wait(2) status once the cage has ended, or None if `timeout` ran out."""
        if not self._done.wait(timeout):
            return None
        return self.status

    @property
    def returncode(self) -> int | None:
        """subprocess's convention: the exit code, or -N when killed by signal N."""
        if self.status is None:
            return None
        return -(self.status & 0x7F) if self.status & 0x7F else (self.status >> 8) & 0xFF

    # -- called from system-call handlers on the cage's own thread --------------
    def exit(self, code: int) -> None:
        """exit_group: the whole cage ends, every thread of it."""
        self.status = abi.exit_status(code)
        self.slot.stop("exit")
        if self.threads:
            self._interrupt_waits()

    def kill(self, sig: int) -> None:
        self.status = abi.signal_status(sig)
        self.slot.stop(f"killed by signal {sig}")
        if self.threads:
            self._interrupt_waits()

    @property
    def stopping(self) -> bool:
        """The cage's program is ending (exit, exec, a kill): every blocked call ends."""
        return self.kill_requested or self.status is not None or self.slot.exiting

    # -- threads -------------------------------------------------------------
    def calling_thread(self) -> CageThread | None:
        """The calling host thread's CageThread of this cage (None: its first thread, or
        a thread that is not the cage's)."""
        thread = getattr(serving, "thread", None)
        return thread if thread is not None and thread.cage is self else None

    def current_tid(self) -> int:
        """The thread id of the calling host thread's cage thread (the cage's id for the
        thread its program started on, as Linux numbers a process's first thread)."""
        thread = self.calling_thread()
        return thread.tid if thread is not None else self.id

    def thread_ids(self) -> list[int]:
        """The threads running: the first one (the cage's id) until its exit(2), and the
        others, as /proc/self/task lists them."""
        with self._threads_changed:
            return ([] if self._main_exited else [self.id]) + sorted(self.threads)

    def thread_comm(self, tid: int = 0) -> str | None:
        """The name of thread `tid` (0: the calling thread), None for the program's file
        name; ESRCH for a thread that is not this cage's."""
        tid = tid or self.current_tid()
        return self.comm if tid == self.id else self._other_thread(tid).comm

    def set_thread_comm(self, name: str, tid: int = 0) -> None:
        """PR_SET_NAME, or a write of a thread's comm file: each thread has its own name."""
        tid = tid or self.current_tid()
        if tid == self.id:
            self.comm = name
        else:
            self._other_thread(tid).comm = name

    def thread_affinity(self, tid: int = 0) -> frozenset[int] | None:
        """The CPUs thread `tid` (0: the calling thread) may run on, None for all: each
        thread has its own (sched_setaffinity names a thread); ESRCH for none of this cage's."""
        tid = tid or self.current_tid()
        return self.affinity if tid == self.id else self._other_thread(tid).affinity

    def set_thread_affinity(self, cpus: frozenset[int] | None, tid: int = 0) -> None:
        tid = tid or self.current_tid()
        if tid == self.id:
            self.affinity = cpus
        else:
            self._other_thread(tid).affinity = cpus

    def _calling_thread_state(self) -> Cage | CageThread:
        """What holds the calling thread's name and CPUs (thread_comm, thread_affinity):
        this cage for its first thread, else the thread's CageThread."""
        tid = self.current_tid()
        return self if tid == self.id else self._other_thread(tid)

    def _other_thread(self, tid: int) -> CageThread:
        """Thread `tid` of this cage, other than the first; ESRCH for none."""
        thread = self.threads.get(tid)
        if thread is None:
            raise OSError(errno.ESRCH, "No such process")
        return thread

    def clear_tid_address(self) -> int:
        """The calling thread's CLONE_CHILD_CLEARTID word (set_tid_address)."""
        thread = self.calling_thread()
        return thread.clear_tid if thread is not None else self.tid_address

    def set_clear_tid_address(self, addr: int) -> None:
        thread = self.calling_thread()
        if thread is not None:
            thread.clear_tid = addr
        else:
            self.tid_address = addr

    def set_robust_list(self, value: tuple[int, int]) -> None:
        """set_robust_list of the calling thread: (head, length)."""
        thread = self.calling_thread()
        if thread is not None:
            thread.robust_list = value
        else:
            self.robust_list = value

    def robust_list_of(self, tid: int) -> tuple[int, int]:
        return self.robust_list if tid == self.id else self._other_thread(tid).robust_list

    def clear_tid_word(self, addr: int) -> None:
        """A thread ended: zero its CLONE_CHILD_CLEARTID word and wake a waiter on it,
        as the kernel does (musl's thread list lock and pthread_join rely on it). Not
        once the cage stops: its memory may be gone."""
        if addr and not self.stopping:
            try:                 # noqa: SIM105 - contextlib costs more, at every thread's end
                self.mem.write(addr, _NO_TID)
                sys_futex.wake_word(self, addr)
            except OSError:
                pass

    def _instantiate(self, linker: wasmtime.Linker, store: wasmtime.Store,
                     module: wasmtime.Module) -> wasmtime.Instance:
        """linker.instantiate, whose start function (if the module has one) runs before
        the cage or thread has this instance, with the old program's state on exec or
        another thread's store at hand: its system calls are ENOSYS, and a trap in it
        is a ProgramError, the program's fault and not a Lind error.

        It runs on a thread with room for a wasm call stack (the caller of `lind.run`
        may have less; so may a cage's thread deep in its own wasm and a grate's: a
        posix_spawn a grate's handler passed on from there ran the new instance's start
        function past the end of the host stack, a SIGSEGV that ended Lind)."""
        return stacks.call_with_room(lambda: self._instantiate_here(linker, store, module),
                                     here=threei.room_for_wasm())

    def _instantiate_here(self, linker: wasmtime.Linker, store: wasmtime.Store,
                          module: wasmtime.Module) -> wasmtime.Instance:
        threei.refuse_calls_here(self.slot)
        context = loader.context_address(store)
        deadline = time.monotonic() + START_FUNCTION_SECONDS
        _starting[context] = [deadline, self.shared_memory, deadline + _TICK_SECONDS]
        _count_running(+1)       # the first program's runs before the cage has a thread
        try:
            return linker.instantiate(store, module)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            if _START_TOO_LONG in str(exc):
                why = f"its start function ran past {START_FUNCTION_SECONDS:g} s"
            elif "wasm backtrace" in str(exc):
                why = "its start function failed"
            else:
                why = str(exc).splitlines()[0]
            raise loader.ProgramError(f"{self.argv[0].decode(errors='replace')}: {why}") from None
        finally:
            _count_running(-1)
            del _starting[context]
            threei.refuse_calls_here(None)

    def instance_over_memory(self) -> tuple[wasmtime.Store, loader.Exports]:
        """One more instance of the program, over its shared memory and calling through
        its slot, in a Store of its own: a thread, or a grate's handler worker."""
        store = _cage_store(wasmtime_engine.engine(), memory_size=GC_HEAP_LIMIT, memories=0,
                            budget=self.memory_budget, module=self.module)
        watch_epochs(store, self)
        linker = self._linker_for(store)
        self.shared_memory.define_in(linker, store)
        instance = self._instantiate(linker, store, self.module)
        return store, loader.Exports(store, instance, self.module)

    def thread_instance(self) -> ThreadKit:
        """An instance for a new thread: one an ended thread of this program left (see
        new_thread, which takes it), else a new one. Its mutable globals need no reset:
        the thread's start sets the stack pointer, __lind_thread_start the TLS base (the
        only other one lind cc makes besides Asyncify's, which are idle once a thread has
        exited outside an unwind)."""
        store, exports = self.instance_over_memory()
        return store, exports, loader.context_address(store)

    def new_thread(self, start: ThreadStart) -> CageThread:
        """A thread for clone(CLONE_THREAD), not started yet (the caller writes its id
        where it was asked first). EAGAIN past the runtime's limit on cages and threads
        or the cage's RLIMIT_NPROC, or for a program whose memory is not shared (not
        built by lind cc: a shared memory, a thread start and a stack pointer to set)."""
        exports = self.exports
        if (self.shared_memory is None or THREAD_START not in exports
                or loader.STACK_POINTER not in exports):
            raise OSError(errno.EAGAIN, "this program cannot start threads")
        tid = self.runtime.reserve_id(self.init_id)
        creator = self.calling_thread()
        thread = CageThread(self, tid, start)
        # its creator's name and CPUs, as on Linux
        thread.comm, thread.affinity = ((self.comm, self.affinity) if creator is None
                                        else (creator.comm, creator.affinity))
        self._had_threads = True     # its memory may be touched by that thread until it ends
        with self._threads_changed:
            if self.stopping or self._threads_alive >= self.rlimit_nproc[0]:
                self.runtime.release_id(self.init_id)
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            self.threads[tid] = thread
            self._threads_alive += 1
            # the instance an ended thread left, if any (its old deadline passed while it
            # waited: rearmed below)
            kit = self._idle_thread_instances.pop() if self._idle_thread_instances else None
        try:
            # the creator's signals, as signals.caller finds them: the first thread's
            # for it (whether it runs or not) and for a call made for the cage elsewhere
            thread.signals = signals.add_thread(
                self, tid, self.signals.first if creator is None else creator.signals)
            # its instance now, so that a budget it does not fit is clone's EAGAIN
            if kit is None:
                kit = self.thread_instance()
            else:
                threei.rearm_epoch(kit[2])
            thread.prepared = kit
        except (OSError, loader.ProgramError) as exc:  # no host fd for its wake eventfd,
            with self._threads_changed:                # no memory for its instance
                del self.threads[tid]
                self._threads_alive -= 1
                if kit is not None:
                    self._keep_thread_instance(kit, self.module)
            self.runtime.release_id(self.init_id)
            if thread.signals is not None:
                signals.remove_thread(self, tid)
            # its start function trapped: the cage's end, unless the cage was ending
            # already (a kill stops the start function too: the kill's signal stands)
            if isinstance(exc, loader.ProgramError) and not self.stopping:
                self.trap_message = str(exc)
                self.terminate(signal.SIGILL)
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable") from None
        return thread

    def _keep_thread_instance(self, kit: ThreadKit, module: wasmtime.Module) -> None:
        """With _threads_changed held: the instance of a thread its exit(2) ended (or one
        that never ran), for the next new_thread: kept while the cage runs that program,
        up to IDLE_THREAD_INSTANCES."""
        if (module is self.module and not self.stopping and self.status is None
                and len(self._idle_thread_instances) < IDLE_THREAD_INSTANCES):
            self._idle_thread_instances.append(kit)

    def exit_thread(self, code: int) -> None:
        """exit(2): the calling thread ends; the cage with it if it was the last one.
        Made by a grate's handler (on its caller's thread, none of this cage's), it is
        the grate program's exit_group: that thread is not one of the grate's to count
        out (it was taken for the first one, still running on its own thread)."""
        if not self._on_own_thread():
            self.exit(code)
            return
        thread = self.calling_thread()
        with self._threads_changed:
            self._threads_alive -= 1
            last = self._threads_alive == 0
            if thread is not None:
                thread.exited = True       # counted out here, not again when it ends
            elif not last:
                self._main_exited = True
        if last:
            self.exit(code)
            return
        if thread is None:    # the first thread ends before the others: now, as on Linux
            signals.remove_thread(self, self.id)
            self.clear_tid_word(self.tid_address)
        threei.stop_this_thread(self.slot)

    def thread_ended(self, thread: CageThread, kit: ThreadKit | None = None,
                     module: wasmtime.Module | None = None) -> None:
        """From the thread's own host thread, once its instance stopped for good; `kit`,
        its instance of `module`, is kept for the next thread (_keep_thread_instance).
        Its CLONE_CHILD_CLEARTID word is its host thread's last act (CageThread._main)."""
        signals.remove_thread(self, thread.tid)
        if thread.instance is not None and thread.instance._asyncify_buffer and not self.stopping:
            with contextlib.suppress(OSError):
                self.aspace.munmap(thread.instance._asyncify_buffer, ASYNCIFY_BUFFER)
        with self._threads_changed:
            # Its CPU time becomes the cage's before its joiner is woken: a joiner's
            # getrusage then counts it.
            if thread.host is not None:
                used = thread.host.cpu_times()
                thread.host = None
                self._ended_threads_cpu = (self._ended_threads_cpu[0] + used[0],
                                           self._ended_threads_cpu[1] + used[1])
            if kit is not None:
                self._keep_thread_instance(kit, module)
            del self.threads[thread.tid]
            if not thread.exited:
                self._threads_alive -= 1
            self._threads_changed.notify_all()
        self.runtime.release_id(self.init_id)

    def _end_threads(self) -> None:
        """Before the program goes (its end, exec): its other threads end first. After
        the first thread's exit(2) they run on until the last one exits."""
        with self._threads_changed:
            if not self.threads:
                return
            run_on = self._main_exited and not self.stopping
        if not run_on:
            if not self.slot.exiting:
                self.slot.stop("exit")
            self._interrupt_waits()
        with self._threads_changed:
            while self.threads:
                self._threads_changed.wait()

    def raise_signal(self, sig: int) -> None:
        """A signal the calling thread's own call caused (SIGPIPE): sent to that thread."""
        signals.send(self, sig, signals.own_siginfo(self, sig), own_thread=True,
                     to=signals.caller(self))

    def null_page_fault(self, kind: int = 1) -> None:
        """Host code (Wasmtime's memory.fill, memory.copy) touched this cage's null page
        (`kind` 1) or a page mprotect protected (2): SIGSEGV as for the fault, before the
        call the cage was about to make (from the trampoline, which then answers that
        call EINTR) or at an epoch tick."""
        self.trap_message = ("null pointer dereference in a bulk memory instruction"
                             if kind == 1 else
                             "segmentation fault: host code touched a page mprotect "
                             "protected (a bulk memory instruction, or a system call's "
                             "buffer protected meanwhile)")
        signals.force(self, signal.SIGSEGV, signals.siginfo(signal.SIGSEGV, signals.SEGV_MAPERR),
                      own_thread=self.thread.is_current())

    def signal_from_outside(self, sig: int, info: bytes | None = None) -> None:
        """A signal from another cage or the host (SIGCHLD, SIGALRM, kill)."""
        signals.send(self, sig, info, own_thread=False)

    def sleep_until(self, deadline: int) -> int:
        """Sleep until time.monotonic_ns() is `deadline`; returns the nanoseconds left
        if a caught signal or a kill cut it short."""
        with self._nap:
            while (left := deadline - time.monotonic_ns()) > 0:
                try:
                    self.block_on(self._nap, left / 1e9, restartable=False)
                except OSError:
                    return max(deadline - time.monotonic_ns(), 1)
        return 0

    def wait_for_signal(self) -> NoReturn:
        """pause(): raises EINTR once a caught signal is to be handled (or on a kill)."""
        with self._nap:
            while True:
                self.block_on(self._nap, restartable=False)

    def stack_pointer(self) -> int:
        """The guest's shadow-stack pointer now (0 if the program exports none, or if the
        caller is a grate's handler on another cage's thread: its stack is its worker's,
        and the grate's own Store is another thread's to read)."""
        if not self._on_own_thread():
            return 0
        if not self.exports or loader.ASYNCIFY_STACK_POINTER not in self.exports:
            return 0
        return loader.get_i32(self.exports[loader.ASYNCIFY_STACK_POINTER], self.context_address)

    def _main_stack_pointer(self) -> int | None:
        """The first thread's stack pointer as its instance left it (after a trap)."""
        pointer = (self.exports.get(loader.STACK_POINTER)
                   or self.exports.get(loader.ASYNCIFY_STACK_POINTER)) if self.exports else None
        return loader.get_i32(pointer, self.context_address) if pointer is not None else None

    def function_type(self, index: int) -> tuple[int, int] | None:
        """How many parameters and results function-table entry `index` has (None: no
        function there), in the calling thread's instance, for calls whose C type the
        program may have got wrong (a signal handler, a thread's start routine)."""
        try:
            table = self.exports[loader.FUNCTION_TABLE]
            func = table.get(self.store, index)
        except (KeyError, TypeError, wasmtime.WasmtimeError):
            return None
        if not isinstance(func, wasmtime.Func):
            return None
        kind = func.type(self.store)
        return len(kind.params), len(kind.results)

    def block_on(self, cond: threading.Condition, timeout: float | None = None, *,
                 restartable: bool = True) -> None:
        """Wait on `cond` (held by the caller), unless the cage is being stopped (EINTR) or
        a caught signal is to be handled: then EINTR, or ERESTARTSYS if `restartable`
        and the handler has SA_RESTART (the guest makes the call again after it)."""
        with signals.blocked_on(self, cond):
            self._raise_if_interrupted(restartable)
            cond.wait(None if timeout is None else min(timeout, threading.TIMEOUT_MAX))
            self._raise_if_interrupted(restartable)

    def wait_host(self, host_fd: int, events: int, timeout: float | None = None, *,
                  restartable: bool = True) -> bool:
        """Wait until `host_fd` has one of the poll `events` (True) or `timeout` seconds
        passed (False); see poll_host."""
        return bool(self.poll_host({host_fd: events}, timeout, restartable=restartable))

    def poll_host(self, wanted: dict[int, int], timeout: float | None = None, *,
                  restartable: bool = True) -> dict[int, int]:
        """poll(2) on host fds (fd -> events) with the GIL released: the fds that are
        ready and their revents, or {} once `timeout` seconds passed. A caught signal or
        a stop ends the wait as block_on's does: they write the slot's wake eventfd,
        polled beside them."""
        wake = self.slot.acquire_wake()
        try:
            return self._poll_with(wake, wanted, timeout, restartable)
        finally:
            self.slot.release_wake()

    def wait_host_until_stopped(self, host_fd: int) -> None:
        """Wait until `host_fd` is readable, as Linux waits in a call no signal
        interrupts (execve compiling its program): a caught signal waits for the call's
        end; a stop ends the wait with EINTR."""
        wake = self.slot.acquire_wake()
        try:
            poller = select.poll()
            poller.register(host_fd, select.POLLIN)
            poller.register(wake, select.POLLIN)
            while True:
                ready = dict(poller.poll())
                if self.stopping:
                    raise OSError(errno.EINTR, "Interrupted system call")
                if host_fd in ready:
                    return
                threei.drain_wake_fd(wake)
        finally:
            self.slot.release_wake()

    def _poll_with(self, wake: int, wanted: dict[int, int], timeout: float | None,
                   restartable: bool) -> dict[int, int]:
        poller = select.poll()
        for fd, events in wanted.items():
            poller.register(fd, events)
        poller.register(wake, select.POLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        left: float | None = 0    # first a look without waiting: ready fds win over signals
        while True:               # an hour at most at a time: poll(2) takes an int of ms
            ready = dict(poller.poll(None if left is None else min(left, 3600.0) * 1000))
            woken = ready.pop(wake, 0)
            if ready:
                if woken and not self.stopping:
                    threei.drain_wake_fd(wake)
                return ready
            if woken:
                self.after_wake(wake, restartable)
            else:
                self._raise_if_interrupted(restartable)
            if left is not None and deadline is not None and time.monotonic() >= deadline:
                return {}
            left = None if deadline is None else max(deadline - time.monotonic(), 0)

    def after_wake(self, wake: int, restartable: bool, always: bool = False) -> None:
        """A wait saw its wake eventfd written: read it back (a stop leaves it written,
        so every thread sees it), then EINTR if a signal is to be taken or the cage stops
        (ERESTARTSYS as `signals.interruption` says); otherwise the caller waits again."""
        if not self.stopping:
            threei.drain_wake_fd(wake)
        self._raise_if_interrupted(restartable, always)

    def _raise_if_interrupted(self, restartable: bool, always: bool = False) -> None:
        if self.stopping:
            raise OSError(errno.EINTR, "Interrupted system call")
        err = signals.interruption(self, restartable, always)
        if err:
            raise OSError(err, "Interrupted system call")

    def internal_error(self, exc: BaseException) -> None:
        """A handler raised something other than OSError: a Lind bug. Stop the cage only."""
        print(f"lind: internal error in cage {self.id}, stopping it:", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
        if self.status is None:   # a late call (a grate's worker after the grate ended)
            self.status = abi.signal_status(signal.SIGSYS)   # must not rewrite its status

    # -- called from other threads -----------------------------------------
    _kill_signal = signal.SIGKILL

    def terminate(self, sig: int = signal.SIGKILL) -> None:
        """Stop the cage from outside: at its next epoch tick or system call."""
        self._kill_signal = sig
        self.kill_requested_at = time.monotonic()
        self.kill_requested = True
        self.slot.stop(f"killed by signal {sig}")
        self._interrupt_waits()

    def _interrupt_waits(self) -> None:
        """End every blocked call of the cage's threads (it is stopping): the wake fd
        stays readable while it stops, so all of them see it."""
        self.slot.wake()
        signals.wake_blocked(self)
        waiters.watch_stop(self)     # a wait in wasm itself (memory.atomic.wait)


_FAULT_ADDRESS = re.compile(r"memory fault at wasm address (0x[0-9a-f]+)")


def took_uncaught_exception(store: wasmtime.Store) -> bool:
    """After a Trap: whether it was a WebAssembly exception nobody caught -- a longjmp
    (a throw, toolchain/sjlj.py) whose setjmp's function had returned, or out of a
    handler the host called. Takes it out of the store (it would stay rooted there)."""
    exn = wt.wasmtime_exnref_t()
    if not wt.wasmtime_context_take_exception(store._context(), ctypes.byref(exn)):
        return False
    wt.wasmtime_exnref_unroot(ctypes.byref(exn))
    return True


def trap_reason(message: str, stack_pointer: int | None = None,
                memory: threei.Memory | None = None) -> str | None:
    """The line of a Wasmtime trap report that says what happened (not the backtrace).
    `stack_pointer` (where the faulting thread's stack stood) tells a stack that ran
    down into the guarded page 0 (stack-first layout) from a null pointer; `memory`'s
    protections (mprotect) tell a fault on a protected page."""
    fault = _FAULT_ADDRESS.search(message)
    if fault and int(fault.group(1), 16) < NULL_PAGE_SIZE:   # the guarded page 0
        if stack_pointer is not None and stack_pointer < NULL_PAGE_SIZE:
            return (f"stack overflow at {fault.group(1)}, past the stack's size (RLIMIT_STACK; "
                    "more: link with -Wl,-z,stack-size=N and run with --stack N)")
        return f"null pointer dereference at {fault.group(1)}"
    if fault and memory is not None:
        address = int(fault.group(1), 16)
        with contextlib.suppress(OSError):
            for start, end, prot in memory.protections():
                if start <= address < end:
                    made = "read-only" if prot else "inaccessible"
                    return f"segmentation fault at {fault.group(1)}, a page mprotect made {made}"
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    for ln in lines:
        if "wasm trap:" in ln:
            return ln.split("wasm trap:", 1)[1].strip()
    return lines[-1] if lines else None


IDLE_THREAD_INSTANCES = 4    # per cage (see Cage.new_thread)
_NO_TID = bytes(4)           # what a thread's CLONE_CHILD_CLEARTID word becomes at its end


def strings_bytes(argv: Sequence[bytes], env: Sequence[bytes]) -> int:
    """What a cage keeps of its argv and environment in the host: each string twice."""
    return 2 * sum(len(s) + 1 for s in (*argv, *env))


def _cage_store(engine: wasmtime.Engine, memory_size: int, memories: int,
                budget: limits.MemoryBudget, module: wasmtime.Module) -> wasmtime.Store:
    """A Store for one instance of `module`, its tables bounded, and the memories it
    may define itself (`memories`: its own, if it has one) and its GC heap at
    `memory_size` bytes each. What the instance will hold of its own is charged to
    `budget` until the Store goes (ENOMEM if it has not that much left)."""
    held = instance_bytes(*loader.instance_state(module))
    store = wasmtime.Store(engine)
    if held:
        budget.charge(held)
        weakref.finalize(store, budget.release, held)
    store.set_limits(memory_size=memory_size, table_elements=MAX_TABLE_ELEMENTS,
                     tables=MAX_TABLES, memories=memories)
    return store
