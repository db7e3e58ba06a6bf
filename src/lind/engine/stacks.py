"""Host stacks for threads that run wasm code.

Wasm frames live on the host thread's stack. Wasmtime stops a cage's recursion
("call stack exhausted", the cage's SIGSEGV) once it has used `WASM_CALL_STACK` below
where it entered, so every thread that enters wasm needs that much stack free, plus
room for the host code a deep call may still run (a system call's Python handler, a
signal handler entered from there). Python's threads get the platform's default stack
(8 MiB here, less on some systems), so the threads Lind runs cages on are started with
`THREAD_STACK`; a thread Lind did not start (the caller of `lind.run`) does not enter
wasm itself: `call_with_room` hands such a call to a thread of Lind's.
"""

from __future__ import annotations

import _thread
import os
import resource
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar


def _call_stack_size() -> int:
    """Linux's default 8 MiB, unless that much for each of a runtime's 1024 cages and
    threads (`Runtime.max_cages`) would pass a quarter of this machine's memory: a
    host stack a cage recursed into stays the host's memory, outside any cage's budget.
    Never less than Wasmtime's own default (2 MiB)."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        physical = 0
    share = (physical // 4 // 1024) & ~0xFFFF
    return max(2 << 20, min(8 << 20, share))


#: The most wasm stack one entry may use (Wasmtime's max_wasm_stack): wasm code of the
#: program's functions, their locals and spills. What C keeps in memory (arrays, locals
#: whose address is taken) is on the program's own stack in its linear memory, which
#: `lind cc` makes Linux's 8 MiB.
WASM_CALL_STACK = _call_stack_size()
#: Host stack kept for host code under the deepest wasm of a thread (a Python handler).
HOST_STACK_RESERVE = 1 << 20
#: What a thread's host stack must have free where it enters a Store not yet on it (a
#: grate's worker, from inside the caller's wasm): Wasmtime lets each Store recurse
#: WASM_CALL_STACK below where the thread entered it, whatever other Stores use above.
#: A call into a worker without that much room fails with ELOOP (threei's trampoline).
ROOM_FOR_WASM = WASM_CALL_STACK + HOST_STACK_RESERVE
#: A Lind thread's host stack: the wasm part and as much again, for host code and for a
#: wasm grate's handler the deepest wasm calls (ROOM_FOR_WASM), and some more for the
#: host frames between.
THREAD_STACK = WASM_CALL_STACK + ROOM_FOR_WASM + HOST_STACK_RESERVE

_start_lock = threading.Lock()
_roomy: weakref.WeakSet[threading.Thread] = weakref.WeakSet()

T = TypeVar("T")


def start(thread: threading.Thread) -> None:
    """Start `thread` with a `THREAD_STACK` host stack.

    threading.stack_size is process-wide: it is set only while the thread is created,
    and put back before any other thread of Lind's starts. (A program embedding Lind
    that sets it at that same moment from another thread could give the cage's thread
    its size instead: do not change it while cages start.)"""
    _roomy.add(thread)
    with _start_lock:
        previous = threading.stack_size(THREAD_STACK)
        try:
            thread.start()
        finally:
            threading.stack_size(previous)


#: Host threads a finished cage thread leaves waiting for the next one, at most, and how
#: long each waits: starting a host thread costs ~80 µs here, and every first step on a
#: new one (a Store, an instantiation) about three times what it costs later.
PARKED_MAX = 8
PARK_SECONDS = 2.0
PARKED_NAME = "lind-parked"     # a pooled host thread's name between tasks

#: A task for a pooled thread; what it returns is its last act (see run_pooled).
Task = Callable[[], Callable[[], None] | None]


class Latch:
    """A one-way event: set once, after which every wait returns at once. A plain lock
    held until `set` (threading.Event builds a Condition, two locks and a deque: more
    than the rest of handing a task to a parked thread)."""

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._set = False
        self._lock = _thread.allocate_lock()
        self._lock.acquire()

    def set(self) -> None:
        with _latch_lock:       # two setters must not both release
            if self._set:
                return
            self._set = True
        self._lock.release()

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        """Whether it was set (False: `timeout` seconds passed first)."""
        if self._set:
            return True
        if not self._lock.acquire(timeout=-1 if timeout is None
                                  else min(max(timeout, 0), _thread.TIMEOUT_MAX)):
            return False
        self._lock.release()    # for the next waiter
        return True


_latch_lock = _thread.allocate_lock()


class _LockWake:
    """A parked thread's wake: a lock held until posted (where the C trampoline offers no
    Wake of its own, see set_wakes)."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._lock.acquire()

    def post(self) -> None:
        self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether it was posted (False: `timeout` seconds passed first); takes it back."""
        return self._lock.acquire(timeout=-1 if timeout is None else timeout)


class _Parked:
    """A host thread of the pool, between two tasks. `task` is set, under the lock, by
    the caller that takes it off the list, who then posts `wake`, which the thread waits
    on (one per host thread, not per task: its wait takes it back), or has the C
    trampoline post it (see set_wakes)."""

    __slots__ = ("task", "wake")

    def __init__(self) -> None:
        self.task: tuple[Task, str] | None = None
        self.wake = _new_wake()


_parked: list[_Parked] = []
_parked_lock = threading.Lock()


def _no_parked_threads_in_a_forked_child() -> None:
    """A process forked from this one (multiprocessing, an embedding program) has only
    the thread that forked: tasks handed to the parked ones would never run there."""
    global _parked_lock, _start_lock
    _parked.clear()
    _parked_lock = threading.Lock()
    _start_lock = threading.Lock()


os.register_at_fork(after_in_child=_no_parked_threads_in_a_forked_child)


def _post_now(wake: object) -> bool:
    return False


_new_wake: Callable[[], _LockWake] = _LockWake
#: hand_over(wake) -> True when posting a parked thread's `wake` is left to the C
#: trampoline (set_wakes), False to post it now.
_hand_over: Callable[[object], bool] = _post_now


def set_wakes(new_wake: Callable[[], object], hand_over: Callable[[object], bool]) -> None:
    """Parked threads wait on `new_wake()`s (before any thread is parked), and
    `hand_over` may take the post of one that run_pooled was asked to hand over: the C
    trampoline's Wake, which it takes for a fork's child (its start) and posts once the
    forking thread has let Python's lock go. Posted before, the child's host thread ran
    at once on a single CPU, found the lock taken and waited for it, and each of the two
    hand-offs of Python's lock that followed cost two more context switches."""
    global _new_wake, _hand_over
    _new_wake, _hand_over = new_wake, hand_over


