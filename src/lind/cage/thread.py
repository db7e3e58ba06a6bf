"""Threads of a cage: more instances of its program over its one shared memory.

clone(CLONE_THREAD), which pthread_create makes, starts a CageThread: an instance of the
cage's module in a Store of its own, importing the cage's shared memory and calling
through the cage's 3i slot, on a host thread of its own. Wasm code runs without the GIL,
so threads of one cage run in parallel. The thread starts in the guest's
__lind_thread_start(func, arg, tls) with its stack pointer where pthread_create put its
stack; its system calls are the cage's (getpid is the cage's id), gettid is its own id.

A thread ends with exit(2), whose call stops its instance (the trampoline's
stop_this_thread), or with the whole cage (exit_group, a kill, exec, a fatal signal, the
end of the last thread). Then the word CLONE_CHILD_CLEARTID named is cleared and woken,
which is how musl's thread list and pthread_join learn it ended. A trap in a thread is a
fault of the process: it ends the whole cage with the signal, as Linux does.
"""

from __future__ import annotations

import errno
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import wasmtime

from lind import threei
from lind.cage import loader
from lind.engine import stacks
from lind.microvisor.fdtable import forget_thread_pins
from lind.microvisor.sys_signals import ThreadSignals
from lind.microvisor.sys_threads import ThreadStart

if TYPE_CHECKING:
    from lind.cage.cage import Cage

THREAD_START = "__lind_thread_start"
START = "_start"
SPAWN_START = "__lind_spawn_start"   # a posix_spawn child's (guest src/process/posix_spawn.c)

#: An instance a thread runs in: its Store, exports and the Store's context address
#: (loader.context_address), made for it or left by an ended thread (Cage.new_thread).
ThreadKit = tuple[wasmtime.Store, "loader.Exports", int]


class _InUnwinder:
    """An Instance attribute kept in its Unwinder, where the trampoline reads it too."""

    def __init__(self, field: str) -> None:
        self.field = field

    def __get__(self, instance, owner: type | None = None):
        return self if instance is None else getattr(instance.unwinder, self.field)

    def __set__(self, instance, value) -> None:
        setattr(instance.unwinder, self.field, value)


class Instance:
    """What one thread of a cage runs: its wasm instance, and where that instance's
    unwinds (fork, exec, setjmp: Asyncify) stand. The cage's attributes of these names
    are the calling thread's (see PerThread)."""

    def __init__(self) -> None:
        self.store: wasmtime.Store | None = None
        self.instance: wasmtime.Instance | None = None
        self.exports = None                            # loader.Exports
        self.context_address = 0                       # the store's wasmtime_context_t
        self.thread_start: ThreadStart | None = None   # entered there, not at _start
        self.entry = START                             # or SPAWN_START
        # the Asyncify buffer, whether the stack is being rewound, and what lets the
        # trampoline run setjmp, longjmp and fork by itself once bound (Cage.unwind_then)
        self.unwinder = threei.Unwinder()
        self._rewind_result: int | None = None         # set: resume the stack with this
        self._after_unwind = None                      # what to do once unwound
        self._unwind_replaces_stack = False            # longjmp: frames below do not matter
        # A program with loop safepoints (toolchain/safepoints.py) runs its handlers
        # from its own loops, where they may fork; the tick waits one round for that.
        self.tick_waited = False

    _asyncify_buffer = _InUnwinder("buffer")
    _rewinding = _InUnwinder("rewinding")

    def unwinding(self) -> bool:
        """Whether Asyncify is taking the stack out or putting it back, for Python or
        the trampoline (its state is in the instance: one stopped then cannot run a new
        thread, nor a signal handler from a tick)."""
        return self.unwinder.busy or self._after_unwind is not None

    def enter(self, slot: threei.Slot) -> None:
        """Call into the program where this thread starts (again, to rewind); its calls
        go to `slot`, its cage's."""
        a = self.thread_start
        func = self.exports[self.entry if a is None else THREAD_START]
        args = () if a is None else (a.func, a.arg, a.tls)
        if self.unwinder.bound:
            loader.enter_i32s(self.unwinder, func, slot, *args)
        else:
            loader.call_i32s(func, self.context_address, slot, *args)


# What each host thread runs (cage.serve sets it): `cage`, and `thread`, its CageThread
# (None: the cage's first thread). A grate worker's Store is keyed by the grate, but
# the handler runs on the calling cage's thread and must stop when that cage is killed.
serving = threading.local()


