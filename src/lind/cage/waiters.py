"""Waking threads parked in memory.atomic.wait, where no epoch reaches them.

Wasmtime parks a thread in memory.atomic.wait32/64 out of reach of its epoch
interruption (wasmtime issue 12809), so a cage waiting there without a timeout outlived
every kill: `lind.run(timeout=2)` returned after 10 s and left the cage's host thread
parked for good. Lind's libc waits through the futex system call, which the microvisor
interrupts; a module that waits in wasm itself is woken here. No API names the address
a thread waits on, so every 4-byte word of the cage's shared memory, and of every
grate's (a handler runs on its caller's thread, over its grate's memory), gets a
memory.atomic.notify, which sends the waiter back to wasm code and its next epoch check.
That costs about 25 ns a word (0.1 s for 16 MiB), so it runs only for a cage whose
threads still run a moment after it was told to stop.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Any

import wasmtime

from lind.cage import grate_worker, loader
from lind.engine import wasmtime_engine

_WAKER = """(module
  (import "lind" "memory" (memory 1 65536 shared))
  (func (export "wake") (param $end i32) (local $at i32)
    (loop $next
      (drop (memory.atomic.notify (local.get $at) (i32.const -1)))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (br_if $next (i32.lt_u (local.get $at) (local.get $end))))))"""
_module: wasmtime.Module | None = None
_lock = threading.Lock()

FIRST_LOOK = 0.1      # seconds after the stop before the cage's threads are looked at
SWEEPS = 3            # at most (a waiter may wait again before its epoch check)


def wake_all(memory: wasmtime_engine.SharedMemory) -> None:
    """memory.atomic.notify every word of `memory`, waking all of its waiters."""
    global _module
    engine = wasmtime_engine.engine()
    with _lock:
        if _module is None:
            _module = wasmtime.Module(engine, wasmtime.wat2wasm(_WAKER))
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(1 << 62)      # the engine's epoch ticks on: never this one
    linker = wasmtime.Linker(engine)
    memory.define_in(linker, store)
    end = min(memory.size() * loader.WASM_PAGE, (1 << 32) - 4)
    if end > 0:
        linker.instantiate(store, _module).exports(store)["wake"](store, end)


def _memories(cage: Any) -> list[wasmtime_engine.SharedMemory]:
    """Where the cage's threads may wait: its own memory, and those of its runtime's
    grates (a handler runs on the calling cage's thread, over its grate's memory, which
    its worker holds even after the grate ended)."""
    own = [cage.shared_memory] if cage.shared_memory is not None else []
    return own + [memory for memory, runtime in list(grate_worker.GRATE_MEMORIES.items())
                  if runtime is cage.runtime and memory is not cage.shared_memory]


class _Watch:
    """One stopped cage looked after: when to look again, and what was seen last."""

    def __init__(self, cage: Any) -> None:
        self.cage = cage
        self.delay = FIRST_LOOK
        self.sweeps = 0
        self.before = _running(cage)

    def look(self) -> bool:
        """Wake what waits in its memories if its threads still run and none ended
        since the last look (ending ones are on their way out); whether to look again."""
        now = _running(self.cage)
        if now and now >= self.before:
            for memory in _memories(self.cage):
                wake_all(memory)
            self.sweeps += 1
            self.delay *= 2
        self.before = now
        return bool(now) and self.sweeps < SWEEPS


def _running(cage: Any) -> int:
    return cage.thread.is_alive() + sum(t.running for t in list(cage.threads.values()))


# The cages looked after now (by id(): each Runtime numbers its cages from 1), and when
# each is looked at next. One thread serves them all: a thread started for each cage
# told to stop made ending a tree of 768 forking cages (each start a wait for Python's
# lock among theirs) take hours, and lind.run's timeout with it.
_watched: set[int] = set()
_due: list[tuple[float, int, _Watch]] = []
_order = itertools.count()
_changed = threading.Condition()
_server: threading.Thread | None = None


def watch_stop(cage: Any) -> None:
    """After `cage` was told to stop: while its threads still run, wake whatever waits in
    its memory and its grates' (on the one thread of this module, however often it is
    told)."""
    global _server
    if not _memories(cage):
        return
    with _changed:
        if id(cage) in _watched:
            return
        watch = _Watch(cage)
        if not watch.before:
            return
        if _server is None:
            try:
                _server = threading.Thread(target=_serve, name="lind-wake", daemon=True)
                _server.start()
            except RuntimeError:   # the interpreter is exiting (no new threads): so is the cage
                _server = None
                return
        _watched.add(id(cage))
        heapq.heappush(_due, (time.monotonic() + watch.delay, next(_order), watch))
        _changed.notify()


def _serve() -> None:
    while True:
        with _changed:
            while not _due or _due[0][0] > time.monotonic():
                _changed.wait(_due[0][0] - time.monotonic() if _due else None)
            _, _, watch = heapq.heappop(_due)
        again = False
        try:
            again = watch.look()
        finally:
            with _changed:
                if again:
                    heapq.heappush(_due, (time.monotonic() + watch.delay, next(_order), watch))
                else:
                    _watched.discard(id(watch.cage))