def run_pooled(task: Task, name: str, *, hand_over: bool = False) -> None:
    """Run `task` on a host thread with a `THREAD_STACK` stack, named `name`: one that
    ran an earlier task and waits for another, else a new one. `task` must leave no
    thread-local state behind (cage threads end with threei.thread_done). `hand_over`:
    a parked one may be woken later, by the C trampoline (set_wakes: a fork's child,
    whose start nothing waits for before the fork returns).

    A task may return a last act, which must not raise: its host thread runs it once it
    is back among the parked ones. A wake of a thread that will want a host thread at
    once (a joiner making its next thread) then finds this one waiting, where before
    the CPU went to the woken thread and back again before this one parked."""
    with _parked_lock:
        parked = _parked.pop() if _parked else None
        if parked is not None:
            parked.task = (task, name)
    if parked is not None:
        if not (hand_over and _hand_over(parked.wake)):   # by its one taker, who popped it
            parked.wake.post()
        return
    first = _Parked()
    first.task = (task, name)
    start(threading.Thread(target=_serve_tasks, args=(first,), name=name, daemon=True))


def _serve_tasks(parked: _Parked) -> None:
    me = threading.current_thread()
    while True:
        # The thread's arguments keep its _Parked as long as the thread lives: its task
        # must not stay there too (a cage, its Store, kept after it ended).
        task, name = parked.task
        parked.task = None
        me.name = name
        last_act = task()
        del task          # what the task held (a cage thread's Store) goes now
        me.name = PARKED_NAME
        with _parked_lock:
            stays = len(_parked) < PARKED_MAX
            if stays:
                _parked.append(parked)
        if last_act is not None:
            last_act()
            del last_act
        if not stays:
            return
        if not parked.wake.wait(PARK_SECONDS):
            with _parked_lock:
                if parked.task is None:       # nobody came: still listed
                    _parked.remove(parked)
                    return
            parked.wake.wait()     # taken meantime: its taker posts it at once