def instance_of(cage: Cage) -> Instance:
    """The calling host thread's Instance of `cage` (Cage.running_instance), inline:
    every access to a PerThread attribute asks, dozens of times per fork."""
    thread = getattr(serving, "thread", None)
    if thread is not None and thread.cage is cage and thread.instance is not None:
        return thread.instance
    return cage._main_instance


class PerThread:
    """A Cage attribute that is the calling thread's Instance's."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, cage, owner: type | None = None):
        if cage is None:
            return self
        return getattr(instance_of(cage), self.name)

    def __set__(self, cage, value) -> None:
        setattr(instance_of(cage), self.name, value)


class CageThread:
    """One thread of a cage other than the one its program started on."""

    def __init__(self, cage: Cage, tid: int, start: ThreadStart) -> None:
        self.cage = cage
        self.tid = tid
        self.start_args = start
        self.clear_tid = start.clear_tid
        self.robust_list = (0, 0)    # set_robust_list's (head, length)
        self.comm: str | None = None    # its name (None: the program's file name)
        self.affinity: frozenset[int] | None = None     # its CPUs (None: all)
        self.signals: ThreadSignals | None = None   # its mask, pending set, wake fd
        self.exited = False     # ended by its own exit(2)
        self.instance: Instance | None = None
        # the instance new_thread made or found for it, which its Instance takes when it runs
        self.prepared: ThreadKit | None = None
        self.running = False    # its host thread runs it (from start until it ended)
        # what runs it, and keeps its CPU times (None once the cage took them: thread_ended)
        self.host: stacks.PooledThread | None = None

    def start(self) -> None:
        """EAGAIN, the thread gone again, when the host cannot start one more thread (a
        registered thread that never ran would hold the cage's end for ever)."""
        self.running = True
        self.host = stacks.PooledThread(self._main, f"cage-{self.cage.id}-thread-{self.tid}")
        try:
            self.host.start()
        except RuntimeError:
            self.running = False
            self.cage.thread_ended(self)
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable") from None

    def _main(self) -> Callable[[], None]:
        """Run the thread; what it returns is its host thread's last act (run_pooled):
        the wake of its joiner, once nothing of this thread needs the host thread."""
        from lind.cage.cage import TRAP_SIGNALS, serve, trap_reason

        cage = self.cage
        serve(cage, self)
        threei.use_thread_wake(cage.slot, self.signals.wake_fd)
        threei.use_thread_signals(cage.slot, self.signals.mask_cell)
        module = cage.module
        try:
            instance = Instance()
            (instance.store, instance.exports, instance.context_address), self.prepared = (
                self.prepared, None)
            instance.thread_start = start = self.start_args
            loader.set_i32(instance.exports[loader.STACK_POINTER], instance.context_address,
                           start.stack)
            self.instance = instance
            cage.run_instance()
        except wasmtime.Trap as trap:
            if not self.exited and not cage.stopping and trap.trap_code is not None:
                cage.trap_message = trap_reason(trap.message)
                cage.terminate(TRAP_SIGNALS.get(trap.trap_code, signal.SIGILL))
        except wasmtime.WasmtimeError as err:
            if not self.exited and not cage.stopping and not cage.kill_requested:
                # Not a stop: a fault Wasmtime reports as an error (its GC heap exhausted),
                # which ends the cage as the main thread's does.
                cage.trap_message = trap_reason(str(err))
                cage.terminate(signal.SIGSEGV)
        except Exception as exc:  # noqa: BLE001 - a Lind bug ends this cage, not the host
            cage.internal_error(exc)
            cage.terminate(signal.SIGSYS)
        finally:
            threei.thread_done()
            forget_thread_pins()
            # its instance, for the next thread, if it stopped by its own exit(2) outside
            # an unwind (Cage._keep_thread_instance)
            ran = self.instance
            cage.thread_ended(self, (ran.store, ran.exports, ran.context_address)
                              if self.exited and ran is not None and not ran.unwinding()
                              else None, module)
            serve(None)
            self.running = False
        return self._wake_joiner

    def _wake_joiner(self) -> None:
        """Clear the CLONE_CHILD_CLEARTID word and wake its waiter. A Lind bug here ends
        the cage (its joiner would wait for ever), not the pooled host thread."""
        try:
            self.cage.clear_tid_word(self.clear_tid)
        except Exception as exc:  # noqa: BLE001 - reported; the cage ends
            self.cage.internal_error(exc)
            self.cage.terminate(signal.SIGSYS)