class PooledThread:
    """A cage's first thread, run by `run_pooled` and seen as a threading.Thread is (alive
    from `start` until its target returns, joinable), so a fork's child pays neither a
    new host thread (~80 µs, and as much again for its first steps into wasm) nor its
    stack's unmapping at the end. CPU times count from the task's start: the host
    thread may have run others before."""

    def __init__(self, target: Task, name: str) -> None:
        self._target: Task | None = target
        self.name = name
        self.ident: int | None = None
        self._alive = False
        self._done = Latch()
        self._rusage_at_start = (0.0, 0.0)

    def start(self, *, hand_over: bool = False) -> None:
        """Run the target on a pooled host thread (`hand_over`: see run_pooled)."""
        self._alive = True
        try:
            run_pooled(self._run, self.name, hand_over=hand_over)
        except BaseException:
            self._alive = False
            self._done.set()
            raise

    def _run(self) -> Callable[[], None] | None:
        """The target's run; its last act is the host thread's (run_pooled), after
        this thread counts as ended."""
        target, self._target = self._target, None   # as threading.Thread: no cycle left
        used = resource.getrusage(resource.RUSAGE_THREAD)
        self._rusage_at_start = (used.ru_utime, used.ru_stime)
        self.ident = threading.get_ident()
        try:
            return target() if target is not None else None
        finally:
            self._alive = False
            self.ident = None
            self._done.set()

    def is_alive(self) -> bool:
        return self._alive

    def is_current(self) -> bool:
        """Whether the calling host thread is running this thread's target now."""
        return self._alive and self.ident == threading.get_ident()

    def join(self, timeout: float | None = None) -> None:
        self._done.wait(timeout)

    def cpu_times(self) -> tuple[float, float]:
        """(user, system) seconds of the target so far, as getrusage splits them when the
        thread asks itself; another thread sees one total (as user time). Nothing once it
        returned: its owner keeps what it used (Cage._finish, Cage.thread_ended)."""
        if self.is_current():
            used = resource.getrusage(resource.RUSAGE_THREAD)
            return (used.ru_utime - self._rusage_at_start[0],
                    used.ru_stime - self._rusage_at_start[1])
        return self.cpu_seconds(), 0.0

    def cpu_seconds(self) -> float:
        """CPU seconds of the target so far, from its host thread's clock (nanoseconds,
        where getrusage counts microseconds; the start is getrusage's, within 2 us)."""
        start = sum(self._rusage_at_start)
        if self.is_current():
            return max(time.thread_time() - start, 0.0)
        ident = self.ident
        try:
            return max(time.clock_gettime(time.pthread_getcpuclockid(ident))
                       - start, 0.0) if ident is not None else 0.0
        except OSError:     # it ended meanwhile
            return 0.0


def has_room() -> bool:
    """Whether the calling thread was started by `start`."""
    return threading.current_thread() in _roomy


def call_with_room(call: Callable[[], T], here: bool = True) -> T:
    """`call()`, on a thread with a `THREAD_STACK` host stack: this one if it has one
    (and `here`: it has ROOM_FOR_WASM left where it is now), else a pooled one (its
    result or exception is passed back): every `lind.run` instantiates its program from
    the caller's thread, and a new host thread for it cost more than the rest of
    starting a small program."""
    if here and has_room():
        return call()
    outcome: list = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:   # noqa: BLE001 - re-raised on the caller's thread
            outcome.append((False, exc))
        finally:
            done.set()

    run_pooled(run, "lind-big-stack")
    done.wait()
    ok, value = outcome.pop()
    if not ok:
        raise value
    return value
